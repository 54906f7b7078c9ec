//! The obviously-correct evaluator: the reference the compiled program is
//! tested against, and the exact slow path it falls back to.
//!
//! For each line it tests every atom on its own with a `regex` crate
//! matcher and evaluates each rule's formula. No prefilter, no shared
//! automaton, no early exit: nothing clever to get wrong.
//!
//! Regexes of value atoms are compiled on first use: with thousands of
//! rules most are never needed (the automaton decides their lines), and
//! compiling them all would dominate start-up. Regex atoms (`|re`, `cidr`)
//! and unusually long values are compiled up front, so that every compile
//! error surfaces in [`Oracle::new`].

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};

use crate::lower::{Atom, AtomId, AtomKind, Formula};

/// Per-atom regexes and the rules' formulas.
#[derive(Debug)]
pub struct Oracle {
    patterns: Vec<String>,
    regexes: Vec<OnceLock<Regex>>,
    rules: Vec<Formula>,
}

/// Compiled regexes may use this much memory each. (Lowering holds `|re`
/// values to a smaller bound, so that a regex too large fails fast and
/// with its position in the rule.)
pub(crate) const REGEX_SIZE_LIMIT: usize = 256 << 20;

/// Value atoms whose regex is longer than this are compiled up front.
const EAGER_LEN: usize = 4096;

/// Compiles a regex as the oracle does, within `size_limit` bytes (at
/// most [`REGEX_SIZE_LIMIT`]): compiling stops there, so time and memory
/// stay bounded whatever the pattern.
pub(crate) fn compile_regex(re: &str, size_limit: usize) -> Result<Regex, regex::Error> {
    RegexBuilder::new(re).size_limit(size_limit.min(REGEX_SIZE_LIMIT)).build()
}

fn compile(re: &str) -> Result<Regex, String> {
    compile_regex(re, REGEX_SIZE_LIMIT).map_err(|e| format!("cannot compile atom '{re}': {e}"))
}

impl Oracle {
    /// Compiles every atom on its own.
    ///
    /// # Errors
    /// An atom whose regex the `regex` crate rejects (e.g. too large); the
    /// message names the atom's regex.
    pub fn new(atoms: &[Atom], rules: &[Formula]) -> Result<Oracle, String> {
        let mut patterns = Vec::with_capacity(atoms.len());
        let mut regexes = Vec::with_capacity(atoms.len());
        for atom in atoms {
            let re = atom.to_regex();
            let cell = OnceLock::new();
            if matches!(atom.kind, AtomKind::Regex(_)) || re.len() > EAGER_LEN {
                let _ = cell.set(compile(&re)?);
            }
            patterns.push(re);
            regexes.push(cell);
        }
        Ok(Oracle { patterns, regexes, rules: rules.to_vec() })
    }

    /// Atom `i`'s regex, compiled on first use.
    pub(crate) fn regex(&self, i: usize) -> &Regex {
        self.regexes[i].get_or_init(|| {
            // Value atoms are escaped literals and fixed pieces, short
            // enough (see EAGER_LEN) to stay far below the size limit.
            compile(&self.patterns[i]).unwrap_or_else(|e| unreachable!("{e}"))
        })
    }

    /// Which atoms match somewhere in `line`.
    pub fn atoms_matching(&self, line: &[u8]) -> Vec<bool> {
        (0..self.regexes.len()).map(|i| self.regex(i).is_match(line)).collect()
    }

    /// For each rule, whether it selects `line` (a line without its `\n`).
    pub fn rules_matching(&self, line: &[u8]) -> Vec<bool> {
        let matched = self.atoms_matching(line);
        let is = |a: AtomId| matched[a.index()];
        self.rules.iter().map(|f| f.eval(&is)).collect()
    }

    /// True when any rule selects `line`.
    pub fn is_match(&self, line: &[u8]) -> bool {
        self.rules_matching(line).into_iter().any(|b| b)
    }

    /// The 0-based numbers of the lines of `haystack` that any rule selects.
    /// Lines end at `\n`; a last line without one counts; an empty haystack
    /// has no lines.
    pub fn matching_lines(&self, haystack: &[u8]) -> Vec<usize> {
        lines(haystack)
            .enumerate()
            .filter(|(_, line)| self.is_match(line))
            .map(|(i, _)| i)
            .collect()
    }
}

/// The lines of a haystack without their `\n`.
pub fn lines(haystack: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = haystack.strip_suffix(b"\n").unwrap_or(haystack);
    let empty = haystack.is_empty();
    body.split(|&b| b == b'\n').filter(move |_| !empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_splitting() {
        let count = |h: &[u8]| lines(h).count();
        assert_eq!(count(b""), 0);
        assert_eq!(count(b"\n"), 1);
        assert_eq!(count(b"a"), 1);
        assert_eq!(count(b"a\nb"), 2);
        assert_eq!(count(b"a\nb\n"), 2);
        assert_eq!(count(b"a\n\n"), 2);
    }
}
