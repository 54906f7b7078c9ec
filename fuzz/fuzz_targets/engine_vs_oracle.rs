//! Small rules and a haystack: every engine configuration agrees with the oracle.
//! The body lives in `src/lib.rs`, shared with the stable replay test.
#![no_main]

use libfuzzer_sys::{fuzz_target, Corpus};

fuzz_target!(|data: &[u8]| -> Corpus {
    if sigrep_fuzz::engine_vs_oracle(data) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
