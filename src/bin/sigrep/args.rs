//! Command-line flags: data only. Doc comments are the help text.

use std::path::PathBuf;

use clap::{ArgAction, Parser, ValueEnum};
use sigrep::run::ByteRange;

/// How an event log record becomes a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum EvtxFormat {
    /// `Key=Value` pairs.
    #[default]
    Kv,
    /// The record's XML on one line.
    Xml,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal (and NO_COLOR is unset).
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Print the log lines a Sigma rule matches, like grep.
///
/// sigrep compiles the rule's condition into one automaton and prints every
/// line of the FILEs (standard input when there are none, or "-") that the
/// rule selects. Field names are ignored: each value is searched anywhere
/// in the line, case-insensitively.
///
/// Exit status: 0 if a line was selected, 1 if none, 2 if an error occurred.
#[derive(Debug, Parser)]
#[command(
    name = "sigrep",
    version,
    disable_help_flag = true,
    max_term_width = 100,
    override_usage = "sigrep [OPTIONS] RULE [FILE]...\n       sigrep [OPTIONS] -f RULES [-f RULES]... [FILE]..."
)]
pub struct Args {
    /// RULE (the Sigma rule file) then the FILEs to search; with -f, all
    /// are FILEs. "-" is standard input.
    #[arg(value_name = "RULE|FILE")]
    pub operands: Vec<PathBuf>,

    /// Load rules from PATH: a rule file, or a directory searched
    /// recursively for *.yml and *.yaml (repeatable). Each selected line is
    /// then tagged with the rules that select it.
    #[arg(short = 'f', long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Only rules with one of these levels (comma-separated).
    #[arg(long = "level", value_name = "LIST", value_delimiter = ',')]
    pub level: Vec<String>,

    /// Only rules with one of these statuses (comma-separated).
    #[arg(long = "status", value_name = "LIST", value_delimiter = ',')]
    pub status: Vec<String>,

    /// Only rules carrying one of these tags, e.g. attack.t1047.
    #[arg(long = "tag", value_name = "LIST", value_delimiter = ',')]
    pub tag: Vec<String>,

    /// Only rules with one of these ids.
    #[arg(long = "id", value_name = "LIST", value_delimiter = ',')]
    pub id: Vec<String>,

    /// Only rules whose logsource has every KEY=VALUE, e.g.
    /// product=linux,service=sshd.
    #[arg(long = "logsource", value_name = "KEY=VALUE,...", value_delimiter = ',')]
    pub logsource: Vec<String>,

    /// Write JSON Lines: one object per selected line with the rules that
    /// select it, one per file, and a summary.
    #[arg(long = "json", conflicts_with_all = ["count", "files_with_matches", "files_without_match", "quiet"])]
    pub json: bool,

    /// After the results, print how many lines each rule selected.
    #[arg(long = "stats")]
    pub stats: bool,

    /// Print only a count of selected lines per file.
    #[arg(short = 'c', long = "count")]
    pub count: bool,

    /// Print only the names of files with selected lines.
    #[arg(short = 'l', long = "files-with-matches")]
    pub files_with_matches: bool,

    /// Print only the names of files without selected lines.
    #[arg(short = 'L', long = "files-without-match")]
    pub files_without_match: bool,

    /// Prefix each line with its 1-based line number.
    #[arg(short = 'n', long = "line-number")]
    pub line_number: bool,

    /// Prefix each line with the 0-based byte offset of its start.
    #[arg(short = 'b', long = "byte-offset")]
    pub byte_offset: bool,

    /// Print the file name with each line.
    #[arg(short = 'H', long = "with-filename", overrides_with = "no_filename")]
    pub with_filename: bool,

    /// Never print file names.
    #[arg(short = 'h', long = "no-filename", overrides_with = "with_filename")]
    pub no_filename: bool,

    /// Select the lines the rule does not match.
    #[arg(short = 'v', long = "invert-match")]
    pub invert: bool,

    /// Print nothing; exit 0 at the first selected line.
    #[arg(short = 'q', long = "quiet", visible_alias = "silent")]
    pub quiet: bool,

    /// Suppress messages about unreadable or missing files.
    #[arg(short = 's', long = "no-messages")]
    pub no_messages: bool,

    /// Stop reading a file after NUM selected lines.
    #[arg(short = 'm', long = "max-count", value_name = "NUM")]
    pub max_count: Option<u64>,

    /// Search binary files as if they were text.
    #[arg(short = 'a', long = "text")]
    pub text: bool,

    /// Ignore case (the default).
    #[arg(short = 'i', long = "ignore-case", overrides_with = "no_ignore_case")]
    pub ignore_case: bool,

    /// Match case exactly (values marked |cased always do).
    #[arg(long = "no-ignore-case", overrides_with = "ignore_case")]
    pub no_ignore_case: bool,

    /// Search directories recursively (symbolic links inside are skipped).
    #[arg(short = 'r', long = "recursive")]
    pub recursive: bool,

    /// Search only files whose base name matches GLOB (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    pub include: Vec<String>,

    /// Skip files whose base name matches GLOB (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Skip directories whose base name matches GLOB when recursing.
    #[arg(long = "exclude-dir", value_name = "GLOB")]
    pub exclude_dir: Vec<String>,

    /// Print NUM lines of context after each selected line.
    #[arg(short = 'A', long = "after-context", value_name = "NUM")]
    pub after: Option<usize>,

    /// Print NUM lines of context before each selected line.
    #[arg(short = 'B', long = "before-context", value_name = "NUM")]
    pub before: Option<usize>,

    /// Print NUM lines of context before and after.
    #[arg(short = 'C', long = "context", value_name = "NUM")]
    pub context: Option<usize>,

    /// Colour file names, numbers, separators and matched text.
    #[arg(long = "color", visible_alias = "colour", value_name = "WHEN", num_args = 0..=1,
          require_equals = true, default_missing_value = "auto", value_enum)]
    pub color: Option<ColorChoice>,

    /// Print a NUL byte after file names instead of ':' or a newline.
    #[arg(short = 'Z', long = "null")]
    pub null: bool,

    /// Name standard input LABEL in output.
    #[arg(long = "label", value_name = "LABEL")]
    pub label: Option<String>,

    /// Flush output after every line.
    #[arg(long = "line-buffered")]
    pub line_buffered: bool,

    /// Also decompress inputs recognised by their first bytes (gzip, bzip2,
    /// xz, zstd), standard input included. Files named .gz, .bz2, .xz or
    /// .zst are always decompressed.
    #[arg(short = 'z', long = "search-zip")]
    pub search_zip: bool,

    /// How a record of a Windows event log (.evtx) becomes a line: kv
    /// (Key=Value pairs, values unescaped; the default) or xml.
    #[arg(long = "evtx-format", value_name = "FORMAT", value_enum, default_value = "kv")]
    pub evtx_format: EvtxFormat,

    /// Search only the lines of the one FILE that start at byte offsets in
    /// [START, END) (END omitted: to the end); offsets and line numbers
    /// stay those of the whole file, and ranges that tile a file select
    /// each line once. Plain files only (not compressed, .evtx or stdin).
    #[arg(long = "byte-range", value_name = "START:END")]
    pub byte_range: Option<ByteRange>,

    /// With --byte-range: the number of the range's first line (default:
    /// counted, reading the file up to START).
    #[arg(long = "line-number-start", value_name = "N", requires = "byte_range")]
    pub line_number_start: Option<u64>,

    /// Read files instead of memory-mapping them.
    #[arg(long = "no-mmap")]
    pub no_mmap: bool,

    /// Search with NUM threads (default: one per core).
    #[arg(short = 'j', long = "threads", value_name = "NUM")]
    pub threads: Option<usize>,

    /// Print the rule's formula, atoms, prefilter and automaton size, and exit.
    #[arg(long = "explain")]
    pub explain: bool,

    /// What a rule means: `grep` (field names dropped, every value a
    /// substring anywhere in the line; the default for one RULE) or
    /// `sigma` (values tested on the fields of JSON, key=value and XML
    /// event lines and event-log records, as a Sigma engine does; the
    /// default with -f).
    #[arg(long = "semantics", value_name = "WHAT", value_parser = ["grep", "sigma"])]
    pub semantics: Option<String>,

    /// Select exactly the lines the legacy pipeline selects: `grep -P -i`
    /// with the regex of `sigmac -t grep` (quirks included; without -i
    /// under --no-ignore-case, as before 2023).
    #[arg(long = "legacy")]
    pub legacy: bool,

    /// Print the regex the legacy `sigmac -t grep` backend emits for RULE
    /// (the text inside `grep -P -i '...'`), one line per rule document,
    /// and exit; where sigmac fails, print its reason and exit 2.
    #[arg(long = "emit-pcre")]
    pub emit_pcre: bool,

    /// Also match each value as a JSON writer escapes it (`\\` for `\`,
    /// `\"` for `"`), for every input. Without this flag, an input whose
    /// sampled first lines are all JSON objects is searched so.
    #[arg(long = "json-escaped", overrides_with = "no_json_escaped")]
    pub json_escaped: bool,

    /// Never match JSON-escaped values (no detection of JSON lines).
    #[arg(long = "no-json-escaped", overrides_with = "json_escaped")]
    pub no_json_escaped: bool,

    /// Show a progress line on stderr (files, bytes, rate, time left),
    /// whenever stderr is a terminal. Without this flag it is shown when
    /// stderr is a terminal and stdout is not.
    #[arg(long = "progress", overrides_with = "no_progress")]
    pub progress: bool,

    /// Never show the progress line.
    #[arg(long = "no-progress", overrides_with = "progress")]
    pub no_progress: bool,

    /// Print help.
    #[arg(long = "help", action = ArgAction::Help)]
    pub help: Option<bool>,
}
