//! Searching inputs line by line: selected lines, context, binary files.
//!
//! A [`Searcher`] runs a [`Program`] over one input at a time and reports
//! to a [`Sink`]: selected lines, context lines, breaks between context
//! groups, and "binary file matches". The same block routine serves the
//! memory-mapped path (one block: the whole file) and the read path
//! (blocks of whole lines, with the last `before` lines kept for context),
//! so the two give identical output; tests compare them.
//!
//! # Lines
//! Lines end at LF. A CR before the LF is part of the line. A last line
//! without LF is a line. An empty input has no lines.
//!
//! # Binary inputs
//! An input is binary when its first [`BINARY_PROBE`] bytes hold a NUL, or
//! when a selected line holds one. With [`BinaryMode::Quit`] (printing
//! lines), the first selected line of a binary input is reported as
//! [`Sink::binary_match`] instead and the input ends there (lines printed
//! before stay printed), like GNU grep. Counting and listing modes search
//! binary inputs as text, as GNU grep does.
//!
//! # Hostile inputs
//! No line is ever dropped or split: the read path grows its buffer to
//! hold the longest line, and a mapped file is one block. A mapped file
//! truncated while searched is an error for that file, never a crash nor
//! zeros in the output (see [`mmap`]).

pub mod decode;
pub mod evtx;
mod input;
pub mod jsonl;
pub mod mmap;
pub mod walk;

use std::io::{self, Read};

pub use input::{kind, open, Kind, OpenOptions, Opened, SearchInput};
pub use mmap::MappedFile;

use crate::compile::{Cache, Program, RecordEvents};

/// How many leading bytes are checked for NUL.
pub const BINARY_PROBE: usize = 64 * 1024;

/// Size of one read on the read path (the buffer grows for longer lines),
/// and of the blocks a mapped input is searched in: each block's newlines
/// are counted right after it is searched, while its bytes are still in
/// the processor's cache (counting a mapped file's lines afterwards read
/// it from memory a second time: `-n` took 4-5 times as long as `-c`).
pub const BLOCK: usize = 256 * 1024;

/// What to do with binary inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BinaryMode {
    /// Report "binary file matches" at the first selected line and stop.
    #[default]
    Quit,
    /// Search as text without checking (for counting and listing).
    Ignore,
    /// `-a`: search and print as text.
    Text,
}

/// Searcher options.
#[derive(Clone, Debug, Default)]
pub struct SearchConfig {
    /// `-v`: select the lines that do not match.
    pub invert: bool,
    /// `-m NUM`: stop after this many selected lines.
    pub max_count: Option<u64>,
    /// `-B NUM`: context lines before each selected line.
    pub before: usize,
    /// `-A NUM`: context lines after each selected line.
    pub after: usize,
    /// Report breaks between groups of context (GNU grep does whenever a
    /// context option is given, even `-A 0`).
    pub context_separators: bool,
    /// `-n`: compute line numbers.
    pub line_numbers: bool,
    /// Binary input policy.
    pub binary: BinaryMode,
    /// Report for each selected line which rules select it.
    pub attribute_rules: bool,
    /// Block size in bytes; `None` is [`BLOCK`]. Tests make it small so
    /// that block boundaries fall everywhere.
    pub block_size: Option<usize>,
}

/// One line handed to a sink.
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// 1-based line number, when line numbers are on.
    pub number: Option<u64>,
    /// Byte offset of the line's start in the input.
    pub offset: u64,
    /// The line without its LF.
    pub bytes: &'a [u8],
    /// Rules (indices) that select the line, when attribution is on and
    /// the line is selected (empty otherwise).
    pub rules: &'a [u32],
}

/// Receives what a search finds.
pub trait Sink {
    /// A selected line.
    fn selected(&mut self, line: &Line<'_>) -> io::Result<()>;
    /// A context line.
    fn context(&mut self, line: &Line<'_>) -> io::Result<()>;
    /// A new group of context starts that is not adjacent to the previous
    /// group printed from this input (or it is this input's first group).
    fn context_break(&mut self) -> io::Result<()>;
    /// A binary input has a selected line; nothing more comes from it.
    fn binary_match(&mut self) -> io::Result<()>;
}

/// What a search of one input found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Selected lines (also those not printed because the input is binary
    /// or `-m` stopped the search: only up to the first such one).
    pub selected: u64,
    /// True when the input was reported as a binary match.
    pub binary_match: bool,
    /// With a byte range (`--byte-range`): how many lines start in it, so
    /// that a front end searching a file range by range can number the
    /// next range's lines.
    pub lines: Option<u64>,
}

/// Searches inputs with one program. One per thread.
#[derive(Debug)]
pub struct Searcher<'p> {
    program: &'p Program,
    cache: Cache,
    config: SearchConfig,
    rules: Vec<u32>,
}

/// Per-input progress. Offsets are absolute (from the input's start).
#[derive(Debug, Default)]
struct State {
    summary: Summary,
    /// Absolute offset of the first byte not yet printed (lines before it
    /// were printed as selected or context lines).
    printed_upto: u64,
    /// True once any line of this input was printed.
    printed_any: bool,
    /// After-context lines still to print.
    pending_after: usize,
    /// Number of the line at `printed_upto`, valid while after-context
    /// is pending.
    next_number: u64,
    /// Line counting: the line starting at `count_pos` has number
    /// `count_line`.
    count_pos: u64,
    count_line: u64,
    /// The input had a NUL in its first bytes.
    binary: bool,
    /// No more lines are selected (max count, binary match).
    done: bool,
}

/// Number of LF bytes.
pub fn count_newlines(bytes: &[u8]) -> u64 {
    // bytecount counts 32 bytes a step with AVX2 (chosen at run time),
    // without stopping at each LF as memchr's iterator does: on 100-byte
    // syslog lines that iterator cost a call per line.
    bytecount::count(bytes, b'\n') as u64
}

impl<'p> Searcher<'p> {
    /// A searcher for the program.
    pub fn new(program: &'p Program, config: SearchConfig) -> Searcher<'p> {
        Searcher { program, cache: program.create_cache(), config, rules: Vec::new() }
    }

    /// Searches an input opened by [`open`].
    ///
    /// # Errors
    /// Read errors, and errors the sink returns (writing output).
    pub fn search(&mut self, input: &mut SearchInput, sink: &mut dyn Sink) -> io::Result<Summary> {
        match input {
            SearchInput::Mapped(map) => self.search_mapped(map, sink),
            SearchInput::Reader(r) => self.search_reader(r.as_mut(), sink),
            SearchInput::Records(records) => {
                // Sigma semantics: the records' own fields (kept when the
                // input was opened for it) stand for their lines'.
                let fields = std::mem::take(&mut records.fields);
                let events = if fields.is_empty() {
                    None
                } else {
                    match RecordEvents::new(&records.text, fields) {
                        Ok(events) => Some(events),
                        Err(fields) => {
                            records.fields = fields;
                            None
                        }
                    }
                };
                self.program.set_records(&mut self.cache, events);
                let mut renumbered =
                    evtx::Renumber { inner: sink, record_ids: &records.record_ids };
                let summary = self.search_slice(&records.text, &mut renumbered);
                if let Some(events) = self.program.set_records(&mut self.cache, None) {
                    records.fields = events.into_fields();
                }
                summary
            }
        }
    }

    /// Searches a mapped file; fails if it shrank while searched, and
    /// then reports no line read after the fault (see [`mmap`]).
    ///
    /// # Errors
    /// The file shrank, or the sink failed.
    pub fn search_mapped(&mut self, map: &MappedFile, sink: &mut dyn Sink) -> io::Result<Summary> {
        let mut checked = CheckedSink::new(map, sink);
        let summary = self.search_slice(map, &mut checked)?;
        map.check()?;
        Ok(summary)
    }

    /// [`Searcher::search_part`] over a mapped file, checked as
    /// [`Searcher::search_mapped`] is.
    ///
    /// # Errors
    /// The file shrank, or the sink failed.
    pub fn search_mapped_part(
        &mut self,
        map: &MappedFile,
        start: usize,
        end: usize,
        first_line: u64,
        binary: bool,
        sink: &mut dyn Sink,
    ) -> io::Result<Summary> {
        let mut checked = CheckedSink::new(map, sink);
        let summary = self.search_part(map, start, end, first_line, binary, &mut checked)?;
        map.check()?;
        Ok(summary)
    }

    /// Searches a whole input held in memory.
    ///
    /// # Errors
    /// Errors the sink returns.
    pub fn search_slice(&mut self, haystack: &[u8], sink: &mut dyn Sink) -> io::Result<Summary> {
        let mut st = self.start(haystack);
        self.blocks(&mut st, haystack, 0, sink)?;
        Ok(st.summary)
    }

    /// Searches the lines of `haystack[start..end]` as one part of a whole
    /// input that is split across threads: `start` and `end` are line
    /// starts (or the end), offsets stay those of the whole input, and the
    /// first line is numbered `first_line`. `binary` is the whole input's
    /// probe verdict. Context is not supported across parts: callers split
    /// only without `-A`/`-B`/`-C`.
    ///
    /// # Errors
    /// Errors the sink returns.
    pub fn search_part(
        &mut self,
        haystack: &[u8],
        start: usize,
        end: usize,
        first_line: u64,
        binary: bool,
        sink: &mut dyn Sink,
    ) -> io::Result<Summary> {
        let mut st = State {
            binary: binary && self.config.binary != BinaryMode::Text,
            done: self.config.max_count == Some(0),
            count_pos: start as u64,
            count_line: first_line,
            printed_upto: start as u64,
            ..State::default()
        };
        self.blocks(&mut st, &haystack[..end], start, sink)?;
        Ok(st.summary)
    }

    /// The block size in force (see [`SearchConfig::block_size`]).
    fn block_size(&self) -> usize {
        self.config.block_size.unwrap_or(BLOCK).max(1)
    }

    /// Searches `haystack[from..]`, held in memory, in blocks of whole
    /// lines of about [`BLOCK`] bytes, so that line numbers are counted
    /// block by block while the block is in cache (see [`BLOCK`]).
    fn blocks(
        &mut self,
        st: &mut State,
        haystack: &[u8],
        from: usize,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let size = self.block_size();
        let mut start = from;
        while start < haystack.len() && !(st.done && st.pending_after == 0) {
            let cut = start.saturating_add(size);
            let end = match haystack.get(cut..) {
                Some(rest) => memchr::memchr(b'\n', rest).map_or(haystack.len(), |i| cut + i + 1),
                None => haystack.len(),
            };
            if st.done {
                // After-context of the last selected line (-m).
                self.flush_after(st, &haystack[..end], 0, end, sink)?;
            } else {
                self.block(st, &haystack[..end], 0, start, sink)?;
            }
            start = end;
        }
        Ok(())
    }

    /// Searches a reader in chunks of whole lines.
    ///
    /// # Errors
    /// Read errors and errors the sink returns.
    pub fn search_reader(
        &mut self,
        reader: &mut dyn Read,
        sink: &mut dyn Sink,
    ) -> io::Result<Summary> {
        let size = self.block_size();
        let mut buf: Vec<u8> = vec![0; size.max(BINARY_PROBE)];
        let mut filled = 0;
        let mut eof = false;
        // Fill the probe before deciding whether the input is binary.
        while filled < BINARY_PROBE && !eof {
            filled += read_some(reader, &mut buf, filled, &mut eof)?;
        }
        let mut st = self.start(&buf[..filled]);
        let mut base: u64 = 0;
        let mut search_from = 0;
        loop {
            let block_end = if eof {
                filled
            } else {
                memchr::memrchr(b'\n', &buf[search_from..filled])
                    .map_or(search_from, |i| search_from + i + 1)
            };
            if block_end > search_from {
                if st.done {
                    self.flush_after(&mut st, &buf[..block_end], base, block_end, sink)?;
                } else {
                    self.block(&mut st, &buf[..block_end], base, search_from, sink)?;
                }
            }
            if eof || (st.done && st.pending_after == 0) {
                break;
            }
            // Keep the last `before` lines for context, and the partial line.
            let keep_from = self.context_start(&buf[..block_end], block_end, 0);
            buf.copy_within(keep_from..filled, 0);
            base += keep_from as u64;
            filled -= keep_from;
            search_from = block_end - keep_from;
            if buf.len() - filled < size.div_ceil(2) {
                buf.resize(buf.len().max(filled + size) * 2, 0);
            }
            // At most one block's bytes per read.
            let limit = buf.len().min(filled + size);
            filled += read_some(reader, &mut buf[..limit], filled, &mut eof)?;
        }
        Ok(st.summary)
    }

    /// True when the first bytes of an input mark it binary.
    pub fn probe_is_binary(haystack: &[u8]) -> bool {
        memchr::memchr(0, &haystack[..haystack.len().min(BINARY_PROBE)]).is_some()
    }

    fn start(&self, probe: &[u8]) -> State {
        let probe = &probe[..probe.len().min(BINARY_PROBE)];
        State {
            binary: self.config.binary != BinaryMode::Text && memchr::memchr(0, probe).is_some(),
            done: self.config.max_count == Some(0),
            count_line: 1,
            ..State::default()
        }
    }

    /// Start of the `before`-th line before `end` (the start of the line
    /// at `end` if `before` is 0), not earlier than `floor`.
    fn context_start(&self, block: &[u8], end: usize, floor: usize) -> usize {
        let mut start = end;
        for _ in 0..self.config.before {
            if start <= floor {
                break;
            }
            start =
                memchr::memrchr(b'\n', &block[floor..start - 1]).map_or(floor, |i| floor + i + 1);
        }
        start.max(floor)
    }

    /// Number of the line starting at relative offset `at`.
    fn line_number(&self, st: &mut State, block: &[u8], base: u64, at: usize) -> u64 {
        let from = (st.count_pos - base) as usize;
        st.count_line += count_newlines(&block[from..at]);
        st.count_pos = base + at as u64;
        st.count_line
    }

    /// Searches the lines of `block` from `from` on. `block` holds whole
    /// lines (the last may lack its LF only at the end of input); bytes
    /// before `from` were searched before and are kept for context.
    fn block(
        &mut self,
        st: &mut State,
        block: &[u8],
        base: u64,
        from: usize,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut pos = from;
        // With -v: the next matching line, found once and reused.
        let mut next_match: Option<(usize, usize)> = None;
        while pos < block.len() && !st.done {
            let selected = if !self.config.invert {
                if self.config.attribute_rules {
                    self.program.find_line_rules(&mut self.cache, block, pos, &mut self.rules)
                } else {
                    self.program.find_line(&mut self.cache, block, pos)
                }
            } else {
                if next_match.is_none_or(|(s, _)| s < pos) {
                    next_match = self.program.find_line(&mut self.cache, block, pos);
                }
                match next_match {
                    Some((s, e)) if s == pos => {
                        pos = e + 1;
                        continue;
                    }
                    _ => {
                        let end =
                            memchr::memchr(b'\n', &block[pos..]).map_or(block.len(), |i| pos + i);
                        Some((pos, end))
                    }
                }
            };
            let Some((s, e)) = selected else { break };
            self.selected(st, block, base, s, e, sink)?;
            pos = e + 1;
        }
        let end = block.len();
        self.flush_after(st, block, base, end, sink)?;
        if self.config.line_numbers && !st.done && st.count_pos >= base {
            // Keep counting current across blocks.
            self.line_number(st, block, base, end);
        }
        Ok(())
    }

    fn selected(
        &mut self,
        st: &mut State,
        block: &[u8],
        base: u64,
        s: usize,
        e: usize,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let line = &block[s..e];
        st.summary.selected += 1;
        if self.config.binary == BinaryMode::Quit
            && (st.binary || memchr::memchr(0, line).is_some())
        {
            st.summary.binary_match = true;
            st.done = true;
            st.pending_after = 0;
            return sink.binary_match();
        }
        self.flush_after(st, block, base, s, sink)?;
        let context = self.config.context_separators;
        let floor = st.printed_upto.saturating_sub(base).min(s as u64) as usize;
        let floor = if st.printed_upto < base { 0 } else { floor };
        let ctx_start =
            if self.config.before > 0 { self.context_start(block, s, floor) } else { s };
        let number = if self.config.line_numbers {
            Some(self.line_number(st, block, base, s))
        } else {
            None
        };
        if context && (!st.printed_any || base + (ctx_start as u64) > st.printed_upto) {
            sink.context_break()?;
        }
        // Before-context lines, numbered back from the selected line.
        let before_lines: Vec<(usize, usize)> = lines_in(block, ctx_start, s).collect();
        let k = before_lines.len() as u64;
        for (i, (ls, le)) in before_lines.into_iter().enumerate() {
            let n = number.map(|n| n - k + i as u64);
            sink.context(&Line {
                number: n,
                offset: base + ls as u64,
                bytes: &block[ls..le],
                rules: &[],
            })?;
        }
        // With attribution, `self.rules` was filled when the line was found.
        let rules = if self.config.attribute_rules { &self.rules[..] } else { &[] };
        sink.selected(&Line { number, offset: base + s as u64, bytes: line, rules })?;
        st.printed_any = true;
        st.printed_upto = base + e as u64 + 1;
        st.next_number = number.map_or(0, |n| n + 1);
        st.pending_after = self.config.after;
        if self.config.max_count.is_some_and(|m| st.summary.selected >= m) {
            st.done = true;
        }
        Ok(())
    }

    /// Prints pending after-context lines that lie before `limit`.
    fn flush_after(
        &mut self,
        st: &mut State,
        block: &[u8],
        base: u64,
        limit: usize,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        if st.pending_after == 0 || st.printed_upto < base {
            return Ok(());
        }
        let mut p = (st.printed_upto - base) as usize;
        while st.pending_after > 0 && p < limit {
            let e = memchr::memchr(b'\n', &block[p..limit]).map_or(limit, |i| p + i);
            let number = self.config.line_numbers.then_some(st.next_number);
            sink.context(&Line {
                number,
                offset: base + p as u64,
                bytes: &block[p..e],
                rules: &[],
            })?;
            st.next_number += 1;
            st.pending_after -= 1;
            p = e + 1;
            st.printed_upto = base + p as u64;
        }
        Ok(())
    }
}

/// A sink in front of another that passes on only lines read while their
/// map was whole.
///
/// Each line is first copied out of the map: if its pages vanished, the
/// copy faults, the `SIGBUS` handler flags the map, and the check after the
/// copy fails. A line that passes the check was copied from the file's
/// real bytes, whatever happens to the file afterwards.
struct CheckedSink<'a> {
    map: &'a MappedFile,
    inner: &'a mut dyn Sink,
    copy: Vec<u8>,
}

impl<'a> CheckedSink<'a> {
    fn new(map: &'a MappedFile, inner: &'a mut dyn Sink) -> CheckedSink<'a> {
        CheckedSink { map, inner, copy: Vec::new() }
    }
}

impl Sink for CheckedSink<'_> {
    fn selected(&mut self, line: &Line<'_>) -> io::Result<()> {
        self.copy.clear();
        self.copy.extend_from_slice(line.bytes);
        self.map.check()?;
        self.inner.selected(&Line { bytes: &self.copy, ..*line })
    }

    fn context(&mut self, line: &Line<'_>) -> io::Result<()> {
        self.copy.clear();
        self.copy.extend_from_slice(line.bytes);
        self.map.check()?;
        self.inner.context(&Line { bytes: &self.copy, ..*line })
    }

    fn context_break(&mut self) -> io::Result<()> {
        self.map.check()?;
        self.inner.context_break()
    }

    fn binary_match(&mut self) -> io::Result<()> {
        self.map.check()?;
        self.inner.binary_match()
    }
}

/// The lines (start, end without LF) that start in `block[from..to]`.
fn lines_in(block: &[u8], from: usize, to: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut p = from;
    std::iter::from_fn(move || {
        if p >= to {
            return None;
        }
        let e = memchr::memchr(b'\n', &block[p..]).map_or(block.len(), |i| p + i);
        let line = (p, e);
        p = e + 1;
        Some(line)
    })
}

/// One read into `buf[filled..]`, retrying on EINTR.
fn read_some(
    reader: &mut dyn Read,
    buf: &mut [u8],
    filled: usize,
    eof: &mut bool,
) -> io::Result<usize> {
    loop {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => {
                *eof = true;
                return Ok(0);
            }
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Config;
    use crate::lower::Options;
    use crate::ruleset::RuleSet;
    use std::io::Write;

    /// Collects the numbers of selected lines (0 without `-n`).
    struct Numbers(Vec<u64>);

    impl Sink for Numbers {
        fn selected(&mut self, line: &Line<'_>) -> io::Result<()> {
            self.0.push(line.number.unwrap_or(0));
            Ok(())
        }
        fn context(&mut self, _: &Line<'_>) -> io::Result<()> {
            Ok(())
        }
        fn context_break(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn binary_match(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Collects selected lines; truncates `file` to `to` bytes when the
    /// first line arrives, as `logrotate copytruncate` would mid-search.
    struct Truncating<'f> {
        file: &'f std::fs::File,
        to: u64,
        lines: Vec<Vec<u8>>,
    }

    impl Sink for Truncating<'_> {
        fn selected(&mut self, line: &Line<'_>) -> io::Result<()> {
            if self.lines.is_empty() {
                self.file.set_len(self.to)?;
            }
            self.lines.push(line.bytes.to_vec());
            Ok(())
        }
        fn context(&mut self, _: &Line<'_>) -> io::Result<()> {
            Ok(())
        }
        fn context_break(&mut self) -> io::Result<()> {
            Ok(())
        }
        fn binary_match(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn needle_program(invert: bool) -> (Program, SearchConfig) {
        let mut set = RuleSet::new(Options::default());
        set.add("r.yml", "title: t\ndetection:\n  k: ['needle']\n  condition: k\n").unwrap();
        let program = set.compile(&Config::default()).unwrap();
        (program, SearchConfig { invert, ..SearchConfig::default() })
    }

    /// A mapped file of numbered `needle` lines, 1 MiB or so.
    fn mapped_log() -> (tempfile::NamedTempFile, MappedFile) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        for i in 0..50_000 {
            writeln!(file, "needle line {i:08}").unwrap();
        }
        file.flush().unwrap();
        let Ok(Opened::Input(SearchInput::Mapped(map))) =
            open(file.path(), &OpenOptions::default())
        else {
            panic!("not mapped")
        };
        (file, map)
    }

    /// Every line handed on is a real line of the file, in order.
    fn assert_real_lines(lines: &[Vec<u8>]) {
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line, format!("needle line {i:08}").as_bytes());
        }
    }

    #[test]
    fn file_truncated_while_mapped_is_an_error_without_zeros() {
        for to in [0, 4096 * 3] {
            let (program, config) = needle_program(false);
            let (file, map) = mapped_log();
            let mut sink = Truncating { file: file.as_file(), to, lines: Vec::new() };
            let err = Searcher::new(&program, config).search_mapped(&map, &mut sink).unwrap_err();
            assert_eq!(err.to_string(), mmap::SHRANK_MESSAGE);
            assert!(map.shrank());
            assert!(!sink.lines.is_empty() && sink.lines.len() < 50_000);
            assert_real_lines(&sink.lines);
        }
        // With -v the zeros form a line without the needle: it must not be
        // handed on.
        let (program, config) = needle_program(true);
        let (file, map) = mapped_log();
        file.as_file().set_len(0).unwrap();
        let mut sink = Truncating { file: file.as_file(), to: 0, lines: Vec::new() };
        let err = Searcher::new(&program, config).search_mapped(&map, &mut sink).unwrap_err();
        assert_eq!(err.to_string(), mmap::SHRANK_MESSAGE);
        assert!(sink.lines.is_empty());
    }

    #[test]
    fn part_of_a_file_truncated_while_mapped_is_an_error() {
        let (program, config) = needle_program(false);
        let (file, map) = mapped_log();
        let mut sink = Truncating { file: file.as_file(), to: 0, lines: Vec::new() };
        let mut searcher = Searcher::new(&program, config);
        let err = searcher.search_mapped_part(&map, 0, map.len() / 2, 1, false, &mut sink);
        assert_eq!(err.unwrap_err().to_string(), mmap::SHRANK_MESSAGE);
        assert_real_lines(&sink.lines);
    }

    #[test]
    fn count_of_a_truncated_file_is_an_error() {
        // Nothing is printed while counting; the check at the end fails.
        let (program, config) = needle_program(false);
        let (file, map) = mapped_log();
        file.as_file().set_len(0).unwrap();
        let err = Searcher::new(&program, config).search_mapped(&map, &mut Numbers(Vec::new()));
        assert_eq!(err.unwrap_err().to_string(), mmap::SHRANK_MESSAGE);
    }

    /// In Sigma semantics a record's line is confirmed on the record's
    /// fields, not on what its line says: here the line claims
    /// `Image=a.exe` and mentions `b.exe` elsewhere, while the record's
    /// Image is `b.exe`. Grep semantics, and the same text as a plain
    /// input, read the line.
    #[test]
    fn records_are_confirmed_on_their_own_fields() {
        use crate::event::RecordFields;
        use crate::lower::Semantics;
        let rule = "title: b\ndetection:\n  sel:\n    Image|endswith: 'b.exe'\n  condition: sel\n";
        let record = |image: &str| {
            let json = format!(r#"{{"Event":{{"EventData":{{"Image":"{image}"}}}}}}"#);
            RecordFields::from_value(&serde_json::from_str(&json).unwrap())
        };
        let text = b"Image=a.exe Note=b.exe\nImage=a.exe Note=b.exe\nImage=b.exe Note=x\n";
        let selected = |semantics: Semantics, input: &mut SearchInput| {
            let mut set = RuleSet::new(Options { semantics, ..Options::default() });
            set.add("b.yml", rule).unwrap();
            let program = set.compile(&Config::default()).unwrap();
            let config = SearchConfig { line_numbers: true, ..SearchConfig::default() };
            let mut sink = Numbers(Vec::new());
            Searcher::new(&program, config).search(input, &mut sink).unwrap();
            sink.0
        };
        let records = || {
            SearchInput::Records(evtx::Rendered {
                text: text.to_vec(),
                record_ids: vec![7, 8, 9],
                fields: vec![record("x/b.exe"), record("a.exe"), record("b.exe")],
                damage: None,
            })
        };
        let mut input = records();
        assert_eq!(selected(Semantics::Sigma, &mut input), [7, 9]);
        // The fields are given back to the input after the search.
        let SearchInput::Records(rendered) = &input else { unreachable!() };
        assert_eq!(rendered.fields.len(), 3);
        assert_eq!(selected(Semantics::Grep, &mut records()), [7, 8, 9]);
        let mut plain = SearchInput::Reader(Box::new(&text[..]));
        assert_eq!(selected(Semantics::Sigma, &mut plain), [3]);
    }
}
