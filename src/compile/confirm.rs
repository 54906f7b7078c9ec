//! Sigma semantics' second stage: the exact predicates of the rules a line
//! triggered, decided on the line's fields.
//!
//! With [`Semantics::Sigma`](crate::lower::Semantics), a rule's formula is
//! a necessary condition (its trigger, see [`crate::lower::sigma`]): the
//! scan and attribution find the rules whose trigger holds, and only those
//! are confirmed here, on the line's [`Event`], decoded on the first field
//! a confirmation asks for and once per line. Lines no rule triggers cost
//! what they cost in grep semantics.
//!
//! The slow twin is the same confirmation run for every rule on every line
//! (the trigger only ever removes rules that cannot hold); the property
//! tests compare the two.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{LazyLock, OnceLock};

use memchr::memmem::Finder;
use regex::bytes::Regex;

use super::CompileError;
use crate::event::{text_source, Event, FieldName};
use crate::lower::atom::{build_regex, partners_as_letters, pieces_regex};
use crate::lower::logsource::WindowsGate;
use crate::lower::sigma::{Comparison, FieldTest, Place, Predicate, ValueTest};
use crate::lower::Piece;

/// Compiled regexes may use this much memory each (as `|re` atoms).
const REGEX_SIZE_LIMIT: usize = crate::lower::RE_SIZE_LIMIT;

/// The compiled predicates of a program's rules (immutable, shared).
///
/// A rule's predicate is a tree of [`Node`]s whose leaves are [`Check`]s,
/// laid out flat ([`Flat`]): a line confirms a few dozen rules out of
/// thousands, and a tree of separately allocated nodes cost a cache miss
/// per node reached.
/// Rules share many leaves (`Image|endswith: '\powershell.exe'`, the
/// logsource gate of every `process_creation` rule), so each distinct leaf
/// is compiled once, and a line's [`Memo`] keeps its answer: a line that
/// triggers seventy rules decides each shared leaf once.
#[derive(Debug)]
pub(crate) struct Confirmer {
    /// Every rule's nodes, each rule's in preorder, one after another.
    nodes: Vec<Flat>,
    /// Each rule's root in `nodes`.
    roots: Vec<u32>,
    checks: Vec<Check>,
}

/// A node of the flat layout: its subtree is `nodes[i..end]`, its children
/// start at `i + 1`, each followed by the next at its own `end`.
#[derive(Clone, Copy, Debug)]
struct Flat {
    op: Op,
    end: u32,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Const(bool),
    And,
    Or,
    Not,
    /// `Confirmer::checks[i]`.
    Check(u32),
}

/// Appends `node`'s subtree to `out` in preorder.
fn flatten(node: &Node, out: &mut Vec<Flat>) {
    let at = out.len();
    let (op, children): (Op, &[Node]) = match node {
        Node::Const(b) => (Op::Const(*b), &[]),
        Node::And(ns) => (Op::And, ns),
        Node::Or(ns) => (Op::Or, ns),
        Node::Not(n) => (Op::Not, std::slice::from_ref(&**n)),
        &Node::Check(i) => (Op::Check(i), &[]),
    };
    out.push(Flat { op, end: 0 });
    for child in children {
        flatten(child, out);
    }
    out[at].end = u32::try_from(out.len()).expect("fewer than 2^32 predicate nodes");
}

/// A predicate's tree while it is compiled (see [`Flat`] for its layout
/// once compiled).
#[derive(Debug)]
enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// `Confirmer::checks[i]`.
    Check(u32),
}

/// A leaf of a predicate: one question about a line.
#[derive(Debug)]
enum Check {
    /// One of the regexes matches somewhere in the line.
    Keyword(Vec<LazyRegex>),
    /// A question about the field with this name.
    Field(FieldName, FieldCheck),
    AnyField(Vec<FieldName>),
    Windows(WindowsGate),
    Product(String),
}

#[derive(Debug)]
enum FieldCheck {
    /// Some value satisfies one of the matches. One item's values, and the
    /// sibling items of an `or` that test the same field, make one list:
    /// the field is looked up once, and each value lowercased once, for a
    /// rule's hundred `contains` values.
    Values(Matches),
    /// The field is absent, or every value is empty.
    Null,
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    /// Some value of the field equals (contains, starts or ends with) some
    /// value of `other`.
    FieldRef { other: FieldName, place: Place, fold: bool },
}

/// Tests of one value, any of which may hold.
#[derive(Debug)]
struct Matches {
    /// Those a value made only of ASCII can satisfy come first: up to here.
    for_ascii: usize,
    all: Vec<Match>,
    /// Some match reads the value ASCII-lowercased.
    lowercase: bool,
}

/// A test of one value.
#[derive(Debug)]
enum Match {
    /// The value holds `needle` at `place` (ASCII case folded when `fold`,
    /// `needle` then lowercase); a value that is not ASCII is tested by
    /// `regex` (Unicode folding).
    Text { needle: Box<Finder<'static>>, place: Place, fold: bool, regex: LazyRegex },
    /// The value holds a match of the regex.
    Regex(LazyRegex),
    /// The value is an address in the network.
    Cidr(IpAddr, u32),
    /// The value is a number that compares so with the operand.
    Compare(Comparison, f64),
}

/// The answers a line has given so far, by check: per-thread, reused from
/// line to line (see [`Confirmer::memo`]).
#[derive(Debug)]
pub(crate) struct Memo {
    /// The current line's stamp; an answer stamped otherwise is stale.
    line: u32,
    answers: Vec<(u32, bool)>,
}

impl Memo {
    /// Forgets every answer: the next line begins.
    pub(crate) fn next_line(&mut self) {
        self.line = self.line.wrapping_add(1);
        if self.line == 0 {
            // After 2^32 lines, stamps repeat: start again from a clean table.
            self.answers.iter_mut().for_each(|a| *a = (0, false));
            self.line = 1;
        }
    }
}

fn regex(re: &str) -> Result<Regex, CompileError> {
    build_regex(re, REGEX_SIZE_LIMIT)
        .map_err(|e| CompileError(format!("cannot compile field pattern '{re}': {e}")))
}

/// A regex compiled on first use: a rule set has tens of thousands of
/// field patterns and a log exercises few of them (lowering has checked
/// each `re` value; escaped literals always compile).
#[derive(Debug)]
struct LazyRegex {
    pattern: String,
    /// `None` when it does not compile after all: it then matches nothing.
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    fn new(pattern: String) -> LazyRegex {
        LazyRegex { pattern, compiled: OnceLock::new() }
    }

    fn is_match(&self, value: &[u8]) -> bool {
        self.compiled
            .get_or_init(|| regex(&self.pattern).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(value))
    }
}

impl Confirmer {
    /// Compiles the predicates (rule `i` is `predicates[i]`).
    ///
    /// # Errors
    /// A pattern the regex crate rejects.
    pub(crate) fn new(predicates: &[Predicate]) -> Result<Confirmer, CompileError> {
        let mut builder = Builder::default();
        let (mut nodes, mut roots) = (Vec::new(), Vec::with_capacity(predicates.len()));
        for p in predicates {
            roots.push(u32::try_from(nodes.len()).expect("fewer than 2^32 predicate nodes"));
            flatten(&builder.node(p)?, &mut nodes);
        }
        Ok(Confirmer { nodes, roots, checks: builder.checks })
    }

    /// A fresh memo for [`Confirmer::holds`].
    pub(crate) fn memo(&self) -> Memo {
        Memo { line: 1, answers: vec![(0, false); self.checks.len()] }
    }

    /// Whether rule `rule` holds on `line`, whose fields `event` decodes;
    /// `memo` holds the answers of the line's checks so far (call
    /// [`Memo::next_line`] before the first rule of each line).
    pub(crate) fn holds(
        &self,
        rule: usize,
        line: &[u8],
        event: &mut Event<'_>,
        memo: &mut Memo,
    ) -> bool {
        self.eval(self.roots[rule] as usize, line, event, memo)
    }

    /// The value of node `i` (see [`Flat`]).
    fn eval(&self, i: usize, line: &[u8], event: &mut Event<'_>, memo: &mut Memo) -> bool {
        let node = self.nodes[i];
        let mut children = {
            let mut c = i + 1;
            std::iter::from_fn(move || {
                (c < node.end as usize).then(|| {
                    let at = c;
                    c = self.nodes[at].end as usize;
                    at
                })
            })
        };
        match node.op {
            Op::Const(b) => b,
            Op::And => children.all(|c| self.eval(c, line, event, memo)),
            Op::Or => children.any(|c| self.eval(c, line, event, memo)),
            Op::Not => !self.eval(i + 1, line, event, memo),
            Op::Check(c) => {
                let (stamp, answer) = memo.answers[c as usize];
                if stamp == memo.line {
                    return answer;
                }
                let answer = check_holds(&self.checks[c as usize], line, event);
                memo.answers[c as usize] = (memo.line, answer);
                answer
            }
        }
    }
}

/// Compiles predicates, each distinct leaf once.
#[derive(Default)]
struct Builder {
    checks: Vec<Check>,
    /// A leaf's identity (its `Debug` text, field names lowercased, since
    /// they compare case-insensitively) to its index in `checks`.
    index: HashMap<String, u32>,
}

impl Builder {
    fn node(&mut self, p: &Predicate) -> Result<Node, CompileError> {
        Ok(match p {
            Predicate::Const(b) => Node::Const(*b),
            Predicate::And(ps) => {
                Node::And(ps.iter().map(|p| self.node(p)).collect::<Result<_, _>>()?)
            }
            Predicate::Or(ps) => self.or(ps)?,
            Predicate::Not(p) => Node::Not(Box::new(self.node(p)?)),
            leaf => Node::Check(self.check(&[leaf])?),
        })
    }

    /// An `or`: its value tests of one field become one check.
    fn or(&mut self, parts: &[Predicate]) -> Result<Node, CompileError> {
        let mut nodes = Vec::new();
        let mut by_field: Vec<(String, Vec<&Predicate>)> = Vec::new();
        // `or`s under an `or` are one `or` (an item's values each lower to
        // an `or` of their encodings).
        let mut flat = Vec::with_capacity(parts.len());
        let mut stack: Vec<&Predicate> = parts.iter().rev().collect();
        while let Some(part) = stack.pop() {
            match part {
                Predicate::Or(inner) => stack.extend(inner.iter().rev()),
                part => flat.push(part),
            }
        }
        for part in flat {
            match part {
                Predicate::Field(FieldTest { field, test }) if per_value(test) => {
                    let name = field.to_ascii_lowercase();
                    match by_field.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, group)) => group.push(part),
                        None => by_field.push((name, vec![part])),
                    }
                }
                part => nodes.push(self.node(part)?),
            }
        }
        for (_, group) in by_field {
            nodes.push(Node::Check(self.check(&group)?));
        }
        Ok(if nodes.len() == 1 { nodes.pop().expect("one node") } else { Node::Or(nodes) })
    }

    /// The check that one of `leaves` holds: one leaf, or field items of
    /// one field whose tests are each of one value.
    fn check(&mut self, leaves: &[&Predicate]) -> Result<u32, CompileError> {
        let key = leaves
            .iter()
            .map(|leaf| match leaf {
                Predicate::Field(FieldTest { field, test }) => {
                    format!("{:?}", (field.to_ascii_lowercase(), test))
                }
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("|");
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        let check = match leaves {
            [Predicate::Keyword(atoms)] => {
                Check::Keyword(atoms.iter().map(|a| LazyRegex::new(a.to_regex())).collect())
            }
            [Predicate::AnyField(names)] => {
                Check::AnyField(names.iter().map(|n| FieldName::new(n)).collect())
            }
            [Predicate::Windows(gate)] => Check::Windows(gate.clone()),
            [Predicate::Product(product)] => Check::Product(product.clone()),
            [Predicate::Field(FieldTest { field, test })] if !per_value(test) => {
                Check::Field(FieldName::new(field), field_check(test))
            }
            fields => {
                let mut name = None;
                let mut matches = Vec::with_capacity(fields.len());
                for leaf in fields {
                    let Predicate::Field(FieldTest { field, test }) = leaf else {
                        unreachable!("Builder::or groups field items only")
                    };
                    name.get_or_insert(field);
                    matches.push(value_match(test)?);
                }
                let name = FieldName::new(name.expect("at least one leaf"));
                Check::Field(name, FieldCheck::Values(Matches::new(matches)))
            }
        };
        let i = u32::try_from(self.checks.len()).expect("fewer than 2^32 distinct checks");
        self.checks.push(check);
        self.index.insert(key, i);
        Ok(i)
    }
}

/// Whether `test` asks about each value on its own (and so can share a
/// field lookup with its siblings).
fn per_value(test: &ValueTest) -> bool {
    matches!(
        test,
        ValueTest::Pieces { .. }
            | ValueTest::Regex(_)
            | ValueTest::Cidr { .. }
            | ValueTest::Compare(..)
    )
}

fn field_check(test: &ValueTest) -> FieldCheck {
    match test {
        ValueTest::Null => FieldCheck::Null,
        ValueTest::Exists(e) => FieldCheck::Exists(*e),
        ValueTest::FieldRef { other, place, fold } => {
            FieldCheck::FieldRef { other: FieldName::new(other), place: *place, fold: *fold }
        }
        _ => unreachable!("per-value tests are matches"),
    }
}

/// `(match, whether a value made only of ASCII can satisfy it)`.
fn value_match(test: &ValueTest) -> Result<(Match, bool), CompileError> {
    Ok(match test {
        ValueTest::Pieces { pieces, fold } => {
            let regex = LazyRegex::new(format!("^(?:{})$", pieces_regex(pieces, *fold)));
            match text_place(pieces) {
                Some((needle, place)) if needle.is_ascii() => {
                    let needle = if *fold { needle.to_ascii_lowercase() } else { needle.to_vec() };
                    let needle = Box::new(Finder::new(&needle).into_owned());
                    (Match::Text { needle, place, fold: *fold, regex }, true)
                }
                _ => (Match::Regex(regex), ascii_can_match(pieces, *fold)),
            }
        }
        ValueTest::Regex(re) => (Match::Regex(LazyRegex::new(re.clone())), true),
        ValueTest::Cidr { addr, len } => (Match::Cidr(*addr, *len), true),
        ValueTest::Compare(c, operand) => (Match::Compare(*c, *operand), true),
        _ => unreachable!("field-level tests are field checks"),
    })
}

impl Matches {
    fn new(matches: Vec<(Match, bool)>) -> Matches {
        let (ascii, other): (Vec<_>, Vec<_>) = matches.into_iter().partition(|(_, a)| *a);
        let for_ascii = ascii.len();
        let all: Vec<Match> = ascii.into_iter().chain(other).map(|(m, _)| m).collect();
        let lowercase =
            all.iter().any(|m| matches!(m, Match::Text { place: Place::Inside, fold: true, .. }));
        Matches { for_ascii, all, lowercase }
    }

    /// Whether one of the matches holds for `value`.
    fn hold(&self, value: &[u8]) -> bool {
        let ascii = value.is_ascii();
        let candidates = if ascii { &self.all[..self.for_ascii] } else { &self.all[..] };
        if !(ascii && self.lowercase) {
            return candidates.iter().any(|m| m.holds(value, ascii, value));
        }
        // One lowercased copy for all `contains` needles, then memchr's
        // SIMD search.
        LOWERCASED.with_borrow_mut(|lower| {
            lower.clear();
            lower.extend(value.iter().map(u8::to_ascii_lowercase));
            candidates.iter().any(|m| m.holds(value, ascii, lower))
        })
    }
}

impl Match {
    /// Whether the match holds for `value`; `lower` is `value` lowercased
    /// when it is ASCII and some match of its list needs that.
    fn holds(&self, value: &[u8], ascii: bool, lower: &[u8]) -> bool {
        match self {
            Match::Text { regex, .. } if !ascii => regex.is_match(value),
            Match::Text { needle, place: Place::Inside, fold: true, .. } => {
                needle.find(lower).is_some()
            }
            Match::Text { needle, place: Place::Inside, fold: false, .. } => {
                needle.find(value).is_some()
            }
            Match::Text { needle, place, fold, .. } => {
                placed(value, needle.needle(), *place, *fold)
            }
            Match::Regex(regex) => regex.is_match(value),
            Match::Cidr(net, len) => in_network(value, *net, *len),
            Match::Compare(c, operand) => std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .is_some_and(|x| c.holds(x, *operand)),
        }
    }
}

/// Whether a value made only of ASCII can match `pieces`: each literal
/// character is ASCII, or (folding) one of the
/// [`ASCII_PARTNERS`](crate::lower::atom::ASCII_PARTNERS), the
/// only characters outside ASCII that Unicode simple case folding pairs
/// with one inside it. Other pieces (`*`, `?`, a windash choice) match
/// ASCII.
fn ascii_can_match(pieces: &[Piece], fold: bool) -> bool {
    pieces.iter().all(|piece| match piece {
        Piece::Lit(bytes) if fold => partners_as_letters(bytes).is_ascii(),
        Piece::Lit(bytes) => bytes.is_ascii(),
        _ => true,
    })
}

fn check_holds(check: &Check, line: &[u8], event: &mut Event<'_>) -> bool {
    match check {
        Check::Keyword(res) => res.iter().any(|re| re.is_match(line)),
        Check::Field(name, test) => field_holds(name, test, event),
        Check::AnyField(names) => names.iter().any(|n| event.has_field(n)),
        Check::Windows(gate) => windows_fits(gate, event),
        Check::Product(product) => product_fits(product, line, event),
    }
}

/// A pattern that is one literal, with `*` at neither, one or both ends:
/// the literal and where it must be.
fn text_place(pieces: &[Piece]) -> Option<(&[u8], Place)> {
    match pieces {
        [Piece::Lit(l)] => Some((l, Place::Whole)),
        [Piece::AnyRun, Piece::Lit(l)] => Some((l, Place::End)),
        [Piece::Lit(l), Piece::AnyRun] => Some((l, Place::Start)),
        [Piece::AnyRun, Piece::Lit(l), Piece::AnyRun] => Some((l, Place::Inside)),
        _ => None,
    }
}

fn field_holds(name: &FieldName, check: &FieldCheck, event: &mut Event<'_>) -> bool {
    match check {
        FieldCheck::Values(matches) => event.field_values(name).any(|v| matches.hold(v)),
        FieldCheck::Null => event.field_values(name).all(<[u8]>::is_empty),
        FieldCheck::Exists(wanted) => event.has_field(name) == *wanted,
        FieldCheck::FieldRef { other, place, fold } => {
            let others: Vec<Vec<u8>> = event
                .field_values(other)
                .map(|o| if *fold { o.to_ascii_lowercase() } else { o.to_vec() })
                .collect();
            event.field_values(name).any(|v| others.iter().any(|o| placed(v, o, *place, *fold)))
        }
    }
}

static CHANNEL: LazyLock<FieldName> = LazyLock::new(|| FieldName::new("Channel"));
static EVENT_ID: LazyLock<FieldName> = LazyLock::new(|| FieldName::new("EventID"));

/// Whether the event is not a Windows event (no `Channel`), or the gate's
/// logsource fits it.
fn windows_fits(gate: &WindowsGate, event: &mut Event<'_>) -> bool {
    let one_of = |value: &[u8], accepted: &[String]| {
        accepted.is_empty() || accepted.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(value))
    };
    let Some(channel) = event.field_values(&CHANNEL).next() else {
        return true;
    };
    match gate {
        WindowsGate::Never => false,
        WindowsGate::Fits { channels, event_ids, others } => {
            one_of(channel, channels)
                && (event_ids.is_empty()
                    || event.field_values(&EVENT_ID).any(|v| one_of(v, event_ids)))
                && others
                    .iter()
                    .all(|(field, accepted)| event.values(field).any(|v| one_of(v, accepted)))
        }
    }
}

/// Whether the line's shape tells no source, or one whose products
/// include `product`, or the event has a `Channel` (the Windows gate
/// judges it). The shape is read first: it decodes nothing.
fn product_fits(product: &str, line: &[u8], event: &mut Event<'_>) -> bool {
    text_source(line).is_none_or(|s| s.products().contains(&product)) || event.has_field(&CHANNEL)
}

thread_local! {
    /// A lowercased copy of the value being searched, reused.
    static LOWERCASED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `needle` is in `value` at `place`, ASCII case folded when
/// `fold` (the caller has lowercased `needle` then).
fn placed(value: &[u8], needle: &[u8], place: Place, fold: bool) -> bool {
    let eq = |a: &[u8]| if fold { a.eq_ignore_ascii_case(needle) } else { a == needle };
    let n = needle.len();
    match place {
        Place::Whole => eq(value),
        Place::Start => value.get(..n).is_some_and(eq),
        Place::End => value.len() >= n && eq(&value[value.len() - n..]),
        Place::Inside if !fold => memchr::memmem::find(value, needle).is_some(),
        Place::Inside => LOWERCASED.with_borrow_mut(|lower| {
            lower.clear();
            lower.extend(value.iter().map(u8::to_ascii_lowercase));
            memchr::memmem::find(lower, needle).is_some()
        }),
    }
}

/// Whether `value` is an address in `net`/`len`.
fn in_network(value: &[u8], net: IpAddr, len: u32) -> bool {
    let Some(addr) = std::str::from_utf8(value).ok().and_then(|s| s.trim().parse::<IpAddr>().ok())
    else {
        return false;
    };
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The obviously correct twin of [`Confirmer`], for tests: the predicate
/// walked as written, every item tested on its own (each value pattern by
/// its anchored regex), nothing grouped, nothing remembered between rules
/// or lines but compiled regexes.
#[derive(Debug, Default)]
pub struct ReferencePredicates {
    regexes: HashMap<String, Option<Regex>>,
}

impl ReferencePredicates {
    /// Whether `predicate` holds on `line`, whose fields `event` decodes.
    pub fn holds(&mut self, predicate: &Predicate, line: &[u8], event: &mut Event<'_>) -> bool {
        match predicate {
            Predicate::Const(b) => *b,
            Predicate::And(ps) => ps.iter().all(|p| self.holds(p, line, event)),
            Predicate::Or(ps) => ps.iter().any(|p| self.holds(p, line, event)),
            Predicate::Not(p) => !self.holds(p, line, event),
            Predicate::Keyword(atoms) => atoms.iter().any(|a| self.is_match(&a.to_regex(), line)),
            Predicate::AnyField(names) => names.iter().any(|n| event.has(n)),
            Predicate::Windows(gate) => windows_fits(gate, event),
            Predicate::Product(product) => product_fits(product, line, event),
            Predicate::Field(FieldTest { field, test }) => {
                let values: Vec<Vec<u8>> = event.values(field).map(<[u8]>::to_vec).collect();
                match test {
                    ValueTest::Pieces { pieces, fold } => {
                        let re = format!("^(?:{})$", pieces_regex(pieces, *fold));
                        values.iter().any(|v| self.is_match(&re, v))
                    }
                    ValueTest::Regex(re) => values.iter().any(|v| self.is_match(re, v)),
                    ValueTest::Cidr { addr, len } => {
                        values.iter().any(|v| in_network(v, *addr, *len))
                    }
                    ValueTest::Null => values.iter().all(Vec::is_empty),
                    ValueTest::Exists(wanted) => values.is_empty() != *wanted,
                    ValueTest::Compare(c, operand) => values.iter().any(|v| {
                        String::from_utf8_lossy(v)
                            .trim()
                            .parse::<f64>()
                            .is_ok_and(|x| c.holds(x, *operand))
                    }),
                    ValueTest::FieldRef { other, place, fold } => {
                        let others: Vec<Vec<u8>> =
                            event.values(other).map(<[u8]>::to_vec).collect();
                        values.iter().any(|v| {
                            others.iter().any(|o| {
                                let pieces = match place {
                                    Place::Whole => vec![Piece::Lit(o.clone())],
                                    Place::Inside => {
                                        vec![Piece::AnyRun, Piece::Lit(o.clone()), Piece::AnyRun]
                                    }
                                    Place::Start => vec![Piece::Lit(o.clone()), Piece::AnyRun],
                                    Place::End => vec![Piece::AnyRun, Piece::Lit(o.clone())],
                                };
                                let re = format!("^(?:{})$", pieces_regex(&pieces, false));
                                // ASCII folding, as fieldref compares.
                                let re = if *fold { format!("(?i-u){re}") } else { re };
                                self.is_match(&re, v)
                            })
                        })
                    }
                }
            }
        }
    }

    fn is_match(&mut self, pattern: &str, haystack: &[u8]) -> bool {
        self.regexes
            .entry(pattern.to_string())
            .or_insert_with(|| regex(pattern).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(haystack))
    }
}
