//! Sigma rule files → [`Rule`]s: metadata, named detection definitions and
//! the condition text, with positions for error messages.
//!
//! This stage checks the *shape* of a rule (a detection map, definitions
//! that are maps or lists, field values that are scalars, known modifiers)
//! and leaves meaning to [`crate::lower`]. Multi-document files follow the
//! Sigma collection actions: `action: global` is merged into every later
//! document until `action: reset`; `action: repeat` copies the previous rule
//! and merges the new document into it. Each resulting rule remembers its
//! 1-based document number.

mod modifier;
pub mod yaml;

pub use modifier::Modifier;

use crate::error::{Error, Pos, Result};
use yaml::{Node, NodeKind};

/// One Sigma rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// 1-based number of the YAML document the rule ends in.
    pub document: usize,
    /// `title`, or empty.
    pub title: String,
    /// `id`, if given.
    pub id: Option<String>,
    /// `level`, if given.
    pub level: Option<String>,
    /// `status`, if given.
    pub status: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `logsource` entries (`product`, `service`, `category`, ...).
    pub logsource: Vec<(String, String)>,
    /// The detection section.
    pub detection: Detection,
}

/// The `detection` section: named definitions and the condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// Every key except `condition` (and `timeframe`), in document order.
    pub definitions: Vec<Definition>,
    /// The condition; several entries (a YAML list) mean OR.
    pub conditions: Vec<Condition>,
    /// Where the `detection` map starts.
    pub pos: Pos,
    /// `timeframe`, if given (it cannot be applied line by line).
    pub timeframe: Option<String>,
}

/// One condition string with the position of its first character.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The condition text.
    pub text: String,
    /// Where the text starts (for plain and block scalars, exact; for
    /// quoted ones, the opening quote).
    pub pos: Pos,
}

/// A named search definition (`selection: ...`).
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    /// Its name, as the condition refers to it.
    pub name: String,
    /// Its body.
    pub search: Search,
    /// Where the name is written.
    pub pos: Pos,
}

/// The body of a definition, or an item of a list definition.
#[derive(Clone, Debug, PartialEq)]
pub enum Search {
    /// A map: every item must match (AND).
    Selection(Selection),
    /// A list: any item may match (OR); `all of` turns it into AND.
    List(Vec<Search>, Pos),
    /// A value without field (an item of a keyword list).
    Keyword(Value),
}

/// A map of field items, ANDed.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    /// The items in document order.
    pub items: Vec<FieldMatch>,
    /// Where the map starts.
    pub pos: Pos,
}

/// One `Field|modifiers: value(s)` item.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldMatch {
    /// The field name (ignored by matching: lines have no fields).
    pub field: String,
    /// The modifiers in the order written, each where it is written.
    pub modifiers: Vec<(Modifier, Pos)>,
    /// The values; one for a scalar, any number for a list.
    pub values: Vec<Value>,
    /// True when the values were written as a YAML list.
    pub is_list: bool,
    /// Where the key is written.
    pub pos: Pos,
}

impl FieldMatch {
    /// True when the item has this modifier.
    pub fn has(&self, modifier: Modifier) -> bool {
        self.modifiers.iter().any(|&(m, _)| m == modifier)
    }
}

/// A scalar value of a detection item.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// The text as YAML gives it (after YAML unescaping).
    pub text: String,
    /// True when written without quotes.
    pub plain: bool,
    /// True for YAML null (`~`, `null`, nothing).
    pub null: bool,
    /// Where it is written.
    pub pos: Pos,
}

/// Parses every rule in a YAML file.
///
/// # Errors
/// Invalid YAML, a document that is not a map, or a rule whose shape is
/// wrong, with the position of the problem.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>> {
    let documents = yaml::parse_documents(text)?;
    if documents.is_empty() {
        return Err(Error::whole("no rule in the file"));
    }
    let mut rules = Vec::new();
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    for (index, doc) in documents.into_iter().enumerate() {
        if !matches!(doc.kind, NodeKind::Map(_)) {
            return Err(Error::at(
                doc.pos,
                format!("a rule must be a map, found a {}", doc.kind_name()),
            ));
        }
        let action = doc.get("action").and_then(Node::as_str).map(String::from);
        let doc = strip_key(doc, "action");
        match action.as_deref() {
            Some("global") => {
                global = Some(match global {
                    Some(g) => merge(g, doc),
                    None => doc,
                });
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => {
                let base = previous.clone().ok_or_else(|| {
                    Error::at(doc.pos, "'action: repeat' without a rule before it")
                })?;
                let merged = merge(base, doc);
                rules.push(rule_from(&merged, index + 1)?);
                previous = Some(merged);
            }
            Some(other) => {
                let pos = doc.get("action").map_or(doc.pos, |n| n.pos);
                return Err(Error::at(pos, format!("unknown action '{other}'")));
            }
            None => {
                let merged = match &global {
                    Some(g) => merge(g.clone(), doc),
                    None => doc,
                };
                rules.push(rule_from(&merged, index + 1)?);
                previous = Some(merged);
            }
        }
    }
    if rules.is_empty() {
        return Err(Error::whole("no rule in the file (only global documents)"));
    }
    Ok(rules)
}

fn strip_key(node: Node, key: &str) -> Node {
    match node.kind {
        NodeKind::Map(entries) => Node {
            kind: NodeKind::Map(
                entries.into_iter().filter(|(k, _)| k.as_str() != Some(key)).collect(),
            ),
            pos: node.pos,
        },
        kind => Node { kind, pos: node.pos },
    }
}

/// Deep merge: maps are merged key by key, anything else in `over` wins.
fn merge(base: Node, over: Node) -> Node {
    match (base.kind, over.kind) {
        (NodeKind::Map(mut entries), NodeKind::Map(new)) => {
            for (k, v) in new {
                match entries.iter_mut().find(|(old, _)| old.kind == k.kind) {
                    Some((_, slot)) => {
                        let old = std::mem::replace(
                            slot,
                            Node { kind: NodeKind::Seq(Vec::new()), pos: v.pos },
                        );
                        *slot = merge(old, v);
                    }
                    None => entries.push((k, v)),
                }
            }
            Node { kind: NodeKind::Map(entries), pos: base.pos }
        }
        (_, kind) => Node { kind, pos: over.pos },
    }
}

fn scalar_field(doc: &Node, key: &str) -> Option<String> {
    doc.get(key).filter(|n| !n.is_null()).and_then(Node::as_str).map(String::from)
}

fn rule_from(doc: &Node, document: usize) -> Result<Rule> {
    let tags = match doc.get("tags").map(|n| &n.kind) {
        Some(NodeKind::Seq(items)) => {
            items.iter().filter_map(Node::as_str).map(String::from).collect()
        }
        _ => Vec::new(),
    };
    let logsource = match doc.get("logsource").map(|n| &n.kind) {
        Some(NodeKind::Map(entries)) => entries
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let detection = match doc.get("detection") {
        Some(node) => detection_from(node)?,
        None => return Err(Error::at(doc.pos, "the rule has no 'detection'")),
    };
    Ok(Rule {
        document,
        title: scalar_field(doc, "title").unwrap_or_default(),
        id: scalar_field(doc, "id"),
        level: scalar_field(doc, "level"),
        status: scalar_field(doc, "status"),
        tags,
        logsource,
        detection,
    })
}

fn detection_from(node: &Node) -> Result<Detection> {
    let NodeKind::Map(entries) = &node.kind else {
        return Err(Error::at(
            node.pos,
            format!("'detection' must be a map, found a {}", node.kind_name()),
        ));
    };
    let mut definitions = Vec::new();
    let mut conditions = None;
    let mut timeframe = None;
    for (key, value) in entries {
        let Some(name) = key.as_str() else {
            return Err(Error::at(key.pos, "a detection key must be a name"));
        };
        match name {
            "condition" => conditions = Some(conditions_from(value)?),
            "timeframe" => timeframe = value.as_str().map(String::from),
            _ => definitions.push(Definition {
                name: name.to_string(),
                search: search_from(value, 0)?,
                pos: key.pos,
            }),
        }
    }
    let conditions =
        conditions.ok_or_else(|| Error::at(node.pos, "'detection' has no 'condition'"))?;
    Ok(Detection { definitions, conditions, pos: node.pos, timeframe })
}

fn conditions_from(node: &Node) -> Result<Vec<Condition>> {
    let one = |n: &Node| match &n.kind {
        NodeKind::Scalar { text, .. } if !n.is_null() => {
            Ok(Condition { text: text.clone(), pos: n.pos })
        }
        _ => Err(Error::at(
            n.pos,
            format!("a condition must be a string, found a {}", n.kind_name()),
        )),
    };
    match &node.kind {
        NodeKind::Seq(items) if !items.is_empty() => items.iter().map(one).collect(),
        NodeKind::Seq(_) => Err(Error::at(node.pos, "the condition list is empty")),
        _ => Ok(vec![one(node)?]),
    }
}

/// Lists may nest; this bounds how deep (the YAML depth bound is larger).
const MAX_SEARCH_DEPTH: usize = 32;

fn search_from(node: &Node, depth: usize) -> Result<Search> {
    if depth > MAX_SEARCH_DEPTH {
        return Err(Error::at(node.pos, "detection nested too deeply"));
    }
    match &node.kind {
        NodeKind::Map(entries) => {
            let mut items = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                items.push(field_match_from(key, value)?);
            }
            Ok(Search::Selection(Selection { items, pos: node.pos }))
        }
        NodeKind::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match &item.kind {
                    NodeKind::Scalar { .. } if item.is_null() => {
                        return Err(Error::at(
                            item.pos,
                            "a keyword list may only hold values and maps, found null",
                        ))
                    }
                    NodeKind::Scalar { .. } => Search::Keyword(value_from(item)),
                    _ => search_from(item, depth + 1)?,
                });
            }
            Ok(Search::List(out, node.pos))
        }
        NodeKind::Scalar { .. } => {
            Err(Error::at(node.pos, "a definition must be a map or a list, found a single value"))
        }
    }
}

fn value_from(node: &Node) -> Value {
    let (text, plain) = match &node.kind {
        NodeKind::Scalar { text, plain } => (text.clone(), *plain),
        _ => (String::new(), false),
    };
    Value { null: node.is_null(), text, plain, pos: node.pos }
}

fn field_match_from(key: &Node, value: &Node) -> Result<FieldMatch> {
    let Some(key_text) = key.as_str() else {
        return Err(Error::at(key.pos, "a field name must be a scalar"));
    };
    let (field, modifiers) = modifier::parse_key(key_text, key.pos)?;
    let (values, is_list) = match &value.kind {
        NodeKind::Scalar { .. } => (vec![value_from(value)], false),
        NodeKind::Seq(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                if !matches!(item.kind, NodeKind::Scalar { .. }) {
                    return Err(Error::at(
                        item.pos,
                        format!(
                            "the values of '{key_text}' must be scalars, found a {}",
                            item.kind_name()
                        ),
                    ));
                }
                values.push(value_from(item));
            }
            (values, true)
        }
        NodeKind::Map(_) => {
            return Err(Error::at(
                value.pos,
                format!("the value of '{key_text}' must be a scalar or a list, found a map"),
            ))
        }
    };
    Ok(FieldMatch { field, modifiers, values, is_list, pos: key.pos })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WMI: &str = "\
title: WMI
id: abc
level: high
tags: [attack.t1047]
logsource: {product: windows}
detection:
    selection:
        EventID: 5861
    keywords:
        - 'ActiveScriptEventConsumer'
    condition: selection and 1 of keywords
";

    #[test]
    fn metadata_and_definitions() {
        let rules = parse_rules(WMI).unwrap();
        let rule = &rules[0];
        assert_eq!(rule.title, "WMI");
        assert_eq!(rule.id.as_deref(), Some("abc"));
        assert_eq!(rule.tags, ["attack.t1047"]);
        assert_eq!(rule.logsource, [("product".into(), "windows".into())]);
        let names: Vec<_> = rule.detection.definitions.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["selection", "keywords"]);
        assert_eq!(rule.detection.conditions[0].pos, Pos::new(11, 16));
    }

    #[test]
    fn global_and_repeat() {
        let text = "\
action: global
title: T
detection:
    condition: sel
---
detection:
    sel: {a: 1}
---
action: repeat
detection:
    sel: {a: 2}
---
action: reset
---
title: U
detection: {s: [x], condition: s}
";
        let rules = parse_rules(text).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].title, "T");
        assert_eq!(rules[1].title, "T");
        assert_eq!(rules[1].document, 3);
        assert_eq!(rules[2].title, "U");
        let Search::Selection(s) = &rules[1].detection.definitions[0].search else { panic!() };
        assert_eq!(s.items[0].values[0].text, "2");
    }

    #[test]
    fn shape_errors_have_positions() {
        let err = parse_rules("title: x\ndetection:\n  sel: abc\n  condition: sel\n").unwrap_err();
        assert_eq!(err.pos(), Some(Pos::new(3, 8)));
        let err =
            parse_rules("detection:\n  sel:\n    a|containz: x\n  condition: sel\n").unwrap_err();
        assert_eq!(err.to_string(), "3:7: unknown modifier 'containz'");
        let err = parse_rules("title: x\n").unwrap_err();
        assert!(err.message().contains("no 'detection'"));
        let err = parse_rules("detection:\n  sel: [a]\n").unwrap_err();
        assert!(err.message().contains("no 'condition'"));
    }
}
