//! Exact checks of one atom on one line, for attribution's checked atoms,
//! which it asks about one at a time: on-demand atoms and deferred complex
//! atoms.
//!
//! An atom made of literal pieces (the matcher's [`Plan`](super::matcher::Plan)) is checked with
//! `memchr::memmem` finders, piece after piece, each piece's first
//! occurrence after the previous one's end (the earliest end is the best
//! choice, as in the matcher). Case-sensitive pieces are looked for in the
//! line itself; case-folded pieces, when they are ASCII (the partners of
//! ASCII letters, KELVIN SIGN and LONG S, spelled as their letters), in an
//! ASCII-lowercased copy of the line, made once per line, with those
//! partners as their letters ([`LetterLine`]); `?` counts at the edges are
//! taken in the line's own offsets. (An ASCII needle cannot match inside a
//! multi-byte character: those bytes are all 0x80 or above.) Everything
//! else runs the atom's own regex ([`super::regexes`]).

use memchr::memmem::Finder;

use super::letters::LetterLine;
use super::matcher::literal_plan;
use super::regexes::AtomRegexes;
use crate::lower::atom::partners_as_letters;
use crate::lower::Atom;

/// How one atom is checked.
#[derive(Debug)]
enum Check {
    /// The atom's own regex.
    Regex,
    /// Alternatives of literal pieces in order; `fold`: the needles are
    /// lowercase and searched in the lowercased line.
    Pieces { alternatives: Vec<Vec<Finder<'static>>>, lead: usize, trail: usize, fold: bool },
}

/// The checks of every atom (immutable, shared).
#[derive(Debug)]
pub(crate) struct AtomChecker {
    checks: Vec<Check>,
}

/// The lowercased copy of the current line (per thread), partners of
/// ASCII letters as their letters.
#[derive(Debug, Default)]
pub(crate) struct FoldedLine {
    copy: LetterLine,
    /// False until a folded check makes the copy.
    made: bool,
}

impl FoldedLine {
    /// Forgets the previous line.
    pub(crate) fn reset(&mut self) {
        self.made = false;
    }
}

impl AtomChecker {
    /// Builds finders for the atoms `a` with `on_demand[a]`; the others,
    /// and atoms that are not literal pieces, use the regex. (A scanned
    /// atom is checked only when deferred, that is when complex, and only
    /// its regex decides a complex atom.)
    pub(crate) fn new(atoms: &[Atom], on_demand: &[bool]) -> AtomChecker {
        let checks = atoms
            .iter()
            .zip(on_demand)
            .map(|(atom, &on_demand)| {
                let plan = literal_plan(atom).filter(|_| on_demand);
                let Some(plan) = plan else { return Check::Regex };
                let fold = atom.fold_case;
                let needle = |p: &Vec<u8>| {
                    if fold {
                        partners_as_letters(p).to_ascii_lowercase()
                    } else {
                        p.clone()
                    }
                };
                if fold && plan.alternatives.iter().flatten().any(|p| !needle(p).is_ascii()) {
                    return Check::Regex;
                }
                let alternatives = plan
                    .alternatives
                    .iter()
                    .map(|alt| alt.iter().map(|p| Finder::new(&needle(p)).into_owned()).collect())
                    .collect();
                Check::Pieces {
                    alternatives,
                    lead: plan.lead as usize,
                    trail: plan.trail as usize,
                    fold,
                }
            })
            .collect();
        AtomChecker { checks }
    }

    /// True when atom `a` occurs on `line`.
    pub(crate) fn check(
        &self,
        regexes: &AtomRegexes,
        a: usize,
        line: &[u8],
        folded: &mut FoldedLine,
    ) -> bool {
        let Check::Pieces { alternatives, lead, trail, fold } = &self.checks[a] else {
            return regexes.regex(a).is_match(line);
        };
        if !*fold {
            return alternatives.iter().any(|pieces| in_order(line, pieces, *lead, *trail));
        }
        if !folded.made {
            folded.copy.fill(line, 0, true);
            folded.made = true;
        }
        let copy = &folded.copy;
        if !copy.replaced_any() {
            return alternatives.iter().any(|pieces| in_order(copy.bytes(), pieces, *lead, *trail));
        }
        // The copy is shorter than the line: `?` counts are line offsets.
        let from = copy.at_or_after(*lead);
        alternatives.iter().any(|pieces| {
            find_in_order(copy.bytes(), pieces, from)
                .is_some_and(|end| line.len() - copy.line_offset(end) >= *trail)
        })
    }
}

/// True when `pieces` occur in order in `hay`, the first starting at
/// `lead` or later and the last ending `trail` or more bytes before the
/// end.
fn in_order(hay: &[u8], pieces: &[Finder<'_>], lead: usize, trail: usize) -> bool {
    find_in_order(hay, pieces, lead).is_some_and(|end| hay.len() - end >= trail)
}

/// Where the earliest occurrence of `pieces` in order in `hay`, the first
/// starting at `from` or later, ends.
fn find_in_order(hay: &[u8], pieces: &[Finder<'_>], from: usize) -> Option<usize> {
    let mut from = from;
    for piece in pieces {
        from += piece.find(hay.get(from..)?)? + piece.needle().len();
    }
    Some(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::{AtomId, Formula, Piece};

    /// Every way of checking an atom against the oracle, on lines that hold
    /// the characters with non-ASCII case partners.
    #[test]
    fn finders_agree_with_the_regex() {
        let lit = |s: &str| Piece::Lit(s.as_bytes().to_vec());
        let shapes: Vec<Vec<Piece>> = vec![
            vec![lit("ab")],
            vec![lit("k")],
            vec![lit("Sk")],
            vec![lit("a"), Piece::AnyRun, lit("b")],
            vec![lit("b"), Piece::AnyRun, lit("a"), Piece::AnyRun, lit("b")],
            vec![Piece::AnyChar, Piece::AnyChar, lit("b")],
            vec![lit("a"), Piece::AnyChar],
            vec![Piece::JsonChar, lit("a"), Piece::AnyRun, lit("k"), Piece::AnyChar],
            vec![lit("a"), Piece::OneOf(vec!['-', '/']), lit("b")],
            vec![lit("é")],
        ];
        let atoms: Vec<Atom> = shapes
            .iter()
            .flat_map(|p| [Atom::text(p.clone(), true), Atom::text(p.clone(), false)])
            .flatten()
            .collect();
        let rules: Vec<Formula> =
            (0..atoms.len()).map(|i| Formula::atom(AtomId(i as u32))).collect();
        let regexes = AtomRegexes::new(&atoms).unwrap();
        let oracle = crate::oracle::Oracle::new(&atoms, &rules).unwrap();
        let checker = AtomChecker::new(&atoms, &vec![true; atoms.len()]);
        let alphabet =
            ["a", "A", "b", "B", "k", "K", "\u{212A}", "s", "\u{17F}", "é", "É", "-", "/"];
        // Every line of up to four characters.
        let mut lines = vec![String::new()];
        let mut last = lines.clone();
        for _ in 0..4 {
            last =
                last.iter().flat_map(|l| alphabet.iter().map(move |c| format!("{l}{c}"))).collect();
            lines.extend(last.iter().cloned());
        }
        assert!(lines.len() > 10_000);
        let mut folded = FoldedLine::default();
        for line in &lines {
            folded.reset();
            let matching = oracle.atoms_matching(line.as_bytes());
            for (a, atom) in atoms.iter().enumerate() {
                let want = matching[a];
                let got = checker.check(&regexes, a, line.as_bytes(), &mut folded);
                assert_eq!(got, want, "atom {} on {line:?}", atom.to_regex());
            }
        }
    }
}
