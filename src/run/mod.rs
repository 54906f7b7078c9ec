//! The search runtime: everything between "these rules, these operands"
//! and the bytes on stdout, for any front end (the `sigrep` binary, a
//! Spark stage, a language binding).
//!
//! ```text
//! RuleSource ─load─▶ LoadedRules ─RunnerBuilder::build─▶ Runner ─run(operands)─▶ output + Report
//! ```
//!
//! A [`Runner`] owns what a search needs beyond one [`Searcher`]:
//!
//! * the programs ([`engines`]: plain or JSON-escaped, chosen per input);
//! * listing the operands (stdin, files, `-r` directories with
//!   `--include`/`--exclude`, walked while the first files found are
//!   searched) and opening each input: mapped, read, decompressed, or an
//!   event log's records ([`crate::search::open`]);
//! * the printer of each input ([`Printer`]), the per-rule statistics, and
//!   progress ([`Progress`]; [`progress`] draws it on a terminal);
//! * the threads: inputs are searched in parallel, and one large mapped
//!   file is cut into parts searched in parallel, both by the one scheduler
//!   in [`schedule`], which writes output in argument order, identical to
//!   a one-thread run;
//! * one byte range of a file ([`ByteRange`], `--byte-range`), for a front
//!   end that spreads one large file over processes or machines: searched
//!   as the parts of a split file are, with the file's offsets and line
//!   numbers (see [`range`]).
//!
//! # Messages and errors
//! A problem with one input (missing, unreadable, a directory, a damaged
//! archive or event log) is a message for stderr, passed in order to the
//! `report` callback of [`Runner::run`] after the output before it was
//! flushed; the search goes on and [`Report::error`] is set. What ends the
//! run is an [`Error`]: output that cannot be written ([`ErrorKind::Output`],
//! or [`ErrorKind::BrokenPipe`] when its reader went away).

mod engines;
mod ledger;
pub mod progress;
mod range;
mod rules;
mod schedule;
mod summary;

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use engines::{Engine, Engines, JsonEscaping};
pub use range::ByteRange;
pub use rules::{emit_pcre, logsource_pairs, read_rule, LoadedRules, RuleSource};
pub use summary::{explain, write_stats, RuleHits};

use crate::compile::Program;
use crate::error::{Pos, RuleError};
use crate::lower::Semantics;
use crate::printer::{json, OutputMode, PrintState, Printer, PrinterConfig, RuleInfo};
use crate::search::{
    self, count_newlines, evtx, walk, BinaryMode, MappedFile, OpenOptions, Opened, SearchConfig,
    SearchInput, Searcher, Summary,
};
use ledger::Ledger;
use schedule::Output;

/// What kind of problem an [`Error`] is, for a front end to act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Options that do not go together.
    Usage,
    /// A rule file cannot be read, parsed or lowered, or no rule is left.
    Rule,
    /// The rules cannot be compiled into a program.
    Compile,
    /// An input cannot be opened or read.
    Input,
    /// Output cannot be written.
    Output,
    /// The reader of the output went away (`sigrep ... | head`): the run
    /// ends, and a grep-like front end exits quietly with status 0.
    BrokenPipe,
}

/// A problem that ends a run (or, for [`ErrorKind::Rule`] and
/// [`ErrorKind::Input`], one rule file or one input), with the file it
/// concerns and, in a rule file, the line and column. Displayed as the CLI
/// prints it after `sigrep: `: `FILE:LINE:COL: message`, `FILE: message`
/// or `message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    /// Where in the rule file, for [`ErrorKind::Rule`].
    pos: Option<Pos>,
    message: String,
}

impl Error {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, path: None, pos: None, message: message.into() }
    }

    /// The same error, about the file at `path`.
    pub fn with_path(self, path: &Path) -> Error {
        Error { path: Some(path.to_path_buf()), ..self }
    }

    /// An output error: [`ErrorKind::BrokenPipe`] when the reader went away.
    pub fn output(e: &io::Error) -> Error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Error::new(ErrorKind::BrokenPipe, "broken pipe")
        } else {
            Error::new(ErrorKind::Output, format!("write error: {}", io_message(e)))
        }
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file it concerns, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Where in the rule file the problem is, when a position describes it.
    pub fn pos(&self) -> Option<Pos> {
        self.pos
    }

    /// What is wrong, without file or position.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.pos) {
            (Some(path), Some(pos)) => write!(f, "{}:{pos}: {}", path.display(), self.message),
            (Some(path), None) => write!(f, "{}: {}", path.display(), self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl From<RuleError> for Error {
    fn from(e: RuleError) -> Error {
        Error {
            kind: ErrorKind::Rule,
            path: Some(PathBuf::from(e.source)),
            pos: e.pos,
            message: e.message,
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::output(&e)
    }
}

/// An I/O error's text as grep prints it: "No such file or directory",
/// without Rust's " (os error 2)".
pub fn io_message(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Told how a run advances, for a progress display. Inputs are counted
/// when done, bytes as parts of an input are (a file split across
/// threads advances part by part). Sizes are those of the files as
/// stored (compressed files count their compressed bytes, standard
/// input and special files count nothing), so that the bytes done
/// reach the total.
pub trait Progress: Send + Sync {
    /// More inputs were listed: how many, and their bytes. Inputs are
    /// listed as the search reaches them (a directory is walked while the
    /// files found first are searched), so the totals grow.
    fn listed(&self, inputs: u64, bytes: u64);
    /// `inputs` more inputs and `bytes` more bytes are done.
    fn advance(&self, inputs: u64, bytes: u64);
    /// The run is over (also when it stopped early or failed).
    fn finish(&self);
}

/// Files smaller than this are not split across threads.
const SPLIT_MIN: usize = 4 << 20;

/// Bytes of input per part of a split file: small parts keep the threads
/// busy to the end and the buffered output small.
const SPLIT_PART: usize = 1 << 20;

/// Builds a [`Runner`]: grep's options, each set once, checked and made
/// consistent by [`RunnerBuilder::build`] (context only when printing
/// lines, binary handling by output mode, rule attribution when output
/// shows it).
#[derive(Clone, Debug)]
pub struct RunnerBuilder {
    mode: OutputMode,
    json: bool,
    stats: bool,
    invert: bool,
    max_count: Option<u64>,
    context: Option<usize>,
    before: Option<usize>,
    after: Option<usize>,
    line_number: bool,
    byte_offset: bool,
    with_filename: Option<bool>,
    null: bool,
    color: ColorChoice,
    line_buffered: Option<bool>,
    text: bool,
    recursive: bool,
    globs: walk::Globs,
    open: OpenOptions,
    threads: usize,
    quiet_errors: bool,
    stdin_label: String,
    json_escaping: JsonEscaping,
    progress: Option<Arc<dyn Progress>>,
    progress_line: Option<bool>,
    split_sizes: (usize, usize),
    block_size: Option<usize>,
    byte_range: Option<ByteRange>,
    line_number_start: Option<u64>,
}

/// When output is coloured (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// When stdout is a terminal, `NO_COLOR` is unset or empty and `TERM`
    /// is not `dumb` (GNU grep's `auto`).
    Auto,
    /// Always.
    Always,
    /// Never (the default: a library user writing into a buffer gets
    /// plain text unless it asks).
    #[default]
    Never,
}

impl ColorChoice {
    /// Whether to colour, `Auto` resolved against stdout and the
    /// environment.
    pub fn resolve(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        }
    }
}

impl fmt::Debug for dyn Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress")
    }
}

impl Default for RunnerBuilder {
    fn default() -> RunnerBuilder {
        RunnerBuilder::new()
    }
}

impl RunnerBuilder {
    /// grep's defaults: print selected lines, no names unless several
    /// inputs, memory maps, one thread, JSON lines detected per input.
    pub fn new() -> RunnerBuilder {
        RunnerBuilder {
            mode: OutputMode::Lines,
            json: false,
            stats: false,
            invert: false,
            max_count: None,
            context: None,
            before: None,
            after: None,
            line_number: false,
            byte_offset: false,
            with_filename: None,
            null: false,
            color: ColorChoice::Never,
            line_buffered: Some(false),
            text: false,
            recursive: false,
            globs: walk::Globs::default(),
            open: OpenOptions::default(),
            threads: 1,
            quiet_errors: false,
            stdin_label: "(standard input)".into(),
            json_escaping: JsonEscaping::Auto,
            progress: None,
            progress_line: Some(false),
            split_sizes: (SPLIT_MIN, SPLIT_PART),
            block_size: None,
            byte_range: None,
            line_number_start: None,
        }
    }

    /// What is printed per input: lines, `-c`, `-l`, `-L` or `-q`.
    pub fn mode(&mut self, mode: OutputMode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// `--json`: JSON Lines with rule metadata, and a summary at the end.
    pub fn json(&mut self, yes: bool) -> &mut Self {
        self.json = yes;
        self
    }

    /// `--stats`: after the output, selected lines per rule.
    pub fn stats(&mut self, yes: bool) -> &mut Self {
        self.stats = yes;
        self
    }

    /// `-v`: select the lines the rules do not select.
    pub fn invert(&mut self, yes: bool) -> &mut Self {
        self.invert = yes;
        self
    }

    /// `-m NUM`: stop reading an input after NUM selected lines.
    pub fn max_count(&mut self, max: Option<u64>) -> &mut Self {
        self.max_count = max;
        self
    }

    /// `-C NUM`: context before and after, unless set on their own.
    pub fn context(&mut self, lines: Option<usize>) -> &mut Self {
        self.context = lines;
        self
    }

    /// `-B NUM`: context before each selected line.
    pub fn before(&mut self, lines: Option<usize>) -> &mut Self {
        self.before = lines;
        self
    }

    /// `-A NUM`: context after each selected line.
    pub fn after(&mut self, lines: Option<usize>) -> &mut Self {
        self.after = lines;
        self
    }

    /// `-n`: number lines.
    pub fn line_number(&mut self, yes: bool) -> &mut Self {
        self.line_number = yes;
        self
    }

    /// `-b`: print each line's byte offset.
    pub fn byte_offset(&mut self, yes: bool) -> &mut Self {
        self.byte_offset = yes;
        self
    }

    /// `-H` (`Some(true)`), `-h` (`Some(false)`), or grep's choice (`None`:
    /// names when several operands were given or a directory was searched).
    pub fn with_filename(&mut self, names: Option<bool>) -> &mut Self {
        self.with_filename = names;
        self
    }

    /// `-Z`: a NUL after each file name.
    pub fn null(&mut self, yes: bool) -> &mut Self {
        self.null = yes;
        self
    }

    /// Colour escapes in the output (`--color`).
    pub fn color(&mut self, choice: ColorChoice) -> &mut Self {
        self.color = choice;
        self
    }

    /// Flush after every line: `Some(true)` for `--line-buffered`, `None`
    /// for grep's default (when stdout is a terminal).
    pub fn line_buffered(&mut self, flush: Option<bool>) -> &mut Self {
        self.line_buffered = flush;
        self
    }

    /// `-a`: search and print binary inputs as text.
    pub fn text(&mut self, yes: bool) -> &mut Self {
        self.text = yes;
        self
    }

    /// `-r`: search directories recursively (`.` when no operand is given).
    pub fn recursive(&mut self, yes: bool) -> &mut Self {
        self.recursive = yes;
        self
    }

    /// `--include`, `--exclude`, `--exclude-dir` (compiled by
    /// [`RunnerBuilder::build`]).
    pub fn filters(&mut self, globs: walk::Globs) -> &mut Self {
        self.globs = globs;
        self
    }

    /// `--no-mmap` (false): read files instead of mapping them.
    pub fn mmap(&mut self, yes: bool) -> &mut Self {
        self.open.mmap = yes;
        self
    }

    /// `-z`: recognise compressed inputs by their magic number too.
    pub fn search_zip(&mut self, yes: bool) -> &mut Self {
        self.open.sniff = yes;
        self
    }

    /// How event log records become lines.
    pub fn evtx_rendering(&mut self, rendering: evtx::Rendering) -> &mut Self {
        self.open.evtx = rendering;
        self
    }

    /// `-j NUM`: threads (at least one); `None` for one per core.
    pub fn threads(&mut self, threads: Option<usize>) -> &mut Self {
        self.threads = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        self
    }

    /// `-s`: no messages about unreadable inputs (the exit status still
    /// tells).
    pub fn quiet_errors(&mut self, yes: bool) -> &mut Self {
        self.quiet_errors = yes;
        self
    }

    /// `--label`: the name of standard input in output.
    pub fn stdin_label(&mut self, label: &str) -> &mut Self {
        self.stdin_label = label.to_string();
        self
    }

    /// `--json-escaped` / `--no-json-escaped`, or detection per input.
    pub fn json_escaping(&mut self, escaping: JsonEscaping) -> &mut Self {
        self.json_escaping = escaping;
        self
    }

    /// The smallest mapped file split across threads, and the size of its
    /// parts (4 MiB and 1 MiB). Tests make them small, to split small
    /// inputs into many parts.
    #[doc(hidden)]
    pub fn split_sizes(&mut self, min_file: usize, part: usize) -> &mut Self {
        self.split_sizes = (min_file, part.max(1));
        self
    }

    /// The size of the blocks an input is searched (and its lines
    /// counted) in, and of the read path's reads ([`search::BLOCK`], 256
    /// KiB). Tests make it small, so that block boundaries fall
    /// everywhere.
    #[doc(hidden)]
    pub fn block_size(&mut self, size: Option<usize>) -> &mut Self {
        self.block_size = size;
        self
    }

    /// The progress line on stderr ([`progress::on_stderr`]) for
    /// [`Runner::run_on_stdout`]: `Some(true)` forces it, `Some(false)`
    /// refuses it, `None` shows it when stderr is a terminal and stdout is
    /// not.
    pub fn progress_line(&mut self, forced: Option<bool>) -> &mut Self {
        self.progress_line = forced;
        self
    }

    /// `--byte-range START:END`: search only the lines of the one FILE
    /// operand that start in the range (see [`ByteRange`]).
    pub fn byte_range(&mut self, range: Option<ByteRange>) -> &mut Self {
        self.byte_range = range;
        self
    }

    /// `--line-number-start N`: with a byte range, the number of its first
    /// line (otherwise counted from the start of the file).
    pub fn line_number_start(&mut self, first: Option<u64>) -> &mut Self {
        self.line_number_start = first;
        self
    }

    /// Where to report progress (none by default).
    pub fn progress(&mut self, progress: Option<Arc<dyn Progress>>) -> &mut Self {
        self.progress = progress;
        self
    }

    fn context_given(&self) -> bool {
        self.context.is_some() || self.before.is_some() || self.after.is_some()
    }

    /// The searcher's options: context only when printing lines, one
    /// selected line per input when listing names, binary inputs by mode,
    /// rules attributed (`attributable`: rule metadata is known) when
    /// output shows them.
    fn search_config(&self, attributable: bool) -> SearchConfig {
        let lines = self.mode == OutputMode::Lines;
        let listing = matches!(
            self.mode,
            OutputMode::Quiet | OutputMode::FilesWithMatches | OutputMode::FilesWithoutMatch
        );
        let context = self.context.unwrap_or(0);
        let (before, after) = if lines {
            (self.before.unwrap_or(context), self.after.unwrap_or(context))
        } else {
            (0, 0)
        };
        SearchConfig {
            invert: self.invert,
            max_count: if listing {
                Some(self.max_count.unwrap_or(1).min(1))
            } else {
                self.max_count
            },
            before,
            after,
            context_separators: self.context_given() && lines,
            line_numbers: (self.line_number && lines) || self.json,
            binary: if self.text {
                BinaryMode::Text
            } else if lines {
                BinaryMode::Quit
            } else {
                BinaryMode::Ignore
            },
            // Tags are printed with lines, counted by --stats, written by --json.
            attribute_rules: attributable && !self.invert && (lines || self.stats || self.json),
            block_size: self.block_size,
        }
    }

    /// The runner for `rules`. With one fixed program (no detection of
    /// JSON lines), the program is compiled here.
    ///
    /// # Errors
    /// [`ErrorKind::Usage`]: a glob that cannot be compiled, JSON
    /// escaping asked for with legacy rules, or a first line number
    /// without a byte range; [`ErrorKind::Compile`]: the one fixed program
    /// cannot be compiled.
    pub fn build(&self, rules: LoadedRules) -> Result<Runner, Error> {
        if self.line_number_start.is_some() && self.byte_range.is_none() {
            return Err(Error::new(ErrorKind::Usage, "--line-number-start needs --byte-range"));
        }
        let filters = walk::Filters::new(&self.globs)
            .map_err(|e| Error::new(ErrorKind::Usage, e.to_string()))?;
        let legacy = rules.set.is_legacy();
        let escaping = match self.json_escaping {
            JsonEscaping::Always if legacy => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    "--json-escaped cannot be combined with --legacy (the legacy pipeline \
                     matched values only as written)",
                ))
            }
            // The legacy pipeline matched values only as written.
            JsonEscaping::Auto if legacy => JsonEscaping::Never,
            escaping => escaping,
        };
        let infos: Option<Arc<Vec<RuleInfo>>> = (rules.multi || self.json || self.stats)
            .then(|| Arc::new(rules.set.rules().iter().map(RuleInfo::of).collect()));
        let search = self.search_config(infos.is_some());
        let color = self.color.resolve();
        let line = match self.progress_line {
            Some(false) => None,
            forced => progress::on_stderr(forced),
        };
        let printer = PrinterConfig {
            mode: self.mode,
            // Decided per run by the operands (see `Runner::run`).
            with_filename: false,
            line_number: self.line_number,
            byte_offset: self.byte_offset,
            null: self.null,
            color,
            // Per program: set for each input.
            highlight: None,
            rules: infos.clone(),
            json: self.json,
            highlight_context: self.invert,
            line_buffered: self.line_buffered.unwrap_or_else(|| io::stdout().is_terminal()),
        };
        let semantics = rules.set.options().semantics;
        let engines = Engines::new(rules.set, escaping, color);
        if escaping != JsonEscaping::Auto {
            // One program for every input: a failure to compile it is fatal.
            engines.default()?;
        }
        // One input and spare cores: split it at line boundaries (not with
        // context or -m, whose output depends on neighbouring parts).
        let splittable = !self.context_given()
            && self.max_count.is_none()
            && matches!(self.mode, OutputMode::Lines | OutputMode::Count);
        Ok(Runner {
            semantics,
            engines,
            infos,
            search,
            printer,
            open: OpenOptions {
                evtx_threads: self.threads,
                // Sigma semantics confirms a record's line on the record's
                // own fields.
                evtx_fields: semantics == Semantics::Sigma,
                // A range is searched in the file's map.
                mmap: self.open.mmap || self.byte_range.is_some(),
                ..self.open
            },
            threads: self.threads,
            splittable,
            quiet_errors: self.quiet_errors,
            stdin_label: self.stdin_label.clone(),
            recursive: self.recursive,
            filters,
            with_filename: self.with_filename,
            stats: self.stats,
            rules_error: rules.error,
            progress: self
                .progress
                .clone()
                .or_else(|| line.clone().map(|l| l as Arc<dyn Progress>)),
            progress_line: line,
            split_sizes: self.split_sizes,
            byte_range: self.byte_range,
            line_number_start: self.line_number_start,
        })
    }
}

/// A configured search over any operands; built by [`RunnerBuilder`].
#[derive(Debug)]
pub struct Runner {
    engines: Engines,
    /// Rule metadata for tags, `--json` and `--stats`.
    infos: Option<Arc<Vec<RuleInfo>>>,
    search: SearchConfig,
    printer: PrinterConfig,
    open: OpenOptions,
    threads: usize,
    /// Output does not depend on neighbouring lines: a large input may be
    /// split across threads.
    splittable: bool,
    quiet_errors: bool,
    stdin_label: String,
    recursive: bool,
    filters: walk::Filters,
    with_filename: Option<bool>,
    stats: bool,
    /// What a rule means on a line, named by `--json`, `--stats` and
    /// `--explain`.
    semantics: Semantics,
    /// A rule file could not be loaded (reported already).
    rules_error: bool,
    progress: Option<Arc<dyn Progress>>,
    /// The progress line on stderr, when shown.
    progress_line: Option<Arc<progress::ProgressLine>>,
    /// See [`RunnerBuilder::split_sizes`].
    split_sizes: (usize, usize),
    byte_range: Option<ByteRange>,
    line_number_start: Option<u64>,
}

/// What a run found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Inputs searched (or that failed to open).
    pub inputs: u64,
    /// Lines selected in all inputs.
    pub selected: u64,
    /// Selected lines per rule (when rules were attributed).
    pub rule_hits: RuleHits,
    /// Something went wrong on the way (a message was reported, or a rule
    /// file could not be loaded).
    pub error: bool,
    /// The run stopped at the first selected line (`-q`).
    pub stopped_early: bool,
}

impl Report {
    /// grep's exit status: 0 when a line was selected, 1 when none, 2 when
    /// an error occurred, except that `-q` exits 0 once a line was
    /// selected, errors or not. With `-L` too the status follows selected
    /// lines, not listed names (GNU grep since 3.5).
    pub fn exit_status(&self) -> u8 {
        if self.stopped_early {
            0
        } else if self.error {
            2
        } else if self.selected > 0 {
            0
        } else {
            1
        }
    }
}

/// The targets of a run, in order.
type Targets<'r> = Box<dyn Iterator<Item = Target> + Send + 'r>;

/// One thing to search.
#[derive(Clone, Debug)]
enum Target {
    Stdin,
    Path(PathBuf),
    /// A problem found while listing (reported in order).
    Error(String),
}

impl Target {
    /// Bytes the input counts for in progress: a regular file's size (a
    /// `stat`, made only when progress is reported).
    fn size(&self) -> u64 {
        match self {
            Target::Path(path) => {
                std::fs::metadata(path).map_or(0, |m| if m.is_file() { m.len() } else { 0 })
            }
            Target::Stdin | Target::Error(_) => 0,
        }
    }
}

/// What searching one input produced, beside its output.
#[derive(Debug, Default)]
struct Searched {
    selected: u64,
    /// Messages for stderr, in order.
    messages: Vec<String>,
    /// The input had a problem.
    error: bool,
    rule_hits: Vec<u64>,
    /// Writing the output failed: the run ends.
    output_error: Option<io::Error>,
    /// Bytes the input counts for in progress.
    size: u64,
    /// The input was split across threads (its progress is reported by
    /// part).
    split: bool,
}

impl Searched {
    fn problem(&mut self, quiet: bool, message: String) {
        self.error = true;
        if !quiet {
            self.messages.push(message);
        }
    }
}

impl Runner {
    /// The programs of the run.
    pub fn engines(&self) -> &Engines {
        &self.engines
    }

    /// Writes `--explain` for the program every input gets unless detection
    /// says otherwise.
    ///
    /// # Errors
    /// The program cannot be compiled, or output cannot be written.
    pub fn explain(&self, out: &mut dyn Write) -> Result<(), Error> {
        let shown = self.engines.default()?;
        writeln!(out, "semantics: {}", self.semantics.name())?;
        explain(out, &shown.set, &shown.program)?;
        if self.engines.escaping() == JsonEscaping::Auto {
            writeln!(
                out,
                "inputs detected as JSON lines are searched with the JSON-escaped program \
                 (--explain --json-escaped shows it)"
            )?;
        }
        Ok(())
    }

    /// [`Runner::run`] printing to stdout (buffered; with the progress line,
    /// if shown, hidden while output or a message is written), messages to
    /// `report`.
    ///
    /// # Errors
    /// As [`Runner::run`].
    pub fn run_on_stdout(
        &self,
        operands: &[PathBuf],
        report: &mut dyn FnMut(&str),
    ) -> Result<Report, Error> {
        let mut out = self.stdout();
        match &self.progress_line {
            Some(line) => self.run(operands, &mut out, &mut |m| line.suspend(|| report(m))),
            None => self.run(operands, &mut out, report),
        }
    }

    /// [`Runner::explain`] on stdout.
    ///
    /// # Errors
    /// As [`Runner::explain`].
    pub fn explain_on_stdout(&self) -> Result<(), Error> {
        let mut out = self.stdout();
        self.explain(&mut out)?;
        Ok(out.flush()?)
    }

    /// Buffered stdout; written with the progress line hidden when both
    /// are on the terminal.
    fn stdout(&self) -> io::BufWriter<Box<dyn Write + '_>> {
        let stdout: Box<dyn Write> = match &self.progress_line {
            Some(line) if io::stdout().is_terminal() => {
                Box::new(progress::Suspending { inner: io::stdout().lock(), line: line.clone() })
            }
            _ => Box::new(io::stdout().lock()),
        };
        io::BufWriter::with_capacity(64 * 1024, stdout)
    }

    /// Searches the operands (standard input when there are none, or `.`
    /// with `-r`; `-` is standard input) in order, printing to `out` and
    /// passing messages for stderr to `report`, then writes the `--json`
    /// summary or `--stats`.
    ///
    /// # Errors
    /// Output cannot be written; problems with inputs are reported and
    /// set [`Report::error`] instead.
    pub fn run(
        &self,
        operands: &[PathBuf],
        out: &mut dyn Write,
        report: &mut dyn FnMut(&str),
    ) -> Result<Report, Error> {
        if let Some(range) = self.byte_range {
            self.check_range_operand(range, operands)?;
        }
        let implicit = operands.is_empty();
        let default = [PathBuf::from(if self.recursive { "." } else { "-" })];
        let files = if implicit { &default[..] } else { operands };
        // Like GNU grep, names are shown when several files were named
        // (before --include/--exclude drop any) or a directory was searched.
        let recursed = self.recursive && files.iter().any(|f| f.as_os_str() != "-" && f.is_dir());
        let with_filename = self.with_filename.unwrap_or(operands.len() > 1 || recursed);
        let found = self.search_targets(self.targets(files, implicit), with_filename, out, report);
        if let Some(progress) = &self.progress {
            progress.finish();
        }
        found
    }

    /// A byte range is searched in one plain file named as the operand.
    fn check_range_operand(&self, range: ByteRange, operands: &[PathBuf]) -> Result<(), Error> {
        let usage = |m: String| Error::new(ErrorKind::Usage, m);
        let file = match operands {
            [file] if file.as_os_str() != "-" && !self.recursive => file,
            _ => {
                return Err(usage(format!(
                    "--byte-range {range} searches one FILE (not standard input, several \
                     files or -r)"
                )))
            }
        };
        // A file that cannot be opened is reported as any input is.
        let what = match search::kind(file, &self.open) {
            Ok((_, _, search::Kind::EventLog)) => "an event log",
            Ok((_, _, search::Kind::Compressed(_))) => "a compressed file",
            Ok((_, _, search::Kind::Stream)) => "not a regular file",
            _ => return Ok(()),
        };
        Err(usage(format!(
            "--byte-range needs a plain file, and {} is {what}: search it whole",
            file.display()
        )))
    }

    /// [`Runner::run`] over listed targets.
    fn search_targets(
        &self,
        mut targets: Targets<'_>,
        with_filename: bool,
        out: &mut dyn Write,
        report: &mut dyn FnMut(&str),
    ) -> Result<Report, Error> {
        let printer = PrinterConfig { with_filename, ..self.printer.clone() };
        // One input gets the threads to itself (split into parts); several
        // share them. Looking two targets ahead tells.
        let first: Vec<Target> = targets.by_ref().take(2).collect();
        let (file_threads, split_threads) = if first.len() == 1 {
            (1, if self.splittable { self.threads } else { 1 })
        } else {
            (self.threads, 1)
        };
        let quiet = self.printer.mode == OutputMode::Quiet;
        let mut totals = Report { error: self.rules_error, ..Report::default() };
        let mut state = PrintState::default();
        let mut output = Output { out, state: &mut state, color: self.printer.color };
        let mut targets = first.into_iter().chain(targets);
        let progress = self.progress.as_deref();
        schedule::in_order(
            file_threads,
            &mut output,
            move || {
                let target = targets.next()?;
                let size = progress.map_or(0, |progress| {
                    let size = target.size();
                    progress.listed(1, size);
                    size
                });
                Some((target, size))
            },
            |(target, size), out: &mut dyn Write, state: &mut PrintState| Searched {
                size,
                ..self.search_target(&target, &printer, split_threads, out, state)
            },
            |searched, output| {
                if let Some(e) = searched.output_error {
                    return Err(e);
                }
                if !searched.messages.is_empty() {
                    output.out.flush()?;
                    for m in &searched.messages {
                        report(m);
                    }
                }
                if self.printer.line_buffered {
                    output.out.flush()?;
                }
                if let Some(progress) = &self.progress {
                    // A split input advanced part by part already.
                    progress.advance(1, if searched.split { 0 } else { searched.size });
                }
                totals.inputs += 1;
                totals.selected += searched.selected;
                totals.error |= searched.error;
                totals.rule_hits.add(&searched.rule_hits);
                Ok(if quiet && searched.selected > 0 {
                    totals.stopped_early = true;
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            },
        )?;
        if let Some(infos) = &self.infos {
            if self.printer.json {
                json::write_summary(
                    out,
                    totals.inputs,
                    totals.selected,
                    self.semantics,
                    infos,
                    totals.rule_hits.counts(),
                )?;
            } else if self.stats {
                write_stats(out, infos, totals.selected, self.semantics, &totals.rule_hits)?;
            }
        }
        out.flush()?;
        Ok(totals)
    }

    /// The targets in argument order, listed as they are searched:
    /// directories are walked while the files found first are searched
    /// (see [`walk`]).
    fn targets<'r>(&'r self, files: &'r [PathBuf], implicit: bool) -> Targets<'r> {
        Box::new(files.iter().flat_map(move |file| -> Targets<'r> {
            if file.as_os_str() == "-" {
                Box::new(std::iter::once(Target::Stdin))
            } else if self.recursive && file.is_dir() {
                Box::new(walk::walk(file, &self.filters).map(move |entry| match entry {
                    // With no operand, GNU grep names files relative to "."
                    // without a "./" prefix.
                    walk::Entry::File(p) if implicit => {
                        Target::Path(p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p))
                    }
                    walk::Entry::File(p) => Target::Path(p),
                    walk::Entry::Error(p, e) => {
                        Target::Error(format!("{}: {}", p.display(), io_message(&e)))
                    }
                }))
            } else if self.filters.accepts_file(file) {
                Box::new(std::iter::once(Target::Path(file.clone())))
            } else {
                Box::new(std::iter::empty())
            }
        }))
    }

    /// Opens one target: its name in output, and the input or the reason
    /// it cannot be searched.
    fn open(&self, target: &Target) -> (String, io::Result<Opened>) {
        match target {
            Target::Stdin => {
                let stdin: Box<dyn io::Read + Send> = Box::new(io::stdin());
                let reader = if self.open.sniff { search::decode::sniff(stdin) } else { Ok(stdin) };
                (self.stdin_label.clone(), reader.map(|r| Opened::Input(SearchInput::Reader(r))))
            }
            Target::Path(p) => (p.display().to_string(), search::open(p, &self.open)),
            Target::Error(_) => unreachable!("listing errors are not opened"),
        }
    }

    /// Searches one target, printing into `out`. Problems with the input
    /// are messages of the result; a failed write is its `output_error`.
    fn search_target(
        &self,
        target: &Target,
        printer: &PrinterConfig,
        split_threads: usize,
        out: &mut dyn Write,
        state: &mut PrintState,
    ) -> Searched {
        let mut searched = Searched::default();
        let quiet = self.quiet_errors;
        if let Target::Error(message) = target {
            searched.problem(quiet, message.clone());
            return searched;
        }
        let (name, opened) = self.open(target);
        let mut out = Tracked { inner: out, failed: None };
        let mut input = match opened {
            Ok(Opened::Input(input)) => input,
            Ok(Opened::Directory) => {
                searched.problem(quiet, format!("{name}: Is a directory"));
                // GNU grep then treats it as an empty file: `-c` prints 0
                // and `-L` lists it.
                let finished =
                    Printer::new(printer, &name, &mut out, state).finish(&Summary::default());
                searched.output_error = finished.err().or(out.failed);
                return searched;
            }
            Err(e) => {
                searched.problem(quiet, format!("{name}: {}", io_message(&e)));
                return searched;
            }
        };
        // The program for this input: a JSON-lines input may need the
        // JSON-escaped one, with its own highlighter.
        let engine = match self.engines.for_input(&mut input) {
            Ok(engine) => engine,
            Err(e) => {
                searched.problem(quiet, format!("{name}: {e}"));
                return searched;
            }
        };
        let colored;
        let printer = if printer.color {
            colored = PrinterConfig { highlight: engine.highlight.clone(), ..printer.clone() };
            &colored
        } else {
            printer
        };
        let split = |map: &MappedFile| {
            split_threads > 1 && map.len() >= self.split_sizes.0 && !Searcher::probe_is_binary(map)
        };
        let result = match &input {
            SearchInput::Mapped(map) if self.byte_range.is_some() || split(map) => {
                searched.split = true;
                let span = self.span(map, split_threads);
                let mut output = Output { out: &mut out, state, color: printer.color };
                let threads = if span.part < map.len() { split_threads } else { 1 };
                self.search_split(&engine.program, printer, &name, map, span, threads, &mut output)
                    .map(|(summary, messages, hits)| {
                        searched.messages = messages;
                        searched.rule_hits = hits;
                        summary
                    })
            }
            SearchInput::Reader(_) if self.byte_range.is_some() && !is_empty(target) => {
                searched.problem(
                    quiet,
                    format!("{name}: cannot be memory-mapped, which --byte-range needs"),
                );
                return searched;
            }
            _ => {
                let mut sink = Printer::new(printer, &name, &mut out, state);
                let result = Searcher::new(&engine.program, self.search.clone())
                    .search(&mut input, &mut sink)
                    .and_then(|summary| sink.finish(&summary).map(|()| summary));
                (searched.messages, searched.rule_hits) = sink.into_results();
                result
            }
        };
        match result {
            Ok(summary) => searched.selected = summary.selected,
            // A failed write is the run's error, not the input's.
            Err(e) if out.failed.is_none() => {
                searched.problem(quiet, format!("{name}: {}", io_message(&e)))
            }
            Err(_) => {}
        }
        if let SearchInput::Records(evtx::Rendered { damage: Some(damage), .. }) = &input {
            searched.problem(quiet, format!("{name}: {damage}"));
        }
        searched.output_error = out.failed;
        searched
    }

    /// What of a mapped file to search, in parts of what size: the lines
    /// of the byte range, or the whole file split across threads.
    fn span(&self, map: &MappedFile, split_threads: usize) -> Span {
        let hay: &[u8] = map;
        let Some(range) = self.byte_range else {
            return Span { from: 0, to: hay.len(), first_line: 1, part: self.split_sizes.1 };
        };
        let (from, to) = range.lines_in(hay);
        let first_line = match self.line_number_start {
            Some(n) => n,
            None if self.search.line_numbers => 1 + count_newlines(&hay[..from]),
            None => 1,
        };
        let parts = self.splittable && split_threads > 1 && to - from >= self.split_sizes.0;
        Span { from, to, first_line, part: if parts { self.split_sizes.1 } else { usize::MAX } }
    }

    /// Searches a span of a mapped file with `threads` threads, in parts
    /// cut at line ends ([`SPLIT_PART`] bytes by default), printed in order
    /// (see [`schedule`]): the output is that of a one-thread search of the
    /// span. Output stops after a part that reported a binary file match,
    /// as a one-thread search stops there. Returns the span's summary (with
    /// its lines when it is a byte range), its messages and its per-rule
    /// hits.
    #[allow(clippy::too_many_arguments)]
    fn search_split(
        &self,
        program: &Program,
        printer: &PrinterConfig,
        name: &str,
        map: &MappedFile,
        span: Span,
        threads: usize,
        output: &mut Output<'_>,
    ) -> io::Result<(Summary, Vec<String>, Vec<u64>)> {
        let hay: &[u8] = map;
        let binary = Searcher::probe_is_binary(map);
        let counted = self.search.line_numbers || self.byte_range.is_some();
        // Parts in order: their index, where each starts and ends. Each
        // part counts its own lines (see [`ledger`]).
        let ledger = Ledger::new(span.first_line);
        let (mut index, mut start) = (0, span.from);
        let next_part = || -> Option<(usize, usize, usize)> {
            if start >= span.to {
                return None;
            }
            let cut = start.saturating_add(span.part).min(span.to);
            let end = memchr::memchr(b'\n', &hay[cut..span.to]).map_or(span.to, |i| cut + i + 1);
            let part = (index, start, end);
            (index, start) = (index + 1, end);
            Some(part)
        };
        let search_part = |(index, start, end), out: &mut dyn Write, state: &mut PrintState| {
            // With -n the searcher counts this part's lines once more, as
            // it numbers them; that second count reads bytes the first left
            // in cache, and the first also brings them in for the search.
            let first_line = if counted {
                ledger.publish(index, count_newlines(&hay[start..end]));
                ledger.first_line(index)
            } else {
                span.first_line
            };
            let mut sink = Printer::new(printer, name, out, state);
            let summary = Searcher::new(program, self.search.clone())
                .search_mapped_part(map, start, end, first_line, binary, &mut sink);
            let (messages, hits) = sink.into_results();
            summary.map(|summary| (summary, messages, hits, (end - start) as u64))
        };
        let mut total = Summary::default();
        let mut messages = Vec::new();
        let mut hits = RuleHits::default();
        schedule::in_order(threads, output, next_part, search_part, |part, _| {
            let (summary, part_messages, part_hits, part_bytes) = part?;
            if let Some(progress) = &self.progress {
                progress.advance(0, part_bytes);
            }
            messages.extend(part_messages);
            total.selected += summary.selected;
            hits.add(&part_hits);
            if summary.binary_match {
                total.binary_match = true;
                return Ok(ControlFlow::Break(()));
            }
            Ok(ControlFlow::Continue(()))
        })?;
        if self.byte_range.is_some() {
            // Lines that end in a LF were counted part by part, unless the
            // search stopped early; a last line may lack its LF.
            let (from, to) = (span.from, span.to);
            let counted = if start >= to {
                ledger.next_line() - span.first_line
            } else {
                count_newlines(&hay[from..to])
            };
            let unterminated = to > from && hay[to - 1] != b'\n';
            total.lines = Some(counted + u64::from(unterminated));
        }
        Printer::new(printer, name, output.out, output.state).finish(&total)?;
        Ok((total, messages, hits.counts().to_vec()))
    }
}

/// The bytes of a mapped file to search, cut into parts of `part` bytes
/// (or more: parts end at line ends), and the number of its first line.
#[derive(Clone, Copy, Debug)]
struct Span {
    from: usize,
    to: usize,
    first_line: u64,
    part: usize,
}

/// True when the target is an empty regular file (an empty range, which
/// is not mapped).
fn is_empty(target: &Target) -> bool {
    match target {
        Target::Path(path) => std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0),
        Target::Stdin | Target::Error(_) => false,
    }
}

/// A writer that remembers whether writing failed, so that a failed search
/// can be told apart: output errors end the run, input errors one input.
struct Tracked<'w> {
    inner: &'w mut dyn Write,
    failed: Option<io::Error>,
}

impl Write for Tracked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner
            .write(buf)
            .inspect_err(|e| self.failed = Some(io::Error::new(e.kind(), e.to_string())))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner
            .flush()
            .inspect_err(|e| self.failed = Some(io::Error::new(e.kind(), e.to_string())))
    }
}
