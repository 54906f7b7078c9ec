//! The exact path's per-atom regexes: each atom's rendered regex
//! ([`Atom::to_regex`]), run on its own over a line.
//!
//! The program uses them for what its automaton does not decide: complex
//! atoms (regexes, values with character classes), on-demand atoms, lines
//! holding a character the automaton cannot fold, and every line when the
//! automaton is over its budget. The oracle
//! ([`crate::oracle`]) compiles the same rendered regexes independently;
//! tests compare the two.
//!
//! Regexes of value atoms are compiled on first use: with thousands of
//! rules most are never needed (the automaton decides their lines), and
//! compiling them all would dominate start-up. Regex atoms (`|re`, `cidr`)
//! and unusually long values are compiled up front, so that every compile
//! error surfaces in [`AtomRegexes::new`].

use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::lower::atom::{build_regex, REGEX_SIZE_LIMIT};
use crate::lower::{Atom, AtomKind};

/// Value atoms whose regex is longer than this are compiled up front.
const EAGER_LEN: usize = 4096;

/// Every atom's regex, compiled on first use.
#[derive(Debug)]
pub(crate) struct AtomRegexes {
    patterns: Vec<String>,
    compiled: Vec<OnceLock<Regex>>,
}

fn compile(re: &str) -> Result<Regex, String> {
    build_regex(re, REGEX_SIZE_LIMIT).map_err(|e| format!("cannot compile atom '{re}': {e}"))
}

impl AtomRegexes {
    /// The regexes of `atoms`, those that can fail compiled now.
    ///
    /// # Errors
    /// An atom whose regex the `regex` crate rejects (e.g. too large); the
    /// message names the regex.
    pub(crate) fn new(atoms: &[Atom]) -> Result<AtomRegexes, String> {
        let mut patterns = Vec::with_capacity(atoms.len());
        let mut compiled = Vec::with_capacity(atoms.len());
        for atom in atoms {
            let re = atom.to_regex();
            let cell = OnceLock::new();
            if matches!(atom.kind, AtomKind::Regex(_)) || re.len() > EAGER_LEN {
                let _ = cell.set(compile(&re)?);
            }
            patterns.push(re);
            compiled.push(cell);
        }
        Ok(AtomRegexes { patterns, compiled })
    }

    /// Atom `i`'s regex.
    pub(crate) fn regex(&self, i: usize) -> &Regex {
        self.compiled[i].get_or_init(|| {
            // Value atoms are escaped literals and fixed pieces, short
            // enough (see EAGER_LEN) to stay far below the size limit.
            compile(&self.patterns[i]).unwrap_or_else(|e| unreachable!("{e}"))
        })
    }

    /// Whether atom `i` matches somewhere in `line`.
    pub(crate) fn is_match(&self, i: usize, line: &[u8]) -> bool {
        self.regex(i).is_match(line)
    }

    /// How many atoms there are.
    pub(crate) fn len(&self) -> usize {
        self.compiled.len()
    }
}
