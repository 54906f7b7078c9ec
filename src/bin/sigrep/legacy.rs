//! The legacy commands: `--emit-pcre`.

use std::io::Write;

use crate::args::Args;
use crate::rules::read_rule;
use crate::Failure;

/// `--emit-pcre RULE`: sigmac's regexes, one per rule document, or
/// sigmac's reason for failing (exit 2).
pub fn emit_pcre(args: &Args) -> Result<u8, Failure> {
    let Some(rule) = args.operands.first() else {
        return Err(Failure::Message("no rule given (usage: sigrep --emit-pcre RULE)".into()));
    };
    if args.operands.len() > 1 {
        return Err(Failure::Message("--emit-pcre takes one RULE and no FILE".into()));
    }
    let source = rule.display().to_string();
    let text = read_rule(rule).map_err(Failure::Message)?;
    let queries = sigrep::legacy::convert(&text)
        .map_err(|e| Failure::Message(e.into_error().with_source(&source)))?;
    let mut out = Vec::new();
    for q in &queries {
        out.extend_from_slice(q.regex.as_bytes());
        out.push(b'\n');
    }
    std::io::stdout().lock().write_all(&out)?;
    Ok(0)
}
