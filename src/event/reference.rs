//! Slow twins of the line decoders, for tests and fuzzing.
//!
//! Each twin decodes a whole line the obvious way, into owned fields, with
//! no shared code on the parsing side: JSON through serde_json (which
//! parses and unescapes; the twin only walks the result, recursively), and
//! key=value with a plain loop over the line that builds strings. XML has
//! no twin decoder here: its decoder is compared, in tests, with the JSON
//! shape of the same events (see [`super::RecordFields`]).
//!
//! [`compare`] checks the fast decoder against a twin on one line.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{Event, Format, Scratch, MAX_DEPTH, MIN_PAIRS};

/// A field, owned: full lowercased name, attribute dot, value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OwnedField {
    /// See [`super::Field::name`].
    pub name: Vec<u8>,
    /// See [`super::Field::attribute_dot`].
    pub attribute_dot: Option<usize>,
    /// See [`super::Field::value`].
    pub value: Vec<u8>,
}

/// What the fast decoder makes of `line`: its format and every field.
pub fn fast(line: &[u8]) -> (Format, Vec<OwnedField>) {
    let mut scratch = Scratch::default();
    let mut event = Event::new(line, &mut scratch);
    let format = event.format();
    let fields = event
        .fields()
        .iter()
        .map(|f| OwnedField {
            name: f.name.to_vec(),
            attribute_dot: f.attribute_dot,
            value: f.value.to_vec(),
        })
        .collect();
    (format, fields)
}

/// What the twin makes of `line`, when it has a twin for the line's
/// format and the line is one it can judge (`None` otherwise: XML lines,
/// and JSON that serde_json rejects or that is invalid UTF-8).
pub fn slow(line: &[u8]) -> Option<(Format, Vec<OwnedField>)> {
    let body = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let rest = body.trim_ascii_start();
    match first {
        Some(b'{') => json_fields(body).map(|f| (Format::Json, f)),
        Some(b'<') if rest.starts_with(b"<Event") || rest.starts_with(b"<?xml") => None,
        _ => Some(match key_value_fields(body) {
            Some(fields) => (Format::KeyValue, fields),
            None => (Format::None, Vec::new()),
        }),
    }
}

/// Checks the fast decoder against the twin on `line`; returns whether
/// the twin could judge it.
///
/// # Panics
/// When they differ, with both results.
pub fn compare(line: &[u8]) -> bool {
    let fast = fast(line);
    let Some(slow) = slow(line) else { return false };
    assert_eq!(fast, slow, "fast and slow decoders differ on {:?}", String::from_utf8_lossy(line));
    true
}

/// The fields of a JSON object line, through serde_json.
pub fn json_fields(line: &[u8]) -> Option<Vec<OwnedField>> {
    let text = std::str::from_utf8(line).ok()?;
    // serde_json bounds its own recursion; the walk below recurses as
    // deep as the value nests, so it is bounded the same way.
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    if !raw.get().starts_with('{') {
        return None;
    }
    let mut out = Vec::new();
    walk(raw, &mut Vec::new(), None, false, 0, &mut out)?;
    Some(out)
}

/// The members of an object in order, duplicates kept.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// The elements of an array.
struct Elements<'a>(Vec<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Elements<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Elements<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Elements(items))
            }
        }
        d.deserialize_seq(V)
    }
}

/// The naming rules of the parent module, written as a recursion over the
/// value (`record.rs` walks a `serde_json::Value` the same way).
fn walk(
    raw: &RawValue,
    path: &mut Vec<u8>,
    dot: Option<usize>,
    attributes: bool,
    depth: usize,
    out: &mut Vec<OwnedField>,
) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    let text = raw.get();
    let mut leaf = |value: Vec<u8>| {
        out.push(OwnedField { name: path.clone(), attribute_dot: dot, value });
    };
    match text.as_bytes()[0] {
        b'{' => {
            let Members(members) = serde_json::from_str(text).ok()?;
            for (key, child) in members {
                match key.as_str() {
                    "#attributes" => walk(child, path, dot, true, depth + 1, out)?,
                    "#text" => walk(child, path, dot, false, depth + 1, out)?,
                    _ => {
                        let mut child_path = path.clone();
                        let mut child_dot = None;
                        if !child_path.is_empty() {
                            child_dot = Some(child_path.len());
                            child_path.push(b'.');
                        }
                        child_path.extend(key.to_ascii_lowercase().bytes());
                        let child_dot = if attributes { child_dot } else { None };
                        walk(child, &mut child_path, child_dot, false, depth + 1, out)?;
                    }
                }
            }
        }
        b'[' => {
            let Elements(items) = serde_json::from_str(text).ok()?;
            for item in items {
                walk(item, path, dot, attributes, depth + 1, out)?;
            }
        }
        b'"' => leaf(serde_json::from_str::<String>(text).ok()?.into_bytes()),
        b'n' => {}
        _ => leaf(text.as_bytes().to_vec()),
    }
    Some(())
}

/// The pairs of a key=value line, by the grammar of `kv.rs`, written as a
/// plain loop; `None` when the line is not a key=value line.
pub fn key_value_fields(line: &[u8]) -> Option<Vec<OwnedField>> {
    let blank = |i: usize| line.get(i).is_some_and(|b| b.is_ascii_whitespace());
    let is_key_start = |b: u8| b.is_ascii_alphabetic() || b == b'_';
    let is_key_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
    // The key of a pair starting at `i`, if one does.
    let key_at = |i: usize| -> Option<Vec<u8>> {
        let mut key = Vec::new();
        let mut j = i;
        while j < line.len() && (if j == i { is_key_start(line[j]) } else { is_key_byte(line[j]) })
        {
            key.push(line[j]);
            j += 1;
        }
        (!key.is_empty() && line.get(j) == Some(&b'=')).then_some(key)
    };
    let mut fields = Vec::new();
    let mut i = 0;
    let mut first_token = true;
    loop {
        while blank(i) {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let Some(key) = key_at(i) else {
            if first_token {
                return None;
            }
            while i < line.len() && !blank(i) {
                i += 1;
            }
            continue;
        };
        first_token = false;
        i += key.len() + 1;
        let mut value = Vec::new();
        if line.get(i) == Some(&b'"') {
            i += 1;
            let mut inner_open = false;
            loop {
                if i >= line.len() {
                    break;
                }
                if line[i] == b'\\' && line.get(i + 1) == Some(&b'"') {
                    // Does this `\"` close? Only when no inner quote is open
                    // and the line ends after it or blanks and a pair follow.
                    let after = i + 2;
                    let mut k = after;
                    while blank(k) {
                        k += 1;
                    }
                    let closes = !inner_open
                        && (after == line.len()
                            || (k > after && (k == line.len() || key_at(k).is_some())));
                    if closes {
                        value.push(b'\\');
                        i = after;
                        break;
                    }
                    value.push(b'"');
                    inner_open = !inner_open;
                    i += 2;
                } else if line[i] == b'"' {
                    i += 1;
                    break;
                } else {
                    value.push(line[i]);
                    i += 1;
                }
            }
            // Bytes glued to the closing quote are skipped.
            while i < line.len() && !blank(i) {
                i += 1;
            }
        } else {
            while i < line.len() && !blank(i) {
                value.push(line[i]);
                i += 1;
            }
        }
        fields.push(OwnedField { name: key.to_ascii_lowercase(), attribute_dot: None, value });
    }
    (fields.len() >= MIN_PAIRS).then_some(fields)
}
