//! The fields of an event-log record, taken from its parsed form.
//!
//! The `evtx` crate gives each record as a `serde_json::Value` in the
//! shape `{"Event": {"System": {...}, "EventData": {...}}}`. Its fields are
//! named exactly as those of the same record written as a JSON line (see
//! the parent module): `Event.System.EventID`, `Event.System.Provider.Name`
//! (an attribute, so also `Provider_Name`), `Event.EventData.CommandLine`,
//! `Event.UserData.<element>.<field>`. They are built once, when the file
//! is read, so that a record is never re-parsed from its rendered line.

use serde_json::Value;

use super::Fields;

/// The decoded fields of one event-log record, owned (they outlive the
/// parser's value and sit beside the record's rendered line).
#[derive(Clone, Debug, Default)]
pub struct RecordFields {
    fields: Fields,
}

impl RecordFields {
    /// The fields of `record`, a record as the `evtx` crate parses it.
    pub fn from_value(record: &Value) -> RecordFields {
        let mut fields = Fields::default();
        fields.clear(true);
        let mut path = Vec::new();
        walk(record, &mut path, None, false, &mut fields);
        RecordFields { fields }
    }

    pub(super) fn fields(&self) -> &Fields {
        &self.fields
    }
}

/// Adds the leaves of `value`, found at `path`, to `fields`. `dot` is the
/// path's attribute dot; `attributes` says whether the keys of `value`
/// (an object) are attributes. Recursion is bounded by serde_json's
/// nesting limit, which every `Value` it parsed respects.
fn walk(
    value: &Value,
    path: &mut Vec<u8>,
    dot: Option<usize>,
    attributes: bool,
    fields: &mut Fields,
) {
    let leaf = |text: &[u8], fields: &mut Fields| {
        let slot = fields.decoded_slot(|out| out.extend_from_slice(text));
        fields.push(path, dot, slot);
    };
    match value {
        Value::Null => {}
        Value::Bool(b) => leaf(if *b { b"true" } else { b"false" }, fields),
        Value::Number(n) => leaf(n.to_string().as_bytes(), fields),
        Value::String(s) => leaf(s.as_bytes(), fields),
        Value::Array(items) => {
            for item in items {
                walk(item, path, dot, attributes, fields);
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                match key.as_str() {
                    "#attributes" => walk(child, path, dot, true, fields),
                    "#text" => walk(child, path, dot, false, fields),
                    _ => {
                        let base = path.len();
                        let child_dot = (!path.is_empty()).then(|| {
                            path.push(b'.');
                            base
                        });
                        path.extend(key.bytes().map(|b| b.to_ascii_lowercase()));
                        walk(child, path, child_dot.filter(|_| attributes), false, fields);
                        path.truncate(base);
                    }
                }
            }
        }
    }
}
