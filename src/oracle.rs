//! The obviously-correct evaluator: the reference the compiled program is
//! tested against. Nothing in the library uses it; it is the slow twin of
//! the program for tests, fuzz targets and benchmarks.
//!
//! For each line it tests every atom on its own with a `regex` crate
//! matcher and evaluates each rule's formula. No prefilter, no shared
//! automaton, no early exit: nothing clever to get wrong. Each atom's
//! regex is compiled the first time a line is tested against it, so that
//! a twin of thousands of rules starts at once; a regex that does not
//! compile is reported by [`Oracle::new`], which compiles every one that
//! can fail (regex atoms, and values long enough to approach the size
//! bound) up front.

use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::lower::atom::{build_regex, REGEX_SIZE_LIMIT};
use crate::lower::{Atom, AtomId, AtomKind, Formula};

/// Per-atom regexes and the rules' formulas.
#[derive(Debug)]
pub struct Oracle {
    patterns: Vec<String>,
    regexes: Vec<OnceLock<Regex>>,
    rules: Vec<Formula>,
}

impl Oracle {
    /// The twin of a program compiled from `atoms` and `rules`.
    ///
    /// # Errors
    /// A regex atom that the `regex` crate rejects (e.g. too large); the
    /// message names it.
    pub fn new(atoms: &[Atom], rules: &[Formula]) -> Result<Oracle, String> {
        let patterns: Vec<String> = atoms.iter().map(Atom::to_regex).collect();
        let mut regexes = Vec::with_capacity(atoms.len());
        for (atom, re) in atoms.iter().zip(&patterns) {
            let cell = OnceLock::new();
            if matches!(atom.kind, AtomKind::Regex(_)) || re.len() > 4096 {
                let compiled = build_regex(re, REGEX_SIZE_LIMIT)
                    .map_err(|e| format!("cannot compile atom '{re}': {e}"))?;
                let _ = cell.set(compiled);
            }
            regexes.push(cell);
        }
        Ok(Oracle { patterns, regexes, rules: rules.to_vec() })
    }

    /// Which atoms match somewhere in `line`.
    pub fn atoms_matching(&self, line: &[u8]) -> Vec<bool> {
        let regex = |i: usize| {
            self.regexes[i].get_or_init(|| {
                build_regex(&self.patterns[i], REGEX_SIZE_LIMIT)
                    .unwrap_or_else(|e| panic!("atom '{}' does not compile: {e}", self.patterns[i]))
            })
        };
        (0..self.patterns.len()).map(|i| regex(i).is_match(line)).collect()
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
