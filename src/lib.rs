//! # sporen
//!
//! Looks for traces of attacks on a Citrix ADC / NetScaler appliance filesystem (CVE-2019-19781
//! and later campaigns) and gives a verdict a responder can trust: `clean`, `review`,
//! `compromised` or `inconclusive`.
//!
//! Data flows one way through the modules (see `ARCHITECTURE.md`):
//!
//! ```text
//! cli ──► config (ScanConfig: arguments, rules and appliance checked before any evidence)
//!            │
//!            ▼
//!         input (Evidence: entries + read-only bytes) ──► scan (findings, gaps, log times)
//!                                                            │
//!                  appliance::Family: facts, once ◄──────────┤
//!                                                            ▼
//!         report ◄── verdict (+ continuity) ◄── scan output + facts
//!            ▲
//!            └── posture (Family::posture: firmware, CVE status, mitigation; beside the verdict)
//! ```
//!
//! * [`cli`]: argument definitions only; [`config`]: the validated configuration; [`app`]:
//!   dispatch and exit codes ([`exit`]); [`output`]: where the report goes (never the
//!   evidence); [`manual`]: shell completions and the man page, from the `cli` definitions.
//! * [`appliance`]: everything sporen knows about an appliance family, in one folder per
//!   family ([`appliance::netscaler`]): profile, CVE table, stock baseline, firmware, time
//!   zone, posture, and the layout of its archives, images and SSH collection.
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
//! * [`report`]: text, JSON, JSONL, SARIF, CSV, timeline and body-file renderers;
//!   attacker-chosen bytes are escaped.
//! * [`fleet`]: `sporen fleet`, many appliances' reports merged into one, worst first.
//! * [`zone`]: how local times of a time zone become UTC; [`util`]: helpers with no knowledge
//!   of appliances, rules or evidence; [`model`]: the plain data passed between them.

#![forbid(unsafe_code)]

pub mod app;
pub mod appliance;
pub mod baseline_list;
pub mod cli;
pub mod config;
pub mod continuity;
pub mod exit;
pub mod fleet;
pub mod input;
pub mod manual;
pub mod model;
pub mod output;
pub mod report;
pub mod rules;
pub mod scan;
pub mod selftest;
pub mod util;
pub mod verdict;
pub mod zone;
