//! Legacy semantics (`--legacy`): the lines `grep -P -i "$(sigmac -t grep
//! rule.yml)"` selects, as a [`Formula`] over the same atoms the default
//! mode uses, so that the same lookahead-free automaton runs it.
//!
//! # From the regex to a formula
//!
//! The input is the regex [`crate::legacy`] emits, parsed as PCRE2 parses
//! it ([`pcre`]): that gives grep's compile errors and, for values whose
//! text leaks into the pattern (semantics §3.3), grep's real structure.
//! Each node `X` of the pattern is then decided at one of three places
//! (semantics §3, the occ/fin table):
//!
//! * `Start`: `X` matches at position 0;
//! * `Any`: `X` matches at some position (grep's unanchored search, and
//!   every `.*X`);
//! * `End`: `X` matches at the end of the line (only empty-matching parts
//!   can).
//!
//! The rules: `^X` is `X` at `Start`; `.*X` at `Start`/`Any` is `X` at
//! `Any`, at `End` it is `X` at `End`; an alternation is the OR of its
//! branches; a group is its content; `(?=X)` is `X`; `(?!X)` is `not X` at
//! `Start` and `End`, and at `Any` it is `not (X at End)` when `X` is `.*Y`
//! (so a `not` below the top is constant true, or false when its operand
//! can match an empty tail); a run of lookaheads `(?=.*A)(?=.*B)` at `Any`
//! is `A at Any and B at Any`. What remains is lookaround-free ("regular"):
//! one atom, "the value occurs" (`Any`, a [`AtomKind::Text`] atom for plain
//! text so the Aho-Corasick path stays fast), "the line starts with it"
//! (`Start`, a regex atom `\A(?:R)`), or, at `End`, the constant false for
//! values that cannot match empty, the constant true for those that always
//! can, and a regex atom `(?:E)\z` over the value's assertions `E`
//! otherwise (`\b` at the end of the line).
//!
//! Shapes this cannot decide exactly (a value's text turning a lookahead
//! into an alternation whose branches do not all start with `.*`,
//! possessive quantifiers, `(?...)` syntax a value opened) are refused with
//! an error naming the construct, never guessed.
//!
//! # Known differences
//!
//! * grep gives up on long lines ("exceeded PCRE's backtracking limit",
//!   exit 2, rest of input unread); sigrep never does (intended).
//! * Invalid UTF-8: grep only lets the part of a line before the first
//!   invalid byte match, and reports such selected lines as "binary file
//!   matches" instead of printing them. sigrep matches the whole line and
//!   prints it (the default mode's input handling).

pub mod pcre;

use pcre::{GroupKind, Look, Node, PatternError};

use super::{Atom, AtomKind, AtomTable, Formula, Piece};

/// Where a node is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Start,
    Any,
    End,
}

/// Lowers one emitted regex (with its leading `^`).
///
/// # Errors
/// PCRE2's compile error (grep exits 2 with it), or a construct legacy mode
/// does not reproduce.
pub fn lower_regex(
    regex: &str,
    ignore_case: bool,
    table: &mut AtomTable,
) -> Result<Formula, PatternError> {
    if regex.contains('\n') {
        // grep splits its pattern argument at newlines; with -P it refuses
        // more than one.
        return Err(PatternError::Pcre("the -P option only supports a single pattern".into()));
    }
    let pattern = pcre::parse(regex, ignore_case)?;
    let mut lowerer = Lowerer { fold: ignore_case, table };
    lowerer.at(&pattern, At::Any)
}

struct Lowerer<'a> {
    fold: bool,
    table: &'a mut AtomTable,
}

fn unsupported<T>(what: &str) -> Result<T, PatternError> {
    Err(PatternError::Unsupported(format!(
        "a value's text changes the structure of the pattern (semantics 3.3): {what}"
    )))
}

fn is_dot_star(node: &Node) -> bool {
    matches!(node, Node::Repeat(inner, 0, None) if **inner == Node::Dot)
}

/// `.*Y`: the `Y`.
fn after_dot_star(node: &Node) -> Option<Node> {
    match node {
        Node::Seq(items) if items.first().is_some_and(is_dot_star) => Some(match items.len() {
            2 => items[1].clone(),
            _ => Node::Seq(items[1..].to_vec()),
        }),
        n if is_dot_star(n) => Some(Node::Empty),
        _ => None,
    }
}

impl Lowerer<'_> {
    fn at(&mut self, node: &Node, at: At) -> Result<Formula, PatternError> {
        // Structure first, even where a regex could run the node: that
        // keeps values as separate (mostly literal) atoms.
        match node {
            Node::Alt(branches) => {
                let parts: Result<Vec<_>, _> = branches.iter().map(|b| self.at(b, at)).collect();
                Ok(Formula::or(parts?))
            }
            Node::Group(GroupKind::Plain, inner) | Node::Group(GroupKind::Ahead, inner) => {
                self.at(inner, at)
            }
            Node::Group(GroupKind::NotAhead, inner) => match at {
                At::Start | At::End => Ok(Formula::not(self.at(inner, at)?)),
                At::Any => {
                    if let Some(rest) = after_dot_star(inner) {
                        // ¬∃q≥p Y@q holds for some p iff it holds at the end.
                        return Ok(Formula::not(self.at(&rest, At::End)?));
                    }
                    if inner.is_regular() {
                        // `(?!k)` somewhere: false only if k matches at
                        // every position, which needs k to match empty.
                        return match inner.empty_part() {
                            None => Ok(Formula::Const(true)),
                            Some(Node::Empty) => Ok(Formula::Const(false)),
                            Some(_) => unsupported(
                                "a null check whose field name only matches empty text at some places",
                            ),
                        };
                    }
                    unsupported("a negative lookahead that does not start with '.*'")
                }
            },
            Node::Seq(items) => self.sequence(node, items, at),
            n if n.is_regular() => Ok(self.regular(n, at)),
            _ => unsupported("a quantified lookaround"),
        }
    }

    fn sequence(&mut self, whole: &Node, items: &[Node], at: At) -> Result<Formula, PatternError> {
        let items: Vec<&Node> = items.iter().filter(|i| **i != Node::Empty).collect();
        match items.as_slice() {
            [] => return Ok(Formula::Const(true)),
            [one] => return self.at(one, at),
            _ => {}
        }
        let rest = |k: usize| -> Node {
            match items.len() - k {
                1 => items[k].clone(),
                _ => Node::Seq(items[k..].iter().map(|n| (*n).clone()).collect()),
            }
        };
        if *items[0] == Node::Look(Look::Start) {
            return match at {
                At::Start | At::Any => self.at(&rest(1), At::Start),
                // `^X` at the end: the line is empty and X matches there; a
                // regex atom decides that when X is regular.
                At::End if whole.is_regular() => Ok(self.regular(whole, at)),
                At::End => unsupported("'^' before a lookaround, at the end of the line"),
            };
        }
        if is_dot_star(items[0]) {
            let next = if at == At::End { At::End } else { At::Any };
            return self.at(&rest(1), next);
        }
        // A run of lookaheads: an AND.
        if items.iter().all(|i| matches!(i, Node::Group(GroupKind::Ahead | GroupKind::NotAhead, _)))
        {
            let mut parts = Vec::with_capacity(items.len());
            for item in &items {
                let Node::Group(kind, inner) = item else { unreachable!("checked above") };
                parts.push(match at {
                    At::Start | At::End => self.at(item, at)?,
                    // ∃p ∀i Ai@p: each `(?=.*Y)` only gets harder as p
                    // grows, so p = 0 is the best choice for all of them.
                    At::Any if *kind == GroupKind::Ahead && after_dot_star(inner).is_some() => {
                        self.at(item, At::Start)?
                    }
                    At::Any => {
                        return unsupported("a lookahead in an AND that does not start with '.*'")
                    }
                });
            }
            return Ok(Formula::and(parts));
        }
        if whole.is_regular() {
            return Ok(self.regular(whole, at));
        }
        unsupported("a lookaround next to a value's text")
    }

    /// An atom for a lookaround-free node.
    fn regular(&mut self, node: &Node, at: At) -> Formula {
        match at {
            At::Any => {
                if let Some(pieces) = text_pieces(node) {
                    return match Atom::text(pieces, self.fold) {
                        Some(atom) => Formula::atom(self.table.intern(atom)),
                        None => Formula::Const(true),
                    };
                }
                self.regex_atom(node, "", "")
            }
            At::Start => {
                if *node == Node::Empty || is_dot_star(node) {
                    return Formula::Const(true);
                }
                self.regex_atom(node, "\\A(?:", ")")
            }
            At::End => match node.empty_part() {
                None => Formula::Const(false),
                Some(Node::Empty) => Formula::Const(true),
                Some(part) => self.regex_atom(&part, "(?:", ")\\z"),
            },
        }
    }

    fn regex_atom(&mut self, node: &Node, before: &str, after: &str) -> Formula {
        let mut re = String::from(if self.fold { "(?i)" } else { "" });
        re.push_str(before);
        node.render(&mut re);
        re.push_str(after);
        let atom = Atom { kind: AtomKind::Regex(re), fold_case: false };
        Formula::atom(self.table.intern(atom))
    }
}

/// A node made only of characters and `.*` as text pieces.
fn text_pieces(node: &Node) -> Option<Vec<Piece>> {
    let items: &[Node] = match node {
        Node::Seq(items) => items,
        one => std::slice::from_ref(one),
    };
    let mut pieces = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Node::Char(c) => {
                let mut buf = [0; 4];
                pieces.push(Piece::Lit(c.encode_utf8(&mut buf).as_bytes().to_vec()));
            }
            Node::Empty => {}
            n if is_dot_star(n) => pieces.push(Piece::AnyRun),
            _ => return None,
        }
    }
    Some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formula with atoms written as their regex or text.
    fn show(regex: &str) -> String {
        let mut table = AtomTable::new();
        let f = lower_regex(regex, true, &mut table).unwrap();
        let mut out = f.to_string();
        for (i, atom) in table.atoms().iter().enumerate().rev() {
            out = out.replace(&format!("a{i}"), &format!("[{}]", atom.to_regex()));
        }
        out
    }

    #[test]
    fn the_occ_fin_table() {
        // A lone value is a prefix match.
        assert_eq!(show("^cmd\\.exe"), "[(?i)\\A(?:cmd\\.exe)]");
        // A NOT below the top is constant true...
        assert_eq!(show("^(?:.*(?=.*alpha)(?=.*(?!.*(?:.*(?=.*gamma)))))"), "[(?i)alpha]");
        // ...or false when its operand can match an empty tail.
        assert_eq!(show("^(?:.*(?=.*alpha)(?=.*(?!.*(?:.*(?=.*.*)))))"), "false");
        assert_eq!(
            show("^(?:.*(?=.*alpha)(?=.*(?!.*(?:.*(?=.*\\b)))))"),
            "[(?i)alpha] and not [(?i)(?:(?-u:\\b))\\z]"
        );
        // A top-level NOT is a real negation.
        assert_eq!(show("^(?!.*(?:.*(?=.*gamma)))"), "not [(?i)gamma]");
        // `Field: null`: at the top "does not start with", inside an AND true.
        assert_eq!(show("^(?!Field)"), "not [(?i)\\A(?:Field)]");
        assert_eq!(show("^(?:.*(?=.*alpha)(?=.*(?!Field)))"), "[(?i)alpha]");
        // An empty list matches everything.
        assert_eq!(show("^(?:)"), "true");
        // `\A` in a filter value: the filter's NOT is true unless the line
        // is empty (where `\A` holds at the end).
        assert_eq!(show("^(?:.*(?=.*a)(?=.*(?!.*(?:.*(?=.*.*\\AppData)))))"), "[(?i)a]");
        assert_eq!(
            show("^(?:.*(?=.*a)(?=.*(?!.*(?:.*(?=.*\\A)))))"),
            "[(?i)a] and not [(?i)(?:\\A)\\z]"
        );
    }

    #[test]
    fn leaky_values() {
        // Sigma `a\|b`: the second branch of the top-level alternation is
        // not anchored.
        assert_eq!(show("^.*a\\\\|b.*"), "[(?i)a\\\\] or [(?i)b]");
        // A trailing backslash in an OR escapes the `|`.
        assert_eq!(show("^(?:.*C:\\|.*zzz)"), "[(?i)C:\\|(?-u:[^\\n])*zzz]");
        // `\Q` quotes the rest of a lone value.
        assert_eq!(show("^.*\\QuickLaunch.*"), "[(?i)uickLaunch\\.\\*]");
        let mut table = AtomTable::new();
        let err = lower_regex("^(?:.*(?=.*a\\\\|b)(?=.*c))", true, &mut table).unwrap_err();
        assert!(matches!(err, PatternError::Unsupported(_)), "{err:?}");
    }
}
