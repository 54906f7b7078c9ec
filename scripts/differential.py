#!/usr/bin/env python3
"""Differential test: sigrep against the legacy pipeline (`sigmac -t grep` + GNU `grep -P -i`).

For every SigmaHQ rule whose legacy regex has no legacy defects (`legacy_defects == none` in
SHARED/oracle/sigmahq-rules-grep.tsv: it compiles, has no backslash, no `?`, no NOT below the top and is
not a lone anchored value), DESIGN.md 2.1 promises that `sigrep RULE FILE` prints exactly the lines of

    LC_ALL=C.UTF-8 grep -P -i -e "$REGEX" FILE

This script checks that promise on real and generated logs:

* inputs: SHARED/corpus/loghub/*.log (concatenated), every SHARED/oracle/vectors/*.log (the plain ones
  concatenated; the two long-line ones concatenated; the ones grep treats specially -- NUL, invalid
  UTF-8, no final newline -- each on its own, so that their binary/encoding behaviour stays per file),
  and two generated samples (gen_corpus.py, windows seed 7 and linux seed 8, 2 MiB each);
* oracle: GNU grep with the regex rewritten by SHARED/oracle/minimal_regex.py (same meaning, no nested
  `.*`, so grep does not give up on long lines). A rule/file pair passes when sigrep and grep print the
  same line numbers and agree on "binary file matches". Where grep still gives up on the rewritten
  regex, a compact form of the same formula (an OR of values as one lookahead) is used for that file.
  Three TSV rows marked `none` carry the Sigma escape `\*`, which the legacy regex reads as "zero or
  more dots"; their oracle regex is corrected to a literal `*` (DESIGN.md 2.1) and the differences the
  uncorrected regex would show are listed as expected, not counted;
* synth: for each rule, a small file of lines built from the rule's own values (a line satisfying the
  formula through each value's branch, the same with that value cut short, each AND child left out,
  upper/swapped case), since the corpora above trigger few SigmaHQ rules; `--no-synth` leaves it out;
* cross-check: grep with the *legacy* regex itself, under a short timeout, on the small vector files,
  the synth files and the lines either tool selected in the large files ("focus" lines); it counts
  where it finished and agreed. A finished legacy run that disagrees with sigrep fails the pair too.

Usage (from the repository root, after `cargo build --release`):

    python3 scripts/differential.py [--shared ../shared] [--sigrep target/release/sigrep]
                                    [--jobs 2] [--legacy-timeout 5] [--work /tmp/diff]
                                    [--only SUBSTRING] [--limit N] [--no-legacy] [--no-synth]
                                    [--json OUT]

The last line of output is `N passed, N failed` (rule/file pairs). Exit status 1 if any pair failed,
0 otherwise; also 0 (with "0 passed, 0 failed") when the shared directory is absent.
Stdlib only (Python 3.11). Scratch data goes to --work (default /tmp/diff).
"""

from __future__ import annotations

import argparse
import collections
import csv
import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, LC_ALL="C.UTF-8")
ENV.pop("GREP_OPTIONS", None)
ENV.pop("GREP_COLOR", None)
ENV.pop("GREP_COLORS", None)
# Linux refuses a single argv element of MAX_ARG_STRLEN (128 KiB) bytes or more, NUL included.
MAX_ARG = 128 * 1024
BACKTRACK = "exceeded PCRE's backtracking limit"
BINARY = ": binary file matches"
# Vector logs that must stay separate files: grep's binary / encoding / last-line behaviour is per file.
SPECIAL_VECTORS = ("log_invalid_utf8", "log_latin1_caseless", "log_no_trailing_newline", "log_nul")
LONG_VECTORS = ("long_line_backtrack_limit", "long_line_simple")
FOCUS_MAX_LINES = 200
FOCUS_MAX_LINE_BYTES = 4096


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Inputs


@dataclass
class Input:
    name: str  # short name used in reports
    path: str
    lines: list[bytes]  # the file's lines without LF
    sources: list[tuple[int, int, str]] = field(default_factory=list)  # (first line, count, origin)
    legacy_whole: bool = False  # run the legacy regex over the whole file
    focus: bool = False  # feed its selected lines to the legacy focus run

    def origin(self, n: int) -> str:
        for first, count, name in self.sources:
            if first <= n < first + max(count, 1):
                return name if count == 0 else f"{name}:{n - first + 1}"
        return f"{self.name}:{n}"

    def text(self, n: int) -> str:
        t = self.lines[n - 1].decode("utf-8", "backslashreplace") if 0 < n <= len(self.lines) else "?"
        return t if len(t) <= 300 else t[:300] + "..."


def split_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def concat(out: str, parts: list[str]) -> list[tuple[int, int, str]]:
    """Concatenate files (adding a final LF where missing); return the line map."""
    sources, line = [], 1
    with open(out, "wb") as o:
        for p in parts:
            data = open(p, "rb").read()
            if data and not data.endswith(b"\n"):
                data += b"\n"
            o.write(data)
            n = data.count(b"\n")
            sources.append((line, n, os.path.basename(p)))
            line += n
    return sources


def prepare_inputs(shared: str, work: str) -> list[Input]:
    os.makedirs(work, exist_ok=True)
    vec = os.path.join(shared, "oracle", "vectors")
    inputs: list[Input] = []

    def add(name, path, sources=(), legacy_whole=False, focus=False):
        inputs.append(Input(name, path, split_lines(open(path, "rb").read()), list(sources),
                            legacy_whole, focus))

    loghub = sorted(glob.glob(os.path.join(shared, "corpus", "loghub", "*.log")))
    p = os.path.join(work, "loghub.log")
    add("loghub.log", p, concat(p, loghub), focus=True)

    all_vec = sorted(glob.glob(os.path.join(vec, "*.log")))
    stem = lambda f: os.path.basename(f)[:-4]
    plain = [f for f in all_vec if stem(f) not in SPECIAL_VECTORS + LONG_VECTORS]
    p = os.path.join(work, "vectors.log")
    add("vectors.log", p, concat(p, plain), legacy_whole=True)
    longv = [f for f in all_vec if stem(f) in LONG_VECTORS]
    if longv:
        p = os.path.join(work, "vectors_long.log")
        add("vectors_long.log", p, concat(p, longv), focus=True)
    for f in all_vec:
        if stem(f) in SPECIAL_VECTORS:
            p = os.path.join(work, os.path.basename(f))
            shutil.copyfile(f, p)  # byte for byte: no LF added
            add(os.path.basename(f), p, legacy_whole=True)

    gen = os.path.join(shared, "corpus", "gen_corpus.py")
    for kind, seed, name in (("windows", 7, "win.log"), ("linux", 8, "lnx.log")):
        p = os.path.join(work, name)
        g = subprocess.run([sys.executable, gen, "--kind", kind, "--size-mib", "2", "--rate", "1e-2",
                            "--seed", str(seed), "--out", p], capture_output=True)
        if g.returncode != 0:
            raise SystemExit(f"differential: gen_corpus.py failed: {g.stderr.decode(errors='replace')}")
        add(name, p, focus=True)
    return inputs


# --------------------------------------------------------------------------------------------------
# Running the tools


@dataclass
class Run:
    """What one tool printed for one file."""
    lines: frozenset[int]
    binary: bool

    def selected(self) -> bool:
        return bool(self.lines) or self.binary


def run(cmd: list[str], timeout: float) -> tuple[int | None, bytes, bytes, float]:
    t = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, env=ENV, timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or b"", e.stderr or b"", time.monotonic() - t


def parse_multi(stdout: bytes, stderr: bytes, paths: list[str]) -> dict[str, Run]:
    """Parse `-H -n` output (`PATH:N:text`) of several files; paths contain no ':'."""
    found: dict[str, set[int]] = {p: set() for p in paths}
    bpaths = {p.encode(): p for p in paths}
    for line in stdout.split(b"\n"):
        if not line:
            continue
        head, _, rest = line.partition(b":")
        num, _, _ = rest.partition(b":")
        if head in bpaths and num.isdigit():
            found[bpaths[head]].add(int(num))
        else:
            raise ValueError(f"unparsable output line: {line[:200]!r}")
    err = stderr.decode("utf-8", "replace")
    return {p: Run(frozenset(found[p]), f"{p}{BINARY}" in err) for p in paths}


def parse_single(stdout: bytes, stderr: bytes, path: str) -> Run:
    found = set()
    for line in stdout.split(b"\n"):
        if line:
            num, _, _ = line.partition(b":")
            if not num.isdigit():
                raise ValueError(f"unparsable output line: {line[:200]!r}")
            found.add(int(num))
    return Run(frozenset(found), BINARY in stderr.decode("utf-8", "replace"))


def grep_cmd(rx: str, paths: list[str], patfile: str) -> list[str]:
    cmd = ["grep", "-n", "-P", "-i"]
    if len(paths) > 1:
        cmd.append("-H")
    if len(rx.encode()) + 1 >= MAX_ARG:
        with open(patfile, "w", encoding="utf-8") as f:
            f.write(rx + "\n")
        return cmd + ["-f", patfile] + paths
    return cmd + ["-e", rx] + paths


def first_line(b: bytes) -> str:
    s = b.decode("utf-8", "replace").strip().splitlines()
    return s[0][:200] if s else ""


def grep_reason(rc, err: bytes) -> str:
    if rc is None:
        return "timeout"
    e = err.decode("utf-8", "replace")
    if BACKTRACK in e:
        return "backtracking limit"
    return "grep error: " + re.sub(r"^grep: ", "", first_line(err))


def oracle_runs(rx: str, inputs: list[Input], patfile: str, timeout: float):
    """grep with the rewritten regex over all files at once; per file again after trouble.
    Returns ({path: Run}, {path: skip reason})."""
    paths = [i.path for i in inputs]
    rc, out, err, _ = run(grep_cmd(rx, paths, patfile), timeout)
    if rc in (0, 1):
        return parse_multi(out, err, paths), {}
    if rc == 2 and BACKTRACK not in err.decode("utf-8", "replace"):
        # A compile error (before any input is read) or an unreadable file: same for every file.
        return {}, {p: grep_reason(rc, err) for p in paths}
    runs, skips = {}, {}
    for p in paths:
        rc, out, err, _ = run(grep_cmd(rx, [p], patfile), timeout)
        if rc in (0, 1):
            runs[p] = parse_single(out, err, p)
        else:
            skips[p] = grep_reason(rc, err)
    return runs, skips


# --------------------------------------------------------------------------------------------------
# One rule


@dataclass
class Diff:
    rule: str
    file: str
    oracle: str  # "grep" (rewritten regex) or "legacy"
    only_sigrep: list[str]
    only_grep: list[str]
    binary: tuple[bool, bool] | None  # (sigrep, grep) when they disagree on "binary file matches"
    samples: list[str]
    note: str = ""


@dataclass
class RuleResult:
    rule: str
    # per input name: "pass", "fail" or "skip: REASON"
    status: dict[str, str] = field(default_factory=dict)
    passed: int = 0
    failed: int = 0
    compared: int = 0
    skipped: collections.Counter = field(default_factory=collections.Counter)
    diffs: list[Diff] = field(default_factory=list)
    legacy: collections.Counter = field(default_factory=collections.Counter)
    legacy_skips: collections.Counter = field(default_factory=collections.Counter)
    oracle_fix: bool = False  # the oracle regex had its Sigma `\*` escapes corrected
    compact: list[str] = field(default_factory=list)  # files compared with the compact rewrite
    expected: list[Diff] = field(default_factory=list)  # differences from the uncorrected regex
    nonempty: int = 0  # equal pairs where at least one line was selected
    synth_lines: int = 0
    synth_bytes: int = 0
    legacy_diffs: list[Diff] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def fmt_nums(inp: Input, nums: list[int], cap: int = 25) -> list[str]:
    out = [inp.origin(n) if inp.sources else str(n) for n in nums[:cap]]
    if len(nums) > cap:
        out.append(f"... ({len(nums)} in all)")
    return out


def make_diff(rule: str, inp: Input, s: Run, g: Run, oracle: str, note: str = "") -> Diff:
    only_s = sorted(s.lines - g.lines)
    only_g = sorted(g.lines - s.lines)
    samples = [f"{inp.origin(n)}: {inp.text(n)}" for n in (only_s + only_g)[:2]]
    return Diff(rule, inp.name, oracle, fmt_nums(inp, only_s), fmt_nums(inp, only_g),
                (s.binary, g.binary) if s.binary != g.binary else None, samples, note)


def check_rule(row: dict, ctx) -> RuleResult:
    t0 = time.monotonic()
    rule = row["path"]
    res = RuleResult(rule)
    inputs: list[Input] = list(ctx.inputs)
    rule_file = os.path.join(ctx.shared, "sigma", rule)
    tag = f"{ctx.index[rule]:04d}"
    if ctx.synth:
        inputs.append(Input("synth", os.path.join(ctx.work, "synth", tag + ".log"), [],
                            legacy_whole=True))

    if not os.path.isfile(rule_file):
        res.status = {i.name: "skip: rule file missing" for i in inputs}
        return finish(res, t0)
    fixed = star_escape_fix(row["regex"])
    if fixed:
        res.oracle_fix = True
    try:
        minimal = ctx.minimal(fixed or row["regex"])
    except Exception as e:  # noqa: BLE001 -- any failure of the rewriter is a skip with its reason
        res.status = {i.name: f"skip: minimal_regex.py failed: {type(e).__name__}" for i in inputs}
        return finish(res, t0)
    if ctx.synth:
        try:
            lines = synth_lines(ctx.parse(fixed or row["regex"]))
        except Exception:  # noqa: BLE001 -- then the file is just empty
            lines = []
        data = [l.encode("utf-8", "surrogateescape") for l in lines]
        inputs[-1].lines = data
        res.synth_lines, res.synth_bytes = len(data), sum(len(l) + 1 for l in data)
        with open(inputs[-1].path, "wb") as f:
            f.write(b"".join(l + b"\n" for l in data))
    paths = [i.path for i in inputs]

    # sigrep, all files at once.
    rc, out, err, _ = run([ctx.sigrep, "-n", "-H", rule_file] + paths, ctx.timeout)
    sig: dict[str, Run] = {}
    sig_error = None
    if rc is None:
        sig_error = f"sigrep timed out after {ctx.timeout:.0f} s"
    elif rc not in (0, 1):
        sig_error = f"sigrep exit {rc}: {first_line(err)}"
    else:
        try:
            sig = parse_multi(out, err, paths)
        except ValueError as e:
            sig_error = f"sigrep output: {e}"
    rc_note = None
    if not sig_error:
        expect_rc = 0 if any(r.selected() for r in sig.values()) else 1
        if rc != expect_rc:
            rc_note = f"sigrep exit status {rc} but its output implies {expect_rc}"
            res.notes.append(rc_note)

    # grep with the rewritten regex.
    patfile = os.path.join(ctx.work, "pat", tag + ".txt")
    gr, gskips = oracle_runs(minimal, inputs, patfile, ctx.timeout)
    for inp in inputs:
        # grep gave up on the minimal regex for this file: try the compact form of the same formula.
        if inp.path in gskips and ctx.compact and gskips[inp.path] in ("backtracking limit", "timeout"):
            rc, out, err, _ = run(grep_cmd(ctx.compact(fixed or row["regex"]), [inp.path], patfile),
                                  ctx.timeout)
            if rc in (0, 1):
                gr[inp.path] = parse_single(out, err, inp.path)
                del gskips[inp.path]
                res.compact.append(inp.name)

    for inp in inputs:
        p = inp.path
        if p in gskips:
            res.status[inp.name] = "skip: " + gskips[p]
        elif sig_error:
            res.status[inp.name] = "fail"
            res.diffs.append(Diff(rule, inp.name, "grep", [], [], None, [], sig_error))
        elif sig[p] == gr[p]:
            res.status[inp.name] = "pass"
            res.nonempty += gr[p].selected()
        else:
            res.status[inp.name] = "fail"
            res.diffs.append(make_diff(rule, inp, sig[p], gr[p], "grep"))
    if rc_note:
        # An exit status that does not fit the output fails the first compared pair.
        first = next((i for i in inputs if res.status[i.name] == "pass"), None)
        if first:
            res.status[first.name] = "fail"
            res.diffs.append(Diff(rule, first.name, "grep", [], [], None, [], rc_note))

    if fixed and not sig_error:
        # Show what the uncorrected regex would have said: expected differences, not failures.
        try:
            raw, rskips = oracle_runs(ctx.minimal(row["regex"]), inputs, patfile, ctx.timeout)
        except Exception:  # noqa: BLE001
            raw = {}
        for inp in inputs:
            if inp.path in raw and raw[inp.path] != sig[inp.path]:
                res.expected.append(make_diff(rule, inp, sig[inp.path], raw[inp.path], "uncorrected",
                                              "expected: legacy regex reads \\* as zero or more dots"))

    if ctx.legacy_timeout > 0:
        legacy_check(row["regex"], rule, tag, inputs, sig, gr, sig_error, res, ctx)
    return finish(res, t0)


def finish(res: RuleResult, t0: float) -> RuleResult:
    for st in res.status.values():
        if st.startswith("skip: "):
            res.skipped[st[6:]] += 1
        else:
            res.compared += 1
            res.passed += st == "pass"
            res.failed += st == "fail"
    res.seconds = time.monotonic() - t0
    return res


def legacy_check(rx, rule, tag, inputs, sig, gr, sig_error, res: RuleResult, ctx) -> None:
    """Run the legacy regex itself where it is cheap enough; count where it finished and agreed."""
    def one(kind: str, inp: Input, path: str, s: Run | None, g: Run | None, mapback=None):
        res.legacy["attempted"] += 1
        res.legacy[f"attempted {kind}"] += 1
        if len(rx.encode()) + 1 >= MAX_ARG:
            res.legacy_skips["regex over argv limit"] += 1
            return
        rc, out, err, _ = run(["grep", "-n", "-P", "-i", "-e", rx, path], ctx.legacy_timeout)
        if rc not in (0, 1) or BACKTRACK in err.decode("utf-8", "replace"):
            res.legacy_skips[grep_reason(rc, err) if rc is not None else
                             f"timeout ({ctx.legacy_timeout:g} s)"] += 1
            return
        leg = parse_single(out, err, path)
        res.legacy["finished"] += 1
        res.legacy[f"finished {kind}"] += 1
        if g is not None and not res.oracle_fix:
            res.legacy["agreed with rewritten-regex grep" if leg == g else
                       "disagreed with rewritten-regex grep"] += 1
        if s is None:
            return
        if leg == s:
            res.legacy["agreed with sigrep"] += 1
            return
        d = make_diff(rule, inp, s, leg, "legacy")
        if mapback:
            d = mapback(s, leg)
        if res.oracle_fix:
            # The legacy regex reads the Sigma escape `\*` as "zero or more dots": expected.
            res.legacy["disagreed with sigrep, expected (Sigma \\* escape)"] += 1
            return
        res.legacy["disagreed with sigrep"] += 1
        res.legacy_diffs.append(d)
        # A finished legacy run is the real pipeline: disagreeing with it fails the pair (also one the
        # rewritten regex could not check), unless the pair already failed against the rewritten regex.
        if res.status.get(d.file, "fail") != "fail":
            res.status[d.file] = "fail"
            res.diffs.append(d)

    for inp in inputs:
        if inp.legacy_whole:
            s = None if sig_error else sig.get(inp.path)
            one("whole file", inp, inp.path, s, gr.get(inp.path))

    # Focus: the lines either side selected in the large files (short enough for the legacy regex).
    picked: list[tuple[Input, int]] = []
    too_long = 0
    for inp in inputs:
        if not inp.focus:
            continue
        union = set()
        if not sig_error and inp.path in sig:
            union |= sig[inp.path].lines
        if inp.path in gr:
            union |= gr[inp.path].lines
        for n in sorted(union):
            if len(inp.lines[n - 1]) > FOCUS_MAX_LINE_BYTES:
                too_long += 1
            elif len(picked) < FOCUS_MAX_LINES:
                picked.append((inp, n))
    if too_long:
        res.legacy["focus lines over 4 KiB left out"] += too_long
    if not picked:
        return
    fpath = os.path.join(ctx.work, "focus", tag + ".log")
    with open(fpath, "wb") as f:
        for inp, n in picked:
            f.write(inp.lines[n - 1] + b"\n")
    focus_inp = Input("focus", fpath, [inp.lines[n - 1] for inp, n in picked],
                      [(k + 1, 0, f"{inp.name}:{n}") for k, (inp, n) in enumerate(picked)])

    def restrict(runs):
        if runs is None:
            return None
        sel = set()
        for k, (inp, n) in enumerate(picked):
            if inp.path not in runs:
                return None
            if n in runs[inp.path].lines:
                sel.add(k + 1)
        return Run(frozenset(sel), False)

    s_f = None if sig_error else restrict(sig)
    g_f = restrict(gr)

    def mapback(s: Run, leg: Run) -> Diff:
        d = make_diff(rule, focus_inp, s, leg, "legacy", note="legacy regex on the focus lines")
        bad = sorted(s.lines ^ leg.lines)
        d.file = picked[bad[0] - 1][0].name if bad else "focus"
        return d

    one("focus lines", focus_inp, fpath, s_f, g_f, mapback)


# --------------------------------------------------------------------------------------------------
# Main


class Ctx:
    pass


def load_minimal(shared: str):
    """Return (minimal, compact) from SHARED/oracle/minimal_regex.py.

    `minimal` is the shared rewrite. `compact` is a fallback used only for a file where grep gives up
    on the minimal regex (an OR of ~1,000 `(?=.*V.*)` lookaheads over 20,000-character lines): it parses
    with the same parser and writes an OR whose children are all values as one lookahead
    `(?=.*(?:V1|V2|...))`, without trailing `.*`. Both steps keep the meaning because nothing ever
    follows a value inside its lookahead (grep-backend-semantics.md section 3)."""
    spec = importlib.util.spec_from_file_location("minimal_regex",
                                                  os.path.join(shared, "oracle", "minimal_regex.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not hasattr(mod, "P"):
        return mod.minimal, None, None

    def strip(v: str) -> str:
        while v.endswith(".*") and not v.endswith("\\.*"):
            v = v[:-2]
        return v

    def emit(n) -> str:
        k, x = n
        if k == "val":
            return "(?=.*" + strip(x) + ")"
        if k == "and":
            return "".join(emit(c) for c in x)
        if k == "or":
            if x and all(c[0] == "val" for c in x):
                return "(?=.*(?:" + "|".join(strip(c[1]) for c in x) + "))"
            return "(?:" + "|".join(emit(c) for c in x) + ")"
        return "(?!" + emit(x[0]) + ")"

    def parse(rx: str):
        p = mod.P(rx)
        p.eat("^")
        n = p.node()
        if p.i != len(rx):
            raise ValueError("trailing text")
        return n

    return mod.minimal, (lambda rx: "^" + emit(parse(rx))), parse


# --------------------------------------------------------------------------------------------------
# Synthetic lines


def value_text(v: str, fill: str) -> str:
    """A text that a value fragment of a defect-free regex matches: escapes undone, `.*` -> fill."""
    out, i = [], 0
    while i < len(v):
        if v.startswith(".*", i):
            out.append(fill)
            i += 2
        elif v[i] == "\\" and i + 1 < len(v):
            out.append(v[i + 1])
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def synth_lines(tree, cap: int = 60) -> list[str]:
    """Lines made of the rule's own values, so that the rule is actually exercised: for each value, a
    line satisfying the formula through the branch holding that value; the same with that value cut
    short (a near miss); for each AND child, the satisfying line without it; upper-case and
    filled-wildcard variants. The expected answer is never computed here: the oracle grep decides."""
    leaves = []

    def walk(n):
        if n[0] == "val":
            leaves.append(n)
        else:
            for c in n[1]:
                walk(c)
    walk(tree)

    def contains(n, t) -> bool:
        return n is t or (n[0] != "val" and any(contains(c, t) for c in n[1]))

    def pos(n, target=None, mutate=None, drop=None, fill="") -> list[str]:
        k, x = n
        if n is drop:
            return []
        if k == "val":
            t = value_text(x, fill)
            return [t[:-1] + ("#" if t[-1:] != "#" else "%") if n is mutate and t else t]
        if k == "not":
            return []
        if k == "or":
            pick = next((c for c in x if target is not None and contains(c, target)), x[0] if x else None)
            return pos(pick, target, mutate, drop, fill) if pick is not None else []
        return [s for c in x for s in pos(c, target, mutate, drop, fill)]

    def line(parts) -> str:
        return "synth " + " ".join(parts) + " end"

    out = [line(pos(tree)), line(pos(tree, fill="XyZ 7")).upper(), line(pos(tree)).swapcase()]
    step = max(1, len(leaves) // (cap // 3))
    for leaf in leaves[::step]:
        out.append(line(pos(tree, target=leaf)))
        out.append(line(pos(tree, target=leaf, mutate=leaf)))
    ands = []

    def walk_and(n):
        if n[0] == "and":
            ands.extend(n[1])
        if n[0] != "val":
            for c in n[1]:
                walk_and(c)
    walk_and(tree)
    for child in ands[:cap // 3]:
        target = next((l for l in leaves if contains(child, l)), None)
        out.append(line(pos(tree, target=target, drop=child)))
    seen, uniq = set(), []
    for l in out:
        if l not in seen and "\n" not in l:
            seen.add(l)
            uniq.append(l)
    return uniq[:cap]


def star_escape_fix(rx: str) -> str | None:
    r"""Correct a defect the TSV's `legacy_defects` column misses: the Sigma escape `\*`.

    The legacy generator passes the backslash through and turns `*` into `.*`, so the value `select \*`
    becomes `select \.*`, "select " then zero or more dots. DESIGN.md 2.1 makes `\*` a literal star.
    Return the regex with each such token written `\*` (a literal star), or None when it has none.
    After the generator's escaping, the token `\.` followed by `*` can only come from a Sigma `\*`: a
    Sigma `.` gives `\.` and a Sigma `*` gives `.*`, so a dot followed by a wildcard reads `\..*`."""
    out, i, hit = [], 0, False
    while i < len(rx):
        if rx[i] == "\\" and rx[i + 1:i + 3] == ".*":
            out.append("\\*")
            i += 3
            hit = True
        elif rx[i] == "\\":
            out.append(rx[i:i + 2])
            i += 2
        else:
            out.append(rx[i])
            i += 1
    return "".join(out) if hit else None


def table(rows: list[tuple], head: tuple) -> str:
    cols = list(zip(*([head] + [tuple(str(c) for c in r) for r in rows])))
    widths = [max(len(c) for c in col) for col in cols]
    line = lambda r: "  ".join(str(c).ljust(w) if k == 0 else str(c).rjust(w)
                               for k, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(head), line(tuple("-" * w for w in widths))] + [line(r) for r in rows])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared"),
                    help="the shared directory (default: ../shared next to the repository)")
    ap.add_argument("--sigrep", default=os.path.join(REPO, "target", "release", "sigrep"),
                    help="the sigrep binary (default: target/release/sigrep)")
    ap.add_argument("--work", default="/tmp/diff", help="scratch directory (default /tmp/diff)")
    ap.add_argument("--jobs", type=int, default=2, help="rules checked in parallel (default 2)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="timeout in seconds for sigrep and the rewritten-regex grep (default 120)")
    ap.add_argument("--legacy-timeout", type=float, default=5.0,
                    help="timeout in seconds for each legacy-regex grep run (default 5)")
    ap.add_argument("--no-legacy", action="store_true", help="do not run the legacy regex at all")
    ap.add_argument("--no-synth", action="store_true",
                    help="do not add the per-rule file of synthetic lines built from the rule's values")
    ap.add_argument("--only", action="append", default=[],
                    help="check only rules whose path contains this text (repeatable)")
    ap.add_argument("--limit", type=int, default=0, help="check only the first N rules")
    ap.add_argument("--json", help="also write every result as JSON to this file")
    args = ap.parse_args()

    t_start = time.monotonic()
    shared = os.path.abspath(args.shared)
    tsv = os.path.join(shared, "oracle", "sigmahq-rules-grep.tsv")
    if not os.path.isfile(tsv):
        print(f"differential: the shared directory {shared} (or its oracle/sigmahq-rules-grep.tsv) "
              f"is absent; use --shared DIR. Skipped.")
        print("0 passed, 0 failed")
        return 0
    if shutil.which("grep") is None or subprocess.run(
            ["grep", "-P", "-e", "x"], input=b"x\n", capture_output=True, env=ENV).returncode != 0:
        print("differential: no GNU grep with -P (PCRE) support on PATH. Skipped.")
        print("0 passed, 0 failed")
        return 0
    sigrep = os.path.abspath(args.sigrep)
    if not os.access(sigrep, os.X_OK):
        print(f"differential: no sigrep binary at {sigrep}; run `cargo build --release` first "
              f"or pass --sigrep PATH.")
        return 2

    grep_version = first_line(subprocess.run(["grep", "--version"], capture_output=True).stdout)
    csv.field_size_limit(1 << 30)
    with open(tsv, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["legacy_defects"] == "none"]
    n_none = len(rows)
    if args.only:
        rows = [r for r in rows if any(o in r["path"] for o in args.only)]
    if args.limit:
        rows = rows[:args.limit]

    work = os.path.abspath(args.work)
    for sub in ("pat", "focus"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    inputs = prepare_inputs(shared, work)

    ctx = Ctx()
    ctx.shared, ctx.sigrep, ctx.work, ctx.inputs = shared, sigrep, work, inputs
    ctx.timeout = args.timeout
    ctx.legacy_timeout = 0 if args.no_legacy else args.legacy_timeout
    ctx.minimal, ctx.compact, ctx.parse = load_minimal(shared)
    ctx.synth = not args.no_synth and ctx.parse is not None
    if ctx.synth:
        os.makedirs(os.path.join(work, "synth"), exist_ok=True)
    ctx.index = {r["path"]: k for k, r in enumerate(rows)}
    # Longest regexes first: they are the slow ones for grep, and starting them early keeps both
    # workers busy to the end. Results are reported in TSV order.
    order = sorted(rows, key=lambda r: -len(r["regex"]))

    log(f"differential: {len(rows)} rules (of {n_none} without legacy defects) x {len(inputs)} "
        f"files{' + 1 synthetic file each' if ctx.synth else ''}, {args.jobs} jobs; sigrep {sigrep}; {grep_version}")
    done = [0]
    lock = threading.Lock()
    step = max(1, len(rows) // 5)

    def task(row):
        r = check_rule(row, ctx)
        with lock:
            done[0] += 1
            if done[0] % step == 0 or done[0] == len(rows):
                log(f"  {done[0]}/{len(rows)} rules, {time.monotonic() - t_start:.0f} s")
        return r

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        by_rule = {r.rule: r for r in ex.map(task, order)}
    results: list[RuleResult] = [by_rule[r["path"]] for r in rows]
    elapsed = time.monotonic() - t_start

    # ---- report
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    compared = sum(r.compared for r in results)
    skipped = collections.Counter()
    for r in results:
        skipped.update(r.skipped)
    per_file = collections.defaultdict(collections.Counter)
    for r in results:
        for d in r.diffs:
            per_file[d.file]["failed"] += 1

    print()
    print(f"Differential test: sigrep vs LC_ALL=C.UTF-8 grep -P -i ({grep_version})")
    print(f"rules: {len(rows)} checked (legacy_defects == none: {n_none}); inputs: {len(inputs)} files; "
          f"time {elapsed:.1f} s")
    print()
    print(table([(i.name, len(i.lines), os.path.getsize(i.path),
                  "whole" if i.legacy_whole else ("focus" if i.focus else "-"),
                  per_file[i.name]["failed"]) for i in inputs]
                + ([("synth (one file per rule)", sum(r.synth_lines for r in results),
                     sum(r.synth_bytes for r in results), "whole", per_file["synth"]["failed"])]
                   if ctx.synth else []),
                ("input", "lines", "bytes", "legacy run", "failed pairs")))
    print()
    rows_out = [("rule/file pairs", sum(len(r.status) for r in results)), ("compared", compared),
                ("equal (passed)", passed),
                ("  of which with selected lines", sum(r.nonempty for r in results)),
                ("  rules with selected lines (equal)", sum(1 for r in results if r.nonempty)),
                ("different (failed)", failed),
                ("skipped", sum(skipped.values()))]
    rows_out += [(f"  skipped: {k}", v) for k, v in skipped.most_common()]
    rows_out.append(("pairs compared with the compact rewrite", sum(len(r.compact) for r in results)))
    fixed = [r.rule for r in results if r.oracle_fix]
    rows_out.append(("rules whose Sigma \\* escape was corrected", len(fixed)))
    print(table(rows_out, ("sigrep vs grep (rewritten regex)", "count")))

    if ctx.legacy_timeout:
        leg = collections.Counter()
        lsk = collections.Counter()
        for r in results:
            leg.update(r.legacy)
            lsk.update(r.legacy_skips)
        print()
        lrows = [(k, leg[k]) for k in ("attempted", "attempted whole file", "attempted focus lines",
                                        "finished", "finished whole file", "finished focus lines",
                                        "agreed with sigrep", "disagreed with sigrep",
                                        "disagreed with sigrep, expected (Sigma \\* escape)",
                                        "agreed with rewritten-regex grep",
                                        "disagreed with rewritten-regex grep",
                                        "focus lines over 4 KiB left out")]
        lrows += [(f"  not finished: {k}", v) for k, v in lsk.most_common()]
        print(table(lrows, (f"legacy regex runs (timeout {ctx.legacy_timeout:g} s)", "count")))

    if fixed:
        print()
        print("The TSV marks these rules `none`, but their values hold the Sigma escape \\*, which the legacy")
        print("regex reads as `\\.*` (zero or more dots); DESIGN.md 2.1 makes it a literal `*`, so the oracle")
        print("regex was corrected to `\\*` (legacy-regex disagreements on them are expected):")
        for rule in fixed:
            print(f"  {rule}")
        exp = [d for r in results for d in r.expected]
        print(f"Expected differences, sigrep vs grep with the uncorrected regex ({len(exp)} pairs, not failures):")
        for d in exp:
            print(f"  {d.rule} [{d.file}]: only sigrep {' '.join(d.only_sigrep) or '-'}; "
                  f"only uncorrected grep {' '.join(d.only_grep) or '-'}")
            for smp in d.samples[:1]:
                print(f"    line {smp}")
    compacted = [(r.rule, f) for r in results for f in r.compact]
    if compacted:
        print()
        print("grep gave up on the minimal regex (backtracking limit) and the compact rewrite was used for:")
        for rule, f in compacted:
            print(f"  {rule} [{f}]")

    notes = [(r.rule, n) for r in results for n in r.notes]
    if notes:
        print()
        print("Exit-status inconsistencies:")
        for rule, n in notes:
            print(f"  {rule}: {n}")

    failing = [r for r in results if r.diffs]
    if failing:
        print()
        print(f"Failing rules ({len(failing)}):")
        for r in failing:
            print(f"\n{r.rule}")
            for d in r.diffs:
                print(f"  [{d.file}] vs {'legacy regex' if d.oracle == 'legacy' else 'grep'}"
                      + (f" ({d.note})" if d.note else ""))
                if d.only_sigrep:
                    print(f"    only sigrep: {' '.join(d.only_sigrep)}")
                if d.only_grep:
                    print(f"    only grep:   {' '.join(d.only_grep)}")
                if d.binary:
                    print(f"    'binary file matches': sigrep {d.binary[0]}, grep {d.binary[1]}")
                for s in d.samples:
                    print(f"    line {s}")
    leg_only = [d for r in results for d in r.legacy_diffs if d not in r.diffs]
    if leg_only:
        print()
        print(f"Legacy-regex disagreements already counted against the rewritten regex ({len(leg_only)}):")
        for d in leg_only:
            print(f"  {d.rule} [{d.file}]: only sigrep {' '.join(d.only_sigrep) or '-'}; "
                  f"only legacy {' '.join(d.only_grep) or '-'}")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"elapsed": elapsed, "passed": passed, "failed": failed, "compared": compared,
                       "skipped": skipped, "results": [
                           {"rule": r.rule, "passed": r.passed, "failed": r.failed,
                            "skipped": r.skipped, "status": r.status, "oracle_fix": r.oracle_fix,
                            "compact": r.compact, "expected": [d.__dict__ for d in r.expected],
                            "legacy": r.legacy, "legacy_skips": r.legacy_skips,
                            "notes": r.notes, "seconds": r.seconds,
                            "diffs": [d.__dict__ for d in r.diffs],
                            "legacy_diffs": [d.__dict__ for d in r.legacy_diffs]}
                           for r in results]}, f, indent=1, default=list)
    print()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
