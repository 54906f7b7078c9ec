//! Compile time of every rule on its own (load, lower, build the program),
//! for the "no cliff" check of the speed contract: every SigmaHQ rule must
//! compile in under a second.
//!
//!     cargo run --release --example compile_times -- RULE_FILE_OR_DIR...
//!
//! Prints the rule count, the median, the 99th percentile and the maximum,
//! then the five slowest rules. Exits 1 if any rule takes a second or more.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sigrep::compile::Config;
use sigrep::ruleset::RuleSet;

fn main() {
    let roots: Vec<String> = std::env::args().skip(1).collect();
    if roots.is_empty() {
        eprintln!("usage: compile_times RULE_FILE_OR_DIR...");
        std::process::exit(2);
    }
    let mut files = Vec::new();
    for root in &roots {
        collect(Path::new(root), &mut files);
    }
    files.sort();
    let mut times: Vec<(f64, PathBuf)> = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let start = Instant::now();
        let mut set = RuleSet::new(Default::default());
        if set.add(&file.display().to_string(), &text).is_err() {
            continue;
        }
        let program = set.compile(&Config::default());
        let seconds = start.elapsed().as_secs_f64();
        if program.is_ok() {
            times.push((seconds, file));
        }
    }
    if times.is_empty() {
        eprintln!("compile_times: no rule compiled");
        std::process::exit(2);
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].0;
    println!(
        "rules {}  median {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        times.len(),
        at(0.5) * 1e3,
        at(0.99) * 1e3,
        at(1.0) * 1e3
    );
    for (seconds, file) in times.iter().rev().take(5) {
        println!("  {:8.2} ms  {}", seconds * 1e3, file.display());
    }
    if at(1.0) >= 1.0 {
        std::process::exit(1);
    }
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else { return };
        for entry in entries.flatten() {
            collect(&entry.path(), files);
        }
    } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
        files.push(path.to_path_buf());
    }
}
