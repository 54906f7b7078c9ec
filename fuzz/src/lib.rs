//! The bodies of the fuzz targets, shared with the stable test suite.
//!
//! Each function takes one fuzz input, panics if sigrep misbehaves on it,
//! and returns whether the input is worth keeping in the corpus (false
//! for inputs outside the target's format). The fuzz targets in
//! `fuzz_targets/` call them under libFuzzer; `tests/fuzz_regressions.rs`
//! includes this file with `#[path]` and replays every committed corpus
//! seed and crash through the same code on the stable toolchain.
//!
//! This file must therefore compile both as a crate root and as a module:
//! no crate attributes, only `sigrep` and `std`.

use sigrep::compile::{AnyRule, Config, Engine, LiteralScanner, Program};
use sigrep::condition;
use sigrep::error::Pos;
use sigrep::lower::Options;
use sigrep::oracle::{lines, Oracle};
use sigrep::ruleset::RuleSet;

/// Inputs longer than this are rejected (they only slow the fuzzer).
const MAX_TEXT: usize = 16 * 1024;

/// Any text as a condition: never panics; errors point inside the text.
pub fn condition_parse(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else { return false };
    if text.len() > MAX_TEXT {
        return false;
    }
    if let Err(e) = condition::parse(text, Pos::new(1, 1)) {
        let pos = e.pos().expect("condition errors have positions");
        assert_eq!(pos.line, 1, "{e}");
        assert!(pos.col >= 1 && pos.col <= text.chars().count() + 1, "{e}");
    }
    true
}

/// Any bytes as a rule file: loading and compiling never panics, and
/// errors with a position point inside the text.
pub fn rule_yaml(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else { return false };
    if text.len() > MAX_TEXT {
        return false;
    }
    let mut set = RuleSet::new(Options::default());
    match set.add("fuzz.yml", text) {
        Ok(_) => {
            let _ = set.compile(&Config::default());
        }
        Err(e) => {
            assert_eq!(e.source, "fuzz.yml", "{e}");
            if let Some(pos) = e.pos {
                // Within the text, or where a line after its end would
                // start (the YAML parser reports a missing part there);
                // YAML also breaks lines at a lone CR.
                let breaks = text.bytes().filter(|&b| b == b'\n' || b == b'\r').count();
                assert!(pos.line >= 1 && pos.line <= breaks + 2, "{e}: {text:?}");
                assert!(pos.col >= 1, "{e}");
            }
        }
    }
    true
}

/// Modifier sets the engine target chooses from (by the spec's first
/// byte): each changes how values become atoms.
const MODIFIERS: &[&str] = &[
    "|contains",
    "",
    "|startswith",
    "|endswith",
    "|contains|all",
    "|contains|windash",
    "|contains|cased",
    "|re",
    "|re|i",
    "|base64offset|contains",
    "|utf16le|contains",
    "|contains|all|cased",
];

/// Engine configurations programs are built with: prefilter on and off,
/// the automaton past tiny state budgets (so the exact fallback is used),
/// lines decided the many-rule way (attribution, atoms checked on demand),
/// literals found by grams (the scanner of large pattern sets) and the
/// oracle engine itself.
fn configs() -> [Config; 7] {
    [
        Config::default(),
        Config { scanner: LiteralScanner::Grams, ..Config::default() },
        Config { any_rule: AnyRule::Attribution, ..Config::default() },
        Config { prefilter: false, ..Config::default() },
        Config { automaton_size_limit: 16, ..Config::default() },
        Config { automaton_size_limit: 2048, prefilter: false, ..Config::default() },
        Config { engine: Engine::PerAtom, ..Config::default() },
    ]
}

/// A YAML list item holding `value` as a single-quoted scalar.
fn quoted(value: &str) -> String {
    format!("      - '{}'\n", value.replace('\'', "''").replace(['\n', '\r'], " "))
}

/// The rule text a spec describes, or `None` for a spec without values.
///
/// Spec: rules separated by `;` (at most 3); in each, values separated by
/// `|`; a value starting with `!` goes to the rule's filter (`sel and not
/// flt`). The first byte picks the modifiers of the selection (see
/// [`MODIFIERS`]), the second (when it is `c`) turns case folding off.
fn spec_rules(spec: &str) -> Option<(Vec<String>, Options)> {
    let mut chars = spec.chars();
    let modifier = MODIFIERS[chars.next()? as usize % MODIFIERS.len()];
    let rest = chars.as_str();
    let (ignore_case, rest) = match rest.strip_prefix('c') {
        Some(r) => (false, r),
        None => (true, rest),
    };
    let mut rules = Vec::new();
    for (n, part) in rest.split(';').take(3).enumerate() {
        let mut keep = String::new();
        let mut drop = String::new();
        for v in part.split('|').filter(|v| !v.is_empty()) {
            match v.strip_prefix('!') {
                Some(v) if !v.is_empty() => drop.push_str(&quoted(v)),
                Some(_) => {}
                None => keep.push_str(&quoted(v)),
            }
        }
        if keep.is_empty() {
            continue;
        }
        let mut rule = format!("title: f{n}\ndetection:\n  sel:\n    x{modifier}:\n{keep}");
        if drop.is_empty() {
            rule.push_str("  condition: sel\n");
        } else {
            rule.push_str(&format!("  flt:\n    x:\n{drop}  condition: sel and not flt\n"));
        }
        rules.push(rule);
    }
    (!rules.is_empty()).then_some((rules, Options { ignore_case, ..Options::default() }))
}

/// A few small rules and a haystack: the default engine configuration and
/// one other (see [`configs`]) select exactly the lines the oracle selects, and attributes each selected line
/// to exactly the rules the oracle says select it.
///
/// Layout: the rule spec (see `spec_rules`), a NUL, the haystack.
pub fn engine_vs_oracle(data: &[u8]) -> bool {
    let Some(split) = data.iter().position(|&b| b == 0) else { return false };
    let (spec, hay) = (&data[..split], &data[split + 1..]);
    let Ok(spec) = std::str::from_utf8(spec) else { return false };
    if spec.len() > 512 || hay.len() > 4096 {
        return false;
    }
    let Some((rules, options)) = spec_rules(spec) else { return false };
    let mut set = RuleSet::new(options);
    for (i, rule) in rules.iter().enumerate() {
        if set.add(&format!("fuzz{i}.yml"), rule).is_err() {
            return false;
        }
    }
    let formulas: Vec<_> = set.rules().iter().map(|r| r.formula.clone()).collect();
    let Ok(oracle) = Oracle::new(set.atoms().atoms(), &formulas) else { return false };
    let want: Vec<(usize, Vec<u32>)> = lines(hay)
        .enumerate()
        .filter_map(|(i, line)| {
            let hits: Vec<u32> = oracle
                .rules_matching(line)
                .into_iter()
                .enumerate()
                .filter(|&(_, hit)| hit)
                .map(|(r, _)| r as u32)
                .collect();
            (!hits.is_empty()).then_some((i, hits))
        })
        .collect();
    // Each program compiles its atoms' regexes again, which dominates a
    // run: besides the default, one other configuration per input, chosen
    // by the haystack's length.
    let [default, others @ ..] = configs();
    let other = others[hay.len() % others.len()].clone();
    for config in [default, other] {
        let program = Program::new(set.atoms().atoms(), &formulas, &config)
            .unwrap_or_else(|e| panic!("{config:?}: the oracle compiled, the program not: {e}"));
        let mut cache = program.create_cache();
        let line_no = |s: usize| hay[..s].iter().filter(|&&b| b == b'\n').count();
        let mut got = Vec::new();
        let mut pos = 0;
        while let Some((s, e)) = program.find_line(&mut cache, hay, pos) {
            got.push(line_no(s));
            pos = e + 1;
        }
        let want_lines: Vec<usize> = want.iter().map(|(i, _)| *i).collect();
        assert_eq!(got, want_lines, "{config:?}\n{rules:#?}");
        let mut attributed = Vec::new();
        let mut hits = Vec::new();
        let mut pos = 0;
        while let Some((s, e)) = program.find_line_rules(&mut cache, hay, pos, &mut hits) {
            hits.sort_unstable();
            attributed.push((line_no(s), hits.clone()));
            pos = e + 1;
        }
        assert_eq!(attributed, want, "{config:?} attribution\n{rules:#?}");
    }
    true
}

/// Any bytes as a log line: decoding its fields never panics; the fast
/// decoder equals its slow twin wherever the twin can judge (JSON that
/// serde_json accepts, key=value and field-less lines); every field is
/// found again by its full name, and an attribute by its `_` name too.
pub fn event_fields(data: &[u8]) -> bool {
    use sigrep::event::{reference, Event, Scratch};

    if data.len() > MAX_TEXT {
        return false;
    }
    reference::compare(data);
    let (_, fields) = reference::fast(data);
    let mut scratch = Scratch::default();
    let mut event = Event::new(data, &mut scratch);
    for field in &fields {
        let mut names = vec![field.name.clone()];
        if let Some(dot) = field.attribute_dot {
            assert_eq!(field.name[dot], b'.', "{field:?}");
            let mut underscored = field.name.clone();
            underscored[dot] = b'_';
            names.push(underscored);
        }
        for name in names {
            // Names are bytes; a lookup takes text. Names that are not
            // UTF-8 are looked up by what they decode to, which may find
            // nothing: skip those.
            let Ok(name) = std::str::from_utf8(&name) else { continue };
            let found = event.values(name).any(|v| v == field.value.as_slice());
            assert!(found, "{name:?} does not find {field:?}");
        }
    }
    true
}
