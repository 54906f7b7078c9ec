//! Every SigmaHQ rule in `../shared/sigma/rules` loads and compiles, or
//! fails with a precise error naming the rule and the construct.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigrep::compile::Config;
use sigrep::lower::Options;
use sigrep::ruleset::RuleSet;

use crate::util::shared_or_skip;

fn yml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn every_sigmahq_rule_compiles_or_fails_precisely() {
    let Some(shared) = shared_or_skip("every_sigmahq_rule_compiles_or_fails_precisely") else {
        return;
    };
    let mut files = Vec::new();
    yml_files(&shared.join("sigma/rules"), &mut files);
    assert!(files.len() >= 3000, "expected the SigmaHQ rule set, found {} files", files.len());
    let mut compiled = 0;
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in &files {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let mut set = RuleSet::new(Options::default());
        match set.add(&source, &text) {
            Ok(_) => match set.compile(&Config::default()) {
                Ok(_) => compiled += 1,
                Err(e) => errors.entry(format!("compile: {e}")).or_default().push(source),
            },
            Err(e) => {
                // The rule and the place.
                assert_eq!(e.source, source, "error names the rule file");
                let pos = e.pos.unwrap_or_else(|| panic!("no position: {e}"));
                assert!(pos.line >= 1 && pos.col >= 1, "{e}");
                errors.entry(e.message).or_default().push(source);
            }
        }
    }
    eprintln!("SigmaHQ rules compiled: {compiled} of {}", files.len());
    for (reason, rules) in &errors {
        eprintln!("  {} x {reason} (e.g. {})", rules.len(), rules[0]);
    }
    // Today every rule compiles; a new failure must be looked at.
    assert_eq!(compiled, files.len(), "rules that failed: {errors:#?}");
}
