//! Sigma semantics (DESIGN 2.3): what a rule means on an event's fields.
//!
//! A rule lowered with [`Semantics::Sigma`](super::Semantics) has two
//! parts:
//!
//! * its **trigger formula**, over the same atoms as grep semantics: a
//!   necessary condition, true on every line where the rule holds. A
//!   field item under an even number of `not`s becomes its value's atom
//!   (a value a field holds is written in the line), a `re` value the
//!   literals every match contains ([`regex_trigger`]), or `true` when the
//!   line need not hold its text (`null`, `exists`, comparisons,
//!   `fieldref`, `cidr`, values that a format escapes); under an
//!   odd number it becomes `false`, so `sel and not filter` triggers on
//!   `sel` alone. Keywords are the same atom in both. The one scan, the
//!   prefilter and attribution run on these formulas unchanged.
//! * its **predicate** ([`Predicate`]): the rule's exact meaning, decided
//!   on the event's decoded fields ([`crate::event`]), evaluated only for
//!   the rules a line triggered (see `compile::confirm`).
//!
//! Field items: a plain value equals the whole field value
//! (case-insensitive unless `|cased`; `*` and `?` anchored at both ends);
//! `contains`, `startswith`, `endswith` place it inside, at the start, at
//! the end; `all` requires every value; `windash`, `base64`,
//! `base64offset` and `utf16*` transform the value as in grep semantics;
//! `re` searches each field value; `cidr` parses it as an address; a
//! number is its decimal text; `null` holds when the field is absent or
//! every value is empty; `exists`, `gt`/`gte`/`lt`/`lte` (numbers) and
//! `fieldref` (equal to, or containing, starting or ending with, a value
//! of another field) are answered. A field the event lacks makes an item
//! false. Several values of one field (arrays, repeated keys): the item
//! holds when it holds for one.

use std::net::IpAddr;

use super::atom::{Atom, Piece};
use super::logsource::{text_gate, windows_gate, WindowsGate};
use super::value;
use crate::condition::{self, Expr, Target};
use crate::error::{Error, Result};
use crate::rule::{FieldMatch, Modifier, Rule, Search, Value};

/// A rule's exact meaning on an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    /// Always this.
    Const(bool),
    /// Every part holds.
    And(Vec<Predicate>),
    /// Some part holds.
    Or(Vec<Predicate>),
    /// The part does not hold.
    Not(Box<Predicate>),
    /// A keyword: one of these atoms (the value, and its JSON-escaped form
    /// when the program reads JSON lines) occurs anywhere in the line.
    Keyword(Vec<Atom>),
    /// A field item.
    Field(FieldTest),
    /// The event has at least one of these fields.
    AnyField(Vec<String>),
    /// On a Windows event (one with a `Channel`), the rule's logsource
    /// fits it (see [`super::logsource`]); true on other events.
    Windows(WindowsGate),
    /// On a line without a `Channel` whose shape tells its source
    /// ([`crate::event::text_source`]), the rule's product (lowercase) is
    /// one of that source's; true on other lines.
    Product(String),
}

impl Predicate {
    /// The names of the fields the predicate tests, each once, in order.
    pub fn fields(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            match p {
                Predicate::And(ps) | Predicate::Or(ps) => stack.extend(ps.iter().rev()),
                Predicate::Not(p) => stack.push(p),
                Predicate::Field(FieldTest { field, test }) => {
                    let mut add = |name: &String| {
                        if !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                            out.push(name.clone());
                        }
                    };
                    add(field);
                    if let ValueTest::FieldRef { other, .. } = test {
                        add(other);
                    }
                }
                Predicate::Const(_)
                | Predicate::Keyword(_)
                | Predicate::AnyField(_)
                | Predicate::Windows(_)
                | Predicate::Product(_) => {}
            }
        }
        out
    }
}

/// One test of one field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldTest {
    /// The field's name as the rule writes it.
    pub field: String,
    /// What its values must satisfy.
    pub test: ValueTest,
}

/// What a field's value must satisfy.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueTest {
    /// Some value, as a whole, matches the pieces (a `*` at an end makes
    /// it `contains`, `startswith` or `endswith`).
    Pieces {
        /// The pattern, anchored at both ends.
        pieces: Vec<Piece>,
        /// Unicode simple case folding.
        fold: bool,
    },
    /// Some value holds a match of the regex.
    Regex(String),
    /// Some value is an address in the network.
    Cidr {
        /// The network's address.
        addr: IpAddr,
        /// The prefix length.
        len: u32,
    },
    /// The field is absent, or every value is empty.
    Null,
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    /// Some value is a number that compares so with the operand.
    Compare(Comparison, f64),
    /// Some value equals (or contains, starts or ends with) some value of
    /// the other field.
    FieldRef {
        /// The other field.
        other: String,
        /// Where the other field's value must be.
        place: Place,
        /// Unicode simple case folding.
        fold: bool,
    },
}

/// A numeric comparison (`gt`, `gte`, `lt`, `lte`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `gt`
    Greater,
    /// `gte`
    GreaterOrEqual,
    /// `lt`
    Less,
    /// `lte`
    LessOrEqual,
}

impl Comparison {
    /// Whether `value` compares so with `operand`.
    pub fn holds(self, value: f64, operand: f64) -> bool {
        match self {
            Comparison::Greater => value > operand,
            Comparison::GreaterOrEqual => value >= operand,
            Comparison::Less => value < operand,
            Comparison::LessOrEqual => value <= operand,
        }
    }
}

/// Where a value must be found in a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The whole value.
    Whole,
    /// Anywhere inside.
    Inside,
    /// At its start.
    Start,
    /// At its end.
    End,
}

/// The rule's predicate. `json_escaped`: keywords also match their
/// JSON-escaped form, as the trigger formula's atoms do.
///
/// A rule that names fields runs only on events that hold at least one of
/// them: an event of another kind (a web server line for a Zeek rule, a
/// Windows event for a cloud rule) holds none, and there a rule made of
/// `not` items (`not id.orig_h|cidr: 10.0.0.0/8`) would hold on every
/// line. (pySigma's SQL backend runs such a rule on every row, with the
/// missing columns NULL; that is where the two differ.)
///
/// # Errors
/// As [`super::lower`]: unknown definitions, invalid regexes or networks,
/// modifiers without a meaning.
pub fn predicate(rule: &Rule, ignore_case: bool, json_escaped: bool) -> Result<Predicate> {
    let lowerer = PredicateLowerer { rule, ignore_case, json_escaped };
    let mut alternatives = Vec::new();
    for cond in &rule.detection.conditions {
        let parsed = condition::parse(&cond.text, cond.pos)?;
        alternatives.push(lowerer.expr(&parsed.expr)?);
    }
    let predicate = Predicate::Or(alternatives);
    let fields = predicate.fields();
    let mut gates: Vec<Predicate> = windows_gate(&rule.logsource).into_iter().collect();
    gates.extend(text_gate(&rule.logsource));
    if !fields.is_empty() {
        gates.push(Predicate::AnyField(fields));
    }
    gates.push(predicate);
    Ok(Predicate::And(gates))
}

struct PredicateLowerer<'a> {
    rule: &'a Rule,
    ignore_case: bool,
    json_escaped: bool,
}

impl PredicateLowerer<'_> {
    fn expr(&self, expr: &Expr) -> Result<Predicate> {
        Ok(match expr {
            Expr::Ident(name, pos) => {
                self.search(&super::definition(self.rule, name, *pos)?.search)?
            }
            // As in grep semantics: `all of NAME` over a list is every item.
            Expr::AllOf(Target::Pattern(name), pos) if !name.contains('*') => {
                match &super::definition(self.rule, name, *pos)?.search {
                    Search::List(items, _) => {
                        Predicate::And(items.iter().map(|i| self.search(i)).collect::<Result<_>>()?)
                    }
                    search => self.search(search)?,
                }
            }
            Expr::OneOf(target, pos) | Expr::AllOf(target, pos) => {
                let defs = super::targets(self.rule, target, *pos)?;
                let parts = defs.iter().map(|d| self.search(&d.search)).collect::<Result<_>>()?;
                if matches!(expr, Expr::OneOf(..)) {
                    Predicate::Or(parts)
                } else {
                    Predicate::And(parts)
                }
            }
            Expr::Not(x) => Predicate::Not(Box::new(self.expr(x)?)),
            Expr::And(xs) => {
                Predicate::And(xs.iter().map(|x| self.expr(x)).collect::<Result<_>>()?)
            }
            Expr::Or(xs) => Predicate::Or(xs.iter().map(|x| self.expr(x)).collect::<Result<_>>()?),
        })
    }

    fn search(&self, search: &Search) -> Result<Predicate> {
        Ok(match search {
            Search::Selection(sel) => Predicate::And(
                sel.items.iter().map(|item| self.field_match(item)).collect::<Result<_>>()?,
            ),
            Search::List(items, _) => {
                Predicate::Or(items.iter().map(|i| self.search(i)).collect::<Result<_>>()?)
            }
            Search::Keyword(value) => self.keyword(value),
        })
    }

    fn keyword(&self, value: &Value) -> Predicate {
        let pieces = value::wildcard_pieces(&value.text);
        let mut atoms = Vec::new();
        if self.json_escaped {
            let escaped = value::json_escaped(&pieces, self.ignore_case);
            atoms.extend(escaped.into_iter().filter_map(|e| Atom::text(e, self.ignore_case)));
        }
        match Atom::text(pieces, self.ignore_case) {
            Some(atom) => {
                atoms.push(atom);
                Predicate::Keyword(atoms)
            }
            // An empty keyword (or only `*`) is in every line.
            None => Predicate::Const(true),
        }
    }

    fn field_match(&self, item: &FieldMatch) -> Result<Predicate> {
        use Modifier::*;
        if item.field.is_empty() {
            // Values without a field under a map key are keywords.
            let parts = item.values.iter().map(|v| self.keyword(v)).collect();
            return Ok(if item.has(All) { Predicate::And(parts) } else { Predicate::Or(parts) });
        }
        let field =
            |test: ValueTest| Predicate::Field(FieldTest { field: item.field.clone(), test });
        if item.has(Exists) {
            let wanted = item.values.first().map(|v| v.text.eq_ignore_ascii_case("true"));
            return Ok(field(ValueTest::Exists(wanted.unwrap_or(true))));
        }
        let fold = self.ignore_case && !item.has(Cased);
        let mut parts = Vec::with_capacity(item.values.len());
        for value in &item.values {
            if value.null {
                parts.push(field(ValueTest::Null));
                continue;
            }
            parts.push(self.value(item, value, fold, &field)?);
        }
        let any_or_all = if item.has(All) { Predicate::And(parts) } else { Predicate::Or(parts) };
        Ok(if item.has(Neq) { Predicate::Not(Box::new(any_or_all)) } else { any_or_all })
    }

    fn value(
        &self,
        item: &FieldMatch,
        value: &Value,
        fold: bool,
        field: &dyn Fn(ValueTest) -> Predicate,
    ) -> Result<Predicate> {
        use Modifier::*;
        let place = if item.has(Contains) {
            Place::Inside
        } else if item.has(StartsWith) {
            Place::Start
        } else if item.has(EndsWith) {
            Place::End
        } else {
            Place::Whole
        };
        for (m, comparison) in [
            (Gt, Comparison::Greater),
            (Gte, Comparison::GreaterOrEqual),
            (Lt, Comparison::Less),
            (Lte, Comparison::LessOrEqual),
        ] {
            if item.has(m) {
                let operand: f64 = value.text.trim().parse().map_err(|_| {
                    Error::at(value.pos, format!("'{}' is not a number", value.text))
                })?;
                return Ok(field(ValueTest::Compare(comparison, operand)));
            }
        }
        if item.has(FieldRef) {
            return Ok(field(ValueTest::FieldRef { other: value.text.clone(), place, fold }));
        }
        if item.has(Re) {
            let mut flags = String::new();
            for (m, f) in [(ReIgnoreCase, 'i'), (ReMultiLine, 'm'), (ReDotAll, 's')] {
                if item.has(m) {
                    flags.push(f);
                }
            }
            let re = if flags.is_empty() {
                value.text.clone()
            } else {
                format!("(?{flags}){}", value.text)
            };
            super::check_regex(&re).map_err(|e| Error::at(value.pos, e))?;
            return Ok(field(ValueTest::Regex(re)));
        }
        if item.has(Cidr) {
            let (addr, len) =
                value::parse_network(&value.text).map_err(|e| Error::at(value.pos, e))?;
            return Ok(field(ValueTest::Cidr { addr, len }));
        }
        let all_pieces = match super::value_pieces(item, value) {
            super::ValuePieces::Bytes(bytes) => vec![vec![Piece::Lit(bytes)]],
            super::ValuePieces::Texts(texts) => texts,
        };
        // base64offset's encodings are found inside a value.
        let place =
            if item.has(Base64Offset) && place == Place::Whole { Place::Inside } else { place };
        let parts = all_pieces
            .into_iter()
            .map(|mut pieces| {
                if matches!(place, Place::Inside | Place::End) {
                    pieces.insert(0, Piece::AnyRun);
                }
                if matches!(place, Place::Inside | Place::Start) {
                    pieces.push(Piece::AnyRun);
                }
                field(ValueTest::Pieces { pieces, fold })
            })
            .collect();
        Ok(Predicate::Or(parts))
    }
}

/// Literals shorter than this are no trigger: a field item whose longest
/// written literal is this short triggers on every line (its rule is then
/// confirmed wherever the rest of its trigger holds). One- and two-byte
/// pieces (`' -s '` with its windash dash, `?` between letters) occur
/// dozens of times in every event line, and each occurrence is work for
/// the scan; the field check decides them as cheaply on the few lines
/// where the rest of the rule triggers.
pub const TRIGGER_MIN_BYTES: usize = 3;

/// The pieces a field item's trigger atom is made of: the longest literal
/// of the value as any format writes it ([`written_parts`]), which every
/// line where the field holds the value contains. Only that literal: the
/// scan then carries one plain pattern per value, never a sequence of
/// short pieces; the order and the gaps are the field check's business.
/// `[*]` (no atom) when that literal is shorter than [`TRIGGER_MIN_BYTES`].
pub(crate) fn trigger_pieces(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut longest: Option<Vec<u8>> = None;
    for piece in written_parts(pieces) {
        if let Piece::Lit(bytes) = piece {
            if longest.as_ref().is_none_or(|l| bytes.len() > l.len()) {
                longest = Some(bytes);
            }
        }
    }
    match longest {
        Some(bytes) if bytes.len() >= TRIGGER_MIN_BYTES => vec![Piece::Lit(bytes)],
        _ => vec![Piece::AnyRun],
    }
}

/// The trigger literals of a `re` value (with its flags inline): literals,
/// ASCII-lowercased, one of which every match of the regex contains, each
/// at least [`TRIGGER_MIN_BYTES`] long and made only of characters every
/// line format writes as they are (printable ASCII but `\`, `"`, `&`,
/// `<`, `>`, `'`: [`written_as_is`]), so that one occurs in every line
/// where the field holds a match. `None` when the regex has no such
/// literals: its item then triggers on every line.
///
/// Only what a match cannot avoid counts: every part of a concatenation,
/// one branch of each alternation (the set then holds one literal per
/// branch), a repetition's body when it repeats at least once. A class
/// counts when it is one ASCII letter in its cases (what `(?i)` makes of
/// a letter, KELVIN SIGN and LONG S included, as the automaton reads them
/// as their letters).
pub(crate) fn regex_trigger(re: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new().utf8(false).build().parse(re).ok()?;
    let set = required_literals(&hir)?;
    let usable = |l: &Vec<u8>| l.len() >= TRIGGER_MIN_BYTES;
    (set.iter().all(usable) && set.len() <= MAX_REGEX_TRIGGERS).then_some(set)
}

/// A regex trigger with more literals than this (an alternation of many
/// short branches) triggers on every line instead.
const MAX_REGEX_TRIGGERS: usize = 64;

/// A set of literals one of which every match of `hir` contains; the best
/// found: the one whose shortest literal is longest.
fn required_literals(hir: &regex_syntax::hir::Hir) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Concat(parts) => concat_literals(parts),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(required_literals(branch)?);
            }
            Some(all)
        }
        HirKind::Capture(capture) => required_literals(&capture.sub),
        HirKind::Repetition(rep) if rep.min > 0 => required_literals(&rep.sub),
        HirKind::Literal(_) | HirKind::Class(_) => concat_literals(std::slice::from_ref(hir)),
        _ => None,
    }
}

/// [`required_literals`] of the concatenation of `parts`: the runs of
/// characters written as they are across neighbouring literals and
/// letter classes, or what a part requires on its own.
fn concat_literals(parts: &[regex_syntax::hir::Hir]) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::HirKind;
    let shortest = |set: &Vec<Vec<u8>>| set.iter().map(Vec::len).min().unwrap_or(0);
    let mut best: Option<Vec<Vec<u8>>> = None;
    let mut consider = |set: Vec<Vec<u8>>| {
        if best.as_ref().is_none_or(|b| shortest(&set) > shortest(b)) {
            best = Some(set);
        }
    };
    let mut run: Vec<u8> = Vec::new();
    for part in parts {
        match part.kind() {
            HirKind::Literal(lit) => {
                for &b in lit.0.iter() {
                    if written_as_is(b) {
                        run.push(b.to_ascii_lowercase());
                    } else if !run.is_empty() {
                        consider(vec![std::mem::take(&mut run)]);
                    }
                }
            }
            _ => match class_letter(part) {
                Some(letter) => run.push(letter),
                None => {
                    if !run.is_empty() {
                        consider(vec![std::mem::take(&mut run)]);
                    }
                    let composite = matches!(
                        part.kind(),
                        HirKind::Concat(_)
                            | HirKind::Alternation(_)
                            | HirKind::Capture(_)
                            | HirKind::Repetition(_)
                    );
                    if let Some(set) = composite.then(|| required_literals(part)).flatten() {
                        consider(set);
                    }
                }
            },
        }
    }
    if !run.is_empty() {
        consider(vec![run]);
    }
    best
}

/// Whether every line format writes the byte as it is: one no format
/// escapes ([`escaped_by_a_format`]) and not `\`, which JSON doubles (a
/// text value's trigger covers that with its JSON-escaped form; a regex's
/// literal is not rewritten).
fn written_as_is(b: u8) -> bool {
    !escaped_by_a_format(b) && b != b'\\'
}

/// Whether some line format writes the byte otherwise: a quote (a quoted
/// key=value's `\"`, XML's `&quot;`), `&`, `<`, `>`, `'` (XML entities),
/// control characters and non-ASCII text (JSON's `\uXXXX`).
fn escaped_by_a_format(b: u8) -> bool {
    matches!(b, b'"' | b'&' | b'<' | b'>' | b'\'') || !(0x20..0x80).contains(&b)
}

/// The letter, lowercase, of a class that is one ASCII letter in its cases
/// (what `(?i)` makes of a letter; KELVIN SIGN and LONG S are theirs).
fn class_letter(hir: &regex_syntax::hir::Hir) -> Option<u8> {
    use regex_syntax::hir::{Class, HirKind};
    let HirKind::Class(class) = hir.kind() else { return None };
    let ranges: Vec<(u32, u32)> = match class {
        Class::Unicode(c) => c.iter().map(|r| (u32::from(r.start()), u32::from(r.end()))).collect(),
        Class::Bytes(c) => c.iter().map(|r| (u32::from(r.start()), u32::from(r.end()))).collect(),
    };
    let members: Vec<u32> = ranges.into_iter().flat_map(|(a, b)| a..=b).take(4).collect();
    if members.len() > 3 {
        return None;
    }
    let mut letter = None;
    for m in members {
        let b = match super::atom::ASCII_PARTNERS.iter().find(|(p, _)| u32::from(*p) == m) {
            Some(&(_, b)) => b,
            None => u8::try_from(m).ok().filter(u8::is_ascii_alphabetic)?,
        };
        let b = b.to_ascii_lowercase();
        if letter.is_some_and(|l| l != b) {
            return None;
        }
        letter = Some(b);
    }
    letter
}

/// A field value's pieces with every character that some line format
/// writes otherwise ([`escaped_by_a_format`]) replaced by `*`. What is left is written as it is
/// (or as JSON escapes it, which the trigger also covers) wherever the
/// field holds the value, in that order, so the atom stays a necessary
/// condition of the item.
pub(crate) fn written_parts(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match piece {
            Piece::Lit(bytes) if bytes.iter().any(|&b| escaped_by_a_format(b)) => {
                for (i, part) in bytes.split(|&b| escaped_by_a_format(b)).enumerate() {
                    if i > 0 {
                        out.push(Piece::AnyRun);
                    }
                    out.push(Piece::Lit(part.to_vec()));
                }
            }
            // A choice of characters (windash) is written as it is.
            piece => out.push(piece),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::regex_trigger;

    fn trigger(re: &str) -> Option<Vec<String>> {
        regex_trigger(re)
            .map(|set| set.into_iter().map(|l| String::from_utf8(l).unwrap()).collect())
    }

    #[test]
    fn regex_triggers_are_what_a_match_cannot_avoid() {
        // The longest run of a concatenation, lowercased; `(?i)` classes
        // (KELVIN SIGN in `k`'s) are their letters.
        assert_eq!(
            trigger(r#"(?i)\.exe["']?\s+[^"]{0,64}werfaultsecure\.exe["']?\s+\d{2,10}"#),
            Some(vec!["werfaultsecure.exe".into()])
        );
        assert_eq!(trigger(r"(?i)Kit\d+"), Some(vec!["kit".into()]));
        assert_eq!(trigger(r"\$PSHome\[\s*\d{1,3}"), Some(vec!["$pshome[".into()]));
        // One literal per branch; a repetition's body if it must occur.
        assert_eq!(trigger("(?:abcd|xyz)+q"), Some(vec!["abcd".into(), "xyz".into()]));
        assert_eq!(trigger(r"x(?:abcd)?y"), None);
        // Characters some format escapes split the run (`\`, quotes,
        // `&<>`, non-ASCII), and a run shorter than 3 bytes is no trigger.
        assert_eq!(trigger(r"C:\\Windows\\Temp"), Some(vec!["windows".into()]));
        assert_eq!(trigger(r#"ab"cd"#), None);
        assert_eq!(trigger("été"), None);
        assert_eq!(trigger(r"-k\s\w{1,64}"), None);
        assert_eq!(trigger(r"(?:abc|x)"), None);
        assert_eq!(trigger("^[A-Za-z0-9]{16}$"), None);
        // Not a regex: no trigger (the rule's own lowering reports it).
        assert_eq!(trigger("(unclosed"), None);
    }
}
