//! sigmac's rule parser: definitions and modifiers (semantics §2.3, §2.5)
//! and the condition parser (§2.8).
//!
//! * A definition is parsed each time the condition references it, so each
//!   reference yields new node identities, and errors in definitions that
//!   are never referenced do not surface, except the hashability check
//!   sigmac runs on every definition when it reads the rule
//!   ([`check_hashable`]).
//! * The condition parser reduces a token list the way sigmac does:
//!   parentheses first (recursively, each group optimized on its own and
//!   wrapped in a SUB), then every `all of`, `1 of`, identifier, `not`,
//!   `and`, `or` in that order, each kind completely and left to right,
//!   with Python's list indexing (an operand index of -1 is the last
//!   token). The few conditions on which sigmac would loop forever (a
//!   binary operator first in its group) are an error here.
//! * An aggregation after `|` is validated with sigmac's state machine and
//!   then dropped.

use std::cell::Cell;

use regex::Regex;

use super::optimizer::optimize;
use super::tokenizer::{Kind, Token};
use super::tree::{NodeId, Tree, Value};
use super::yaml11::{Py, PyNode};
use super::SigmacError;
use crate::error::Pos;
use crate::lower::value as encode;

/// One rule document as sigmac's `SigmaParser` holds it.
pub struct Sigma<'a> {
    /// Every `detection` key except `condition`, in YAML order.
    definitions: Vec<(&'a str, &'a PyNode)>,
    /// Where the `detection` map starts (for errors without a better place).
    pos: Pos,
    next_id: Cell<NodeId>,
}

impl<'a> Sigma<'a> {
    /// Reads the detection section, checking what sigmac checks up front.
    ///
    /// # Errors
    /// No `detection`, or a definition holding unhashable values.
    pub fn new(doc: &'a PyNode) -> Result<Sigma<'a>, SigmacError> {
        let Some(detection) = doc.get("detection") else {
            return Err(SigmacError::parse(doc.pos, "No detection definitions found"));
        };
        let Py::Dict(entries) = &detection.value else {
            return Err(SigmacError::python(
                detection.pos,
                format!(
                    "AttributeError: '{}' object has no attribute 'items'",
                    short_type(&detection.value)
                ),
            ));
        };
        let mut definitions = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.value.as_str() else {
                // An int-like name can still be referenced by its text.
                return Err(SigmacError::unsupported(
                    key.pos,
                    format!("definition names must be strings, found {}", key.value.type_name()),
                ));
            };
            if name != "condition" {
                check_hashable(value)?;
                definitions.push((name, value));
            }
        }
        Ok(Sigma { definitions, pos: detection.pos, next_id: Cell::new(1) })
    }

    /// A fresh node identity.
    pub fn id(&self) -> NodeId {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    fn definition(&self, name: &str, pos: Pos) -> Result<&'a PyNode, SigmacError> {
        self.definitions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .ok_or_else(|| SigmacError::parse(pos, format!("Unknown definition '{name}'")))
    }

    /// `parse_definition`: a list is an OR (or `over`), a map an AND.
    fn parse_definition(&self, def: &PyNode, over: Option<Kind>) -> Result<Tree, SigmacError> {
        match &def.value {
            Py::List(items) => {
                let mut children = Vec::with_capacity(items.len());
                for item in items {
                    children.push(match &item.value {
                        Py::Str(s) => Tree::Keyword(Value::Str(s.clone())),
                        Py::Int(i) => Tree::Keyword(Value::Int(i.clone())),
                        Py::List(_) | Py::Dict(_) => self.parse_definition(item, None)?,
                        _ => {
                            return Err(SigmacError::parse(
                                item.pos,
                                "Definition list may only contain plain values or maps",
                            ))
                        }
                    });
                }
                Ok(if over == Some(Kind::All) {
                    Tree::And(self.id(), children)
                } else {
                    Tree::Or(self.id(), children)
                })
            }
            Py::Dict(entries) => {
                let mut children = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    children.push(self.map_item(key, value)?);
                }
                Ok(Tree::And(self.id(), children))
            }
            other => Err(SigmacError::parse(
                def.pos,
                format!(
                    "Expected map or list, got type {}: '{}'",
                    other.type_name(),
                    other.py_str()
                ),
            )),
        }
    }

    /// One `field|modifiers: value` item of a map.
    fn map_item(&self, key: &PyNode, value: &PyNode) -> Result<Tree, SigmacError> {
        let Some(key_text) = key.value.as_str() else {
            return Err(SigmacError::unsupported(
                key.pos,
                format!("argument of type '{}' is not iterable", short_type(&key.value)),
            ));
        };
        let mut parts = key_text.split('|');
        let field = parts.next().unwrap_or_default().to_string();
        let mut current = Modded::from_py(&value.value);
        for name in parts {
            current = self.modify(current, name, key.pos)?;
        }
        let resolve = |v: Value| match v {
            Value::Null => Tree::Null(self.id(), field.clone()),
            v => Tree::Leaf(field.clone(), v),
        };
        Ok(match current {
            Modded::One(v) => resolve(v),
            Modded::List(items) => Tree::Leaf(field.clone(), Value::List(items)),
            Modded::All(items) => Tree::And(self.id(), items.into_iter().map(resolve).collect()),
            Modded::Group(items) => Tree::Or(self.id(), items.into_iter().map(resolve).collect()),
        })
    }

    /// Applies one modifier (sigmac's modifier classes).
    fn modify(&self, value: Modded, name: &str, pos: Pos) -> Result<Modded, SigmacError> {
        let type_error = || SigmacError::unsupported(pos, "");
        match name {
            "contains" | "startswith" | "endswith" => {
                let apply = |v: Value| -> Result<Value, SigmacError> {
                    let Value::Str(s) = v else {
                        return Err(SigmacError::python(
                            pos,
                            format!(
                                "AttributeError: '{}' object has no attribute 'startswith'",
                                short_value_type(&v)
                            ),
                        ));
                    };
                    Ok(Value::Str(wildcard(name, s)))
                };
                match value {
                    Modded::One(Value::Str(s)) => Ok(Modded::One(Value::Str(wildcard(name, s)))),
                    Modded::One(_) => Err(type_error()),
                    other => other.map_each(apply),
                }
            }
            "base64" => {
                let apply = |v: Value| -> Result<Value, SigmacError> {
                    match v {
                        Value::Str(s) => Ok(Value::Str(encode::base64(s.as_bytes()))),
                        Value::Bytes(b) => Ok(Value::Str(encode::base64(&b))),
                        other => Err(SigmacError::unsupported(
                            pos,
                            format!(
                                "a bytes-like object is required, not '{}'",
                                short_value_type(&other)
                            ),
                        )),
                    }
                };
                match value {
                    Modded::One(v @ (Value::Str(_) | Value::Bytes(_))) => {
                        Ok(Modded::One(apply(v)?))
                    }
                    Modded::One(_) => Err(type_error()),
                    other => other.map_each(apply),
                }
            }
            "base64offset" => match value {
                Modded::One(Value::Str(s)) => Ok(Modded::Group(offsets(s.as_bytes()))),
                Modded::One(Value::Bytes(b)) => Ok(Modded::Group(offsets(&b))),
                Modded::One(_) => Err(type_error()),
                // Each item becomes a list of three: a nested list.
                _ => Err(SigmacError::unsupported(pos, "unhashable type: 'list'")),
            },
            "utf16le" | "wide" | "utf16be" | "utf16" => {
                let enc = match name {
                    "utf16be" => encode::Utf16::Be,
                    "utf16" => encode::Utf16::LeBom,
                    _ => encode::Utf16::Le,
                };
                let apply = |v: Value| -> Result<Value, SigmacError> {
                    match v {
                        Value::Str(s) => Ok(Value::Bytes(encode::utf16(&s, enc))),
                        other => Err(SigmacError::python(
                            pos,
                            format!(
                                "AttributeError: '{}' object has no attribute 'encode'",
                                short_value_type(&other)
                            ),
                        )),
                    }
                };
                match value {
                    Modded::One(Value::Str(s)) => Ok(Modded::One(apply(Value::Str(s))?)),
                    Modded::One(_) => Err(type_error()),
                    other => other.map_each(apply),
                }
            }
            "windash" => match value {
                Modded::One(Value::Str(s)) => {
                    Ok(Modded::Group(windash(&s).into_iter().map(Value::Str).collect()))
                }
                Modded::One(_) => Err(type_error()),
                _ => Err(SigmacError::unsupported(pos, "unhashable type: 'list'")),
            },
            "all" => match value {
                Modded::List(items) => Ok(Modded::All(items)),
                _ => Err(type_error()),
            },
            "re" => Ok(Modded::One(Value::Regex(self.id()))),
            "cidr" => Err(SigmacError::parse(
                pos,
                "Cannot convert the rule. Unsupported new cidr modifier by SIGMAC. Please use \
                 the new PySigma/SigmaCLI to be able to convert the rule",
            )),
            other => Err(SigmacError::python(pos, format!("KeyError: '{other}'"))),
        }
    }
}

/// A value on its way through the modifiers.
enum Modded {
    /// A scalar (or a dict, or the `re` object).
    One(Value),
    /// A YAML list: an OR that stays one leaf, `(?:.*a|.*b)`.
    List(Vec<Value>),
    /// After `all`: an AND of leaves.
    All(Vec<Value>),
    /// After `base64offset`/`windash`: an OR of leaves.
    Group(Vec<Value>),
}

impl Modded {
    fn from_py(py: &Py) -> Modded {
        match py {
            Py::List(items) => Modded::List(items.iter().map(|i| value_of(&i.value)).collect()),
            other => Modded::One(value_of(other)),
        }
    }

    fn map_each(
        self,
        f: impl Fn(Value) -> Result<Value, SigmacError>,
    ) -> Result<Modded, SigmacError> {
        let each = |items: Vec<Value>| items.into_iter().map(&f).collect::<Result<Vec<_>, _>>();
        Ok(match self {
            Modded::One(v) => Modded::One(f(v)?),
            Modded::List(items) => Modded::List(each(items)?),
            Modded::All(items) => Modded::All(each(items)?),
            Modded::Group(items) => Modded::Group(each(items)?),
        })
    }
}

fn value_of(py: &Py) -> Value {
    match py {
        Py::Null => Value::Null,
        Py::Bool(b) => Value::Bool(*b),
        Py::Int(i) => Value::Int(i.clone()),
        Py::Float(f) => Value::Float(f.clone()),
        Py::Date(d) => Value::Date(d.clone()),
        Py::DateTime(d) => Value::DateTime(d.clone()),
        Py::Str(s) => Value::Str(s.clone()),
        Py::List(items) => Value::List(items.iter().map(|i| value_of(&i.value)).collect()),
        Py::Dict(_) => Value::Dict,
    }
}

fn short_type(py: &Py) -> &'static str {
    let full = py.type_name();
    full.trim_start_matches("<class '").trim_end_matches("'>")
}

fn short_value_type(v: &Value) -> &'static str {
    let full = v.type_name();
    full.trim_start_matches("<class '").trim_end_matches("'>")
}

/// `contains` / `startswith` / `endswith`: stars at the ends, where a
/// trailing `\` gets `\*` (so that the star is not escaped).
fn wildcard(modifier: &str, mut s: String) -> String {
    if modifier != "startswith" && !s.starts_with('*') {
        s.insert(0, '*');
    }
    if modifier != "endswith" && !s.ends_with('*') {
        s.push_str(if s.ends_with('\\') { "\\*" } else { "*" });
    }
    s
}

fn offsets(bytes: &[u8]) -> Vec<Value> {
    encode::base64_offsets(bytes).into_iter().map(Value::Str).collect()
}

/// Python's `\w` on `str`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `windash`: every `-` or `/` matching Python's `\B[-/]\b` (not after a
/// word character, before one) becomes `-` and `/`; 2^k variants, the
/// first position varying slowest, `-` before `/`.
fn windash(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            matches!(chars[i], '-' | '/')
                && (i == 0 || !is_word(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|&c| is_word(c))
        })
        .collect();
    let mut variants = vec![chars];
    for &p in &positions {
        variants = variants
            .into_iter()
            .flat_map(|v| {
                ['-', '/'].map(|d| {
                    let mut v = v.clone();
                    v[p] = d;
                    v
                })
            })
            .collect();
    }
    variants.into_iter().map(|v| v.into_iter().collect()).collect()
}

/// sigmac adds every map value of every definition to a set when it reads
/// the rule: a map value, or a list value holding a list or a map, fails
/// with `unhashable type`, referenced or not.
fn check_hashable(def: &PyNode) -> Result<(), SigmacError> {
    let unhashable = |node: &PyNode, t: &str| {
        SigmacError::unsupported(node.pos, format!("unhashable type: '{t}'"))
    };
    match &def.value {
        Py::Dict(entries) => {
            for (_, value) in entries {
                match &value.value {
                    Py::Dict(_) => return Err(unhashable(value, "dict")),
                    Py::List(items) => {
                        for item in items {
                            match &item.value {
                                Py::Dict(_) => return Err(unhashable(item, "dict")),
                                Py::List(_) => return Err(unhashable(item, "list")),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Py::List(items) => {
            for item in items {
                check_hashable(item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A token or an already reduced node in the parser's working list.
#[derive(Clone, Debug)]
enum Item {
    Tok(Token),
    Node(Tree),
}

impl Item {
    fn is(&self, kind: Kind) -> bool {
        matches!(self, Item::Tok(t) if t.kind == kind)
    }

    fn into_tree(self) -> Tree {
        match self {
            Item::Tok(t) => Tree::Token(t),
            Item::Node(n) => n,
        }
    }
}

/// Python's `list[i]` with negative indexes.
fn py_get(items: &[Item], i: isize, pos: Pos) -> Result<Item, SigmacError> {
    let j = if i < 0 { i + items.len() as isize } else { i };
    if j < 0 || j as usize >= items.len() {
        return Err(SigmacError::python(pos, "IndexError: list index out of range"));
    }
    Ok(items[j as usize].clone())
}

/// Python's `list[:i]` with a possibly negative `i`.
fn py_prefix(items: &[Item], i: isize) -> &[Item] {
    let j = if i < 0 { (i + items.len() as isize).max(0) } else { i };
    &items[..(j as usize).min(items.len())]
}

/// The condition of one rule, parsed and optimized.
///
/// # Errors
/// Every error sigmac gives for the condition, with the condition's
/// position.
pub fn parse_condition(sigma: &Sigma<'_>, text: &str, pos: Pos) -> Result<Tree, SigmacError> {
    let tokens = super::tokenizer::tokenize(text).map_err(|m| SigmacError::parse(pos, m))?;
    let (search, aggregation) = match tokens.iter().position(|t| t.kind == Kind::Pipe) {
        Some(p) => (&tokens[..p], Some(&tokens[p + 1..])),
        None => (&tokens[..], None),
    };
    let items: Vec<Item> = search.iter().cloned().map(Item::Tok).collect();
    let tree = parse_search(sigma, items, pos)?;
    if let Some(agg) = aggregation {
        check_aggregation(agg).map_err(|m| SigmacError::parse(pos, m))?;
    }
    Ok(tree)
}

fn parse_search(sigma: &Sigma<'_>, mut items: Vec<Item>, pos: Pos) -> Result<Tree, SigmacError> {
    // 1. Parentheses: the first `(` with its matching `)`.
    while let Some(l) = items.iter().position(|i| i.is(Kind::LPar)) {
        let mut depth = 0usize;
        let mut r = None;
        for (k, item) in items.iter().enumerate().skip(l) {
            if item.is(Kind::LPar) {
                depth += 1;
            } else if item.is(Kind::RPar) {
                depth -= 1;
                if depth == 0 {
                    r = Some(k);
                    break;
                }
            }
        }
        let Some(r) = r else {
            return Err(SigmacError::parse(pos, "Missing matching closing parentheses"));
        };
        if l + 1 == r {
            let at = match &items[l] {
                Item::Tok(t) => t.pos,
                Item::Node(_) => 0,
            };
            return Err(SigmacError::parse(pos, format!("Empty subexpression at {at}")));
        }
        let inner = parse_search(sigma, items[l + 1..r].to_vec(), pos)?;
        let mut next = items[..l].to_vec();
        next.push(Item::Node(Tree::Sub(Box::new(inner))));
        next.extend_from_slice(&items[r + 1..]);
        items = next;
    }
    // 2. Each operator kind, completely, in sigmac's order.
    for kind in [Kind::All, Kind::One, Kind::Id, Kind::Not, Kind::And, Kind::Or] {
        while let Some(p) = items.iter().position(|i| i.is(kind)) {
            let Item::Tok(op) = items[p].clone() else { unreachable!("position found a token") };
            let (start, node, end) = match kind {
                Kind::Id => (p, Tree::Sub(Box::new(sigma.by_name(&op.text, None, pos)?)), p + 1),
                Kind::All | Kind::One => {
                    let val = py_get(&items, p as isize + 1, pos)?;
                    (p, sigma.x_of(val, kind, pos)?, p + 2)
                }
                Kind::Not => {
                    let val = py_get(&items, p as isize + 1, pos)?;
                    (p, Tree::Not(sigma.id(), Box::new(val.into_tree())), p + 2)
                }
                _ => {
                    if p == 0 {
                        // sigmac takes list[-1] as the left operand and
                        // re-inserts the operator: it never terminates.
                        return Err(SigmacError::python(
                            pos,
                            format!("sigmac never finishes: '{}' has no left operand", op.text),
                        ));
                    }
                    let left = py_get(&items, p as isize - 1, pos)?.into_tree();
                    let right = py_get(&items, p as isize + 1, pos)?.into_tree();
                    let node = if kind == Kind::And {
                        Tree::And(sigma.id(), vec![left, right])
                    } else {
                        Tree::Or(sigma.id(), vec![left, right])
                    };
                    (p - 1, node, p + 2)
                }
            };
            let mut next = py_prefix(&items, start as isize).to_vec();
            next.push(Item::Node(node));
            next.extend(items.get(end..).unwrap_or(&[]).iter().cloned());
            items = next;
        }
    }
    if items.len() != 1 {
        return Err(SigmacError::python(
            pos,
            "ValueError: Parse tree must have exactly one start node!",
        ));
    }
    let root = items.pop().expect("one item").into_tree();
    optimize(root).map_err(|m| SigmacError::unsupported(pos, m))
}

impl Sigma<'_> {
    fn by_name(&self, name: &str, over: Option<Kind>, pos: Pos) -> Result<Tree, SigmacError> {
        let def = self.definition(name, pos)?;
        self.parse_definition(def, over)
    }

    /// `1 of X` / `all of X` (sigmac's `generateXOf`).
    fn x_of(&self, val: Item, kind: Kind, pos: Pos) -> Result<Tree, SigmacError> {
        let Item::Tok(val) = val else {
            return Err(SigmacError::python(
                pos,
                "AttributeError: 'NodeSubexpression' object has no attribute 'matched'",
            ));
        };
        let join = |children: Vec<Tree>| {
            if kind == Kind::All {
                Tree::And(self.id(), children)
            } else {
                Tree::Or(self.id(), children)
            }
        };
        let name = val.text.as_str();
        if name == "them" {
            let mut children = Vec::new();
            for (n, def) in &self.definitions {
                if *n != "timeframe" {
                    children.push(Tree::Sub(Box::new(self.parse_definition(def, None)?)));
                }
            }
            return Ok(Tree::Sub(Box::new(join(children))));
        }
        if name.find('*').is_some_and(|i| i > 0) {
            let pattern = format!("^(?:{})$", name.replace('*', ".*"));
            let re = Regex::new(&pattern).map_err(|e| {
                SigmacError::python(
                    pos,
                    format!("re.error: {}", e.to_string().lines().last().unwrap_or("")),
                )
            })?;
            let mut children = Vec::new();
            for (n, def) in &self.definitions {
                if *n != "timeframe" && re.is_match(n) {
                    children.push(Tree::Sub(Box::new(self.parse_definition(def, None)?)));
                }
            }
            return Ok(Tree::Sub(Box::new(join(children))));
        }
        Ok(Tree::Sub(Box::new(self.by_name(name, Some(kind), pos)?)))
    }

    /// Where the detection section starts.
    pub fn pos(&self) -> Pos {
        self.pos
    }
}

/// sigmac's aggregation state machine; the parsed aggregation is dropped.
fn check_aggregation(tokens: &[Token]) -> Result<(), String> {
    use Kind::*;
    const CMP: [Kind; 5] = [Eq, Lt, Lte, Gt, Gte];
    let mut state: i32 = 0;
    for token in tokens {
        if state == -1 {
            return Err(format!("No further token expected, but read {token}"));
        }
        let k = token.kind;
        let next = match (state, k) {
            (0, Agg) | (0, Near) => {
                let name = token.text.as_str();
                if !["count", "min", "max", "avg", "sum", "near"].contains(&name) {
                    return Err(format!("Unknown aggregation function '{name}'"));
                }
                if k == Agg {
                    1
                } else {
                    8
                }
            }
            (1, LPar) => 2,
            (2, RPar) | (3, RPar) => 4,
            (2, Id) => 3,
            (4, By) => 5,
            (4, c) | (6, c) if CMP.contains(&c) => 7,
            (5, Id) => 6,
            (7, Id) => -1,
            (8, Id) | (10, Id) => 9,
            (9, And) => 10,
            (10, Not) => 8,
            _ => {
                return Err(format!(
                    "Unexpected token '{}' at position {} in state {state}",
                    token.text, token.pos
                ))
            }
        };
        state = next;
    }
    if state != -1 && state != 9 {
        return Err(format!("Unexpected end of aggregation expression, state={state}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windash_variants() {
        assert_eq!(windash("-a -b"), ["-a -b", "-a /b", "/a -b", "/a /b"]);
        assert_eq!(windash(" -enc "), [" -enc ", " /enc "]);
        assert_eq!(windash("a-b"), ["a-b"]);
    }

    #[test]
    fn wildcards() {
        assert_eq!(wildcard("contains", "C:\\".into()), "*C:\\\\*");
        assert_eq!(wildcard("contains", "*a*".into()), "*a*");
        assert_eq!(wildcard("startswith", "a".into()), "a*");
        assert_eq!(wildcard("endswith", "a".into()), "*a");
    }

    #[test]
    fn aggregations() {
        let t = |s: &str| check_aggregation(&super::super::tokenizer::tokenize(s).unwrap());
        assert!(t("count() by x > 5").is_ok());
        assert!(t("near a and not b").is_ok());
        assert_eq!(
            t("count() by").unwrap_err(),
            "Unexpected end of aggregation expression, state=5"
        );
    }
}
