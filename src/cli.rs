//! Command-line definitions (clap derive) and nothing else: parsing only, no behaviour.

use crate::fleet::render::FleetFormat;
use crate::model::Severity;
use crate::report::Format;
use crate::verdict::DateArg;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0  clean: the evidence needed was there, was read, and holds no traces
  1  traces found: verdict compromised or review (rules test: an example failed;
     scan --fail-on-vulnerable: also an exposed firmware)
  2  error: bad arguments, invalid rules, unreadable target
  3  inconclusive: no traces found, but evidence was missing or unreadable"
    };
}

/// Looks for traces of attacks on a Citrix ADC / NetScaler appliance filesystem.
#[derive(Debug, Parser)]
#[command(
    name = "sporen",
    version,
    about = "Looks for traces of attacks on a Citrix ADC / NetScaler filesystem and gives an honest verdict.",
    long_about = "sporen (\"traces\") reads a Citrix ADC / NetScaler filesystem (a copied or mounted folder, \
a tar archive or support bundle, raw UFS disk images, or a tar streamed over SSH), applies TOML indicator \
rules (the shipped packs are built in) and reports a verdict: clean, review, compromised or inconclusive, \
with the firmware posture beside it. It never writes to the evidence.",
    after_help = concat!("Example:\n  sporen scan /mnt/netscaler\n\n", exit_codes!())
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// The appliance family examined: its profile, CVE table, stock baseline and the layout of
    /// its archives, images and SSH collection.
    #[arg(
        long,
        global = true,
        value_name = "FAMILY",
        default_value = crate::appliance::Registered::default_family().id,
        value_parser = clap::builder::PossibleValuesParser::new(crate::appliance::Registered::ids()),
    )]
    pub(crate) appliance: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Scan an appliance filesystem and report the verdict.
    #[command(
        long_about = "Scans TARGET (the root folder of a copied or mounted appliance filesystem, a tar archive, \
- for a tar on standard input, or raw disk images), or collects the evidence with --ssh, with the built-in \
rule packs plus any --rules, and writes a report. Nothing in the evidence is written, renamed or touched; \
symbolic links are resolved inside it only; archives and images are read in place, never extracted. A \
compressed or streamed input (.tar.gz, .gz image, -, --ssh) is unpacked once into an unnamed temporary \
file in --temp-dir, within --max-unpacked; the report records each input's size and SHA-256.",
        after_help = concat!("Examples:\n  sporen scan /mnt/ns-gw01\n  sporen scan collector_P_192.0.2.10_26Nov2026_10_12.tar.gz\n  ssh nsroot@ns shell \"tar -cf - -C / var/log flash/nsconfig\" | sporen scan -\n  sporen scan --ssh nsroot@192.0.2.10\n  sporen scan da0.img md0.img\n  sporen scan /cases/42/root --format json --output /cases/42/report.json\n  sporen scan /mnt/ns --rules ./local-rules/ --format sarif -o ns.sarif\n\n", exit_codes!())
    )]
    Scan(Box<ScanArgs>),
    /// List, validate or test indicator rules.
    #[command(
        subcommand,
        after_help = "Examples:\n  sporen rules list\n  sporen rules check ./local-rules/\n  sporen rules test --rules ./local-rules/\n\nThe rule format is documented in rules/README.md."
    )]
    Rules(RulesCommand),
    /// List the stock baseline: the set-id files, files written as nobody by design, stock files
    /// and expected places of a firmware build, each with its source.
    #[command(
        long_about = "Lists the entries of the stock baseline (src/appliance/netscaler/baseline.toml, built into the binary) that \
apply to BUILD: the set-id files the firmware ships, the files it writes as nobody by design, stock templates \
and scripts, and the places administrators and responders leave their own files. Rules consult these entries \
through their `baseline` condition for the firmware family of the scanned appliance. Without BUILD every entry \
is listed, as for an appliance whose family is unknown.",
        after_help = "Examples:\n  sporen baseline 13.1-49.15\n  sporen baseline 10.5 --json\n  sporen baseline\n\nExit code 0, or 2 when BUILD is not a version such as 13.1 or 13.1-49.15."
    )]
    Baseline {
        /// A branch (13.1) or build (13.1-49.15); without it, every family.
        #[arg(value_name = "BUILD")]
        build: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Merge the reports of many appliances into one fleet report, worst first.
    #[command(
        long_about = "Merges JSON scan reports (sporen scan --format json, schema sporen.report/1) into one \
fleet report: a row per appliance with its host, NSIP, firmware, verdict, first reason, per-CVE status, \
mitigation, coverage gaps and the SHA-256 of its report file, sorted worst first (compromised, review, \
failed, inconclusive, clean), with totals. A REPORT is a file or a folder (its *.json files). A \
sporen.fleet-error/1 record ({\"schema\",\"host\",\"error\"}) stands for a host that could not be scanned \
and is a failed row. Reports of another tool or schema are refused, every one named, with exit code 2. \
Each file is read up to 64 MiB.",
        after_help = "Examples:\n  sporen fleet reports/\n  sporen fleet reports/ --format html -o fleet.html\n  sporen fleet gw01.json gw02.json --format csv\n\n\
Exit code: the worst row's, as scan gives it: 1 when any appliance is compromised or in review, else 2 when \
any host could not be scanned, else 3 when any is inconclusive, else 0. 2 also for a refused report."
    )]
    Fleet(FleetArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell or elvish).
    #[command(
        after_help = "Examples:\n  sporen completions bash > /etc/bash_completion.d/sporen\n  sporen completions zsh > \"${fpath[1]}/_sporen\"\n  sporen completions fish > ~/.config/fish/completions/sporen.fish"
    )]
    Completions {
        /// The shell to write the script for.
        #[arg(value_name = "SHELL")]
        shell: crate::manual::Shell,
    },
    /// Print the man page (roff) of sporen and its subcommands.
    #[command(
        after_help = "Examples:\n  sporen man | man -l -\n  sporen man > /usr/local/share/man/man1/sporen.1"
    )]
    Man,
}

/// Arguments of `sporen fleet`.
#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    /// JSON scan reports, or folders holding them (`*.json`, not their subfolders).
    #[arg(value_name = "REPORT", required = true)]
    pub(crate) reports: Vec<PathBuf>,
    /// Report format.
    #[arg(short, long, value_enum, default_value_t = FleetFormat::Text)]
    pub(crate) format: FleetFormat,
    /// Write the fleet report to FILE instead of standard output (never one of the REPORTs
    /// or inside a REPORT folder).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// When to colour text output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorArg {
    Auto,
    Always,
    Never,
}

/// Which rules are in force.
#[derive(Debug, Args, Clone)]
pub(crate) struct RuleArgs {
    /// Add a rule file or folder of *.toml rules (repeatable).
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    pub(crate) rules: Vec<PathBuf>,
    /// Use only the --rules given, not the built-in packs.
    #[arg(long)]
    pub(crate) no_builtin_rules: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// The evidence: the appliance root folder (holding flash/ and var/), a tar archive
    /// (.tar, .tar.gz, .tgz, a collector_*.tar.gz support bundle), - for a tar on standard
    /// input, or raw disk images (da0.img [md0.img], plain or .gz).
    #[arg(value_name = "TARGET", required_unless_present = "ssh", num_args = 1..)]
    pub(crate) targets: Vec<PathBuf>,
    /// Collect the evidence from an appliance over SSH (`[user@]host`): runs the system ssh client
    /// with a read-only `shell tar -cf - ...` and scans the stream; the command is printed first.
    #[arg(long, value_name = "HOST", conflicts_with = "targets")]
    pub(crate) ssh: Option<String>,
    /// The ssh program to run for --ssh (default `ssh`).
    #[arg(long, value_name = "PROGRAM", requires = "ssh")]
    pub(crate) ssh_program: Option<PathBuf>,
    /// Do not put `shell` before the remote command (for a FreeBSD shell account rather than
    /// the NetScaler CLI).
    #[arg(long, requires = "ssh")]
    pub(crate) ssh_no_cli: bool,
    /// Never prompt for a password, passphrase or host key (`ssh -o BatchMode=yes`), for
    /// automation. Without it ssh asks on the terminal, as when an administrator logs in.
    #[arg(long, requires = "ssh")]
    pub(crate) ssh_batch: bool,
    /// Pass `-o KEY=VALUE` to ssh (repeatable), e.g. `--ssh-option Port=2222` or
    /// `--ssh-option UserKnownHostsFile=./known_hosts`. Host keys are otherwise checked as the
    /// user's ssh configuration says.
    #[arg(long, value_name = "KEY=VALUE", requires = "ssh")]
    pub(crate) ssh_option: Vec<String>,
    /// Folder for the private temporary copy of a compressed or streamed input (.tar.gz,
    /// .gz image, -, --ssh): unnamed, mode 0600, gone when sporen exits; never inside TARGET.
    /// Default: $TMPDIR, else /tmp.
    #[arg(long, value_name = "DIR")]
    pub(crate) temp_dir: Option<PathBuf>,
    /// Most bytes unpacked or received from a compressed or streamed input; past it the input
    /// stops with a coverage gap (or an error when nothing usable was read). The default is
    /// above the 20-40 GB of a real VPX disk image. Zero blocks cost no disk.
    #[arg(long, value_name = "BYTES", default_value = "64G", value_parser = parse_size)]
    pub(crate) max_unpacked: u64,
    /// Most bytes a tar archive may serve that it does not store: a hard link's bytes again,
    /// the zeros of sparse holes. Later members past it (in path order) are listed but not
    /// read (a gap when a rule needs them).
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = parse_size)]
    pub(crate) max_link_bytes: u64,
    /// Most entries listed: files, folders and links of a folder or disk image, members (and
    /// sparse map entries) of an archive. The rest is a coverage gap that blocks `clean`.
    #[arg(long, value_name = "N", default_value_t = crate::input::DEFAULT_MAX_ENTRIES)]
    pub(crate) max_entries: u64,
    /// Report format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Write the report to FILE instead of standard output (never inside TARGET).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) rules: RuleArgs,
    /// Most bytes read from one file for content rules and digests (logs are always read
    /// whole). Accepts K, M, G suffixes.
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_size)]
    pub(crate) max_read: u64,
    /// Most bytes read from one file, decompressed bytes of a gzip log included. A log that
    /// holds more becomes a coverage gap that blocks `clean`.
    #[arg(long, value_name = "BYTES", default_value = "4G", value_parser = parse_size)]
    pub(crate) max_file_bytes: u64,
    /// Most bytes (as stored) read from the whole evidence; files past it, in path order, are
    /// not read and become coverage gaps that block `clean`.
    #[arg(long, value_name = "BYTES", default_value = "32G", value_parser = parse_size)]
    pub(crate) max_total_bytes: u64,
    /// Most distinct records (sessions, addresses) the correlation rules keep; past it,
    /// records are no longer collected and a coverage gap blocks `clean`.
    #[arg(long, value_name = "N", default_value_t = 20_000_000)]
    pub(crate) max_records: usize,
    /// Worker threads (0: one per core; 1: low impact on a busy machine; at most 256).
    #[arg(
        short = 'j',
        long,
        value_name = "N",
        default_value_t = 0,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=256)
    )]
    pub(crate) threads: usize,
    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub(crate) color: ColorArg,
    /// Print only the verdict line instead of the report (-qq: nothing, the exit code alone);
    /// no notes on standard error either, only errors. The report still goes to --output.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub(crate) quiet: u8,
    /// Text report: show the rules' patterns in the reasons, and the digest and time of the
    /// log each logged finding came from (the JSON report always holds them).
    #[arg(long)]
    pub(crate) explain: bool,
    /// Text report: list only findings of LEVEL or above (the report says how many were
    /// left out; the verdict and the machine formats are unchanged).
    #[arg(long, value_name = "LEVEL", value_parser = severity_parser())]
    pub(crate) min_severity: Option<Severity>,
    /// Exit 1 instead of 0 or 3 when the firmware is vulnerable to a known CVE without an
    /// effective mitigation (see the report's posture section).
    #[arg(long = "fail-on-vulnerable")]
    pub(crate) fail_on_vulnerable: bool,
    /// Nothing before DATE concerns the appliance (it was first exposed then): every exposure
    /// window starts at DATE or later. `--since WINDOW=DATE` sets the start of one window,
    /// named by its pack or CVE id (`--since cve-2019-19781=2020-01-05`). Repeatable; every
    /// change is written into the report's reasons. DATE is YYYY-MM-DD or RFC 3339.
    #[arg(long, value_name = "[WINDOW=]DATE", value_parser = parse_date_arg)]
    pub(crate) since: Vec<DateArg>,
    /// Nothing after DATE concerns the appliance (for example, it was patched then); with
    /// WINDOW= it ends one window. Repeatable; recorded like --since.
    #[arg(long, value_name = "[WINDOW=]DATE", value_parser = parse_date_arg)]
    pub(crate) until: Vec<DateArg>,
}

/// `critical`, `high`, `medium`, `low` or `info`, with the names offered to completion.
fn severity_parser() -> impl clap::builder::TypedValueParser<Value = Severity> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Severity::DESCENDING.map(Severity::as_str))
        .map(|s| Severity::parse(&s).unwrap_or(Severity::Info))
}

/// Parses a date or RFC 3339 date-time into Unix seconds.
pub(crate) fn parse_date(s: &str) -> Result<i64, String> {
    crate::util::bytes::parse_time(s)
        .ok_or_else(|| format!("`{s}` is not a date (use 2020-01-10 or 2020-01-10T08:00:00Z)"))
}

/// `DATE` or `WINDOW=DATE`.
pub fn parse_date_arg(s: &str) -> Result<DateArg, String> {
    match s.split_once('=') {
        Some((w, d)) if !w.is_empty() => Ok(DateArg::For(w.to_owned(), parse_date(d)?)),
        Some(_) => Err(format!("`{s}`: name the window before `=`")),
        None => Ok(DateArg::All(parse_date(s)?)),
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// List the rules in force: id, severity, pack and title.
    #[command(after_help = "Example:\n  sporen rules list --rules ./local-rules/")]
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate rule files, the stock baseline, the profile and the CVE table; report every problem, each with file:line:col.
    #[command(
        after_help = "Rules are checked exactly as scan loads and checks them: PATHs (or --rules PATH) together with the built-in \
packs (as scan --rules PATH), or alone with --no-builtin-rules (as scan --no-builtin-rules --rules PATH), \
against the appliance profile and the CVE table. A set accepted here is never refused by scan. With no PATH \
the built-in packs and the built-in stock baseline are checked. A file whose schema is \
\"sporen.baseline/1\" is checked as a baseline (src/appliance/netscaler/baseline.toml), a file with a \
[profile] table as an appliance profile (src/appliance/netscaler/profile.toml), and a file with [[cve]] \
tables as a CVE table (src/appliance/netscaler/cves.toml), each on its own.\n\nExamples:\n  sporen rules check\n  sporen rules check ./local-rules/ extra.toml\n  sporen rules check --no-builtin-rules ./only.toml\n  sporen rules check src/appliance/netscaler/baseline.toml\n\nExit code 0 when valid, 2 when any problem was found."
    )]
    Check {
        /// Rule files or folders, checked with the built-in packs (default: the built-in packs).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// A rule file or folder, as `scan`, `rules list` and `rules test` take it; the same
        /// as a PATH (repeatable).
        #[arg(short = 'r', long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// Check only the PATHs given, not the built-in packs with them.
        #[arg(long)]
        no_builtin_rules: bool,
        /// Print the diagnostics as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the examples embedded in the rules (should match / should not match).
    #[command(
        after_help = "Example:\n  sporen rules test --rules ./local-rules/\n\nExit code 0 when every example behaves, 1 when one does not, 2 for invalid rules."
    )]
    Test {
        #[command(flatten)]
        rules: RuleArgs,
    },
}

/// Parses `1024`, `64K`, `64M`, `1G`, `1T` (powers of 1024).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix `{c}` (use K, M, G or T)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a size"))?;
    n.checked_mul(mult)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("`{s}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("10k"), Ok(10 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("5P").is_err());
    }
}
