//! What a line's shape tells of where it was written, for lines that carry
//! no `Channel` (DESIGN 2.3, Logsources).
//!
//! A Windows event names its logsource; a plain text line does not, yet
//! its first bytes often say what wrote it. A rule set run over a Linux
//! host's syslog should not fire Cisco or Okta keyword rules because a
//! message says `more` or `show`: those rules are for logs of another
//! product. So two shapes are recognised, strictly, from the line's start:
//!
//! * **a host's syslog line**: a timestamp (BSD `Mmm dd hh:mm:ss`, or
//!   ISO 8601 as rsyslog and journald write it), a host name, then a
//!   program tag that starts with a letter and ends with `:` (`sshd[42]:`,
//!   `sshd(pam_unix)[42]:`, `kernel:`). The products whose rules may run
//!   there are the host systems that write such logs: `linux`, `macos`,
//!   `unix`. A network device's syslog (`router1 123: %SYS-5-CONFIG_I`)
//!   has a number or a `%` where the tag would be, and stays unknown.
//! * **a web server's error log line**: `[Www Mmm dd hh:mm:ss[.ffffff]
//!   yyyy] [`, Apache's (and its imitators'). No product's rules run
//!   there; rules without a product (`service: apache`, `category:
//!   webserver`) do.
//!
//! Any other line's source is unknown, and every rule may run on it.

/// The writer a line's shape reveals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextSource {
    /// A host's syslog line.
    HostSyslog,
    /// A web server's error log line.
    WebServerError,
}

impl TextSource {
    /// The Sigma `product` values whose rules may run on such a line.
    pub fn products(self) -> &'static [&'static str] {
        match self {
            TextSource::HostSyslog => &["linux", "macos", "unix"],
            TextSource::WebServerError => &[],
        }
    }
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

/// The source `line`'s shape reveals, if any.
pub fn text_source(line: &[u8]) -> Option<TextSource> {
    if web_server_error(line) {
        return Some(TextSource::WebServerError);
    }
    host_syslog(line).then_some(TextSource::HostSyslog)
}

/// `[Www Mmm dd hh:mm:ss[.f+] yyyy] [`
fn web_server_error(line: &[u8]) -> bool {
    let mut r = Reader(line);
    r.byte(b'[')
        && r.word(&DAYS)
        && r.byte(b' ')
        && r.word(&MONTHS)
        && r.byte(b' ')
        && r.day()
        && r.byte(b' ')
        && r.clock()
        && r.byte(b' ')
        && r.digits(4, 4)
        && r.byte(b']')
        && r.byte(b' ')
        && r.byte(b'[')
}

/// A timestamp, a host name, and a program tag that starts with a letter.
fn host_syslog(line: &[u8]) -> bool {
    let mut r = Reader(line);
    let stamped = {
        let mut bsd = Reader(line);
        if bsd.word(&MONTHS) && bsd.byte(b' ') && bsd.day() && bsd.byte(b' ') && bsd.clock() {
            r = bsd;
            true
        } else {
            r.iso_timestamp()
        }
    };
    if !(stamped && r.byte(b' ') && r.token().is_some() && r.byte(b' ')) {
        return false;
    }
    match r.token() {
        Some(tag) => tag[0].is_ascii_alphabetic() && tag.len() > 1 && tag.ends_with(b":"),
        None => false,
    }
}

/// A cursor over a line's first bytes.
#[derive(Clone, Copy)]
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self, b: u8) -> bool {
        match self.0.split_first() {
            Some((&first, rest)) if first == b => {
                self.0 = rest;
                true
            }
            _ => false,
        }
    }

    fn word(&mut self, words: &[&[u8]]) -> bool {
        match words.iter().find(|w| self.0.starts_with(w)) {
            Some(w) => {
                self.0 = &self.0[w.len()..];
                true
            }
            None => false,
        }
    }

    /// Between `min` and `max` ASCII digits.
    fn digits(&mut self, min: usize, max: usize) -> bool {
        let n = self.0.iter().take(max).take_while(|b| b.is_ascii_digit()).count();
        self.0 = &self.0[n..];
        n >= min
    }

    /// A day of the month: two digits, or a blank and one.
    fn day(&mut self) -> bool {
        (self.byte(b' ') && self.digits(1, 1)) || self.digits(1, 2)
    }

    /// `hh:mm:ss`, with an optional fraction.
    fn clock(&mut self) -> bool {
        let whole = self.digits(2, 2)
            && self.byte(b':')
            && self.digits(2, 2)
            && self.byte(b':')
            && self.digits(2, 2);
        if whole && self.byte(b'.') {
            return self.digits(1, 9);
        }
        whole
    }

    /// `yyyy-mm-ddThh:mm:ss[.f+](Z|±hh:mm)`
    fn iso_timestamp(&mut self) -> bool {
        let date = self.digits(4, 4)
            && self.byte(b'-')
            && self.digits(2, 2)
            && self.byte(b'-')
            && self.digits(2, 2)
            && self.byte(b'T')
            && self.clock();
        date && (self.byte(b'Z')
            || ((self.byte(b'+') || self.byte(b'-'))
                && self.digits(2, 2)
                && self.byte(b':')
                && self.digits(2, 2)))
    }

    /// The bytes up to the next blank (at least one).
    fn token(&mut self) -> Option<&[u8]> {
        let n = self.0.iter().take_while(|&&b| b != b' ' && b != b'\t').count();
        let (token, rest) = self.0.split_at(n);
        self.0 = rest;
        (n > 0).then_some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::{text_source, TextSource::*};

    #[test]
    fn host_syslog_lines() {
        for line in [
            "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure;",
            "Dec 10 07:13:56 LabSZ sshd[24227]: PAM 5 more authentication failures;",
            "Feb  3 11:53:10 bastion ftpd[16587]: connection from 156.108.18.149",
            "2024-05-01T10:00:00.123456+02:00 web1 kernel: [ 1.0] x",
            "2024-05-01T10:00:00Z web1 CRON[7]: (root) CMD (x)",
        ] {
            assert_eq!(text_source(line.as_bytes()), Some(HostSyslog), "{line}");
        }
    }

    #[test]
    fn web_server_error_lines() {
        for line in [
            "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok",
            "[Wed Oct 11 14:32:52.123456 2023] [core:error] [pid 1] x",
        ] {
            assert_eq!(text_source(line.as_bytes()), Some(WebServerError), "{line}");
        }
    }

    #[test]
    fn other_lines_are_unknown() {
        for line in [
            // A network device: a sequence number, or a mnemonic, as the tag.
            "Mar  1 18:46:11 router1 123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured",
            "Mar  1 18:46:11 10.0.0.1 %SEC-6-IPACCESSLOGP: list 101 denied",
            "Mar  1 18:46:11 host",
            "TimeCreated=2020-05-04T15:48:28Z Computer=x EventID=1",
            "{\"EventID\": 1}",
            "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326",
            "",
            "Mar 99",
        ] {
            assert_eq!(text_source(line.as_bytes()), None, "{line}");
        }
    }
}
