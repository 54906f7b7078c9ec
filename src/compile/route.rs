//! Logsource routing (Sigma semantics): a line's source, read before the
//! scan, picks a program that scans the line for only the rules that may
//! run there.
//!
//! Every rule's predicate begins with its logsource gates
//! ([`Predicate::Windows`], [`Predicate::Product`]). Of a whole rule set,
//! most rules cannot run on a given line (a Linux rule on a Windows event,
//! a registry rule on a process creation), yet each costs the scan its
//! patterns and attribution its evaluation before its gate says no. So the
//! source is read first:
//!
//! * an event with a `Channel` (the line is decoded for it; the
//!   confirmation reuses that decode): the Windows gates its `Channel` and
//!   `EventID`s fit;
//! * a line without one whose shape tells its source ([`text_source`]),
//!   and whether it has fields (such a line has none: the rules that name
//!   a field cannot hold there, and only keyword rules run);
//! * any other line without fields: the keyword rules of every product
//!   (an application's log, a syslog line of a shape not told);
//! * any other line (fields, but no `Channel`) has no route: every rule
//!   may run there, and the whole program scans it.
//!
//! The rules whose gates may hold on such lines make a **route**: a
//! program over only their triggers, compiled when the first line that
//! needs it arrives, then shared by all threads. Routes are keyed by their
//! rule set, so the many event ids of one channel that no gate names
//! share one route.
//!
//! # Invariants
//!
//! * A route's rules include every rule whose gates hold on a line routed
//!   there. The only part of a gate routing ignores is its extra fields
//!   (`others`), which the confirmation still checks. So routing changes
//!   what a line costs, never which rules select it; the tests compare
//!   routed and unrouted programs.
//! * Bounded: a program compiles at most [`MAX_ROUTES`] routes; lines that
//!   would need another are scanned by the whole program (slower, never
//!   wrong). A log names its own channels, but the routes it can make are
//!   bounded by the rules' gates, and their count by [`MAX_ROUTES`]. Each
//!   thread remembers the route of at most [`MAX_KEYS`] distinct
//!   (`Channel`, `EventID`) values, then starts over; values longer than
//!   [`MAX_KEY_BYTES`] in all make no route.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Cache, Config, LiteralScanner, Program};
use crate::event::{text_source, Event, TextSource};
use crate::lower::logsource::WindowsGate;
use crate::lower::sigma::Predicate;
use crate::lower::{Atom, AtomId, Formula};

/// At most this many routes are compiled per program.
pub const MAX_ROUTES: usize = 24;

/// Each thread remembers the route of at most this many distinct
/// (`Channel`, `EventID`) values at once.
pub const MAX_KEYS: usize = 1024;

/// A line whose `Channel` and `EventID` values take more than this many
/// bytes (a hostile line: thousands of event ids, a megabyte channel name)
/// has no route: remembering it would cost its length, and choosing its
/// rules would cost its length times the gates.
pub const MAX_KEY_BYTES: usize = 512;

/// The logsource gates of every rule, and the routes compiled so far
/// (immutable but for the route table; shared by threads).
#[derive(Debug)]
pub(crate) struct Router {
    /// The distinct Windows gates of the rules.
    gates: Vec<WindowsGate>,
    /// Each rule's Windows gate (an index in `gates`); `None` when it runs
    /// on every Windows event.
    windows: Vec<Option<u32>>,
    /// Each rule's product (lowercase), which decides on lines whose shape
    /// tells their source; `None` when the rule has none.
    products: Vec<Option<String>>,
    /// Each rule names fields (its predicate has an [`Predicate::AnyField`]
    /// gate): it cannot hold on a line without fields.
    needs_fields: Vec<bool>,
    /// What routes are compiled with.
    config: Config,
    table: Mutex<Table>,
}

/// The routes compiled so far.
#[derive(Debug, Default)]
struct Table {
    /// A route's rules (a bit per rule) to its index in `routes`.
    by_rules: HashMap<Vec<u64>, usize>,
    routes: Vec<Arc<Route>>,
}

/// The program of one route.
#[derive(Debug)]
pub(crate) struct Route {
    /// Over the triggers of the route's rules that have one; `None` when
    /// none has.
    program: Option<Program>,
    /// Those rules, in rule order: the program's rule `i` is `rules[i]`.
    rules: Vec<u32>,
    /// The route's rules whose trigger is `true` (every value too short or
    /// not written as it is), in rule order: triggered on every line, kept
    /// out of the program so that its prefilter can skip lines.
    always: Vec<u32>,
}

/// A thread's routing state (in its [`Cache`]).
#[derive(Debug, Default)]
pub(crate) struct RouteCache {
    /// A line source's key to its route (`None`: the whole program).
    by_key: HashMap<Vec<u8>, Option<usize>>,
    key: Vec<u8>,
    /// Each route this thread has used, with its own cache.
    routes: Vec<Option<(Arc<Route>, Option<Cache>)>>,
}

impl Router {
    /// The router of rules with these predicates, or `None` when no rule
    /// has a gate (routing would not narrow anything).
    pub(crate) fn new(predicates: &[Predicate], config: &Config) -> Option<Router> {
        let mut gates: Vec<WindowsGate> = Vec::new();
        let mut windows = Vec::with_capacity(predicates.len());
        let mut products = Vec::with_capacity(predicates.len());
        let mut needs_fields = Vec::with_capacity(predicates.len());
        for p in predicates {
            let (gate, product, names_fields) = gates_of(p);
            needs_fields.push(names_fields);
            windows.push(gate.map(|g| {
                let i = gates.iter().position(|h| h == g).unwrap_or_else(|| {
                    gates.push(g.clone());
                    gates.len() - 1
                });
                u32::try_from(i).expect("fewer than 2^32 gates")
            }));
            products.push(product.map(str::to_string));
        }
        if windows.iter().all(Option::is_none) && products.iter().all(Option::is_none) {
            return None;
        }
        Some(Router {
            gates,
            windows,
            products,
            needs_fields,
            config: config.clone(),
            table: Mutex::default(),
        })
    }

    /// The number of routes compiled so far.
    pub(crate) fn routes(&self) -> usize {
        self.table.lock().expect("route table").routes.len()
    }

    /// The route of the line whose event is `event`, with this thread's
    /// cache for it; `None` when the whole program must scan the line. A
    /// new route is compiled from the program's `atoms` and `triggers`.
    pub(crate) fn route<'c>(
        &self,
        st: &'c mut RouteCache,
        line: &[u8],
        event: &mut Event<'_>,
        atoms: &[Atom],
        triggers: &[Formula],
    ) -> Option<(&'c Route, Option<&'c mut Cache>)> {
        let key = &mut st.key;
        key.clear();
        // Through the event's remembered lookups: the confirmation asks
        // for the same two fields.
        if let Some(channel) = event.values("Channel").next() {
            key.push(b'W');
            key.extend(channel.iter().map(u8::to_ascii_lowercase));
        }
        if !key.is_empty() {
            for id in event.values("EventID") {
                key.push(0);
                key.extend_from_slice(id);
                if key.len() > MAX_KEY_BYTES {
                    return None;
                }
            }
        }
        if key.len() > MAX_KEY_BYTES {
            return None;
        }
        let source = if key.is_empty() {
            let source = text_source(line);
            let has_fields = !event.fields().is_empty();
            if source.is_none() && has_fields {
                // Every rule may run on it: the whole program.
                return None;
            }
            key.extend_from_slice(match source {
                Some(TextSource::HostSyslog) => b"S",
                Some(TextSource::WebServerError) => b"E",
                None => b"N",
            });
            key.push(u8::from(has_fields));
            Some((source, has_fields))
        } else {
            None
        };
        let index = match st.by_key.get(key.as_slice()) {
            Some(&index) => index,
            None => {
                let rules = match source {
                    Some((source, has_fields)) => self.text_rules(source, has_fields),
                    None => {
                        let fields = event.fields();
                        let channel = fields.values("Channel").next().unwrap_or_default();
                        let ids: Vec<&[u8]> = fields.values("EventID").collect();
                        self.windows_rules(channel, &ids)
                    }
                };
                let index = self.compiled(rules, atoms, triggers, source.is_none());
                if st.by_key.len() >= MAX_KEYS {
                    st.by_key.clear();
                }
                st.by_key.insert(key.clone(), index);
                index
            }
        }?;
        if st.routes.len() <= index {
            st.routes.resize_with(index + 1, || None);
        }
        let slot = st.routes[index].get_or_insert_with(|| {
            let route = Arc::clone(&self.table.lock().expect("route table").routes[index]);
            let cache = route.program.as_ref().map(Program::create_cache);
            (route, cache)
        });
        Some((&*slot.0, slot.1.as_mut()))
    }

    /// The rules that may run on a Windows event of this channel and these
    /// event ids (a bit per rule).
    fn windows_rules(&self, channel: &[u8], event_ids: &[&[u8]]) -> Vec<u64> {
        let one_of = |value: &[u8], accepted: &[String]| {
            accepted.is_empty() || accepted.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(value))
        };
        let fits: Vec<bool> = self
            .gates
            .iter()
            .map(|gate| match gate {
                WindowsGate::Never => false,
                // The gate's other fields are left to the confirmation.
                WindowsGate::Fits { channels, event_ids: ids, .. } => {
                    one_of(channel, channels)
                        && (ids.is_empty() || event_ids.iter().any(|v| one_of(v, ids)))
                }
            })
            .collect();
        bits(self.windows.iter().map(|g| g.is_none_or(|g| fits[g as usize])))
    }

    /// The rules that may run on a line without a `Channel` from `source`
    /// (`None`: a source its shape does not tell, where every product's
    /// rules run), with fields or none.
    fn text_rules(&self, source: Option<TextSource>, has_fields: bool) -> Vec<u64> {
        let products = source.map(TextSource::products);
        bits(self.products.iter().zip(&self.needs_fields).map(|(p, &needs_fields)| {
            let product_fits = match (p, products) {
                (Some(p), Some(products)) => products.contains(&p.as_str()),
                _ => true,
            };
            product_fits && (has_fields || !needs_fields)
        }))
    }

    /// The index of the route of these rules, compiling it if it is new;
    /// `None` past [`MAX_ROUTES`] or when it cannot be compiled.
    /// `events`: the route is one of Windows events (see [`compile`]).
    fn compiled(
        &self,
        rules: Vec<u64>,
        atoms: &[Atom],
        triggers: &[Formula],
        events: bool,
    ) -> Option<usize> {
        let count: usize = rules.iter().map(|w| w.count_ones() as usize).sum();
        if count == self.windows.len() {
            // Every rule: the whole program is this route already.
            return None;
        }
        let mut table = self.table.lock().expect("route table");
        if let Some(&index) = table.by_rules.get(&rules) {
            return Some(index);
        }
        if table.routes.len() >= MAX_ROUTES {
            return None;
        }
        let route = compile(&rules, atoms, triggers, &self.config, events)?;
        let index = table.routes.len();
        table.routes.push(Arc::new(route));
        table.by_rules.insert(rules, index);
        Some(index)
    }
}

/// The route of the rules whose bits are set in `rules`.
///
/// `events`: the route is one of Windows events, lines of a kilobyte or
/// more, whose patterns grams find faster than a DFA at any size (a DFA
/// walks short syslog lines faster; see `matcher`'s DFA bound).
fn compile(
    rules: &[u64],
    all_atoms: &[Atom],
    triggers: &[Formula],
    config: &Config,
    events: bool,
) -> Option<Route> {
    let chosen: Vec<u32> = (0..triggers.len() as u32)
        .filter(|&r| rules[r as usize / 64] >> (r % 64) & 1 == 1)
        .collect();
    let (always, chosen): (Vec<u32>, Vec<u32>) =
        chosen.into_iter().partition(|&r| triggers[r as usize] == Formula::Const(true));
    if chosen.is_empty() {
        return Some(Route { program: None, rules: chosen, always });
    }
    // The route's atoms, renumbered in order of first use.
    let mut local: HashMap<AtomId, AtomId> = HashMap::new();
    let mut atoms = Vec::new();
    for &r in &chosen {
        for a in triggers[r as usize].atoms() {
            local.entry(a).or_insert_with(|| {
                atoms.push(all_atoms[a.index()].clone());
                AtomId(u32::try_from(atoms.len() - 1).expect("fewer than 2^32 atoms"))
            });
        }
    }
    let triggers: Vec<Formula> =
        chosen.iter().map(|&r| triggers[r as usize].rename_atoms(&|a| local[&a])).collect();
    let scanner = match config.scanner {
        LiteralScanner::Auto if events => LiteralScanner::Grams,
        scanner => scanner,
    };
    let config = Config { any_rule: super::AnyRule::Attribution, scanner, ..config.clone() };
    let program = Program::build(&atoms, &triggers, None, &config, false, true).ok()?;
    Some(Route { program: Some(program), rules: chosen, always })
}

impl Route {
    /// The rules (in rule order) whose triggers hold on `line`.
    /// `cache` is the thread's cache of the route's program.
    pub(crate) fn triggered(&self, cache: Option<&mut Cache>, line: &[u8], out: &mut Vec<u32>) {
        out.clear();
        if let (Some(program), Some(cache)) = (&self.program, cache) {
            // A route's prefilter is fast or absent (a slow one would walk
            // the line as the scan does).
            let skip = program.prefilter().is_some_and(|pf| pf.find(line, 0).is_none());
            if !skip {
                program.matching_rules(cache, line, out);
                for r in out.iter_mut() {
                    *r = self.rules[*r as usize];
                }
            }
        }
        if !self.always.is_empty() {
            out.extend_from_slice(&self.always);
            out.sort_unstable();
        }
    }
}

/// A rule's Windows gate, product, and whether it names fields, from the
/// gates its predicate begins with (see [`crate::lower::sigma::predicate`]).
fn gates_of(predicate: &Predicate) -> (Option<&WindowsGate>, Option<&str>, bool) {
    let (mut gate, mut product, mut names_fields) = (None, None, false);
    if let Predicate::And(parts) = predicate {
        for part in parts {
            match part {
                Predicate::Windows(g) => gate = Some(g),
                Predicate::Product(p) => product = Some(p.as_str()),
                Predicate::AnyField(_) => names_fields = true,
                _ => {}
            }
        }
    }
    (gate, product, names_fields)
}

/// One bit per item, set where `keep` is true.
fn bits(keep: impl Iterator<Item = bool>) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, k) in keep.enumerate() {
        if i % 64 == 0 {
            out.push(0);
        }
        if k {
            *out.last_mut().expect("pushed above") |= 1 << (i % 64);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Routing;
    use crate::event::Scratch;
    use crate::lower::{Options, Semantics};
    use crate::ruleset::RuleSet;

    /// A rule of this logsource whose keyword is its title.
    fn rule(title: &str, logsource: &str) -> String {
        format!("title: {title}\nlogsource:\n{logsource}detection:\n    k:\n        - '{title}'\n    condition: k\n")
    }

    fn program(rules: &[(&str, &str)], routing: Routing) -> Program {
        let mut set = RuleSet::new(Options { semantics: Semantics::Sigma, ..Options::default() });
        for (title, logsource) in rules {
            set.add(&format!("{title}.yml"), &rule(title, logsource)).unwrap();
        }
        set.compile(&Config { routing, ..Config::default() }).unwrap()
    }

    /// The rules (by index) of the route of `line`, or `None` without one.
    fn route_rules(p: &Program, cache: &mut Cache, line: &str) -> Option<Vec<u32>> {
        let router = p.router.as_ref().unwrap();
        let mut scratch = Scratch::default();
        let mut event = Event::new(line.as_bytes(), &mut scratch);
        router.route(&mut cache.routes, line.as_bytes(), &mut event, &p.atoms, &p.rules).map(
            |(route, _)| {
                let mut all = route.rules.clone();
                all.extend(&route.always);
                all.sort_unstable();
                all
            },
        )
    }

    const RULES: &[(&str, &str)] = &[
        ("proc", "    product: windows\n    category: process_creation\n"),
        ("file", "    product: windows\n    category: file_event\n"),
        ("security", "    product: windows\n    service: security\n"),
        ("unmapped", "    product: windows\n    category: no_such_category\n"),
        ("linux", "    product: linux\n"),
        ("none", "    category: webserver\n"),
    ];

    #[test]
    fn a_line_runs_the_rules_its_source_may_run() {
        let p = program(RULES, Routing::On);
        let mut cache = p.create_cache();
        let sysmon = "Channel=Microsoft-Windows-Sysmon/Operational";
        // proc, unmapped (runs on every Windows event), none (no product).
        assert_eq!(
            route_rules(&p, &mut cache, &format!("EventID=1 {sysmon}")),
            Some(vec![0, 3, 5])
        );
        assert_eq!(
            route_rules(&p, &mut cache, &format!("EventID=11 {sysmon}")),
            Some(vec![1, 3, 5])
        );
        assert_eq!(
            route_rules(&p, &mut cache, r#"{"Channel":"security","EventID":4688}"#),
            Some(vec![2, 3, 5]),
            "channels compare ignoring case; the mapping names process creation by Sysmon only"
        );
        assert_eq!(route_rules(&p, &mut cache, "EventID=1 Channel=Other"), Some(vec![3, 5]));
        // Hostile values make no route: the whole program decides the line.
        let ids = " EventID=1".repeat(MAX_KEY_BYTES / 2);
        assert_eq!(route_rules(&p, &mut cache, &format!("{sysmon}{ids}")), None);
        let long = format!("EventID=1 Channel={}", "x".repeat(MAX_KEY_BYTES));
        assert_eq!(route_rules(&p, &mut cache, &long), None);
        let syslog = "Feb  3 11:53:10 host sshd[42]: proc linux none";
        assert_eq!(route_rules(&p, &mut cache, syslog), Some(vec![4, 5]));
        let apache = "[Wed Sep 15 16:17:57 2005] [error] none";
        assert_eq!(route_rules(&p, &mut cache, apache), Some(vec![5]));
        // No Channel and no known shape: every rule may run, and the
        // whole program scans the line (these rules name no field).
        assert_eq!(route_rules(&p, &mut cache, "EventID=1 Image=x"), None);
        assert_eq!(route_rules(&p, &mut cache, "proc file linux"), None);
        // Sysmon 1 and Security 4688 differ in `security`; Other and an
        // unnamed Sysmon id share a route.
        assert_eq!(route_rules(&p, &mut cache, &format!("EventID=99 {sysmon}")), Some(vec![3, 5]));
        assert_eq!(p.routes_compiled(), 6);
        // Each route's program selects the lines its rules select.
        let mut out = Vec::new();
        p.matching_rules(&mut cache, syslog.as_bytes(), &mut out);
        assert_eq!(out, [4, 5]);
        p.matching_rules(&mut cache, format!("EventID=11 {sysmon} proc file").as_bytes(), &mut out);
        assert_eq!(out, [1]);
    }

    #[test]
    fn a_line_without_fields_runs_no_rule_that_names_fields() {
        let mut set = RuleSet::new(Options { semantics: Semantics::Sigma, ..Options::default() });
        for (title, detection) in [
            ("keyword", "    k:\n        - 'sudo'\n    condition: k\n"),
            ("field", "    s:\n        CommandLine|contains: 'sudo'\n    condition: s\n"),
            ("not_field", "    s:\n        User: 'root'\n    condition: not s\n"),
        ] {
            let text =
                format!("title: {title}\nlogsource:\n    product: linux\ndetection:\n{detection}");
            set.add(&format!("{title}.yml"), &text).unwrap();
        }
        let p = set.compile(&Config { routing: Routing::On, ..Config::default() }).unwrap();
        let mut cache = p.create_cache();
        let line = "Feb  3 11:53:10 host sshd[42]: CommandLine=sudo User=bob";
        assert_eq!(route_rules(&p, &mut cache, line), Some(vec![0]));
        let mut out = Vec::new();
        p.matching_rules(&mut cache, line.as_bytes(), &mut out);
        assert_eq!(out, [0]);
        // A line of no known shape and without fields: the keyword rules.
        let line = "app: sudo CommandLine: sudo";
        assert_eq!(route_rules(&p, &mut cache, line), Some(vec![0]));
        p.matching_rules(&mut cache, line.as_bytes(), &mut out);
        assert_eq!(out, [0]);
        // A Key=Value line has fields, but no source: every rule runs.
        let line = "CommandLine=sudo User=bob";
        assert_eq!(route_rules(&p, &mut cache, line), None);
        p.matching_rules(&mut cache, line.as_bytes(), &mut out);
        assert_eq!(out, [0, 1, 2]);
    }

    #[test]
    fn past_the_bound_lines_are_scanned_by_the_whole_program() {
        // One rule per Sysmon category and per service: each event id and
        // each channel below is a route of its own, more than the bound.
        let categories = [
            "process_creation",
            "network_connection",
            "driver_load",
            "image_load",
            "create_remote_thread",
            "raw_access_thread",
            "process_access",
            "file_event",
            "create_stream_hash",
            "pipe_created",
            "dns_query",
            "file_delete",
            "process_tampering",
            "registry_set",
            "wmi_event",
            "clipboard_capture",
            "file_executable_detected",
        ];
        let services = [
            ("application", "Application"),
            ("bits-client", "Microsoft-Windows-Bits-Client/Operational"),
            ("powershell", "Microsoft-Windows-PowerShell/Operational"),
            ("security", "Security"),
            ("system", "System"),
            ("taskscheduler", "Microsoft-Windows-TaskScheduler/Operational"),
            ("windefend", "Microsoft-Windows-Windows Defender/Operational"),
            ("wmi", "Microsoft-Windows-WMI-Activity/Operational"),
        ];
        let mut logsources: Vec<(String, String)> = categories
            .iter()
            .map(|c| (c.to_string(), format!("    product: windows\n    category: {c}\n")))
            .collect();
        logsources.extend(services.iter().map(|(s, _)| {
            (s.replace('-', "_"), format!("    product: windows\n    service: {s}\n"))
        }));
        let rules: Vec<(&str, &str)> =
            logsources.iter().map(|(t, l)| (t.as_str(), l.as_str())).collect();
        let p = program(&rules, Routing::On);
        let unrouted = program(&rules, Routing::Off);
        let (mut cache, mut unrouted_cache) = (p.create_cache(), unrouted.create_cache());
        let (mut out, mut want) = (Vec::new(), Vec::new());
        let titles: Vec<&str> = rules.iter().map(|(t, _)| *t).collect();
        let sysmon = "Microsoft-Windows-Sysmon/Operational";
        let mut sources: Vec<(&str, u32)> =
            [1, 3, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 22, 23, 24, 25, 29]
                .iter()
                .map(|&id| (sysmon, id))
                .collect();
        sources.extend(services.iter().map(|&(_, channel)| (channel, 1)));
        let mut whole = 0;
        for (channel, id) in sources {
            let line = format!("EventID={id} Channel=\"{channel}\" {}", titles.join(" "));
            whole += usize::from(route_rules(&p, &mut cache, &line).is_none());
            // Routed or not, the line is decided the same.
            p.matching_rules(&mut cache, line.as_bytes(), &mut out);
            unrouted.matching_rules(&mut unrouted_cache, line.as_bytes(), &mut want);
            assert_eq!(out, want, "{line}");
            assert!(!out.is_empty(), "{line}");
        }
        assert_eq!(p.routes_compiled(), MAX_ROUTES);
        assert!(whole > 0, "some lines were past the bound");
    }
}
