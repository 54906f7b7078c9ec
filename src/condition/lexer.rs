//! Condition tokens with positions.

use std::fmt;

use crate::error::{Error, Pos, Result};

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: TokenKind,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    And,
    Or,
    Not,
    Open,
    Close,
    OneOf,
    AllOf,
    Them,
    Ident(String),
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::And => f.write_str("'and'"),
            TokenKind::Or => f.write_str("'or'"),
            TokenKind::Not => f.write_str("'not'"),
            TokenKind::Open => f.write_str("'('"),
            TokenKind::Close => f.write_str("')'"),
            TokenKind::OneOf => f.write_str("1 of"),
            TokenKind::AllOf => f.write_str("all of"),
            TokenKind::Them => f.write_str("'them'"),
            TokenKind::Ident(name) => write!(f, "'{name}'"),
        }
    }
}

/// Characters of identifiers (and of `*` name patterns).
fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.' | '+' | ',')
}

/// Splits a condition into tokens; returns the aggregation text after `|`.
pub(super) fn tokenize(text: &str, start: Pos) -> Result<(Vec<Token>, Option<String>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut words: Vec<(String, Pos)> = Vec::new();
    let mut tokens = Vec::new();
    let mut aggregation = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = start.advance(i);
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            words.push((c.to_string(), pos));
            i += 1;
        } else if c == '|' {
            let rest: String = chars[i + 1..].iter().collect();
            aggregation = Some(rest.trim().to_string());
            break;
        } else if is_ident_char(c) {
            let j = (i..chars.len()).find(|&j| !is_ident_char(chars[j])).unwrap_or(chars.len());
            words.push((chars[i..j].iter().collect(), pos));
            i = j;
        } else {
            return Err(Error::at(pos, format!("unexpected character '{c}'")));
        }
    }
    let mut k = 0;
    while k < words.len() {
        let (word, pos) = &words[k];
        let lower = word.to_lowercase();
        let followed_by_of = words.get(k + 1).is_some_and(|(w, _)| w.eq_ignore_ascii_case("of"));
        let kind = match lower.as_str() {
            "(" => TokenKind::Open,
            ")" => TokenKind::Close,
            "and" => TokenKind::And,
            "or" => TokenKind::Or,
            "not" => TokenKind::Not,
            "them" => TokenKind::Them,
            "1" | "any" if followed_by_of => {
                k += 1;
                TokenKind::OneOf
            }
            "all" if followed_by_of => {
                k += 1;
                TokenKind::AllOf
            }
            _ => TokenKind::Ident(word.clone()),
        };
        tokens.push(Token { kind, pos: *pos });
        k += 1;
    }
    Ok((tokens, aggregation))
}
