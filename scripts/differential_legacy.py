#!/usr/bin/env python3
"""Differential test of legacy mode: `sigrep --legacy` against the legacy pipeline itself,
`LC_ALL=C.UTF-8 grep -P -i -e "$(sigmac -t grep RULE)" FILE`, on every SigmaHQ rule.

DESIGN.md 2.2 promises bit-for-bit equality, except where grep gives up ("exceeded PCRE's
backtracking limit"), which sigrep never does. This script checks it:

* rules: every rule of SHARED/oracle/sigmahq-rules-grep.tsv that sigmac converts
  (`conversion == ok`); the regex grep receives is what `sigrep --emit-pcre` prints (a separate
  test checks that it equals the table's `regex` column);
* inputs: SHARED/corpus/loghub/*.log (real Linux, OpenSSH and Apache samples),
  SHARED/corpus/windows-events.jsonl (real Windows events, one JSON object per line) and a
  generated Windows sample (gen_corpus.py --kind windows, seed 7, --size-mib, default 1), each
  cut into chunks of --chunk lines (default 100): grep gives up on a whole file at the first line
  where the legacy regex backtracks too much, which on real logs is most files for most rules;
  chunks keep the rest of the file comparable. After --give-up-after (default 1) consecutive
  chunks of one source where grep gave up, the source's remaining chunks are counted as skipped
  without running grep (it gives up on them too, slowly);
* synth: per rule, short lines built from the regex's own literal fragments (each alone, in
  pairs, all together, upper-cased), since the corpora trigger few SigmaHQ rules; where grep
  gives up on the synth file, each of its first 20 lines up to 120 bytes is run on its own (the
  others count as skipped);
* a rule/chunk pair (and a synth line) is *compared* when grep finishes within --timeout
  seconds without "exceeded PCRE's backtracking limit"; it is *equal* when both select the same
  lines. Pairs where grep gave up are *skipped* and counted;
* rules whose regex PCRE2 rejects: one pair each, equal when sigrep exits 2 with grep's message.

Usage (from the repository root, after `cargo build --release`):

    python3 scripts/differential_legacy.py [--shared ../shared] [--sigrep target/release/sigrep]
        [--jobs 2] [--timeout 0.3] [--size-mib 1] [--chunk 100] [--give-up-after 1] [--work /tmp/diff-legacy] [--only SUBSTRING]
        [--limit N] [--every N] [--no-ignore-case]

`--no-ignore-case` compares `sigrep --legacy --no-ignore-case` with `grep -P` (the pre-2023
backend). The last line is `compared N, equal N, different N, skipped N (grep gave up)`; exit
status 1 if a pair differs. Prints a notice and exits 0 when the shared directory is absent.
Stdlib only.
"""

from __future__ import annotations

import argparse
import collections
import csv
import glob
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, LC_ALL="C.UTF-8")


def line_numbers(stdout: bytes, with_name: bool) -> list[int]:
    out = []
    for line in stdout.split(b"\n"):
        if not line:
            continue
        if with_name:
            line = line.split(b":", 1)[1]
        out.append(int(line.split(b":", 1)[0]))
    return out


def grep(regex: str, path: str, ignore_case: bool, timeout: float):
    """(status, lines, stderr) of grep, or None when it gave up or timed out."""
    args = ["grep", "-n", "-P"] + (["-i"] if ignore_case else []) + ["-e", regex, path]
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout, env=ENV)
    except subprocess.TimeoutExpired:
        return None
    except OSError as e:  # E2BIG: a regex too long for one argument
        return ("oserror", [], str(e))
    err = p.stderr.decode("utf-8", "replace")
    if "backtracking limit" in err:
        return None
    return (p.returncode, line_numbers(p.stdout, False), err)


def grep_line(regex: str, line: bytes, ignore_case: bool, timeout: float):
    """Whether grep selects this one line, or None when it gave up."""
    args = ["grep", "-c", "-P"] + (["-i"] if ignore_case else []) + ["-e", regex]
    try:
        p = subprocess.run(args, input=line + b"\n", capture_output=True, timeout=timeout,
                           env=ENV)
    except subprocess.TimeoutExpired:
        return None
    if b"backtracking limit" in p.stderr:
        return None
    return p.returncode == 0


def count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return f.read().count(b"\n")


FRAGMENT_SPLIT = re.compile(r"\.\*\??|\(\?[:=!]|\(\?!|[()|]")


def synth_lines(regex: str, limit: int = 40) -> list[str]:
    """Short lines from the regex's literal fragments: each alone, neighbours in pairs, all
    together, and upper-cased; PCRE escapes of punctuation are undone, other escapes kept
    out (they are not literal text)."""
    frags = []
    for part in FRAGMENT_SPLIT.split(regex.lstrip("^")):
        text = re.sub(r"\\([^A-Za-z0-9])", r"\1", part)
        if text and "\\" not in text and text not in frags:
            frags.append(text)
    frags = frags[:limit]
    lines = ["", "nothing to see here"]
    lines += [f"x {f} y" for f in frags]
    lines += [f"{a} {b}" for a, b in zip(frags, frags[1:])]
    lines.append(" ".join(frags)[:400])
    lines += [f.upper() for f in frags[:10]]
    return [l for l in lines if "\n" not in l]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared"))
    ap.add_argument("--sigrep", default=os.path.join(REPO, "target", "release", "sigrep"))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=0.3)
    ap.add_argument("--size-mib", type=float, default=1.0)
    ap.add_argument("--chunk", type=int, default=100)
    ap.add_argument("--give-up-after", type=int, default=1)
    ap.add_argument("--work", default="/tmp/diff-legacy")
    ap.add_argument("--only", default="")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--every", type=int, default=1, help="only every N-th rule (a sample)")
    ap.add_argument("--no-ignore-case", action="store_true")
    args = ap.parse_args()
    table = os.path.join(args.shared, "oracle", "sigmahq-rules-grep.tsv")
    if not os.path.exists(table):
        print(f"SKIPPED: {args.shared} is absent (it holds the rules and corpora)")
        print("compared 0, equal 0, different 0, skipped 0 (grep gave up)")
        return 0
    ignore_case = not args.no_ignore_case
    os.makedirs(args.work, exist_ok=True)
    sample = os.path.join(args.work, f"windows-{args.size_mib}.log")
    if not os.path.exists(sample):
        subprocess.run(
            [sys.executable, os.path.join(args.shared, "corpus", "gen_corpus.py"), "--kind",
             "windows", "--size-mib", str(args.size_mib), "--rate", "1e-2", "--seed", "7",
             "--out", sample], check=True, capture_output=True)
    sources = sorted(glob.glob(os.path.join(args.shared, "corpus", "loghub", "*.log")))
    sources += [os.path.join(args.shared, "corpus", "windows-events.jsonl"), sample]
    inputs = []
    chunk_dir = os.path.join(args.work, f"chunks-{args.chunk}")
    os.makedirs(chunk_dir, exist_ok=True)
    for src in sources:
        with open(src, "rb") as f:
            lines = f.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for k in range(0, len(lines), args.chunk):
            path = os.path.join(chunk_dir, f"{os.path.basename(src)}.{k // args.chunk:04}")
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(b"\n".join(lines[k : k + args.chunk]) + b"\n")
            inputs.append(path)
    synth_dir = os.path.join(args.work, "synth")
    os.makedirs(synth_dir, exist_ok=True)

    csv.field_size_limit(1 << 30)
    with open(table, newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["conversion"] == "ok" and args.only in r["path"]]
    rows = rows[:: args.every]
    if args.limit:
        rows = rows[: args.limit]

    counts = collections.Counter()
    differences: list[str] = []
    lock = threading.Lock()

    def one(row) -> None:
        rule = os.path.join(args.shared, "sigma", row["path"])
        emitted = subprocess.run([args.sigrep, "--emit-pcre", rule], capture_output=True)
        regex = emitted.stdout.decode().rstrip("\n")
        synth = os.path.join(synth_dir, os.path.basename(rule) + ".log")
        with open(synth, "w") as f:
            f.write("".join(line + "\n" for line in synth_lines(regex)))
        flags = ["--legacy", "-n", "-H"] + ([] if ignore_case else ["--no-ignore-case"])
        mine = subprocess.run([args.sigrep] + flags + [rule] + inputs + [synth],
                              capture_output=True, env=ENV)
        local = collections.Counter()
        notes = []
        if "\n" in regex or len(regex.encode()) >= 128 << 10:
            # grep cannot take this pattern at all (several patterns, or E2BIG).
            local["skipped"] += len(inputs)
            with lock:
                counts.update(local)
            return
        probe = grep(regex, os.devnull, ignore_case, args.timeout)
        if probe is not None and probe[0] == 2:
            message = probe[2].strip().removeprefix("grep: ")
            if mine.returncode == 2 and mine.stderr.decode().strip().endswith(message):
                local["compile errors equal"] += 1
                local["equal"] += 1
            else:
                local["different"] += 1
                notes.append(f"{row['path']}: grep rejects ({message}), sigrep exit "
                             f"{mine.returncode} {mine.stderr.decode()[:200]}")
            local["compared"] += 1
        elif mine.returncode == 2:
            # grep compiles the regex; sigrep must not refuse the rule.
            local["compared"] += 1
            local["different"] += 1
            notes.append(f"{row['path']}: grep compiles the regex, sigrep says "
                         f"{mine.stderr.decode()[:200]}")
        else:
            by_file = collections.defaultdict(list)
            for line in mine.stdout.split(b"\n"):
                if line:
                    name, rest = line.split(b":", 1)
                    by_file[name.decode()].append(int(rest.split(b":", 1)[0]))
            gave_up = collections.Counter()
            for path in inputs:
                source = path.rsplit(".", 1)[0]
                if gave_up[source] >= args.give_up_after:
                    local["skipped"] += 1
                    local["skipped without running"] += 1
                    continue
                got = grep(regex, path, ignore_case, args.timeout)
                if got is None:
                    gave_up[source] += 1
                    local["skipped"] += 1
                    continue
                gave_up[source] = 0
                local["compared"] += 1
                status, lines, _ = got
                if lines == by_file.get(path, []):
                    local["equal"] += 1
                    local["pairs with selected lines"] += bool(lines)
                else:
                    local["different"] += 1
                    notes.append(f"{row['path']} on {os.path.basename(path)}: grep {lines[:10]} "
                                 f"sigrep {by_file.get(path, [])[:10]}")
            mine_synth = set(by_file.get(synth, []))
            got = grep(regex, synth, ignore_case, args.timeout)
            if got is not None:
                per_line = [(n, n in got[1]) for n in range(1, count_lines(synth) + 1)]
            else:
                per_line = []
                with open(synth, "rb") as f:
                    for n, line in enumerate(f.read().split(b"\n")[:-1], 1):
                        # Long lines are where grep gives up; not worth the wait.
                        r = None
                        if len(line) <= 120 and n <= 20:
                            r = grep_line(regex, line, ignore_case, args.timeout)
                        if r is None:
                            local["synth lines skipped"] += 1
                        else:
                            per_line.append((n, r))
            for n, selected in per_line:
                local["synth lines compared"] += 1
                local["synth lines selected"] += selected
                if selected == (n in mine_synth):
                    local["synth lines equal"] += 1
                else:
                    notes.append(f"{row['path']} synth line {n}: grep {selected}")
        with lock:
            counts.update(local)
            differences.extend(notes)
            counts["rules done"] += 1
            if counts["rules done"] % 100 == 0:
                print(f"progress: {counts['rules done']} rules, compared {counts['compared']}, "
                      f"equal {counts['equal']}, different {counts['different']}, skipped "
                      f"{counts['skipped']}, synth lines {counts['synth lines equal']}/"
                      f"{counts['synth lines compared']}", flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(one, rows))
    for d in differences[:50]:
        print("DIFF", d)
    print(f"rules {len(rows)}, inputs {len(inputs)}, -i {'on' if ignore_case else 'off'}; "
          f"compile errors equal {counts['compile errors equal']}; "
          f"pairs with selected lines {counts['pairs with selected lines']}")
    print(f"synth lines: compared {counts['synth lines compared']}, equal "
          f"{counts['synth lines equal']}, selected by grep {counts['synth lines selected']}, "
          f"skipped {counts['synth lines skipped']} (grep gave up)")
    print(f"compared {counts['compared']}, equal {counts['equal']}, different "
          f"{counts['different']}, skipped {counts['skipped']} (grep gave up; "
          f"{counts['skipped without running']} of them not run)")
    synth_diff = counts["synth lines compared"] - counts["synth lines equal"]
    return 1 if counts["different"] or synth_diff else 0


if __name__ == "__main__":
    sys.exit(main())
