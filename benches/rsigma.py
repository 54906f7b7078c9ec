#!/usr/bin/env python3
"""Helpers of benches/rsigma.sh: its inputs, and the precision of sigrep and rsigma against pySigma.

    python3 benches/rsigma.py corpus SRC MIB NESTED FLAT
        SRC's events repeated in a seeded order (as benches/jsonl.sh: random.Random(1), each copy with its
        own EventRecordID and SystemTime) until NESTED holds MIB MiB of compact JSON lines; FLAT gets the
        same events in the same order, flattened (see `flatten`). Prints the number of events.
    python3 benches/rsigma.py flatten SRC FLAT
        every event of SRC once, flattened, in order.
    python3 benches/rsigma.py flatten SRC FLAT --line-field BenchLine
        the same, each event with its line number in that field.
    python3 benches/rsigma.py table RESULTS_DIR EVENTS NESTED FLAT
        the speed table of RESULTS_DIR/runs.tsv (benches/rsigma.sh writes it) for EVENTS events.
    python3 benches/rsigma.py score --sigrep SIGREP --rules DIR --events SRC --flat FLAT
            --fires ORACLE.json [--json-report FILE] -- RSIGMA_COMMAND... @INPUT...
        the (event, rule) pairs of sigrep (`-f DIR --json SRC`, Sigma and grep semantics) and of the
        rsigma command (@INPUT replaced by @FLAT, the events of SRC flattened with a BenchLine field;
        it must print the event, --include-event) scored against pySigma's, as a markdown table.

Flattening is the oracle's own (../shared/oracle/pysigma/pysigma_oracle.py): System fields by name with
`Provider` as `Provider_Name` and the attributes of `TimeCreated`, `Execution`, `Security` lifted
(`SystemTime`, `ProcessID`, `ThreadID`, `UserID`), then every EventData/UserData field by name (one
level of UserData nesting lifted). Values keep their JSON types. rsigma is given these flat objects, so
both engines and the reference see the same fields.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "scripts"))
import pysigma_diff  # noqa: E402  (rule_index, own_rules, run_sigrep: one scoring for every tool)

# The rules where the reference departs from Sigma's meaning (scripts/pysigma_diff.py lists them).
REFERENCE_LIMITS = getattr(pysigma_diff, "REFERENCE_LIMITS", {})


def flatten(o):
    """The event's fields as pysigma_oracle.py's `flatten` names them (values not stringified)."""
    ev = o["Event"]
    sysd = ev["System"]
    out = {}
    for k, v in sysd.items():
        if k == "Provider":
            out["Provider_Name"] = v["#attributes"].get("Name")
        elif isinstance(v, dict):
            for ak, av in (v.get("#attributes") or {}).items():
                out[ak] = av
        elif v is not None:
            out[k] = v
    for sec in ("EventData", "UserData"):
        d = ev.get(sec)
        if isinstance(d, dict):
            for k, v in d.items():
                if isinstance(v, dict):
                    for k2, v2 in v.items():
                        if not k2.startswith("#"):
                            out[k2] = v2
                elif not k.startswith("#"):
                    out[k] = v
    return out


def dump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def read_events(src):
    with open(src, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def cmd_corpus(args):
    events = read_events(args.src)
    rng = random.Random(1)
    target, size, record, n = args.mib << 20, 0, 100000, 0
    with open(args.nested, "w", encoding="utf-8") as nested, \
            open(args.flat, "w", encoding="utf-8") as flat:
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
            line = dump(ev)
            nested.write(line)
            flat.write(dump(flatten(ev)))
            size += len(line.encode("utf-8"))
            n += 1
    print(n)


def cmd_flatten(args):
    with open(args.flat, "w", encoding="utf-8") as out:
        for n, ev in enumerate(read_events(args.src), 1):
            flat = flatten(ev)
            if args.line_field:
                flat[args.line_field] = n
            out.write(dump(flat))


# -------------------------------------------------------------------------------------------- speed
def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


CASES = (("sigrep-sigma", "sigrep `-f RULES -j1`, Sigma semantics (default)"),
         ("sigrep-grep", "sigrep `--semantics grep -f RULES -j1`"),
         ("rsigma", "rsigma `engine eval -p sysmon --logsource-routing --event-logsource product=windows`"))


def output_pairs(path, json_lines):
    """(event, rule) pairs in one output: rsigma writes one JSON object per pair, sigrep one line per
    selected event whose first field (up to the first `:`) lists its rules, comma-separated."""
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            n += 1 if json_lines else line.split(b":", 1)[0].count(b",") + 1
    return n


def cmd_table(args):
    """The speed table of runs.tsv: medians of the scan runs and of the one-event (start-up) runs."""
    runs = collections.defaultdict(list)
    with open(os.path.join(args.res, "runs.tsv"), encoding="utf-8") as fh:
        head = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            row = dict(zip(head, line.rstrip("\n").split("\t")))
            scan = row["input"].startswith("events.")
            runs[(row["case"], scan)].append(row)
    size = {"nested": os.path.getsize(args.nested), "flat": os.path.getsize(args.flat)}
    stats = {}
    for case, _ in CASES:
        scan, start = runs.get((case, True)), runs.get((case, False))
        if not scan or not start:
            continue
        st = {
            "wall": median([float(r["wall"]) for r in scan]),
            "cpu": median([float(r["cpu"]) for r in scan]),
            "start_wall": median([float(r["wall"]) for r in start]),
            "start_cpu": median([float(r["cpu"]) for r in start]),
            "rss": max(int(r["maxrss_kib"]) for r in scan) / 1024.0,
            "start_rss": max(int(r["maxrss_kib"]) for r in start) / 1024.0,
            "lines": scan[-1]["output_lines"],
            "pairs": output_pairs(os.path.join(args.res, case + ".out"), case == "rsigma"),
            "bytes": size["flat" if case == "rsigma" else "nested"],
            "walls": [float(r["wall"]) for r in scan],
            "cpus": [float(r["cpu"]) for r in scan],
        }
        st["eps_wall"] = args.events / st["wall"]
        st["eps_cpu"] = args.events / st["cpu"]
        scan_cpu = st["cpu"] - st["start_cpu"]
        st["eps_scan"] = args.events / scan_cpu if scan_cpu > 0.01 else float("nan")
        st["mibs"] = st["bytes"] / 1048576.0 / st["wall"]
        stats[case] = st
    ref = stats.get("rsigma")
    print("| engine | input | start-up wall / CPU s | wall s | CPU s | events/s (wall) | events/s (CPU) "
          "| events/s (CPU minus start-up) | MiB/s (wall) | peak RSS | selected events | (event, rule) pairs "
          "| events/s vs rsigma "
          "(wall / CPU / scan) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for case, label in CASES:
        st = stats.get(case)
        if not st:
            continue
        ratio = "1" if case == "rsigma" or not ref else "%.2fx / %.2fx / %.2fx" % (
            st["eps_wall"] / ref["eps_wall"], st["eps_cpu"] / ref["eps_cpu"],
            st["eps_scan"] / ref["eps_scan"])
        print("| %s | %s, %.0f MiB | %.2f / %.2f | %.2f | %.2f | %s | %s | %s | %.1f | %.0f MB (start-up %.0f) "
              "| %s | %s | %s |" % (
                  label, "flattened" if case == "rsigma" else "nested", st["bytes"] / 1048576.0,
                  st["start_wall"], st["start_cpu"], st["wall"], st["cpu"], "{:,.0f}".format(st["eps_wall"]),
                  "{:,.0f}".format(st["eps_cpu"]), "{:,.0f}".format(st["eps_scan"]), st["mibs"], st["rss"],
                  st["start_rss"], "-" if case == "rsigma" else "{:,}".format(int(st["lines"])),
                  "{:,}".format(st["pairs"]), ratio))
    print()
    for key, what in (("walls", "Wall"), ("cpus", "CPU")):
        print("%s seconds of each run: %s." % (what, "; ".join(
            "%s %s" % (case, " ".join("%.2f" % w for w in stats[case][key])) for case, _ in CASES
            if case in stats)))


# ---------------------------------------------------------------------------------------- precision
def rsigma_pairs(cmd, flat_events, index):
    """(line, rule id) of rsigma's JSON matches; CMD has @INPUT for the event file and prints the event
    (--include-event), whose BenchLine field is its line number. A match without a rule id is mapped to
    one by its title."""
    cmd = [("@" + flat_events) if a == "@INPUT" else a for a in cmd]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode not in (0, 1):
        pysigma_diff.die("%s failed (%d): %s" % (" ".join(cmd), res.returncode, res.stderr[-2000:]))
    by_title = collections.defaultdict(set)
    for rid, r in index.items():
        by_title[r["title"]].add(rid)
    pairs, unmapped = set(), collections.Counter()
    for line in res.stdout.splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        n = (m.get("event") or {}).get("BenchLine")
        rid = m.get("rule_id")
        if not rid:
            ids = by_title.get(m.get("rule_title"), set())
            if len(ids) != 1:
                unmapped[m.get("rule_title")] += 1
                continue
            rid = next(iter(ids))
        if n is None:
            pysigma_diff.die("an rsigma match without the event's BenchLine: " + line[:300])
        pairs.add((int(n), rid))
    return pairs, cmd, unmapped


def score(name, pairs_all, opairs, converted, own, nevents, index):
    pairs = {p for p in pairs_all if p[1] in converted}
    judged = {n: {r for r in rids if r in converted} for n, rids in own.items()}
    judged = {n: rids for n, rids in judged.items() if rids}
    own_pairs = {(n, r) for n, rids in judged.items() for r in rids}
    fired_lines = sum(1 for n, rids in judged.items() if any((n, r) in pairs for r in rids))
    missing = opairs - pairs
    limit_missing = sum(1 for _, rid in missing if rid in REFERENCE_LIMITS)
    others = sum(1 for n, rid in pairs_all if rid not in own.get(n, set()))
    extra = pairs - opairs
    return {"name": name, "pairs": len(pairs), "pairs_unconverted": len(pairs_all - pairs),
            "agree": len(pairs & opairs), "missing": len(missing), "missing_reference_limits": limit_missing,
            "extra": len(extra), "extra_per_event": len(extra) / nevents, "others_per_event": others / nevents,
            "own_lines": fired_lines, "own_judged": len(judged), "own_pairs": len(own_pairs & pairs),
            "own_pairs_total": len(own_pairs),
            "extra_pairs": sorted([n, rid, index.get(rid, {}).get("path", "?")] for n, rid in extra),
            "missing_pairs": sorted([n, rid, index.get(rid, {}).get("path", "?")] for n, rid in missing)}


def cmd_score(args):
    with open(args.fires, encoding="utf-8") as fh:
        oracle = json.load(fh)
    converted = set(oracle["converted"])
    opairs = {(int(n), rid) for n, rids in oracle["fires"].items() for rid in rids}
    index = pysigma_diff.rule_index(args.rules)
    own = pysigma_diff.own_rules(os.path.join(REPO, "data", "windows-events-own-rules.tsv"))
    nevents = len(read_events(args.events))

    rows, commands, all_pairs = [], {}, {}
    for name, semantics in (("sigrep, Sigma semantics", None), ("sigrep, grep semantics", "grep")):
        pairs, _, cmd = pysigma_diff.run_sigrep(args.sigrep, args.rules, args.events, semantics)
        all_pairs[name] = pairs
        rows.append(score(name, pairs, opairs, converted, own, nevents, index))
        commands[name] = cmd
    pairs, cmd, unmapped = rsigma_pairs(args.rsigma_cmd, args.flat, index)
    rows.append(score("rsigma", pairs, opairs, converted, own, nevents, index))
    commands["rsigma"] = cmd
    if unmapped:
        rows[-1]["unmapped_titles"] = dict(unmapped)
    ref = score("pySigma (reference)", opairs, opairs, converted, own, nevents, index)

    limits = collections.Counter(rid for _, rid in opairs if rid in REFERENCE_LIMITS)
    print("Precision on the %d regression events against pySigma: %d pairs on the %d rules it converts, "
          "%d of them where scripts/pysigma_diff.py finds the reference departing from Sigma's meaning "
          "(REFERENCE_LIMITS: %s)." % (
              nevents, len(opairs), len(converted), sum(limits.values()),
              ", ".join("%s %d" % (os.path.basename(index.get(rid, {}).get("path", rid)), n)
                        for rid, n in sorted(limits.items())) or "-"))
    print()
    print("| engine | pairs | agree | missing (of which reference limits) | extra | extra per event "
          "| rules other than its own per event | own rule fires: events (pairs) | pairs on unconverted "
          "rules |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows + [ref]:
        print("| %s | %d | %d | %d (%d) | %d | %.2f | %.2f | %d/%d (%d/%d) | %d |" % (
            r["name"], r["pairs"], r["agree"], r["missing"], r["missing_reference_limits"], r["extra"],
            r["extra_per_event"], r["others_per_event"], r["own_lines"], r["own_judged"], r["own_pairs"],
            r["own_pairs_total"], r["pairs_unconverted"]))
    print()
    s_all = all_pairs["sigrep, Sigma semantics"]
    print("sigrep (Sigma semantics) and rsigma, all rules: %d pairs in both, %d only sigrep's, %d only "
          "rsigma's." % (len(s_all & pairs), len(s_all - pairs), len(pairs - s_all)))
    for r in rows:
        if r["extra"] and r["extra"] <= args.list_limit:
            print("%s extra: %s" % (r["name"], ", ".join("%d %s" % (n, os.path.basename(p))
                                                        for n, _, p in r["extra_pairs"])))
    if args.json_report:
        with open(args.json_report, "w", encoding="utf-8") as fh:
            json.dump({"commands": commands, "tools": rows, "reference": ref}, fh, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("corpus")
    p.add_argument("src")
    p.add_argument("mib", type=int)
    p.add_argument("nested")
    p.add_argument("flat")
    p = sub.add_parser("flatten")
    p.add_argument("src")
    p.add_argument("flat")
    p.add_argument("--line-field", help="add this field with the event's line number (1-based)")
    p = sub.add_parser("table")
    p.add_argument("res", help="the results directory: runs.tsv and each case's last output, CASE.out")
    p.add_argument("events", type=int)
    p.add_argument("nested")
    p.add_argument("flat")
    p = sub.add_parser("score")
    p.add_argument("--sigrep", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--flat", required=True, help="the events flattened, with a BenchLine field")
    p.add_argument("--fires", required=True)
    p.add_argument("--json-report")
    p.add_argument("--list-limit", type=int, default=40, help="list extra pairs when at most N")
    p.add_argument("rsigma_cmd", nargs=argparse.REMAINDER, help="-- the rsigma command, with @INPUT")
    args = ap.parse_args()
    if args.cmd == "score":
        if args.rsigma_cmd and args.rsigma_cmd[0] == "--":
            args.rsigma_cmd = args.rsigma_cmd[1:]
        if not args.rsigma_cmd:
            ap.error("score needs -- RSIGMA_COMMAND")
    {"corpus": cmd_corpus, "flatten": cmd_flatten, "table": cmd_table, "score": cmd_score}[args.cmd](args)


if __name__ == "__main__":
    main()
