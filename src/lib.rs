//! # sporen
//!
//! Looks for traces of attacks on a Citrix ADC / NetScaler appliance filesystem (CVE-2019-19781
//! and later campaigns) and gives a verdict a responder can trust: `clean`, `review`,
//! `compromised` or `inconclusive`.
//!
//! Data flows one way through the modules:
//!
//! ```text
//! cli ──► config (ScanConfig: arguments, output, rules (TOML → RuleSet), all checked)
//!                                              │
//!                                              ▼
//!                       input (Evidence: entries + read-only bytes)
//!                                              │
//!                                              ▼
//!                 report ◄── verdict ◄── scan (Scanner: findings + gaps)
//!                    ▲
//!                    └── posture (firmware, CVE status, mitigation: beside the verdict)
//! ```
//!
//! * [`cli`]: argument definitions only; [`app`]: dispatch and exit codes ([`exit`]).
//! * [`config`]: the arguments checked and converted into a clap-free [`config::ScanConfig`]
//!   before any evidence is touched; every problem found there is reported at once. Its rule
//!   check is the one `rules check` runs.
//! * [`rules`]: rule files and the stock baseline are parsed with spans; every problem is
//!   reported at once with `file:line:col`; a [`rules::RuleSet`] (rules plus baseline) is
//!   immutable and compiled once per run. [`baseline_list`]: `sporen baseline [BUILD]`.
//! * [`input`]: where evidence comes from (a folder, a tar archive or stream, UFS disk images);
//!   never writes, never follows a link out of the root.
//! * [`scan`]: path and metadata checks first, content only when a rule needs it, each file
//!   read once and sequentially (no mmap), gzip logs decoded in-process.
//! * [`continuity`]: holes in the logs, when the appliance was off, and timeline rules, from
//!   the times the scan measured.
//! * [`verdict`]: findings, coverage and exposure windows → verdict and reasons, using the
//!   appliance profile.
//! * [`posture`]: firmware version, per-CVE status and the CVE-2019-19781 mitigation, reported
//!   beside the verdict.
//! * [`report`]: text, JSON, JSONL, SARIF and CSV renderers; attacker-chosen bytes are escaped.
//! * [`zone`]: the appliance's time zone, in which syslog header times are written.
//! * [`model`]: the plain data passed between them.

#![forbid(unsafe_code)]

pub mod app;
pub mod appliance;
pub mod baseline_list;
pub mod cli;
pub mod config;
pub mod continuity;
pub mod exit;
pub mod firmware;
pub mod input;
pub mod model;
pub mod output;
pub mod posture;
pub mod report;
pub mod rules;
pub mod scan;
pub mod verdict;
pub mod zone;
