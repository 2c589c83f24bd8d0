//! When a log, or a group of logs, wrote lines: sorted, disjoint stretches of activity, the
//! silences between them, and how long the logs usually go without a line. Plain arithmetic on
//! Unix seconds; never reads anything.

/// Where logs wrote lines: sorted, disjoint, closed intervals of Unix seconds. A silence shorter
/// than `floor` may have been taken for activity (its file kept only its longest silences).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Track {
    pub(crate) active: Vec<(i64, i64)>,
    pub(crate) floor: i64,
}

impl Track {
    /// One file: active from its first to its last dated line, except in its silences (each
    /// between two neighbouring lines). Silences outside the file's range (a stray line with an
    /// old date) are ignored.
    pub(crate) fn file(from: i64, to: i64, silences: &[(i64, i64)], floor: i64) -> Track {
        let mut quiet: Vec<(i64, i64)> = silences
            .iter()
            .copied()
            .filter(|&(a, b)| a >= from && b <= to && b > a)
            .collect();
        quiet.sort_unstable();
        let mut active = Vec::with_capacity(quiet.len() + 1);
        let mut at = from;
        for (a, b) in quiet {
            if a >= at {
                active.push((at, a));
                at = b;
            } else {
                at = at.max(b);
            }
        }
        if to >= at {
            active.push((at, to));
        }
        Track { active, floor }
    }

    /// Where any of `tracks` was active.
    pub(crate) fn union<'t>(tracks: impl IntoIterator<Item = &'t Track>) -> Track {
        let mut all = Vec::new();
        let mut floor = 0;
        for t in tracks {
            all.extend_from_slice(&t.active);
            floor = floor.max(t.floor);
        }
        all.sort_unstable();
        let mut active: Vec<(i64, i64)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match active.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => active.push((a, b)),
            }
        }
        Track { active, floor }
    }

    /// First and last active second.
    pub(crate) fn span(&self) -> Option<(i64, i64)> {
        Some((self.active.first()?.0, self.active.last()?.1))
    }

    /// The silences between stretches of activity, oldest first.
    pub(crate) fn silences(&self) -> Vec<(i64, i64)> {
        self.active
            .windows(2)
            .map(|w| (w[0].1, w[1].0))
            .filter(|(a, b)| b > a)
            .collect()
    }

    /// True when the logs wrote a line strictly inside `(a, b)`. A track whose unrecorded
    /// silences could be as long as the stretch cannot tell, and says no.
    pub(crate) fn active_within(&self, a: i64, b: i64) -> bool {
        if self.floor >= b - a {
            return false;
        }
        // The first stretch that ends after `a` (stretches are sorted and disjoint).
        let i = self.active.partition_point(|&(_, q)| q <= a);
        self.active.get(i).is_some_and(|&(p, _)| p < b)
    }
}

/// `silences` minus the periods in `off` (sorted, disjoint): what remains of each, oldest
/// first.
pub(crate) fn minus(silences: &[(i64, i64)], off: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for &(a, b) in silences {
        let mut at = a;
        for &(x, y) in off {
            if y <= at || x >= b {
                continue;
            }
            if x > at {
                out.push((at, x));
            }
            at = at.max(y);
        }
        if b > at {
            out.push((at, b));
        }
    }
    out
}

/// How long the logs usually go without a line: the length `L` such that the silences of `L`
/// or more fill half of their `total` time (a log that writes more than half of
/// the time, as far as silences of `floor` can tell, usually goes at most `floor`). Nights and
/// weekends of a quiet log fill much of its time and raise it; a few hours deleted from a busy
/// log do not.
pub(crate) fn usual_silence(silences: &[(i64, i64)], total: i64, floor: i64) -> i64 {
    let mut lens: Vec<i64> = silences
        .iter()
        .map(|&(a, b)| b - a)
        .filter(|&len| len > floor)
        .collect();
    lens.sort_unstable_by(|x, y| y.cmp(x));
    let mut acc: i64 = 0;
    for len in lens {
        acc = acc.saturating_add(len);
        if acc.saturating_mul(2) >= total {
            return len;
        }
    }
    floor
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;
    const DAY: i64 = 86_400;

    #[test]
    fn a_file_is_active_except_in_its_silences() {
        let t = Track::file(0, 10 * H, &[(2 * H, 3 * H), (5 * H, 8 * H), (-5, 1)], 900);
        assert_eq!(t.active, vec![(0, 2 * H), (3 * H, 5 * H), (8 * H, 10 * H)]);
        assert_eq!(t.silences(), vec![(2 * H, 3 * H), (5 * H, 8 * H)]);
        assert!(t.active_within(4 * H, 6 * H));
        assert!(!t.active_within(5 * H + 1, 8 * H - 1));
        let u = Track::union([&t, &Track::file(6 * H, 7 * H, &[], 900)]);
        assert_eq!(
            u.silences(),
            vec![(2 * H, 3 * H), (5 * H, 6 * H), (7 * H, 8 * H)]
        );
        assert_eq!(u.span(), Some((0, 10 * H)));
    }

    #[test]
    fn downtime_is_taken_out_of_silences() {
        let got = minus(
            &[(0, 10 * H), (20 * H, 22 * H)],
            &[(2 * H, 9 * H), (21 * H, 30 * H)],
        );
        assert_eq!(got, vec![(0, 2 * H), (9 * H, 10 * H), (20 * H, 21 * H)]);
    }

    #[test]
    fn the_usual_silence_is_what_fills_half_the_time() {
        let day = |d: i64, h: i64, len: i64| (d * DAY + h * H, d * DAY + h * H + len * H);
        // Ten days, a fourteen-hour night every day and one twenty-hour hole: fourteen hours.
        let mut s: Vec<(i64, i64)> = (0..10).map(|d| day(d, 0, 14)).collect();
        s.push(day(4, 14, 9));
        assert_eq!(usual_silence(&s, 10 * DAY, 900), 14 * H);
        // A busy log with two holes: it writes most of the time.
        let s = vec![day(2, 8, 8), day(6, 1, 5)];
        assert_eq!(usual_silence(&s, 10 * DAY, 900), 900);
        // One day of a busy log with a five-hour hole in it.
        assert_eq!(usual_silence(&[day(0, 11, 5)], DAY, 900), 900);
        // Daily lines only: a day without a line is usual.
        let s: Vec<(i64, i64)> = (0..10).map(|d| (d * DAY + 60, (d + 1) * DAY)).collect();
        assert_eq!(usual_silence(&s, 10 * DAY, 900), DAY - 60);
    }
}
