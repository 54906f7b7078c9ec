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

use crate::lower::atom::ASCII_PARTNERS;
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
    /// Case-sensitive literals that share a rare prefix (`5859`, `5861`):
    /// memmem for the prefix, then a look at what follows it. memmem runs
    /// near memchr speed; Teddy over the whole set is about 1.5x slower.
    Prefixed { prefix: memmem::Finder<'static>, tails: Vec<Vec<u8>> },
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
        literals.extend(partners_of(&literals));
        literals.sort();
        literals.dedup();
        let imp = match literals.as_slice() {
            [] => Imp::Never,
            [one] if !one.ascii_fold => Imp::One(memmem::Finder::new(&one.bytes).into_owned()),
            lits if shared_rare_prefix(lits) > 0 => {
                let n = shared_rare_prefix(lits);
                Imp::Prefixed {
                    prefix: memmem::Finder::new(&lits[0].bytes[..n]).into_owned(),
                    tails: lits.iter().map(|l| l.bytes[n..].to_vec()).collect(),
                }
            }
            lits if lits.len() <= PACKED_MAX && lits.iter().all(|l| !l.ascii_fold) => {
                let exact: Vec<Vec<u8>> = lits.iter().map(|l| l.bytes.clone()).collect();
                match packed(&exact) {
                    Some(searcher) => Imp::Packed(searcher),
                    None => Imp::Many(
                        AhoCorasickBuilder::new()
                            .match_kind(MatchKind::LeftmostFirst)
                            .build(lits.iter().map(|l| &l.bytes))
                            .ok()?,
                    ),
                }
            }
            lits => match fragments(lits).and_then(|f| packed(&f)) {
                Some(searcher) => Imp::Packed(searcher),
                None => {
                    let fold = lits.iter().any(|l| l.ascii_fold);
                    let ac = AhoCorasickBuilder::new()
                        .ascii_case_insensitive(fold)
                        .match_kind(MatchKind::LeftmostFirst)
                        .build(lits.iter().map(|l| &l.bytes))
                        .ok()?;
                    Imp::Many(ac)
                }
            },
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
            Imp::Prefixed { prefix, tails } => {
                let n = prefix.needle().len();
                let mut at = 0;
                loop {
                    let i = at + prefix.find(&rest[at..])?;
                    let after = &rest[i + n..];
                    if tails.iter().any(|t| after.starts_with(t)) {
                        break Some(i);
                    }
                    at = i + 1;
                }
            }
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

/// The [`ASCII_PARTNERS`] that the folded literals' `k`s and `s`s also
/// stand for (see [`Literal::ascii_fold`]), as literals of their own: a
/// line holding one may match. (The matcher reads them as their letters.)
fn partners_of(literals: &[Literal]) -> Vec<Literal> {
    ASCII_PARTNERS
        .iter()
        .filter(|&&(_, letter)| {
            literals
                .iter()
                .any(|l| l.ascii_fold && l.bytes.iter().any(|b| b.to_ascii_lowercase() == letter))
        })
        .map(|&(partner, _)| Literal { bytes: partner.to_string().into_bytes(), ascii_fold: false })
        .collect()
}

/// The length of the prefix all literals share, when they are all
/// case-sensitive and that prefix is rare enough for memmem to stop at
/// seldom (about one position in 500 by [`rarity`], and no space, which
/// follows most words); else 0.
fn shared_rare_prefix(lits: &[Literal]) -> usize {
    if lits.len() < 2 || lits.iter().any(|l| l.ascii_fold) {
        return 0;
    }
    let first = &lits[0].bytes;
    let n = lits
        .iter()
        .map(|l| l.bytes.iter().zip(first).take_while(|(a, b)| a == b).count())
        .min()
        .unwrap_or(0);
    let prefix = Literal { bytes: first[..n].to_vec(), ascii_fold: false };
    if n >= 2 && !prefix.bytes.contains(&b' ') && rarity(&prefix) <= 1.0 / 500.0 {
        n
    } else {
        0
    }
}

/// Most patterns the packed (Teddy) searcher is given.
const PACKED_MAX: usize = 64;

fn packed(patterns: &[Vec<u8>]) -> Option<packed::Searcher> {
    packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(patterns)
        .build()
}

/// Exact patterns for the packed searcher that stand in for a set of
/// (mostly case-folded) literals: from each literal one window of up to 3
/// bytes, spelled in every ASCII case when the literal folds. Every
/// occurrence of a literal contains an occurrence of one of them, so they
/// cover whatever the literals cover (with more false positives, which the
/// program's line check removes), and Teddy searches them with SIMD where
/// a case-insensitive automaton would walk every byte. Windows are chosen
/// to share spellings between literals and to avoid letters (each doubles
/// the spellings) and common bytes. `None` past [`PACKED_MAX`] spellings.
fn fragments(lits: &[Literal]) -> Option<Vec<Vec<u8>>> {
    // Chosen windows: lower-cased when spelled in every case, exact
    // otherwise.
    let mut chosen: Vec<(Vec<u8>, bool)> = Vec::new();
    let spellings = |w: &[u8], fold: bool| {
        if fold {
            1usize << w.iter().filter(|b| b.is_ascii_alphabetic()).count()
        } else {
            1
        }
    };
    let has = |chosen: &[(Vec<u8>, bool)], w: &[u8], fold: bool| {
        let lower = w.to_ascii_lowercase();
        chosen.iter().any(|(c, f)| (*f && *c == lower) || (!fold && !*f && c.as_slice() == w))
    };
    for lit in lits {
        let k = lit.bytes.len().min(3);
        let (_, w) = lit
            .bytes
            .windows(k)
            .map(|w| {
                let new =
                    if has(&chosen, w, lit.ascii_fold) { 0 } else { spellings(w, lit.ascii_fold) };
                let common = w.iter().filter(|b| b.is_ascii_alphanumeric() || **b == b' ').count();
                ((new, common), w)
            })
            .min_by_key(|(cost, _)| *cost)?;
        if !has(&chosen, w, lit.ascii_fold) {
            let key = if lit.ascii_fold { w.to_ascii_lowercase() } else { w.to_vec() };
            chosen.push((key, lit.ascii_fold));
        }
        if chosen.iter().map(|(w, f)| spellings(w, *f)).sum::<usize>() > PACKED_MAX {
            return None;
        }
    }
    let mut out = Vec::new();
    for (w, fold) in chosen {
        let mut variants: Vec<Vec<u8>> = vec![Vec::new()];
        for &b in &w {
            let choices: Vec<u8> = if fold && b.is_ascii_alphabetic() {
                vec![b.to_ascii_lowercase(), b.to_ascii_uppercase()]
            } else {
                vec![b]
            };
            variants = variants
                .iter()
                .flat_map(|v| choices.iter().map(move |&c| [v.as_slice(), &[c]].concat()))
                .collect();
        }
        out.extend(variants);
    }
    Some(out)
}

/// Rough chance that a literal starts at a random position of a log line:
/// letters, digits and spaces are common, other bytes rarer.
pub(crate) fn rarity(lit: &Literal) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str, fold: bool) -> Literal {
        Literal { bytes: s.as_bytes().to_vec(), ascii_fold: fold }
    }

    #[test]
    fn fragments_cover_every_spelling_of_every_literal() {
        let lits = vec![
            lit("wget http", true),
            lit("chmod +x /tmp/", true),
            lit(" /tmp/ns_sploit", true),
            lit("5861", false),
            lit("Ab", true),
            lit("Q", false),
        ];
        let frags = fragments(&lits).unwrap();
        assert!(frags.len() <= PACKED_MAX);
        let pf = Prefilter::new(lits.clone()).unwrap();
        for l in &lits {
            for text in
                [l.bytes.clone(), l.bytes.to_ascii_uppercase(), l.bytes.to_ascii_lowercase()]
            {
                if !l.ascii_fold && text != l.bytes {
                    continue;
                }
                let hay = [b"xx ".as_slice(), &text, b" yy"].concat();
                assert!(
                    frags.iter().any(|f| hay.windows(f.len()).any(|w| w == f.as_slice())),
                    "{:?}",
                    l
                );
                assert!(
                    pf.find(&hay, 0).is_some(),
                    "{:?} in {:?}",
                    l,
                    String::from_utf8_lossy(&hay)
                );
            }
        }
    }

    #[test]
    fn shared_prefix_literals_are_found_where_any_occurs() {
        let lits = vec![lit("5859", false), lit("5861", false), lit("58", false)];
        let pf = Prefilter::new(lits.clone()).unwrap();
        assert!(matches!(pf.imp, Imp::Prefixed { .. }));
        let hay = b"x58 5860 5 5861 5859";
        // "58" itself is a literal: its first occurrence is at 1.
        assert_eq!(pf.find(hay, 0), Some(1));
        let pf = Prefilter::new(lits[..2].to_vec()).unwrap();
        assert_eq!(pf.find(hay, 0), Some(11));
        assert_eq!(pf.find(hay, 12), Some(16));
        assert_eq!(pf.find(hay, 17), None);
        assert_eq!(pf.find(b"585", 0), None, "a prefix at the very end");
        // Common prefixes and folded literals keep the other searchers.
        assert!(!matches!(
            Prefilter::new(vec![lit("5859", true), lit("5861", true)]).unwrap().imp,
            Imp::Prefixed { .. }
        ));
        assert!(!matches!(
            Prefilter::new(vec![lit("e x", false), lit("e y", false)]).unwrap().imp,
            Imp::Prefixed { .. }
        ));
    }

    #[test]
    fn too_many_spellings_fall_back() {
        // Letters only: each literal's one window needs 8 spellings.
        let lits: Vec<Literal> = ["abc", "def", "ghi", "jkl", "mno", "pqr", "stu", "vwx", "yza"]
            .iter()
            .map(|s| lit(s, true))
            .collect();
        assert!(fragments(&lits).is_none());
        assert!(Prefilter::new(lits).is_some(), "Aho-Corasick takes over");
    }
}
