//! The vector cases of `tests/data/vectors/`: rules and logs with the lines
//! the default semantics (DESIGN.md 2.1) must select.
//!
//! * `cases.tsv`: `case`, `query`, `lines_ignore_case`,
//!   `lines_case_sensitive`, `note`. Rows not starting with `own_` are the
//!   oracle vectors without legacy defects (measured with `grep -P -i` and
//!   `grep -P`); `own_` rows were worked out by hand from DESIGN.md 2.1.
//!   `query` N is rule N-1 of the file in load order; lines are 1-based,
//!   `-` for none.
//! * `errors.tsv`: `case`, `error`, `note`: rules that must fail to load
//!   with a message containing `error` (and naming the rule file).
//!
//! Every case runs through the library (per-line `matching_rules` and the
//! `find_line` scan, each with the default config, without prefilter and
//! with the oracle engine) and through the command line, with and without
//! `--no-ignore-case`. All failures are collected and reported together.
//! `SIGREP_TEST=name1,name2` runs only the named cases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigrep::compile::{AnyRule, Config, Engine, LiteralScanner, Program};
use sigrep::lower::Options;
use sigrep::oracle::lines;
use sigrep::ruleset::RuleSet;

use crate::util::Dir;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors")
}

/// One row of `cases.tsv`.
struct Case {
    name: String,
    query: usize,
    ignore_case: Vec<usize>,
    case_sensitive: Vec<usize>,
    note: String,
}

/// One row of `errors.tsv`.
struct ErrorCase {
    name: String,
    error: String,
    note: String,
}

/// Rows of a TSV file with a header, split on tabs; checks the width.
fn tsv(name: &str, width: usize) -> Vec<Vec<String>> {
    let path = data_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.is_empty() {
            continue;
        }
        let fields: Vec<String> = line.split('\t').map(str::to_string).collect();
        assert_eq!(fields.len(), width, "{name}:{}: expected {width} fields", i + 1);
        rows.push(fields);
    }
    rows
}

fn parse_lines(field: &str) -> Vec<usize> {
    if field == "-" {
        return Vec::new();
    }
    field
        .split(',')
        .map(|n| n.parse().unwrap_or_else(|_| panic!("bad line list {field:?}")))
        .collect()
}

fn show(lines: &[usize]) -> String {
    if lines.is_empty() {
        "-".to_string()
    } else {
        lines.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
    }
}

fn load_cases() -> Vec<Case> {
    tsv("cases.tsv", 5)
        .into_iter()
        .map(|f| Case {
            name: f[0].clone(),
            query: f[1].parse().expect("query number"),
            ignore_case: parse_lines(&f[2]),
            case_sensitive: parse_lines(&f[3]),
            note: f[4].clone(),
        })
        .collect()
}

fn load_errors() -> Vec<ErrorCase> {
    tsv("errors.tsv", 3)
        .into_iter()
        .map(|f| ErrorCase { name: f[0].clone(), error: f[1].clone(), note: f[2].clone() })
        .collect()
}

/// The case names of `SIGREP_TEST`, if set.
fn selected() -> Option<Vec<String>> {
    let value = std::env::var("SIGREP_TEST").ok()?;
    Some(value.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}

fn wanted(filter: &Option<Vec<String>>, name: &str) -> bool {
    filter.as_ref().is_none_or(|names| names.iter().any(|n| n == name))
}

/// Pass/fail/skip counts per variant, and the failures.
#[derive(Default)]
struct Report {
    counts: BTreeMap<String, [usize; 3]>,
    failures: Vec<String>,
}

impl Report {
    fn pass(&mut self, variant: &str) {
        self.counts.entry(variant.to_string()).or_default()[0] += 1;
    }

    fn fail(&mut self, variant: &str, case: &str, message: String) {
        self.counts.entry(variant.to_string()).or_default()[1] += 1;
        self.failures.push(format!("{case} [{variant}]: {message}"));
    }

    fn skip(&mut self, variant: &str, case: &str, reason: &str) {
        self.counts.entry(variant.to_string()).or_default()[2] += 1;
        println!("{case} [{variant}]: skipped: {reason}");
    }

    fn check(
        &mut self,
        variant: &str,
        case: &Case,
        expected: &[usize],
        got: Result<Vec<usize>, String>,
    ) {
        match got {
            Ok(got) if got == expected => self.pass(variant),
            Ok(got) => self.fail(
                variant,
                &case.name,
                format!("expected lines {}, got {} ({})", show(expected), show(&got), case.note),
            ),
            Err(e) => self.fail(
                variant,
                &case.name,
                format!("expected lines {}, got error: {e}", show(expected)),
            ),
        }
    }
}

/// Loads the rule file; the number of rules in it.
fn rule_set(source: &str, rule: &str, ignore_case: bool) -> Result<(RuleSet, usize), String> {
    let mut set = RuleSet::new(Options { ignore_case, ..Options::default() });
    let n = set.add(source, rule).map_err(|e| e.to_string())?;
    Ok((set, n))
}

fn program(set: &RuleSet, config: &Config) -> Result<Program, String> {
    set.compile(config).map_err(|e| format!("compile error: {e}"))
}

/// Lines (1-based) where rule `index` is among `matching_rules`.
fn by_lines(program: &Program, log: &[u8], index: u32) -> Vec<usize> {
    let mut cache = program.create_cache();
    let mut out = Vec::new();
    let mut got = Vec::new();
    for (i, line) in lines(log).enumerate() {
        program.matching_rules(&mut cache, line, &mut out);
        if out.contains(&index) {
            got.push(i + 1);
        }
    }
    got
}

/// The same through `find_line` (the prefilter path), each found line then
/// checked for rule `index`.
fn by_find_line(program: &Program, log: &[u8], index: u32) -> Vec<usize> {
    let mut cache = program.create_cache();
    let mut out = Vec::new();
    let mut got = Vec::new();
    let (mut pos, mut counted, mut number) = (0, 0, 1);
    while let Some((start, end)) = program.find_line(&mut cache, log, pos) {
        number += log[counted..start].iter().filter(|&&b| b == b'\n').count();
        counted = start;
        program.matching_rules(&mut cache, &log[start..end], &mut out);
        if out.contains(&index) {
            got.push(number);
        }
        pos = end + 1;
    }
    got
}

/// Line numbers of `sigrep -n` output.
fn cli_lines(stdout: &[u8]) -> Result<Vec<usize>, String> {
    let mut got = Vec::new();
    for record in stdout.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
        let colon = record.iter().position(|&b| b == b':');
        let number = colon
            .and_then(|c| std::str::from_utf8(&record[..c]).ok())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                format!("unexpected output line {:?}", String::from_utf8_lossy(record))
            })?;
        got.push(number);
    }
    Ok(got)
}

fn run_case(case: &Case, report: &mut Report) {
    let dir = data_dir();
    let rule_file = format!("{}.yml", case.name);
    let log_file = format!("{}.log", case.name);
    let rule = std::fs::read_to_string(dir.join(&rule_file)).expect("rule file");
    let log = std::fs::read(dir.join(&log_file)).expect("log file");
    let configs = [
        ("default", Config::default()),
        ("no-prefilter", Config { prefilter: false, ..Config::default() }),
        ("oracle", Config { engine: Engine::PerAtom, ..Config::default() }),
        ("any-by-attribution", Config { any_rule: AnyRule::Attribution, ..Config::default() }),
        ("grams", Config { scanner: LiteralScanner::Grams, ..Config::default() }),
    ];
    let mut rules_in_file = None;
    for (ignore_case, expected, mode) in
        [(true, &case.ignore_case, "ignore-case"), (false, &case.case_sensitive, "case-sensitive")]
    {
        let loaded = rule_set(&rule_file, &rule, ignore_case).and_then(|(set, n)| {
            if case.query == 0 || case.query > n {
                return Err(format!("query {} but the file has {n} rules", case.query));
            }
            Ok((set, n))
        });
        for (name, config) in &configs {
            let compiled = loaded.clone().and_then(|(set, n)| Ok((program(&set, config)?, n)));
            let index = u32::try_from(case.query.saturating_sub(1)).unwrap();
            let lines_variant = format!("lib/{name}/matching_rules {mode}");
            let find_variant = format!("lib/{name}/find_line {mode}");
            match compiled {
                Ok((program, n)) => {
                    rules_in_file = Some(n);
                    report.check(
                        &lines_variant,
                        case,
                        expected,
                        Ok(by_lines(&program, &log, index)),
                    );
                    report.check(
                        &find_variant,
                        case,
                        expected,
                        Ok(by_find_line(&program, &log, index)),
                    );
                }
                Err(e) => {
                    report.check(&lines_variant, case, expected, Err(e.clone()));
                    report.check(&find_variant, case, expected, Err(e));
                }
            }
        }
        let cli_variant = format!("cli {mode}");
        if rules_in_file.is_some_and(|n| n > 1) {
            report.skip(&cli_variant, &case.name, "multi-document rule file");
            continue;
        }
        if log.contains(&0) {
            report.skip(&cli_variant, &case.name, "the log holds a NUL byte (binary for the CLI)");
            continue;
        }
        let tmp = Dir::new();
        tmp.create(&rule_file, &rule);
        tmp.create(&log_file, &log);
        let mut args = vec!["-n"];
        if !ignore_case {
            args.push("--no-ignore-case");
        }
        args.extend([rule_file.as_str(), log_file.as_str()]);
        let run = tmp.run(&args);
        let want_code = if expected.is_empty() { 1 } else { 0 };
        let got = if run.code == want_code {
            cli_lines(&run.stdout_bytes)
        } else {
            Err(format!("exit {} (want {want_code}), stderr: {}", run.code, run.stderr.trim_end()))
        };
        report.check(&cli_variant, case, expected, got);
    }
}

fn run_error(case: &ErrorCase, report: &mut Report) {
    let dir = data_dir();
    let rule_file = format!("{}.yml", case.name);
    let rule = std::fs::read_to_string(dir.join(&rule_file)).expect("rule file");
    let want = case.error.to_lowercase();
    let verdict = |message: &str| -> Result<(), String> {
        let lower = message.to_lowercase();
        if lower.contains(&want) && message.contains(&rule_file) {
            Ok(())
        } else {
            Err(format!(
                "expected an error containing {:?} and naming {rule_file} ({}), got: {}",
                case.error,
                case.note,
                message.trim_end()
            ))
        }
    };
    let lib = match rule_set(&rule_file, &rule, true) {
        Err(e) => verdict(&e),
        Ok((set, _)) => match set.compile(&Config::default()) {
            Err(e) => verdict(&format!("{rule_file}: {e}")),
            Ok(_) => {
                Err(format!("expected an error containing {:?}, but the rule loaded", case.error))
            }
        },
    };
    match lib {
        Ok(()) => report.pass("lib error"),
        Err(e) => report.fail("lib error", &case.name, e),
    }
    let tmp = Dir::new();
    tmp.create(&rule_file, &rule);
    tmp.create("some.log", "cmd.exe\n10.0.0.1\n");
    let run = tmp.run(&[&rule_file, "some.log"]);
    let cli = if run.code == 2 {
        verdict(&run.stderr)
    } else {
        Err(format!("expected exit 2, got {} (stderr: {})", run.code, run.stderr.trim_end()))
    };
    match cli {
        Ok(()) => report.pass("cli error"),
        Err(e) => report.fail("cli error", &case.name, e),
    }
}

#[test]
fn cases() {
    let filter = selected();
    let mut report = Report::default();
    let mut ran = 0;
    for case in load_cases().iter().filter(|c| wanted(&filter, &c.name)) {
        run_case(case, &mut report);
        ran += 1;
    }
    for case in load_errors().iter().filter(|c| wanted(&filter, &c.name)) {
        run_error(case, &mut report);
        ran += 1;
    }
    if let Some(names) = &filter {
        assert!(ran > 0, "SIGREP_TEST={} selects no case", names.join(","));
    }
    println!("vector cases run: {ran}");
    for (variant, [pass, fail, skip]) in &report.counts {
        println!("{variant:<40} pass {pass:>3}  fail {fail:>3}  skip {skip:>3}");
    }
    if !report.failures.is_empty() {
        panic!("{} vector failures:\n{}", report.failures.len(), report.failures.join("\n"));
    }
}
