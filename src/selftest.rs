//! `sporen rules test`: the rule examples (see [`crate::rules::examples`]) run through the real
//! scanner and the time coverage assessment, with the examined appliance's knowledge. It sits
//! above `rules`, `scan` and `continuity`, so none of them calls back into another.

use crate::appliance::Appliance;
use crate::rules::RuleSet;
use crate::rules::examples::{ExampleFailure, check_examples};
use crate::scan::{ScanOptions, Scanner};

/// Runs the example files of every rule through the scanner (one thread) and, for timeline
/// rules, the time coverage assessment with the appliance's profile. Returns the number of
/// examples and those that did not behave as their rule says.
pub fn run_examples(rules: &RuleSet, appliance: &Appliance) -> (usize, Vec<ExampleFailure>) {
    let opts = ScanOptions {
        threads: 1,
        ..ScanOptions::default()
    };
    let scanner = Scanner::new(rules, opts, appliance.family);
    check_examples(rules, &|ev, timeline| {
        let out = scanner.scan(ev);
        let coverage = if timeline {
            crate::continuity::assess(&appliance.profile, &out, rules).findings
        } else {
            Vec::new()
        };
        out.findings
            .iter()
            .chain(&coverage)
            .map(|f| f.rule.clone())
            .collect()
    })
}
