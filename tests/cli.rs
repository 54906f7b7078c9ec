//! Command-line behaviour, compared with GNU grep where the two overlap.
//!
//! A Sigma rule whose only detection is a keyword list of one plain word
//! means "the line contains the word, in any case": exactly what
//! `grep -i -F WORD` selects. Most tests here run sigrep with such a rule
//! and `/usr/bin/grep -i -F foo` (GNU grep 3.8, `LC_ALL=C.UTF-8`) with the
//! same flags over the same files, and require the same standard output,
//! the same exit status and the same messages (with `grep:` read as
//! `sigrep:`). Those tests are skipped, with a message, when GNU grep 3.8
//! is not installed there. The other tests (rule errors, broken pipe,
//! `--no-mmap`, `-j`, `--explain`) need only sigrep.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::util::{Dir, Run};

/// The rule every grep comparison uses: "the line contains foo".
const FOO_RULE: &str = "\
title: t
detection:
    keywords:
        - 'foo'
    condition: keywords
";

/// The grep command line equivalent to [`FOO_RULE`].
const GREP_PATTERN: [&str; 4] = ["-i", "-F", "-e", "foo"];

const GREP: &str = "/usr/bin/grep";

/// True when `/usr/bin/grep` is GNU grep 3.8 (the version the expected
/// outputs are pinned to).
fn have_grep() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| {
        Command::new(GREP).arg("--version").env("LC_ALL", "C.UTF-8").output().ok().is_some_and(
            |o| String::from_utf8_lossy(&o.stdout).starts_with("grep (GNU grep) 3.8\n"),
        )
    })
}

/// Runs a command to completion, feeding `stdin` if given.
fn exec(mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("spawn");
    let writer = stdin.map(|input| {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        })
    });
    let out = child.wait_with_output().expect("wait");
    if let Some(w) = writer {
        w.join().unwrap();
    }
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Makes NUL and ESC visible for diffs.
fn visible(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace('\0', "\\0").replace('\x1b', "\\e")
}

/// Reads grep's messages as sigrep's: `grep: ` at a line start becomes
/// `sigrep: `.
fn as_sigrep_messages(stderr: &str) -> String {
    stderr
        .lines()
        .map(|l| match l.strip_prefix("grep: ") {
            Some(rest) => format!("sigrep: {rest}\n"),
            None => format!("{l}\n"),
        })
        .collect()
}

/// A data directory, and the foo rule kept in a directory of its own (so
/// that `-r` over the data directory does not find it).
struct Fx {
    dir: Dir,
    _rules: Dir,
    rule: String,
    /// Differences from grep found so far.
    diffs: RefCell<Vec<String>>,
    /// Flags given to sigrep only (such as `-j`).
    sigrep_only: RefCell<Vec<String>>,
}

impl Fx {
    fn new() -> Fx {
        Fx::with_rule(FOO_RULE)
    }

    fn with_rule(rule: &str) -> Fx {
        let rules = Dir::new();
        let path: PathBuf = rules.create("rule.yml", rule);
        Fx {
            dir: Dir::new(),
            rule: path.display().to_string(),
            _rules: rules,
            diffs: RefCell::new(Vec::new()),
            sigrep_only: RefCell::new(Vec::new()),
        }
    }

    fn create(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        self.dir.create(name, contents)
    }

    fn mkdir(&self, name: &str) {
        std::fs::create_dir_all(self.dir.path().join(name)).unwrap();
    }

    /// sigrep FLAGS RULE FILES.
    fn sigrep(&self, flags: &[&str], files: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut cmd = self.dir.command();
        cmd.args(self.sigrep_only.borrow().iter()).args(flags).arg(&self.rule).args(files);
        exec(cmd, stdin)
    }

    /// grep FLAGS -i -F -e foo FILES, in the same directory and locale.
    fn grep(&self, flags: &[&str], files: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut cmd = Command::new(GREP);
        // grep names itself after argv[0].
        cmd.arg0("grep");
        cmd.current_dir(self.dir.path());
        cmd.env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.env("LC_ALL", "C.UTF-8");
        cmd.args(flags).args(GREP_PATTERN).args(files);
        exec(cmd, stdin)
    }

    /// Runs both and requires the same stdout, stderr and exit status.
    /// Returns sigrep's run.
    fn same(&self, flags: &[&str], files: &[&str]) -> Run {
        self.same_input(flags, files, None)
    }

    /// As [`Fx::same`], with `input` on standard input.
    fn same_stdin(&self, flags: &[&str], files: &[&str], input: &[u8]) -> Run {
        self.same_input(flags, files, Some(input))
    }

    fn same_input(&self, flags: &[&str], files: &[&str], input: Option<&[u8]>) -> Run {
        let want = self.grep(flags, files, input);
        let got = self.sigrep(flags, files, input);
        self.check(flags, files, &want, &got, false);
        got
    }

    /// As [`Fx::same`], but stdout and stderr are compared as sorted sets
    /// of lines (for `-r`, whose order is the directory's for grep and by
    /// name for sigrep).
    fn same_sorted(&self, flags: &[&str], files: &[&str]) -> Run {
        let want = self.grep(flags, files, None);
        let got = self.sigrep(flags, files, None);
        self.check(flags, files, &want, &got, true);
        got
    }

    /// Checks one output against a literal (what grep gives), recording a
    /// difference like [`Fx::check`] does.
    fn expect(&self, want: &str, got: &str) {
        if want != got {
            let msg =
                format!("=== differs from the expected literal\nwant:\n{want}~~~ got:\n{got}~~~");
            eprintln!("{msg}\n");
            self.diffs.borrow_mut().push(format!("literal {want:?}"));
        }
    }

    /// Records every difference between grep's run and sigrep's; the test
    /// fails when the fixture is dropped, listing them all.
    fn check(&self, flags: &[&str], files: &[&str], want: &Run, got: &Run, sorted: bool) {
        let norm = |s: String| {
            if sorted {
                let mut v: Vec<&str> = s.lines().collect();
                v.sort_unstable();
                v.join("\n")
            } else {
                s
            }
        };
        let mut problems = Vec::new();
        let (w, g) = (norm(visible(&want.stdout_bytes)), norm(visible(&got.stdout_bytes)));
        if w != g || (!sorted && want.stdout_bytes != got.stdout_bytes) {
            problems.push(format!("stdout, grep:\n{w}\n~~~ sigrep:\n{g}\n~~~"));
        }
        let (w, g) = (norm(as_sigrep_messages(&want.stderr)), norm(got.stderr.clone()));
        if w != g {
            problems.push(format!("stderr, grep:\n{w}\n~~~ sigrep:\n{g}\n~~~"));
        }
        if want.code != got.code {
            problems.push(format!("exit status: grep {}, sigrep {}", want.code, got.code));
        }
        if !problems.is_empty() {
            let msg = format!(
                "=== differs from grep: flags {flags:?} files {files:?}\n{}",
                problems.join("\n")
            );
            eprintln!("{msg}\n");
            self.diffs.borrow_mut().push(msg.lines().next().unwrap_or_default().to_string());
        }
    }
}

impl Drop for Fx {
    fn drop(&mut self) {
        let diffs = self.diffs.take();
        if !diffs.is_empty() && !std::thread::panicking() {
            panic!(
                "{} difference(s) from GNU grep (details above):\n{}",
                diffs.len(),
                diffs.join("\n")
            );
        }
    }
}

/// Skips a grep comparison test when GNU grep 3.8 is not there.
macro_rules! need_grep {
    ($name:expr) => {
        if !have_grep() {
            $crate::util::prerequisite_missing($name, &format!("{GREP} is not GNU grep 3.8"));
            return;
        }
    };
}

/// Eleven lines, matches (in several cases) on lines 2, 5 and 10.
const TEXT: &str = "a\nfoo 1\nb\nc\nFOO 2\nd\ne\nf\ng\nxFoOx 3\nh\n";

/// A small tree of files for the multi-file tests.
fn files() -> Fx {
    let fx = Fx::new();
    fx.create("a.txt", TEXT);
    fx.create("b.txt", "nothing here\nnor here\n");
    fx.create("c.txt", "foo at the start\nmiddle\nend foo\n");
    fx.create("empty.txt", "");
    fx
}

// ---------------------------------------------------------------------
// Output shape, compared with GNU grep.
// ---------------------------------------------------------------------

#[test]
fn grep_plain_lines() {
    need_grep!("grep_plain_lines");
    let fx = files();
    let r = fx.same(&[], &["a.txt"]);
    fx.expect("foo 1\nFOO 2\nxFoOx 3\n", &r.stdout);
    assert_eq!(0, r.code);
    let r = fx.same(&[], &["b.txt"]);
    assert_eq!(1, r.code);
    fx.same(&[], &["a.txt", "b.txt", "c.txt"]);
    fx.same(&["-i"], &["a.txt"]);
}

#[test]
fn grep_count() {
    need_grep!("grep_count");
    let fx = files();
    let r = fx.same(&["-c"], &["a.txt"]);
    fx.expect("3\n", &r.stdout);
    fx.same(&["-c"], &["b.txt"]);
    let r = fx.same(&["-c"], &["a.txt", "b.txt", "c.txt", "empty.txt"]);
    fx.expect("a.txt:3\nb.txt:0\nc.txt:2\nempty.txt:0\n", &r.stdout);
    fx.same(&["-c", "-v"], &["a.txt", "b.txt", "c.txt", "empty.txt"]);
    fx.same(&["-c", "-h"], &["a.txt", "c.txt"]);
    fx.same(&["-c", "-H"], &["a.txt"]);
    fx.same(&["-c", "-m", "2"], &["a.txt", "c.txt"]);
    fx.same(&["-c", "-n", "-C", "2"], &["a.txt"]);
}

#[test]
fn grep_files_with_matches() {
    need_grep!("grep_files_with_matches");
    let fx = files();
    let r = fx.same(&["-l"], &["a.txt", "b.txt", "c.txt", "empty.txt"]);
    fx.expect("a.txt\nc.txt\n", &r.stdout);
    fx.same(&["-l", "-v"], &["a.txt", "b.txt", "c.txt", "empty.txt"]);
    fx.same(&["-l"], &["b.txt", "empty.txt"]);
    fx.same(&["-l"], &["a.txt"]);
    fx.same(&["-l", "-n", "-c"], &["a.txt", "b.txt"]);
}

#[test]
fn grep_files_without_match() {
    need_grep!("grep_files_without_match");
    let fx = files();
    let r = fx.same(&["-L"], &["a.txt", "b.txt", "c.txt", "empty.txt"]);
    fx.expect("b.txt\nempty.txt\n", &r.stdout);
    fx.same(&["-L"], &["a.txt", "c.txt"]);
    fx.same(&["-L", "-v"], &["a.txt", "b.txt", "empty.txt"]);
}

/// GNU grep 3.5 and later: `-L` succeeds when a line is selected, not
/// when a file is listed; listing only files without matches exits 1.
#[test]
fn grep_files_without_match_exit_status() {
    need_grep!("grep_files_without_match_exit_status");
    let fx = files();
    let r = fx.same(&["-L"], &["b.txt"]);
    fx.expect("b.txt\n", &r.stdout);
    fx.expect("1", &r.code.to_string());
    fx.same(&["-L"], &["b.txt", "empty.txt"]);
}

#[test]
fn grep_line_number_and_byte_offset() {
    need_grep!("grep_line_number_and_byte_offset");
    let fx = files();
    let r = fx.same(&["-n"], &["a.txt"]);
    fx.expect("2:foo 1\n5:FOO 2\n10:xFoOx 3\n", &r.stdout);
    let r = fx.same(&["-b"], &["a.txt"]);
    fx.expect("2:foo 1\n12:FOO 2\n26:xFoOx 3\n", &r.stdout);
    fx.same(&["-n", "-b"], &["a.txt", "c.txt"]);
    fx.same(&["-b", "-v"], &["a.txt"]);
    fx.same(&["-n", "-v"], &["a.txt", "c.txt"]);
    fx.same(&["-nb", "-H"], &["c.txt"]);
}

#[test]
fn grep_with_and_without_filename() {
    need_grep!("grep_with_and_without_filename");
    let fx = files();
    let r = fx.same(&["-H"], &["a.txt"]);
    fx.expect("a.txt:foo 1\na.txt:FOO 2\na.txt:xFoOx 3\n", &r.stdout);
    fx.same(&["-h"], &["a.txt", "c.txt"]);
    fx.same(&["-h", "-n"], &["a.txt", "c.txt"]);
    fx.same(&["-H", "-h"], &["a.txt", "c.txt"]);
    fx.same(&["-h", "-H"], &["a.txt"]);
}

#[test]
fn grep_invert() {
    need_grep!("grep_invert");
    let fx = files();
    let r = fx.same(&["-v"], &["a.txt"]);
    fx.expect("a\nb\nc\nd\ne\nf\ng\nh\n", &r.stdout);
    fx.same(&["-v"], &["b.txt"]);
    fx.same(&["-v"], &["a.txt", "b.txt", "c.txt", "empty.txt"]);
    fx.create("all.txt", "foo\nFOO\nfoofoo\n");
    let r = fx.same(&["-v"], &["all.txt"]);
    assert_eq!(1, r.code);
}

#[test]
fn grep_quiet() {
    need_grep!("grep_quiet");
    let fx = files();
    let r = fx.same(&["-q"], &["a.txt"]);
    assert_eq!((0, ""), (r.code, r.stdout.as_str()));
    let r = fx.same(&["-q"], &["b.txt", "empty.txt"]);
    assert_eq!(1, r.code);
    fx.same(&["-q", "-v"], &["a.txt"]);
    fx.same(&["-q", "-c", "-n"], &["a.txt", "b.txt"]);
    fx.same(&["--silent"], &["a.txt"]);
}

#[test]
fn grep_max_count() {
    need_grep!("grep_max_count");
    let fx = files();
    let r = fx.same(&["-m", "1"], &["a.txt"]);
    fx.expect("foo 1\n", &r.stdout);
    fx.same(&["-m", "2", "-n"], &["a.txt", "c.txt"]);
    fx.same(&["-m", "0"], &["a.txt"]);
    fx.same(&["-m", "1", "-v"], &["a.txt"]);
    fx.same(&["-m", "5"], &["a.txt"]);
    fx.same(&["-m1", "-l"], &["a.txt", "b.txt"]);
    // Trailing context after the last counted line is printed, even when
    // it holds matches.
    let r = fx.same(&["-m", "1", "-A", "4", "-n"], &["a.txt"]);
    fx.expect("2:foo 1\n3-b\n4-c\n5-FOO 2\n6-d\n", &r.stdout);
    fx.same(&["-m", "2", "-C", "1"], &["a.txt", "c.txt"]);
}

#[test]
fn grep_after_context() {
    need_grep!("grep_after_context");
    let fx = files();
    let r = fx.same(&["-A", "1"], &["a.txt"]);
    fx.expect("foo 1\nb\n--\nFOO 2\nd\n--\nxFoOx 3\nh\n", &r.stdout);
    fx.same(&["-A", "2", "-n"], &["a.txt"]);
    fx.same(&["-A", "5", "-n"], &["a.txt"]);
    fx.same(&["-A", "1", "-b", "-H"], &["a.txt"]);
    fx.same(&["-A", "3"], &["c.txt"]);
}

/// A context of 0 lines still separates non-adjacent groups with "--".
#[test]
fn grep_zero_context_separators() {
    need_grep!("grep_zero_context_separators");
    let fx = files();
    let r = fx.same(&["-A", "0"], &["a.txt"]);
    fx.expect("foo 1\n--\nFOO 2\n--\nxFoOx 3\n", &r.stdout);
    fx.same(&["-B", "0", "-n"], &["a.txt"]);
    fx.same(&["-C", "0"], &["a.txt", "c.txt"]);
    fx.create("adj.txt", "foo\nfoo\nx\nfoo\n");
    fx.same(&["-C", "0"], &["adj.txt"]);
}

#[test]
fn grep_before_context() {
    need_grep!("grep_before_context");
    let fx = files();
    let r = fx.same(&["-B", "1"], &["a.txt"]);
    fx.expect("a\nfoo 1\n--\nc\nFOO 2\n--\ng\nxFoOx 3\n", &r.stdout);
    fx.same(&["-B", "2", "-n"], &["a.txt"]);
    fx.same(&["-B", "4", "-n"], &["a.txt"]);
    fx.same(&["-B", "9", "-b"], &["a.txt"]);
    fx.same(&["-B", "1", "-A", "2", "-n"], &["a.txt"]);
}

#[test]
fn grep_context_groups() {
    need_grep!("grep_context_groups");
    let fx = files();
    // Overlapping groups merge.
    fx.same(&["-C", "2", "-n"], &["a.txt"]);
    fx.same(&["-C", "3", "-n"], &["a.txt"]);
    // Adjacent groups (the after-context of one ends right before the
    // before-context of the next) are not separated by "--".
    fx.create("adj.txt", "foo\nx\ny\nfoo\n1\n2\n3\nfoo\n");
    fx.same(&["-A", "2"], &["adj.txt"]);
    fx.same(&["-B", "2", "-n"], &["adj.txt"]);
    fx.same(&["-C", "1", "-n"], &["adj.txt"]);
    fx.same(&["-A", "1", "-B", "1"], &["adj.txt"]);
    // A gap of one line does separate them.
    fx.same(&["-A", "1"], &["adj.txt"]);
    // Consecutive selected lines.
    fx.create("run.txt", "a\nfoo\nfoo\nfoo\nb\nc\nd\nfoo\n");
    fx.same(&["-C", "1", "-n"], &["run.txt"]);
    fx.same(&["-v", "-C", "1", "-n"], &["run.txt"]);
    fx.same(&["-v", "-A", "1"], &["a.txt"]);
}

#[test]
fn grep_context_across_files() {
    need_grep!("grep_context_across_files");
    let fx = files();
    let r = fx.same(&["-C", "1"], &["a.txt", "c.txt"]);
    assert!(r.stdout.contains("a.txt-h\n--\nc.txt:foo at the start\n"), "{}", r.stdout);
    fx.same(&["-C", "1", "-n"], &["a.txt", "b.txt", "c.txt", "empty.txt"]);
    // No "--" before the first group printed, even when earlier files
    // printed nothing.
    fx.same(&["-A", "1"], &["b.txt", "empty.txt", "c.txt", "b.txt", "a.txt"]);
    fx.same(&["-B", "2", "-h"], &["c.txt", "a.txt"]);
    fx.same(&["-C", "1", "-Z"], &["a.txt", "c.txt"]);
    // The same file twice: its groups do not merge across files.
    fx.same(&["-C", "5"], &["c.txt", "c.txt"]);
}

#[test]
fn grep_null_after_names() {
    need_grep!("grep_null_after_names");
    let fx = files();
    let r = fx.same(&["-Z", "-l"], &["a.txt", "b.txt", "c.txt"]);
    assert_eq!(b"a.txt\0c.txt\0".to_vec(), r.stdout_bytes);
    fx.same(&["-Z", "-L"], &["a.txt", "b.txt", "c.txt"]);
    let r = fx.same(&["-Z", "-c"], &["a.txt", "b.txt"]);
    assert_eq!(b"a.txt\x003\nb.txt\x000\n".to_vec(), r.stdout_bytes);
    fx.same(&["-Z"], &["a.txt", "c.txt"]);
    fx.same(&["-Z", "-n", "-b"], &["a.txt", "c.txt"]);
    fx.same(&["-Z", "-n", "-A", "1"], &["a.txt", "c.txt"]);
    // Without a file name, -Z changes nothing.
    fx.same(&["-Z"], &["a.txt"]);
    fx.same(&["-Z", "-c"], &["a.txt"]);
}

#[test]
fn grep_stdin_and_label() {
    need_grep!("grep_stdin_and_label");
    let fx = files();
    let input = TEXT.as_bytes();
    let r = fx.same_stdin(&[], &[], input);
    fx.expect("foo 1\nFOO 2\nxFoOx 3\n", &r.stdout);
    fx.same_stdin(&[], &["-"], input);
    let r = fx.same_stdin(&["-H"], &["-"], input);
    fx.expect(
        "(standard input):foo 1\n(standard input):FOO 2\n(standard input):xFoOx 3\n",
        &r.stdout,
    );
    let r = fx.same_stdin(&["--label", "LOG", "-H", "-n"], &["-"], input);
    fx.expect("LOG:2:foo 1\nLOG:5:FOO 2\nLOG:10:xFoOx 3\n", &r.stdout);
    fx.same_stdin(&["--label=LOG", "-c"], &["c.txt", "-", "b.txt"], input);
    fx.same_stdin(&["--label=LOG", "-l"], &["b.txt", "-"], input);
    fx.same_stdin(&["--label=LOG", "-L"], &["-", "b.txt"], b"nothing\n");
    fx.same_stdin(&["--label=LOG", "-C", "1"], &["c.txt", "-"], input);
    fx.same_stdin(&["-c"], &[], b"");
    fx.same_stdin(&["-n", "-b"], &[], b"foo\r\nbar\nfoo");
}

#[test]
fn grep_missing_file_among_others() {
    need_grep!("grep_missing_file_among_others");
    let fx = files();
    let r = fx.same(&[], &["a.txt", "missing.txt", "c.txt"]);
    fx.expect("sigrep: missing.txt: No such file or directory\n", &r.stderr);
    assert_eq!(2, r.code);
    assert!(r.stdout.contains("c.txt:end foo\n"), "{}", r.stdout);
    fx.same(&["-c"], &["missing.txt", "a.txt"]);
    fx.same(&["-l"], &["a.txt", "missing.txt"]);
    fx.same(&["-L"], &["a.txt", "missing.txt", "b.txt"]);
    fx.same(&[], &["missing.txt"]);
    fx.same(&[], &["b.txt", "missing.txt"]);
    fx.same(&["-C", "1"], &["a.txt", "missing.txt", "c.txt"]);
    fx.same(&[], &["missing.txt", "nope/also-missing.txt", "a.txt"]);
}

#[test]
fn grep_no_messages() {
    need_grep!("grep_no_messages");
    let fx = files();
    fx.mkdir("sub");
    let r = fx.same(&["-s"], &["a.txt", "missing.txt"]);
    fx.expect("", &r.stderr);
    assert_eq!(2, r.code);
    fx.same(&["-s"], &["missing.txt"]);
    fx.same(&["-s"], &["sub", "c.txt"]);
    fx.same(&["-s", "-q"], &["missing.txt", "a.txt"]);
    fx.same(&["-s", "-c"], &["missing.txt", "b.txt"]);
}

#[test]
fn grep_directory_without_recursive() {
    need_grep!("grep_directory_without_recursive");
    let fx = files();
    fx.create("sub/inner.txt", "foo\n");
    let r = fx.same(&[], &["sub"]);
    fx.expect("sigrep: sub: Is a directory\n", &r.stderr);
    assert_eq!(2, r.code);
    let r = fx.same(&[], &["a.txt", "sub", "c.txt"]);
    assert_eq!(2, r.code);
    fx.same(&["-l"], &["sub", "a.txt"]);
    fx.same(&["-q"], &["sub"]);
}

/// After "Is a directory", grep goes on as if the directory were an
/// empty file: `-c` prints `DIR:0` and `-L` lists it.
#[test]
fn grep_directory_counts_as_empty_file() {
    need_grep!("grep_directory_counts_as_empty_file");
    let fx = files();
    fx.mkdir("sub");
    let r = fx.same(&["-c"], &["sub", "a.txt"]);
    fx.expect("sub:0\na.txt:3\n", &r.stdout);
    fx.same(&["-L"], &["sub", "a.txt"]);
    fx.same(&["-c", "-s"], &["sub", "a.txt"]);
}

#[test]
fn grep_recursive() {
    need_grep!("grep_recursive");
    let fx = Fx::new();
    fx.create("tree/a.log", "foo a\nbar\n");
    fx.create("tree/b.txt", "nothing\n");
    fx.create("tree/sub/c.log", "x\nFOO c\n");
    fx.create("tree/sub/deeper/d.txt", "foo d\nfoo d2\n");
    fx.create("tree/sub/e.txt", "");
    fx.create("tree/z/f.log", "more FOO\n");
    fx.create("top.txt", "foo top\n");
    fx.mkdir("tree/emptydir");
    let r = fx.same_sorted(&["-r"], &["tree"]);
    assert!(r.stdout.contains("tree/sub/deeper/d.txt:foo d2\n"), "{}", r.stdout);
    fx.same_sorted(&["-r", "-n"], &["tree"]);
    fx.same_sorted(&["-r", "-c"], &["tree"]);
    fx.same_sorted(&["-r", "-l"], &["tree"]);
    fx.same_sorted(&["-r", "-L"], &["tree"]);
    fx.same_sorted(&["-r", "-h"], &["tree"]);
    fx.same_sorted(&["-r"], &["tree/sub"]);
    fx.same_sorted(&["-r"], &["tree/sub/", "top.txt"]);
    fx.same_sorted(&["-r"], &["tree/sub/deeper/d.txt"]);
    fx.same_sorted(&["-r", "-c"], &["tree/emptydir"]);
    fx.same_sorted(&["-r"], &["tree/missing"]);
    // A tree with one file per directory has only one order.
    let fx = Fx::new();
    fx.create("t/x.txt", "foo 1\n");
    fx.create("t/u/v/y.txt", "foo 2\nfoo 3\n");
    let r = fx.same(&["-r", "-n"], &["t/u"]);
    fx.expect("t/u/v/y.txt:1:foo 2\nt/u/v/y.txt:2:foo 3\n", &r.stdout);
}

/// `-r` without a file searches "." and names files without "./".
#[test]
fn grep_recursive_default_directory() {
    need_grep!("grep_recursive_default_directory");
    let fx = Fx::new();
    fx.create("a.txt", "foo a\n");
    fx.create("sub/b.txt", "b FOO\n");
    let r = fx.same_sorted(&["-r"], &[]);
    let mut names: Vec<&str> = r.stdout.lines().collect();
    names.sort_unstable();
    fx.expect("a.txt:foo a\nsub/b.txt:b FOO\n", &(names.join("\n") + "\n"));
    fx.same_sorted(&["-r"], &["."]);
    fx.same_sorted(&["-r", "-l"], &[]);
}

#[test]
fn grep_recursive_include_exclude() {
    need_grep!("grep_recursive_include_exclude");
    let fx = Fx::new();
    fx.create("tree/a.log", "foo a\n");
    fx.create("tree/b.txt", "foo b\n");
    fx.create("tree/sub/c.log", "foo c\n");
    fx.create("tree/sub/d.txt", "foo d\n");
    fx.create("tree/sub/e.LOG", "foo e\n");
    fx.create("tree/skip/f.log", "foo f\n");
    let r = fx.same_sorted(&["-r", "--include=*.log"], &["tree"]);
    assert!(!r.stdout.contains(".txt"), "{}", r.stdout);
    fx.same_sorted(&["-r", "--exclude=*.log"], &["tree"]);
    fx.same_sorted(&["-r", "--include=*.log", "--include=d.*"], &["tree"]);
    fx.same_sorted(&["-r", "--include=*.log", "--exclude=c.*"], &["tree"]);
    fx.same_sorted(&["-r", "--exclude=?.txt"], &["tree"]);
    fx.same_sorted(&["-r", "--include=[ab].*"], &["tree"]);
    fx.same_sorted(&["-r", "--exclude-dir=skip"], &["tree"]);
    fx.same_sorted(&["-r", "-l", "--exclude-dir=sub", "--include=*.log"], &["tree"]);
    fx.same_sorted(&["-r", "-c", "--exclude=*.log"], &["tree", "tree/a.log"]);
}

/// `--include` and `--exclude` filter files named on the command line
/// too; whether names are printed still depends on how many were named.
#[test]
fn grep_include_exclude_command_line_files() {
    need_grep!("grep_include_exclude_command_line_files");
    let fx = Fx::new();
    fx.create("a.log", "foo a\n");
    fx.create("b.txt", "foo b\n");
    fx.create("c.txt", "foo c\n");
    let r = fx.same(&["--exclude=*.log"], &["a.log", "b.txt"]);
    fx.expect("b.txt:foo b\n", &r.stdout);
    fx.same(&["--include=*.log"], &["a.log", "b.txt"]);
    fx.same(&["--exclude=*.log"], &["a.log", "b.txt", "c.txt"]);
    fx.same(&["--exclude=*.txt"], &["a.log"]);
    fx.same(&["--exclude=*.txt", "-c"], &["b.txt", "c.txt"]);
}

#[test]
fn grep_last_line_without_newline() {
    need_grep!("grep_last_line_without_newline");
    let fx = Fx::new();
    fx.create("nonl.txt", "a\nfoo\nb\nlast foo");
    fx.create("nonl2.txt", "foo\nlast");
    let r = fx.same(&[], &["nonl.txt"]);
    fx.expect("foo\nlast foo\n", &r.stdout);
    fx.same(&["-c"], &["nonl.txt"]);
    fx.same(&["-v"], &["nonl.txt", "nonl2.txt"]);
    fx.same(&["-A", "1", "-n"], &["nonl2.txt"]);
    fx.same(&["-b", "-n"], &["nonl.txt"]);
    fx.same(&["-C", "1"], &["nonl.txt", "nonl2.txt"]);
    fx.same_stdin(&["-n"], &[], b"x\nfoo");
    fx.create("onlyfoo.txt", "foo");
    fx.same(&[], &["onlyfoo.txt"]);
}

#[test]
fn grep_crlf_lines() {
    need_grep!("grep_crlf_lines");
    let fx = Fx::new();
    fx.create("crlf.txt", "a\r\nfoo\r\nb\r\nFOO\r\n\r\nfoo");
    let r = fx.same(&[], &["crlf.txt"]);
    assert_eq!(b"foo\r\nFOO\r\nfoo\n".to_vec(), r.stdout_bytes);
    fx.same(&["-n", "-b"], &["crlf.txt"]);
    fx.same(&["-v"], &["crlf.txt"]);
    fx.same(&["-c"], &["crlf.txt"]);
    fx.same(&["-C", "1", "-H"], &["crlf.txt"]);
    fx.create("cr.txt", "foo\rbar\rbaz\n");
    fx.same(&["-n"], &["cr.txt"]);
}

#[test]
fn grep_empty_inputs() {
    need_grep!("grep_empty_inputs");
    let fx = Fx::new();
    fx.create("empty.txt", "");
    fx.create("newline.txt", "\n");
    for flags in [&[][..], &["-c"], &["-l"], &["-L"], &["-v"], &["-v", "-c"], &["-q"]] {
        fx.same(flags, &["empty.txt"]);
        fx.same(flags, &["/dev/null"]);
        fx.same(flags, &["newline.txt"]);
        fx.same(flags, &["empty.txt", "/dev/null", "newline.txt"]);
        fx.same_stdin(flags, &[], b"");
    }
    let r = fx.same(&["-v", "-n"], &["newline.txt"]);
    fx.expect("1:\n", &r.stdout);
}

#[test]
fn grep_binary_file() {
    need_grep!("grep_binary_file");
    let fx = files();
    fx.create("bin.dat", b"header\0stuff\nfoo here\nbar\n");
    fx.create("binlate.dat", b"foo first\nbar\nx\0y\nfoo again\n");
    fx.create("binnomatch.dat", b"x\0y\nbar\n");
    let r = fx.same(&[], &["bin.dat"]);
    fx.expect("", &r.stdout);
    fx.expect("sigrep: bin.dat: binary file matches\n", &r.stderr);
    assert_eq!(0, r.code);
    fx.same(&[], &["binlate.dat"]);
    let r = fx.same(&[], &["binnomatch.dat"]);
    assert_eq!(1, r.code);
    fx.same(&[], &["a.txt", "bin.dat", "c.txt"]);
    fx.same(&["-n", "-C", "1"], &["a.txt", "bin.dat", "c.txt"]);
    fx.same(&["-v"], &["bin.dat"]);
    fx.same(&["-H"], &["bin.dat"]);
    fx.same_stdin(&[], &[], b"foo\0\nfoo\n");
    fx.same(&["-q"], &["bin.dat"]);
    fx.same(&["-s"], &["bin.dat"]);
}

#[test]
fn grep_binary_file_as_text() {
    need_grep!("grep_binary_file_as_text");
    let fx = Fx::new();
    fx.create("bin.dat", b"header\0stuff\nfoo\0here\nbar\nFOO\n");
    let r = fx.same(&["-a"], &["bin.dat"]);
    assert_eq!(b"foo\0here\nFOO\n".to_vec(), r.stdout_bytes);
    fx.same(&["-a", "-n", "-b"], &["bin.dat"]);
    fx.same(&["-a", "-v"], &["bin.dat"]);
    fx.same(&["-a", "-C", "1"], &["bin.dat"]);
    fx.same(&["--text", "-c"], &["bin.dat"]);
}

#[test]
fn grep_binary_file_count_and_list() {
    need_grep!("grep_binary_file_count_and_list");
    let fx = files();
    fx.create("bin.dat", b"header\0stuff\nfoo here\nbar\nfoo there\n");
    fx.create("binnomatch.dat", b"x\0y\nbar\n");
    let r = fx.same(&["-c"], &["bin.dat"]);
    fx.expect("2\n", &r.stdout);
    fx.same(&["-c"], &["a.txt", "bin.dat", "binnomatch.dat"]);
    fx.same(&["-l"], &["bin.dat", "binnomatch.dat", "a.txt"]);
    fx.same(&["-L"], &["bin.dat", "binnomatch.dat", "a.txt"]);
    fx.same(&["-c", "-m", "1"], &["bin.dat"]);
}

/// Intended difference: in a binary file GNU grep also treats each NUL as
/// a line end (it "zaps" NULs to newlines), so `foo\0foo` counts twice
/// there. sigrep's lines end only at LF in every file (see the `search`
/// module docs), so counts do not depend on whether a file is binary.
#[test]
fn binary_file_lines_end_only_at_lf() {
    let fx = Fx::new();
    fx.create("bin.dat", b"foo\0foo\nfoo\n");
    fx.create("bin3.dat", b"\0foo\n");
    let r = fx.dir.run(&["-c", &fx.rule, "bin.dat"]);
    assert_eq!((r.stdout.as_str(), r.code), ("2\n", 0));
    let r = fx.dir.run(&["-v", &fx.rule, "bin3.dat"]);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str(), r.code), ("", "", 1));
}

#[test]
fn grep_many_files_in_parallel() {
    need_grep!("grep_many_files_in_parallel");
    let fx = Fx::new();
    let mut names = Vec::new();
    for i in 0..40 {
        let name = format!("f{i:02}.txt");
        let body = match i % 5 {
            0 => String::new(),
            1 => "nothing\nhere\n".to_string(),
            2 => format!("foo {i}\nctx\nctx\nctx\nfoo {i} again\n"),
            3 => format!("ctx\nFOO {i}\n"),
            _ => format!("x\ny\nz\nfoo {i}"),
        };
        fx.create(&name, body);
        names.push(name);
        if i % 13 == 7 {
            names.push(format!("missing{i}.txt"));
        }
    }
    fx.create("bin.dat", b"\0\nfoo\n");
    names.insert(20, "bin.dat".to_string());
    let files: Vec<&str> = names.iter().map(String::as_str).collect();
    for flags in [
        &[][..],
        &["-n"],
        &["-C", "1"],
        &["-A", "1", "-n"],
        &["-B", "2", "-h"],
        &["-c"],
        &["-l"],
        &["-L"],
        &["-v", "-C", "1"],
        &["-m", "1", "-A", "5"],
        &["-Z", "-C", "1"],
    ] {
        // The default thread count, then more threads than cores and one.
        for j in [None, Some("-j5"), Some("-j1")] {
            *fx.sigrep_only.borrow_mut() = j.into_iter().map(String::from).collect();
            fx.same(flags, &files);
        }
    }
}

// ---------------------------------------------------------------------
// Colour.
// ---------------------------------------------------------------------

#[test]
fn color_always_matches_grep() {
    need_grep!("color_always_matches_grep");
    let fx = files();
    fx.create("many.txt", "foo FOO fOo\nfoofoo\nxfoox\n");
    let r = fx.same(&["--color=always"], &["a.txt"]);
    eqnice!(
        "\x1b[01;31m\x1b[Kfoo\x1b[m\x1b[K 1\n\
         \x1b[01;31m\x1b[KFOO\x1b[m\x1b[K 2\n\
         x\x1b[01;31m\x1b[KFoO\x1b[m\x1b[Kx 3\n",
        r.stdout
    );
    fx.same(&["--color=always"], &["many.txt"]);
    fx.same(&["--color=always", "-n", "-b", "-H"], &["a.txt"]);
    fx.same(&["--color=always", "-n", "-C", "1"], &["a.txt", "c.txt"]);
    fx.same(&["--color=always", "-A", "1"], &["b.txt", "c.txt", "a.txt"]);
    fx.same(&["--color=always", "-c"], &["a.txt", "b.txt"]);
    fx.same(&["--color=always", "-l"], &["a.txt", "b.txt"]);
    fx.same(&["--color=always", "-L"], &["a.txt", "b.txt"]);
    fx.same(&["--color=always", "-Z", "-n"], &["a.txt", "c.txt"]);
    fx.same(&["--colour=always"], &["many.txt"]);
    fx.same(&["--color=always", "-v"], &["a.txt"]);
}

/// With `-v`, the context lines are the matching ones, and grep colours
/// their matches (`mc`, default 01;31).
#[test]
fn color_always_invert_context() {
    need_grep!("color_always_invert_context");
    let fx = files();
    fx.same(&["--color=always", "-v", "-C", "1"], &["a.txt"]);
}

/// `--color` without `=WHEN` means auto and takes no value: the next
/// argument is the rule, as it is grep's pattern.
#[test]
fn color_bare_flag_takes_no_value() {
    need_grep!("color_bare_flag_takes_no_value");
    let fx = files();
    let r = fx.same(&["--color"], &["a.txt"]);
    fx.expect("foo 1\nFOO 2\nxFoOx 3\n", &r.stdout);
    fx.same(&["--colour"], &["a.txt", "b.txt"]);
}

#[test]
fn color_never_and_auto() {
    let fx = files();
    for flags in
        [&["--color=never"][..], &["--color=auto"], &[], &["--color=never", "-n", "-H", "-C", "1"]]
    {
        let r = fx.sigrep(flags, &["a.txt", "c.txt"], None);
        assert!(!r.stdout.contains('\x1b'), "{flags:?}: {:?}", r.stdout);
        assert!(r.stdout.contains("c.txt:"), "{flags:?}: {}", r.stdout);
        assert!(r.stdout.contains("foo 1\n"), "{flags:?}: {}", r.stdout);
    }
    // NO_COLOR with auto (stdout is a pipe here anyway).
    let mut cmd = fx.dir.command();
    cmd.env("NO_COLOR", "1").env("TERM", "xterm").args(["--color=auto", &fx.rule, "a.txt"]);
    let r = exec(cmd, None);
    eqnice!("foo 1\nFOO 2\nxFoOx 3\n", r.stdout);
    // The last --color wins.
    let r = fx.sigrep(&["--color=always", "--color=never"], &["a.txt"], None);
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
    let r = fx.sigrep(&["--color=always"], &["a.txt"], None);
    assert!(r.stdout.contains("\x1b[01;31m\x1b[Kfoo\x1b[m\x1b[K"), "{:?}", r.stdout);
    if have_grep() {
        fx.same(&["--color=never", "-n"], &["a.txt"]);
        fx.same(&["--color=auto", "-n"], &["a.txt"]);
    }
}

// ---------------------------------------------------------------------
// Exit status and rule errors.
// ---------------------------------------------------------------------

#[test]
fn exit_status_match_no_match() {
    let fx = files();
    let r = fx.sigrep(&[], &["a.txt"], None);
    assert_eq!(0, r.code);
    eqnice!("", r.stderr);
    let r = fx.sigrep(&[], &["b.txt"], None);
    assert_eq!(1, r.code);
    eqnice!("", r.stdout);
    eqnice!("", r.stderr);
    let r = fx.sigrep(&["-c"], &["b.txt"], None);
    assert_eq!((1, "0\n"), (r.code, r.stdout.as_str()));
    // An error wins over a match.
    let r = fx.sigrep(&[], &["a.txt", "missing.txt"], None);
    assert_eq!(2, r.code);
    eqnice!("sigrep: missing.txt: No such file or directory\n", r.stderr);
    eqnice!("a.txt:foo 1\na.txt:FOO 2\na.txt:xFoOx 3\n", r.stdout);
}

#[test]
fn exit_status_broken_rule() {
    let dir = Dir::new();
    dir.create("a.txt", "x\n");
    dir.create(
        "bad.yml",
        "title: t\ndetection:\n    sel:\n        Image|containz: x\n    condition: sel\n",
    );
    let r = dir.run(&["bad.yml", "a.txt"]);
    assert_eq!(2, r.code);
    eqnice!("", r.stdout);
    eqnice!("sigrep: bad.yml:4:15: unknown modifier 'containz'\n", r.stderr);
    // Nothing is searched, with -q and with stdin too.
    let r = dir.run_stdin(&["-q", "bad.yml"], b"x\n");
    assert_eq!(2, r.code);
    assert!(r.stderr.contains("unknown modifier 'containz'"), "{}", r.stderr);
}

#[test]
fn exit_status_missing_rule_file() {
    let dir = Dir::new();
    dir.create("a.txt", "foo\n");
    let r = dir.run(&["nope.yml", "a.txt"]);
    assert_eq!(2, r.code);
    eqnice!("", r.stdout);
    eqnice!("sigrep: nope.yml: No such file or directory\n", r.stderr);
    let r = dir.run(&[]);
    assert_eq!(2, r.code);
}

#[test]
fn exit_status_unknown_identifier() {
    let dir = Dir::new();
    dir.create("a.txt", "x\n");
    dir.create(
        "bad.yml",
        "title: t\ndetection:\n    sel:\n        Image: x\n    condition: sel and nope\n",
    );
    let r = dir.run(&["bad.yml", "a.txt"]);
    assert_eq!(2, r.code);
    eqnice!("", r.stdout);
    assert!(r.stderr.starts_with("sigrep: bad.yml:5:"), "{}", r.stderr);
    assert!(r.stderr.contains("'nope'"), "{}", r.stderr);
    assert_eq!(1, r.stderr.lines().count(), "{}", r.stderr);
}

#[test]
fn exit_status_quiet_with_missing_file() {
    let fx = files();
    // Missing after the match: never reached.
    let r = fx.sigrep(&["-q"], &["a.txt", "missing.txt"], None);
    assert_eq!(0, r.code);
    eqnice!("", r.stdout);
    // Missing before the match: reported, yet the match decides.
    let r = fx.sigrep(&["-q"], &["missing.txt", "a.txt"], None);
    assert_eq!(0, r.code);
    eqnice!("", r.stdout);
    eqnice!("sigrep: missing.txt: No such file or directory\n", r.stderr);
    let r = fx.sigrep(&["-q"], &["missing.txt", "b.txt"], None);
    assert_eq!(2, r.code);
    let r = fx.sigrep(&["-q", "-j1"], &["missing.txt", "b.txt", "c.txt"], None);
    assert_eq!(0, r.code);
    if have_grep() {
        fx.same(&["-q"], &["a.txt", "missing.txt"]);
        fx.same(&["-q"], &["missing.txt", "a.txt"]);
        fx.same(&["-q"], &["missing.txt", "b.txt"]);
        fx.same(&["-q"], &["missing.txt", "b.txt", "c.txt"]);
    }
}

// ---------------------------------------------------------------------
// Broken pipe.
// ---------------------------------------------------------------------

/// Runs sigrep with stdout a pipe, reads one line, closes the pipe and
/// returns (line, stderr, exit status).
fn read_one_line_then_close(fx: &Fx, flags: &[&str], files: &[&str]) -> (String, String, i32) {
    let mut cmd = fx.dir.command();
    cmd.args(flags).arg(&fx.rule).args(files);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn sigrep");
    let mut line = String::new();
    {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
    }
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    (line, err, status.code().unwrap_or(-1))
}

fn big_text(tag: &str, lines: usize) -> String {
    let mut s = String::with_capacity(lines * 24);
    for i in 0..lines {
        s.push_str(&format!("{tag} foo line {i}\n"));
    }
    s
}

#[test]
fn broken_pipe_is_quiet() {
    let fx = Fx::new();
    fx.create("big.log", big_text("x", 200_000));
    let (line, err, code) = read_one_line_then_close(&fx, &[], &["big.log"]);
    eqnice!("x foo line 0\n", line);
    eqnice!("", err);
    assert_eq!(0, code);
    let (line, err, code) = read_one_line_then_close(&fx, &["--no-mmap", "-n"], &["big.log"]);
    eqnice!("1:x foo line 0\n", line);
    eqnice!("", err);
    assert_eq!(0, code);
}

#[test]
fn broken_pipe_is_quiet_with_many_files() {
    let fx = Fx::new();
    let names: Vec<String> = (0..8).map(|i| format!("big{i}.log")).collect();
    for (i, n) in names.iter().enumerate() {
        fx.create(n, big_text(&format!("f{i}"), 50_000));
    }
    let files: Vec<&str> = names.iter().map(String::as_str).collect();
    for flags in [&["-j2"][..], &["-j1"], &["-j4", "-C", "1"]] {
        let (line, err, code) = read_one_line_then_close(&fx, flags, &files);
        eqnice!("big0.log:f0 foo line 0\n", line);
        eqnice!("", err);
        assert_eq!(0, code, "{flags:?}");
    }
}

// ---------------------------------------------------------------------
// --no-mmap, -j.
// ---------------------------------------------------------------------

/// A file longer than the read path's chunks, with matches at irregular
/// places and some long lines.
fn large_mixed() -> String {
    let mut s = String::new();
    for i in 0..60_000u32 {
        if i % 977 == 0 {
            s.push_str(&"z".repeat(3000 + (i as usize % 5000)));
            s.push_str(" foo long\n");
        } else if i % 7 == 0 || i % 11 == 3 {
            s.push_str(&format!("line {i} FOO\n"));
        } else {
            s.push_str(&format!("line {i} plain\n"));
        }
    }
    s.push_str("last foo without newline");
    s
}

const FLAG_SETS: &[&[&str]] = &[
    &[],
    &["-n"],
    &["-n", "-b"],
    &["-c"],
    &["-v", "-n"],
    &["-C", "3", "-n"],
    &["-B", "5", "-b"],
    &["-A", "2", "-n", "-H"],
    &["-m", "100", "-A", "2", "-n"],
    &["-l"],
    &["-L"],
    &["-v", "-C", "1", "-n"],
];

#[test]
fn no_mmap_same_as_mmap() {
    let fx = Fx::new();
    fx.create("large.log", large_mixed());
    fx.create("small.log", TEXT);
    fx.create("bin.dat", b"a\0b\nfoo\n");
    fx.create("crlf.log", "foo\r\nbar\r\n");
    let files = ["large.log", "small.log", "bin.dat", "crlf.log"];
    for flags in FLAG_SETS {
        for f in files {
            let default = fx.sigrep(flags, &[f], None);
            let mut nommap: Vec<&str> = flags.to_vec();
            nommap.push("--no-mmap");
            let read = fx.sigrep(&nommap, &[f], None);
            assert_eq!(default.code, read.code, "{flags:?} {f}");
            eqnice!(default.stderr, read.stderr);
            if default.stdout_bytes != read.stdout_bytes {
                eqnice!(visible(&default.stdout_bytes), visible(&read.stdout_bytes));
            }
        }
        let default = fx.sigrep(flags, &files, None);
        let mut nommap: Vec<&str> = flags.to_vec();
        nommap.push("--no-mmap");
        let read = fx.sigrep(&nommap, &files, None);
        assert_eq!(default.code, read.code, "{flags:?}");
        eqnice!(default.stderr, read.stderr);
        eqnice!(visible(&default.stdout_bytes), visible(&read.stdout_bytes));
        // Standard input takes the read path as well.
        let input = std::fs::read(fx.dir.path().join("large.log")).unwrap();
        let piped = fx.sigrep(flags, &[], Some(&input));
        let mapped = fx.sigrep(flags, &["large.log"], None);
        assert_eq!(mapped.code, piped.code, "{flags:?} stdin");
        let named = visible(&mapped.stdout_bytes).replace("large.log", "(standard input)");
        eqnice!(named, visible(&piped.stdout_bytes));
    }
}

/// The large file through stdin (the read path), compared with grep.
#[test]
fn grep_large_input_read_path() {
    need_grep!("grep_large_input_read_path");
    let fx = Fx::new();
    let text = large_mixed();
    fx.create("large.log", &text);
    for flags in [&["-n", "-C", "2"][..], &["-c"], &["-b", "-B", "1"], &["-v", "-n", "-A", "1"]] {
        fx.same_stdin(flags, &[], text.as_bytes());
        fx.same(flags, &["large.log"]);
    }
}

#[test]
fn threads_one_equals_two() {
    let fx = Fx::new();
    let mut names = Vec::new();
    for i in 0..64 {
        let name = format!("d/f{i:02}.log");
        let body = match i % 4 {
            0 => format!("foo {i}\nx\ny\nz\nw\nFOO {i}\n"),
            1 => "nothing\n".to_string(),
            2 => String::new(),
            _ => big_text(&format!("f{i}"), 2_000),
        };
        fx.create(&name, body);
        names.push(name);
        if i % 17 == 5 {
            names.push(format!("d/missing{i}.log"));
        }
        if i % 23 == 9 {
            fx.create(&format!("d/bin{i}.dat"), b"\0foo\n");
            names.push(format!("d/bin{i}.dat"));
        }
    }
    let files: Vec<&str> = names.iter().map(String::as_str).collect();
    for flags in FLAG_SETS.iter().chain([&["-q"][..], &["-r"], &["-r", "-c"]].iter()) {
        let files: &[&str] = if flags.contains(&"-r") { &["d"] } else { &files };
        let one = fx.sigrep(&[*flags, &["-j1"]].concat(), files, None);
        for j in ["-j2", "-j3", "-j8"] {
            let two = fx.sigrep(&[*flags, &[j]].concat(), files, None);
            assert_eq!(one.code, two.code, "{flags:?} {j}");
            eqnice!(one.stderr, two.stderr);
            if one.stdout_bytes != two.stdout_bytes {
                eqnice!(visible(&one.stdout_bytes), visible(&two.stdout_bytes));
            }
        }
    }
}

// ---------------------------------------------------------------------
// --explain.
// ---------------------------------------------------------------------

#[test]
fn explain_prints_formula_and_atoms() {
    let fx = Fx::new();
    let r = fx.sigrep(&["--explain"], &[], None);
    assert_eq!(0, r.code, "{}", r.stderr);
    eqnice!("", r.stderr);
    assert!(r.stdout.contains("formula: a0\n"), "{}", r.stdout);
    assert!(r.stdout.contains("atoms: 1\n"), "{}", r.stdout);
    assert!(r.stdout.to_lowercase().contains("foo"), "{}", r.stdout);
    assert!(r.stdout.contains("prefilter:"), "{}", r.stdout);

    let fx = Fx::with_rule(
        "title: two\ndetection:\n    sel:\n        - 'alpha'\n        - 'beta'\n    \
         filter:\n        - 'gamma'\n    condition: sel and not filter\n",
    );
    // Files given with --explain are not searched.
    let r = fx.sigrep(&["--explain"], &["missing.txt"], None);
    assert_eq!(0, r.code, "{}", r.stderr);
    assert!(r.stdout.contains("formula:"), "{}", r.stdout);
    assert!(r.stdout.contains("atoms: 3\n"), "{}", r.stdout);
    for word in ["alpha", "beta", "gamma"] {
        assert!(r.stdout.contains(word), "{word}: {}", r.stdout);
    }
    assert!(r.stdout.contains("not") || r.stdout.contains('!'), "{}", r.stdout);
}

/// One large file is split across threads at line boundaries; every
/// output shape must equal the one-thread search, including line numbers,
/// byte offsets, JSON, inverted counts and a NUL in a selected line in the
/// second half (output stops there, as it does with one thread).
#[test]
fn split_large_file_equals_one_thread() {
    let dir = Dir::new();
    dir.create("rule.yml", FOO_RULE);
    let mut big = Vec::new();
    for i in 0..200_000u32 {
        let line = match i % 97 {
            0 => format!("line {i} has FOO in it\n"),
            1 => format!("line {i} has food\r\n"),
            _ => format!("line {i} is plain filler text of some length\n"),
        };
        big.extend_from_slice(line.as_bytes());
    }
    assert!(big.len() > 8 << 20, "the file must be large enough to be split");
    dir.create("big.log", &big);
    let mut nul = big.clone();
    let at = nul.len() * 3 / 4;
    let line_start = at - nul[..at].iter().rev().position(|&b| b == b'\n').unwrap();
    nul.splice(line_start..line_start, b"foo\0 binary\n".iter().copied());
    dir.create("nul.log", &nul);
    for file in ["big.log", "nul.log"] {
        for flags in [
            &[][..],
            &["-n"],
            &["-n", "-b"],
            &["-c"],
            &["-v", "-c"],
            &["-v", "-n"],
            &["--json"],
            &["-a", "-n"],
        ] {
            let run = |j: &str| {
                let mut args = vec![j];
                args.extend_from_slice(flags);
                args.extend_from_slice(&["rule.yml", file]);
                dir.run(&args)
            };
            // Parts of 1 MiB: both thread counts print them out of the
            // order they finish in unless the output is put back in order.
            let one = run("-j1");
            for j in ["-j2", "-j3"] {
                let many = run(j);
                assert!(
                    one.stdout_bytes == many.stdout_bytes,
                    "{file} {flags:?} {j}: outputs differ"
                );
                assert_eq!(
                    (&one.stderr, one.code),
                    (&many.stderr, many.code),
                    "{file} {flags:?} {j}"
                );
            }
        }
    }
}
