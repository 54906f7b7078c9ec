//! The legacy pipeline: `sigmac -t grep` (sigmatools 0.23.1), reimplemented
//! to give the identical regex (`--emit-pcre`) and the tree that
//! `--legacy` matching is lowered from.
//!
//! The contract, with the sections of
//! `../shared/oracle/grep-backend-semantics.md` that define it:
//!
//! * [`yaml11`]: rules are read as PyYAML reads them (§2.1): plain scalars
//!   by YAML 1.1 (`010` is 8, `yes` a boolean, `1.5` a float, a date a date).
//! * Collections (§2.2): `action: global` is merged into every later
//!   document (the global document's keys win, as sigmac's
//!   `deep_dict_update(doc, global)` does), `reset` clears it, `repeat`
//!   merges the document into a copy of the previous rule. Each rule gives
//!   one query. A file is all or nothing: any failing document fails it.
//! * [`parser`]: definitions (§2.3), modifiers (§2.5), the condition
//!   tokenizer (§2.7, [`tokenizer`]) and parser (§2.8).
//! * [`optimizer`]: strip, rewrite, unstrip (§2.9).
//! * [`emit`]: the generator and the value transformation (§2.4, §2.6).
//!
//! Where sigmac fails, conversion fails with a [`SigmacError`] that keeps
//! sigmac's exit status and message. The one deliberate difference: sigmac
//! shares nested dicts between documents of a collection (a shallow copy
//! for `repeat`), so a later `repeat` can change the global document; here
//! documents are deep copies. No SigmaHQ rule has several documents.

pub mod emit;
pub mod optimizer;
pub mod parser;
pub mod tokenizer;
pub mod tree;
pub mod yaml11;

use std::fmt;

use crate::error::{Error, Pos};
use crate::rule::yaml;
use tree::Tree;
use yaml11::{Py, PyNode};

/// A conversion failure, as sigmac reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigmacError {
    /// sigmac's exit status: 1 (a Python exception), 3 (invalid YAML),
    /// 4 (a Sigma parse error), 42 (an unsupported feature or type error).
    pub exit: u8,
    /// sigmac's message (the exception text for status 1; may be empty
    /// for 42, where sigmac prints none).
    pub message: String,
    /// Where in the rule, as far as known.
    pub pos: Option<Pos>,
}

impl SigmacError {
    /// A Sigma parse error (exit 4).
    pub fn parse(pos: Pos, message: impl Into<String>) -> SigmacError {
        SigmacError { exit: 4, message: message.into(), pos: Some(pos) }
    }

    /// An unsupported feature or Python `TypeError` (exit 42).
    pub fn unsupported(pos: Pos, message: impl Into<String>) -> SigmacError {
        SigmacError { exit: 42, message: message.into(), pos: Some(pos) }
    }

    /// An uncaught Python exception (exit 1).
    pub fn python(pos: Pos, message: impl Into<String>) -> SigmacError {
        SigmacError { exit: 1, message: message.into(), pos: Some(pos) }
    }

    /// As a rule [`Error`] for the command line.
    pub fn into_error(self) -> Error {
        let message = self.to_string();
        match self.pos {
            Some(pos) => Error::at(pos, message),
            None => Error::whole(message),
        }
    }
}

impl fmt::Display for SigmacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.exit {
            1 => "Python exception",
            3 => "invalid YAML",
            4 => "Sigma parse error",
            _ => "unsupported feature",
        };
        if self.message.is_empty() {
            write!(f, "sigmac fails (exit {}): {kind} (sigmac prints no message)", self.exit)
        } else {
            write!(f, "sigmac fails (exit {}): {kind}: {}", self.exit, self.message)
        }
    }
}

/// One query sigmac prints: one per rule document.
#[derive(Clone, Debug)]
pub struct Query {
    /// 1-based number of the YAML document the rule ends in.
    pub document: usize,
    /// The optimized tree (with its SUB wrappers), what the regex is
    /// generated from.
    pub tree: Tree,
    /// The regex grep receives, starting with `^`.
    pub regex: String,
    /// The rule's metadata (title, id, level, status, tags, logsource),
    /// read from the merged document.
    pub meta: Meta,
}

/// Rule metadata, for output and rule selection.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `level`.
    pub level: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `logsource` entries.
    pub logsource: Vec<(String, String)>,
}

fn meta(doc: &PyNode) -> Meta {
    let text = |key: &str| {
        doc.get(key).and_then(|n| match &n.value {
            Py::Null | Py::List(_) | Py::Dict(_) => None,
            v => Some(v.py_str()),
        })
    };
    let tags = match doc.get("tags").map(|n| &n.value) {
        Some(Py::List(items)) => items.iter().map(|i| i.value.py_str()).collect(),
        _ => Vec::new(),
    };
    let logsource = match doc.get("logsource").map(|n| &n.value) {
        Some(Py::Dict(entries)) => {
            entries.iter().map(|(k, v)| (k.value.py_str(), v.value.py_str())).collect()
        }
        _ => Vec::new(),
    };
    Meta {
        title: text("title").unwrap_or_default(),
        id: text("id"),
        level: text("level"),
        status: text("status"),
        tags,
        logsource,
    }
}

/// Converts a rule file as `sigmac -t grep` does.
///
/// # Errors
/// The first failure sigmac would report; nothing is returned for a file
/// with a failing document.
pub fn convert(text: &str) -> Result<Vec<Query>, SigmacError> {
    let documents = yaml::parse_documents(text).map_err(|e| SigmacError {
        exit: 3,
        message: e.message().to_string(),
        pos: e.pos(),
    })?;
    let mut py_docs = Vec::with_capacity(documents.len());
    for doc in &documents {
        py_docs.push(yaml11::from_yaml(doc).map_err(|(pos, m)| SigmacError::python(pos, m))?);
    }
    let mut rules: Vec<(usize, PyNode)> = Vec::new();
    let mut global: Vec<(PyNode, PyNode)> = Vec::new();
    let mut previous: Option<PyNode> = None;
    for (index, mut doc) in py_docs.into_iter().enumerate() {
        let Py::Dict(entries) = &mut doc.value else {
            return Err(SigmacError::unsupported(
                doc.pos,
                format!("'{}' object is not subscriptable", short(&doc.value)),
            ));
        };
        let action = entries
            .iter()
            .position(|(k, _)| k.value.as_str() == Some("action"))
            .map(|i| entries.remove(i).1.value);
        match action.as_ref().and_then(Py::as_str) {
            Some("global") => {
                let Py::Dict(entries) = doc.value else { unreachable!("a dict") };
                deep_update(&mut global, entries);
            }
            Some("reset") => global.clear(),
            Some("repeat") => {
                let Some(prev) = &previous else {
                    return Err(SigmacError::parse(
                        doc.pos,
                        "action 'repeat' is only applicable after first valid Sigma rule",
                    ));
                };
                let mut rule = prev.clone();
                if let (Py::Dict(dest), Py::Dict(src)) = (&mut rule.value, doc.value) {
                    deep_update(dest, src);
                }
                previous = Some(rule.clone());
                rules.push((index + 1, rule));
            }
            _ => {
                if let Py::Dict(dest) = &mut doc.value {
                    deep_update(dest, global.clone());
                }
                previous = Some(doc.clone());
                rules.push((index + 1, doc));
            }
        }
    }
    let mut queries = Vec::new();
    for (document, rule) in &rules {
        if let Some((tree, regex)) = convert_rule(rule)? {
            queries.push(Query { document: *document, tree, regex, meta: meta(rule) });
        }
    }
    Ok(queries)
}

fn short(py: &Py) -> &'static str {
    py.type_name().trim_start_matches("<class '").trim_end_matches("'>")
}

/// sigmac's `deep_dict_update(dest, src)`: maps merge key by key, anything
/// else in `src` replaces what `dest` has.
fn deep_update(dest: &mut Vec<(PyNode, PyNode)>, src: Vec<(PyNode, PyNode)>) {
    for (key, value) in src {
        match dest.iter_mut().find(|(k, _)| k.value == key.value) {
            Some((_, slot)) => match (&mut slot.value, value.value) {
                (Py::Dict(d), Py::Dict(s)) => deep_update(d, s),
                (_, v) => *slot = PyNode { value: v, pos: value.pos },
            },
            None => dest.push((key, value)),
        }
    }
}

/// One rule document: its tree and regex, or `None` when sigmac prints
/// nothing for it (a condition that is neither a string nor a list).
fn convert_rule(doc: &PyNode) -> Result<Option<(Tree, String)>, SigmacError> {
    let sigma = parser::Sigma::new(doc)?;
    let detection = doc.get("detection").expect("Sigma::new checked it");
    let Some(condition) = detection.get("condition") else {
        return Err(SigmacError::parse(detection.pos, "No condition found"));
    };
    let texts: Vec<(&str, Pos)> = match &condition.value {
        Py::Str(s) => vec![(s.as_str(), condition.pos)],
        Py::List(items) => {
            let mut texts = Vec::with_capacity(items.len());
            for item in items {
                let Py::Str(s) = &item.value else {
                    return Err(SigmacError::unsupported(
                        item.pos,
                        format!(
                            "SigmaConditionTokenizer constructor expects string or list, got {}",
                            item.value.type_name()
                        ),
                    ));
                };
                texts.push((s.as_str(), item.pos));
            }
            texts
        }
        _ => return Ok(None),
    };
    // sigmac tokenizes every condition before parsing any.
    for (text, pos) in &texts {
        tokenizer::tokenize(text).map_err(|m| SigmacError::parse(*pos, m))?;
    }
    let mut trees = Vec::with_capacity(texts.len());
    for (text, pos) in &texts {
        trees.push(parser::parse_condition(&sigma, text, *pos)?);
    }
    if trees.len() > 1 {
        return Err(SigmacError::unsupported(
            condition.pos,
            "Base backend doesn't support multiple conditions",
        ));
    }
    let Some(tree) = trees.pop() else { return Ok(None) };
    let regex = emit::emit(&tree).map_err(|m| SigmacError::unsupported(condition.pos, m))?;
    Ok(Some((tree, regex)))
}
