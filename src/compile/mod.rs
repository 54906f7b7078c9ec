//! Formulas over atoms → a [`Program`] that decides lines.
//!
//! # How a line is decided
//!
//! All atoms of all rules are patterns of **one** multi-pattern automaton
//! (a lazily built DFA from `regex-automata`, match kind *all*, so that
//! every pattern that occurs anywhere in the line is reported). The program
//! walks a line once, left to right, one transition per byte; there is no
//! backtracking and no look-around. Its state is the DFA state plus the set
//! of atoms seen so far on this line, which changes only in match states.
//! Each time new atoms are seen, the rules that mention them are evaluated
//! three-valued ([`Formula::decided`]); once the answer cannot change, the
//! rest of the line is skipped. At the end of the line each rule's formula
//! is read off the seen set.
//!
//! Before that, a literal [`Prefilter`] finds candidate lines: with a
//! prefilter, lines without any of its literals are never looked at.
//!
//! # Bounds and the slow path
//!
//! The automaton's NFA is bounded by [`Config::nfa_size_limit`] and its
//! transition cache by [`Config::dfa_cache_capacity`]. When the NFA cannot
//! be built within the bound, or a line makes the DFA give up (a Unicode
//! word boundary on non-ASCII text), that line is decided by the
//! [`Oracle`], which tests each atom on its own: slower, never wrong.

pub mod prefilter;

use regex_automata::{
    hybrid::dfa::{Cache as DfaCache, DFA},
    nfa::thompson,
    util::syntax,
    Input, MatchKind,
};

pub use prefilter::Prefilter;

use crate::lower::{Atom, AtomId, Formula};
use crate::oracle::Oracle;

/// Which engine decides lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// The automaton, falling back to the oracle when it cannot be built.
    #[default]
    Auto,
    /// Always the per-atom oracle (the slow exact path).
    Oracle,
}

/// Compiler options. Every strategy is forceable so tests can reach it.
#[derive(Clone, Debug)]
pub struct Config {
    /// Use the literal prefilter when one exists (default true).
    pub prefilter: bool,
    /// The engine.
    pub engine: Engine,
    /// Bound on the automaton's NFA, in bytes (default 256 MiB).
    pub nfa_size_limit: usize,
    /// Bound on the lazy DFA's transition cache, in bytes (default 64 MiB).
    pub dfa_cache_capacity: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            prefilter: true,
            engine: Engine::Auto,
            nfa_size_limit: 256 << 20,
            dfa_cache_capacity: 64 << 20,
        }
    }
}

/// A compiled set of rules. Immutable and shareable across threads; each
/// thread searches with its own [`Cache`].
#[derive(Debug)]
pub struct Program {
    atoms: Vec<Atom>,
    rules: Vec<Formula>,
    /// For each atom, the rules that mention it.
    atom_rules: Vec<Vec<u32>>,
    /// Rules that are true on a line where no atom occurs.
    empty_true: Vec<u32>,
    /// How many rules mention at least one atom.
    rules_with_atoms: usize,
    dfa: Option<DFA>,
    oracle: Oracle,
    prefilter: Option<Prefilter>,
}

/// Per-thread mutable state of a search.
#[derive(Debug)]
pub struct Cache {
    dfa: Option<DfaCache>,
    seen: Vec<bool>,
    seen_list: Vec<AtomId>,
    rule_touched: Vec<bool>,
    touched_list: Vec<u32>,
}

/// Why a program could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError(pub String);

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CompileError {}

impl Program {
    /// Compiles rules' formulas over `atoms`.
    ///
    /// # Errors
    /// An atom that no engine can compile (e.g. a regex too large even for
    /// the oracle).
    pub fn new(
        atoms: &[Atom],
        rules: &[Formula],
        config: &Config,
    ) -> Result<Program, CompileError> {
        let oracle = Oracle::new(atoms, rules).map_err(CompileError)?;
        let dfa = match config.engine {
            Engine::Oracle => None,
            Engine::Auto if atoms.is_empty() => None,
            Engine::Auto => build_dfa(atoms, config).ok(),
        };
        let mut atom_rules = vec![Vec::new(); atoms.len()];
        let mut empty_true = Vec::new();
        for (r, f) in rules.iter().enumerate() {
            let r = u32::try_from(r).expect("fewer than 2^32 rules");
            for a in f.atoms() {
                atom_rules[a.index()].push(r);
            }
            if f.eval(&|_| false) {
                empty_true.push(r);
            }
        }
        let prefilter = if config.prefilter {
            let mut all = Vec::new();
            let mut ok = true;
            for f in rules {
                match prefilter::cover(f, atoms) {
                    Some(lits) => all.extend(lits),
                    None => ok = false,
                }
            }
            if ok {
                Prefilter::new(all)
            } else {
                None
            }
        } else {
            None
        };
        Ok(Program {
            atoms: atoms.to_vec(),
            rules: rules.to_vec(),
            atom_rules,
            empty_true,
            rules_with_atoms: rules.iter().filter(|f| !f.atoms().is_empty()).count(),
            dfa,
            oracle,
            prefilter,
        })
    }

    /// A fresh per-thread cache.
    pub fn create_cache(&self) -> Cache {
        Cache {
            dfa: self.dfa.as_ref().map(DFA::create_cache),
            seen: vec![false; self.atoms.len()],
            seen_list: Vec::new(),
            rule_touched: vec![false; self.rules.len()],
            touched_list: Vec::new(),
        }
    }

    /// The atoms, indexed by [`AtomId`].
    pub fn atoms(&self) -> &[Atom] {
        &self.atoms
    }

    /// The rules' formulas, in rule order.
    pub fn rules(&self) -> &[Formula] {
        &self.rules
    }

    /// The prefilter, if the program has one.
    pub fn prefilter(&self) -> Option<&Prefilter> {
        self.prefilter.as_ref()
    }

    /// True when lines are decided by the automaton (not the oracle).
    pub fn uses_automaton(&self) -> bool {
        self.dfa.is_some()
    }

    /// The automaton's NFA state count, if there is an automaton.
    pub fn nfa_states(&self) -> Option<usize> {
        self.dfa.as_ref().map(|d| d.get_nfa().states().len())
    }

    /// True when any rule selects `line` (a line without its `\n`).
    pub fn is_match(&self, cache: &mut Cache, line: &[u8]) -> bool {
        self.scan(cache, line, true);
        let any = self.touched_true(cache).next().is_some()
            || !self.empty_true_untouched(cache).is_empty();
        self.reset(cache);
        any
    }

    /// The rules (indices in rule order) that select `line`, ascending.
    pub fn matching_rules(&self, cache: &mut Cache, line: &[u8], out: &mut Vec<u32>) {
        out.clear();
        self.scan(cache, line, false);
        out.extend(self.touched_true(cache));
        out.extend(self.empty_true_untouched(cache));
        out.sort_unstable();
        self.reset(cache);
    }

    /// The first line starting at or after `from` (which must be the start
    /// of a line) that any rule selects, as the byte range of the line
    /// without its `\n`.
    pub fn find_line(
        &self,
        cache: &mut Cache,
        haystack: &[u8],
        from: usize,
    ) -> Option<(usize, usize)> {
        let mut pos = from;
        while pos < haystack.len() {
            let start = match &self.prefilter {
                Some(pf) => {
                    let hit = pf.find(haystack, pos)?;
                    memchr::memrchr(b'\n', &haystack[pos..hit]).map_or(pos, |i| pos + i + 1)
                }
                None => pos,
            };
            let end =
                memchr::memchr(b'\n', &haystack[start..]).map_or(haystack.len(), |i| start + i);
            if self.is_match(cache, &haystack[start..end]) {
                return Some((start, end));
            }
            pos = end + 1;
        }
        None
    }

    fn touched_true<'c>(&'c self, cache: &'c Cache) -> impl Iterator<Item = u32> + 'c {
        let seen = |a: AtomId| cache.seen[a.index()];
        cache.touched_list.iter().copied().filter(move |&r| self.rules[r as usize].eval(&seen))
    }

    fn empty_true_untouched(&self, cache: &Cache) -> Vec<u32> {
        self.empty_true.iter().copied().filter(|&r| !cache.rule_touched[r as usize]).collect()
    }

    fn reset(&self, cache: &mut Cache) {
        for a in cache.seen_list.drain(..) {
            cache.seen[a.index()] = false;
        }
        for r in cache.touched_list.drain(..) {
            cache.rule_touched[r as usize] = false;
        }
    }

    /// Records that atom `a` occurs in the current line.
    fn see(&self, cache: &mut Cache, a: AtomId) -> bool {
        if cache.seen[a.index()] {
            return false;
        }
        cache.seen[a.index()] = true;
        cache.seen_list.push(a);
        for &r in &self.atom_rules[a.index()] {
            if !cache.rule_touched[r as usize] {
                cache.rule_touched[r as usize] = true;
                cache.touched_list.push(r);
            }
        }
        true
    }

    /// True when every rule's value on this line is settled, or (with
    /// `any`) some rule is settled true.
    fn settled(&self, cache: &Cache, any: bool) -> bool {
        let seen = |a: AtomId| cache.seen[a.index()];
        let mut all = true;
        for &r in &cache.touched_list {
            match self.rules[r as usize].decided(&seen) {
                Some(true) if any => return true,
                Some(_) => {}
                None => all = false,
            }
        }
        // Untouched rules are settled only if they have no atoms at all.
        all && cache.touched_list.len() == self.rules_with_atoms
    }

    /// Fills the cache's seen set for `line`, stopping early once
    /// [`Program::settled`].
    fn scan(&self, cache: &mut Cache, line: &[u8], any: bool) {
        if let Some(dfa) = &self.dfa {
            let mut dcache = cache.dfa.take().expect("cache made by this program");
            let walked = self.scan_dfa(dfa, &mut dcache, cache, line, any);
            cache.dfa = Some(dcache);
            if walked.is_ok() {
                return;
            }
            // The DFA gave up on this line: the oracle decides it.
            self.reset(cache);
        }
        let matched = self.oracle.atoms_matching(line);
        for (i, m) in matched.into_iter().enumerate() {
            if m {
                self.see(cache, AtomId(i as u32));
            }
        }
    }

    /// Walks the DFA over one line, recording atoms as their match states
    /// are reached. `Err` if the DFA had to give up (quit byte).
    fn scan_dfa(
        &self,
        dfa: &DFA,
        dcache: &mut DfaCache,
        cache: &mut Cache,
        line: &[u8],
        any: bool,
    ) -> Result<(), ()> {
        let input = Input::new(line);
        let mut sid = dfa.start_state_forward(dcache, &input).map_err(|_| ())?;
        for &b in line {
            sid = dfa.next_state(dcache, sid, b).map_err(|_| ())?;
            if sid.is_tagged() {
                if sid.is_match() {
                    if self.record(dfa, dcache, sid, cache, any) {
                        return Ok(());
                    }
                } else if sid.is_dead() {
                    return Ok(());
                } else if sid.is_quit() {
                    return Err(());
                }
            }
        }
        sid = dfa.next_eoi_state(dcache, sid).map_err(|_| ())?;
        if sid.is_quit() {
            return Err(());
        }
        if sid.is_match() {
            self.record(dfa, dcache, sid, cache, any);
        }
        Ok(())
    }

    /// Records the atoms of a match state; true when the line is settled.
    fn record(
        &self,
        dfa: &DFA,
        dcache: &DfaCache,
        sid: regex_automata::hybrid::LazyStateID,
        cache: &mut Cache,
        any: bool,
    ) -> bool {
        let mut new = false;
        for i in 0..dfa.match_len(dcache, sid) {
            let pid = dfa.match_pattern(dcache, sid, i);
            new |= self.see(cache, AtomId(pid.as_u32()));
        }
        new && self.settled(cache, any)
    }
}

fn build_dfa(atoms: &[Atom], config: &Config) -> Result<DFA, String> {
    let patterns: Vec<String> = atoms.iter().map(Atom::to_regex).collect();
    DFA::builder()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .unicode_word_boundary(true)
                .cache_capacity(config.dfa_cache_capacity)
                .skip_cache_capacity_check(true),
        )
        .syntax(syntax::Config::new().utf8(false))
        .thompson(thompson::Config::new().utf8(false).nfa_size_limit(Some(config.nfa_size_limit)))
        .build_many(&patterns)
        .map_err(|e| e.to_string())
}
