//! Opening inputs: memory maps for regular files, readers for the rest.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::decode::{self, Format};
use super::evtx;
use super::mmap::MappedFile;

/// An input ready to search.
pub enum SearchInput {
    /// A regular file mapped into memory, guarded against truncation.
    Mapped(MappedFile),
    /// Anything read in chunks: stdin, pipes, special files, `--no-mmap`.
    Reader(Box<dyn Read + Send>),
    /// A Windows event log's records, one line each (see [`evtx`]); a
    /// line's number is its record's number.
    Records(evtx::Rendered),
}

/// How [`open`] treats what it finds.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// Map regular files into memory (`--no-mmap` turns it off).
    pub mmap: bool,
    /// `-z`: recognise compressed inputs by their first bytes too.
    pub sniff: bool,
    /// How an event log's records become lines.
    pub evtx: evtx::Rendering,
    /// Threads parsing one event log's chunks.
    pub evtx_threads: usize,
    /// Keep each event-log record's fields beside its line
    /// ([`evtx::Rendered::fields`]), for field semantics.
    pub evtx_fields: bool,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            mmap: true,
            sniff: false,
            evtx: evtx::Rendering::default(),
            evtx_threads: 1,
            evtx_fields: false,
        }
    }
}

impl std::fmt::Debug for SearchInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchInput::Mapped(m) => write!(f, "Mapped({} bytes)", m.len()),
            SearchInput::Reader(_) => f.write_str("Reader"),
            SearchInput::Records(r) => write!(f, "Records({})", r.record_ids.len()),
        }
    }
}

/// The result of opening a path.
#[derive(Debug)]
pub enum Opened {
    /// A searchable input.
    Input(SearchInput),
    /// The path is a directory.
    Directory,
}

/// What [`open`] makes of a path, decided from its metadata, its name and
/// its first bytes, without reading further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Directory,
    /// A Windows event log (`.evtx` name or magic): searched record by
    /// record.
    EventLog,
    /// A compressed file (by name, or by magic number with `-z`): read
    /// through its decoder.
    Compressed(Format),
    /// Not a regular file (a FIFO, a device): read as a stream (sniffed
    /// for compression with `-z`).
    Stream,
    /// A regular file searched as it is: mapped, or read with `--no-mmap`
    /// or when empty.
    Plain,
}

impl Kind {
    /// True when the input's bytes are its lines, at their own offsets:
    /// only then can one byte range of it be searched on its own.
    pub fn is_plain(self) -> bool {
        self == Kind::Plain
    }
}

/// The kind of the file at `path`, and the file opened.
///
/// # Errors
/// The file cannot be opened, or its metadata or first bytes read.
pub fn kind(path: &Path, options: &OpenOptions) -> io::Result<(File, Metadata, Kind)> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Ok((file, meta, Kind::Directory));
    }
    let named_evtx =
        path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("evtx"));
    let mut head = [0; 8];
    let head_len = if meta.is_file() { read_head_at(&file, &mut head)? } else { 0 };
    let head = &head[..head_len];
    let kind = if meta.is_file() && (named_evtx || evtx::is_evtx(head)) {
        Kind::EventLog
    } else if let Some(format) = Format::from_name(path) {
        Kind::Compressed(format)
    } else if !meta.is_file() {
        Kind::Stream
    } else if let Some(format) = Format::from_magic(head).filter(|_| options.sniff) {
        Kind::Compressed(format)
    } else {
        Kind::Plain
    };
    Ok((file, meta, kind))
}

/// Opens a file for searching. Regular files with content are mapped when
/// `mmap` is true; everything else is read (a `/proc` file reports size 0
/// but has content, so size 0 is read too). A map that cannot be guarded
/// against truncation (see [`super::mmap`]) falls back to reading.
///
/// Compressed files are read through their decoder (see [`decode`]): those
/// named `.gz`, `.bz2`, `.xz` or `.zst` always, and with `sniff` (`-z`)
/// also those whose first bytes are a known magic number. A regular file
/// named `.evtx` or starting with the event log magic is parsed into
/// [`SearchInput::Records`]; what could not be read of it is in
/// [`evtx::Rendered::damage`], for the caller to report after the search.
/// [`kind`] tells which, without opening the input.
///
/// # Errors
/// The file cannot be opened or its metadata read, or an event log has no
/// readable header.
pub fn open(path: &Path, options: &OpenOptions) -> io::Result<Opened> {
    let (file, meta, kind) = kind(path, options)?;
    let input = match kind {
        Kind::Directory => return Ok(Opened::Directory),
        Kind::EventLog => SearchInput::Records(evtx::render(
            path,
            options.evtx,
            options.evtx_threads,
            options.evtx_fields,
        )?),
        Kind::Compressed(format) => SearchInput::Reader(format.decoder(Box::new(file))?),
        // A FIFO or a character device cannot be peeked at in place.
        Kind::Stream if options.sniff => SearchInput::Reader(decode::sniff(Box::new(file))?),
        Kind::Stream => SearchInput::Reader(Box::new(file)),
        Kind::Plain => {
            if options.mmap && meta.len() > 0 {
                if let Ok(Some(map)) = MappedFile::map(&file, &path.display().to_string()) {
                    return Ok(Opened::Input(SearchInput::Mapped(map)));
                }
            }
            SearchInput::Reader(Box::new(file))
        }
    };
    Ok(Opened::Input(input))
}

/// Reads the first bytes of a regular file without moving its offset.
fn read_head_at(file: &File, head: &mut [u8]) -> io::Result<usize> {
    let mut len = 0;
    while len < head.len() {
        match file.read_at(&mut head[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}
