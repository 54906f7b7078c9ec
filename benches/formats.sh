#!/usr/bin/env bash
# Input formats: sigrep on compressed files (gzip, bzip2, xz, zstd) and on Windows event logs (.evtx),
# against the plain-text path on the same text and against zgrep and ugrep -z. See benches/README.md.
#
#   benches/formats.sh [--size-mib N] [--runs N] [--evtx-copies N]
#
# The Windows corpus (gen_corpus.py, rare WMI matches) is written to /tmp/bench/formats and compressed
# with each tool's default level. MB/s columns: decompressed text per CPU second (user+sys) and
# compressed input per CPU second. Medians of --runs runs, stdout to a file. Exit status 1 when the
# tools disagree on a count.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=128 RUNS=3 EVTX_COPIES=100
while (($#)); do
    case $1 in
        --size-mib) SIZE_MIB=${2:?}; shift 2 ;;
        --runs) RUNS=${2:?}; shift 2 ;;
        --evtx-copies) EVTX_COPIES=${2:?}; shift 2 ;;
        -h | --help) sed -n 2,9p "$0"; exit 0 ;;
        *) echo "formats.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

SHARED=../shared
OUT=/tmp/bench/formats
mkdir -p "$OUT"
log() { printf '[formats.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

need=()
for tool in gzip:gzip bzip2:bzip2 xz:xz-utils zstd:zstd ugrep:ugrep zgrep:gzip python3:python3; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if ((${#need[@]})); then
    log "installing ${need[*]}"
    apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

log "building sigrep (release)"
cargo build --release --quiet --bin sigrep
SIGREP=$PWD/target/release/sigrep
RULE=$SHARED/corpus/rules/wmi_persistence.yml
# The hand-simplified WMI rule for the PCRE and ugrep baselines (as in compare.sh).
PCRE='^(?:(?=.*5861)(?=.*(?:ActiveScriptEventConsumer|CommandLineEventConsumer|CommandLineTemplate))|.*5859)'
BOOL='(5861 (ActiveScriptEventConsumer|CommandLineEventConsumer|CommandLineTemplate))|5859'

TEXT=$OUT/windows_rare_${SIZE_MIB}m.log
if [[ ! -s $TEXT ]]; then
    log "generating $TEXT"
    python3 "$SHARED/corpus/gen_corpus.py" --kind windows --size-mib "$SIZE_MIB" --rate 1e-5 --seed 1 \
        --out "$TEXT" >&2
fi
for c in "gzip gz" "bzip2 bz2" "xz xz" "zstd zst"; do
    set -- $c
    if [[ ! -s $TEXT.$2 ]]; then
        log "compressing with $1"
        $1 -c "$TEXT" >"$TEXT.$2.tmp" && mv "$TEXT.$2.tmp" "$TEXT.$2"
    fi
done

# run NAME INPUT_BYTES TEXT_BYTES COMMAND...: median CPU and wall seconds, the count printed.
ROWS=()
COUNTS=()
run() {
    local name=$1 in_bytes=$2 text_bytes=$3
    shift 3
    local cpus=() walls=() count
    for ((i = 0; i < RUNS; i++)); do
        local t
        t=$(python3 -c '
import resource, subprocess, sys, time
# Children reaped before this point (a pyenv shim'"'"'s) are not ours.
before = resource.getrusage(resource.RUSAGE_CHILDREN)
start = time.perf_counter()
with open(sys.argv[1], "wb") as out:
    subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.4f} {r.ru_utime - before.ru_utime:.4f} {r.ru_stime - before.ru_stime:.4f}")' "$OUT/out.txt" "$@")
        walls+=("$(awk '{print $1}' <<<"$t")")
        cpus+=("$(awk '{print $2 + $3}' <<<"$t")")
    done
    count=$(awk -F: '{s += $NF} END {print s + 0}' "$OUT/out.txt")
    local cpu wall
    cpu=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    wall=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    ROWS+=("$(awk -v n="$name" -v c="$cpu" -v w="$wall" -v i="$in_bytes" -v t="$text_bytes" -v k="$count" \
        'BEGIN {c1 = (c > 0.0001 ? c : 0.0001); printf "| %s | %.3f | %.3f | %.0f | %.0f | %s |", n, w, c, t / c1 / 1e6, i / c1 / 1e6, k}')")
    COUNTS+=("$name=$count")
    log "$name: wall $wall cpu $cpu count $count"
}

size() { stat -c %s "$1"; }
T=$(size "$TEXT")
run "sigrep -c, plain text (mapped)" "$T" "$T" "$SIGREP" -c -j1 "$RULE" "$TEXT"
run "sigrep -c, plain text (--no-mmap)" "$T" "$T" "$SIGREP" -c -j1 --no-mmap "$RULE" "$TEXT"
for ext in gz bz2 xz zst; do
    F=$TEXT.$ext
    run "sigrep -c, .$ext" "$(size "$F")" "$T" "$SIGREP" -c -j1 "$RULE" "$F"
done
run "gzip -dc | wc -l (decompression alone)" "$(size "$TEXT.gz")" "$T" sh -c "gzip -dc '$TEXT.gz' | wc -l"
run "zstd -dc | wc -l (decompression alone)" "$(size "$TEXT.zst")" "$T" sh -c "zstd -dcq '$TEXT.zst' | wc -l"
run "zgrep -c -P -i, .gz" "$(size "$TEXT.gz")" "$T" zgrep -c -P -i -e "$PCRE" "$TEXT.gz"
run "ugrep -z -c -i --bool, .gz" "$(size "$TEXT.gz")" "$T" ugrep -z -c -i -J1 --bool "$BOOL" "$TEXT.gz"
run "ugrep -z -c -i --bool, .zst" "$(size "$TEXT.zst")" "$T" ugrep -z -c -i -J1 --bool "$BOOL" "$TEXT.zst"

# Event logs: the 12 real files, each named EVTX_COPIES times (one process), against the plain-text
# path on their Key=Value rendering repeated as often.
EVTX=("$SHARED"/corpus/evtx/*.evtx)
ARGS=()
for ((i = 0; i < EVTX_COPIES; i++)); do ARGS+=("${EVTX[@]}"); done
EVERY=$OUT/every.yml
printf 'title: every record\ndetection:\n  keywords:\n    - EventID\n  condition: keywords\n' >"$EVERY"
"$SIGREP" -h "$EVERY" "${EVTX[@]}" >"$OUT/evtx_kv.txt"
"$SIGREP" -h --evtx-format xml "$EVERY" "${EVTX[@]}" >"$OUT/evtx_xml.txt"
for ((i = 0; i < EVTX_COPIES; i++)); do cat "$OUT/evtx_kv.txt"; done >"$OUT/evtx_kv_copies.log"
for ((i = 0; i < EVTX_COPIES; i++)); do cat "$OUT/evtx_xml.txt"; done >"$OUT/evtx_xml_copies.log"
E=$(($(cat "${EVTX[@]}" | wc -c) * EVTX_COPIES))
KV=$(size "$OUT/evtx_kv_copies.log")
XML=$(size "$OUT/evtx_xml_copies.log")
run "sigrep -c, .evtx Key=Value, -j1" "$E" "$KV" "$SIGREP" -c -j1 "$RULE" "${ARGS[@]}"
run "sigrep -c, .evtx Key=Value, -j2" "$E" "$KV" "$SIGREP" -c -j2 "$RULE" "${ARGS[@]}"
run "sigrep -c, .evtx XML, -j1" "$E" "$XML" "$SIGREP" -c -j1 --evtx-format xml "$RULE" "${ARGS[@]}"
run "sigrep -c, the Key=Value text" "$KV" "$KV" "$SIGREP" -c -j1 "$RULE" "$OUT/evtx_kv_copies.log"
run "sigrep -c -f (all rules), .evtx Key=Value, -j1" "$E" "$KV" "$SIGREP" -c -j1 -f "$SHARED/sigma/rules" "${ARGS[@]}"
run "sigrep -c -f (all rules), the Key=Value text" "$KV" "$KV" "$SIGREP" -c -j1 -f "$SHARED/sigma/rules" "$OUT/evtx_kv_copies.log"
run "sigrep -c -f (all rules), compile only" 0 0 "$SIGREP" -c -j1 -f "$SHARED/sigma/rules" /dev/null

cat <<EOF
# Input formats

\`benches/formats.sh --size-mib $SIZE_MIB --runs $RUNS --evtx-copies $EVTX_COPIES\`: medians of $RUNS runs, one
thread unless said, stdout to a file, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),
commit $(git rev-parse --short HEAD). Text MB/s: decompressed (or rendered) text per CPU second;
input MB/s: bytes of the file as stored per CPU second. Counts: selected lines (records).

Windows corpus, WMI rule: \`$TEXT\` ($((T / 1048576)) MiB; .gz $(($(size "$TEXT.gz") / 1048576)) MiB,
.bz2 $(($(size "$TEXT.bz2") / 1048576)) MiB, .xz $(($(size "$TEXT.xz") / 1048576)) MiB, .zst $(($(size "$TEXT.zst") / 1048576)) MiB).
Event logs: the 12 files of \`../shared/corpus/evtx\` ($((E / EVTX_COPIES)) bytes) named $EVTX_COPIES times,
the WMI rule, and all $(find "$SHARED/sigma/rules" -name '*.yml' | wc -l) SigmaHQ rules (compile time included: see the compile-only row).

| case | wall s | CPU s | text MB/s | input MB/s | count |
|---|--:|--:|--:|--:|--:|
EOF
printf '%s\n' "${ROWS[@]}"

# The counts that must agree.
status=0
for group in "plain text|\.gz|\.bz2|\.xz|\.zst|zgrep|ugrep" "^sigrep -c, .evtx Key=Value|^sigrep -c, the Key=Value text" "all rules\), .evtx Key=Value|all rules\), the Key=Value text"; do
    vals=$(printf '%s\n' "${COUNTS[@]}" | grep -E "$group" | grep -v "wc -l" | sed 's/.*=//' | sort -u)
    if [[ $(wc -l <<<"$vals") -ne 1 ]]; then
        echo "count mismatch in ($group): $(printf '%s\n' "${COUNTS[@]}" | grep -E "$group" | tr '\n' ' ')"
        status=1
    fi
done
exit $status
