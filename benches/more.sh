#!/usr/bin/env bash
# The second half of the end-to-end benchmark (benches/README.md), run by compare.sh after its main tables:
#
#   1. many rules: all SigmaHQ rules at once on slices of the two corpora: sigrep (counting, printing with
#      attribution, two threads) against Hyperscan with all atoms in one database (hs_bool with a spec
#      written by the hs_spec example from sigrep's own atoms and formulas), plus a loop of GNU grep -P -i
#      over the rule regexes the legacy backend emits (every GREP_EVERY-th of the ~2,000 that grep accepts,
#      on a smaller slice; the time is scaled up to all of them);
#   2. no cliff: sigrep -c time at size S and 4S for a single long line, empty lines, a line made of one
#      keyword's prefix over and over, and the 4,432-value rule; the ratio must stay near 4;
#   3. compile time of every SigmaHQ rule on its own (the compile_times example).
#
#   benches/more.sh BENCH_DIR RESULT_DIR SHARED SIGREP EXAMPLES_DIR RUNS TIMEOUT ALL_MIB GREP_KIB LINEAR_MIB \
#       WINDOWS_CORPUS LINUX_CORPUS [GREP_EVERY]
#
# Writes RESULT_DIR/more.md (appended to the report by compare.sh). Exit 1 if a check fails.
set -euo pipefail
BENCH=$1 RES=$2 SHARED=$3 SIGREP=$4 EXAMPLES=$5 RUNS=$6 TIMEOUT=$7 ALL_MIB=$8 GREP_KIB=$9 LINEAR_MIB=${10}
WIN=${11} LNX=${12} GREP_EVERY=${13:-20}
RULES=$SHARED/sigma/rules
log() { echo "[more.sh $(date +%H:%M:%S)] $*" >&2; }
OUT=$RES/more
mkdir -p "$OUT"
printf 'section\tcase\ttool\trun\twall\tcpu\tmaxrss_kib\tstatus\tcount\tbytes\n' >"$OUT/runs.tsv"

# slice SRC KIB DEST: the first KIB KiB of SRC, cut back to a line end.
slice() {
    python3 - "$1" "$2" "$3" <<'EOF'
import sys
src, kib, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, "rb").read(kib * 1024)
open(dest, "wb").write(data[: data.rfind(b"\n") + 1])
EOF
}

# timed SECTION CASE TOOL MODE FILE CMD...: one run; MODE count (first field of the first line) or lines.
timed() {
    local section=$1 case=$2 tool=$3 mode=$4 file=$5 line wall cpu rss status count=""
    shift 5
    line=$("$BENCH/benchrun" "$TIMEOUT" "$OUT/last.out" "$OUT/last.err" "$@")
    read -r wall cpu rss status <<<"$line"
    if [[ $status == 0 || $status == 1 ]]; then
        if [[ $mode == count ]]; then count=$(head -n1 "$OUT/last.out" | awk '{ print $1 }'); else count=$(wc -l <"$OUT/last.out"); fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$case" "$tool" "$run" "$wall" "$cpu" "$rss" \
        "$status" "$count" "$(stat -c %s "$file")" >>"$OUT/runs.tsv"
    log "$section/$case: $tool: wall ${wall}s cpu ${cpu}s status $status count ${count:--}"
}

# ------------------------------------------------------------------ 1. many rules
log "many rules: writing the Hyperscan spec of all rules"
"$EXAMPLES/hs_spec" "$RULES" >"$OUT/all.spec" 2>"$OUT/hs_spec.err"
: >"$OUT/empty.log"
for kind in windows linux; do
    if [[ $kind == windows ]]; then src=$WIN; else src=$LNX; fi
    slice "$src" $((ALL_MIB * 1024)) "$OUT/$kind.log"
    slice "$src" "$GREP_KIB" "$OUT/${kind}_small.log"
    cat "$OUT/$kind.log" >/dev/null
    for ((run = 1; run <= RUNS; run++)); do
        timed many "$kind" "sigrep compile only" count "$OUT/empty.log" "$SIGREP" -f "$RULES" -c -j1 "$OUT/empty.log"
        timed many "$kind" "sigrep -f all -c -j1" count "$OUT/$kind.log" "$SIGREP" -f "$RULES" -c -j1 "$OUT/$kind.log"
        timed many "$kind" "sigrep -f all -j1 (prints, rules attributed)" lines "$OUT/$kind.log" \
            "$SIGREP" -f "$RULES" -j1 "$OUT/$kind.log"
        cp "$OUT/last.out" "$OUT/$kind.j1.out"
        timed many "$kind" "sigrep -f all -j2 (prints, rules attributed)" lines "$OUT/$kind.log" \
            "$SIGREP" -f "$RULES" -j2 "$OUT/$kind.log"
        cmp -s "$OUT/last.out" "$OUT/$kind.j1.out" || { echo "!!! $kind: -j1 and -j2 outputs differ" >&2; exit 1; }
        # Only the rules written for the corpus's product, as the README advises.
        timed many "$kind" "sigrep --logsource compile only" count "$OUT/empty.log" \
            "$SIGREP" -f "$RULES" --logsource "product=$kind" -c -j1 "$OUT/empty.log"
        timed many "$kind" "sigrep --logsource product=$kind -j1 (prints, rules attributed)" lines "$OUT/$kind.log" \
            "$SIGREP" -f "$RULES" --logsource "product=$kind" -j1 "$OUT/$kind.log"
        timed many "$kind" "Hyperscan compile only" count "$OUT/empty.log" "$BENCH/hs_bool" -c -j 1 "$OUT/all.spec" "$OUT/empty.log"
        timed many "$kind" "Hyperscan hs_bool -c -j 1" count "$OUT/$kind.log" "$BENCH/hs_bool" -c -j 1 "$OUT/all.spec" "$OUT/$kind.log"
    done
    # One grep per rule, as the legacy pipeline runs them (regexes grep accepts, from the oracle TSV).
    awk -F'\t' 'NR > 1 && $6 == "ok" && $8 == "ok" { print $10 }' "$SHARED/oracle/sigmahq-rules-grep.tsv" \
        >"$OUT/regexes.txt"
    awk -v k="$GREP_EVERY" 'NR % k == 1' "$OUT/regexes.txt" >"$OUT/regexes_sample.txt"
    cat >"$OUT/grep_loop.sh" <<'EOF'
#!/usr/bin/env bash
# grep_loop.sh REGEXES FILE ALL_REGEXES: one `grep -P -i -c` per regex (killed after 5 s); prints the number
# of regexes run, how many grep gave up on (exit 2: backtracking limit) or were killed, and the number of
# regexes in ALL_REGEXES.
n=0 bad=0
while IFS= read -r re; do
    n=$((n + 1))
    timeout 5 grep -P -i -c -e "$re" "$2" >/dev/null 2>&1; s=$?
    ((s > 1)) && bad=$((bad + 1))
done <"$1"
echo "$n $bad $(wc -l <"$3")"
EOF
    chmod +x "$OUT/grep_loop.sh"
    run=1 TIMEOUT=900 timed many "$kind" "grep -P -i -c, one run per rule" count "$OUT/${kind}_small.log" \
        "$OUT/grep_loop.sh" "$OUT/regexes_sample.txt" "$OUT/${kind}_small.log" "$OUT/regexes.txt"
    cp "$OUT/last.out" "$OUT/$kind.grep_loop.out"
done

# ------------------------------------------------------------------ 2. no cliff
LINUX_RULE=$RULES/linux/builtin/lnx_shell_susp_commands.yml
DRIVERS_RULE=$RULES/windows/driver_load/driver_load_win_vuln_drivers.yml
WMI_RULE=$SHARED/corpus/rules/wmi_persistence.yml
# Start-up (rule compile) on an empty input, subtracted from both sizes.
for ((run = 1; run <= RUNS; run++)); do
    timed linear "long line (WMI rule)" x0 count "$OUT/empty.log" "$SIGREP" -c -j1 "$WMI_RULE" "$OUT/empty.log"
    timed linear "long line, read not mapped (WMI rule)" x0 count "$OUT/empty.log" \
        "$SIGREP" -c -j1 --no-mmap "$WMI_RULE" "$OUT/empty.log"
    timed linear "empty lines (Linux rule)" x0 count "$OUT/empty.log" "$SIGREP" -c -j1 "$LINUX_RULE" "$OUT/empty.log"
    timed linear "keyword-prefix run (Linux rule)" x0 count "$OUT/empty.log" "$SIGREP" -c -j1 "$LINUX_RULE" "$OUT/empty.log"
    timed linear "Windows events (4,432-value rule)" x0 count "$OUT/empty.log" \
        "$SIGREP" -c -j1 "$DRIVERS_RULE" "$OUT/empty.log"
done
for scale in 1 4; do
    mib=$((LINEAR_MIB * scale))
    python3 - "$OUT" "$mib" "$scale" "$OUT/windows.log" <<'EOF'
import sys
out, mib, scale, windows = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
n = mib * 1048576
# One line made of Windows event text (newlines turned into spaces).
text = open(windows, "rb").read(n).replace(b"\n", b" ")
text = (text * (n // max(len(text), 1) + 1))[:n]
open(f"{out}/long_line_{scale}.log", "wb").write(text + b"\n")
# Empty lines only.
open(f"{out}/empty_lines_{scale}.log", "wb").write(b"\n" * (n // 10))
# One line that repeats a prefix of a keyword of the Linux rule (every position starts a near match).
prefix = b"chmod +x /tm"
open(f"{out}/prefix_run_{scale}.log", "wb").write((prefix * (n // len(prefix))) + b"\n")
EOF
    slice "$WIN" $((mib * 1024)) "$OUT/drivers_$scale.log"
    for ((run = 1; run <= RUNS; run++)); do
        timed linear "long line (WMI rule)" "x$scale" count "$OUT/long_line_$scale.log" \
            "$SIGREP" -c -j1 "$WMI_RULE" "$OUT/long_line_$scale.log"
        timed linear "long line, read not mapped (WMI rule)" "x$scale" count "$OUT/long_line_$scale.log" \
            "$SIGREP" -c -j1 --no-mmap "$WMI_RULE" "$OUT/long_line_$scale.log"
        timed linear "empty lines (Linux rule)" "x$scale" count "$OUT/empty_lines_$scale.log" \
            "$SIGREP" -c -j1 "$LINUX_RULE" "$OUT/empty_lines_$scale.log"
        timed linear "keyword-prefix run (Linux rule)" "x$scale" count "$OUT/prefix_run_$scale.log" \
            "$SIGREP" -c -j1 "$LINUX_RULE" "$OUT/prefix_run_$scale.log"
        timed linear "Windows events (4,432-value rule)" "x$scale" count "$OUT/drivers_$scale.log" \
            "$SIGREP" -c -j1 "$DRIVERS_RULE" "$OUT/drivers_$scale.log"
    done
done

# ------------------------------------------------------------------ 3. compile time of each rule
log "compile time of every rule on its own"
"$EXAMPLES/compile_times" "$RULES" >"$OUT/compile_times.txt" || true

# ------------------------------------------------------------------ report
python3 - "$OUT" "$ALL_MIB" "$GREP_KIB" "$LINEAR_MIB" <<'EOF' >"$RES/more.md"
import csv, os, statistics, sys
out, all_mib, grep_kib, linear_mib = sys.argv[1:]
rows = list(csv.DictReader(open(os.path.join(out, "runs.tsv")), delimiter="\t", quoting=csv.QUOTE_NONE))
failures = []
def med(section, case, tool, key):
    vals = [float(r[key]) for r in rows if (r["section"], r["case"], r["tool"]) == (section, case, tool)
            and r["status"] in ("0", "1")]
    return statistics.median(vals) if vals else None
def get(section, case, tool, key):
    for r in rows:
        if (r["section"], r["case"], r["tool"]) == (section, case, tool):
            return r[key]
print("## Many rules: all of `../shared/sigma/rules` at once")
print()
print("Slices of the two corpora (%s MiB each; the grep loop: %s KiB). Median CPU seconds; scan MB/s is "
      "the slice size over (run CPU - compile-only CPU), shown when that difference is above 0.05 s. "
      "Counts: selected lines." % (all_mib, grep_kib))
print()
print("| corpus | tool | median CPU s | median wall s | scan MB/s | max RSS MiB | count |")
print("|---|---|--:|--:|--:|--:|--:|")
for kind in ("windows", "linux"):
    tools = []
    for r in rows:
        if r["section"] == "many" and r["case"] == kind and r["tool"] not in tools:
            tools.append(r["tool"])
    for tool in tools:
        cpu, wall = med("many", kind, tool, "cpu"), med("many", kind, tool, "wall")
        size = int(get("many", kind, tool, "bytes"))
        rss = max(int(r["maxrss_kib"]) for r in rows if (r["section"], r["case"], r["tool"]) == ("many", kind, tool))
        count = get("many", kind, tool, "count")
        if cpu is None:
            print("| %s | %s | error | | | | |" % (kind, tool)); failures.append("%s: %s failed" % (kind, tool)); continue
        if tool.startswith("Hyperscan"):
            base = "Hyperscan compile only"
        elif "--logsource" in tool:
            base = "sigrep --logsource compile only"
        else:
            base = "sigrep compile only"
        comp = med("many", kind, base, "cpu") or 0.0
        if tool.startswith("grep"):
            # A sample of the rules ran: scale the time up to all of them.
            n, bad, total = open(os.path.join(out, kind + ".grep_loop.out")).read().split()
            cpu, wall = cpu * int(total) / int(n), wall * int(total) / int(n)
            mbs = "%.3f" % (size / 1e6 / cpu)
            count = "%s of %s regexes ran (time scaled to all), %s gave up" % (n, total, bad)
        elif "compile only" in tool:
            mbs = "-"
        elif cpu - comp > 0.05:
            mbs = "%.1f" % (size / 1e6 / (cpu - comp))
        else:
            mbs = "(below noise)"
        print("| %s | %s | %.2f | %.2f | %s | %.0f | %s |" % (kind, tool, cpu, wall, mbs, rss / 1024, count))
print()
print("## No cliff: time at size S and 4S")
print()
print("S = %s MiB of input (empty lines: S/10 newlines). Median CPU seconds of `sigrep -c -j1`, minus "
      "its start-up on an empty input; the ratio must stay near 4 (linear), and below 6 passes." % linear_mib)
print()
print("| case | start-up CPU s | S: CPU s | 4S: CPU s | ratio |")
print("|---|--:|--:|--:|--:|")
for case in dict.fromkeys(r["case"] for r in rows if r["section"] == "linear"):
    z = med("linear", case, "x0", "cpu") or 0.0
    a, b = med("linear", case, "x1", "cpu"), med("linear", case, "x4", "cpu")
    if a is None or b is None:
        print("| %s | error | | | |" % case); failures.append("linear %s failed" % case); continue
    a, b = max(a - z, 0.0), max(b - z, 0.0)
    ratio = b / a if a > 0 else float("inf")
    # Tiny runs are noise: judge the ratio only when the 4S run takes a tenth of a second.
    if ratio > 6 and b > 0.1:
        failures.append("%s: 4x the input took %.1fx the time" % (case, ratio))
    print("| %s | %.3f | %.3f | %.3f | %.2f |" % (case, z, a, b, ratio))
print()
print("## Compile time of each rule on its own")
print()
print("```")
print(open(os.path.join(out, "compile_times.txt")).read().rstrip())
print("```")
if failures:
    print()
    print("**FAILED**: " + "; ".join(failures))
    sys.exit(1)
EOF
