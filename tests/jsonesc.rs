//! JSON lines (`--json-escaped`, `--no-json-escaped`, auto-detection):
//! values also match their JSON-escaped form, per input, through the CLI.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::util::{shared_or_skip, Dir};

/// A Windows path value and a quoted one: neither occurs literally in a
/// JSON line.
const CMD: &str = r#"title: Cmd whoami
logsource: {product: windows}
detection:
  sel:
    Image|endswith: '\cmd.exe'
    CommandLine|contains: '"whoami"'
  condition: sel
"#;

const JSON_HIT: &str =
    r#"{"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c \"whoami\""}"#;
const JSON_MISS: &str =
    r#"{"Image":"C:\\Windows\\notepad.exe","CommandLine":"notepad \"whoami\""}"#;
const PLAIN_HIT: &str = r#"Image=C:\Windows\System32\cmd.exe CommandLine="whoami""#;

fn setup() -> Dir {
    let dir = Dir::new();
    dir.create("cmd.yml", CMD);
    dir.create("events.jsonl", format!("{JSON_HIT}\n{JSON_MISS}\n"));
    dir.create("events.log", format!("{PLAIN_HIT}\nImage=C:\\x\\notepad.exe\n"));
    dir
}

#[test]
fn auto_detection_per_file() {
    let dir = setup();
    let r = dir.run(&["cmd.yml", "events.jsonl", "events.log"]);
    assert_eq!(r.code, 0, "{r:?}");
    eqnice!(format!("events.jsonl:{JSON_HIT}\nevents.log:{PLAIN_HIT}\n"), r.stdout);
}

#[test]
fn forced_off_misses_escaped_values() {
    let dir = setup();
    let r = dir.run(&["--no-json-escaped", "cmd.yml", "events.jsonl", "events.log"]);
    eqnice!(format!("events.log:{PLAIN_HIT}\n"), r.stdout);
    let r = dir.run(&["--no-json-escaped", "cmd.yml", "events.jsonl"]);
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn forced_on_applies_to_every_input() {
    let dir = setup();
    // Not JSON lines (a plain line among them), so auto-detection is off
    // for this file, but --json-escaped forces it.
    dir.create("mixed.log", format!("plain text first\n{JSON_HIT}\n"));
    let r = dir.run(&["cmd.yml", "mixed.log"]);
    assert_eq!(r.code, 1, "{r:?}");
    let r = dir.run(&["--json-escaped", "cmd.yml", "mixed.log", "events.log"]);
    assert_eq!(r.code, 0, "{r:?}");
    // Values as written still match under --json-escaped.
    eqnice!(format!("mixed.log:{JSON_HIT}\nevents.log:{PLAIN_HIT}\n"), r.stdout);
}

#[test]
fn last_flag_wins() {
    let dir = setup();
    let on = dir.run(&["--no-json-escaped", "--json-escaped", "-c", "cmd.yml", "events.jsonl"]);
    eqnice!("1\n", on.stdout);
    let off = dir.run(&["--json-escaped", "--no-json-escaped", "-c", "cmd.yml", "events.jsonl"]);
    eqnice!("0\n", off.stdout);
}

#[test]
fn stdin_is_detected_and_fully_searched() {
    let dir = setup();
    // Many lines, so the detection sample is a part of the input that
    // must be searched again after it (line numbers must continue).
    let mut input = String::new();
    for _ in 0..5000 {
        input.push_str(JSON_MISS);
        input.push('\n');
    }
    input.push_str(JSON_HIT);
    input.push('\n');
    let r = dir.run_stdin(&["-n", "cmd.yml"], input.as_bytes());
    assert_eq!(r.code, 0, "{r:?}");
    eqnice!(format!("5001:{JSON_HIT}\n"), r.stdout);
    let r = dir.run_stdin(&["-c", "cmd.yml", "-"], format!("{PLAIN_HIT}\n").as_bytes());
    eqnice!("1\n", r.stdout);
    // The read path of a regular file too.
    let r = dir.run(&["--no-mmap", "-c", "cmd.yml", "events.jsonl"]);
    eqnice!("1\n", r.stdout);
}

#[test]
fn many_rules_and_json_output() {
    let dir = setup();
    dir.create(
        "rules/quote.yml",
        "title: Quoted path\ndetection:\n  sel: ['/c \"whoami\"']\n  condition: sel\n",
    );
    dir.create("rules/cmd.yml", CMD);
    dir.create(
        "rules/plain.yml",
        "title: Notepad\ndetection:\n  sel: [notepad]\n  condition: sel\n",
    );
    let r = dir.run(&["-f", "rules", "events.jsonl"]);
    assert_eq!(r.code, 0, "{r:?}");
    eqnice!(format!("cmd,quote:{JSON_HIT}\nplain:{JSON_MISS}\n"), r.stdout);

    let r = dir.run(&["--json", "-f", "rules", "events.jsonl"]);
    let matches: Vec<(u64, BTreeSet<String>)> = r
        .stdout
        .lines()
        .filter(|l| l.contains(r#""type":"match""#))
        .map(|l| {
            let n = l.split(r#""line_number":"#).nth(1).unwrap();
            let n: u64 = n[..n.find(',').unwrap()].parse().unwrap();
            let titles = l
                .split(r#""title":""#)
                .skip(1)
                .map(|t| t[..t.find('"').unwrap()].to_string())
                .collect();
            (n, titles)
        })
        .collect();
    let set = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        matches,
        [(1, set(&["Cmd whoami", "Quoted path"])), (2, set(&["Notepad"]))],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(r#""type":"summary","files":1,"selected":2"#), "{}", r.stdout);
}

#[test]
fn control_characters_and_wildcards_around_escapes() {
    let dir = Dir::new();
    // YAML double quotes: a real TAB and a U+0001 in the values.
    dir.create(
        "ctl.yml",
        "title: Ctl\ndetection:\n  tab: [\"a\\tb\"]\n  soh: [\"x\\u0001y\"]\n  condition: tab and soh\n",
    );
    dir.create("ctl.jsonl", "{\"m\":\"a\\tb\",\"n\":\"x\\u0001y\"}\n{\"m\":\"a\\tb\"}\n");
    let r = dir.run(&["-n", "ctl.yml", "ctl.jsonl"]);
    eqnice!("1:{\"m\":\"a\\tb\",\"n\":\"x\\u0001y\"}\n", r.stdout);
    // A writer that spells hex digits in capitals (`\u001F`).
    dir.create("us.yml", "title: Us\ndetection:\n  sel: [\"p\\x1Fq\"]\n  condition: sel\n");
    dir.create("us.jsonl", "{\"m\":\"p\\u001Fq\"}\n{\"m\":\"p\\u001fq\"}\n{\"m\":\"p\\u0020q\"}\n");
    let r = dir.run(&["-c", "us.yml", "us.jsonl"]);
    eqnice!("2\n", r.stdout);

    // `?` between pieces is one character, however it is written; `*`
    // spans escapes.
    dir.create(
        "wild.yml",
        "title: Wild\ndetection:\n  sel: ['C:?Temp?*\\evil.exe']\n  condition: sel\n",
    );
    dir.create(
        "wild.jsonl",
        concat!(
            r#"{"p":"C:\\Temp\\x\\evil.exe"}"#,
            "\n",
            r#"{"p":"C:\"Temp\"\\evil.exe"}"#,
            "\n",
            r#"{"p":"C:\u00e9Temp\u00e9\\evil.exe"}"#,
            "\n",
            r#"{"p":"C:\\\\Temp\\evil.exe"}"#,
            "\n",
            r#"{"p":"C:\\Temp\\evil.dll"}"#,
            "\n",
        ),
    );
    let r = dir.run(&["-n", "wild.yml", "wild.jsonl"]);
    // Line 4 holds two backslashes (two characters) between `C:` and
    // `Temp`: not one `?`.
    let got: Vec<&str> = r.stdout.lines().map(|l| &l[..l.find(':').unwrap()]).collect();
    assert_eq!(got, ["1", "2", "3"], "{}", r.stdout);
    let r = dir.run(&["--no-json-escaped", "-c", "wild.yml", "wild.jsonl"]);
    eqnice!("0\n", r.stdout);
}

#[test]
fn cased_values_stay_cased() {
    let dir = Dir::new();
    dir.create(
        "cased.yml",
        "title: Cased\ndetection:\n  sel:\n    Image|cased|endswith: '\\Cmd.exe'\n  condition: sel\n",
    );
    dir.create("c.jsonl", "{\"Image\":\"C:\\\\Cmd.exe\"}\n{\"Image\":\"C:\\\\cmd.exe\"}\n");
    let r = dir.run(&["-n", "cased.yml", "c.jsonl"]);
    eqnice!("1:{\"Image\":\"C:\\\\Cmd.exe\"}\n", r.stdout);
}

/// Python's `json.dumps` writes non-ASCII text as `\uXXXX` (its default
/// `ensure_ascii`): a rule's non-ASCII value still finds it, in grep
/// semantics and in Sigma's, as it finds the UTF-8 a serde_json writer
/// keeps; in a cased rule both cases of hex digits (Python, .NET).
#[test]
fn ensure_ascii_escapes_of_non_ascii_values() {
    let dir = Dir::new();
    dir.create(
        "rtlo.yml",
        "title: RTLO\nlogsource: {product: windows}\ndetection:\n  sel:\n    \
         CommandLine|contains: \"\\u202E\"\n  filter:\n    User: 'Us\u{e9}r'\n  \
         condition: sel and not filter\n",
    );
    dir.create(
        "emoji.yml",
        "title: Emoji\ndetection:\n  keywords:\n    - '\u{1f937}\u{1f3fc}'\n  condition: keywords\n",
    );
    dir.create(
        "cased.yml",
        "title: Cased\ndetection:\n  sel:\n    f|cased|contains: '\u{202e}'\n  condition: sel\n",
    );
    // Python's escapes; serde_json's UTF-8; the filter's user, escaped;
    // the emoji as surrogate pairs; .NET's uppercase hex; nothing.
    let lines = [
        r#"{"CommandLine":"invoice\u202egpj.exe","User":"bob"}"#,
        "{\"CommandLine\":\"invoice\u{202e}gpj.exe\",\"User\":\"bob\"}",
        r#"{"CommandLine":"invoice\u202egpj.exe","User":"Us\u00e9r"}"#,
        r#"{"msg":"shrug \ud83e\udd37\ud83c\udffc"}"#,
        r#"{"f":"x\u202Ey"}"#,
        r#"{"CommandLine":"invoice.pdf","User":"bob"}"#,
    ];
    dir.create("py.jsonl", lines.join("\n") + "\n");
    let r = dir.run(&["-n", "rtlo.yml", "py.jsonl"]);
    // grep semantics: field names dropped; `not filter` holds unless the
    // line holds `Usér`, as written or escaped.
    eqnice!(format!("1:{}\n2:{}\n5:{}\n", lines[0], lines[1], lines[4]), r.stdout);
    let r = dir.run(&["-n", "-f", "rtlo.yml", "-f", "emoji.yml", "py.jsonl"]);
    eqnice!(format!("1:rtlo:{}\n2:rtlo:{}\n4:emoji:{}\n", lines[0], lines[1], lines[3]), r.stdout);
    let r = dir.run(&["-n", "cased.yml", "py.jsonl"]);
    eqnice!(format!("1:{}\n2:{}\n3:{}\n5:{}\n", lines[0], lines[1], lines[2], lines[4]), r.stdout);
}

#[test]
fn large_file_split_across_threads_uses_the_json_program() {
    let dir = setup();
    // Over the 4 MiB split threshold, hits at both ends.
    let mut text = String::with_capacity(6 << 20);
    text.push_str(JSON_HIT);
    text.push('\n');
    while text.len() < 6 << 20 {
        text.push_str(JSON_MISS);
        text.push('\n');
    }
    text.push_str(JSON_HIT);
    text.push('\n');
    dir.create("big.jsonl", &text);
    let r = dir.run(&["-j", "2", "-c", "cmd.yml", "big.jsonl"]);
    eqnice!("2\n", r.stdout);
    let r = dir.run(&["-j", "2", "--no-json-escaped", "-c", "cmd.yml", "big.jsonl"]);
    eqnice!("0\n", r.stdout);
}

#[test]
fn explain_and_colour_follow_the_program() {
    let dir = setup();
    let auto = dir.run(&["--explain", "cmd.yml"]);
    assert!(auto.stdout.contains("atoms: 2\n"), "{}", auto.stdout);
    assert!(auto.stdout.contains("searched with the JSON-escaped program"), "{}", auto.stdout);
    let forced = dir.run(&["--explain", "--json-escaped", "cmd.yml"]);
    assert!(forced.stdout.contains("atoms: 4\n"), "{}", forced.stdout);
    assert!(forced.stdout.contains(r"a1: (?i)\\\\cmd\.exe"), "{}", forced.stdout);
    let off = dir.run(&["--explain", "--no-json-escaped", "cmd.yml"]);
    assert!(!off.stdout.contains("JSON-escaped"), "{}", off.stdout);

    // The JSON file's escaped text is what gets coloured.
    let r = dir.run(&["--color=always", "cmd.yml", "events.jsonl"]);
    assert!(r.stdout.contains("\x1b[01;31m\x1b[K\\\\cmd.exe\x1b[m\x1b[K"), "{:?}", r.stdout);
    assert!(r.stdout.contains("\x1b[01;31m\x1b[K\\\"whoami\\\"\x1b[m\x1b[K"), "{:?}", r.stdout);
}

#[test]
fn legacy_refuses_forced_escaping_and_skips_detection() {
    let dir = setup();
    let r = dir.run(&["--legacy", "--json-escaped", "cmd.yml", "events.jsonl"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--json-escaped cannot be combined with --legacy"), "{}", r.stderr);
    // The legacy pipeline had no JSON form of values: no detection.
    let r = dir.run(&["--legacy", "-c", "cmd.yml", "events.jsonl"]);
    eqnice!("0\n", r.stdout);
}

/// The candidate rules of scripts/json_recall.py: SigmaHQ rules with
/// regression events.
fn regression_rules(shared: &std::path::Path) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "yml") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                if text.lines().any(|l| l.trim_start().starts_with("regression_tests_path:")) {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&shared.join("sigma/rules"), &mut out);
    out.sort();
    out
}

/// The recall figure of the issue, as a test: SigmaHQ's rules with
/// regression events, on those events as JSON lines, select strictly more
/// events with escaping; the AnyDesk artefact rule (a `\AppData\...`
/// path) fires on its event only with it.
#[test]
fn sigmahq_regression_events_recall() {
    let Some(shared) = shared_or_skip("sigmahq_regression_events_recall") else { return };
    let events = shared.join("corpus/windows-events.jsonl");
    let rules = regression_rules(&shared);
    assert!(rules.len() > 150, "{} rules", rules.len());
    let dir = Dir::new();
    let count = |flag: &str| -> u64 {
        // Escaping is a grep-semantics matter (Sigma semantics decodes).
        let mut args: Vec<String> =
            vec!["--semantics".into(), "grep".into(), flag.into(), "-c".into()];
        for r in &rules {
            args.push("-f".into());
            args.push(r.display().to_string());
        }
        args.push(events.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = dir.run(&args);
        assert!(r.code <= 1, "{r:?}");
        r.stdout.trim().parse().unwrap()
    };
    let plain = count("--no-json-escaped");
    let escaped = count("--json-escaped");
    eprintln!("regression events selected: {plain} plain, {escaped} JSON-escaped");
    assert!(escaped > plain, "{plain} -> {escaped}");

    let anydesk = rules
        .iter()
        .find(|p| p.ends_with("file_event_win_anydesk_artefact.yml"))
        .expect("the AnyDesk artefact rule");
    let lines = |flag: &str| -> String {
        dir.run(&[flag, "-n", &anydesk.display().to_string(), &events.display().to_string()]).stdout
    };
    let without = lines("--no-json-escaped");
    let with = lines("--json-escaped");
    assert_eq!(without, "", "the path occurs only escaped");
    assert!(with.contains(r#"\\AppData\\Roaming\\AnyDesk\\user.conf"#), "{with}");
    // Auto-detection picks the escaped program for this file.
    eqnice!(with, lines("--with-filename").replace(&format!("{}:", events.display()), ""));
}

/// Differential: the JSON-escaped program on a JSON-encoded line against
/// the plain program on the line itself, for random values (wildcards
/// included) and lines over an alphabet of characters JSON escapes and
/// the letters of its escapes.
mod differential {
    use proptest::prelude::*;
    use sigrep::compile::{Config, Program};
    use sigrep::lower::Options;
    use sigrep::ruleset::RuleSet;

    /// Value tokens in Sigma syntax: `\\` is one literal backslash.
    const VALUE: &[&str] =
        &["x", "é", "🤷", r"\\", "\"", "\t", "\u{1}", "/", " ", "t", "u0", "*", "?"];
    const LINE: &[&str] = &["x", "é", "🤷", "\\", "\"", "\t", "\u{1}", "/", " ", "t", "u", "0"];

    /// A JSON string's contents, written independently of the library:
    /// serde_json's choices (`\t`, `\u0001`), and with `ascii` Python's
    /// `ensure_ascii` (`\u00e9`, a surrogate pair beyond the BMP).
    fn json_string(s: &str, ascii: bool) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '\\' => out.push_str(r"\\"),
                '"' => out.push_str("\\\""),
                '\t' => out.push_str(r"\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if ascii && !c.is_ascii() => {
                    for unit in c.encode_utf16(&mut [0; 2]) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out
    }

    /// A YAML double-quoted scalar holding `s`.
    fn yaml_quoted(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '\\' => out.push_str(r"\\"),
                '"' => out.push_str("\\\""),
                '\t' => out.push_str(r"\t"),
                '\u{1}' => out.push_str(r"\x01"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn program(value: &str, json_escaped: bool) -> Program {
        let rule = format!(
            "title: p\ndetection:\n  sel:\n    f|contains: {}\n  condition: sel\n",
            yaml_quoted(value)
        );
        let mut set = RuleSet::new(Options { json_escaped, ..Options::default() });
        set.add("p.yml", &rule).unwrap();
        set.compile(&Config::default()).unwrap()
    }

    fn selects(program: &Program, line: &str) -> bool {
        program.find_line(&mut program.create_cache(), line.as_bytes(), 0).is_some()
    }

    fn tokens(set: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(set), 1..max).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

        #[test]
        fn escaped_program_on_json_equals_plain_program_on_text(
            value in tokens(VALUE, 5),
            line in tokens(LINE, 8),
            ascii in any::<bool>(),
        ) {
            let plain = program(&value, false);
            let escaped = program(&value, true);
            let json = format!("{{\"f\":\"{}\"}}", json_string(&line, ascii));
            let on_text = selects(&plain, &line);
            let on_json = selects(&escaped, &json);
            // No recall is lost: what the value finds in the text, its
            // escaped form finds in the JSON line.
            prop_assert!(!on_text || on_json, "{value:?} on {line:?} / {json}");
            // And nothing is found beyond the value as written (in the
            // text, or literally in the JSON line), except where the
            // escaped form may start inside one of the line's escapes: an
            // escaped character at the value's start or after a wildcard
            // (the TAB value's `\t` in the JSON of backslash-t), or a
            // value starting with an escape's letter (`t\u0001` in the
            // JSON of TAB, U+0001). The lowering docs state this.
            let letters = |s: &str| s.contains(['t', 'u', '0']);
            let escaped_at_edge = ["", "*", "?"].iter().any(|w| {
                ["\\\\", "\"", "\t", "\u{1}"].iter().any(|e| {
                    let pat = format!("{w}{e}");
                    if w.is_empty() { value.starts_with(&pat) } else { value.contains(&pat) }
                })
            });
            // The string's contents stand for the line here: a `?` at an
            // edge of the value (the value's start or end, or beside a `*`)
            // may take the string's closing quote, or a byte of an escape
            // the line's characters are written with (`??é` on the JSON of
            // `\é`, `\\\u00e9`), also stated in the lowering docs.
            let contents = json_string(&line, ascii);
            let question_at_edge = value.starts_with('?')
                || value.ends_with('?')
                || value.contains("*?")
                || value.contains("?*");
            let line_has_escapes = contents != line;
            prop_assert!(
                !selects(&escaped, &contents) || on_text || selects(&plain, &contents)
                    || escaped_at_edge || letters(&value)
                    || (question_at_edge && line_has_escapes),
                "{value:?} on {contents} but not on {line:?}"
            );
            // Exactly the same lines where no escape letter or backslash
            // can be misread: the value has no `\`, `"` or `?`, and
            // neither has an escape's letters.
            if !value.contains(['\\', '"', '?']) && !letters(&value) && !letters(&line) {
                prop_assert_eq!(on_json, on_text, "{:?} on {:?} / {}", value, line, json);
            }
        }
    }
}
