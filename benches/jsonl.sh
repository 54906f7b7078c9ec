#!/usr/bin/env bash
# JSON lines throughput: sigrep -c MB/s on a JSON-lines corpus with --json-escaped, --no-json-escaped and
# auto-detection, against the plain Key=Value corpus of the same events; for the WMI rule and for all
# SigmaHQ rules. Standalone; needs only python3 and a built sigrep.
#
#   benches/jsonl.sh [SIGREP] [WORK_DIR] [MIB] [REPEAT] [RUNS]
#
# defaults: target/release/sigrep, /tmp/sigrep-jsonl, 128, 16, 3. One thread (-j1): rates are per core.
# Each search names its corpus REPEAT times (-h -c), so one process reads REPEAT x MIB MiB and compiles
# once: the scan of the whole rule set is then well above the noise of its ~1.2 s start-up.
# Corpora (generated once into WORK_DIR, never into the repository):
#   events.jsonl  the 119 events of ../shared/corpus/windows-events.jsonl repeated to MIB MiB in a seeded
#                 random order, each copy with its own EventRecordID and SystemTime, written compactly as
#                 they are (serde-style: `\\` and `\"` escapes, UTF-8 kept);
#   events.log    gen_corpus.py --kind windows --size-mib MIB --rate 1e-5 --seed 1: the Key=Value
#                 renderings of the same events (plus WMI-Activity lines and injected WMI matches).
# Each case is timed RUNS times; the best wall time is reported. "start-up" is the same command on an empty
# input (rule loading and compiling: an empty file for Key=Value, a one-line JSON file for JSON lines, so that
# auto-detection compiles the same one program as on the corpus) and the scan rate subtracts it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
SIGREP=${1:-$REPO/target/release/sigrep}
WORK=${2:-/tmp/sigrep-jsonl}
MIB=${3:-128}
REPEAT=${4:-16}
RUNS=${5:-3}
SHARED=$REPO/../shared
WMI=$SHARED/corpus/rules/wmi_persistence.yml
RULES=$SHARED/sigma/rules
[[ -d $SHARED ]] || { echo "jsonl.sh: ../shared is absent (it holds the events and rules)" >&2; exit 2; }
[[ -x $SIGREP ]] || { echo "jsonl.sh: $SIGREP is not built (cargo build --release)" >&2; exit 2; }
mkdir -p "$WORK"
log() { echo "[jsonl.sh $(date +%H:%M:%S)] $*" >&2; }

if [[ ! -s $WORK/events.jsonl || $(stat -c %s "$WORK/events.jsonl") -lt $((MIB << 20)) ]]; then
    log "writing $WORK/events.jsonl ($MIB MiB)"
    python3 - "$SHARED/corpus/windows-events.jsonl" "$MIB" "$WORK/events.jsonl" <<'EOF'
import json, random, sys
src, mib, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
events = [json.loads(l) for l in open(src, encoding="utf-8") if l.strip()]
rng = random.Random(1)
target, size, record = mib << 20, 0, 100000
with open(dest, "w", encoding="utf-8") as out:
    while size < target:
        ev = rng.choice(events)
        sysd = ev.get("Event", ev).get("System", {})
        record += rng.randint(1, 50)
        if "EventRecordID" in sysd:
            sysd["EventRecordID"] = record
        tc = (sysd.get("TimeCreated") or {}).get("#attributes")
        if isinstance(tc, dict):
            tc["SystemTime"] = "2025-%02d-%02dT%02d:%02d:%02d.%06dZ" % (
                rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
                rng.randint(0, 59), rng.randint(0, 999999))
        line = json.dumps(ev, separators=(",", ":"), ensure_ascii=False) + "\n"
        out.write(line)
        size += len(line.encode("utf-8"))
EOF
fi
if [[ ! -s $WORK/events.log ]]; then
    log "writing $WORK/events.log ($MIB MiB)"
    python3 "$SHARED/corpus/gen_corpus.py" --kind windows --size-mib "$MIB" --rate 1e-5 --seed 1 \
        --out "$WORK/events.log" >/dev/null 2>&1
fi
: >"$WORK/empty.log"
echo '{"x":1}' >"$WORK/one.jsonl"
cat "$WORK"/events.jsonl "$WORK"/events.log >/dev/null

# best K FILE ARGS...: sets BEST, the best wall seconds of RUNS runs of sigrep -h -c -j1 ARGS FILE (FILE named K
# times), and COUNT (the count of the last one).
best() {
    local k=$1 file=$2 b="" t0 t1 w files=()
    shift 2
    for ((i = 0; i < k; i++)); do files+=("$file"); done
    for ((r = 0; r < RUNS; r++)); do
        t0=$(date +%s.%N)
        COUNT=$("$SIGREP" -h -c -j1 "$@" "${files[@]}" 2>/dev/null | tail -n1 || true)
        t1=$(date +%s.%N)
        w=$(echo "$t1 - $t0" | bc -l)
        if [[ -z $b ]] || (($(echo "$w < $b" | bc -l))); then b=$w; fi
    done
    BEST=$b
}

row() { # NAME FILE ARGS...
    local name=$1 file=$2 bytes wall startup scan
    shift 2
    bytes=$(($(stat -c %s "$file") * REPEAT))
    if [[ $file == *.jsonl ]]; then best 1 "$WORK/one.jsonl" "$@"; else best 1 "$WORK/empty.log" "$@"; fi
    startup=$BEST
    best "$REPEAT" "$file" "$@"
    wall=$BEST
    scan=$(echo "$wall - $startup" | bc -l)
    printf '| %s | %s x%d | %d | %.3f | %.3f | %.0f | %.0f |\n' "$name" "$(basename "$file")" "$REPEAT" "$COUNT" \
        "$wall" \
        "$startup" "$(echo "$bytes / $wall / 1000000" | bc -l)" \
        "$(echo "if ($scan > 0.001) $bytes / $scan / 1000000 else 0" | bc -l)"
    log "$name $(basename "$file"): wall ${wall}s count $COUNT"
}

echo "sigrep $("$SIGREP" --version 2>/dev/null | head -n1); $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| case | input | count (one copy) | wall s | start-up s | MB/s (wall) | MB/s (scan) |"
echo "|---|---|---|---|---|---|---|"
row "WMI rule, --json-escaped" "$WORK/events.jsonl" --json-escaped "$WMI"
row "WMI rule, auto (detected)" "$WORK/events.jsonl" "$WMI"
row "WMI rule, --no-json-escaped" "$WORK/events.jsonl" --no-json-escaped "$WMI"
row "WMI rule, plain Key=Value" "$WORK/events.log" "$WMI"
row "all rules, --json-escaped" "$WORK/events.jsonl" --json-escaped -f "$RULES"
row "all rules, auto (detected)" "$WORK/events.jsonl" -f "$RULES"
row "all rules, --no-json-escaped" "$WORK/events.jsonl" --no-json-escaped -f "$RULES"
row "all rules, plain Key=Value" "$WORK/events.log" -f "$RULES"
