//! Value transformations of the default semantics: wildcards and escapes,
//! `windash`, the UTF-16 and base64 encodings, and `cidr` networks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::atom::Piece;

/// A Sigma value → pieces. `*` is any run, `?` one character; `\*`, `\?`
/// and `\\` are the literal characters; every other backslash is literal
/// (so `C:\Windows\` works as written).
pub fn wildcard_pieces(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = text.chars().peekable();
    let flush = |lit: &mut String, pieces: &mut Vec<Piece>| {
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(lit).into_bytes()));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    lit.push(n);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' => {
                flush(&mut lit, &mut pieces);
                pieces.push(Piece::AnyRun);
            }
            '?' => {
                flush(&mut lit, &mut pieces);
                pieces.push(Piece::AnyChar);
            }
            c => lit.push(c),
        }
    }
    flush(&mut lit, &mut pieces);
    pieces
}

/// The dashes `windash` accepts where a `-` or `/` starts an option word:
/// hyphen-minus, slash, en dash, em dash and horizontal bar.
pub const WINDASH: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `windash`: each `-` or `/` that follows a non-word character (or the
/// start) and precedes a word character (Python's `\B[-/]\b`, as pySigma
/// and the legacy backend choose them) becomes a choice of [`WINDASH`].
pub fn windash(pieces: Vec<Piece>) -> Vec<Piece> {
    // Context characters across pieces: a wildcard counts as a non-word
    // character before and as "unknown, so not a word" after.
    let mut out = Vec::with_capacity(pieces.len());
    let mut prev_is_word = false;
    for piece in pieces {
        let Piece::Lit(bytes) = piece else {
            prev_is_word = false;
            out.push(piece);
            continue;
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let chars: Vec<char> = text.chars().collect();
        let mut lit = String::new();
        for (j, &c) in chars.iter().enumerate() {
            let next_is_word = chars.get(j + 1).is_some_and(|&d| is_word(d));
            if (c == '-' || c == '/') && !prev_is_word && next_is_word {
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit).into_bytes()));
                }
                out.push(Piece::OneOf(WINDASH.to_vec()));
            } else {
                lit.push(c);
            }
            prev_is_word = is_word(c);
        }
        if !lit.is_empty() {
            out.push(Piece::Lit(lit.into_bytes()));
        }
    }
    out
}

/// The JSON-escaped forms of a value's pieces that differ from the value;
/// none when escaping changes nothing. Used by
/// [`super::Options::json_escaped`]; `fold` says whether the atoms fold
/// ASCII case.
///
/// Escaping is what serde_json (and so the `evtx` crate's JSON), Python's
/// `json.dumps` and Go's `encoding/json` agree on: `\` → `\\`, `"` → `\"`,
/// LF, CR, TAB → `\n`, `\r`, `\t`, backspace and form feed → `\b`, `\f`
/// (serde_json and Python; Go writes `\u0008`, `\u000c`, not covered),
/// other controls below U+0020 → `\u00XX` (either case of hex letters).
///
/// Writers disagree on non-ASCII text: serde_json, Go and evtx keep UTF-8,
/// while Python's default `ensure_ascii` (and .NET's encoder) writes each
/// character as `\uXXXX`, one beyond the Basic Multilingual Plane as its
/// UTF-16 surrogate pair. A value with non-ASCII text therefore has a
/// second escaped form, with every such character as `\u` escapes: in
/// lowercase hex (Python) and, when the atom does not fold case, also in
/// uppercase (.NET); one form per case rather than a choice per digit,
/// which would multiply an emoji's spellings.
///
/// Left as written, since most writers keep them: `/` (only some emit
/// `\/`), DEL and Go's HTML-safe `\u003c`, `\u003e`, `\u0026`.
///
/// Wildcards: `*` stays (any run covers escapes too); a `?` between two
/// other pieces becomes [`Piece::JsonChar`] (one character may be written
/// as two, six or twelve bytes); a `?` at either edge stays a `?` (at
/// least one byte: never fewer lines than the value selects in the decoded
/// text, but where the characters beside the value are written as escapes
/// it may take a byte of one, as `??é` does of the `\\` before `\u00e9`
/// in the JSON of `\é`). Choices (`windash` dashes) need no
/// escaping. Bytes that are not UTF-8 are kept. Under case folding the
/// letters of the escapes fold too (`\n` would match `\N`, which JSON
/// never writes as an escape; only a misread such as `\\N` can hold it).
pub fn json_escaped(pieces: &[Piece], fold: bool) -> Vec<Vec<Piece>> {
    let mut forms = Vec::new();
    let (utf8, changed, non_ascii) = escape_json(pieces, None);
    if changed {
        forms.push(utf8);
    }
    if non_ascii {
        forms.push(escape_json(pieces, Some(HexCase::Lower)).0);
        if !fold {
            forms.push(escape_json(pieces, Some(HexCase::Upper)).0);
        }
    }
    forms
}

/// The case of the hex letters of `\uXXXX` escapes of non-ASCII text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HexCase {
    Lower,
    Upper,
}

/// A value's pieces JSON-escaped (see [`json_escaped`]), with non-ASCII
/// characters kept as UTF-8 (`ascii` is `None`) or written as `\u`
/// escapes; whether anything changed, and whether the value has non-ASCII
/// text.
fn escape_json(pieces: &[Piece], ascii: Option<HexCase>) -> (Vec<Piece>, bool, bool) {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    let mut changed = false;
    let mut non_ascii = false;
    let first_fixed = pieces.iter().position(|p| !matches!(p, Piece::AnyChar | Piece::AnyRun));
    let last_fixed = pieces.iter().rposition(|p| !matches!(p, Piece::AnyChar | Piece::AnyRun));
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Lit(bytes) => {
                let mut lit: Vec<u8> = Vec::with_capacity(bytes.len());
                for chunk in bytes.utf8_chunks() {
                    for c in chunk.valid().chars() {
                        let escape: Option<&str> = match c {
                            '\\' => Some(r"\\"),
                            '"' => Some(r#"\""#),
                            '\n' => Some(r"\n"),
                            '\r' => Some(r"\r"),
                            '\t' => Some(r"\t"),
                            '\u{8}' => Some(r"\b"),
                            '\u{c}' => Some(r"\f"),
                            _ => None,
                        };
                        if let Some(e) = escape {
                            lit.extend_from_slice(e.as_bytes());
                        } else if u32::from(c) < 0x20 {
                            // `\u00XX`: the last digit may be a letter,
                            // written in either case by different writers.
                            let hex = format!("{:04x}", u32::from(c));
                            let (head, last) = hex.split_at(3);
                            lit.extend_from_slice(b"\\u");
                            lit.extend_from_slice(head.as_bytes());
                            let last = last.chars().next().unwrap_or('0');
                            if last.is_ascii_alphabetic() {
                                out.push(Piece::Lit(std::mem::take(&mut lit)));
                                out.push(Piece::OneOf(vec![last, last.to_ascii_uppercase()]));
                            } else {
                                lit.push(last as u8);
                            }
                        } else if !c.is_ascii() {
                            non_ascii = true;
                            match ascii {
                                None => {
                                    let mut buf = [0; 4];
                                    lit.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                                    continue;
                                }
                                Some(case) => {
                                    let mut units = [0; 2];
                                    for unit in c.encode_utf16(&mut units) {
                                        let hex = match case {
                                            HexCase::Lower => format!("\\u{unit:04x}"),
                                            HexCase::Upper => format!("\\u{unit:04X}"),
                                        };
                                        lit.extend_from_slice(hex.as_bytes());
                                    }
                                }
                            }
                        } else {
                            lit.push(c as u8);
                            continue;
                        }
                        changed = true;
                    }
                    lit.extend_from_slice(chunk.invalid());
                }
                out.push(Piece::Lit(lit));
            }
            Piece::AnyChar if first_fixed.is_some_and(|f| f < i) && last_fixed > Some(i) => {
                changed = true;
                out.push(Piece::JsonChar);
            }
            piece => out.push(piece.clone()),
        }
    }
    (out, changed, non_ascii)
}

/// UTF-16 encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Utf16 {
    /// Little endian, no BOM (`utf16le`, `wide`).
    Le,
    /// Big endian, no BOM (`utf16be`).
    Be,
    /// Little endian with a BOM (`utf16`).
    LeBom,
}

/// Encodes text as UTF-16.
pub fn utf16(text: &str, enc: Utf16) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    if enc == Utf16::LeBom {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for unit in text.encode_utf16() {
        match enc {
            Utf16::Be => out.extend_from_slice(&unit.to_be_bytes()),
            Utf16::Le | Utf16::LeBom => out.extend_from_slice(&unit.to_le_bytes()),
        }
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard padded base64.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base64offset`: the parts of the base64 encoding of the value that do
/// not depend on what precedes or follows it, for the three alignments it
/// can have in a longer encoded text (the same fragments as sigmac and
/// pySigma).
pub fn base64_offsets(bytes: &[u8]) -> [String; 3] {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    std::array::from_fn(|i| {
        let mut padded = vec![b' '; i];
        padded.extend_from_slice(bytes);
        let enc = base64(&padded);
        let end = enc.len().saturating_sub(END[(bytes.len() + i) % 3]);
        enc.get(START[i]..end.max(START[i])).unwrap_or("").to_string()
    })
}

/// `cidr`: a regex matching the texts of the addresses in the network,
/// bounded so that `10.0.0.0/8` does not match inside `110.1.2.3`.
///
/// IPv4 is exact for dotted-decimal without leading zeros. IPv6 matches
/// the prefix's hextets written in full or without leading zeros (a `::`
/// inside the fixed prefix is not recognised), then any address text.
pub fn cidr_regex(text: &str) -> Result<String, String> {
    let (addr, len) = parse_network(text)?;
    Ok(match addr {
        IpAddr::V4(v4) => ipv4_regex(u32::from(v4), len),
        IpAddr::V6(v6) => ipv6_regex(u128::from(v6), len),
    })
}

/// A `cidr` value: the network's address and prefix length (the whole
/// address when no length is written).
///
/// # Errors
/// Not an address, or a length past the address's bits.
pub fn parse_network(text: &str) -> Result<(IpAddr, u32), String> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    if let Ok(v4) = addr.parse::<Ipv4Addr>() {
        return Ok((IpAddr::V4(v4), parse_len(len, 32)?));
    }
    if let Ok(v6) = addr.parse::<Ipv6Addr>() {
        return Ok((IpAddr::V6(v6), parse_len(len, 128)?));
    }
    Err(format!("'{text}' is not an IP network"))
}

fn parse_len(len: Option<&str>, max: u32) -> Result<u32, String> {
    match len {
        None => Ok(max),
        Some(l) => match l.parse::<u32>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(format!("'{l}' is not a prefix length (0 to {max})")),
        },
    }
}

/// Decimal numbers lo..=hi (no leading zeros) as an alternation.
fn range_regex(lo: u32, hi: u32) -> String {
    if lo == 0 && hi == 255 {
        return "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])".into();
    }
    if lo == hi {
        return lo.to_string();
    }
    let alts: Vec<String> = (lo..=hi).rev().map(|n| n.to_string()).collect();
    format!("(?:{})", alts.join("|"))
}

fn ipv4_regex(addr: u32, len: u32) -> String {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let base = addr & mask;
    let top = base | !mask;
    let mut parts = Vec::with_capacity(4);
    for k in 0..4 {
        let shift = 24 - 8 * k;
        let lo = (base >> shift) & 0xFF;
        let hi = (top >> shift) & 0xFF;
        parts.push(range_regex(lo, hi));
    }
    format!("(?:^|[^0-9.])(?:{})(?:[^0-9]|$)", parts.join("\\."))
}

fn ipv6_regex(addr: u128, len: u32) -> String {
    const HEX: &str = "[0-9a-fA-F]";
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
    let base = addr & mask;
    if len == 128 {
        let canonical = Ipv6Addr::from(addr).to_string();
        let full: Vec<String> =
            Ipv6Addr::from(addr).segments().iter().map(|s| format!("0*{s:x}")).collect();
        return format!(
            "(?i)(?:^|[^0-9a-f:])(?:{}|{})(?:[^0-9a-f:]|$)",
            regex_syntax::escape(&canonical),
            full.join(":")
        );
    }
    let mut hextets = Vec::new();
    let mut bits = len;
    for k in 0..8 {
        if bits == 0 {
            break;
        }
        let value = ((base >> (112 - 16 * k)) & 0xFFFF) as u16;
        let fixed = bits.min(16);
        bits -= fixed;
        // Four hex digits, each a set of allowed digits.
        let mut digits: Vec<Vec<u8>> = Vec::new();
        for d in 0..4u32 {
            let nibble = ((value >> (12 - 4 * d)) & 0xF) as u8;
            let known = fixed.saturating_sub(4 * d).min(4);
            let free = 4 - known;
            let lo = nibble & !((1u8 << free) - 1);
            digits.push((lo..lo + (1 << free)).collect());
        }
        hextets.push(hextet_regex(&digits));
    }
    // `:+` rather than `:` (the same lines): a regex that must end in a
    // literal `:` makes the regex crate search backwards from every `:` of
    // the line, which is slow on Windows event lines (20x here).
    format!("(?i)(?:^|[^0-9a-f:])(?:{}){HEX}*:+", hextets.join(":")).replace("(?:):", "(?:)")
}

/// One hextet given the allowed values of its four digits, with leading
/// zero digits optional.
fn hextet_regex(digits: &[Vec<u8>]) -> String {
    let class = |set: &[u8]| -> String {
        if set.len() == 16 {
            return "[0-9a-f]".into();
        }
        if set.len() == 1 {
            return format!("{:x}", set[0]);
        }
        let s: String = set.iter().map(|d| format!("{d:x}")).collect();
        format!("[{s}]")
    };
    let mut alts = Vec::new();
    for skip in 0..4 {
        if digits[..skip].iter().all(|d| d.contains(&0)) {
            let s: String = digits[skip..].iter().map(|d| class(d)).collect();
            alts.push(s);
        }
    }
    format!("(?:{})", alts.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.as_bytes().to_vec())
    }

    #[test]
    fn wildcards_and_escapes() {
        assert_eq!(
            wildcard_pieces("a*b?c"),
            [lit("a"), Piece::AnyRun, lit("b"), Piece::AnyChar, lit("c")]
        );
        assert_eq!(wildcard_pieces(r"a\*b\?c\\d"), [lit(r"a*b?c\d")]);
        assert_eq!(wildcard_pieces(r"C:\Windows\cmd.exe"), [lit(r"C:\Windows\cmd.exe")]);
        assert_eq!(wildcard_pieces(r"trailing\"), [lit(r"trailing\")]);
        assert_eq!(wildcard_pieces(r"\\*"), [lit(r"\"), Piece::AnyRun]);
    }

    #[test]
    fn json_escaping() {
        let esc = |t: &str| json_escaped(&wildcard_pieces(t), true);
        assert_eq!(esc(r"C:\Windows\cmd.exe"), [vec![lit(r"C:\\Windows\\cmd.exe")]]);
        assert_eq!(esc(r#"/c "x""#), [vec![lit(r#"/c \"x\""#)]]);
        assert_eq!(esc("a\tb\nc\rd\u{8}e\u{c}f"), [vec![lit(r"a\tb\nc\rd\be\ff")]]);
        // `\u00XX` with a letter: either case.
        assert_eq!(esc("p\u{1f}q"), [vec![lit(r"p\u001"), Piece::OneOf(vec!['f', 'F']), lit("q")]]);
        assert_eq!(esc("p\u{1}q"), [vec![lit(r"p\u0001q")]]);
        // Unchanged: nothing to escape, `/`, edge `?`s.
        assert!(esc("plain/text").is_empty());
        assert!(esc("?ab*").is_empty());
        // An inner `?` is one JSON character; edge ones stay.
        assert_eq!(
            esc("?a?b?"),
            [vec![Piece::AnyChar, lit("a"), Piece::JsonChar, lit("b"), Piece::AnyChar]]
        );
        // Bytes that are not UTF-8 are kept around escapes.
        assert_eq!(
            json_escaped(&[Piece::Lit(b"\xff\\".to_vec())], true),
            [vec![Piece::Lit(b"\xff\\\\".to_vec())]]
        );
        // Non-ASCII text: kept as UTF-8 (no first form, nothing else
        // changes), and as `ensure_ascii` writes it, a character beyond
        // the BMP as a surrogate pair.
        assert_eq!(esc("caf\u{e9}"), [vec![lit(r"caf\u00e9")]]);
        assert_eq!(esc("\u{1f937}"), [vec![lit(r"\ud83e\udd37")]]);
        assert_eq!(esc("\\\u{e9}"), [vec![lit("\\\\\u{e9}")], vec![lit(r"\\\u00e9")]]);
        // A cased atom also gets the uppercase hex of .NET's encoder.
        assert_eq!(
            json_escaped(&wildcard_pieces("\u{202e}"), false),
            [vec![lit(r"\u202e")], vec![lit(r"\u202E")]]
        );
    }

    #[test]
    fn windash_positions() {
        let d = Piece::OneOf(WINDASH.to_vec());
        assert_eq!(windash(vec![lit(" -enc ")]), [lit(" "), d.clone(), lit("enc ")]);
        assert_eq!(windash(vec![lit("-x")]), [d.clone(), lit("x")]);
        // Inside a word, or before a non-word character: unchanged.
        assert_eq!(windash(vec![lit("a-b -- /")]), [lit("a-b -- /")]);
        assert_eq!(windash(vec![Piece::AnyRun, lit("/c")]), [Piece::AnyRun, d, lit("c")]);
    }

    #[test]
    fn base64_known_answers() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn base64_offsets_match_sigma() {
        // Values from pySigma's documentation of base64offset.
        assert_eq!(base64_offsets(b"/bin/bash"), ["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]);
    }

    #[test]
    fn utf16_encodings() {
        assert_eq!(utf16("ab", Utf16::Le), b"a\0b\0");
        assert_eq!(utf16("ab", Utf16::Be), b"\0a\0b");
        assert_eq!(utf16("a", Utf16::LeBom), b"\xFF\xFEa\0");
    }

    #[test]
    fn cidr_matches_exactly_the_network() {
        let re = regex::Regex::new(&cidr_regex("172.16.0.0/12").unwrap()).unwrap();
        assert!(re.is_match("src=172.16.0.1 x"));
        assert!(re.is_match("172.31.255.255"));
        assert!(!re.is_match("172.32.0.1"));
        assert!(!re.is_match("1172.16.0.1"));
        assert!(!re.is_match("172.16.0.10 0"[..9].trim()));
        let re = regex::Regex::new(&cidr_regex("10.0.0.0/8").unwrap()).unwrap();
        assert!(re.is_match("10.200.3.4"));
        assert!(!re.is_match("110.200.3.4"));
        assert!(!re.is_match("10.200.3.456"));
        let re = regex::Regex::new(&cidr_regex("fe80::/10").unwrap()).unwrap();
        assert!(re.is_match("addr fe80::1%eth0"));
        assert!(re.is_match("FEBF:0:0::2"));
        assert!(!re.is_match("fec0::1"));
        let re = regex::Regex::new(&cidr_regex("::1/128").unwrap()).unwrap();
        assert!(re.is_match("[::1]:80"));
        assert!(!re.is_match("::10"));
        assert!(cidr_regex("10.0.0.0/33").is_err());
        assert!(cidr_regex("nope").is_err());
    }
}
