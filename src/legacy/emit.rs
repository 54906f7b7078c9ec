//! The grep backend's generator (semantics §2.4, §2.6): tree → the regex
//! that `grep -P -i '^…'` receives.
//!
//! | node | emitted |
//! | --- | --- |
//! | OR(c1..ck) | `(?:.*c1\|…\|.*ck)` |
//! | AND(c1..ck) | `(?=.*c1)…(?=.*ck)` |
//! | NOT(c) | `(?!.*c)` |
//! | SUB(c) | `(?:.*c)` |
//! | `Field: null` | `(?!Field)` (the raw field name) |
//! | leaf, keyword | `V(str(value))` |
//! | list value | `(?:.*V1\|.*V2…)` |
//!
//! `V(s)` escapes `| ( ) [ ] { } . ^ $ +` with a backslash and turns `*`
//! into `.*`; nothing else is touched (backslashes and `?` stay live PCRE
//! syntax). The shell quoting of `'` is undone by the shell, so it is not
//! applied here.

use super::tree::{Tree, Value};

/// The value transformation `V(s)`.
pub fn value_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '|' | '(' | ')' | '[' | ']' | '{' | '}' | '.' | '^' | '$' | '+' => {
                out.push('\\');
                out.push(c);
            }
            '*' => out.push_str(".*"),
            c => out.push(c),
        }
    }
    out
}

/// The full regex of a rule's optimized tree, with the leading `^`.
///
/// # Errors
/// sigmac's `TypeError` texts for values the backend cannot generate.
pub fn emit(tree: &Tree) -> Result<String, String> {
    let mut out = String::from("^");
    node(tree, &mut out)?;
    Ok(out)
}

fn not_expected(type_name: &str) -> String {
    format!("Node type {type_name} was not expected in Sigma parse tree")
}

fn node(tree: &Tree, out: &mut String) -> Result<(), String> {
    match tree {
        Tree::Or(_, items) => {
            out.push_str("(?:");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                out.push_str(".*");
                node(item, out)?;
            }
            out.push(')');
        }
        Tree::And(_, items) => {
            for item in items {
                out.push_str("(?=.*");
                node(item, out)?;
                out.push(')');
            }
        }
        Tree::Not(_, inner) => {
            out.push_str("(?!.*");
            node(inner, out)?;
            out.push(')');
        }
        Tree::Null(_, field) => {
            out.push_str("(?!");
            out.push_str(field);
            out.push(')');
        }
        Tree::Sub(inner) => {
            out.push_str("(?:.*");
            node(inner, out)?;
            out.push(')');
        }
        Tree::Leaf(_, value) | Tree::Keyword(value) => leaf(value, out)?,
        Tree::Token(_) => {
            return Err(not_expected("<class 'sigma.parser.condition.SigmaConditionToken'>"))
        }
        Tree::Nothing => return Err(not_expected("<class 'NoneType'>")),
    }
    Ok(())
}

fn leaf(value: &Value, out: &mut String) -> Result<(), String> {
    match value {
        Value::Str(s) | Value::Int(s) => out.push_str(&value_regex(s)),
        Value::List(items) => {
            if !items.iter().all(|v| matches!(v, Value::Str(_) | Value::Int(_))) {
                return Err("List values must be strings or numbers".into());
            }
            out.push_str("(?:");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                out.push_str(".*");
                leaf(item, out)?;
            }
            out.push(')');
        }
        Value::Regex(_) => return Err("Node type not implemented for this backend".into()),
        other => return Err(not_expected(other.type_name())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_transformation() {
        assert_eq!(value_regex("cmd.exe"), "cmd\\.exe");
        assert_eq!(value_regex("*a?b*"), ".*a?b.*");
        assert_eq!(value_regex("a\\.b"), "a\\\\.b");
        assert_eq!(value_regex("it's"), "it's");
    }
}
