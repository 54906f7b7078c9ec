//! Loading the rules a run names: one rule file (grep's RULE operand), or
//! rule files and directories (`-f`) with metadata selection.
//!
//! One rule file is all or nothing: a broken one is an error of the run.
//! With a rule set, each broken file is reported (through the run's
//! message callback) and skipped, the others load, and
//! [`LoadedRules::error`] says an error happened (exit status 2 in the
//! CLI). Directories are searched recursively for `*.yml` and `*.yaml`, in
//! name order.

use std::path::{Path, PathBuf};

use crate::lower::Options;
use crate::ruleset::{RuleSelector, RuleSet};
use crate::search::walk;

use super::{io_message, Error, ErrorKind};

/// Where the rules come from and how they are read.
#[derive(Clone, Debug, Default)]
pub struct RuleSource {
    /// The rule files and directories. With [`RuleSource::single`], exactly
    /// one file.
    pub paths: Vec<PathBuf>,
    /// One rule file named as grep's pattern operand: a broken rule is
    /// fatal, and output is not tagged with rule names.
    pub single: bool,
    /// Reproduce `sigmac -t grep` + `grep -P` ([`RuleSet::add_legacy_selected`]).
    pub legacy: bool,
    /// Lowering options (case folding).
    pub options: Options,
    /// Which rules to keep.
    pub selector: RuleSelector,
}

/// The rules of a run.
#[derive(Debug)]
pub struct LoadedRules {
    /// The rules, in load order.
    pub set: RuleSet,
    /// True for a rule set (`-f`): output says which rules hit each line.
    pub multi: bool,
    /// A rule file could not be used (reported already).
    pub error: bool,
}

/// Reads a rule file as UTF-8 text.
///
/// # Errors
/// The file cannot be read or is not UTF-8 ([`ErrorKind::Rule`]).
pub fn read_rule(path: &Path) -> Result<String, Error> {
    let fail = |message: String| Error::new(ErrorKind::Rule, message).with_path(path);
    let bytes = std::fs::read(path).map_err(|e| fail(io_message(&e)))?;
    String::from_utf8(bytes).map_err(|_| fail("the rule is not UTF-8 text".into()))
}

impl RuleSource {
    /// Loads the rules, reporting warnings and (for a rule set) broken
    /// files through `report`.
    ///
    /// # Errors
    /// [`ErrorKind::Rule`]: the single rule file is broken, or no rule is
    /// left to run.
    pub fn load(&self, report: &mut dyn FnMut(&str)) -> Result<LoadedRules, Error> {
        let mut set = RuleSet::new(self.options);
        if self.single {
            let [path] = self.paths.as_slice() else {
                return Err(Error::new(ErrorKind::Usage, "one rule file is needed"));
            };
            let text = read_rule(path)?;
            self.add(&mut set, path, &text)?;
            for r in set.rules() {
                for w in &r.warnings {
                    report(&format!("{}: warning: {w}", r.source));
                }
            }
            if set.rules().is_empty() {
                return Err(
                    Error::new(ErrorKind::Rule, "no rule matches the selection").with_path(path)
                );
            }
            return Ok(LoadedRules { set, multi: false, error: false });
        }

        let mut error = false;
        let yaml = walk::Globs {
            include: vec!["*.yml".into(), "*.yaml".into()],
            ..walk::Globs::default()
        };
        let only_yaml = walk::Filters::new(&yaml).expect("the YAML globs compile");
        let mut files = Vec::new();
        for root in &self.paths {
            if !root.is_dir() {
                files.push(root.clone());
                continue;
            }
            for entry in walk::walk(root, &only_yaml) {
                match entry {
                    walk::Entry::File(p) => files.push(p),
                    walk::Entry::Error(p, e) => {
                        report(&format!("{}: {}", p.display(), io_message(&e)));
                        error = true;
                    }
                }
            }
        }
        for path in &files {
            if let Err(e) = read_rule(path).and_then(|text| self.add(&mut set, path, &text)) {
                report(&e.to_string());
                error = true;
            }
        }
        let undecidable = set.rules().iter().filter(|r| !r.warnings.is_empty()).count();
        if undecidable > 0 {
            report(&format!(
                "warning: {undecidable} of {} rules have parts a line cannot answer or \
                 aggregations; those parts are decided toward reporting (--explain lists them)",
                set.rules().len()
            ));
        }
        if set.rules().is_empty() {
            return Err(Error::new(ErrorKind::Rule, "no rules to run"));
        }
        Ok(LoadedRules { set, multi: true, error })
    }

    /// Adds one rule file with the semantics asked for.
    fn add(&self, set: &mut RuleSet, path: &Path, text: &str) -> Result<usize, Error> {
        let source = path.display().to_string();
        let added = if self.legacy {
            set.add_legacy_selected(&source, text, &self.selector)
        } else {
            set.add_selected(&source, text, &self.selector)
        };
        added.map_err(Error::from)
    }
}

/// `KEY=VALUE` selection pairs (`--logsource product=linux,service=sshd`),
/// trimmed.
///
/// # Errors
/// [`ErrorKind::Usage`]: a pair without `=`.
pub fn logsource_pairs(pairs: &[String]) -> Result<Vec<(String, String)>, Error> {
    pairs
        .iter()
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                Error::new(ErrorKind::Usage, format!("--logsource: '{pair}' is not KEY=VALUE"))
            })?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// What the legacy `sigmac -t grep` backend emits for the rule file at
/// `path` (`--emit-pcre`): the regex of each rule document, one per line.
///
/// # Errors
/// The file cannot be read, or sigmac's reason for failing
/// ([`ErrorKind::Rule`], at its position).
pub fn emit_pcre(path: &Path) -> Result<Vec<u8>, Error> {
    let text = read_rule(path)?;
    let queries = crate::legacy::convert(&text)
        .map_err(|e| Error::from(e.into_error().in_file(&path.display().to_string())))?;
    let mut out = Vec::new();
    for q in &queries {
        out.extend_from_slice(q.regex.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}
