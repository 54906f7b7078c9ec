//! Errors with positions in the rule text.
//!
//! Every error that comes from a rule carries the 1-based line and column
//! where the problem is, so the binary can print `FILE:LINE:COL: message`
//! the way compilers do. Messages are lower-case, without a trailing period,
//! and name the offending text in quotes.

use std::fmt;

/// A 1-based line and column in a rule file. Column counts characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
}

impl Pos {
    /// A position at the given 1-based line and column.
    pub fn new(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    /// The position `chars` characters to the right on the same line.
    ///
    /// Used to point into a scalar, e.g. at one token of a condition.
    pub fn advance(self, chars: usize) -> Pos {
        Pos { line: self.line, col: self.col + chars }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// An error in a rule: what is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pos: Option<Pos>,
    message: String,
}

impl Error {
    /// An error at a position in the rule text.
    pub fn at(pos: Pos, message: impl Into<String>) -> Error {
        Error { pos: Some(pos), message: message.into() }
    }

    /// An error that no single position describes (e.g. an empty file).
    pub fn whole(message: impl Into<String>) -> Error {
        Error { pos: None, message: message.into() }
    }

    /// Where the error is, if it has a position.
    pub fn pos(&self) -> Option<Pos> {
        self.pos
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error rendered for a file: `FILE:LINE:COL: message`.
    pub fn with_source(&self, source: &str) -> String {
        match self.pos {
            Some(pos) => format!("{source}:{pos}: {}", self.message),
            None => format!("{source}: {}", self.message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(pos) => write!(f, "{pos}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// An error in a named rule file: the file as the user gave it, where in
/// it (when a position describes the problem), and what is wrong.
/// Displayed `FILE:LINE:COL: message`, or `FILE: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The rule file (a path as the user gave it).
    pub source: String,
    /// Where in the file.
    pub pos: Option<Pos>,
    /// What is wrong, without file or position.
    pub message: String,
}

impl RuleError {
    /// An error of the rule file `source`.
    pub fn new(source: &str, pos: Option<Pos>, message: impl Into<String>) -> RuleError {
        RuleError { source: source.to_string(), pos, message: message.into() }
    }
}

impl Error {
    /// This error, in the rule file `source`.
    pub fn in_file(self, source: &str) -> RuleError {
        RuleError { source: source.to_string(), pos: self.pos, message: self.message }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(pos) => write!(f, "{}:{pos}: {}", self.source, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

impl std::error::Error for RuleError {}

/// A `Result` whose error is a rule [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
