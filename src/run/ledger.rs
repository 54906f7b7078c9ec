//! Line numbers of the parts of a file split across threads, counted by
//! the parts themselves, in parallel.
//!
//! A part's first line number is one plus the newlines of every part
//! before it. Counting them in the dispatcher, part by part as they are
//! handed out, put the whole file's count on one thread at a time (with
//! `-j2 -n` the search took 1.4 times as long as with `-c`). Instead each
//! part counts its own newlines first thing, publishes the count here, and
//! then waits for its first line number: the sum of the counts of the
//! parts before it.
//!
//! # Why waiting ends
//! Parts are handed out in order, so the parts before part `k` were all
//! handed out before it, and each publishes its count before it does
//! anything that could wait (counting reads memory and cannot block; a
//! mapped file truncated meanwhile reads as zeros, see
//! [`crate::search::mmap`]). With one thread the parts run one after
//! another and never wait.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// The newline counts published by the parts, summed in part order.
#[derive(Debug)]
pub(crate) struct Ledger {
    state: Mutex<Sums>,
    summed: Condvar,
}

#[derive(Debug)]
struct Sums {
    /// Counts published by parts whose predecessors are not all summed.
    waiting: BTreeMap<usize, u64>,
    /// Parts `0..done` are summed...
    done: usize,
    /// ...and part `done` starts at this line.
    next_line: u64,
    /// First line numbers found and not yet taken, by part.
    first_lines: BTreeMap<usize, u64>,
}

impl Ledger {
    /// A ledger for parts whose first part starts at line `first_line`.
    pub(crate) fn new(first_line: u64) -> Ledger {
        let sums = Sums {
            waiting: BTreeMap::new(),
            done: 0,
            next_line: first_line,
            first_lines: BTreeMap::from([(0, first_line)]),
        };
        Ledger { state: Mutex::new(sums), summed: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, Sums> {
        // The state is a few counters that stay consistent at every step.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Part `part` has `newlines` newlines.
    pub(crate) fn publish(&self, part: usize, newlines: u64) {
        let mut guard = self.lock();
        let sums = &mut *guard;
        sums.waiting.insert(part, newlines);
        let mut found = false;
        while let Some(n) = sums.waiting.remove(&sums.done) {
            sums.done += 1;
            sums.next_line += n;
            sums.first_lines.insert(sums.done, sums.next_line);
            found = true;
        }
        if found {
            self.summed.notify_all();
        }
    }

    /// The number of part `part`'s first line, once every part before it
    /// has published its count (see the module docs). Taken once per part.
    pub(crate) fn first_line(&self, part: usize) -> u64 {
        let mut sums = self.lock();
        loop {
            if let Some(line) = sums.first_lines.remove(&part) {
                return line;
            }
            sums = self.summed.wait(sums).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The line after the last part summed: after every part handed out
    /// has published its count, one plus the first line plus the newlines
    /// of them all.
    pub(crate) fn next_line(&self) -> u64 {
        self.lock().next_line
    }
}

#[cfg(test)]
mod tests {
    use super::Ledger;

    #[test]
    fn parts_published_out_of_order_get_their_first_lines() {
        let ledger = Ledger::new(10);
        ledger.publish(2, 5);
        ledger.publish(1, 3);
        assert_eq!(ledger.first_line(0), 10);
        assert_eq!(ledger.next_line(), 10);
        ledger.publish(0, 4);
        assert_eq!(ledger.first_line(2), 17);
        assert_eq!(ledger.first_line(1), 14);
        assert_eq!(ledger.next_line(), 22);
    }

    #[test]
    fn a_part_waits_for_the_counts_before_it() {
        let ledger = Ledger::new(1);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| ledger.first_line(3));
            for (part, n) in [(1, 20), (0, 10), (2, 30)] {
                std::thread::sleep(std::time::Duration::from_millis(5));
                ledger.publish(part, n);
            }
            assert_eq!(waiter.join().unwrap(), 61);
        });
    }
}
