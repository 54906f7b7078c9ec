//! Micro-benchmarks of the engine on generated Windows-event lines.
//!
//! Each benchmark asserts the number of selected lines inside the timed
//! closure, so a fast wrong answer cannot pass as a speed-up. Baselines
//! beside the engine: a memchr newline count (the floor: every search must
//! at least find line ends) and the oracle (each atom on its own).
//!
//! Run: `cargo bench --bench engine`. End-to-end comparisons with grep,
//! ripgrep, ugrep and Hyperscan belong in `benches/compare.sh`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sigrep::compile::{Config, Program};
use sigrep::lower::Options;
use sigrep::oracle::Oracle;
use sigrep::ruleset::RuleSet;

const WMI: &str = include_str!("../examples/wmi_persistence.yml");

/// Deterministic Windows-like lines; every `every`-th line matches the WMI
/// rule. Returns the haystack and the number of matching lines.
fn corpus(lines: usize, every: usize) -> (Vec<u8>, usize) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(lines * 300);
    let mut matches = 0;
    for i in 0..lines {
        let id = [4624, 4688, 4103, 5857, 7045][next() as usize % 5];
        if every > 0 && i % every == every / 2 {
            out.extend_from_slice(
                b"TimeCreated=2024-07-17T03:20:27Z Computer=win10-lab EventID=5861 Provider=Microsoft-Windows-WMI-Activity Consumer=\"CommandLineEventConsumer=\\\"x\\\"\"\n",
            );
            matches += 1;
            continue;
        }
        let line = format!(
            "TimeCreated=2024-07-17T03:{:02}:{:02}Z Computer=host{} EventID={id} Provider=Microsoft-Windows-Security-Auditing ProcessId={} Image=C:\\Windows\\System32\\svchost.exe CommandLine=\"svchost.exe -k netsvcs -p\" User=NT AUTHORITY\\SYSTEM LogonId=0x{:x}\n",
            next() % 60,
            next() % 60,
            next() % 100,
            next() % 4000,
            next() % 0xfff,
        );
        out.extend_from_slice(line.as_bytes());
    }
    (out, matches)
}

fn program(config: &Config) -> Program {
    let mut set = RuleSet::new(Options::default());
    set.add("wmi_persistence.yml", WMI).unwrap();
    set.compile(config).unwrap()
}

fn count_lines(program: &Program, hay: &[u8]) -> usize {
    let mut cache = program.create_cache();
    let mut pos = 0;
    let mut n = 0;
    while let Some((_, e)) = program.find_line(&mut cache, hay, pos) {
        n += 1;
        pos = e + 1;
    }
    n
}

fn wmi(c: &mut Criterion) {
    let (hay, expected) = corpus(40_000, 1000);
    let mut group = c.benchmark_group("wmi");
    group.throughput(Throughput::Bytes(hay.len() as u64));
    group.bench_function("memchr-newlines", |b| {
        b.iter(|| assert_eq!(memchr::memchr_iter(b'\n', &hay).count(), 40_000))
    });
    let with = program(&Config::default());
    group.bench_function("program", |b| b.iter(|| assert_eq!(count_lines(&with, &hay), expected)));
    let without = program(&Config { prefilter: false, ..Config::default() });
    group.bench_function("program-no-prefilter", |b| {
        b.iter(|| assert_eq!(count_lines(&without, &hay), expected))
    });
    let mut set = RuleSet::new(Options::default());
    set.add("wmi_persistence.yml", WMI).unwrap();
    let formulas: Vec<_> = set.rules().iter().map(|r| r.formula.clone()).collect();
    let oracle = Oracle::new(set.atoms().atoms(), &formulas).unwrap();
    group.bench_function("oracle", |b| {
        b.iter(|| assert_eq!(oracle.matching_lines(&hay).len(), expected))
    });
    group.finish();
}

criterion_group!(benches, wmi);
criterion_main!(benches);
