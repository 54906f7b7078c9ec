//! The one scheduler of the runtime: jobs run on worker threads, their
//! output is written in the order the jobs were handed out.
//!
//! Inputs searched in parallel and the parts of one large file split
//! across threads are both scheduled here (see [`in_order`]).
//!
//! # Contract
//! * Output is byte-identical to running the jobs one after another on one
//!   thread: each job prints into its own buffer from a fresh
//!   [`PrintState`], and the buffers are appended in job order with
//!   [`PrintState::append`], which writes the `--` that a single run would
//!   have written between them.
//! * With one thread no thread is started and each job prints straight to
//!   the output, with the output's own state: nothing is buffered, so
//!   `--line-buffered` and a reader that closes the pipe act at once.
//! * Memory is bounded: a worker takes a new job only while fewer than
//!   [`AHEAD_PER_THREAD`] jobs per thread wait, done or running, for the
//!   jobs before them to be written.
//! * When `consume` says stop (or fails), no new job is handed out, and
//!   the jobs running finish without being written.
//! * A poisoned lock (a worker panicked) is taken over as it is: the
//!   dispatcher's state is a few counters that stay consistent, and the
//!   panic itself reaches the caller when the thread scope ends.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::printer::PrintState;

/// Jobs per thread that may wait, done or running, to be written.
pub(crate) const AHEAD_PER_THREAD: usize = 4;

/// Where jobs print: the output and its state across jobs.
pub(crate) struct Output<'o> {
    /// The writer.
    pub out: &'o mut dyn Write,
    /// What was printed so far (for the `--` between groups).
    pub state: &'o mut PrintState,
    /// Whether separators are coloured.
    pub color: bool,
}

/// The dispatcher's state, under its lock.
struct Dispatch<J> {
    /// Hands out the next job.
    next: J,
    /// Jobs handed out so far.
    handed: usize,
    /// Jobs written so far.
    written: usize,
    /// Set when `consume` stopped the run.
    stop: bool,
}

/// Calls its function when dropped during a panic.
struct StopOnPanic<'f, F: Fn()>(&'f F);

impl<F: Fn()> Drop for StopOnPanic<'_, F> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            (self.0)();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `work` on every job that `next` hands out, on `threads` threads,
/// and hands each result to `consume` in the order of the jobs, after the
/// job's output was written to `output` (see the module docs).
///
/// `next` is called under a lock, one call at a time, in job order: it may
/// keep running state (the next part's first line number).
///
/// # Errors
/// Write errors, and the errors `consume` returns; either stops the run.
pub(crate) fn in_order<J, R, N, W, C>(
    threads: usize,
    output: &mut Output<'_>,
    next: N,
    work: W,
    mut consume: C,
) -> io::Result<()>
where
    J: Send,
    R: Send,
    N: FnMut() -> Option<J> + Send,
    W: Fn(J, &mut dyn Write, &mut PrintState) -> R + Sync,
    C: FnMut(R, &mut Output<'_>) -> io::Result<ControlFlow<()>>,
{
    let mut next = next;
    if threads > 1 {
        return on_threads(threads, output, &mut next, &work, &mut consume);
    }
    while let Some(job) = next() {
        let result = work(job, output.out, output.state);
        if consume(result, output)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// The job hand-out of [`in_order`].
type Next<'f, J> = dyn FnMut() -> Option<J> + Send + 'f;
/// A job's work.
type Work<'f, J, R> = dyn Fn(J, &mut dyn Write, &mut PrintState) -> R + Sync + 'f;
/// What is done with each result, in job order.
type Consume<'f, R> = dyn FnMut(R, &mut Output<'_>) -> io::Result<ControlFlow<()>> + 'f;

/// [`in_order`] with worker threads (called once per input or run: the
/// closures are taken as trait objects).
fn on_threads<J: Send, R: Send>(
    threads: usize,
    output: &mut Output<'_>,
    next: &mut Next<'_, J>,
    work: &Work<'_, J, R>,
    consume: &mut Consume<'_, R>,
) -> io::Result<()> {
    let dispatch = Mutex::new(Dispatch { next, handed: 0, written: 0, stop: false });
    let turn = Condvar::new();
    let bound = AHEAD_PER_THREAD * threads;
    // The next job and its index, once fewer than `bound` jobs wait.
    let take = || -> Option<(usize, J)> {
        let mut d = lock(&dispatch);
        while !d.stop && d.handed - d.written >= bound {
            d = turn.wait(d).unwrap_or_else(PoisonError::into_inner);
        }
        if d.stop {
            return None;
        }
        let job = (d.next)()?;
        d.handed += 1;
        Some((d.handed - 1, job))
    };
    let stop = || {
        lock(&dispatch).stop = true;
        turn.notify_all();
    };
    let (done, results) = std::sync::mpsc::channel::<(usize, R, Vec<u8>, PrintState)>();
    std::thread::scope(|scope| -> io::Result<()> {
        for _ in 0..threads {
            let done = done.clone();
            let (take, work) = (&take, &work);
            let stop = &stop;
            scope.spawn(move || {
                // A worker that panics stops the run: the jobs after its
                // own would wait for it forever.
                let _guard = StopOnPanic(stop);
                while let Some((index, job)) = take() {
                    let mut buf = Vec::new();
                    let mut state = PrintState::default();
                    let result = work(job, &mut buf, &mut state);
                    if done.send((index, result, buf, state)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done);
        let mut waiting = BTreeMap::new();
        let mut written = 0;
        for (index, result, buf, state) in results.iter() {
            waiting.insert(index, (result, buf, state));
            while let Some((result, buf, state)) = waiting.remove(&written) {
                let flow = output
                    .state
                    .append(&state, &buf, output.color, output.out)
                    .and_then(|()| consume(result, output));
                match flow {
                    Ok(ControlFlow::Continue(())) => {}
                    Ok(ControlFlow::Break(())) => {
                        stop();
                        return Ok(());
                    }
                    Err(e) => {
                        stop();
                        return Err(e);
                    }
                }
                written += 1;
                lock(&dispatch).written = written;
                turn.notify_all();
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jobs `0..n`, each printing its number on a line: every thread count
    /// writes them in order, and a stop after job `k` writes `0..=k`.
    #[test]
    fn output_in_job_order_whatever_the_threads() {
        for threads in [1, 2, 3, 8] {
            for stop_after in [None, Some(0), Some(17)] {
                let mut out = Vec::new();
                let mut state = PrintState::default();
                let mut output = Output { out: &mut out, state: &mut state, color: false };
                let mut counter = 0..40u32;
                let mut seen = Vec::new();
                in_order(
                    threads,
                    &mut output,
                    move || counter.next(),
                    |job, out: &mut dyn Write, _: &mut PrintState| {
                        // Later jobs finish first.
                        std::thread::sleep(std::time::Duration::from_micros(u64::from(40 - job)));
                        writeln!(out, "{job}").map(|()| job)
                    },
                    |result, _| {
                        let job = result?;
                        seen.push(job);
                        Ok(if Some(job) == stop_after {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        })
                    },
                )
                .unwrap();
                let last = stop_after.unwrap_or(39);
                let want: String = (0..=last).map(|i| format!("{i}\n")).collect();
                assert_eq!(String::from_utf8(out).unwrap(), want, "threads {threads}");
                assert_eq!(seen, (0..=last).collect::<Vec<_>>());
            }
        }
    }

    /// Separators are owed between jobs that both printed a group, as one
    /// state printing them in turn would write them.
    #[test]
    fn separators_between_jobs() {
        let mut out = Vec::new();
        let mut state = PrintState::default();
        let mut output = Output { out: &mut out, state: &mut state, color: false };
        let groups = [false, true, false, true, true];
        let mut jobs = groups.iter().copied().enumerate();
        in_order(
            2,
            &mut output,
            move || jobs.next(),
            |(i, group), out: &mut dyn Write, state: &mut PrintState| {
                if group {
                    if state.printed_group {
                        out.write_all(b"--\n").unwrap();
                    }
                    state.printed_group = true;
                    writeln!(out, "{i}").unwrap();
                }
            },
            |(), _| Ok(ControlFlow::Continue(())),
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "1\n--\n3\n--\n4\n");
    }
}
