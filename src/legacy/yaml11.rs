//! YAML 1.1 values, as PyYAML's `safe_load` builds them (semantics §2.1).
//!
//! The YAML layer ([`crate::rule::yaml`]) gives every scalar its text and
//! whether it was plain. sigmac read rules with PyYAML, which resolves plain
//! scalars by the YAML 1.1 rules: `010` is the int 8, `0x1F` is 31, `1:30`
//! is 90 (base 60), `1_000` is 1000, `yes`/`On`/`FALSE` are booleans, `~`,
//! `null` and nothing are null, `1.5` is a float, `2023-01-01` a date. Quoted
//! and block scalars are always strings. Ints keep Python's arbitrary
//! precision: they are stored as their decimal text, which is all sigmac
//! ever does with them (`str(value)`).

use std::sync::OnceLock;

use regex::Regex;

use crate::error::Pos;
use crate::rule::yaml::{Node, NodeKind};

/// A Python value as PyYAML's safe loader builds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Py {
    /// `None`.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int`, as its decimal text (Python's `str(value)`).
    Int(String),
    /// `float`, as written.
    Float(String),
    /// `datetime.date`, as written.
    Date(String),
    /// `datetime.datetime`, as written.
    DateTime(String),
    /// `str`.
    Str(String),
    /// `list`.
    List(Vec<PyNode>),
    /// `dict`, in insertion order, keys unique.
    Dict(Vec<(PyNode, PyNode)>),
}

/// A value with the position where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct PyNode {
    /// The value.
    pub value: Py,
    /// Where it starts in the rule file.
    pub pos: Pos,
}

impl Py {
    /// Python's `type(value)` as printed in sigmac's messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Py::Null => "<class 'NoneType'>",
            Py::Bool(_) => "<class 'bool'>",
            Py::Int(_) => "<class 'int'>",
            Py::Float(_) => "<class 'float'>",
            Py::Date(_) => "<class 'datetime.date'>",
            Py::DateTime(_) => "<class 'datetime.datetime'>",
            Py::Str(_) => "<class 'str'>",
            Py::List(_) => "<class 'list'>",
            Py::Dict(_) => "<class 'dict'>",
        }
    }

    /// The text of a `str`, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Py::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Python's `str(value)` for scalars (approximate for floats and
    /// dates, which keep their source text); containers print `[...]`.
    pub fn py_str(&self) -> String {
        match self {
            Py::Null => "None".into(),
            Py::Bool(true) => "True".into(),
            Py::Bool(false) => "False".into(),
            Py::Int(s) | Py::Float(s) | Py::Date(s) | Py::DateTime(s) | Py::Str(s) => s.clone(),
            Py::List(_) => "[...]".into(),
            Py::Dict(_) => "{...}".into(),
        }
    }
}

impl PyNode {
    /// Looks up a `str` key of a dict.
    pub fn get(&self, key: &str) -> Option<&PyNode> {
        match &self.value {
            Py::Dict(entries) => {
                entries.iter().find(|(k, _)| k.value.as_str() == Some(key)).map(|(_, v)| v)
            }
            _ => None,
        }
    }
}

/// Builds the Python value of a YAML node.
///
/// # Errors
/// A plain scalar PyYAML cannot construct (an int such as `0x_`, an
/// impossible date), with the message Python would give.
pub fn from_yaml(node: &Node) -> Result<PyNode, (Pos, String)> {
    let value = match &node.kind {
        NodeKind::Scalar { text, plain: true } => {
            resolve_plain(text).map_err(|message| (node.pos, message))?
        }
        NodeKind::Scalar { text, plain: false } => Py::Str(text.clone()),
        NodeKind::Seq(items) => {
            Py::List(items.iter().map(from_yaml).collect::<Result<Vec<_>, _>>()?)
        }
        NodeKind::Map(entries) => {
            let mut out: Vec<(PyNode, PyNode)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let (k, v) = (from_yaml(k)?, from_yaml(v)?);
                // PyYAML compares keys after resolution: `010` and `8` are
                // the same key; the last value wins in the first place.
                match out.iter_mut().find(|(old, _)| old.value == k.value) {
                    Some((_, slot)) => *slot = v,
                    None => out.push((k, v)),
                }
            }
            Py::Dict(out)
        }
    };
    Ok(PyNode { value, pos: node.pos })
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid resolver regex"))
}

/// PyYAML's implicit resolvers for a plain scalar, in its order.
///
/// # Errors
/// Python's message when the matched form cannot be constructed.
pub fn resolve_plain(text: &str) -> Result<Py, String> {
    static BOOL: OnceLock<Regex> = OnceLock::new();
    static FLOAT: OnceLock<Regex> = OnceLock::new();
    static INT: OnceLock<Regex> = OnceLock::new();
    static NULL: OnceLock<Regex> = OnceLock::new();
    static TIMESTAMP: OnceLock<Regex> = OnceLock::new();
    let is_bool = regex(
        &BOOL,
        r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    );
    if is_bool.is_match(text) {
        let t = matches!(text.as_bytes()[0], b'y' | b'Y' | b't' | b'T')
            || matches!(text, "on" | "On" | "ON");
        return Ok(Py::Bool(t));
    }
    let is_float = regex(
        &FLOAT,
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    );
    if is_float.is_match(text) {
        return Ok(Py::Float(text.to_string()));
    }
    let is_int = regex(
        &INT,
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    );
    if is_int.is_match(text) {
        return construct_int(text).map(Py::Int);
    }
    if regex(&NULL, r"^(?:~|null|Null|NULL|)$").is_match(text) {
        return Ok(Py::Null);
    }
    let is_timestamp = regex(
        &TIMESTAMP,
        r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$",
    );
    if is_timestamp.is_match(text) {
        return construct_timestamp(text);
    }
    Ok(Py::Str(text.to_string()))
}

fn construct_timestamp(text: &str) -> Result<Py, String> {
    let date = &text[..text.find(|c: char| !c.is_ascii_digit() && c != '-').unwrap_or(text.len())];
    let parts: Vec<u32> = date.split('-').filter_map(|p| p.parse().ok()).collect();
    let [year, month, day] = parts[..] else {
        return Err(format!("ValueError: invalid date '{text}'"));
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err("ValueError: month must be in 1..12".into()),
    };
    if year == 0 {
        return Err(format!("ValueError: year {year} is out of range"));
    }
    if day == 0 || day > days {
        return Err("ValueError: day is out of range for month".into());
    }
    Ok(if date.len() == text.len() {
        Py::Date(text.to_string())
    } else {
        Py::DateTime(text.to_string())
    })
}

/// PyYAML's `construct_yaml_int`, giving Python's decimal `str()`.
fn construct_int(text: &str) -> Result<String, String> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, digits) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let invalid = |base: u32, s: &str| {
        format!("ValueError: invalid literal for int() with base {base}: '{s}'")
    };
    let magnitude = if digits == "0" {
        return Ok("0".into());
    } else if let Some(bin) = digits.strip_prefix("0b") {
        BigUint::parse(bin, 2).ok_or_else(|| invalid(2, bin))?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        BigUint::parse(hex, 16).ok_or_else(|| invalid(16, hex))?
    } else if digits.starts_with('0') {
        BigUint::parse(digits, 8).ok_or_else(|| invalid(8, digits))?
    } else if digits.contains(':') {
        let mut value = BigUint::default();
        for part in digits.split(':') {
            let d: u32 = part.parse().map_err(|_| invalid(10, part))?;
            value.mul_add(60, d);
        }
        value
    } else {
        BigUint::parse(digits, 10).ok_or_else(|| invalid(10, digits))?
    };
    let text = magnitude.to_decimal();
    Ok(if negative && text != "0" { format!("-{text}") } else { text })
}

/// Just enough of an unbounded unsigned integer for YAML ints: limbs of
/// base 10^9, least significant first.
#[derive(Default)]
struct BigUint {
    limbs: Vec<u32>,
}

const LIMB: u64 = 1_000_000_000;

impl BigUint {
    fn parse(digits: &str, base: u32) -> Option<BigUint> {
        if digits.is_empty() {
            return None;
        }
        let mut n = BigUint::default();
        for c in digits.chars() {
            n.mul_add(base, c.to_digit(base)?);
        }
        Some(n)
    }

    /// self = self * m + a
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = (v % LIMB) as u32;
            carry = v / LIMB;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    fn to_decimal(&self) -> String {
        let mut limbs = self.limbs.iter().rev().skip_while(|&&l| l == 0);
        let Some(first) = limbs.next() else { return "0".into() };
        let mut out = first.to_string();
        for limb in limbs {
            out.push_str(&format!("{limb:09}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Py {
        resolve_plain(text).unwrap()
    }

    #[test]
    fn ints_in_every_base() {
        assert_eq!(r("010"), Py::Int("8".into()));
        assert_eq!(r("0x1F"), Py::Int("31".into()));
        assert_eq!(r("0b101"), Py::Int("5".into()));
        assert_eq!(r("1:30"), Py::Int("90".into()));
        assert_eq!(r("1_000"), Py::Int("1000".into()));
        assert_eq!(r("-1"), Py::Int("-1".into()));
        assert_eq!(r("+7"), Py::Int("7".into()));
        assert_eq!(r("-0"), Py::Int("0".into()));
        assert_eq!(
            r("123456789012345678901234567890"),
            Py::Int("123456789012345678901234567890".into())
        );
        assert_eq!(r("0xFFFFFFFFFFFFFFFFFFFF"), Py::Int("1208925819614629174706175".into()));
        assert_eq!(r("08"), Py::Str("08".into()));
        assert!(resolve_plain("0x_").is_err());
    }

    #[test]
    fn other_scalars() {
        assert_eq!(r("1e3"), Py::Str("1e3".into()));
        assert_eq!(r("1.5"), Py::Float("1.5".into()));
        assert_eq!(r(".5"), Py::Float(".5".into()));
        assert_eq!(r("yes"), Py::Bool(true));
        assert_eq!(r("OFF"), Py::Bool(false));
        assert_eq!(r("tRUE"), Py::Str("tRUE".into()));
        assert_eq!(r("y"), Py::Str("y".into()));
        assert_eq!(r("~"), Py::Null);
        assert_eq!(r(""), Py::Null);
        assert_eq!(r("2023-01-01"), Py::Date("2023-01-01".into()));
        assert_eq!(r("2023-01-01 10:00:00"), Py::DateTime("2023-01-01 10:00:00".into()));
        assert!(resolve_plain("2023-13-01").is_err());
    }
}
