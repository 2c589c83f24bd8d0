//! The NetScaler's time zone: `set ns param -timezone` in the saved configuration, read with
//! a bounded number of bytes.

use crate::input::{EntryKind, Evidence, Listing};
use crate::model::EvPath;
use crate::zone::{Zone, ZoneRule};
use std::io::{BufRead, BufReader, Read};

/// Most bytes of a configuration searched for the time-zone line.
const MAX_CONFIG: u64 = 16 << 20;

/// The zone of the appliance: the `-timezone` of the current configuration, else of the
/// newest older save, else UTC (assumed, with the reason).
pub(crate) fn read(ev: &dyn Evidence, listing: &Listing) -> Zone {
    let mut looked = Vec::new();
    for rel in ["flash/nsconfig/ns.conf", "flash/nsconfig/ns.conf.0"] {
        let path = EvPath::new(rel.as_bytes().to_vec());
        let path = ev.resolve(&path).unwrap_or(path);
        let Ok(i) = listing.entries.binary_search_by(|e| e.path.cmp(&path)) else {
            continue;
        };
        let e = &listing.entries[i];
        if e.kind != EntryKind::File {
            continue;
        }
        let shown = format!("/{rel}");
        let Ok(f) = ev.open(e) else {
            looked.push(format!("{shown} could not be read"));
            continue;
        };
        return match timezone_line(f) {
            Some(v) => Zone::parse(&v, &shown),
            None => Zone::assumed_utc(&format!("{shown} sets no `-timezone`")),
        };
    }
    let why = if looked.is_empty() {
        "no saved configuration (/flash/nsconfig/ns.conf) is in the evidence to read the time zone from".to_owned()
    } else {
        looked.join(", ")
    };
    Zone::assumed_utc(&why)
}

/// The zone a configuration's text sets (its first `set ns param ... -timezone` line), as a
/// rule; UTC when it sets none.
pub fn rule_of_config(text: &str) -> ZoneRule {
    timezone_line(text.as_bytes()).map_or_else(ZoneRule::default, |v| Zone::parse(&v, "").rule)
}

/// The value of the first `set ns param ... -timezone "..."` line, within [`MAX_CONFIG`] bytes.
fn timezone_line(f: impl Read) -> Option<String> {
    let mut r = BufReader::new(f.take(MAX_CONFIG));
    let mut line = Vec::new();
    loop {
        line.clear();
        // A line is read at most up to the end of the budget: `take` bounds it.
        if r.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        let l = String::from_utf8_lossy(&line);
        if !l.starts_with("set ns param") {
            continue;
        }
        if let Some(i) = l.find("-timezone ") {
            let v = l[i + 10..].trim_start();
            return match v.strip_prefix('"') {
                Some(q) => q.split('"').next().map(str::to_owned),
                None => v.split_whitespace().next().map(str::to_owned),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timezone_line_of_a_configuration() {
        let conf = "#NS12.0 Build 63.13\nset ns config -IPAddress 192.0.2.10\nset ns param -timezone \"GMT+01:00-CET-Europe/Amsterdam\" -cookieversion 1\n";
        assert_eq!(
            timezone_line(conf.as_bytes()).as_deref(),
            Some("GMT+01:00-CET-Europe/Amsterdam")
        );
        assert_eq!(timezone_line(&b"set ns param -cookieversion 1\n"[..]), None);
        assert_eq!(
            timezone_line(&b"set ns param -timezone CoordinatedUniversalTime\n"[..]).as_deref(),
            Some("CoordinatedUniversalTime")
        );
    }
}
