//! Indicator rules: the TOML schema, loading with located diagnostics, and the compiled,
//! immutable [`RuleSet`] the scanner uses.
//!
//! Data flow: rule sources (embedded packs and `--rules` paths) → `load::parse_source` per file
//! (collects *every* problem as a [`Diagnostic`]) → [`RuleSet::from_sources`] (cross-file checks such as
//! duplicate ids, then the global glob and pattern tables). A rule set is never built while any
//! diagnostic exists: a scan cannot run with a rule silently dropped.

pub mod baseline;
pub mod diag;
pub mod embedded;
pub mod examples;
pub mod indicators;
pub mod load;
pub mod set;

pub use diag::{Code, Diagnostic};
pub use set::RuleSet;

use crate::model::{EvPath, Severity};

/// Where a rule, or one of its examples, was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A rule pack: one TOML file's `[pack]` table.
#[derive(Clone, Debug)]
pub struct Pack {
    pub(crate) id: String,
    pub title: String,
    pub description: String,
    /// The period in which the pack's campaign could leave traces, if it has one.
    pub(crate) window: Option<Window>,
    pub(crate) origin: Origin,
}

/// `[pack.window]`: when exploitation could have happened, and which logs must reach back to
/// then for a `clean` verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// What the window is ("CVE-2019-19781 exploitation").
    pub(crate) title: String,
    /// Date of the vendor advisory (context), Unix seconds.
    pub(crate) advisory: Option<i64>,
    /// Logs must have dated lines from this time on, Unix seconds.
    pub(crate) from: i64,
    /// Where `from` was written, for a start that disagrees with the CVE table.
    pub(crate) from_spot: Option<Diagnostic>,
    /// Evidence sources (profile ids) that would show exploitation.
    pub(crate) sources: Vec<String>,
    /// Where each of `sources` was written, for diagnostics found against the profile.
    pub(crate) source_spots: Vec<Diagnostic>,
    /// The CVE whose affected branches and first fixed builds (the CVE table, one place for
    /// them) decide whether the window concerns an appliance. Without it the firmware is not
    /// considered.
    pub(crate) cve: Option<String>,
    /// Where `cve` was written.
    pub(crate) cve_spot: Option<Diagnostic>,
}

/// One indicator rule, validated and ready to compile into a [`RuleSet`].
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub pack: String,
    pub(crate) title: String,
    pub description: String,
    pub severity: Severity,
    pub(crate) cves: Vec<String>,
    pub campaign: Option<String>,
    pub references: Vec<String>,
    pub matcher: Matcher,
    pub examples: Vec<Example>,
    pub origin: Origin,
}

/// What a rule looks at.
#[derive(Clone, Debug)]
pub enum Matcher {
    /// Conditions on one filesystem entry: path, metadata, content, hashes.
    File(Box<FileMatch>),
    /// Line patterns over every rotation of a log (plain or gzip), one finding per line.
    Lines(LineMatch),
    /// Records captured from log lines across every file and rotation, then compared with each
    /// other (a session used from another network, a source shared by several users).
    Correlate(CorrelateMatch),
    /// How a log's lines are spread over time, compared with the other logs (a stretch without
    /// lines that the other logs do not share).
    Timeline(TimelineMatch),
}

impl Matcher {
    /// The kind as written in rule files: `file`, `lines` or `correlate`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Matcher::File(_) => "file",
            Matcher::Lines(_) => "lines",
            Matcher::Correlate(_) => "correlate",
            Matcher::Timeline(_) => "timeline",
        }
    }
}

/// How the records of a correlate rule are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// A `then` record whose `value` is outside the network of every `first` record with the
    /// same `key` (a session used from elsewhere than it was opened).
    ValueChanges,
    /// A `then` record whose `key` no `first` record has (activity without a login). Only
    /// evaluated when at least one `first` record was found at all.
    FirstMissing,
    /// One `then` `value` seen with at least `min_actors` different `actor`s (one source in
    /// several users' sessions). Records whose `value` is in the network their own `first`
    /// record came from are ignored, so users behind one NAT address do not count.
    ValueShared,
}

impl Check {
    /// The name used in rule files.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Check::ValueChanges => "value-changes",
            Check::FirstMissing => "first-missing",
            Check::ValueShared => "value-shared",
        }
    }
}

/// Conditions of a correlate rule.
#[derive(Clone, Debug)]
pub struct CorrelateMatch {
    /// Logs whose lines are captured (every rotation), as for line rules.
    pub(crate) logs: Vec<String>,
    pub(crate) exclude_paths: Vec<String>,
    /// Opening record (e.g. a login), with named captures `key` and `value`.
    pub first: Option<Pattern>,
    /// Later record (e.g. a connection), with named captures `key`, `value` and `actor` as the
    /// check needs.
    pub(crate) then: Pattern,
    pub(crate) check: Check,
    /// IPv4 prefix length under which two `value`s count as the same network.
    pub(crate) network_prefix: Option<u8>,
    /// IPv6 prefix length under which two `value`s count as the same network (without it, /64
    /// when `network_prefix` is given, else equal addresses only).
    pub(crate) network_prefix_v6: Option<u8>,
    /// For `value-shared`: how many different actors make a value suspicious.
    pub(crate) min_actors: usize,
    /// For `value-changes`: only `first` records at most this many hours before the `then`
    /// record count (the longest a session lives); `None`: every `first` record counts.
    pub(crate) within_hours: Option<u32>,
    /// Globs limiting which files `first` records are taken from (empty: all `logs`).
    pub(crate) first_paths: Vec<String>,
    /// Globs limiting which files `then` records are taken from (empty: all `logs`).
    pub(crate) then_paths: Vec<String>,
}

/// What a timeline rule looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineCheck {
    /// A stretch without lines in one log, inside a file, between two rotations or after its
    /// last line, longer than the log usually goes without one, while other logs wrote lines.
    Hole,
}

/// Conditions of a timeline rule.
#[derive(Clone, Debug)]
pub struct TimelineMatch {
    pub check: TimelineCheck,
    /// Logs judged (every rotation), as for line rules.
    pub(crate) logs: Vec<String>,
    pub(crate) exclude_paths: Vec<String>,
    /// A stretch shorter than this many hours is never a hole.
    pub(crate) min_hours: u64,
    /// ... and it must be longer than this many times the log's usual silence (the length of
    /// silence that, with all longer ones, fills half of the log's time).
    pub(crate) usual_factor: u64,
    /// How many other logs must have written lines during the stretch.
    pub(crate) others: u64,
}

/// Which kind of filesystem entry a file rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileType {
    File,
    Dir,
    Symlink,
    Any,
}

/// A condition on permission bits (the low 12 bits of `st_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ModeCond {
    /// Permission bits equal this value exactly.
    Exact(u32),
    /// At least one of these bits is set.
    Any(u32),
    /// All of these bits are set.
    All(u32),
    /// None of these bits is set.
    None(u32),
}

impl ModeCond {
    /// True when `mode` (permission bits) satisfies the condition.
    pub(crate) fn holds(self, mode: u32) -> bool {
        let m = mode & 0o7777;
        match self {
            ModeCond::Exact(v) => m == v,
            ModeCond::Any(v) => m & v != 0,
            ModeCond::All(v) => m & v == v,
            ModeCond::None(v) => m & v == 0,
        }
    }
}

/// An inclusive range; either end may be open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Bounds<T> {
    pub(crate) min: Option<T>,
    pub(crate) max: Option<T>,
}

impl<T: PartialOrd + Copy> Bounds<T> {
    /// True when `v` lies inside the bounds.
    pub(crate) fn holds(&self, v: T) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }
}

/// One content or line pattern as written in a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The text as written (for reports: "content matches `template.new`").
    pub(crate) source: String,
    /// True for `{ regex = ... }`, false for literals.
    pub(crate) is_regex: bool,
    pub(crate) ignore_case: bool,
    /// The pattern in the engine's syntax (literals escaped, flags applied).
    pub compiled: String,
}

/// Pattern groups: a haystack matches when any `any` (or there are none), every `all` and no
/// `none` pattern matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Patterns {
    pub(crate) any: Vec<Pattern>,
    pub(crate) all: Vec<Pattern>,
    pub(crate) none: Vec<Pattern>,
}

impl Patterns {
    /// True when there is nothing to match.
    pub(crate) fn is_empty(&self) -> bool {
        self.any.is_empty() && self.all.is_empty() && self.none.is_empty()
    }
}

/// Known-bad and known-good digests (lower-case hex).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HashLists {
    pub(crate) bad: Vec<String>,
    pub(crate) good: Vec<String>,
}

impl HashLists {
    /// True when no digest is listed.
    pub(crate) fn is_empty(&self) -> bool {
        self.bad.is_empty() && self.good.is_empty()
    }
}

/// A condition on the stock baseline (`src/appliance/netscaler/baseline.toml`), evaluated for the firmware
/// family of the appliance (the union of every family when it is unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BaselineCond {
    /// The file is not a set-id file the firmware ships (path, mode and owner).
    NotStockSetid,
    /// The file is one of the set-id files the firmware ships.
    StockSetid,
    /// The file is not one the firmware writes as `nobody` by design (path, type, group, mode).
    NotNobodyByDesign,
    /// The file is one the firmware writes as `nobody` by design.
    NobodyByDesign,
}

impl BaselineCond {
    /// Every name, as written in rule files.
    pub(crate) const NAMES: [&'static str; 4] = [
        "not-stock-setid",
        "stock-setid",
        "not-nobody-by-design",
        "nobody-by-design",
    ];

    /// Parses the name used in rule files.
    pub fn parse(s: &str) -> Option<BaselineCond> {
        Some(match s {
            "not-stock-setid" => BaselineCond::NotStockSetid,
            "stock-setid" => BaselineCond::StockSetid,
            "not-nobody-by-design" => BaselineCond::NotNobodyByDesign,
            "nobody-by-design" => BaselineCond::NobodyByDesign,
            _ => return None,
        })
    }
}

/// `[rule.file.indicators]`: does the file hold indicators as data, like a detection tool or
/// its output does?
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndicatorCond {
    /// The rule's own list; empty: the literal indicators of every rule in force.
    pub(crate) list: Vec<String>,
    /// Distinct indicators needed.
    pub(crate) min: usize,
    /// Rules they must come from (with the rules' indicators).
    pub(crate) min_rules: usize,
    /// `true`: the rule fires on files that hold indicators as data; `false`: on every other.
    pub(crate) as_data: bool,
}

/// Conditions of a file rule. Every condition that is set must hold.
#[derive(Clone, Debug)]
pub struct FileMatch {
    /// Globs relative to the appliance root; empty means "everywhere".
    pub(crate) paths: Vec<String>,
    pub(crate) exclude_paths: Vec<String>,
    /// Regex on the file name (last component), as written and compiled.
    pub(crate) name: Option<(String, regex::bytes::Regex)>,
    pub(crate) file_type: FileType,
    pub(crate) size: Option<Bounds<u64>>,
    pub(crate) mode: Vec<ModeCond>,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    /// Unix seconds.
    pub(crate) mtime: Option<Bounds<i64>>,
    /// The modification time is earlier than the birth time (timestomping). Holds only where
    /// the input preserves birth times.
    pub(crate) timestomp: bool,
    pub(crate) content: Patterns,
    /// Bytes of content this rule examines; `None` means the scan-wide cap.
    pub(crate) max_bytes: Option<u64>,
    pub(crate) sha256: HashLists,
    pub(crate) md5: HashLists,
    /// A condition on the stock baseline.
    pub(crate) baseline: Option<BaselineCond>,
    /// `Some(true)`: the file can run (an execute bit is set, or it starts with an ELF header
    /// or `#!`); `Some(false)`: it cannot.
    pub(crate) executable: Option<bool>,
    /// Detection-tool recognition.
    pub(crate) indicators: Option<IndicatorCond>,
}

impl FileMatch {
    /// True when the rule needs the file's bytes (content, digests, or the first bytes to tell
    /// whether it can run).
    pub(crate) fn needs_read(&self) -> bool {
        !self.content.is_empty()
            || !self.sha256.is_empty()
            || !self.md5.is_empty()
            || self.executable.is_some()
            || self.indicators.is_some()
    }
}

/// What a line rule treats as one unit of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordMode {
    /// Every physical line on its own.
    Line,
    /// A syslog record: a line that starts with a syslog time stamp plus the lines that follow
    /// it without one (a multi-line `shell_command="..."` in bash.log).
    Syslog,
}

/// Conditions of a line rule.
#[derive(Clone, Debug)]
pub struct LineMatch {
    pub(crate) records: RecordMode,
    /// Log paths relative to the root (globs allowed); every rotation (`name.N`, `name.N.gz`,
    /// `name.gz`) of a matching log is read.
    pub(crate) logs: Vec<String>,
    pub(crate) exclude_paths: Vec<String>,
    pub(crate) patterns: Patterns,
    /// Match `any` and `all` against what the logged, scheduled or scripted command does
    /// instead of the raw record (`none` still sees the raw record).
    pub(crate) commands: Option<View>,
}

/// An embedded test case: a virtual file the rule must (or must not) match.
#[derive(Clone, Debug)]
pub struct Example {
    pub expect_match: bool,
    pub(crate) path: EvPath,
    pub(crate) file_type: FileType,
    pub(crate) content: Vec<u8>,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    /// Unix seconds.
    pub(crate) mtime: i64,
    /// Birth time, Unix seconds, if the example states one.
    pub(crate) btime: Option<i64>,
    /// Pretend digests (for hash rules, whose real inputs are malware).
    pub(crate) sha256: Option<String>,
    pub(crate) md5: Option<String>,
    /// Further files of the same virtual appliance (path, content), for rules that compare
    /// files (an older ns.conf save next to the current one).
    pub(crate) also: Vec<(EvPath, Vec<u8>)>,
    /// For a no-match example: why this benign thing looks like the trace (its nearest
    /// legitimate look-alike). Every high or critical shipped rule has at least one.
    pub lookalike: Option<String>,
    pub(crate) origin: Origin,
}

/// What a line rule's patterns are matched against (`commands = "..."`; the views are
/// computed by the scanner's command reader).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum View {
    /// The record with its residue commands blanked out (offsets and line ends kept). Blanking
    /// never creates a match, so only records whose raw text matched need this view.
    Acting,
    /// The record with its acting commands blanked out.
    Residue,
    /// One line per acting command, starting with the program it runs: wrappers (`nohup`,
    /// `env`, ...) and interpreters (`sh`, `perl`, `python`, ...) are skipped, so a script run
    /// with `sh /tmp/x` reads `/tmp/x`; quotes and redirections are removed.
    Run,
}

impl View {
    /// Every name, as written in rule files.
    pub(crate) const NAMES: [&'static str; 3] = ["acting", "residue", "run"];

    /// Parses the name used in rule files.
    pub fn parse(s: &str) -> Option<View> {
        Some(match s {
            "acting" => View::Acting,
            "residue" => View::Residue,
            "run" => View::Run,
            _ => return None,
        })
    }
}
