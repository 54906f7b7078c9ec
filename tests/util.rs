//! Helpers for the integration tests: a fresh directory per test and the
//! sigrep binary run with a scrubbed environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The shared data directory (`../shared` from the repository), if present.
pub fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    dir.is_dir().then_some(dir)
}

/// True in CI (`CI` set and not empty), where every test must run.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// A test cannot run because `missing` is not there: in CI that fails the
/// test with a message naming it (a green CI means every test ran);
/// elsewhere the test is skipped, and says so on stderr.
pub fn prerequisite_missing(test: &str, missing: &str) {
    if in_ci() {
        panic!("{test}: cannot run in CI: {missing}");
    }
    eprintln!("{test}: SKIPPED: {missing}");
}

/// Returns the shared directory, or reports it missing (see
/// [`prerequisite_missing`]: a failure in CI, a skip elsewhere).
pub fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let dir = shared();
    if dir.is_none() {
        prerequisite_missing(test, "../shared is absent (it holds the oracle data)");
    }
    dir
}

/// A temporary directory with files, and a way to run sigrep in it.
pub struct Dir {
    dir: tempfile::TempDir,
}

/// What one run of sigrep gave.
#[derive(Debug)]
pub struct Run {
    /// Standard output.
    pub stdout: String,
    /// Standard output, raw.
    pub stdout_bytes: Vec<u8>,
    /// Standard error.
    pub stderr: String,
    /// Exit status (-1 if killed by a signal).
    pub code: i32,
}

impl Dir {
    /// A new empty directory.
    pub fn new() -> Dir {
        Dir { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating parent directories).
    pub fn create(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// A sigrep command running in this directory with a clean environment.
    pub fn command(&self) -> Command {
        self.command_via(&[])
    }

    /// Like [`Dir::command`], with sigrep run by a wrapper program, e.g.
    /// `["setpriv", "--bounding-set", "-dac_override", "--"]`.
    pub fn command_via(&self, wrapper: &[&str]) -> Command {
        let mut cmd = match wrapper.split_first() {
            None => Command::new(env!("CARGO_BIN_EXE_sigrep")),
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(env!("CARGO_BIN_EXE_sigrep"));
                cmd
            }
        };
        cmd.current_dir(self.dir.path());
        cmd.env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        cmd.env("LC_ALL", "C.UTF-8");
        cmd
    }

    /// Runs sigrep with these arguments and no stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.args(args).stdin(Stdio::null());
        finish(cmd.output().expect("run sigrep"))
    }

    /// Runs sigrep with these arguments, feeding `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut cmd = self.command();
        cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn sigrep");
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait sigrep");
        writer.join().unwrap();
        finish(out)
    }
}

/// The output of a finished command.
pub fn finish(out: Output) -> Run {
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Asserts two strings are equal, printing both between rulers if not.
#[macro_export]
macro_rules! eqnice {
    ($expected:expr, $got:expr) => {{
        let expected: &str = &$expected;
        let got: &str = &$got;
        if expected != got {
            panic!(
                "\nexpected:\n{}\n{}\n{}\ngot:\n{}\n{}\n{}\n",
                "~".repeat(60),
                expected,
                "~".repeat(60),
                "~".repeat(60),
                got,
                "~".repeat(60)
            );
        }
    }};
}

/// True when the tests run as root (who reads files whatever their mode):
/// the owner of a file this process creates is then uid 0.
pub fn running_as_root(dir: &Dir) -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = dir.create(".owner-probe", "");
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_file(probe).unwrap();
    uid == 0
}
