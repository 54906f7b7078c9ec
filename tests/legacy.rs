//! Legacy mode against the measured oracle (`tests/data/legacy/`, copied
//! from `../shared/oracle/`): `grep-backend-vectors.tsv` holds, for each
//! vector case, the regex sigmac 0.23.1 emitted (or its error) and the
//! lines GNU grep 3.8 selected with and without `-i`.
//!
//! * `--emit-pcre` must print exactly sigmac's regexes, and fail (exit 2,
//!   naming sigmac's exit status and reason) where sigmac fails.
//! * Every SigmaHQ rule (`../shared/sigma/rules`, when present):
//!   `--emit-pcre` equals the `regex` column of
//!   `../shared/oracle/sigmahq-rules-grep.tsv`, or fails where sigmac did.
//!
//! `SIGREP_TEST=name1,name2` runs only the named vector cases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigrep::compile::Config;
use sigrep::lower::Options;
use sigrep::oracle::lines;
use sigrep::ruleset::RuleSet;

use crate::util::{shared_or_skip, Dir};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/legacy")
}

/// Decodes a TSV field: `json:"..."` holds a JSON string literal (for
/// fields with TAB, CR or LF, semantics §7); anything else is as written.
pub fn tsv_field(field: &str) -> String {
    let Some(lit) = field.strip_prefix("json:") else { return field.to_string() };
    let inner = lit.strip_prefix('"').and_then(|s| s.strip_suffix('"')).expect("JSON string");
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().expect("escape") {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                let unit = u32::from_str_radix(&hex, 16).expect("\\u escape");
                out.push(char::from_u32(unit).expect("no surrogates in the oracle"));
            }
            other => out.push(other),
        }
    }
    out
}

/// One row of `grep-backend-vectors.tsv`, by column name.
pub struct VectorRow {
    fields: BTreeMap<String, String>,
}

impl VectorRow {
    /// A column, decoded.
    pub fn get(&self, column: &str) -> String {
        tsv_field(self.fields.get(column).unwrap_or_else(|| panic!("no column {column}")))
    }
}

/// The rows of a TSV file with a header row.
pub fn read_tsv(path: &Path) -> Vec<VectorRow> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let values: Vec<&str> = l.split('\t').collect();
            assert_eq!(values.len(), header.len(), "{}: row width: {l}", path.display());
            VectorRow {
                fields: header
                    .iter()
                    .zip(values)
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect(),
            }
        })
        .collect()
}

/// The vector rows grouped by case, in file order.
pub fn vector_cases() -> Vec<(String, Vec<VectorRow>)> {
    let mut cases: Vec<(String, Vec<VectorRow>)> = Vec::new();
    for row in read_tsv(&data_dir().join("grep-backend-vectors.tsv")) {
        let case = row.get("case");
        match cases.last_mut() {
            Some((name, rows)) if *name == case => rows.push(row),
            _ => cases.push((case, vec![row])),
        }
    }
    cases
}

/// The case names of `SIGREP_TEST`, if set.
pub fn wanted(name: &str) -> bool {
    match std::env::var("SIGREP_TEST") {
        Ok(v) => v.split(',').any(|n| n.trim() == name),
        Err(_) => true,
    }
}

/// The reason in sigmac's stderr line, without its prefix: what our
/// message must contain.
fn sigmac_reason(error: &str) -> Option<&str> {
    let error = error.strip_prefix("ERROR: ")?;
    if let Some((_, reason)) = error.split_once(".yml: ") {
        return Some(reason.trim());
    }
    if let Some((_, reason)) = error.split_once(".yml):") {
        return Some(reason.trim());
    }
    // A Python traceback's last line, e.g. `KeyError: 'cased'`.
    Some(error.trim())
}

#[test]
fn emit_pcre_every_vector() {
    let dir = Dir::new();
    let data = data_dir();
    let (mut passed, mut total) = (0, 0);
    let mut failures = Vec::new();
    for (case, rows) in vector_cases() {
        if !wanted(&case) {
            continue;
        }
        total += 1;
        let rule = data.join(format!("{case}.yml"));
        let run = dir.run(&["--emit-pcre", rule.to_str().unwrap()]);
        let first = rows[0].get("regex");
        let sigmac_exit = rows[0].get("sigmac_exit");
        let problem = if first == "NO-OUTPUT" {
            (run.code != 0 || !run.stdout.is_empty()).then(|| "expected no output, exit 0".into())
        } else if first.starts_with("ERROR: ") {
            let reason = sigmac_reason(&first).unwrap_or("");
            if run.code != 2 || !run.stdout.is_empty() {
                Some("expected exit 2 and no output".to_string())
            } else if !run.stderr.contains(&format!("(exit {sigmac_exit})")) {
                Some(format!("the message does not name sigmac's exit {sigmac_exit}"))
            } else if sigmac_exit != "3" && !run.stderr.contains(reason) {
                Some(format!("the message does not name sigmac's reason {reason:?}"))
            } else {
                None
            }
        } else {
            let expected: String = rows.iter().map(|r| r.get("regex") + "\n").collect();
            (run.code != 0 || run.stdout != expected)
                .then(|| format!("expected {expected:?} (exit 0)"))
        };
        match problem {
            None => passed += 1,
            Some(p) => failures.push(format!(
                "{case}: {p}\n  got exit {}: {:?}\n  stderr: {}",
                run.code, run.stdout, run.stderr
            )),
        }
    }
    eprintln!("legacy vectors, emitted regex: {passed} of {total} cases equal");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn emit_pcre_every_sigmahq_rule() {
    let Some(shared) = shared_or_skip("emit_pcre_every_sigmahq_rule") else { return };
    let rows = read_tsv(&shared.join("oracle/sigmahq-rules-grep.tsv"));
    assert!(rows.len() >= 3000, "expected the SigmaHQ table, found {} rows", rows.len());
    let dir = Dir::new();
    let (mut equal, mut converted, mut failed_as_sigmac, mut failing) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for row in &rows {
        let path = shared.join("sigma").join(row.get("path"));
        let run = dir.run(&["--emit-pcre", path.to_str().unwrap()]);
        if row.get("conversion") == "ok" {
            converted += 1;
            if run.code == 0 && run.stdout == row.get("regex") + "\n" {
                equal += 1;
            } else {
                failures.push(format!("{}: got exit {} {}", row.get("path"), run.code, run.stderr));
            }
        } else {
            failing += 1;
            if run.code == 2 && run.stderr.contains("sigmac fails") {
                failed_as_sigmac += 1;
            } else {
                failures.push(format!(
                    "{}: sigmac fails ({}), sigrep gave exit {}",
                    row.get("path"),
                    row.get("conversion"),
                    run.code
                ));
            }
        }
    }
    eprintln!(
        "SigmaHQ --emit-pcre: {equal} of {converted} converted rules equal; \
         {failed_as_sigmac} of {failing} failing rules fail"
    );
    let shown: Vec<&String> = failures.iter().take(20).collect();
    assert!(failures.is_empty(), "{} failures, e.g. {shown:#?}", failures.len());
}

/// Line numbers printed by `sigrep -n` (1-based), `-` for none.
fn printed_lines(stdout: &[u8]) -> String {
    let lines: Vec<String> = stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let end = l.iter().position(|&b| b == b':').unwrap_or(l.len());
            String::from_utf8_lossy(&l[..end]).into_owned()
        })
        .collect();
    if lines.is_empty() {
        "-".into()
    } else {
        lines.join(",")
    }
}

/// Lines (1-based) that rule `index` of `set` selects, through the
/// compiled program, and the exit status grep would give.
fn library_lines(set: &RuleSet, index: usize, log: &[u8]) -> (String, &'static str) {
    let program = set.compile(&Config::default()).expect("compiles");
    let mut cache = program.create_cache();
    let mut selected = Vec::new();
    let mut out = Vec::new();
    for (n, line) in lines(log).enumerate() {
        out.clear();
        program.matching_rules(&mut cache, line, &mut out);
        if out.contains(&(index as u32)) {
            selected.push((n + 1).to_string());
        }
    }
    if selected.is_empty() {
        ("-".into(), "1")
    } else {
        (selected.join(","), "0")
    }
}

/// Every vector row with a regex: the lines `--legacy` selects equal what
/// `grep -P -i` printed, and without `-i` (`--no-ignore-case`) what
/// `grep -P` printed, with grep's exit status and, for patterns PCRE2
/// rejects, grep's message. Rows where grep hit its backtracking limit
/// (an intended difference) or reported selected lines with invalid UTF-8
/// as "binary file matches" (a documented one) are skipped and counted.
#[test]
fn legacy_lines_every_vector() {
    let dir = Dir::new();
    let data = data_dir();
    let mut counts: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    let mut failures = Vec::new();
    for (case, rows) in vector_cases() {
        let first = rows[0].get("regex");
        if !wanted(&case) || first == "NO-OUTPUT" || first.starts_with("ERROR: ") {
            continue;
        }
        let rule = data.join(format!("{case}.yml"));
        let log = data.join(format!("{case}.log"));
        let log_bytes = std::fs::read(&log).unwrap();
        for row in &rows {
            for (mode, column, flags) in
                [("-i", "grep_P_i", &[][..]), ("no -i", "grep_P", &["--no-ignore-case"][..])]
            {
                let tally = counts.entry(mode).or_default();
                let want_lines = row.get(&format!("{column}_lines"));
                let want_exit = row.get(&format!("{column}_exit"));
                let want_stderr = row.get(&format!("{column}_stderr"));
                if want_stderr.contains("exceeded PCRE's backtracking limit") {
                    tally[2] += 1;
                    continue;
                }
                if want_stderr.contains("binary file matches") && !log_bytes.contains(&0) {
                    tally[2] += 1;
                    continue;
                }
                let (got_lines, got_exit, got_stderr) = if rows.len() == 1 {
                    let mut args = vec!["--legacy", "-n"];
                    args.extend_from_slice(flags);
                    args.push(rule.to_str().unwrap());
                    args.push(log.to_str().unwrap());
                    let run = dir.run(&args);
                    (printed_lines(&run.stdout_bytes), run.code.to_string(), run.stderr)
                } else {
                    // Several queries: rule N-1 of the file, by the library.
                    let query: usize = row.get("query").parse().unwrap();
                    let mut set = RuleSet::new(Options {
                        ignore_case: flags.is_empty(),
                        ..Options::default()
                    });
                    let text = std::fs::read_to_string(&rule).unwrap();
                    set.add_legacy_selected("rule", &text, &Default::default()).unwrap();
                    let (l, e) = library_lines(&set, query - 1, &log_bytes);
                    (l, e.to_string(), String::new())
                };
                let grep_message = want_stderr.strip_prefix("grep: ").unwrap_or("");
                let ok = got_lines == want_lines
                    && got_exit == want_exit
                    && (want_exit != "2" || got_stderr.contains(grep_message));
                if ok {
                    tally[0] += 1;
                } else {
                    tally[1] += 1;
                    failures.push(format!(
                        "{case} query {} ({mode}): want lines {want_lines} exit {want_exit} \
                         {want_stderr}; got lines {got_lines} exit {got_exit} {got_stderr}",
                        row.get("query")
                    ));
                }
            }
        }
    }
    for (mode, [pass, fail, skip]) in &counts {
        eprintln!(
            "legacy vectors, lines with {mode}: {pass} of {} rows equal, {skip} skipped",
            pass + fail
        );
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// The documented differences, pinned: where grep gives up on a long line
/// ("exceeded PCRE's backtracking limit", exit 2, rest unread) sigrep goes
/// on; a line that is not valid UTF-8 is matched whole and printed (grep
/// hides it behind "binary file matches").
#[test]
fn legacy_documented_differences() {
    let dir = Dir::new();
    let data = data_dir();
    let run = |case: &str| {
        let rule = data.join(format!("{case}.yml"));
        let log = data.join(format!("{case}.log"));
        dir.run(&["--legacy", "-n", rule.to_str().unwrap(), log.to_str().unwrap()])
    };
    // grep printed line 1, then gave up on line 2 and never read line 3.
    let long = run("long_line_backtrack_limit");
    assert_eq!((printed_lines(&long.stdout_bytes).as_str(), long.code), ("1,3", 0));
    // grep printed 1 and 4, reported line 3 (`alpha` then an invalid byte)
    // as "binary file matches", and could not match line 2 (`alpha` after
    // an invalid byte).
    let invalid = run("log_invalid_utf8");
    assert_eq!((printed_lines(&invalid.stdout_bytes).as_str(), invalid.code), ("1,2,3,4", 0));
}

/// `--legacy` is all or nothing per file, names the file in PCRE's message
/// and in sigmac's, and `--emit-pcre` prints one regex per document.
#[test]
fn legacy_errors_and_documents() {
    let dir = Dir::new();
    dir.create("log", "x\n");
    dir.create(
        "bad.yml",
        "detection:\n  sel:\n    Image|endswith: '\\Temp\\x.exe'\n  condition: sel\n",
    );
    let run = dir.run(&["--legacy", "bad.yml", "log"]);
    assert_eq!(run.code, 2);
    eqnice!("sigrep: bad.yml: unrecognized character follows \\\n", run.stderr);
    let emitted = dir.run(&["--emit-pcre", "bad.yml"]);
    eqnice!("^.*\\Temp\\x\\.exe\n", emitted.stdout);
    dir.create("split.yml", "detection:\n  sel: [a]\n  condition: original\n");
    let run = dir.run(&["--legacy", "split.yml", "log"]);
    assert_eq!(run.code, 2);
    eqnice!(
        "sigrep: split.yml:3:14: sigmac fails (exit 4): Sigma parse error: Unknown definition 'iginal'\n",
        run.stderr
    );
    dir.create(
        "two.yml",
        "action: global\ndetection:\n  condition: sel\n---\ndetection:\n  sel: [alpha]\n---\n\
         detection:\n  sel: [beta]\n",
    );
    let emitted = dir.run(&["--emit-pcre", "two.yml"]);
    eqnice!("^alpha\n^beta\n", emitted.stdout);
    dir.create("two.log", "alpha\nbeta\ngamma\n");
    let run = dir.run(&["--legacy", "-c", "two.yml", "two.log"]);
    eqnice!("2\n", run.stdout);
}

/// Every SigmaHQ rule sigmac converts loads with `--legacy`: it runs
/// (exit 1 on an empty input) where PCRE2 compiles its regex, and fails
/// with PCRE2's own message where grep did (`grep_P_compile` of the oracle
/// table); no rule is refused.
#[test]
fn legacy_every_sigmahq_rule_compiles_as_pcre() {
    let Some(shared) = shared_or_skip("legacy_every_sigmahq_rule_compiles_as_pcre") else {
        return;
    };
    let rows = read_tsv(&shared.join("oracle/sigmahq-rules-grep.tsv"));
    let dir = Dir::new();
    dir.create("empty.log", "");
    let (mut runs, mut rejected, mut total) = (0, 0, 0);
    let mut failures = Vec::new();
    for row in rows.iter().filter(|r| r.get("conversion") == "ok") {
        total += 1;
        let path = shared.join("sigma").join(row.get("path"));
        let run = dir.run(&["--legacy", path.to_str().unwrap(), "empty.log"]);
        let want = row.get("grep_P_compile");
        match want.strip_prefix("FAIL: ") {
            None if run.code == 1 => runs += 1,
            Some(message) if run.code == 2 && run.stderr.trim_end().ends_with(message) => {
                rejected += 1
            }
            _ => failures.push(format!("{}: want {want}, got {}", row.get("path"), run.stderr)),
        }
    }
    eprintln!(
        "SigmaHQ --legacy: {runs} rules run, {rejected} rejected with PCRE's message, of {total}"
    );
    let shown: Vec<&String> = failures.iter().take(20).collect();
    assert!(failures.is_empty(), "{} failures, e.g. {shown:#?}", failures.len());
}
