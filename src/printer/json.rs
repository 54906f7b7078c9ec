//! JSON Lines output (`--json`).
//!
//! One object per line of output, each with a `type`:
//!
//! * `match`: a selected line: `path`, `line_number`, `offset` (of the
//!   line's first byte), the line as `line` (UTF-8 text) or, when it is not
//!   valid UTF-8, `line_base64` (the exact bytes), and `rules`: every rule
//!   that selects it as `{"id","title","level","path"}`;
//! * `context`: a context line (`-A`/`-B`/`-C`), same fields but no rules;
//! * `end`: after each input: `path`, `selected` (lines), `binary` (true
//!   when the input was reported as a binary file match), and with
//!   `--byte-range` `lines`: how many lines start in the range;
//! * `summary`: last: `files`, `selected`, `semantics` (`grep` or
//!   `sigma`: what a rule means on a line), and `rules`: every rule with
//!   at least one hit as `{"id","title","level","path","hits"}`.
//!
//! Line ends are not part of `line`. Records are borrowed structs written
//! by `serde_json`, one per line; strings are escaped per RFC 8259, control
//! characters other than TAB, LF and CR as `\u00XX`.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use super::{PrinterConfig, RuleInfo};
use crate::lower::value::base64;
use crate::lower::Semantics;
use crate::search::{Line, Sink, Summary};

/// One record: the variant is its `type`, written first.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Record<'a> {
    Match(LineRecord<'a>),
    Context(LineRecord<'a>),
    End(EndRecord<'a>),
    Summary(SummaryRecord<'a>),
}

#[derive(Serialize)]
struct LineRecord<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line_number: Option<u64>,
    offset: u64,
    /// The line, when it is UTF-8...
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<&'a str>,
    /// ...or else its bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    line_base64: Option<String>,
    /// `match` records only.
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<Selecting<'a>>,
}

#[derive(Serialize)]
struct EndRecord<'a> {
    path: &'a str,
    selected: u64,
    binary: bool,
    /// With `--byte-range` only: lines starting in the range.
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<u64>,
}

#[derive(Serialize)]
struct SummaryRecord<'a> {
    files: u64,
    selected: u64,
    /// `grep` or `sigma`.
    semantics: &'static str,
    rules: Vec<RuleRecord<'a>>,
}

#[derive(Serialize)]
struct RuleRecord<'a> {
    id: &'a str,
    title: &'a str,
    level: &'a str,
    path: &'a str,
    /// Summary records only.
    #[serde(skip_serializing_if = "Option::is_none")]
    hits: Option<u64>,
}

impl<'a> RuleRecord<'a> {
    fn new(rule: &'a RuleInfo, hits: Option<u64>) -> RuleRecord<'a> {
        RuleRecord { id: &rule.id, title: &rule.title, level: &rule.level, path: &rule.path, hits }
    }
}

/// The rules that select a line (indices into `rules`), written as a list
/// of [`RuleRecord`]s without collecting them.
struct Selecting<'a> {
    rules: &'a [RuleInfo],
    ids: &'a [u32],
}

impl Serialize for Selecting<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.ids.iter().map(|&r| RuleRecord::new(&self.rules[r as usize], None)))
    }
}

/// serde_json's compact format, except that backspace and form feed are
/// written `\u0008` and `\u000c` like the other control characters, as
/// this output always has, not `\b` and `\f`.
struct Escapes;

impl Formatter for Escapes {
    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        out: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        match escape {
            CharEscape::Backspace => out.write_all(b"\\u0008"),
            CharEscape::FormFeed => out.write_all(b"\\u000c"),
            escape => CompactFormatter.write_char_escape(out, escape),
        }
    }
}

/// Writes `value` as one line of JSON.
fn write_line(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    let mut record = Vec::new();
    write_record(&mut record, out, value)
}

/// Writes `value` as one line of JSON, built in `record` first: serde
/// writes a record in dozens of small pieces, each a call through `dyn
/// Write` when written straight to `out`.
fn write_record(
    record: &mut Vec<u8>,
    out: &mut dyn Write,
    value: &impl Serialize,
) -> io::Result<()> {
    record.clear();
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut *record, Escapes))?;
    record.push(b'\n');
    out.write_all(record)
}

/// Prints one input as JSON Lines.
pub struct JsonPrinter<'a> {
    config: &'a PrinterConfig,
    name: &'a str,
    out: &'a mut dyn Write,
    /// Selected lines per rule index.
    pub rule_hits: Vec<u64>,
    /// The record being written, kept across lines.
    record: Vec<u8>,
}

impl<'a> JsonPrinter<'a> {
    /// A printer for the input called `name`.
    pub fn new(config: &'a PrinterConfig, name: &'a str, out: &'a mut dyn Write) -> Self {
        let rule_hits = vec![0; config.rules.as_ref().map_or(0, |r| r.len())];
        JsonPrinter { config, name, out, rule_hits, record: Vec::new() }
    }

    fn line(&mut self, selected: bool, line: &Line<'_>) -> io::Result<()> {
        let (text, bytes) = match std::str::from_utf8(line.bytes) {
            Ok(text) => (Some(text), None),
            Err(_) => (None, Some(base64(line.bytes))),
        };
        let mut record = LineRecord {
            path: self.name,
            line_number: line.number,
            offset: line.offset,
            line: text,
            line_base64: bytes,
            rules: None,
        };
        let record = if selected {
            let (rules, ids) = match &self.config.rules {
                Some(rules) => (&rules[..], line.rules),
                None => (&[][..], &[][..]),
            };
            for &r in ids {
                self.rule_hits[r as usize] += 1;
            }
            record.rules = Some(Selecting { rules, ids });
            Record::Match(record)
        } else {
            Record::Context(record)
        };
        write_record(&mut self.record, self.out, &record)?;
        if self.config.line_buffered {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Writes the input's `end` record.
    ///
    /// # Errors
    /// Write errors.
    pub fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let end = EndRecord {
            path: self.name,
            selected: summary.selected,
            binary: summary.binary_match,
            lines: summary.lines,
        };
        write_line(self.out, &Record::End(end))
    }
}

impl Sink for JsonPrinter<'_> {
    fn selected(&mut self, line: &Line<'_>) -> io::Result<()> {
        self.line(true, line)
    }

    fn context(&mut self, line: &Line<'_>) -> io::Result<()> {
        self.line(false, line)
    }

    fn context_break(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn binary_match(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the final `summary` record.
///
/// # Errors
/// Write errors.
pub fn write_summary(
    out: &mut dyn Write,
    files: u64,
    selected: u64,
    semantics: Semantics,
    rules: &[RuleInfo],
    hits: &[u64],
) -> io::Result<()> {
    let rules = rules
        .iter()
        .zip(hits)
        .filter(|&(_, &n)| n > 0)
        .map(|(rule, &n)| RuleRecord::new(rule, Some(n)))
        .collect();
    write_line(
        out,
        &Record::Summary(SummaryRecord { files, selected, semantics: semantics.name(), rules }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `s` as a JSON string, as records write it.
    fn json(s: &str) -> String {
        let mut out = Vec::new();
        write_line(&mut out, &s).unwrap();
        assert_eq!(out.pop(), Some(b'\n'));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json("a\"b\\c\nd\u{1}é"), r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn control_characters_are_written_as_before() {
        assert_eq!(json("\u{8}\u{c}\t\r\u{1f}\u{7f}/"), "\"\\u0008\\u000c\\t\\r\\u001f\u{7f}/\"");
    }
}
