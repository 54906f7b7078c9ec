//! Many rules at once (`-f`): tagging, JSON, stats, metadata selection,
//! broken rules among good ones, and exact attribution.

use std::collections::{BTreeMap, BTreeSet};

use sigrep::compile::{AnyRule, Config};
use sigrep::lower::{Formula, Options};
use sigrep::oracle::lines;
use sigrep::ruleset::RuleSet;

use crate::util::{shared_or_skip, Dir};

const SHELL: &str = "title: Shell
id: 11111111-0000-0000-0000-000000000001
level: high
status: test
tags: [attack.execution, attack.t1059]
logsource: {product: linux, service: auditd}
detection:
  keywords: ['wget ', 'chmod +x']
  condition: keywords
";

const SSH: &str = "title: SSH failure
id: 22222222-0000-0000-0000-000000000002
level: low
status: stable
logsource: {product: linux, service: sshd}
detection:
  sel: ['Failed password']
  filter: ['for root']
  condition: sel and not filter
";

const BROKEN: &str = "title: Broken
detection:
  sel:
    Image|containz: x
  condition: sel
";

const LOG: &str = "\
Failed password for bob from 1.2.3.4
wget http://x/a.sh && chmod +x a.sh
nothing here
Failed password for root from 5.6.7.8
chmod +x b; Failed password for eve
";

fn setup() -> Dir {
    let dir = Dir::new();
    dir.create("rules/shell.yml", SHELL);
    dir.create("rules/sub/ssh.yaml", SSH);
    dir.create("rules/notes.txt", "not a rule");
    dir.create("log.txt", LOG);
    dir
}

#[test]
fn lines_are_tagged_with_their_rules() {
    let dir = setup();
    let r = dir.run(&["-f", "rules", "-n", "log.txt"]);
    eqnice!(
        "1:ssh:Failed password for bob from 1.2.3.4\n\
         2:shell:wget http://x/a.sh && chmod +x a.sh\n\
         5:shell,ssh:chmod +x b; Failed password for eve\n",
        r.stdout
    );
    assert_eq!((r.stderr.as_str(), r.code), ("", 0));
    // -c counts lines hit by any rule; -f with several files names them.
    let r = dir.run(&["-f", "rules/shell.yml", "-f", "rules/sub", "-c", "log.txt", "log.txt"]);
    eqnice!("log.txt:3\nlog.txt:3\n", r.stdout);
}

#[test]
fn a_rule_true_on_every_line_selects_every_line() {
    // In grep semantics an empty value is a substring of every line
    // (SigmaHQ's proxy_ua_empty): -c needs no scan, and every line is
    // still tagged with every rule that selects it.
    let dir = setup();
    dir.create(
        "rules/empty.yml",
        "title: Empty\ndetection:\n  sel:\n    c-useragent: ''\n  condition: sel\n",
    );
    let r = dir.run(&["--semantics", "grep", "-f", "rules", "-c", "log.txt"]);
    assert_eq!((r.stdout.as_str(), r.code), ("5\n", 0));
    let r = dir.run(&["--semantics", "grep", "-f", "rules", "-n", "log.txt"]);
    eqnice!(
        "1:empty,ssh:Failed password for bob from 1.2.3.4\n\
         2:empty,shell:wget http://x/a.sh && chmod +x a.sh\n\
         3:empty:nothing here\n\
         4:empty:Failed password for root from 5.6.7.8\n\
         5:empty,shell,ssh:chmod +x b; Failed password for eve\n",
        r.stdout
    );
}

#[test]
fn selection_by_metadata() {
    let dir = setup();
    let run = |args: &[&str]| {
        let mut all = vec!["-f", "rules"];
        all.extend_from_slice(args);
        all.push("log.txt");
        dir.run(&all).stdout
    };
    let only_ssh = "Failed password for bob from 1.2.3.4\nchmod +x b; Failed password for eve\n";
    let only_shell = "wget http://x/a.sh && chmod +x a.sh\nchmod +x b; Failed password for eve\n";
    assert_eq!(run(&["-h", "--level", "low"]).replace("ssh:", ""), only_ssh);
    assert_eq!(run(&["-h", "--level", "HIGH,critical"]).replace("shell:", ""), only_shell);
    assert_eq!(run(&["-h", "--status", "stable"]).replace("ssh:", ""), only_ssh);
    assert_eq!(run(&["-h", "--tag", "attack.t1059"]).replace("shell:", ""), only_shell);
    assert_eq!(
        run(&["-h", "--id", "22222222-0000-0000-0000-000000000002"]).replace("ssh:", ""),
        only_ssh
    );
    assert_eq!(
        run(&["-h", "--logsource", "product=linux,service=sshd"]).replace("ssh:", ""),
        only_ssh
    );
    let r = dir.run(&["-f", "rules", "--level", "critical", "log.txt"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no rules to run"), "{}", r.stderr);
}

#[test]
fn broken_rule_is_reported_once_and_skipped() {
    let dir = setup();
    dir.create("rules/broken.yml", BROKEN);
    let r = dir.run(&["-f", "rules", "-c", "log.txt"]);
    assert_eq!(r.stdout, "3\n");
    assert_eq!(r.code, 2, "an error happened, even though lines were selected");
    let errors: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(
        errors[0].starts_with("sigrep: rules/broken.yml:4:11: unknown modifier 'containz'"),
        "{}",
        errors[0]
    );
}

#[test]
fn json_lines_carry_rules_and_a_summary() {
    let dir = setup();
    dir.create("bin.txt", b"Failed password \xff\xfe\n".as_slice());
    let r = dir.run(&["-f", "rules", "--json", "log.txt", "bin.txt"]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"type":"match","path":"log.txt","line_number":1,"offset":0,"line":"Failed password for bob from 1.2.3.4","rules":[{"id":"22222222-0000-0000-0000-000000000002","title":"SSH failure","level":"low","path":"rules/sub/ssh.yaml"}]}"#
    );
    assert!(
        lines[2].contains(r#""line_number":5"#)
            && lines[2].contains("11111111")
            && lines[2].contains("22222222")
    );
    assert_eq!(lines[3], r#"{"type":"end","path":"log.txt","selected":3,"binary":false}"#);
    // Not UTF-8: the exact bytes in base64.
    assert!(lines[4].contains(r#""line_base64":"RmFpbGVkIHBhc3N3b3JkIP/+""#), "{}", lines[4]);
    assert_eq!(lines[5], r#"{"type":"end","path":"bin.txt","selected":1,"binary":false}"#);
    assert!(
        lines[6].starts_with(r#"{"type":"summary","files":2,"selected":4,"semantics":"#),
        "{}",
        lines[6]
    );
    assert!(lines[6].contains(r#""path":"rules/shell.yml","hits":2}"#), "{}", lines[6]);
    assert!(lines[6].contains(r#""path":"rules/sub/ssh.yaml","hits":3}"#), "{}", lines[6]);
    assert_eq!(lines.len(), 7);
}

#[test]
fn stats_count_hits_per_rule() {
    let dir = setup();
    let r = dir.run(&["-f", "rules", "--stats", "-c", "log.txt"]);
    eqnice!(
        "3\nsigrep stats: 3 selected lines; 2 of 2 rules hit; sigma semantics\n         \
         2  shell  Shell\n         2  ssh  SSH failure\n",
        r.stdout
    );
}

/// For every rule, the lines a many-rule program tags with it are exactly
/// the lines that rule selects on its own.
#[test]
fn attribution_equals_single_rule_runs() {
    let Some(shared) = shared_or_skip("attribution_equals_single_rule_runs") else { return };
    let rules_dir = shared.join("sigma/rules");
    let mut files = Vec::new();
    let mut stack = vec![rules_dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else if p.extension().is_some_and(|x| x == "yml") {
                files.push(p)
            }
        }
    }
    files.sort();
    // A sample: every eighth rule. A rule that is the constant true is
    // left out: with it, "does any rule select the line" needs no scan.
    let sample: Vec<_> = files.iter().step_by(8).collect();
    let mut all = RuleSet::new(Options::default());
    let mut singles = Vec::new();
    for path in &sample {
        let text = std::fs::read_to_string(path).unwrap();
        let mut one = RuleSet::new(Options::default());
        if one.add("r.yml", &text).is_ok()
            && one.rules().iter().all(|r| r.formula != Formula::Const(true))
        {
            all.add("r.yml", &text).unwrap();
            singles.push(one.compile(&Config::default()).unwrap());
        }
    }
    let program = all.compile(&Config::default()).unwrap();
    // Many rules: by default "does any rule select the line" is decided by
    // attribution; the circuit must agree.
    let by_circuit =
        all.compile(&Config { any_rule: AnyRule::Circuit, ..Config::default() }).unwrap();
    let mut circuit_cache = by_circuit.create_cache();
    let mut hay = Vec::new();
    for log in ["Linux_2k.log", "OpenSSH_2k.log", "Apache_2k.log"] {
        hay.extend(std::fs::read(shared.join("corpus/loghub").join(log)).unwrap());
    }
    let mut cache = program.create_cache();
    let mut caches: Vec<_> = singles.iter().map(|p| p.create_cache()).collect();
    let mut tagged = Vec::new();
    let mut checked = 0;
    let mut selected = 0;
    for line in lines(&hay) {
        program.matching_rules(&mut cache, line, &mut tagged);
        let mut alone = Vec::new();
        for (i, (p, c)) in singles.iter().zip(caches.iter_mut()).enumerate() {
            if p.is_match(c, line) {
                alone.push(i as u32);
            }
        }
        assert_eq!(tagged, alone, "line {:?}", String::from_utf8_lossy(line));
        let any = program.is_match(&mut cache, line);
        assert_eq!(any, !tagged.is_empty(), "line {:?}", String::from_utf8_lossy(line));
        assert_eq!(by_circuit.is_match(&mut circuit_cache, line), any);
        checked += 1;
        selected += usize::from(any);
    }
    let rules = singles.len();
    assert!(checked >= 5990 && rules >= 300, "{checked} lines, {rules} rules");
    assert!(selected >= 500, "{selected} of {checked} lines selected: the sample tests little");
}

/// The selected line numbers of `sigrep -n` output, by rule label (the
/// `#N` of multi-document files dropped: a single-rule run of such a file
/// selects the union).
fn lines_by_label(stdout: &str) -> BTreeMap<String, BTreeSet<u64>> {
    let mut by_label: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for line in stdout.lines() {
        let mut fields = line.splitn(3, ':');
        let number: u64 = fields.next().unwrap().parse().unwrap();
        for label in fields.next().unwrap().split(',') {
            let file = label.split('#').next().unwrap();
            by_label.entry(file.to_string()).or_default().insert(number);
        }
    }
    by_label
}

/// Through the CLI, on the generated benchmark corpora and a loghub sample:
/// the lines `sigrep -f RULES` tags with a rule are exactly the lines that
/// `sigrep RULE` selects, for a sample of SigmaHQ rules plus the benchmark
/// rules.
#[test]
fn attribution_on_generated_corpora_equals_single_rule_runs() {
    let test = "attribution_on_generated_corpora_equals_single_rule_runs";
    let Some(shared) = shared_or_skip(test) else { return };
    let dir = Dir::new();
    let mut files = Vec::new();
    let mut stack = vec![shared.join("sigma/rules")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else if p.extension().is_some_and(|x| x == "yml") {
                files.push(p)
            }
        }
    }
    files.sort();
    let mut sample: Vec<_> = files.iter().step_by(60).cloned().collect();
    sample.push(shared.join("corpus/rules/wmi_persistence.yml"));
    for name in [
        "windows/process_creation/proc_creation_win_susp_crypto_mining_monero.yml",
        "linux/builtin/lnx_shell_susp_commands.yml",
    ] {
        sample.push(shared.join("sigma/rules").join(name));
    }
    let mut stems = BTreeSet::new();
    for path in &sample {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        dir.create(&format!("rules/{stem}.yml"), std::fs::read(path).unwrap());
        assert!(stems.insert(stem), "sample file stems are unique");
    }
    let generator = shared.join("corpus/gen_corpus.py");
    for (kind, seed) in [("windows", "3"), ("linux", "4")] {
        let out = dir.path().join(format!("{kind}.log"));
        let run = std::process::Command::new("python3")
            .arg(&generator)
            .args(["--kind", kind, "--size-mib", "1", "--rate", "1e-2", "--seed", seed, "--out"])
            .arg(&out)
            .output()
            .expect("python3 runs gen_corpus.py");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "gen_corpus.py --kind {kind}: {stderr}");
    }
    dir.create("loghub.log", std::fs::read(shared.join("corpus/loghub/Linux_2k.log")).unwrap());
    let mut rule_hits = 0;
    for corpus in ["windows.log", "linux.log", "loghub.log"] {
        // One rule's run is grep semantics: so is the set's here.
        let all = dir.run(&["--semantics", "grep", "-n", "-f", "rules", corpus]);
        assert!(all.code <= 1, "{corpus}: {}", all.stderr);
        let tagged = lines_by_label(&all.stdout);
        // Counting (with this many rules, decided by attribution) agrees
        // with printing.
        let count = dir.run(&["--semantics", "grep", "-c", "-f", "rules", corpus]);
        assert_eq!(count.stdout.trim(), all.stdout.lines().count().to_string(), "{corpus}: -c");
        for stem in &stems {
            let alone = dir.run(&["-n", &format!("rules/{stem}.yml"), corpus]);
            assert!(alone.code <= 1, "{stem} on {corpus}: {}", alone.stderr);
            let selected: BTreeSet<u64> = alone
                .stdout
                .lines()
                .map(|l| l.split(':').next().unwrap().parse().unwrap())
                .collect();
            let empty = BTreeSet::new();
            let got = tagged.get(stem).unwrap_or(&empty);
            assert_eq!(got, &selected, "{stem} on {corpus}: tagged lines vs its own run");
            rule_hits += selected.len();
        }
    }
    // The generator injects about 1% matches of each benchmark rule.
    assert!(rule_hits >= 100, "{rule_hits} rule hits: the sample is not exercised");
}

/// A program with thousands of atoms colours the literals of its atoms
/// found in a line (one regex over all of them took minutes per megabyte
/// with all SigmaHQ rules); a small one colours the regex's matches.
#[test]
fn colour_with_many_atoms_marks_their_literals() {
    let dir = Dir::new();
    let values: String = (0..1500).map(|i| format!("      - 'needle{i:04}x'\n")).collect();
    dir.create(
        "many.yml",
        format!("title: many\ndetection:\n  keywords:\n{values}  condition: keywords\n"),
    );
    dir.create("a.log", "one NEEDLE0042X two needle1499x\nnothing\n");
    let r = dir.run(&["--color=always", "many.yml", "a.log"]);
    assert_eq!(r.code, 0, "{r:?}");
    let m = |s: &str| format!("\x1b[01;31m\x1b[K{s}\x1b[m\x1b[K");
    assert_eq!(r.stdout, format!("one {} two {}\n", m("NEEDLE0042X"), m("needle1499x")));
    // The same line under a rule of few atoms: the regex's matches.
    dir.create("few.yml", "title: few\ndetection:\n  k: ['needle0042x']\n  condition: k\n");
    let r = dir.run(&["--color=always", "few.yml", "a.log"]);
    assert_eq!(r.stdout, format!("one {} two needle1499x\n", m("NEEDLE0042X")));
}
