//! The integration tests: one binary, modules by topic.

#[macro_use]
mod util;

mod cli;
mod engine;
mod evtx;
mod fuzz_regressions;
mod hostile;
mod jsonesc;
mod legacy;
mod multi;
mod progress;
mod range;
mod runtime;
mod sigma;
mod sigmahq;
mod vectors;
mod zip;
