//! A set of loaded rules ready to compile: the glue of the pipeline from
//! rule text to [`Program`].

use crate::compile::{CompileError, Config, Program};
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
}

/// Rules loaded so far, sharing one atom table.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    options: Options,
    table: AtomTable,
    rules: Vec<LoadedRule>,
}

impl RuleSet {
    /// An empty set whose rules are lowered with `options`.
    pub fn new(options: Options) -> RuleSet {
        RuleSet { options, table: AtomTable::new(), rules: Vec::new() }
    }

    /// Loads every rule of one file's text. On error nothing of the file
    /// is added (a file is all or nothing, like sigmac).
    ///
    /// # Errors
    /// The first problem found, rendered `SOURCE:LINE:COL: message`.
    pub fn add(&mut self, source: &str, text: &str) -> Result<usize, String> {
        let rules = rule::parse_rules(text).map_err(|e| e.with_source(source))?;
        let checkpoint = self.table.len();
        let mut loaded = Vec::with_capacity(rules.len());
        for rule in rules {
            let lowered = match lower::lower(&rule, self.options, &mut self.table) {
                Ok(lowered) => lowered,
                Err(e) => {
                    self.table.truncate(checkpoint);
                    return Err(e.with_source(source));
                }
            };
            loaded.push(LoadedRule {
                source: source.to_string(),
                rule,
                formula: lowered.formula,
                warnings: lowered.warnings,
            });
        }
        let n = loaded.len();
        self.rules.extend(loaded);
        Ok(n)
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
        Program::new(self.table.atoms(), &formulas, config)
    }
}
