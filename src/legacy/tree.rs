//! sigmac's parse tree, as its grep backend sees it.
//!
//! The shapes mirror sigmac's Python classes, because the optimizer and the
//! generator branch on them: `ConditionAND`/`ConditionOR` (here
//! [`Tree::And`]/[`Tree::Or`]), `ConditionNOT`, `ConditionNULLValue`,
//! `NodeSubexpression` ([`Tree::Sub`]), a `(field, value)` tuple
//! ([`Tree::Leaf`]), and a bare keyword value ([`Tree::Keyword`]).
//!
//! Identity matters: the optimizer drops duplicate children, comparing
//! leaves and keywords by value but AND/OR/NOT/NULL nodes by object
//! identity (two references to the same definition are two objects). Each
//! such node therefore carries a unique [`NodeId`].

use super::tokenizer::Token;

/// The identity of an AND/OR/NOT/NULL node (Python's `id()`).
pub type NodeId = u64;

/// A node of the tree.
#[derive(Clone, Debug)]
pub enum Tree {
    /// `ConditionAND`.
    And(NodeId, Vec<Tree>),
    /// `ConditionOR`.
    Or(NodeId, Vec<Tree>),
    /// `ConditionNOT`.
    Not(NodeId, Box<Tree>),
    /// `ConditionNULLValue`: `Field: null`, emitted `(?!Field)`.
    Null(NodeId, String),
    /// `NodeSubexpression`: a group wrapper.
    Sub(Box<Tree>),
    /// A `(field, value)` map item.
    Leaf(String, Value),
    /// A bare value of a list definition (a keyword): `str` or `int`.
    Keyword(Value),
    /// A condition token left in the tree by a malformed condition.
    Token(Token),
    /// Python's `None`: an AND/OR that the optimizer emptied.
    Nothing,
}

/// A value as sigmac holds it after the modifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `str`.
    Str(String),
    /// `int`, as its decimal text.
    Int(String),
    /// `bytes` (from `utf16*`/`wide` without a following `base64`).
    Bytes(Vec<u8>),
    /// `float`, as written.
    Float(String),
    /// `bool`.
    Bool(bool),
    /// `datetime.date`.
    Date(String),
    /// `datetime.datetime`.
    DateTime(String),
    /// `None` (inside a list; a `null` map value is a [`Tree::Null`]).
    Null,
    /// `list`.
    List(Vec<Value>),
    /// `dict`.
    Dict,
    /// The `re` type modifier (which the grep backend cannot generate);
    /// its identity, as it is an object.
    Regex(NodeId),
}

impl Value {
    /// Python's `type(value)` as sigmac prints it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "<class 'str'>",
            Value::Int(_) => "<class 'int'>",
            Value::Bytes(_) => "<class 'bytes'>",
            Value::Float(_) => "<class 'float'>",
            Value::Bool(_) => "<class 'bool'>",
            Value::Date(_) => "<class 'datetime.date'>",
            Value::DateTime(_) => "<class 'datetime.datetime'>",
            Value::Null => "<class 'NoneType'>",
            Value::List(_) => "<class 'list'>",
            Value::Dict => "<class 'dict'>",
            Value::Regex(_) => {
                "<class 'sigma.parser.modifiers.type.SigmaRegularExpressionModifier'>"
            }
        }
    }
}

/// What the optimizer compares children by: identity for nodes, value for
/// leaves and keywords.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DedupeKey {
    /// An AND/OR/NOT/NULL node.
    Node(NodeId),
    /// A `(field, value)` tuple.
    Leaf(String, Value),
    /// A bare keyword.
    Keyword(Value),
}

impl Tree {
    /// The key Python's `set` would hash the node by, or the name of the
    /// unhashable type that stops it (`TypeError: unhashable type: 'list'`).
    pub(crate) fn dedupe_key(&self) -> Result<DedupeKey, &'static str> {
        Ok(match self {
            Tree::And(id, _) | Tree::Or(id, _) | Tree::Not(id, _) | Tree::Null(id, _) => {
                DedupeKey::Node(*id)
            }
            Tree::Leaf(field, value) => {
                // sigmac turns a list value into a tuple first; its items
                // must then be hashable themselves.
                match value {
                    Value::List(items) => {
                        for item in items {
                            hashable(item)?;
                        }
                    }
                    v => hashable(v)?,
                }
                DedupeKey::Leaf(field.clone(), value.clone())
            }
            Tree::Keyword(value) => DedupeKey::Keyword(value.clone()),
            Tree::Sub(_) => return Err("NodeSubexpression"),
            Tree::Token(_) => return Err("SigmaConditionToken"),
            // Emptied children are dropped before duplicates are looked for.
            Tree::Nothing => DedupeKey::Node(0),
        })
    }

    /// The Python class name, for messages.
    pub fn class_name(&self) -> &'static str {
        match self {
            Tree::And(..) => "ConditionAND",
            Tree::Or(..) => "ConditionOR",
            Tree::Not(..) => "ConditionNOT",
            Tree::Null(..) => "ConditionNULLValue",
            Tree::Sub(_) => "NodeSubexpression",
            Tree::Leaf(..) => "tuple",
            Tree::Keyword(_) => "str",
            Tree::Token(_) => "SigmaConditionToken",
            Tree::Nothing => "NoneType",
        }
    }
}

fn hashable(value: &Value) -> Result<(), &'static str> {
    match value {
        Value::List(_) => Err("list"),
        Value::Dict => Err("dict"),
        _ => Ok(()),
    }
}
