//! Any bytes as a rule file: loading and compiling never panic.
//! The body lives in `src/lib.rs`, shared with the stable replay test.
#![no_main]

use libfuzzer_sys::{fuzz_target, Corpus};

fuzz_target!(|data: &[u8]| -> Corpus {
    if sigrep_fuzz::rule_yaml(data) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
