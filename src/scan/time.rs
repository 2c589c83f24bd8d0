//! Time stamps of appliance log lines, and the year a syslog line does not carry.
//!
//! Formats, tried in this order (the first one found wins, so ns.log's embedded GMT time beats
//! its syslog prefix in local time):
//! * the appliance family's own (for NetScaler, ns.log's `01/27/2020:08:14:09 GMT`);
//! * Apache access log: `[13/Jan/2020:08:16:30 +0000]`;
//! * Apache error log: `[Mon Jan 27 08:14:02 2020]`, `[Wed Jul 02 01:55:02.318842 2025]`;
//! * syslog without a year: `Jan 19 23:00:06 ` (optionally after `<pri>`).
//!
//! Parsing is byte-level and allocation-free; a malformed stamp (hour 24, month `Jxn`) is simply
//! not a stamp, it never rejects the file.

use crate::zone::ZoneRule;
use chrono::{NaiveDate, NaiveDateTime};

/// A time stamp found on a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// A complete UTC time, Unix seconds.
    Full(i64),
    /// Month (1-12), day, seconds of the day: a syslog stamp without a year.
    NoYear { month: u32, day: u32, secs: u32 },
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month(b: &[u8]) -> Option<u32> {
    let m = b.get(..3)?;
    MONTHS
        .iter()
        .position(|x| &x[..] == m)
        .map(|i| i as u32 + 1)
}

/// Decimal digits → their value (`None` for anything else).
pub(crate) fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `HH:MM:SS` → seconds of the day, rejecting impossible values.
pub(crate) fn hms(b: &[u8]) -> Option<u32> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (num(&b[0..2])?, num(&b[3..5])?, num(&b[6..8])?);
    (h < 24 && m < 60 && s < 61).then_some(h * 3600 + m * 60 + s.min(59))
}

/// A complete stamp from its parts, `offset_secs` east of UTC; `None` for an impossible date.
pub(crate) fn full(y: u32, mo: u32, d: u32, secs: u32, offset_secs: i64) -> Option<Stamp> {
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, mo, d)?;
    let t = date.and_hms_opt(secs / 3600, secs / 60 % 60, secs % 60)?;
    Some(Stamp::Full(t.and_utc().timestamp() - offset_secs))
}

/// `[13/Jan/2020:08:16:30 +0000]` anywhere in the line.
fn apache_access(line: &[u8]) -> Option<Stamp> {
    let mut from = 0;
    while let Some(off) = memchr::memchr(b'[', &line[from..]) {
        let s = from + off + 1;
        from = s;
        // 13/Jan/2020:08:16:30 +0000]
        let b = line.get(s..s + 27)?;
        if b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' || b[26] != b']' {
            continue;
        }
        let d = num(&b[0..2])?;
        let mo = month(&b[3..6])?;
        let y = num(&b[7..11])?;
        let secs = hms(&b[12..20])?;
        let sign = match b[21] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let offset = sign * (i64::from(num(&b[22..24])?) * 3600 + i64::from(num(&b[24..26])?) * 60);
        return full(y, mo, d, secs, offset);
    }
    None
}

/// `[Mon Jan 27 08:14:02 2020]` or with microseconds, at the start of the line.
fn apache_error(line: &[u8]) -> Option<Stamp> {
    let b = line.strip_prefix(b"[")?;
    let end = memchr::memchr(b']', b)?;
    let b = &b[..end];
    // "Mon Jan 27 08:14:02 2020" or "Wed Jul 02 01:55:02.318842 2025"
    if b.len() < 24 || b[3] != b' ' || b[7] != b' ' || b[10] != b' ' {
        return None;
    }
    let mo = month(&b[4..7])?;
    let d = num(b[8..10].trim_ascii_start())?;
    let secs = hms(&b[11..19])?;
    let y = num(&b[b.len() - 4..])?;
    full(y, mo, d, secs, 0)
}

/// `Jan 19 23:00:06 ` at the start of the line, optionally after `<pri>`.
fn syslog(line: &[u8]) -> Option<Stamp> {
    let mut b = line;
    if b.first() == Some(&b'<') {
        let end = memchr::memchr(b'>', b)?;
        if end > 4 {
            return None;
        }
        b = &b[end + 1..];
    }
    if b.len() < 16 || b[3] != b' ' || b[6] != b' ' || b[15] != b' ' {
        return None;
    }
    let mo = month(b)?;
    let day = num(b[4..6].trim_ascii_start())?;
    if !(1..=31).contains(&day) {
        return None;
    }
    let secs = hms(&b[7..15])?;
    Some(Stamp::NoYear {
        month: mo,
        day,
        secs,
    })
}

/// A reader of one appliance family's own stamp format (see `crate::appliance`).
pub type StampFormat = fn(&[u8]) -> Option<Stamp>;

/// The stamp formats a scan reads: the appliance family's own (see [`crate::appliance::Family`])
/// before the generic ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stamps(pub &'static [StampFormat]);

impl Stamps {
    /// The time stamp of a log line, if it has one: the family's own formats first, then the
    /// generic ones.
    pub fn parse(self, line: &[u8]) -> Option<Stamp> {
        self.0
            .iter()
            .find_map(|f| f(line))
            .or_else(|| apache_access(line))
            .or_else(|| apache_error(line))
            .or_else(|| syslog(line))
    }
}

/// Resolves no-year stamps of one file. Feed stamps in file order with [`YearTracker::see`];
/// it counts year roll-overs (a month that goes back by six or more: December to January).
#[derive(Clone, Debug, Default)]
pub struct YearTracker {
    last_month: Option<u32>,
    /// Roll-overs seen so far.
    pub rollovers: u32,
}

impl YearTracker {
    /// Takes the next no-year stamp and returns the roll-over count that applies to it.
    pub fn see(&mut self, month: u32) -> u32 {
        if let Some(prev) = self.last_month
            && month + 6 <= prev
        {
            self.rollovers += 1;
        }
        self.last_month = Some(month);
        self.rollovers
    }
}

/// Unix seconds of a no-year stamp in `year`.
pub(crate) fn with_year(year: i32, month: u32, day: u32, secs: u32) -> Option<i64> {
    let d = NaiveDate::from_ymd_opt(year, month, day)?;
    let t: NaiveDateTime = d.and_hms_opt(secs / 3600, secs / 60 % 60, secs % 60)?;
    Some(t.and_utc().timestamp())
}

/// Anchors outside 1990-01-01 .. 2100-01-01 are no dates an appliance wrote: a crafted inode or
/// tar header, or a clock that was never set. They give no year.
const PLAUSIBLE_ANCHORS: std::ops::Range<i64> = 631_152_000..4_102_444_800;

/// The year of a file's last no-year stamp, given an anchor time the last line cannot be later
/// than (the file's modification time, or the newest dated event): the anchor's year, or the
/// year before when the stamp would fall more than a day after the anchor. `None` when the
/// anchor is not a possible date of an appliance (1990 to 2100).
pub(crate) fn year_of_last(anchor: i64, month: u32, day: u32, secs: u32) -> Option<i32> {
    use chrono::Datelike;
    if !PLAUSIBLE_ANCHORS.contains(&anchor) {
        return None;
    }
    let year = chrono::DateTime::from_timestamp(anchor, 0)?.year();
    match with_year(year, month, day, secs) {
        Some(t) if t > anchor.saturating_add(86_400) => Some(year - 1),
        _ => Some(year),
    }
}

/// A line's time before the year of undated (syslog) lines is known: the number of year
/// roll-overs seen before it in its file is kept, the year is decided once the whole evidence
/// was read (see [`YearResolver`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelTime {
    Full(i64),
    NoYear {
        rollovers: u32,
        month: u32,
        day: u32,
        secs: u32,
    },
}

impl RelTime {
    /// Whether this line time lies before `other`, a time of the same file. Lines of the two
    /// kinds (with and without a year) do not compare before the year is known.
    pub fn earlier_than(&self, other: &RelTime) -> bool {
        match (*self, *other) {
            (RelTime::Full(a), RelTime::Full(b)) => a < b,
            (
                RelTime::NoYear {
                    rollovers,
                    month,
                    day,
                    secs,
                },
                RelTime::NoYear {
                    rollovers: r,
                    month: m,
                    day: d,
                    secs: s,
                },
            ) => (rollovers, month, day, secs) < (r, m, d, s),
            _ => false,
        }
    }
}

/// First and latest dated line of a log, and its year roll-overs. A web server logs a request
/// when it ends, stamped with the time it began: a long request puts an older time after newer
/// ones, so the log ends at its latest time, not at its last line; it starts at its first line
/// (an older stamp written later does not show that the log was being written then).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogTimes {
    pub first: Option<RelTime>,
    pub last: Option<RelTime>,
    pub rollovers: u32,
    /// First fully dated line (an ns.log rotation starts with an undated newsyslog line).
    pub first_full: Option<i64>,
}

/// Why the undated lines of a file have no time at all.
const NO_YEAR: &str = "nothing: the file's modification time is not a possible date and no line in the evidence carries a year, so its undated lines have no time";

/// Turns [`RelTime`]s of one file into Unix seconds.
#[derive(Clone, Debug)]
pub struct YearResolver {
    /// Year of the file's last undated line, and the total roll-overs in the file.
    last_year: Option<(i32, u32)>,
    /// The zone syslog headers are written in.
    zone: ZoneRule,
    /// How the year was found, when it was inferred.
    pub(crate) inferred_from: Option<String>,
}

impl YearResolver {
    /// The resolver for one file. `newest_dated` is the newest fully dated line of the whole
    /// evidence: when the file's mtime lies more than a year after it, the copy did not keep
    /// times and that line is the better anchor. Undated (syslog) lines are local times of
    /// `zone`.
    pub fn new(
        times: &LogTimes,
        mtime: i64,
        newest_dated: Option<i64>,
        zone: ZoneRule,
    ) -> YearResolver {
        let Some(RelTime::NoYear {
            month, day, secs, ..
        }) = times.last
        else {
            // Mostly dated lines: an undated line before the first dated one belongs to the
            // year that puts it just before that line.
            return match times.first {
                Some(RelTime::NoYear {
                    month, day, secs, ..
                }) => {
                    let anchor = times.first_full.unwrap_or(mtime);
                    let year = year_of_last(anchor, month, day, secs);
                    YearResolver {
                        last_year: year.map(|y| (y, 0)),
                        zone,
                        inferred_from: Some(match year {
                            Some(_) => "the first dated line of the file".to_owned(),
                            None => NO_YEAR.to_owned(),
                        }),
                    }
                }
                _ => YearResolver {
                    last_year: None,
                    zone,
                    inferred_from: None,
                },
            };
        };
        let mtime_possible = PLAUSIBLE_ANCHORS.contains(&mtime);
        let (anchor, how) = match newest_dated {
            Some(n) if !mtime_possible => (
                n,
                "the newest dated line in the evidence (the file's modification time is not a possible date)",
            ),
            Some(n) if mtime > n.saturating_add(366 * 86_400) => (
                n,
                "the newest dated line in the evidence (the file's modification time is more than a year later: the copy did not keep times)",
            ),
            _ => (mtime, "the file's modification time"),
        };
        let year = year_of_last(anchor, month, day, secs);
        YearResolver {
            last_year: year.map(|y| (y, times.rollovers)),
            zone,
            inferred_from: Some(if year.is_some() { how } else { NO_YEAR }.to_owned()),
        }
    }

    /// The same resolver for times whose roll-overs were counted by another reader of the same
    /// file, which saw `total` of them in all.
    pub fn with_rollovers(&self, total: u32) -> YearResolver {
        let mut y = self.clone();
        if let Some((year, _)) = y.last_year {
            y.last_year = Some((year, total));
        }
        y
    }

    /// Unix seconds of a line time, and whether its year was inferred.
    pub fn resolve(&self, t: RelTime) -> Option<(i64, bool)> {
        match t {
            RelTime::Full(x) => Some((x, false)),
            RelTime::NoYear {
                rollovers,
                month,
                day,
                secs,
            } => {
                let (year, total) = self.last_year?;
                let y = year - i32::try_from(total.saturating_sub(rollovers)).unwrap_or(0);
                with_year(y, month, day, secs).map(|x| (self.zone.to_utc(x), true))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        crate::util::bytes::parse_time(s).unwrap()
    }

    /// With the NetScaler's own format, as a scan of a NetScaler reads its logs.
    fn parse(line: &[u8]) -> Option<Stamp> {
        Stamps(crate::appliance::netscaler::stamps::FORMATS).parse(line)
    }

    #[test]
    fn formats() {
        assert_eq!(
            parse(b"Jan 27 08:14:09 <local0.info> 192.0.2.10  01/27/2020:08:14:09 GMT ns-gw01 0-PPE-0 : SSLVPN LOGIN"),
            Some(Stamp::Full(ts("2020-01-27T08:14:09Z")))
        );
        assert_eq!(
            parse(
                b"<134>Jun 18 18:18:42 svm_service: 1.1.1.1  18/06/2020:16:18:42 GMT mynetscaler2"
            ),
            Some(Stamp::Full(ts("2020-06-18T16:18:42Z")))
        );
        assert_eq!(
            parse(b"127.0.0.2 - - [13/Jan/2020:08:16:30 +0000] \"POST /vpn/../vpns/portal/scripts/newbm.pl HTTP/1.1\" 200"),
            Some(Stamp::Full(ts("2020-01-13T08:16:30Z")))
        );
        assert_eq!(
            parse(b"1.2.3.4 -> 5.6.7.8 - - [19/Dec/2022:17:25:48 +0100] [69420] \"GET / HTTP/1.1\" 200"),
            Some(Stamp::Full(ts("2022-12-19T16:25:48Z")))
        );
        assert_eq!(
            parse(b"[Mon Jan 27 08:14:02 2020] [notice] Apache configured"),
            Some(Stamp::Full(ts("2020-01-27T08:14:02Z")))
        );
        assert_eq!(
            parse(b"[Wed Jul 02 01:55:02.318842 2025] [php:warn] [pid 52771] PHP Warning"),
            Some(Stamp::Full(ts("2025-07-02T01:55:02Z")))
        );
        assert_eq!(
            parse(b"Aug  9 12:56:00 <local7.notice> ns bash[23841]: root on /dev/pts/0"),
            Some(Stamp::NoYear {
                month: 8,
                day: 9,
                secs: 12 * 3600 + 56 * 60
            })
        );
        // One bad stamp is no stamp, and nothing panics on short or odd lines.
        assert_eq!(
            parse(b"Jan 19 24:23:56 <local7.notice> ns bash[1]: x"),
            None
        );
        assert_eq!(
            parse(b"Jxn 19 12:23:56 <local7.notice> ns bash[1]: x"),
            None
        );
        assert_eq!(parse(b"curl: (7) Failed to connect"), None);
        for l in [
            &b"["[..],
            b"[13/Jan",
            b"<1",
            b"Jan",
            b" GMT",
            b"99/99/9999:99:99:99 GMT",
        ] {
            let _ = parse(l);
        }
    }

    #[test]
    fn year_inference() {
        // A file last written 2020-01-27: its "Jan 27" line is 2020, a "Dec 31" line would be 2019.
        let anchor = ts("2020-01-27T10:00:00Z");
        assert_eq!(year_of_last(anchor, 1, 27, 9 * 3600), Some(2020));
        assert_eq!(year_of_last(anchor, 12, 31, 0), Some(2019));
        // A modification time no appliance wrote (a crafted inode or tar header) gives no year.
        assert_eq!(year_of_last(i64::MAX, 12, 31, 0), None);
        assert_eq!(year_of_last(-1, 12, 31, 0), None);
        let times = LogTimes {
            first: Some(RelTime::NoYear {
                rollovers: 0,
                month: 1,
                day: 19,
                secs: 0,
            }),
            last: Some(RelTime::NoYear {
                rollovers: 0,
                month: 1,
                day: 19,
                secs: 60,
            }),
            ..LogTimes::default()
        };
        let r = YearResolver::new(&times, i64::MAX, None, ZoneRule::default());
        assert_eq!(r.resolve(times.last.unwrap()), None);
        assert!(r.inferred_from.unwrap().contains("not a possible date"));
        let r = YearResolver::new(&times, i64::MAX, Some(anchor), ZoneRule::default());
        assert_eq!(r.resolve(times.last.unwrap()).map(|t| t.1), Some(true));
        let mut y = YearTracker::default();
        assert_eq!(y.see(12), 0);
        assert_eq!(y.see(12), 0);
        assert_eq!(y.see(1), 1);
        assert_eq!(y.see(1), 1);
        assert_eq!(y.see(2), 1);
        // A slightly out-of-order line does not count as a new year.
        assert_eq!(y.see(1), 1);
    }
}
