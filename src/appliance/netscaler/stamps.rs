//! The NetScaler's own time stamp: ns.log writes `01/27/2020:08:14:09 GMT` inside each record
//! (after a syslog prefix in local time), month first, or day first when the first field is
//! greater than 12.

use crate::scan::time::{Stamp, StampFormat, full, hms, num};

/// The stamp formats NetScaler logs write beyond the generic syslog and Apache ones.
pub const FORMATS: &[StampFormat] = &[nslog];

/// How ns.log records start beyond the BSD syslog head: the `<facility.level>` framing
/// (`<local0.info> 10.0.0.1 ...`), or the ns.log time itself (`01/27/2020:08:14:09 `).
pub const RECORD_HEADS: &[&str] = &[
    r"<[A-Za-z0-9]+\.[A-Za-z]+> ",
    r"[0-9]{2}/[0-9]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} ",
];

/// `MM/DD/YYYY:HH:MM:SS GMT` anywhere in the line.
fn nslog(line: &[u8]) -> Option<Stamp> {
    let i = memchr::memmem::find(line, b" GMT")?;
    if i < 19 {
        return None;
    }
    let b = &line[i - 19..i];
    if b[2] != b'/' || b[5] != b'/' || b[10] != b':' {
        return None;
    }
    let (a, c, y) = (num(&b[0..2])?, num(&b[3..5])?, num(&b[6..10])?);
    let (mo, d) = if a > 12 { (c, a) } else { (a, c) };
    full(y, mo, d, hms(&b[11..19])?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_log_stamps_month_or_day_first() {
        let jan27 = nslog(b"<local0.info> 10.0.0.1 01/27/2020:08:14:09 GMT ns-gw01 0-PPE-0 : x");
        let day_first = nslog(b" 27/01/2020:08:14:09 GMT ns");
        assert_eq!(jan27, Some(Stamp::Full(1_580_112_849)));
        assert_eq!(day_first, jan27);
        assert_eq!(nslog(b"01/27/2020:24:14:09 GMT"), None);
        assert_eq!(nslog(b"GMT"), None);
    }
}
