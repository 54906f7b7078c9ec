//! sigrep runs Sigma detection rules over text logs, grep-style.
//!
//! # Pipeline
//!
//! ```text
//! rule.yml ─rule─▶ Rule ─condition─▶ Expr ─lower─▶ Formula over atoms
//!          ─compile─▶ Program (automaton + prefilter) ─search─▶ lines ─printer─▶ output
//! ```
//!
//! * [`rule`]: YAML → [`rule::Rule`]; the only module that sees the YAML
//!   crate; positions for every error.
//! * [`condition`]: the condition grammar → [`condition::Expr`].
//! * [`lower`]: rule + condition → [`lower::Formula`] over interned
//!   [`lower::Atom`]s. All semantic choices live here.
//! * [`compile`]: formulas → [`compile::Program`]: one multi-pattern
//!   automaton deciding a line in one pass, plus a literal prefilter.
//! * [`oracle`]: the obviously-correct per-atom evaluator, the program's
//!   twin in tests (the program's own exact path shares no code with it).
//! * [`search`]: files, mmap, stdin, binary detection, line numbering.
//! * [`printer`]: grep-compatible output.
//! * [`run`]: the runtime a front end drives: rule loading, inputs,
//!   threads, printers and statistics, behind [`run::RunnerBuilder`].
//! * [`event`]: the fields of a line or an event-log record, decoded
//!   lazily, for field semantics (DESIGN 2.3).
//! * [`legacy`]: the old `sigmac -t grep` converter, reimplemented: the
//!   exact regex it emitted (`--emit-pcre`) and the tree `--legacy`
//!   matching is lowered from.
//!
//! # Glossary
//!
//! * *atom*: "the line contains a match of pattern P".
//! * *cover*: a set of literals one of which every selected line contains.
//! * *candidate line*: a line the prefilter did not rule out.

#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod compile;
pub mod condition;
pub mod error;
pub mod event;
pub mod legacy;
pub mod lower;
pub mod oracle;
pub mod printer;
pub mod rule;
pub mod ruleset;
pub mod run;
pub mod search;
