//! YAML text → [`Node`] trees, one per document. The only module that sees
//! the YAML crate.
//!
//! The tree is built from the parser's event stream with an explicit stack,
//! so a deeply nested document cannot overflow the call stack; nesting past
//! [`MAX_DEPTH`] is an error. Every node keeps the position where it starts.
//! Aliases are resolved by copying the anchored node (bounded by
//! [`MAX_NODES`], so "billion laughs" documents fail instead of exploding).
//! A mapping with a repeated key keeps the last value at the first key's
//! place, as PyYAML (and so the Sigma tool chain) does.
//!
//! Scalars keep their source text and whether they were plain (unquoted):
//! the default semantics take a value as written, while the legacy mode
//! needs YAML 1.1's reading of plain scalars (`010` is 8, `yes` is true).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::error::{Error, Pos, Result};

/// Documents nested deeper than this are refused.
pub const MAX_DEPTH: usize = 64;

/// Documents (after alias expansion) with more nodes than this are refused.
pub const MAX_NODES: usize = 4_000_000;

/// One YAML node with the position where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// Where it starts in the file.
    pub pos: Pos,
}

/// The three kinds of YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A scalar: its text, and whether it was written without quotes
    /// (only plain scalars can be null, numbers or booleans).
    Scalar {
        /// The scalar's value after YAML unescaping.
        text: String,
        /// True for a plain (unquoted, non-block) scalar.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, keys unique.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// True for a YAML null: `~`, `null` (any of its spellings) or nothing.
    pub fn is_null(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar { text, plain: true } => {
                matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    /// Looks up a key of a mapping by its scalar text.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => {
                entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    /// A short name of the node's kind for error messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "null",
            NodeKind::Scalar { .. } => "scalar",
            NodeKind::Seq(_) => "list",
            NodeKind::Map(_) => "map",
        }
    }
}

/// Parses every document of a YAML stream.
///
/// # Errors
/// Invalid YAML, nesting deeper than [`MAX_DEPTH`], or more than
/// [`MAX_NODES`] nodes, each with the position where it was found.
pub fn parse_documents(text: &str) -> Result<Vec<Node>> {
    let mut builder = Builder::default();
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| {
            let m = e.marker();
            Error::at(Pos::new(m.line(), m.col() + 1), format!("invalid YAML: {}", e.info()))
        })?;
        builder.event(event, span)?;
    }
    Ok(builder.documents)
}

/// A container being filled: its start position and anchor, and children.
enum Open {
    Seq { pos: Pos, anchor: usize, items: Vec<Node> },
    Map { pos: Pos, anchor: usize, entries: Vec<(Node, Node)>, key: Option<Node> },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    documents: Vec<Node>,
    nodes: usize,
}

fn pos_of(span: &Span) -> Pos {
    // saphyr's columns are 0-based; ours are 1-based like compilers'.
    Pos::new(span.start.line(), span.start.col() + 1)
}

fn count(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>()
        }
    }
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<()> {
        let pos = pos_of(&span);
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = matches!(style, ScalarStyle::Plain);
                let node = Node { kind: NodeKind::Scalar { text: text.into_owned(), plain }, pos };
                self.finish(node, anchor)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.open(Open::Seq { pos, anchor, items: Vec::new() })?;
            }
            Event::MappingStart(anchor, _) => {
                self.open(Open::Map { pos, anchor, entries: Vec::new(), key: None })?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Open::Seq { pos, anchor, items }) => {
                        (Node { kind: NodeKind::Seq(items), pos }, anchor)
                    }
                    Some(Open::Map { pos, anchor, entries, .. }) => {
                        (Node { kind: NodeKind::Map(entries), pos }, anchor)
                    }
                    None => return Err(Error::at(pos, "invalid YAML")),
                };
                self.finish(node, anchor)?;
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| Error::at(pos, "invalid YAML: unknown alias"))?;
                self.nodes += count(&node);
                self.finish(node, 0)?;
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => {}
        }
        Ok(())
    }

    fn open(&mut self, open: Open) -> Result<()> {
        if self.stack.len() >= MAX_DEPTH {
            let pos = match &open {
                Open::Seq { pos, .. } | Open::Map { pos, .. } => *pos,
            };
            return Err(Error::at(pos, format!("YAML nested deeper than {MAX_DEPTH} levels")));
        }
        self.stack.push(open);
        Ok(())
    }

    fn finish(&mut self, node: Node, anchor: usize) -> Result<()> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Error::at(node.pos, format!("YAML has more than {MAX_NODES} nodes")));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let same = entries
                        .iter_mut()
                        .find(|(old, _)| old.kind == k.kind && !matches!(k.kind, NodeKind::Map(_)));
                    match same {
                        Some((_, value)) => *value = node,
                        None => entries.push((k, node)),
                    }
                }
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn positions_are_one_based() {
        let doc = one("a: 1\nbb:\n  - x\n");
        assert_eq!(doc.get("a").unwrap().pos, Pos::new(1, 4));
        let seq = doc.get("bb").unwrap();
        match &seq.kind {
            NodeKind::Seq(items) => assert_eq!(items[0].pos, Pos::new(3, 5)),
            _ => panic!("not a list"),
        }
    }

    #[test]
    fn duplicate_key_last_wins_in_first_place() {
        let doc = one("a: 1\nb: 2\na: 3\n");
        match &doc.kind {
            NodeKind::Map(entries) => {
                let keys: Vec<_> = entries.iter().map(|(k, _)| k.as_str().unwrap()).collect();
                assert_eq!(keys, ["a", "b"]);
            }
            _ => panic!("not a map"),
        }
        assert_eq!(doc.get("a").unwrap().as_str(), Some("3"));
    }

    #[test]
    fn plain_and_quoted_scalars() {
        let doc = one("a: 010\nb: '010'\nc:\nd: ~\n");
        assert!(matches!(doc.get("a").unwrap().kind, NodeKind::Scalar { plain: true, .. }));
        assert!(!doc.get("b").unwrap().is_null());
        assert!(doc.get("c").unwrap().is_null());
        assert!(doc.get("d").unwrap().is_null());
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let doc = one("a: &x [1, 2]\nb: *x\n");
        assert_eq!(doc.get("a").unwrap().kind, doc.get("b").unwrap().kind);
    }

    #[test]
    fn errors_have_positions() {
        let err = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos().is_some());
        assert!(err.message().starts_with("invalid YAML"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse_documents(&text).unwrap_err();
        // saphyr's own recursion limit may trigger before ours.
        let msg = err.message();
        assert!(msg.contains("nested deeper") || msg.contains("recursion limit"), "{err}");
    }

    #[test]
    fn multiple_documents() {
        let docs = parse_documents("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
    }
}
