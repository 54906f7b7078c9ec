//! Listing files under directories for `-r`, with `--include` and
//! `--exclude` globs on base names.
//!
//! The walk is [`walkdir`]'s, streamed: [`walk`] yields each file as it is
//! found. Each directory lists its files first, then its subdirectories,
//! each group in name order, so output is deterministic. Symbolic links met
//! during the walk are not followed (GNU grep's `-r`); a directory already
//! visited (same device and inode: a bind mount of an ancestor) is
//! skipped, so links given on the command line cannot loop either.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// File name filters.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// `--include`: if any, a file's base name must match one.
    pub include: Vec<String>,
    /// `--exclude`: a file whose base name matches one is skipped.
    pub exclude: Vec<String>,
    /// `--exclude-dir`: a directory whose base name matches is not entered.
    pub exclude_dir: Vec<String>,
}

impl Filters {
    /// True when a file with this path passes the filters.
    pub fn accepts_file(&self, path: &Path) -> bool {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        if self.exclude.iter().any(|g| glob(g, &name)) {
            return false;
        }
        self.include.is_empty() || self.include.iter().any(|g| glob(g, &name))
    }

    fn accepts_dir(&self, path: &Path) -> bool {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        !self.exclude_dir.iter().any(|g| glob(g, &name))
    }
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

/// Shell-style glob: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`, `\x`.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class(&p[pi..], n[ni]) {
                        if ok {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                '\\' if pi + 1 < p.len() => {}
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches a bracket class at the start of `p`; returns (matched, length).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let filters = Filters { exclude_dir: vec!["sk*".into()], ..Filters::default() };
        let found: Vec<String> = walk(root, &filters)
            .map(|e| match e {
                Entry::File(p) => p.strip_prefix(root).unwrap().display().to_string(),
                Entry::Error(p, e) => panic!("{}: {e}", p.display()),
            })
            .collect();
        assert_eq!(found, ["b.log", "c.log", "a/z.log", "a/y/x.log", "d/d.log"]);
    }
}
