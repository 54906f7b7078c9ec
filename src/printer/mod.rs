//! grep-compatible output.
//!
//! Shapes, as GNU grep 3.8 prints them:
//!
//! * lines: `[NAME SEP][NUMBER SEP][OFFSET SEP]LINE\n`, `SEP` is `:` for
//!   selected lines and `-` for context lines; `-Z` puts a NUL after NAME
//!   instead; groups of context are separated by `--`;
//! * `-c`: `[NAME:]COUNT`; `-l` / `-L`: `NAME\n` (`NAME\0` with `-Z`);
//! * a last line without LF is printed with one;
//! * colour (GREP_COLORS defaults): name 35, numbers 32, separators 36,
//!   matched text 01;31, each as `ESC[..m ESC[K ... ESC[m ESC[K`.
//!
//! A [`FilePrinter`] prints one input into any writer; messages for stderr
//! ("binary file matches") are collected so a caller printing inputs in
//! parallel can emit them in order.

pub mod json;

use std::io::{self, Write};
use std::sync::Arc;

use regex::bytes::Regex;

use crate::compile::Program;
use crate::lower::{AtomKind, Piece};
use crate::ruleset::LoadedRule;
use crate::search::{Line, Sink, Summary};

/// What is printed for each input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputMode {
    /// Selected lines (and context).
    #[default]
    Lines,
    /// `-c`: the number of selected lines.
    Count,
    /// `-l`: names of inputs with a selected line.
    FilesWithMatches,
    /// `-L`: names of inputs without one.
    FilesWithoutMatch,
    /// `-q`: nothing.
    Quiet,
}

/// Printer options, shared by all inputs.
#[derive(Clone, Debug, Default)]
pub struct PrinterConfig {
    /// What to print.
    pub mode: OutputMode,
    /// Prefix lines (and counts) with the input's name.
    pub with_filename: bool,
    /// `-n`.
    pub line_number: bool,
    /// `-b`.
    pub byte_offset: bool,
    /// `-Z`: NUL after names.
    pub null: bool,
    /// Colour escapes.
    pub color: bool,
    /// Highlights matched text in selected lines when colouring.
    pub highlight: Option<Highlighter>,
    /// The rules of the program, by index; when present, each selected
    /// line gets a field with the labels of the rules that select it
    /// (`NAME:NUMBER:label1,label2:LINE`), and per-rule hits are counted.
    pub rules: Option<Arc<Vec<RuleInfo>>>,
    /// Flush after every line.
    pub line_buffered: bool,
    /// JSON Lines instead of grep's text (see [`json`]).
    pub json: bool,
    /// Highlight matched text in context lines instead of selected lines
    /// (with `-v` the context lines are the ones that match, as GNU grep
    /// colours them).
    pub highlight_context: bool,
}

const COLOR_NAME: &str = "35";
const COLOR_NUMBER: &str = "32";
const COLOR_SEP: &str = "36";
const COLOR_MATCH: &str = "01;31";
const COLOR_RULE: &str = "33";

/// What output says about a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleInfo {
    /// Short name: the rule file's stem (see `LoadedRule::label`).
    pub label: String,
    /// `id`, or empty.
    pub id: String,
    /// `title`.
    pub title: String,
    /// `level`, or empty.
    pub level: String,
    /// The rule file's path.
    pub path: String,
}

impl RuleInfo {
    /// What output says about a loaded rule.
    pub fn of(rule: &LoadedRule) -> RuleInfo {
        RuleInfo {
            label: rule.label(),
            id: rule.rule.id.clone().unwrap_or_default(),
            title: rule.rule.title.clone(),
            level: rule.rule.level.clone().unwrap_or_default(),
            path: rule.source.clone(),
        }
    }
}

/// Output state that spans inputs.
#[derive(Clone, Debug, Default)]
pub struct PrintState {
    /// A group of lines was printed before (decides the first `--`).
    pub printed_group: bool,
}

impl PrintState {
    /// Appends the output of an input printed on its own, from a fresh
    /// state (`part`, whose first group therefore has no `--` before it),
    /// after what this state has seen: the `--` is written here when both
    /// printed a group, so the result is what printing both inputs in
    /// turn with one state writes.
    ///
    /// # Errors
    /// Write errors.
    pub fn append(
        &mut self,
        part: &PrintState,
        bytes: &[u8],
        color: bool,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if self.printed_group && part.printed_group {
            write_separator(out, color)?;
        }
        self.printed_group |= part.printed_group;
        out.write_all(bytes)
    }
}

/// Writes the `--` line between groups of context.
fn write_separator(out: &mut dyn Write, color: bool) -> io::Result<()> {
    if color {
        writeln!(out, "\x1b[{COLOR_SEP}m\x1b[K--\x1b[m\x1b[K")
    } else {
        out.write_all(b"--\n")
    }
}

/// Prints one input.
pub struct FilePrinter<'a> {
    config: &'a PrinterConfig,
    name: &'a [u8],
    out: &'a mut dyn Write,
    state: &'a mut PrintState,
    /// Messages for stderr, in order.
    pub messages: Vec<String>,
    /// Selected lines per rule index (when rules are known).
    pub rule_hits: Vec<u64>,
    /// The rule labels of the line being printed.
    labels: Vec<u8>,
}

/// `n` in decimal, written into the end of `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

impl<'a> FilePrinter<'a> {
    /// A printer for the input called `name`.
    pub fn new(
        config: &'a PrinterConfig,
        name: &'a [u8],
        out: &'a mut dyn Write,
        state: &'a mut PrintState,
    ) -> FilePrinter<'a> {
        let rule_hits = vec![0; config.rules.as_ref().map_or(0, |r| r.len())];
        FilePrinter {
            config,
            name,
            out,
            state,
            messages: Vec::new(),
            rule_hits,
            labels: Vec::new(),
        }
    }

    fn colored(&mut self, color: &str, text: &[u8]) -> io::Result<()> {
        if self.config.color {
            write!(self.out, "\x1b[{color}m\x1b[K")?;
            self.out.write_all(text)?;
            self.out.write_all(b"\x1b[m\x1b[K")
        } else {
            self.out.write_all(text)
        }
    }

    fn name_prefix(&mut self, sep: u8) -> io::Result<()> {
        let name = self.name;
        self.colored(COLOR_NAME, name)?;
        if self.config.null {
            self.out.write_all(b"\0")
        } else {
            self.colored(COLOR_SEP, &[sep])
        }
    }

    fn line(&mut self, line: &Line<'_>, sep: u8, selected: bool) -> io::Result<()> {
        if selected {
            for &r in line.rules {
                self.rule_hits[r as usize] += 1;
            }
        }
        if self.config.mode != OutputMode::Lines {
            return Ok(());
        }
        if self.config.with_filename {
            self.name_prefix(sep)?;
        }
        let mut digits = [0; 20];
        if let Some(n) = line.number {
            self.colored(COLOR_NUMBER, decimal(n, &mut digits))?;
            self.colored(COLOR_SEP, &[sep])?;
        }
        if self.config.byte_offset {
            self.colored(COLOR_NUMBER, decimal(line.offset, &mut digits))?;
            self.colored(COLOR_SEP, &[sep])?;
        }
        if let (true, Some(rules)) = (selected && !line.rules.is_empty(), &self.config.rules) {
            // The labels joined by commas, in a buffer kept across lines:
            // with a rule set every line is tagged, often by dozens.
            let mut labels = std::mem::take(&mut self.labels);
            labels.clear();
            for (i, &r) in line.rules.iter().enumerate() {
                if i > 0 {
                    labels.push(b',');
                }
                labels.extend_from_slice(rules[r as usize].label.as_bytes());
            }
            let written = self.colored(COLOR_RULE, &labels);
            self.labels = labels;
            written?;
            self.colored(COLOR_SEP, &[sep])?;
        }
        match (
            &self.config.highlight,
            self.config.color && selected != self.config.highlight_context,
        ) {
            (Some(highlighter), true) => {
                let mut last = 0;
                for (start, end) in highlighter.matches(line.bytes) {
                    self.out.write_all(&line.bytes[last..start])?;
                    self.colored(COLOR_MATCH, &line.bytes[start..end])?;
                    last = end;
                }
                self.out.write_all(&line.bytes[last..])?;
            }
            _ => self.out.write_all(line.bytes)?,
        }
        self.out.write_all(b"\n")?;
        if self.config.line_buffered {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Prints what the mode prints once the input is searched (counts,
    /// names).
    ///
    /// # Errors
    /// Write errors.
    pub fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        match self.config.mode {
            OutputMode::Count => {
                if self.config.with_filename {
                    self.name_prefix(b':')?;
                }
                writeln!(self.out, "{}", summary.selected)
            }
            OutputMode::FilesWithMatches if summary.selected > 0 => self.name_line(),
            OutputMode::FilesWithoutMatch if summary.selected == 0 => self.name_line(),
            _ => Ok(()),
        }
    }

    fn name_line(&mut self) -> io::Result<()> {
        let name = self.name;
        self.colored(COLOR_NAME, name)?;
        self.out.write_all(if self.config.null { b"\0" } else { b"\n" })
    }
}

impl Sink for FilePrinter<'_> {
    fn selected(&mut self, line: &Line<'_>) -> io::Result<()> {
        self.line(line, b':', true)
    }

    fn context(&mut self, line: &Line<'_>) -> io::Result<()> {
        self.line(line, b'-', false)
    }

    fn context_break(&mut self) -> io::Result<()> {
        if self.config.mode != OutputMode::Lines {
            return Ok(());
        }
        if self.state.printed_group {
            write_separator(self.out, self.config.color)?;
        }
        self.state.printed_group = true;
        Ok(())
    }

    fn binary_match(&mut self) -> io::Result<()> {
        if self.config.mode == OutputMode::Lines {
            self.messages
                .push(format!("{}: binary file matches", String::from_utf8_lossy(self.name)));
        }
        Ok(())
    }
}

/// The printer of one input: grep's text or JSON Lines, as the
/// configuration says ([`PrinterConfig::json`]).
pub enum Printer<'a> {
    /// grep-compatible text.
    Text(FilePrinter<'a>),
    /// JSON Lines.
    Json(json::JsonPrinter<'a>),
}

impl<'a> Printer<'a> {
    /// The printer `config` asks for, for the input called `name`.
    pub fn new(
        config: &'a PrinterConfig,
        name: &'a str,
        out: &'a mut dyn Write,
        state: &'a mut PrintState,
    ) -> Printer<'a> {
        if config.json {
            Printer::Json(json::JsonPrinter::new(config, name, out))
        } else {
            Printer::Text(FilePrinter::new(config, name.as_bytes(), out, state))
        }
    }

    /// Prints what follows the input's lines (counts, names, `end`).
    ///
    /// # Errors
    /// Write errors.
    pub fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        match self {
            Printer::Text(p) => p.finish(summary),
            Printer::Json(p) => p.finish(summary),
        }
    }

    /// Messages for stderr and selected lines per rule, taken at the end.
    pub fn into_results(self) -> (Vec<String>, Vec<u64>) {
        match self {
            Printer::Text(p) => (p.messages, p.rule_hits),
            Printer::Json(p) => (Vec::new(), p.rule_hits),
        }
    }
}

impl Sink for Printer<'_> {
    fn selected(&mut self, line: &Line<'_>) -> io::Result<()> {
        match self {
            Printer::Text(p) => p.selected(line),
            Printer::Json(p) => p.selected(line),
        }
    }

    fn context(&mut self, line: &Line<'_>) -> io::Result<()> {
        match self {
            Printer::Text(p) => p.context(line),
            Printer::Json(p) => p.context(line),
        }
    }

    fn context_break(&mut self) -> io::Result<()> {
        match self {
            Printer::Text(p) => p.context_break(),
            Printer::Json(p) => p.context_break(),
        }
    }

    fn binary_match(&mut self) -> io::Result<()> {
        match self {
            Printer::Text(p) => p.binary_match(),
            Printer::Json(p) => p.binary_match(),
        }
    }
}

/// Programs with more atoms than this colour the literals of their atoms
/// instead of the matches of one regex over all of them: with all SigmaHQ
/// rules (26,000 atoms) that regex took minutes per megabyte.
const HIGHLIGHT_REGEX_MAX_ATOMS: usize = 1000;

/// Literal pieces shorter than this are not coloured in a rule set's lines
/// (a space or a slash of some value would colour half of every line).
const HIGHLIGHT_MIN_LITERAL: usize = 3;

/// What colour marks as matched text in a line.
#[derive(Clone, Debug)]
pub enum Highlighter {
    /// The matches of one regex over every atom: exactly the text the
    /// rules match (programs of up to [`HIGHLIGHT_REGEX_MAX_ATOMS`] atoms).
    Regex(Regex),
    /// The occurrences of the atoms' literal pieces, ASCII case folded:
    /// for rule sets, where the line's rule tags say which rules hit and
    /// the colour only points at the values found.
    Literals(Arc<aho_corasick::AhoCorasick>),
}

impl Highlighter {
    /// The non-empty, non-overlapping spans to colour in `line`, in order.
    fn matches(&self, line: &[u8]) -> Vec<(usize, usize)> {
        match self {
            Highlighter::Regex(re) => {
                re.find_iter(line).filter(|m| !m.is_empty()).map(|m| (m.start(), m.end())).collect()
            }
            Highlighter::Literals(ac) => ac.find_iter(line).map(|m| (m.start(), m.end())).collect(),
        }
    }
}

/// The highlighter for `program`'s matches ([`PrinterConfig::highlight`]);
/// `None` without atoms, or when it cannot be built.
pub fn highlighter(program: &Program) -> Option<Highlighter> {
    let atoms = program.atoms();
    if atoms.is_empty() {
        return None;
    }
    if atoms.len() <= HIGHLIGHT_REGEX_MAX_ATOMS {
        let alts: Vec<String> = atoms.iter().map(|a| format!("(?:{})", a.to_regex())).collect();
        let re = regex::bytes::RegexBuilder::new(&alts.join("|")).size_limit(64 << 20).build();
        return re.ok().map(Highlighter::Regex);
    }
    let mut literals: Vec<&[u8]> = atoms
        .iter()
        .filter_map(|a| match &a.kind {
            AtomKind::Text(pieces) => Some(pieces),
            AtomKind::Regex(_) => None,
        })
        .flatten()
        .filter_map(|piece| match piece {
            Piece::Lit(bytes) if bytes.len() >= HIGHLIGHT_MIN_LITERAL => Some(&bytes[..]),
            _ => None,
        })
        .collect();
    literals.sort_unstable();
    literals.dedup();
    let ac = aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(literals)
        .ok()?;
    Some(Highlighter::Literals(Arc::new(ac)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals() {
        let mut buf = [0; 20];
        for n in [0, 7, 10, 99, 100, 12345, u64::MAX] {
            assert_eq!(super::decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }
}
