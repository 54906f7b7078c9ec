//! Sigma semantics (`--semantics sigma`, the default with `-f`): rules
//! evaluated on the fields of events, gated by logsource; and the fast
//! path (trigger formulas found by the scan, then confirmation) against
//! its slow twin (every rule confirmed on every line).

use proptest::prelude::*;
use sigrep::compile::{Config, LiteralScanner, Program, ReferencePredicates, Routing};
use sigrep::event::{Event, Scratch};
use sigrep::lower::{Formula, Options, Semantics};
use sigrep::oracle::lines;
use sigrep::ruleset::RuleSet;

use crate::util::{shared_or_skip, Dir};

/// A process-creation rule whose filter names a field that grep
/// semantics finds anywhere in the line.
const CMD_RULE: &str = r#"title: Whoami by cmd
id: 11111111-1111-1111-1111-111111111111
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\cmd.exe'
        CommandLine|contains: 'whoami'
    filter:
        ParentImage|endswith: '\explorer.exe'
    condition: selection and not filter
level: high
"#;

fn json_event(
    event_id: u32,
    channel: Option<&str>,
    image: &str,
    cmd: &str,
    parent: &str,
) -> String {
    let channel = channel.map(|c| format!(r#","Channel":"{c}""#)).unwrap_or_default();
    let esc = |s: &str| s.replace('\\', "\\\\");
    format!(
        r#"{{"Event":{{"System":{{"EventID":{event_id}{channel}}},"EventData":{{"Image":"{}","CommandLine":"{}","ParentImage":"{}"}}}}}}"#,
        esc(image),
        esc(cmd),
        esc(parent)
    )
}

const SYSMON: Option<&str> = Some("Microsoft-Windows-Sysmon/Operational");

#[test]
fn fields_filters_and_logsources_on_json_lines() {
    let dir = Dir::new();
    dir.create("rules/cmd.yml", CMD_RULE);
    let events = [
        // 1: fires.
        json_event(
            1,
            SYSMON,
            r"C:\Windows\System32\cmd.exe",
            "cmd /c whoami",
            r"C:\x\services.exe",
        ),
        // 2: the filter filters.
        json_event(
            1,
            SYSMON,
            r"C:\Windows\System32\cmd.exe",
            "cmd /c whoami",
            r"C:\Windows\explorer.exe",
        ),
        // 3: cmd.exe is in the command line, not the image.
        json_event(
            1,
            SYSMON,
            r"C:\notepad.exe",
            r"C:\Windows\cmd.exe whoami",
            r"C:\x\services.exe",
        ),
        // 4: a Sysmon file event, not a process creation.
        json_event(11, SYSMON, r"C:\Windows\System32\cmd.exe", "cmd /c whoami", r"C:\x\a.exe"),
        // 5: no Channel: judged by its fields alone.
        json_event(1, None, r"C:\Windows\System32\cmd.exe", "whoami /all", r"C:\x\a.exe"),
        // 6: a Security event (4688 is not the Sysmon mapping's).
        json_event(4688, Some("Security"), r"C:\Windows\System32\cmd.exe", "whoami", r"C:\x\a.exe"),
    ];
    dir.create("events.jsonl", events.join("\n") + "\n");
    let numbers = |args: &[&str]| -> Vec<String> {
        let r = dir.run(args);
        assert_eq!(r.stderr, "", "{args:?}");
        r.stdout.lines().map(|l| l.split(':').next().unwrap().to_string()).collect()
    };
    assert_eq!(numbers(&["-n", "-f", "rules", "events.jsonl"]), ["1", "5"]);
    assert_eq!(numbers(&["-n", "--semantics", "sigma", "-f", "rules", "events.jsonl"]), ["1", "5"]);
    // Grep semantics: values anywhere, so the filter's value in line 2
    // rejects it, and lines 3, 4 and 6 match.
    let grep = numbers(&["-n", "--semantics", "grep", "-f", "rules", "events.jsonl"]);
    assert_eq!(grep, ["1", "3", "4", "5", "6"]);
    // One rule as the first operand is grep semantics unless asked.
    assert_eq!(numbers(&["-n", "rules/cmd.yml", "events.jsonl"]), grep);
    assert_eq!(
        numbers(&["-n", "--semantics", "sigma", "rules/cmd.yml", "events.jsonl"]),
        ["1", "5"]
    );
    // --legacy is grep semantics.
    let r = dir.run(&["--legacy", "--semantics", "sigma", "rules/cmd.yml", "events.jsonl"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn key_value_and_xml_lines_have_fields_too() {
    let dir = Dir::new();
    dir.create("rules/cmd.yml", CMD_RULE);
    let lines = [
        // Key=Value, as sigrep renders event-log records: fires.
        r#"EventID=1 Channel=Microsoft-Windows-Sysmon/Operational Image=C:\Windows\System32\cmd.exe CommandLine="cmd /c whoami" ParentImage=C:\x\services.exe"#,
        // Filtered.
        r#"EventID=1 Channel=Microsoft-Windows-Sysmon/Operational Image=C:\Windows\System32\cmd.exe CommandLine="cmd /c whoami" ParentImage=C:\Windows\explorer.exe"#,
        // XML: fires.
        r#"<Event><System><EventID>1</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System><EventData><Data Name="Image">C:\Windows\System32\cmd.exe</Data><Data Name="CommandLine">cmd /c whoami</Data><Data Name="ParentImage">C:\x\a.exe</Data></EventData></Event>"#,
        // A plain line: no fields, so no field item holds.
        r"cmd.exe ran whoami from \cmd.exe",
    ];
    dir.create("mixed.log", lines.join("\n") + "\n");
    let r = dir.run(&["-n", "-f", "rules", "mixed.log"]);
    let got: Vec<&str> = r.stdout.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(got, ["1", "3"], "{}{}", r.stdout, r.stderr);
}

#[test]
fn whole_values_absent_fields_null_and_exists() {
    let dir = Dir::new();
    dir.create(
        "rules/r.yml",
        "title: r\ndetection:\n  sel:\n    OriginalFileName: 'Cmd.Exe'\n  missing:\n    Nothere: x\n  \
         condition: sel and not missing\n",
    );
    dir.create(
        "rules/null.yml",
        "title: n\ndetection:\n  sel:\n    Image|endswith: '.exe'\n    Nothere: null\n  \
         condition: sel\n",
    );
    dir.create(
        "rules/exists.yml",
        "title: e\ndetection:\n  sel:\n    Image|exists: true\n    User|exists: false\n  \
         condition: sel\n",
    );
    let lines = [
        r#"{"OriginalFileName":"cmd.exe","Image":"a.exe"}"#,
        r#"{"OriginalFileName":"xcmd.exe","Image":"a.exe","User":"bob"}"#,
        r#"{"OriginalFileName":"CMD.EXE","Nothere":"x","Image":"b.com"}"#,
    ];
    dir.create("e.jsonl", lines.join("\n") + "\n");
    let r = dir.run(&["-n", "-f", "rules", "e.jsonl"]);
    eqnice!(
        format!("1:exists,null,r:{}\n2:null:{}\n3:exists:{}\n", lines[0], lines[1], lines[2]),
        r.stdout
    );
}

/// The trigger formulas and the confirmation give what confirming every
/// rule on every line gives, for all SigmaHQ rules on the regression
/// events (as JSON lines and as Key=Value lines, with the JSON-escaped
/// program and with the plain one).
#[test]
fn fast_path_equals_confirming_every_rule_on_every_line() {
    let Some(shared) = shared_or_skip("fast_path_equals_confirming_every_rule_on_every_line")
    else {
        return;
    };
    let json = std::fs::read(shared.join("corpus/windows-events.jsonl")).unwrap();
    // The same events as sigrep renders event-log records: Key=Value.
    let mut events = json.clone();
    for line in lines(&json) {
        let value: serde_json::Value = serde_json::from_slice(line).unwrap();
        events.extend_from_slice(sigrep::search::evtx::render_key_value(&value).as_bytes());
        events.push(b'\n');
    }
    let mut set = RuleSet::new(Options { semantics: Semantics::Sigma, ..Options::default() });
    for entry in walkdir(&shared.join("sigma/rules")) {
        let text = std::fs::read_to_string(&entry).unwrap();
        // Rules sigrep refuses are refused in both paths alike.
        let _ = set.add(&entry.to_string_lossy(), &text);
    }
    assert!(set.rules().len() > 3000, "{}", set.rules().len());
    let escaped = set.relowered(Options { json_escaped: true, ..set.options() }).unwrap();
    let mut fired = 0;
    // The regression events as a host's syslog lines and web server error
    // lines (text routes); their fields are gone, their keywords are not.
    for line in lines(&json).take(40) {
        for head in ["Feb  3 11:53:10 host sshd[42]: ", "[Wed Sep 15 16:17:57 2005] [error] "] {
            events.extend_from_slice(head.as_bytes());
            events.extend_from_slice(line);
            events.push(b'\n');
        }
    }
    for set in [&set, &escaped] {
        // Routed by logsource (the default with this many rules) and not.
        let routed = set.compile(&Config::default()).unwrap();
        let unrouted = set.compile(&Config { routing: Routing::Off, ..Config::default() }).unwrap();
        // The whole program's 20,000 patterns are found by grams; its
        // twin walks an Aho-Corasick NFA.
        let automaton = set
            .compile(&Config {
                routing: Routing::Off,
                scanner: LiteralScanner::Automaton,
                ..Config::default()
            })
            .unwrap();
        let predicates: Vec<_> = set.rules().iter().map(|r| r.predicate.clone().unwrap()).collect();
        let always = vec![Formula::Const(true); predicates.len()];
        let config = Config { routing: Routing::Off, ..Config::default() };
        let slow =
            Program::with_predicates(set.atoms().atoms(), &always, &predicates, &config).unwrap();
        let (mut routed_cache, mut slow_cache) = (routed.create_cache(), slow.create_cache());
        let mut unrouted_cache = unrouted.create_cache();
        let mut automaton_cache = automaton.create_cache();
        let (mut got, mut got_unrouted, mut want) = (Vec::new(), Vec::new(), Vec::new());
        let mut got_automaton = Vec::new();
        let (mut reference, mut scratch) = (ReferencePredicates::default(), Scratch::default());
        for line in lines(&events) {
            routed.matching_rules(&mut routed_cache, line, &mut got);
            unrouted.matching_rules(&mut unrouted_cache, line, &mut got_unrouted);
            automaton.matching_rules(&mut automaton_cache, line, &mut got_automaton);
            slow.matching_rules(&mut slow_cache, line, &mut want);
            let names = |rs: &[u32]| -> Vec<String> {
                rs.iter().map(|&r| set.rules()[r as usize].source.clone()).collect()
            };
            assert_eq!(names(&got), names(&want), "{}", String::from_utf8_lossy(line));
            assert_eq!(names(&got_unrouted), names(&want), "{}", String::from_utf8_lossy(line));
            assert_eq!(names(&got_automaton), names(&want), "{}", String::from_utf8_lossy(line));
            // The confirmation (checks shared and remembered across rules)
            // against each predicate walked item by item.
            let mut event = Event::new(line, &mut scratch);
            let walked: Vec<u32> = (0..predicates.len() as u32)
                .filter(|&r| reference.holds(&predicates[r as usize], line, &mut event))
                .collect();
            assert_eq!(names(&want), names(&walked), "{}", String::from_utf8_lossy(line));
            fired += got.len();
        }
        // Windows events of several channels, a host's syslog lines and
        // web server error lines each took their own route.
        assert!(routed.routes_compiled() >= 5, "{}", routed.routes_compiled());
        assert_eq!(unrouted.routes_compiled(), 0);
    }
    // The regression events fire their rules (about 155 pairs per form
    // and program).
    assert!(fired > 500, "{fired}");
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// KELVIN SIGN and LONG S in field values fold to `k` and `s` in Sigma
/// semantics too (a value that is not ASCII is tested with Unicode
/// folding), and not under `--no-ignore-case`.
#[test]
fn case_partners_in_field_values() {
    let dir = Dir::new();
    dir.create(
        "rules/kill.yml",
        "title: k\ndetection:\n  sel:\n    Image|endswith: '\\kill.exe'\n    User: 'sys'\n  \
         condition: sel\n",
    );
    // (Written as JSON escapes, `\u212a`, the characters are not found:
    // escapes of non-ASCII text are not among those the scan covers.)
    let lines = [
        "{\"Image\":\"C:\\\\\u{212A}ill.exe\",\"User\":\"\u{17F}ys\"}".to_string(),
        r#"{"Image":"C:\\KILL.EXE","User":"SYS"}"#.to_string(),
        r#"{"Image":"C:\\kill.exe","User":"sys"}"#.to_string(),
        r#"{"Image":"C:\\kil.exe","User":"sys"}"#.to_string(),
    ];
    dir.create("e.jsonl", lines.join("\n") + "\n");
    let numbers = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["-n", "-f", "rules"];
        args.extend_from_slice(extra);
        args.push("e.jsonl");
        let r = dir.run(&args);
        assert_eq!(r.stderr, "");
        r.stdout.lines().map(|l| l.split(':').next().unwrap().to_string()).collect()
    };
    assert_eq!(numbers(&[]), ["1", "2", "3"]);
    assert_eq!(numbers(&["--no-ignore-case"]), ["3"]);
}

/// A keyword rule for a network device, one for Linux and one without a
/// product, on lines whose shape tells their source (DESIGN 2.3, text
/// lines): a host's syslog runs Linux rules and rules without a product;
/// a web server's error log only the latter; a device's syslog and lines
/// of unknown shape run all three.
#[test]
fn plain_lines_whose_shape_tells_their_source() {
    let dir = Dir::new();
    let rule = |name: &str, logsource: &str| {
        dir.create(
            &format!("rules/{name}.yml"),
            format!(
                "title: {name}\nlogsource:\n{logsource}\ndetection:\n  keywords:\n    - 'more'\n  \
                 condition: keywords\n"
            ),
        );
    };
    rule("cisco", "  product: cisco\n  service: aaa");
    rule("linux", "  product: linux");
    rule("any", "  category: webserver");
    let lines = [
        "Dec 10 07:13:56 LabSZ sshd[24227]: PAM 5 more authentication failures",
        "2024-05-01T10:00:00Z web1 CRON[7]: (root) CMD (more /etc/passwd)",
        "[Sun Dec 04 04:47:44 2005] [error] more children needed",
        "Mar  1 18:46:11 router1 123: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin logged command:more x",
        "more of anything",
    ];
    dir.create("text.log", lines.join("\n") + "\n");
    let r = dir.run(&["-n", "-f", "rules", "text.log"]);
    assert_eq!(r.stderr, "");
    let mut got: Vec<String> = r.stdout.lines().map(|l| l.split(':').take(2).collect()).collect();
    got.iter_mut().for_each(|tags| {
        let (n, rules) = tags.split_at(1);
        let mut rules: Vec<&str> = rules.split(',').collect();
        rules.sort_unstable();
        *tags = format!("{n} {}", rules.join(","));
    });
    assert_eq!(
        got,
        ["1 any,linux", "2 any,linux", "3 any", "4 any,cisco,linux", "5 any,cisco,linux"]
    );
    // Grep semantics knows no logsource.
    let r = dir.run(&["-c", "--semantics", "grep", "-f", "rules", "text.log"]);
    assert_eq!(r.stdout, "5\n");
}

/// All SigmaHQ rules select at most 1% of the lines of each benign loghub
/// sample (they selected every line in grep semantics).
#[test]
fn all_rules_are_quiet_on_benign_loghub_samples() {
    let Some(shared) = shared_or_skip("all_rules_are_quiet_on_benign_loghub_samples") else {
        return;
    };
    let dir = Dir::new();
    let rules = shared.join("sigma/rules");
    for sample in ["Apache_2k.log", "Linux_2k.log", "OpenSSH_2k.log"] {
        let log = shared.join("corpus/loghub").join(sample);
        let total = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).lines().count();
        let r = dir.run(&["-c", "-f", rules.to_str().unwrap(), log.to_str().unwrap()]);
        assert!(r.code <= 1, "{}", r.stderr);
        let selected: usize = r.stdout.trim().parse().unwrap();
        assert!(selected * 100 <= total, "{sample}: {selected} of {total} lines selected");
        let grep = dir.run(&[
            "-c",
            "--semantics",
            "grep",
            "-f",
            rules.to_str().unwrap(),
            log.to_str().unwrap(),
        ]);
        assert_eq!(grep.stdout.trim(), total.to_string(), "{sample} in grep semantics");
    }
}

/// `--json`, `--stats` and `--explain` name the semantics in force: sigma
/// with `-f`, grep for a rule given as the first operand, or as asked.
#[test]
fn json_stats_and_explain_name_the_semantics() {
    let dir = Dir::new();
    dir.create("rules/cmd.yml", CMD_RULE);
    dir.create("events.jsonl", json_event(1, SYSMON, r"C:\cmd.exe", "whoami", r"C:\a.exe") + "\n");
    let named = |args: &[&str]| -> (String, String, String) {
        let run = |extra: &[&str]| {
            let mut all = args.to_vec();
            all.extend_from_slice(extra);
            let r = dir.run(&all);
            assert!(r.code <= 1, "{all:?}: {}", r.stderr);
            r.stdout
        };
        let json = run(&["--json", "events.jsonl"]);
        let summary = json.lines().last().unwrap().to_string();
        let stats = run(&["--stats", "-c", "events.jsonl"]);
        let explain = run(&["--explain"]);
        (summary, stats.lines().nth(1).unwrap().to_string(), explain.lines().next().unwrap().into())
    };
    for (args, name) in [
        (&["-f", "rules"][..], "sigma"),
        (&["--semantics", "grep", "-f", "rules"][..], "grep"),
        (&["rules/cmd.yml"][..], "grep"),
        (&["--semantics", "sigma", "rules/cmd.yml"][..], "sigma"),
    ] {
        let (summary, stats, explain) = named(args);
        assert!(summary.contains(&format!(r#""semantics":"{name}""#)), "{args:?}: {summary}");
        assert!(stats.ends_with(&format!("; {name} semantics")), "{args:?}: {stats}");
        assert_eq!(explain, format!("semantics: {name}"), "{args:?}");
    }
}

/// Field values and line values: overlapping letters, case partners
/// (KELVIN SIGN, LONG S), a letter outside ASCII with a case pair, and
/// the characters that formats escape (`\`, `"`) or that Sigma reads as
/// wildcards (`*`, `?`).
const FIELD_ALPHABET: &[&str] =
    &["a", "b", "K", "k", "\u{212A}", "s", "\u{17F}", "é", "É", " ", "-", "\\", "\"", "*", "?"];

fn field_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FIELD_ALPHABET), 0..6).prop_map(|v| v.concat())
}

/// One field item: `Field|modifiers: [values]`, as YAML.
fn field_item() -> impl Strategy<Value = String> {
    let field = prop::sample::select(&["Image", "CommandLine", "User", "Missing"][..]);
    let modifiers = prop::sample::select(
        &[
            "",
            "|contains",
            "|startswith",
            "|endswith",
            "|contains|all",
            "|cased",
            "|contains|cased",
            "|contains|windash",
            "|exists",
        ][..],
    );
    let values = prop::collection::vec(field_text(), 1..4);
    (field, modifiers, values).prop_map(|(field, modifiers, values)| {
        let values = if modifiers == "|exists" { vec!["true".to_string()] } else { values };
        let quoted: Vec<String> =
            values.iter().map(|v| format!("'{}'", v.replace('\'', "''"))).collect();
        format!("        {field}{modifiers}: [{}]\n", quoted.join(", "))
    })
}

/// A rule's logsource: Windows ones the mapping names (Sysmon categories,
/// a service), one it does not, another product's, or none.
const LOGSOURCES: &[&str] = &[
    "    product: windows\n    category: process_creation\n",
    "    product: windows\n    category: file_event\n",
    "    product: windows\n    service: security\n",
    "    product: windows\n    category: no_such_category\n",
    "    product: linux\n",
    "    category: process_creation\n",
];

/// A rule of two selections (one or two items each) and a condition.
fn sigma_rule() -> impl Strategy<Value = String> {
    let selection = || prop::collection::vec(field_item(), 1..3).prop_map(|items| items.concat());
    // The second selection is sometimes a keyword list, found anywhere in
    // a line (with or without fields); a few rules are keywords only (a
    // rule that names a field never holds on a line without fields).
    let keywords = || {
        prop::collection::vec(field_text(), 1..3).prop_map(|values| -> String {
            values.iter().map(|v| format!("        - '{}'\n", v.replace('\'', "''"))).collect()
        })
    };
    let condition = prop::sample::select(
        &["sel1", "sel1 and not sel2", "sel1 or sel2", "all of sel*", "not sel1"][..],
    );
    let logsource = prop::sample::select(LOGSOURCES);
    let keyword_rule = prop::bool::weighted(0.2);
    (
        selection(),
        prop_oneof![selection(), keywords()],
        keywords(),
        keyword_rule,
        condition,
        logsource,
    )
        .prop_map(|(one, two, keywords, keyword_rule, condition, logsource)| {
            let one = if keyword_rule { keywords } else { one };
            format!(
            "title: random\nlogsource:\n{logsource}detection:\n    sel1:\n{one}    sel2:\n{two}    \
             condition: {condition}\n"
        )
        })
}

/// An event's Windows logsource: (Channel, EventID), or no Channel.
const WINDOWS_SOURCES: &[(Option<&str>, u32)] = &[
    (Some("Microsoft-Windows-Sysmon/Operational"), 1),
    (Some("Microsoft-Windows-Sysmon/Operational"), 11),
    (Some("Security"), 4688),
    (Some("Some-Other/Operational"), 1),
    (None, 1),
];

/// An event as a JSON line (serde's escapes) or a Key=Value line (values
/// quoted where they hold a blank or a quote), of one of the
/// [`WINDOWS_SOURCES`]; or the command line in a host's syslog line.
fn event_line() -> impl Strategy<Value = String> {
    let source = prop::sample::select(WINDOWS_SOURCES);
    (field_text(), field_text(), field_text(), 0..5u8, source).prop_map(
        |(image, cmd, user, shape, (channel, event_id))| {
            if shape == 4 {
                return format!("Feb  3 11:53:10 host sshd[42]: {image} {cmd} {user}");
            }
            let fields = [("Image", image), ("CommandLine", cmd), ("User", user)];
            if shape % 2 == 0 {
                let mut object = serde_json::Map::new();
                object.insert("EventID".into(), event_id.into());
                if let Some(channel) = channel {
                    object.insert("Channel".into(), channel.into());
                }
                for (k, v) in fields {
                    object.insert(k.into(), v.into());
                }
                serde_json::Value::Object(object).to_string()
            } else {
                let mut pairs = vec![format!("EventID={event_id}")];
                if let Some(channel) = channel {
                    pairs.push(format!("Channel=\"{channel}\""));
                }
                for (k, v) in fields {
                    if v.is_empty() || v.contains([' ', '"']) {
                        pairs.push(format!(
                            "{k}=\"{}\"",
                            v.replace('\\', "\\\\").replace('"', "\\\"")
                        ));
                    } else {
                        pairs.push(format!("{k}={v}"));
                    }
                }
                pairs.join(" ")
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400),
        ..ProptestConfig::default()
    })]

    /// The fast path (logsource routes, trigger formulas, prefilter, scan,
    /// attribution, then the confirmation's shared and grouped checks)
    /// selects exactly the rules whose predicate, walked item by item,
    /// holds on the line: on random rules of random logsources and random
    /// JSON, Key=Value and syslog events, with the prefilter on and off,
    /// routed and not.
    #[test]
    fn fast_path_equals_the_walked_predicates(
        rules in prop::collection::vec(sigma_rule(), 1..5),
        events in prop::collection::vec(event_line(), 1..8),
    ) {
        let mut set = RuleSet::new(Options { semantics: Semantics::Sigma, ..Options::default() });
        for (i, rule) in rules.iter().enumerate() {
            // A rule sigrep refuses (an empty windash value, say) is left out.
            let _ = set.add(&format!("r{i}.yml"), rule);
        }
        prop_assume!(!set.rules().is_empty());
        let predicates: Vec<_> = set.rules().iter().map(|r| r.predicate.clone().unwrap()).collect();
        let (mut reference, mut scratch) = (ReferencePredicates::default(), Scratch::default());
        let routed = Config { routing: Routing::On, ..Config::default() };
        for config in [
            Config::default(),
            Config { prefilter: false, ..Config::default() },
            routed.clone(),
            Config { scanner: LiteralScanner::Grams, ..routed.clone() },
            Config { prefilter: false, ..routed },
        ] {
            let program = set.compile(&config).unwrap();
            let mut cache = program.create_cache();
            let mut got = Vec::new();
            for line in &events {
                program.matching_rules(&mut cache, line.as_bytes(), &mut got);
                let mut event = Event::new(line.as_bytes(), &mut scratch);
                let want: Vec<u32> = (0..predicates.len() as u32)
                    .filter(|&r| {
                        reference.holds(&predicates[r as usize], line.as_bytes(), &mut event)
                    })
                    .collect();
                prop_assert_eq!(&got, &want, "line {}\nrules {:#?}", line, rules);
            }
        }
    }
}
