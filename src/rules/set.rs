//! The compiled, immutable rule set: rules sorted by id plus the dispatch tables the scanner
//! uses to find, for one path, the few rules that can apply (one glob pass, not one per rule).
//!
//! Rule files are read only when they are regular files and only up to a size budget: a FIFO
//! must never block a run, a device never fill memory; each refusal is a located diagnostic.

use super::baseline::Baseline;
use super::diag::{Code, Diagnostic};
use super::load::{self, compile_regex};
use super::{Matcher, Pack, Patterns, Rule, embedded};
use crate::rules::indicators::Indicators;
use crate::util::glob;
use globset::GlobSet;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Where rules come from for one run.
#[derive(Clone, Debug, Default)]
pub struct RuleSources {
    /// Include the packs embedded in the binary.
    pub embedded: bool,
    /// Extra rule files or folders (folders: every `*.toml` below, sorted).
    pub paths: Vec<PathBuf>,
    /// The stock baseline the rules' `baseline` conditions consult: (file name, text), the
    /// examined appliance family's.
    pub baseline: (&'static str, &'static str),
}

/// Pattern ids (for [`RuleSet::pattern`]) of one rule, by group.
#[derive(Clone, Debug, Default)]
pub struct PatternIds {
    /// One of them must match (when there are any).
    pub(crate) any: Vec<usize>,
    /// Every one must match.
    pub(crate) all: Vec<usize>,
    /// None may match.
    pub(crate) none: Vec<usize>,
}

impl PatternIds {
    /// Every id, groups in order (`any`, `all`, `none`).
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.any.iter().chain(&self.all).chain(&self.none).copied()
    }
}

/// The compiled rules of a run. Immutable and shareable across threads.
#[derive(Debug)]
pub struct RuleSet {
    /// Sorted by id.
    packs: Vec<Pack>,
    /// Sorted by id.
    rules: Vec<Rule>,
    /// SHA-256 over the sorted (name, source) pairs the rules were loaded from.
    sources_sha256: String,
    /// Every distinct content and line pattern, compiled once.
    patterns: Vec<regex::bytes::Regex>,
    /// Per rule (same index as `rules`): its pattern ids.
    pattern_ids: Vec<PatternIds>,
    /// Per rule: its exclusion globs, if any.
    excludes: Vec<Option<GlobSet>>,
    /// The stock baseline the `baseline` conditions consult.
    baseline: Baseline,
    /// The literal indicators of every rule in force (detection-tool recognition).
    indicators: Indicators,
    /// Per rule: its own indicator list, if it gives one.
    rule_indicators: Vec<Option<Indicators>>,
    file_globs: GlobSet,
    file_glob_rule: Vec<usize>,
    file_everywhere: Vec<usize>,
    line_globs: GlobSet,
    line_glob_rule: Vec<usize>,
}

impl RuleSet {
    /// Loads and compiles rules; any problem anywhere returns *all* diagnostics instead.
    pub fn load(sources: &RuleSources) -> Result<RuleSet, Vec<Diagnostic>> {
        let mut files: Vec<(String, String)> = Vec::new();
        let mut diags = Vec::new();
        if sources.embedded {
            for (name, src) in embedded::PACKS {
                files.push(((*name).to_owned(), (*src).to_owned()));
            }
        }
        let builtin = files.len();
        let mut budget = Budget::new();
        for p in &sources.paths {
            collect_files(p, &mut files, &mut diags, &mut budget);
        }
        // A given file identical to a built-in pack (`rules check rules/` in a checkout) is that
        // pack: loaded once. An edited copy keeps its id and is a duplicate.
        let (shipped, given) = files.split_at(builtin);
        let given: Vec<(String, String)> = given
            .iter()
            .filter(|(_, src)| !shipped.iter().any(|(_, s)| s == src))
            .cloned()
            .collect();
        files.truncate(builtin);
        files.extend(given);
        if files.is_empty() && diags.is_empty() {
            diags.push(Diagnostic::whole_file(
                Code::E028,
                "<rules>",
                "no rule files given: a scan without rules would prove nothing",
            ));
        }
        Self::from_sources(files, diags, sources.baseline)
    }

    /// Compiles named rule sources (name, TOML text) with a stock baseline (name, text).
    /// Problems in the baseline are reported with the rules' problems: nothing runs with
    /// either broken.
    pub fn from_sources(
        mut files: Vec<(String, String)>,
        mut diags: Vec<Diagnostic>,
        baseline_text: (&str, &str),
    ) -> Result<RuleSet, Vec<Diagnostic>> {
        let baseline = match Baseline::from_text(baseline_text) {
            Ok(b) => b,
            Err(d) => {
                diags.extend(d);
                Baseline::default()
            }
        };
        files.sort();
        let mut packs: Vec<Pack> = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        let mut hasher = Sha256::new();
        for (name, src) in &files {
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update((src.len() as u64).to_le_bytes());
            hasher.update(src.as_bytes());
            let parsed = load::parse_source(name, src);
            diags.extend(parsed.diagnostics);
            if let Some(pack) = parsed.pack {
                if let Some(first) = packs.iter().find(|p| p.id == pack.id) {
                    diags.push(located(
                        Code::E007,
                        &pack.origin,
                        src,
                        format!("duplicate pack id `{}`", pack.id),
                        format!("first defined at {}", first.origin),
                    ));
                } else {
                    packs.push(pack);
                }
            }
            for rule in parsed.rules {
                if let Some(first) = rules.iter().find(|r| r.id == rule.id) {
                    diags.push(located(
                        Code::E007,
                        &rule.origin,
                        src,
                        format!("duplicate rule id `{}`", rule.id),
                        format!("first defined at {}", first.origin),
                    ));
                } else {
                    rules.push(rule);
                }
            }
        }
        if !diags.is_empty() {
            diags.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
            diags.dedup();
            return Err(diags);
        }
        if rules.is_empty() {
            return Err(vec![Diagnostic::whole_file(
                Code::E028,
                "<rules>",
                "no rules were loaded",
            )]);
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        packs.sort_by(|a, b| a.id.cmp(&b.id));
        let (name, src) = baseline_text;
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((src.len() as u64).to_le_bytes());
        hasher.update(src.as_bytes());
        let sources_sha256 = crate::util::bytes::hex(&hasher.finalize());
        Self::compile(packs, rules, sources_sha256, baseline).map_err(|e| {
            vec![Diagnostic::whole_file(
                Code::E011,
                "<rules>",
                format!("rules could not be compiled together: {e}"),
            )]
        })
    }

    fn compile(
        packs: Vec<Pack>,
        rules: Vec<Rule>,
        sources_sha256: String,
        baseline: Baseline,
    ) -> Result<RuleSet, String> {
        let mut interner = Interner::default();
        let mut pattern_ids = Vec::new();
        let mut excludes = Vec::new();
        let (mut file_g, mut file_glob_rule, mut file_everywhere) =
            (Vec::new(), Vec::new(), Vec::new());
        let (mut line_g, mut line_glob_rule) = (Vec::new(), Vec::new());
        for (i, rule) in rules.iter().enumerate() {
            let (on_files, globs, pats, excl) = parts(rule);
            if on_files && globs.is_empty() {
                file_everywhere.push(i);
            }
            let (g, owner) = if on_files {
                (&mut file_g, &mut file_glob_rule)
            } else {
                (&mut line_g, &mut line_glob_rule)
            };
            g.extend(globs.iter().cloned());
            owner.extend(std::iter::repeat_n(i, globs.len()));
            pattern_ids.push(PatternIds {
                any: interner.ids(&pats.any)?,
                all: interner.ids(&pats.all)?,
                none: interner.ids(&pats.none)?,
            });
            excludes.push(if excl.is_empty() {
                None
            } else {
                Some(glob::set(excl).map_err(|e| e.to_string())?)
            });
        }
        let patterns = interner.patterns;
        let indicators = Indicators::from_rules(&rules);
        let rule_indicators = rules
            .iter()
            .map(|r| match &r.matcher {
                Matcher::File(f) => f
                    .indicators
                    .as_ref()
                    .filter(|i| !i.list.is_empty())
                    .map(|i| Indicators::from_list(&i.list)),
                _ => None,
            })
            .collect();
        Ok(RuleSet {
            indicators,
            rule_indicators,
            packs,
            rules,
            sources_sha256,
            patterns,
            pattern_ids,
            excludes,
            baseline,
            file_globs: glob::set(&file_g).map_err(|e| e.to_string())?,
            file_glob_rule,
            file_everywhere,
            line_globs: glob::set(&line_g).map_err(|e| e.to_string())?,
            line_glob_rule,
        })
    }

    /// The rules, sorted by id. A rule's index here is the `rule` every other query takes.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule at index `rule` of [`RuleSet::rules`].
    ///
    /// # Panics
    /// When `rule` is out of range.
    pub fn rule(&self, rule: usize) -> &Rule {
        &self.rules[rule]
    }

    /// The packs the rules come from, sorted by id.
    pub(crate) fn packs(&self) -> &[Pack] {
        &self.packs
    }

    /// SHA-256 (lower-case hex) over the sorted (name, source) pairs the rules and the stock
    /// baseline were loaded from: which rules a report was made with.
    pub(crate) fn sources_sha256(&self) -> &str {
        &self.sources_sha256
    }

    /// The stock baseline the `baseline` conditions consult.
    pub(crate) fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// The ids of the content or line patterns of rule `rule` (a correlate rule's records are
    /// `any` patterns, `[first, then]` or `[then]`), for [`RuleSet::pattern`].
    pub fn patterns_of(&self, rule: usize) -> &PatternIds {
        &self.pattern_ids[rule]
    }

    /// The record pattern ids of correlate rule `rule`: its `first` record (when it has one)
    /// and its `then` record. `None` for a rule of another kind.
    pub(crate) fn records_of(&self, rule: usize) -> Option<(Option<usize>, usize)> {
        let Matcher::Correlate(c) = &self.rules[rule].matcher else {
            return None;
        };
        let ids = &self.pattern_ids[rule].any;
        let then = *ids.last()?;
        Some((c.first.as_ref().and(ids.first().copied()), then))
    }

    /// The compiled pattern with id `id`; rules with the same pattern share one id.
    ///
    /// # Panics
    /// When `id` is not below [`RuleSet::pattern_count`].
    pub fn pattern(&self, id: usize) -> &regex::bytes::Regex {
        &self.patterns[id]
    }

    /// How many distinct patterns the rules have.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// The indicators the `[rule.file.indicators]` condition of rule `rule` counts, and whose
    /// they are: the rule's own list (`Some(rule)`), or the literal indicators of every rule
    /// in force (`None`, the same set for every rule without a list).
    pub(crate) fn indicators_for(&self, rule: usize) -> (Option<usize>, &Indicators) {
        match &self.rule_indicators[rule] {
            Some(own) => (Some(rule), own),
            None => (None, &self.indicators),
        }
    }

    /// File rules whose paths match `rel` (the path without its leading `/`), plus the rules
    /// that apply everywhere; exclusions applied. Sorted, without duplicates.
    pub(crate) fn file_rules_for(&self, rel: &[u8]) -> Vec<usize> {
        let p = glob::as_path(rel);
        let mut out: Vec<usize> = self
            .file_globs
            .matches(p)
            .into_iter()
            .map(|g| self.file_glob_rule[g])
            .chain(self.file_everywhere.iter().copied())
            .filter(|&r| !self.is_excluded(r, p))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Line rules that read `rel`: its log family (rotation suffix stripped) matches a rule's
    /// `logs`. Sorted, without duplicates.
    pub(crate) fn line_rules_for(&self, rel: &[u8]) -> Vec<usize> {
        let family = glob::as_path(glob::log_family(rel));
        let p = glob::as_path(rel);
        let mut out: Vec<usize> = self
            .line_globs
            .matches(family)
            .into_iter()
            .map(|g| self.line_glob_rule[g])
            .filter(|&r| !self.is_excluded(r, p))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn is_excluded(&self, rule: usize, p: &Path) -> bool {
        self.excludes[rule].as_ref().is_some_and(|g| g.is_match(p))
    }
}

fn located(code: Code, at: &super::Origin, src: &str, msg: String, help: String) -> Diagnostic {
    Diagnostic {
        code,
        file: at.file.clone(),
        line: at.line,
        column: at.column,
        message: msg,
        source_line: src
            .lines()
            .nth(at.line.saturating_sub(1))
            .unwrap_or("")
            .to_owned(),
        width: 1,
        help: Some(help),
    }
}

/// Most bytes read from one rule file. A pack of indicators is kilobytes; anything near this
/// is a log or an image given as rules by mistake, and must not fill memory.
pub const MAX_RULE_FILE: u64 = 8 << 20;

/// Most bytes read from all rule files of one run together.
pub const MAX_RULE_BYTES: u64 = 64 << 20;

/// What is left to read of the rule files of one run.
struct Budget {
    per_file: u64,
    total: u64,
    left: u64,
}

impl Budget {
    fn new() -> Budget {
        Budget {
            per_file: MAX_RULE_FILE,
            total: MAX_RULE_BYTES,
            left: MAX_RULE_BYTES,
        }
    }
}

/// Reads files named on the command line as rule sources are read: regular files only, within
/// the per-file and total budgets, UTF-8; every refusal is a diagnostic. For baseline files
/// given to `rules check`.
pub fn read_sources(paths: &[PathBuf]) -> (Vec<(String, String)>, Vec<Diagnostic>) {
    let (mut files, mut diags) = (Vec::new(), Vec::new());
    let mut budget = Budget::new();
    for p in paths {
        read_file(p, &mut files, &mut diags, &mut budget);
    }
    (files, diags)
}

fn collect_files(
    p: &Path,
    files: &mut Vec<(String, String)>,
    diags: &mut Vec<Diagnostic>,
    budget: &mut Budget,
) {
    let name = p.display().to_string();
    // stat, not open: a FIFO or device named here is reported by `read_file`, never waited on.
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) => {
            diags.push(Diagnostic::whole_file(
                Code::E011,
                &name,
                format!("cannot read rules: {e}"),
            ));
            return;
        }
    };
    if !meta.is_dir() {
        read_file(p, files, diags, budget);
        return;
    }
    let found = list_folder(p, &name, diags);
    if found.is_empty() {
        diags.push(Diagnostic::whole_file(
            Code::E028,
            &name,
            "rule folder holds no *.toml files",
        ));
    }
    for f in found {
        read_file(&f, files, diags, budget);
    }
}

/// Every `*.toml` below `dir` that is not a folder, sorted. Links to rule files are listed
/// (and followed when read); FIFOs and devices are listed too, so that reading reports them
/// instead of skipping them silently.
fn list_folder(dir: &Path, name: &str, diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        match entry {
            Ok(e)
                if !e.file_type().is_dir() && e.path().extension().is_some_and(|x| x == "toml") =>
            {
                found.push(e.into_path());
            }
            Ok(_) => {}
            Err(e) => diags.push(Diagnostic::whole_file(
                Code::E011,
                name,
                format!("cannot list rule folder: {e}"),
            )),
        }
    }
    found
}

fn read_file(
    p: &Path,
    files: &mut Vec<(String, String)>,
    diags: &mut Vec<Diagnostic>,
    budget: &mut Budget,
) {
    let name = p.display().to_string();
    let bytes = match read_bounded(p, budget) {
        Ok(b) => b,
        Err(e) => {
            diags.push(e.diagnostic(&name, budget));
            return;
        }
    };
    match String::from_utf8(bytes) {
        Ok(s) => files.push((name, s)),
        Err(e) => diags.push(Diagnostic::whole_file(
            Code::E014,
            &name,
            format!(
                "rule file is not UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ),
        )),
    }
}

/// Why a rule file was not read.
#[derive(Debug)]
enum ReadError {
    Io(std::io::Error),
    /// A FIFO, a device, a socket, a folder: what it is.
    NotAFile(&'static str),
    /// At least this many bytes, more than the budget allows.
    TooBig(u64),
}

impl ReadError {
    fn diagnostic(&self, name: &str, budget: &Budget) -> Diagnostic {
        let (code, message, help) = match self {
            ReadError::Io(e) => (Code::E011, format!("cannot read rules: {e}"), None),
            ReadError::NotAFile(kind) => (
                Code::E012,
                format!("rule source is not a regular file ({kind}); it was not read"),
                Some("name rule files (*.toml) or folders of them"),
            ),
            ReadError::TooBig(len) if *len > budget.per_file => (
                Code::E029,
                format!(
                    "rule file is larger than {}; it was not read",
                    size(budget.per_file)
                ),
                Some(BIG_HELP),
            ),
            ReadError::TooBig(_) => (
                Code::E030,
                format!(
                    "rule files together exceed {}; this one was not read",
                    size(budget.total)
                ),
                Some(BIG_HELP),
            ),
        };
        let mut d = Diagnostic::whole_file(code, name, message);
        d.help = help.map(str::to_owned);
        d
    }
}

const BIG_HELP: &str = "a rule pack is TOML text of a few kilobytes: is this the right file?";

/// Reads one rule file: a regular file only (a FIFO would block, a device never ends), and
/// never more than the budget allows.
fn read_bounded(p: &Path, budget: &mut Budget) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then rejects it.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(p)
        .map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile(crate::output::file_kind(
            &meta.file_type(),
        )));
    }
    let cap = budget.per_file.min(budget.left);
    if meta.len() > cap {
        return Err(ReadError::TooBig(meta.len()));
    }
    let mut bytes = Vec::new();
    // The size can change after fstat; the read stops one byte past the cap either way.
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > cap {
        return Err(ReadError::TooBig(read));
    }
    budget.left -= read;
    Ok(bytes)
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// Compiled patterns, each distinct one once: identical patterns (the same record regex in
/// several correlate rules, a common IOC string) share an id, so a line is searched once.
#[derive(Default)]
struct Interner {
    patterns: Vec<regex::bytes::Regex>,
    index: std::collections::HashMap<String, usize>,
}

impl Interner {
    /// The ids of a group of patterns, compiling the ones not seen before.
    fn ids(&mut self, group: &[super::Pattern]) -> Result<Vec<usize>, String> {
        group
            .iter()
            .map(|p| {
                if let Some(&id) = self.index.get(&p.compiled) {
                    return Ok(id);
                }
                self.patterns
                    .push(compile_regex(&p.compiled).map_err(|e| e.to_string())?);
                self.index
                    .insert(p.compiled.clone(), self.patterns.len() - 1);
                Ok(self.patterns.len() - 1)
            })
            .collect()
    }
}

/// What a rule applies to: whether it reads files (else log lines), its path globs, its
/// patterns (a correlate rule's records are `any` patterns, `[first, then]` or `[then]`; a
/// timeline rule reads lines without patterns) and its excluded paths.
fn parts(rule: &Rule) -> (bool, &[String], Cow<'_, Patterns>, &[String]) {
    match &rule.matcher {
        Matcher::File(f) => (true, &f.paths, Cow::Borrowed(&f.content), &f.exclude_paths),
        Matcher::Lines(l) => (false, &l.logs, Cow::Borrowed(&l.patterns), &l.exclude_paths),
        Matcher::Correlate(c) => {
            let records = Patterns {
                any: c
                    .first
                    .iter()
                    .chain(std::iter::once(&c.then))
                    .cloned()
                    .collect(),
                ..Patterns::default()
            };
            (false, &c.logs, Cow::Owned(records), &c.exclude_paths)
        }
        Matcher::Timeline(t) => (
            false,
            &t.logs,
            Cow::Owned(Patterns::default()),
            &t.exclude_paths,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(id: &str, body: &str) -> (String, String) {
        (
            format!("{id}.toml"),
            format!("[pack]\nid = \"{id}\"\ntitle = \"t\"\ndescription = \"d\"\n{body}"),
        )
    }

    const RULES: &str = r#"
[[rule]]
id = "p.cron"
title = "t"
description = "d"
severity = "high"
[rule.lines]
logs = ["var/log/cron"]
any = ["(nobody) CMD"]

[[rule]]
id = "p.tab"
title = "t"
description = "d"
severity = "high"
[rule.file]
paths = ["var/cron/tabs/*"]
exclude_paths = ["var/cron/tabs/root"]

[[rule]]
id = "p.suid"
title = "t"
description = "d"
severity = "high"
[rule.file]
mode = { any = "6000" }
"#;

    #[test]
    fn dispatch_by_path_and_family() {
        let set = RuleSet::from_sources(
            vec![pack("p", RULES)],
            vec![],
            crate::appliance::netscaler::BASELINE,
        )
        .unwrap();
        let ids = |v: Vec<usize>| {
            v.into_iter()
                .map(|i| set.rule(i).id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(set.line_rules_for(b"var/log/cron.3.gz")), ["p.cron"]);
        assert!(set.line_rules_for(b"var/log/cronx").is_empty());
        assert_eq!(
            ids(set.file_rules_for(b"var/cron/tabs/nobody")),
            ["p.suid", "p.tab"]
        );
        assert_eq!(ids(set.file_rules_for(b"var/cron/tabs/root")), ["p.suid"]);
        assert_eq!(set.sources_sha256().len(), 64);
        assert!(set.rules().iter().any(|r| r.id == "p.tab"));
    }

    #[test]
    fn rule_files_are_read_within_a_per_file_and_a_total_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, len) in [
            ("a.toml", 90),
            ("b.toml", 90),
            ("c.toml", 150),
            ("d.toml", 90),
        ] {
            std::fs::write(dir.path().join(name), "#".repeat(len)).expect("write");
        }
        let (mut files, mut diags) = (Vec::new(), Vec::new());
        let mut budget = Budget {
            per_file: 100,
            total: 250,
            left: 250,
        };
        collect_files(dir.path(), &mut files, &mut diags, &mut budget);
        let read: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert!(read.len() == 2 && read[0].ends_with("a.toml") && read[1].ends_with("b.toml"));
        let said: Vec<(&str, &str)> = diags
            .iter()
            .map(|d| (&d.file[d.file.len() - 6..], d.message.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                (
                    "c.toml",
                    "rule file is larger than 100 bytes; it was not read"
                ),
                (
                    "d.toml",
                    "rule files together exceed 250 bytes; this one was not read"
                ),
            ]
        );
        let codes: Vec<Code> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::E029, Code::E030]);
        assert_eq!(budget.left, 70);
    }

    #[test]
    fn duplicate_ids_across_files_are_errors() {
        let err = RuleSet::from_sources(
            vec![pack("p", RULES), pack("q", RULES)],
            vec![],
            crate::appliance::netscaler::BASELINE,
        )
        .unwrap_err();
        assert_eq!(err.iter().filter(|d| d.code == Code::E007).count(), 3);
        let err = RuleSet::from_sources(vec![], vec![], crate::appliance::netscaler::BASELINE)
            .unwrap_err();
        assert_eq!(err[0].code, Code::E028);
    }
}
