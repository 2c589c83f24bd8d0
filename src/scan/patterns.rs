//! Pattern sets: the patterns of a fixed group of rules compiled into one set so that a
//! haystack is searched once, and the evaluation of a rule's `any` / `all` / `none` groups.

use super::Scanner;
use crate::rules::set::PatternIds;
use crate::rules::{Matcher, RecordMode};
use regex::bytes::{RegexSet, RegexSetBuilder};
use std::collections::HashMap;
use std::sync::Arc;

/// Patterns of a fixed group of rules, compiled into one set so a haystack is searched once.
pub(super) struct Combo {
    pub(super) set: RegexSet,
    /// (rule index, local pattern ids by group)
    pub(super) rules: Vec<(usize, PatternIds)>,
    /// Some rule matches whole syslog records rather than single lines.
    pub(super) has_records: bool,
}

impl Scanner<'_> {
    pub(super) fn combo(&self, rules: &[usize]) -> Arc<Combo> {
        let mut cache = self.combos.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(rules) {
            return c.clone();
        }
        let mut sources = Vec::new();
        let mut local_rules = Vec::new();
        let mut global_to_local: HashMap<usize, usize> = HashMap::new();
        for &r in rules {
            let ids = &self.rules.pattern_ids[r];
            let mut map = |g: &Vec<usize>| -> Vec<usize> {
                g.iter()
                    .map(|&gid| {
                        *global_to_local.entry(gid).or_insert_with(|| {
                            sources.push(self.rules.patterns[gid].as_str().to_owned());
                            sources.len() - 1
                        })
                    })
                    .collect()
            };
            let local = PatternIds {
                any: map(&ids.any),
                all: map(&ids.all),
                none: map(&ids.none),
            };
            local_rules.push((r, local));
        }
        let set = RegexSetBuilder::new(&sources)
            .unicode(false)
            .multi_line(true)
            .size_limit(64 << 20)
            .dfa_size_limit(16 << 20)
            .build()
            .or_else(|_| RegexSet::new(&sources))
            .unwrap_or_else(|_| RegexSet::empty());
        let has_records = rules.iter().any(|&r| self.is_record_rule(r));
        let combo = Arc::new(Combo {
            set,
            rules: local_rules,
            has_records,
        });
        cache.insert(rules.to_vec(), combo.clone());
        combo
    }

    pub(super) fn is_record_rule(&self, r: usize) -> bool {
        matches!(&self.rules.rules[r].matcher, Matcher::Lines(l) if l.records == RecordMode::Syslog)
    }
}

/// Evaluates a rule's pattern groups against a match predicate. Returns the ids of the
/// matching `any`/`all` patterns when the groups hold.
pub(super) fn group_holds(ids: &PatternIds, matched: impl Fn(usize) -> bool) -> Option<Vec<usize>> {
    if ids.none.iter().any(|&i| matched(i)) {
        return None;
    }
    if !ids.all.iter().all(|&i| matched(i)) {
        return None;
    }
    let any: Vec<usize> = ids.any.iter().copied().filter(|&i| matched(i)).collect();
    if !ids.any.is_empty() && any.is_empty() {
        return None;
    }
    Some(any.into_iter().chain(ids.all.iter().copied()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        let ids = PatternIds {
            any: vec![0, 1],
            all: vec![2],
            none: vec![3],
        };
        assert_eq!(group_holds(&ids, |i| i == 1 || i == 2), Some(vec![1, 2]));
        assert_eq!(group_holds(&ids, |i| i == 1), None);
        assert_eq!(group_holds(&ids, |i| i != 0), None);
    }
}
