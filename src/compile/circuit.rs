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

use crate::lower::{AtomId, Formula};

const UNDECIDED: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;

#[derive(Clone, Copy, Debug)]
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
    children: Vec<Vec<u32>>,
    parents: Vec<Vec<u32>>,
    /// Value of each gate on a line without any atom.
    empty: Vec<bool>,
    /// Leaf gate of each atom.
    leaf: Vec<u32>,
    /// Root gate of each rule.
    roots: Vec<u32>,
    /// For each gate, the rules whose root it is.
    root_of: Vec<Vec<u32>>,
    /// Rules true on an atom-free line.
    empty_true: Vec<u32>,
    /// Rules whose formula mentions an atom.
    rules_with_atoms: usize,
}

/// Per-thread, per-line state.
#[derive(Debug, Default)]
pub(crate) struct CircuitState {
    value: Vec<u8>,
    count: Vec<u32>,
    touched: Vec<u32>,
    is_touched: Vec<bool>,
    /// Touched gates that are some rule's root.
    touched_roots: Vec<u32>,
    /// Rules decided so far on this line.
    decided_rules: usize,
    /// Empty-true rules whose root was touched on this line.
    touched_empty_true: usize,
    /// Scratch stacks, kept to avoid allocating per atom.
    work: Vec<(u32, u8)>,
    walk: Vec<u32>,
}

impl Circuit {
    /// Builds the circuit of the rules over `n_atoms` atoms.
    pub(crate) fn new(n_atoms: usize, rules: &[Formula]) -> Circuit {
        let mut c = Circuit {
            gates: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            empty: Vec::new(),
            leaf: Vec::with_capacity(n_atoms),
            roots: Vec::with_capacity(rules.len()),
            root_of: Vec::new(),
            empty_true: Vec::new(),
            rules_with_atoms: 0,
        };
        for _ in 0..n_atoms {
            let id = c.push(Gate::Leaf, Vec::new(), false);
            c.leaf.push(id);
        }
        for (r, f) in rules.iter().enumerate() {
            let root = c.add(f);
            c.roots.push(root);
            c.root_of[root as usize].push(r as u32);
            if c.empty[root as usize] {
                c.empty_true.push(r as u32);
            }
            if !f.atoms().is_empty() {
                c.rules_with_atoms += 1;
            }
        }
        c
    }

    fn push(&mut self, gate: Gate, children: Vec<u32>, empty: bool) -> u32 {
        let id = self.gates.len() as u32;
        for &ch in &children {
            self.parents[ch as usize].push(id);
        }
        self.gates.push(gate);
        self.children.push(children);
        self.parents.push(Vec::new());
        self.empty.push(empty);
        self.root_of.push(Vec::new());
        id
    }

    fn add(&mut self, f: &Formula) -> u32 {
        match f {
            Formula::Atom(a) => self.leaf[a.index()],
            Formula::Const(b) => self.push(Gate::Const(*b), Vec::new(), *b),
            Formula::Not(x) => {
                let ch = self.add(x);
                let empty = !self.empty[ch as usize];
                self.push(Gate::Not, vec![ch], empty)
            }
            Formula::And(xs) | Formula::Or(xs) => {
                let is_and = matches!(f, Formula::And(_));
                let children: Vec<u32> = xs.iter().map(|x| self.add(x)).collect();
                let empty = if is_and {
                    children.iter().all(|&c| self.empty[c as usize])
                } else {
                    children.iter().any(|&c| self.empty[c as usize])
                };
                self.push(if is_and { Gate::And } else { Gate::Or }, children, empty)
            }
        }
    }

    /// Fresh per-line state.
    pub(crate) fn state(&self) -> CircuitState {
        CircuitState {
            value: vec![UNDECIDED; self.gates.len()],
            count: vec![0; self.gates.len()],
            is_touched: vec![false; self.gates.len()],
            ..CircuitState::default()
        }
    }

    /// Marks `g` and all its ancestors touched: "this line holds an atom
    /// below this gate", so the atom-free value no longer applies.
    fn touch(&self, st: &mut CircuitState, g: u32) {
        let mut stack = std::mem::take(&mut st.walk);
        stack.push(g);
        while let Some(g) = stack.pop() {
            if st.is_touched[g as usize] {
                continue;
            }
            st.is_touched[g as usize] = true;
            st.touched.push(g);
            if !self.root_of[g as usize].is_empty() {
                st.touched_roots.push(g);
                for &r in &self.root_of[g as usize] {
                    if self.empty[self.roots[r as usize] as usize] {
                        st.touched_empty_true += 1;
                    }
                }
            }
            stack.extend_from_slice(&self.parents[g as usize]);
        }
        st.walk = stack;
    }

    /// Records that atom `a` occurs on the line. Returns true when some
    /// rule became decided true.
    pub(crate) fn see(&self, st: &mut CircuitState, a: AtomId) -> bool {
        let leaf = self.leaf[a.index()];
        if st.value[leaf as usize] != UNDECIDED {
            return false;
        }
        let mut any_true = false;
        let mut stack = std::mem::take(&mut st.work);
        stack.push((leaf, TRUE));
        while let Some((g, v)) = stack.pop() {
            if st.value[g as usize] != UNDECIDED {
                continue;
            }
            self.touch(st, g);
            st.value[g as usize] = v;
            let rules = self.root_of[g as usize].len();
            st.decided_rules += rules;
            any_true |= v == TRUE && rules > 0;
            for &p in &self.parents[g as usize] {
                if st.value[p as usize] != UNDECIDED {
                    continue;
                }
                let n = self.children[p as usize].len() as u32;
                let decided = match (self.gates[p as usize], v) {
                    (Gate::Not, v) => Some(if v == TRUE { FALSE } else { TRUE }),
                    (Gate::And, FALSE) | (Gate::Or, TRUE) => Some(v),
                    (Gate::And, _) | (Gate::Or, _) => {
                        st.count[p as usize] += 1;
                        (st.count[p as usize] == n).then_some(v)
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
        match st.value[g as usize] {
            TRUE => return true,
            FALSE => return false,
            _ => {}
        }
        if !st.is_touched[g as usize] {
            return self.empty[g as usize];
        }
        let ch = &self.children[g as usize];
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
        st.touched_empty_true < self.empty_true.len()
            || st.touched_roots.iter().any(|&g| self.fin(st, g))
    }

    /// The rules that select the line, ascending.
    pub(crate) fn matching(&self, st: &CircuitState, out: &mut Vec<u32>) {
        out.clear();
        for &g in &st.touched_roots {
            if self.fin(st, g) {
                out.extend_from_slice(&self.root_of[g as usize]);
            }
        }
        for &r in &self.empty_true {
            if !st.is_touched[self.roots[r as usize] as usize] {
                out.push(r);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Forgets the line.
    pub(crate) fn reset(&self, st: &mut CircuitState) {
        for g in st.touched.drain(..) {
            st.value[g as usize] = UNDECIDED;
            st.count[g as usize] = 0;
            st.is_touched[g as usize] = false;
        }
        st.touched_roots.clear();
        st.decided_rules = 0;
        st.touched_empty_true = 0;
    }
}
