//! Property tests: every fast path against its slow twin.
//!
//! * the compiled program (automaton + prefilter) against the oracle
//!   (each atom on its own), on random formulas over overlapping atoms and
//!   random lines (non-ASCII, CR, empty lines, no final newline);
//! * prefilter on against off, automaton against forced oracle engine;
//! * the read path (tiny random chunks) against the in-memory path, for
//!   every search option that shapes output.

use std::io::{self, Read};

use proptest::prelude::*;
use sigrep::compile::{AnyRule, Config, Engine, LiteralScanner, Program};
use sigrep::lower::{Atom, AtomId, AtomKind, Formula, Piece};
use sigrep::oracle::{lines, Oracle};
use sigrep::search::{BinaryMode, Line, SearchConfig, Searcher, Sink};

/// Small alphabet so atoms overlap and share prefixes; includes case
/// variants with non-ASCII folds (K, KELVIN SIGN, s, LONG S), non-ASCII
/// letters, CR and a backslash (which starts a JSON character escape).
const ALPHABET: &[&str] = &[
    "a", "b", "c", "A", "B", "k", "K", "\u{212A}", "s", "\u{17F}", "é", "É", "-", " ", "\r", "5",
    "\\",
];

/// Rich in the two non-ASCII characters that fold to ASCII letters
/// (KELVIN SIGN to `k`, LONG S to `s`), plus a character whose first
/// byte is KELVIN SIGN's (RIGHT SINGLE QUOTATION MARK, E2 80 99).
const PARTNER_ALPHABET: &[&str] =
    &["k", "K", "\u{212A}", "s", "S", "\u{17F}", "a", "x", " ", "é", "\u{2019}"];

fn text_from(alphabet: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet), 1..4).prop_map(|v| v.concat())
}

fn atom_from(alphabet: &'static [&'static str]) -> impl Strategy<Value = Atom> {
    let piece = prop_oneof![
        4 => text_from(alphabet).prop_map(|t| Piece::Lit(t.into_bytes())),
        1 => Just(Piece::AnyRun),
        1 => Just(Piece::AnyChar),
        1 => Just(Piece::OneOf(vec!['-', '/'])),
        1 => Just(Piece::JsonChar),
    ];
    let text_atom = (prop::collection::vec(piece, 1..4), any::<bool>())
        .prop_filter_map("empty atom", |(pieces, fold)| Atom::text(pieces, fold));
    let regex_atom =
        prop::sample::select(vec!["a[bc]+", "^ab", "c$", "(?i)k.s", r"\bab", "5{2,}", "^$"])
            .prop_map(|r| Atom { kind: AtomKind::Regex(r.to_string()), fold_case: false });
    prop_oneof![5 => text_atom, 1 => regex_atom]
}

fn formula(n_atoms: u32) -> impl Strategy<Value = Formula> {
    let leaf = (0..n_atoms).prop_map(|i| Formula::atom(AtomId(i)));
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Formula::not),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Formula::and),
            // Up to 6 children: attribution groups the plain atoms of an
            // OR with 4 or more.
            prop::collection::vec(inner, 1..7).prop_map(Formula::or),
        ]
    })
}

fn haystack_from(
    alphabet: &'static [&'static str],
    line_len: usize,
) -> impl Strategy<Value = Vec<u8>> {
    let line =
        prop::collection::vec(prop::sample::select(alphabet), 0..line_len).prop_map(|v| v.concat());
    (prop::collection::vec(line, 0..12), any::<bool>()).prop_map(|(lines, final_nl)| {
        let mut h = lines.join("\n").into_bytes();
        if final_nl && !h.is_empty() {
            h.push(b'\n');
        }
        h
    })
}

fn case() -> impl Strategy<Value = (Vec<Atom>, Vec<Formula>, Vec<u8>)> {
    case_from(ALPHABET, 12)
}

fn case_from(
    alphabet: &'static [&'static str],
    line_len: usize,
) -> impl Strategy<Value = (Vec<Atom>, Vec<Formula>, Vec<u8>)> {
    prop::collection::vec(atom_from(alphabet), 1..8)
        .prop_flat_map(move |atoms| {
            let n = atoms.len() as u32;
            (
                Just(atoms),
                prop::collection::vec(formula(n), 1..4),
                haystack_from(alphabet, line_len),
            )
        })
        .prop_map(|(mut atoms, formulas, hay)| {
            // The table interns atoms: drop duplicates by remapping.
            atoms.dedup();
            let n = atoms.len() as u32;
            let formulas = formulas.into_iter().map(|f| remap(&f, n)).collect();
            (atoms, formulas, hay)
        })
}

fn remap(f: &Formula, n: u32) -> Formula {
    match f {
        Formula::Const(b) => Formula::Const(*b),
        Formula::Atom(a) => Formula::atom(AtomId(a.0 % n)),
        Formula::Not(x) => Formula::not(remap(x, n)),
        Formula::And(xs) => Formula::and(xs.iter().map(|x| remap(x, n))),
        Formula::Or(xs) => Formula::or(xs.iter().map(|x| remap(x, n))),
    }
}

/// Matching line numbers (0-based) found by the program's line finder.
fn program_lines(program: &Program, hay: &[u8]) -> Vec<usize> {
    let mut cache = program.create_cache();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some((s, e)) = program.find_line(&mut cache, hay, pos) {
        out.push(hay[..s].iter().filter(|&&b| b == b'\n').count());
        pos = e + 1;
        if pos > hay.len() {
            break;
        }
    }
    out
}

/// Case count: the default, or `PROPTEST_CASES` for a deeper run.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn configs() -> Vec<(&'static str, Config)> {
    vec![
        ("default", Config::default()),
        ("no-prefilter", Config { prefilter: false, ..Config::default() }),
        // Few rules: the default decides lines by the circuit; force the
        // many-rule way too.
        ("any-by-attribution", Config { any_rule: AnyRule::Attribution, ..Config::default() }),
        ("oracle-engine", Config { engine: Engine::PerAtom, ..Config::default() }),
        // Past the automaton's size bound the exact slow path takes over.
        ("tiny-automaton", Config { automaton_size_limit: 16, ..Config::default() }),
        // Large pattern sets are found by grams; these small ones too here.
        ("grams", Config { scanner: LiteralScanner::Grams, ..Config::default() }),
        (
            "grams-by-attribution",
            Config {
                scanner: LiteralScanner::Grams,
                any_rule: AnyRule::Attribution,
                ..Config::default()
            },
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1500), ..ProptestConfig::default() })]

    #[test]
    fn program_equals_oracle((atoms, formulas, hay) in case()) {
        program_equals_oracle_on(&atoms, &formulas, &hay)?;
    }

    /// Lines holding KELVIN SIGN and LONG S, long enough that they occur
    /// far past the longest pattern: the fast path reads them as their
    /// letters from the first one on, the oracle folds them by regex.
    #[test]
    fn program_equals_oracle_on_case_partners((atoms, formulas, hay) in case_from(PARTNER_ALPHABET, 40)) {
        program_equals_oracle_on(&atoms, &formulas, &hay)?;
    }
}

/// The program selects the oracle's lines, with the oracle's rules, under
/// every configuration.
fn program_equals_oracle_on(
    atoms: &[Atom],
    formulas: &[Formula],
    hay: &[u8],
) -> Result<(), TestCaseError> {
    let oracle = Oracle::new(atoms, formulas).unwrap();
    let expected = oracle.matching_lines(hay);
    for (name, config) in configs() {
        let program = Program::new(atoms, formulas, &config).unwrap();
        if name == "tiny-automaton" {
            prop_assert!(!program.uses_automaton());
        }
        prop_assert_eq!(&program_lines(&program, hay), &expected, "config {}", name);
        // Per-rule attribution on every line.
        let mut cache = program.create_cache();
        let mut got = Vec::new();
        for line in lines(hay) {
            let want: Vec<u32> = oracle
                .rules_matching(line)
                .iter()
                .enumerate()
                .filter(|(_, &m)| m)
                .map(|(i, _)| i as u32)
                .collect();
            program.matching_rules(&mut cache, line, &mut got);
            prop_assert_eq!(
                &got,
                &want,
                "config {} line {:?}",
                name,
                String::from_utf8_lossy(line)
            );
        }
    }
    Ok(())
}

/// Records sink events as text.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Sink for Recorder {
    fn selected(&mut self, l: &Line<'_>) -> io::Result<()> {
        self.0.push(format!("S {:?} {} {:?}", l.number, l.offset, l.bytes));
        Ok(())
    }
    fn context(&mut self, l: &Line<'_>) -> io::Result<()> {
        self.0.push(format!("C {:?} {} {:?}", l.number, l.offset, l.bytes));
        Ok(())
    }
    fn context_break(&mut self) -> io::Result<()> {
        self.0.push("--".into());
        Ok(())
    }
    fn binary_match(&mut self) -> io::Result<()> {
        self.0.push("binary".into());
        Ok(())
    }
}

/// A reader that hands out at most a few bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    i: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.sizes[self.i % self.sizes.len()].min(buf.len()).min(self.data.len());
        self.i += 1;
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// What the search would print, expected from first principles: the
/// selected lines (by the oracle), with -v and -m applied.
fn expected_selected(oracle: &Oracle, hay: &[u8], invert: bool, max: Option<u64>) -> Vec<usize> {
    let mut out: Vec<usize> = lines(hay)
        .enumerate()
        .filter(|(_, l)| oracle.is_match(l) != invert)
        .map(|(i, _)| i)
        .collect();
    if let Some(m) = max {
        out.truncate(m as usize);
    }
    out
}

/// The events GNU grep's rules give: selected lines (first `max` of
/// them), every line within `before`/`after` of one as context, a break
/// before each group of adjacent printed lines when context is on.
fn expected_output(
    oracle: &Oracle,
    hay: &[u8],
    invert: bool,
    max: Option<u64>,
    before: usize,
    after: usize,
) -> Vec<String> {
    let all: Vec<&[u8]> = lines(hay).collect();
    let selected = expected_selected(oracle, hay, invert, max);
    let mut printed = vec![false; all.len()];
    for &s in &selected {
        for line in
            printed.iter_mut().take((s + after + 1).min(all.len())).skip(s.saturating_sub(before))
        {
            *line = true;
        }
    }
    let mut offsets = Vec::with_capacity(all.len());
    let mut off = 0;
    for l in &all {
        offsets.push(off);
        off += l.len() + 1;
    }
    let mut out = Vec::new();
    for i in 0..all.len() {
        if !printed[i] {
            continue;
        }
        if (before > 0 || after > 0) && (i == 0 || !printed[i - 1]) {
            out.push("--".to_string());
        }
        let kind = if selected.contains(&i) { "S" } else { "C" };
        out.push(format!("{kind} {:?} {} {:?}", Some(i as u64 + 1), offsets[i], all[i]));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), ..ProptestConfig::default() })]

    #[test]
    fn read_path_equals_slice_path(
        (atoms, formulas, hay) in case(),
        invert in any::<bool>(),
        before in 0usize..3,
        after in 0usize..3,
        max in prop::option::of(0u64..4),
        sizes in prop::collection::vec(1usize..9, 1..5),
        block in prop::option::of(1usize..64),
    ) {
        let program = Program::new(&atoms, &formulas, &Config::default()).unwrap();
        let config = SearchConfig {
            invert,
            max_count: max,
            before,
            after,
            context_separators: before > 0 || after > 0,
            line_numbers: true,
            binary: BinaryMode::Text,
            attribute_rules: false,
            // Blocks as small as a byte: every line in a block of its own.
            block_size: block,
        };
        let mut slice = Recorder::default();
        Searcher::new(&program, config.clone()).search_slice(&hay, &mut slice).unwrap();
        let mut read = Recorder::default();
        let mut reader = Trickle { data: &hay, sizes, i: 0 };
        Searcher::new(&program, config).search_reader(&mut reader, &mut read).unwrap();
        prop_assert_eq!(&slice.0, &read.0);

        // Independently: what grep prints, from the oracle's verdicts.
        let oracle = Oracle::new(&atoms, &formulas).unwrap();
        let want = expected_output(&oracle, &hay, invert, max, before, after);
        prop_assert_eq!(&slice.0, &want);
    }
}
