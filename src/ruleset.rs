//! A set of loaded rules ready to compile: the glue of the pipeline from
//! rule text to [`Program`].

use crate::compile::{CompileError, Config, Program};
use crate::error::RuleError;
use crate::lower::sigma::Predicate;
use crate::lower::{self, AtomTable, Formula, Options};
use crate::rule::{self, Rule};

/// One rule of the set with its formula.
#[derive(Clone, Debug)]
pub struct LoadedRule {
    /// Where the rule came from (a path as the user gave it).
    pub source: String,
    /// The rule.
    pub rule: Rule,
    /// Its formula over the set's atoms.
    pub formula: Formula,
    /// Warnings from lowering (each once).
    pub warnings: Vec<String>,
    /// In Sigma semantics, the rule's exact meaning (the formula is then
    /// its trigger).
    pub predicate: Option<Predicate>,
    /// How many rules the same file produced.
    pub file_rules: usize,
}

impl LoadedRule {
    /// A short name for output: the rule file's stem, plus `#N` for the
    /// N-th rule of a file that holds several. SigmaHQ file names are
    /// descriptive and unique, and never contain `,` or `:`.
    pub fn label(&self) -> String {
        let stem = std::path::Path::new(&self.source)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.source.clone());
        if self.file_rules > 1 {
            format!("{stem}#{}", self.rule.document)
        } else {
            stem
        }
    }
}

/// Chooses rules by metadata (`--level`, `--status`, `--tag`, `--id`,
/// `--logsource`). Each non-empty list must have a match; values compare
/// case-insensitively; an empty selector keeps every rule.
#[derive(Clone, Debug, Default)]
pub struct RuleSelector {
    /// Accepted levels.
    pub levels: Vec<String>,
    /// Accepted statuses.
    pub statuses: Vec<String>,
    /// The rule must carry one of these tags.
    pub tags: Vec<String>,
    /// Accepted ids.
    pub ids: Vec<String>,
    /// Every `key=value` pair must be in the rule's logsource.
    pub logsource: Vec<(String, String)>,
}

impl RuleSelector {
    /// True when the rule passes every criterion.
    pub fn keeps(&self, rule: &Rule) -> bool {
        let one_of = |wanted: &[String], value: Option<&str>| {
            wanted.is_empty()
                || value.is_some_and(|v| wanted.iter().any(|w| w.eq_ignore_ascii_case(v)))
        };
        one_of(&self.levels, rule.level.as_deref())
            && one_of(&self.statuses, rule.status.as_deref())
            && one_of(&self.ids, rule.id.as_deref())
            && (self.tags.is_empty()
                || rule.tags.iter().any(|t| self.tags.iter().any(|w| w.eq_ignore_ascii_case(t))))
            && self.logsource.iter().all(|(k, v)| {
                rule.logsource
                    .iter()
                    .any(|(rk, rv)| rk.eq_ignore_ascii_case(k) && rv.eq_ignore_ascii_case(v))
            })
    }
}

/// The rule model of a legacy query: metadata only (its meaning is the
/// formula).
fn legacy_rule(query: &crate::legacy::Query) -> Rule {
    let meta = &query.meta;
    Rule {
        document: query.document,
        title: meta.title.clone(),
        id: meta.id.clone(),
        level: meta.level.clone(),
        status: meta.status.clone(),
        tags: meta.tags.clone(),
        logsource: meta.logsource.clone(),
        detection: rule::Detection {
            definitions: Vec::new(),
            conditions: Vec::new(),
            pos: crate::error::Pos::default(),
            timeframe: None,
        },
    }
}

/// A rule as lowered: the rule, its formula, its warnings and (Sigma
/// semantics) its predicate.
type LoweredRule = (Rule, Formula, Vec<String>, Option<Predicate>);

/// Rules loaded so far, sharing one atom table.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    options: Options,
    table: AtomTable,
    rules: Vec<LoadedRule>,
    /// Some rules were loaded with the legacy semantics: their meaning is
    /// sigmac's regex, not the rule, so they cannot be lowered again.
    legacy: bool,
}

impl RuleSet {
    /// An empty set whose rules are lowered with `options`.
    pub fn new(options: Options) -> RuleSet {
        RuleSet { options, table: AtomTable::new(), rules: Vec::new(), legacy: false }
    }

    /// The options the set's rules are lowered with.
    pub fn options(&self) -> Options {
        self.options
    }

    /// The same rules, in the same order, lowered again with `options`
    /// (e.g. [`Options::json_escaped`]): rule `i` of both sets is the same
    /// rule, so one [`RuleInfo`](crate::printer::RuleInfo) list serves both
    /// programs.
    ///
    /// # Errors
    /// The set holds legacy rules (their meaning is sigmac's regex), or a
    /// rule fails to lower under the new options.
    pub fn relowered(&self, options: Options) -> Result<RuleSet, RuleError> {
        if let (true, Some(first)) = (self.legacy, self.rules.first()) {
            return Err(RuleError::new(
                &first.source,
                None,
                "rules loaded with --legacy cannot be lowered with other options",
            ));
        }
        let mut set = RuleSet::new(options);
        for r in &self.rules {
            let lowered =
                lower::lower(&r.rule, options, &mut set.table).map_err(|e| e.in_file(&r.source))?;
            set.rules.push(LoadedRule {
                source: r.source.clone(),
                rule: r.rule.clone(),
                formula: lowered.formula,
                warnings: lowered.warnings,
                predicate: lowered.predicate,
                file_rules: r.file_rules,
            });
        }
        Ok(set)
    }

    /// Loads every rule of one file's text. On error nothing of the file
    /// is added (a file is all or nothing, like sigmac).
    ///
    /// # Errors
    /// The first problem found, with its position in `source`.
    pub fn add(&mut self, source: &str, text: &str) -> Result<usize, RuleError> {
        self.add_selected(source, text, &RuleSelector::default())
    }

    /// Like [`RuleSet::add`], keeping only the rules `selector` keeps
    /// (the others are not lowered at all, so their atoms cost nothing).
    ///
    /// # Errors
    /// As [`RuleSet::add`].
    pub fn add_selected(
        &mut self,
        source: &str,
        text: &str,
        selector: &RuleSelector,
    ) -> Result<usize, RuleError> {
        let mut rules = rule::parse_rules(text).map_err(|e| e.in_file(source))?;
        rules.retain(|r| selector.keeps(r));
        let checkpoint = self.table.len();
        let mut loaded = Vec::with_capacity(rules.len());
        for rule in rules {
            let lowered = match lower::lower(&rule, self.options, &mut self.table) {
                Ok(lowered) => lowered,
                Err(e) => {
                    self.table.truncate(checkpoint);
                    return Err(e.in_file(source));
                }
            };
            loaded.push((rule, lowered.formula, lowered.warnings, lowered.predicate));
        }
        Ok(self.push_file(source, loaded))
    }

    /// Loads every rule of one file's text with the legacy semantics
    /// (`--legacy`): sigmac's regex for each rule document
    /// ([`crate::legacy::convert`]), lowered by [`lower::legacy`]. All or
    /// nothing per file, as sigmac.
    ///
    /// # Errors
    /// sigmac's conversion error (at its position: `sigmac fails ...`),
    /// PCRE2's compile error of the regex (no position: what grep
    /// printed), or a construct legacy mode refuses.
    pub fn add_legacy_selected(
        &mut self,
        source: &str,
        text: &str,
        selector: &RuleSelector,
    ) -> Result<usize, RuleError> {
        use crate::lower::legacy::pcre::PatternError;
        let queries = crate::legacy::convert(text).map_err(|e| e.into_error().in_file(source))?;
        if queries.is_empty() {
            return Err(RuleError::new(
                source,
                None,
                "sigmac prints no query for this rule (a condition that is neither a string \
                 nor a list); grep would have no pattern",
            ));
        }
        self.legacy = true;
        let checkpoint = self.table.len();
        let mut loaded = Vec::with_capacity(queries.len());
        for query in queries {
            let rule = legacy_rule(&query);
            if !selector.keeps(&rule) {
                continue;
            }
            let formula =
                lower::legacy::lower_regex(&query.regex, self.options.ignore_case, &mut self.table)
                    .map_err(|e| {
                        self.table.truncate(checkpoint);
                        let message = match e {
                            PatternError::Pcre(m) => m,
                            PatternError::Unsupported(m) => {
                                format!("--legacy cannot reproduce this rule: {m}")
                            }
                        };
                        RuleError::new(source, None, message)
                    })?;
            loaded.push((rule, formula, Vec::new(), None));
        }
        Ok(self.push_file(source, loaded))
    }

    /// Adds the rules of one file (rule, formula, warnings), each knowing
    /// how many the file holds; their number.
    fn push_file(&mut self, source: &str, rules: Vec<LoweredRule>) -> usize {
        let file_rules = rules.len();
        self.rules.extend(rules.into_iter().map(|(rule, formula, warnings, predicate)| {
            LoadedRule {
                source: source.to_string(),
                rule,
                formula,
                warnings,
                predicate,
                file_rules,
            }
        }));
        file_rules
    }

    /// True when rules were loaded with the legacy semantics
    /// ([`RuleSet::add_legacy_selected`]).
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The rules loaded so far.
    pub fn rules(&self) -> &[LoadedRule] {
        &self.rules
    }

    /// The shared atom table.
    pub fn atoms(&self) -> &AtomTable {
        &self.table
    }

    /// Compiles the set into one program (rule `i` of the program is
    /// `rules()[i]`).
    ///
    /// # Errors
    /// See [`Program::new`].
    pub fn compile(&self, config: &Config) -> Result<Program, CompileError> {
        let formulas: Vec<Formula> = self.rules.iter().map(|r| r.formula.clone()).collect();
        let predicates: Option<Vec<Predicate>> =
            self.rules.iter().map(|r| r.predicate.clone()).collect();
        match predicates {
            Some(predicates) if !predicates.is_empty() => {
                Program::with_predicates(self.table.atoms(), &formulas, &predicates, config)
            }
            _ => Program::new(self.table.atoms(), &formulas, config),
        }
    }
}
