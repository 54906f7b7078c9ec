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
//!   when the input was reported as a binary file match);
//! * `summary`: last: `files`, `selected`, and `rules`: every rule with
//!   at least one hit as `{"id","title","level","path","hits"}`.
//!
//! Line ends are not part of `line`. Strings are escaped per RFC 8259.

use std::io::{self, Write};

use super::{PrinterConfig, RuleInfo};
use crate::lower::value::base64;
use crate::search::{Line, Sink, Summary};

/// Writes `s` as a JSON string literal.
pub fn write_str(out: &mut dyn Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&[u8]> = match c {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.write_all(&s.as_bytes()[last..i])?;
        match esc {
            Some(e) => out.write_all(e)?,
            None => write!(out, "\\u{:04x}", c as u32)?,
        }
        last = i + c.len_utf8();
    }
    out.write_all(&s.as_bytes()[last..])?;
    out.write_all(b"\"")
}

/// Writes `{"id":..,"title":..,"level":..,"path":..` (no closing brace).
fn open_rule(out: &mut dyn Write, rule: &RuleInfo) -> io::Result<()> {
    out.write_all(b"{\"id\":")?;
    write_str(out, &rule.id)?;
    out.write_all(b",\"title\":")?;
    write_str(out, &rule.title)?;
    out.write_all(b",\"level\":")?;
    write_str(out, &rule.level)?;
    out.write_all(b",\"path\":")?;
    write_str(out, &rule.path)
}

/// Prints one input as JSON Lines.
pub struct JsonPrinter<'a> {
    config: &'a PrinterConfig,
    name: &'a str,
    out: &'a mut dyn Write,
    /// Selected lines per rule index.
    pub rule_hits: Vec<u64>,
}

impl<'a> JsonPrinter<'a> {
    /// A printer for the input called `name`.
    pub fn new(config: &'a PrinterConfig, name: &'a str, out: &'a mut dyn Write) -> Self {
        let rule_hits = vec![0; config.rules.as_ref().map_or(0, |r| r.len())];
        JsonPrinter { config, name, out, rule_hits }
    }

    fn line(&mut self, kind: &str, line: &Line<'_>) -> io::Result<()> {
        write!(self.out, "{{\"type\":\"{kind}\",\"path\":")?;
        write_str(self.out, self.name)?;
        if let Some(n) = line.number {
            write!(self.out, ",\"line_number\":{n}")?;
        }
        write!(self.out, ",\"offset\":{}", line.offset)?;
        match std::str::from_utf8(line.bytes) {
            Ok(text) => {
                self.out.write_all(b",\"line\":")?;
                write_str(self.out, text)?;
            }
            Err(_) => {
                self.out.write_all(b",\"line_base64\":")?;
                write_str(self.out, &base64(line.bytes))?;
            }
        }
        if kind == "match" {
            self.out.write_all(b",\"rules\":[")?;
            if let Some(rules) = &self.config.rules {
                for (i, &r) in line.rules.iter().enumerate() {
                    if i > 0 {
                        self.out.write_all(b",")?;
                    }
                    open_rule(self.out, &rules[r as usize])?;
                    self.out.write_all(b"}")?;
                    self.rule_hits[r as usize] += 1;
                }
            }
            self.out.write_all(b"]")?;
        }
        self.out.write_all(b"}\n")?;
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
        self.out.write_all(b"{\"type\":\"end\",\"path\":")?;
        write_str(self.out, self.name)?;
        writeln!(
            self.out,
            ",\"selected\":{},\"binary\":{}}}",
            summary.selected, summary.binary_match
        )
    }
}

impl Sink for JsonPrinter<'_> {
    fn selected(&mut self, line: &Line<'_>) -> io::Result<()> {
        self.line("match", line)
    }

    fn context(&mut self, line: &Line<'_>) -> io::Result<()> {
        self.line("context", line)
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
    rules: &[RuleInfo],
    hits: &[u64],
) -> io::Result<()> {
    write!(out, "{{\"type\":\"summary\",\"files\":{files},\"selected\":{selected},\"rules\":[")?;
    let mut first = true;
    for (rule, &n) in rules.iter().zip(hits) {
        if n == 0 {
            continue;
        }
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        open_rule(out, rule)?;
        write!(out, ",\"hits\":{n}}}")?;
    }
    out.write_all(b"]}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"b\\c\nd\u{1}é").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\c\nd\u0001é""#);
    }
}
