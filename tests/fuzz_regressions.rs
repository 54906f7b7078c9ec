//! The fuzz targets' inputs replayed on the stable toolchain.
//!
//! The bodies of the fuzz targets live in `fuzz/src/lib.rs`, included
//! here as a module, so this test runs exactly what libFuzzer runs. Every
//! file under `fuzz/seeds/<target>/` (the curated and minimized corpus)
//! and `fuzz/regressions/<target>/` (every crash the fuzzers found, fixed
//! since) goes through its target's body; a panic names the file.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod bodies;

use std::path::Path;

/// Runs `body` on every file of the target's seed and regression folders
/// and returns how many inputs the target kept (inputs in its format).
fn replay(target: &str, body: fn(&[u8]) -> bool) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for kind in ["seeds", "regressions"] {
        let dir = root.join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            let Ok(kept) = outcome else { panic!("{target}: {} fails again", file.display()) };
            count += usize::from(kept);
        }
    }
    count
}

#[test]
fn condition_parse_inputs() {
    assert!(replay("condition_parse", bodies::condition_parse) > 0);
}

#[test]
fn rule_yaml_inputs() {
    assert!(replay("rule_yaml", bodies::rule_yaml) > 0);
}

#[test]
fn engine_vs_oracle_inputs() {
    assert!(replay("engine_vs_oracle", bodies::engine_vs_oracle) > 0);
}

#[test]
fn event_fields_inputs() {
    assert!(replay("event_fields", bodies::event_fields) > 0);
}
