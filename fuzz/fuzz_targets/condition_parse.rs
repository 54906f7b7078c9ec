//! Any text as a condition: never panics; errors point inside the text.
#![no_main]

use libfuzzer_sys::{fuzz_target, Corpus};
use sigrep::condition;
use sigrep::error::Pos;

fuzz_target!(|data: &[u8]| -> Corpus {
    let Ok(text) = std::str::from_utf8(data) else { return Corpus::Reject };
    if text.len() > 16 * 1024 {
        return Corpus::Reject;
    }
    if let Err(e) = condition::parse(text, Pos::new(1, 1)) {
        let pos = e.pos().expect("condition errors have positions");
        assert_eq!(pos.line, 1);
        assert!(pos.col >= 1 && pos.col <= text.chars().count() + 1, "{e}");
    }
    Corpus::Keep
});
