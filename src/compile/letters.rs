//! A line read with its ASCII case partners as their letters.
//!
//! Unicode simple case folding pairs two non-ASCII characters with ASCII
//! letters ([`ASCII_PARTNERS`]: KELVIN SIGN with `k`, LONG S with `s`).
//! The automaton and the checkers fold ASCII case only, and their folded
//! patterns spell those characters as their letters; on a line that holds
//! one, they read a copy of the line in which each is replaced by its
//! letter. The copy is shorter than the line (3 and 2 bytes become 1), so
//! it keeps where each replacement happened, and [`LetterLine::line_offset`]
//! maps an offset in the copy back to the line: every offset a caller
//! reports or compares (a piece's start and end, `?` counts at the edges)
//! is an offset in the line.
//!
//! Cost: one pass over the part of the line that is copied, with memchr
//! finding the partners' first bytes (0xE2, 0xC5), and one binary search
//! per offset mapped; nothing per line when no partner occurs, since
//! callers only make a copy once they know one does.

use memchr::memchr2;

use crate::lower::atom::ASCII_PARTNERS;

/// The first partner of an ASCII letter in `line` at or after `from`:
/// (its offset, its length in bytes, its letter).
pub(crate) fn next_partner(line: &[u8], from: usize) -> Option<(usize, usize, u8)> {
    let mut at = from;
    while let Some(i) = memchr2(0xE2, 0xC5, &line[at..]) {
        let start = at + i;
        let mut buf = [0; 4];
        let partner = ASCII_PARTNERS.iter().find_map(|&(c, letter)| {
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            line[start..].starts_with(bytes).then_some((start, bytes.len(), letter))
        });
        if partner.is_some() {
            return partner;
        }
        at = start + 1;
    }
    None
}

/// The copy of (the tail of) one line, reused from line to line.
#[derive(Debug, Default)]
pub(crate) struct LetterLine {
    /// The line from `from` on, each partner replaced by its letter.
    bytes: Vec<u8>,
    /// Where in the line the copy starts.
    from: usize,
    /// For each replacement, in order: the offset of its letter in `bytes`
    /// and how many bytes shorter the copy is from there on than the line.
    shrinks: Vec<(usize, usize)>,
}

impl LetterLine {
    /// Copies `line[from..]`, each partner as its letter; `lowercase` also
    /// lowercases ASCII letters. Returns the copy.
    pub(crate) fn fill(&mut self, line: &[u8], from: usize, lowercase: bool) -> &[u8] {
        self.bytes.clear();
        self.shrinks.clear();
        self.from = from;
        let copy = |out: &mut Vec<u8>, run: &[u8]| {
            if lowercase {
                out.extend(run.iter().map(u8::to_ascii_lowercase));
            } else {
                out.extend_from_slice(run);
            }
        };
        let mut shrink = 0;
        let mut at = from;
        while let Some((start, len, letter)) = next_partner(line, at) {
            copy(&mut self.bytes, &line[at..start]);
            self.bytes.push(letter);
            shrink += len - 1;
            self.shrinks.push((self.bytes.len() - 1, shrink));
            at = start + len;
        }
        copy(&mut self.bytes, &line[at..]);
        &self.bytes
    }

    /// The copy made by the last [`LetterLine::fill`].
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True when the last fill replaced at least one partner.
    pub(crate) fn replaced_any(&self) -> bool {
        !self.shrinks.is_empty()
    }

    /// The offset in the line of offset `j` of the copy (`j` may be the
    /// copy's length: the line's end).
    pub(crate) fn line_offset(&self, j: usize) -> usize {
        // Replacements whose letter comes before `j` shift it.
        let n = self.shrinks.partition_point(|&(at, _)| at < j);
        let shrink = if n == 0 { 0 } else { self.shrinks[n - 1].1 };
        self.from + j + shrink
    }

    /// The first offset of the copy whose line offset is `line_at` or
    /// more (the copy's length when there is none).
    pub(crate) fn at_or_after(&self, line_at: usize) -> usize {
        let (mut lo, mut hi) = (0, self.bytes.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.line_offset(mid) < line_at {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_back_to_the_line() {
        let line = "a\u{212A}b\u{17F}\u{2019}C".as_bytes();
        let mut copy = LetterLine::default();
        assert_eq!(copy.fill(line, 0, true), "akbs\u{2019}c".as_bytes());
        assert!(copy.replaced_any());
        // a K(3) b s(2) ’(3) C
        let want = [0, 1, 4, 5, 7, 8, 9, 10, 11];
        for (j, &w) in want.iter().enumerate() {
            assert_eq!(copy.line_offset(j), w, "offset {j}");
        }
        assert_eq!(copy.at_or_after(2), 2);
        assert_eq!(copy.at_or_after(4), 2);
        assert_eq!(copy.at_or_after(12), copy.bytes().len());
        // From the middle, cased.
        assert_eq!(copy.fill(line, 4, false), "bs\u{2019}C".as_bytes());
        assert_eq!(copy.line_offset(0), 4);
        assert_eq!(copy.line_offset(2), 7);
        copy.fill(b"plain", 0, false);
        assert!(!copy.replaced_any());
    }
}
