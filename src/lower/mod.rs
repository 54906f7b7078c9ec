//! Rule + condition → [`Formula`] over atoms. The one place where meaning is
//! decided.
//!
//! # Default semantics (what the rule means, on a line)
//!
//! * Field names are ignored: every value is "the line contains it".
//!   `contains`, `startswith`, `endswith` and plain values are all substring
//!   tests, since a line does not tell where a field begins or ends.
//! * A map is the AND of its items, a list of maps or of keywords an OR, a
//!   list of values an OR (AND with `all`).
//! * `1 of X` / `all of X` range over the definitions whose names match `X`
//!   (`*` wildcards; `them` is every definition not starting with `_`), as
//!   the Sigma specification says. A plain name is that one definition,
//!   except that `all of NAME` on a list definition requires every item of
//!   the list: that is how the grep backend reads it, and the measured
//!   vectors without legacy defects pin it (`all_of_list`).
//! * `not` is real negation at every depth.
//! * Values: see [`value::wildcard_pieces`]. Matching is case-insensitive
//!   with Unicode simple case folding unless `|cased` or
//!   [`Options::ignore_case`] is off. `re` is case-sensitive unless `|i`.
//! * What a line cannot answer (`null` values, `exists`, `gt`/`gte`/`lt`/
//!   `lte`, `neq`, `fieldref`, `expand`) is decided toward reporting the
//!   line: true where it occurs un-negated, false under an odd number of
//!   `not`s, with one warning per rule.
//! * Plain YAML scalars are taken as written (`010` stays `010`).
//! * Aggregations (`| count() ...`, `near`) and `timeframe` are not applied:
//!   the search part is used, with a warning.
//!
//! # JSON-escaped values
//!
//! In a JSON line a backslash is written `\\` and a quote `\"`, so a
//! Windows path value such as `\cmd.exe` never occurs literally. With
//! [`Options::json_escaped`], every text atom whose value changes under
//! JSON string escaping ([`value::json_escaped`] states the escaping and
//! the wildcards) becomes `atom(value) or atom(escaped value)`: the value
//! as written still matches (numbers, text outside strings, a line that
//! is not JSON after all), and a JSON writer's form of it matches too. A
//! value with non-ASCII text has one more escaped form, the `\uXXXX`
//! escapes an `ensure_ascii` writer (Python's default) makes of it.
//! Unchanged on purpose:
//!
//! * `re` values: a regex describes the value, and rewriting arbitrary
//!   regex syntax into its escaped form is not attempted; a rule meant for
//!   JSON lines writes the escapes in the regex itself.
//! * `cidr` (digits, dots, colons) and `base64`/`base64offset` (the base64
//!   alphabet, whose `/` no common writer escapes) never change.
//! * `utf16*`/`wide` values are bytes, not text; a JSON writer would not
//!   hold them in a string as such.
//! * `windash` choices are dashes and slashes: they need no escaping.
//!
//! The escaped form is searched in the line as written, which has no
//! notion of where an escape sequence or a string begins, so it can match
//! where the decoded values would not, always in the direction of
//! reporting:
//!
//! * it may start inside one of the line's escapes: when it begins with an
//!   escape (a value starting with `"`, a control character, non-ASCII
//!   text in its `\u` form, or `\` followed by an escape letter:
//!   `\temp` is found in the JSON of
//!   backslash, TAB, `emp`), when an escape follows a wildcard, or when it
//!   begins with an escape's letter or hex digit (`t\u0001`, from a `t`
//!   and U+0001, in the JSON of TAB, U+0001);
//! * it may run across the end of a string: a `?` at an edge of the value
//!   can take a string's quote, and a value with `*` spans strings as it
//!   spans fields in any line.
//!
//! The differential test (`tests/jsonesc.rs`) pins both directions: on a
//! JSON-encoded line the escaped program finds everything the plain
//! program finds on the text, and outside the cases above nothing more.
//!
//! # Legacy semantics
//!
//! [`legacy`] lowers the regex of the old grep backend instead (`--legacy`),
//! to a formula over the same kind of atoms; its module docs state how.

pub mod atom;
pub mod formula;
pub mod legacy;
pub mod logsource;
pub mod sigma;
pub mod value;

use std::collections::HashMap;

pub use atom::{Atom, AtomKind, Literal, Piece};
pub use formula::{AtomId, Formula};

use crate::condition::{self, Expr, Target};
use crate::error::{Error, Pos, Result};
use crate::rule::{Definition, FieldMatch, Modifier, Rule, Search, Value};

/// What a rule means (DESIGN 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Semantics {
    /// On a line: field names dropped, every value a substring anywhere
    /// (the grep backend's meaning; this module's default semantics).
    #[default]
    Grep,
    /// On an event's fields ([`sigma`]): the formula is the rule's
    /// trigger, and [`Lowered::predicate`] its exact meaning.
    Sigma,
}

impl Semantics {
    /// The name users write (`--semantics`).
    pub fn name(self) -> &'static str {
        match self {
            Semantics::Grep => "grep",
            Semantics::Sigma => "sigma",
        }
    }
}

/// Options of the lowering stage.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// What a rule means.
    pub semantics: Semantics,
    /// Fold case for values without `|cased` (GNU grep's `-i`); on by
    /// default, off with `--no-ignore-case`.
    pub ignore_case: bool,
    /// Each text value also matches its JSON-escaped form (see
    /// [JSON-escaped values](self#json-escaped-values)); off by default,
    /// chosen per input by the command (`--json-escaped`).
    pub json_escaped: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { semantics: Semantics::Grep, ignore_case: true, json_escaped: false }
    }
}

/// Interned atoms shared by every rule of a program.
#[derive(Clone, Debug, Default)]
pub struct AtomTable {
    atoms: Vec<Atom>,
    index: HashMap<Atom, AtomId>,
}

impl AtomTable {
    /// An empty table.
    pub fn new() -> AtomTable {
        AtomTable::default()
    }

    /// The id of an atom, adding it if it is new.
    pub fn intern(&mut self, atom: Atom) -> AtomId {
        if let Some(&id) = self.index.get(&atom) {
            return id;
        }
        let id = AtomId(u32::try_from(self.atoms.len()).expect("fewer than 2^32 atoms"));
        self.atoms.push(atom.clone());
        self.index.insert(atom, id);
        id
    }

    /// The atom with this id.
    pub fn get(&self, id: AtomId) -> &Atom {
        &self.atoms[id.index()]
    }

    /// All atoms, indexed by id.
    pub fn atoms(&self) -> &[Atom] {
        &self.atoms
    }

    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.atoms.len()
    }

    /// Forgets every atom added after the table had `len` atoms (used to
    /// drop the atoms of a file that failed to load).
    pub fn truncate(&mut self, len: usize) {
        for atom in self.atoms.drain(len.min(self.atoms.len())..) {
            self.index.remove(&atom);
        }
    }

    /// True when there are no atoms.
    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }
}

/// A rule lowered to a formula.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The formula over atoms of the shared table.
    pub formula: Formula,
    /// Things the user should know (each once): parts decided toward
    /// reporting, aggregations not applied.
    pub warnings: Vec<String>,
    /// With [`Semantics::Sigma`], the rule's exact meaning on an event;
    /// the formula is then only its trigger.
    pub predicate: Option<sigma::Predicate>,
}

/// Lowers one rule, adding its atoms to `table`.
///
/// # Errors
/// Unknown definitions, quantifiers that match no definition, invalid
/// regexes or networks, and modifier combinations without a meaning, each
/// at the position of the offending text.
pub fn lower(rule: &Rule, options: Options, table: &mut AtomTable) -> Result<Lowered> {
    let mut lowerer = Lowerer { rule, options, table, warnings: Vec::new(), written_parts: false };
    let mut alternatives = Vec::new();
    for cond in &rule.detection.conditions {
        let parsed = condition::parse(&cond.text, cond.pos)?;
        if let Some(agg) = &parsed.aggregation {
            lowerer.warn(format!("the aggregation '| {agg}' is not applied; the search part is"));
        }
        alternatives.push(lowerer.expr(&parsed.expr, true)?);
    }
    if rule.detection.timeframe.is_some() {
        lowerer.warn("'timeframe' is not applied".to_string());
    }
    let predicate = match options.semantics {
        Semantics::Grep => None,
        Semantics::Sigma => {
            Some(sigma::predicate(rule, options.ignore_case, options.json_escaped)?)
        }
    };
    Ok(Lowered { formula: Formula::or(alternatives), warnings: lowerer.warnings, predicate })
}

/// The definition `name` of `rule`.
fn definition<'a>(rule: &'a Rule, name: &str, pos: Pos) -> Result<&'a Definition> {
    rule.detection
        .definitions
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| Error::at(pos, format!("unknown definition '{name}'")))
}

/// The definitions a quantifier (`1 of X`, `all of them`) ranges over.
fn targets<'a>(rule: &'a Rule, target: &Target, pos: Pos) -> Result<Vec<&'a Definition>> {
    let defs = &rule.detection.definitions;
    let chosen: Vec<&'a Definition> = match target {
        Target::Them => defs.iter().filter(|d| !d.name.starts_with('_')).collect(),
        Target::Pattern(p) => defs.iter().filter(|d| glob_matches(p, &d.name)).collect(),
    };
    if chosen.is_empty() {
        return Err(Error::at(pos, format!("'{target}' matches no definition")));
    }
    Ok(chosen)
}

struct Lowerer<'a> {
    rule: &'a Rule,
    options: Options,
    table: &'a mut AtomTable,
    warnings: Vec<String>,
    /// Lowering a Sigma field item's trigger: text a line format may
    /// write otherwise becomes a `*` (see [`sigma::written_parts`]).
    written_parts: bool,
}

/// `*` glob over a whole name (`1 of selection_*`). Hand-written: a
/// globset matcher per quantifier was measured at 24 µs to build, 40 ms
/// of compiling all SigmaHQ rules (1,669 quantifiers).
fn glob_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && p[i] != '*' && p[i] == n[j] {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

impl<'a> Lowerer<'a> {
    fn warn(&mut self, message: String) {
        if !self.warnings.contains(&message) {
            self.warnings.push(message);
        }
    }

    /// `positive`: the node sits under an even number of `not`s. Parts a
    /// line cannot answer become `positive` (toward reporting the line).
    fn expr(&mut self, expr: &Expr, positive: bool) -> Result<Formula> {
        Ok(match expr {
            Expr::Ident(name, pos) => {
                let def = self.definition(name, *pos)?;
                self.search(&def.search, positive)?
            }
            // `all of NAME` (one definition, no wildcard) over a list
            // means every item, as the grep backend reads it (the vectors
            // pin this); over a map it is the map itself.
            Expr::AllOf(Target::Pattern(name), pos) if !name.contains('*') => {
                let def = self.definition(name, *pos)?;
                match &def.search {
                    Search::List(items, _) => {
                        let mut parts = Vec::with_capacity(items.len());
                        for item in items {
                            parts.push(self.search(item, positive)?);
                        }
                        Formula::and(parts)
                    }
                    search => self.search(search, positive)?,
                }
            }
            Expr::OneOf(target, pos) | Expr::AllOf(target, pos) => {
                let defs = self.targets(target, *pos)?;
                let mut parts = Vec::with_capacity(defs.len());
                for def in defs {
                    parts.push(self.search(&def.search, positive)?);
                }
                if matches!(expr, Expr::OneOf(..)) {
                    Formula::or(parts)
                } else {
                    Formula::and(parts)
                }
            }
            Expr::Not(x) => Formula::not(self.expr(x, !positive)?),
            Expr::And(xs) => {
                let parts: Result<Vec<_>> = xs.iter().map(|x| self.expr(x, positive)).collect();
                Formula::and(parts?)
            }
            Expr::Or(xs) => {
                let parts: Result<Vec<_>> = xs.iter().map(|x| self.expr(x, positive)).collect();
                Formula::or(parts?)
            }
        })
    }

    fn definition(&self, name: &str, pos: Pos) -> Result<&'a Definition> {
        definition(self.rule, name, pos)
    }

    fn targets(&self, target: &Target, pos: Pos) -> Result<Vec<&'a Definition>> {
        targets(self.rule, target, pos)
    }

    fn search(&mut self, search: &Search, positive: bool) -> Result<Formula> {
        Ok(match search {
            Search::Selection(sel) => {
                let mut parts = Vec::with_capacity(sel.items.len());
                for item in &sel.items {
                    parts.push(self.field_match(item, positive)?);
                }
                Formula::and(parts)
            }
            Search::List(items, _) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    parts.push(self.search(item, positive)?);
                }
                Formula::or(parts)
            }
            Search::Keyword(value) => self.keyword(value)?,
        })
    }

    fn keyword(&mut self, value: &Value) -> Result<Formula> {
        let pieces = value::wildcard_pieces(&value.text);
        Ok(self.text_atom(pieces, self.options.ignore_case))
    }

    /// A text value's atom, or with [`Options::json_escaped`] the value or
    /// any of its JSON-escaped forms that differ from it.
    fn text_atom(&mut self, pieces: Vec<Piece>, fold: bool) -> Formula {
        let pieces = if self.written_parts { sigma::trigger_pieces(pieces) } else { pieces };
        let escaped =
            if self.options.json_escaped { value::json_escaped(&pieces, fold) } else { Vec::new() };
        let plain = self.one_text_atom(pieces, fold);
        if escaped.is_empty() {
            return plain;
        }
        let mut forms = vec![plain];
        forms.extend(escaped.into_iter().map(|e| self.one_text_atom(e, fold)));
        Formula::or(forms)
    }

    fn one_text_atom(&mut self, pieces: Vec<Piece>, fold: bool) -> Formula {
        match Atom::text(pieces, fold) {
            Some(atom) => Formula::atom(self.table.intern(atom)),
            None => Formula::Const(true),
        }
    }

    fn unanswerable(&mut self, what: &str, positive: bool) -> Formula {
        let side = if positive { "true" } else { "false (it is negated)" };
        self.warn(format!("{what} cannot be decided on a line; taken as {side}"));
        Formula::Const(positive)
    }

    fn field_match(&mut self, item: &FieldMatch, positive: bool) -> Result<Formula> {
        use Modifier::*;
        if self.options.semantics == Semantics::Sigma && !item.field.is_empty() {
            return self.field_trigger(item, positive);
        }
        let field = if item.field.is_empty() { "keyword" } else { item.field.as_str() };
        for &(m, pos) in &item.modifiers {
            match m {
                Exists | Gt | Gte | Lt | Lte | Neq | FieldRef | Expand => {
                    return Ok(self.unanswerable(&format!("'{field}|{m}'"), positive));
                }
                ReIgnoreCase | ReMultiLine | ReDotAll if !item.has(Re) => {
                    return Err(Error::at(pos, format!("modifier '{m}' is only valid after 're'")));
                }
                _ => {}
            }
        }
        let all = item.has(All);
        let mut parts = Vec::with_capacity(item.values.len());
        for value in &item.values {
            if value.null {
                parts.push(self.unanswerable(&format!("'{field}: null'"), positive));
                continue;
            }
            parts.push(self.value(item, value)?);
        }
        Ok(if all { Formula::and(parts) } else { Formula::or(parts) })
    }

    /// A field item's part of the trigger formula in Sigma semantics (see
    /// [`sigma`]): under `not`s, `false`; else its values' atoms when the
    /// line must hold their text wherever the item holds, `true` when not.
    fn field_trigger(&mut self, item: &FieldMatch, positive: bool) -> Result<Formula> {
        use Modifier::*;
        if !positive {
            return Ok(Formula::Const(false));
        }
        let unwritten = [Exists, Gt, Gte, Lt, Lte, Neq, FieldRef, Expand, Cidr];
        if item.modifiers.iter().any(|(m, _)| unwritten.contains(m))
            || item.values.iter().any(|v| v.null)
        {
            return Ok(Formula::Const(true));
        }
        if item.has(Re) {
            // A match is in the decoded value, which the line may write
            // escaped: the trigger is what the regex cannot match without,
            // among the characters every format writes as they are.
            let parts: Vec<Formula> = item
                .values
                .iter()
                .map(|value| match sigma::regex_trigger(&regex_with_flags(item, value)) {
                    Some(literals) => Formula::or(
                        literals
                            .into_iter()
                            .map(|l| self.one_text_atom(vec![Piece::Lit(l)], true))
                            .collect::<Vec<_>>(),
                    ),
                    None => Formula::Const(true),
                })
                .collect();
            return Ok(if item.has(All) { Formula::and(parts) } else { Formula::or(parts) });
        }
        // A field's value may be written JSON-escaped whichever program
        // reads the line (decoding does not depend on it): the trigger
        // covers both forms, and leaves out what other formats escape.
        let json_escaped = std::mem::replace(&mut self.options.json_escaped, true);
        self.written_parts = true;
        let parts: Result<Vec<Formula>> =
            item.values.iter().map(|value| self.value(item, value)).collect();
        self.written_parts = false;
        self.options.json_escaped = json_escaped;
        Ok(if item.has(All) { Formula::and(parts?) } else { Formula::or(parts?) })
    }

    /// One value under the item's modifiers.
    fn value(&mut self, item: &FieldMatch, value: &Value) -> Result<Formula> {
        use Modifier::*;
        let fold = self.options.ignore_case && !item.has(Cased);
        if item.has(Re) {
            return self.regex(item, value);
        }
        if item.has(Cidr) {
            let re = value::cidr_regex(&value.text).map_err(|e| Error::at(value.pos, e))?;
            let atom = Atom { kind: AtomKind::Regex(re), fold_case: false };
            return Ok(Formula::atom(self.table.intern(atom)));
        }
        match value_pieces(item, value) {
            // Bytes are not text: no JSON form (see the module docs).
            ValuePieces::Bytes(bytes) => Ok(self.one_text_atom(vec![Piece::Lit(bytes)], fold)),
            ValuePieces::Texts(texts) => Ok(Formula::or(
                texts.into_iter().map(|pieces| self.text_atom(pieces, fold)).collect::<Vec<_>>(),
            )),
        }
    }

    fn regex(&mut self, item: &FieldMatch, value: &Value) -> Result<Formula> {
        use Modifier::*;
        for &(m, pos) in &item.modifiers {
            if !matches!(m, Re | ReIgnoreCase | ReMultiLine | ReDotAll | All | Cased) {
                return Err(Error::at(pos, format!("modifier '{m}' cannot be combined with 're'")));
            }
        }
        let re = regex_with_flags(item, value);
        check_regex(&re).map_err(|e| Error::at(value.pos, e))?;
        let atom = Atom { kind: AtomKind::Regex(re), fold_case: false };
        Ok(Formula::atom(self.table.intern(atom)))
    }
}

/// A `re` value with its item's `i`, `m`, `s` modifiers as inline flags.
fn regex_with_flags(item: &FieldMatch, value: &Value) -> String {
    let mut flags = String::new();
    for (modifier, flag) in
        [(Modifier::ReIgnoreCase, 'i'), (Modifier::ReMultiLine, 'm'), (Modifier::ReDotAll, 's')]
    {
        if item.has(modifier) {
            flags.push(flag);
        }
    }
    if flags.is_empty() {
        value.text.clone()
    } else {
        format!("(?{flags}){}", value.text)
    }
}

/// What a text value becomes under its item's encoding modifiers.
enum ValuePieces {
    /// UTF-16 bytes (`utf16*`, `wide`), matched as they are.
    Bytes(Vec<u8>),
    /// Alternatives of pieces: the value's wildcards (and `windash`
    /// choices), or its base64 encodings as literal text.
    Texts(Vec<Vec<Piece>>),
}

/// The pieces of one value under `item`'s encodings and `windash`, in
/// either semantics. Encodings take the value as literal text.
fn value_pieces(item: &FieldMatch, value: &Value) -> ValuePieces {
    use Modifier::*;
    let mut bytes: Option<Vec<u8>> = None;
    let mut texts: Vec<String> = vec![value.text.clone()];
    let mut encoded = false;
    for &(m, _) in &item.modifiers {
        match m {
            Utf16Le | Wide | Utf16Be | Utf16 => {
                let enc = match m {
                    Utf16Be => value::Utf16::Be,
                    Utf16 => value::Utf16::LeBom,
                    _ => value::Utf16::Le,
                };
                bytes = Some(value::utf16(&texts[0], enc));
                encoded = true;
            }
            Base64 | Base64Offset => {
                let raw = bytes.take().unwrap_or_else(|| texts[0].clone().into_bytes());
                texts = if m == Base64 {
                    vec![value::base64(&raw)]
                } else {
                    value::base64_offsets(&raw).to_vec()
                };
                encoded = true;
            }
            _ => {}
        }
    }
    if let Some(bytes) = bytes {
        return ValuePieces::Bytes(bytes);
    }
    ValuePieces::Texts(
        texts
            .into_iter()
            .map(|text| {
                let pieces = if encoded {
                    vec![Piece::Lit(text.into_bytes())]
                } else {
                    value::wildcard_pieces(&text)
                };
                if item.has(Windash) {
                    value::windash(pieces)
                } else {
                    pieces
                }
            })
            .collect(),
    )
}

/// A `|re` value may compile to at most this many bytes. Sigma regexes
/// need a few KiB; the oracle's own bound (256 MiB) would let a hostile
/// regex cost seconds and hundreds of MiB.
pub const RE_SIZE_LIMIT: usize = 32 << 20;

/// Regexes whose [`regex_units`] exceed this are refused without being
/// compiled: about what compiles to [`RE_SIZE_LIMIT`] (one unit of
/// `(?:a|b){1000}{1000}` takes ~90 bytes compiled). Compiling up to the
/// byte bound takes over a second for some shapes (`\d{58612}`), which
/// this gate keeps to a fraction.
const RE_UNITS_LIMIT: u64 = 400_000;

/// A cheap lower bound of a regex's compiled size: literal bytes and class
/// ranges, multiplied out through repetitions. Recursion is bounded by
/// the parser's nest limit.
fn regex_units(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(lit) => lit.0.len() as u64,
        HirKind::Class(Class::Unicode(c)) => c.ranges().len().max(1) as u64,
        HirKind::Class(Class::Bytes(c)) => c.ranges().len().max(1) as u64,
        HirKind::Repetition(rep) => {
            let copies = rep.max.map_or(u64::from(rep.min) + 1, u64::from).max(1);
            regex_units(&rep.sub).saturating_mul(copies)
        }
        HirKind::Capture(cap) => regex_units(&cap.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().fold(0u64, |n, h| n.saturating_add(regex_units(h)))
        }
    }
}

/// Regex checks remembered per thread, at most this many (then forgotten).
const CHECKED_REGEXES_MAX: usize = 4096;

thread_local! {
    /// The answers of [`check_regex`] so far: a rule's `re` value is
    /// checked by the formula's lowering and by the predicate's, and again
    /// when the rules are lowered for JSON lines; each check compiles it.
    static CHECKED_REGEXES: std::cell::RefCell<HashMap<String, std::result::Result<(), String>>> =
        std::cell::RefCell::new(HashMap::new());
}

/// Accepts a regex the automaton can run; the error names the construct,
/// or says the regex is too large (past [`RE_SIZE_LIMIT`]). Answers are
/// remembered ([`CHECKED_REGEXES`]).
fn check_regex(re: &str) -> std::result::Result<(), String> {
    if let Some(answer) = CHECKED_REGEXES.with_borrow(|checked| checked.get(re).cloned()) {
        return answer;
    }
    let answer = check_regex_uncached(re);
    CHECKED_REGEXES.with_borrow_mut(|checked| {
        if checked.len() >= CHECKED_REGEXES_MAX {
            checked.clear();
        }
        checked.insert(re.to_string(), answer.clone());
    });
    answer
}

fn check_regex_uncached(re: &str) -> std::result::Result<(), String> {
    let too_large =
        || format!("regex too large: its automaton would exceed {} MiB", RE_SIZE_LIMIT >> 20);
    let mut parser = regex_syntax::ParserBuilder::new().utf8(false).nest_limit(100).build();
    match parser.parse(re) {
        Ok(hir) if regex_units(&hir) > RE_UNITS_LIMIT => Err(too_large()),
        Ok(_) => match atom::build_regex(re, RE_SIZE_LIMIT) {
            Ok(_) => Ok(()),
            Err(regex::Error::CompiledTooBig(_)) => Err(too_large()),
            Err(e) => Err(format!("regex not supported: {e}")),
        },
        Err(regex_syntax::Error::Parse(e)) => Err(format!(
            "regex not supported: {} (at offset {} of '{re}')",
            e.kind(),
            e.span().start.offset
        )),
        Err(regex_syntax::Error::Translate(e)) => Err(format!(
            "regex not supported: {} (at offset {} of '{re}')",
            e.kind(),
            e.span().start.offset
        )),
        Err(e) => Err(format!("regex not supported: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escaping_applies_to_text_values_only() {
        let text =
            "title: t\ndetection:\n  sel:\n    a|endswith: '\\x.exe'\n    b|re: '\\\\x'\n    \
                    c|base64: 'a\\b'\n    d|wide: 'a\\b'\n    e: 'no escapes'\n  condition: sel\n";
        let rule = &crate::rule::parse_rules(text).unwrap()[0];
        let mut plain = AtomTable::new();
        let p = lower(rule, Options::default(), &mut plain).unwrap();
        let mut json = AtomTable::new();
        let options = Options { json_escaped: true, ..Options::default() };
        let j = lower(rule, options, &mut json).unwrap();
        // One more atom: the escaped path; `re`, `base64`, `wide` and the
        // value without escapes are as they were.
        assert_eq!(json.len(), plain.len() + 1, "{:?}", json.atoms());
        let added = json.atoms().iter().find(|a| !plain.atoms().contains(a)).unwrap();
        assert_eq!(added.to_regex(), r"(?i)\\\\x\.exe");
        assert_eq!(p.formula.to_string(), "a0 and a1 and a2 and a3 and a4");
        assert_eq!(j.formula.to_string(), "(a0 or a1) and a2 and a3 and a4 and a5");
    }

    #[test]
    fn huge_regexes_are_refused_before_compiling() {
        // Found by fuzzing (rule_yaml): compiling this up to the oracle's
        // bound took seconds. Refused now by the size estimate.
        for re in [r"^start\d{58612}$", r"\w{1000}{1000}", "(?:a|b){1000}{1000}{100}"] {
            let started = std::time::Instant::now();
            let err = check_regex(re).unwrap_err();
            assert!(err.starts_with("regex too large"), "{re}: {err}");
            // Generous bound for a debug build on a loaded machine; the
            // refusal itself takes microseconds.
            assert!(started.elapsed().as_secs() < 5, "{re}");
        }
        // Ordinary Sigma regexes pass; counted repetition is multiplied out.
        let units = |re: &str| {
            regex_units(&regex_syntax::ParserBuilder::new().utf8(false).build().parse(re).unwrap())
        };
        assert!(check_regex(r"(?i)\\AppData\\Local\\Temp\\[a-z0-9]{8}\.exe$").is_ok());
        assert_eq!(units("ab{3}"), 1 + 3);
        assert_eq!(units("(?:ab|c){2,5}"), 3 * 5);
    }
}
