//! One byte range of a file (`--byte-range START:END`): how a front end
//! spreads one large file over many processes or machines (a Spark stage
//! cutting a file into splits) and still gets the output of one search.
//!
//! # Contract
//! * A range selects the lines that *start* in `[START, END)`, the
//!   convention of Hadoop's `TextInputFormat`: ranges that tile a file
//!   (`0:a`, `a:b`, ..., `z:`) select every line exactly once, wherever
//!   the cuts fall (inside a line, on its LF, on its first byte).
//! * Byte offsets (`-b`, `--json`) are offsets in the whole file.
//! * Line numbers are those of the whole file. The first line of the
//!   range is numbered `--line-number-start N` when given; otherwise
//!   sigrep counts the newlines before it, which reads the file up to
//!   START. A front end cutting a file into k ranges should not let each
//!   range count its prefix (k passes over the file): it numbers each range
//!   from 1 and adds, afterwards, the lines of the ranges before it, which
//!   the `--json` `end` record of each range gives as `lines`.
//! * What depends on the input as a whole is decided on the whole file:
//!   JSON-lines detection and the binary probe look at the file's first
//!   64 KiB whichever range is searched, so every range is searched with
//!   the program, and the binary policy, of a whole-file search.
//! * Only a plain regular file can be cut: a compressed file, an event log,
//!   standard input or another stream is a usage error. The file is always
//!   memory-mapped (`--no-mmap` does not apply).
//! * Context (`-A`, `-B`, `-C`) stays inside the range; `-m`, `-c` and `-l`
//!   count per range.

use std::fmt;
use std::str::FromStr;

/// `START:END` (or `START:` for the rest of the file): the lines starting
/// at byte offsets in `[start, end)` (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte offset.
    pub start: u64,
    /// The offset after the last, or `None` for the end of the file.
    pub end: Option<u64>,
}

impl FromStr for ByteRange {
    type Err = String;

    /// Parses `START:END` or `START:` (decimal byte offsets, END not below
    /// START).
    fn from_str(s: &str) -> Result<ByteRange, String> {
        let invalid = || format!("invalid byte range {s:?} (expected START:END or START:)");
        let (start, end) = s.split_once(':').ok_or_else(invalid)?;
        let start: u64 = start.parse().map_err(|_| invalid())?;
        let end: Option<u64> =
            if end.is_empty() { None } else { Some(end.parse().map_err(|_| invalid())?) };
        if end.is_some_and(|end| end < start) {
            return Err(format!("invalid byte range {s:?}: END is before START"));
        }
        Ok(ByteRange { start, end })
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(end) => write!(f, "{}:{end}", self.start),
            None => write!(f, "{}:", self.start),
        }
    }
}

impl ByteRange {
    /// The bytes `[from, to)` of `hay` holding exactly the lines that start
    /// in the range: `from` and `to` are line starts (or the end).
    pub fn lines_in(self, hay: &[u8]) -> (usize, usize) {
        let len = hay.len();
        let clamp = |at: u64| usize::try_from(at).map_or(len, |at| at.min(len));
        // The first line starting at or after `at`: `at` itself when the
        // byte before it is a LF.
        let line_start = |at: usize| {
            if at == 0 {
                0
            } else {
                memchr::memchr(b'\n', &hay[at - 1..]).map_or(len, |i| at + i)
            }
        };
        let from = line_start(clamp(self.start));
        let to = line_start(self.end.map_or(len, clamp));
        (from, to.max(from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_start_end_and_open_end() {
        assert_eq!("0:10".parse(), Ok(ByteRange { start: 0, end: Some(10) }));
        assert_eq!("7:".parse(), Ok(ByteRange { start: 7, end: None }));
        assert_eq!("5:5".parse::<ByteRange>().unwrap().to_string(), "5:5");
        for bad in ["", "5", ":5", "a:b", "-1:3", "9:3", "1:2:3"] {
            assert!(bad.parse::<ByteRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn cuts_on_every_kind_of_byte() {
        let hay = b"ab\ncd\n\nef";
        let span = |s, e| ByteRange { start: s, end: e }.lines_in(hay);
        assert_eq!(span(0, Some(1)), (0, 3));
        assert_eq!(span(1, Some(3)), (3, 3));
        assert_eq!(span(3, Some(4)), (3, 6));
        assert_eq!(span(2, Some(7)), (3, 7));
        assert_eq!(span(6, None), (6, 9));
        assert_eq!(span(7, Some(100)), (7, 9));
        assert_eq!(span(8, None), (9, 9));
        assert_eq!(span(100, None), (9, 9));
    }

    proptest! {
        /// Ranges that tile the input hold every byte once, cut at line
        /// starts: together, the lines of the whole input in order.
        #[test]
        fn tiling_ranges_hold_every_line_once(
            hay in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'x')], 0..64),
            mut cuts in proptest::collection::vec(0u64..70, 0..6),
        ) {
            cuts.sort_unstable();
            let mut bounds = vec![0];
            bounds.extend(cuts);
            let mut spans = Vec::new();
            for (i, &start) in bounds.iter().enumerate() {
                let end = bounds.get(i + 1).copied();
                spans.push(ByteRange { start, end }.lines_in(&hay));
            }
            let mut at = 0;
            for (from, to) in spans {
                prop_assert!(from == at || from == to, "{from} {to} after {at}");
                prop_assert!(from == 0 || from == hay.len() || hay[from - 1] == b'\n');
                at = at.max(to);
            }
            prop_assert_eq!(at, hay.len());
        }
    }
}
