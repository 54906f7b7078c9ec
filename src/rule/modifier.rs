//! Value modifiers: the `|contains|all` part of a detection key.

use std::fmt;

use crate::error::{Error, Pos, Result};

/// One modifier of a detection item, as written after a `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `contains`: the value occurs anywhere.
    Contains,
    /// `startswith`: the field starts with the value.
    StartsWith,
    /// `endswith`: the field ends with the value.
    EndsWith,
    /// `all`: every value of the list must match (AND instead of OR).
    All,
    /// `re`: the value is a regular expression.
    Re,
    /// `i` after `re`: case-insensitive regex.
    ReIgnoreCase,
    /// `m` after `re`: multi-line regex.
    ReMultiLine,
    /// `s` after `re`: `.` matches newline too.
    ReDotAll,
    /// `base64`: the value's base64 encoding.
    Base64,
    /// `base64offset`: the three base64 encodings at offsets 0, 1 and 2.
    Base64Offset,
    /// `utf16le`: the value as UTF-16 little endian bytes.
    Utf16Le,
    /// `utf16be`: the value as UTF-16 big endian bytes.
    Utf16Be,
    /// `utf16`: UTF-16 little endian with a byte order mark.
    Utf16,
    /// `wide`: same as `utf16le`.
    Wide,
    /// `windash`: `-` and `/` option prefixes in any dash form.
    Windash,
    /// `cidr`: the value is an IP network.
    Cidr,
    /// `cased`: the value is case-sensitive.
    Cased,
    /// `exists`: the field exists (or not).
    Exists,
    /// `gt`: numeric greater-than.
    Gt,
    /// `gte`: numeric greater-or-equal.
    Gte,
    /// `lt`: numeric less-than.
    Lt,
    /// `lte`: numeric less-or-equal.
    Lte,
    /// `fieldref`: the value names another field.
    FieldRef,
    /// `expand`: the value holds `%placeholders%`.
    Expand,
    /// `neq`: the field is not equal to the value.
    Neq,
}

/// Every modifier's name and value; one place so parsing and printing agree.
const NAMES: &[(&str, Modifier)] = &[
    ("contains", Modifier::Contains),
    ("startswith", Modifier::StartsWith),
    ("endswith", Modifier::EndsWith),
    ("all", Modifier::All),
    ("re", Modifier::Re),
    ("i", Modifier::ReIgnoreCase),
    ("m", Modifier::ReMultiLine),
    ("s", Modifier::ReDotAll),
    ("base64", Modifier::Base64),
    ("base64offset", Modifier::Base64Offset),
    ("utf16le", Modifier::Utf16Le),
    ("utf16be", Modifier::Utf16Be),
    ("utf16", Modifier::Utf16),
    ("wide", Modifier::Wide),
    ("windash", Modifier::Windash),
    ("cidr", Modifier::Cidr),
    ("cased", Modifier::Cased),
    ("exists", Modifier::Exists),
    ("gt", Modifier::Gt),
    ("gte", Modifier::Gte),
    ("lt", Modifier::Lt),
    ("lte", Modifier::Lte),
    ("fieldref", Modifier::FieldRef),
    ("expand", Modifier::Expand),
    ("neq", Modifier::Neq),
];

impl Modifier {
    /// The modifier with this name, if there is one.
    pub fn from_name(name: &str) -> Option<Modifier> {
        NAMES.iter().find(|(n, _)| *n == name).map(|&(_, m)| m)
    }

    /// The modifier's name as written in rules.
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|&&(_, m)| m == self).map(|(n, _)| *n).unwrap_or("?")
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Splits a detection key `Field|mod1|mod2` into the field name and its
/// modifiers, each with its position (`pos` is where the key starts).
///
/// # Errors
/// An unknown modifier (`unknown modifier 'containz'`) or an empty one,
/// at the modifier's own column.
pub fn parse_key(key: &str, pos: Pos) -> Result<(String, Vec<(Modifier, Pos)>)> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("").to_string();
    let mut col = field.chars().count() + 1;
    let mut modifiers = Vec::new();
    for name in parts {
        let here = pos.advance(col);
        let modifier = Modifier::from_name(name).ok_or_else(|| {
            if name.is_empty() {
                Error::at(here, "empty modifier")
            } else {
                Error::at(here, format!("unknown modifier '{name}'"))
            }
        })?;
        modifiers.push((modifier, here));
        col += name.chars().count() + 1;
    }
    Ok((field, modifiers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &(name, m) in NAMES {
            assert_eq!(Modifier::from_name(name), Some(m));
            assert_eq!(m.name(), name);
        }
    }

    #[test]
    fn key_with_modifiers() {
        let (field, mods) = parse_key("CommandLine|contains|all", Pos::new(3, 5)).unwrap();
        assert_eq!(field, "CommandLine");
        assert_eq!(mods[0], (Modifier::Contains, Pos::new(3, 17)));
        assert_eq!(mods[1], (Modifier::All, Pos::new(3, 26)));
    }

    #[test]
    fn unknown_modifier_points_at_it() {
        let err = parse_key("Image|containz", Pos::new(12, 5)).unwrap_err();
        assert_eq!(err.to_string(), "12:11: unknown modifier 'containz'");
    }
}
