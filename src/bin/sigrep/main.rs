//! The sigrep command: flags → library builders → search → exit status.
//!
//! Exit status as GNU grep: 0 when a line was selected, 1 when none, 2 when
//! an error occurred (even if lines were selected), except that `-q` exits
//! 0 at the first selected line. A closed stdout (`| head`) ends the
//! program quietly with status 0.

mod args;
mod engines;
mod legacy;
mod rules;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use clap::Parser;
use sigrep::compile::Program;
use sigrep::printer::json::{self, JsonPrinter};
use sigrep::printer::{FilePrinter, OutputMode, PrintState, PrinterConfig, RuleInfo};
use sigrep::ruleset::RuleSet;
use sigrep::search::{self, walk, BinaryMode, Opened, SearchConfig, Searcher};

use args::{Args, ColorChoice, EvtxFormat};

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::BrokenPipe) => ExitCode::from(0),
        Err(Failure::Message(msg)) => {
            report(&msg);
            ExitCode::from(2)
        }
    }
}

/// Prints `sigrep: MESSAGE` on stderr. A stderr that cannot be written
/// (closed, full disk) loses the message but does not stop the program:
/// the exit status still tells (`eprintln!` would panic instead).
pub(crate) fn report(message: &str) {
    let _ = writeln!(io::stderr().lock(), "sigrep: {message}");
}

/// Why the run stopped early.
pub(crate) enum Failure {
    /// stdout was closed by its reader.
    BrokenPipe,
    /// A fatal error to print.
    Message(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Message(format!("write error: {}", io_message(&e)))
        }
    }
}

/// One thing to search.
#[derive(Clone, Debug)]
enum Target {
    Stdin,
    Path(PathBuf),
    /// A problem found while listing (reported in order).
    Error(String),
}

/// What searching one target produced.
#[derive(Default)]
struct Outcome {
    stdout: Vec<u8>,
    messages: Vec<String>,
    selected: u64,
    error: bool,
    rule_hits: Vec<u64>,
}

struct Ctx<'a> {
    /// The programs; each input gets one (see [`engines`]).
    engines: &'a engines::Engines<'a>,
    search: SearchConfig,
    printer: PrinterConfig,
    mmap: bool,
    /// `-z`: recognise compressed inputs by their first bytes.
    search_zip: bool,
    /// How event log records become lines, and with how many threads.
    evtx: (search::evtx::Rendering, usize),
    quiet_errors: bool,
    stdin_name: String,
    /// Split one large memory-mapped file into this many parts searched
    /// in parallel (1: never).
    split: usize,
}

/// Files smaller than this are not split across threads.
const SPLIT_MIN: usize = 4 << 20;

fn run(args: &Args) -> Result<u8, Failure> {
    if args.emit_pcre {
        return legacy::emit_pcre(args);
    }
    let escaping = engines::JsonEscaping::from_args(args)?;
    let loaded = rules::load(args)?;
    let color = color_choice(args);
    let engines = engines::Engines::new(&loaded.set, escaping, color);
    if escaping != engines::JsonEscaping::Auto || args.explain {
        // One program for every input: a failure to compile it is fatal.
        engines.default().map_err(Failure::Message)?;
    }
    if args.explain {
        let shown = engines.default().map_err(Failure::Message)?;
        explain(&shown.set, &shown.program)?;
        if escaping == engines::JsonEscaping::Auto {
            writeln!(
                io::stdout().lock(),
                "inputs detected as JSON lines are searched with the JSON-escaped program \
                 (--explain --json-escaped shows it)"
            )?;
        }
        return Ok(if loaded.error { 2 } else { 0 });
    }
    let set = &loaded.set;

    let mode = if args.quiet {
        OutputMode::Quiet
    } else if args.files_with_matches {
        OutputMode::FilesWithMatches
    } else if args.files_without_match {
        OutputMode::FilesWithoutMatch
    } else if args.count {
        OutputMode::Count
    } else {
        OutputMode::Lines
    };
    let listing = matches!(
        mode,
        OutputMode::Quiet | OutputMode::FilesWithMatches | OutputMode::FilesWithoutMatch
    );
    let context = args.context.unwrap_or(0);
    let context_given = args.context.is_some() || args.before.is_some() || args.after.is_some();
    let (before, after) = if mode == OutputMode::Lines {
        (args.before.unwrap_or(context), args.after.unwrap_or(context))
    } else {
        (0, 0)
    };
    let search = SearchConfig {
        invert: args.invert,
        max_count: if listing { Some(args.max_count.unwrap_or(1).min(1)) } else { args.max_count },
        before,
        after,
        context_separators: context_given && mode == OutputMode::Lines,
        line_numbers: args.line_number && mode == OutputMode::Lines,
        binary: if args.text {
            BinaryMode::Text
        } else if mode == OutputMode::Lines {
            BinaryMode::Quit
        } else {
            BinaryMode::Ignore
        },
        attribute_rules: false,
    };
    let rule_infos: Option<Arc<Vec<RuleInfo>>> =
        (loaded.multi || args.json || args.stats).then(|| {
            Arc::new(
                set.rules()
                    .iter()
                    .map(|r| RuleInfo {
                        label: r.label(),
                        id: r.rule.id.clone().unwrap_or_default(),
                        title: r.rule.title.clone(),
                        level: r.rule.level.clone().unwrap_or_default(),
                        path: r.source.clone(),
                    })
                    .collect(),
            )
        });
    let search = SearchConfig {
        // Tags are printed with lines, counted by --stats, written by --json.
        attribute_rules: rule_infos.is_some()
            && !args.invert
            && (mode == OutputMode::Lines || args.stats || args.json),
        line_numbers: search.line_numbers || args.json,
        ..search
    };

    let filters = walk::Filters {
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        exclude_dir: args.exclude_dir.clone(),
    };
    let (targets, recursed) = targets(args, &loaded.files, &filters);
    // Like GNU grep, names are shown when several files were named (before
    // --include/--exclude drop any) or a directory was searched.
    let with_filename = if args.with_filename {
        true
    } else if args.no_filename {
        false
    } else {
        loaded.files.len() > 1 || recursed
    };
    let printer = PrinterConfig {
        mode,
        with_filename,
        line_number: args.line_number,
        byte_offset: args.byte_offset,
        null: args.null,
        color,
        // Per program: set for each input in `search_one`.
        highlight: None,
        rules: rule_infos.clone(),
        json: args.json,
        highlight_context: args.invert,
        line_buffered: args.line_buffered || io::stdout().is_terminal(),
    };
    let ctx = Ctx {
        engines: &engines,
        search,
        printer,
        mmap: !args.no_mmap,
        search_zip: args.search_zip,
        evtx: (
            match args.evtx_format {
                EvtxFormat::Kv => search::evtx::Rendering::KeyValue,
                EvtxFormat::Xml => search::evtx::Rendering::Xml,
            },
            threads_wanted(args),
        ),
        quiet_errors: args.no_messages,
        stdin_name: args.label.clone().unwrap_or_else(|| "(standard input)".to_string()),
        split: 1,
    };
    let threads = threads_wanted(args);
    // One file and spare cores: split it at line boundaries (not with
    // context or -m, whose output depends on neighbouring parts).
    let split = if targets.len() == 1
        && !context_given
        && args.max_count.is_none()
        && matches!(mode, OutputMode::Lines | OutputMode::Count)
    {
        threads
    } else {
        1
    };
    // As GNU grep since 3.5, -L too succeeds when a line was selected.
    let ctx = Ctx { split, ..ctx };
    let totals = search_all(&ctx, &targets, threads, args.quiet)?;
    let (selected, error) = (totals.selected > 0, totals.error || loaded.error);
    if let Some(infos) = &rule_infos {
        let mut out = io::stdout().lock();
        if args.json {
            json::write_summary(
                &mut out,
                targets.len() as u64,
                totals.selected,
                infos,
                &totals.rule_hits,
            )?;
        } else if args.stats {
            write_stats(&mut out, infos, &totals)?;
        }
        out.flush()?;
    }
    Ok(if args.quiet && selected {
        0
    } else if error {
        2
    } else if selected {
        0
    } else {
        1
    })
}

/// Whether to colour output (`--color`, a terminal, NO_COLOR, TERM).
fn color_choice(args: &Args) -> bool {
    match args.color.unwrap_or_default() {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

pub(crate) fn io_message(e: &io::Error) -> String {
    // "No such file or directory" without Rust's " (os error 2)".
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The targets in argument order, and whether a directory was walked.
fn targets(args: &Args, operands: &[PathBuf], filters: &walk::Filters) -> (Vec<Target>, bool) {
    let mut out = Vec::new();
    let mut recursed = false;
    let implicit = operands.is_empty();
    let files: Vec<PathBuf> = if implicit {
        vec![PathBuf::from(if args.recursive { "." } else { "-" })]
    } else {
        operands.to_vec()
    };
    for file in files {
        if file.as_os_str() == "-" {
            out.push(Target::Stdin);
            continue;
        }
        if args.recursive && file.is_dir() {
            recursed = true;
            // With no operand, GNU grep names files relative to "." without
            // a "./" prefix.
            for entry in walk::walk(&file, filters) {
                match entry {
                    walk::Entry::File(p) if implicit => out.push(Target::Path(
                        p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p),
                    )),
                    walk::Entry::File(p) => out.push(Target::Path(p)),
                    walk::Entry::Error(p, e) => {
                        out.push(Target::Error(format!("{}: {}", p.display(), io_message(&e))))
                    }
                }
            }
        } else if filters.accepts_file(&file) || args.include.is_empty() && args.exclude.is_empty()
        {
            out.push(Target::Path(file));
        }
    }
    (out, recursed)
}

/// A writer that remembers whether writing failed, so a failed search can
/// be told apart: output errors end the run, input errors end one file.
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

/// `-j`, or one thread per core.
fn threads_wanted(args: &Args) -> usize {
    args.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Searches one target, printing into `out`.
///
/// # Errors
/// Only output errors; input problems are reported in the outcome.
fn search_one(
    ctx: &Ctx<'_>,
    target: &Target,
    state: &mut PrintState,
    out: &mut dyn Write,
) -> Result<Outcome, io::Error> {
    let mut outcome = Outcome::default();
    let (name, opened) = match target {
        Target::Error(msg) => {
            outcome.error = true;
            if !ctx.quiet_errors {
                outcome.messages.push(msg.clone());
            }
            return Ok(outcome);
        }
        Target::Stdin => {
            let stdin: Box<dyn io::Read + Send> = Box::new(io::stdin());
            let reader = if ctx.search_zip { search::decode::sniff(stdin) } else { Ok(stdin) };
            (ctx.stdin_name.clone(), reader.map(|r| Opened::Input(search::SearchInput::Reader(r))))
        }
        Target::Path(p) => (p.display().to_string(), search::open(p, ctx.mmap, ctx.search_zip)),
    };
    // An event log's records, rendered as lines: the record ids become the
    // line numbers, and damage is reported after the readable records.
    let mut record_ids = None;
    let mut damage = None;
    let opened = match (opened, target) {
        (Ok(Opened::EventLog), Target::Path(p)) => search::evtx::render(p, ctx.evtx.0, ctx.evtx.1)
            .map(|rendered| {
                record_ids = Some(rendered.record_ids);
                damage = rendered.damage;
                let text = io::Cursor::new(rendered.text);
                Opened::Input(search::SearchInput::Reader(Box::new(text)))
            }),
        (opened, _) => opened,
    };
    let mut input = match opened {
        Ok(Opened::Input(input)) => input,
        Ok(Opened::EventLog) => unreachable!("event logs are rendered above"),
        Ok(Opened::Directory) => {
            outcome.error = true;
            if !ctx.quiet_errors {
                outcome.messages.push(format!("{name}: Is a directory"));
            }
            // GNU grep then treats it as an empty file: `-c` prints 0 and
            // `-L` lists it.
            let mut printer = FilePrinter::new(&ctx.printer, name.as_bytes(), out, state);
            printer.finish(&search::Summary::default())?;
            return Ok(outcome);
        }
        Err(e) => {
            outcome.error = true;
            if !ctx.quiet_errors {
                outcome.messages.push(format!("{name}: {}", io_message(&e)));
            }
            return Ok(outcome);
        }
    };
    // The program for this input: a JSON-lines input may need the
    // JSON-escaped one, with its own highlighter.
    let engine = match ctx.engines.for_input(&mut input) {
        Ok(engine) => engine,
        Err(e) => {
            outcome.error = true;
            if !ctx.quiet_errors {
                outcome.messages.push(format!("{name}: {e}"));
            }
            return Ok(outcome);
        }
    };
    let program = &engine.program;
    let colored;
    let printer = if ctx.printer.color {
        colored = PrinterConfig { highlight: engine.highlight.clone(), ..ctx.printer.clone() };
        &colored
    } else {
        &ctx.printer
    };
    let mut out = Tracked { inner: out, failed: None };
    if let search::SearchInput::Mapped(map) = &input {
        if ctx.split > 1 && map.len() >= SPLIT_MIN && !Searcher::probe_is_binary(map) {
            let result =
                search_split(ctx, program, printer, &name, map, state, &mut out, &mut outcome);
            if let Some(e) = out.failed {
                return Err(e);
            }
            if let Err(e) = result {
                outcome.error = true;
                outcome.messages.push(format!("{name}: {}", io_message(&e)));
            }
            return Ok(outcome);
        }
    }
    let mut searcher = Searcher::new(program, ctx.search.clone());
    let mut search = |sink: &mut dyn search::Sink| match &record_ids {
        Some(ids) => searcher
            .search(&mut input, &mut search::evtx::Renumber { inner: sink, record_ids: ids }),
        None => searcher.search(&mut input, sink),
    };
    let searched = if printer.json {
        let mut printer = JsonPrinter::new(printer, &name, &mut out, state);
        let r = search(&mut printer).and_then(|summary| {
            printer.finish(&summary)?;
            Ok(summary)
        });
        outcome.rule_hits = printer.rule_hits;
        r
    } else {
        let mut printer = FilePrinter::new(printer, name.as_bytes(), &mut out, state);
        let r = search(&mut printer).and_then(|summary| {
            printer.finish(&summary)?;
            Ok(summary)
        });
        outcome.messages = std::mem::take(&mut printer.messages);
        outcome.rule_hits = printer.rule_hits;
        r
    };
    match searched {
        Ok(summary) => outcome.selected = summary.selected,
        Err(e) => {
            outcome.error = true;
            if !ctx.quiet_errors && out.failed.is_none() {
                outcome.messages.push(format!("{name}: {}", io_message(&e)));
            }
        }
    }
    if let Some(damage) = damage {
        outcome.error = true;
        if !ctx.quiet_errors {
            outcome.messages.push(format!("{name}: {damage}"));
        }
    }
    if let Some(e) = out.failed {
        return Err(e);
    }
    Ok(outcome)
}

/// What one part of a split file produced.
#[derive(Default)]
struct Part {
    stdout: Vec<u8>,
    messages: Vec<String>,
    summary: search::Summary,
    rule_hits: Vec<u64>,
}

/// Bytes of input per part of a split file. Parts are searched by the
/// threads in turn and printed in order; small parts keep the threads
/// busy to the end and the buffered output small.
const SPLIT_PART: usize = 1 << 20;

/// Parts searched but not yet printed, per thread: the bound on buffered
/// output (with every line tagged by many rules, the output of a part is a
/// few times its input).
const SPLIT_AHEAD: usize = 4;

/// The hand-out of parts to the threads of a split search.
struct Dispatch {
    /// Where the next part starts, and its first line's number.
    next_start: usize,
    next_line: u64,
    next_index: usize,
    /// Parts printed so far.
    printed: usize,
    /// Set when printing stopped early: the threads take no more parts.
    stop: bool,
}

/// Searches one large mapped file with `ctx.split` threads, in parts of
/// [`SPLIT_PART`] bytes cut at line ends, and prints the parts in order as
/// they complete: the output is the same as a one-thread search (tests
/// compare them), and at most [`SPLIT_AHEAD`] parts per thread wait in
/// memory, however large the file and its output. Output stops after a
/// part that reported a binary file match, as a one-thread search stops
/// there.
#[allow(clippy::too_many_arguments)]
fn search_split(
    ctx: &Ctx<'_>,
    program: &Program,
    printer: &PrinterConfig,
    name: &str,
    map: &search::MappedFile,
    state: &mut PrintState,
    out: &mut dyn Write,
    outcome: &mut Outcome,
) -> io::Result<()> {
    let hay: &[u8] = map;
    let threads = ctx.split;
    let numbered = ctx.search.line_numbers;
    let dispatch = Mutex::new(Dispatch {
        next_start: 0,
        next_line: 1,
        next_index: 0,
        printed: 0,
        stop: false,
    });
    let turn = Condvar::new();
    // The next part for a thread, once fewer than the bound wait unprinted.
    let take = || -> Option<(usize, usize, usize, u64)> {
        let mut d = dispatch.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if d.stop || d.next_start >= hay.len() {
                return None;
            }
            if d.next_index - d.printed < SPLIT_AHEAD * threads {
                break;
            }
            d = turn.wait(d).unwrap_or_else(|e| e.into_inner());
        }
        let start = d.next_start;
        let target = (start + SPLIT_PART).min(hay.len());
        let end = memchr::memchr(b'\n', &hay[target..]).map_or(hay.len(), |i| target + i + 1);
        let first_line = d.next_line;
        if numbered {
            // Counting is many times faster than searching: done here,
            // in order, it costs the threads little waiting.
            d.next_line += search::count_newlines(&hay[start..end]) as u64;
        }
        let index = d.next_index;
        d.next_start = end;
        d.next_index += 1;
        Some((index, start, end, first_line))
    };
    let search_part = |searcher: &mut Searcher<'_>, start, end, first_line| -> io::Result<Part> {
        let mut part = Part::default();
        let mut local = PrintState::default();
        if printer.json {
            let mut p = JsonPrinter::new(printer, name, &mut part.stdout, &mut local);
            part.summary =
                searcher.search_mapped_part(map, start, end, first_line, false, &mut p)?;
            part.rule_hits = p.rule_hits;
        } else {
            let mut p = FilePrinter::new(printer, name.as_bytes(), &mut part.stdout, &mut local);
            part.summary =
                searcher.search_mapped_part(map, start, end, first_line, false, &mut p)?;
            part.messages = std::mem::take(&mut p.messages);
            part.rule_hits = p.rule_hits;
        }
        Ok(part)
    };
    let (done, parts) = std::sync::mpsc::channel::<(usize, io::Result<Part>)>();
    let mut total = search::Summary::default();
    let printed = std::thread::scope(|scope| -> io::Result<()> {
        for _ in 0..threads {
            let done = done.clone();
            let (take, search_part) = (&take, &search_part);
            scope.spawn(move || {
                let mut searcher = Searcher::new(program, ctx.search.clone());
                while let Some((index, start, end, first_line)) = take() {
                    let part = search_part(&mut searcher, start, end, first_line);
                    let failed = part.is_err();
                    if done.send((index, part)).is_err() || failed {
                        return;
                    }
                }
            });
        }
        drop(done);
        // Print the parts in order; stop (and let the threads stop) at an
        // error, a binary match, or a failed write.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        let stop = || {
            dispatch.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
            turn.notify_all();
        };
        for (index, part) in parts.iter() {
            waiting.insert(index, part);
            while let Some(part) = waiting.remove(&next) {
                let part = match part {
                    Ok(part) => part,
                    Err(e) => {
                        stop();
                        return Err(e);
                    }
                };
                if let Err(e) = out.write_all(&part.stdout) {
                    stop();
                    return Err(e);
                }
                outcome.messages.extend(part.messages);
                total.selected += part.summary.selected;
                if outcome.rule_hits.len() < part.rule_hits.len() {
                    outcome.rule_hits.resize(part.rule_hits.len(), 0);
                }
                for (t, h) in outcome.rule_hits.iter_mut().zip(&part.rule_hits) {
                    *t += h;
                }
                if part.summary.binary_match {
                    total.binary_match = true;
                    stop();
                    return Ok(());
                }
                next += 1;
                dispatch.lock().unwrap_or_else(|e| e.into_inner()).printed = next;
                turn.notify_all();
            }
        }
        Ok(())
    });
    printed?;
    outcome.selected = total.selected;
    if printer.json {
        JsonPrinter::new(printer, name, out, state).finish(&total)
    } else {
        FilePrinter::new(printer, name.as_bytes(), out, state).finish(&total)
    }
}

/// What the whole search found.
#[derive(Default)]
struct Totals {
    selected: u64,
    error: bool,
    rule_hits: Vec<u64>,
}

/// Prints `--stats`: lines selected per rule, most first.
fn write_stats(out: &mut dyn Write, infos: &[RuleInfo], totals: &Totals) -> io::Result<()> {
    let mut hits: Vec<(usize, u64)> =
        totals.rule_hits.iter().copied().enumerate().filter(|&(_, n)| n > 0).collect();
    hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    writeln!(
        out,
        "sigrep stats: {} selected lines; {} of {} rules hit",
        totals.selected,
        hits.len(),
        infos.len()
    )?;
    for (r, n) in hits {
        writeln!(out, "{n:>10}  {}  {}", infos[r].label, infos[r].title)?;
    }
    Ok(())
}

/// Searches every target, `threads` at a time, printing in argument order.
fn search_all(
    ctx: &Ctx<'_>,
    targets: &[Target],
    threads: usize,
    quiet: bool,
) -> Result<Totals, Failure> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut state = PrintState::default();
    let mut totals = Totals::default();
    let mut emit =
        |o: Outcome, out: &mut io::BufWriter<io::StdoutLock<'_>>| -> Result<bool, Failure> {
            out.write_all(&o.stdout)?;
            if !o.messages.is_empty() {
                out.flush()?;
                for m in &o.messages {
                    report(m);
                }
            }
            if ctx.printer.line_buffered {
                out.flush()?;
            }
            totals.selected += o.selected;
            totals.error |= o.error;
            if totals.rule_hits.len() < o.rule_hits.len() {
                totals.rule_hits.resize(o.rule_hits.len(), 0);
            }
            for (t, h) in totals.rule_hits.iter_mut().zip(&o.rule_hits) {
                *t += h;
            }
            Ok(quiet && o.selected > 0)
        };
    if threads <= 1 || targets.len() <= 1 {
        // Stream straight to stdout.
        for t in targets {
            let o = search_one(ctx, t, &mut state, &mut out)?;
            if emit(o, &mut out)? {
                break;
            }
        }
    } else {
        let slots: Mutex<Vec<Option<(Outcome, PrintState)>>> =
            Mutex::new((0..targets.len()).map(|_| None).collect());
        let ready = Condvar::new();
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let printed = AtomicUsize::new(0);
        let window = threads * 4;
        std::thread::scope(|scope| -> Result<(), Failure> {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= targets.len() || stop.load(Ordering::SeqCst) {
                        break;
                    }
                    // Do not run too far ahead of the printer.
                    {
                        let mut guard = slots.lock().unwrap();
                        while i >= printed.load(Ordering::SeqCst) + window
                            && !stop.load(Ordering::SeqCst)
                        {
                            guard = ready.wait(guard).unwrap();
                        }
                    }
                    // Each file gets its own separator state; the printer
                    // thread fixes up the first "--" below.
                    let mut local = PrintState { printed_group: true };
                    let mut buf = Vec::new();
                    let mut o =
                        search_one(ctx, &targets[i], &mut local, &mut buf).unwrap_or_default();
                    o.stdout = buf;
                    slots.lock().unwrap()[i] = Some((o, local));
                    ready.notify_all();
                });
            }
            let mut result = Ok(());
            for i in 0..targets.len() {
                let (mut o, local) = {
                    let mut guard = slots.lock().unwrap();
                    loop {
                        if let Some(item) = guard[i].take() {
                            break item;
                        }
                        guard = ready.wait(guard).unwrap();
                    }
                };
                // The worker assumed a group was printed before; if none
                // was, drop the leading separator it wrote.
                if !state.printed_group {
                    strip_leading_separator(&mut o.stdout, ctx.printer.color);
                }
                state.printed_group |= local.printed_group && !o.stdout.is_empty();
                printed.store(i + 1, Ordering::SeqCst);
                ready.notify_all();
                match emit(o, &mut out) {
                    Ok(false) => {}
                    Ok(true) => {
                        stop.store(true, Ordering::SeqCst);
                        ready.notify_all();
                        break;
                    }
                    Err(e) => {
                        stop.store(true, Ordering::SeqCst);
                        ready.notify_all();
                        result = Err(e);
                        break;
                    }
                }
            }
            result
        })?;
    }
    out.flush()?;
    Ok(totals)
}

/// Removes a `--` line at the start of a file's output.
fn strip_leading_separator(out: &mut Vec<u8>, color: bool) {
    let sep: &[u8] = if color { b"\x1b[36m\x1b[K--\x1b[m\x1b[K\n" } else { b"--\n" };
    if out.starts_with(sep) {
        out.drain(..sep.len());
    }
}

/// A regex over every atom, for colouring matched text.
pub(crate) fn highlighter(program: &Program) -> Option<regex::bytes::Regex> {
    if program.atoms().is_empty() {
        return None;
    }
    let alts: Vec<String> =
        program.atoms().iter().map(|a| format!("(?:{})", a.to_regex())).collect();
    regex::bytes::RegexBuilder::new(&alts.join("|")).size_limit(64 << 20).build().ok()
}

fn explain(set: &RuleSet, program: &Program) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    for (i, r) in set.rules().iter().enumerate() {
        writeln!(out, "rule {i}: {} (document {})", r.rule.title, r.rule.document)?;
        writeln!(out, "  formula: {}", r.formula)?;
    }
    writeln!(out, "atoms: {}", program.atoms().len())?;
    for (i, a) in program.atoms().iter().enumerate() {
        writeln!(out, "  a{i}: {}", a.to_regex())?;
    }
    match program.prefilter() {
        Some(pf) => {
            let lits: Vec<String> = pf
                .literals()
                .iter()
                .map(|l| {
                    format!(
                        "{:?}{}",
                        String::from_utf8_lossy(&l.bytes),
                        if l.ascii_fold { "i" } else { "" }
                    )
                })
                .collect();
            writeln!(out, "prefilter: {}", lits.join(" "))?;
        }
        None => writeln!(out, "prefilter: none (every line is examined)")?,
    }
    match program.automaton_patterns() {
        Some(n) => {
            let (complex, always) = program.complex_atoms();
            let on_demand = program.on_demand_atoms();
            writeln!(
                out,
                "automaton: Aho-Corasick and a one-byte table over {n} literal patterns; {complex} \
                 atoms checked by their own regex ({always} on every line); {on_demand} atoms \
                 checked only when a rule's evaluation needs them"
            )?
        }
        None => writeln!(out, "automaton: none (per-atom evaluation)")?,
    }
    Ok(())
}
