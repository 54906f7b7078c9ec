//! The literal prefilter: finds lines that may match.
//!
//! Contract: every line any rule selects contains at least one of the
//! prefilter's literals (false positives allowed, false negatives never).
//! It is built from a *cover* of each formula: a set of literals one of
//! which every satisfying line must contain. A formula that can be true on
//! a line without any particular text (e.g. `not filter`) has no cover, and
//! then the program has no prefilter and every line is examined.

use aho_corasick::{packed, AhoCorasick, AhoCorasickBuilder, MatchKind};
use memchr::memmem;

use crate::lower::{Atom, Formula, Literal};

/// A literal searcher over a haystack.
#[derive(Clone, Debug)]
pub struct Prefilter {
    imp: Imp,
    literals: Vec<Literal>,
}

#[derive(Clone, Debug)]
enum Imp {
    /// One literal, case-sensitive: memchr's memmem.
    One(memmem::Finder<'static>),
    /// A few case-sensitive literals: the packed (Teddy) SIMD searcher.
    Packed(packed::Searcher),
    /// Anything else: Aho-Corasick (ASCII case-insensitive if any literal
    /// needs it; that only adds false positives for the others).
    Many(AhoCorasick),
    /// No literal at all: no line can match.
    Never,
}

impl Prefilter {
    /// A prefilter for the literals, or `None` if it cannot be built.
    pub fn new(mut literals: Vec<Literal>) -> Option<Prefilter> {
        literals.sort();
        literals.dedup();
        let imp = match literals.as_slice() {
            [] => Imp::Never,
            [one] if !one.ascii_fold => Imp::One(memmem::Finder::new(&one.bytes).into_owned()),
            lits if lits.len() <= 64 && lits.iter().all(|l| !l.ascii_fold) => {
                match packed::Config::new()
                    .match_kind(packed::MatchKind::LeftmostFirst)
                    .builder()
                    .extend(lits.iter().map(|l| &l.bytes))
                    .build()
                {
                    Some(searcher) => Imp::Packed(searcher),
                    None => Imp::Many(
                        AhoCorasickBuilder::new()
                            .match_kind(MatchKind::LeftmostFirst)
                            .build(lits.iter().map(|l| &l.bytes))
                            .ok()?,
                    ),
                }
            }
            lits => {
                let fold = lits.iter().any(|l| l.ascii_fold);
                let ac = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(fold)
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(lits.iter().map(|l| &l.bytes))
                    .ok()?;
                Imp::Many(ac)
            }
        };
        Some(Prefilter { imp, literals })
    }

    /// The start of the first occurrence of any literal in
    /// `haystack[from..]`, as an offset into `haystack`.
    #[inline]
    pub fn find(&self, haystack: &[u8], from: usize) -> Option<usize> {
        let rest = &haystack[from..];
        let at = match &self.imp {
            Imp::One(finder) => finder.find(rest),
            Imp::Packed(searcher) => searcher.find(rest).map(|m| m.start()),
            Imp::Many(ac) => ac.find(rest).map(|m| m.start()),
            Imp::Never => None,
        }?;
        Some(from + at)
    }

    /// The literals searched for.
    pub fn literals(&self) -> &[Literal] {
        &self.literals
    }
}

/// Rough chance that a literal starts at a random position of a log line:
/// letters, digits and spaces are common, other bytes rarer.
fn rarity(lit: &Literal) -> f64 {
    lit.bytes
        .iter()
        .take(8)
        .map(|&b| match b {
            b'a'..=b'z' | b'A'..=b'Z' if lit.ascii_fold => 1.0 / 13.0,
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b' ' => 1.0 / 26.0,
            _ => 1.0 / 64.0,
        })
        .product()
}

/// Estimated nanoseconds per haystack byte of searching for a cover: the
/// scan itself (SIMD searchers for one or a few exact literals, a slower
/// automaton for case-folded or many literals) plus the verification of
/// candidate lines (a few hundred bytes each). Lower is better; used only
/// to choose between covers.
fn cost(lits: &[Literal]) -> f64 {
    const VERIFY_NS: f64 = 300.0;
    let scan = if lits.iter().any(|l| l.ascii_fold) || lits.len() > 16 {
        1.0
    } else if lits.len() == 1 {
        0.05
    } else {
        0.1
    };
    scan + lits.iter().map(rarity).sum::<f64>() * VERIFY_NS
}

/// A cover of the formula: literals one of which every line that
/// satisfies it contains; `None` when there is none.
pub fn cover(formula: &Formula, atoms: &[Atom]) -> Option<Vec<Literal>> {
    match formula {
        Formula::Const(false) => Some(Vec::new()),
        Formula::Const(true) | Formula::Not(_) => None,
        Formula::Atom(a) => atoms[a.index()].cover(),
        Formula::And(xs) => {
            xs.iter().filter_map(|x| cover(x, atoms)).min_by(|a, b| cost(a).total_cmp(&cost(b)))
        }
        Formula::Or(xs) => {
            let mut all = Vec::new();
            for x in xs {
                all.extend(cover(x, atoms)?);
            }
            Some(all)
        }
    }
}
