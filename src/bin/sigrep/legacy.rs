//! The legacy commands: `--emit-pcre`.

use std::io::Write;

use sigrep::run::{read_rule, Error, ErrorKind};

use crate::args::Args;

/// `--emit-pcre RULE`: sigmac's regexes, one per rule document, or
/// sigmac's reason for failing (exit 2).
pub fn emit_pcre(args: &Args) -> Result<u8, Error> {
    let usage = |message: &str| Error::new(ErrorKind::Usage, message);
    let Some(rule) = args.operands.first() else {
        return Err(usage("no rule given (usage: sigrep --emit-pcre RULE)"));
    };
    if args.operands.len() > 1 {
        return Err(usage("--emit-pcre takes one RULE and no FILE"));
    }
    let text = read_rule(rule)?;
    let queries = sigrep::legacy::convert(&text).map_err(|e| {
        Error::new(ErrorKind::Rule, e.into_error().with_source(&rule.display().to_string()))
    })?;
    let mut out = Vec::new();
    for q in &queries {
        out.extend_from_slice(q.regex.as_bytes());
        out.push(b'\n');
    }
    std::io::stdout().lock().write_all(&out)?;
    Ok(0)
}
