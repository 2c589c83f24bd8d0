//! An appliance's time zone, for the times syslog writes in its headers (`Jan 19 23:00:06`):
//! those are local wall-clock times, in a zone named like `GMT+01:00-CET-Europe/Amsterdam`
//! (the family reads it from its configuration, see `crate::appliance`). Stamps that carry
//! their zone (ns.log's embedded `GMT`, Apache's `+0000`) are never converted.
//!
//! European zones follow the EU daylight-saving rule (since 1996: from the last Sunday of March
//! to the last Sunday of October, changing at 01:00 UTC), taken from a small table of the zone
//! names that use it; any other zone keeps the fixed offset its name states, and says so. There
//! is no time-zone database.

use chrono::{Datelike, NaiveDate, Weekday};

/// How local times of one zone become UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZoneRule {
    /// Standard (winter) offset east of UTC, seconds.
    pub(crate) std_offset: i32,
    /// Summer time (one hour more) by the EU rule.
    pub(crate) eu_dst: bool,
}

/// Zone names of Europe that follow the EU rule, by the abbreviation NetScaler writes in them,
/// with the standard offset in hours.
const EU_FAMILIES: &[(&str, i32)] = &[
    ("GMT", 0),
    ("BST", 0),
    ("IST", 0),
    ("WET", 0),
    ("WEST", 0),
    ("CET", 1),
    ("CEST", 1),
    ("MET", 1),
    ("MEST", 1),
    ("EET", 2),
    ("EEST", 2),
];

/// European places whose clocks no longer change, although their names look European.
const NO_DST: &[&str] = &[
    "Europe/Kaliningrad",
    "Europe/Minsk",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Europe/Samara",
    "Europe/Volgograd",
];

impl ZoneRule {
    /// UTC seconds of a local wall-clock time given as if it were UTC. In the hour the clocks
    /// go back, the first (summer-time) reading is taken; a time the clocks skipped in spring
    /// is read with the standard offset.
    pub(crate) fn to_utc(self, local: i64) -> i64 {
        let std = local - i64::from(self.std_offset);
        if self.eu_dst {
            let summer = std - 3600;
            if in_eu_summer(summer) {
                return summer;
            }
        }
        std
    }

    /// The offset in force at a UTC time, seconds east of UTC.
    pub fn offset_at(self, utc: i64) -> i32 {
        if self.eu_dst && in_eu_summer(utc) {
            self.std_offset + 3600
        } else {
            self.std_offset
        }
    }
}

/// The last Sunday of a month, 01:00 UTC, as Unix seconds.
fn last_sunday_1am(year: i32, month: u32) -> Option<i64> {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let mut d = next.pred_opt()?;
    while d.weekday() != Weekday::Sun {
        d = d.pred_opt()?;
    }
    Some(d.and_hms_opt(1, 0, 0)?.and_utc().timestamp())
}

/// True when EU summer time is in force at a UTC instant.
fn in_eu_summer(utc: i64) -> bool {
    let Some(t) = chrono::DateTime::from_timestamp(utc, 0) else {
        return false;
    };
    let y = t.year();
    match (last_sunday_1am(y, 3), last_sunday_1am(y, 10)) {
        (Some(a), Some(b)) => utc >= a && utc < b,
        _ => false,
    }
}

/// The zone syslog headers were written in, and how sporen knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// As configured (`GMT+01:00-CET-Europe/Amsterdam`), or `UTC` when none is.
    pub(crate) name: String,
    pub(crate) rule: ZoneRule,
    /// The configuration it was read from; `None` when UTC is assumed.
    pub(crate) source: Option<String>,
    /// Daylight saving as applied, in words.
    pub(crate) daylight_saving: String,
    /// What the examiner should know about this choice.
    pub(crate) note: String,
}

impl Zone {
    /// UTC, assumed for the reason given.
    pub(crate) fn assumed_utc(why: &str) -> Zone {
        Zone {
            name: "UTC".to_owned(),
            rule: ZoneRule::default(),
            source: None,
            daylight_saving: "none".to_owned(),
            note: format!(
                "{why}: syslog header times are read as UTC, the appliance's default; if the appliance used another zone, those times are off by its offset"
            ),
        }
    }

    /// A zone as `set ns param -timezone` writes it, read from `source`.
    pub fn parse(value: &str, source: &str) -> Zone {
        let v = value.trim();
        if v.eq_ignore_ascii_case("CoordinatedUniversalTime") || v.eq_ignore_ascii_case("UTC") {
            return Zone {
                name: v.to_owned(),
                rule: ZoneRule::default(),
                source: Some(source.to_owned()),
                daylight_saving: "none".to_owned(),
                note: format!("UTC, as {source} sets it"),
            };
        }
        let Some((offset, abbr, place)) = split_name(v) else {
            let mut z = Zone::assumed_utc(&format!(
                "the time zone `{v}` in {source} is not in the form GMT+hh:mm-ABBR-Region/City"
            ));
            z.name = v.to_owned();
            return z;
        };
        let eu = EU_FAMILIES.iter().find(|(a, _)| *a == abbr);
        let european = (place.starts_with("Europe/")
            || [
                "Atlantic/Canary",
                "Atlantic/Madeira",
                "Atlantic/Faroe",
                "Atlantic/Faeroe",
            ]
            .contains(&place))
            && !NO_DST.contains(&place);
        match eu {
            Some((_, hours)) if european => Zone {
                name: v.to_owned(),
                rule: ZoneRule {
                    std_offset: hours * 3600,
                    eu_dst: true,
                },
                source: Some(source.to_owned()),
                daylight_saving: format!(
                    "EU rule for {place}: UTC{} in winter, UTC{} from the last Sunday of March to the last Sunday of October (01:00 UTC)",
                    hhmm(hours * 3600),
                    hhmm(hours * 3600 + 3600)
                ),
                note: format!("read from {source}"),
            },
            _ => Zone {
                name: v.to_owned(),
                rule: ZoneRule {
                    std_offset: offset,
                    eu_dst: false,
                },
                source: Some(source.to_owned()),
                daylight_saving: "none applied".to_owned(),
                note: format!(
                    "read from {source}; no daylight-saving rule is known to sporen for {place}: the fixed offset UTC{} is used all year, so times in a season with another offset are off by the difference",
                    hhmm(offset)
                ),
            },
        }
    }

    /// `+01:00`: the standard offset.
    pub(crate) fn utc_offset(&self) -> String {
        hhmm(self.rule.std_offset)
    }
}

/// `GMT+01:00-CET-Europe/Amsterdam` → (3600, "CET", "Europe/Amsterdam").
fn split_name(v: &str) -> Option<(i32, &str, &str)> {
    let rest = v.strip_prefix("GMT")?;
    let sign = match rest.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hh: i32 = rest.get(1..3)?.parse().ok()?;
    let mm: i32 = rest.get(4..6)?.parse().ok()?;
    if rest.as_bytes().get(3) != Some(&b':') || hh > 14 || mm > 59 {
        return None;
    }
    let (abbr, place) = rest.get(6..)?.strip_prefix('-')?.split_once('-')?;
    Some((sign * (hh * 3600 + mm * 60), abbr, place))
}

/// `3600` → `+01:00`.
fn hhmm(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        crate::util::bytes::parse_time(s).unwrap()
    }

    #[test]
    fn amsterdam_follows_the_eu_rule_whatever_abbreviation_the_name_carries() {
        for name in [
            "GMT+01:00-CET-Europe/Amsterdam",
            "GMT+02:00-CEST-Europe/Amsterdam",
        ] {
            let z = Zone::parse(name, "/flash/nsconfig/ns.conf").rule;
            // Winter: CET, UTC+1.
            assert_eq!(
                z.to_utc(ts("2020-01-28T10:59:00Z")),
                ts("2020-01-28T09:59:00Z")
            );
            // Summer: CEST, UTC+2.
            assert_eq!(
                z.to_utc(ts("2025-07-24T10:00:00Z")),
                ts("2025-07-24T08:00:00Z")
            );
        }
    }

    #[test]
    fn the_change_of_clocks_in_spring_and_autumn() {
        let z = Zone::parse("GMT+01:00-CET-Europe/Berlin", "x").rule;
        // 2020: summer time from Sunday 29 March to Sunday 25 October, 01:00 UTC.
        assert_eq!(
            z.to_utc(ts("2020-03-29T01:59:00Z")),
            ts("2020-03-29T00:59:00Z")
        );
        assert_eq!(
            z.to_utc(ts("2020-03-29T03:00:00Z")),
            ts("2020-03-29T01:00:00Z")
        );
        // 02:30 happened twice on 25 October: the first (summer) reading is taken.
        assert_eq!(
            z.to_utc(ts("2020-10-25T02:30:00Z")),
            ts("2020-10-25T00:30:00Z")
        );
        assert_eq!(
            z.to_utc(ts("2020-10-25T03:30:00Z")),
            ts("2020-10-25T02:30:00Z")
        );
        assert_eq!(z.offset_at(ts("2020-10-25T00:59:59Z")), 7200);
        assert_eq!(z.offset_at(ts("2020-10-25T01:00:00Z")), 3600);
        let london = Zone::parse("GMT+00:00-GMT-Europe/London", "x").rule;
        assert_eq!(
            london.to_utc(ts("2023-07-12T12:00:00Z")),
            ts("2023-07-12T11:00:00Z")
        );
        let athens = Zone::parse("GMT+02:00-EET-Europe/Athens", "x").rule;
        assert_eq!(
            athens.to_utc(ts("2023-01-12T12:00:00Z")),
            ts("2023-01-12T10:00:00Z")
        );
    }

    #[test]
    fn other_zones_keep_their_fixed_offset_and_say_so() {
        let ny = Zone::parse("GMT-05:00-EST-America/New_York", "/flash/nsconfig/ns.conf");
        assert_eq!(
            ny.rule.to_utc(ts("2023-07-12T12:00:00Z")),
            ts("2023-07-12T17:00:00Z")
        );
        assert!(ny.note.contains("no daylight-saving rule") && ny.note.contains("-05:00"));
        let moscow = Zone::parse("GMT+03:00-MSK-Europe/Moscow", "x");
        assert!(!moscow.rule.eu_dst);
        assert_eq!(moscow.rule.std_offset, 3 * 3600);
        let india = Zone::parse("GMT+05:30-IST-Asia/Kolkata", "x").rule;
        assert_eq!(india.std_offset, 5 * 3600 + 1800);
        assert!(!india.eu_dst);
        let utc = Zone::parse("CoordinatedUniversalTime", "x");
        assert_eq!(utc.rule, ZoneRule::default());
        let odd = Zone::parse("Mars/Olympus", "x");
        assert_eq!(odd.rule, ZoneRule::default());
        assert!(odd.note.contains("not in the form"));
    }
}
