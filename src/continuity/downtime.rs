//! When the appliance was off: a silence every log shares, ended by a boot record (a line the
//! profile's `[continuity] boot` patterns recognise, at most ten minutes after the silence).
//! Firmware or configuration written during the silence is a sign of life: the appliance was
//! on then (installing firmware before a reboot), so the off period starts after it. What remains
//! is downtime when it lasts an hour or more (a shorter one is a reboot). Reported with the last
//! record before it, the boot record, a shutdown record when one precedes it, and firmware files
//! written around it. A shared silence without a boot record is kept apart: nothing says the
//! appliance was off then.

use super::track::Track;
use super::{BOOT_SLACK, LogFile, MIN_DOWNTIME, MIN_OFF, SHUTDOWN_SLACK, duration};
use crate::input::Listing;
use crate::model::{Downtime, LogRecord, rfc3339};
use crate::scan::Mark;
use crate::verdict::ContinuityDef;
use regex::bytes::Regex;

/// What [`detect`] found.
#[derive(Clone, Debug, Default)]
pub(super) struct Found {
    pub downtime: Vec<Downtime>,
    /// The downtime periods, oldest first.
    pub periods: Vec<(i64, i64)>,
    /// Silences every log shares that no boot record ends.
    pub shared: Vec<(i64, i64)>,
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
        time: rfc3339(m.time),
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
    files: &[&LogFile<'_>],
    global: &Track,
    listing: &Listing,
) -> Found {
    let boot = patterns(&def.boot);
    let shutdown = patterns(&def.shutdown);
    let hit = |res: &[Regex], m: &Mark| res.iter().any(|r| r.is_match(&m.text.0));
    let mut found = Found::default();
    for (a, b) in global.silences() {
        if b - a < MIN_DOWNTIME {
            continue;
        }
        let booted = files
            .iter()
            .flat_map(|f| f.starts().map(move |m| (*f, m)))
            .filter(|(_, m)| m.time >= b && m.time <= b + BOOT_SLACK && hit(&boot, m))
            .min_by(|x, y| (x.1.time, &x.0.read.path).cmp(&(y.1.time, &y.0.read.path)));
        let last = files.iter().find_map(|f| Some((*f, f.ending_at(a)?)));
        let (Some((bf, bm)), Some((lf, lm))) = (booted, last) else {
            found.shared.push((a, b));
            continue;
        };
        // The latest sign of life inside the silence: firmware or configuration written then.
        let alive = listing
            .entries
            .iter()
            .filter(|e| written_by_appliance(e.path.as_bytes()) && e.mtime > a && e.mtime < b)
            .max_by(|x, y| (x.mtime, &y.path).cmp(&(y.mtime, &x.path)));
        let a = alive.map_or(a, |e| e.mtime);
        if b - a < MIN_OFF {
            continue;
        }
        // A shutdown record other than the last record itself says more (the command that
        // switched it off); the last record may be one too.
        let downs: Vec<(&LogFile<'_>, &Mark)> = files
            .iter()
            .flat_map(|f| f.ends().map(move |m| (*f, m)))
            .filter(|(_, m)| m.time <= a && m.time >= a - SHUTDOWN_SLACK && hit(&shutdown, m))
            .collect();
        let is_last = |(f, m): &(&LogFile<'_>, &Mark)| std::ptr::eq(*f, lf) && m.line == lm.line;
        let down = downs
            .iter()
            .filter(|x| !is_last(x))
            .max_by(|x, y| (x.1.time, &y.0.read.path).cmp(&(y.1.time, &x.0.read.path)))
            .or_else(|| downs.iter().find(|x| is_last(x)));
        let boot_record = record(bf, bm);
        let last_record = record(lf, lm);
        let shutdown_record = down.map(|(f, m)| record(f, m));
        let firmware = firmware_written(listing, a - 3600, b + 2 * 3600);
        let mut shut = match &shutdown_record {
            Some(s) if *s == last_record => ", a shutdown record".to_owned(),
            Some(s) => format!(", shortly after the shutdown record {}", cite(s)),
            None => String::new(),
        };
        if let Some(e) = alive {
            shut.push_str(&format!(
                "; {} was written later, at {}, so the appliance was on until then",
                e.path.to_lossless_string(),
                rfc3339(e.mtime)
            ));
        }
        let detail = format!(
            "every log is silent for {}: the last record before is {}{shut}; the first after is the boot record {}. Nothing is logged while the appliance is off, so this counts as covered; the owner can confirm when it was switched off",
            duration(b - a),
            cite(&last_record),
            cite(&boot_record)
        );
        found.periods.push((a, b));
        found.downtime.push(Downtime {
            from: rfc3339(a),
            to: rfc3339(b),
            last_record,
            boot_record,
            shutdown_record,
            firmware,
            detail,
        });
    }
    found
}

/// Kernel images, `/flash/.version` and `/flash/boot/loader.conf`: written when firmware is
/// installed.
fn firmware_file(p: &[u8]) -> bool {
    p == b"/flash/.version"
        || p == b"/flash/boot/loader.conf"
        || (p.starts_with(b"/flash/ns-") && p.ends_with(b".gz") && !p[7..].contains(&b'/'))
}

/// Files whose modification time is the appliance's own doing (firmware installed, the
/// configuration saved), unlike files unpacked from an archive, which keep the archive's times.
fn written_by_appliance(p: &[u8]) -> bool {
    firmware_file(p) || p.starts_with(b"/flash/nsconfig/ns.conf")
}

/// Firmware files modified between `from` and `to`: an upgrade around a downtime.
fn firmware_written(listing: &Listing, from: i64, to: i64) -> Vec<String> {
    listing
        .entries
        .iter()
        .filter(|e| firmware_file(e.path.as_bytes()) && e.mtime >= from && e.mtime <= to)
        .map(|e| {
            format!(
                "{} written {}",
                e.path.to_lossless_string(),
                rfc3339(e.mtime)
            )
        })
        .collect()
}
