//! The config stage: turns the parsed `scan` arguments into a validated, clap-free
//! `ScanConfig` before any evidence is opened or collected, and holds the one rule check that
//! `scan` and the `rules` commands share ([`check_rules`]).
//!
//! Every problem that shows without the evidence is found here, and all of them are reported
//! together: argument problems as a list, problems in the rules, the appliance profile and the
//! CVE table as located diagnostics. It never opens, reads or collects evidence: TARGETs are
//! only looked at with `stat`, and only the output folder is written to (a probe file, removed
//! at once, once that folder is known to lie outside every TARGET). An invalid rule set stops
//! the run before any TARGET is looked at at all, so the TARGETs, and the `--output` and
//! `--temp-dir` that are checked against them, are checked once the rules are valid (with
//! `--ssh` or `-` there is no TARGET to look at, and they are checked with the rules).

use crate::appliance::{Appliance, Registered};
use crate::cli::{ColorArg, RuleArgs, ScanArgs};
use crate::input::Layout;
use crate::input::Limits;
use crate::input::open::{
    InputSpec, check_ssh_host, check_targets, check_temp_dir, usable_temp_dir,
};
use crate::input::ssh::{SshOptions, check_ssh_option};
use crate::output::Destination;
use crate::report::Format;
use crate::report::text::TextView;
use crate::rules::set::RuleSources;
use crate::rules::{Diagnostic, RuleSet};
use crate::scan::ScanOptions;
use crate::verdict::WindowOverrides;
use std::io::IsTerminal;

/// Everything one scan needs, checked: where the evidence comes from, where the report goes,
/// the rules and the appliance knowledge they were checked against, the examiner's window
/// overrides and the budgets.
#[derive(Debug)]
pub(crate) struct ScanConfig {
    /// The evidence to open and the budgets of opening it.
    pub(crate) input: InputSpec,
    /// Where the report goes, checked and held open.
    pub(crate) destination: Destination,
    /// The report format.
    pub(crate) format: Format,
    /// How the text report is shown: colour (asked for, or `auto` on a terminal that wants
    /// it, and only on standard output), `--explain`, `--min-severity`.
    pub(crate) view: TextView,
    /// `--quiet` given once (the verdict line instead of the report on standard output) or
    /// twice (nothing: the exit code alone); no notes on standard error either way.
    pub(crate) quiet: u8,
    /// The rules in force, checked against [`ScanConfig::appliance`].
    pub(crate) rules: RuleSet,
    /// What sporen knows of the appliance family.
    pub(crate) appliance: Appliance,
    /// `--since` / `--until`, checked against the rules' windows.
    pub(crate) windows: WindowOverrides,
    /// The scan's budgets and threads.
    pub(crate) options: ScanOptions,
    /// Exit 1 on firmware exposed to a known CVE (`--fail-on-vulnerable`).
    pub(crate) fail_on_vulnerable: bool,
}

/// Why a scan cannot start: every problem found, none of them acted on.
#[derive(Debug, Default)]
pub(crate) struct ConfigError {
    /// Problems with the arguments, one sentence each.
    pub(crate) arguments: Vec<String>,
    /// Problems in the rules, the appliance profile or the CVE table, located.
    pub(crate) rules: Vec<Diagnostic>,
}

/// A rule set and the appliance knowledge it was checked against.
#[derive(Debug)]
pub struct CheckedRules {
    pub(crate) rules: RuleSet,
    pub(crate) appliance: Appliance,
}

/// Where the rules of `scan`, `rules list` and `rules test` come from.
pub(crate) fn rule_sources(r: &RuleArgs, family: &'static Registered) -> RuleSources {
    RuleSources {
        baseline: family.baseline,
        embedded: !r.no_builtin_rules,
        paths: r.rules.clone(),
    }
}

/// Loads the rules and checks what they refer to (windows' evidence sources and CVEs) against
/// the appliance knowledge. The one check of rules: `scan`, `rules check`, `rules list` and
/// `rules test` accept and refuse the same packs with the same diagnostics.
pub fn check_rules(
    src: &RuleSources,
    family: &'static Registered,
) -> Result<CheckedRules, Vec<Diagnostic>> {
    let (rules, appliance) = match (RuleSet::load(src), Appliance::load(family)) {
        (Ok(rules), Ok(appliance)) => (rules, appliance),
        (r, a) => return Err(r.err().into_iter().chain(a.err()).flatten().collect()),
    };
    let problems = appliance.check_rules(&rules);
    if problems.is_empty() {
        Ok(CheckedRules { rules, appliance })
    } else {
        Err(problems)
    }
}

impl ScanConfig {
    /// Validates and converts the arguments of `scan`, before any evidence is touched: the
    /// rules, the TARGETs or SSH host, the temporary folder, the output, the budgets and the
    /// window overrides. Returns every problem found, not just the first; with invalid rules,
    /// the TARGETs are not looked at.
    pub(crate) fn from_args(
        a: &ScanArgs,
        family: &'static Registered,
    ) -> Result<ScanConfig, ConfigError> {
        let mut err = ConfigError::default();
        let checked = check_rules(&rule_sources(&a.rules, family), family)
            .map_err(|d| err.rules = d)
            .ok();
        let input = input_spec(a);
        if let Some(Err(e)) = input.ssh.as_deref().map(check_ssh_host) {
            err.arguments.push(format!("{e:#}"));
        }
        err.arguments.extend(
            a.ssh_option
                .iter()
                .filter_map(|o| check_ssh_option(o).err()),
        );
        let names_evidence = input.targets.iter().any(|t| t.as_os_str() != "-");
        let destination = if checked.is_some() || !names_evidence {
            err.arguments.extend(check_targets(&input.targets));
            err.arguments.extend(check_temp_dir(&input));
            Destination::prepare(a.output.as_deref(), &a.targets)
                .map_err(|e| err.arguments.push(format!("{:#}", anyhow::Error::new(e))))
                .ok()
        } else {
            None
        };
        err.arguments.extend(check_counts(a));
        err.arguments.extend(check_ssh_options(a));
        let windows = WindowOverrides {
            since: a.since.clone(),
            until: a.until.clone(),
        };
        if let Some(c) = &checked {
            err.arguments.extend(windows.validate(&c.rules));
        }
        match (checked, destination) {
            (Some(CheckedRules { rules, appliance }), Some(destination))
                if err.arguments.is_empty() =>
            {
                let options = scan_options(a, &input);
                Ok(ScanConfig {
                    input: InputSpec {
                        layout: appliance.layout,
                        ..input
                    },
                    view: TextView {
                        color: wants_color(a.color, &destination),
                        explain: a.explain,
                        min_severity: a.min_severity,
                    },
                    quiet: a.quiet,
                    destination,
                    format: a.format,
                    rules,
                    appliance,
                    windows,
                    options,
                    fail_on_vulnerable: a.fail_on_vulnerable,
                })
            }
            _ => Err(err),
        }
    }
}

/// What to open, from the TARGETs or `--ssh` and the input budgets.
fn input_spec(a: &ScanArgs) -> InputSpec {
    InputSpec {
        targets: a.targets.clone(),
        ssh: a.ssh.clone(),
        ssh_program: a.ssh_program.clone().unwrap_or_else(|| "ssh".into()),
        ssh_cli: !a.ssh_no_cli,
        ssh_options: SshOptions {
            batch: a.ssh_batch,
            options: a.ssh_option.clone(),
        },
        temp_dir: a.temp_dir.clone(),
        max_unpacked: a.max_unpacked,
        limits: Limits {
            max_entries: a.max_entries,
            max_link_bytes: a.max_link_bytes,
        },
        layout: Layout::default(),
        quiet: a.quiet > 0,
    }
}

/// The scan's budgets and threads, and the folder of its temporary correlation records (the
/// same as for unpacked input; none when it lies inside the evidence: they stay in memory).
fn scan_options(a: &ScanArgs, input: &InputSpec) -> ScanOptions {
    ScanOptions {
        max_read: a.max_read,
        threads: a.threads,
        max_file_bytes: a.max_file_bytes,
        max_total_bytes: a.max_total_bytes,
        max_records: a.max_records,
        // A progress line only for a person watching: on a terminal, and not with --quiet.
        progress: (a.quiet == 0 && std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .then(|| std::sync::Arc::new(crate::scan::progress::Progress::default())),
        temp_dir: usable_temp_dir(input).ok(),
        keep_reads: None,
    }
}

/// Budgets that are counts must allow at least one (byte sizes are refused at zero when parsed):
/// a scan that may list no entry or keep no record cannot conclude anything.
fn check_counts(a: &ScanArgs) -> Vec<String> {
    [
        ("--max-entries", a.max_entries == 0),
        ("--max-records", a.max_records == 0),
    ]
    .into_iter()
    .filter(|(_, zero)| *zero)
    .map(|(flag, _)| format!("{flag} 0: nothing could be examined (give at least 1)"))
    .collect()
}

/// `--ssh-no-cli` and `--ssh-program` shape the `--ssh` collection and mean nothing without it
/// (clap's `requires` is not enforced on them when a TARGET is given, which conflicts with
/// `--ssh`, so the check is made here).
fn check_ssh_options(a: &ScanArgs) -> Vec<String> {
    if a.ssh.is_some() {
        return Vec::new();
    }
    [
        ("--ssh-no-cli", a.ssh_no_cli),
        ("--ssh-program", a.ssh_program.is_some()),
    ]
    .into_iter()
    .filter(|(_, given)| *given)
    .map(|(flag, _)| format!("{flag} needs --ssh HOST: it only changes how --ssh collects"))
    .collect()
}

/// Colour only on standard output, and with `auto` only on a terminal that wants it
/// (`NO_COLOR` unset or empty, `TERM` not `dumb`); never into a file.
fn wants_color(color: ColorArg, destination: &Destination) -> bool {
    destination.is_stdout()
        && match color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn scan_args(args: &[&str]) -> ScanArgs {
        let cli = Cli::try_parse_from([&["sporen", "scan"], args].concat()).expect("parses");
        match cli.command {
            Command::Scan(a) => *a,
            other => panic!("not a scan: {other:?}"),
        }
    }

    #[test]
    fn every_argument_problem_is_reported_at_once() {
        let a = scan_args(&[
            "/no/such/target",
            "-o",
            "/no/such/folder/r.json",
            "--max-entries",
            "0",
            "--since",
            "no-such-window=2020-01-01",
        ]);
        let err = ScanConfig::from_args(&a, Registered::default_family()).expect_err("refused");
        assert!(err.rules.is_empty(), "{:?}", err.rules);
        let all = err.arguments.join("\n");
        for part in [
            "cannot scan /no/such/target",
            "its folder does not exist",
            "--max-entries 0",
            "no exposure window is named no-such-window",
        ] {
            assert!(all.contains(part), "`{part}` missing from:\n{all}");
        }
        assert_eq!(err.arguments.len(), 4, "{all}");
    }

    #[test]
    fn a_valid_scan_is_configured_without_touching_the_target() {
        let dir = std::env::temp_dir();
        let a = scan_args(&[dir.to_str().expect("utf-8"), "-f", "json", "-j", "1"]);
        let c = ScanConfig::from_args(&a, Registered::default_family()).expect("valid");
        assert_eq!(c.format, Format::Json);
        assert!(c.destination.is_stdout());
        assert_eq!(c.options.threads, 1);
        assert!(!c.rules.rules().is_empty());
    }
}
