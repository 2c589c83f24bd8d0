//! The data that flows from the scanner to the verdict and the report renderers.
//!
//! Everything here is plain data: no I/O, no matching. Paths and excerpts that come from the
//! evidence are kept as raw bytes ([`EvPath`], `Bytes`) so that nothing attacker-chosen is lost
//! or mangled before a renderer decides how to show it.

use serde::{Serialize, Serializer};
use std::fmt;

/// How much a finding weighs. Ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context for the examiner; never changes the verdict.
    Info,
    /// A failed or blocked attempt; reported, never changes the verdict.
    Low,
    /// Needs a human to look: the verdict becomes `review`.
    Medium,
    /// Evidence of compromise: the verdict becomes `compromised`.
    High,
    /// Strong evidence of compromise: the verdict becomes `compromised`.
    Critical,
}

impl Severity {
    /// All severities, most severe first (the order reports group findings in).
    pub const DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lower-case name used in rules and reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses the lower-case name used in rule files.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to "are there traces of an attack on this appliance?".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The evidence needed to answer was there, was read, and holds no traces.
    Clean,
    /// Something needs a human to look (medium findings), nothing proves compromise.
    Review,
    /// At least one critical or high finding.
    Compromised,
    /// No traces were found, but the evidence needed to say `clean` was missing or unreadable.
    Inconclusive,
}

impl Verdict {
    /// The lower-case name used in reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Review => "review",
            Verdict::Compromised => "compromised",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An absolute path inside the evidence, as the appliance would see it (`/var/log/ns.log`).
///
/// Stored as bytes: file names on a compromised box may contain newlines, escape sequences or
/// bytes that are not UTF-8. Serialised to JSON as a string when it is valid UTF-8; otherwise as
/// a string with `\xNN` escapes for the invalid bytes, and renderers add the exact bytes in base64
/// (see `EvPath::is_utf8`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvPath(Vec<u8>);

impl EvPath {
    /// Builds a path from bytes relative to the evidence root or already absolute.
    pub fn new(bytes: impl Into<Vec<u8>>) -> EvPath {
        let mut b: Vec<u8> = bytes.into();
        if b.first() != Some(&b'/') {
            b.insert(0, b'/');
        }
        EvPath(b)
    }

    /// The root of the evidence, `/`.
    pub(crate) fn root() -> EvPath {
        EvPath(vec![b'/'])
    }

    /// The raw bytes, starting with `/`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes without the leading `/`, as rule globs are written (`var/log/ns.log`).
    pub(crate) fn relative(&self) -> &[u8] {
        &self.0[1..]
    }

    /// The last component (the file name), empty for the root.
    pub(crate) fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => &self.0[i + 1..],
            None => &self.0,
        }
    }

    /// Appends one component.
    pub(crate) fn join(&self, name: &[u8]) -> EvPath {
        let mut b = self.0.clone();
        if b.last() != Some(&b'/') {
            b.push(b'/');
        }
        b.extend_from_slice(name);
        EvPath(b)
    }

    /// Appends one component in place (resolution walks paths without copying them).
    pub(crate) fn push(&mut self, name: &[u8]) {
        if self.0.last() != Some(&b'/') {
            self.0.push(b'/');
        }
        self.0.extend_from_slice(name);
    }

    /// Removes the last component in place; the root stays the root.
    pub(crate) fn pop(&mut self) {
        let cut = self.0.iter().rposition(|&b| b == b'/').unwrap_or(0);
        self.0.truncate(cut.max(1));
    }

    /// Length in bytes, the leading `/` included.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: the shortest path is the root, `/`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the bytes are valid UTF-8 (the JSON string is then exact).
    pub(crate) fn is_utf8(&self) -> bool {
        std::str::from_utf8(&self.0).is_ok()
    }

    /// The exact bytes in base64 (a report's `path_base64`) when they are not UTF-8; `None`
    /// when the path's string form is exact already.
    pub(crate) fn base64_if_inexact(&self) -> Option<String> {
        (!self.is_utf8()).then(|| base64(&self.0))
    }

    /// A lossless string form: valid UTF-8 is kept, each invalid byte becomes `\xNN` and a
    /// backslash becomes `\\`... only when the bytes are not UTF-8 (so ordinary paths read as is).
    pub(crate) fn to_lossless_string(&self) -> String {
        bytes_to_lossless_string(&self.0)
    }
}

impl fmt::Debug for EvPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvPath({:?})", self.to_lossless_string())
    }
}

impl Serialize for EvPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_lossless_string())
    }
}

/// Bytes taken from the evidence (a log line, an excerpt). Serialised like [`EvPath`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({:?})", bytes_to_lossless_string(&self.0))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&bytes_to_lossless_string(&self.0))
    }
}

/// Valid UTF-8 is returned as is; otherwise backslashes are doubled and every byte that is not
/// part of a valid UTF-8 sequence becomes `\xNN`, so the original bytes can be recovered.
pub fn bytes_to_lossless_string(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Standard base64 of raw bytes (used next to lossy path strings so that nothing is lost).
pub(crate) fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Where a finding's match came from inside a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id, e.g. `cve-2019-19781.template-directive`.
    pub rule: String,
    /// Rule pack the rule belongs to.
    pub(crate) pack: String,
    pub severity: Severity,
    pub(crate) title: String,
    /// Absolute path inside the evidence.
    pub path: EvPath,
    /// Set when `path` is not valid UTF-8: the exact path bytes, base64 (standard alphabet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path_base64: Option<String>,
    /// 1-based line number of the first matching line (line rules, and content rules whose
    /// match could be placed on a line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The first matching line, cut to a bounded length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) excerpt: Option<Bytes>,
    /// How many matching lines this finding stands for (identical hits collapse); 1 otherwise.
    pub count: u64,
    /// When `count > 1`: the last matching line's number and text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_excerpt: Option<Bytes>,
    /// What made the rule match, in words ("content matches `template.new`").
    pub(crate) reason: String,
    /// SHA-256 of the whole file (lower-case hex), when the file could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Modification time of the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mtime: Option<Timestamp>,
    /// When the (first) matching line was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) time: Option<Timestamp>,
    /// When `count > 1`: when the last matching line was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_time: Option<Timestamp>,
    /// True when the log line had no year and sporen inferred it (see the source's coverage).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) time_inferred: bool,
}

/// Why part of the evidence could not be examined. Serialised as `GapCause::as_str`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GapCause {
    /// An expected appliance location does not exist in the evidence.
    Missing,
    /// Opening or reading failed (permissions, I/O error).
    Unreadable,
    /// A directory could not be listed.
    UnlistableDir,
    /// Larger than the content-read cap: only the first part was examined.
    TooLarge,
    /// A gzip stream ended early or was corrupt: lines before the damage were examined.
    CorruptGzip,
    /// The file got shorter while it was being read.
    Shrank,
    /// A FIFO, socket or device: never opened.
    SpecialFile,
    /// A symbolic link that loops or points to nothing inside the evidence.
    BrokenSymlink,
    /// An archive is damaged: the members after the damage could not be read.
    CorruptArchive,
    /// A stated budget (an option such as `--max-file-bytes`) stopped the work early.
    Budget,
    /// A stretch of time in which a log source wrote no line although it normally would.
    Hole,
}

impl GapCause {
    /// The snake_case name every format writes (`unlistable_dir`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GapCause::Missing => "missing",
            GapCause::Unreadable => "unreadable",
            GapCause::UnlistableDir => "unlistable_dir",
            GapCause::TooLarge => "too_large",
            GapCause::CorruptGzip => "corrupt_gzip",
            GapCause::Shrank => "shrank",
            GapCause::SpecialFile => "special_file",
            GapCause::BrokenSymlink => "broken_symlink",
            GapCause::CorruptArchive => "corrupt_archive",
            GapCause::Budget => "budget",
            GapCause::Hole => "hole",
        }
    }
}

impl Serialize for GapCause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One piece of evidence that could not be (fully) examined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub path: EvPath,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path_base64: Option<String>,
    pub cause: GapCause,
    /// Human-readable detail ("Permission denied (os error 13)").
    pub detail: String,
    /// True when this gap alone prevents a `clean` verdict.
    pub blocks_clean: bool,
}

/// A period of time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Period {
    pub(crate) from: Timestamp,
    pub(crate) to: Timestamp,
}

/// How long one log usually goes without a line, and from how long a silence is a hole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SilenceLimit {
    /// The log (`/var/log/httpaccess.log`, every rotation).
    pub(crate) log: EvPath,
    /// The length of silence that, with all longer ones, fills half of the log's time
    /// (seconds; time the appliance was off not counted).
    pub(crate) usual_silence_seconds: i64,
    /// A silence at least this long is a hole (seconds).
    pub(crate) hole_after_seconds: i64,
}

/// A stretch in which an evidence source wrote no line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TimeGap {
    /// The last line before and the first line after; absent when unknown (a missing rotation
    /// whose neighbours hold no dated line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<Timestamp>,
    pub(crate) kind: TimeGapKind,
    pub(crate) status: TimeGapStatus,
    /// The files around it, or the missing rotations.
    pub(crate) paths: Vec<EvPath>,
    pub(crate) detail: String,
}

/// Where a [`TimeGap`] lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TimeGapKind {
    /// Rotations numbered in between are not in the evidence.
    MissingRotation,
    /// Between one file's last line and the next file's first.
    BetweenFiles,
    /// Between two neighbouring lines of one file.
    InsideFile,
    /// After the source's last line, while other logs went on.
    AfterLastLine,
}

/// What a [`TimeGap`] means for the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TimeGapStatus {
    /// Longer than the source usually goes without a line, or a missing rotation: inside an
    /// exposure window it keeps the verdict from `clean`.
    Hole,
    /// The appliance was off (a silence every log shares, ended by a boot record).
    ApplianceOff,
    /// Within what this source usually goes without a line.
    Quiet,
}

/// One log line that bounds a period, as evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct LogRecord {
    pub(crate) path: EvPath,
    pub(crate) line: u64,
    /// When it was logged.
    pub(crate) time: Timestamp,
    /// The line, cut to a bounded length.
    pub(crate) text: Bytes,
}

/// A period in which the appliance was off: every log silent, a boot record after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Downtime {
    /// The last record of any log before, and the first after.
    pub(crate) from: Timestamp,
    pub(crate) to: Timestamp,
    pub(crate) last_record: LogRecord,
    pub(crate) boot_record: LogRecord,
    /// A shutdown record shortly before `from`, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) shutdown_record: Option<LogRecord>,
    /// Firmware files written around it (an upgrade then), in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) firmware: Vec<String>,
    pub(crate) detail: String,
}

/// A hole inside an exposure window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct WindowHole {
    /// Evidence source id.
    pub(crate) source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<Timestamp>,
    pub(crate) detail: String,
}

/// One file of an evidence source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SourceFile {
    pub(crate) path: EvPath,
    /// Size as stored.
    pub(crate) bytes: u64,
    /// SHA-256 of the whole file, when it was read completely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sha256: Option<String>,
    /// First and last dated line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<Timestamp>,
    /// How the year of undated (syslog) lines was found, when it had to be inferred.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) year_inferred_from: Option<String>,
}

/// One evidence source a `clean` verdict depends on (access log, shell history, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SourceCoverage {
    /// Short id, e.g. `access-log`.
    pub(crate) id: String,
    /// What it is, e.g. `Apache access log (httpaccess.log)`.
    pub(crate) title: String,
    /// True when a clean verdict needs this source.
    pub(crate) required: bool,
    /// Earliest and latest dated line across all its files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) to: Option<Timestamp>,
    /// True when some of those times rest on an inferred year.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) year_inferred: bool,
    /// Per log of the source: how long it usually goes without a line, and from how long a
    /// silence is a hole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) silence_limits: Vec<SilenceLimit>,
    /// Holes, stretches in which the appliance was off, and silences of more than a day, oldest
    /// first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) time_gaps: Vec<TimeGap>,
    /// Files found for this source (all rotations), oldest first when dated, else by path.
    pub(crate) files: Vec<SourceFile>,
    /// Files of this source that were read completely.
    pub(crate) files_read: u64,
    /// Total bytes of these files as stored (compressed size for `.gz`).
    pub(crate) bytes: u64,
}

impl Gap {
    /// Builds a gap; the base64 form of the path is added when the path is not UTF-8.
    pub(crate) fn new(
        path: EvPath,
        cause: GapCause,
        detail: impl Into<String>,
        blocks_clean: bool,
    ) -> Gap {
        let path_base64 = path.base64_if_inexact();
        Gap {
            path,
            path_base64,
            cause,
            detail: detail.into(),
            blocks_clean,
        }
    }
}

/// What the scan saw and what it could not see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Coverage {
    /// True when the tree has the markers of a Citrix ADC / NetScaler filesystem.
    pub(crate) looks_like_appliance: bool,
    /// Directory entries of any kind that were visited.
    pub(crate) entries_seen: u64,
    pub(crate) files_seen: u64,
    /// Files whose content was read (completely or up to the cap).
    pub(crate) files_read: u64,
    /// Bytes read from files (as stored, before decompression).
    pub(crate) bytes_read: u64,
    pub(crate) dirs_seen: u64,
    pub(crate) symlinks_seen: u64,
    /// FIFOs, sockets and devices seen and deliberately not opened.
    pub(crate) special_files_skipped: u64,
    /// Evidence sources and their files.
    pub(crate) sources: Vec<SourceCoverage>,
    /// Everything that could not be examined, sorted by path then cause.
    pub(crate) gaps: Vec<Gap>,
    /// What reading may have changed or could not guarantee (access times), in words.
    pub(crate) notes: Vec<String>,
    /// The zone syslog header times were read in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) timezone: Option<TimeZone>,
    /// When the appliance was off, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) downtime: Vec<Downtime>,
}

/// The time zone syslog headers (which carry no zone) were read in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TimeZone {
    /// As `ns.conf` sets it (`GMT+01:00-CET-Europe/Amsterdam`), or `UTC`.
    pub(crate) zone: String,
    /// Standard offset (`+01:00`).
    pub(crate) utc_offset: String,
    /// Daylight saving as applied, in words.
    pub(crate) daylight_saving: String,
    /// The configuration the zone was read from; absent when it is assumed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<String>,
    /// True when no configuration states the zone and UTC was assumed.
    pub(crate) assumed: bool,
    pub(crate) note: String,
}

/// Whether the logs cover the period in which a pack's campaign could have left traces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct WindowCheck {
    /// Rule pack, e.g. `cve-2019-19781`.
    pub(crate) pack: String,
    /// What the window is (`CVE-2019-19781 exploitation`).
    pub(crate) title: String,
    /// Start of the period that must be covered.
    pub(crate) from: Timestamp,
    /// End of that period, when known (`--until`, or when fixed firmware was installed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) until: Option<Timestamp>,
    /// `covered`, `not_covered` or `not_relevant`.
    pub(crate) status: WindowStatus,
    /// Why, in one sentence.
    pub(crate) detail: String,
    /// What the examiner changed (`--since`, `--until`), in words; empty when nothing.
    pub(crate) examiner: Vec<String>,
    /// Holes of the window's sources inside it (they make it not covered).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) holes: Vec<WindowHole>,
    /// Periods inside it in which the appliance was off (counted as covered).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) appliance_off: Vec<Period>,
}

/// Outcome of a [`WindowCheck`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WindowStatus {
    /// Every source the pack needs has dated lines from before the window opened.
    Covered,
    /// Some source the pack needs is missing or starts after the window opened.
    NotCovered,
    /// The window does not concern this evidence (it predates the window, or the branch was
    /// never affected).
    NotRelevant,
}

/// Metadata of a file some finding points at (for timelines and bodyfiles).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct FlaggedFile {
    pub(crate) path: EvPath,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path_base64: Option<String>,
    pub(crate) size: u64,
    /// `st_mode` as `ls -l` shows it (`-rwsr-xr-x`).
    pub(crate) mode: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    /// Inode number, when the input has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) inode: Option<u64>,
    /// Modification and (where the input keeps it) birth time.
    pub(crate) mtime: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) btime: Option<Timestamp>,
    /// Access and inode change time, where the input holds them (a folder: those of the copy
    /// or mounted filesystem; a UFS image; a tar's PAX or old GNU fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) atime: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ctime: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sha256: Option<String>,
    /// Rules with findings on this file, sorted.
    pub(crate) rules: Vec<String>,
}

/// `ls -l` style mode string of a full `st_mode`.
pub(crate) fn mode_string(mode: u32) -> String {
    let kind = match mode & 0o170_000 {
        0o040_000 => 'd',
        0o120_000 => 'l',
        0o010_000 => 'p',
        0o140_000 => 's',
        0o020_000 => 'c',
        0o060_000 => 'b',
        _ => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(kind);
    for (shift, special, set_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (mode & special != 0, x) {
            (true, true) => set_char,
            (true, false) => set_char.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// Firmware, vulnerability and mitigation state, reported beside the verdict (never in it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Posture {
    /// Running firmware (`13.0-47.24`), from loader.conf or else the ns.conf header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) firmware: Option<String>,
    /// Where the version was read.
    pub(crate) firmware_evidence: Vec<String>,
    /// Sources that disagree (a stale ns.conf header after an upgrade).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) disagreements: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nsip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) timezone: Option<String>,
    /// Per CVE of `src/appliance/netscaler/cves.toml`.
    pub(crate) cves: Vec<CvePosture>,
    /// The published mitigations that apply, each with its parts and whether it held.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) mitigations: Vec<Mitigation>,
    /// When the verdict is `compromised`: secrets in the configuration to rotate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) secrets_to_rotate: Vec<String>,
}

/// One CVE's state for the running firmware.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct CvePosture {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) advisory: String,
    pub(crate) status: CveStatus,
    /// Why, in words (`13.0-47.22 is below the first fixed build 13.0-47.24`).
    pub(crate) evidence: String,
    /// The configuration that makes the appliance exposed, in words.
    pub(crate) requires: String,
    /// Whether the saved configuration holds what exposes the appliance (for a build that is
    /// vulnerable or whose status is unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exposure: Option<Exposure>,
    /// When the appliance left a vulnerable build, from dated sightings of its builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) left_vulnerable: Option<LeftVulnerable>,
}

/// Vulnerable, fixed, unknown or never affected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CveStatus {
    Vulnerable,
    Fixed,
    Unknown,
    NotAffected,
}

/// Whether the configuration exposes the appliance to a CVE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ExposureState {
    /// The saved configuration holds a line that exposes it.
    Exposed,
    /// It holds none of the lines that would.
    NotConfigured,
    /// No saved configuration, or what exposes it is not in the configuration.
    Unknown,
}

/// The configuration side of a CVE: what the saved configuration shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Exposure {
    pub(crate) state: ExposureState,
    /// In words: "vulnerable build, exposed configuration".
    pub(crate) summary: String,
    /// The lines that expose it (at most 5 per CVE).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) lines: Vec<ConfigLine>,
    /// What the configuration cannot tell (a reachable management interface).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) notes: Vec<String>,
}

/// One line of a configuration file, with what it shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ConfigLine {
    /// What it configures ("SAML IdP").
    pub(crate) what: String,
    pub(crate) path: String,
    pub(crate) line: u64,
    pub(crate) text: String,
}

/// The end of the exposure to a CVE: the last sighting of a vulnerable build and the first of a
/// build that is not, after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct LeftVulnerable {
    /// When a vulnerable build was first seen.
    pub(crate) vulnerable_from: Timestamp,
    pub(crate) vulnerable_build: String,
    /// When a build that is not vulnerable was first seen after it.
    pub(crate) at: Timestamp,
    pub(crate) build: String,
    /// Where each was seen, in words.
    pub(crate) evidence: String,
}

/// A published mitigation, its parts, and whether it held. Appliance-neutral: each part is a
/// named piece of configuration or an action, with where it was (or was not) found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Mitigation {
    /// The advisory or article that publishes it (`CTX267679`).
    pub(crate) id: String,
    /// What it is, in words.
    pub(crate) name: String,
    pub(crate) cve: String,
    pub(crate) parts: Vec<MitigationPart>,
    /// Every part present (and, where that is known, working on this build); `null` when a
    /// part could not be checked.
    pub(crate) effective: Option<bool>,
    /// The names of the parts found absent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) missing: Vec<String>,
    /// Since when it was in place: the oldest dated record of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) since: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) since_source: Option<String>,
    /// What the logs say about whether it worked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) held: Option<Held>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) notes: Vec<String>,
}

/// One part of a mitigation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct MitigationPart {
    pub(crate) name: String,
    /// `null` when the file that would show it is not in the evidence.
    pub(crate) present: Option<bool>,
    /// The line that shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<String>,
    /// Where it was looked for (and found: `path:line`).
    #[serde(rename = "where")]
    pub(crate) place: String,
}

/// Whether a mitigation held, judged from the logged answers to attempts after it was in place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Held {
    /// `true`: every attempt after the date was refused; `false`: some were answered.
    pub(crate) held: bool,
    /// In words: "from 2020-01-12 on, 7 attempts, all refused".
    pub(crate) summary: String,
    pub(crate) attempts_after: u64,
    pub(crate) refused_after: u64,
    pub(crate) attempts_before: u64,
    /// A few of the lines answered after the date (or refused, when it held).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) examples: Vec<Bytes>,
}

/// Per-rule summary, including rules that did not fire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct RuleHits {
    pub(crate) id: String,
    pub(crate) pack: String,
    pub(crate) severity: Severity,
    pub(crate) title: String,
    /// Number of findings (a collapsed finding counts once).
    pub(crate) findings: u64,
    /// Number of matching lines or files behind those findings.
    pub(crate) hits: u64,
    /// Earliest and latest logged time of its findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) first_seen: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_seen: Option<Timestamp>,
}

/// Name and version of the tool that wrote the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ToolInfo {
    pub(crate) name: String,
    pub(crate) version: String,
}

/// What was scanned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TargetInfo {
    /// The target as given on the command line (host path).
    pub(crate) path: String,
    /// How the evidence was read: `directory`, `tar`, `support-bundle`, `tar-stdin`, `ssh`.
    pub(crate) input: String,
    /// What the input held ("gzip-compressed tar archive, 412 members; ...").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
    /// Every input file or stream with its size and SHA-256 as received (empty for a folder).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) inputs: Vec<InputFile>,
}

/// One input (archive, disk image, the standard-input or SSH stream) as sporen received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputFile {
    /// As given on the command line (`-` for standard input, `ssh://host` for SSH).
    pub(crate) path: String,
    /// Bytes received and hashed.
    pub(crate) bytes: u64,
    /// SHA-256 of those bytes; absent when reading failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sha256: Option<String>,
    /// False when sporen stopped reading before the input ended (a budget, an error).
    pub(crate) complete: bool,
}

/// A complete scan report; every renderer works from this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub(crate) schema: String,
    pub(crate) tool: ToolInfo,
    pub(crate) target: TargetInfo,
    pub verdict: Verdict,
    /// Why this verdict, in sentences, most important first.
    pub reasons: Vec<String>,
    /// Firmware, vulnerability and mitigation: beside the verdict, not part of it.
    pub(crate) posture: Posture,
    /// SHA-256 over the rule sources that were in force (order-independent).
    pub(crate) rules_sha256: String,
    pub(crate) coverage: Coverage,
    /// Per rule pack with an exposure window: are its logs there for that period?
    pub(crate) windows: Vec<WindowCheck>,
    /// Sorted: severity (most severe first), rule id, path, line.
    pub(crate) findings: Vec<Finding>,
    /// Every file a finding points at, sorted by path.
    pub(crate) flagged_files: Vec<FlaggedFile>,
    /// Every rule in force, sorted by id, with its hit counts (zeros included).
    pub(crate) rules: Vec<RuleHits>,
    /// The command line of the run, for the HTML report's record of the run. Not in the
    /// machine formats (their schema has no place for it yet).
    #[serde(skip)]
    pub(crate) arguments: Vec<String>,
}

/// Schema identifier written into every JSON report.
pub(crate) const REPORT_SCHEMA: &str = "sporen.report/1";

/// A moment in time: whole seconds since the Unix epoch, UTC.
///
/// Every time in a [`Report`] is one. Ordered and compared as a number; written as RFC 3339 UTC
/// (`2020-01-11T23:41:07Z`) by [`fmt::Display`] and [`Serialize`], and in the shorter forms the
/// text report and the reasons use by [`Timestamp::date`] and [`Timestamp::minute`]. A moment
/// outside the calendar's range (a hostile file time) is written as its number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Timestamp(i64);

impl Timestamp {
    /// The moment `secs` seconds after 1970-01-01T00:00:00Z (before it when negative).
    pub(crate) const fn from_unix(secs: i64) -> Timestamp {
        Timestamp(secs)
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub(crate) const fn unix(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 time with any offset (`2020-01-11T23:41:07Z`,
    /// `2020-01-12T00:41:07+01:00`); fractions of a second are dropped.
    pub(crate) fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Timestamp(t.timestamp()))
    }

    /// The day, `2020-01-11` (the first ten characters of the RFC 3339 form).
    pub(crate) fn date(self) -> String {
        let mut s = self.to_string();
        s.truncate(10);
        s
    }

    /// Day, hour and minute, `2020-01-11 23:41`: how the text report and the reasons write a
    /// time (the first sixteen characters of the RFC 3339 form, `T` as a space).
    pub(crate) fn minute(self) -> String {
        let mut s = self.to_string();
        s.truncate(16);
        s.replace('T', " ")
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 UTC, `2020-01-11T23:41:07Z`; the number of seconds when out of range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match chrono::DateTime::from_timestamp(self.0, 0) {
            Some(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%SZ")),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for Timestamp {
    /// The RFC 3339 string of [`fmt::Display`].
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    /// Reads the RFC 3339 string [`Serialize`] writes (any offset).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossless_string_keeps_utf8_and_escapes_invalid_bytes() {
        assert_eq!(bytes_to_lossless_string(b"/var/a\\b"), "/var/a\\b");
        assert_eq!(bytes_to_lossless_string(b"/x\xff\\y"), "/x\\xff\\\\y");
    }

    #[test]
    fn evpath_parts() {
        let p = EvPath::new(&b"var/log/ns.log"[..]);
        assert_eq!(p.as_bytes(), b"/var/log/ns.log");
        assert_eq!(p.relative(), b"var/log/ns.log");
        assert_eq!(p.file_name(), b"ns.log");
        assert_eq!(EvPath::root().join(b"etc").as_bytes(), b"/etc");
    }

    #[test]
    fn timestamps_write_and_read_rfc3339() {
        let t = Timestamp::from_unix(1_578_786_067);
        assert_eq!(t.to_string(), "2020-01-11T23:41:07Z");
        assert_eq!(t.date(), "2020-01-11");
        assert_eq!(t.minute(), "2020-01-11 23:41");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2020-01-11T23:41:07Z\""
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2020-01-12T00:41:07+01:00"),
            Some(t)
        );
        let back: Timestamp = serde_json::from_str("\"2020-01-11T23:41:07Z\"").unwrap();
        assert_eq!(back, t);
        assert!(serde_json::from_str::<Timestamp>("\"2020-01-11\"").is_err());
        assert!(Timestamp::from_unix(-1) < t);
        assert_eq!(Timestamp::from_unix(-1).to_string(), "1969-12-31T23:59:59Z");
        // Beyond the calendar: the seconds, in every form.
        assert_eq!(
            Timestamp::from_unix(i64::MAX).to_string(),
            i64::MAX.to_string()
        );
        assert_eq!(Timestamp::from_unix(i64::MAX).minute(), "9223372036854775");
    }

    #[test]
    fn mode_strings() {
        assert_eq!(mode_string(0o100_644), "-rw-r--r--");
        assert_eq!(mode_string(0o104_775), "-rwsrwxr-x");
        assert_eq!(mode_string(0o042_755), "drwxr-sr-x");
        assert_eq!(mode_string(0o120_777), "lrwxrwxrwx");
        assert_eq!(mode_string(0o104_644), "-rwSr--r--");
    }

    #[test]
    fn severity_order_and_names() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        for s in Severity::DESCENDING {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
    }
}
