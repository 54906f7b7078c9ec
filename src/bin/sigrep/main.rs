//! The sigrep command: flags → library builders → [`sigrep::run`] → exit
//! status.
//!
//! Exit status as GNU grep: 0 when a line was selected, 1 when none, 2 when
//! an error occurred (even if lines were selected), except that `-q` exits
//! 0 at the first selected line. A closed stdout (`| head`) ends the
//! program quietly with status 0.

mod args;
mod legacy;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use sigrep::lower::Options;
use sigrep::printer::OutputMode;
use sigrep::ruleset::RuleSelector;
use sigrep::run::{progress, Error, ErrorKind, JsonEscaping, RuleSource, RunnerBuilder};
use sigrep::search::{evtx, walk};

use args::{Args, ColorChoice, EvtxFormat};

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
    if args.emit_pcre {
        return legacy::emit_pcre(args);
    }
    let (rules, files) = rule_source(args)?;
    let loaded = rules.load(&mut report)?;
    let rules_error = loaded.error;
    let bar = progress::on_stderr(either(args.progress, args.no_progress));
    let runner = runner_builder(args)
        .progress(bar.clone().map(|b| b as Arc<dyn sigrep::run::Progress>))
        .build(loaded)?;
    let stdout: Box<dyn Write> = match &bar {
        // Both on the terminal (--progress): output is written with the
        // progress line hidden.
        Some(bar) if io::stdout().is_terminal() => {
            Box::new(progress::Suspending { inner: io::stdout().lock(), line: bar.clone() })
        }
        _ => Box::new(io::stdout().lock()),
    };
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout);
    if args.explain {
        runner.explain(&mut out)?;
        out.flush()?;
        return Ok(if rules_error { 2 } else { 0 });
    }
    let found = match &bar {
        // Messages go to stderr with the progress line hidden.
        Some(bar) => runner.run(files, &mut out, &mut |m| bar.suspend(|| report(m))),
        None => runner.run(files, &mut out, &mut report),
    }?;
    Ok(found.exit_status())
}

/// The rules the flags name, and the operands left for inputs.
fn rule_source(args: &Args) -> Result<(RuleSource, &[std::path::PathBuf]), Error> {
    let mut logsource = Vec::new();
    for pair in &args.logsource {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            Error::new(ErrorKind::Usage, format!("--logsource: '{pair}' is not KEY=VALUE"))
        })?;
        logsource.push((k.trim().to_string(), v.trim().to_string()));
    }
    let single = args.rules.is_empty();
    let (paths, files) = if single {
        let Some((rule, files)) = args.operands.split_first() else {
            return Err(Error::new(
                ErrorKind::Usage,
                "no rule given (usage: sigrep RULE [FILE]...)",
            ));
        };
        (vec![rule.clone()], files)
    } else {
        (args.rules.clone(), &args.operands[..])
    };
    let source = RuleSource {
        paths,
        single,
        legacy: args.legacy,
        options: Options { ignore_case: !args.no_ignore_case, ..Options::default() },
        selector: RuleSelector {
            levels: args.level.clone(),
            statuses: args.status.clone(),
            tags: args.tag.clone(),
            ids: args.id.clone(),
            logsource,
        },
    };
    Ok((source, files))
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
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
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
        .color(color_choice(args))
        .line_buffered(args.line_buffered || io::stdout().is_terminal())
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
        .threads(threads)
        .quiet_errors(args.no_messages)
        .stdin_label(args.label.as_deref().unwrap_or("(standard input)"))
        .json_escaping(json_escaping);
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
