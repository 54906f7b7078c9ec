//! The fields of a JSON object line: one pass, no recursion, no tree.
//!
//! The scanner follows the JSON grammar with an explicit stack of open
//! containers and the current dotted path in one buffer; each scalar it
//! meets becomes a field named by the path (see the parent module for the
//! naming rules). Strings without escapes stay ranges of the line; the
//! others are unescaped into the field table. It is lenient where being
//! strict would cost a look at every byte (control characters in strings,
//! the exact number grammar), and strict where it matters for fields: the
//! line must be one complete object, or it has no fields.
//!
//! Its twin is `reference::json_fields`, which lets serde_json parse the
//! line and walks the result recursively.

use memchr::memchr2;

use super::{offset, skip_blanks, Container, Fields, Slot, Work, MAX_DEPTH};

/// Decodes the object starting at `start` into `fields`; false when the
/// line is not one well-formed object (then `fields` is to be ignored).
pub(super) fn decode(line: &[u8], start: usize, fields: &mut Fields, work: &mut Work) -> bool {
    fields.clear(true);
    work.path.clear();
    work.containers.clear();
    Scanner { line, at: start, fields, work }.object_line().is_some()
}

/// Where the next value goes: the path is in `Work::path`; `dot` and
/// `attributes` are its attribute dot and whether, if the value is an
/// object, its keys are attributes.
#[derive(Clone, Copy)]
struct Context {
    dot: Option<usize>,
    attributes: bool,
}

/// What follows a value read by `Scanner::value`.
enum Next {
    /// A container opened; its first value, in this context, is next.
    Value(Context),
    /// The value is complete: punctuation or a close follows.
    After,
}

struct Scanner<'l, 's> {
    line: &'l [u8],
    at: usize,
    fields: &'s mut Fields,
    work: &'s mut Work,
}

impl Scanner<'_, '_> {
    /// The whole line: one object, then nothing but blanks. `None` on a
    /// syntax error (the `?`s below).
    fn object_line(&mut self) -> Option<()> {
        self.at = skip_blanks(self.line, self.at);
        if self.peek()? != b'{' {
            return None;
        }
        let mut context = Context { dot: None, attributes: false };
        // Each turn reads one value, then the punctuation after it up to
        // the next value (or the end of the outermost object).
        loop {
            if let Next::Value(inner) = self.value(context)? {
                // A container opened: its first value is next.
                context = inner;
                continue;
            }
            context = self.after_value()?;
            if self.work.containers.is_empty() {
                break;
            }
        }
        (skip_blanks(self.line, self.at) == self.line.len()).then_some(())
    }

    fn peek(&self) -> Option<u8> {
        self.line.get(self.at).copied()
    }

    /// Skips blanks and consumes `byte`.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.at = skip_blanks(self.line, self.at);
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Reads one value at the cursor. A scalar becomes a field; a
    /// container is opened, and when it is not empty, its first value's
    /// context is returned (and its first key read).
    fn value(&mut self, context: Context) -> Option<Next> {
        self.at = skip_blanks(self.line, self.at);
        match self.peek()? {
            open @ (b'{' | b'[') => {
                if self.work.containers.len() >= MAX_DEPTH {
                    return None;
                }
                let array = open == b'[';
                self.work.containers.push(Container {
                    base: self.work.path.len(),
                    array,
                    attributes: context.attributes,
                    dot: context.dot,
                });
                self.at += 1;
                self.at = skip_blanks(self.line, self.at);
                let close = if array { b']' } else { b'}' };
                if self.peek()? == close {
                    // Left to `after_value`, which closes it like any other.
                    return Some(Next::After);
                }
                if array {
                    Some(Next::Value(context))
                } else {
                    self.key().map(Next::Value)
                }
            }
            b'"' => {
                let slot = self.string_value()?;
                self.emit(context, slot);
                Some(Next::After)
            }
            b'n' => self.literal(b"null").map(|_| Next::After),
            b't' | b'f' => {
                let word: &[u8] = if self.peek()? == b't' { b"true" } else { b"false" };
                let slot = self.literal(word)?;
                self.emit(context, slot);
                Some(Next::After)
            }
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                let number = |b: u8| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-');
                while self.peek().is_some_and(number) {
                    self.at += 1;
                }
                self.emit(context, Slot::Line(offset(start)..offset(self.at)));
                Some(Next::After)
            }
            _ => None,
        }
    }

    /// After a value: closes every container that ends here and reads the
    /// comma and (in an object) the key before the next value. Returns
    /// the next value's context; the stack is empty when the outermost
    /// object has closed.
    fn after_value(&mut self) -> Option<Context> {
        loop {
            let container = *self.work.containers.last()?;
            self.at = skip_blanks(self.line, self.at);
            let close = if container.array { b']' } else { b'}' };
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.work.path.truncate(container.base);
                    return if container.array {
                        Some(Context { dot: container.dot, attributes: container.attributes })
                    } else {
                        self.key()
                    };
                }
                b if b == close => {
                    self.at += 1;
                    self.work.containers.pop();
                    self.work.path.truncate(container.base);
                    if self.work.containers.is_empty() {
                        return Some(Context { dot: None, attributes: false });
                    }
                }
                _ => return None,
            }
        }
    }

    /// Reads `"key":` in the innermost object and extends the path.
    fn key(&mut self) -> Option<Context> {
        let container = *self.work.containers.last()?;
        self.at = skip_blanks(self.line, self.at);
        if self.peek()? != b'"' {
            return None;
        }
        let raw = self.string_raw()?;
        let key = if raw.escaped {
            self.work.key.clear();
            unescape(&self.line[raw.inner], &mut self.work.key)?;
            &self.work.key[..]
        } else {
            &self.line[raw.inner]
        };
        let path = &mut self.work.path;
        path.truncate(container.base);
        let context = match key {
            // The evtx crate's XML shape: no path segment of their own.
            b"#attributes" => Context { dot: container.dot, attributes: true },
            b"#text" => Context { dot: container.dot, attributes: false },
            key => {
                let dot = (!path.is_empty()).then(|| {
                    path.push(b'.');
                    path.len() - 1
                });
                path.extend(key.iter().map(u8::to_ascii_lowercase));
                Context { dot: dot.filter(|_| container.attributes), attributes: false }
            }
        };
        self.expect(b':')?;
        Some(context)
    }

    /// A string value: a range of the line, or unescaped when it has
    /// escapes.
    fn string_value(&mut self) -> Option<Slot> {
        let raw = self.string_raw()?;
        if !raw.escaped {
            return Some(Slot::Line(offset(raw.inner.start)..offset(raw.inner.end)));
        }
        let text = &self.line[raw.inner];
        let mut ok = true;
        let slot = self.fields.decoded_slot(|out| ok = unescape(text, out).is_some());
        ok.then_some(slot)
    }

    /// Skips a string at the cursor (on its `"`); returns its inside.
    fn string_raw(&mut self) -> Option<RawString> {
        let start = self.at + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            at += memchr2(b'"', b'\\', self.line.get(at..)?)?;
            if self.line[at] == b'"' {
                self.at = at + 1;
                return Some(RawString { inner: start..at, escaped });
            }
            escaped = true;
            // The escaped byte is never the closing quote; `\u` digits are
            // checked by `unescape`.
            at += 2;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<Slot> {
        let start = self.at;
        if !self.line[start..].starts_with(word) {
            return None;
        }
        self.at += word.len();
        Some(Slot::Line(offset(start)..offset(self.at)))
    }

    fn emit(&mut self, context: Context, value: Slot) {
        self.fields.push(&self.work.path, context.dot, value);
    }
}

/// A string's inside (without quotes) and whether it holds escapes.
struct RawString {
    inner: std::ops::Range<usize>,
    escaped: bool,
}

/// Appends the unescaped `text` (a string's inside) to `out`; `None` on an
/// invalid escape. A `\u` surrogate without its partner becomes U+FFFD.
fn unescape(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut rest = text;
    while let Some(backslash) = memchr::memchr(b'\\', rest) {
        out.extend_from_slice(&rest[..backslash]);
        let escape = *rest.get(backslash + 1)?;
        rest = &rest[backslash + 2..];
        let byte = match escape {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (c, used) = unicode_escape(rest)?;
                rest = &rest[used..];
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(byte);
    }
    out.extend_from_slice(rest);
    Some(())
}

/// The character of a `\u` escape whose four hex digits start `rest`
/// (joined with a following `\uDC00`-`\uDFFF` when it is a high
/// surrogate), and how many bytes of `rest` it used.
fn unicode_escape(rest: &[u8]) -> Option<(char, usize)> {
    let unit = hex4(rest)?;
    if (0xD800..0xDC00).contains(&unit) {
        if let Some(low) = rest.get(4..6).filter(|p| *p == b"\\u").and_then(|_| hex4(&rest[6..])) {
            if (0xDC00..0xE000).contains(&low) {
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Some((char::from_u32(c)?, 10));
            }
        }
    }
    Some((char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER), 4))
}

fn hex4(bytes: &[u8]) -> Option<u32> {
    let digits = bytes.get(..4)?;
    digits.iter().try_fold(0, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}
