//! The progress line: on stderr when it is a terminal, never on stdout,
//! never when stderr is not a terminal, cleared at the end.
//!
//! A terminal is made with `script` (util-linux, in Debian's essential
//! `bsdutils`): it runs the command on a pseudo-terminal and copies what
//! the command writes there to its own stdout.

use std::process::{Command, Stdio};

use crate::util::Dir;

const WMI: &str = include_str!("../examples/wmi_persistence.yml");
const LOG: &str = include_str!("../examples/wmi.log");

/// Runs `shell` (a command line for sh) with stdin, stdout and stderr on a
/// pseudo-terminal; what appeared on the terminal.
fn on_terminal(dir: &Dir, shell: &str) -> String {
    let script = Command::new("script")
        .args(["-q", "-e", "-c", shell, "/dev/null"])
        .current_dir(dir.path())
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("script (util-linux) is needed for this test: {e}"));
    assert!(script.status.success(), "{shell}: {script:?}");
    String::from_utf8_lossy(&script.stdout).into_owned()
}

fn setup() -> (Dir, String) {
    let dir = Dir::new();
    dir.create("wmi.yml", WMI);
    for name in ["a.log", "b.log", "c.log"] {
        dir.create(name, LOG);
    }
    let sigrep = env!("CARGO_BIN_EXE_sigrep").to_string();
    (dir, sigrep)
}

#[test]
fn progress_on_a_terminal_stderr_when_stdout_is_a_file() {
    let (dir, sigrep) = setup();
    let plain = dir.run(&["-n", "wmi.yml", "a.log", "b.log", "c.log"]);
    let terminal =
        on_terminal(&dir, &format!("{sigrep} -n -j1 wmi.yml a.log b.log c.log > hits.txt"));
    // The line counts files and bytes, and is erased at the end.
    assert!(terminal.contains("sigrep: 3/3 files"), "{terminal:?}");
    assert!(terminal.contains("KiB"), "{terminal:?}");
    assert!(terminal.ends_with("\r\x1b[2K"), "{terminal:?}");
    // The output file holds exactly the hits.
    let hits = std::fs::read_to_string(dir.path().join("hits.txt")).unwrap();
    assert_eq!(hits, plain.stdout);
    assert!(!hits.contains("files,"));

    // --no-progress: nothing on the terminal.
    let quiet = on_terminal(
        &dir,
        &format!("{sigrep} --no-progress -n wmi.yml a.log b.log c.log > hits.txt"),
    );
    assert_eq!(quiet, "");
}

#[test]
fn no_progress_when_stdout_is_the_terminal_unless_asked() {
    let (dir, sigrep) = setup();
    let shown = on_terminal(&dir, &format!("{sigrep} -c wmi.yml a.log b.log c.log"));
    assert!(!shown.contains("files,"), "{shown:?}");
    let forced = on_terminal(
        &dir,
        &format!("{sigrep} --progress --color=never -c wmi.yml a.log b.log c.log"),
    );
    assert!(forced.contains("files,"), "{forced:?}");
    // Output lines are written with the progress line erased first, never
    // behind it.
    for name in ["a.log", "b.log", "c.log"] {
        assert!(forced.contains(&format!("\r\x1b[2K{name}:3\r\n")), "{forced:?}");
    }
}

#[test]
fn never_when_stderr_is_not_a_terminal() {
    let (dir, _) = setup();
    let plain = dir.run(&["-n", "wmi.yml", "a.log", "b.log", "c.log"]);
    let forced = dir.run(&["--progress", "-n", "wmi.yml", "a.log", "b.log", "c.log"]);
    assert_eq!(forced.stderr, "");
    assert_eq!(forced.stdout, plain.stdout);
    assert_eq!(forced.code, 0);
}
