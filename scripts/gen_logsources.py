#!/usr/bin/env python3
"""Writes data/logsources.tsv (and data/logsource-fields.tsv) from pySigma's own Windows pipelines.

DESIGN.md 2.3: a rule runs on an event with a `Channel` only where its logsource fits, per SigmaHQ's
mapping as pySigma's `sysmon` and `windows-logsources` pipelines state it. This script imports the
installed pipelines (pysigma-pipeline-sysmon, pysigma-pipeline-windows; the versions pinned in
../shared/oracle/pysigma/README.md), takes every logsource their processing items test for
(`LogsourceCondition` product/category/service), puts a probe rule with exactly that logsource through
the pipeline chain and records the conditions the chain added (`Channel`, `EventID`, any other field):
the composed effect, e.g. category `process_creation` -> EventID 1 (sysmon pipeline, which also turns
the logsource into service `sysmon`) -> Channel `Microsoft-Windows-Sysmon/Operational`
(windows-logsources pipeline). Chains:

* `sysmon+windows-logsources`: the oracle's (`pysigma_oracle.py`) and DESIGN.md 2.3's minimum;
* `windows-audit+windows-logsources`: pysigma-pipeline-windows' alternative reading of generic
  categories as Security audit events (process_creation -> Security 4688, registry_* -> 4657 with an
  `OperationType`), which also renames fields (`Image` -> `NewProcessName`, ...). The oracle does not
  apply it; its rows are marked so and its renames go to the fields file.

Run with the venv's Python (scripts/pysigma_diff.py creates it):

    target/pysigma-venv/bin/python scripts/gen_logsources.py [--out data/logsources.tsv]
        [--fields-out data/logsource-fields.tsv] [--check-rules ../shared/sigma/rules]

With --check-rules, every distinct logsource of those rules is put through the oracle's chain too and
compared with what the file's lookup rule gives (stated in the file's header); the rule logsources the
file does not cover (the chain adds no condition, so pySigma runs the rule on every event) are
printed with their rule counts, to stderr.
"""
import argparse
import collections
import importlib.metadata
import os
import sys

import yaml
from sigma.processing.conditions import IncludeFieldCondition, LogsourceCondition
from sigma.processing.transformations import (DetectionItemFailureTransformation,
                                              FieldMappingTransformation)
from sigma.rule import SigmaRule
from sigma.pipelines.sysmon import sysmon_pipeline
from sigma.pipelines.windows import windows_audit_pipeline, windows_logsource_pipeline

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PACKAGES = ("pysigma", "pysigma-pipeline-sysmon", "pysigma-pipeline-windows")
CHAINS = (
    ("sysmon+windows-logsources", lambda: sysmon_pipeline() + windows_logsource_pipeline()),
    ("windows-audit+windows-logsources", lambda: windows_audit_pipeline() + windows_logsource_pipeline()),
)
PROBE = "SigrepProbeField"


def logsource_conditions(pipeline):
    """(product, category, service) of every LogsourceCondition in the pipeline's items."""
    out = set()
    for item in pipeline.items:
        for cond in item.rule_conditions:
            if isinstance(cond, LogsourceCondition):
                out.add((cond.product, cond.category, cond.service))
    return out


def added_conditions(chain, product, category, service):
    """{field: sorted values} the chain adds to a rule of that logsource, and the names its field
    mappings give to probe fields."""
    ls = {k: v for k, v in (("product", product), ("category", category), ("service", service)) if v}
    rule = SigmaRule.from_dict({
        "title": "probe", "logsource": ls,
        "detection": {"sel": {PROBE: "x"}, "condition": "sel"},
    })
    chain().apply(rule)
    added = {}
    for name, det in rule.detection.detections.items():
        if name == "sel":
            continue
        for item in det.detection_items:
            # An added condition is an AND of fields; each field an OR of its values.
            added.setdefault(item.field, set()).update(str(v) for v in item.value)
    return {f: sorted(v, key=sort_key) for f, v in added.items()}


def sort_key(v):
    return (0, int(v), "") if v.isdigit() else (1, 0, v)


def field_mappings(chain_name, pipeline):
    """(chain, item, when, sigma field, event field) of every FieldMappingTransformation, and
    `!unsupported` for the fields a DetectionItemFailureTransformation refuses."""
    rows = []
    for item in pipeline.items:
        t = item.transformation
        if isinstance(t, FieldMappingTransformation):
            mapping = t.mapping
        elif isinstance(t, DetectionItemFailureTransformation):
            mapping = {f: "!unsupported" for c in item.field_name_conditions
                       if isinstance(c, IncludeFieldCondition) for f in c.fields}
        else:
            continue
        when = []
        for cond in item.rule_conditions:
            if isinstance(cond, LogsourceCondition):
                when.append("logsource %s" % "/".join(x or "*" for x in (cond.product, cond.category,
                                                                          cond.service)))
            else:
                when.append("%s(%s)" % (type(cond).__name__, getattr(cond, "processing_item_id", "")))
        link = " or " if item.rule_condition_linking is any and len(when) > 1 else " and "
        for src, dst in sorted(mapping.items()):
            dst = "|".join(dst) if isinstance(dst, list) else dst
            rows.append((chain_name, item.identifier or "-", link.join(when) or "always", src, dst))
    return rows


def table(chain_name, chain):
    rows = {}
    for product, category, service in logsource_conditions(chain()):
        added = added_conditions(chain, product, category, service)
        channel = added.pop("Channel", None)
        eventid = added.pop("EventID", None)
        other = ";".join("%s=%s" % (f, "|".join(v)) for f, v in sorted(added.items()))
        rows[(product or "*", category or "*", service or "*")] = (
            "|".join(channel) if channel else "*", "|".join(eventid) if eventid else "*",
            other or "-", chain_name)
    return rows


def lookup(rows, product, category, service):
    """The file's lookup rule: rows of the oracle's chain whose non-* key columns equal the rule's
    logsource; a row with a category before one without (category items rewrite the service first)."""
    hits = [(k, v) for k, v in rows.items()
            if v[3] == CHAINS[0][0]
            and k[0] in ("*", product) and k[1] in ("*", category) and k[2] in ("*", service)]
    hits.sort(key=lambda kv: (kv[0][1] == "*", kv[0][2] == "*", kv[0]))
    return hits[0][1] if hits else None


def rule_logsources(rules_dir):
    counts = collections.Counter()
    for root, _, files in os.walk(rules_dir):
        for f in files:
            if not f.endswith((".yml", ".yaml")):
                continue
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                for doc in yaml.safe_load_all(fh):
                    if isinstance(doc, dict) and "detection" in doc:
                        ls = doc.get("logsource") or {}
                        counts[(ls.get("product"), ls.get("category"), ls.get("service"))] += 1
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "data", "logsources.tsv"))
    ap.add_argument("--fields-out", default=os.path.join(REPO, "data", "logsource-fields.tsv"))
    ap.add_argument("--check-rules", metavar="DIR",
                    help="compare the file's lookup with the oracle chain on these rules' logsources")
    args = ap.parse_args()
    versions = ", ".join("%s %s" % (p, importlib.metadata.version(p)) for p in PACKAGES)

    rows = {}
    for name, chain in CHAINS:
        for key, val in table(name, chain).items():
            if key not in rows:  # the oracle's chain first: it wins where both test a logsource
                rows[key] = val
            elif rows[key][:3] != val[:3]:
                rows[key + (name,)] = val
    with open(args.out, "w", encoding="utf-8") as out:
        out.write(
            "# Sigma logsource -> Windows event conditions, from pySigma's pipelines (%s);\n"
            "# written by scripts/gen_logsources.py. A rule with logsource (product, category, service)\n"
            "# runs only on events whose Channel is one of `channel` and whose EventID is one of\n"
            "# `event_id` (`*`: any) and, where `other` is not `-`, whose FIELD is one of the listed\n"
            "# values (`FIELD=v1|v2`, `;` between fields). Lookup: the rows of pipeline\n"
            "# `sysmon+windows-logsources` (pySigma oracle, DESIGN.md 2.3) whose non-* key columns\n"
            "# equal the rule's; a row with a category wins over one without. A logsource no row\n"
            "# matches gets no condition from pySigma: it runs on every event.\n"
            "# `windows-audit+windows-logsources` rows are pySigma's alternative Security-audit reading\n"
            "# of generic categories (not applied by the oracle); with it come field renames,\n"
            "# data/logsource-fields.tsv. Values compare case-insensitively (SQLite NOCASE in the oracle).\n"
            % versions)
        out.write("product\tcategory\tservice\tchannel\tevent_id\tother\tpipeline\n")
        for key in sorted(rows, key=lambda k: (rows[k][3] != CHAINS[0][0], k)):
            out.write("\t".join(key[:3] + rows[key]) + "\n")
    fmap = []
    for name, chain in CHAINS:
        fmap += field_mappings(name, chain())
    with open(args.fields_out, "w", encoding="utf-8") as out:
        out.write("# Field renames of pySigma's Windows pipelines (%s); written by\n"
                  "# scripts/gen_logsources.py. The oracle's chain (sysmon+windows-logsources) renames\n"
                  "# no field: Sigma's Sysmon-taxonomy names are the event's own. Only the windows-audit\n"
                  "# reading renames, for the rules its conditions select (`when`); `!unsupported`:\n"
                  "# pySigma refuses to convert a rule using that field there.\n" % versions)
        out.write("pipeline\titem\twhen\tsigma_field\tevent_field\n")
        for row in sorted(set(fmap)):
            out.write("\t".join(row) + "\n")
    print("%s: %d rows; %s: %d rows" % (args.out, len(rows), args.fields_out, len(set(fmap))),
          file=sys.stderr)

    if args.check_rules:
        bad, uncovered = 0, []
        for (product, category, service), n in sorted(rule_logsources(args.check_rules).items(),
                                                     key=lambda kv: (-kv[1], str(kv[0]))):
            want = added_conditions(CHAINS[0][1], product, category, service)
            got = lookup(rows, product or "*", category or "*", service or "*")
            if not want:
                uncovered.append((n, product, category, service))
                if got is None:
                    continue
            gotd = {}
            if got:
                if got[0] != "*":
                    gotd["Channel"] = got[0].split("|")
                if got[1] != "*":
                    gotd["EventID"] = got[1].split("|")
                if got[2] != "-":
                    for part in got[2].split(";"):
                        f, v = part.split("=", 1)
                        gotd[f] = v.split("|")
            if gotd != want:
                bad += 1
                print("MISMATCH %s/%s/%s (%d rules): chain %s, file %s"
                      % (product, category, service, n, want, gotd), file=sys.stderr)
        print("rule logsources checked against the oracle's chain: %d mismatches" % bad,
              file=sys.stderr)
        print("rule logsources the file does not cover (no condition: the rule runs on every event), "
              "%d logsources, %d rules:" % (len(uncovered), sum(u[0] for u in uncovered)),
              file=sys.stderr)
        for n, product, category, service in uncovered:
            print("  %4d  product=%s category=%s service=%s" % (n, product, category, service),
                  file=sys.stderr)


if __name__ == "__main__":
    main()
