//! Compressed inputs (`.gz`, `.bz2`, `.xz`, `.zst` names; `-z`): searched
//! as their decompressed text, through the CLI. Fixtures are compressed
//! here with the same crates' encoders.

use std::io::Write;

use crate::util::Dir;

const RULE: &str = r#"title: WMI consumer
logsource: {product: windows}
detection:
  consumer:
    EventID: 5861
    keywords: CommandLineEventConsumer
  legacy:
    EventID: 5859
  condition: consumer or legacy
"#;

const OTHER: &str = r#"title: Shell download
logsource: {product: linux}
detection:
  keywords:
    - 'wget * | sh'
  condition: keywords
"#;

const EXTS: [&str; 4] = ["gz", "bz2", "xz", "zst"];

fn compress(ext: &str, text: &[u8]) -> Vec<u8> {
    match ext {
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "zst" => zstd::encode_all(text, 1).unwrap(),
        _ => unreachable!("{ext}"),
    }
}

/// A log of `n` lines where every 7th line matches the WMI rule, every 11th
/// the shell rule, and the last line has no LF.
fn log(n: usize) -> String {
    let mut text = String::new();
    for i in 1..=n {
        if i % 7 == 0 {
            text.push_str(&format!("EventID=5861 n={i} Consumer=CommandLineEventConsumer"));
        } else if i % 11 == 0 {
            text.push_str(&format!("n={i} sh -c 'wget http://x/y | sh'"));
        } else {
            text.push_str(&format!("EventID=4688 n={i} Image=C:\\Windows\\System32\\cmd.exe"));
        }
        if i < n {
            text.push('\n');
        }
    }
    text
}

fn setup(text: &str) -> Dir {
    let dir = Dir::new();
    dir.create("wmi.yml", RULE);
    dir.create("rules/wmi.yml", RULE);
    dir.create("rules/shell.yml", OTHER);
    dir.create("plain.log", text);
    for ext in EXTS {
        dir.create(&format!("log.{ext}"), compress(ext, text.as_bytes()));
    }
    dir
}

#[test]
fn compressed_files_search_as_their_text() {
    let dir = setup(&log(3000));
    let cases: [&[&str]; 7] = [
        &["-n", "wmi.yml"],
        &["-b", "wmi.yml"],
        &["-c", "wmi.yml"],
        &["-n", "-C", "1", "wmi.yml"],
        &["-v", "-c", "wmi.yml"],
        &["-n", "-f", "rules"],
        &["--json", "-f", "rules"],
    ];
    for args in cases {
        let plain = dir.run(&[args, &["plain.log"]].concat());
        assert_eq!(plain.code, 0, "{plain:?}");
        assert!(!plain.stdout.is_empty());
        for ext in EXTS {
            let name = format!("log.{ext}");
            let r = dir.run(&[args, &[name.as_str()]].concat());
            assert_eq!(r.code, 0, "{args:?} {ext}: {r:?}");
            eqnice!(plain.stdout.replace("plain.log", &name), r.stdout);
            // -z changes nothing for a file its name already says.
            let z = dir.run(&[&["-z"], args, &[name.as_str()]].concat());
            eqnice!(r.stdout, z.stdout);
        }
    }
}

#[test]
fn compressed_files_in_a_tree_and_among_others() {
    let dir = setup(&log(200));
    let r = dir.run(&["-c", "-r", "wmi.yml", "."]);
    assert_eq!(r.code, 0, "{r:?}");
    let mut counts: Vec<&str> = r.stdout.lines().filter(|l| l.contains("log")).collect();
    counts.sort_unstable();
    eqnice!(
        "./log.bz2:28\n./log.gz:28\n./log.xz:28\n./log.zst:28\n./plain.log:28",
        counts.join("\n")
    );
}

#[test]
fn concatenated_members_are_one_text() {
    let dir = setup("");
    let (a, b) = ("EventID=5859 first\nno\n", "EventID=5861 CommandLineEventConsumer second\n");
    for ext in EXTS {
        let mut both = compress(ext, a.as_bytes());
        both.extend(compress(ext, b.as_bytes()));
        let name = format!("two.{ext}");
        dir.create(&name, both);
        let r = dir.run(&["-n", "wmi.yml", &name]);
        assert_eq!(r.code, 0, "{ext}: {r:?}");
        eqnice!("1:EventID=5859 first\n3:EventID=5861 CommandLineEventConsumer second\n", r.stdout);
    }
}

#[test]
fn damaged_archives_are_per_file_errors() {
    let text = log(20_000);
    let dir = setup(&text);
    let selected: usize = dir.run(&["-c", "wmi.yml", "plain.log"]).stdout.trim().parse().unwrap();
    for ext in EXTS {
        let whole = compress(ext, text.as_bytes());
        let name = format!("cut.{ext}");
        dir.create(&name, &whole[..whole.len() / 2]);
        let r = dir.run(&["-n", "wmi.yml", &name, "plain.log"]);
        assert_eq!(r.code, 2, "{ext}: {r:?}");
        let format = match ext {
            "gz" => "gzip",
            "bz2" => "bzip2",
            "zst" => "zstd",
            _ => "xz",
        };
        assert!(r.stderr.starts_with(&format!("sigrep: {name}: {format}: ")), "{ext}: {r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
        // The other file is searched whole.
        let plain = r.stdout.lines().filter(|l| l.starts_with("plain.log:")).count();
        assert_eq!(plain, selected, "{ext}");
        // The lines decoded before the damage are printed, in order and
        // whole (a line cut by the damage is not), so they are a prefix of
        // the plain file's selected lines.
        let cut: Vec<&str> = r.stdout.lines().filter_map(|l| l.strip_prefix(&*name)).collect();
        let want: Vec<String> = r
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("plain.log"))
            .map(str::to_string)
            .collect();
        assert!(!cut.is_empty() && cut.len() < want.len(), "{ext}: {} lines", cut.len());
        assert_eq!(cut, want[..cut.len()], "{ext}");
    }
    // A name that promises a format the file does not hold.
    dir.create("text.gz", "EventID=5859 not compressed\n");
    let r = dir.run(&["wmi.yml", "text.gz", "plain.log"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.starts_with("sigrep: text.gz: gzip: "), "{r:?}");
    assert!(r.stdout.contains("plain.log:"), "{r:?}");
}

#[test]
fn search_zip_recognises_stdin_and_unnamed_files() {
    let text = log(100);
    let dir = setup(&text);
    let want = dir.run(&["-n", "wmi.yml", "plain.log"]).stdout;
    for ext in EXTS {
        let bytes = compress(ext, text.as_bytes());
        let r = dir.run_stdin(&["-n", "-z", "wmi.yml"], &bytes);
        assert_eq!(r.code, 0, "{ext}: {r:?}");
        eqnice!(want, r.stdout);
        // Without -z the compressed bytes are only bytes.
        let r = dir.run_stdin(&["-n", "wmi.yml"], &bytes);
        assert_ne!(r.stdout, want, "{ext}");
        // A compressed file whose name does not say so, mapped or read.
        let name = format!("{ext}.data");
        dir.create(&name, &bytes);
        for extra in [&[][..], &["--no-mmap"]] {
            let r = dir.run(&[extra, &["-n", "-z", "wmi.yml", &name]].concat());
            eqnice!(want, r.stdout);
        }
    }
    // -z on text that is not compressed searches it as it is.
    eqnice!(want, dir.run_stdin(&["-n", "-z", "wmi.yml"], text.as_bytes()).stdout);
    eqnice!(want, dir.run(&["-n", "-z", "wmi.yml", "plain.log"]).stdout);
    let r = dir.run_stdin(&["-c", "-z", "wmi.yml"], b"");
    assert_eq!((r.code, r.stdout.as_str()), (1, "0\n"), "{r:?}");
}

#[test]
fn compressed_json_lines_are_detected_after_decompression() {
    let dir = Dir::new();
    dir.create(
        "cmd.yml",
        "title: cmd\ndetection:\n  sel:\n    Image|endswith: '\\System32\\cmd.exe'\n  condition: sel\n",
    );
    let hit = r#"{"Image":"C:\\Windows\\System32\\cmd.exe"}"#;
    let text = format!("{hit}\n{{\"Image\":\"C:\\\\notepad.exe\"}}\n");
    for ext in EXTS {
        let name = format!("events.jsonl.{ext}");
        dir.create(&name, compress(ext, text.as_bytes()));
        let r = dir.run(&["-n", "cmd.yml", &name]);
        assert_eq!(r.code, 0, "{ext}: {r:?}");
        eqnice!(format!("1:{hit}\n"), r.stdout);
        let r = dir.run(&["--no-json-escaped", "cmd.yml", &name]);
        assert_eq!(r.code, 1, "{ext}: {r:?}");
    }
}
