//! Loading the rules the command line names: one RULE operand, or `-f`
//! files and directories with metadata selection.

use std::path::{Path, PathBuf};

use sigrep::lower::Options;
use sigrep::ruleset::{RuleSelector, RuleSet};
use sigrep::search::walk;

use crate::args::Args;
use crate::{io_message, report, Failure};

/// The loaded rules and what remains of the operands.
pub struct Loaded {
    /// The rules.
    pub set: RuleSet,
    /// The operands that name inputs.
    pub files: Vec<PathBuf>,
    /// True with `-f`: output says which rules hit each line.
    pub multi: bool,
    /// A rule file could not be used (reported already).
    pub error: bool,
}

pub fn read_rule(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {}", io_message(&e)))?;
    String::from_utf8(bytes).map_err(|_| format!("{shown}: the rule is not UTF-8 text"))
}

fn selector(args: &Args) -> Result<RuleSelector, Failure> {
    let mut logsource = Vec::new();
    for pair in &args.logsource {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| Failure::Message(format!("--logsource: '{pair}' is not KEY=VALUE")))?;
        logsource.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(RuleSelector {
        levels: args.level.clone(),
        statuses: args.status.clone(),
        tags: args.tag.clone(),
        ids: args.id.clone(),
        logsource,
    })
}

/// Adds one rule file with the semantics the flags choose.
fn add(
    set: &mut RuleSet,
    args: &Args,
    source: &str,
    text: &str,
    selector: &RuleSelector,
) -> Result<usize, String> {
    if args.legacy {
        set.add_legacy_selected(source, text, selector)
    } else {
        set.add_selected(source, text, selector)
    }
}

/// Loads the rules. With one RULE operand a broken rule is fatal; with
/// `-f`, each broken file is reported once and skipped.
pub fn load(args: &Args) -> Result<Loaded, Failure> {
    let options = Options { ignore_case: !args.no_ignore_case, ..Options::default() };
    let selector = selector(args)?;
    let mut set = RuleSet::new(options);
    if args.rules.is_empty() {
        let Some((rule, files)) = args.operands.split_first() else {
            return Err(Failure::Message("no rule given (usage: sigrep RULE [FILE]...)".into()));
        };
        let text = read_rule(rule).map_err(Failure::Message)?;
        add(&mut set, args, &rule.display().to_string(), &text, &selector)
            .map_err(Failure::Message)?;
        for r in set.rules() {
            for w in &r.warnings {
                report(&format!("{}: warning: {w}", r.source));
            }
        }
        if set.rules().is_empty() {
            return Err(Failure::Message(format!(
                "{}: no rule matches the selection",
                rule.display()
            )));
        }
        return Ok(Loaded { set, files: files.to_vec(), multi: false, error: false });
    }

    let mut error = false;
    let only_yaml = walk::Filters {
        include: vec!["*.yml".into(), "*.yaml".into()],
        ..walk::Filters::default()
    };
    let mut paths = Vec::new();
    for root in &args.rules {
        if root.is_dir() {
            for entry in walk::walk(root, &only_yaml) {
                match entry {
                    walk::Entry::File(p) => paths.push(p),
                    walk::Entry::Error(p, e) => {
                        report(&format!("{}: {}", p.display(), io_message(&e)));
                        error = true;
                    }
                }
            }
        } else {
            paths.push(root.clone());
        }
    }
    for path in &paths {
        let loaded = read_rule(path)
            .and_then(|text| add(&mut set, args, &path.display().to_string(), &text, &selector));
        if let Err(e) = loaded {
            report(&e);
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
        return Err(Failure::Message("no rules to run".into()));
    }
    Ok(Loaded { set, files: args.operands.clone(), multi: true, error })
}
