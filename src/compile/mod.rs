//! Formulas over atoms → a [`Program`] that decides lines.
//!
//! # How a line is decided
//!
//! All atoms of all rules feed **one** multi-pattern scanner over their
//! literal pieces (see [`matcher`] for how sequences, case folding and the
//! rare complex atoms are handled): an Aho-Corasick DFA, or for thousands
//! of patterns hashed four-byte windows ([`grams`]). A line is walked
//! once, left to right, constant work per byte plus work per reported
//! piece; there is no backtracking and no look-around. The program's state
//! is the scanner's plus the set of atoms seen so far on this line.
//!
//! What happens to a seen atom depends on the question and on the number
//! of rules ([`AnyRule`]):
//!
//! - "Does any rule select this line", with few rules: each time a new
//!   atom is seen, the circuit evaluates the rules that mention it
//!   three-valued ([`Formula::decided`]); once the answer cannot change,
//!   the rest of the line is skipped. At the end of the line each rule's
//!   formula is read off the seen set; rules none of whose atoms occurred
//!   take their precomputed value on an atom-free line.
//! - "Which rules select this line", and the first question with many
//!   rules: the atom is only recorded, and at the end of the line the
//!   rules one of whose trigger atoms occurred are evaluated (see
//!   [`attribute`]). With many rules a common atom sits under hundreds of
//!   gates, and pushing it up through all of them costs more than a scan
//!   to the end of the line.
//!
//! Before that, a literal [`Prefilter`] finds candidate lines: with a
//! prefilter, lines without any of its literals are never looked at.
//!
//! In Sigma semantics with many rules, a candidate line's logsource is read
//! first ([`route`]): a Windows event's `Channel` and `EventID`, or a plain
//! line's shape. It picks a *route*, a program over only the rules whose
//! logsource may run there, and that route's automaton scans the line
//! instead of the whole program's: still one scan per line, of a far
//! smaller automaton. Lines of unknown source are scanned by the whole
//! program.
//!
//! # Bounds and the exact path
//!
//! The automaton is bounded by [`Config::automaton_size_limit`]. Past the
//! bound, lines are decided by each atom's own regex ([`regexes`]),
//! tested on its own: slower, never wrong. (The oracle, the tests' twin,
//! evaluates the same way but shares no code with this path.)
//!
//! # Vocabulary
//!
//! How a line learns an atom's value depends on the atom's category. Each
//! term below has this one meaning throughout `compile/` (the verb
//! "check" keeps its plain sense: testing one atom on one line).
//!
//! - **Plain atom**: an atom the automaton decides from its literal pieces
//!   alone (a literal, pieces separated by `*`, spelled-out choices).
//!   Decided by `matcher` (`is_complex` is false).
//! - **Complex atom**: an atom that is not plain: a regex atom (`|re`,
//!   `cidr`), a `?` between two pieces, only `?`s and `*`s, or more
//!   spellings than the automaton takes. Its own regex decides it, run
//!   only on lines where one of its triggers occurs. Decided by
//!   `matcher` (`is_complex`).
//! - **Trigger**: one element of a cover of a complex atom or of a rule (a
//!   set one of whose elements occurs on every line where the atom or rule
//!   holds), so that lines without any of them need not look at it. A
//!   complex atom's triggers are literals in the automaton (`matcher`);
//!   a rule's triggers are atoms, chosen by `attribute`.
//! - **Untriggered**: a complex atom or a rule without triggers: looked
//!   at on every line (the atom's regex runs or it is deferred; the rule
//!   is evaluated). Decided by `matcher` and `attribute`.
//! - **Scanned atom**: an atom the line scan reports. Every atom, unless
//!   every question goes through attribution ([`AnyRule`]); then
//!   `attribute` decides which.
//! - **On-demand atom**: an atom that is not scanned. It is not in the
//!   automaton; attribution checks it on its own (`check`) when an
//!   evaluation reaches it, at most once per line. Decided by
//!   `attribute`.
//! - **Deferred** (a state on one line, not a category): a scanned complex
//!   atom that, when attribution scans a line, the scan reports only as
//!   *possibly* occurring (a trigger occurred, or it is untriggered, and
//!   the line is long enough); attribution runs its regex when an
//!   evaluation first needs the answer. `matcher` defers, `attribute`
//!   keeps the state.
//! - **Checked atom**: an atom whose value attribution may have to check
//!   while evaluating a rule: a complex or an on-demand atom. Subtrees
//!   that mention one are evaluated after their siblings (`attribute`).
//! - **Exact path**: atoms decided by their own regexes (`regexes`), on
//!   every line when there is no automaton ([`Engine::PerAtom`], or past
//!   the size bound). No line's content sends it there: the two
//!   characters the automaton's ASCII folding misses are read as their
//!   letters (`letters`).

mod attribute;
mod check;
mod circuit;
mod confirm;
mod grams;
mod letters;
mod matcher;
pub mod prefilter;
mod regexes;
mod route;
mod rows;

use std::sync::OnceLock;

use attribute::{AttributionState, Attributor};
use check::{AtomChecker, FoldedLine};
use circuit::{Circuit, CircuitState};
pub use matcher::LiteralScanner;
use matcher::{LineMatcher, LineState};

pub use prefilter::Prefilter;

use crate::event::{Event, RecordFields, Scratch};
use crate::lower::sigma::Predicate;
use crate::lower::{Atom, AtomId, Formula};
pub use confirm::ReferencePredicates;
use confirm::{Confirmer, Memo};
use regexes::AtomRegexes;
use route::{RouteCache, Router};

/// Which engine decides lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// The automaton, falling back to per-atom regexes past its size
    /// bound.
    #[default]
    Auto,
    /// Always per-atom regexes (the exact path).
    PerAtom,
}

/// How [`Program::find_line`] decides whether any rule selects a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AnyRule {
    /// The circuit for a few rules, attribution for many
    /// ([`ATTRIBUTION_MIN_RULES`]).
    #[default]
    Auto,
    /// The incremental circuit: every atom seen is pushed up through the
    /// gates above it, and the line stops as soon as a rule is true or all
    /// are decided. Best for a few rules.
    Circuit,
    /// Attribution: the line is scanned to its end, then only the rules
    /// one of whose triggers occurred are evaluated, until one is true.
    /// Best for many rules, where the circuit pays for hundreds of gates
    /// above each common atom.
    Attribution,
}

/// Whether Sigma semantics routes lines by their logsource (see
/// [`route`]): each line of a known source is scanned by a program of
/// only the rules that may run there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Routing {
    /// Routes from [`ROUTING_MIN_RULES`] rules on.
    #[default]
    Auto,
    /// Never: the whole program scans every line.
    Off,
    /// Whenever some rule has a logsource gate.
    On,
}

/// From this many rules on, [`Routing::Auto`] routes lines. With fewer,
/// one scan of every rule costs little, and decoding each line before its
/// scan would cost more than it saves.
pub const ROUTING_MIN_RULES: usize = 64;

/// From this many rules on, [`AnyRule::Auto`] decides lines by
/// attribution. Measured with `-c` on the generated corpora: with the 150
/// Linux rules attribution is 1.6x faster than the circuit, with 22 rules
/// 1.2x; with 1 to 8 rules the two are even, and the circuit's early stop
/// is kept.
pub const ATTRIBUTION_MIN_RULES: usize = 16;

/// Compiler options. Every strategy is forceable so tests can reach it.
#[derive(Clone, Debug)]
pub struct Config {
    /// Use the literal prefilter when one exists (default true).
    pub prefilter: bool,
    /// The engine.
    pub engine: Engine,
    /// Bound on the automaton's memory, in bytes (default 1 GiB).
    pub automaton_size_limit: usize,
    /// How lines are decided when no attribution is asked for.
    pub any_rule: AnyRule,
    /// Whether Sigma semantics routes lines by their logsource.
    pub routing: Routing,
    /// What finds the literals of a large automaton's patterns.
    pub scanner: LiteralScanner,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            prefilter: true,
            engine: Engine::Auto,
            automaton_size_limit: 1 << 30,
            any_rule: AnyRule::Auto,
            routing: Routing::Auto,
            scanner: LiteralScanner::Auto,
        }
    }
}

/// A compiled set of rules. Immutable and shareable across threads; each
/// thread searches with its own [`Cache`].
#[derive(Debug)]
pub struct Program {
    atoms: Vec<Atom>,
    rules: Vec<Formula>,
    circuit: Circuit,
    attributor: Attributor,
    /// Attribution's checks of single atoms.
    checker: AtomChecker,
    /// Built on first use when lines are routed (most lines are then
    /// scanned by their route's automaton, and this one, over every rule,
    /// costs a good part of the compile); otherwise built with the program.
    matcher: OnceLock<Option<LineMatcher>>,
    /// What the matcher is built from.
    matcher_spec: MatcherSpec,
    /// Each atom's regex: the exact path.
    regexes: AtomRegexes,
    prefilter: Option<Prefilter>,
    /// Some rule is the constant `true` (e.g. a selection of one empty
    /// value): every line is selected, and "does any rule select this
    /// line" needs no scan.
    selects_every_line: bool,
    /// [`Program::is_match`] decides by attribution, not by the circuit.
    any_by_attribution: bool,
    /// Sigma semantics: the rules' exact predicates, which confirm the
    /// rules whose formula (their trigger) holds on a line.
    confirmer: Option<Confirmer>,
    /// Sigma semantics: the logsource routes of lines.
    router: Option<Router>,
}

/// What [`Program::matcher`] is built from.
#[derive(Debug)]
struct MatcherSpec {
    /// Which atoms the scan reports.
    scanned: Vec<bool>,
    size_limit: usize,
    scanner: LiteralScanner,
}

/// Per-thread mutable state of a search.
#[derive(Debug)]
pub struct Cache {
    /// Boxed, as is `fields`: a line takes both out of the cache and puts
    /// them back, which moves a pointer rather than hundreds of bytes.
    line: Option<Box<LineState>>,
    circuit: CircuitState,
    attribution: AttributionState,
    /// The complex atoms the scan defers on the line (attribution runs
    /// their regexes when an evaluation needs them).
    deferred: Vec<AtomId>,
    folded: FoldedLine,
    /// The decoded fields of the current line (Sigma semantics).
    fields: Option<Box<Scratch>>,
    /// The answers of the current line's field checks (Sigma semantics).
    memo: Option<Memo>,
    /// The triggered rules of a line, while `is_match` confirms them.
    triggered: Vec<u32>,
    /// The routes this thread has used (Sigma semantics).
    routes: RouteCache,
    /// The event-log records of the input searched, if it is one.
    records: Option<RecordEvents>,
}

/// The event-log records of an input rendered as lines (see
/// [`crate::search::evtx`]): in Sigma semantics a rendered line's fields
/// are its record's, taken from the parsed record, and the line itself is
/// only scanned (for the triggers and keywords).
///
/// Lines are found by their start in the rendered text, so the haystack
/// given to [`Program::find_line`] must be the whole text.
#[derive(Debug, Default)]
pub struct RecordEvents {
    /// The offset of each line's first byte, ascending.
    starts: Vec<usize>,
    /// The fields of each line's record.
    fields: Vec<RecordFields>,
}

impl RecordEvents {
    /// The records of `text`, one line (ending in LF) per record; the
    /// fields back when the lines and the records do not pair up.
    pub fn new(text: &[u8], fields: Vec<RecordFields>) -> Result<RecordEvents, Vec<RecordFields>> {
        let mut starts = Vec::with_capacity(fields.len());
        let mut at = 0;
        while at < text.len() {
            starts.push(at);
            at = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i + 1);
        }
        if starts.len() != fields.len() {
            return Err(fields);
        }
        Ok(RecordEvents { starts, fields })
    }

    /// Gives the records' fields back.
    pub fn into_fields(self) -> Vec<RecordFields> {
        self.fields
    }

    /// The fields of the record whose line starts at `at`.
    fn at(&self, at: usize) -> Option<&RecordFields> {
        self.starts.binary_search(&at).ok().map(|i| &self.fields[i])
    }
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
    /// An atom whose regex cannot be compiled (e.g. too large even for
    /// the exact path's bound).
    pub fn new(
        atoms: &[Atom],
        rules: &[Formula],
        config: &Config,
    ) -> Result<Program, CompileError> {
        Program::build(atoms, rules, None, config, false, false)
    }

    /// Compiles rules in Sigma semantics: `triggers[i]` is rule `i`'s
    /// formula, a necessary condition found by the scan, and
    /// `predicates[i]` its exact meaning on a line's fields, decided only
    /// where the trigger holds (see [`crate::lower::sigma`]).
    ///
    /// # Errors
    /// As [`Program::new`], and a field pattern that cannot be compiled.
    pub fn with_predicates(
        atoms: &[Atom],
        triggers: &[Formula],
        predicates: &[Predicate],
        config: &Config,
    ) -> Result<Program, CompileError> {
        assert_eq!(triggers.len(), predicates.len(), "one predicate per rule");
        let router = match config.routing {
            Routing::Auto if triggers.len() >= ROUTING_MIN_RULES => Router::new(predicates, config),
            Routing::On => Router::new(predicates, config),
            Routing::Auto | Routing::Off => None,
        };
        let confirmer = Some(Confirmer::new(predicates)?);
        let routed = router.is_some();
        let mut program = Program::build(atoms, triggers, confirmer, config, routed, routed)?;
        program.router = router;
        Ok(program)
    }

    /// `lazy_matcher`: build the line matcher on first use. `fast_only`:
    /// no prefilter rather than a slow one ([`Prefilter::fast`]).
    fn build(
        atoms: &[Atom],
        rules: &[Formula],
        confirmer: Option<Confirmer>,
        config: &Config,
        lazy_matcher: bool,
        fast_only: bool,
    ) -> Result<Program, CompileError> {
        let regexes = AtomRegexes::new(atoms).map_err(CompileError)?;
        // Confirming needs to know which rules a line triggered.
        let any_by_attribution = confirmer.is_some()
            || match config.any_rule {
                AnyRule::Auto => rules.len() >= ATTRIBUTION_MIN_RULES,
                AnyRule::Circuit => false,
                AnyRule::Attribution => true,
            };
        let complex: Vec<bool> = atoms.iter().map(matcher::is_complex).collect();
        // When every question goes through attribution, the scan need not
        // report the atoms that only matter once a rule is evaluated.
        let attributor = Attributor::new(atoms, rules, &complex, any_by_attribution);
        let circuit = Circuit::new(atoms.len(), rules);
        // Without an automaton the regexes decide every atom up front, and
        // attribution's checks of on-demand atoms only confirm what the
        // regexes said.
        let matcher_spec = MatcherSpec {
            scanned: attributor.scanned_atoms().to_vec(),
            size_limit: config.automaton_size_limit,
            scanner: config.scanner,
        };
        let matcher = OnceLock::new();
        match config.engine {
            Engine::PerAtom => {
                let _ = matcher.set(None);
            }
            Engine::Auto if atoms.is_empty() => {
                let _ = matcher.set(None);
            }
            Engine::Auto if lazy_matcher => {}
            Engine::Auto => {
                let built = LineMatcher::new(
                    atoms,
                    &matcher_spec.scanned,
                    matcher_spec.size_limit,
                    matcher_spec.scanner,
                );
                let _ = matcher.set(built);
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
            if !ok {
                None
            } else if fast_only {
                // A slow prefilter (an automaton over thousands of
                // literals) costs its build and a walk of each line before
                // the line's scan, which walks the line anyway.
                Prefilter::fast(all)
            } else {
                Prefilter::new(all)
            }
        } else {
            None
        };
        let on_demand: Vec<bool> = attributor.scanned_atoms().iter().map(|&s| !s).collect();
        let checker = AtomChecker::new(atoms, &on_demand);
        Ok(Program {
            checker,
            atoms: atoms.to_vec(),
            rules: rules.to_vec(),
            circuit,
            attributor,
            matcher,
            matcher_spec,
            regexes,
            prefilter,
            // A trigger that always holds still needs its confirmation.
            selects_every_line: confirmer.is_none() && rules.contains(&Formula::Const(true)),
            any_by_attribution,
            confirmer,
            router: None,
        })
    }

    /// The line matcher, built now if it was not yet; `None` when lines
    /// are decided without one.
    fn matcher(&self) -> Option<&LineMatcher> {
        self.matcher
            .get_or_init(|| {
                let spec = &self.matcher_spec;
                LineMatcher::new(&self.atoms, &spec.scanned, spec.size_limit, spec.scanner)
            })
            .as_ref()
    }

    /// Which atoms match somewhere in `line`, each by its own regex.
    fn atoms_matching(&self, line: &[u8]) -> Vec<bool> {
        (0..self.regexes.len()).map(|i| self.regexes.is_match(i, line)).collect()
    }

    /// A fresh per-thread cache.
    pub fn create_cache(&self) -> Cache {
        Cache {
            // Made on the first line the matcher scans.
            line: None,
            circuit: self.circuit.state(),
            attribution: self.attributor.state(),
            deferred: Vec::new(),
            folded: FoldedLine::default(),
            fields: None,
            memo: self.confirmer.as_ref().map(Confirmer::memo),
            triggered: Vec::new(),
            routes: RouteCache::default(),
            records: None,
        }
    }

    /// Makes the lines of the next haystacks searched with `cache` stand
    /// for the event-log records `records` (Sigma semantics; see
    /// [`RecordEvents`]), or for themselves again with `None`; returns the
    /// records given before.
    pub fn set_records(
        &self,
        cache: &mut Cache,
        records: Option<RecordEvents>,
    ) -> Option<RecordEvents> {
        std::mem::replace(&mut cache.records, records)
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

    /// True when lines are decided by the automaton (not per-atom regexes).
    pub fn uses_automaton(&self) -> bool {
        self.matcher().is_some()
    }

    /// Atoms checked with their own regex: (the scanned complex atoms, the
    /// untriggered ones among them, checked on every line). Without an
    /// automaton, every atom on every line.
    pub fn complex_atoms(&self) -> (usize, usize) {
        self.matcher().map_or((self.atoms.len(), self.atoms.len()), LineMatcher::complex_atoms)
    }

    /// The number of on-demand atoms: the line scan does not report them,
    /// attribution checks them on their own when a rule's evaluation needs
    /// them.
    pub fn on_demand_atoms(&self) -> usize {
        self.attributor.scanned_atoms().iter().filter(|&&s| !s).count()
    }

    /// The number of literal patterns the line matcher looks for (in its
    /// automaton or its one-byte table), if there is an automaton.
    pub fn automaton_patterns(&self) -> Option<usize> {
        self.matcher().map(LineMatcher::patterns)
    }

    /// True when any rule selects `line` (a line without its `\n`), decided
    /// as [`Config::any_rule`] says.
    pub fn is_match(&self, cache: &mut Cache, line: &[u8]) -> bool {
        self.is_match_at(cache, line, None)
    }

    /// [`Program::is_match`] for the line starting at `at` in the haystack
    /// (which finds its record, if any).
    fn is_match_at(&self, cache: &mut Cache, line: &[u8], at: Option<usize>) -> bool {
        if self.selects_every_line {
            return true;
        }
        if self.confirmer.is_some() {
            let mut rules = std::mem::take(&mut cache.triggered);
            self.matching_rules_at(cache, line, at, &mut rules);
            let any = !rules.is_empty();
            cache.triggered = rules;
            return any;
        }
        if self.any_by_attribution {
            self.attribution_scan(cache, line);
            let folded = &mut cache.folded;
            return self.attributor.any(&mut cache.attribution, &mut |a| {
                self.checker.check(&self.regexes, a as usize, line, folded)
            });
        }
        self.scan(cache, line, true);
        let any = self.circuit.any(&cache.circuit);
        self.circuit.reset(&mut cache.circuit);
        any
    }

    /// The rules (indices in rule order) that select `line`, ascending.
    ///
    /// In Sigma semantics the rules whose formulas (triggers) hold are then
    /// confirmed on the line's event, decoded at most once; with a router,
    /// the line's route finds them, and the event decoded to route the line
    /// is the one confirmed.
    pub fn matching_rules(&self, cache: &mut Cache, line: &[u8], out: &mut Vec<u32>) {
        self.matching_rules_at(cache, line, None, out);
    }

    /// [`Program::matching_rules`] for the line starting at `at` in the
    /// haystack: an event-log record's line is confirmed on the record's
    /// fields (see [`RecordEvents`]).
    fn matching_rules_at(
        &self,
        cache: &mut Cache,
        line: &[u8],
        at: Option<usize>,
        out: &mut Vec<u32>,
    ) {
        let (Some(confirmer), Some(mut memo)) = (&self.confirmer, cache.memo.take()) else {
            self.triggered_rules(cache, line, out);
            return;
        };
        let records = cache.records.take();
        let record = records.as_ref().zip(at).and_then(|(records, at)| records.at(at));
        let mut scratch = cache.fields.take().unwrap_or_default();
        let mut event = match record {
            Some(fields) => Event::from_record(fields),
            None => Event::new(line, &mut scratch),
        };
        let routed = self.router.as_ref().and_then(|router| {
            router.route(&mut cache.routes, line, &mut event, &self.atoms, &self.rules)
        });
        match routed {
            Some((route, route_cache)) => route.triggered(route_cache, line, out),
            None => self.triggered_rules(cache, line, out),
        }
        if !out.is_empty() {
            memo.next_line();
            out.retain(|&r| confirmer.holds(r as usize, line, &mut event, &mut memo));
        }
        cache.fields = Some(scratch);
        cache.memo = Some(memo);
        cache.records = records;
    }

    /// The rules whose formulas hold on `line`, by the whole program's scan
    /// and attribution.
    fn triggered_rules(&self, cache: &mut Cache, line: &[u8], out: &mut Vec<u32>) {
        self.attribution_scan(cache, line);
        let folded = &mut cache.folded;
        self.attributor.finish(&mut cache.attribution, out, &mut |a| {
            self.checker.check(&self.regexes, a as usize, line, folded)
        });
    }

    /// The number of logsource routes compiled so far (Sigma semantics).
    pub fn routes_compiled(&self) -> usize {
        self.router.as_ref().map_or(0, Router::routes)
    }

    /// True when the program confirms rules on fields (Sigma semantics).
    pub fn confirms_fields(&self) -> bool {
        self.confirmer.is_some()
    }

    /// Records in the attribution state which scanned atoms occur on
    /// `line` (complex atoms: which are deferred), ready for
    /// [`Attributor::finish`] or [`Attributor::any`], whose `check` decides
    /// deferred and on-demand atoms.
    fn attribution_scan(&self, cache: &mut Cache, line: &[u8]) {
        let attributor = &self.attributor;
        let st = &mut cache.attribution;
        attributor.begin(st);
        cache.folded.reset();
        if let Some(matcher) = self.matcher() {
            let mut state = cache.line.take().unwrap_or_else(|| Box::new(matcher.state()));
            let deferred = &mut cache.deferred;
            deferred.clear();
            matcher.scan(
                line,
                &mut state,
                &self.regexes,
                &mut |a| {
                    attributor.see(st, a.0);
                    false
                },
                Some(deferred),
            );
            for a in deferred.iter() {
                attributor.defer(st, a.0);
            }
            cache.line = Some(state);
            return;
        }
        for (i, m) in self.atoms_matching(line).into_iter().enumerate() {
            if m {
                attributor.see(st, i as u32);
            }
        }
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
        self.find(cache, haystack, from, None)
    }

    /// Like [`Program::find_line`], also filling `rules` with the rules
    /// that select the line found (one scan of the line does both).
    pub fn find_line_rules(
        &self,
        cache: &mut Cache,
        haystack: &[u8],
        from: usize,
        rules: &mut Vec<u32>,
    ) -> Option<(usize, usize)> {
        if self.rules.len() == 1 {
            // The one rule selects every line found: no attribution scan
            // (it cost `--json` half again the time of `-c` at 1% matches).
            rules.clear();
            let found = self.find(cache, haystack, from, None);
            if found.is_some() {
                rules.push(0);
            }
            return found;
        }
        self.find(cache, haystack, from, Some(rules))
    }

    fn find(
        &self,
        cache: &mut Cache,
        haystack: &[u8],
        from: usize,
        mut rules: Option<&mut Vec<u32>>,
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
            let line = &haystack[start..end];
            let selected = match rules.as_deref_mut() {
                Some(out) => {
                    self.matching_rules_at(cache, line, Some(start), out);
                    !out.is_empty()
                }
                None => self.is_match_at(cache, line, Some(start)),
            };
            if selected {
                return Some((start, end));
            }
            pos = end + 1;
        }
        None
    }

    /// Fills the circuit state for `line`, stopping early once the answer
    /// cannot change: once every rule is decided, and with `any` as soon as
    /// a rule became true.
    fn scan(&self, cache: &mut Cache, line: &[u8], any: bool) {
        if let Some(matcher) = self.matcher() {
            let mut state = cache.line.take().unwrap_or_else(|| Box::new(matcher.state()));
            let circuit = &mut cache.circuit;
            matcher.scan(
                line,
                &mut state,
                &self.regexes,
                &mut |a| {
                    let became_true = self.circuit.see(circuit, a);
                    (any && became_true) || self.circuit.all_decided(circuit)
                },
                None,
            );
            cache.line = Some(state);
            return;
        }
        let matched = self.atoms_matching(line);
        for (i, m) in matched.into_iter().enumerate() {
            if m {
                self.circuit.see(&mut cache.circuit, AtomId(i as u32));
            }
        }
    }
}
