//! Writes the Hyperscan harness's spec (`../shared/bench/hs_bool.c`) for
//! any set of Sigma rules, from sigrep's own lowering: the same atoms and
//! the same per-line formulas that sigrep runs, so that `hs_bool` and
//! sigrep do the same work in the many-rules benchmark.
//!
//!     cargo run --release --example hs_spec -- RULE_FILE_OR_DIR... > rules.spec
//!
//! Spec lines: `A <id> <i|c> <regex>` per atom, `R <index> <postfix>` per
//! rule (`aN`, `T`, `F`, `&`, `|`, `!`). Known differences, all small on
//! the benchmark corpora: Hyperscan's caseless mode folds ASCII only
//! (sigrep folds Unicode), and `?` is one byte there (one character here).
//! Rules whose files fail to load are skipped with a message on stderr;
//! `|re` atoms Hyperscan rejects are reported by `hs_bool` itself.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sigrep::lower::{AtomKind, Formula, Piece};
use sigrep::ruleset::RuleSet;

fn main() {
    let roots: Vec<String> = std::env::args().skip(1).collect();
    if roots.is_empty() {
        eprintln!("usage: hs_spec RULE_FILE_OR_DIR...");
        std::process::exit(2);
    }
    let mut files = Vec::new();
    for root in &roots {
        collect(Path::new(root), &mut files);
    }
    files.sort();
    let mut set = RuleSet::new(Default::default());
    for file in &files {
        let loaded = std::fs::read_to_string(file).map_err(|e| e.to_string()).and_then(|text| {
            set.add(&file.display().to_string(), &text).map_err(|e| e.to_string())
        });
        if let Err(e) = loaded {
            eprintln!("hs_spec: {}: skipped: {e}", file.display());
        }
    }
    let mut out = String::new();
    for (i, atom) in set.atoms().atoms().iter().enumerate() {
        let flag = if atom.fold_case { 'i' } else { 'c' };
        let regex = match &atom.kind {
            AtomKind::Text(pieces) => pieces_regex(pieces),
            AtomKind::Regex(r) => r.clone(),
        };
        writeln!(out, "A {i} {flag} {regex}").unwrap();
    }
    for (i, rule) in set.rules().iter().enumerate() {
        let mut tokens = Vec::new();
        postfix(&rule.formula, &mut tokens);
        writeln!(out, "R {i} {}", tokens.join(" ")).unwrap();
    }
    print!("{out}");
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

/// A Hyperscan regex for a Sigma value: every byte that is not an ASCII
/// letter or digit is written as `\xHH`, so no text can be syntax.
fn pieces_regex(pieces: &[Piece]) -> String {
    let mut r = String::new();
    let lit = |r: &mut String, bytes: &[u8]| {
        for &b in bytes {
            if b.is_ascii_alphanumeric() {
                r.push(b as char);
            } else {
                write!(r, "\\x{b:02x}").unwrap();
            }
        }
    };
    for piece in pieces {
        match piece {
            Piece::Lit(bytes) => lit(&mut r, bytes),
            Piece::AnyRun => r.push_str(".*"),
            Piece::AnyChar => r.push('.'),
            Piece::JsonChar => r.push_str("(?:\\x5c(?:u[0-9A-Fa-f]{4}|.)|.)"),
            Piece::OneOf(chars) => {
                r.push_str("(?:");
                for (k, c) in chars.iter().enumerate() {
                    if k > 0 {
                        r.push('|');
                    }
                    lit(&mut r, c.to_string().as_bytes());
                }
                r.push(')');
            }
        }
    }
    r
}

/// The formula in the harness's postfix notation; n-ary nodes as a chain
/// of binary ones, so the evaluation stack stays two deep per level.
fn postfix(f: &Formula, out: &mut Vec<String>) {
    match f {
        Formula::Const(b) => out.push(if *b { "T" } else { "F" }.into()),
        Formula::Atom(a) => out.push(format!("a{}", a.index())),
        Formula::Not(x) => {
            postfix(x, out);
            out.push("!".into());
        }
        Formula::And(xs) | Formula::Or(xs) => {
            let op = if matches!(f, Formula::And(_)) { "&" } else { "|" };
            for (k, x) in xs.iter().enumerate() {
                postfix(x, out);
                if k > 0 {
                    out.push(op.into());
                }
            }
        }
    }
}
