//! A scanner for thousands of literals at once: every occurrence of every
//! pattern, ASCII case folded, found through one four-byte window of each.
//!
//! # Why not the automaton
//!
//! An Aho-Corasick automaton over the 7,300 patterns of one logsource's
//! rules (130 KB of pattern bytes) has some 100,000 states: its NFA follows
//! failure links through memory that does not fit the cache, and its DFA
//! (41 MB) costs as much to build as it saves. Most bytes of a log line
//! begin no pattern at all, and the work per byte should say so quickly.
//!
//! # How
//!
//! Each pattern of four bytes or more is represented by one of its
//! four-byte windows, the one the fewest other patterns share (a window
//! in many patterns, `.exe` or `\win`, is common in lines too). At each
//! position of the line, the four bytes there, ASCII-folded, are hashed
//! into a bitset of a few tens of kilobytes that stays in the first-level
//! cache; only where a bit is set is the window looked up (a bucket of
//! entries, each holding its window, its pattern and where the window
//! lies in it), and each pattern of that window compared with the line
//! around it. Patterns of two and three bytes have windows of their own
//! length, in tables of their own, tested only where the line's next two
//! bytes begin one of them; patterns of one byte are found by memchr.
//!
//! Every occurrence of a pattern contains its window at one position, so
//! every occurrence is reported, once. Occurrences are reported in the
//! order of their windows' positions, not of their ends: a caller that
//! needs end order sorts them.
//!
//! # Cost
//!
//! Per position of a line: one bitset test. Per hit: the entries of one
//! bucket, each compared over at most its pattern's length. That bounds
//! the work per byte by the rule set, never by the line: a line cannot
//! make a window hit more often than at every position, and a window
//! stands for few patterns (at most 13 of the 7,300 of SigmaHQ's process
//! creation rules, the longest 170 bytes). A pattern handled once per line
//! is not compared again ([`Visitor::wanted`]). Measured on Windows
//! events, against the contiguous NFA of the same 7,300 patterns: 340
//! against 175 MB/s for the walk alone (every occurrence found, 45 per
//! 1 KB line, 90 bitset hits).
//!
//! # Folding
//!
//! A window is folded by setting bit 5 of each byte, which maps `A`-`Z`
//! to `a`-`z` and also merges a few pairs of other bytes (`\` and `|`):
//! merged windows only cost a comparison, since a pattern is compared
//! with the line under ASCII case folding proper (letters only), the
//! Aho-Corasick crate's `ascii_case_insensitive`.

use std::collections::HashMap;
use std::ops::ControlFlow;

/// Bits of the largest bitset: 2^18 bits, 32 KB.
const MAX_BITS_LOG2: u32 = 18;
/// Bitset bits per distinct window, for few false hits (about 3%).
const BITS_PER_WINDOW: usize = 32;

/// A window's bytes (little-endian, up to four), ASCII-folded the cheap
/// way (see the module docs).
#[inline(always)]
fn fold(window: u32) -> u32 {
    window | 0x2020_2020
}

/// The folded key of the `len`-byte window at the start of `bytes`.
fn key_of(bytes: &[u8], len: usize) -> u32 {
    let mut buf = [0u8; 4];
    buf[..len].copy_from_slice(&bytes[..len]);
    fold(u32::from_le_bytes(buf)) & mask(len)
}

fn mask(len: usize) -> u32 {
    if len >= 4 {
        u32::MAX
    } else {
        (1u32 << (8 * len)) - 1
    }
}

/// The four-byte windows of `pattern` (at least four bytes long): (offset,
/// key).
fn windows_of(pattern: &[u8]) -> impl Iterator<Item = (usize, u32)> + '_ {
    (0..=pattern.len() - 4).map(move |o| (o, key_of(&pattern[o..], 4)))
}

/// The byte of a one-byte pattern.
fn arena_byte(arena: &[u8], e: &Entry) -> u8 {
    arena[e.from as usize]
}

/// A pattern a window stands for: the window's key, the pattern, where
/// the window lies in it, and where its bytes are in the arena. Entries
/// of one bucket lie together, so a hit reads one run of memory.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u32,
    pattern: u32,
    offset: u32,
    from: u32,
    len: u32,
}

/// The windows of one length.
#[derive(Debug)]
struct Table {
    len: usize,
    mask: u32,
    /// One bit per hash of a window: clear means no window hashes there.
    bits: Vec<u64>,
    bits_shift: u32,
    /// Entry `starts[b]..starts[b + 1]` are those of bucket `b`.
    starts: Vec<u32>,
    buckets_shift: u32,
    entries: Vec<Entry>,
}

impl Table {
    /// The table of `entries` (their windows of `len` bytes).
    fn new(len: usize, mut entries: Vec<Entry>) -> Table {
        let mut keys: Vec<u32> = entries.iter().map(|e| e.key).collect();
        keys.sort_unstable();
        keys.dedup();
        let bits_log2 = (keys.len() * BITS_PER_WINDOW)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(6, MAX_BITS_LOG2);
        let buckets_log2 = keys.len().next_power_of_two().trailing_zeros().max(1);
        let mut table = Table {
            len,
            mask: mask(len),
            bits: vec![0; 1 << (bits_log2 - 6)],
            bits_shift: 32 - bits_log2,
            starts: vec![0; (1 << buckets_log2) + 1],
            buckets_shift: 32 - buckets_log2,
            entries: Vec::new(),
        };
        for &key in &keys {
            let bit = table.bit(key);
            table.bits[bit >> 6] |= 1 << (bit & 63);
        }
        entries.sort_by_key(|e| (table.bucket(e.key), e.key, e.pattern));
        for e in &entries {
            let b = table.bucket(e.key);
            table.starts[b + 1] += 1;
        }
        for b in 1..table.starts.len() {
            table.starts[b] += table.starts[b - 1];
        }
        table.entries = entries;
        table
    }

    #[inline(always)]
    fn bit(&self, key: u32) -> usize {
        (key.wrapping_mul(0x9E37_79B1) >> self.bits_shift) as usize
    }

    #[inline(always)]
    fn bucket(&self, key: u32) -> usize {
        (key.wrapping_mul(0x85EB_CA6B) >> self.buckets_shift) as usize
    }

    /// False when no window of this table is `key` (true may be a false
    /// hit).
    #[inline(always)]
    fn may_hold(&self, key: u32) -> bool {
        let bit = self.bit(key);
        self.bits[bit >> 6] & (1 << (bit & 63)) != 0
    }

    /// The entries of `key`'s bucket (some may have other keys).
    #[inline]
    fn bucket_entries(&self, key: u32) -> &[Entry] {
        let b = self.bucket(key);
        &self.entries[self.starts[b] as usize..self.starts[b + 1] as usize]
    }

    fn memory_usage(&self) -> usize {
        self.bits.len() * 8
            + self.starts.len() * 4
            + self.entries.len() * std::mem::size_of::<Entry>()
    }
}

/// What a scan tells of the occurrences it finds.
pub(crate) trait Visitor {
    /// Whether occurrences of `pattern` are still wanted: asked before the
    /// pattern is compared with the line.
    fn wanted(&mut self, pattern: usize) -> bool;
    /// `pattern` occurs at `start..end`; `Break` ends the scan.
    fn found(&mut self, pattern: usize, start: usize, end: usize) -> ControlFlow<()>;
}

/// The scanner (immutable, shared).
#[derive(Debug)]
pub(crate) struct GramScanner {
    /// The windows of patterns of four bytes or more.
    long: Option<Table>,
    /// The windows of patterns of two and three bytes, one table per
    /// length present.
    short: Vec<Table>,
    /// One bit per folded two-byte prefix of those patterns: the short
    /// tables are tested only where the line's two bytes have one (most
    /// positions of a line start no short pattern).
    short_gate: Vec<u64>,
    /// Patterns of one byte: (the byte, its other case, the pattern),
    /// found by memchr.
    singles: Vec<(u8, u8, u32)>,
    /// Each pattern's bytes, one after another.
    arena: Vec<u8>,
}

impl GramScanner {
    /// The scanner of `patterns` (each non-empty). Pattern ids are indexes
    /// into `patterns`.
    pub(crate) fn new(patterns: &[Vec<u8>]) -> GramScanner {
        assert!(patterns.iter().all(|p| !p.is_empty()), "patterns are non-empty");
        // How many patterns hold each four-byte window.
        let mut shared: HashMap<u32, u32> = HashMap::new();
        for p in patterns.iter().filter(|p| p.len() >= 4) {
            let mut keys: Vec<u32> = windows_of(p).map(|(_, key)| key).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                *shared.entry(key).or_default() += 1;
            }
        }
        let mut by_len: [Vec<Entry>; 5] = Default::default();
        let mut arena = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let from = arena.len() as u32;
            arena.extend_from_slice(p);
            let (len, offset, key) = if p.len() >= 4 {
                let (offset, key) = windows_of(p)
                    .min_by_key(|&(o, key)| (shared[&key], o))
                    .expect("a pattern of four bytes has a window");
                (4, offset, key)
            } else {
                (p.len(), 0, key_of(p, p.len()))
            };
            by_len[len].push(Entry {
                key,
                pattern: i as u32,
                offset: offset as u32,
                from,
                len: p.len() as u32,
            });
        }
        let [_, one, two, three, four] = by_len;
        let long = (!four.is_empty()).then(|| Table::new(4, four));
        let mut short_gate = vec![0u64; 1 << 10];
        for e in two.iter().chain(&three) {
            let prefix = (e.key & 0xFFFF) as usize;
            short_gate[prefix >> 6] |= 1 << (prefix & 63);
        }
        let short = [(2, two), (3, three)]
            .into_iter()
            .filter(|(_, entries)| !entries.is_empty())
            .map(|(len, entries)| Table::new(len, entries))
            .collect();
        let singles = one
            .iter()
            .map(|e| {
                let b = self::arena_byte(&arena, e);
                let other = if b.is_ascii_lowercase() {
                    b.to_ascii_uppercase()
                } else {
                    b.to_ascii_lowercase()
                };
                (b, other, e.pattern)
            })
            .collect();
        GramScanner { long, short, short_gate, singles, arena }
    }

    /// Bytes used by the scanner's tables and patterns.
    pub(crate) fn memory_usage(&self) -> usize {
        self.long.iter().chain(&self.short).map(Table::memory_usage).sum::<usize>()
            + self.short_gate.len() * 8
            + self.singles.len() * 8
            + self.arena.len()
    }

    /// Tells `visitor` of every occurrence in `hay` of every pattern it
    /// wants, in the order of their windows' positions (not of their
    /// ends); stops when it breaks.
    #[inline]
    pub(crate) fn for_each_occurrence(
        &self,
        hay: &[u8],
        visitor: &mut impl Visitor,
    ) -> ControlFlow<()> {
        for &(byte, other, pattern) in &self.singles {
            let pattern = pattern as usize;
            for at in memchr::memchr2_iter(byte, other, hay) {
                if !visitor.wanted(pattern) {
                    break;
                }
                visitor.found(pattern, at, at + 1)?;
            }
        }
        let mut at = 0;
        if hay.len() >= 4 {
            while at <= hay.len() - 4 {
                let window =
                    fold(u32::from_le_bytes([hay[at], hay[at + 1], hay[at + 2], hay[at + 3]]));
                if let Some(long) = &self.long {
                    if long.may_hold(window) {
                        self.verify(long, window, at, hay, visitor)?;
                    }
                }
                let prefix = (window & 0xFFFF) as usize;
                if self.short_gate[prefix >> 6] & (1 << (prefix & 63)) != 0 {
                    for short in &self.short {
                        let key = window & short.mask;
                        if short.may_hold(key) {
                            self.verify(short, key, at, hay, visitor)?;
                        }
                    }
                }
                at += 1;
            }
        }
        // The last three positions: only shorter windows fit.
        while at < hay.len() {
            let key = key_of(&hay[at..], hay.len() - at);
            for short in self.short.iter().filter(|t| at + t.len <= hay.len()) {
                let key = key & short.mask;
                if short.may_hold(key) {
                    self.verify(short, key, at, hay, visitor)?;
                }
            }
            at += 1;
        }
        ControlFlow::Continue(())
    }

    /// Compares each pattern of window `key`, found at `at`, with `hay`.
    #[inline]
    fn verify(
        &self,
        table: &Table,
        key: u32,
        at: usize,
        hay: &[u8],
        visitor: &mut impl Visitor,
    ) -> ControlFlow<()> {
        for entry in table.bucket_entries(key) {
            if entry.key != key || !visitor.wanted(entry.pattern as usize) {
                continue;
            }
            let Some(start) = at.checked_sub(entry.offset as usize) else { continue };
            let end = start + entry.len as usize;
            let pattern = &self.arena[entry.from as usize..(entry.from + entry.len) as usize];
            if end <= hay.len() && hay[start..end].eq_ignore_ascii_case(pattern) {
                visitor.found(entry.pattern as usize, start, end)?;
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::{AhoCorasick, MatchKind};
    use proptest::prelude::*;

    /// Every occurrence wanted, each given to a closure.
    struct Each<F>(F);

    impl<F: FnMut(usize, usize, usize) -> ControlFlow<()>> Visitor for Each<F> {
        fn wanted(&mut self, _: usize) -> bool {
            true
        }

        fn found(&mut self, pattern: usize, start: usize, end: usize) -> ControlFlow<()> {
            (self.0)(pattern, start, end)
        }
    }

    /// Occurrences: (pattern, start, end).
    type Occurrences = Vec<(usize, usize, usize)>;

    /// Every occurrence, sorted, by the scanner and by the Aho-Corasick
    /// crate (its slow twin here).
    fn both(patterns: &[Vec<u8>], hay: &[u8]) -> (Occurrences, Occurrences) {
        let mut got = Vec::new();
        let _ = GramScanner::new(patterns).for_each_occurrence(
            hay,
            &mut Each(|p, s, e| {
                got.push((p, s, e));
                ControlFlow::Continue(())
            }),
        );
        got.sort_unstable();
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(patterns)
            .unwrap();
        let mut want: Vec<_> = ac
            .find_overlapping_iter(hay)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect();
        want.sort_unstable();
        (got, want)
    }

    #[test]
    fn finds_every_occurrence_of_every_length() {
        let patterns: Vec<Vec<u8>> =
            ["a", "Ab", "abc", "abcd", "BCDE", "\\cmd.exe", "|cmd", "cmd.exe", "e"]
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect();
        for hay in [
            &b"xabcdex"[..],
            b"C:\\Windows\\CMD.EXE /c abcd",
            b"|cmd.exe",
            b"ab",
            b"a",
            b"",
            b"abcdabcdABCDE",
        ] {
            let (got, want) = both(&patterns, hay);
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(hay));
        }
    }

    #[test]
    fn stops_when_told() {
        let scanner = GramScanner::new(&[b"ab".to_vec(), b"abcd".to_vec()]);
        let mut seen = 0;
        let flow = scanner.for_each_occurrence(
            b"abcd abcd",
            &mut Each(|_, _, _| {
                seen += 1;
                ControlFlow::Break(())
            }),
        );
        assert_eq!((flow, seen), (ControlFlow::Break(()), 1));
    }

    proptest! {
        /// Small alphabets (letters of both cases, the bytes bit 5 merges
        /// with others, a high byte) so that patterns overlap and recur.
        #[test]
        fn equals_aho_corasick(
            patterns in prop::collection::vec(
                prop::collection::vec(prop::sample::select(&b"aAbB\\|@`01\xE2"[..]), 1..7),
                1..40,
            ),
            hay in prop::collection::vec(prop::sample::select(&b"aAbB\\|@`01\xE2 "[..]), 0..80),
        ) {
            let (got, want) = both(&patterns, &hay);
            prop_assert_eq!(got, want);
        }
    }
}
