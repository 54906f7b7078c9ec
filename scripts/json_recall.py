#!/usr/bin/env python3
"""Recall of SigmaHQ rules on JSON lines, without and with --json-escaped.

    python3 scripts/json_recall.py [--sigrep target/release/sigrep] [-v]

The 119 events of ../shared/corpus/windows-events.jsonl are SigmaHQ's
regression events (one JSON object per line) and carry no rule name, so
each event's own rules are approximated:

1. Candidates: the SigmaHQ rules under ../shared/sigma/rules with an
   (uncommented) `regression_tests_path:` line, i.e. the rules that have
   regression events.
2. An event's own rules: the candidates that fire on the event's decoded
   Key=Value rendering (`render_event` of ../shared/corpus/gen_corpus.py,
   the rendering of the benchmark corpus: values as the event holds them,
   not JSON-escaped). Events no candidate fires on even decoded are listed
   and left out of the share (their rule cannot be told).
3. For each remaining event: does any of its own rules fire on the raw
   JSON line, searched with --no-json-escaped, --json-escaped, and with no
   flag (auto-detection, which must agree with --json-escaped here)?

Only python3's standard library is used; sigrep runs the rules (`-f`,
`--json` output, one rule file per `-f`).
"""
import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.path.join(REPO, "..", "shared")
EVENTS = os.path.join(SHARED, "corpus", "windows-events.jsonl")
RULES = os.path.join(SHARED, "sigma", "rules")


def candidates():
    out = []
    for root, _, files in os.walk(RULES):
        for f in files:
            if f.endswith((".yml", ".yaml")):
                p = os.path.join(root, f)
                with open(p, encoding="utf-8", errors="replace") as fh:
                    if re.search(r"^\s*regression_tests_path:", fh.read(), re.M):
                        out.append(p)
    return sorted(out)


def hits(sigrep, rules, path, flags):
    """Line number -> set of rule paths that fire on it."""
    cmd = [sigrep, "--json", *flags]
    for r in rules:
        cmd += ["-f", r]
    cmd.append(path)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode not in (0, 1):
        sys.exit("sigrep failed (%d): %s" % (res.returncode, res.stderr.strip()))
    out = {}
    for line in res.stdout.splitlines():
        obj = json.loads(line)
        if obj.get("type") == "match":
            out[obj["line_number"]] = {r["path"] for r in obj["rules"]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sigrep", default=os.path.join(REPO, "target", "release", "sigrep"))
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per event")
    args = ap.parse_args()
    if not os.path.isdir(SHARED):
        sys.exit("../shared is absent: nothing to measure")
    spec = importlib.util.spec_from_file_location(
        "gen_corpus", os.path.join(SHARED, "corpus", "gen_corpus.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)

    rules = candidates()
    with open(EVENTS, encoding="utf-8") as fh:
        events = [line.rstrip("\n") for line in fh if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        decoded = os.path.join(tmp, "decoded.log")
        with open(decoded, "w", encoding="utf-8") as fh:
            for e in events:
                fh.write(gen.render_event(json.loads(e)) + "\n")
        own = hits(args.sigrep, rules, decoded, ["--no-json-escaped"])
        plain = hits(args.sigrep, rules, EVENTS, ["--no-json-escaped"])
        escaped = hits(args.sigrep, rules, EVENTS, ["--json-escaped"])
        auto = hits(args.sigrep, rules, EVENTS, [])

    known = [n for n in range(1, len(events) + 1) if own.get(n)]
    unknown = [n for n in range(1, len(events) + 1) if not own.get(n)]
    fired = {name: [n for n in known if own[n] & got.get(n, set())]
             for name, got in (("plain", plain), ("escaped", escaped), ("auto", auto))}
    print("candidate rules (with regression_tests_path): %d" % len(rules))
    print("events: %d; with an own rule (a candidate fires on the decoded event): %d"
          % (len(events), len(known)))
    for name, label in (("plain", "--no-json-escaped"), ("escaped", "--json-escaped"),
                        ("auto", "auto-detection")):
        k = len(fired[name])
        print("own rule fires on the JSON line, %-18s %3d/%d = %.1f%%"
              % (label + ":", k, len(known), 100.0 * k / max(1, len(known))))
    # Stricter: a generic rule (sysmon_config_modification fires on most
    # Sysmon events) can hide the miss of the specific one; count every
    # (event, own rule) pair and the events whose own rules all fire.
    pairs = sum(len(own[n]) for n in known)
    for name, got, label in (("plain", plain, "--no-json-escaped"),
                             ("escaped", escaped, "--json-escaped")):
        k = sum(len(own[n] & got.get(n, set())) for n in known)
        every = sum(1 for n in known if own[n] <= got.get(n, set()))
        print("(event, own rule) pairs firing, %-18s %3d/%d = %.1f%%; events with all own "
              "rules firing %d/%d = %.1f%%" % (label + ":", k, pairs, 100.0 * k / max(1, pairs),
                                               every, len(known),
                                               100.0 * every / max(1, len(known))))
    print("events no candidate fires on even decoded: %d (lines %s)"
          % (len(unknown), ",".join(map(str, unknown)) or "-"))
    if args.verbose:
        for n in known:
            names = sorted(os.path.basename(p) for p in own[n])
            print("%3d plain=%d escaped=%d %s" % (
                n, n in fired["plain"], n in fired["escaped"], " ".join(names)))


if __name__ == "__main__":
    main()
