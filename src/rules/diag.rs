//! Rule diagnostics: every problem in a rule file, located and coded, reported all at once.
//!
//! Codes are stable (documented in `rules/README.md`) so that scripts and editors can key on
//! them. Rendering follows rustc / yara-x: `error[E005]: message`, `--> file:line:col`, the
//! source line with a caret, and a `help:` hint.

use serde::Serialize;
use std::fmt;
use std::ops::Range;

/// Declares [`Code`] from one list, so that [`Code::ALL`] and [`Code::meaning`] cannot miss a
/// code.
macro_rules! codes {
    ($($code:ident => $meaning:literal,)*) => {
        /// A stable diagnostic code: one kind of problem each.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum Code {
            $(#[doc = $meaning] $code,)*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &[Code] = &[$(Code::$code,)*];

            /// One line saying what the code means (the `rules/README.md` table of codes).
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$code => $meaning,)*
                }
            }
        }
    };
}

// Codes are never renumbered: a new kind of problem gets the next free number.
codes! {
    E001 => "TOML syntax error",
    E002 => "unknown field",
    E003 => "wrong type",
    E004 => "missing required field",
    E005 => "invalid regular expression",
    E006 => "invalid path glob",
    E007 => "duplicate id",
    E008 => "invalid hash",
    E009 => "value not among the allowed ones",
    E010 => "inconsistent rule: fields that exclude each other",
    E011 => "unreadable rule source",
    E012 => "rule source not a regular file",
    E013 => "unknown evidence source",
    E014 => "rule file not UTF-8",
    E015 => "absolute path glob",
    E016 => "invalid id",
    E017 => "invalid CVE id",
    E018 => "invalid mode",
    E019 => "invalid date",
    E020 => "number out of range",
    E021 => "empty value",
    E022 => "missing named capture",
    E023 => "invalid hex bytes",
    E024 => "retired field",
    E025 => "invalid branch or build",
    E026 => "set-id mode without a set-id bit",
    E027 => "empty condition",
    E028 => "no rules",
    E029 => "rule file too large",
    E030 => "rule files too large together",
    E031 => "unknown CVE",
    E032 => "unknown source of a CVE fact",
    E033 => "CVE without an affected branch",
    E034 => "exposure that ns.conf cannot show, without a note",
    E035 => "window start disagrees with the CVE table",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One located problem in a rule source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    /// Rule file as named to the user (`rules/cve-2019-19781.toml`, or the path given).
    pub file: String,
    /// 1-based line and column (column counts characters).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The offending source line, without its newline.
    pub source_line: String,
    /// Width of the underlined span on that line, in characters (at least 1).
    pub width: usize,
    /// What to do about it.
    pub(crate) help: Option<String>,
}

impl Diagnostic {
    /// Locates `span` (byte offsets) in `src` and builds a diagnostic.
    pub(crate) fn at(
        code: Code,
        file: &str,
        src: &str,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        let start = span.start.min(src.len());
        let end = span.end.clamp(start, src.len());
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line = src[..start].matches('\n').count() + 1;
        let column = src[line_start..start].chars().count() + 1;
        let width = src[start..end.min(line_end)].chars().count().max(1);
        Diagnostic {
            code,
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
            source_line: src[line_start..line_end].trim_end_matches('\r').to_owned(),
            width,
            help,
        }
    }

    /// The same place with another code, message and hint (for problems found after
    /// parsing, against what the rules refer to).
    pub(crate) fn with(
        &self,
        code: Code,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            help: Some(help.into()),
            ..self.clone()
        }
    }

    /// A diagnostic about a whole file (no position inside it).
    pub fn whole_file(code: Code, file: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            file: file.to_owned(),
            line: 1,
            column: 1,
            message: message.into(),
            source_line: String::new(),
            width: 1,
            help: None,
        }
    }
}

impl fmt::Display for Diagnostic {
    /// rustc-style rendering. Rule files are the user's own input, but they are still escaped
    /// so that a pasted control character cannot garble the terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
                .collect()
        };
        writeln!(f, "error[{}]: {}", self.code, clean(&self.message))?;
        writeln!(
            f,
            "  --> {}:{}:{}",
            clean(&self.file),
            self.line,
            self.column
        )?;
        if !self.source_line.is_empty() {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            let shown = clean(&self.source_line).replace('\t', " ");
            writeln!(f, "{pad} |")?;
            writeln!(f, "{num} | {shown}")?;
            writeln!(
                f,
                "{pad} | {}{}",
                " ".repeat(self.column.saturating_sub(1)),
                "^".repeat(self.width)
            )?;
        }
        if let Some(h) = &self.help {
            writeln!(f, "  = help: {}", clean(h))?;
        }
        Ok(())
    }
}

/// Suggests the closest candidate for a misspelt name (edit distance ≤ 2).
pub(crate) fn did_you_mean<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(name, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column() {
        let src = "a = 1\nbad = \"x\"\n";
        let d = Diagnostic::at(Code::E002, "f.toml", src, 6..9, "unknown field `bad`", None);
        assert_eq!((d.line, d.column, d.width), (2, 1, 3));
        assert_eq!(d.source_line, "bad = \"x\"");
        let shown = d.to_string();
        assert!(shown.contains("error[E002]: unknown field `bad`"));
        assert!(shown.contains("--> f.toml:2:1"));
        assert!(shown.contains("2 | bad = \"x\""));
        assert!(shown.contains("  | ^^^"));
    }

    #[test]
    fn codes_are_numbered_without_gaps_and_each_has_a_meaning() {
        for (i, c) in Code::ALL.iter().enumerate() {
            assert_eq!(c.to_string(), format!("E{:03}", i + 1));
            assert!(!c.meaning().is_empty(), "{c}");
        }
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(
            did_you_mean("severty", &["severity", "title"]),
            Some("severity")
        );
        assert_eq!(did_you_mean("zzz", &["severity", "title"]), None);
    }
}
