//! `--byte-range START:END` and `--line-number-start N`: ranges that tile
//! a file give exactly the whole file's output (offsets and line numbers
//! of the whole file), whatever bytes the cuts fall on; inputs that cannot
//! be cut are usage errors.

use crate::util::{Dir, Run};

const RULES: &[(&str, &str)] = &[
    (
        "needle.yml",
        "title: needle\nid: n-1\nlevel: high\ndetection:\n  k: ['needle']\n  condition: k\n",
    ),
    (
        "path.yml",
        "title: path\nid: p-1\nlevel: low\ndetection:\n  k: ['\\cmd.exe']\n  condition: k\n",
    ),
];

fn setup(log: &[u8]) -> Dir {
    let dir = Dir::new();
    for (name, text) in RULES {
        dir.create(&format!("rules/{name}"), text);
    }
    dir.create("app.log", log);
    dir
}

/// Lines of every kind: short, long, empty, CRLF, matching one rule or
/// both, a last line without LF.
fn log() -> Vec<u8> {
    let mut log = Vec::new();
    for i in 0..400 {
        let line = match i % 7 {
            0 => format!("{i} needle here"),
            1 => String::new(),
            2 => format!("{i} C:\\Windows\\cmd.exe needle\r"),
            3 => format!("{i} {}", "x".repeat(i * 3)),
            4 => format!("{i} nothing"),
            5 => format!("{i} {} needle", "y".repeat(300)),
            _ => format!("{i} run \\cmd.exe /c"),
        };
        log.extend_from_slice(line.as_bytes());
        log.push(b'\n');
    }
    log.extend_from_slice(b"last needle");
    log
}

fn ok(r: &Run) -> &str {
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    &r.stdout
}

/// The `match` records of a `--json` run, and the `lines` of its `end`
/// (0 when it has none: a whole file).
fn matches(r: &Run) -> (Vec<String>, u64) {
    let mut records = Vec::new();
    let mut lines = None;
    for record in ok(r).lines() {
        if record.starts_with(r#"{"type":"match""#) {
            records.push(record.to_string());
        } else if let Some(rest) = record.strip_prefix(r#"{"type":"end""#) {
            lines = Some(
                rest.find(r#""lines":"#)
                    .map_or(0, |at| rest[at + 8..].trim_end_matches('}').parse().unwrap()),
            );
        }
    }
    (records, lines.expect("an end record"))
}

/// Cuts at every kind of byte: a line start, a LF, the middle of a line,
/// the CR of a CRLF, past the end.
fn cuts(log: &[u8]) -> Vec<u64> {
    let mut cuts: Vec<u64> = vec![1, 2, 17, 4096, 4097, 10_000, 33_333];
    let lf = log.iter().position(|&b| b == b'\n').unwrap() as u64;
    let cr = log.iter().position(|&b| b == b'\r').unwrap() as u64;
    cuts.extend([lf, lf + 1, cr, cr + 1, log.len() as u64 - 3]);
    cuts.sort_unstable();
    cuts.dedup();
    cuts.retain(|&c| c < log.len() as u64);
    cuts
}

#[test]
fn tiling_ranges_give_the_whole_file_records() {
    let log = log();
    let dir = setup(&log);
    let (whole, _) = matches(&dir.run(&["--json", "-f", "rules", "app.log"]));
    assert!(whole.len() > 200, "{}", whole.len());
    let mut bounds = vec![0];
    bounds.extend(cuts(&log));
    let mut counted = Vec::new();
    let mut renumbered = Vec::new();
    let mut next_line = 1;
    for (i, start) in bounds.iter().enumerate() {
        let range = match bounds.get(i + 1) {
            Some(end) => format!("{start}:{end}"),
            None => format!("{start}:"),
        };
        // sigrep counts the lines before the range itself...
        let (records, lines) =
            matches(&dir.run(&["--json", "-f", "rules", "--byte-range", &range, "app.log"]));
        counted.extend(records);
        // ...or is told the first line's number, from the ranges before.
        let first = next_line.to_string();
        let args = ["--json", "-f", "rules", "--byte-range", &range];
        let (records, _) =
            matches(&dir.run(&[&args[..], &["--line-number-start", &first, "app.log"]].concat()));
        renumbered.extend(records);
        next_line += lines;
    }
    assert_eq!(next_line - 1, 401, "lines of all ranges");
    eqnice!(whole.join("\n"), counted.join("\n"));
    eqnice!(whole.join("\n"), renumbered.join("\n"));
}

#[test]
fn grep_output_of_ranges_is_the_whole_files() {
    let log = log();
    let dir = setup(&log);
    let whole = dir.run(&["-n", "-b", "-f", "rules", "app.log"]);
    let half = (log.len() / 2).to_string();
    let first =
        dir.run(&["-n", "-b", "-f", "rules", "--byte-range", &format!("0:{half}"), "app.log"]);
    let second =
        dir.run(&["-n", "-b", "-f", "rules", "--byte-range", &format!("{half}:"), "app.log"]);
    eqnice!(ok(&whole), format!("{}{}", ok(&first), ok(&second)));
    // -c counts per range.
    let count = |range: &str| {
        ok(&dir.run(&["-c", "-f", "rules", "--byte-range", range, "app.log"]))
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    let total: u64 = ok(&dir.run(&["-c", "-f", "rules", "app.log"])).trim().parse().unwrap();
    assert_eq!(count(&format!("0:{half}")) + count(&format!("{half}:")), total);
}

/// A range large enough to be split across threads gives the output of
/// one thread.
#[test]
fn a_large_range_is_split_across_threads() {
    let mut log = Vec::new();
    while log.len() < 12 << 20 {
        log.extend_from_slice(log_line(log.len()).as_bytes());
    }
    let dir = setup(&log);
    let range = format!("1000:{}", log.len() - 1000);
    let args = ["--json", "-f", "rules", "--byte-range", &range, "app.log"];
    let one = dir.run(&[&args[..], &["-j1"]].concat());
    let two = dir.run(&[&args[..], &["-j2"]].concat());
    assert!(ok(&one).len() > 1000);
    eqnice!(ok(&one), ok(&two));
}

fn log_line(at: usize) -> String {
    if at.is_multiple_of(7) {
        format!("{at} a needle in a haystack\n")
    } else {
        format!("{at} hay hay hay hay hay hay hay hay\n")
    }
}

/// JSON-lines detection looks at the file's first bytes, not the range's:
/// a range of a JSON-lines file matches escaped values as the whole does.
#[test]
fn json_lines_are_detected_on_the_whole_file() {
    let mut log = Vec::new();
    for i in 0..2000 {
        let line = if i == 1500 {
            r#"{"Image":"C:\\Windows\\cmd.exe"}"#.to_string()
        } else {
            format!(r#"{{"n":{i},"msg":"plain"}}"#)
        };
        log.extend_from_slice(line.as_bytes());
        log.push(b'\n');
    }
    let dir = setup(&log);
    let range = format!("{}:", log.len() / 2);
    let (whole, _) = matches(&dir.run(&["--json", "-f", "rules", "app.log"]));
    let (part, _) =
        matches(&dir.run(&["--json", "-f", "rules", "--byte-range", &range, "app.log"]));
    assert_eq!(whole.len(), 1);
    assert_eq!(whole, part);
}

#[test]
fn inputs_that_cannot_be_cut_are_usage_errors() {
    let dir = setup(b"needle\n");
    dir.create("old.log.gz", compressed());
    dir.create("Security.evtx", b"ElfFile\0");
    let usage = |args: &[&str], message: &str| {
        let r = dir.run_stdin(args, b"needle\n");
        assert_eq!(r.code, 2, "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains(message), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "");
    };
    let range = ["-f", "rules", "--byte-range", "0:4"];
    usage(&range, "searches one FILE");
    usage(&[&range[..], &["-"]].concat(), "searches one FILE");
    usage(&[&range[..], &["app.log", "app.log"]].concat(), "searches one FILE");
    usage(&[&range[..], &["-r", "."]].concat(), "searches one FILE");
    usage(&[&range[..], &["old.log.gz"]].concat(), "old.log.gz is a compressed file");
    usage(&[&range[..], &["Security.evtx"]].concat(), "Security.evtx is an event log");
    usage(&[&range[..], &["-z", "/dev/stdin"]].concat(), "is not a regular file");
    usage(&["-f", "rules", "--line-number-start", "3", "app.log"], "--byte-range");
    usage(&["-f", "rules", "--byte-range", "4:2", "app.log"], "END is before START");
    // A missing file is an input error as always; an empty file has no
    // lines in any range.
    let r = dir.run(&[&range[..], &["missing.log"]].concat());
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "sigrep: missing.log: No such file or directory\n")
    );
    dir.create("empty.log", "");
    let r = dir.run(&["--json", "-f", "rules", "--byte-range", "0:9", "empty.log"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
}

/// `old.log.gz`: a gzip member of `needle\n`.
fn compressed() -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"needle\n").unwrap();
    gz.finish().unwrap()
}
