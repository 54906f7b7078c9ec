//! Boolean formulas over atoms.
//!
//! A [`Formula`] is built only through the smart constructors
//! ([`Formula::and`], [`Formula::or`], [`Formula::not`]), which flatten
//! nested operators of the same kind, fold constants, drop duplicate
//! operands and never leave an `And`/`Or` with fewer than two operands.
//! Equality is syntactic (same tree after those normalisations), not
//! logical equivalence.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Index of an atom in the [`super::AtomTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AtomId(pub u32);

impl AtomId {
    /// The id as an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A boolean formula whose variables are atoms ("the line contains P").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Formula {
    /// A constant.
    Const(bool),
    /// True when the atom matches somewhere in the line.
    Atom(AtomId),
    /// Negation; never of a constant or of another `Not`.
    Not(Box<Formula>),
    /// Conjunction of two or more non-constant formulas.
    And(Vec<Formula>),
    /// Disjunction of two or more non-constant formulas.
    Or(Vec<Formula>),
}

impl Formula {
    /// The atom itself.
    pub fn atom(id: AtomId) -> Formula {
        Formula::Atom(id)
    }

    /// Negation, with `not not x = x` and constants folded.
    #[allow(clippy::should_implement_trait)]
    pub fn not(x: Formula) -> Formula {
        match x {
            Formula::Const(b) => Formula::Const(!b),
            Formula::Not(inner) => *inner,
            x => Formula::Not(Box::new(x)),
        }
    }

    /// Conjunction of any number of formulas (empty: true).
    pub fn and(xs: impl IntoIterator<Item = Formula>) -> Formula {
        Formula::join(xs, true)
    }

    /// Disjunction of any number of formulas (empty: false).
    pub fn or(xs: impl IntoIterator<Item = Formula>) -> Formula {
        Formula::join(xs, false)
    }

    /// `is_and` selects AND (identity true, absorbing false) or OR.
    fn join(xs: impl IntoIterator<Item = Formula>, is_and: bool) -> Formula {
        let mut out: Vec<Formula> = Vec::new();
        // Duplicates are found by hash (rules may hold a million values):
        // positions in `out` by hash of the operand.
        let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut push = |x: Formula, out: &mut Vec<Formula>| {
            let mut h = DefaultHasher::new();
            x.hash(&mut h);
            let slots = seen.entry(h.finish()).or_default();
            if !slots.iter().any(|&i| out[i] == x) {
                slots.push(out.len());
                out.push(x);
            }
        };
        for x in xs {
            match x {
                Formula::Const(b) if b == is_and => {}
                Formula::Const(b) => return Formula::Const(b),
                Formula::And(inner) if is_and => {
                    for y in inner {
                        push(y, &mut out);
                    }
                }
                Formula::Or(inner) if !is_and => {
                    for y in inner {
                        push(y, &mut out);
                    }
                }
                x => push(x, &mut out),
            }
        }
        match out.len() {
            0 => Formula::Const(is_and),
            1 => out.pop().unwrap(),
            _ if is_and => Formula::And(out),
            _ => Formula::Or(out),
        }
    }

    /// Evaluates the formula given which atoms matched.
    pub fn eval(&self, matched: &impl Fn(AtomId) -> bool) -> bool {
        match self {
            Formula::Const(b) => *b,
            Formula::Atom(a) => matched(*a),
            Formula::Not(x) => !x.eval(matched),
            Formula::And(xs) => xs.iter().all(|x| x.eval(matched)),
            Formula::Or(xs) => xs.iter().any(|x| x.eval(matched)),
        }
    }

    /// Evaluates the formula part way through a line: atoms seen so far are
    /// true, the others may still turn up. Returns the value if no later
    /// atom can change it, `None` otherwise.
    ///
    /// One-sided contract: `Some(v)` is only returned when every completion
    /// of the line gives `v`; `None` is always safe.
    pub fn decided(&self, seen: &impl Fn(AtomId) -> bool) -> Option<bool> {
        match self {
            Formula::Const(b) => Some(*b),
            Formula::Atom(a) => seen(*a).then_some(true),
            Formula::Not(x) => x.decided(seen).map(|b| !b),
            Formula::And(xs) => {
                let mut all = true;
                for x in xs {
                    match x.decided(seen) {
                        Some(false) => return Some(false),
                        Some(true) => {}
                        None => all = false,
                    }
                }
                all.then_some(true)
            }
            Formula::Or(xs) => {
                let mut none = true;
                for x in xs {
                    match x.decided(seen) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => none = false,
                    }
                }
                none.then_some(false)
            }
        }
    }

    /// The same formula over renamed atoms. `rename` must be one-to-one on
    /// the formula's atoms, so the normal form is kept.
    pub fn rename_atoms(&self, rename: &impl Fn(AtomId) -> AtomId) -> Formula {
        match self {
            Formula::Const(b) => Formula::Const(*b),
            Formula::Atom(a) => Formula::Atom(rename(*a)),
            Formula::Not(x) => Formula::Not(Box::new(x.rename_atoms(rename))),
            Formula::And(xs) => Formula::And(xs.iter().map(|x| x.rename_atoms(rename)).collect()),
            Formula::Or(xs) => Formula::Or(xs.iter().map(|x| x.rename_atoms(rename)).collect()),
        }
    }

    /// Every atom the formula mentions, each once, ascending.
    pub fn atoms(&self) -> Vec<AtomId> {
        let mut out = Vec::new();
        self.collect_atoms(&mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    fn collect_atoms(&self, out: &mut Vec<AtomId>) {
        match self {
            Formula::Const(_) => {}
            Formula::Atom(a) => out.push(*a),
            Formula::Not(x) => x.collect_atoms(out),
            Formula::And(xs) | Formula::Or(xs) => xs.iter().for_each(|x| x.collect_atoms(out)),
        }
    }
}

/// `a3 and not (a1 or a2)` style, atoms written `aN`.
impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(f: &mut fmt::Formatter<'_>, xs: &[Formula], op: &str) -> fmt::Result {
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                match x {
                    Formula::And(_) | Formula::Or(_) => write!(f, "({x})")?,
                    _ => write!(f, "{x}")?,
                }
            }
            Ok(())
        }
        match self {
            Formula::Const(b) => write!(f, "{b}"),
            Formula::Atom(a) => write!(f, "a{}", a.0),
            Formula::Not(x) => match **x {
                Formula::And(_) | Formula::Or(_) => write!(f, "not ({x})"),
                _ => write!(f, "not {x}"),
            },
            Formula::And(xs) => join(f, xs, "and"),
            Formula::Or(xs) => join(f, xs, "or"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u32) -> Formula {
        Formula::atom(AtomId(n))
    }

    #[test]
    fn smart_constructors_normalise() {
        assert_eq!(Formula::and([a(1), Formula::and([a(2), a(1)])]).to_string(), "a1 and a2");
        assert_eq!(Formula::or([a(1), Formula::Const(true)]), Formula::Const(true));
        assert_eq!(Formula::or([a(1), Formula::Const(false)]), a(1));
        assert_eq!(Formula::and([]), Formula::Const(true));
        assert_eq!(Formula::or([]), Formula::Const(false));
        assert_eq!(Formula::not(Formula::not(a(1))), a(1));
        assert_eq!(
            Formula::and([a(0), Formula::not(Formula::or([a(1), a(2)]))]).to_string(),
            "a0 and not (a1 or a2)"
        );
    }

    #[test]
    fn huge_operand_lists_stay_linear() {
        // Quadratic deduplication would take hours here.
        let xs = (0..400_000u32).map(|i| a(i % 200_000));
        match Formula::or(xs) {
            Formula::Or(ops) => assert_eq!(ops.len(), 200_000),
            f => panic!("not an OR: {f}"),
        }
        let f = Formula::and((0..200_000u32).map(a));
        assert_eq!(f.atoms().len(), 200_000);
    }

    #[test]
    fn decided_is_one_sided() {
        let f = Formula::and([a(0), Formula::not(a(1))]);
        let seen = |ids: &'static [u32]| move |x: AtomId| ids.contains(&x.0);
        assert_eq!(f.decided(&seen(&[])), None);
        assert_eq!(f.decided(&seen(&[0])), None);
        assert_eq!(f.decided(&seen(&[1])), Some(false));
        let g = Formula::or([a(0), a(1)]);
        assert_eq!(g.decided(&seen(&[1])), Some(true));
        assert_eq!(g.decided(&seen(&[])), None);
    }
}
