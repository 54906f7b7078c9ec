#!/usr/bin/env bash
# sigrep against rsigma (the field-aware Rust Sigma engine) on real Windows events, all SigmaHQ rules:
# speed on one core and precision against the pySigma reference (issue 15). Not for CI: installing rsigma
# compiles for ~10 minutes (once; it is cached in WORK_DIR).
#
#   benches/rsigma.sh [SIGREP] [WORK_DIR] [MIB] [RUNS]
#
# defaults: $CARGO_TARGET_DIR/release/sigrep (target/release/sigrep), /tmp/sigrep-rsigma, 64, 3.
# Needs cargo, python3, taskset, /usr/bin/time, bc and ../shared. RSIGMA_ROOT (default WORK_DIR/rsigma) is
# where rsigma is installed, with the command the issue gives (newer versions need a newer rustc):
#   cargo install --locked rsigma --version 0.23.0 --no-default-features --features evtx,daachorse-index
# skipped when RSIGMA_ROOT/bin/rsigma already reports 0.23.0.
#
# Inputs (written once into WORK_DIR, never into the repository, by benches/rsigma.py):
#   events.jsonl       the 119 events of ../shared/corpus/windows-events.jsonl repeated to MIB MiB in a
#                      seeded order, each copy with its own EventRecordID and SystemTime (as benches/jsonl.sh),
#                      nested as the evtx crate writes them: what sigrep reads;
#   events.flat.jsonl  the same events in the same order, flattened once by Python, outside the timing, as
#                      the pySigma reference flattens them (System fields, Provider_Name, the attributes of
#                      TimeCreated/Execution/Security, EventData/UserData fields by name): what rsigma reads.
#                      rsigma matches field names literally, so it needs flat events; its --jq could flatten
#                      them inside the timed run, but Python gives it exactly the reference's fields and
#                      charges rsigma nothing for flattening (the comparison favours rsigma).
# Speed (one core: taskset -c 0, and -j1 for sigrep; stdout to a file in WORK_DIR; RUNS runs of each
# command, interleaved; medians):
#   sigrep -f RULES -j1 events.jsonl                        Sigma semantics, the default with -f: prints each
#                                                           selected line tagged with its rules
#   sigrep --semantics grep -f RULES -j1 events.jsonl       grep semantics, the issue's earlier figure
#   rsigma engine eval -r RULES -p sysmon --logsource-routing --event-logsource product=windows \
#       -e @events.flat.jsonl                               one JSON object per (event, rule) match
#   (--logsource-routing alone prunes nothing here: the events have no `product` field; --event-logsource
#   product=windows gives them one, so rules of other products are skipped. -p sysmon maps Sysmon categories
#   to EventIDs.)
# each also on a one-event input ("start-up": loading and compiling the rules), which the scan rate subtracts.
# Wall and CPU (user+sys) seconds, events/s, MiB/s of the tool's own input, peak RSS (/usr/bin/time %M), and
# the (event, rule) pairs each printed (sigrep: the rules tagging each line; rsigma: its JSON objects).
# On a shared machine the pinned core is shared too: CPU seconds are the steadier figure.
# Precision (the 119 regression events, one copy each): the (event, rule) pairs of each command above scored
# against ../shared/oracle/pysigma/windows-events-fires.json with scripts/pysigma_diff.py's logic: agree,
# missing, extra, extra per event, own rule fired (data/windows-events-own-rules.tsv). rsigma is run with
# --include-event on flattened events carrying a BenchLine field (no rule names it) to map matches to lines;
# its matches name rules by id, as the reference does.
# Results: WORK_DIR/results-DATE/ (runs.tsv, speed.md, precision.md, precision.json, the outputs); the two
# tables are printed on stdout.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
SIGREP=${1:-$TARGET/release/sigrep}
WORK=${2:-/tmp/sigrep-rsigma}
MIB=${3:-64}
RUNS=${4:-3}
RSIGMA_ROOT=${RSIGMA_ROOT:-$WORK/rsigma}
RSIGMA=$RSIGMA_ROOT/bin/rsigma
RSIGMA_VERSION=0.23.0
SHARED=$REPO/../shared
RULES=$SHARED/sigma/rules
EVENTS=$SHARED/corpus/windows-events.jsonl
FIRES=$SHARED/oracle/pysigma/windows-events-fires.json
[[ -d $SHARED ]] || { echo "rsigma.sh: ../shared is absent (it holds the events, rules and reference)" >&2; exit 2; }
[[ -x $SIGREP ]] || { echo "rsigma.sh: $SIGREP is not built (cargo build --release)" >&2; exit 2; }
for tool in cargo python3 taskset bc /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "rsigma.sh: $tool is missing" >&2; exit 2; }
done
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
SIGREP=$(cd "$(dirname "$SIGREP")" && pwd)/$(basename "$SIGREP")
log() { echo "[rsigma.sh $(date +%H:%M:%S)] $*" >&2; }

# ------------------------------------------------------------------ rsigma
if [[ -x $RSIGMA ]] && "$RSIGMA" --version 2>/dev/null | grep -qF "$RSIGMA_VERSION"; then
    log "rsigma $RSIGMA_VERSION found in $RSIGMA_ROOT"
else
    log "installing rsigma $RSIGMA_VERSION into $RSIGMA_ROOT (about 10 minutes; log $WORK/rsigma-install.log)"
    # From WORK_DIR, without CARGO_TARGET_DIR: cargo install then builds in its own temporary directory,
    # not in sigrep's target directory.
    if ! (cd "$WORK" && env -u CARGO_TARGET_DIR cargo install --locked rsigma --version "$RSIGMA_VERSION" \
        --no-default-features --features evtx,daachorse-index --root "$RSIGMA_ROOT") \
        >"$WORK/rsigma-install.log" 2>&1; then
        tail -n 20 "$WORK/rsigma-install.log" >&2
        echo "rsigma.sh: cargo install rsigma failed (log: $WORK/rsigma-install.log)" >&2
        exit 2
    fi
fi

# ------------------------------------------------------------------ inputs
# events.count: the number of events, then MIB; the inputs are rewritten when MIB changes.
if [[ ! -s $WORK/events.jsonl || ! -s $WORK/events.flat.jsonl || ! -s $WORK/events.count ||
    $(tail -n1 "$WORK/events.count") != "$MIB" ]]; then
    log "writing $WORK/events.jsonl ($MIB MiB) and $WORK/events.flat.jsonl"
    python3 "$HERE/rsigma.py" corpus "$EVENTS" "$MIB" "$WORK/events.jsonl" "$WORK/events.flat.jsonl" \
        >"$WORK/events.count.new"
    echo "$MIB" >>"$WORK/events.count.new"
    mv "$WORK/events.count.new" "$WORK/events.count"
fi
NEV=$(head -n1 "$WORK/events.count")
head -n1 "$WORK/events.jsonl" >"$WORK/one.jsonl"
head -n1 "$WORK/events.flat.jsonl" >"$WORK/one.flat.jsonl"
python3 "$HERE/rsigma.py" flatten "$EVENTS" "$WORK/regression.flat.jsonl" --line-field BenchLine
cat "$WORK/events.jsonl" "$WORK/events.flat.jsonl" >/dev/null

RES=$WORK/results-$(date -u +%Y%m%dT%H%MZ)
mkdir -p "$RES"
printf 'case\tinput\trun\twall\tcpu\tmaxrss_kib\tstatus\toutput_lines\n' >"$RES/runs.tsv"

# Each case: a name, the input it reads for the scan and for start-up, and its command (INPUT stands for
# the input file; @INPUT for rsigma's @file form).
SIGREP_SIGMA=("$SIGREP" -f "$RULES" -j1 INPUT)
SIGREP_GREP=("$SIGREP" --semantics grep -f "$RULES" -j1 INPUT)
RSIGMA_EVAL=("$RSIGMA" engine eval -r "$RULES" -p sysmon --logsource-routing --event-logsource product=windows
    -e @INPUT)

# timed CASE INPUT RUN CMD...: one run on one core, stdout to RES/CASE.out; appends a row to runs.tsv.
timed() {
    local name=$1 input=$2 run=$3 arg args=() status=0 wall user sys rss lines
    shift 3
    for arg in "$@"; do
        case $arg in
        INPUT) args+=("$input") ;;
        @INPUT) args+=("@$input") ;;
        *) args+=("$arg") ;;
        esac
    done
    taskset -c 0 /usr/bin/time -f '%e %U %S %M' -o "$RES/time.txt" "${args[@]}" >"$RES/$name.out" 2>"$RES/$name.err" ||
        status=$?
    read -r wall user sys rss < <(tail -n1 "$RES/time.txt")
    lines=$(wc -l <"$RES/$name.out")
    if ((status > 1)); then
        log "$name on $(basename "$input") failed ($status):"
        tail -n5 "$RES/$name.err" >&2
        exit 2
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(basename "$input")" "$run" "$wall" \
        "$(echo "$user + $sys" | bc -l)" "$rss" "$status" "$lines" >>"$RES/runs.tsv"
    log "$name $(basename "$input") run $run: wall ${wall}s, cpu $(echo "$user + $sys" | bc -l)s," \
        "rss $rss KiB, $lines lines"
}

log "timing, $RUNS runs each, $NEV events"
for ((run = 1; run <= RUNS; run++)); do
    timed sigrep-sigma "$WORK/one.jsonl" "$run" "${SIGREP_SIGMA[@]}"
    timed sigrep-grep "$WORK/one.jsonl" "$run" "${SIGREP_GREP[@]}"
    timed rsigma "$WORK/one.flat.jsonl" "$run" "${RSIGMA_EVAL[@]}"
    timed sigrep-sigma "$WORK/events.jsonl" "$run" "${SIGREP_SIGMA[@]}"
    timed sigrep-grep "$WORK/events.jsonl" "$run" "${SIGREP_GREP[@]}"
    timed rsigma "$WORK/events.flat.jsonl" "$run" "${RSIGMA_EVAL[@]}"
done

{
    printf '%s (repository at %s), %s; %s events, %s MiB of nested JSON lines (%s MiB flattened); ' \
        "$("$SIGREP" --version | head -n1)" "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')" \
        "$("$RSIGMA" --version | head -n1)" "$NEV" "$MIB" "$(($(stat -c %s "$WORK/events.flat.jsonl") >> 20))"
    printf '%s cores, load %s at the end; %s; medians of %s runs on one core\n' "$(nproc)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$RUNS"
    echo
    python3 "$HERE/rsigma.py" table "$RES" "$NEV" "$WORK/events.jsonl" "$WORK/events.flat.jsonl"
} >"$RES/speed.md"

# ------------------------------------------------------------------ precision
log "precision on the 119 regression events"
python3 "$HERE/rsigma.py" score --sigrep "$SIGREP" --rules "$RULES" --events "$EVENTS" \
    --flat "$WORK/regression.flat.jsonl" --fires "$FIRES" --json-report "$RES/precision.json" \
    -- "${RSIGMA_EVAL[@]}" --include-event >"$RES/precision.md"

cat "$RES/speed.md"
echo
cat "$RES/precision.md"
log "results in $RES"
