//! What a run says about itself: `--explain` (the program) and `--stats`
//! (selected lines per rule), and the per-rule counts they are made of.

use std::io::{self, Write};

use crate::compile::Program;
use crate::lower::Semantics;
use crate::printer::RuleInfo;
use crate::ruleset::RuleSet;

/// Selected lines per rule index, summed over inputs and parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleHits(Vec<u64>);

impl RuleHits {
    /// Adds the counts of one input or part (as long as the rule list, or
    /// empty when rules were not attributed).
    pub fn add(&mut self, hits: &[u64]) {
        if self.0.len() < hits.len() {
            self.0.resize(hits.len(), 0);
        }
        for (total, n) in self.0.iter_mut().zip(hits) {
            *total += n;
        }
    }

    /// The counts by rule index (empty when no rule was attributed).
    pub fn counts(&self) -> &[u64] {
        &self.0
    }
}

/// Writes `--stats`: lines selected per rule, most first, ties in rule
/// order.
///
/// # Errors
/// Write errors.
pub fn write_stats(
    out: &mut dyn Write,
    infos: &[RuleInfo],
    selected: u64,
    semantics: Semantics,
    hits: &RuleHits,
) -> io::Result<()> {
    let mut hit: Vec<(usize, u64)> =
        hits.counts().iter().copied().enumerate().filter(|&(_, n)| n > 0).collect();
    hit.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    writeln!(
        out,
        "sigrep stats: {selected} selected lines; {} of {} rules hit; {} semantics",
        hit.len(),
        infos.len(),
        semantics.name()
    )?;
    for (r, n) in hit {
        writeln!(out, "{n:>10}  {}  {}", infos[r].label, infos[r].title)?;
    }
    Ok(())
}

/// Writes `--explain`: each rule's formula, the atoms, the prefilter's
/// literals and the automaton's size.
///
/// # Errors
/// Write errors.
pub fn explain(out: &mut dyn Write, set: &RuleSet, program: &Program) -> io::Result<()> {
    // In Sigma semantics the formula is the rule's trigger: the scan's
    // necessary condition, confirmed on the line's fields.
    let formula = match set.options().semantics {
        Semantics::Grep => "formula",
        Semantics::Sigma => "trigger",
    };
    for (i, r) in set.rules().iter().enumerate() {
        writeln!(out, "rule {i}: {} (document {})", r.rule.title, r.rule.document)?;
        writeln!(out, "  {formula}: {}", r.formula)?;
    }
    writeln!(out, "atoms: {}", program.atoms().len())?;
    for (i, a) in program.atoms().iter().enumerate() {
        writeln!(out, "  a{i}: {}", a.to_regex())?;
    }
    match program.prefilter() {
        Some(pf) => {
            let literals: Vec<String> = pf
                .literals()
                .iter()
                .map(|l| {
                    format!(
                        "{:?}{}",
                        String::from_utf8_lossy(&l.bytes),
                        if l.ascii_fold { "i" } else { "" }
                    )
                })
                .collect();
            writeln!(out, "prefilter: {}", literals.join(" "))?;
        }
        None => writeln!(out, "prefilter: none (every line is examined)")?,
    }
    match program.automaton_patterns() {
        Some(n) => {
            let (complex, untriggered) = program.complex_atoms();
            let on_demand = program.on_demand_atoms();
            writeln!(
                out,
                "automaton: Aho-Corasick and a one-byte table over {n} literal patterns; {complex} \
                 atoms checked by their own regex ({untriggered} on every line); {on_demand} atoms \
                 checked only when a rule's evaluation needs them"
            )
        }
        None => writeln!(out, "automaton: none (per-atom evaluation)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_sum_over_inputs_of_any_length() {
        let mut hits = RuleHits::default();
        hits.add(&[]);
        hits.add(&[1, 0, 2]);
        hits.add(&[0, 3, 1]);
        assert_eq!(hits.counts(), &[1, 3, 3]);
    }

    #[test]
    fn stats_most_hits_first() {
        let info = |label: &str| RuleInfo {
            label: label.into(),
            title: format!("{label} title"),
            ..RuleInfo::default()
        };
        let infos = [info("a"), info("b"), info("c")];
        let mut hits = RuleHits::default();
        hits.add(&[2, 0, 5]);
        let mut out = Vec::new();
        write_stats(&mut out, &infos, 6, Semantics::Sigma, &hits).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "sigrep stats: 6 selected lines; 2 of 3 rules hit; sigma semantics\n         5  c  c title\n         \
             2  a  a title\n"
        );
    }
}
