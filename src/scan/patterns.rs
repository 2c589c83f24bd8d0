//! Pattern sets: the patterns of a fixed group of rules compiled into one set so that a
//! haystack is searched once, and the evaluation of a rule's `any` / `all` / `none` groups.
//!
//! A set that is too large to compile in one piece is split, down to single patterns if need
//! be (each of which the rule loader already compiled): matching never stops for lack of a set.

use super::Scanner;
use crate::rules::set::PatternIds;
use crate::rules::{Matcher, RecordMode};
use regex::bytes::{Regex, RegexSet, RegexSetBuilder};
use std::collections::HashMap;
use std::sync::Arc;

/// Size limits of one compiled set.
const SET_SIZE_LIMIT: usize = 64 << 20;
const SET_DFA_LIMIT: usize = 16 << 20;

/// One piece of a [`PatternSet`]: a compiled set of consecutive patterns, or one pattern that
/// could not share a set.
enum Shard {
    Set(RegexSet),
    Single(Regex),
}

/// Patterns searched together; ids are positions in the list the set was built from.
pub(super) struct PatternSet {
    /// (first pattern id, shard)
    shards: Vec<(usize, Shard)>,
    len: usize,
    /// Every pattern in one regex, to find the lines worth matching in a chunk; `None` when
    /// a pattern's meaning depends on where the haystack starts or ends (`\A`, `\z`, `(?-m)`)
    /// or the joined regex is too large.
    finder: Option<Regex>,
}

/// Which patterns of a [`PatternSet`] matched a haystack.
#[derive(Clone, Debug)]
pub(super) struct Matched(Vec<bool>);

impl Matched {
    pub(super) fn matched(&self, i: usize) -> bool {
        self.0.get(i).copied().unwrap_or(false)
    }

    pub(super) fn matched_any(&self) -> bool {
        self.0.iter().any(|&m| m)
    }
}

fn build_set(sources: &[String]) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(sources)
        .unicode(false)
        .multi_line(true)
        .size_limit(SET_SIZE_LIMIT)
        .dfa_size_limit(SET_DFA_LIMIT)
        .build()
}

/// Joins `sources` into one regex with the options of the sets (multi-line, bytes), capture
/// names removed (two patterns may use one name).
fn build_finder(sources: &[String]) -> Option<Regex> {
    if sources.is_empty() {
        return None;
    }
    let bound = |s: &String| s.contains("\\A") || s.contains("\\z") || s.contains("-m");
    if sources.iter().any(bound) {
        return None;
    }
    let joined: Vec<String> = sources
        .iter()
        .map(|s| format!("(?:{})", unnamed(s)))
        .collect();
    regex::bytes::RegexBuilder::new(&joined.join("|"))
        .unicode(false)
        .multi_line(true)
        .size_limit(SET_SIZE_LIMIT)
        .dfa_size_limit(SET_DFA_LIMIT)
        .build()
        .ok()
}

/// `src` with its named groups (`(?P<name>`, `(?<name>`) made plain groups `(?:`. An escaped
/// parenthesis (`\(`) is left alone.
fn unnamed(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = b[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1;
        let rest = &src[i..];
        let name_at = if rest.starts_with("(?P<") {
            Some(4)
        } else if rest.starts_with("(?<") && !rest.starts_with("(?<=") && !rest.starts_with("(?<!")
        {
            Some(3)
        } else {
            None
        };
        if let (false, Some(skip)) = (escaped, name_at)
            && let Some(close) = rest[skip..].find('>')
        {
            out.push_str("(?:");
            i += skip + close + 1;
            continue;
        }
        let ch = rest.chars().next().unwrap_or_default();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

impl PatternSet {
    /// Compiles `sources`; `single(i)` is pattern `i` compiled on its own, used when even a
    /// one-pattern set is refused.
    pub(super) fn new(sources: &[String], single: &dyn Fn(usize) -> Regex) -> PatternSet {
        let mut shards = Vec::new();
        Self::split(sources, 0, single, &mut shards);
        PatternSet {
            shards,
            len: sources.len(),
            finder: build_finder(sources),
        }
    }

    /// The regex that finds, in `chunk`, every line in which some pattern matches, when it can
    /// be trusted to: not where a carriage return ends a line (a `$` before `\r\n` matches in
    /// the line, which is matched without it, and not in the chunk).
    pub(super) fn finder(&self, chunk: &[u8]) -> Option<&Regex> {
        self.finder
            .as_ref()
            .filter(|_| memchr::memchr(b'\r', chunk).is_none())
    }

    fn split(
        sources: &[String],
        at: usize,
        single: &dyn Fn(usize) -> Regex,
        out: &mut Vec<(usize, Shard)>,
    ) {
        if sources.is_empty() {
            return;
        }
        match build_set(sources) {
            Ok(set) => out.push((at, Shard::Set(set))),
            Err(_) if sources.len() == 1 => out.push((at, Shard::Single(single(at)))),
            Err(_) => {
                let half = sources.len() / 2;
                Self::split(&sources[..half], at, single, out);
                Self::split(&sources[half..], at + half, single, out);
            }
        }
    }

    /// True when any pattern matches somewhere in `hay`.
    pub(super) fn is_match(&self, hay: &[u8]) -> bool {
        self.shards.iter().any(|(_, s)| match s {
            Shard::Set(set) => set.is_match(hay),
            Shard::Single(re) => re.is_match(hay),
        })
    }

    /// Every pattern that matches somewhere in `hay`.
    pub(super) fn matches(&self, hay: &[u8]) -> Matched {
        let mut m = vec![false; self.len];
        for (at, s) in &self.shards {
            match s {
                Shard::Set(set) => {
                    for i in set.matches(hay).iter() {
                        m[at + i] = true;
                    }
                }
                Shard::Single(re) => m[*at] = re.is_match(hay),
            }
        }
        Matched(m)
    }

    /// How many compiled pieces the set needed.
    #[cfg(test)]
    fn shards(&self) -> usize {
        self.shards.len()
    }
}

/// Patterns of a fixed group of rules, compiled into one set so a haystack is searched once.
pub(super) struct Combo {
    pub(super) set: PatternSet,
    /// (rule index, local pattern ids by group)
    pub(super) rules: Vec<(usize, PatternIds)>,
    /// Some rule matches whole syslog records rather than single lines.
    pub(super) has_records: bool,
    /// Some rule matches the programs commands run (the `run` view, which can match where the
    /// raw text does not): every line is examined. The blanked views need no such thing.
    pub(super) has_run: bool,
}

impl Scanner<'_> {
    pub(super) fn combo(&self, rules: &[usize]) -> Arc<Combo> {
        let mut cache = self.combos.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(rules) {
            return c.clone();
        }
        let mut sources = Vec::new();
        let mut globals = Vec::new();
        let mut local_rules = Vec::new();
        let mut global_to_local: HashMap<usize, usize> = HashMap::new();
        for &r in rules {
            // Timeline rules read the log for its times only: they have no patterns.
            if let Matcher::Timeline(_) = &self.rules.rule(r).matcher {
                continue;
            }
            let ids = self.rules.patterns_of(r);
            let mut map = |g: &Vec<usize>| -> Vec<usize> {
                g.iter()
                    .map(|&gid| {
                        *global_to_local.entry(gid).or_insert_with(|| {
                            sources.push(self.rules.pattern(gid).as_str().to_owned());
                            globals.push(gid);
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
        let set = PatternSet::new(&sources, &|i| self.rules.pattern(globals[i]).clone());
        let has_records = rules.iter().any(|&r| self.is_record_rule(r));
        let has_run = rules
            .iter()
            .any(|&r| self.commands_of(r) == Some(crate::rules::View::Run));
        let combo = Arc::new(Combo {
            set,
            rules: local_rules,
            has_records,
            has_run,
        });
        cache.insert(rules.to_vec(), combo.clone());
        combo
    }

    /// The command view a line rule matches against, if any.
    pub(super) fn commands_of(&self, r: usize) -> Option<crate::rules::View> {
        match &self.rules.rule(r).matcher {
            Matcher::Lines(l) => l.commands,
            _ => None,
        }
    }

    pub(super) fn is_record_rule(&self, r: usize) -> bool {
        matches!(&self.rules.rule(r).matcher, Matcher::Lines(l) if l.records == RecordMode::Syslog)
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

    #[test]
    fn capture_names_are_removed_but_escaped_parentheses_kept() {
        assert_eq!(unnamed(r"a(?P<key>\S+) (?<v>x)"), r"a(?:\S+) (?:x)");
        assert_eq!(unnamed(r"\(?P<x"), r"\(?P<x");
        assert_eq!(unnamed(r"(?<=a)b(?<!c)"), r"(?<=a)b(?<!c)");
        assert_eq!(unnamed(r"\\(?P<k>y)"), r"\\(?:y)");
    }

    #[test]
    fn the_finder_is_withheld_where_it_could_miss_a_line() {
        let single = |_: usize| Regex::new("x").unwrap();
        let set = |s: &[&str]| {
            let v: Vec<String> = s.iter().map(|x| (*x).to_owned()).collect();
            PatternSet::new(&v, &single)
        };
        let both = set(&[r"(?P<k>a+)b", r"c(?P<k>d)"]);
        assert!(
            both.finder(b"xx\naab\n")
                .is_some_and(|f| f.is_match(b"xx\ncd"))
        );
        // A carriage return: `$` would not match before it in the chunk.
        assert!(both.finder(b"aab\r\n").is_none());
        // Patterns tied to the haystack's start or end, or single-line mode.
        assert!(set(&[r"\A#!"]).finder(b"x").is_none());
        assert!(set(&[r"(?-m)^x"]).finder(b"x").is_none());
    }

    #[test]
    fn a_set_too_large_for_one_piece_is_split_and_still_matches() {
        let sources: Vec<String> = (0..10)
            .map(|i| format!("zq{i}[0-9a-f]{{100000}}"))
            .chain(["needle".to_owned()])
            .collect();
        let single = |i: usize| crate::rules::load::compile_regex(&sources[i]).unwrap();
        let set = PatternSet::new(&sources, &single);
        assert!(set.shards() > 1);
        let mut hay = b"x zq3".to_vec();
        hay.extend(std::iter::repeat_n(b'a', 100_000));
        hay.extend_from_slice(b" needle");
        let m = set.matches(&hay);
        assert!(m.matched(3) && m.matched(10) && !m.matched(0));
        assert!(set.is_match(b"a needle"));
        assert!(!set.is_match(b"nothing"));
    }
}
