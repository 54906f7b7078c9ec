//! Atoms: "the line contains a match of pattern P".
//!
//! An atom is either a Sigma value (literal text with `*`, `?` and
//! character-set pieces) or a regular expression. Both engines (the compiled
//! program and the oracle) run the regex that [`Atom::to_regex`] renders, so
//! the two can only disagree through the machinery around the atoms, which
//! is what the differential tests look for.
//!
//! Regex rendering contract: the pattern matches within one line (no piece
//! can match `\n`), is compiled in Unicode mode with UTF-8 checking off, and
//! `(?i)` means Unicode simple case folding (as PCRE2's caseless UTF mode).

use bstr::ByteSlice;
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

/// Compiled atom regexes may use this much memory each. (Lowering holds
/// `|re` values to a smaller bound, [`super::RE_SIZE_LIMIT`], so that a
/// regex too large fails fast and with its position in the rule.)
pub const REGEX_SIZE_LIMIT: usize = 256 << 20;

/// Compiles a rendered atom regex ([`Atom::to_regex`]) within
/// `size_limit` bytes (at most [`REGEX_SIZE_LIMIT`]): compiling stops
/// there, so time and memory stay bounded whatever the pattern. Every
/// engine compiles atoms through here, so all agree on what compiles.
///
/// # Errors
/// The regex crate's: a syntax error, or the bound is exceeded.
pub fn build_regex(re: &str, size_limit: usize) -> Result<Regex, regex::Error> {
    RegexBuilder::new(re).size_limit(size_limit.min(REGEX_SIZE_LIMIT)).build()
}

/// One atom.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Atom {
    /// What to look for.
    pub kind: AtomKind,
    /// True: match case-insensitively (Unicode simple case folding).
    pub fold_case: bool,
}

/// The pattern of an atom.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AtomKind {
    /// A Sigma value: a sequence of pieces, found anywhere in the line.
    Text(Vec<Piece>),
    /// A regular expression in `regex` syntax (flags already inline).
    Regex(String),
}

/// A piece of a Sigma value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Piece {
    /// These bytes (normally UTF-8 text).
    Lit(Vec<u8>),
    /// `*`: any run of characters within the line.
    AnyRun,
    /// `?`: exactly one character (or one byte that is not UTF-8).
    AnyChar,
    /// One of these characters (a `windash` position).
    OneOf(Vec<char>),
    /// One character of a JSON string as written: a character, or an
    /// escape sequence (`\x`, `\uXXXX`, or a surrogate pair of those). What a `?` between two
    /// literal pieces becomes in a JSON-escaped value
    /// ([`super::value::json_escaped`]); at the edges of a value a `?`
    /// stays [`Piece::AnyChar`], which selects the same lines there (any
    /// `k` bytes read as `k` of either).
    JsonChar,
}

/// A literal that every match of something contains.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Literal {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// True when `bytes` is searched case-insensitively: ASCII letters in
    /// either case, and `k` and `s` also as their [`ASCII_PARTNERS`]
    /// (KELVIN SIGN, LONG S), which a searcher must look for or normalise
    /// itself. Every other non-ASCII case variant is spelled out as a
    /// literal of its own.
    pub ascii_fold: bool,
}

/// The only non-ASCII characters that Unicode simple case folding pairs
/// with an ASCII letter, and that letter: KELVIN SIGN folds to `k`, LONG S
/// to `s`. A case-insensitive search that folds ASCII only must also look
/// for these, or read them as their letters.
pub const ASCII_PARTNERS: [(char, u8); 2] = [('\u{212A}', b'k'), ('\u{17F}', b's')];

/// The ASCII letter (lowercase) that `c` is a case partner of, when `c` is
/// one of the [`ASCII_PARTNERS`].
pub fn partner_letter(c: char) -> Option<u8> {
    ASCII_PARTNERS.iter().find(|&&(p, _)| p == c).map(|&(_, letter)| letter)
}

/// `bytes` with each of the [`ASCII_PARTNERS`] replaced by its letter:
/// how a case-folded literal is spelled for a search that folds ASCII
/// letters and reads the partners as their letters.
pub fn partners_as_letters(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (start, end, c) in bytes.char_indices() {
        match partner_letter(c) {
            Some(letter) => out.push(letter),
            None => out.extend_from_slice(&bytes[start..end]),
        }
    }
    out
}

/// Case variants of one literal beyond this count are not spelled out.
const MAX_VARIANTS: usize = 16;

impl Atom {
    /// A text atom from pieces, normalised: adjacent literals merged,
    /// `*` runs collapsed, leading and trailing `*` dropped (an atom is a
    /// substring test, so they add nothing). `None` when nothing is left:
    /// such a value matches every line.
    pub fn text(pieces: Vec<Piece>, fold_case: bool) -> Option<Atom> {
        let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match (out.last_mut(), piece) {
                (_, Piece::Lit(b)) if b.is_empty() => {}
                (Some(Piece::Lit(prev)), Piece::Lit(b)) => prev.extend_from_slice(&b),
                (Some(Piece::AnyRun), Piece::AnyRun) => {}
                (_, piece) => out.push(piece),
            }
        }
        while out.first() == Some(&Piece::AnyRun) {
            out.remove(0);
        }
        while out.last() == Some(&Piece::AnyRun) {
            out.pop();
        }
        if out.is_empty() {
            return None;
        }
        // Case folding only matters when some piece has a cased letter.
        let fold_case = fold_case && out.iter().any(has_case);
        Some(Atom { kind: AtomKind::Text(out), fold_case })
    }

    /// The atom as a regex for `regex`/`regex-automata` (bytes, Unicode on,
    /// UTF-8 checking off).
    pub fn to_regex(&self) -> String {
        let mut re = String::new();
        match &self.kind {
            AtomKind::Regex(r) => re.push_str(r),
            AtomKind::Text(pieces) => {
                if self.fold_case {
                    re.push_str("(?i)");
                }
                for piece in pieces {
                    push_piece(&mut re, piece);
                }
            }
        }
        re
    }

    /// Literals of which every match contains at least one, or `None` when
    /// no useful set is known (the atom can then match lines without any
    /// particular text).
    pub fn cover(&self) -> Option<Vec<Literal>> {
        match &self.kind {
            AtomKind::Text(pieces) => {
                let best = pieces
                    .iter()
                    .filter_map(|p| match p {
                        Piece::Lit(b) => Some(b),
                        _ => None,
                    })
                    .max_by_key(|b| b.len())?;
                if self.fold_case {
                    folded_literals(best)
                } else {
                    Some(vec![Literal { bytes: best.clone(), ascii_fold: false }])
                }
            }
            AtomKind::Regex(r) => regex_cover(r),
        }
    }
}

/// The regex of `pieces` as [`Atom::to_regex`] renders a text atom's
/// (`(?i)` first when `fold`), with leading and trailing `*` kept: for a
/// pattern anchored at both ends of a field's value.
pub fn pieces_regex(pieces: &[Piece], fold: bool) -> String {
    let mut re = String::new();
    if fold {
        re.push_str("(?i)");
    }
    for piece in pieces {
        push_piece(&mut re, piece);
    }
    re
}

fn has_case(piece: &Piece) -> bool {
    match piece {
        Piece::Lit(b) => b.chars().any(|c| orbit(c).len() > 1),
        Piece::OneOf(cs) => cs.iter().any(|&c| orbit(c).len() > 1),
        Piece::AnyRun | Piece::AnyChar | Piece::JsonChar => false,
    }
}

fn push_piece(re: &mut String, piece: &Piece) {
    use std::fmt::Write;
    match piece {
        Piece::Lit(bytes) => {
            for chunk in bytes.utf8_chunks() {
                re.push_str(&regex_syntax::escape(chunk.valid()));
                for b in chunk.invalid() {
                    let _ = write!(re, "(?-u:\\x{b:02X})");
                }
            }
        }
        Piece::AnyRun => re.push_str("(?-u:[^\\n])*"),
        Piece::AnyChar => re.push_str("(?:[^\\n]|(?-u:[\\x80-\\xFF]))"),
        Piece::JsonChar => {
            // A surrogate pair is one character beyond the BMP, as
            // `ensure_ascii` writers escape it.
            re.push_str(concat!(
                "(?:\\\\(?:u[dD][89abAB][0-9A-Fa-f]{2}\\\\u[dD][c-fC-F][0-9A-Fa-f]{2}",
                "|u[0-9A-Fa-f]{4}|[^\\n])|[^\\n]|(?-u:[\\x80-\\xFF]))"
            ))
        }
        Piece::OneOf(chars) => {
            re.push('[');
            for c in chars {
                re.push_str(&regex_syntax::escape(&c.to_string()));
            }
            re.push(']');
        }
    }
}

/// All characters equal to `c` under Unicode simple case folding.
///
/// ASCII orbits are computed once: rules are mostly ASCII, and folding
/// a one-character class per character dominated loading rules with
/// hundreds of thousands of values.
pub(crate) fn orbit(c: char) -> Vec<char> {
    static ASCII: std::sync::OnceLock<Vec<Vec<char>>> = std::sync::OnceLock::new();
    if c.is_ascii() {
        let table = ASCII.get_or_init(|| (0..128u8).map(|b| fold_orbit(char::from(b))).collect());
        return table[c as usize].clone();
    }
    fold_orbit(c)
}

fn fold_orbit(c: char) -> Vec<char> {
    let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
    class.case_fold_simple();
    class.iter().flat_map(|r| r.start()..=r.end()).collect()
}

/// Literals that cover a case-insensitive literal for an ASCII-insensitive
/// search: a character with an ASCII case partner is that letter (see
/// [`Literal::ascii_fold`]); other non-ASCII case variants are spelled out
/// when there are few; otherwise the longest run of characters without
/// non-ASCII variants is used.
fn folded_literals(bytes: &[u8]) -> Option<Vec<Literal>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // Invalid UTF-8: the regex folds only the valid parts; cover with
        // the longest valid chunk, or give up.
        let best = bytes.utf8_chunks().map(|c| c.valid()).max_by_key(|s| s.len())?;
        return if best.is_empty() { None } else { folded_literals(best.as_bytes()) };
    };
    let mut variants: Vec<String> = vec![String::new()];
    for c in text.chars() {
        let members = orbit(c);
        if let Some(a) = members.iter().find(|m| m.is_ascii()) {
            variants.iter_mut().for_each(|v| v.push(a.to_ascii_lowercase()));
            continue;
        }
        if members.len() == 1 {
            variants.iter_mut().for_each(|v| v.push(c));
            continue;
        }
        let options = members;
        if variants.len() * options.len() > MAX_VARIANTS {
            return simple_run(text);
        }
        variants =
            variants.iter().flat_map(|v| options.iter().map(move |&o| format!("{v}{o}"))).collect();
    }
    Some(
        variants.into_iter().map(|v| Literal { bytes: v.into_bytes(), ascii_fold: true }).collect(),
    )
}

/// The longest run of characters without case variants or with an ASCII
/// one (each spelled as that letter).
fn simple_run(text: &str) -> Option<Vec<Literal>> {
    let simple = |c: char| {
        let o = orbit(c);
        o.len() == 1 || o.iter().any(char::is_ascii)
    };
    let best = text.split(|c: char| !simple(c)).max_by_key(|s| s.len())?;
    if best.is_empty() {
        return None;
    }
    let bytes = partners_as_letters(best.as_bytes()).to_ascii_lowercase();
    Some(vec![Literal { bytes, ascii_fold: true }])
}

/// Required literals of a regex atom: a finite set of literals one of
/// which every match contains. Prefix sets from `regex-syntax`'s extractor
/// are tried at every position of a concatenation (any part of a
/// concatenation is required), so `\s-sT\s` is covered by `-sT` and a
/// `cidr` regex by its address text after the boundary class.
fn regex_cover(re: &str) -> Option<Vec<Literal>> {
    let hir = regex_syntax::ParserBuilder::new().utf8(false).build().parse(re).ok()?;
    let lits = hir_cover(&hir)?;
    Some(lits.into_iter().map(|bytes| Literal { bytes, ascii_fold: false }).collect())
}

/// Shortest literal of a set; covers with longer shortest literals win.
fn score(set: &[Vec<u8>]) -> (usize, std::cmp::Reverse<usize>) {
    (set.iter().map(Vec::len).min().unwrap_or(0), std::cmp::Reverse(set.len()))
}

fn hir_cover(hir: &regex_syntax::hir::Hir) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::{literal::Extractor, Hir, HirKind};
    let prefixes = |h: &Hir| -> Option<Vec<Vec<u8>>> {
        let seq = Extractor::new().extract(h);
        let lits = seq.literals()?;
        if lits.is_empty() || lits.iter().any(|l| l.as_bytes().is_empty()) {
            return None;
        }
        Some(lits.iter().map(|l| l.as_bytes().to_vec()).collect())
    };
    let best = |a: Option<Vec<Vec<u8>>>, b: Option<Vec<Vec<u8>>>| match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, b) => a.or(b),
    };
    match hir.kind() {
        HirKind::Concat(parts) => {
            let mut found = None;
            for i in 0..parts.len() {
                let tail = Hir::concat(parts[i..].to_vec());
                found = best(found, prefixes(&tail));
                found = best(found, hir_cover(&parts[i]));
            }
            found
        }
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for alt in alts {
                all.extend(hir_cover(alt)?);
            }
            Some(all)
        }
        HirKind::Capture(c) => hir_cover(&c.sub),
        HirKind::Repetition(r) if r.min > 0 => hir_cover(&r.sub),
        _ => prefixes(hir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.as_bytes().to_vec())
    }

    #[test]
    fn normalisation() {
        let a = Atom::text(
            vec![
                Piece::AnyRun,
                lit("a"),
                lit("b"),
                Piece::AnyRun,
                Piece::AnyRun,
                lit("c"),
                Piece::AnyRun,
            ],
            true,
        )
        .unwrap();
        assert_eq!(a.kind, AtomKind::Text(vec![lit("ab"), Piece::AnyRun, lit("c")]));
        assert!(Atom::text(vec![Piece::AnyRun], true).is_none());
        assert!(Atom::text(vec![], true).is_none());
        // Nothing to fold in digits.
        assert!(!Atom::text(vec![lit("5861")], true).unwrap().fold_case);
    }

    #[test]
    fn regex_rendering() {
        let a = Atom::text(vec![lit("a.b"), Piece::AnyRun, lit("c")], true).unwrap();
        assert_eq!(a.to_regex(), "(?i)a\\.b(?-u:[^\\n])*c");
        let b = Atom::text(vec![Piece::Lit(b"x\xff".to_vec())], false).unwrap();
        assert_eq!(b.to_regex(), "x(?-u:\\xFF)");
    }

    #[test]
    fn cover_spells_out_non_ascii_variants() {
        let spelled = |a: Atom| {
            let mut got: Vec<String> = a
                .cover()
                .unwrap()
                .into_iter()
                .map(|l| String::from_utf8(l.bytes).unwrap())
                .collect();
            got.sort();
            got
        };
        // KELVIN SIGN and LONG S are their letters (ascii_fold covers them).
        assert_eq!(spelled(Atom::text(vec![lit("Kit")], true).unwrap()), ["kit"]);
        assert_eq!(spelled(Atom::text(vec![lit("\u{212A}i\u{17F}")], true).unwrap()), ["kis"]);
        assert_eq!(spelled(Atom::text(vec![lit("Été")], true).unwrap()).len(), 4);
        let b = Atom::text(vec![lit("ab"), Piece::AnyChar, lit("cde")], true).unwrap();
        assert_eq!(b.cover().unwrap()[0].bytes, b"cde");
    }

    #[test]
    fn regex_cover_uses_prefixes() {
        let a = Atom { kind: AtomKind::Regex("foo[0-9]+".into()), fold_case: false };
        let cover = a.cover().unwrap();
        assert!(cover.iter().all(|l| l.bytes.starts_with(b"foo")), "{cover:?}");
        let b = Atom { kind: AtomKind::Regex(r"\s-sT\s".into()), fold_case: false };
        assert_eq!(b.cover().unwrap()[0].bytes, b"-sT");
        let c = Atom { kind: AtomKind::Regex("^[A-Za-z0-9]{16}$".into()), fold_case: false };
        assert!(c.cover().is_none());
        let cidr = super::super::value::cidr_regex("10.0.0.0/8").unwrap();
        let d = Atom { kind: AtomKind::Regex(cidr), fold_case: false };
        assert!(d.cover().unwrap().iter().all(|l| l.bytes.starts_with(b"10.")), "{:?}", d.cover());
    }
}
