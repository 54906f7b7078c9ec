//! Any text as a condition: never panics; errors point inside the text.
//! The body lives in `src/lib.rs`, shared with the stable replay test.
#![no_main]

use libfuzzer_sys::{fuzz_target, Corpus};

fuzz_target!(|data: &[u8]| -> Corpus {
    if sigrep_fuzz::condition_parse(data) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
