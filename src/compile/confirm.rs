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

use std::net::IpAddr;
use std::sync::OnceLock;

use memchr::memmem::Finder;
use regex::bytes::Regex;

use super::CompileError;
use crate::event::Event;
use crate::lower::atom::{build_regex, pieces_regex};
use crate::lower::logsource::WindowsGate;
use crate::lower::sigma::{Comparison, FieldTest, Place, Predicate, ValueTest};
use crate::lower::Piece;

/// Compiled regexes may use this much memory each (as `|re` atoms).
const REGEX_SIZE_LIMIT: usize = crate::lower::RE_SIZE_LIMIT;

/// The compiled predicates of a program's rules (immutable, shared).
#[derive(Debug)]
pub(crate) struct Confirmer {
    rules: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// One of the regexes matches somewhere in the line.
    Keyword(Vec<LazyRegex>),
    Field(String, Box<Test>),
    AnyField(Vec<String>),
    Windows(WindowsGate),
}

#[derive(Debug)]
enum Test {
    /// Some value holds `needle` at `place` (ASCII case folded when
    /// `fold`); a value that is not ASCII is tested by `regex` (Unicode
    /// folding).
    Text {
        needle: Box<Finder<'static>>,
        place: Place,
        fold: bool,
        regex: LazyRegex,
    },
    /// Some value matches.
    Regex(LazyRegex),
    Cidr(IpAddr, u32),
    Null,
    Exists(bool),
    Compare(Comparison, f64),
    FieldRef {
        other: String,
        place: Place,
        fold: bool,
    },
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
        let rules = predicates.iter().map(node).collect::<Result<_, _>>()?;
        Ok(Confirmer { rules })
    }

    /// Whether rule `rule` holds on `line`, whose fields `event` decodes.
    pub(crate) fn holds(&self, rule: usize, line: &[u8], event: &mut Event<'_>) -> bool {
        eval(&self.rules[rule], line, event)
    }
}

fn node(p: &Predicate) -> Result<Node, CompileError> {
    let all = |ps: &[Predicate]| ps.iter().map(node).collect::<Result<Vec<_>, _>>();
    Ok(match p {
        Predicate::Const(b) => Node::Const(*b),
        Predicate::And(ps) => Node::And(all(ps)?),
        Predicate::Or(ps) => Node::Or(all(ps)?),
        Predicate::Not(p) => Node::Not(Box::new(node(p)?)),
        Predicate::Keyword(atoms) => {
            Node::Keyword(atoms.iter().map(|a| LazyRegex::new(a.to_regex())).collect())
        }
        Predicate::Field(FieldTest { field, test }) => {
            Node::Field(field.clone(), Box::new(self::test(test)?))
        }
        Predicate::AnyField(names) => Node::AnyField(names.clone()),
        Predicate::Windows(gate) => Node::Windows(gate.clone()),
    })
}

fn test(t: &ValueTest) -> Result<Test, CompileError> {
    Ok(match t {
        ValueTest::Pieces { pieces, fold } => {
            let regex = LazyRegex::new(format!("^(?:{})$", pieces_regex(pieces, *fold)));
            match text_place(pieces) {
                Some((needle, place)) if needle.is_ascii() => {
                    let needle = if *fold { needle.to_ascii_lowercase() } else { needle.to_vec() };
                    Test::Text {
                        needle: Box::new(Finder::new(&needle).into_owned()),
                        place,
                        fold: *fold,
                        regex,
                    }
                }
                _ => Test::Regex(regex),
            }
        }
        ValueTest::Regex(re) => Test::Regex(LazyRegex::new(re.clone())),
        ValueTest::Cidr { addr, len } => Test::Cidr(*addr, *len),
        ValueTest::Null => Test::Null,
        ValueTest::Exists(e) => Test::Exists(*e),
        ValueTest::Compare(c, operand) => Test::Compare(*c, *operand),
        ValueTest::FieldRef { other, place, fold } => {
            Test::FieldRef { other: other.clone(), place: *place, fold: *fold }
        }
    })
}

fn eval(node: &Node, line: &[u8], event: &mut Event<'_>) -> bool {
    match node {
        Node::Const(b) => *b,
        Node::And(ns) => ns.iter().all(|n| eval(n, line, event)),
        Node::Or(ns) => ns.iter().any(|n| eval(n, line, event)),
        Node::Not(n) => !eval(n, line, event),
        Node::Keyword(res) => res.iter().any(|re| re.is_match(line)),
        Node::Field(name, test) => field_holds(name, test, event),
        Node::AnyField(names) => names.iter().any(|n| event.has(n)),
        Node::Windows(gate) => windows_fits(gate, event),
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

fn field_holds(name: &str, test: &Test, event: &mut Event<'_>) -> bool {
    match test {
        Test::Text { needle, place, fold, regex } => event.values(name).any(|v| {
            if !v.is_ascii() {
                regex.is_match(v)
            } else if *place == Place::Inside && *fold {
                // One lowercased copy, then memchr's SIMD search.
                LOWERCASED.with_borrow_mut(|lower| {
                    lower.clear();
                    lower.extend(v.iter().map(u8::to_ascii_lowercase));
                    needle.find(lower).is_some()
                })
            } else if *place == Place::Inside {
                needle.find(v).is_some()
            } else {
                placed(v, needle.needle(), *place, *fold)
            }
        }),
        Test::Regex(re) => event.values(name).any(|v| re.is_match(v)),
        Test::Cidr(net, len) => event.values(name).any(|v| in_network(v, *net, *len)),
        Test::Null => event.values(name).all(<[u8]>::is_empty),
        Test::Exists(wanted) => event.has(name) == *wanted,
        Test::Compare(c, operand) => event.values(name).any(|v| {
            std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .is_some_and(|x| c.holds(x, *operand))
        }),
        Test::FieldRef { other, place, fold } => {
            let others: Vec<Vec<u8>> = event
                .values(other)
                .map(|o| if *fold { o.to_ascii_lowercase() } else { o.to_vec() })
                .collect();
            event.values(name).any(|v| others.iter().any(|o| placed(v, o, *place, *fold)))
        }
    }
}

/// Whether the event is not a Windows event (no `Channel`), or the gate's
/// logsource fits it.
fn windows_fits(gate: &WindowsGate, event: &mut Event<'_>) -> bool {
    let Some(channel) = event.values("Channel").next().map(<[u8]>::to_vec) else {
        return true;
    };
    let one_of = |value: &[u8], accepted: &[String]| {
        accepted.is_empty() || accepted.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(value))
    };
    match gate {
        WindowsGate::Never => false,
        WindowsGate::Fits { channels, event_ids, others } => {
            one_of(&channel, channels)
                && (event_ids.is_empty() || event.values("EventID").any(|v| one_of(v, event_ids)))
                && others
                    .iter()
                    .all(|(field, accepted)| event.values(field).any(|v| one_of(v, accepted)))
        }
    }
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
