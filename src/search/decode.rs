//! Compressed inputs: gzip, bzip2, xz and zstd, decompressed while read.
//!
//! # Contract
//! A compressed input becomes a [`SearchInput::Reader`] that yields the
//! decompressed text: it is streamed through the searcher's read path (so
//! line numbers, byte offsets, context and the binary policy all refer to
//! the decompressed text), never written to disk and never held whole in
//! memory. Concatenated members (`cat a.gz b.gz`, `pigz`, `zstd` frames,
//! multi-stream `xz` and `bzip2`) are decoded one after the other, as
//! `zcat` does.
//!
//! # Which inputs
//! [`Format::from_name`]: a file whose name ends in `.gz`, `.bz2`, `.xz`
//! or `.zst` (any case) is decompressed always, as `zgrep` does; a file so
//! named that does not hold that format is an error for that file.
//! [`Format::from_magic`]: with `-z`, every other input (stdin and pipes
//! included) is recognised by its first bytes; one that is not compressed
//! is searched as it is.
//!
//! # Damage
//! A corrupt or truncated archive is an error for that file, reported after
//! the lines decoded before the damage were searched. Errors name the
//! format ("gzip: ...") so that the message says what was wrong.
//!
//! [`SearchInput::Reader`]: super::SearchInput::Reader

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

/// A compression format sigrep decompresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// gzip (RFC 1952), members concatenated.
    Gzip,
    /// bzip2, streams concatenated.
    Bzip2,
    /// xz, streams concatenated.
    Xz,
    /// Zstandard, frames concatenated.
    Zstd,
}

/// The longest magic number of [`Format::from_magic`].
pub const MAGIC_LEN: usize = 6;

impl Format {
    /// The format a file name says, from its extension (any case).
    pub fn from_name(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "gz" => Some(Format::Gzip),
            "bz2" => Some(Format::Bzip2),
            "xz" => Some(Format::Xz),
            "zst" => Some(Format::Zstd),
            _ => None,
        }
    }

    /// The format whose magic number `head` (the first bytes of an input)
    /// starts with.
    pub fn from_magic(head: &[u8]) -> Option<Format> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Format::Gzip)
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Some(Format::Bzip2)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Format::Xz)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Format::Zstd)
        } else {
            None
        }
    }

    /// Wraps `compressed` in this format's streaming decoder.
    ///
    /// # Errors
    /// The decoder cannot be set up (zstd allocates its context here).
    pub fn decoder(self, compressed: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
        let inner: Box<dyn Read + Send> = match self {
            Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(compressed)),
            Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(compressed)),
            Format::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(compressed)),
            Format::Zstd => Box::new(zstd::stream::read::Decoder::new(compressed)?),
        };
        Ok(Box::new(Decoded { inner, format: self }))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
        })
    }
}

/// A decoder whose errors name the format and say what went wrong in
/// words a user knows.
struct Decoded {
    inner: Box<dyn Read + Send>,
    format: Format,
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => Ok(n),
            Err(e) => {
                let what = if e.kind() == io::ErrorKind::UnexpectedEof {
                    "unexpected end of file (truncated archive)".to_string()
                } else {
                    e.to_string()
                };
                let kind = if e.kind() == io::ErrorKind::UnexpectedEof {
                    io::ErrorKind::UnexpectedEof
                } else {
                    io::ErrorKind::InvalidData
                };
                Err(io::Error::new(kind, format!("{}: {what}", self.format)))
            }
        }
    }
}

/// Puts bytes already read back in front of the rest of a reader.
pub fn unread(head: Vec<u8>, rest: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    if head.is_empty() {
        rest
    } else {
        Box::new(io::Cursor::new(head).chain(rest))
    }
}

/// Reads up to [`MAGIC_LEN`] bytes (fewer only at the end of the input).
///
/// # Errors
/// Reading fails.
pub fn read_head(reader: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut head = vec![0; MAGIC_LEN];
    let mut len = 0;
    while len < MAGIC_LEN {
        match reader.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(len);
    Ok(head)
}

/// `-z` on a reader that cannot seek (stdin, a pipe): looks at its first
/// bytes and returns the decompressed stream when they are a known magic
/// number, else the reader itself with those bytes put back.
///
/// # Errors
/// Reading the first bytes fails.
pub fn sniff(mut reader: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let head = read_head(&mut reader)?;
    let format = Format::from_magic(&head);
    let whole = unread(head, reader);
    match format {
        Some(format) => format.decoder(whole),
        None => Ok(whole),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] = b"first line\nEventID=5861 CommandLineEventConsumer\nlast, no LF";

    fn compress(format: Format, text: &[u8]) -> Vec<u8> {
        match format {
            Format::Gzip => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(text).unwrap();
                e.finish().unwrap()
            }
            Format::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(text).unwrap();
                e.finish().unwrap()
            }
            Format::Xz => {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(text).unwrap();
                e.finish().unwrap()
            }
            Format::Zstd => zstd::encode_all(text, 1).unwrap(),
        }
    }

    fn decode(format: Format, bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        format.decoder(Box::new(io::Cursor::new(bytes)))?.read_to_end(&mut out)?;
        Ok(out)
    }

    const ALL: [Format; 4] = [Format::Gzip, Format::Bzip2, Format::Xz, Format::Zstd];

    #[test]
    fn names_and_magic_numbers() {
        for (name, format) in [("a.log.gz", Format::Gzip), ("B.BZ2", Format::Bzip2)] {
            assert_eq!(Format::from_name(Path::new(name)), Some(format));
        }
        assert_eq!(Format::from_name(Path::new("x.zst")), Some(Format::Zstd));
        assert_eq!(Format::from_name(Path::new("x.xz")), Some(Format::Xz));
        assert_eq!(Format::from_name(Path::new("gz")), None);
        assert_eq!(Format::from_name(Path::new("x.log")), None);
        for format in ALL {
            assert_eq!(Format::from_magic(&compress(format, TEXT)), Some(format), "{format}");
        }
        assert_eq!(Format::from_magic(b"BZhx"), None);
        assert_eq!(Format::from_magic(TEXT), None);
        assert_eq!(Format::from_magic(b""), None);
    }

    #[test]
    fn members_are_decoded_one_after_the_other() {
        for format in ALL {
            let mut two = compress(format, b"one\n");
            two.extend(compress(format, b"two\n"));
            assert_eq!(decode(format, two).unwrap(), b"one\ntwo\n", "{format}");
        }
    }

    #[test]
    fn damage_is_an_error_naming_the_format() {
        for format in ALL {
            let whole = compress(format, &TEXT.repeat(50));
            let truncated = whole[..whole.len() * 2 / 3].to_vec();
            let e = decode(format, truncated).unwrap_err();
            assert!(e.to_string().starts_with(&format!("{format}: ")), "{format}: {e}");
        }
        let e = decode(Format::Gzip, b"not gzip at all\n".to_vec()).unwrap_err();
        assert!(e.to_string().starts_with("gzip: "), "{e}");
    }

    #[test]
    fn sniffing_keeps_every_byte() {
        for format in ALL {
            let mut out = Vec::new();
            sniff(Box::new(io::Cursor::new(compress(format, TEXT))))
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, TEXT, "{format}");
        }
        for plain in [&b""[..], b"ab", TEXT] {
            let mut out = Vec::new();
            sniff(Box::new(io::Cursor::new(plain.to_vec())))
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, plain);
        }
    }
}
