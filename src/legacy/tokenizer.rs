//! sigmac's condition tokenizer (semantics §2.7).
//!
//! At each position the first of these rules that matches is taken, with
//! keywords matched case-insensitively **as prefixes, without a word
//! boundary**: `1 of`, `all of`, whitespace (skipped), `count|min|max|avg|
//! sum`, `near`, `by`, `==`, `<=`, `<`, `>=`, `>`, `|`, `and`, `or`, `not`,
//! an identifier `[\w*+,\-.]+`, `(`, `)`. So `original` is OR + `iginal` and
//! `notepad` is NOT + `epad`, exactly as sigmac splits them.

/// The kind of a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `and`
    And,
    /// `or`
    Or,
    /// `not`
    Not,
    /// An identifier.
    Id,
    /// `(`
    LPar,
    /// `)`
    RPar,
    /// `|`
    Pipe,
    /// `1 of`
    One,
    /// `all of`
    All,
    /// `count`, `min`, `max`, `avg`, `sum`
    Agg,
    /// `==`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `by`
    By,
    /// `near`
    Near,
}

impl Kind {
    /// sigmac's name of the token type (used in its messages).
    pub fn name(self) -> &'static str {
        match self {
            Kind::And => "AND",
            Kind::Or => "OR",
            Kind::Not => "NOT",
            Kind::Id => "ID",
            Kind::LPar => "LPAR",
            Kind::RPar => "RPAR",
            Kind::Pipe => "PIPE",
            Kind::One => "ONE",
            Kind::All => "ALL",
            Kind::Agg => "AGG",
            Kind::Eq => "EQ",
            Kind::Lt => "LT",
            Kind::Lte => "LTE",
            Kind::Gt => "GT",
            Kind::Gte => "GTE",
            Kind::By => "BY",
            Kind::Near => "NEAR",
        }
    }
}

/// One token: its kind, its text and its 1-based character position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// The text it matched.
    pub text: String,
    /// 1-based position in the condition, in characters (as sigmac counts).
    pub pos: usize,
}

impl std::fmt::Display for Token {
    /// sigmac's `str(token)`: `[ Token: PIPE: '|' ]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[ Token: {}: '{}' ]", self.kind.name(), self.text)
    }
}

/// Length in bytes of a case-insensitive ASCII keyword at the start of `s`.
fn keyword(s: &str, word: &str) -> Option<usize> {
    let b = s.as_bytes();
    (b.len() >= word.len() && b[..word.len()].eq_ignore_ascii_case(word.as_bytes()))
        .then_some(word.len())
}

fn literal(s: &str, word: &str) -> Option<usize> {
    s.starts_with(word).then_some(word.len())
}

/// Python's `\w` for a `str` pattern: letters, digits (Unicode) and `_`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn run(s: &str, pred: impl Fn(char) -> bool) -> Option<usize> {
    let n: usize = s.chars().take_while(|&c| pred(c)).map(char::len_utf8).sum();
    (n > 0).then_some(n)
}

/// Tokenizes a condition.
///
/// # Errors
/// sigmac's message for a character no rule matches:
/// `Unexpected token in condition at position REST`.
pub fn tokenize(condition: &str) -> Result<Vec<Token>, String> {
    type Rule = (Option<Kind>, fn(&str) -> Option<usize>);
    const RULES: [Rule; 18] = [
        (Some(Kind::One), |s| literal(s, "1 of")),
        (Some(Kind::All), |s| keyword(s, "all of")),
        (None, |s| run(s, char::is_whitespace)),
        (Some(Kind::Agg), |s| {
            ["count", "min", "max", "avg", "sum"].iter().find_map(|w| keyword(s, w))
        }),
        (Some(Kind::Near), |s| keyword(s, "near")),
        (Some(Kind::By), |s| keyword(s, "by")),
        (Some(Kind::Eq), |s| literal(s, "==")),
        (Some(Kind::Lte), |s| literal(s, "<=")),
        (Some(Kind::Lt), |s| literal(s, "<")),
        (Some(Kind::Gte), |s| literal(s, ">=")),
        (Some(Kind::Gt), |s| literal(s, ">")),
        (Some(Kind::Pipe), |s| literal(s, "|")),
        (Some(Kind::And), |s| keyword(s, "and")),
        (Some(Kind::Or), |s| keyword(s, "or")),
        (Some(Kind::Not), |s| keyword(s, "not")),
        // `[\w*-.]`: the range `*-.` is `* + , - .`.
        (Some(Kind::Id), |s| run(s, |c| is_word(c) || ('*'..='.').contains(&c))),
        (Some(Kind::LPar), |s| literal(s, "(")),
        (Some(Kind::RPar), |s| literal(s, ")")),
    ];
    let mut tokens = Vec::new();
    let mut rest = condition;
    let mut pos = 1;
    'outer: while !rest.is_empty() {
        for (kind, rule) in RULES {
            if let Some(len) = rule(rest) {
                let text = &rest[..len];
                if let Some(kind) = kind {
                    tokens.push(Token { kind, text: text.to_string(), pos });
                }
                pos += text.chars().count();
                rest = &rest[len..];
                continue 'outer;
            }
        }
        return Err(format!("Unexpected token in condition at position {rest}"));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Kind, String)> {
        tokenize(s).unwrap().into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn keywords_split_identifiers() {
        assert_eq!(kinds("original"), [(Kind::Or, "or".into()), (Kind::Id, "iginal".into())]);
        assert_eq!(kinds("notepad"), [(Kind::Not, "not".into()), (Kind::Id, "epad".into())]);
        assert_eq!(
            kinds("sel_and_not_or"),
            [(Kind::Id, "sel_and_not_or".into())],
            "keywords inside an identifier stay"
        );
        assert_eq!(kinds("1  of x")[0], (Kind::Id, "1".into()));
        assert_eq!(kinds("ALL OF x")[0], (Kind::All, "ALL OF".into()));
        assert_eq!(kinds("a-b.c")[0], (Kind::Id, "a-b.c".into()));
    }

    #[test]
    fn positions_are_one_based() {
        let t = tokenize("sel and ()").unwrap();
        assert_eq!(t[2].pos, 9);
        assert!(tokenize("a = b").unwrap_err().starts_with("Unexpected token"));
    }
}
