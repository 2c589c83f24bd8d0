//! Byte helpers: digests as hex, format sniffing, dates, excerpts of long lines.

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// True when `head` starts with the gzip magic bytes.
pub(crate) fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Parses a date or date-time into Unix seconds (UTC when no offset is given).
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt.and_utc().timestamp());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp())
}

/// Longest excerpt kept, in bytes.
const EXCERPT_LEN: usize = 400;

/// Cuts a line to at most [`EXCERPT_LEN`] bytes around position `at`.
pub(crate) fn excerpt(line: &[u8], at: usize) -> Vec<u8> {
    if line.len() <= EXCERPT_LEN {
        return line.to_vec();
    }
    let start = at
        .saturating_sub(EXCERPT_LEN / 4)
        .min(line.len() - EXCERPT_LEN);
    let mut out = Vec::with_capacity(EXCERPT_LEN + 6);
    if start > 0 {
        out.extend_from_slice(b"...");
    }
    out.extend_from_slice(&line[start..start + EXCERPT_LEN]);
    if start + EXCERPT_LEN < line.len() {
        out.extend_from_slice(b"...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert!(is_gzip(&[0x1f, 0x8b, 8]));
        assert!(!is_gzip(b"ustar"));
        assert_eq!(parse_time("2020-01-10"), Some(1_578_614_400));
        assert_eq!(parse_time("2020-01-10T01:00:00+01:00"), Some(1_578_614_400));
        assert_eq!(parse_time("2020-01-10T00:00:00Z"), Some(1_578_614_400));
        assert_eq!(parse_time("10 Jan 2020"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn excerpts_are_bounded() {
        let long = vec![b'a'; 5000];
        let e = excerpt(&long, 2500);
        assert!(e.len() <= EXCERPT_LEN + 6);
        assert!(e.starts_with(b"...") && e.ends_with(b"..."));
        assert_eq!(excerpt(b"short", 0), b"short");
    }
}
