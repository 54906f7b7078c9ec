//! Hostile and unusual inputs: correct output or a clear per-file error,
//! never a panic or a hang; the other files are still searched.

use crate::util::Dir;

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
