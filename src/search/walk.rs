//! Listing files under directories for `-r`, with `--include` and
//! `--exclude` globs on base names.
//!
//! The walk is [`walkdir`]'s, streamed: [`walk`] yields each file as it is
//! found. Each directory lists its files first, then its subdirectories,
//! each group in name order, so output is deterministic. Symbolic links met
//! during the walk are not followed (GNU grep's `-r`); a directory already
//! visited (same device and inode: a bind mount of an ancestor) is
//! skipped, so links given on the command line cannot loop either.
//!
//! The globs are GNU grep's (fnmatch) on base names: `*`, `?`, `[abc]`,
//! `[a-z]`, `[!x]` or `[^x]`, `\x`; `{`, `}` and `/` are plain characters,
//! and so are a trailing `\` and a `[` that no `]` closes. They are
//! compiled once by [`Filters::new`] and matched by [`globset`], which
//! differs from fnmatch in a UTF-8 locale in three corners: it reads a name
//! as bytes, so `?` and a bracket class match one byte of a non-ASCII name,
//! not one character; a reversed range (`[z-a]`) is an error
//! ([`GlobError`]); a range right after another (`[a-c-x]`) extends it
//! (`a-x`).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The `--include`, `--exclude` and `--exclude-dir` globs as given;
/// [`Filters::new`] compiles them.
#[derive(Clone, Debug, Default)]
pub struct Globs {
    /// `--include`: if any, a file's base name must match one.
    pub include: Vec<String>,
    /// `--exclude`: a file whose base name matches one is skipped.
    pub exclude: Vec<String>,
    /// `--exclude-dir`: a directory whose base name matches is not entered.
    pub exclude_dir: Vec<String>,
}

/// File name filters: [`Globs`] compiled once.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    include: GlobSet,
    exclude: GlobSet,
    exclude_dir: GlobSet,
}

/// A glob that cannot be compiled.
#[derive(Clone, Debug)]
pub struct GlobError {
    option: &'static str,
    glob: String,
    error: globset::Error,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: glob '{}': {}", self.option, self.glob, self.error.kind())
    }
}

impl std::error::Error for GlobError {}

impl Filters {
    /// Compiles the globs.
    ///
    /// # Errors
    /// A glob globset rejects (a reversed range such as `[z-a]`).
    pub fn new(globs: &Globs) -> Result<Filters, GlobError> {
        Ok(Filters {
            include: glob_set("--include", &globs.include)?,
            exclude: glob_set("--exclude", &globs.exclude)?,
            exclude_dir: glob_set("--exclude-dir", &globs.exclude_dir)?,
        })
    }

    /// True when a file with this path passes the filters.
    pub fn accepts_file(&self, path: &Path) -> bool {
        let name = base_name(path);
        !self.exclude.is_match(name) && (self.include.is_empty() || self.include.is_match(name))
    }

    fn accepts_dir(&self, path: &Path) -> bool {
        !self.exclude_dir.is_match(base_name(path))
    }
}

/// A path's last component; empty for `/` or a path ending in `..`.
fn base_name(path: &Path) -> &OsStr {
    path.file_name().unwrap_or_default()
}

fn glob_set(option: &'static str, globs: &[String]) -> Result<GlobSet, GlobError> {
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        let fail = |error| GlobError { option, glob: glob.clone(), error };
        let compiled = GlobBuilder::new(&globset_syntax(glob))
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .map_err(fail)?;
        set.add(compiled);
    }
    // The only error left is the set's regex over its size limit.
    set.build().map_err(|error| GlobError { option, glob: globs.join("', '"), error })
}

/// A GNU (fnmatch) glob in globset's syntax: the same text, except that
/// the characters globset reads and fnmatch does not (`{`, `}` for
/// alternation, `/` for `**/`), a trailing `\` and a `[` that no `]`
/// closes are escaped. Bracket classes are copied: both read `!` or `^`
/// after `[` as negation and a `]` right after as a member.
fn globset_syntax(pattern: &str) -> String {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 2);
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() => {
                out.extend(&p[i..i + 2]);
                i += 2;
                continue;
            }
            '[' => {
                if let Some(len) = class_len(&p[i..]) {
                    out.extend(&p[i..i + len]);
                    i += len;
                    continue;
                }
                out.push_str("\\[");
            }
            c @ ('\\' | '{' | '}' | '/') => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// The length of the bracket class at the start of `p` (up to its `]`),
/// or `None` when no `]` closes it.
fn class_len(p: &[char]) -> Option<usize> {
    let negated = matches!(p.get(1), Some('!' | '^'));
    // The first member may be `]`.
    let first = if negated { 2 } else { 1 };
    let rest = p.get(first + 1..)?;
    rest.iter().position(|&c| c == ']').map(|k| first + 1 + k + 1)
}

/// One item the walk found.
#[derive(Debug)]
pub enum Entry {
    /// A file to search.
    File(PathBuf),
    /// A problem to report (the walk goes on).
    Error(PathBuf, io::Error),
}

/// Files under `root` (a directory), depth first: in each directory its
/// files in name order, then its subdirectories in name order.
pub fn walk<'f>(root: &Path, filters: &'f Filters) -> Walk<'f> {
    let it = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by(|a, b| {
            let (a_dir, b_dir) = (a.file_type().is_dir(), b.file_type().is_dir());
            a_dir.cmp(&b_dir).then_with(|| a.file_name().cmp(b.file_name()))
        })
        .into_iter();
    Walk { it, filters, visited: HashSet::new() }
}

/// The iterator [`walk`] returns.
#[derive(Debug)]
pub struct Walk<'f> {
    it: walkdir::IntoIter,
    filters: &'f Filters,
    /// Device and inode of the directories entered.
    visited: HashSet<(u64, u64)>,
}

impl Iterator for Walk<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let dent = match self.it.next()? {
                Ok(dent) => dent,
                Err(e) => match self.error(e) {
                    Some(entry) => return Some(entry),
                    None => continue,
                },
            };
            // walkdir opens a directory when it meets it, before yielding
            // it: one skipped here is not descended into.
            if dent.depth() == 0 {
                // The root, followed if it is a link.
                match fs::metadata(dent.path()) {
                    Ok(m) if m.is_dir() => {
                        self.visited.insert((m.dev(), m.ino()));
                    }
                    Ok(_) => {
                        let e = io::Error::from_raw_os_error(libc::ENOTDIR);
                        return Some(Entry::Error(dent.into_path(), e));
                    }
                    Err(e) => return Some(Entry::Error(dent.into_path(), e)),
                }
                continue;
            }
            let ty = dent.file_type();
            if ty.is_symlink() {
                continue;
            }
            if !ty.is_dir() {
                if self.filters.accepts_file(dent.path()) {
                    return Some(Entry::File(dent.into_path()));
                }
                continue;
            }
            if !self.filters.accepts_dir(dent.path()) {
                self.it.skip_current_dir();
                continue;
            }
            match dent.metadata() {
                Ok(m) => {
                    if !self.visited.insert((m.dev(), m.ino())) {
                        self.it.skip_current_dir();
                    }
                }
                Err(e) => {
                    self.it.skip_current_dir();
                    if let Some(e) = e.into_io_error() {
                        return Some(Entry::Error(dent.into_path(), e));
                    }
                }
            }
        }
    }
}

impl Walk<'_> {
    /// What to report of a walkdir error: a directory that cannot be
    /// opened is reported, unless `--exclude-dir` skips it (it is opened
    /// before the filter sees it); a listing's unreadable entry, which has
    /// no path, is skipped.
    fn error(&self, e: walkdir::Error) -> Option<Entry> {
        let path = e.path()?.to_path_buf();
        if e.depth() > 0 && !self.filters.accepts_dir(&path) {
            return None;
        }
        Some(Entry::Error(path, e.into_io_error()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A base-name glob, compiled as `--include` compiles it.
    fn glob(pattern: &str, name: &str) -> bool {
        let globs = Globs { include: vec![pattern.to_string()], ..Globs::default() };
        Filters::new(&globs).unwrap().accepts_file(Path::new(name))
    }

    #[test]
    fn globs() {
        assert!(glob("*.log", "a.log"));
        assert!(!glob("*.log", "a.log.1"));
        assert!(glob("*.log*", "a.log.1"));
        assert!(glob("a?c", "abc"));
        assert!(glob("[ab]*", "beta"));
        assert!(!glob("[!ab]*", "beta"));
        assert!(glob("[a-c]x", "bx"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn characters_fnmatch_reads_plainly() {
        assert!(glob("*.{log,txt}", "a.{log,txt}"));
        assert!(!glob("*.{log,txt}", "a.log"));
        assert!(glob("a}", "a}"));
        assert!(glob("[{]x", "{x"));
        assert!(glob("a\\", "a\\"));
        assert!(glob("\\*", "*"));
        assert!(!glob("\\*", "a"));
        assert!(glob("[ab", "[ab"));
        assert!(glob("[]", "[]"));
        assert!(glob("[]]", "]"));
        assert!(glob("[!]]", "a"));
        assert!(!glob("**/x", "x"));
        let err = |g: &str| {
            let globs = Globs { exclude_dir: vec![g.to_string()], ..Globs::default() };
            Filters::new(&globs).unwrap_err().to_string()
        };
        assert_eq!(err("[z-a]"), "--exclude-dir: glob '[z-a]': invalid range; 'z' > 'a'");
    }

    #[test]
    fn walk_order_links_and_excluded_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in ["b.log", "a/z.log", "a/y/x.log", "c.log", "skip/s.log", "d/d.log"] {
            let path = root.join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "").unwrap();
        }
        std::os::unix::fs::symlink("a", root.join("link")).unwrap();
        std::os::unix::fs::symlink("c.log", root.join("link.log")).unwrap();
        let globs = Globs { exclude_dir: vec!["sk*".into()], ..Globs::default() };
        let filters = Filters::new(&globs).unwrap();
        let found: Vec<String> = walk(root, &filters)
            .map(|e| match e {
                Entry::File(p) => p.strip_prefix(root).unwrap().display().to_string(),
                Entry::Error(p, e) => panic!("{}: {e}", p.display()),
            })
            .collect();
        assert_eq!(found, ["b.log", "c.log", "a/z.log", "a/y/x.log", "d/d.log"]);
    }
}
