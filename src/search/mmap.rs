//! Memory-mapped files that survive being truncated while searched.
//!
//! # The risk
//! A mapped file can shrink under us: log rotation with `copytruncate`
//! copies a log and then truncates it in place while readers may have it
//! mapped. The kernel then removes the pages past the new end from every
//! mapping, and the next read of one of them raises `SIGBUS`, which by
//! default kills the process without a word.
//!
//! # What happens instead
//! Every map is registered in a fixed table of slots (address range,
//! "faulted" flag, a message naming the file) before it is handed out, and
//! a `SIGBUS` handler is installed once, before the first map. When a read
//! faults inside a registered range, the handler replaces the rest of that
//! mapping, from the faulting page on, with zero-filled anonymous pages
//! (`mmap(MAP_FIXED)`, a plain system call), sets the slot's flag and
//! returns: the read is retried and sees zeros. The process goes on; the
//! other files are searched.
//!
//! Zeros are not the file's content, so nothing read after the fault may
//! reach the output. [`MappedFile::check`] reports the fault as an error
//! naming the file; the searcher copies each line it reports out of the
//! map *before* checking, so a line is printed only if its bytes were read
//! while the map was still whole (see `search::CheckedSink`), and checks
//! once more when the input is done. The binary prints
//! `sigrep: FILE: file shrank while being searched ...` and exits 2.
//!
//! Should the handler fail to replace the pages (the system is out of
//! memory), it writes the same message and ends the process with status 2
//! (`_exit`). A `SIGBUS` outside any registered map is not ours: the
//! handler says so, restores the default action and lets the signal kill
//! the process as it would have.
//!
//! When every slot is taken, or the handler cannot be installed, files are
//! read instead of mapped: never an unguarded map.
//!
//! # Signal safety
//! The handler only loads and stores atomics, and calls `mmap`, `write`,
//! `sigaction`, `raise` and `_exit`, all plain system calls. It allocates
//! nothing and takes no lock. A slot is published with a sequence counter
//! (odd while it is written), so the handler never believes a half-written
//! range of another slot; the faulting map's own slot cannot change while
//! the fault is handled, since it is only released when the map is dropped,
//! after every read of it.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::sync::atomic::{fence, AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

use memmap2::Mmap;

/// How many maps may be registered at once; more are read instead.
const SLOTS: usize = 64;

/// Bytes of the per-slot message written if the handler must give up.
const MESSAGE_MAX: usize = 512;

/// What the binary prints after the file name when a map faulted.
pub const SHRANK_MESSAGE: &str =
    "file shrank while being searched (truncated by another process?); \
     search it again or use --no-mmap";

/// One registered map.
struct Slot {
    /// Taken by a live [`MappedFile`].
    taken: AtomicBool,
    /// Sequence counter: odd while `start`, `len` and the message are
    /// being written.
    seq: AtomicUsize,
    /// Start address of the mapping (page aligned).
    start: AtomicUsize,
    /// Length of the mapping in bytes (0 when free).
    len: AtomicUsize,
    /// A read of the mapping faulted; its tail now reads as zeros.
    faulted: AtomicBool,
    /// `sigrep: FILE: file shrank ...\n`, for the handler's last resort.
    message: [AtomicU8; MESSAGE_MAX],
    message_len: AtomicUsize,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            taken: AtomicBool::new(false),
            seq: AtomicUsize::new(0),
            start: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            faulted: AtomicBool::new(false),
            message: [const { AtomicU8::new(0) }; MESSAGE_MAX],
            message_len: AtomicUsize::new(0),
        }
    }

    /// The slot's range, if it was stable while read.
    fn range(&self) -> Option<(usize, usize)> {
        let before = self.seq.load(Ordering::Acquire);
        if before % 2 == 1 {
            return None;
        }
        let start = self.start.load(Ordering::Relaxed);
        let len = self.len.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (self.seq.load(Ordering::Relaxed) == before).then_some((start, len))
    }

    /// Writes the slot's fields under the sequence counter.
    fn publish(&self, start: usize, len: usize, message: &[u8]) {
        self.seq.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.start.store(start, Ordering::Relaxed);
        self.len.store(len, Ordering::Relaxed);
        self.faulted.store(false, Ordering::Relaxed);
        let n = message.len().min(MESSAGE_MAX);
        for (cell, &b) in self.message.iter().zip(&message[..n]) {
            cell.store(b, Ordering::Relaxed);
        }
        self.message_len.store(n, Ordering::Relaxed);
        self.seq.fetch_add(1, Ordering::Release);
    }
}

static REGISTRY: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];

/// The system's page size, read when the handler is installed.
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);

/// A read-only map of a whole file, registered with the `SIGBUS` handler.
pub struct MappedFile {
    map: Mmap,
    slot: &'static Slot,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MappedFile({} bytes)", self.map.len())
    }
}

impl MappedFile {
    /// Maps `file` (shown as `name` in messages). `Ok(None)` when it
    /// cannot be guarded (no free slot, no handler): read it instead.
    ///
    /// # Errors
    /// The system refused the map.
    pub(crate) fn map(file: &File, name: &str) -> io::Result<Option<MappedFile>> {
        if !handler_installed() {
            return Ok(None);
        }
        let Some(slot) = REGISTRY.iter().find(|s| {
            s.taken.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
        }) else {
            return Ok(None);
        };
        // SAFETY: the map is read-only and private to this process, and
        // all we do is read it. The real risk is another process changing
        // the file while we read it: a rewrite shows us mixed bytes, as
        // read(2) could; a truncation (copytruncate log rotation) makes
        // reads of the vanished pages raise SIGBUS. The handler installed
        // above turns those pages into zeros and flags this slot, which is
        // registered before any byte of the map is read; `check` and the
        // searcher keep bytes read after a fault out of the output.
        let map = match unsafe { Mmap::map(file) } {
            Ok(map) => map,
            Err(e) => {
                slot.taken.store(false, Ordering::Release);
                return Err(e);
            }
        };
        let message = format!("sigrep: {name}: {SHRANK_MESSAGE}\n");
        slot.publish(map.as_ptr() as usize, map.len(), message.as_bytes());
        Ok(Some(MappedFile { map, slot }))
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// True once a read of this map faulted: the file shrank, and the
    /// bytes past the fault read as zeros.
    pub fn shrank(&self) -> bool {
        self.slot.faulted.load(Ordering::Acquire)
    }

    /// Fails when the file shrank while mapped (see the module doc).
    ///
    /// # Errors
    /// The map faulted; the message is [`SHRANK_MESSAGE`].
    pub fn check(&self) -> io::Result<()> {
        if self.shrank() {
            Err(io::Error::other(SHRANK_MESSAGE))
        } else {
            Ok(())
        }
    }
}

impl Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        // Released before the field `map` is unmapped; no read of the map
        // can happen from here on.
        self.slot.publish(0, 0, b"");
        self.slot.taken.store(false, Ordering::Release);
    }
}

/// Installs the `SIGBUS` handler once; false if it could not be.
fn handler_installed() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page > 0 {
            PAGE_SIZE.store(page as usize, Ordering::Relaxed);
        }
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask"
        // value; the handler has the three-argument signature SA_SIGINFO
        // asks for and is async-signal-safe (module doc).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) == 0
        }
    })
}

/// Writes bytes to stderr from the signal handler, ignoring errors.
fn write_stderr(bytes: &[u8]) {
    // SAFETY: write(2) on a valid buffer; async-signal-safe.
    unsafe {
        libc::write(2, bytes.as_ptr().cast(), bytes.len());
    }
}

extern "C" fn on_sigbus(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo with SA_SIGINFO; si_addr
    // is the faulting address for a SIGBUS it raised.
    let (addr, code) = unsafe { ((*info).si_addr() as usize, (*info).si_code) };
    let kernel_fault = code > 0;
    if kernel_fault {
        for slot in &REGISTRY {
            let Some((start, len)) = slot.range() else { continue };
            if addr < start || addr - start >= len {
                continue;
            }
            // Flag first: a thread that reads the zeros below must find
            // the flag set when it checks.
            slot.faulted.store(true, Ordering::SeqCst);
            let page = PAGE_SIZE.load(Ordering::Relaxed);
            let from = addr & !(page - 1);
            let end = (start + len).div_ceil(page) * page;
            // SAFETY: [from, end) lies inside this slot's mapping, which
            // is live (its MappedFile is being read by this very thread)
            // and owned by sigrep alone; replacing it with zero pages
            // changes what later reads see, never what memory is mapped
            // for whom. The mapping is unmapped as a whole when dropped.
            let zeros = unsafe {
                libc::mmap(
                    from as *mut libc::c_void,
                    end - from,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if zeros == libc::MAP_FAILED {
                let mut message = [0u8; MESSAGE_MAX];
                let n = slot.message_len.load(Ordering::Relaxed).min(MESSAGE_MAX);
                for (b, cell) in message.iter_mut().zip(&slot.message[..n]) {
                    *b = cell.load(Ordering::Relaxed);
                }
                write_stderr(&message[..n]);
                // SAFETY: _exit is async-signal-safe; we cannot go on.
                unsafe { libc::_exit(2) };
            }
            return;
        }
    }
    write_stderr(b"sigrep: bus error (SIGBUS) outside any file being searched\n");
    // SAFETY: restoring the default action and raising are
    // async-signal-safe. A hardware fault re-runs the faulting instruction
    // on return and now kills the process; a signal sent by another
    // process is raised again (delivered once this handler returns).
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        if !kernel_fault {
            libc::raise(signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn mapped(contents: &[u8]) -> (tempfile::NamedTempFile, MappedFile) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(contents).unwrap();
        file.flush().unwrap();
        let map = MappedFile::map(file.as_file(), "x.log").unwrap().expect("a guarded map");
        (file, map)
    }

    #[test]
    fn truncated_map_reads_zeros_and_reports_it() {
        let page = PAGE_SIZE.load(Ordering::Relaxed);
        let (file, map) = mapped(&vec![b'a'; 16 * page]);
        assert!(!map.shrank());
        assert_eq!(map[5 * page], b'a');
        file.as_file().set_len(2 * page as u64).unwrap();
        // Without the handler this read kills the test process.
        assert_eq!(map[5 * page], 0);
        assert!(map.shrank());
        assert_eq!(map.check().unwrap_err().to_string(), SHRANK_MESSAGE);
        // Pages before the fault are untouched; the one after reads zeros.
        assert_eq!(map[page], b'a');
        assert_eq!(map[16 * page - 1], 0);
    }

    #[test]
    fn slots_are_reused_and_fresh() {
        let page = PAGE_SIZE.load(Ordering::Relaxed);
        for _ in 0..3 * SLOTS {
            let (file, map) = mapped(&vec![b'b'; 4 * page]);
            file.as_file().set_len(0).unwrap();
            assert_eq!(map[3 * page], 0);
            assert!(map.shrank());
            let (_file, fresh) = mapped(b"abc");
            assert!(!fresh.shrank());
        }
    }
}
