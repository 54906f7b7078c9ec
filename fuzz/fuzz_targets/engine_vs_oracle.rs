//! A rule built from fuzz input and a haystack: the compiled program
//! (prefilter on and off, automaton past its size bound) selects exactly the lines the
//! oracle selects.
#![no_main]

use libfuzzer_sys::{fuzz_target, Corpus};
use sigrep::compile::{Config, Program};
use sigrep::lower::Options;
use sigrep::oracle::Oracle;
use sigrep::ruleset::RuleSet;

fuzz_target!(|data: &[u8]| -> Corpus {
    // Layout: rule values and haystack separated by the first NUL.
    let Some(split) = data.iter().position(|&b| b == 0) else { return Corpus::Reject };
    let (spec, hay) = (&data[..split], &data[split + 1..]);
    let Ok(spec) = std::str::from_utf8(spec) else { return Corpus::Reject };
    if spec.len() > 512 || hay.len() > 4096 {
        return Corpus::Reject;
    }
    // Values separated by '|' become a keyword list; '!' before one puts
    // it in a filter.
    let mut keep = Vec::new();
    let mut drop = Vec::new();
    for v in spec.split('|').filter(|v| !v.is_empty()) {
        let (list, v) = match v.strip_prefix('!') {
            Some(v) => (&mut drop, v),
            None => (&mut keep, v),
        };
        list.push(format!("      - '{}'", v.replace('\'', "''").replace(['\n', '\r'], " ")));
    }
    if keep.is_empty() {
        return Corpus::Reject;
    }
    let mut rule = format!("title: f\ndetection:\n  sel:\n{}\n", keep.join("\n"));
    if drop.is_empty() {
        rule.push_str("  condition: sel\n");
    } else {
        rule.push_str(&format!("  flt:\n{}\n  condition: sel and not flt\n", drop.join("\n")));
    }
    let mut set = RuleSet::new(Options::default());
    if set.add("fuzz.yml", &rule).is_err() {
        return Corpus::Reject;
    }
    let formulas: Vec<_> = set.rules().iter().map(|r| r.formula.clone()).collect();
    let oracle = Oracle::new(set.atoms().atoms(), &formulas).unwrap();
    let want = oracle.matching_lines(hay);
    for config in [
        Config::default(),
        Config { prefilter: false, ..Config::default() },
        Config { automaton_size_limit: 16, ..Config::default() },
    ] {
        let program = Program::new(set.atoms().atoms(), &formulas, &config).unwrap();
        let mut cache = program.create_cache();
        let mut got = Vec::new();
        let mut pos = 0;
        while let Some((s, e)) = program.find_line(&mut cache, hay, pos) {
            got.push(hay[..s].iter().filter(|&&b| b == b'\n').count());
            pos = e + 1;
        }
        assert_eq!(got, want, "{config:?}");
    }
    Corpus::Keep
});
