//! Windows event log files (`.evtx`): each record rendered as one line.
//!
//! # Contract
//! [`render`] reads a file into memory, parses its records (chunks in
//! parallel, with the `evtx` crate) and renders each as one line of text,
//! in file order, with the record's number beside it (the number in the
//! record's header, which `evtx_dump` prints as "Record N"; in an exported
//! log it may differ from the `EventRecordID` field of the event). The
//! caller searches the text like any other input and reports the record
//! number as the line number (see [`Renumber`]). Byte offsets (`-b`) refer
//! to the rendered text. The rendered text of a file is held in memory
//! (event logs are tens of megabytes; Windows caps them by policy).
//!
//! # Renderings
//! - [`Rendering::KeyValue`] (the default): the one-line `Key=Value` form of
//!   `../shared/corpus/gen_corpus.py` (`render_event`): the System fields
//!   `TimeCreated Computer EventID Provider Channel EventRecordID ProcessID
//!   ThreadID Level Keywords UserID`, then the other System fields the
//!   record has (`Provider_Guid Version Task Opcode`, ..., named
//!   `Element_Attribute` for an attribute), then every `EventData` (or
//!   `UserData`) field in document order. A value holding a space, `"` or
//!   `=` is quoted, with `"` written `\"`; CR and LF become spaces. Values
//!   are otherwise as the event holds them, unescaped, which is what Sigma
//!   values are written against (`\cmd.exe`, `&&`, `"`), and rules behave
//!   on an `.evtx` file as on the generated Windows corpus.
//!
//! # Fields
//! In Sigma semantics a record's line is confirmed on the record's own
//! fields ([`Rendered::fields`], see [`crate::event`]), not re-parsed from
//! its rendering; the rendered line is what the scan reads (for triggers and
//! keywords) and what is printed. Both renderings hold every value of the
//! record (XML entity-escaped, Key=Value quoted), which the scan's triggers
//! allow for.
//! - [`Rendering::Xml`]: the event's XML as Windows renders it, its lines
//!   trimmed and joined by one space. XML escapes `& < > " '` in values, so
//!   a value holding one of them is found only in its escaped form.
//!
//! # Damage
//! A record or chunk that cannot be parsed is skipped, and a file cut
//! inside a chunk is read up to the cut; the records that can be read are
//! rendered and [`Rendered::damage`] says what was lost. A file whose
//! header cannot be read is an error.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use evtx::{EvtxParser, ParserSettings};
use serde_json::Value;

use super::{Line, Sink};
use crate::event::RecordFields;

/// Size of an event log's file header.
const FILE_HEADER: usize = 4096;
/// Size of one chunk of records.
const CHUNK: usize = 64 * 1024;

/// The first bytes of every record.
const RECORD_MAGIC: [u8; 4] = [0x2a, 0x2a, 0, 0];

/// The first bytes of every `.evtx` file.
pub const MAGIC: &[u8; 8] = b"ElfFile\0";

/// True when `head`, the first bytes of a file, start an event log.
pub fn is_evtx(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// How a record becomes a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rendering {
    /// `Key=Value` pairs, values unescaped (see the module docs).
    #[default]
    KeyValue,
    /// The record's XML on one line.
    Xml,
}

/// A file's records as lines.
#[derive(Debug, Default)]
pub struct Rendered {
    /// One line per record, each ending in LF.
    pub text: Vec<u8>,
    /// Record number of each line, in order.
    pub record_ids: Vec<u64>,
    /// The fields of each line's record, in order, taken from the parsed
    /// record (see [`crate::event`]); empty unless asked for.
    pub fields: Vec<RecordFields>,
    /// What could not be read, when something could not.
    pub damage: Option<String>,
}

/// Parses and renders every readable record of the event log at `path`,
/// with `threads` parser threads; with `fields`, also keeps each record's
/// fields (in [`Rendered::fields`]).
///
/// # Errors
/// The file cannot be opened or is not an event log.
pub fn render(
    path: &Path,
    rendering: Rendering,
    threads: usize,
    fields: bool,
) -> io::Result<Rendered> {
    let mut bytes = std::fs::read(path)?;
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("evtx: {what}"));
    if !is_evtx(&bytes) {
        return Err(invalid("not a Windows event log (no ElfFile header)"));
    }
    if bytes.len() < FILE_HEADER {
        return Err(invalid("file truncated inside its header"));
    }
    // A file cut inside a chunk (a copy taken while Windows wrote it, a
    // partial download): the chunk is padded with zeros so that its
    // records before the cut are read; the cut is reported as damage.
    let cut = bytes.len();
    let truncated = cut > FILE_HEADER && !(cut - FILE_HEADER).is_multiple_of(CHUNK);
    if truncated {
        bytes.resize(FILE_HEADER + (cut - FILE_HEADER).div_ceil(CHUNK) * CHUNK, 0);
        // Records follow the chunk's 512-byte header back to back; the
        // first one the cut reaches into is wiped, so that it is not
        // rendered from its header alone.
        let chunk = FILE_HEADER + (cut - FILE_HEADER) / CHUNK * CHUNK;
        let mut at = chunk + 512;
        while at + 8 <= cut && bytes[at..at + 4] == RECORD_MAGIC {
            let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
            match at.checked_add(size as usize) {
                Some(end) if size >= 8 && end <= cut => at = end,
                _ => break,
            }
        }
        bytes[at.min(cut)..].fill(0);
    }
    let settings = ParserSettings::new().num_threads(threads.max(1));
    let mut parser = EvtxParser::from_buffer(bytes)
        .map_err(|e| invalid(&e.to_string()))?
        .with_configuration(settings);
    let mut out = Rendered::default();
    let (mut lost, mut first_error) = (0u64, None);
    let mut lost_one = |e: evtx::err::EvtxError| {
        lost += 1;
        first_error.get_or_insert_with(|| e.to_string());
    };
    // Records are rendered (and their fields taken) by the parser's
    // threads; the iterator gives them back in file order.
    let records = parser.serialized_records(move |record| {
        let record = record?;
        let id = record.event_record_id;
        let mut line = Vec::new();
        let value = match rendering {
            Rendering::KeyValue => {
                let value = record.into_json_value()?.data;
                line.extend_from_slice(render_key_value(&value).as_bytes());
                fields.then_some(value)
            }
            Rendering::Xml => {
                let value =
                    if fields { Some(record.clone().into_json_value()?.data) } else { None };
                one_line_xml(&record.into_xml()?.data, &mut line);
                value
            }
        };
        Ok((id, line, value.map(|v| RecordFields::from_value(&v))))
    });
    for record in records {
        match record {
            Ok((id, line, record_fields)) => {
                out.text.extend_from_slice(&line);
                out.text.push(b'\n');
                out.record_ids.push(id);
                out.fields.extend(record_fields);
            }
            Err(e) => lost_one(e),
        }
    }
    let mut damage = Vec::new();
    if truncated {
        damage.push(format!("file truncated at byte {cut}, inside a chunk"));
    }
    if let Some(first) = first_error {
        let what = if lost == 1 { "record or chunk" } else { "records or chunks" };
        damage.push(format!("{lost} {what} could not be read (first: {first})"));
    }
    if !damage.is_empty() {
        out.damage = Some(format!("evtx: {}", damage.join("; ")));
    }
    Ok(out)
}

/// The XML's lines trimmed and joined by one space.
fn one_line_xml(xml: &str, out: &mut Vec<u8>) {
    let mut first = true;
    for line in xml.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !first {
            out.push(b' ');
        }
        out.extend_from_slice(line.as_bytes());
        first = false;
    }
}

/// The `Key=Value` line of one record (`{"Event": {...}}` as the `evtx`
/// crate gives it), as `render_event` in `gen_corpus.py` writes it.
pub fn render_key_value(record: &Value) -> String {
    let event = record.get("Event").unwrap_or(record);
    let system = event.get("System").unwrap_or(&Value::Null);
    let attr = |v: Option<&Value>, key: &str| {
        v.and_then(|v| v.get("#attributes")).and_then(|a| a.get(key)).cloned()
    };
    let provider = attr(system.get("Provider"), "Name");
    let execution = system.get("Execution");
    let or = |v: Option<Value>, default: &str| v.unwrap_or_else(|| Value::from(default));
    let fields: [(&str, Value); 11] = [
        (
            "TimeCreated",
            or(attr(system.get("TimeCreated"), "SystemTime"), "2025-01-01T00:00:00.000000Z"),
        ),
        ("Computer", or(system.get("Computer").cloned(), "host")),
        ("EventID", system.get("EventID").cloned().unwrap_or(Value::Null)),
        ("Provider", or(provider, "")),
        ("Channel", or(system.get("Channel").cloned(), "")),
        ("EventRecordID", or(system.get("EventRecordID").cloned(), "1")),
        ("ProcessID", or(attr(execution, "ProcessID"), "4")),
        ("ThreadID", or(attr(execution, "ThreadID"), "8")),
        ("Level", or(system.get("Level").cloned(), "4")),
        ("Keywords", or(system.get("Keywords").cloned(), "0x8000000000000000")),
        ("UserID", or(attr(system.get("Security"), "UserID"), "S-1-5-18")),
    ];
    let mut line = String::new();
    for (key, value) in &fields {
        push_pair(&mut line, key, value);
    }
    if let Value::Object(system) = system {
        push_other_system_fields(&mut line, system);
    }
    let data = match event.get("EventData") {
        Some(Value::Object(map)) if !map.is_empty() => Some(map.clone()),
        _ => match event.get("UserData") {
            // UserData holds one element whose children are the fields.
            Some(Value::Object(user)) => user.values().find_map(|v| match v {
                Value::Object(inner) => Some(
                    inner
                        .iter()
                        .filter(|(k, _)| *k != "#attributes")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                _ => None,
            }),
            _ => None,
        },
    };
    for (key, value) in data.iter().flatten() {
        push_pair(&mut line, &key.replace(' ', ""), value);
    }
    line
}

/// Appends the System fields the eleven pairs above leave out, in the
/// record's order: an element's text as `Element=` (`Version`, `Task`,
/// `Opcode`), an attribute as `Element_Attribute=` (`Provider_Guid`,
/// `EventID_Qualifiers`, `Correlation_ActivityID`), the Windows naming
/// Sigma rules use. Null values are left out, as absent. So the line holds
/// every value of the record's System fields: in Sigma semantics the record
/// is confirmed on its own fields, and a field item can fire only where its
/// value occurs in the scanned line.
fn push_other_system_fields(line: &mut String, system: &serde_json::Map<String, Value>) {
    for (element, value) in system {
        // What the first pairs already hold of this element.
        let rendered: &[&str] = match element.as_str() {
            "TimeCreated" => &["SystemTime"],
            "Provider" => &["Name"],
            "Execution" => &["ProcessID", "ThreadID"],
            "Security" => &["UserID"],
            "Computer" | "EventID" | "Channel" | "EventRecordID" | "Level" | "Keywords" => {
                &["#text"]
            }
            _ => &[],
        };
        let text_rendered = rendered.contains(&"#text");
        match value {
            Value::Null => {}
            Value::Object(map) => {
                if let Some(Value::Object(attributes)) = map.get("#attributes") {
                    for (name, value) in attributes {
                        if !value.is_null() && !rendered.contains(&name.as_str()) {
                            push_pair(line, &format!("{element}_{name}"), value);
                        }
                    }
                }
                match map.get("#text") {
                    Some(text) if !text.is_null() && !text_rendered => {
                        push_pair(line, element, text)
                    }
                    _ => {}
                }
            }
            value if !text_rendered => push_pair(line, element, value),
            _ => {}
        }
    }
}

/// Appends ` key=value` (no space before the first pair).
fn push_pair(line: &mut String, key: &str, value: &Value) {
    if !line.is_empty() {
        line.push(' ');
    }
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        // An element with attributes and text (`EventID` with
        // `Qualifiers`): its text is the value.
        Value::Object(map) if map.contains_key("#text") => text_of(&map["#text"]),
        Value::Object(_) | Value::Array(_) => value.to_string(),
        other => other.to_string(),
    };
    let text = text.replace(['\r', '\n'], " ");
    let _ = write!(line, "{key}=");
    if text.is_empty() || text.contains([' ', '"', '=']) {
        let _ = write!(line, "\"{}\"", text.replace('"', "\\\""));
    } else {
        line.push_str(&text);
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A sink that reports each line's record number as its line number.
pub struct Renumber<'a, S: ?Sized> {
    /// The sink lines go to.
    pub inner: &'a mut S,
    /// Record number of each rendered line.
    pub record_ids: &'a [u64],
}

impl<S: Sink + ?Sized> Renumber<'_, S> {
    fn renumbered<'l>(&self, line: &Line<'l>) -> Line<'l> {
        let number = line.number.map(|n| {
            let index = usize::try_from(n - 1).unwrap_or(usize::MAX);
            self.record_ids.get(index).copied().unwrap_or(n)
        });
        Line { number, ..*line }
    }
}

impl<S: Sink + ?Sized> Sink for Renumber<'_, S> {
    fn selected(&mut self, line: &Line<'_>) -> io::Result<()> {
        let line = self.renumbered(line);
        self.inner.selected(&line)
    }

    fn context(&mut self, line: &Line<'_>) -> io::Result<()> {
        let line = self.renumbered(line);
        self.inner.context(&line)
    }

    fn context_break(&mut self) -> io::Result<()> {
        self.inner.context_break()
    }

    fn binary_match(&mut self) -> io::Result<()> {
        self.inner.binary_match()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_follows_gen_corpus() {
        let record: Value = serde_json::from_str(
            r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{
                "Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770}"}},
                "EventID":1,"Version":5,"Level":4,"Task":1,"Opcode":0,"Keywords":"0x8000000000000000",
                "TimeCreated":{"#attributes":{"SystemTime":"2025-12-06T21:11:02.649150Z"}},
                "EventRecordID":67583,"Execution":{"#attributes":{"ProcessID":3904,"ThreadID":4272}},
                "Correlation":null,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"pc",
                "Security":{"#attributes":{"UserID":"S-1-5-18"}}},
              "EventData":{"Image":"C:\\Windows\\System32\\cmd.exe",
                "CommandLine":"cmd.exe /c \"whoami\"","Rule Name":null,"Hashes":"a=b",
                "Multi":"one\r\ntwo"}}}"##,
        )
        .unwrap();
        assert_eq!(
            render_key_value(&record),
            "TimeCreated=2025-12-06T21:11:02.649150Z Computer=pc EventID=1 \
             Provider=Microsoft-Windows-Sysmon Channel=Microsoft-Windows-Sysmon/Operational \
             EventRecordID=67583 ProcessID=3904 ThreadID=4272 Level=4 \
             Keywords=0x8000000000000000 UserID=S-1-5-18 Provider_Guid={5770} Version=5 Task=1 \
             Opcode=0 Image=C:\\Windows\\System32\\cmd.exe \
             CommandLine=\"cmd.exe /c \\\"whoami\\\"\" RuleName=\"\" Hashes=\"a=b\" \
             Multi=\"one  two\""
        );
    }

    #[test]
    fn key_value_user_data_and_qualified_event_id() {
        let record: Value = serde_json::from_str(
            r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7036},
              "Correlation":{"#attributes":{"ActivityID":"{a1}"}}},
              "UserData":{"Op":{"#attributes":{"xmlns":"y"},"Task":"\\Microsoft\\x","Flag":true}}}}"##,
        )
        .unwrap();
        let line = render_key_value(&record);
        assert!(line.contains(" EventID=7036 "), "{line}");
        assert!(line.contains(" EventID_Qualifiers=16384 Correlation_ActivityID={a1} "), "{line}");
        assert!(line.ends_with(" Task=\\Microsoft\\x Flag=true"), "{line}");
    }

    #[test]
    fn xml_on_one_line() {
        let mut out = Vec::new();
        one_line_xml(
            "<Event>\n  <System>\n    <EventID>1</EventID>\n  </System>\n</Event>\n",
            &mut out,
        );
        assert_eq!(out, b"<Event> <System> <EventID>1</EventID> </System> </Event>");
    }
}
