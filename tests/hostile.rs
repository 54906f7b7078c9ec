//! Hostile and unusual inputs: correct output or a clear per-file error,
//! never a panic or a hang; the other files are still searched.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use crate::util::{finish, running_as_root, Dir, Run};

const RULE: &str = "title: t\ndetection:\n  k: ['needle']\n  condition: k\n";

fn setup() -> Dir {
    let dir = Dir::new();
    dir.create("rule.yml", RULE);
    dir.create("ok.log", "a needle here\nnothing\n");
    dir
}

#[test]
fn fifo_is_read_as_a_stream() {
    let dir = setup();
    let fifo = dir.path().join("pipe");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        std::fs::write(writer_path, "x\nneedle in a pipe\ny\n").unwrap();
    });
    let r = dir.run(&["-n", "rule.yml", "pipe", "ok.log"]);
    writer.join().unwrap();
    assert_eq!(r.stdout, "pipe:2:needle in a pipe\nok.log:1:a needle here\n");
    assert_eq!(r.code, 0);
}

#[test]
fn proc_files_have_content_despite_size_zero() {
    let dir = Dir::new();
    // /proc/self/status always holds "Name:"; its size is reported as 0.
    dir.create("rule.yml", "title: t\ndetection:\n  k: ['Name:']\n  condition: k\n");
    let r = dir.run(&["-c", "rule.yml", "/proc/self/status"]);
    assert_eq!((r.stdout.as_str(), r.code), ("1\n", 0), "{}", r.stderr);
}

#[test]
fn empty_file_and_dev_null_have_no_lines() {
    let dir = setup();
    dir.create("empty.log", "");
    let r = dir.run(&["-c", "rule.yml", "empty.log", "/dev/null"]);
    assert_eq!((r.stdout.as_str(), r.code), ("empty.log:0\n/dev/null:0\n", 1));
}

#[test]
fn symlink_loop_under_recursive_search_terminates() {
    let dir = setup();
    std::fs::create_dir_all(dir.path().join("tree/sub")).unwrap();
    dir.create("tree/sub/x.log", "needle\n");
    std::os::unix::fs::symlink("..", dir.path().join("tree/sub/loop")).unwrap();
    std::os::unix::fs::symlink("x.log", dir.path().join("tree/sub/link.log")).unwrap();
    let r = dir.run(&["-r", "rule.yml", "tree"]);
    // Links met while walking are not followed (GNU grep -r).
    assert_eq!((r.stdout.as_str(), r.code), ("tree/sub/x.log:needle\n", 0), "{}", r.stderr);
}

#[test]
fn unreadable_and_missing_files_are_reported_and_others_searched() {
    let dir = setup();
    let r = dir.run(&["rule.yml", "missing.log", "ok.log", "."]);
    assert_eq!(r.stdout, "ok.log:a needle here\n");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("sigrep: missing.log: No such file or directory"), "{}", r.stderr);
    assert!(r.stderr.contains("sigrep: .: Is a directory"), "{}", r.stderr);
}

#[test]
fn long_lines_invalid_utf8_and_crlf() {
    let dir = setup();
    let mut data = Vec::new();
    data.extend(std::iter::repeat_n(b'x', 3 << 20));
    data.extend_from_slice(b"needle\r\n\xff\xfe needle \xc3\n");
    data.extend(std::iter::repeat_n(b'y', 1 << 20));
    data.extend_from_slice(b" needle");
    dir.create("odd.log", &data);
    for mode in [&[][..], &["--no-mmap"]] {
        let mut args = vec!["-c"];
        args.extend_from_slice(mode);
        args.extend_from_slice(&["rule.yml", "odd.log"]);
        let r = dir.run(&args);
        assert_eq!((r.stdout.as_str(), r.code), ("3\n", 0), "{mode:?}");
        // The 3 MiB line is printed whole, CR kept.
        let mut args = vec!["-m", "1"];
        args.extend_from_slice(mode);
        args.extend_from_slice(&["rule.yml", "odd.log"]);
        let r = dir.run(&args);
        assert_eq!(r.stdout_bytes.len(), (3 << 20) + "needle\r\n".len(), "{mode:?}");
        assert!(r.stdout_bytes.ends_with(b"needle\r\n"));
    }
}

#[test]
fn deep_nesting_and_bad_rules_are_clear_errors() {
    let dir = Dir::new();
    let deep = format!(
        "title: t\ndetection:\n  k: ['x']\n  condition: {}k{}\n",
        "(".repeat(20_000),
        ")".repeat(20_000)
    );
    dir.create("deep.yml", deep);
    dir.create("andand.yml", "title: t\ndetection:\n  sel: ['x']\n  condition: sel and and sel\n");
    dir.create("yaml.yml", "title: t\ndetection: [unclosed\n");
    dir.create("log", "x\n");
    for (rule, want) in [
        ("deep.yml", "deep.yml:4:"),
        ("andand.yml", "andand.yml:4:22: unexpected 'and'"),
        ("yaml.yml", "yaml.yml:3:"),
    ] {
        let r = dir.run(&[rule, "log"]);
        assert_eq!(r.code, 2, "{rule}: {}", r.stderr);
        assert!(r.stderr.starts_with(&format!("sigrep: {want}")), "{rule}: {}", r.stderr);
    }
}

// ---------------------------------------------------------------------
// Files that change or vanish under the search.
// ---------------------------------------------------------------------

/// `logrotate copytruncate` truncates a log while sigrep has it mapped.
/// Deterministic: sigrep prints every line of `big.log` (more than a pipe
/// and the output buffer hold), so once the test has read the first line
/// sigrep is inside big.log, and it cannot finish it until the test reads
/// on; the test truncates the file first. The reads past the new end
/// fault: the file is reported, nothing but its real lines is printed,
/// the next file is still searched, and the exit status is 2 (a bare
/// SIGBUS death would show as -1).
#[test]
fn file_truncated_while_mapped_is_a_clear_error() {
    let dir = setup();
    let mut big = String::new();
    for i in 0..200_000 {
        big.push_str(&format!("needle line {i:08}\n"));
    }
    let path = dir.create("big.log", &big);
    for to in [0, 100_000] {
        std::fs::write(&path, &big).unwrap();
        let mut cmd = dir.command();
        cmd.args(["-j1", "rule.yml", "big.log", "ok.log"]);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn sigrep");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert_eq!(first, "big.log:needle line 00000000\n");
        std::fs::File::options().write(true).open(&path).unwrap().set_len(to).unwrap();
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let code = child.wait().unwrap().code().unwrap_or(-1);
        assert_eq!(code, 2, "truncated to {to}: {stderr}");
        assert_eq!(
            stderr,
            "sigrep: big.log: file shrank while being searched (truncated by another \
             process?); search it again or use --no-mmap\n"
        );
        let lines: Vec<&str> = std::iter::once(first.trim_end()).chain(rest.lines()).collect();
        let (last, big_lines) = lines.split_last().unwrap();
        assert_eq!(*last, "ok.log:a needle here");
        assert!(big_lines.len() < 200_000, "the truncation came too late");
        for (i, line) in big_lines.iter().enumerate() {
            assert_eq!(*line, format!("big.log:needle line {i:08}"), "truncated to {to}");
        }
    }
}

/// Root reads files whatever their mode, so as root the test drops the two
/// capabilities that let it (setpriv, util-linux); as another user a mode
/// of 000 is enough.
#[test]
fn permission_denied_is_reported_and_others_searched() {
    use std::os::unix::fs::PermissionsExt;
    let dir = setup();
    let secret = dir.create("secret.log", "needle\n");
    std::fs::create_dir_all(dir.path().join("tree/locked")).unwrap();
    dir.create("tree/open.log", "needle in the tree\n");
    dir.create("tree/locked/hidden.log", "needle\n");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let locked = dir.path().join("tree/locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let wrapper: &[&str] = if running_as_root(&dir) {
        const DROP: &[&str] =
            &["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"];
        let probe = std::process::Command::new(DROP[0])
            .args(&DROP[1..])
            .args(["cat", "secret.log"])
            .current_dir(dir.path())
            .output();
        match probe {
            Ok(out) if !out.status.success() => DROP,
            other => {
                crate::util::prerequisite_missing(
                    "permission_denied_is_reported_and_others_searched",
                    &format!(
                        "running as root and `setpriv --bounding-set \
                         -dac_override,-dac_read_search` cannot take away root's right to \
                         read a mode-000 file here ({other:?})"
                    ),
                );
                return;
            }
        }
    } else {
        &[]
    };
    let mut cmd = dir.command_via(wrapper);
    cmd.args(["-r", "rule.yml", "secret.log", "ok.log", "tree"]).stdin(Stdio::null());
    let r: Run = finish(cmd.output().unwrap());
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(r.stdout, "ok.log:a needle here\ntree/open.log:needle in the tree\n");
    assert_eq!(
        r.stderr,
        "sigrep: secret.log: Permission denied\nsigrep: tree/locked: Permission denied\n"
    );
    assert_eq!(r.code, 2);
}

// ---------------------------------------------------------------------
// Output that cannot be written.
// ---------------------------------------------------------------------

/// `> /dev/full`: every write fails with ENOSPC.
#[test]
fn full_disk_is_a_write_error() {
    let dir = setup();
    let mut big = String::new();
    for i in 0..20_000 {
        big.push_str(&format!("needle {i}\n"));
    }
    dir.create("big.log", &big);
    let cases: &[&[&str]] = &[
        &["rule.yml", "ok.log"],
        &["-c", "rule.yml", "ok.log"],
        &["--json", "rule.yml", "ok.log"],
        &["rule.yml", "big.log"],
        &["-j1", "rule.yml", "big.log", "ok.log"],
        &["-j2", "rule.yml", "big.log", "ok.log", "big.log"],
    ];
    for args in cases {
        let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
        let mut cmd = dir.command();
        cmd.args(*args).stdin(Stdio::null()).stdout(full).stderr(Stdio::piped());
        let r = finish(cmd.output().unwrap());
        assert_eq!(r.stderr, "sigrep: write error: No space left on device\n", "{args:?}");
        assert_eq!(r.code, 2, "{args:?}");
    }
}

/// Messages that cannot be written do not turn into a panic (status 101):
/// the exit status still says an error happened.
#[test]
fn full_stderr_keeps_the_exit_status() {
    let dir = setup();
    for args in [&["rule.yml", "missing.log", "ok.log"][..], &["broken.yml", "ok.log"]] {
        dir.create("broken.yml", "title: t\ndetection: [\n");
        let full = std::fs::File::options().write(true).open("/dev/full").unwrap();
        let mut cmd = dir.command();
        cmd.args(args).stdin(Stdio::null()).stderr(full);
        let r = finish(cmd.output().unwrap());
        assert_eq!(r.code, 2, "{args:?}");
    }
}

// ---------------------------------------------------------------------
// Hostile rules: a precise error, exit 2, bounded time and memory.
// ---------------------------------------------------------------------

/// Runs sigrep on one rule and a small log; returns stderr and status.
fn rule_error(dir: &Dir, name: &str, rule: &str) -> (String, i32) {
    dir.create(name, rule);
    dir.create("in.log", "abab x\n");
    let r = dir.run(&[name, "in.log"]);
    assert_eq!(r.stdout, "", "{name}");
    (r.stderr, r.code)
}

#[test]
fn hostile_rules_are_precise_errors() {
    let dir = Dir::new();
    let cases = [
        (
            "modifier.yml",
            "title: t\ndetection:\n  sel:\n    Image|endswith|containz: x\n  condition: sel\n",
            "sigrep: modifier.yml:4:20: unknown modifier 'containz'\n",
        ),
        (
            "undefined.yml",
            "title: t\ndetection:\n  sel:\n    Image: x\n  condition: sel and not filter\n",
            "sigrep: undefined.yml:5:26: unknown definition 'filter'\n",
        ),
        (
            "andand.yml",
            "title: t\ndetection:\n  sel: [x]\n  condition: sel and and\n",
            "sigrep: andand.yml:4:22: unexpected 'and'\n",
        ),
        (
            "tab.yml",
            "title: t\ndetection:\n\tsel: [x]\n  condition: sel\n",
            "sigrep: tab.yml:3:2: invalid YAML: tabs disallowed",
        ),
        (
            "unclosed.yml",
            "title: t\ndetection:\n  sel: 'x\n  condition: sel\n",
            "sigrep: unclosed.yml:",
        ),
        (
            "regex.yml",
            "title: t\ndetection:\n  sel:\n    Image|re: '(?:a|b){1000}{1000}{100}'\n  \
             condition: sel\n",
            "sigrep: regex.yml:4:15: regex too large",
        ),
    ];
    for (name, rule, want) in cases {
        let (stderr, code) = rule_error(&dir, name, rule);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.starts_with(want), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
    }
}

/// A rule with very many values loads in time and memory linear in its
/// size. CI runs 100,000 values (a million take ~10x as long, too long
/// for a debug-build test; see the README's "Hostile input").
#[test]
fn rule_with_a_hundred_thousand_values() {
    let dir = Dir::new();
    let mut rule = String::from("title: t\ndetection:\n  sel:\n    CommandLine|contains:\n");
    for i in 0..100_000 {
        rule.push_str(&format!("      - value{i:07}x\n"));
    }
    rule.push_str("  condition: sel\n");
    dir.create("many.yml", rule);
    dir.create("in.log", "a value0099999x b\nvalue0100000x\nVALUE0000042X\n");
    let r = dir.run(&["-n", "many.yml", "in.log"]);
    assert_eq!((r.stdout.as_str(), r.code), ("1:a value0099999x b\n3:VALUE0000042X\n", 0));
}

// ---------------------------------------------------------------------
// Hostile inputs on the read path (stdin, pipes).
// ---------------------------------------------------------------------

/// Lines far longer than the read buffer, no final newline, NUL bytes,
/// CRLF and invalid UTF-8 through a pipe: matched and printed whole.
#[test]
fn long_and_odd_lines_through_stdin() {
    let dir = setup();
    let mut data = Vec::new();
    data.extend(std::iter::repeat_n(b'x', 5 << 20));
    data.extend_from_slice(b"needle\r\n");
    data.extend_from_slice(b"\xff\xfe needle \xc3\n");
    data.extend(std::iter::repeat_n(b'y', 3 << 20));
    data.extend_from_slice(b" needle");
    let r = dir.run_stdin(&["-c", "rule.yml"], &data);
    assert_eq!((r.stdout.as_str(), r.code), ("3\n", 0));
    let r = dir.run_stdin(&["rule.yml"], &data);
    let mut want = data.clone();
    want.push(b'\n');
    assert!(r.stdout_bytes == want, "lines were split, dropped or changed");
    // A NUL makes the input binary, as GNU grep says it.
    let r = dir.run_stdin(&["rule.yml"], b"a needle\0b\nneedle\n");
    assert_eq!((r.stdout.as_str(), r.code), ("", 0));
    assert_eq!(r.stderr, "sigrep: (standard input): binary file matches\n");
    let r = dir.run_stdin(&["-a", "-c", "rule.yml"], b"a needle\0b\nneedle\n");
    assert_eq!(r.stdout, "2\n");
}

/// A 300 MB line, mapped and read: found, counted once, and printed whole.
#[test]
fn three_hundred_megabyte_line() {
    let dir = setup();
    let mut data = vec![b'z'; 300 << 20];
    data[150 << 20..][..6].copy_from_slice(b"needle");
    dir.create("huge.log", &data);
    for mode in [&[][..], &["--no-mmap"]] {
        let mut args = vec!["-c"];
        args.extend_from_slice(mode);
        args.extend_from_slice(&["rule.yml", "huge.log", "ok.log"]);
        let r = dir.run(&args);
        assert_eq!((r.stdout.as_str(), r.code), ("huge.log:1\nok.log:1\n", 0), "{mode:?}");
    }
    let r = dir.run(&["-h", "rule.yml", "huge.log"]);
    assert_eq!(r.stdout_bytes.len(), data.len() + 1);
    assert!(r.stdout_bytes[..data.len()] == data[..]);
}

/// A matcher whose literals are all one byte long has no automaton
/// pattern; its automaton then looks for a placeholder meant never to
/// occur. A line that holds the placeholder's bytes anyway is decided as
/// any other line (it once counted as an occurrence of the first one-byte
/// literal).
#[test]
fn the_automaton_placeholder_in_a_line_means_nothing() {
    let dir = Dir::new();
    dir.create("rules/x.yml", "title: x\ndetection:\n  k: [x]\n  condition: k\n");
    dir.create("rules/not_y.yml", "title: not y\ndetection:\n  k: [y]\n  condition: not k\n");
    let mut log = b"plain line\n".to_vec();
    log.extend_from_slice(b"\xFF\xFE\xFD never\n");
    log.extend_from_slice(b"an x here\n");
    dir.create("a.log", &log);
    let r = dir.run(&["-a", "-n", "-f", "rules", "a.log"]);
    assert_eq!(r.code, 0, "{r:?}");
    let want: &[u8] = b"1:not_y:plain line\n2:not_y:\xFF\xFE\xFD never\n3:not_y,x:an x here\n";
    assert_eq!(r.stdout_bytes, want, "{}", r.stdout);
}

/// KELVIN SIGN and LONG S fold to `k` and `s` (as `grep -P -i` folds them
/// in a UTF-8 locale), in rule values and in lines, in every mode: a
/// single rule and a rule set, default and `--legacy` semantics, folded and
/// `--no-ignore-case`; lines with and without colour, `-b` offsets and
/// `--json` are those of the line as written.
#[test]
fn case_partners_of_ascii_letters_in_values_and_lines() {
    let dir = Dir::new();
    // A LONG S in a value, an ASCII value with k, a sequence.
    dir.create(
        "rules/partners.yml",
        "title: partners\ndetection:\n  sel: ['Kelvin', '\u{17F}ys', 'ask*ing']\n  condition: sel\n",
    );
    let lines = [
        "Kelvin ok",                                 // 1: as written
        "\u{212A}elvin",                             // 2: KELVIN SIGN for K
        "kelvin",                                    // 3
        "SYS",                                       // 4: S for LONG S
        "\u{17F}ys",                                 // 5: as written
        "a\u{17F}k then ing",                        // 6: LONG S inside a sequence
        "\u{212A} far before: x kelvin at the end",  // 7: partner long before the value
        "a \u{2019} quote, \u{212A}\u{17F} nothing", // 8: partners, no value
        "nothing",                                   // 9
    ];
    dir.create("in.log", &(lines.join("\n") + "\n"));
    let numbers = |r: &crate::util::Run| -> Vec<String> {
        r.stdout.lines().map(|l| l.split(':').next().unwrap().to_string()).collect()
    };
    for rule in [&["rules/partners.yml"][..], &["-f", "rules"][..]] {
        for legacy in [false, true] {
            let mode = |extra: &[&str]| {
                let mut args: Vec<&str> = vec!["-n", "--color=never"];
                if legacy {
                    args.push("--legacy");
                }
                args.extend_from_slice(extra);
                args.extend_from_slice(rule);
                args.push("in.log");
                let r = dir.run(&args);
                assert_eq!(r.stderr, "", "{args:?}");
                r
            };
            let folded = mode(&[]);
            assert_eq!(
                numbers(&folded),
                ["1", "2", "3", "4", "5", "6", "7"],
                "{rule:?} legacy {legacy}"
            );
            // The line printed is the line as written.
            assert!(folded.stdout.contains(":\u{212A}elvin\n"), "{}", folded.stdout);
            let cased = mode(&["--no-ignore-case"]);
            assert_eq!(numbers(&cased), ["1", "5"], "{rule:?} legacy {legacy}");
        }
    }
    // Offsets and JSON are the line's own bytes.
    let r = dir.run(&["-b", "rules/partners.yml", "in.log"]);
    let second = "Kelvin ok\n".len();
    assert!(
        r.stdout.starts_with(&format!("0:Kelvin ok\n{second}:\u{212A}elvin\n")),
        "{}",
        r.stdout
    );
    let r = dir.run(&["--json", "rules/partners.yml", "in.log"]);
    assert!(r.stdout.contains("\"\u{212A}elvin\"") || r.stdout.contains("\\u212a"), "{}", r.stdout);
    // Colour marks the value where it is written, KELVIN SIGN included.
    let r = dir.run(&["--color=always", "rules/partners.yml", "in.log"]);
    let marked = r.stdout.lines().nth(1).unwrap();
    assert!(marked.contains("\u{212A}elvin\x1b["), "{marked:?}");
    assert!(marked.starts_with("\x1b["), "{marked:?}");
}
