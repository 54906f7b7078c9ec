//! Telling JSON Lines inputs apart, for `--json-escaped` auto-detection.
//!
//! # The rule
//! An input is JSON lines when its first [`SAMPLE`] bytes hold at least
//! one non-blank line and every non-blank line among them, trimmed of
//! spaces, tabs and CR, starts with `{`, then (after spaces) `"` or `}`,
//! and ends with `}`. A UTF-8 byte order mark at the start is skipped.
//! The last line of the sample counts only if it is complete (ends at LF
//! or at the end of the input); when not even the first line is complete
//! within the sample (a JSON object longer than [`SAMPLE`]), its start
//! decides.
//!
//! # Why a structural check
//! Parsing JSON would be exact but costs a parser and gains little: the
//! question is only which program serves the input better, and a wrong
//! guess costs little in either direction (the JSON-escaped program still
//! matches every value as written; the plain one misses escaped values).
//! The `{"` start rejects the common text lines that are braced
//! (`{INFO} ...`, `{}`-templated messages) while accepting every JSON
//! object writer's output, pretty spacing included.
//!
//! # Readers
//! A reader (stdin, a pipe, `--no-mmap`) cannot seek back: [`detect`]
//! reads a first block and puts it back in front of the rest of the
//! reader. It reads until the block holds a complete line, the end of the
//! input or [`SAMPLE`] bytes, so a slow pipe (`tail -f`) is decided on its
//! first line rather than waited on.

use std::io::{self, Read};

use super::SearchInput;

/// How many leading bytes of an input are sampled.
pub const SAMPLE: usize = 64 * 1024;

/// True when `sample`, the first bytes of an input, looks like JSON lines
/// (see the [module docs](self)). `complete`: the sample is the whole
/// input, so its last line is complete even without a final LF.
pub fn is_json_lines(sample: &[u8], complete: bool) -> bool {
    let sample = sample.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(sample);
    let mut lines: Vec<&[u8]> = sample.split(|&b| b == b'\n').collect();
    // `split` always yields a last piece: the bytes after the last LF.
    let last = lines.pop().unwrap_or_default();
    if complete {
        lines.push(last);
    } else if lines.is_empty() {
        return opens_object(trim(last));
    }
    let mut seen = false;
    for line in lines {
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        if !(opens_object(line) && line.ends_with(b"}")) {
            return false;
        }
        seen = true;
    }
    seen
}

fn trim(line: &[u8]) -> &[u8] {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r');
    let start = line.iter().position(|b| !blank(b)).unwrap_or(line.len());
    let end = line.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
    &line[start..end]
}

/// `{` then, after spaces, `"` (a key) or `}` (an empty object).
fn opens_object(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"{") else {
        return false;
    };
    matches!(rest.iter().find(|b| !matches!(b, b' ' | b'\t')), Some(b'"' | b'}'))
}

/// Decides whether `input` is JSON lines. A reader is sampled by reading
/// its first block, which is chained back in front of the rest, so the
/// input still yields every byte once; a mapped file is only looked at.
///
/// # Errors
/// Reading the first block failed.
pub fn detect(input: &mut SearchInput) -> io::Result<bool> {
    match input {
        SearchInput::Mapped(map) => {
            let hay: &[u8] = map;
            Ok(is_json_lines(&hay[..hay.len().min(SAMPLE)], hay.len() <= SAMPLE))
        }
        SearchInput::Reader(reader) => {
            let mut block = Vec::with_capacity(SAMPLE);
            let mut chunk = vec![0; SAMPLE];
            let mut at_end = false;
            while block.len() < SAMPLE {
                let n = match reader.read(&mut chunk[..SAMPLE - block.len()]) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if n == 0 {
                    at_end = true;
                    break;
                }
                block.extend_from_slice(&chunk[..n]);
                if chunk[..n].contains(&b'\n') {
                    break;
                }
            }
            let json = is_json_lines(&block, at_end);
            let rest = std::mem::replace(reader, Box::new(io::empty()));
            *reader = Box::new(io::Cursor::new(block).chain(rest));
            Ok(json)
        }
        // Rendered records are Key=Value or XML lines, never JSON.
        SearchInput::Records(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_recognised() {
        assert!(is_json_lines(b"{\"a\":1}\n{\"b\":\"x\"}\n", true));
        assert!(is_json_lines(b"\xEF\xBB\xBF { \"a\": 1 } \r\n\n  \n{}\n", true));
        // The last line without LF counts when the input ends there.
        assert!(is_json_lines(b"{\"a\":1}\n{\"b\":2}", true));
        // ... and is ignored when the sample was cut inside it.
        assert!(is_json_lines(b"{\"a\":1}\n{\"b\":", false));
        // One object longer than the sample: its start decides.
        assert!(is_json_lines(b"{\"a\":\"xxxx", false));
    }

    #[test]
    fn other_inputs_are_not() {
        assert!(!is_json_lines(b"", true));
        assert!(!is_json_lines(b"\n \n", true));
        assert!(!is_json_lines(b"EventID=1 Image=C:\\x.exe\n", true));
        assert!(!is_json_lines(b"{\"a\":1}\nplain line\n{\"b\":2}\n", true));
        assert!(!is_json_lines(b"{INFO} started {pid}\n", true));
        assert!(!is_json_lines(b"[1,2]\n", true));
        assert!(!is_json_lines(b"{\"a\":1} trailing\n", true));
        assert!(!is_json_lines(b"{\"a\":1}\n{\"b\":2", true));
    }

    #[test]
    fn readers_are_chained_back() {
        let text = b"{\"a\":1}\n".repeat(20_000);
        let mut input = SearchInput::Reader(Box::new(io::Cursor::new(text.clone())));
        assert!(detect(&mut input).unwrap());
        let SearchInput::Reader(mut r) = input else { unreachable!() };
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, text);
        let mut plain = SearchInput::Reader(Box::new(io::Cursor::new(b"x=1\n".to_vec())));
        assert!(!detect(&mut plain).unwrap());
    }
}
