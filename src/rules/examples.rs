//! The self-test of rules: every `[[rule.example]]` is turned into a tiny evidence that the
//! real scanner (given by the caller) must, or must not, report the rule for.

use crate::input::{Entry, EntryKind, Evidence, Listing};
use crate::model::EvPath;
use crate::rules::{FileType, Matcher, RuleSet};
use std::io::{self, Read};

/// A rule example that did not behave as its rule says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule's id.
    pub rule: String,
    /// Where the example is written (`file:line:col`).
    pub origin: String,
    /// What happened ("example did not match", with what the other rules did).
    pub message: String,
}

/// What a scan of one example reported: the ids of the rules that fired. `timeline` is true
/// for the example of a timeline rule, whose findings come from the logs' time coverage.
pub type Fired<'a> = dyn Fn(&dyn Evidence, bool) -> Vec<String> + 'a;

/// Turns every rule example into a small evidence, has `fired` scan it, and returns the number
/// of examples and those that did not behave as their rule says. The scanning is the caller's
/// (see `crate::selftest`): the rules know their examples, not the engine that runs them.
pub fn check_examples(rules: &RuleSet, fired: &Fired<'_>) -> (usize, Vec<ExampleFailure>) {
    let mut failures = Vec::new();
    let mut count = 0;
    for (i, rule) in rules.rules().iter().enumerate() {
        for ex in &rule.examples {
            count += 1;
            let ev = ExampleEvidence::new(ex);
            let timeline = matches!(rule.matcher, Matcher::Timeline(_));
            let hit = fired(&ev, timeline).contains(&rule.id);
            if hit != ex.expect_match {
                let what = if ex.expect_match {
                    "did not match"
                } else {
                    "matched"
                };
                let others = describe_example_miss(rules, i, ex);
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    origin: ex.origin.to_string(),
                    message: format!("example {what}{others}"),
                });
            }
        }
    }
    (count, failures)
}

fn describe_example_miss(rules: &RuleSet, i: usize, ex: &crate::rules::Example) -> String {
    let rel = ex.path.relative();
    let rule = &rules.rule(i);
    let applies = match &rule.matcher {
        Matcher::File(_) => rules.file_rules_for(rel).contains(&i),
        Matcher::Lines(_) | Matcher::Correlate(_) | Matcher::Timeline(_) => {
            rules.line_rules_for(rel).contains(&i)
        }
    };
    if applies {
        String::new()
    } else {
        format!(
            " (the rule does not apply to path {})",
            ex.path.to_lossless_string()
        )
    }
}

/// A small evidence built from a rule example: the example file plus its `also` files.
struct ExampleEvidence {
    entries: Vec<Entry>,
    contents: Vec<Vec<u8>>,
    /// The example's own file, the one stated digests belong to.
    main: EvPath,
    digests: (Option<String>, Option<String>),
}

impl ExampleEvidence {
    fn new(ex: &crate::rules::Example) -> Self {
        let kind = match ex.file_type {
            FileType::Dir => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            FileType::File | FileType::Any => EntryKind::File,
        };
        let entry = |path: &EvPath, kind: EntryKind, content: &[u8]| Entry {
            path: path.clone(),
            kind,
            size: content.len() as u64,
            mode: ex.mode,
            uid: ex.uid,
            gid: ex.gid,
            mtime: ex.mtime,
            btime: ex.btime,
            atime: None,
            ctime: None,
            link_target: None,
            identity: None,
        };
        let mut files: Vec<(Entry, Vec<u8>)> =
            vec![(entry(&ex.path, kind, &ex.content), ex.content.clone())];
        // The other files of the appliance are ordinary: root's, 0644, the example's times.
        for (p, c) in &ex.also {
            let mut other = entry(p, EntryKind::File, c);
            (other.mode, other.uid, other.gid) = (0o644, 0, 0);
            files.push((other, c.clone()));
        }
        files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let (entries, contents) = files.into_iter().unzip();
        ExampleEvidence {
            entries,
            contents,
            main: ex.path.clone(),
            digests: (ex.sha256.clone(), ex.md5.clone()),
        }
    }
}

impl Evidence for ExampleEvidence {
    fn kind(&self) -> &'static str {
        "example"
    }
    fn list(&self) -> Listing {
        Listing {
            entries: self.entries.clone().into(),
            gaps: Vec::new(),
        }
    }
    fn open(&self, entry: &Entry) -> io::Result<Box<dyn Read + Send + '_>> {
        let i = self
            .entries
            .iter()
            .position(|e| e.path == entry.path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        Ok(Box::new(&self.contents[i][..]))
    }
    fn resolve(&self, path: &EvPath) -> Option<EvPath> {
        self.entries
            .iter()
            .any(|e| &e.path == path)
            .then(|| path.clone())
    }
    fn stated_digests(&self, entry: &Entry) -> Option<(Option<String>, Option<String>)> {
        (entry.path == self.main).then(|| self.digests.clone())
    }
}
