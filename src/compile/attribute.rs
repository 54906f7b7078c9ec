//! Attribution with many rules: which rules select a line, decided once at
//! the end of the line, for the rules that can hold on it.
//!
//! The incremental [`Circuit`](super::circuit) pays, for every atom seen,
//! for every gate above it, so that it can stop a line as soon as one rule
//! is decided. That is right for "does any rule select this line", and
//! wrong for attribution over thousands of rules: common atoms (a space,
//! `3`, `.exe`) sit under hundreds of rules each, a log line holds dozens
//! of them, and every rule has to be decided anyway.
//!
//! So attribution records which atoms occur (a per-line stamp per atom),
//! and evaluates at the end of the line only the rules one of whose
//! *trigger atoms* occurred. A rule's triggers are a cover over atoms: a
//! set of atoms one of which occurs on every line the rule selects (an OR
//! needs a trigger from each branch, an AND from one child: the rarest by
//! the prefilter's estimate, so common atoms trigger few rules). A rule
//! without a cover (true on an atom-free line, e.g. `not filter`) is
//! *untriggered*: evaluated on every line.
//!
//! Invariant: a rule not evaluated on a line is false on it, because none
//! of its triggers occurred. Formulas are stored flattened in pre-order
//! with each node's subtree end, so evaluation short-circuits by jumping.
//!
//! Scanned complex atoms (checked with their own regex, see
//! [`matcher`](super::matcher)) are *deferred*: the scan only says which of
//! them may occur ([`Attributor::defer`]), which triggers their rules as a
//! seen atom would, and the regex runs when an evaluation first needs the
//! answer (then it is kept for the line). Children of AND and OR are
//! stored with the subtrees free of checked atoms (complex or on-demand,
//! below) first, so a rule its other children settle runs no check.
//!
//! When every question goes through attribution (many rules), the scan
//! reports only the atoms that can change which rules are evaluated: the
//! triggers, the atoms of untriggered rules and the atoms of groups
//! (below). The others, complex or plain, are *on-demand* atoms
//! ([`Attributor::scanned_atoms`]): an evaluation that reaches one runs
//! the exact single-atom check (see [`check`](super::check)), once per
//! line. A log line holds dozens to hundreds of occurrences of common
//! pieces (`.exe`, `\`, `-`) that no triggered rule asks about, and the
//! trigger literals of complex atoms are often as common; the scan no
//! longer pays for them (on all SigmaHQ rules, 15-20% less scan time).
//!
//! The plain atoms under one OR (SigmaHQ lists hundreds of values in one
//! selection) form a *group*: seeing an atom stamps its groups, so the OR
//! is one stamp check however long the list, and a long list that holds
//! a common value costs nothing per line beyond that value's sighting.

use super::prefilter::rarity;
use super::rows::Rows;
use crate::lower::{Atom, Formula};

#[derive(Clone, Copy, Debug)]
enum Op {
    Atom(u32),
    /// One of a group's atoms was seen.
    AnyOf(u32),
    Const(bool),
    Not,
    And,
    Or,
}

/// One node of a flattened formula: its operation and the index just past
/// its subtree (its children follow it directly).
#[derive(Clone, Copy, Debug)]
struct Node {
    op: Op,
    end: u32,
}

/// The compiled attribution tables (immutable, shared).
#[derive(Debug)]
pub(crate) struct Attributor {
    nodes: Vec<Node>,
    /// Index of each rule's formula in `nodes`.
    roots: Vec<u32>,
    /// For each atom, the rules it triggers.
    triggers: Rows,
    /// Untriggered rules (without a cover): evaluated on every line.
    untriggered: Vec<u32>,
    /// For each atom, the groups it belongs to.
    groups_of: Rows,
    groups: usize,
    /// Atoms the scan reports (see [`Attributor::scanned_atoms`]).
    scanned: Vec<bool>,
}

/// Per-thread, per-line state.
#[derive(Debug, Default)]
pub(crate) struct AttributionState {
    /// The line number (mod 2^32, never 0) at which each atom was last seen.
    atom_seen: Vec<u32>,
    /// The line number at which each complex atom was last deferred: it
    /// may occur, and its regex has not run yet.
    atom_deferred: Vec<u32>,
    /// The line number at which each checked atom was last checked (the
    /// answer is in `atom_seen`).
    atom_checked: Vec<u32>,
    /// The line number at which one of each group's atoms was last seen.
    group_seen: Vec<u32>,
    /// The line number at which each rule was last triggered.
    rule_triggered: Vec<u32>,
    line: u32,
    candidates: Vec<u32>,
}

impl Attributor {
    /// Builds the tables for `rules` over `atoms`; `complex[a]` marks the
    /// complex atoms, which the scan defers ([`Attributor::defer`]). With
    /// `allow_on_demand`, the atoms that neither trigger a rule, nor belong
    /// to an untriggered rule, nor to a group are on-demand atoms, checked
    /// when an evaluation needs them ([`Attributor::scanned_atoms`]).
    pub(crate) fn new(
        atoms: &[Atom],
        rules: &[Formula],
        complex: &[bool],
        allow_on_demand: bool,
    ) -> Attributor {
        let cost: Vec<f64> = atoms
            .iter()
            .map(|a| a.cover().map_or(1.0, |lits| lits.iter().map(rarity).sum::<f64>().min(1.0)))
            .collect();
        let mut triggered_by: Vec<Vec<u32>> = vec![Vec::new(); atoms.len()];
        let mut untriggered = Vec::new();
        let mut scanned = vec![!allow_on_demand; atoms.len()];
        for (r, f) in rules.iter().enumerate() {
            match trigger_cover(f, &cost) {
                Some((cover, _)) => {
                    let mut cover = cover;
                    cover.sort_unstable();
                    cover.dedup();
                    for a in cover {
                        scanned[a as usize] = true;
                        triggered_by[a as usize].push(r as u32);
                    }
                }
                None => {
                    untriggered.push(r as u32);
                    for a in f.atoms() {
                        scanned[a.index()] = true;
                    }
                }
            }
        }
        // Groups depend on `complex` only (with on-demand atoms, this pass
        // is for them and its order is redone below); their atoms stay
        // scanned (checking a long OR one atom at a time would cost more
        // than the scan).
        let flat = Flat::new(rules, complex, complex);
        for (a, gs) in flat.groups.of_atom.iter().enumerate() {
            scanned[a] |= !gs.is_empty();
        }
        // On-demand atoms are checked atoms too: evaluated last, like
        // complex ones (without any, the first pass's order is already
        // right).
        let flat = if allow_on_demand {
            let checked: Vec<bool> = complex.iter().zip(&scanned).map(|(&c, &s)| c || !s).collect();
            Flat::new(rules, complex, &checked)
        } else {
            flat
        };
        Attributor {
            nodes: flat.nodes,
            roots: flat.roots,
            triggers: Rows::from_lists(&triggered_by),
            untriggered,
            groups_of: Rows::from_lists(&flat.groups.of_atom),
            groups: flat.groups.len,
            scanned,
        }
    }

    /// For each atom, true when it is a scanned atom, which the line scan
    /// must report; the others are on-demand atoms, checked by the `check`
    /// of [`Attributor::finish`].
    pub(crate) fn scanned_atoms(&self) -> &[bool] {
        &self.scanned
    }

    /// Fresh per-thread state.
    pub(crate) fn state(&self) -> AttributionState {
        AttributionState {
            atom_seen: vec![0; self.triggers.len()],
            atom_deferred: vec![0; self.triggers.len()],
            atom_checked: vec![0; self.triggers.len()],
            group_seen: vec![0; self.groups],
            rule_triggered: vec![0; self.roots.len()],
            line: 0,
            candidates: Vec::new(),
        }
    }

    /// Starts a new line.
    pub(crate) fn begin(&self, st: &mut AttributionState) {
        st.candidates.clear();
        st.line = st.line.wrapping_add(1);
        if st.line == 0 {
            // The stamps wrapped: old stamps could look current.
            st.atom_seen.fill(0);
            st.atom_deferred.fill(0);
            st.atom_checked.fill(0);
            st.group_seen.fill(0);
            st.rule_triggered.fill(0);
            st.line = 1;
        }
    }

    /// Records that atom `a` occurs on the line.
    #[inline]
    pub(crate) fn see(&self, st: &mut AttributionState, a: u32) {
        if std::mem::replace(&mut st.atom_seen[a as usize], st.line) == st.line {
            return;
        }
        for &g in self.groups_of.of(a) {
            st.group_seen[g as usize] = st.line;
        }
        self.trigger(st, a);
    }

    /// Records that complex atom `a` is deferred on the line (it may
    /// occur): its rules are evaluated, and its regex runs if one of them
    /// needs it.
    pub(crate) fn defer(&self, st: &mut AttributionState, a: u32) {
        if std::mem::replace(&mut st.atom_deferred[a as usize], st.line) == st.line {
            return;
        }
        self.trigger(st, a);
    }

    #[inline]
    fn trigger(&self, st: &mut AttributionState, a: u32) {
        for &r in self.triggers.of(a) {
            if std::mem::replace(&mut st.rule_triggered[r as usize], st.line) != st.line {
                st.candidates.push(r);
            }
        }
    }

    /// The rules that select the line, ascending. `check(atom)` checks a
    /// deferred or on-demand atom on the line.
    pub(crate) fn finish(
        &self,
        st: &mut AttributionState,
        out: &mut Vec<u32>,
        check: &mut dyn FnMut(u32) -> bool,
    ) {
        out.clear();
        let candidates = std::mem::take(&mut st.candidates);
        for &r in candidates.iter().chain(&self.untriggered) {
            if self.eval(st, self.roots[r as usize] as usize, check) {
                out.push(r);
            }
        }
        st.candidates = candidates;
        out.sort_unstable();
    }

    /// True when some rule selects the line (the rules are evaluated
    /// until one is true). `check` is as for [`Attributor::finish`].
    pub(crate) fn any(
        &self,
        st: &mut AttributionState,
        check: &mut dyn FnMut(u32) -> bool,
    ) -> bool {
        let candidates = std::mem::take(&mut st.candidates);
        let any = candidates
            .iter()
            .chain(&self.untriggered)
            .any(|&r| self.eval(st, self.roots[r as usize] as usize, check));
        st.candidates = candidates;
        any
    }

    fn eval(
        &self,
        st: &mut AttributionState,
        i: usize,
        check: &mut dyn FnMut(u32) -> bool,
    ) -> bool {
        let node = self.nodes[i];
        let children = || {
            let end = node.end as usize;
            let mut c = i + 1;
            std::iter::from_fn(move || {
                (c < end).then(|| {
                    let at = c;
                    c = self.nodes[at].end as usize;
                    at
                })
            })
        };
        match node.op {
            Op::Atom(a) => {
                let a = a as usize;
                if st.atom_seen[a] == st.line {
                    true
                } else if st.atom_deferred[a] == st.line
                    || (!self.scanned[a] && st.atom_checked[a] != st.line)
                {
                    st.atom_deferred[a] = 0;
                    st.atom_checked[a] = st.line;
                    let occurs = check(a as u32);
                    if occurs {
                        st.atom_seen[a] = st.line;
                    }
                    occurs
                } else {
                    false
                }
            }
            Op::AnyOf(g) => st.group_seen[g as usize] == st.line,
            Op::Const(b) => b,
            Op::Not => !self.eval(st, i + 1, check),
            Op::And => children().all(|c| self.eval(st, c, check)),
            Op::Or => children().any(|c| self.eval(st, c, check)),
        }
    }
}

/// True when `f` mentions a checked atom.
fn mentions_checked(f: &Formula, checked: &[bool]) -> bool {
    match f {
        Formula::Atom(a) => checked[a.index()],
        Formula::Const(_) => false,
        Formula::Not(x) => mentions_checked(x, checked),
        Formula::And(xs) | Formula::Or(xs) => xs.iter().any(|x| mentions_checked(x, checked)),
    }
}

/// The OR groups being built: for each atom, its groups.
struct Groups {
    of_atom: Vec<Vec<u32>>,
    len: usize,
}

/// All rules' formulas flattened.
struct Flat {
    nodes: Vec<Node>,
    roots: Vec<u32>,
    groups: Groups,
}

impl Flat {
    /// Flattens `rules`: complex atoms never join a group, and subtrees
    /// with checked atoms come after their siblings.
    fn new(rules: &[Formula], complex: &[bool], checked: &[bool]) -> Flat {
        let mut flat = Flat {
            nodes: Vec::new(),
            roots: Vec::with_capacity(rules.len()),
            groups: Groups { of_atom: vec![Vec::new(); complex.len()], len: 0 },
        };
        for f in rules {
            flat.roots
                .push(u32::try_from(flat.nodes.len()).expect("fewer than 2^32 formula nodes"));
            flatten(f, complex, checked, &mut flat.groups, &mut flat.nodes);
        }
        flat
    }
}

/// Fewest plain atoms under one OR that make a group (below, checking the
/// atoms one by one is as cheap).
const GROUP_MIN: usize = 4;

/// Appends `f` in pre-order, children free of checked atoms first (AND
/// and OR are commutative; the order only decides what short-circuits),
/// the plain atoms of a long OR as one group: a leaf among its children,
/// or the whole OR when nothing else is left.
fn flatten(
    f: &Formula,
    complex: &[bool],
    checked: &[bool],
    groups: &mut Groups,
    nodes: &mut Vec<Node>,
) {
    let is_plain = |x: &Formula| matches!(x, Formula::Atom(a) if !complex[a.index()]);
    let (op, mut children): (Op, Vec<&Formula>) = match f {
        Formula::Atom(a) => (Op::Atom(a.0), Vec::new()),
        Formula::Const(b) => (Op::Const(*b), Vec::new()),
        Formula::Not(x) => (Op::Not, vec![&**x]),
        Formula::And(xs) => (Op::And, xs.iter().collect()),
        Formula::Or(xs) => (Op::Or, xs.iter().collect()),
    };
    let mut group = None;
    if matches!(op, Op::Or) && children.iter().filter(|x| is_plain(x)).count() >= GROUP_MIN {
        let g = u32::try_from(groups.len).expect("fewer than 2^32 groups");
        groups.len += 1;
        for x in children.iter().filter(|x| is_plain(x)) {
            if let Formula::Atom(a) = x {
                groups.of_atom[a.index()].push(g);
            }
        }
        children.retain(|x| !is_plain(x));
        group = Some(g);
    }
    let leaf = |op, nodes: &mut Vec<Node>| {
        let end = u32::try_from(nodes.len() + 1).expect("fewer than 2^32 formula nodes");
        nodes.push(Node { op, end });
    };
    if let Some(g) = group.filter(|_| children.is_empty()) {
        return leaf(Op::AnyOf(g), nodes);
    }
    let at = nodes.len();
    nodes.push(Node { op, end: 0 });
    if let Some(g) = group {
        leaf(Op::AnyOf(g), nodes);
    }
    let (without_checks, with_checks): (Vec<&Formula>, Vec<&Formula>) =
        children.into_iter().partition(|x| !mentions_checked(x, checked));
    without_checks
        .into_iter()
        .chain(with_checks)
        .for_each(|x| flatten(x, complex, checked, groups, nodes));
    nodes[at].end = u32::try_from(nodes.len()).expect("fewer than 2^32 formula nodes");
}

/// A cover of `f` over atoms and its estimated cost (the chance that a
/// random line holds one of them); `None` when `f` can hold on a line
/// without any particular atom.
fn trigger_cover(f: &Formula, cost: &[f64]) -> Option<(Vec<u32>, f64)> {
    match f {
        Formula::Const(false) => Some((Vec::new(), 0.0)),
        Formula::Const(true) | Formula::Not(_) => None,
        Formula::Atom(a) => Some((vec![a.0], cost[a.index()])),
        Formula::And(xs) => {
            xs.iter().filter_map(|x| trigger_cover(x, cost)).min_by(|a, b| a.1.total_cmp(&b.1))
        }
        Formula::Or(xs) => {
            let mut all = Vec::new();
            let mut total = 0.0;
            for x in xs {
                let (c, k) = trigger_cover(x, cost)?;
                all.extend(c);
                total += k;
            }
            Some((all, total))
        }
    }
}
