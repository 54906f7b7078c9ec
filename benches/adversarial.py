#!/usr/bin/env python3
"""Adversarial inputs: what a line an attacker writes costs, against the same lines without it.

    python3 benches/adversarial.py [--size-mib N] [--all-mib N] [--runs N] [--timeout S]
                                   [--budget S] [--kinds k1,k2] [--no-all]

A Windows corpus with 1% matches (gen_corpus.py --kind windows --rate 1e-2 --seed 22) is the base:
--size-mib MiB of it for the single rule (default 32), --all-mib MiB for all rules (default 4: the
slow cases take minutes per MiB). Each kind appends a trigger to every line (the line's own text stays, so what it matches
stays, except where the trigger is itself an atom's text), and sigrep runs on one core, printing
(stdout to a file) and with -c, with the WMI rule and with all SigmaHQ rules. The ratio is the
variant's CPU seconds per MB over the base's; for all rules the compile-only time (the same rules
over an empty file) is subtracted first, except with -c, which with all rules needs no scan (a rule
true on every line selects them all) and compares whole runs. The issue's target: every ratio at most 2.

The `same` column says whether -c counts the same lines in the variant as in the base (kinds whose
trigger holds atom text, `many_atoms`, may select more). Scratch data: /tmp/bench/adversarial.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO, "..", "shared")
OUT = "/tmp/bench/adversarial"

# What each kind appends to every line (bytes).
KINDS = {
    # The two non-ASCII partners of ASCII letters under simple case folding.
    "kelvin": " \u212a".encode(),
    "long_s": " \u017f".encode(),
    "invalid_utf8": b" \xff\xfe\xc3",
    # Runs of one-byte atom characters (separators many values start or end with).
    "one_byte_runs": b" " + b"-/\\ " * 64,
    # Many occurrences of many common atoms (values SigmaHQ rules share).
    "many_atoms": b" " + b"cmd.exe /c powershell -enc rundll32 \\AppData\\ http:// " * 8,
    # JSON escapes, as a JSON-lines log of hostile strings holds them.
    "json_escapes": b" " + b'\\"\\\\\\u0041\\n' * 64,
    # A deep start of a sequence atom that never completes (`a*b` pieces).
    "sequence_starts": b" " + b"C:\\Windows\\System32\\ " * 32,
}


def log(msg):
    print(f"[adversarial.py {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_run(cmd, out_path, timeout):
    """CPU seconds (user+sys) of one run, its exit status, its stdout's first line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out_path, "wb") as out:
        try:
            p = subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, timeout=timeout)
            status = p.returncode
        except subprocess.TimeoutExpired:
            status = "timeout"
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(out_path, "rb") as f:
        first = f.readline().strip().decode(errors="replace")
    return cpu, status, first


def median_cpu(cmd, out_path, runs, timeout, budget):
    """Median CPU seconds of up to `runs` runs; runs stop once they took `budget` seconds in all."""
    times, first, status = [], "", 0
    for _ in range(runs):
        cpu, status, first = cpu_run(cmd, out_path, timeout)
        if status not in (0, 1):
            return None, status, first
        times.append(cpu)
        if sum(times) >= budget:
            break
    return statistics.median(times), status, first


def corpus_files(size_mib, kinds):
    """The base corpus of `size_mib` MiB and one variant per kind: {name: path}."""
    base = os.path.join(OUT, f"base_{size_mib}m.log")
    if not os.path.exists(base):
        log(f"generating {base}")
        subprocess.run([sys.executable, os.path.join(SHARED, "corpus", "gen_corpus.py"), "--kind", "windows",
                        "--size-mib", str(size_mib), "--rate", "1e-2", "--seed", "22", "--out", base],
                       check=True, stdout=subprocess.DEVNULL)
    with open(base, "rb") as f:
        base_lines = f.read().splitlines()
    files = {"base": base}
    for k in kinds:
        path = os.path.join(OUT, f"{k}_{size_mib}m.log")
        with open(path, "wb") as f:
            for line in base_lines:
                f.write(line + KINDS[k] + b"\n")
        files[k] = path
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mib", type=int, default=32)
    ap.add_argument("--all-mib", type=int, default=4)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--budget", type=float, default=30.0,
                    help="stop repeating a command once its runs took this many CPU seconds")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--no-all", action="store_true", help="skip the all-rules rows")
    args = ap.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    for k in kinds:
        if k not in KINDS:
            sys.exit(f"adversarial.py: unknown kind {k} (known: {', '.join(KINDS)})")

    os.makedirs(OUT, exist_ok=True)
    log("building sigrep (release)")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "sigrep"], cwd=REPO, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    sigrep = os.path.join(target, "release", "sigrep")

    empty = os.path.join(OUT, "empty.log")
    open(empty, "wb").close()
    rule_sets = [("WMI rule", [os.path.join(SHARED, "corpus", "rules", "wmi_persistence.yml")], args.size_mib)]
    if not args.no_all:
        rule_sets.append(("all rules", ["-f", os.path.join(SHARED, "sigma", "rules")], args.all_mib))
    modes = [("printing", []), ("-c", ["-c"])]

    rows = []
    for rules_name, rule_args, size_mib in rule_sets:
        files = corpus_files(size_mib, kinds)
        compile_cpu = 0.0
        if rules_name == "all rules":
            compile_cpu, _, _ = median_cpu([sigrep, "-j1", "-c", *rule_args, empty],
                                           os.path.join(OUT, "out.txt"), args.runs, args.timeout,
                                           args.budget)
            log(f"{rules_name}: compile-only {compile_cpu:.2f} s")
        for mode_name, mode_args in modes:
            # With all rules, -c needs no scan (a rule true on every line
            # selects them all): what is left after the compile is noise, so
            # that row compares whole runs.
            no_scan = rules_name == "all rules" and mode_name == "-c"
            subtract = 0.0 if no_scan else compile_cpu
            if no_scan:
                mode_name = "-c (no scan: whole run)"
            results = {}
            for name, path in files.items():
                cmd = [sigrep, "-j1", *mode_args, *rule_args, path]
                cpu, status, first = median_cpu(cmd, os.path.join(OUT, "out.txt"), args.runs, args.timeout,
                                                args.budget)
                mb = os.path.getsize(path) / 1e6
                per_mb = None if cpu is None else max(cpu - subtract, 1e-4) / mb
                results[name] = (per_mb, status, first)
                log(f"{rules_name} {mode_name} {name}: "
                    + (f"{cpu:.3f} s, {per_mb * 1e3:.1f} ms/MB" if cpu is not None else f"status {status}"))
            base_per_mb = results["base"][0]
            for k in kinds:
                per_mb, status, first = results[k]
                ratio = None if per_mb is None or base_per_mb is None else per_mb / base_per_mb
                same = "" if not mode_name.startswith("-c") else ("yes" if first == results["base"][2] else
                                                     f"no ({first} vs {results['base'][2]})")
                rows.append({"rules": f"{rules_name}, {size_mib} MiB", "mode": mode_name, "kind": k,
                             "base_ms_per_mb": base_per_mb and base_per_mb * 1e3,
                             "ms_per_mb": per_mb and per_mb * 1e3, "ratio": ratio,
                             "status": status, "same": same})

    print(f"\nAdversarial inputs: Windows base, one core, median CPU of up to {args.runs} runs "
          f"({args.budget:.0f} s budget each), sigrep {sigrep}\n")
    print("| rules | mode | kind | base ms/MB | variant ms/MB | ratio | -c same |")
    print("|---|---|---|--:|--:|--:|---|")
    worst = 0.0
    for r in rows:
        ratio = "timeout" if r["ratio"] is None else f"{r['ratio']:.2f}"
        if r["ratio"] is not None:
            worst = max(worst, r["ratio"])
        fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
        print(f"| {r['rules']} | {r['mode']} | {r['kind']} | {fmt(r['base_ms_per_mb'])} | "
              f"{fmt(r['ms_per_mb'])} | {ratio} | {r['same']} |")
    print(f"\nworst ratio: {worst:.2f} (target: at most 2)")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
