//! Listing files under directories for `-r`, with `--include` and
//! `--exclude` globs on base names.
//!
//! Directories are listed in name order so output is deterministic.
//! Symbolic links met during the walk are not followed (GNU grep's `-r`);
//! a directory already visited (same device and inode) is skipped, so
//! links given on the command line cannot loop either.

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

/// Files under `root` (a directory), depth first, in name order.
pub fn walk(root: &Path, filters: &Filters) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut visited = HashSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        match fs::metadata(&dir) {
            Ok(m) => {
                if !visited.insert((m.dev(), m.ino())) {
                    continue;
                }
            }
            Err(e) => {
                out.push(Entry::Error(dir, e));
                continue;
            }
        }
        let entries = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                out.push(Entry::Error(dir, e));
                continue;
            }
        };
        let mut names: Vec<_> = entries.filter_map(|e| e.ok()).collect();
        names.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for entry in names {
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_symlink() {
                continue;
            }
            if ft.is_dir() {
                if filters.accepts_dir(&path) {
                    subdirs.push(path);
                }
            } else if filters.accepts_file(&path) {
                out.push(Entry::File(path));
            }
        }
        // Depth first in name order: push in reverse.
        stack.extend(subdirs.into_iter().rev());
    }
    out
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
}
