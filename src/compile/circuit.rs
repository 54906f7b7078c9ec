//! The rules' formulas as one boolean circuit, evaluated incrementally
//! while a line is scanned.
//!
//! Every formula node is a gate; every atom is one leaf shared by all
//! rules that use it. When the scan sees an atom, the leaf becomes true
//! and the change propagates upward: an OR is decided true by one true
//! child and false when all children are false; an AND the other way
//! round; a NOT flips. Each gate keeps one counter, so the work per atom
//! seen is proportional to the gates that actually change, not to the size
//! of the rules (SigmaHQ rules hold up to thousands of values).
//!
//! Invariant: a gate's decided value is the value it takes for *every*
//! completion of the line (atoms not seen yet may still appear), so a
//! decided root settles its rule for the rest of the line. At the end of
//! the line, undecided gates are evaluated with the unseen atoms false;
//! gates the line never touched take their precomputed value on an
//! atom-free line.

use super::rows::Rows;
use crate::lower::{AtomId, Formula};

/// Per-line gate state, packed in one `u32` so that deciding a gate costs
/// one cache line: the decided value (top two bits), the touched flag, and
/// for AND/OR the number of children decided the "neutral" way.
const VALUE_SHIFT: u32 = 30;
const UNDECIDED: u32 = 0;
const FALSE: u32 = 1;
const TRUE: u32 = 2;
const TOUCHED: u32 = 1 << 29;
const COUNT_MASK: u32 = TOUCHED - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    Leaf,
    Const(bool),
    And,
    Or,
    Not,
}

/// The compiled circuit (immutable, shared).
#[derive(Debug)]
pub(crate) struct Circuit {
    gates: Vec<Gate>,
    children: Rows,
    parents: Rows,
    /// Value of each gate on a line without any atom.
    empty: Vec<bool>,
    /// Leaf gate of each atom.
    leaf: Vec<u32>,
    /// For each gate, the rules whose root it is.
    root_of: Rows,
    /// Number of rules true on an atom-free line.
    empty_true: usize,
    /// For each gate that is a root: how many of its rules are empty-true.
    empty_true_at: Vec<u32>,
    /// Rules whose formula mentions an atom.
    rules_with_atoms: usize,
}

/// Per-thread, per-line state.
#[derive(Debug, Default)]
pub(crate) struct CircuitState {
    /// Packed per-gate state (see [`VALUE_SHIFT`]).
    gate: Vec<u32>,
    touched: Vec<u32>,
    /// Touched gates that are some rule's root.
    touched_roots: Vec<u32>,
    /// Rules decided so far on this line.
    decided_rules: usize,
    /// Empty-true rules whose root was touched on this line.
    touched_empty_true: usize,
    /// Scratch stacks, kept to avoid allocating per atom.
    work: Vec<(u32, u32)>,
    walk: Vec<u32>,
}

/// Builds the gate lists before they are packed into rows.
struct Builder {
    gates: Vec<Gate>,
    children: Vec<Vec<u32>>,
    empty: Vec<bool>,
}

impl Builder {
    fn push(&mut self, gate: Gate, children: Vec<u32>, empty: bool) -> u32 {
        let id = u32::try_from(self.gates.len()).expect("fewer than 2^32 gates");
        assert!(children.len() < COUNT_MASK as usize, "a gate with 2^29 children");
        self.gates.push(gate);
        self.children.push(children);
        self.empty.push(empty);
        id
    }

    fn add(&mut self, leaf: &[u32], f: &Formula) -> u32 {
        match f {
            Formula::Atom(a) => leaf[a.index()],
            Formula::Const(b) => self.push(Gate::Const(*b), Vec::new(), *b),
            Formula::Not(x) => {
                let ch = self.add(leaf, x);
                let empty = !self.empty[ch as usize];
                self.push(Gate::Not, vec![ch], empty)
            }
            Formula::And(xs) | Formula::Or(xs) => {
                let is_and = matches!(f, Formula::And(_));
                let children: Vec<u32> = xs.iter().map(|x| self.add(leaf, x)).collect();
                let empty = if is_and {
                    children.iter().all(|&c| self.empty[c as usize])
                } else {
                    children.iter().any(|&c| self.empty[c as usize])
                };
                self.push(if is_and { Gate::And } else { Gate::Or }, children, empty)
            }
        }
    }
}

impl Circuit {
    /// Builds the circuit of the rules over `n_atoms` atoms.
    pub(crate) fn new(n_atoms: usize, rules: &[Formula]) -> Circuit {
        let mut b = Builder { gates: Vec::new(), children: Vec::new(), empty: Vec::new() };
        let leaf: Vec<u32> = (0..n_atoms).map(|_| b.push(Gate::Leaf, Vec::new(), false)).collect();
        let roots: Vec<u32> = rules.iter().map(|f| b.add(&leaf, f)).collect();
        let n = b.gates.len();
        let mut parents = vec![Vec::new(); n];
        for (g, children) in b.children.iter().enumerate() {
            for &ch in children {
                parents[ch as usize].push(g as u32);
            }
        }
        let mut root_of = vec![Vec::new(); n];
        let mut empty_true = 0;
        let mut empty_true_at = vec![0; n];
        let mut rules_with_atoms = 0;
        for (r, (f, &root)) in rules.iter().zip(&roots).enumerate() {
            root_of[root as usize].push(r as u32);
            if b.empty[root as usize] {
                empty_true += 1;
                empty_true_at[root as usize] += 1;
            }
            if !f.atoms().is_empty() {
                rules_with_atoms += 1;
            }
        }
        Circuit {
            gates: b.gates,
            children: Rows::from_lists(&b.children),
            parents: Rows::from_lists(&parents),
            empty: b.empty,
            leaf,
            root_of: Rows::from_lists(&root_of),
            empty_true,
            empty_true_at,
            rules_with_atoms,
        }
    }

    /// Fresh per-line state.
    pub(crate) fn state(&self) -> CircuitState {
        CircuitState { gate: vec![0; self.gates.len()], ..CircuitState::default() }
    }

    #[inline]
    fn value(st: &CircuitState, g: u32) -> u32 {
        st.gate[g as usize] >> VALUE_SHIFT
    }

    /// Marks `g` and all its ancestors touched: "this line holds an atom
    /// below this gate", so the atom-free value no longer applies.
    fn touch(&self, st: &mut CircuitState, g: u32) {
        let mut stack = std::mem::take(&mut st.walk);
        stack.push(g);
        while let Some(g) = stack.pop() {
            let s = &mut st.gate[g as usize];
            if *s & TOUCHED != 0 {
                continue;
            }
            *s |= TOUCHED;
            st.touched.push(g);
            if !self.root_of.of(g).is_empty() {
                st.touched_roots.push(g);
                st.touched_empty_true += self.empty_true_at[g as usize] as usize;
            }
            stack
                .extend(self.parents.of(g).iter().filter(|&&p| st.gate[p as usize] & TOUCHED == 0));
        }
        st.walk = stack;
    }

    /// Records that atom `a` occurs on the line. Returns true when some
    /// rule became decided true.
    pub(crate) fn see(&self, st: &mut CircuitState, a: AtomId) -> bool {
        let leaf = self.leaf[a.index()];
        if Self::value(st, leaf) != UNDECIDED {
            return false;
        }
        let mut any_true = false;
        let mut stack = std::mem::take(&mut st.work);
        stack.push((leaf, TRUE));
        while let Some((g, v)) = stack.pop() {
            if Self::value(st, g) != UNDECIDED {
                continue;
            }
            if st.gate[g as usize] & TOUCHED == 0 {
                self.touch(st, g);
            }
            st.gate[g as usize] |= v << VALUE_SHIFT;
            let rules = self.root_of.of(g).len();
            st.decided_rules += rules;
            any_true |= v == TRUE && rules > 0;
            for &p in self.parents.of(g) {
                let ps = st.gate[p as usize];
                if ps >> VALUE_SHIFT != UNDECIDED {
                    continue;
                }
                let decided = match (self.gates[p as usize], v) {
                    (Gate::Not, v) => Some(if v == TRUE { FALSE } else { TRUE }),
                    (Gate::And, FALSE) | (Gate::Or, TRUE) => Some(v),
                    (Gate::And, _) | (Gate::Or, _) => {
                        st.gate[p as usize] = ps + 1;
                        let n = self.children.of(p).len() as u32;
                        ((ps & COUNT_MASK) + 1 == n).then_some(v)
                    }
                    (Gate::Leaf | Gate::Const(_), _) => None,
                };
                if let Some(d) = decided {
                    stack.push((p, d));
                }
            }
        }
        st.work = stack;
        any_true
    }

    /// True when every rule with atoms is decided on this line.
    pub(crate) fn all_decided(&self, st: &CircuitState) -> bool {
        st.decided_rules >= self.rules_with_atoms
    }

    /// A gate's value at the end of the line (unseen atoms false).
    fn fin(&self, st: &CircuitState, g: u32) -> bool {
        let s = st.gate[g as usize];
        match s >> VALUE_SHIFT {
            TRUE => return true,
            FALSE => return false,
            _ => {}
        }
        if s & TOUCHED == 0 {
            return self.empty[g as usize];
        }
        let ch = self.children.of(g);
        match self.gates[g as usize] {
            Gate::Leaf => false,
            Gate::Const(b) => b,
            Gate::Not => !self.fin(st, ch[0]),
            Gate::And => ch.iter().all(|&c| self.fin(st, c)),
            Gate::Or => ch.iter().any(|&c| self.fin(st, c)),
        }
    }

    /// True when some rule selects the line.
    pub(crate) fn any(&self, st: &CircuitState) -> bool {
        st.touched_empty_true < self.empty_true || st.touched_roots.iter().any(|&g| self.fin(st, g))
    }

    /// Forgets the line.
    pub(crate) fn reset(&self, st: &mut CircuitState) {
        for g in st.touched.drain(..) {
            st.gate[g as usize] = 0;
        }
        st.touched_roots.clear();
        st.decided_rules = 0;
        st.touched_empty_true = 0;
    }
}
