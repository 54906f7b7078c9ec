//! sigmac's condition optimizer (semantics §2.9), which decides where group
//! wrappers and anchoring appear in the regex.
//!
//! 1. Strip every SUB wrapper, except inside a NOT (a NOT's subtree is kept
//!    as parsed and never optimized).
//! 2. Rewrite until nothing changes; for an AND/OR node, the first rule that
//!    applies wins and the node is rewritten again:
//!    no children → nothing; drop children that became nothing; one child →
//!    the child; drop duplicate children (leaves and keywords by value,
//!    nodes by identity); splice same-type children when every child is of
//!    that type or a `(field, value)` leaf; otherwise rewrite the children.
//!    (The `OR(AND(X,..),AND(X,..))` factoring of older sigmac versions was
//!    removed in 2022 and is not done.)
//! 3. Wrap every AND/OR in a SUB again (not inside NOT).

use super::tree::{DedupeKey, Tree};

/// Optimizes a parsed condition tree.
///
/// # Errors
/// Python's `TypeError: unhashable type: 'T'` when duplicate detection
/// meets an unhashable child (a list value holding a list, a stray token).
pub fn optimize(tree: Tree) -> Result<Tree, String> {
    let mut tree = strip(tree);
    loop {
        let (next, changed) = rewrite(tree)?;
        tree = next;
        if !changed {
            break;
        }
    }
    Ok(unstrip(tree))
}

fn strip(tree: Tree) -> Tree {
    match tree {
        Tree::Sub(inner) => strip(*inner),
        Tree::And(id, items) => Tree::And(id, items.into_iter().map(strip).collect()),
        Tree::Or(id, items) => Tree::Or(id, items.into_iter().map(strip).collect()),
        other => other,
    }
}

fn unstrip(tree: Tree) -> Tree {
    match tree {
        Tree::And(id, items) => {
            Tree::Sub(Box::new(Tree::And(id, items.into_iter().map(unstrip).collect())))
        }
        Tree::Or(id, items) => {
            Tree::Sub(Box::new(Tree::Or(id, items.into_iter().map(unstrip).collect())))
        }
        other => other,
    }
}

fn same_kind(a: &Tree, b: &Tree) -> bool {
    matches!((a, b), (Tree::And(..), Tree::And(..)) | (Tree::Or(..), Tree::Or(..)))
}

/// One pass of sigmac's `_optimizeNode`: the new node and whether anything
/// changed.
fn rewrite(node: Tree) -> Result<(Tree, bool), String> {
    let (is_and, id, items) = match node {
        Tree::And(id, items) => (true, id, items),
        Tree::Or(id, items) => (false, id, items),
        Tree::Not(id, inner) => {
            // NOT(NOT x) → x; the parser never nests NOTs directly (there is
            // always a SUB between), so this keeps the NOT as it is.
            if let Tree::Not(_, x) = *inner {
                return Ok((rewrite(*x)?.0, true));
            }
            return Ok((Tree::Not(id, inner), false));
        }
        other => return Ok((other, false)),
    };
    let rebuild = |items: Vec<Tree>| {
        if is_and {
            Tree::And(id, items)
        } else {
            Tree::Or(id, items)
        }
    };
    if items.is_empty() {
        return Ok((Tree::Nothing, true));
    }
    if items.iter().any(|i| matches!(i, Tree::Nothing)) {
        let kept = items.into_iter().filter(|i| !matches!(i, Tree::Nothing)).collect();
        return Ok((rewrite(rebuild(kept))?.0, true));
    }
    if items.len() == 1 {
        let only = items.into_iter().next().expect("one item");
        return Ok((rewrite(only)?.0, true));
    }
    let mut seen: Vec<DedupeKey> = Vec::with_capacity(items.len());
    let mut unique = Vec::with_capacity(items.len());
    let before = items.len();
    for item in items {
        let key = item.dedupe_key().map_err(|t| format!("unhashable type: '{t}'"))?;
        if !seen.contains(&key) {
            seen.push(key);
            unique.push(item);
        }
    }
    if unique.len() < before {
        return Ok((rewrite(rebuild(unique))?.0, true));
    }
    let items = unique;
    let me = rebuild(Vec::new());
    if items.iter().any(|c| same_kind(c, &me))
        && items.iter().all(|c| same_kind(c, &me) || matches!(c, Tree::Leaf(..)))
    {
        let mut spliced = Vec::with_capacity(items.len());
        for child in items {
            match child {
                Tree::And(_, inner) | Tree::Or(_, inner) => spliced.extend(inner),
                leaf => spliced.push(leaf),
            }
        }
        return Ok((rewrite(rebuild(spliced))?.0, true));
    }
    let mut changed = false;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let (next, c) = rewrite(item)?;
        changed |= c;
        out.push(next);
    }
    Ok((rebuild(out), changed))
}
