//! A parser for the PCRE2 10.42 syntax that sigmac's patterns can hold,
//! with PCRE2's compile errors (its exact message texts), and a renderer of
//! lookaround-free parts into `regex` syntax.
//!
//! The whole emitted pattern is parsed, not each value on its own: values
//! are spliced in as raw text, so a value can change the pattern around it
//! (a trailing `\` escaping the next `|`, a `\Q` quoting the rest, a Sigma
//! `\|` becoming an alternation; semantics §3.3). Parsing the real pattern
//! gives grep's structure and grep's compile errors for free.
//!
//! Matching conventions of grep 3.8 (`-P`, UTF mode, no UCP): `.` is any
//! character but LF; `\d \w \s \b` are ASCII-only and untouched by `-i`;
//! `-i` is Unicode simple case folding for literal characters and classes;
//! `^`/`\A`/`\G` are the line start (grep starts each match attempt at the
//! line start), `$`/`\z`/`\Z` its end (a line holds no LF).
//!
//! Not reproduced, refused with an error naming the construct: possessive
//! quantifiers, back-references to groups that exist, `(?` group syntax
//! other than `(?:`, `(?=`, `(?!`, POSIX classes. Approximated: `\X` (one
//! character plus combining marks, or CR LF) and PCRE2's compiled-size
//! limit (a pattern over 32 KiB is "too large"; the largest SigmaHQ regex
//! that compiles is 10 KiB, the smallest that does not is 44 KiB).

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, HirKind};

/// Patterns longer than this (in bytes) get PCRE2's "regular expression
/// is too large" (see the module docs).
const MAX_PATTERN_LEN: usize = 32 << 10;

/// Group nesting past this is refused.
const MAX_DEPTH: usize = 200;

/// A zero-width assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    /// `^`, `\A`, `\G`.
    Start,
    /// `$`, `\z`, `\Z`.
    End,
    /// `\b` (ASCII).
    WordBoundary,
    /// `\B` (ASCII).
    NotWordBoundary,
}

/// A group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    /// `(...)`, `(?:...)`.
    Plain,
    /// `(?=...)`.
    Ahead,
    /// `(?!...)`.
    NotAhead,
}

/// A parsed pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// Matches the empty string.
    Empty,
    /// One character (folded under `-i`).
    Char(char),
    /// A character class, already folded as `-i` requires.
    Class(ClassUnicode),
    /// `.`: any character but LF.
    Dot,
    /// `\C`: one byte.
    AnyByte,
    /// An assertion.
    Look(Look),
    /// A fragment already in `regex` syntax that consumes text (`\R`, `\X`).
    Raw(&'static str),
    /// A concatenation.
    Seq(Vec<Node>),
    /// An alternation.
    Alt(Vec<Node>),
    /// `x{min,max}` (`max` `None`: unbounded).
    Repeat(Box<Node>, u32, Option<u32>),
    /// A group.
    Group(GroupKind, Box<Node>),
}

/// Why a pattern cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// PCRE2 rejects the pattern: its message (grep printed it and exited 2).
    Pcre(String),
    /// PCRE2 accepts it, but legacy mode does not reproduce the construct.
    Unsupported(String),
}

type Result<T> = std::result::Result<T, PatternError>;

fn pcre<T>(message: &str) -> Result<T> {
    Err(PatternError::Pcre(message.to_string()))
}

const NOT_SUPPORTED: &str = r"PCRE2 does not support \F, \L, \l, \N{name}, \U, or \u";

/// Parses a whole pattern.
///
/// # Errors
/// PCRE2's compile error, or a construct legacy mode refuses.
pub fn parse(pattern: &str, ignore_case: bool) -> Result<Node> {
    if pattern.len() > MAX_PATTERN_LEN {
        return pcre("regular expression is too large");
    }
    let mut p = Parser {
        chars: pattern.chars().collect(),
        i: 0,
        fold: ignore_case,
        groups: 0,
        lookaround: 0,
        depth: 0,
        refs: Vec::new(),
        deferred: None,
    };
    let node = p.alternation()?;
    if p.i < p.chars.len() {
        // alternation() only stops early at a `)`.
        return pcre("unmatched closing parenthesis");
    }
    // PCRE2 finds these after parsing, so any syntax error comes first.
    let bad_ref = p.refs.iter().find(|&&(n, _)| n > p.groups || n == 0);
    let first = match (bad_ref, p.deferred) {
        (Some(&(_, at)), Some((k, msg))) if k < at => Some(msg),
        (Some(_), _) => Some("reference to non-existent subpattern"),
        (None, Some((_, msg))) => Some(msg),
        (None, None) => None,
    };
    if let Some(msg) = first {
        return pcre(msg);
    }
    if !p.refs.is_empty() {
        return Err(PatternError::Unsupported(
            "a back-reference to a group that a value's text opened".into(),
        ));
    }
    Ok(node)
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    fold: bool,
    groups: u32,
    lookaround: usize,
    depth: usize,
    /// Back-references: group number and where.
    refs: Vec<(u32, usize)>,
    /// The first error PCRE2 only reports after parsing (`\K` in a
    /// lookaround), with where.
    deferred: Option<(usize, &'static str)>,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn alternation(&mut self) -> Result<Node> {
        let mut branches = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.i += 1;
            branches.push(self.sequence()?);
        }
        Ok(if branches.len() == 1 { branches.pop().unwrap() } else { Node::Alt(branches) })
    }

    fn sequence(&mut self) -> Result<Node> {
        let mut items: Vec<Node> = Vec::new();
        // Whether the last item may take a quantifier.
        let mut repeatable = false;
        while let Some(c) = self.peek() {
            match c {
                '|' | ')' => break,
                '*' | '+' | '?' | '{' => {
                    let Some((min, max)) = self.quantifier()? else {
                        // A `{` that is no quantifier is a literal.
                        self.i += 1;
                        items.push(Node::Char('{'));
                        repeatable = true;
                        continue;
                    };
                    if !repeatable {
                        return pcre("quantifier does not follow a repeatable item");
                    }
                    match self.peek() {
                        Some('?') => self.i += 1,
                        Some('+') => {
                            return Err(PatternError::Unsupported(
                                "a possessive quantifier (a value's '+' after a backslash)".into(),
                            ))
                        }
                        _ => {}
                    }
                    let last = items.pop().expect("a repeatable item");
                    items.push(Node::Repeat(Box::new(last), min, max));
                    repeatable = false;
                }
                '(' => {
                    items.push(self.group()?);
                    repeatable = true;
                }
                '[' => {
                    self.i += 1;
                    items.push(self.class()?);
                    repeatable = true;
                }
                '\\' => {
                    self.i += 1;
                    match self.escape()? {
                        Escaped::Item(node) => {
                            repeatable = !matches!(node, Node::Look(_));
                            items.push(node);
                        }
                        Escaped::Chars(cs) => {
                            repeatable = !cs.is_empty() || repeatable;
                            items.extend(cs.into_iter().map(Node::Char));
                        }
                        Escaped::Nothing => {}
                        Escaped::KeepOut => repeatable = false,
                    }
                }
                '.' => {
                    self.i += 1;
                    items.push(Node::Dot);
                    repeatable = true;
                }
                '^' => {
                    self.i += 1;
                    items.push(Node::Look(Look::Start));
                    repeatable = false;
                }
                '$' => {
                    self.i += 1;
                    items.push(Node::Look(Look::End));
                    repeatable = false;
                }
                c => {
                    self.i += 1;
                    items.push(Node::Char(c));
                    repeatable = true;
                }
            }
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap(),
            _ => Node::Seq(items),
        })
    }

    /// A quantifier at the cursor, consumed; `None` for a `{` that is not
    /// one (then nothing is consumed).
    fn quantifier(&mut self) -> Result<Option<(u32, Option<u32>)>> {
        let c = self.peek().expect("a quantifier character");
        if c != '{' {
            self.i += 1;
            return Ok(Some(match c {
                '*' => (0, None),
                '+' => (1, None),
                _ => (0, Some(1)),
            }));
        }
        // `{n}`, `{n,}`, `{n,m}`; anything else is literal (PCRE2 10.42).
        let mut k = self.i + 1;
        let digits = |k: &mut usize, chars: &[char]| {
            let start = *k;
            while chars.get(*k).is_some_and(|c| c.is_ascii_digit()) {
                *k += 1;
            }
            chars[start..*k].iter().collect::<String>()
        };
        let min = digits(&mut k, &self.chars);
        if min.is_empty() {
            return Ok(None);
        }
        let mut max = Some(min.clone());
        if self.chars.get(k) == Some(&',') {
            k += 1;
            let m = digits(&mut k, &self.chars);
            max = (!m.is_empty()).then_some(m);
        }
        if self.chars.get(k) != Some(&'}') {
            return Ok(None);
        }
        let number = |s: &str| -> Result<u32> {
            match s.parse::<u32>() {
                Ok(n) if n <= 65535 => Ok(n),
                _ => pcre("number too big in {} quantifier"),
            }
        };
        let min = number(&min)?;
        let max = max.as_deref().map(number).transpose()?;
        if max.is_some_and(|m| m < min) {
            return pcre("numbers out of order in {} quantifier");
        }
        self.i = k + 1;
        Ok(Some((min, max)))
    }

    fn group(&mut self) -> Result<Node> {
        self.i += 1;
        let kind = if self.peek() == Some('?') {
            match self.peek_at(1) {
                Some(':') => GroupKind::Plain,
                Some('=') => GroupKind::Ahead,
                Some('!') => GroupKind::NotAhead,
                _ => {
                    return Err(PatternError::Unsupported(
                        "'(?' group syntax other than (?: (?= (?! (made by a value's text)".into(),
                    ))
                }
            }
        } else {
            self.groups += 1;
            GroupKind::Plain
        };
        if self.chars.get(self.i) == Some(&'?') {
            self.i += 2;
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PatternError::Unsupported(format!(
                "groups nested deeper than {MAX_DEPTH}"
            )));
        }
        let look = kind != GroupKind::Plain;
        self.lookaround += usize::from(look);
        let inner = self.alternation()?;
        self.lookaround -= usize::from(look);
        self.depth -= 1;
        if self.peek() != Some(')') {
            return pcre("missing closing parenthesis");
        }
        self.i += 1;
        Ok(Node::Group(kind, Box::new(inner)))
    }

    /// A class after its `[`.
    fn class(&mut self) -> Result<Node> {
        let negated = self.peek() == Some('^');
        if negated {
            self.i += 1;
        }
        let mut folded = ClassUnicode::empty();
        let mut fixed = ClassUnicode::empty();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return pcre("missing terminating ] for character class");
            };
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            if c == '[' && self.peek_at(1) == Some(':') {
                return Err(PatternError::Unsupported("a POSIX class [:name:]".into()));
            }
            let start = match self.class_atom()? {
                ClassAtom::Char(c) => c,
                ClassAtom::Set(set) => {
                    if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']') {
                        return pcre("invalid range in character class");
                    }
                    fixed.union(&set);
                    continue;
                }
                ClassAtom::Nothing => continue,
            };
            let mut end = start;
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']') {
                self.i += 1;
                match self.class_atom()? {
                    ClassAtom::Char(e) => end = e,
                    ClassAtom::Set(_) => return pcre("invalid range in character class"),
                    ClassAtom::Nothing => {
                        folded.push(ClassUnicodeRange::new('-', '-'));
                    }
                }
                if end < start {
                    return pcre("range out of order in character class");
                }
            }
            folded.push(ClassUnicodeRange::new(start, end));
        }
        if self.fold {
            folded.case_fold_simple();
        }
        folded.union(&fixed);
        if negated {
            folded.negate();
        }
        Ok(Node::Class(folded))
    }

    fn class_atom(&mut self) -> Result<ClassAtom> {
        let c = self.peek().expect("checked by the caller");
        self.i += 1;
        if c != '\\' {
            return Ok(ClassAtom::Char(c));
        }
        let Some(e) = self.peek() else { return pcre("\\ at end of pattern") };
        if let Some(set) = ascii_set(e) {
            self.i += 1;
            return Ok(ClassAtom::Set(set));
        }
        match e {
            'b' => {
                self.i += 1;
                Ok(ClassAtom::Char('\u{8}'))
            }
            'N' => pcre("\\N is not supported in a class"),
            'B' | 'R' | 'X' | 'A' | 'z' | 'Z' | 'G' | 'K' | 'C' => {
                pcre("escape sequence is invalid in character class")
            }
            'E' => {
                self.i += 1;
                Ok(ClassAtom::Nothing)
            }
            'Q' => Err(PatternError::Unsupported("\\Q inside a character class".into())),
            'p' | 'P' => {
                self.i += 1;
                Ok(ClassAtom::Set(self.property(e == 'P')?))
            }
            _ => match self.escape()? {
                Escaped::Chars(cs) if cs.len() == 1 => Ok(ClassAtom::Char(cs[0])),
                Escaped::Item(Node::Char(c)) => Ok(ClassAtom::Char(c)),
                _ => Err(PatternError::Unsupported(format!("'\\{e}' inside a character class"))),
            },
        }
    }

    /// An escape after its backslash.
    fn escape(&mut self) -> Result<Escaped> {
        let Some(c) = self.peek() else { return pcre("\\ at end of pattern") };
        self.i += 1;
        let one = |c: char| Ok(Escaped::Chars(vec![c]));
        if let Some(set) = ascii_set(c) {
            return Ok(Escaped::Item(Node::Class(set)));
        }
        match c {
            'a' => one('\u{7}'),
            'e' => one('\u{1B}'),
            'f' => one('\u{C}'),
            'n' => one('\n'),
            'r' => one('\r'),
            't' => one('\t'),
            'b' => Ok(Escaped::Item(Node::Look(Look::WordBoundary))),
            'B' => Ok(Escaped::Item(Node::Look(Look::NotWordBoundary))),
            'A' | 'G' => Ok(Escaped::Item(Node::Look(Look::Start))),
            'z' | 'Z' => Ok(Escaped::Item(Node::Look(Look::End))),
            'C' => Ok(Escaped::Item(Node::AnyByte)),
            'R' => Ok(Escaped::Item(Node::Raw(
                "(?:\\r\\n|[\\n\\x0B\\x0C\\r\\x{85}\\x{2028}\\x{2029}])",
            ))),
            'X' => Ok(Escaped::Item(Node::Raw("(?:\\r\\n|\\P{M}\\p{M}*|\\p{M}+)"))),
            'E' => Ok(Escaped::Nothing),
            'K' => {
                if self.lookaround > 0 && self.deferred.is_none() {
                    self.deferred = Some((
                        self.i,
                        "\\K is not allowed in lookarounds (but see PCRE2_EXTRA_ALLOW_LOOKAROUND_BSK)",
                    ));
                }
                Ok(Escaped::KeepOut)
            }
            'Q' => {
                let mut out = Vec::new();
                while let Some(c) = self.peek() {
                    if c == '\\' && self.peek_at(1) == Some('E') {
                        self.i += 2;
                        break;
                    }
                    out.push(c);
                    self.i += 1;
                }
                Ok(Escaped::Chars(out))
            }
            'N' => {
                if self.peek() != Some('{') {
                    return Ok(Escaped::Item(Node::Dot));
                }
                let close = self.chars[self.i..].iter().position(|&c| c == '}');
                let body: String = match close {
                    Some(k) => self.chars[self.i + 1..self.i + k].iter().collect(),
                    None => return pcre(NOT_SUPPORTED),
                };
                match body.strip_prefix("U+").and_then(|h| u32::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        self.i += close.unwrap_or(0) + 1;
                        Ok(Escaped::Chars(vec![code_point(v)?]))
                    }
                    None => pcre(NOT_SUPPORTED),
                }
            }
            'x' => {
                if self.peek() == Some('{') {
                    let close = self.chars[self.i + 1..].iter().position(|&c| c == '}');
                    let digits: String = match close {
                        Some(k) => self.chars[self.i + 1..self.i + 1 + k].iter().collect(),
                        None => String::from("?"),
                    };
                    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                        return pcre("non-hex character in \\x{} (closing brace missing?)");
                    }
                    self.i += digits.chars().count() + 2;
                    let v = u32::from_str_radix(&digits, 16).unwrap_or(u32::MAX);
                    return Ok(Escaped::Chars(vec![code_point(v)?]));
                }
                let mut v = 0;
                for _ in 0..2 {
                    match self.peek().and_then(|c| c.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                Ok(Escaped::Chars(vec![code_point(v)?]))
            }
            'o' => {
                if self.peek() != Some('{') {
                    return pcre("missing opening brace after \\o");
                }
                let close = self.chars[self.i + 1..].iter().position(|&c| c == '}');
                let digits: String = match close {
                    Some(k) => self.chars[self.i + 1..self.i + 1 + k].iter().collect(),
                    None => return pcre("non-octal character in \\o{} (closing brace missing?)"),
                };
                if digits.is_empty() || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
                    return pcre("non-octal character in \\o{} (closing brace missing?)");
                }
                self.i += digits.chars().count() + 2;
                let v = u32::from_str_radix(&digits, 8).unwrap_or(u32::MAX);
                Ok(Escaped::Chars(vec![code_point(v)?]))
            }
            'c' => {
                let Some(x) = self.peek() else { return pcre("\\c at end of pattern") };
                if !(' '..='~').contains(&x) {
                    return pcre("\\c must be followed by a printable ASCII character");
                }
                self.i += 1;
                one(char::from((x.to_ascii_uppercase() as u8) ^ 0x40))
            }
            '0' => {
                let mut v = 0;
                for _ in 0..2 {
                    match self.peek().filter(|c| ('0'..='7').contains(c)) {
                        Some(d) => {
                            v = v * 8 + d.to_digit(8).unwrap_or(0);
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                one(code_point(v)?)
            }
            '1'..='9' => {
                let start = self.i - 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                let text: String = self.chars[start..self.i].iter().collect();
                let n: u32 = text.parse().unwrap_or(u32::MAX);
                if n < 10 || n <= self.groups || matches!(c, '8' | '9') {
                    self.refs.push((n, self.i));
                    return Ok(Escaped::Item(Node::Empty));
                }
                // `\12` with fewer groups: up to three octal digits.
                self.i = start;
                let mut v = 0;
                for _ in 0..3 {
                    match self.peek().filter(|c| ('0'..='7').contains(c)) {
                        Some(d) => {
                            v = v * 8 + d.to_digit(8).unwrap_or(0);
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                one(code_point(v)?)
            }
            'p' | 'P' => Ok(Escaped::Item(Node::Class(self.property(c == 'P')?))),
            'g' => self.reference(
                "\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number",
                true,
            ),
            'k' => self.reference(
                "\\k is not followed by a braced, angle-bracketed, or quoted name",
                false,
            ),
            'L' | 'l' | 'U' | 'u' | 'F' => pcre(NOT_SUPPORTED),
            c if c.is_ascii_alphanumeric() => pcre("unrecognized character follows \\"),
            c => one(c),
        }
    }

    /// `\g` and `\k` references: every well-formed one names a group that
    /// does not exist (values cannot define named groups).
    fn reference(&mut self, malformed: &str, numbers: bool) -> Result<Escaped> {
        let close = match self.peek() {
            Some('{') => '}',
            Some('<') => '>',
            Some('\'') => '\'',
            Some(c) if numbers && (c.is_ascii_digit() || c == '-' || c == '+') => {
                let start = self.i;
                self.i += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                if self.i == start + 1 && !c.is_ascii_digit() {
                    return pcre(malformed);
                }
                let n: u32 = self.chars[start..self.i]
                    .iter()
                    .filter(|c| c.is_ascii_digit())
                    .collect::<String>()
                    .parse()
                    .unwrap_or(u32::MAX);
                if c == '-' || c == '+' {
                    return pcre("reference to non-existent subpattern");
                }
                self.refs.push((n, self.i));
                return Ok(Escaped::Item(Node::Empty));
            }
            _ => return pcre(malformed),
        };
        let Some(k) = self.chars[self.i + 1..].iter().position(|&c| c == close) else {
            return pcre(malformed);
        };
        let body: String = self.chars[self.i + 1..self.i + 1 + k].iter().collect();
        self.i += k + 2;
        match body.parse::<u32>() {
            Ok(n) if numbers => {
                self.refs.push((n, self.i));
                Ok(Escaped::Item(Node::Empty))
            }
            _ if body.is_empty() => pcre(malformed),
            _ => pcre("reference to non-existent subpattern"),
        }
    }

    /// `\p` / `\P` after the letter.
    fn property(&mut self, negated: bool) -> Result<ClassUnicode> {
        let (mut negated, name) = match self.peek() {
            Some('{') => {
                let Some(k) = self.chars[self.i + 1..].iter().position(|&c| c == '}') else {
                    return pcre("malformed \\P or \\p sequence");
                };
                let body: String = self.chars[self.i + 1..self.i + 1 + k].iter().collect();
                self.i += k + 2;
                match body.strip_prefix('^') {
                    Some(rest) => (!negated, rest.to_string()),
                    None => (negated, body),
                }
            }
            Some(c) => {
                self.i += 1;
                if !"clmnpszCLMNPSZ".contains(c) {
                    return pcre("unknown property after \\P or \\p");
                }
                (negated, c.to_ascii_uppercase().to_string())
            }
            None => return pcre("malformed \\P or \\p sequence"),
        };
        // PCRE2 ignores case, spaces, hyphens and underscores in names.
        let key: String = name
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let special = match key.as_str() {
            "any" => Some("\\x{0}-\\x{10FFFF}"),
            "l&" | "lc" => Some("\\p{Lu}\\p{Ll}\\p{Lt}"),
            "xan" => Some("\\p{L}\\p{N}"),
            "xwd" => Some("\\p{L}\\p{N}_"),
            "xsp" | "xps" => Some("\\p{Z}\\t\\n\\x0B\\x0C\\r"),
            _ => None,
        };
        let rendered = match special {
            Some(body) => format!("[{body}]"),
            None => format!("\\p{{{key}}}"),
        };
        let Some(mut class) = unicode_class(&rendered) else {
            return pcre("unknown property after \\P or \\p");
        };
        if std::mem::take(&mut negated) {
            class.negate();
        }
        Ok(class)
    }
}

/// What an escape stands for.
enum Escaped {
    /// One item.
    Item(Node),
    /// Literal characters (one for most escapes, any for `\Q...\E`).
    Chars(Vec<char>),
    /// Nothing (`\E`).
    Nothing,
    /// `\K`: nothing, and not repeatable.
    KeepOut,
}

enum ClassAtom {
    Char(char),
    Set(ClassUnicode),
    Nothing,
}

fn code_point(v: u32) -> Result<char> {
    if (0xD800..=0xDFFF).contains(&v) {
        return pcre("disallowed Unicode code point (>= 0xd800 && <= 0xdfff)");
    }
    char::from_u32(v)
        .map_or_else(|| pcre("character code point value in \\x{} or \\o{} is too large"), Ok)
}

fn ranges(pairs: &[(char, char)]) -> ClassUnicode {
    ClassUnicode::new(pairs.iter().map(|&(a, b)| ClassUnicodeRange::new(a, b)))
}

/// `\d \D \w \W \s \S \h \H \v \V` without UCP: fixed sets, not folded.
fn ascii_set(c: char) -> Option<ClassUnicode> {
    let (mut set, negated) = match c {
        'd' | 'D' => (ranges(&[('0', '9')]), c == 'D'),
        'w' | 'W' => (ranges(&[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')]), c == 'W'),
        's' | 'S' => (ranges(&[('\t', '\r'), (' ', ' ')]), c == 'S'),
        'h' | 'H' => (
            ranges(&[
                ('\t', '\t'),
                (' ', ' '),
                ('\u{A0}', '\u{A0}'),
                ('\u{1680}', '\u{1680}'),
                ('\u{180E}', '\u{180E}'),
                ('\u{2000}', '\u{200A}'),
                ('\u{202F}', '\u{202F}'),
                ('\u{205F}', '\u{205F}'),
                ('\u{3000}', '\u{3000}'),
            ]),
            c == 'H',
        ),
        'v' | 'V' => {
            (ranges(&[('\n', '\r'), ('\u{85}', '\u{85}'), ('\u{2028}', '\u{2029}')]), c == 'V')
        }
        _ => return None,
    };
    if negated {
        set.negate();
    }
    Some(set)
}

/// The class a `regex` syntax class denotes, if `regex-syntax` knows it.
fn unicode_class(re: &str) -> Option<ClassUnicode> {
    let hir = regex_syntax::ParserBuilder::new().build().parse(re).ok()?;
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => Some(c.clone()),
        _ => None,
    }
}

impl Node {
    /// True when the node holds no lookaround group.
    pub fn is_regular(&self) -> bool {
        match self {
            Node::Group(GroupKind::Plain, inner) | Node::Repeat(inner, ..) => inner.is_regular(),
            Node::Group(..) => false,
            Node::Seq(items) | Node::Alt(items) => items.iter().all(Node::is_regular),
            _ => true,
        }
    }

    /// The part of a regular node that can match without consuming text
    /// (its assertions), or `None` when every match consumes something.
    pub fn empty_part(&self) -> Option<Node> {
        match self {
            Node::Empty => Some(Node::Empty),
            Node::Look(l) => Some(Node::Look(*l)),
            Node::Char(_) | Node::Class(_) | Node::Dot | Node::AnyByte | Node::Raw(_) => None,
            Node::Seq(items) => {
                let parts: Option<Vec<Node>> = items.iter().map(Node::empty_part).collect();
                let parts: Vec<Node> = parts?.into_iter().filter(|p| *p != Node::Empty).collect();
                Some(if parts.is_empty() { Node::Empty } else { Node::Seq(parts) })
            }
            Node::Alt(branches) => {
                let parts: Vec<Node> = branches.iter().filter_map(Node::empty_part).collect();
                if parts.is_empty() {
                    None
                } else if parts.contains(&Node::Empty) {
                    Some(Node::Empty)
                } else {
                    Some(Node::Alt(parts))
                }
            }
            Node::Repeat(_, 0, _) => Some(Node::Empty),
            Node::Repeat(inner, ..) | Node::Group(_, inner) => inner.empty_part(),
        }
    }

    /// The node in `regex` syntax (for a byte regex with Unicode on; `-i`
    /// is the caller's `(?i)`, which only literal characters feel: classes
    /// are folded already and rendered case-sensitively).
    pub fn render(&self, out: &mut String) {
        match self {
            Node::Empty => {}
            Node::Char(c) => out.push_str(&regex_syntax::escape(c.encode_utf8(&mut [0; 4]))),
            Node::Class(class) => {
                out.push_str("(?-i:[");
                for r in class.iter() {
                    out.push_str(&format!("\\x{{{:X}}}", r.start() as u32));
                    if r.end() != r.start() {
                        out.push_str(&format!("-\\x{{{:X}}}", r.end() as u32));
                    }
                }
                if class.iter().next().is_none() {
                    // The empty class: nothing matches.
                    out.push_str("^\\x{0}-\\x{10FFFF}");
                }
                out.push_str("])");
            }
            Node::Dot => out.push_str("[^\\n]"),
            Node::AnyByte => out.push_str("(?s-u:.)"),
            Node::Look(Look::Start) => out.push_str("\\A"),
            Node::Look(Look::End) => out.push_str("\\z"),
            Node::Look(Look::WordBoundary) => out.push_str("(?-u:\\b)"),
            Node::Look(Look::NotWordBoundary) => out.push_str("(?-u:\\B)"),
            Node::Raw(r) => out.push_str(r),
            Node::Seq(items) => items.iter().for_each(|i| i.render(out)),
            Node::Alt(branches) => {
                out.push_str("(?:");
                for (k, b) in branches.iter().enumerate() {
                    if k > 0 {
                        out.push('|');
                    }
                    b.render(out);
                }
                out.push(')');
            }
            Node::Repeat(inner, min, max) => {
                out.push_str("(?:");
                inner.render(out);
                out.push(')');
                match (min, max) {
                    (0, None) => out.push('*'),
                    (1, None) => out.push('+'),
                    (0, Some(1)) => out.push('?'),
                    (n, None) => out.push_str(&format!("{{{n},}}")),
                    (n, Some(m)) if n == m => out.push_str(&format!("{{{n}}}")),
                    (n, Some(m)) => out.push_str(&format!("{{{n},{m}}}")),
                }
            }
            Node::Group(_, inner) => {
                out.push_str("(?:");
                inner.render(out);
                out.push(')');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(p: &str) -> String {
        match parse(p, true) {
            Err(PatternError::Pcre(m)) => m,
            other => panic!("{p}: expected a PCRE error, got {other:?}"),
        }
    }

    #[test]
    fn pcre_messages() {
        assert_eq!(err("^.*\\Users"), NOT_SUPPORTED);
        assert_eq!(err("^.*\\Temp"), "unrecognized character follows \\");
        assert_eq!(err("^.*\\powershell"), "unknown property after \\P or \\p");
        assert_eq!(err("^C:\\"), "\\ at end of pattern");
        assert_eq!(err("^?lpha"), "quantifier does not follow a repeatable item");
        assert_eq!(err("^.*\\1"), "reference to non-existent subpattern");
        assert_eq!(
            err("^(?:.*(?=.*\\KnownDlls)(?=.*b))"),
            "\\K is not allowed in lookarounds (but see PCRE2_EXTRA_ALLOW_LOOKAROUND_BSK)"
        );
        assert_eq!(err("^.*a\\\\[b.*"), "missing terminating ] for character class");
        assert_eq!(err("^(?:.*\\QuickLaunch|.*zzz)"), "missing closing parenthesis");
        assert_eq!(err("^.*\\ob"), "missing opening brace after \\o");
        assert_eq!(err("^(?!Fi(eld)"), "missing closing parenthesis");
        assert_eq!(err("a)"), "unmatched closing parenthesis");
        assert!(parse("^.*\\PSExec.*", true).is_ok());
        assert!(parse("^.*\\psexec.*", true).is_ok());
    }

    #[test]
    fn empty_parts() {
        let n = parse("\\b", false).unwrap();
        assert_eq!(n.empty_part(), Some(Node::Look(Look::WordBoundary)));
        assert_eq!(parse("a.*", false).unwrap().empty_part(), None);
        assert_eq!(parse(".*", false).unwrap().empty_part(), Some(Node::Empty));
    }
}
