#!/usr/bin/env bash
# End-to-end benchmark: sigrep against a memchr newline count, Hyperscan (hs_bool), rg -P, grep -P and
# ugrep --bool on the same generated corpora (DESIGN.md section 4). See benches/README.md.
#
#   benches/compare.sh [--size-mib N] [--runs N] [--quick] [--timeout S] [--budget S] [--clock cpu|wall]
#                      [--all-mib N] [--grep-kib N] [--linear-mib N] [--no-more]
#
# Exit status: 0 when every tool that finished agrees on the selected-line counts, 1 on a count mismatch
# or a tool error, 2 on a setup failure. Scratch data (corpora, binaries, outputs, reports): /tmp/bench.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benches/compare.sh [--size-mib N] [--runs N] [--quick] [--timeout S] [--budget S] [--clock cpu|wall]
                          [--all-mib N] [--grep-kib N] [--linear-mib N] [--no-more]

  --size-mib N   corpus size in MiB (default 1024)
  --quick        64 MiB corpora (same as --size-mib 64)
  --runs N       timed runs per tool, the median is reported (default 5)
  --timeout S    kill a run after S seconds and report "timeout" (default 300)
  --budget S     stop repeating a tool once its runs on a corpus took S seconds in all (default 60;
                 every tool runs at least once)
  --clock C      seconds the GB/s and ratio columns use: cpu (user+sys, default; steadier on a busy
                 machine, as in ../shared/bench/README.md) or wall

Environment: SHARED (default: ../shared beside the repository), CARGO_TARGET_DIR (as for cargo).
EOF
}

die() { echo "compare.sh: $*" >&2; exit 2; }
log() { echo "[compare.sh $(date +%H:%M:%S)] $*" >&2; }

SIZE_MIB=1024 RUNS=5 TIMEOUT=300 BUDGET=60 CLOCK=cpu QUICK=0 ALL_MIB='' GREP_KIB=256 LINEAR_MIB='' MORE=1
while (($#)); do
    case $1 in
        --size-mib) SIZE_MIB=${2:?--size-mib needs a value}; shift 2 ;;
        --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
        --budget) BUDGET=${2:?--budget needs a value}; shift 2 ;;
        --clock) CLOCK=${2:?--clock needs a value}; shift 2 ;;
        --all-mib) ALL_MIB=${2:?--all-mib needs a value}; shift 2 ;;
        --grep-kib) GREP_KIB=${2:?--grep-kib needs a value}; shift 2 ;;
        --linear-mib) LINEAR_MIB=${2:?--linear-mib needs a value}; shift 2 ;;
        --no-more) MORE=0; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
((QUICK)) && SIZE_MIB=64
: "${ALL_MIB:=$( ((QUICK)) && echo 8 || echo 64)}" "${LINEAR_MIB:=$( ((QUICK)) && echo 4 || echo 25)}"
[[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -gt 0 ]] || die "--size-mib must be a positive integer"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -gt 0 ]] || die "--runs must be a positive integer"
[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -gt 0 ]] || die "--timeout must be a positive integer"
[[ $BUDGET =~ ^[0-9]+$ ]] || die "--budget must be an integer"
[[ $CLOCK == cpu || $CLOCK == wall ]] || die "--clock must be cpu or wall"

INVOCATION="benches/compare.sh --size-mib $SIZE_MIB --runs $RUNS --timeout $TIMEOUT --budget $BUDGET --clock $CLOCK"
((MORE)) && INVOCATION+=" --all-mib $ALL_MIB --grep-kib $GREP_KIB --linear-mib $LINEAR_MIB" || INVOCATION+=" --no-more"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$REPO/../shared}
[[ -d $SHARED ]] || die "shared directory not found: $SHARED (set SHARED=...)"
SHARED=$(cd "$SHARED" && pwd)
BENCH=/tmp/bench
mkdir -p "$BENCH/src"
START_S=$SECONDS

# ---------------------------------------------------------------- 1. tools
missing=()
command -v rg >/dev/null || missing+=(ripgrep)
command -v ugrep >/dev/null || missing+=(ugrep)
command -v gcc >/dev/null || missing+=(gcc)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if ! command -v pkg-config >/dev/null || ! pkg-config --exists libhs; then missing+=(libhyperscan-dev); fi
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} first"
        sudo=(sudo -n)
    fi
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed"
fi
command -v cargo >/dev/null || die "cargo not found"

log "building sigrep and its benchmark examples (cargo build --release --bins --examples)"
(cd "$REPO" && cargo build --release --bins --examples >&2) || die "cargo build --release failed"
TARGET_DIR=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
SIGREP=$TARGET_DIR/release/sigrep
[[ -x $SIGREP ]] || die "no sigrep binary at $SIGREP"

log "building the Hyperscan harness, the memchr count and the timer"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
gcc -O2 -o "$BENCH/hs_bool" "$SHARED/bench/hs_bool.c" $(pkg-config --cflags --libs libhs) -lpthread ||
    die "building hs_bool failed"

cat >"$BENCH/src/nlcount.c" <<'EOF'
/* nlcount FILE: count '\n' bytes with glibc memchr over an mmap of FILE (the benchmark floor). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: nlcount FILE\n"); return 2; }
    int fd = open(argv[1], O_RDONLY); struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) { perror(argv[1]); return 2; }
    unsigned long long n = 0;
    if (st.st_size > 0) {
        const char *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0), *q, *end;
        if (p == MAP_FAILED) { perror("mmap"); return 2; }
        for (end = p + st.st_size; (q = memchr(p, '\n', end - p)); p = q + 1) n++;
    }
    printf("%llu\n", n);
    return 0;
}
EOF
cat >"$BENCH/src/benchrun.c" <<'EOF'
/* benchrun TIMEOUT_S OUT ERR CMD [ARG...]: run CMD with stdout to OUT and stderr to ERR (truncated),
 * kill its process group after TIMEOUT_S seconds; print "WALL_S CPU_S MAXRSS_KIB STATUS" where CPU is
 * user+sys of CMD and its waited-for children, STATUS the exit code, "timeout" or "signal-N". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static volatile sig_atomic_t fired;
static void on_alarm(int s) { (void)s; fired = 1; }
int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: benchrun TIMEOUT_S OUT ERR CMD [ARG...]\n"); return 2; }
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644), err = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) { perror("open"); return 2; }
    struct sigaction sa = {0}; sa.sa_handler = on_alarm; sigaction(SIGALRM, &sa, NULL);
    struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        setpgid(0, 0);
        dup2(out, 1); dup2(err, 2); close(out); close(err);
        execvp(argv[4], argv + 4); perror(argv[4]); _exit(127);
    }
    setpgid(pid, pid);
    alarm((unsigned)atoi(argv[1]));
    int st; struct rusage ru; pid_t w;
    while ((w = wait4(pid, &st, 0, &ru)) < 0 && errno == EINTR)
        if (fired) { kill(-pid, SIGKILL); kill(pid, SIGKILL); }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (w < 0) { perror("wait4"); return 2; }
    double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    if (fired) printf("%.6f %.6f %ld timeout\n", wall, cpu, ru.ru_maxrss);
    else if (WIFSIGNALED(st)) printf("%.6f %.6f %ld signal-%d\n", wall, cpu, ru.ru_maxrss, WTERMSIG(st));
    else printf("%.6f %.6f %ld %d\n", wall, cpu, ru.ru_maxrss, WEXITSTATUS(st));
    return 0;
}
EOF
gcc -O2 -o "$BENCH/nlcount" "$BENCH/src/nlcount.c" || die "building nlcount failed"
gcc -O2 -o "$BENCH/benchrun" "$BENCH/src/benchrun.c" || die "building benchrun failed"

# ---------------------------------------------------------------- 2. corpora
# meta_ok FILE KIND RATE SEED: FILE and FILE.meta.json exist, were made with these parameters, and the
# file is complete (its size is the meta's byte count, at least SIZE_MIB MiB).
meta_ok() {
    [[ -f $1 && -f $1.meta.json ]] || return 1
    python3 - "$1" "$2" "$3" "$4" "$SIZE_MIB" <<'EOF'
import json, os, sys
f, kind, rate, seed, mib = sys.argv[1:]
m = json.load(open(f + ".meta.json"))
ok = (m.get("kind") == kind and float(m.get("rate", -1)) == float(rate) and m.get("seed") == int(seed)
      and m.get("bytes") == os.path.getsize(f) and m["bytes"] >= int(mib) * 1048576)
sys.exit(0 if ok else 1)
EOF
}

# corpus NAME KIND RATE SEED: generate $BENCH/NAME_<size>m.log unless it is already there.
corpus() {
    local f=$BENCH/${1}_${SIZE_MIB}m.log
    if meta_ok "$f" "$2" "$3" "$4"; then
        log "corpus $f: present, not regenerated"
    else
        log "generating $f (--kind $2 --rate $3 --seed $4 --size-mib $SIZE_MIB)"
        rm -f "$f" "$f.meta.json"
        python3 "$SHARED/corpus/gen_corpus.py" --kind "$2" --size-mib "$SIZE_MIB" --rate "$3" --seed "$4" \
            --out "$f" 2>"$BENCH/gen.err" || { cat "$BENCH/gen.err" >&2; die "gen_corpus.py failed"; }
        meta_ok "$f" "$2" "$3" "$4" || die "generated corpus $f does not match its meta.json"
    fi
}
corpus windows_rare windows 1e-5 1
corpus linux_dense linux 1e-2 2
corpus windows_dense windows 1e-2 22
WIN=$BENCH/windows_rare_${SIZE_MIB}m.log
LNX=$BENCH/linux_dense_${SIZE_MIB}m.log
WIN_DENSE=$BENCH/windows_dense_${SIZE_MIB}m.log

# ---------------------------------------------------------------- 3. rules and queries
WMI_RULE=$SHARED/corpus/rules/wmi_persistence.yml
WMI_SPEC=$SHARED/bench/spec/wmi_persistence.spec
WMI_PCRE='^(?:(?=.*5861)(?=.*(?:ActiveScriptEventConsumer|CommandLineEventConsumer|CommandLineTemplate))|.*5859)'
# ugrep --bool: OR binds tighter than AND (and than juxtaposition), so the AND needs its own parentheses:
# '5861 (A|B|C)|5859' would mean 5861 AND (A|B|C|5859).
WMI_BOOL='(5861 (ActiveScriptEventConsumer|CommandLineEventConsumer|CommandLineTemplate))|5859'

LNX_RULE_REL=rules/linux/builtin/lnx_shell_susp_commands.yml
LNX_RULE=$SHARED/sigma/$LNX_RULE_REL
LNX_SPEC=$SHARED/bench/spec/lnx_shell_susp_commands.spec
LNX_PCRE=$(awk -F'\t' -v p="$LNX_RULE_REL" '$1 == p && $9 == "none" { print $10 }' \
    "$SHARED/oracle/sigmahq-rules-grep.tsv" | python3 "$SHARED/oracle/minimal_regex.py")
[[ -n $LNX_PCRE ]] || die "no defect-free regex for $LNX_RULE_REL in sigmahq-rules-grep.tsv"
# ugrep --bool for the Linux rule: the OR of its keywords, taken from the spec's atoms (the rule is one
# OR of all of them). Spaces inside a subpattern become \x20 (a space separates --bool operands), a
# leading '-' becomes \x2d (a leading '-' means NOT), and '\-' becomes '-' (ugrep's regex rejects it).
LNX_BOOL=$(python3 - "$LNX_SPEC" <<'EOF'
import sys
atoms, rules = [], []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("A "):
        _, i, flag, rx = line.split(" ", 3)
        assert int(i) == len(atoms) and flag == "i", line
        rx = rx.replace("\\ ", "\\x20").replace("\\-", "-")
        atoms.append("\\x2d" + rx[1:] if rx.startswith("-") else rx)
    elif line.startswith("R "):
        rules.append(line.split()[2:])
want = ["a0"] + [t for i in range(1, len(atoms)) for t in ("a%d" % i, "|")]
assert rules == [want], "the Linux rule is not one OR of all its atoms"
print("|".join(atoms))
EOF
)

# ---------------------------------------------------------------- 4. the timed runs
export LC_ALL=C.UTF-8
unset RIPGREP_CONFIG_PATH GREP_OPTIONS GREP_COLOR GREP_COLORS || true

STAMP=$(date +%Y%m%d-%H%M%S)
RES=$BENCH/results/$STAMP-${SIZE_MIB}m
mkdir -p "$RES"
printf 'corpus\tidx\trun\twall\tcpu\tmaxrss_kib\tstatus\tcount\tstderr\n' >"$RES/runs.tsv"
printf 'corpus\tidx\tlabel\trole\tmode\tcommand\n' >"$RES/tools.tsv"
printf 'corpus\ttitle\tfile\trule\texpected_key\n' >"$RES/corpora.tsv"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

LABELS=() ROLES=() MODES=() CMDS=()
# tool LABEL ROLE MODE CMD...: ROLE is floor, ref (the sigrep row ratios are taken to) or -; MODE is
# count (the tool prints a count first), lines (count the printed lines: one per selected line), json
# (count the printed "match" records) or output (the printed lines are not the selected lines:
# context, another query; not checked).
tool() {
    LABELS+=("$1") ROLES+=("$2") MODES+=("$3")
    shift 3
    CMDS+=("$(shq "$@")")
}

# shq ARG...: the arguments as one shell-quoted line (bare when safe, else in single quotes).
shq() {
    local a q=()
    for a; do
        if [[ $a =~ ^[A-Za-z0-9_./=:,+@%-]+$ ]]; then q+=("$a"); else q+=("'${a//\'/\'\\\'\'}'"); fi
    done
    echo "${q[*]}"
}

# bench CORPUS TITLE FILE RULE EXPECTED_KEY: time every tool registered with `tool`, round-robin.
bench() {
    local corpus=$1 title=$2 file=$3 rule=$4 key=$5 n=${#LABELS[@]} i r
    local -a fin=() spent=()
    printf '%s\t%s\t%s\t%s\t%s\n' "$corpus" "$title" "$file" "$rule" "$key" >>"$RES/corpora.tsv"
    for ((i = 0; i < n; i++)); do
        printf '%s\t%d\t%s\t%s\t%s\t%s\n' "$corpus" "$i" "${LABELS[i]}" "${ROLES[i]}" "${MODES[i]}" \
            "${CMDS[i]} > OUT" >>"$RES/tools.tsv"
        fin[i]=0 spent[i]=0
    done
    mkdir -p "$RES/$corpus"
    log "$corpus: warming the page cache"
    cat "$file" >/dev/null
    for ((r = 1; r <= RUNS; r++)); do
        for ((i = 0; i < n; i++)); do
            ((fin[i])) && continue
            local out=$RES/$corpus/$i.out err=$RES/$corpus/$i.err line wall cpu rss status count="" errline=""
            line=$(eval "\"\$BENCH/benchrun\" \"\$TIMEOUT\" \"\$out\" \"\$err\" ${CMDS[i]}")
            read -r wall cpu rss status <<<"$line"
            if [[ $status == 0 || $status == 1 ]]; then
                if [[ ${MODES[i]} == count ]]; then
                    count=$(head -n1 "$out" | awk '{ print $1 }')
                elif [[ ${MODES[i]} == json ]]; then
                    count=$(grep -c '"type":"match"' "$out" || true)
                else
                    count=$(wc -l <"$out")
                fi
            else
                fin[i]=1
            fi
            [[ -s $err ]] && errline=$(head -n1 "$err" | tr '\t' ' ' | cut -c1-200)
            printf '%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n' "$corpus" "$i" "$r" "$wall" "$cpu" "$rss" "$status" \
                "$count" "$errline" >>"$RES/runs.tsv"
            log "$corpus run $r/$RUNS: ${LABELS[i]}: wall ${wall}s cpu ${cpu}s status $status count ${count:--}"
            spent[i]=$(awk -v a="${spent[i]}" -v b="$wall" 'BEGIN { print a + b }')
            if awk -v a="${spent[i]}" -v b="$BUDGET" 'BEGIN { exit !(a >= b) }'; then fin[i]=1; fi
        done
    done
}

add_common() { # FILE RULE SPEC PCRE BOOL
    tool "wc -l" - count wc -l "$1"
    tool "memchr count (nlcount)" floor count "$BENCH/nlcount" "$1"
    tool "sigrep -c -j1" ref count "$SIGREP" -c -j1 "$2" "$1"
    tool "sigrep -j1 (prints lines)" - lines "$SIGREP" -j1 "$2" "$1"
    tool "sigrep -c -j2" - count "$SIGREP" -c -j2 "$2" "$1"
    tool "Hyperscan hs_bool -c -j 1" - count "$BENCH/hs_bool" -c -j 1 "$3" "$1"
    tool "rg -P -i -c -j1" - count rg --no-config -P -i -c -j1 -e "$4" "$1"
    tool "grep -P -i -c" - count grep -P -i -c -e "$4" "$1"
    tool "ugrep -c -i -J1 --bool" - count ugrep -c -i -J1 --bool "$5" "$1"
}

add_output_modes() { # FILE RULE: every output mode of sigrep on one core (issue 17: within 1.3x of -c)
    tool "sigrep -n -j1" - lines "$SIGREP" -n -j1 "$2" "$1"
    tool "sigrep -b -j1" - lines "$SIGREP" -b -j1 "$2" "$1"
    tool "sigrep --json -j1" - json "$SIGREP" --json -j1 "$2" "$1"
    tool "sigrep -C 2 -j1" - output "$SIGREP" -C 2 -j1 "$2" "$1"
}

LABELS=() ROLES=() MODES=() CMDS=()
add_common "$WIN" "$WMI_RULE" "$WMI_SPEC" "$WMI_PCRE" "$WMI_BOOL"
add_output_modes "$WIN" "$WMI_RULE"
# ripgrep printing the lines of the rule's rarest literal: what printing numbered lines or JSON costs
# a fast grep on the same file (it selects more lines than the rule).
tool "rg -n -F -i -j1 5861 (rarest literal)" - output rg --no-config -n -F -i -j1 -e 5861 "$WIN"
tool "rg --json -F -i -j1 5861 (rarest literal)" - output rg --no-config --json -F -i -j1 -e 5861 "$WIN"
bench windows "Windows events, rare matches: WMI persistence rule" "$WIN" "$WMI_RULE" wmi_persistence

# The dense anchor: a rule of 16 values and a filter of 3 (selection and not filter), 1% of lines.
MONERO_RULE_REL=rules/windows/process_creation/proc_creation_win_susp_crypto_mining_monero.yml
MONERO_RULE=$SHARED/sigma/$MONERO_RULE_REL
MONERO_SPEC=$SHARED/bench/spec/proc_creation_win_susp_crypto_mining_monero.spec
LABELS=() ROLES=() MODES=() CMDS=()
tool "memchr count (nlcount)" floor count "$BENCH/nlcount" "$WIN_DENSE"
tool "sigrep -c -j1" ref count "$SIGREP" -c -j1 "$MONERO_RULE" "$WIN_DENSE"
tool "sigrep -j1 (prints lines)" - lines "$SIGREP" -j1 "$MONERO_RULE" "$WIN_DENSE"
add_output_modes "$WIN_DENSE" "$MONERO_RULE"
tool "sigrep -c -j2" - count "$SIGREP" -c -j2 "$MONERO_RULE" "$WIN_DENSE"
tool "Hyperscan hs_bool -c -j 1" - count "$BENCH/hs_bool" -c -j 1 "$MONERO_SPEC" "$WIN_DENSE"
tool "Hyperscan hs_bool -j 1 (prints lines)" - lines "$BENCH/hs_bool" -j 1 "$MONERO_SPEC" "$WIN_DENSE"
bench windows_dense "Windows events, 1% matches: Monero mining rule (selection and not filter)" \
    "$WIN_DENSE" "$MONERO_RULE" proc_creation_win_susp_crypto_mining_monero

LABELS=() ROLES=() MODES=() CMDS=()
add_common "$LNX" "$LNX_RULE" "$LNX_SPEC" "$LNX_PCRE" "$LNX_BOOL"
add_output_modes "$LNX" "$LNX_RULE"
tool "Hyperscan hs_bool -j 1 (prints lines)" - lines "$BENCH/hs_bool" -j 1 "$LNX_SPEC" "$LNX"
tool "sigrep -j2 (prints lines)" - lines "$SIGREP" -j2 "$LNX_RULE" "$LNX"
bench linux "Linux syslog, 1% matches: Suspicious Activity in Shell Commands" "$LNX" "$LNX_RULE" \
    lnx_shell_susp_commands

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- 5. report
{
    echo "nproc	$(nproc)"
    echo "CPU	$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel	$(uname -sr)"
    echo "memory	$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "load average (1/5/15 min) at start	$LOAD_START"
    echo "load average (1/5/15 min) at end	$LOAD_END"
    echo "sigrep	$("$SIGREP" --version 2>&1 | head -n1), commit $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown), $SIGREP"
    echo "Hyperscan	libhs $(pkg-config --modversion libhs), hs_bool.c built with $(gcc --version | head -n1)"
    echo "ripgrep	$(rg --version | head -n1), $(rg --pcre2-version 2>/dev/null | head -n1)"
    echo "GNU grep	$(grep --version | head -n1)"
    echo "ugrep	$(ugrep --version | head -n1)"
    echo "wc	$(wc --version | head -n1)"
    echo "rustc	$(rustc --version 2>/dev/null || echo unknown)"
    echo "locale	LC_ALL=$LC_ALL"
} >"$RES/machine.tsv"

set +e
python3 - "$RES" "$CLOCK" "$INVOCATION" "$RUNS" "$TIMEOUT" "$BUDGET" <<'EOF' | tee "$RES/report.md"
import csv, json, os, statistics, sys

res, clock, invocation, runs, timeout, budget = sys.argv[1:]
def rows(name):
    with open(os.path.join(res, name), newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))

corpora, tools, allruns = rows("corpora.tsv"), rows("tools.tsv"), rows("runs.tsv")
failures = []
out = []
p = out.append
p("# sigrep end-to-end benchmark")
p("")
p("Command: `%s`  " % invocation)
p("Medians of up to %s runs per tool (a tool stops repeating after %s s in all; a run is killed after %s s), "
  "page cache warm, stdout to a file. GB/s and the ratio columns use %s seconds (%s). "
  "Floor: the memchr newline count (`nlcount`, glibc memchr over an mmap); `wc -l` is shown for reference. "
  "x sigrep is relative to `sigrep -c -j1`. Rows with -j2 use two threads: compare their wall column."
  % (runs, budget, timeout, clock, "user+sys" if clock == "cpu" else "elapsed"))
p("")

for c in corpora:
    name = c["corpus"]
    meta = json.load(open(c["file"] + ".meta.json"))
    size = os.path.getsize(c["file"])
    expected = meta["expected"][c["expected_key"]]
    ts = [t for t in tools if t["corpus"] == name]
    rs = [r for r in allruns if r["corpus"] == name]
    stats = {}
    for t in ts:
        mine = [r for r in rs if r["idx"] == t["idx"]]
        ok = [r for r in mine if r["status"] in ("0", "1")]
        bad = [r for r in mine if r["status"] not in ("0", "1")]
        st = {"t": t, "n": len(ok), "note": ""}
        if ok:
            st["wall"] = statistics.median(float(r["wall"]) for r in ok)
            st["cpu"] = statistics.median(float(r["cpu"]) for r in ok)
            st["rss"] = max(int(r["maxrss_kib"]) for r in ok)
            counts = sorted({int(r["count"]) for r in ok})
            st["count"] = counts[0]
            if len(counts) > 1:
                failures.append("%s: %s gave different counts across runs: %s" % (name, t["label"], counts))
                st["note"] = "counts vary: %s" % counts
            errs = sorted({r["stderr"] for r in ok if r["stderr"]})
            if errs:
                st["note"] = (st["note"] + " " if st["note"] else "") + "stderr: " + errs[0]
        if bad:
            r = bad[0]
            if r["status"] == "timeout":
                st["note"] = "timeout (%s s)" % timeout
            else:
                st["note"] = "error: exit %s%s" % (r["status"], ": " + r["stderr"] if r["stderr"] else "")
                failures.append("%s: %s failed: exit %s %s" % (name, t["label"], r["status"], r["stderr"]))
        stats[t["idx"]] = st

    # agreement: line counters with the meta's line count, rule tools with each other and the meta
    for st in stats.values():
        if "count" not in st or st["t"]["mode"] == "output":
            continue
        want = meta["lines"] if st["t"]["label"] in ("wc -l", "memchr count (nlcount)") else expected
        if st["count"] != want:
            st["note"] = ("MISMATCH (want %d) " % want) + st["note"]
            failures.append("%s: %s counted %d lines, expected %d" % (name, st["t"]["label"], st["count"], want))

    floor = next((s for s in stats.values() if s["t"]["role"] == "floor" and "count" in s), None)
    ref = next((s for s in stats.values() if s["t"]["role"] == "ref" and "count" in s), None)
    p("## %s" % c["title"])
    p("")
    p("`%s` on `%s`: %.2f MiB, %d lines, %d selected lines expected (`%s.meta.json`)."
      % (os.path.basename(c["rule"]), c["file"], size / 1048576, meta["lines"], expected, c["file"]))
    p("")
    p("| tool | median wall s | median CPU s | GB/s | x memchr | x sigrep | max RSS MiB | lines | runs | note |")
    p("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for t in ts:
        st = stats[t["idx"]]
        if "wall" not in st:
            what = "timeout" if st["note"].startswith("timeout") else "error"
            p("| %s | %s | | | | | | | %d | %s |" % (t["label"], what, st["n"], st["note"]))
            continue
        secs = st[clock]
        gbs = size / 1e9 / secs if secs > 0 else float("inf")
        xf = "%.2f" % (secs / floor[clock]) if floor and floor[clock] > 0 else "-"
        xr = "%.2f" % (secs / ref[clock]) if ref and ref[clock] > 0 else "-"
        label = "**%s**" % t["label"] if t["label"].startswith("sigrep") else t["label"]
        p("| %s | %.3f | %.3f | %.2f | %s | %s | %.0f | %d | %d | %s |"
          % (label, st["wall"], st["cpu"], gbs, xf, xr, st["rss"] / 1024, st["count"], st["n"], st["note"]))
    p("")
    p("Commands (LC_ALL=C.UTF-8, stdout to a file):")
    p("")
    p("```")
    for t in ts:
        p(t["command"])
    p("```")
    p("")

# sigrep -j1 and -j2 must print the same lines in the same order
for c in corpora:
    ts = {t["label"]: t["idx"] for t in tools if t["corpus"] == c["corpus"]}
    a, b = ts.get("sigrep -j1 (prints lines)"), ts.get("sigrep -j2 (prints lines)")
    if a is None or b is None:
        continue
    fa, fb = (os.path.join(res, c["corpus"], i + ".out") for i in (a, b))
    if open(fa, "rb").read() != open(fb, "rb").read():
        failures.append("%s: sigrep -j1 and -j2 printed different output (%s, %s)" % (c["corpus"], fa, fb))
    else:
        p("%s: `sigrep -j1` and `sigrep -j2` printed byte-identical output." % c["title"].split(":")[0])
        p("")

p("## Machine")
p("")
for line in open(os.path.join(res, "machine.tsv")):
    k, v = line.rstrip("\n").split("\t", 1)
    p("- %s: %s" % (k, v))
p("")
p("Raw runs: `%s/runs.tsv`; outputs: `%s/<corpus>/<n>.out`." % (res, res))
print("\n".join(out))
if failures:
    print("", file=sys.stderr)
    print("!" * 72, file=sys.stderr)
    for f in failures:
        print("!!! " + f, file=sys.stderr)
    print("!" * 72, file=sys.stderr)
    print("\n**FAILED**: " + "; ".join(failures))
    sys.exit(1)
EOF
status=${PIPESTATUS[0]}
set -e
if ((MORE)); then
    # Many rules, no cliff, compile times: three more sections of the same report.
    more_runs=$((RUNS < 3 ? RUNS : 3))
    if bash "$REPO/benches/more.sh" "$BENCH" "$RES" "$SHARED" "$SIGREP" "$TARGET_DIR/release/examples" \
        "$more_runs" "$TIMEOUT" "$ALL_MIB" "$GREP_KIB" "$LINEAR_MIB" "$WIN" "$LNX"; then
        more_status=0
    else
        more_status=1
    fi
    [[ -f $RES/more.md ]] && { echo; cat "$RES/more.md"; } | tee -a "$RES/report.md"
    ((more_status)) && status=1
fi
log "report: $RES/report.md; total time $((SECONDS - START_S)) s"
exit "$status"
