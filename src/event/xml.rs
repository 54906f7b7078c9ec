//! The fields of a Windows event in XML on one line.
//!
//! Not an XML parser: a scanner for the shape Windows and the `evtx`
//! crate write (an optional `<?xml ...?>` declaration, then one element
//! tree of start tags with attributes, end tags, empty-element tags and
//! text). Fields get the paths of the `evtx` crate's JSON shape of the
//! same event, so a rule finds the same fields in both:
//!
//! * an element with no child elements and non-blank text is a field,
//!   named by the path of element names from the root (`event.system.
//!   eventid`), its text entity-decoded;
//! * an attribute is a field named by its element's path and its own name
//!   (`event.system.provider.name`, also found as `Provider_Name`);
//! * `<Data Name="X">` takes `X` as its name in the path (and `Name` is
//!   not an attribute field of it), as the JSON shape does.
//!
//! Comments and processing instructions are skipped between elements;
//! anything else the shape does not have (CDATA, a DOCTYPE, a comment
//! inside a field's text, a tag left open at the end of the line, an end
//! tag that does not match) makes the line undecodable. Entities: the five
//! predefined ones and character references; an unknown one stays as
//! written.

use memchr::memchr;

use super::{offset, skip_blanks, Attribute, Element, Fields, Slot, Work, MAX_DEPTH};

/// Decodes the event starting at `start` into `fields`; false when the
/// line is not in the shape described above.
pub(super) fn decode(line: &[u8], start: usize, fields: &mut Fields, work: &mut Work) -> bool {
    fields.clear(true);
    work.path.clear();
    work.elements.clear();
    Scanner { line, at: start, fields, work }.event().is_some()
}

struct Scanner<'l, 's> {
    line: &'l [u8],
    at: usize,
    fields: &'s mut Fields,
    work: &'s mut Work,
}

impl Scanner<'_, '_> {
    fn event(&mut self) -> Option<()> {
        // Text and markup before the root: only blanks, the declaration
        // and comments may be there.
        let mut seen_root = false;
        loop {
            let text_start = self.at;
            let Some(n) = memchr(b'<', &self.line[self.at..]) else {
                let rest_blank = skip_blanks(self.line, self.at) == self.line.len();
                return (seen_root && self.work.elements.is_empty() && rest_blank).then_some(());
            };
            let tag = self.at + n;
            let text = text_start..tag;
            self.at = tag;
            let rest = &self.line[tag..];
            if rest.starts_with(b"<?") {
                self.skip_past(b"?>")?;
                self.no_text(text)?;
            } else if rest.starts_with(b"<!--") {
                self.skip_past(b"-->")?;
                self.no_text(text)?;
            } else if rest.starts_with(b"</") {
                self.end_tag(text)?;
            } else {
                if seen_root && self.work.elements.is_empty() {
                    // A second root element.
                    return None;
                }
                seen_root = true;
                self.no_text(text)?;
                self.start_tag()?;
            }
        }
    }

    /// Text that is not a field's: it must be blank.
    fn no_text(&self, text: std::ops::Range<usize>) -> Option<()> {
        (skip_blanks(self.line, text.start) >= text.end).then_some(())
    }

    fn skip_past(&mut self, end: &[u8]) -> Option<()> {
        let n = memchr::memmem::find(&self.line[self.at..], end)?;
        self.at += n + end.len();
        Some(())
    }

    /// A start tag at the cursor: extends the path, adds the attributes as
    /// fields, and opens the element (or, for `<x/>`, closes it at once).
    fn start_tag(&mut self) -> Option<()> {
        if self.work.elements.len() >= MAX_DEPTH {
            return None;
        }
        if let Some(parent) = self.work.elements.last_mut() {
            parent.has_children = true;
        }
        self.at += 1;
        let name = self.name()?;
        let base = self.work.path.len();
        // The attributes are read before the name goes on the path:
        // `<Data Name="X">` is named X.
        let mut attributes = std::mem::take(&mut self.work.attributes);
        attributes.clear();
        let empty = loop {
            let before = self.at;
            self.at = skip_blanks(self.line, self.at);
            match *self.line.get(self.at)? {
                b'>' => {
                    self.at += 1;
                    break false;
                }
                b'/' => {
                    self.at += 1;
                    if self.line.get(self.at) != Some(&b'>') {
                        return None;
                    }
                    self.at += 1;
                    break true;
                }
                _ if self.at == before => return None,
                _ => attributes.push(self.attribute()?),
            }
        };
        let tag = name.clone();
        let data_name = (&self.line[name.clone()] == b"Data")
            .then(|| attributes.iter().position(|a| &self.line[a.name.clone()] == b"Name"))
            .flatten();
        let segment = match data_name {
            Some(i) => {
                let value = attributes.remove(i).value;
                self.work.key.clear();
                decode_entities(&self.line[value], &mut self.work.key);
                &self.work.key[..]
            }
            None => &self.line[name],
        };
        if !self.work.path.is_empty() {
            self.work.path.push(b'.');
        }
        self.work.path.extend(segment.iter().map(u8::to_ascii_lowercase));
        let element_path = self.work.path.len();
        for attribute in &attributes {
            self.work.path.push(b'.');
            let dot = self.work.path.len() - 1;
            let name = &self.line[attribute.name.clone()];
            self.work.path.extend(name.iter().map(u8::to_ascii_lowercase));
            let value = self.text_slot(attribute.value.clone());
            self.fields.push(&self.work.path, Some(dot), value);
            self.work.path.truncate(element_path);
        }
        self.work.attributes = attributes;
        if empty {
            self.work.path.truncate(base);
        } else {
            self.work.elements.push(Element { base, tag, has_children: false });
        }
        Some(())
    }

    /// An end tag at the cursor, after `text`: closes the innermost
    /// element, which is a field when it has no child elements and its
    /// text is not blank.
    fn end_tag(&mut self, text: std::ops::Range<usize>) -> Option<()> {
        let element = self.work.elements.pop()?;
        self.at += 2;
        let name = self.name()?;
        self.at = skip_blanks(self.line, self.at);
        if self.line.get(self.at) != Some(&b'>') || self.line[name] != self.line[element.tag] {
            return None;
        }
        self.at += 1;
        if element.has_children {
            self.no_text(text)?;
        } else if skip_blanks(self.line, text.start) < text.end {
            let value = self.text_slot(text);
            self.fields.push(&self.work.path, None, value);
        }
        self.work.path.truncate(element.base);
        Some(())
    }

    /// A tag or attribute name at the cursor.
    fn name(&mut self) -> Option<std::ops::Range<usize>> {
        let start = self.at;
        while self.line.get(self.at).is_some_and(|&b| {
            !b.is_ascii_whitespace() && !matches!(b, b'>' | b'/' | b'=' | b'<' | b'"' | b'\'')
        }) {
            self.at += 1;
        }
        (self.at > start).then_some(start..self.at)
    }

    /// `name="value"` (or with `'`) at the cursor.
    fn attribute(&mut self) -> Option<Attribute> {
        let name = self.name()?;
        self.at = skip_blanks(self.line, self.at);
        if *self.line.get(self.at)? != b'=' {
            return None;
        }
        self.at = skip_blanks(self.line, self.at + 1);
        let quote = *self.line.get(self.at)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let start = self.at + 1;
        let end = start + memchr(quote, &self.line[start..])?;
        self.at = end + 1;
        Some(Attribute { name, value: start..end })
    }

    /// A value from a range of text: as written, or entity-decoded.
    fn text_slot(&mut self, text: std::ops::Range<usize>) -> Slot {
        let raw = &self.line[text.clone()];
        if memchr(b'&', raw).is_none() {
            return Slot::Line(offset(text.start)..offset(text.end));
        }
        self.fields.decoded_slot(|out| decode_entities(raw, out))
    }
}

/// Appends `text` to `out` with entities decoded; an unknown or malformed
/// entity is kept as written.
fn decode_entities(text: &[u8], out: &mut Vec<u8>) {
    let mut rest = text;
    while let Some(amp) = memchr(b'&', rest) {
        out.extend_from_slice(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = memchr(b';', &rest[..rest.len().min(12)]).and_then(|semi| {
            let c = entity(&rest[1..semi])?;
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, used)) => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                rest = &rest[used..];
            }
            None => {
                out.push(b'&');
                rest = &rest[1..];
            }
        }
    }
    out.extend_from_slice(rest);
}

/// The character an entity's name (between `&` and `;`) stands for.
fn entity(name: &[u8]) -> Option<char> {
    let number = |digits: &[u8], radix| {
        let digits = std::str::from_utf8(digits).ok()?;
        char::from_u32(u32::from_str_radix(digits, radix).ok()?)
    };
    match name {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        [b'#', b'x' | b'X', hex @ ..]
            if !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit) =>
        {
            number(hex, 16)
        }
        [b'#', dec @ ..] if !dec.is_empty() && dec.iter().all(u8::is_ascii_digit) => {
            number(dec, 10)
        }
        _ => None,
    }
}
