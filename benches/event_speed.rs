//! Field decoding speed: every line of the given files decoded by
//! `sigrep::event` (one lookup per line forces the decode), against a
//! memchr newline count over the same bytes.
//!
//!     cargo run --release --example event_speed -- FILE... [--repeat N]
//!
//! Each file is read and repeated N times in memory (an `.evtx` file is
//! rendered as one-line XML first). Prints MB/s per file, with how many
//! lines were decoded in each format.

use std::path::Path;
use std::time::Instant;

use sigrep::event::{Event, Format, Scratch};
use sigrep::search::evtx::{render, Rendering};

fn main() {
    let mut files = Vec::new();
    let mut repeat = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--repeat" {
            repeat = args.next().and_then(|n| n.parse().ok()).expect("--repeat N");
        } else {
            files.push(arg);
        }
    }
    for file in files {
        // An event log is measured on its records' one-line XML.
        let one = if file.ends_with(".evtx") {
            let xml = render(Path::new(&file), Rendering::Xml, 1, false).expect("event log");
            xml.text
        } else {
            std::fs::read(&file).expect("readable file")
        };
        let text = one.repeat(repeat);
        let start = Instant::now();
        let lines = memchr::memchr_iter(b'\n', &text).count();
        let floor = start.elapsed().as_secs_f64();

        let mut scratch = Scratch::default();
        let mut counts = [0usize; 5];
        let mut fields = 0;
        let start = Instant::now();
        for line in text.split(|&b| b == b'\n') {
            let mut event = Event::new(line, &mut scratch);
            // The lookup an evaluation makes first.
            let _ = event.has("EventID");
            fields += event.fields().len();
            counts[match event.format() {
                Format::Json => 0,
                Format::KeyValue => 1,
                Format::Xml => 2,
                Format::Record => 3,
                Format::None => 4,
            }] += 1;
        }
        let decode = start.elapsed().as_secs_f64();
        let mb = text.len() as f64 / 1e6;
        println!(
            "{file} x{repeat}: {mb:.1} MB, {lines} lines, {fields} fields \
             (json {}, kv {}, xml {}, none {}): decode {:.0} MB/s ({:.1} us/line), \
             newline count {:.0} MB/s",
            counts[0],
            counts[1],
            counts[2],
            counts[4],
            mb / decode,
            decode * 1e6 / lines.max(1) as f64,
            mb / floor,
        );
    }
}
