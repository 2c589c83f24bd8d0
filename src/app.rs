//! Command dispatch: turns parsed arguments into library calls and an [`ExitCode`]. A scan
//! starts only from a `ScanConfig`, never from the parsed arguments themselves.
//! Diagnostics go to standard error, reports to standard output or `--output`. A report that
//! could not be written is never a verdict: it is exit 2 with the reason on standard error.

use crate::appliance::{Appliance, Registered};
use crate::cli::{Cli, Command, FleetArgs, RuleArgs, RulesCommand};
use crate::config::{CheckedRules, ConfigError, ScanConfig, check_rules, rule_sources};
use crate::exit::ExitCode;
use crate::input::Evidence;
use crate::input::open::open_evidence;
use crate::model::{
    EvPath, FlaggedFile, REPORT_SCHEMA, Report, RuleHits, TargetInfo, Timestamp, ToolInfo,
    mode_string,
};
use crate::output::{OutputError, write_stdout};
use crate::report;
use crate::rules::set::RuleSources;
use crate::rules::{Diagnostic, RuleSet};
use crate::scan::{ScanOptions, Scanner};
use crate::selftest::run_examples;
use crate::verdict::{WindowOverrides, assess};
use anyhow::{Result, bail};
use clap::Parser;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Runs `sporen` with the given arguments (including the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::Error
            } else {
                ExitCode::Clean
            };
        }
    };
    let family = Registered::named(&cli.appliance).unwrap_or(Registered::default_family());
    let result = match cli.command {
        Command::Scan(a) => match ScanConfig::from_args(&a, family) {
            Ok(config) => exec_scan(&config, &args),
            Err(problems) => Ok(refuse(&problems)),
        },
        Command::Rules(RulesCommand::List { rules, json }) => exec_rules_list(&rules, family, json),
        Command::Rules(RulesCommand::Check {
            paths,
            rules,
            no_builtin_rules,
            json,
        }) => exec_rules_check(&[paths, rules].concat(), no_builtin_rules, family, json),
        Command::Rules(RulesCommand::Test { rules }) => exec_rules_test(&rules, family),
        Command::Baseline { build, json } => exec_baseline(build.as_deref(), family, json),
        Command::Fleet(a) => exec_fleet(&a),
        Command::Completions { shell } => {
            printed(write_stdout(|w| crate::manual::write_completions(shell, w)))
        }
        Command::Man => printed(write_stdout(crate::manual::write_man)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            note(&format!("sporen: error: {e:#}"));
            ExitCode::Error
        }
    }
}

/// Exit code 0 once a generated text (completions, man page) reached standard output.
fn printed(written: Result<(), OutputError>) -> Result<ExitCode> {
    written?;
    Ok(ExitCode::Clean)
}

/// Prints a line on standard error. When even that fails there is nobody left to tell, and
/// the exit code still says what happened.
fn note(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Loads and checks rules as `scan` does, or prints every diagnostic and returns `None`.
fn load_rules(r: &RuleArgs, family: &'static Registered) -> Option<CheckedRules> {
    match check_rules(&rule_sources(r, family), family) {
        Ok(checked) => Some(checked),
        Err(diags) => {
            print_diagnostics(&diags);
            None
        }
    }
}

/// Prints every problem that stops a scan before it starts: the arguments' first, then the
/// rules' diagnostics with their count.
fn refuse(problems: &ConfigError) -> ExitCode {
    for p in &problems.arguments {
        note(&format!("sporen: error: {p}"));
    }
    if !problems.rules.is_empty() {
        print_diagnostics(&problems.rules);
    }
    ExitCode::Error
}

fn print_diagnostics(diags: &[Diagnostic]) {
    let mut err = io::stderr().lock();
    for d in diags {
        let _ = writeln!(err, "{d}");
    }
    let _ = writeln!(
        err,
        "sporen: {} problem{} in the rules; nothing was scanned",
        diags.len(),
        if diags.len() == 1 { "" } else { "s" }
    );
}

/// Reads the reports, merges them and writes the fleet report; every refused report is named.
fn exec_fleet(a: &FleetArgs) -> Result<ExitCode> {
    let destination = crate::output::Destination::prepare(a.output.as_deref(), &a.reports);
    let rows = crate::fleet::load::report_files(&a.reports)
        .and_then(|files| crate::fleet::load::load_rows(&files));
    let (rows, destination) = match (rows, destination) {
        (Ok(rows), Ok(d)) => (rows, d),
        (rows, d) => {
            for p in rows.err().unwrap_or_default() {
                note(&format!("sporen: error: {p}"));
            }
            if let Err(e) = d {
                note(&format!("sporen: error: {:#}", anyhow::Error::new(e)));
            }
            note("sporen: no fleet report was written");
            return Ok(ExitCode::Error);
        }
    };
    let fleet = crate::fleet::Fleet::new(rows);
    destination.write(|w| crate::fleet::render::render(&fleet, a.format, w))?;
    if let Some(path) = destination.path() {
        note(&format!(
            "sporen: {} appliances, worst {}; fleet report written to {}",
            fleet.totals.appliances,
            fleet.worst.as_str(),
            crate::report::sanitize::escape_bytes(path.as_os_str().as_encoded_bytes())
        ));
    }
    Ok(fleet.exit_code())
}

/// Opens the evidence, scans it and writes the report, with everything checked beforehand.
fn exec_scan(config: &ScanConfig, args: &[OsString]) -> Result<ExitCode> {
    let (evidence, target_name) = open_evidence(&config.input)?;
    let mut report = with_progress(config.options.progress.as_deref(), || {
        build_report(
            evidence.as_ref(),
            &config.rules,
            &config.appliance,
            &target_name,
            &config.options,
            &config.windows,
        )
    });
    report.arguments = args
        .iter()
        .map(|a| crate::report::sanitize::escape_bytes(a.as_encoded_bytes()))
        .collect();
    write_report(&report, config)?;
    let code = ExitCode::for_verdict(report.verdict);
    if config.fail_on_vulnerable
        && matches!(code, ExitCode::Clean | ExitCode::Inconclusive)
        && config.appliance.family.exposed(&report.posture)
    {
        if config.quiet > 0 {
            return Ok(ExitCode::Traces);
        }
        note(
            "sporen: --fail-on-vulnerable: the appliance runs firmware vulnerable to a CVE without an effective mitigation",
        );
        return Ok(ExitCode::Traces);
    }
    Ok(code)
}

/// Writes the report where the configuration says, in its format and colour. With
/// Runs `work`, redrawing the progress line on standard error every quarter second while it
/// runs (when there is a `progress` to show), and clears the line when it is done.
fn with_progress<T: Send>(
    progress: Option<&crate::scan::progress::Progress>,
    work: impl FnOnce() -> T + Send,
) -> T {
    let Some(p) = progress else {
        return work();
    };
    let done = std::sync::atomic::AtomicBool::new(false);
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(250));
                let line = p.snapshot().line(start.elapsed().as_secs_f64(), 100);
                let _ = write!(io::stderr().lock(), "\r\x1b[2K{line}");
            }
            let _ = write!(io::stderr().lock(), "\r\x1b[2K");
        });
        let out = work();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        out
    })
}

/// `--quiet` standard output gets the verdict line (or, given twice, nothing) instead of the
/// report, which still goes to `--output`.
fn write_report(report: &Report, config: &ScanConfig) -> Result<(), OutputError> {
    let destination = &config.destination;
    if config.quiet == 0 || !destination.is_stdout() {
        destination.write(|w| report::render_view(report, config.format, w, &config.view))?;
    }
    if config.quiet == 1 {
        write_stdout(|w| report::text::verdict_line(report, w, config.view.color))?;
    }
    if let Some(path) = destination.path().filter(|_| config.quiet == 0) {
        note(&format!(
            "sporen: verdict {}; report written to {}",
            report.verdict,
            crate::report::sanitize::escape_bytes(path.as_os_str().as_encoded_bytes())
        ));
    }
    Ok(())
}

/// The scan's options with the reads the verdict looks at: those of the profile's sources.
fn scan_options(opts: &ScanOptions, appliance: &Appliance) -> ScanOptions {
    let sources = &appliance.profile.sources;
    let logs: Vec<String> = sources.iter().flat_map(|s| s.logs.clone()).collect();
    let files: Vec<String> = sources.iter().flat_map(|s| s.files.clone()).collect();
    ScanOptions {
        keep_reads: crate::scan::KeepReads::new(&logs, &files),
        ..opts.clone()
    }
}

/// Scans `evidence` and assembles the complete report.
pub fn build_report(
    evidence: &dyn Evidence,
    rules: &RuleSet,
    appliance: &Appliance,
    target: &str,
    opts: &ScanOptions,
    windows: &WindowOverrides,
) -> Report {
    let out = Scanner::new(rules, scan_options(opts, appliance), appliance.family).scan(evidence);
    let facts = appliance.family.facts(evidence, &out);
    let mut a = assess(
        &appliance.profile,
        &out,
        rules,
        &facts,
        &appliance.cves,
        windows,
    );
    a.coverage.notes = evidence.coverage_notes();
    let posture = appliance.family.posture(
        &appliance.cves,
        &facts,
        &out,
        &a.findings,
        a.verdict == crate::model::Verdict::Compromised,
    );
    Report {
        schema: REPORT_SCHEMA.to_owned(),
        tool: ToolInfo {
            name: "sporen".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        target: TargetInfo {
            path: target.to_owned(),
            input: evidence.kind().to_owned(),
            detail: evidence.describe(),
            inputs: evidence.inputs(),
        },
        verdict: a.verdict,
        reasons: a.reasons,
        posture,
        rules_sha256: rules.sources_sha256().to_owned(),
        coverage: a.coverage,
        windows: a.windows,
        flagged_files: flagged_files(&a.findings, &out),
        rules: rule_hits(rules, &a.findings),
        findings: a.findings,
        arguments: Vec::new(),
    }
}

/// Every rule in force with its findings, hits and first and last logged time.
fn rule_hits(rules: &RuleSet, findings: &[crate::model::Finding]) -> Vec<RuleHits> {
    /// What one rule's findings add up to.
    #[derive(Clone, Copy, Default)]
    struct Seen {
        findings: u64,
        hits: u64,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    }
    let mut per_rule: BTreeMap<&str, Seen> = BTreeMap::new();
    for f in findings {
        let e = per_rule.entry(&f.rule).or_default();
        e.findings += 1;
        e.hits += f.count;
        for t in [f.time, f.last_time].into_iter().flatten() {
            e.first = Some(e.first.map_or(t, |x| x.min(t)));
            e.last = Some(e.last.map_or(t, |x| x.max(t)));
        }
    }
    rules
        .rules()
        .iter()
        .map(|r| {
            let Seen {
                findings,
                hits,
                first,
                last,
            } = per_rule.get(r.id.as_str()).copied().unwrap_or_default();
            RuleHits {
                id: r.id.clone(),
                pack: r.pack.clone(),
                severity: r.severity,
                title: r.title.clone(),
                findings,
                hits,
                first_seen: first,
                last_seen: last,
            }
        })
        .collect()
}

/// Every file a finding points at, with its metadata, sorted by path.
fn flagged_files(
    findings: &[crate::model::Finding],
    out: &crate::scan::ScanOutput,
) -> Vec<FlaggedFile> {
    let mut flagged: BTreeMap<&EvPath, Vec<String>> = BTreeMap::new();
    for f in findings {
        flagged.entry(&f.path).or_default().push(f.rule.clone());
    }
    flagged
        .into_iter()
        .filter_map(|(path, mut rules)| {
            // Both the listing and the reads are sorted by path.
            let entries = &out.listing.entries;
            let e = &entries[entries.binary_search_by(|e| e.path.cmp(path)).ok()?];
            rules.sort();
            rules.dedup();
            Some(FlaggedFile {
                path: path.clone(),
                path_base64: path.base64_if_inexact(),
                size: e.size,
                mode: mode_string(e.mode),
                uid: e.uid,
                gid: e.gid,
                inode: e.identity.map(|i| i.1),
                mtime: Timestamp::from_unix(e.mtime),
                btime: e.btime.map(Timestamp::from_unix),
                atime: e.atime.map(Timestamp::from_unix),
                ctime: e.ctime.map(Timestamp::from_unix),
                sha256: out
                    .reads
                    .binary_search_by(|r| r.path.cmp(path))
                    .ok()
                    .and_then(|i| out.reads[i].sha256.clone()),
                rules,
            })
        })
        .collect()
}

fn exec_rules_list(r: &RuleArgs, family: &'static Registered, json: bool) -> Result<ExitCode> {
    let Some(CheckedRules { rules, .. }) = load_rules(r, family) else {
        return Ok(ExitCode::Error);
    };
    write_stdout(|out| {
        if json {
            list_json(out, &rules)
        } else {
            list_table(out, &rules)
        }
    })?;
    Ok(ExitCode::Clean)
}

fn list_json(out: &mut dyn Write, rules: &RuleSet) -> io::Result<()> {
    let list: Vec<serde_json::Value> = rules
        .rules()
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "severity": r.severity,
                "pack": r.pack,
                "title": r.title,
                "kind": r.matcher.kind(),
                "cves": r.cves,
                "examples": r.examples.len(),
                "origin": r.origin.to_string(),
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &list)?;
    writeln!(out)
}

fn list_table(out: &mut dyn Write, rules: &RuleSet) -> io::Result<()> {
    let w = rules
        .rules()
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let pw = rules
        .rules()
        .iter()
        .map(|r| r.pack.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:<w$}  {:<8}  {:<pw$}  TITLE",
        "ID", "SEVERITY", "PACK"
    )?;
    for r in rules.rules() {
        writeln!(
            out,
            "{:<w$}  {:<8}  {:<pw$}  {}",
            r.id,
            r.severity.as_str(),
            r.pack,
            r.title
        )?;
    }
    writeln!(
        out,
        "{} rules in {} packs",
        rules.rules().len(),
        rules.packs().len()
    )
}

fn exec_baseline(build: Option<&str>, family: &'static Registered, json: bool) -> Result<ExitCode> {
    let fw = match crate::baseline_list::parse_build_arg(build) {
        Ok(fw) => fw,
        Err(msg) => bail!(msg),
    };
    let baseline = match crate::rules::baseline::Baseline::from_text(family.baseline) {
        Ok(b) => b,
        Err(diags) => {
            print_diagnostics(&diags);
            return Ok(ExitCode::Error);
        }
    };
    write_stdout(|out| crate::baseline_list::write(out, &baseline, fw.as_ref(), json))?;
    Ok(ExitCode::Clean)
}

/// An appliance data file `rules check` checks on its own instead of as rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DataFile {
    /// A stock baseline: it declares `schema = "sporen.baseline/1"`.
    Baseline,
    /// An appliance profile: it has a `[profile]` table.
    Profile,
    /// A CVE table: it has `[[cve]]` tables.
    Cves,
}

impl DataFile {
    /// What `rules check` calls files of this kind when they hold no problem.
    fn label(self) -> &'static str {
        match self {
            DataFile::Baseline => "baseline",
            DataFile::Profile => "profile",
            DataFile::Cves => "CVE table",
        }
    }

    /// Every problem of one file of this kind.
    fn check(self, name: &str, src: &str) -> Vec<Diagnostic> {
        match self {
            DataFile::Baseline => crate::rules::baseline::parse_source(name, src).err(),
            DataFile::Profile => crate::appliance::profile::Profile::parse(name, src).err(),
            DataFile::Cves => crate::appliance::cves::CveTable::parse(name, src).err(),
        }
        .unwrap_or_default()
    }
}

/// Which data file a file is, recognised by its first 64 KiB: a baseline by its schema, a
/// profile by its `[profile]` table, a CVE table by a `[[cve]]` table. `None` for rule files.
fn data_file(p: &Path) -> Option<DataFile> {
    use std::io::Read;
    if !p.is_file() {
        return None;
    }
    let mut head = String::new();
    std::fs::File::open(p)
        .ok()?
        .take(64 * 1024)
        .read_to_string(&mut head)
        .ok()?;
    head.lines().map(str::trim).find_map(|l| {
        if l.starts_with("schema = \"sporen.baseline/") {
            Some(DataFile::Baseline)
        } else if l.starts_with("[profile]") {
            Some(DataFile::Profile)
        } else if l.starts_with("[[cve]]") {
            Some(DataFile::Cves)
        } else {
            None
        }
    })
}

/// Checks the data files given to `rules check`; their diagnostics, all of them.
fn check_data_files(files: &[(PathBuf, DataFile)]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (p, kind) in files {
        let (read, problems) = crate::rules::set::read_sources(std::slice::from_ref(p));
        diags.extend(problems);
        for (name, src) in read {
            diags.extend(kind.check(&name, &src));
        }
    }
    diags
}

/// Checks rule files as `scan --rules` loads them (with the built-in packs unless
/// `no_builtin_rules`), and baseline, profile and CVE table files on their own.
fn exec_rules_check(
    paths: &[PathBuf],
    no_builtin_rules: bool,
    family: &'static Registered,
    json: bool,
) -> Result<ExitCode> {
    let mut baselines = Vec::new();
    let mut rule_paths = Vec::new();
    for p in paths {
        match data_file(p) {
            Some(kind) => baselines.push((p.clone(), kind)),
            None => rule_paths.push(p.clone()),
        }
    }
    let mut baseline_diags = check_data_files(&baselines);
    let src = RuleSources {
        embedded: !no_builtin_rules,
        paths: rule_paths.clone(),
        baseline: family.baseline,
    };
    let loaded = if rule_paths.is_empty() && !baselines.is_empty() {
        None
    } else {
        Some(check_rules(&src, family).map(|c| c.rules))
    };
    let result = match loaded {
        Some(Err(mut diags)) => {
            diags.append(&mut baseline_diags);
            Err(diags)
        }
        _ if !baseline_diags.is_empty() => Err(baseline_diags),
        other => Ok(other.and_then(Result::ok)),
    };
    match result {
        Ok(set) => {
            write_stdout(|out| {
                if json {
                    return writeln!(out, "[]");
                }
                for kind in [DataFile::Baseline, DataFile::Profile, DataFile::Cves] {
                    let n = baselines.iter().filter(|(_, k)| *k == kind).count();
                    if n > 0 {
                        writeln!(out, "ok: {n} {} file(s), no problems", kind.label())?;
                    }
                }
                match &set {
                    Some(set) => writeln!(
                        out,
                        "ok: {} rules in {} packs and the stock baseline ({} entries), no problems (rules sha256 {})",
                        set.rules().len(),
                        set.packs().len(),
                        set.baseline().entries.len(),
                        set.sources_sha256()
                    ),
                    None => Ok(()),
                }
            })?;
            Ok(ExitCode::Clean)
        }
        Err(diags) => {
            if json {
                write_stdout(|out| {
                    serde_json::to_writer_pretty(&mut *out, &diags)?;
                    writeln!(out)
                })?;
            } else {
                print_diagnostics(&diags);
            }
            Ok(ExitCode::Error)
        }
    }
}

fn exec_rules_test(r: &RuleArgs, family: &'static Registered) -> Result<ExitCode> {
    let Some(CheckedRules { rules, appliance }) = load_rules(r, family) else {
        return Ok(ExitCode::Error);
    };
    let (count, failures) = run_examples(&rules, &appliance);
    let without: Vec<&str> = rules
        .rules()
        .iter()
        .filter(|r| {
            !r.examples.iter().any(|e| e.expect_match)
                || !r.examples.iter().any(|e| !e.expect_match)
        })
        .map(|r| r.id.as_str())
        .collect();
    // Severity discipline: high and critical rules name their nearest legitimate look-alike.
    let unguarded: Vec<&crate::rules::Rule> = rules
        .rules()
        .iter()
        .filter(|r| r.severity >= crate::model::Severity::High)
        .filter(|r| {
            !r.examples
                .iter()
                .any(|e| !e.expect_match && e.lookalike.is_some())
        })
        .collect();
    write_stdout(|out| {
        for f in &failures {
            writeln!(out, "FAIL {} ({}): {}", f.rule, f.origin, f.message)?;
        }
        for id in &without {
            writeln!(out, "note: {id} lacks a `match` or a `no-match` example")?;
        }
        for r in &unguarded {
            writeln!(
                out,
                "note: {} is {} but names no look-alike (a no-match example with `lookalike`)",
                r.id, r.severity
            )?;
        }
        writeln!(
            out,
            "{} passed, {} failed ({} examples in {} rules)",
            count - failures.len(),
            failures.len(),
            count,
            rules.rules().len()
        )
    })?;
    Ok(if failures.is_empty() {
        ExitCode::Clean
    } else {
        ExitCode::Traces
    })
}
