//! Condition text → [`Expr`].
//!
//! Grammar (precedence `not` > `and` > `or`, both binary operators
//! left-associative; keywords are case-insensitive whole words, so
//! `notepad` is an identifier):
//!
//! ```text
//! condition := or [ '|' aggregation ]
//! or        := and ( 'or' and )*
//! and       := unary ( 'and' unary )*
//! unary     := 'not' unary | '(' or ')' | quant target | IDENT
//! quant     := '1' 'of' | 'all' 'of' | 'any' 'of'
//! target    := 'them' | IDENT            (IDENT may hold '*' wildcards)
//! ```
//!
//! Everything after the first `|` is an aggregation (`count() by x > 5`,
//! `near ...`): it is kept as text so the caller can warn that it is not
//! applied. Nesting (parentheses and `not`) deeper than [`MAX_NESTING`] is an
//! error, so hostile conditions cannot exhaust the stack.

mod lexer;

use std::fmt;

use crate::error::{Error, Pos, Result};
use lexer::{Token, TokenKind};

/// Parentheses and `not`s nested deeper than this are refused.
pub const MAX_NESTING: usize = 128;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A definition by name.
    Ident(String, Pos),
    /// `1 of target`: any of the matching definitions.
    OneOf(Target, Pos),
    /// `all of target`: every matching definition.
    AllOf(Target, Pos),
    /// Negation.
    Not(Box<Expr>),
    /// Conjunction, two or more operands.
    And(Vec<Expr>),
    /// Disjunction, two or more operands.
    Or(Vec<Expr>),
}

/// What `1 of` / `all of` range over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `them`: every definition.
    Them,
    /// A definition name, possibly with `*` wildcards.
    Pattern(String),
}

/// A condition with its aggregation part, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The boolean part.
    pub expr: Expr,
    /// The text after `|`, which line-by-line matching cannot apply.
    pub aggregation: Option<String>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Them => f.write_str("them"),
            Target::Pattern(p) => f.write_str(p),
        }
    }
}

/// Prints canonical condition syntax, fully parenthesised below the top.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(f: &mut fmt::Formatter<'_>, xs: &[Expr], op: &str) -> fmt::Result {
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                match x {
                    Expr::And(_) | Expr::Or(_) => write!(f, "({x})")?,
                    _ => write!(f, "{x}")?,
                }
            }
            Ok(())
        }
        match self {
            Expr::Ident(name, _) => f.write_str(name),
            Expr::OneOf(t, _) => write!(f, "1 of {t}"),
            Expr::AllOf(t, _) => write!(f, "all of {t}"),
            Expr::Not(x) => match **x {
                Expr::And(_) | Expr::Or(_) => write!(f, "not ({x})"),
                _ => write!(f, "not {x}"),
            },
            Expr::And(xs) => join(f, xs, "and"),
            Expr::Or(xs) => join(f, xs, "or"),
        }
    }
}

/// Parses a condition written at `pos` in the rule file.
///
/// # Errors
/// Syntax errors and nesting past [`MAX_NESTING`], at the offending token.
pub fn parse(text: &str, pos: Pos) -> Result<Parsed> {
    let (tokens, aggregation) = lexer::tokenize(text, pos)?;
    let mut parser = Parser { tokens, next: 0, end: pos.advance(text.chars().count()) };
    if parser.tokens.is_empty() {
        return Err(Error::at(pos, "empty condition"));
    }
    let expr = parser.or(0)?;
    if let Some(tok) = parser.peek() {
        return Err(Error::at(tok.pos, format!("unexpected {}", tok.kind)));
    }
    Ok(Parsed { expr, aggregation })
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    end: Pos,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Option<Token> {
        let tok = self.tokens.get(self.next).cloned();
        self.next += 1;
        tok
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.peek().is_some_and(|t| &t.kind == kind) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr> {
        let mut xs = vec![self.and(depth)?];
        while self.eat(&TokenKind::Or) {
            xs.push(self.and(depth)?);
        }
        Ok(if xs.len() == 1 { xs.pop().unwrap() } else { Expr::Or(xs) })
    }

    fn and(&mut self, depth: usize) -> Result<Expr> {
        let mut xs = vec![self.unary(depth)?];
        while self.eat(&TokenKind::And) {
            xs.push(self.unary(depth)?);
        }
        Ok(if xs.len() == 1 { xs.pop().unwrap() } else { Expr::And(xs) })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr> {
        let Some(tok) = self.bump() else {
            return Err(Error::at(self.end, "the condition ends too early"));
        };
        if depth >= MAX_NESTING && matches!(tok.kind, TokenKind::Not | TokenKind::Open) {
            return Err(Error::at(
                tok.pos,
                format!("condition nested deeper than {MAX_NESTING} levels"),
            ));
        }
        match tok.kind {
            TokenKind::Not => Ok(Expr::Not(Box::new(self.unary(depth + 1)?))),
            TokenKind::Open => {
                let inner = self.or(depth + 1)?;
                match self.bump() {
                    Some(t) if t.kind == TokenKind::Close => Ok(inner),
                    Some(t) => Err(Error::at(t.pos, format!("expected ')', found {}", t.kind))),
                    None => Err(Error::at(tok.pos, "this '(' is never closed")),
                }
            }
            TokenKind::OneOf | TokenKind::AllOf => {
                let target = match self.bump() {
                    Some(Token { kind: TokenKind::Them, .. }) => Target::Them,
                    Some(Token { kind: TokenKind::Ident(name), .. }) => Target::Pattern(name),
                    Some(t) => {
                        return Err(Error::at(
                            t.pos,
                            format!(
                                "expected a name or 'them' after '{}', found {}",
                                tok.kind, t.kind
                            ),
                        ))
                    }
                    None => {
                        return Err(Error::at(
                            tok.pos,
                            format!("expected a name or 'them' after '{}'", tok.kind),
                        ))
                    }
                };
                Ok(if tok.kind == TokenKind::OneOf {
                    Expr::OneOf(target, tok.pos)
                } else {
                    Expr::AllOf(target, tok.pos)
                })
            }
            TokenKind::Ident(name) => Ok(Expr::Ident(name, tok.pos)),
            other => Err(Error::at(tok.pos, format!("unexpected {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> String {
        parse(text, Pos::new(1, 1)).unwrap().expr.to_string()
    }

    fn err(text: &str) -> String {
        parse(text, Pos::new(1, 1)).unwrap_err().to_string()
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(show("a or b and not c"), "a or (b and not c)");
        assert_eq!(show("a and b or c and d"), "(a and b) or (c and d)");
        assert_eq!(show("not a and b"), "not a and b");
        assert_eq!(show("not (a or b)"), "not (a or b)");
        assert_eq!(show("a and (b or c)"), "a and (b or c)");
        assert_eq!(show("(((a)))"), "a");
        assert_eq!(show("not not a"), "not not a");
    }

    #[test]
    fn keywords_are_whole_words_any_case() {
        assert_eq!(show("notepad AND android Or original"), "(notepad and android) or original");
        assert_eq!(show("NOT sel"), "not sel");
    }

    #[test]
    fn quantifiers() {
        assert_eq!(show("1 of selection_* and all of them"), "1 of selection_* and all of them");
        assert_eq!(show("1  of  sel* or ALL OF filter"), "1 of sel* or all of filter");
        assert_eq!(show("any of x"), "1 of x");
    }

    #[test]
    fn aggregation_is_kept_apart() {
        let p = parse("sel | count() by src > 5", Pos::new(1, 1)).unwrap();
        assert_eq!(p.expr.to_string(), "sel");
        assert_eq!(p.aggregation.as_deref(), Some("count() by src > 5"));
    }

    #[test]
    fn syntax_errors_point_at_tokens() {
        assert_eq!(err("sel and and x"), "1:9: unexpected 'and'");
        assert_eq!(err("sel and"), "1:8: the condition ends too early");
        assert_eq!(err("(sel"), "1:1: this '(' is never closed");
        assert_eq!(err("sel)"), "1:4: unexpected ')'");
        assert_eq!(err(""), "1:1: empty condition");
        assert_eq!(err("1 of"), "1:1: expected a name or 'them' after '1 of'");
        assert_eq!(err("sel $ x"), "1:5: unexpected character '$'");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "(".repeat(20_000) + "a" + &")".repeat(20_000);
        assert!(err(&text).contains("nested deeper"));
        let text = "not ".repeat(20_000) + "a";
        assert!(err(&text).contains("nested deeper"));
    }
}
