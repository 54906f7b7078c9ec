//! Which compiled program searches which input: the plain one, or the one
//! whose values also match their JSON-escaped form (`--json-escaped`,
//! [`crate::lower::Options::json_escaped`]).
//!
//! * `--json-escaped`: every input is searched with the JSON-escaped
//!   program; it is the only one compiled.
//! * `--no-json-escaped`, or `--legacy` (which reproduces the old grep
//!   pipeline, where values had no JSON form): the plain program only.
//! * Neither (the default): each input is sampled
//!   ([`crate::search::jsonl`]); JSON lines are searched with the
//!   JSON-escaped program, everything else with the plain one. The
//!   JSON-escaped program is lowered and compiled the first time an input
//!   needs it (compiling all SigmaHQ rules takes over a second), once,
//!   whichever worker thread gets there first; the others wait for it.
//!   The plain program is compiled lazily too, so a run over JSON lines
//!   only pays for one. A program that fails to compile is then an error
//!   of each input that needs it (with one fixed program, it is fatal
//!   before any input is read, as before).
//!
//! The last of `--json-escaped` / `--no-json-escaped` wins, as with grep's
//! flag pairs. Both programs hold the same rules in the same order, so rule
//! tags and `--stats` mean the same whichever searched a file.

use std::sync::{Arc, OnceLock};

use crate::compile::{self, Program};
use crate::lower::Options;
use crate::printer::{highlighter, Highlighter};
use crate::ruleset::RuleSet;
use crate::search::{jsonl, SearchInput};

use super::{io_message, Error, ErrorKind};

/// Which inputs are searched with the JSON-escaped program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JsonEscaping {
    /// Decide per input by sampling it.
    #[default]
    Auto,
    /// Every input.
    Always,
    /// No input.
    Never,
}

/// A compiled program and the regex that colours its matches.
#[derive(Debug)]
pub struct Engine {
    /// The rules it was compiled from (rule `i` of the program); the
    /// plain program shares the loaded set rather than a copy of it.
    pub set: Arc<RuleSet>,
    /// The program.
    pub program: Program,
    /// Highlighter for `--color` (built only when colouring).
    pub highlight: Option<Highlighter>,
}

/// The programs of one run, each compiled on first use.
#[derive(Debug)]
pub struct Engines {
    /// The rules as loaded (plain lowering).
    set: Arc<RuleSet>,
    plain: OnceLock<Result<Engine, Error>>,
    json: OnceLock<Result<Engine, Error>>,
    escaping: JsonEscaping,
    color: bool,
}

impl Engines {
    /// The engines for `set`, none compiled yet.
    pub fn new(set: RuleSet, escaping: JsonEscaping, color: bool) -> Self {
        Engines {
            set: Arc::new(set),
            plain: OnceLock::new(),
            json: OnceLock::new(),
            escaping,
            color,
        }
    }

    /// Which inputs get the JSON-escaped program.
    pub fn escaping(&self) -> JsonEscaping {
        self.escaping
    }

    /// The rules as loaded, in the order of every program's rules.
    pub fn rules(&self) -> &RuleSet {
        &self.set
    }

    /// The plain program.
    ///
    /// # Errors
    /// It cannot be compiled.
    pub fn plain(&self) -> Result<&Engine, Error> {
        self.plain
            .get_or_init(|| engine(Arc::clone(&self.set), self.color))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The JSON-escaped program.
    ///
    /// # Errors
    /// The rules cannot be lowered again or compiled.
    pub fn json(&self) -> Result<&Engine, Error> {
        self.json
            .get_or_init(|| {
                let set =
                    self.set.relowered(Options { json_escaped: true, ..self.set.options() })?;
                engine(Arc::new(set), self.color)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The program every input gets unless detection says otherwise.
    ///
    /// # Errors
    /// As [`Engines::plain`] and [`Engines::json`].
    pub fn default(&self) -> Result<&Engine, Error> {
        match self.escaping {
            JsonEscaping::Always => self.json(),
            JsonEscaping::Never | JsonEscaping::Auto => self.plain(),
        }
    }

    /// The engine that searches `input`, sampling it (and chaining a
    /// reader's sample back) when detection is on.
    ///
    /// # Errors
    /// Reading the sample failed ([`ErrorKind::Input`]), or the program
    /// could not be built; the message is for `sigrep: FILE: message`.
    pub fn for_input(&self, input: &mut SearchInput) -> Result<&Engine, Error> {
        if self.escaping != JsonEscaping::Auto {
            return self.default();
        }
        let json =
            jsonl::detect(input).map_err(|e| Error::new(ErrorKind::Input, io_message(&e)))?;
        if json {
            self.json()
        } else {
            self.plain()
        }
    }
}

/// Compiles a set into an engine.
fn engine(set: Arc<RuleSet>, color: bool) -> Result<Engine, Error> {
    let program = set
        .compile(&compile::Config::default())
        .map_err(|e| Error::new(ErrorKind::Compile, format!("cannot compile the rules: {e}")))?;
    let highlight = if color { highlighter(&program) } else { None };
    Ok(Engine { set, program, highlight })
}
