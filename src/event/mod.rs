//! Events: the fields of a log line or an event-log record, decoded lazily.
//!
//! Sigma semantics (DESIGN 2.3) evaluates a rule's field items on the
//! *fields* of an event. This module finds those fields; it knows nothing
//! about rules. The scan decides which rules a line triggers; only then
//! does an evaluation ask an [`Event`] for a field, so decoding happens on
//! few lines, once per line, into buffers reused from line to line.
//!
//! # Formats
//!
//! A line's format is told by its first bytes, after blanks and a UTF-8
//! byte-order mark: `{` is [`Format::Json`], `<Event` or `<?xml` is
//! [`Format::Xml`], anything else is tried as [`Format::KeyValue`]. A line
//! that does not decode in the format its first bytes announce has no
//! fields at all ([`Format::None`]): decoding is all or nothing, so a
//! field is never taken from a broken or truncated line.
//!
//! * **JSON object**: every leaf by its dotted path of keys,
//!   e.g. `Event.EventData.CommandLine`. Objects named `#attributes` and
//!   `#text` (the `evtx` crate's shape of XML) add no path segment, and a
//!   leaf directly inside `#attributes` is an *attribute*. Each element of
//!   an array is a value of the array's path, so a field can have several
//!   values. Strings are unescaped; numbers and `true`/`false` are their
//!   text as written; `null` is no value (the field is absent there, as in
//!   pySigma's reference, where a JSON null is SQL NULL). Nesting deeper
//!   than [`MAX_DEPTH`] makes the line undecodable. The scanner is lenient
//!   where strictness would cost a look at every byte: control characters
//!   in strings and malformed numbers (`1.2.3`) pass.
//! * **XML event**: Windows event XML on one line, decoded into
//!   the same paths as its JSON shape: `<EventID>4688</EventID>` in
//!   `<System>` is `Event.System.EventID`, `<Provider Name="X"/>` gives
//!   the attribute `Event.System.Provider.Name`, `<Data Name="X">v</Data>`
//!   is the field `X` of its parent (`Event.EventData.X`). Entities are
//!   decoded. An element's text made only of blanks is no value (it is the
//!   indentation of the multi-line form, joined into one line).
//! * **Key=value**: auditd, logfmt, and sigrep's own `Key=Value`
//!   rendering of event-log records. A line is recognised when its first
//!   token is a pair and it holds at least [`MIN_PAIRS`] pairs; a key is a
//!   letter or `_` followed by letters, digits, `_`, `.` or `-`. So a
//!   syslog line (`Dec 10 ... sshd[1]: Failed password for x=y`) has no
//!   fields. Quoting is described in `kv.rs`. A value is never null: an
//!   event-log record's null field is written `Field=""`, present and
//!   empty, so `exists` can differ between a record and its rendered line
//!   (a `null` item, "absent or empty", holds on both).
//! * **Event-log record** ([`RecordFields`]): the fields of the record's
//!   JSON shape as the `evtx` crate parses it, built when the file is read
//!   (never re-parsed from the rendered line), with the names a JSON line
//!   of the same record would have.
//!
//! # Names
//!
//! Field names compare ASCII-case-insensitively. A JSON or XML field is
//! found by its full dotted path or by any dotted suffix of it:
//! `CommandLine`, `EventData.CommandLine` and
//! `Event.EventData.CommandLine` all find `Event.EventData.CommandLine`.
//! An attribute is also found with `_` in place of the dot before its
//! name, the Windows convention: `Provider_Name` (and `Provider.Name`,
//! `Name`) find `Event.System.Provider.#attributes.Name`. A key=value field
//! is found by its key only (a dot in a key is just a character), and
//! `Provider_Name` also finds `Provider`, the name sigrep's rendering of
//! event-log records gives it.
//!
//! Several fields may answer one name (`ProcessID` in `System/Execution`
//! and in `EventData`; a repeated key; an array): [`Event::values`] yields
//! them all, in line order, for an item to hold if it holds for one.
//!
//! # Invariants
//!
//! * Nothing is decoded until a field is asked for; then the whole line is
//!   decoded once, and every later lookup is a scan of a small table.
//! * Decoding takes time linear in the line and never recurses: nesting is
//!   followed with explicit stacks bounded by [`MAX_DEPTH`].
//! * Any bytes are accepted: invalid UTF-8 stays in values as it is.
//!   Blanks are ASCII whitespace; a line is given without its LF, and a
//!   CR before it is a blank.
//! * Every value is a substring of the line, or (when unescaping changed
//!   it) decoded from one; names are stored lowercased.
//!
//! [`mod@reference`] holds the slow twins the decoders are tested against.

use std::ops::Range;

mod json;
mod kv;
mod record;
pub mod reference;
mod source;
mod xml;

pub use record::RecordFields;
pub use source::{text_source, TextSource};

/// How many JSON containers or XML elements may be open at once; a line
/// that nests deeper is undecodable (serde_json's own limit).
pub const MAX_DEPTH: usize = 127;

/// How many pairs make a key=value line.
pub const MIN_PAIRS: usize = 2;

/// The shape a line's fields were decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A JSON object.
    Json,
    /// `key=value` pairs.
    KeyValue,
    /// A Windows event in XML.
    Xml,
    /// An event-log record, decoded when the file was read.
    Record,
    /// A line without fields.
    None,
}

/// Where a decoded value lives.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Slot {
    /// A range of the line, as written.
    Line(Range<u32>),
    /// A range of [`Fields::decoded`]: an unescaped value.
    Decoded(Range<u32>),
}

/// One field: a name (in [`Fields::names`]) and one value.
#[derive(Clone, Debug)]
struct Entry {
    name: Range<u32>,
    /// For an attribute, the offset in the name of the dot before the
    /// attribute's own name (`provider.name`: 8), which also matches `_`.
    attribute_dot: Option<u32>,
    value: Slot,
    /// [`leaf_hash`] of the name's last segment, and of the last segment
    /// it has when its attribute dot reads as `_` (`provider_name`; the
    /// same hash when that changes nothing): a query whose last segment
    /// hashes to neither cannot be answered by this field, so a lookup
    /// compares names only where a hash agrees.
    leaf: u32,
    leaf_underscored: u32,
}

/// A decoded field table: lowercased names and values, in line order.
///
/// The table borrows nothing; values that are ranges of the line are
/// resolved against the line they were decoded from.
#[derive(Clone, Debug, Default)]
struct Fields {
    names: Vec<u8>,
    decoded: Vec<u8>,
    entries: Vec<Entry>,
    /// Whether names are dotted paths (JSON, XML, records) that suffixes
    /// find, or plain keys.
    dotted: bool,
}

impl Fields {
    fn clear(&mut self, dotted: bool) {
        self.names.clear();
        self.decoded.clear();
        self.entries.clear();
        self.dotted = dotted;
    }

    /// Adds a field named `name`, already lowercased, whose value is
    /// `value`.
    fn push(&mut self, name: &[u8], attribute_dot: Option<usize>, value: Slot) {
        debug_assert!(!name.iter().any(u8::is_ascii_uppercase));
        let leaf = leaf_hash(last_segment(name));
        let leaf_underscored = match attribute_dot {
            Some(d) if !name[d + 1..].contains(&b'.') => {
                // `…provider.name` read as `…provider_name`.
                let owner = last_segment(&name[..d]);
                fnv(fnv(fnv(FNV_BASIS, owner), b"_"), &name[d + 1..])
            }
            _ => leaf,
        };
        let start = offset(self.names.len());
        self.names.extend_from_slice(name);
        let name = start..offset(self.names.len());
        let attribute_dot = attribute_dot.map(offset);
        self.entries.push(Entry { name, attribute_dot, value, leaf, leaf_underscored });
    }

    /// Adds a key=value field: `key` as written, `value`.
    fn push_key(&mut self, key: &[u8], value: Slot) {
        let start = offset(self.names.len());
        self.names.extend(key.iter().map(u8::to_ascii_lowercase));
        let name = start..offset(self.names.len());
        // A key is found by the whole of it (a dot in a key is just a
        // character); `Provider` also by `Provider_Name` (see `answers`).
        let leaf = leaf_hash(&self.names[range(&name)]);
        let leaf_underscored = if &self.names[range(&name)] == b"provider" {
            leaf_hash(b"provider_name")
        } else {
            leaf
        };
        self.entries.push(Entry { name, attribute_dot: None, value, leaf, leaf_underscored });
    }

    /// The hash a query for `name` is compared with ([`Entry::leaf`]).
    fn query_hash(&self, name: &[u8]) -> u32 {
        leaf_hash(if self.dotted { last_segment(name) } else { name })
    }

    /// [`Fields::query_hash`] of a prepared name.
    fn name_hash(&self, name: &FieldName) -> u32 {
        if self.dotted {
            name.leaf
        } else {
            name.whole
        }
    }

    /// Appends `bytes` to the decoded-value buffer and returns their slot.
    fn decoded_slot(&mut self, bytes: impl FnOnce(&mut Vec<u8>)) -> Slot {
        let start = offset(self.decoded.len());
        bytes(&mut self.decoded);
        Slot::Decoded(start..offset(self.decoded.len()))
    }

    /// Whether the field `entry` answers to `query`.
    fn answers(&self, entry: &Entry, query: &[u8]) -> bool {
        let name = &self.names[range(&entry.name)];
        if !self.dotted {
            // sigrep's Key=Value rendering (and gen_corpus.py) writes the
            // provider's name as `Provider=`; rules name it `Provider_Name`.
            return name.eq_ignore_ascii_case(query)
                || (name == b"provider" && query.eq_ignore_ascii_case(b"provider_name"));
        }
        let dot = entry.attribute_dot.map(|d| d as usize);
        suffix_matches(name, query, None)
            || dot.is_some_and(|d| suffix_matches(name, query, Some(d)))
    }
}

const FNV_BASIS: u32 = 0x811c_9dc5;

/// 32-bit FNV-1a over `bytes` ASCII-lowercased, from `hash`.
fn fnv(hash: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h ^ u32::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0193))
}

/// The hash of a name's last segment (see [`Entry::leaf`]).
fn leaf_hash(segment: &[u8]) -> u32 {
    fnv(FNV_BASIS, segment)
}

/// What follows a name's last dot (all of it without one). A query is a
/// dotted suffix of the name it finds, so the two end in the same segment.
fn last_segment(name: &[u8]) -> &[u8] {
    memchr::memrchr(b'.', name).map_or(name, |i| &name[i + 1..])
}

/// Whether `query` is `name` or a dotted suffix of it, ASCII case
/// ignored (`name` is lowercase); with `underscore`, the name's byte at
/// that offset (a dot) is read as `_`.
fn suffix_matches(name: &[u8], query: &[u8], underscore: Option<usize>) -> bool {
    let Some(start) = name.len().checked_sub(query.len()) else { return false };
    let byte = |i: usize| if Some(i) == underscore { b'_' } else { name[i] };
    if start > 0 && byte(start - 1) != b'.' {
        return false;
    }
    query.iter().enumerate().all(|(i, q)| byte(start + i) == q.to_ascii_lowercase())
}

/// Offsets are stored as `u32`: lines and records are far below 4 GiB
/// (a longer line is cut off at that length by the search, never here).
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn range(r: &Range<u32>) -> Range<usize> {
    r.start as usize..r.end as usize
}

/// Buffers reused from one line's decoding to the next: keep one per
/// thread and lend it to each line's [`Event`].
#[derive(Debug, Default)]
pub struct Scratch {
    fields: Fields,
    /// The decoders' stacks and path buffers.
    work: Work,
    /// The current line's lookups.
    lookups: Lookups,
}

/// The names looked up in the current line's table, each answered once:
/// a line's checks ask for the same few fields over and over (a
/// `CommandLine` test per triggered rule), and a lookup compares the name
/// with every field's.
#[derive(Debug, Default)]
struct Lookups {
    /// The names asked, one after another, as given.
    names: Vec<u8>,
    /// Per name asked: its hash ([`Fields::query_hash`]), its range in
    /// `names` and its entries in `hits`.
    asked: Vec<(u32, Range<u32>, Range<u32>)>,
    /// The indexes of the entries that answer each name, in line order.
    hits: Vec<u32>,
    /// `asked` indexed by hash: open addressing, a slot holding an index
    /// into `asked` plus one (0: free). A Windows line's checks ask for
    /// about a hundred names; finding each by a scan of those asked before
    /// cost more than the lookups themselves.
    index: Vec<u32>,
}

/// Slots of [`Lookups::index`] at first; it doubles when half full.
const LOOKUP_SLOTS: usize = 256;

impl Lookups {
    fn clear(&mut self) {
        self.names.clear();
        self.asked.clear();
        self.hits.clear();
        // Its size stays: the names a rule set asks per line are bounded
        // by the rule set, and the next line asks about as many.
        self.index.fill(0);
    }

    /// The slot of `hash` in `index` to start probing at.
    fn slot(&self, hash: u32) -> usize {
        (hash.wrapping_mul(0x9E37_79B1) >> 8) as usize & (self.index.len() - 1)
    }

    /// The range in `hits` of the entries of `fields` that answer `name`,
    /// whose hash is `hash` ([`Fields::query_hash`]).
    fn entries(&mut self, fields: &Fields, name: &[u8], hash: u32) -> Range<usize> {
        if self.index.is_empty() {
            self.index = vec![0; LOOKUP_SLOTS];
        }
        let mut slot = self.slot(hash);
        while self.index[slot] != 0 {
            let (asked_hash, ref asked, ref hits) = self.asked[self.index[slot] as usize - 1];
            if asked_hash == hash && self.names[range(asked)].eq_ignore_ascii_case(name) {
                return range(hits);
            }
            slot = (slot + 1) & (self.index.len() - 1);
        }
        let start = self.hits.len();
        for (i, entry) in fields.entries.iter().enumerate() {
            if (entry.leaf == hash || entry.leaf_underscored == hash) && fields.answers(entry, name)
            {
                self.hits.push(offset(i));
            }
        }
        let asked = offset(self.names.len())..offset(self.names.len() + name.len());
        self.names.extend_from_slice(name);
        self.asked.push((hash, asked, offset(start)..offset(self.hits.len())));
        self.index[slot] = offset(self.asked.len());
        if self.asked.len() * 2 > self.index.len() {
            self.grow();
        }
        start..self.hits.len()
    }

    /// Doubles `index` and files every name asked again.
    fn grow(&mut self) {
        self.index = vec![0; self.index.len() * 2];
        for i in 0..self.asked.len() {
            let mut slot = self.slot(self.asked[i].0);
            while self.index[slot] != 0 {
                slot = (slot + 1) & (self.index.len() - 1);
            }
            self.index[slot] = offset(i + 1);
        }
    }
}

/// A field's name made ready for lookups ([`Event::field_values`]): the
/// hashes a lookup compares first, computed once rather than per lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldName {
    name: Box<str>,
    /// [`leaf_hash`] of the whole name (plain keys) and of its last
    /// segment (dotted paths): see [`Fields::query_hash`].
    whole: u32,
    leaf: u32,
}

impl FieldName {
    /// The field `name`.
    pub fn new(name: &str) -> FieldName {
        let bytes = name.as_bytes();
        FieldName {
            name: name.into(),
            whole: leaf_hash(bytes),
            leaf: leaf_hash(last_segment(bytes)),
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

/// The values of one field of an event, in line order ([`Event::values`],
/// [`FieldsRef::values`]).
struct Values<'e, 'q> {
    view: FieldsRef<'e>,
    kind: ValuesKind<'e, 'q>,
}

enum ValuesKind<'e, 'q> {
    /// The entries an earlier lookup of the name found.
    Hits(std::slice::Iter<'e, u32>),
    /// Entries still to compare with the name, and its hash
    /// ([`Fields::query_hash`]).
    Scan(std::slice::Iter<'e, Entry>, &'q [u8], u32),
}

impl<'e> Iterator for Values<'e, '_> {
    type Item = &'e [u8];

    fn next(&mut self) -> Option<&'e [u8]> {
        let view = self.view;
        match &mut self.kind {
            ValuesKind::Hits(hits) => {
                hits.next().map(|&i| view.value(&view.fields.entries[i as usize]))
            }
            ValuesKind::Scan(entries, query, hash) => entries
                .find(|e| {
                    (e.leaf == *hash || e.leaf_underscored == *hash)
                        && view.fields.answers(e, query)
                })
                .map(|e| view.value(e)),
        }
    }
}

/// Working memory of the decoders.
#[derive(Debug, Default)]
struct Work {
    /// The current dotted path, lowercased.
    path: Vec<u8>,
    /// JSON: the open containers, outermost first.
    containers: Vec<Container>,
    /// XML: the open elements, outermost first.
    elements: Vec<Element>,
    /// An unescaped key or `Data` name.
    key: Vec<u8>,
    /// XML: the attributes of the start tag being read.
    attributes: Vec<Attribute>,
}

/// An open JSON object or array.
#[derive(Clone, Copy, Debug)]
struct Container {
    /// Length of the path before this container's own keys.
    base: usize,
    array: bool,
    /// The keys of this object are attributes (it is an `#attributes`).
    attributes: bool,
    /// The attribute dot of the container's own path, passed on to its
    /// elements and to its transparent `#attributes`/`#text` members.
    dot: Option<usize>,
}

/// An open XML element.
#[derive(Clone, Debug)]
struct Element {
    /// Length of the path before this element's segment.
    base: usize,
    /// Its tag name in the line, which its end tag must repeat.
    tag: Range<usize>,
    has_children: bool,
}

/// One attribute of an XML start tag: its name and its value's inside.
#[derive(Clone, Debug)]
struct Attribute {
    name: Range<usize>,
    value: Range<usize>,
}

/// Where an event's fields come from.
#[derive(Debug)]
enum Source<'a> {
    /// A line, decoded into `scratch` on first use.
    Line { line: &'a [u8], scratch: &'a mut Scratch, format: Option<Format> },
    /// An event-log record, decoded when the file was read.
    Record(&'a Fields),
}

/// One event: a line (decoded on first lookup) or an event-log record.
///
/// ```
/// use sigrep::event::{Event, Format, Scratch};
///
/// let mut scratch = Scratch::default();
/// let line = br##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Sysmon"}},"EventID":1}}}"##;
/// let mut event = Event::new(line, &mut scratch);
/// assert_eq!(event.format(), Format::Json);
/// assert_eq!(event.values("provider_name").collect::<Vec<_>>(), [b"Sysmon"]);
/// assert_eq!(event.values("EventID").collect::<Vec<_>>(), [b"1"]);
/// assert!(!event.has("CommandLine"));
/// assert_eq!(event.logsource().channel, None);
/// ```
#[derive(Debug)]
pub struct Event<'a> {
    source: Source<'a>,
}

impl<'a> Event<'a> {
    /// An event for `line` (without its line terminator; a final CR is a
    /// blank). Nothing is decoded yet; `scratch` holds the decoded fields
    /// once a lookup asks for them.
    pub fn new(line: &'a [u8], scratch: &'a mut Scratch) -> Event<'a> {
        Event { source: Source::Line { line, scratch, format: None } }
    }

    /// The event of an event-log record (see [`RecordFields`]).
    pub fn from_record(fields: &'a RecordFields) -> Event<'a> {
        Event { source: Source::Record(fields.fields()) }
    }

    /// The format the event's fields were decoded from; [`Format::None`]
    /// when it has none. Decodes the line if it was not yet.
    pub fn format(&mut self) -> Format {
        self.decode();
        match &self.source {
            Source::Line { format, .. } => format.unwrap_or(Format::None),
            Source::Record(_) => Format::Record,
        }
    }

    /// Every value of the field `name`, in line order (none when the event
    /// lacks it). Decodes the line if it was not yet. A line remembers which
    /// fields answer each name it was asked for.
    pub fn values<'e>(&'e mut self, name: &'e str) -> impl Iterator<Item = &'e [u8]> + 'e {
        self.lookup(name, |fields| fields.query_hash(name.as_bytes()))
    }

    /// Whether the event has a value for the field `name`.
    pub fn has(&mut self, name: &str) -> bool {
        self.values(name).next().is_some()
    }

    /// [`Event::values`] of a prepared name.
    pub fn field_values<'e>(
        &'e mut self,
        name: &'e FieldName,
    ) -> impl Iterator<Item = &'e [u8]> + 'e {
        self.lookup(name.as_str(), |fields| fields.name_hash(name))
    }

    /// The values of the field `name` whose lookup hash `hash` gives
    /// ([`Fields::query_hash`]; it depends on the decoded fields).
    fn lookup<'e>(
        &'e mut self,
        name: &'e str,
        hash: impl FnOnce(&Fields) -> u32,
    ) -> Values<'e, 'e> {
        self.decode();
        match &mut self.source {
            Source::Line { line, scratch, .. } => {
                let Scratch { fields, lookups, .. } = &mut **scratch;
                let hits = lookups.entries(fields, name.as_bytes(), hash(fields));
                Values {
                    view: FieldsRef { line, fields },
                    kind: ValuesKind::Hits(lookups.hits[hits].iter()),
                }
            }
            Source::Record(fields) => FieldsRef { line: &[], fields }.scan(name),
        }
    }

    /// [`Event::has`] of a prepared name.
    pub fn has_field(&mut self, name: &FieldName) -> bool {
        self.field_values(name).next().is_some()
    }

    /// The event's logsource keys: its first `Channel` and `EventID`
    /// values (DESIGN 2.3, logsources). An event without a `Channel` has no
    /// logsource and is judged by its fields alone.
    pub fn logsource(&mut self) -> Logsource<'_> {
        let fields = self.fields();
        Logsource {
            channel: fields.values("Channel").next(),
            event_id: fields.values("EventID").next(),
        }
    }

    /// The decoded field table, for lookups and listing.
    pub fn fields(&mut self) -> FieldsRef<'_> {
        self.decode();
        match &self.source {
            Source::Line { line, scratch, .. } => FieldsRef { line, fields: &scratch.fields },
            Source::Record(fields) => FieldsRef { line: &[], fields },
        }
    }

    fn decode(&mut self) {
        if let Source::Line { line, scratch, format: format @ None } = &mut self.source {
            *format = Some(decode_line(line, scratch));
        }
    }
}

/// An event's logsource keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Logsource<'e> {
    /// The first `Channel` value.
    pub channel: Option<&'e [u8]>,
    /// The first `EventID` value.
    pub event_id: Option<&'e [u8]>,
}

/// One field of an event, as [`FieldsRef::iter`] lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'e> {
    /// The full name, lowercased: a dotted path (JSON, XML, records) or a
    /// key (key=value).
    pub name: &'e [u8],
    /// For an attribute, the offset in `name` of the dot before the
    /// attribute's own name (the dot that `_` also matches).
    pub attribute_dot: Option<usize>,
    /// The value, unescaped.
    pub value: &'e [u8],
}

/// A decoded field table with the line its values are ranges of.
#[derive(Clone, Copy, Debug)]
pub struct FieldsRef<'e> {
    line: &'e [u8],
    fields: &'e Fields,
}

impl<'e> FieldsRef<'e> {
    /// Every value of the field `name` (see the module docs for names).
    pub fn values<'q>(self, name: &'q str) -> impl Iterator<Item = &'e [u8]> + 'q
    where
        'e: 'q,
    {
        self.scan(name)
    }

    /// [`FieldsRef::values`], comparing `name` with every field's.
    fn scan<'q>(self, name: &'q str) -> Values<'e, 'q> {
        let hash = self.fields.query_hash(name.as_bytes());
        Values {
            view: self,
            kind: ValuesKind::Scan(self.fields.entries.iter(), name.as_bytes(), hash),
        }
    }

    /// Every field, in line order.
    pub fn iter(self) -> impl Iterator<Item = Field<'e>> {
        self.fields.entries.iter().map(move |entry| Field {
            name: &self.fields.names[range(&entry.name)],
            attribute_dot: entry.attribute_dot.map(|d| d as usize),
            value: self.value(entry),
        })
    }

    /// How many fields the event has.
    pub fn len(self) -> usize {
        self.fields.entries.len()
    }

    /// Whether the event has no fields.
    pub fn is_empty(self) -> bool {
        self.fields.entries.is_empty()
    }

    fn value(self, entry: &Entry) -> &'e [u8] {
        match &entry.value {
            Slot::Line(r) => &self.line[range(r)],
            Slot::Decoded(r) => &self.fields.decoded[range(r)],
        }
    }
}

/// The format a line's first bytes announce (see the module docs).
pub fn sniff(line: &[u8]) -> Format {
    let line = strip_bom(line);
    let rest = &line[skip_blanks(line, 0)..];
    match rest.first() {
        Some(b'{') => Format::Json,
        Some(b'<') if rest.starts_with(b"<Event") || rest.starts_with(b"<?xml") => Format::Xml,
        _ => Format::KeyValue,
    }
}

/// Decodes `line` into `scratch.fields`; returns the format found.
fn decode_line(line: &[u8], scratch: &mut Scratch) -> Format {
    let Scratch { fields, work, lookups } = scratch;
    lookups.clear();
    let bom = line.len() - strip_bom(line).len();
    let decoded = match sniff(line) {
        Format::Json => json::decode(line, bom, fields, work).then_some(Format::Json),
        Format::Xml => xml::decode(line, bom, fields, work).then_some(Format::Xml),
        _ => kv::decode(line, bom, fields).then_some(Format::KeyValue),
    };
    decoded.unwrap_or_else(|| {
        fields.clear(false);
        Format::None
    })
}

fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

/// The first offset at or after `at` that is not ASCII whitespace.
fn skip_blanks(line: &[u8], mut at: usize) -> usize {
    while line.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests;
