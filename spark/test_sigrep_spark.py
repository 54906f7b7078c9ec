"""Runs spark/sigrep_spark.py in Spark local mode (2 cores) and compares its
records with sigrep run directly on the same files.

    python spark/test_sigrep_spark.py --sigrep target/release/sigrep \\
        [--spark-submit PATH] [--shared ../shared]

The inputs: a plain log, a .gz log, a JSON-lines log, two .evtx logs, a
generated log cut into at least 4 byte ranges, an unreadable file (mode 000;
as root the job runs under setpriv without CAP_DAC_OVERRIDE) and a damaged
.gz; the rules: SigmaHQ's plus one broken rule file. Checks, for the job as
it reads local files and again with --fetch (the path non-local files take):
the sorted match records equal those of `sigrep -f RULES --json FILE...`, the
per-rule hits equal the direct summary's, the unreadable file, the damaged
archive and the broken rule are reported, and the exit status is 2 (0 with
--keep-going). pyspark and Java missing is a failure, never a skip.
"""

import argparse
import glob
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SPLIT = 512 << 10
DROP = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def fail(message):
    sys.exit(f"test_sigrep_spark: FAILED: {message}")


def canonical(record):
    return json.dumps(record, sort_keys=True)


def build_inputs(work, shared):
    logs = os.path.join(work, "logs")
    os.makedirs(logs)
    loghub = os.path.join(shared, "corpus", "loghub")
    shutil.copy(os.path.join(loghub, "Linux_2k.log"), logs)
    with open(os.path.join(loghub, "OpenSSH_2k.log"), "rb") as f:
        text = f.read()
    with gzip.open(os.path.join(logs, "OpenSSH_2k.log.gz"), "wb") as f:
        f.write(text)
    with open(os.path.join(logs, "damaged.log.gz"), "wb") as f:
        f.write(gzip.compress(text)[:4000])
    shutil.copy(os.path.join(shared, "corpus", "windows-events.jsonl"), logs)
    for name in sorted(os.listdir(os.path.join(shared, "corpus", "evtx")))[:2]:
        if name.endswith(".evtx"):
            shutil.copy(os.path.join(shared, "corpus", "evtx", name), logs)
    big = os.path.join(logs, "windows.log")
    subprocess.run([sys.executable, os.path.join(shared, "corpus", "gen_corpus.py"),
                    "--kind", "windows", "--size-mib", "3", "--rate", "1e-2", "--seed", "7",
                    "--out", os.path.join(work, "windows.log")], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.move(os.path.join(work, "windows.log"), big)
    if -(-os.path.getsize(big) // SPLIT) < 4:
        fail("the generated log is too small for 4 byte ranges")
    secret = os.path.join(logs, "secret.log")
    with open(secret, "w") as f:
        f.write("secret\n")
    os.chmod(secret, 0)
    rules = os.path.join(work, "rules")
    shutil.copytree(os.path.join(shared, "sigma", "rules"), rules)
    with open(os.path.join(rules, "broken.yml"), "w") as f:
        f.write("title: broken\ndetection:\n  sel: [unclosed\n  condition: sel\n")
    return logs, rules, secret


def wrapper(secret):
    """As root, the capabilities that read a mode-000 file are dropped."""
    if os.geteuid() != 0:
        return []
    probe = subprocess.run(DROP + ["cat", secret], capture_output=True)
    if probe.returncode == 0:
        fail("running as root and setpriv cannot take away the right to read a mode-000 file")
    return DROP


def direct(sigrep, rules, logs, wrap):
    files = sorted(glob.glob(os.path.join(logs, "*")))
    out = subprocess.run(wrap + [sigrep, "-f", rules, "--json", "-j2", *files],
                         capture_output=True, text=True)
    if out.returncode != 2:
        fail(f"direct sigrep should exit 2 (broken rule, unreadable file): {out.returncode}")
    records = [json.loads(line) for line in out.stdout.splitlines()]
    matches = []
    for r in records:
        if r.pop("type") == "match":
            matches.append(canonical(r))
    summary = records[-1]
    hits = {r["id"] + r["path"]: r["hits"] for r in summary["rules"]}
    return sorted(matches), hits


def run_job(args, rules, logs, out, wrap, extra):
    cmd = wrap + [args.spark_submit, "--master", "local[2]",
                  os.path.join(HERE, "sigrep_spark.py"), "--sigrep", args.sigrep,
                  "--rules", rules, "--out", out, "--format", "json",
                  "--split-size", str(SPLIT), *extra, logs]
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    run = subprocess.run(cmd, capture_output=True, text=True, env=env)
    matches = []
    for part in sorted(glob.glob(os.path.join(out, "matches", "part-*"))):
        with open(part) as f:
            for line in f:
                record = json.loads(line)
                # Fetched files keep their URI, file:/tmp/...
                record["path"] = record["path"].removeprefix("file:")
                matches.append(canonical(record))
    stats = {}
    for part in glob.glob(os.path.join(out, "stats", "part-*")):
        with open(part) as f:
            for line in f:
                r = json.loads(line)
                stats[r["id"] + r["path"]] = r["hits"]
    errors = []
    for part in glob.glob(os.path.join(out, "errors", "part-*")):
        with open(part) as f:
            errors.extend(json.loads(line)["message"] for line in f)
    return run, sorted(matches), stats, errors


def check(name, run, matches, stats, errors, want, want_hits, status):
    if run.returncode != status:
        fail(f"{name}: exit status {run.returncode}, not {status}\n{run.stdout[-3000:]}")
    if matches != want:
        missing = [r[:300] for r in sorted(set(want) - set(matches))[:3]]
        extra = [r[:300] for r in sorted(set(matches) - set(want))[:3]]
        fail(f"{name}: {len(matches)} records, direct {len(want)}; "
             f"missing {missing}; extra {extra}")
    if stats != want_hits:
        fail(f"{name}: per-rule hits differ from the direct summary")
    for what, needle in [("unreadable file", "secret.log: Permission denied"),
                         ("damaged archive", "damaged.log.gz: "),
                         ("broken rule", "broken.yml:")]:
        if not any(needle in e for e in errors):
            fail(f"{name}: the {what} is not in the errors: {errors}")
        # spark-submit merges the Python driver's stderr into stdout.
        if needle not in run.stdout + run.stderr:
            fail(f"{name}: the {what} is not in the job's summary on stderr")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sigrep", required=True)
    p.add_argument("--spark-submit", default=shutil.which("spark-submit")
                   or os.path.join(os.path.dirname(sys.executable), "spark-submit"))
    p.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    args = p.parse_args()
    args.sigrep = os.path.abspath(args.sigrep)
    try:
        import pyspark  # noqa: F401
    except ImportError:
        fail("pyspark is not installed for this Python (.ci/run installs it)")
    if not os.path.exists(args.spark_submit) or shutil.which("java") is None:
        fail(f"spark-submit ({args.spark_submit}) or java is missing")
    work = tempfile.mkdtemp(prefix="sigrep-spark-test-")
    try:
        logs, rules, secret = build_inputs(work, args.shared)
        wrap = wrapper(secret)
        want, want_hits = direct(args.sigrep, rules, logs, wrap)
        if len(want) < 100:
            fail(f"only {len(want)} direct records: the inputs should match more")
        run, matches, stats, errors = run_job(args, rules, logs, os.path.join(work, "out"),
                                              wrap, [])
        check("in place", run, matches, stats, errors, want, want_hits, 2)
        ranges = [line for line in run.stdout.splitlines() if "byte ranges" in line]
        if not ranges or int(ranges[0].split(", ")[-1].split()[0]) < 4:
            fail(f"the large file was not cut into at least 4 byte ranges: {ranges}")
        print(f"in place: {len(matches)} records identical to direct sigrep; {ranges[0]}")
        run, matches, stats, errors = run_job(args, rules, logs, os.path.join(work, "out2"),
                                              wrap, ["--fetch", "--keep-going"])
        check("fetched", run, matches, stats, errors, want, want_hits, 0)
        print(f"fetched through the Hadoop filesystem: {len(matches)} records identical")
    finally:
        os.chmod(os.path.join(work, "logs", "secret.log"), 0o644)
        shutil.rmtree(work, ignore_errors=True)
    print("test_sigrep_spark: ok")


if __name__ == "__main__":
    main()
