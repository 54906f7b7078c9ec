//! The integration tests: one binary, modules by topic.

#[macro_use]
mod util;

mod cli;
mod engine;
mod fuzz_regressions;
mod hostile;
mod legacy;
mod multi;
mod sigmahq;
mod vectors;
