//! The fields of a `key=value` line: auditd, logfmt, and sigrep's own
//! `Key=Value` rendering of event-log records.
//!
//! # Grammar
//!
//! A line is tokens separated by blanks (ASCII whitespace). A token that
//! starts with a *key* (a letter or `_`, then letters, digits, `_`, `.`,
//! `-`) followed by `=` is a pair; any other token is skipped. The line is
//! a key=value line when its first token is a pair and it holds at least
//! `MIN_PAIRS` pairs: `type=SYSCALL msg=audit(1.2:3): arch=c000003e` and
//! `level=info msg="hello world"` are; `Dec 10 sshd[1]: x=y z=w` and
//! `uid=0` alone are not.
//!
//! A value is the bytes up to the next blank (possibly none: `ruser=`),
//! or, when it starts with `"`, a quoted value, unquoted. Inside quotes,
//! `\"` is a quote; no other escape exists (a backslash is itself, as in
//! Windows paths: this is how sigrep's rendering and `gen_corpus.py` write
//! values). That rendering does not escape a backslash before the closing
//! quote, so `Dir="C:\Program Files\" User=x` must end at `\"`. The rule:
//!
//! * a `"` not preceded by `\` closes the value;
//! * a `\"` closes it when it is followed by the end of the line or by
//!   blanks and a key with `=`, unless it would close a quote opened
//!   inside the value (`"\"C:\Program Files\a.exe\" x=y"` is one value:
//!   its `\"`s pair up, and only an unpaired one may close);
//! * otherwise `\"` is an escaped quote;
//! * a value whose quote never closes runs to the end of the line.
//!
//! A value with an unpaired `\"` followed by ` key=` inside it (the
//! rendering of `a" b=c`) is cut there: the rendering is ambiguous, and
//! the paths ending in `\` of real Windows events are far more common.
//! Single quotes are ordinary bytes: auditd's `msg='op=PAM:x acct="root"
//! res=success'` gives the pairs `msg='op=PAM:x`, `acct=root` and
//! `res=success'`.

use super::{offset, skip_blanks, Fields, Slot, MIN_PAIRS};

/// Decodes the pairs of `line` from `start` into `fields`; false when the
/// line is not a key=value line.
pub(super) fn decode(line: &[u8], start: usize, fields: &mut Fields) -> bool {
    fields.clear(false);
    let mut at = skip_blanks(line, start);
    if key_end(line, at).is_none() {
        return false;
    }
    while at < line.len() {
        match key_end(line, at) {
            Some(key_end) => {
                let (value, end) = value(line, key_end + 1, fields);
                fields.push_key(&line[at..key_end], value);
                at = end;
            }
            None => at = token_end(line, at),
        }
        at = skip_blanks(line, at);
    }
    fields.entries.len() >= MIN_PAIRS
}

/// The end of the key of a pair starting at `at` (the offset of its `=`),
/// or `None` when no pair starts there.
pub(super) fn key_end(line: &[u8], at: usize) -> Option<usize> {
    let first = *line.get(at)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut end = at + 1;
    while line
        .get(end)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        end += 1;
    }
    (line.get(end) == Some(&b'=')).then_some(end)
}

fn token_end(line: &[u8], at: usize) -> usize {
    line[at..].iter().position(u8::is_ascii_whitespace).map_or(line.len(), |n| at + n)
}

/// The value starting at `at` (just after `=`) and the offset where the
/// next token may start.
fn value(line: &[u8], at: usize, fields: &mut Fields) -> (Slot, usize) {
    if line.get(at) != Some(&b'"') {
        let end = token_end(line, at);
        return (Slot::Line(offset(at)..offset(end)), end);
    }
    let start = at + 1;
    let (inner_end, next, escapes) = quoted_end(line, start);
    let inner = &line[start..inner_end];
    let slot = if escapes {
        fields.decoded_slot(|out| unescape_quotes(inner, out))
    } else {
        Slot::Line(offset(start)..offset(inner_end))
    };
    // Bytes glued to the closing quote (`"a"b`) are skipped with it.
    (slot, token_end(line, next))
}

/// Where the quoted value whose inside starts at `start` ends: (end of the
/// inside, offset after the closing quote, whether the inside holds
/// escaped quotes).
fn quoted_end(line: &[u8], start: usize) -> (usize, usize, bool) {
    let mut at = start;
    let mut escapes = false;
    // Whether a quote opened inside the value (an odd count of `\"`) waits
    // for its partner.
    let mut inner_open = false;
    while let Some(n) = memchr::memchr(b'"', &line[at..]) {
        let quote = at + n;
        let escaped = quote > start && line[quote - 1] == b'\\';
        if !escaped || (!inner_open && closes_here(line, quote + 1)) {
            return (quote, quote + 1, escapes);
        }
        escapes = true;
        inner_open = !inner_open;
        at = quote + 1;
    }
    (line.len(), line.len(), escapes)
}

/// Whether a `\"` whose quote ends before `at` may close a value: the line
/// ends there, or blanks and a pair follow.
fn closes_here(line: &[u8], at: usize) -> bool {
    if at == line.len() {
        return true;
    }
    let next = skip_blanks(line, at);
    next > at && (next == line.len() || key_end(line, next).is_some())
}

/// Appends `inner` with every `\"` written `"`.
fn unescape_quotes(inner: &[u8], out: &mut Vec<u8>) {
    let mut rest = inner;
    while let Some(n) = memchr::memmem::find(rest, b"\\\"") {
        out.extend_from_slice(&rest[..n]);
        out.push(b'"');
        rest = &rest[n + 2..];
    }
    out.extend_from_slice(rest);
}
