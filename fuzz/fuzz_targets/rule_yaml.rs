//! Any bytes as a rule file: loading and compiling never panics.
#![no_main]

use libfuzzer_sys::{fuzz_target, Corpus};
use sigrep::lower::Options;
use sigrep::ruleset::RuleSet;

fuzz_target!(|data: &[u8]| -> Corpus {
    let Ok(text) = std::str::from_utf8(data) else { return Corpus::Reject };
    if text.len() > 16 * 1024 {
        return Corpus::Reject;
    }
    let mut set = RuleSet::new(Options::default());
    if set.add("fuzz.yml", text).is_ok() {
        let _ = set.compile(&sigrep::compile::Config::default());
    }
    Corpus::Keep
});
