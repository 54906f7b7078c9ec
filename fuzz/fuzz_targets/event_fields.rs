//! Any bytes as a log line: the event decoders never panic and agree with
//! their slow twins. The body lives in `src/lib.rs`, shared with the
//! stable replay test.
#![no_main]

use libfuzzer_sys::{fuzz_target, Corpus};

fuzz_target!(|data: &[u8]| -> Corpus {
    if sigrep_fuzz::event_fields(data) {
        Corpus::Keep
    } else {
        Corpus::Reject
    }
});
