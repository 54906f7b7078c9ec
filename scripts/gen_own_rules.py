#!/usr/bin/env python3
"""Which SigmaHQ rule each line of ../shared/corpus/windows-events.jsonl is the regression event of.

The 119 lines carry no rule name, but each is one positive test event of SigmaHQ's regression data:
`regression_data/<rule dir>/<rule name>/<rule id>.json` in the SigmaHQ/sigma repository, beside an
`info.yml` whose `rule_metadata` names the rule. This script reads those JSON files from a SigmaHQ/sigma
git repository (bare or not; the same commit as ../shared/sigma, 8eaafff1f284, by default HEAD), finds
each event among the corpus lines by its parsed value, and writes one row per (line, own rule):

    python3 scripts/gen_own_rules.py --sigma-repo PATH/TO/sigma[.git] > data/windows-events-own-rules.tsv

Columns: line number, rule id (from info.yml), the path of the rule with that id in the SigmaHQ
repository (rules/, rules-emerging-threats/, rules-threat-hunting/, ...; `-` if none has it). Two
lines are the test event of two rules each.
Stdlib only; the output is sorted and deterministic.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EVENTS = os.path.join(HERE, "..", "..", "shared", "corpus", "windows-events.jsonl")


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True).stdout


def objects(text):
    """The JSON values of a file holding one or more (pretty-printed or line-separated) values."""
    dec, pos, text, out = json.JSONDecoder(), 0, text.strip(), []
    while pos < len(text):
        obj, pos = dec.raw_decode(text, pos)
        out.append(obj)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sigma-repo", required=True, help="a SigmaHQ/sigma git repository")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--events", default=EVENTS)
    args = ap.parse_args()
    repo, commit = args.sigma_repo, git(args.sigma_repo, "rev-parse", args.commit).strip()
    with open(args.events, encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    key = lambda o: json.dumps(o, sort_keys=True)  # noqa: E731
    where = {}
    for n, obj in enumerate(lines, 1):
        where.setdefault(key(obj), []).append(n)
    files = git(repo, "ls-tree", "-r", "--name-only", commit, "regression_data").split("\n")
    by_id = {}
    for hit in git(repo, "grep", "-E", "^id: *[0-9a-fA-F-]{36}", commit, "--", "rules*").split("\n"):
        m = re.match(r"[^:]+:([^:]+\.ya?ml):id: *([0-9a-fA-F-]{36})", hit)
        if m:
            by_id[m.group(2).lower()] = m.group(1)
    rows = set()
    for f in files:
        if not f.endswith(".json"):
            continue
        folder = os.path.dirname(f)
        info = git(repo, "show", "%s:%s/info.yml" % (commit, folder))
        ids = re.findall(r"^\s*-\s*id:\s*([0-9a-fA-F-]{36})", info, re.M)
        for obj in objects(git(repo, "show", "%s:%s" % (commit, f))):
            for n in where.get(key(obj), []):
                for rid in ids:
                    rows.add((n, rid, by_id.get(rid.lower(), "-")))
    found = {n for n, _, _ in rows}
    if len(found) != len(lines):
        missing = sorted(set(range(1, len(lines) + 1)) - found)
        print("warning: lines with no regression event: %s" % missing, file=sys.stderr)
    print("# (line, own rule) of ../shared/corpus/windows-events.jsonl: the regression_data event of "
          "SigmaHQ/sigma %s; written by scripts/gen_own_rules.py" % commit[:12])
    print("line\trule_id\trule_path")
    for n, rid, rule in sorted(rows):
        print("%d\t%s\t%s" % (n, rid, rule))


if __name__ == "__main__":
    main()
