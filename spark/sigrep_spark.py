"""sigrep as a Spark stage: the same binary and rules over a log lake.

    spark-submit [--master URL] spark/sigrep_spark.py \\
        --sigrep ./sigrep --rules rules/ --out OUT [--format parquet|json] \\
        [--split-size BYTES] [--keep-going] INPUT... [-- SIGREP_FLAGS...]

INPUTs are paths, directories (searched recursively) or globs on any Hadoop
filesystem the cluster reaches (file:, hdfs:, s3a: ...). The sigrep binary and
the rules are shipped to the executors with SparkContext.addFile. Each task
runs `sigrep --json -f RULES [SIGREP_FLAGS]` on its unit of work; the job
writes

    OUT/matches   the `match` records (path, line_number, offset, line or
                  line_base64, rules [{id, title, level, path}]), Parquet or
                  JSON, one row per selected line
    OUT/stats     the per-rule hit counts of --stats (id, title, level, path,
                  hits), JSON
    OUT/errors    every problem (path, message): unreadable or missing inputs,
                  rule files that fail to load, damaged archives, JSON

and prints the stats and the errors. The job exits 2 when sigrep would have
(an error was reported), unless --keep-going; output is written either way.

Units of work
-------------
* Whole files are the unit. Files smaller than the split size (by default the
  input over twice the cores, within 128 MiB and 1 GiB) are packed,
  in listing order, into groups of about one split size searched by one
  sigrep process (several FILE operands).
* A plain file larger than the split size is cut into byte ranges of the
  split size. A range's task runs `sigrep --byte-range START:END
  --line-number-start 1`, which searches the lines that *start* in
  [START, END): ranges tile the file, each line is searched once whatever
  bytes the cuts fall on, and offsets are those of the file. Line numbers
  are made whole-file afterwards, in one pass over the data: each range's
  `end` record gives the lines it holds, and a range's first line number is
  one more than the lines of the ranges before it.
* Compressed files (.gz .bz2 .xz .zst), event logs (.evtx), all files when
  -z is given, and all files when a flag makes output depend on neighbouring
  lines (-A -B -C -m) stay whole: sigrep refuses to cut what is not a plain
  file. A large event log not named .evtx is refused with an error.
* Local files (file: paths, or any path every executor sees, e.g. a shared
  mount) are read by sigrep in place. Other filesystems' files are fetched
  whole through the cluster's Hadoop connectors (SparkContext.binaryFiles)
  into the task's local directory and searched there: they are not cut, and
  each must fit in an executor's memory.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import OrderedDict

from pyspark import SparkFiles, StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql.types import (
    ArrayType,
    LongType,
    StringType,
    StructField,
    StructType,
)

WHOLE_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".evtx")
CONTEXT_FLAGS = ("-A", "-B", "-C", "-m", "--after-context", "--before-context",
                 "--context", "--max-count")
REFUSED_FLAGS = ("-c", "-l", "-L", "-q", "-r", "-f", "--count", "--files-with-matches",
                 "--files-without-match", "--quiet", "--recursive", "--rules",
                 "--byte-range", "--line-number-start", "--explain", "--emit-pcre")

RULE = StructType([StructField(k, StringType()) for k in ("id", "title", "level", "path")])
MATCH = StructType([
    StructField("path", StringType()),
    StructField("line_number", LongType()),
    StructField("offset", LongType()),
    StructField("line", StringType()),
    StructField("line_base64", StringType()),
    StructField("rules", ArrayType(RULE)),
])
STAT = StructType(RULE.fields + [StructField("hits", LongType())])
ERROR = StructType([StructField("path", StringType()), StructField("message", StringType())])


def parse_args(argv):
    flags = []
    if "--" in argv:
        at = argv.index("--")
        argv, flags = argv[:at], argv[at + 1:]
    p = argparse.ArgumentParser(description="Run sigrep over Hadoop paths on Spark.")
    p.add_argument("--sigrep", required=True, help="the sigrep binary (for the executors' OS)")
    p.add_argument("--rules", required=True, help="a rule file or directory")
    p.add_argument("--out", required=True, help="output directory (any Hadoop path)")
    p.add_argument("--format", choices=("parquet", "json"), default="parquet")
    p.add_argument("--split-size", type=int,
                   help="bytes per task: larger plain files are cut, smaller packed (default: "
                        "the input over twice the cores, within 128 MiB and 1 GiB)")
    p.add_argument("--keep-going", action="store_true",
                   help="exit 0 even when errors were reported")
    p.add_argument("--fetch", action="store_true",
                   help="fetch every input through the Hadoop filesystem, as non-local "
                        "inputs are (for testing that path on local files)")
    p.add_argument("inputs", nargs="+")
    args = p.parse_args(argv)
    for flag in flags:
        name = flag.split("=")[0]
        if name in REFUSED_FLAGS or (name.startswith("-") and not name.startswith("--")
                                     and any(c in "clLqrf" for c in name[1:2])):
            p.error(f"sigrep flag {flag} cannot be used here (the job writes --json records)")
    args.flags = flags
    return args


def list_inputs(spark, patterns):
    """(uri, local path or None, size) of every file, and listing errors."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    files, errors = [], []

    def add(status):
        path = status.getPath()
        uri = path.toUri()
        local = uri.getPath() if uri.getScheme() in (None, "file") else None
        files.append((path.toString(), local, status.getLen()))

    for pattern in patterns:
        path = jvm.org.apache.hadoop.fs.Path(pattern)
        fs = path.getFileSystem(conf)
        statuses = fs.globStatus(path)
        if not statuses:
            errors.append((pattern, f"{pattern}: No such file or directory"))
            continue
        for status in statuses:
            if status.isDirectory():
                found = fs.listFiles(status.getPath(), True)
                while found.hasNext():
                    add(found.next())
            else:
                add(status)
    return files, errors


def unreadable(spark, uri):
    """Why the file at `uri` cannot be opened through its Hadoop filesystem,
    or None: one unreadable file must not fail the fetch of all the others."""
    jvm = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        path.getFileSystem(spark._jsc.hadoopConfiguration()).open(path).close()
        return None
    except Exception as e:  # py4j's Py4JJavaError, whatever the filesystem raised
        cause = getattr(e, "java_exception", e)
        message = str(cause.getMessage() if hasattr(cause, "getMessage") else cause)
        if message.endswith(")") and " (" in message:
            message = message[message.rindex(" (") + 2:-1]
        return f"{uri}: {message}"


def plan(files, split_size, splittable, fetch):
    """Units of work: ("files", [(name, local)]), ("range", name, local, start, end)
    or ("fetch", uri)."""
    units, group, group_bytes = [], [], 0
    for uri, local, size in files:
        if local is None or fetch:
            units.append(("fetch", uri))
            continue
        whole = not splittable or local.lower().endswith(WHOLE_SUFFIXES)
        if size > split_size and not whole:
            for start in range(0, size, split_size):
                end = start + split_size
                units.append(("range", local, local, start, end if end < size else None))
            continue
        group.append((local, local))
        group_bytes += size
        if group_bytes >= split_size:
            units.append(("files", group))
            group, group_bytes = [], 0
    if group:
        units.append(("files", group))
    return units


def run_sigrep(binary, rules, rules_name, flags, operands, names, extra=()):
    """Runs sigrep --json on local operands; returns the unit's result: match
    records, lines of a range, per-rule hits and errors. `names` maps the
    operands to the names output shows; rule paths are given back the name
    the user gave."""
    cmd = [binary, "--json", "--no-progress", "-f", rules, *flags, *extra, "--", *operands]
    local_rules, rules_name = rules.rstrip("/"), rules_name.rstrip("/")

    def rule_path(path):
        return rules_name + path[len(local_rules):] if path.startswith(local_rules) else path

    matches, hits, lines = [], OrderedDict(), None
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        for raw in proc.stdout:
            record = json.loads(raw)
            kind = record.pop("type")
            if kind == "match":
                record["path"] = names.get(record["path"], record["path"])
                for rule in record["rules"]:
                    rule["path"] = rule_path(rule["path"])
                matches.append(record)
            elif kind == "end":
                lines = record.get("lines")
            elif kind == "summary":
                for rule in record["rules"]:
                    key = (rule["id"], rule["title"], rule["level"], rule_path(rule["path"]))
                    hits[key] = hits.get(key, 0) + rule["hits"]
        code = proc.wait()
        err.seek(0)
        messages = err.read().decode("utf-8", "replace").splitlines()
    # Messages name the local copies: give them back their names. With
    # exit status 2 they are errors; otherwise warnings.
    errors, warnings = [], []
    for m in messages:
        m = m[len("sigrep: "):] if m.startswith("sigrep: ") else m
        for local, name in names.items():
            m = m.replace(local, name)
        m = m.replace(local_rules, rules_name)
        (errors if code == 2 and not m.startswith("warning:") else warnings).append(m)
    if code == 2 and not errors:
        errors.append("sigrep exited with status 2")
    if code not in (0, 1, 2):
        errors.append(f"sigrep exited with status {code}: {' '.join(cmd)}")
    return {"matches": matches, "lines": lines, "hits": list(hits.items()), "errors": errors,
            "warnings": warnings}


def main(argv):
    args = parse_args(argv)
    spark = SparkSession.builder.appName("sigrep").getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    sc.addFile(os.path.abspath(args.sigrep))
    rules_abs = os.path.abspath(args.rules)
    sc.addFile(rules_abs, recursive=os.path.isdir(rules_abs))
    binary_name, rules_base = os.path.basename(args.sigrep), os.path.basename(rules_abs)
    rules_name, flags = args.rules, list(args.flags)
    threads = sc.getConf().get("spark.task.cpus", "1")
    if not any(f in ("-j", "--threads") or f.startswith(("-j", "--threads=")) for f in flags):
        flags += ["-j", threads]
    splittable = not any(f.split("=")[0] in CONTEXT_FLAGS or f.startswith(("-A", "-B", "-C", "-m"))
                         for f in flags) and not any(f in ("-z", "--search-zip") for f in flags)

    files, errors = list_inputs(spark, args.inputs)
    # Each task loads the rules once (a second or so for all of SigmaHQ's):
    # two tasks per core keep the cores busy to the end without paying it
    # too often.
    split_size = args.split_size or min(1 << 30, max(
        128 << 20, -(-sum(size for *_, size in files) // (2 * sc.defaultParallelism))))
    units = plan(files, split_size, splittable, args.fetch)

    def tools():
        binary = SparkFiles.get(binary_name)
        if not os.access(binary, os.X_OK):
            os.chmod(binary, 0o755)
        return binary, SparkFiles.get(rules_base)

    def run_local(unit):
        binary, rules = tools()
        if unit[0] == "files":
            names = dict(unit[1])
            result = run_sigrep(binary, rules, rules_name, flags, [l for l, _ in unit[1]], names)
            return [(None, None, result)]
        _, name, local, start, end = unit
        span = f"{start}:{'' if end is None else end}"
        extra = ("--byte-range", span, "--line-number-start", "1")
        result = run_sigrep(binary, rules, rules_name, flags, [local], {local: name}, extra)
        return [(name, start, result)]

    def run_fetched(item):
        uri, content = item
        binary, rules = tools()
        work = tempfile.mkdtemp(prefix="sigrep-")
        try:
            local = os.path.join(work, os.path.basename(uri.rstrip("/")) or "input")
            with open(local, "wb") as f:
                f.write(content)
            return [(None, None, run_sigrep(binary, rules, rules_name, flags, [local], {local: uri}))]
        finally:
            shutil.rmtree(work, ignore_errors=True)

    local_units = [u for u in units if u[0] != "fetch"]
    fetched = []
    for uri in (u[1] for u in units if u[0] == "fetch"):
        reason = unreadable(spark, uri)
        if reason is None:
            fetched.append(uri)
        else:
            errors.append((uri, reason))
    results = sc.parallelize(local_units, max(1, len(local_units))).flatMap(run_local)
    if fetched:
        content = sc.binaryFiles(",".join(fetched), minPartitions=len(fetched))
        results = results.union(content.flatMap(run_fetched))
    results = results.persist(StorageLevel.MEMORY_AND_DISK)

    # Ranges: the first line of each is one more than the lines before it.
    summaries = results.map(lambda r: (r[0], r[1], r[2]["lines"], r[2]["hits"], r[2]["errors"],
                                       r[2]["warnings"], len(r[2]["matches"])))
    summaries = summaries.collect()
    first_lines, known = {}, {}
    for name, start, lines, *_ in sorted((s for s in summaries if s[0] is not None),
                                           key=lambda s: (s[0], s[1])):
        base = known.get(name, 1)
        first_lines[(name, start)] = base
        known[name] = None if base is None or lines is None else base + lines
    first = sc.broadcast(first_lines)

    def rows(result):
        name, start, r = result
        base = first.value.get((name, start), 1) if name is not None else 1
        for m in r["matches"]:
            number = m.get("line_number")
            if number is not None:
                number = None if base is None else number + base - 1
            rules = [(x["id"], x["title"], x["level"], x["path"]) for x in m["rules"]]
            yield (m["path"], number, m["offset"], m.get("line"), m.get("line_base64"), rules)

    matches = spark.createDataFrame(results.flatMap(rows), MATCH)
    matches.write.mode("overwrite").format(args.format).save(f"{args.out}/matches")

    hits, warnings = OrderedDict(), OrderedDict()
    for _, _, _, unit_hits, unit_errors, unit_warnings, _ in summaries:
        for key, n in unit_hits:
            hits[tuple(key)] = hits.get(tuple(key), 0) + n
        for m in unit_errors:
            errors.append((m.split(": ")[0], m))
        warnings.update((m, None) for m in unit_warnings)
    # Every task reports a broken rule file: once is enough.
    errors = list(OrderedDict.fromkeys(errors))
    stats = sorted(((*k, n) for k, n in hits.items()), key=lambda s: -s[4])
    spark.createDataFrame(stats, STAT).coalesce(1).write.mode("overwrite").json(f"{args.out}/stats")
    spark.createDataFrame(errors, ERROR).coalesce(1).write.mode("overwrite").json(f"{args.out}/errors")

    selected = sum(s[-1] for s in summaries)
    spark.stop()
    ranges = sum(1 for u in units if u[0] == "range")
    print(f"sigrep stats: {selected} selected lines; {len(stats)} rules hit; {len(files)} files "
          f"in {len(units)} tasks, {ranges} of them byte ranges", file=sys.stderr)
    for rule_id, title, _, _, n in stats:
        print(f"{n:>10}  {rule_id}  {title}", file=sys.stderr)
    for message in [*warnings, *(m for _, m in errors)]:
        print(f"sigrep: {message}", file=sys.stderr)
    return 2 if errors and not args.keep_going else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
