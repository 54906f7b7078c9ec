//! The progress line on stderr for long hunts (`sigrep -f rules/ -r logs >
//! hits.txt`): files and bytes done, rate, time left; cleared at the end.
//!
//! Shown when stderr is a terminal and stdout is not (output goes to a
//! file or a pipe), or, when forced (`--progress`), whenever stderr is a
//! terminal; never when refused (`--no-progress`), never on stdout. No
//! thread of its own: the line is redrawn (at most 20 times a second) when
//! the search reports ([`Progress`]). Output to the same
//! terminal goes through [`Suspending`], messages through
//! [`ProgressLine::suspend`], so that line and output never mix.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Progress;

/// The progress line on stderr, when the terminals call for one: `forced`
/// is `Some(true)` for `--progress`, `Some(false)` for `--no-progress`.
pub fn on_stderr(forced: Option<bool>) -> Option<Arc<ProgressLine>> {
    let wanted = forced != Some(false)
        && io::stderr().is_terminal()
        && (forced == Some(true) || !io::stdout().is_terminal());
    wanted.then(|| {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "sigrep: {msg} files, {bytes}/{total_bytes} ({binary_bytes_per_sec}, {eta} left)",
            )
            .expect("a valid template"),
        );
        Arc::new(ProgressLine { bar, inputs: AtomicU64::new(0), inputs_done: AtomicU64::new(0) })
    })
}

/// An indicatif line fed by the runtime.
#[derive(Debug)]
pub struct ProgressLine {
    bar: ProgressBar,
    inputs: AtomicU64,
    inputs_done: AtomicU64,
}

impl ProgressLine {
    /// Runs `f` (which writes to stderr) with the line hidden.
    pub fn suspend(&self, f: impl FnOnce()) {
        self.bar.suspend(f);
    }

    fn show_inputs(&self) {
        let done = self.inputs_done.load(Ordering::Relaxed);
        self.bar.set_message(format!("{done}/{}", self.inputs.load(Ordering::Relaxed)));
    }
}

/// A writer to the terminal that also shows the progress line: each write
/// is made with the line hidden, so output and line never mix.
pub struct Suspending<W> {
    /// Where output goes.
    pub inner: W,
    /// The line to hide.
    pub line: Arc<ProgressLine>,
}

impl<W: Write> Write for Suspending<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let inner = &mut self.inner;
        self.line.bar.suspend(|| inner.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        let inner = &mut self.inner;
        self.line.bar.suspend(|| inner.flush())
    }
}

impl Progress for ProgressLine {
    fn listed(&self, inputs: u64, bytes: u64) {
        self.inputs.fetch_add(inputs, Ordering::Relaxed);
        self.show_inputs();
        self.bar.inc_length(bytes);
    }

    fn advance(&self, inputs: u64, bytes: u64) {
        if inputs > 0 {
            self.inputs_done.fetch_add(inputs, Ordering::Relaxed);
            self.show_inputs();
        }
        self.bar.inc(bytes);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
