//! When the appliance was off: a silence every log shares, ended by a boot record (a line the
//! profile's `[continuity] boot` patterns recognise, at most ten minutes after the silence).
//! Firmware or configuration written during the silence is a sign of life: the appliance was
//! on then (installing firmware before a reboot), so the off period starts after it. What remains
//! is downtime when it lasts an hour or more (a shorter one is a reboot). Reported with the last
//! record before it, the boot record, a shutdown record when one precedes it, and firmware files
//! written around it. A shared silence without a boot record is kept apart: nothing says the
//! appliance was off then.

use super::track::Track;
use super::{BOOT_SLACK, Index, LogFile, MIN_DOWNTIME, MIN_OFF, SHUTDOWN_SLACK, duration};
use crate::appliance::profile::ContinuityDef;
use crate::input::{Entry, Listing};
use crate::model::{Downtime, EvPath, LogRecord, Timestamp};
use crate::scan::Mark;
use crate::util::glob;
use globset::GlobSet;
use regex::bytes::Regex;

/// What [`detect`] found.
#[derive(Clone, Debug, Default)]
pub(super) struct Found {
    pub(crate) downtime: Vec<Downtime>,
    /// The downtime periods, oldest first.
    pub(crate) periods: Vec<(i64, i64)>,
    /// Silences every log shares that no boot record ends.
    pub(crate) shared: Vec<(i64, i64)>,
}

fn patterns(list: &[String]) -> Vec<Regex> {
    // Validated when the profile was loaded.
    list.iter()
        .filter_map(|p| crate::rules::load::compile_regex(p).ok())
        .collect()
}

fn record(f: &LogFile<'_>, m: &Mark) -> LogRecord {
    LogRecord {
        path: f.read.path.clone(),
        line: m.line,
        time: Timestamp::from_unix(m.time),
        text: m.text.clone(),
    }
}

/// "/var/log/messages line 8 (`...`)".
fn cite(r: &LogRecord) -> String {
    format!(
        "{} line {} (`{}`)",
        r.path.to_lossless_string(),
        r.line,
        crate::model::bytes_to_lossless_string(&r.text.0)
    )
}

/// The silences of `global` (every log together) that are the appliance being off.
pub(super) fn detect(
    def: &ContinuityDef,
    index: &Index<'_, '_>,
    global: &Track,
    listing: &Listing,
) -> Found {
    let files = OwnFiles::of(def);
    let boot = patterns(&def.boot);
    let shutdown = patterns(&def.shutdown);
    let hit = |res: &[Regex], m: &Mark| res.iter().any(|r| r.is_match(&m.text.0));
    // Files whose times are the appliance's own doing, the only signs of life read here.
    let own: Vec<&Entry> = listing
        .entries
        .iter()
        .filter(|e| files.written_by_appliance(&e.path))
        .collect();
    let mut found = Found::default();
    for (a, b) in global.silences() {
        if b - a < MIN_DOWNTIME {
            continue;
        }
        let booted = Index::within(&index.starts, b, b + BOOT_SLACK)
            .iter()
            .find(|x| hit(&boot, x.2));
        let last = Index::within(&index.ends, a, a).first();
        let (Some(&(_, bf, bm)), Some(&(_, lf, lm))) = (booted, last) else {
            found.shared.push((a, b));
            continue;
        };
        // The latest sign of life inside the silence: firmware or configuration written then.
        let alive = own
            .iter()
            .filter(|e| e.mtime > a && e.mtime < b)
            .max_by(|x, y| (x.mtime, &y.path).cmp(&(y.mtime, &x.path)));
        let from = alive.map_or(a, |e| e.mtime);
        if b - from < MIN_OFF {
            continue;
        }
        // A shutdown record other than the last record itself says more (the command that
        // switched it off); the last record may be one too.
        let downs: Vec<&(i64, &LogFile<'_>, &Mark)> =
            Index::within(&index.ends, a - SHUTDOWN_SLACK, a)
                .iter()
                .filter(|x| hit(&shutdown, x.2))
                .collect();
        let is_last =
            |x: &&&(i64, &LogFile<'_>, &Mark)| std::ptr::eq(x.1, lf) && x.2.line == lm.line;
        let down = downs
            .iter()
            .rev()
            .find(|x| !is_last(x))
            .or_else(|| downs.iter().find(|x| is_last(x)));
        let records = Records {
            last: record(lf, lm),
            boot: record(bf, bm),
            shutdown: down.map(|x| record(x.1, x.2)),
        };
        let firmware = firmware_written(&files, listing, from - 3600, b + 2 * 3600);
        found.periods.push((from, b));
        found
            .downtime
            .push(downtime(from, b, records, alive.copied(), firmware));
    }
    found
}

/// The records that bound a period the appliance was off.
struct Records {
    last: LogRecord,
    boot: LogRecord,
    shutdown: Option<LogRecord>,
}

/// The downtime from `a` to `b`, with its records and the words that explain it.
fn downtime(a: i64, b: i64, r: Records, alive: Option<&Entry>, firmware: Vec<String>) -> Downtime {
    let mut shut = match &r.shutdown {
        Some(s) if *s == r.last => ", a shutdown record".to_owned(),
        Some(s) => format!(", shortly after the shutdown record {}", cite(s)),
        None => String::new(),
    };
    if let Some(e) = alive {
        shut.push_str(&format!(
            "; {} was written later, at {}, so the appliance was on until then",
            e.path.to_lossless_string(),
            Timestamp::from_unix(e.mtime)
        ));
    }
    let detail = format!(
        "every log is silent for {}: the last record before is {}{shut}; the first after is the boot record {}. Nothing is logged while the appliance is off, so this counts as covered; the owner can confirm when it was switched off",
        duration(b - a),
        cite(&r.last),
        cite(&r.boot)
    );
    Downtime {
        from: Timestamp::from_unix(a),
        to: Timestamp::from_unix(b),
        last_record: r.last,
        boot_record: r.boot,
        shutdown_record: r.shutdown,
        firmware,
        detail,
    }
}

/// The profile's files whose modification times are the appliance's own doing: firmware
/// installed, configuration saved (unlike files unpacked from an archive, which keep the
/// archive's times).
struct OwnFiles {
    firmware: GlobSet,
    saved: GlobSet,
}

impl OwnFiles {
    fn of(def: &ContinuityDef) -> OwnFiles {
        let set = |g: &Vec<String>| glob::set(g).unwrap_or_else(|_| GlobSet::empty());
        OwnFiles {
            firmware: set(&def.firmware_files),
            saved: set(&def.saved_files),
        }
    }

    fn firmware(&self, p: &EvPath) -> bool {
        self.firmware.is_match(glob::as_path(p.relative()))
    }

    fn written_by_appliance(&self, p: &EvPath) -> bool {
        self.firmware(p) || self.saved.is_match(glob::as_path(p.relative()))
    }
}

/// Firmware files modified between `from` and `to`: an upgrade around a downtime.
fn firmware_written(files: &OwnFiles, listing: &Listing, from: i64, to: i64) -> Vec<String> {
    listing
        .entries
        .iter()
        .filter(|e| files.firmware(&e.path) && e.mtime >= from && e.mtime <= to)
        .map(|e| {
            format!(
                "{} written {}",
                e.path.to_lossless_string(),
                Timestamp::from_unix(e.mtime)
            )
        })
        .collect()
}
