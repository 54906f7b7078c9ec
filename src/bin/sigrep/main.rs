//! The sigrep command: flags → library builders ([`sigrep::run`]) → exit
//! status.
//!
//! Exit status as GNU grep: 0 when a line was selected, 1 when none, 2 when
//! an error occurred (even if lines were selected), except that `-q` exits
//! 0 at the first selected line. A closed stdout (`| head`) ends the
//! program quietly with status 0.

mod args;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sigrep::lower::{Options, Semantics};
use sigrep::printer::OutputMode;
use sigrep::ruleset::RuleSelector;
use sigrep::run::{self, ColorChoice, Error, ErrorKind, JsonEscaping, RuleSource, RunnerBuilder};
use sigrep::search::{evtx, walk};

use args::{Args, EvtxFormat};

/// mimalloc rather than the system allocator: compiling a rule set makes
/// and frees millions of small values, a fifth of the start-up in glibc's
/// malloc and free. Without transparent huge pages (`no_thp`): with them
/// runs were a few percent faster still, but peak RSS grew by 25-80 MB
/// and the kernel's compaction on page faults made some start-ups nearly
/// twice as long. Measured with all SigmaHQ rules (benches/README.md):
/// start-up 0.84x, JSON events 0.92x, Linux 0.90x, Windows 0.97x; peak RSS
/// within a few MB. The library leaves the choice to its users.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => ExitCode::from(0),
        Err(e) => {
            report(&e.to_string());
            ExitCode::from(2)
        }
    }
}

/// Prints `sigrep: MESSAGE` on stderr. A stderr that cannot be written
/// (closed, full disk) loses the message but does not stop the program:
/// the exit status still tells (`eprintln!` would panic instead).
fn report(message: &str) {
    let _ = writeln!(io::stderr().lock(), "sigrep: {message}");
}

fn run(args: &Args) -> Result<u8, Error> {
    let usage = |message: &str| Error::new(ErrorKind::Usage, message);
    if args.emit_pcre {
        let rule = match args.operands.as_slice() {
            [rule] => rule,
            [] => return Err(usage("no rule given (usage: sigrep --emit-pcre RULE)")),
            _ => return Err(usage("--emit-pcre takes one RULE and no FILE")),
        };
        io::stdout().lock().write_all(&run::emit_pcre(rule)?)?;
        return Ok(0);
    }
    // One RULE operand before the FILEs, or rule sets with -f.
    let (paths, files) = match (args.rules.is_empty(), args.operands.split_first()) {
        (false, _) => (args.rules.clone(), &args.operands[..]),
        (true, Some((rule, files))) => (vec![rule.clone()], files),
        (true, None) => return Err(usage("no rule given (usage: sigrep RULE [FILE]...)")),
    };
    let loaded = rule_source(args, paths)?.load(&mut report)?;
    let rules_error = loaded.error;
    let runner = runner_builder(args).build(loaded)?;
    if args.explain {
        runner.explain_on_stdout()?;
        return Ok(if rules_error { 2 } else { 0 });
    }
    let outcome = runner.run_on_stdout(files, &mut report);
    // The process ends here: freeing the compiled rules one allocation at
    // a time (a whole rule set's programs are hundreds of thousands) would
    // cost a twentieth of a second for memory the process gives back
    // anyway. Nothing the runner holds needs its destructor (output is
    // flushed; a mapped file is unmapped by the exit).
    std::mem::forget(runner);
    Ok(outcome?.exit_status())
}

/// The rules the flags name.
fn rule_source(args: &Args, paths: Vec<PathBuf>) -> Result<RuleSource, Error> {
    let semantics = match (args.semantics.as_deref(), args.legacy) {
        (Some("sigma"), true) => {
            return Err(Error::new(ErrorKind::Usage, "--legacy is grep semantics, not sigma"))
        }
        (Some("sigma"), false) => Semantics::Sigma,
        (Some(_), _) | (None, true) => Semantics::Grep,
        // A rule set is a hunt over events; one rule is grep's meaning.
        (None, false) if args.rules.is_empty() => Semantics::Grep,
        (None, false) => Semantics::Sigma,
    };
    Ok(RuleSource {
        single: args.rules.is_empty(),
        paths,
        legacy: args.legacy,
        options: Options { semantics, ignore_case: !args.no_ignore_case, ..Options::default() },
        selector: RuleSelector {
            levels: args.level.clone(),
            statuses: args.status.clone(),
            tags: args.tag.clone(),
            ids: args.id.clone(),
            logsource: run::logsource_pairs(&args.logsource)?,
        },
    })
}

/// The runner the flags describe.
fn runner_builder(args: &Args) -> RunnerBuilder {
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
    let json_escaping = match either(args.json_escaped, args.no_json_escaped) {
        Some(true) => JsonEscaping::Always,
        Some(false) => JsonEscaping::Never,
        None => JsonEscaping::Auto,
    };
    let mut builder = RunnerBuilder::new();
    builder
        .mode(mode)
        .json(args.json)
        .stats(args.stats)
        .invert(args.invert)
        .max_count(args.max_count)
        .context(args.context)
        .before(args.before)
        .after(args.after)
        .line_number(args.line_number)
        .byte_offset(args.byte_offset)
        .with_filename(either(args.with_filename, args.no_filename))
        .null(args.null)
        .color(match args.color.unwrap_or_default() {
            args::ColorChoice::Auto => ColorChoice::Auto,
            args::ColorChoice::Always => ColorChoice::Always,
            args::ColorChoice::Never => ColorChoice::Never,
        })
        .line_buffered(args.line_buffered.then_some(true))
        .text(args.text)
        .recursive(args.recursive)
        .filters(walk::Globs {
            include: args.include.clone(),
            exclude: args.exclude.clone(),
            exclude_dir: args.exclude_dir.clone(),
        })
        .mmap(!args.no_mmap)
        .search_zip(args.search_zip)
        .evtx_rendering(match args.evtx_format {
            EvtxFormat::Kv => evtx::Rendering::KeyValue,
            EvtxFormat::Xml => evtx::Rendering::Xml,
        })
        .threads(args.threads)
        .quiet_errors(args.no_messages)
        .stdin_label(args.label.as_deref().unwrap_or("(standard input)"))
        .json_escaping(json_escaping)
        .progress_line(either(args.progress, args.no_progress))
        .byte_range(args.byte_range)
        .line_number_start(args.line_number_start);
    builder
}

/// A pair of flags that override each other (`-H`/`-h`): `Some(true)`
/// for the first, `Some(false)` for the second, `None` for neither.
fn either(yes: bool, no: bool) -> Option<bool> {
    if yes {
        Some(true)
    } else if no {
        Some(false)
    } else {
        None
    }
}
