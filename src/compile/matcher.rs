//! The line matcher: one multi-pattern scanner over the literal pieces of
//! every atom, plus a little per-line state. The scanner is an
//! Aho-Corasick DFA for small pattern sets and hashed four-byte windows
//! ([`super::grams`]) for large ones.
//!
//! # Atoms as pieces
//!
//! Most atoms are literals, or literals separated by `*` (`a*b*c`: "a, then
//! later b, then later c, within the line"); `windash` choices are spelled
//! out as alternatives. Every distinct piece is one pattern of a single
//! ASCII-case-insensitive scanner, which reports every occurrence of every
//! piece in one left-to-right pass over the line (the automaton in order
//! of end position; grams in their own order, the pieces of sequences
//! then sorted by end). A one-piece atom is seen when its piece occurs; a
//! sequence advances piece by piece, each piece starting at or after the
//! end of the previous one. Taking, for each piece, the occurrence that
//! ends first is optimal, and occurrences are handled in end order, so one
//! counter and one offset per sequence decide it exactly.
//!
//! # Case
//!
//! The automaton folds ASCII case. Case-sensitive (`|cased`) pieces are
//! checked byte for byte where they occur. Non-ASCII letters of folded
//! pieces are spelled out as variants (É/é). Two ASCII letters have
//! non-ASCII partners under Unicode simple case folding (k: KELVIN SIGN,
//! s: LONG S): patterns spell those partners as their letters, and the
//! automaton also looks for the partners themselves. The scan reads a line
//! as it is until a partner occurs; from there on it reads a copy in which
//! each partner is its letter ([`LetterLine`]), after restoring the
//! automaton's state at the partner from the bytes before it. Offsets
//! handed to the pieces are the line's, so cased pieces are checked
//! against the line's own bytes, and `?` counts see the partners' bytes.
//! An attacker who writes partners into a log costs one copy of the rest
//! of the line and at most one longest pattern's worth of bytes walked
//! again.
//!
//! # Plain and complex atoms
//!
//! This module decides which atoms are plain (the automaton decides them
//! from their pieces) and which are complex ([`is_complex`]). `?`s before
//! the first piece or after the last are byte counts (see [`Plan`]), so
//! they leave an atom plain. Regex atoms, atoms with a `?` between pieces,
//! and atoms with too many variants are complex: checked with their own
//! (linear-time) regex on the lines where one of their triggers (cover
//! literals, patterns in the same automaton) occurs, or on every line when
//! they are untriggered.

use std::collections::HashMap;
use std::ops::ControlFlow;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};

use super::grams::{GramScanner, Visitor};
use super::letters::{next_partner, LetterLine};
use super::regexes::AtomRegexes;
use crate::lower::atom::{orbit, partners_as_letters, ASCII_PARTNERS};
use crate::lower::{Atom, AtomId, AtomKind, Piece};

/// Alternatives of one atom beyond this count make it a complex atom.
const MAX_ALTERNATIVES: usize = 32;

/// What an automaton pattern stands for.
#[derive(Clone, Copy, Debug)]
enum Role {
    /// A piece literal.
    Piece(u32),
    /// A trigger (cover literal) of a complex atom.
    Trigger(u32),
    /// A non-ASCII case partner of an ASCII letter (KELVIN SIGN, LONG S):
    /// the rest of the line is read with partners as letters.
    Partner,
}

/// A distinct piece of some atom.
#[derive(Debug)]
struct PieceLit {
    /// The piece as written (for the byte-exact check).
    bytes: Vec<u8>,
    /// True when case must match exactly.
    exact: bool,
    /// Where the piece is used.
    uses: Vec<Use>,
}

#[derive(Clone, Copy, Debug)]
enum Use {
    /// The whole of an alternative of this atom.
    Atom(AtomId),
    /// Piece `k` of sequence `seq`.
    Seq { seq: u32, k: u32 },
}

/// An alternative of an atom with two or more pieces, or with `?`s
/// before or after its one piece.
#[derive(Debug)]
struct Seq {
    atom: AtomId,
    len: u32,
    /// Bytes needed before the first piece and after the last.
    lead: u32,
    trail: u32,
}

/// A scanned complex atom: checked with its own regex.
#[derive(Debug)]
struct Complex {
    atom: AtomId,
    /// No line shorter than this (in bytes) can match: such lines skip the
    /// regex (`(.){200,}` is checked on every line of a rule set).
    min_len: usize,
}

/// The fewest bytes any match of `atom` spans (0 when unknown).
fn min_match_len(atom: &Atom) -> usize {
    regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(&atom.to_regex())
        .ok()
        .and_then(|hir| hir.properties().minimum_len())
        .unwrap_or(0)
}

/// Patterns of at most this many bytes in all are walked by a DFA: one
/// table lookup per byte, where the NFA follows failure links. The DFA's
/// table takes about 350 bytes per pattern byte (11 MB at this bound), the
/// NFA's about 20. Measured on the route of a host's syslog lines (1,800
/// patterns, 25 KB), the DFA walks 1.4x faster; on the route of process
/// creations (7,300 patterns, 128 KB; 41 MB of DFA built in 0.19 s), the
/// walk's gain and the build's cost were even. Larger sets are found by
/// grams ([`GramScanner`]), whose walk is twice the NFA's speed there.
/// Grams for every set measured 1.16x slower on the syslog lines (short
/// lines, where the DFA of 25 KB stays in cache) and 0.97x on Windows
/// events: the bound stays, and the routes of Windows events ask for
/// grams whatever their size (`route`).
const DFA_MAX_PATTERN_BYTES: usize = 1 << 15;

/// How the matcher finds its patterns in a line.
#[derive(Debug)]
enum Walker {
    /// An Aho-Corasick DFA: small pattern sets.
    Dfa(DFA),
    /// An Aho-Corasick NFA: large sets, when the automaton is asked for
    /// ([`LiteralScanner::Automaton`]).
    Nfa(NFA),
    /// Large sets: four-byte windows, hashed ([`GramScanner`]).
    Grams(GramScanner),
}

/// Which scanner finds the literal patterns of a large matcher (more than
/// [`DFA_MAX_PATTERN_BYTES`] of patterns; smaller ones are always walked
/// by a DFA unless grams are forced).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LiteralScanner {
    /// A DFA for small sets, grams for large ones.
    #[default]
    Auto,
    /// An Aho-Corasick automaton: a DFA for small sets, an NFA for large
    /// ones (the twin the grams are compared with).
    Automaton,
    /// Grams for every set.
    Grams,
}

/// The compiled matcher (immutable, shared).
#[derive(Debug)]
pub(crate) struct LineMatcher {
    /// The automaton, walked byte by byte (the overlapping-search API costs
    /// a call per match, and a Windows event line holds a thousand).
    ac: Walker,
    /// The length of its longest pattern: its state at an offset depends
    /// on at most that many bytes before it.
    longest_pattern: usize,
    /// Some pattern stands for a partner of an ASCII letter.
    has_partners: bool,
    /// For each pattern, whether its occurrences must be handled in order
    /// of their ends (it is a piece of a sequence). Grams find
    /// occurrences in another order; these are sorted first.
    by_end: Vec<bool>,
    roles: Vec<Vec<Role>>,
    /// One-byte patterns handled once per line, kept out of the automaton:
    /// (the byte, the pattern). Single characters (`1`, `d`, `=`) are
    /// values of many rules, and in the automaton they put a match on
    /// most bytes of a line; instead, one pass per line records where each
    /// byte value first occurs, and each of these patterns is handled at
    /// its first occurrence before the automaton runs. That is exact
    /// because they are `once_per_line`: only their first occurrence
    /// counts, and a sequence they start only needs its start offset.
    bytes: Vec<(u8, usize)>,
    /// Patterns whose later occurrences on a line change nothing once one
    /// has been handled (triggers, and case-folded pieces used only as
    /// whole atoms or as first pieces of sequences without a lead).
    once_per_line: Vec<bool>,
    pieces: Vec<PieceLit>,
    seqs: Vec<Seq>,
    complex: Vec<Complex>,
    /// The untriggered complex atoms: checked on every line.
    untriggered: Vec<u32>,
}

/// Per-line state of the matcher (per thread).
#[derive(Debug, Default)]
pub(crate) struct LineState {
    /// For each sequence: next piece wanted and where it may start.
    progress: Vec<(u32, usize)>,
    /// The line number (mod 2^32, never 0) at which each `once_per_line`
    /// pattern was last handled.
    handled: Vec<u32>,
    line: u32,
    touched: Vec<u32>,
    /// The complex atoms one of whose triggers occurred on the line, each
    /// once (`is_triggered`): their regexes run, or they are deferred, at
    /// the end of the line.
    triggered: Vec<u32>,
    is_triggered: Vec<bool>,
    /// The rest of the line from its first partner of an ASCII letter on,
    /// partners as letters.
    letters: LetterLine,
    /// Grams: the occurrences of a line to handle in order of their ends,
    /// as (end, pattern, start).
    by_end: Vec<(usize, usize, usize)>,
}

/// How walking a line's bytes ended.
enum Walk {
    /// The whole input was walked.
    Done,
    /// The callback asked to stop.
    Stopped,
    /// A partner of an ASCII letter starts at this offset of the line.
    Partner(usize),
}

/// How a text atom is matched by the automaton: the literal pieces of each
/// of its alternatives, plus how many bytes its leading and trailing `?`s
/// need before the first piece and after the last.
///
/// A `?` is one character or one byte of 0x80-0xFF, so any `k` bytes of a
/// line can be read as `k` of them: "`k` `?`s, then `E`" anywhere in a line
/// is "an `E` that starts at byte `k` or later".
pub(crate) struct Plan {
    pub(crate) alternatives: Vec<Vec<Vec<u8>>>,
    pub(crate) lead: u32,
    pub(crate) trail: u32,
}

/// The plan of a text atom, or `None` when the atom is complex (a `?`
/// between two pieces, or too many alternatives).
fn plan(pieces: &[Piece]) -> Option<Plan> {
    // A JSON character at an edge counts as a `?`: it is at least one
    // byte, and any one byte is one `?`.
    let is_edge = |p: &&Piece| matches!(p, Piece::AnyChar | Piece::JsonChar | Piece::AnyRun);
    let count = |run: &[Piece]| {
        run.iter().filter(|p| matches!(p, Piece::AnyChar | Piece::JsonChar)).count() as u32
    };
    let lead = pieces.iter().take_while(is_edge).count();
    let trail = pieces[lead..].iter().rev().take_while(is_edge).count();
    let (lead_run, rest) = pieces.split_at(lead);
    let (middle, trail_run) = rest.split_at(rest.len() - trail);
    if middle.is_empty() {
        // Only `?` and `*`: complex (the regex counts the characters).
        return None;
    }
    let mut alts: Vec<Vec<Vec<u8>>> = vec![vec![Vec::new()]];
    for piece in middle {
        match piece {
            Piece::Lit(b) => {
                alts.iter_mut().for_each(|a| a.last_mut().unwrap().extend_from_slice(b))
            }
            Piece::AnyRun => alts.iter_mut().for_each(|a| a.push(Vec::new())),
            Piece::OneOf(chars) => {
                if alts.len() * chars.len() > MAX_ALTERNATIVES {
                    return None;
                }
                alts = alts
                    .iter()
                    .flat_map(|a| {
                        chars.iter().map(move |c| {
                            let mut a = a.clone();
                            let mut buf = [0; 4];
                            a.last_mut()
                                .unwrap()
                                .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                            a
                        })
                    })
                    .collect();
            }
            Piece::AnyChar | Piece::JsonChar => return None,
        }
    }
    // Pieces are non-empty: `*` runs are collapsed, and the middle starts
    // and ends with a literal or a choice.
    alts.iter().all(|a| a.iter().all(|p| !p.is_empty())).then_some(Plan {
        alternatives: alts,
        lead: count(lead_run),
        trail: count(trail_run),
    })
}

/// Spellings of a folded piece for an ASCII-insensitive automaton: each
/// non-ASCII letter with case partners becomes a choice of them, except
/// the partners of ASCII letters, which the automaton reads as their
/// letters (see [`Patterns::add`]). `None` when there would be too many.
fn fold_spellings(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    if bytes.is_ascii() {
        // Every ASCII character is its own spelling (most pieces: no
        // character to look up).
        return Some(vec![bytes.to_vec()]);
    }
    let mut out: Vec<Vec<u8>> = vec![Vec::new()];
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let members = orbit(c);
            let options: Vec<char> =
                if c.is_ascii() || members.iter().any(char::is_ascii) { vec![c] } else { members };
            if out.len() * options.len() > MAX_ALTERNATIVES {
                return None;
            }
            out = out
                .iter()
                .flat_map(|v| {
                    options.iter().map(move |o| {
                        let mut v = v.clone();
                        v.extend_from_slice(o.to_string().as_bytes());
                        v
                    })
                })
                .collect();
        }
        for v in out.iter_mut() {
            v.extend_from_slice(chunk.invalid());
        }
    }
    Some(out)
}

/// Spellings of each piece of each alternative of an atom.
type Spellings = Vec<Vec<Vec<Vec<u8>>>>;

/// The plan of `atom` and the spellings of its pieces, or `None` when the
/// atom is complex (checked with its own regex).
fn spelled_plan(atom: &Atom) -> Option<(Plan, Spellings)> {
    let plan = literal_plan(atom)?;
    let mut spelled = Vec::new();
    for alt in &plan.alternatives {
        let mut row = Vec::new();
        for piece in alt {
            row.push(if atom.fold_case { fold_spellings(piece)? } else { vec![piece.clone()] });
        }
        spelled.push(row);
    }
    Some((plan, spelled))
}

/// The plan of a text atom (without its spellings), `None` for a regex
/// atom or a complex one.
pub(crate) fn literal_plan(atom: &Atom) -> Option<Plan> {
    let AtomKind::Text(pieces) = &atom.kind else { return None };
    plan(pieces)
}

/// True when `atom` is complex: the matcher checks it with its own regex
/// (see [`Complex`]) rather than with the automaton alone.
pub(crate) fn is_complex(atom: &Atom) -> bool {
    spelled_plan(atom).is_none()
}

/// A pattern meant never to occur in a log line (three bytes that are not
/// UTF-8, then text): the automaton of a matcher without automaton
/// patterns looks for it, so that the scan loop stays uniform. It has no
/// role: a line that holds it anyway reports nothing for it.
const NEVER: &[u8] = b"\xFF\xFE\xFD never";

/// A line's scan by grams (see [`LineMatcher::walk_grams`]).
struct GramVisit<'a, S> {
    matcher: &'a LineMatcher,
    line: &'a [u8],
    st: &'a mut LineState,
    seen: &'a mut dyn FnMut(AtomId) -> bool,
    /// Maps an occurrence's offsets in the bytes scanned to the line's.
    span: S,
    /// The occurrences of sequence pieces, kept to be handled by their
    /// ends: (end, pattern, start).
    by_end: Vec<(usize, usize, usize)>,
}

impl<S: Fn(usize, usize) -> (usize, usize)> GramVisit<'_, S> {
    /// Handles an occurrence (offsets in the bytes scanned).
    fn take(&mut self, pattern: usize, s: usize, e: usize) -> ControlFlow<()> {
        let m = self.matcher;
        if m.once_per_line[pattern] {
            if self.st.handled[pattern] == self.st.line {
                return ControlFlow::Continue(());
            }
            self.st.handled[pattern] = self.st.line;
        }
        let (s, e) = (self.span)(s, e);
        match m.handle(pattern, s, e, self.line, self.st, self.seen) {
            Some(Walk::Stopped) => ControlFlow::Break(()),
            // Grams read partners through the line's copy: a partner
            // pattern here is the placeholder, which a line may hold and
            // which means nothing.
            Some(Walk::Partner(_) | Walk::Done) | None => ControlFlow::Continue(()),
        }
    }
}

impl<S: Fn(usize, usize) -> (usize, usize)> Visitor for GramVisit<'_, S> {
    /// A pattern handled once per line is not compared again once handled
    /// (`.exe` occurs many times in a Windows event).
    fn wanted(&mut self, pattern: usize) -> bool {
        !self.matcher.once_per_line[pattern] || self.st.handled[pattern] != self.st.line
    }

    fn found(&mut self, pattern: usize, start: usize, end: usize) -> ControlFlow<()> {
        if self.matcher.by_end[pattern] {
            self.by_end.push((end, pattern, start));
            ControlFlow::Continue(())
        } else {
            self.take(pattern, start, end)
        }
    }
}

/// The automaton's patterns while the matcher is built, in the order they
/// were first added.
#[derive(Default)]
struct Patterns {
    bytes: Vec<Vec<u8>>,
    roles: Vec<Vec<Role>>,
    /// The id of each pattern, by its ASCII-lowercased bytes.
    by_key: HashMap<Vec<u8>, usize>,
}

impl Patterns {
    /// Gives the pattern `bytes`, with the partners of ASCII letters
    /// spelled as their letters, the role `role`. The automaton folds
    /// ASCII case, so patterns that differ only in it are one pattern with
    /// the roles of both.
    fn add(&mut self, bytes: &[u8], role: Role) {
        self.add_as_is(&partners_as_letters(bytes), role);
    }

    fn add_as_is(&mut self, bytes: &[u8], role: Role) {
        let key = bytes.to_ascii_lowercase();
        let id = *self.by_key.entry(key).or_insert_with(|| {
            self.bytes.push(bytes.to_vec());
            self.roles.push(Vec::new());
            self.bytes.len() - 1
        });
        self.roles[id].push(role);
    }

    /// The partners of ASCII letters that some pattern's letters stand
    /// for: the automaton looks for them as [`Role::Partner`] patterns.
    /// (Cased patterns count too: their letters may be a partner's
    /// spelling, checked against the line's bytes.)
    fn add_partners(&mut self) {
        for &(partner, letter) in &ASCII_PARTNERS {
            if self.bytes.iter().any(|p| p.iter().any(|b| b.to_ascii_lowercase() == letter)) {
                let mut buf = [0; 4];
                self.add_as_is(partner.encode_utf8(&mut buf).as_bytes(), Role::Partner);
            }
        }
    }

    /// The lowercase letters whose partners are patterns.
    fn partner_letters(&self) -> Vec<u8> {
        ASCII_PARTNERS
            .iter()
            .filter(|&&(partner, _)| {
                let mut buf = [0; 4];
                self.by_key.contains_key(partner.encode_utf8(&mut buf).as_bytes())
            })
            .map(|&(_, letter)| letter)
            .collect()
    }
}

/// What the matcher is built from, gathered atom by atom.
#[derive(Default)]
struct Builder {
    patterns: Patterns,
    pieces: Vec<PieceLit>,
    /// The id of each distinct piece, by its bytes and whether it is
    /// case-folded.
    piece_ids: HashMap<(Vec<u8>, bool), u32>,
    seqs: Vec<Seq>,
    complex: Vec<Complex>,
    untriggered: Vec<u32>,
}

impl Builder {
    /// Adds complex atom `id`: its regex runs only on lines where one of its
    /// triggers occurs, so they become automaton patterns; an untriggered
    /// one is checked on every line.
    fn add_complex(&mut self, id: AtomId, atom: &Atom) {
        let c = self.complex.len() as u32;
        self.complex.push(Complex { atom: id, min_len: min_match_len(atom) });
        match atom.cover() {
            Some(lits) if !lits.is_empty() => {
                for lit in lits {
                    self.patterns.add(&lit.bytes, Role::Trigger(c));
                }
                // Covers spell out non-ASCII case variants themselves (see
                // `Atom::cover`).
            }
            _ => self.untriggered.push(c),
        }
    }

    /// Adds plain atom `id`: every spelling of each distinct piece is one
    /// pattern, so that one occurrence serves every atom using the piece; a
    /// piece is used as a whole atom, or as one step of a sequence (two or
    /// more pieces, or a `?` before or after the one piece).
    fn add_plain(&mut self, id: AtomId, atom: &Atom, plan: Plan, spelled: Spellings) {
        let (lead, trail) = (plan.lead, plan.trail);
        for (alt, row) in plan.alternatives.iter().zip(spelled) {
            let use_of = |k: usize, seqs: &mut Vec<Seq>| -> Use {
                if alt.len() == 1 && lead == 0 && trail == 0 {
                    Use::Atom(id)
                } else {
                    if k == 0 {
                        seqs.push(Seq { atom: id, len: alt.len() as u32, lead, trail });
                    }
                    Use::Seq { seq: seqs.len() as u32 - 1, k: k as u32 }
                }
            };
            for (k, (piece, spellings)) in alt.iter().zip(row).enumerate() {
                // The automaton folds ASCII letters and reads partners as
                // letters: a cased piece without either is matched byte
                // for byte already. (Pieces are still told apart by case:
                // a folded `ſ` matches `s`, a cased one does not.)
                let exact = !atom.fold_case
                    && (piece.iter().any(u8::is_ascii_alphabetic)
                        || partners_as_letters(piece) != *piece);
                let key = (piece.clone(), atom.fold_case);
                let pid = *self.piece_ids.entry(key).or_insert_with(|| {
                    self.pieces.push(PieceLit { bytes: piece.clone(), exact, uses: Vec::new() });
                    let pid = self.pieces.len() as u32 - 1;
                    for s in &spellings {
                        self.patterns.add(s, Role::Piece(pid));
                    }
                    pid
                });
                let u = use_of(k, &mut self.seqs);
                self.pieces[pid as usize].uses.push(u);
            }
        }
    }
}

/// For each pattern, whether only its first occurrence on a line counts
/// (see [`LineMatcher`]'s `once_per_line`): the scan skips its later
/// occurrences, and the one-byte table may take it.
fn once_per_line(roles: &[Vec<Role>], pieces: &[PieceLit], seqs: &[Seq]) -> Vec<bool> {
    roles
        .iter()
        .map(|rs| {
            rs.iter().all(|r| match *r {
                Role::Trigger(_) => true,
                Role::Piece(pid) => {
                    let piece = &pieces[pid as usize];
                    // The first occurrence of a piece is the best one for
                    // a whole atom and for the first piece of a sequence
                    // (it ends earliest); only a sequence waiting for a
                    // later piece, or a lead that an early occurrence may
                    // not satisfy, needs more.
                    !piece.exact
                        && piece.uses.iter().all(|u| match *u {
                            Use::Atom(_) => true,
                            Use::Seq { seq, k } => k == 0 && seqs[seq as usize].lead == 0,
                        })
                }
                Role::Partner => false,
            })
        })
        .collect()
}

/// For each pattern, whether it leaves the automaton for the one-byte
/// table (see [`LineMatcher`]'s `bytes`): one byte long and handled once
/// per line.
///
/// A sequence's first piece must be handled at its earliest end over all
/// its spellings (`é` and `É`): the table handles its patterns ahead of
/// the automaton, so only a piece spelled by the one byte alone may start
/// sequences from the table. Letters whose partners are patterns stay in
/// the automaton: the table reads the line as it is, and a partner later
/// in the line may be that letter's first occurrence.
fn in_byte_table(patterns: &Patterns, once_per_line: &[bool], pieces: &[PieceLit]) -> Vec<bool> {
    let partner_letters = patterns.partner_letters();
    let mut spellings = vec![0u32; pieces.len()];
    for rs in &patterns.roles {
        for r in rs {
            if let Role::Piece(pid) = *r {
                spellings[pid as usize] += 1;
            }
        }
    }
    (0..patterns.bytes.len())
        .map(|p| {
            patterns.bytes[p].len() == 1
                && once_per_line[p]
                && !partner_letters.contains(&patterns.bytes[p][0].to_ascii_lowercase())
                && patterns.roles[p].iter().all(|r| match *r {
                    Role::Piece(pid) => {
                        spellings[pid as usize] == 1
                            || pieces[pid as usize].uses.iter().all(|u| matches!(u, Use::Atom(_)))
                    }
                    _ => true,
                })
        })
        .collect()
}

/// For each pattern, whether it is a piece of some sequence: a sequence
/// advances on its pieces' occurrences in order of their ends, and starts
/// at its first piece's earliest end. Whole atoms and triggers take any
/// occurrence in any order.
fn by_end(roles: &[Vec<Role>], pieces: &[PieceLit]) -> Vec<bool> {
    roles
        .iter()
        .map(|rs| {
            rs.iter().any(|r| match *r {
                Role::Piece(pid) => {
                    pieces[pid as usize].uses.iter().any(|u| matches!(u, Use::Seq { .. }))
                }
                Role::Trigger(_) | Role::Partner => false,
            })
        })
        .collect()
}

/// The patterns in their final order: the automaton's, then the one-byte
/// table's.
struct Layout {
    /// The automaton's patterns; their ids index `roles` directly.
    automaton: Vec<Vec<u8>>,
    /// The table: (the byte, the pattern id).
    bytes: Vec<(u8, usize)>,
    roles: Vec<Vec<Role>>,
    once_per_line: Vec<bool>,
}

/// Puts the automaton's patterns first and the table's after them, so that
/// a pattern id reported by the automaton indexes `roles` without a
/// translation table.
fn automaton_first(patterns: Patterns, once_per_line: &[bool], in_table: &[bool]) -> Layout {
    let Patterns { bytes: mut patterns, mut roles, .. } = patterns;
    let (mut once_per_line, mut in_table) = (once_per_line.to_vec(), in_table.to_vec());
    if in_table.iter().all(|&t| t) {
        // No pattern for the automaton (none at all, or only one-byte
        // ones): it looks for NEVER, under an id of its own with no role,
        // so that a line holding those bytes reports nothing.
        patterns.push(NEVER.to_vec());
        roles.push(Vec::new());
        once_per_line.push(false);
        in_table.push(false);
    }
    let (mut order, table): (Vec<usize>, Vec<usize>) =
        (0..patterns.len()).partition(|&p| !in_table[p]);
    let automaton_patterns = order.len();
    order.extend(table);
    let bytes = order[automaton_patterns..]
        .iter()
        .enumerate()
        .map(|(i, &p)| (patterns[p][0], automaton_patterns + i))
        .collect();
    let roles = order.iter().map(|&p| std::mem::take(&mut roles[p])).collect();
    let once_per_line = order.iter().map(|&p| once_per_line[p]).collect();
    let automaton =
        order[..automaton_patterns].iter().map(|&p| std::mem::take(&mut patterns[p])).collect();
    Layout { automaton, bytes, roles, once_per_line }
}

/// The scanner of `patterns` (see [`LiteralScanner`]), or `None` when it
/// cannot be built or would exceed `size_limit` bytes. An automaton has
/// standard semantics (the scan wants every occurrence of every pattern)
/// and no prefilter: the scan walks the states itself (see
/// [`LineMatcher`]'s `ac`).
fn build_automaton(
    patterns: Vec<Vec<u8>>,
    size_limit: usize,
    scanner: LiteralScanner,
) -> Option<Walker> {
    let small = patterns.iter().map(Vec::len).sum::<usize>() <= DFA_MAX_PATTERN_BYTES;
    if scanner == LiteralScanner::Grams || (scanner == LiteralScanner::Auto && !small) {
        let grams = GramScanner::new(&patterns);
        return (grams.memory_usage() <= size_limit).then_some(Walker::Grams(grams));
    }
    if small {
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&patterns)
            .ok()
            .filter(|ac| ac.memory_usage() <= size_limit);
        if let Some(dfa) = dfa {
            return Some(Walker::Dfa(dfa));
        }
    }
    let ac = NFA::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .prefilter(false)
        .build(&patterns)
        .ok()?;
    (ac.memory_usage() <= size_limit).then_some(Walker::Nfa(ac))
}

impl LineMatcher {
    /// Builds the matcher for the atoms `a` with `scanned[a]`; the others
    /// are never reported. `None` when the automaton would exceed
    /// `size_limit` bytes or cannot be built.
    pub(crate) fn new(
        atoms: &[Atom],
        scanned: &[bool],
        size_limit: usize,
        scanner: LiteralScanner,
    ) -> Option<LineMatcher> {
        let mut b = Builder::default();
        for (i, atom) in atoms.iter().enumerate().filter(|&(i, _)| scanned[i]) {
            let id = AtomId(i as u32);
            match spelled_plan(atom) {
                Some((plan, spelled)) => b.add_plain(id, atom, plan, spelled),
                None => b.add_complex(id, atom),
            }
        }
        b.patterns.add_partners();
        let once_per_line = once_per_line(&b.patterns.roles, &b.pieces, &b.seqs);
        let in_table = in_byte_table(&b.patterns, &once_per_line, &b.pieces);
        let layout = automaton_first(b.patterns, &once_per_line, &in_table);
        let longest_pattern = layout.automaton.iter().map(Vec::len).max().unwrap_or(0);
        let by_end = by_end(&layout.roles, &b.pieces);
        let mut automaton = layout.automaton;
        let has_partners =
            layout.roles.iter().any(|rs| rs.iter().any(|r| matches!(r, Role::Partner)));
        if scanner == LiteralScanner::Grams
            || (scanner == LiteralScanner::Auto
                && automaton.iter().map(Vec::len).sum::<usize>() > DFA_MAX_PATTERN_BYTES)
        {
            // Grams read partners through the line's copy (see
            // `walk_grams`), never as patterns: NEVER stands in for them.
            for (p, roles) in automaton.iter_mut().zip(&layout.roles) {
                if roles.iter().any(|r| matches!(r, Role::Partner)) {
                    *p = NEVER.to_vec();
                }
            }
        }
        let ac = build_automaton(automaton, size_limit, scanner)?;
        Some(LineMatcher {
            ac,
            has_partners,
            by_end,
            longest_pattern,
            roles: layout.roles,
            once_per_line: layout.once_per_line,
            bytes: layout.bytes,
            pieces: b.pieces,
            seqs: b.seqs,
            complex: b.complex,
            untriggered: b.untriggered,
        })
    }

    /// Number of literal patterns looked for: the automaton's and the
    /// one-byte table's.
    pub(crate) fn patterns(&self) -> usize {
        self.roles.len()
    }

    /// Scanned complex atoms: (all, the untriggered ones, checked on every
    /// line).
    pub(crate) fn complex_atoms(&self) -> (usize, usize) {
        (self.complex.len(), self.untriggered.len())
    }

    /// Fresh per-line state.
    pub(crate) fn state(&self) -> LineState {
        LineState {
            progress: vec![(0, 0); self.seqs.len()],
            handled: vec![0; self.roles.len()],
            line: 0,
            touched: Vec::new(),
            triggered: Vec::new(),
            is_triggered: vec![false; self.complex.len()],
            letters: LetterLine::default(),
            by_end: Vec::new(),
        }
    }

    /// Scans one line, calling `seen(atom)` for each atom that occurs (an
    /// atom may be reported more than once); `seen` returns true to stop.
    ///
    /// Complex atoms are checked with their own `regexes` at the end of the
    /// line, or, when `deferred` is given, deferred: appended to it instead.
    /// Those are the complex atoms that *may* occur (a trigger occurred, or
    /// they are untriggered, and the line is long enough); every other
    /// complex atom is false on the line. The caller then runs the regex
    /// only if it needs the answer.
    pub(crate) fn scan(
        &self,
        line: &[u8],
        st: &mut LineState,
        regexes: &AtomRegexes,
        seen: &mut dyn FnMut(AtomId) -> bool,
        deferred: Option<&mut Vec<AtomId>>,
    ) {
        self.scan_inner(line, st, regexes, seen, deferred);
        for s in st.touched.drain(..) {
            st.progress[s as usize] = (0, 0);
        }
        for c in st.triggered.drain(..) {
            st.is_triggered[c as usize] = false;
        }
    }

    /// Handles one occurrence `s..e` of `pattern` (offsets in `line`);
    /// `Some` ends the walk.
    fn handle(
        &self,
        pattern: usize,
        s: usize,
        e: usize,
        line: &[u8],
        st: &mut LineState,
        seen: &mut dyn FnMut(AtomId) -> bool,
    ) -> Option<Walk> {
        for &role in &self.roles[pattern] {
            match role {
                Role::Piece(pid) => {
                    let piece = &self.pieces[pid as usize];
                    if piece.exact && line[s..e] != piece.bytes[..] {
                        continue;
                    }
                    for &u in &piece.uses {
                        match u {
                            Use::Atom(a) => {
                                if seen(a) {
                                    return Some(Walk::Stopped);
                                }
                            }
                            Use::Seq { seq, k } => {
                                let (next, from) = st.progress[seq as usize];
                                let q = &self.seqs[seq as usize];
                                if next != k
                                    || s < from
                                    || (k == 0 && s < q.lead as usize)
                                    || (k + 1 == q.len && line.len() - e < q.trail as usize)
                                {
                                    continue;
                                }
                                if next == 0 {
                                    st.touched.push(seq);
                                }
                                st.progress[seq as usize] = (k + 1, e);
                                if k + 1 == q.len && seen(q.atom) {
                                    return Some(Walk::Stopped);
                                }
                            }
                        }
                    }
                }
                Role::Trigger(c) => {
                    if !st.is_triggered[c as usize] {
                        st.is_triggered[c as usize] = true;
                        st.triggered.push(c);
                    }
                }
                Role::Partner => return Some(Walk::Partner(s)),
            }
        }
        None
    }

    /// Walks the automaton from state `sid` over `bytes`, handling each
    /// occurrence of a pattern; `span(end, len)` gives the line offsets of
    /// an occurrence of `len` bytes ending at offset `end` of `bytes`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn walk<A: Automaton>(
        &self,
        ac: &A,
        mut sid: StateID,
        bytes: &[u8],
        line: &[u8],
        st: &mut LineState,
        seen: &mut dyn FnMut(AtomId) -> bool,
        span: impl Fn(usize, usize) -> (usize, usize),
    ) -> Walk {
        for (i, &byte) in bytes.iter().enumerate() {
            sid = ac.next_state(Anchored::No, sid, byte);
            if !ac.is_match(sid) {
                continue;
            }
            for k in 0..ac.match_len(sid) {
                let pattern_id = ac.match_pattern(sid, k);
                let pattern = pattern_id.as_usize();
                if self.once_per_line[pattern] {
                    if st.handled[pattern] == st.line {
                        continue;
                    }
                    st.handled[pattern] = st.line;
                }
                let (s, e) = span(i + 1, ac.pattern_len(pattern_id));
                if let Some(walk) = self.handle(pattern, s, e, line, st, seen) {
                    return walk;
                }
            }
        }
        Walk::Done
    }

    /// Walks the automaton `ac` over `line`.
    fn walk_automaton<A: Automaton>(
        &self,
        ac: &A,
        line: &[u8],
        st: &mut LineState,
        seen: &mut dyn FnMut(AtomId) -> bool,
    ) -> Walk {
        let start = ac.start_state(Anchored::No).expect("unanchored searches are supported");
        match self.walk(ac, start, line, line, st, seen, |e, len| (e - len, e)) {
            Walk::Partner(at) => {
                // From the partner on, read the line with partners as
                // letters, starting from the state the automaton has there
                // (its longest pattern's worth of bytes before decides it).
                // Occurrences ending before the partner were handled.
                let mut sid = start;
                for &byte in &line[at.saturating_sub(self.longest_pattern)..at] {
                    sid = ac.next_state(Anchored::No, sid, byte);
                }
                let mut letters = std::mem::take(&mut st.letters);
                letters.fill(line, at, false);
                let walk = self.walk(ac, sid, letters.bytes(), line, st, seen, |e, len| {
                    let s = if len <= e { letters.line_offset(e - len) } else { at - (len - e) };
                    (s, letters.line_offset(e))
                });
                st.letters = letters;
                walk
            }
            walk => walk,
        }
    }

    /// Finds the patterns of `line` with `grams`. A line holding a partner
    /// of an ASCII letter that patterns stand for is read as its copy with
    /// partners as letters, from its start.
    fn walk_grams(
        &self,
        grams: &GramScanner,
        line: &[u8],
        st: &mut LineState,
        seen: &mut dyn FnMut(AtomId) -> bool,
    ) -> Walk {
        if self.has_partners && next_partner(line, 0).is_some() {
            let mut letters = std::mem::take(&mut st.letters);
            letters.fill(line, 0, false);
            let walk = self.walk_grams_over(grams, letters.bytes(), line, st, seen, |s, e| {
                (letters.line_offset(s), letters.line_offset(e))
            });
            st.letters = letters;
            return walk;
        }
        self.walk_grams_over(grams, line, line, st, seen, |s, e| (s, e))
    }

    /// Handles each occurrence of a pattern in `bytes` (the line, or its
    /// copy with partners as letters; `span` maps an occurrence's offsets
    /// in `bytes` to the line's): occurrences of sequence pieces in order
    /// of their ends, after all others.
    fn walk_grams_over(
        &self,
        grams: &GramScanner,
        bytes: &[u8],
        line: &[u8],
        st: &mut LineState,
        seen: &mut dyn FnMut(AtomId) -> bool,
        span: impl Fn(usize, usize) -> (usize, usize),
    ) -> Walk {
        let mut by_end = std::mem::take(&mut st.by_end);
        by_end.clear();
        let mut visit = GramVisit { matcher: self, line, st, seen, span, by_end };
        let mut flow = grams.for_each_occurrence(bytes, &mut visit);
        let mut by_end = std::mem::take(&mut visit.by_end);
        if flow.is_continue() {
            by_end.sort_unstable();
            flow = by_end.iter().try_for_each(|&(e, pattern, s)| visit.take(pattern, s, e));
        }
        visit.st.by_end = by_end;
        if flow.is_break() {
            Walk::Stopped
        } else {
            Walk::Done
        }
    }

    fn scan_inner(
        &self,
        line: &[u8],
        st: &mut LineState,
        regexes: &AtomRegexes,
        seen: &mut dyn FnMut(AtomId) -> bool,
        deferred: Option<&mut Vec<AtomId>>,
    ) {
        st.line = st.line.wrapping_add(1);
        if st.line == 0 {
            st.handled.fill(0);
            st.line = 1;
        }
        if !self.bytes.is_empty() {
            let mut first = [u32::MAX; 256];
            for (i, &b) in line.iter().enumerate().rev() {
                first[usize::from(b)] = i as u32;
            }
            for &(b, pattern) in &self.bytes {
                let at = first[usize::from(b.to_ascii_lowercase())]
                    .min(first[usize::from(b.to_ascii_uppercase())]);
                if at != u32::MAX {
                    let s = at as usize;
                    if let Some(Walk::Stopped) = self.handle(pattern, s, s + 1, line, st, seen) {
                        return;
                    }
                }
            }
        }
        let walk = match &self.ac {
            Walker::Dfa(ac) => self.walk_automaton(ac, line, st, seen),
            Walker::Nfa(ac) => self.walk_automaton(ac, line, st, seen),
            Walker::Grams(grams) => self.walk_grams(grams, line, st, seen),
        };
        if let Walk::Stopped = walk {
            return;
        }
        if let Some(deferred) = deferred {
            for &c in st.triggered.iter().chain(&self.untriggered) {
                let cx = &self.complex[c as usize];
                if line.len() >= cx.min_len {
                    deferred.push(cx.atom);
                }
            }
            return;
        }
        let triggered = std::mem::take(&mut st.triggered);
        for &c in triggered.iter().chain(&self.untriggered) {
            let cx = &self.complex[c as usize];
            if line.len() >= cx.min_len
                && regexes.regex(cx.atom.index()).is_match(line)
                && seen(cx.atom)
            {
                st.triggered = triggered;
                return;
            }
        }
        st.triggered = triggered;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::Formula;

    /// Which rules (one per atom) the program selects `line` with.
    fn attributed(atoms: &[Atom], line: &[u8]) -> Vec<u32> {
        attributed_with(atoms, line, LiteralScanner::Auto)
    }

    fn attributed_with(atoms: &[Atom], line: &[u8], scanner: LiteralScanner) -> Vec<u32> {
        let rules: Vec<Formula> =
            (0..atoms.len()).map(|i| Formula::atom(AtomId(i as u32))).collect();
        let config = crate::compile::Config { scanner, ..crate::compile::Config::default() };
        let program = crate::compile::Program::new(atoms, &rules, &config).unwrap();
        assert!(program.uses_automaton());
        let mut cache = program.create_cache();
        let mut out = Vec::new();
        program.matching_rules(&mut cache, line, &mut out);
        out
    }

    fn text(pieces: Vec<Piece>, fold: bool) -> Atom {
        Atom::text(pieces, fold).unwrap()
    }

    #[test]
    fn a_cased_piece_is_not_the_folded_piece_of_the_same_bytes() {
        // Folded, LONG S is also spelled `s`; cased, it is not.
        let long_s = "\u{17F}".as_bytes().to_vec();
        let atoms =
            [text(vec![Piece::Lit(long_s.clone())], true), text(vec![Piece::Lit(long_s)], false)];
        assert_eq!(attributed(&atoms, b"s"), vec![0]);
        assert_eq!(attributed(&atoms, "\u{17F}".as_bytes()), vec![0, 1]);
    }

    #[test]
    fn a_sequence_starts_at_the_earliest_spelling_of_its_first_piece() {
        // KELVIN SIGN * b: the first piece is spelled KELVIN SIGN and `k`;
        // on "KELVIN b k" it starts at the KELVIN SIGN, before the `b`.
        let atoms = [text(
            vec![
                Piece::Lit("\u{212A}".as_bytes().to_vec()),
                Piece::AnyRun,
                Piece::Lit(b"B".to_vec()),
            ],
            true,
        )];
        assert_eq!(attributed(&atoms, "\u{212A}bk".as_bytes()), vec![0]);
        assert_eq!(attributed(&atoms, "b\u{212A}k".as_bytes()), Vec::<u32>::new());
    }

    #[test]
    fn one_byte_pieces_in_the_table_start_sequences_and_decide_atoms() {
        let atoms = [
            text(vec![Piece::Lit(b"d".to_vec()), Piece::AnyRun, Piece::Lit(b"xy".to_vec())], true),
            text(vec![Piece::Lit(b"1".to_vec())], true),
            text(vec![Piece::Lit(b"D".to_vec()), Piece::AnyChar, Piece::AnyChar], true),
        ];
        assert_eq!(attributed(&atoms, b"a D 1 xy"), vec![0, 1, 2]);
        assert_eq!(attributed(&atoms, b"xy d"), Vec::<u32>::new());
        assert_eq!(attributed(&atoms, b"xy 1d?"), vec![1], "one byte after d, two wanted");
        assert_eq!(attributed(&atoms, b"xy 1d?!"), vec![1, 2]);
    }

    #[test]
    fn with_grams_the_placeholder_of_partners_in_a_line_means_nothing() {
        // `k` makes KELVIN SIGN a pattern; grams look for the placeholder
        // in its stead, and a line holding it must not end the scan.
        let atoms = [
            text(vec![Piece::Lit(b"kelvin".to_vec())], true),
            text(vec![Piece::Lit(b"after".to_vec())], true),
        ];
        let mut line = NEVER.to_vec();
        line.extend_from_slice(b" kelvin after");
        for scanner in [LiteralScanner::Auto, LiteralScanner::Grams, LiteralScanner::Automaton] {
            assert_eq!(attributed_with(&atoms, &line, scanner), vec![0, 1], "{scanner:?}");
            assert_eq!(
                attributed_with(&atoms, "\u{212A}elvin after".as_bytes(), scanner),
                vec![0, 1],
                "{scanner:?}"
            );
        }
    }
}
