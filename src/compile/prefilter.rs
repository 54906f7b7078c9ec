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
    /// Case-folded literals: Teddy over one short window of each literal
    /// (see [`fragments`]), each hit verified by reading the rest of a
    /// literal around it, so that a common window costs a few compares
    /// rather than the line's scan.
    Fragments { searcher: packed::Searcher, fragments: Fragments, literals: Vec<Literal> },
    /// Anything else: Aho-Corasick (ASCII case-insensitive if any literal
    /// needs it; that only adds false positives for the others).
    Many(AhoCorasick),
    /// No literal at all: no line can match.
    Never,
}

impl Prefilter {
    /// A prefilter for the literals, or `None` if it cannot be built.
    pub fn new(literals: Vec<Literal>) -> Option<Prefilter> {
        Prefilter::build(literals, true)
    }

    /// A prefilter for the literals if it is fast (anything but an
    /// Aho-Corasick automaton over many literals, which costs about what a
    /// line's scan costs), else `None`, without building the slow one.
    pub fn fast(literals: Vec<Literal>) -> Option<Prefilter> {
        Prefilter::build(literals, false)
    }

    fn build(mut literals: Vec<Literal>, allow_slow: bool) -> Option<Prefilter> {
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
                    None if !allow_slow => return None,
                    None => Imp::Many(
                        AhoCorasickBuilder::new()
                            .match_kind(MatchKind::LeftmostFirst)
                            .build(lits.iter().map(|l| &l.bytes))
                            .ok()?,
                    ),
                }
            }
            lits => {
                let fragments = fragments(lits);
                let searcher = fragments.as_ref().and_then(|f| packed(&f.spelled));
                match (searcher, fragments) {
                    (Some(searcher), Some(fragments)) => {
                        Imp::Fragments { searcher, fragments, literals: lits.to_vec() }
                    }
                    _ if !allow_slow => return None,
                    _ => {
                        let fold = lits.iter().any(|l| l.ascii_fold);
                        let partners = partners_of(lits);
                        let ac = AhoCorasickBuilder::new()
                            .ascii_case_insensitive(fold)
                            .match_kind(MatchKind::LeftmostFirst)
                            .build(lits.iter().map(|l| &l.bytes).chain(&partners))
                            .ok()?;
                        Imp::Many(ac)
                    }
                }
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
            Imp::Fragments { searcher, fragments, literals } => {
                let mut at = 0;
                loop {
                    let m = searcher.find(&rest[at..])?;
                    let s = at + m.start();
                    if fragments.verify(m.pattern().as_usize(), literals, rest, s) {
                        break Some(s);
                    }
                    at = s + 1;
                }
            }
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
/// stand for (see [`Literal::ascii_fold`]), as patterns of their own for
/// an ASCII-insensitive automaton: a line holding one may match.
fn partners_of(literals: &[Literal]) -> Vec<Vec<u8>> {
    ASCII_PARTNERS
        .iter()
        .filter(|&&(_, letter)| {
            literals
                .iter()
                .any(|l| l.ascii_fold && l.bytes.iter().any(|b| b.to_ascii_lowercase() == letter))
        })
        .map(|&(partner, _)| partner.to_string().into_bytes())
        .collect()
}

/// How a byte of a case-folded literal may be written: an ASCII letter in
/// either case, `k` and `s` also as their [`ASCII_PARTNERS`].
fn folded_spellings(b: u8) -> Vec<Vec<u8>> {
    if !b.is_ascii_alphabetic() {
        return vec![vec![b]];
    }
    let mut out = vec![vec![b.to_ascii_lowercase()], vec![b.to_ascii_uppercase()]];
    for &(partner, letter) in &ASCII_PARTNERS {
        if b.to_ascii_lowercase() == letter {
            out.push(partner.to_string().into_bytes());
        }
    }
    out
}

/// The length of the spelling of literal byte `want` that `hay` starts
/// with (`fold`: any of [`folded_spellings`]), if any.
fn spelled_at(hay: &[u8], want: u8, fold: bool) -> Option<usize> {
    match hay.first() {
        Some(&b) if b == want || (fold && b.eq_ignore_ascii_case(&want)) => Some(1),
        _ if fold => ASCII_PARTNERS.iter().find_map(|&(partner, letter)| {
            let mut buf = [0; 4];
            let partner = partner.encode_utf8(&mut buf).as_bytes();
            (want.to_ascii_lowercase() == letter && hay.starts_with(partner))
                .then_some(partner.len())
        }),
        _ => None,
    }
}

/// The length of the spelling of literal byte `want` that `hay` ends with.
fn spelled_before(hay: &[u8], want: u8, fold: bool) -> Option<usize> {
    match hay.last() {
        Some(&b) if b == want || (fold && b.eq_ignore_ascii_case(&want)) => Some(1),
        _ if fold => ASCII_PARTNERS.iter().find_map(|&(partner, letter)| {
            let mut buf = [0; 4];
            let partner = partner.encode_utf8(&mut buf).as_bytes();
            (want.to_ascii_lowercase() == letter && hay.ends_with(partner)).then_some(partner.len())
        }),
        _ => None,
    }
}

/// The fragments of a set of literals (see [`fragments`]).
#[derive(Clone, Debug)]
struct Fragments {
    /// Distinct spellings of windows: the searcher's patterns.
    spelled: Vec<Vec<u8>>,
    /// For each spelling, the windows it spells.
    uses: Vec<Vec<WindowUse>>,
    /// For each spelling, the spellings (itself included) that may match
    /// where it does: those that are a prefix of it or that it is a prefix
    /// of. The searcher reports one pattern per position.
    related: Vec<Vec<u32>>,
}

impl Fragments {
    /// True when a literal occurs around the searcher's hit of spelling
    /// `pattern` at `hay[s..]`.
    fn verify(&self, pattern: usize, literals: &[Literal], hay: &[u8], s: usize) -> bool {
        self.related[pattern].iter().any(|&q| {
            let spelled = &self.spelled[q as usize];
            hay[s..].starts_with(spelled)
                && self.uses[q as usize]
                    .iter()
                    .any(|w| w.verify(&literals[w.literal as usize], hay, s, s + spelled.len()))
        })
    }
}

/// One literal's window: `literal.bytes[start..end]` is what a fragment
/// spells.
#[derive(Clone, Debug)]
struct WindowUse {
    literal: u32,
    start: u32,
    end: u32,
}

impl WindowUse {
    /// True when `literal` occurs in `hay` around a spelling of this
    /// window at `hay[s..e]`: its bytes before the window end at `s`, its
    /// bytes after it start at `e`, each byte as written or, when the
    /// literal folds, in its other case or as its partner.
    fn verify(&self, literal: &Literal, hay: &[u8], s: usize, e: usize) -> bool {
        let fold = literal.ascii_fold;
        let (before, after) =
            (&literal.bytes[..self.start as usize], &literal.bytes[self.end as usize..]);
        let mut at = s;
        for &want in before.iter().rev() {
            match spelled_before(&hay[..at], want, fold) {
                Some(n) => at -= n,
                None => return false,
            }
        }
        let mut at = e;
        for &want in after {
            match spelled_at(&hay[at..], want, fold) {
                Some(n) => at += n,
                None => return false,
            }
        }
        true
    }
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
/// bytes, spelled in every way the literal may be written (see
/// [`folded_spellings`]) when it folds. Every occurrence of a literal
/// contains an occurrence of one of them, and Teddy searches them with
/// SIMD where a case-insensitive automaton would walk every byte. Windows
/// are chosen to share spellings between literals and to avoid letters
/// (each doubles the spellings; `k` and `s` triple them) and common bytes.
/// A hit is a candidate when one of the literals is read around it.
/// `None` past [`PACKED_MAX`] spellings.
fn fragments(lits: &[Literal]) -> Option<Fragments> {
    // Chosen windows: lower-cased when spelled in every case, exact
    // otherwise; with the literals' windows they stand for.
    let mut chosen: Vec<(Vec<u8>, bool, Vec<WindowUse>)> = Vec::new();
    let spellings = |w: &[u8], fold: bool| -> usize {
        if fold {
            w.iter().map(|&b| folded_spellings(b).len()).product()
        } else {
            1
        }
    };
    let find = |chosen: &[(Vec<u8>, bool, Vec<WindowUse>)], w: &[u8], fold: bool| {
        let lower = w.to_ascii_lowercase();
        chosen
            .iter()
            .position(|(c, f, _)| (*f && *c == lower) || (!fold && !*f && c.as_slice() == w))
    };
    for (l, lit) in lits.iter().enumerate() {
        let k = lit.bytes.len().min(3);
        let (_, start) = (0..=lit.bytes.len() - k)
            .map(|start| {
                let w = &lit.bytes[start..start + k];
                let known = find(&chosen, w, lit.ascii_fold).is_some();
                let new = if known { 0 } else { spellings(w, lit.ascii_fold) };
                let common = w.iter().filter(|b| b.is_ascii_alphanumeric() || **b == b' ').count();
                ((new, common), start)
            })
            .min_by_key(|(cost, _)| *cost)?;
        let w = &lit.bytes[start..start + k];
        let at = find(&chosen, w, lit.ascii_fold).unwrap_or_else(|| {
            let key = if lit.ascii_fold { w.to_ascii_lowercase() } else { w.to_vec() };
            chosen.push((key, lit.ascii_fold, Vec::new()));
            chosen.len() - 1
        });
        let (start, end) = (start as u32, (start + k) as u32);
        chosen[at].2.push(WindowUse { literal: l as u32, start, end });
        if chosen.iter().map(|(w, f, _)| spellings(w, *f)).sum::<usize>() > PACKED_MAX {
            return None;
        }
    }
    // An exact window and a folded one may share spellings: each
    // spelling is one pattern, with the windows of both.
    let (mut spelled, mut uses): (Vec<Vec<u8>>, Vec<Vec<WindowUse>>) = (Vec::new(), Vec::new());
    for (w, fold, windows) in chosen {
        let mut variants: Vec<Vec<u8>> = vec![Vec::new()];
        for &b in &w {
            let choices = if fold { folded_spellings(b) } else { vec![vec![b]] };
            variants = variants
                .iter()
                .flat_map(|v| choices.iter().map(move |c| [v.as_slice(), c].concat()))
                .collect();
        }
        for v in variants {
            match spelled.iter().position(|s| *s == v) {
                Some(i) => uses[i].extend(windows.iter().cloned()),
                None => {
                    spelled.push(v);
                    uses.push(windows.clone());
                }
            }
        }
    }
    let related = spelled
        .iter()
        .map(|p| {
            (0..spelled.len() as u32)
                .filter(|&q| {
                    let q = &spelled[q as usize];
                    p.starts_with(q) || q.starts_with(p)
                })
                .collect()
        })
        .collect();
    Some(Fragments { spelled, uses, related })
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
        let frags = fragments(&lits).unwrap().spelled;
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

    /// A folded literal's `k` and `s` may be written KELVIN SIGN and LONG S:
    /// both searchers for folded literals (verified windows, the
    /// automaton) find such spellings, and nothing else.
    #[test]
    fn folded_literals_are_found_with_case_partners() {
        let partners = |b: &[u8]| {
            let text = String::from_utf8(b.to_vec()).unwrap();
            text.replace(['k', 'K'], "\u{212A}").replace(['s', 'S'], "\u{17F}").into_bytes()
        };
        let few = vec![lit("kiss", true), lit("sk", true), lit("x-s", true), lit("a.b", false)];
        let many: Vec<Literal> =
            (0..40).map(|i| lit(&format!("task{i}ask"), true)).chain(few.clone()).collect();
        for (lits, verified) in [(few, true), (many, false)] {
            let pf = Prefilter::new(lits.clone()).unwrap();
            assert_eq!(matches!(pf.imp, Imp::Fragments { .. }), verified);
            for l in &lits {
                for text in [partners(&l.bytes), l.bytes.to_ascii_uppercase()] {
                    let hay = [b"xx ".as_slice(), &text, b" yy"].concat();
                    let want = l.ascii_fold || text == l.bytes;
                    // The automaton folds every literal: false positives.
                    let got = pf.find(&hay, 0).is_some();
                    let hay = String::from_utf8_lossy(&hay);
                    assert!(got == want || (got && !verified), "{l:?} in {hay:?}");
                }
            }
            assert_eq!(pf.find(b"nothing here: kis, ki ss, x- s, a,b", 0), None);
        }
    }

    /// Verified windows against the plain definition (some literal occurs
    /// at or after the reported start, in some spelling), on every short
    /// haystack over a small alphabet.
    #[test]
    fn verified_windows_find_a_literal_wherever_one_occurs() {
        let lits = vec![lit("ab", true), lit("abk", true), lit("Ba", false), lit("sk", true)];
        let pf = Prefilter::new(lits.clone()).unwrap();
        assert!(matches!(pf.imp, Imp::Fragments { .. }));
        let alphabet = ["a", "A", "b", "B", "k", "\u{212A}", "s", "\u{17F}", "\n"];
        let mut hays = vec![String::new()];
        for _ in 0..5 {
            hays =
                hays.iter().flat_map(|h| alphabet.iter().map(move |c| format!("{h}{c}"))).collect();
            for hay in &hays {
                let folded = hay.to_lowercase().replace('\u{212A}', "k").replace('\u{17F}', "s");
                let occurs = |from: usize| {
                    lits.iter().any(|l| {
                        let hay_from = if l.ascii_fold { &folded } else { hay };
                        let needle = if l.ascii_fold {
                            String::from_utf8(l.bytes.to_ascii_lowercase()).unwrap()
                        } else {
                            String::from_utf8(l.bytes.clone()).unwrap()
                        };
                        // Folding changes offsets: compare per line.
                        hay_from.get(from..).is_some_and(|rest| rest.contains(&needle))
                    })
                };
                let got = pf.find(hay.as_bytes(), 0).is_some();
                // The reference works on the folded copy, so compare
                // only whether any literal occurs at all.
                assert_eq!(got, occurs(0), "{hay:?}");
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
