//! The picture of the evidence in time: one inline SVG in which each log source is a bar of
//! what it covers, its holes and the times the appliance was off are marked on it, the exposure
//! windows are bands across every bar, and the findings are marks on the same axis.
//!
//! Times are the report's (attacker-influenced: a file time can be anything), so positions are
//! computed in floating point and clamped to the axis; a mark outside the axis is drawn at its
//! edge, hollow, with its real time in its title. Every text goes through [`esc`].

use super::page::esc;
use crate::model::{Report, Severity, TimeGapStatus, Timestamp, WindowStatus};
use std::fmt::Write as _;

/// Width of the picture, of the label column, and height of one row (SVG user units).
const WIDTH: f64 = 960.0;
const LABEL: f64 = 190.0;
const RIGHT: f64 = 16.0;
const ROW: f64 = 26.0;

/// The rows of findings marks: the severities each holds and its label.
const MARK_ROWS: [(&str, Severity, Severity); 3] = [
    ("critical, high", Severity::High, Severity::Critical),
    ("medium", Severity::Medium, Severity::Medium),
    ("low", Severity::Low, Severity::Low),
];

/// Most findings drawn as marks; the rest are counted under the picture.
const MARKS_MAX: usize = 2000;

/// The time axis.
struct Axis {
    from: i64,
    to: i64,
}

impl Axis {
    /// The x of `t`, clamped to the plot, and whether it had to be clamped.
    fn x(&self, t: Timestamp) -> (f64, bool) {
        let span = (self.to as f64 - self.from as f64).max(1.0);
        let frac = (t.unix() as f64 - self.from as f64) / span;
        let clamped = frac.clamp(0.0, 1.0);
        (
            LABEL + clamped * (WIDTH - LABEL - RIGHT),
            (clamped - frac).abs() > f64::EPSILON,
        )
    }
}

/// The axis: from the earliest to the latest time of the log sources, the exposure windows
/// that concern the evidence, and the logged findings; file times only when nothing else is
/// dated. `None` when the report holds no time at all.
fn axis(r: &Report) -> Option<Axis> {
    let mut times: Vec<i64> = Vec::new();
    for s in &r.coverage.sources {
        times.extend(s.from.iter().chain(s.to.iter()).map(|t| t.unix()));
    }
    for w in r
        .windows
        .iter()
        .filter(|w| w.status != WindowStatus::NotRelevant)
    {
        times.push(w.from.unix());
        times.extend(w.until.map(Timestamp::unix));
    }
    times.extend(
        r.findings
            .iter()
            .filter_map(|f| f.time)
            .map(Timestamp::unix),
    );
    if times.is_empty() {
        times.extend(
            r.findings
                .iter()
                .filter_map(|f| f.mtime)
                .map(Timestamp::unix),
        );
    }
    let from = *times.iter().min()?;
    let to = *times.iter().max()?;
    // A single moment gets a day either side, so that it is drawn inside the plot.
    if from == to {
        return Some(Axis {
            from: from.saturating_sub(86_400),
            to: to.saturating_add(86_400),
        });
    }
    Some(Axis { from, to })
}

/// The colour of a severity's marks.
fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "#b00020",
        Severity::Medium => "#b26a00",
        Severity::Low => "#607d8b",
        Severity::Info => "#9e9e9e",
    }
}

/// Writes the picture (or a sentence saying there is nothing to draw) into `s`.
pub(crate) fn picture(r: &Report, s: &mut String) {
    let Some(ax) = axis(r) else {
        s.push_str("<p>The evidence holds no dated log line and no dated finding: nothing to draw in time.</p>\n");
        return;
    };
    let shown_windows = r
        .windows
        .iter()
        .filter(|w| w.status != WindowStatus::NotRelevant)
        .count();
    // Room above the plot for one label line per window.
    let top = 12.0 + 13.0 * shown_windows.max(1) as f64;
    let sources = r.coverage.sources.len() as f64;
    let rows = sources + MARK_ROWS.len() as f64;
    let height = top + rows * ROW + 30.0;
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
role=\"img\" aria-label=\"Evidence in time\">"
    );
    let plot_bottom = top + rows * ROW;
    windows(r, &ax, top, plot_bottom, s);
    for (i, src) in r.coverage.sources.iter().enumerate() {
        source_row(src, &ax, top + i as f64 * ROW, s);
    }
    let mut drawn = 0;
    for (i, mark_row) in MARK_ROWS.iter().enumerate() {
        let y = top + (sources + i as f64) * ROW;
        drawn += marks(r, &ax, y, *mark_row, drawn, s);
    }
    ticks(&ax, plot_bottom, s);
    s.push_str("</svg>\n");
    legend(r, drawn, s);
}

/// The exposure windows that concern the evidence: bands across every row, named at the top.
fn windows(r: &Report, ax: &Axis, top: f64, bottom: f64, s: &mut String) {
    let shown = r
        .windows
        .iter()
        .filter(|w| w.status != WindowStatus::NotRelevant);
    for (i, w) in shown.enumerate() {
        let (x0, _) = ax.x(w.from);
        let x1 = w.until.map_or(WIDTH - RIGHT, |u| ax.x(u).0);
        let fill = if w.status == WindowStatus::Covered {
            "#fdd835"
        } else {
            "#ff7043"
        };
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" fill-opacity=\"0.18\" \
stroke=\"{fill}\" stroke-dasharray=\"4 3\"><title>{} from {}: {}</title></rect>",
            top - 4.0,
            (x1 - x0).max(1.0),
            bottom - top + 4.0,
            esc(&w.title),
            w.from.date(),
            esc(&w.detail)
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#5d4037\">{} window</text>",
            x0 + 3.0,
            12.0 + 13.0 * i as f64,
            esc(&w.pack)
        );
    }
}

/// One source: its label, the bar of what it covers, its holes and the appliance's downtime.
fn source_row(src: &crate::model::SourceCoverage, ax: &Axis, y: f64, s: &mut String) {
    let required = if src.required { " (required)" } else { "" };
    let _ = writeln!(
        s,
        "<text x=\"4\" y=\"{:.1}\" font-size=\"12\">{}</text>",
        y + ROW * 0.62,
        esc(&src.id)
    );
    let _ = writeln!(
        s,
        "<line x1=\"{LABEL}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e0e0e0\"/>",
        y + ROW / 2.0,
        WIDTH - RIGHT,
        y + ROW / 2.0
    );
    if let (Some(f), Some(t)) = (src.from, src.to) {
        let (x0, _) = ax.x(f);
        let (x1, _) = ax.x(t);
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#1e88e5\" fill-opacity=\"0.75\">\
<title>{}{required}: {} to {}</title></rect>",
            y + 6.0,
            (x1 - x0).max(2.0),
            ROW - 12.0,
            esc(&src.title),
            f.minute(),
            t.minute()
        );
    }
    for g in &src.time_gaps {
        let (Some(f), Some(t)) = (g.from, g.to) else {
            continue;
        };
        let (fill, what) = match g.status {
            TimeGapStatus::Hole => ("#d50000", "hole"),
            TimeGapStatus::ApplianceOff => ("#757575", "appliance off"),
            TimeGapStatus::Quiet => continue,
        };
        let (x0, _) = ax.x(f);
        let (x1, _) = ax.x(t);
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\">\
<title>{what}: {} to {}: {}</title></rect>",
            y + 3.0,
            (x1 - x0).max(2.0),
            ROW - 6.0,
            f.minute(),
            t.minute(),
            esc(&g.detail)
        );
    }
}

/// One row of findings marks: a mark per finding of the row's severities at its logged time
/// (else its file's modification time). Returns how many were drawn; `before` were drawn in
/// earlier rows.
fn marks(
    r: &Report,
    ax: &Axis,
    y: f64,
    (label, low, high): (&str, Severity, Severity),
    before: usize,
    s: &mut String,
) -> usize {
    let _ = writeln!(
        s,
        "<text x=\"4\" y=\"{:.1}\" font-size=\"12\" font-weight=\"bold\">findings: {label}</text>",
        y + ROW * 0.62
    );
    let _ = writeln!(
        s,
        "<line x1=\"{LABEL}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e0e0e0\"/>",
        y + ROW / 2.0,
        WIDTH - RIGHT,
        y + ROW / 2.0
    );
    let mut drawn = 0;
    let of_row = r
        .findings
        .iter()
        .filter(|f| f.severity >= low && f.severity <= high);
    for f in of_row {
        let Some(t) = f.time.or(f.mtime) else {
            continue;
        };
        if before + drawn >= MARKS_MAX {
            break;
        }
        drawn += 1;
        let (x, clamped) = ax.x(t);
        let colour = severity_colour(f.severity);
        let fill = if clamped { "none" } else { colour };
        let how = if f.time.is_some() {
            "logged"
        } else {
            "file modified"
        };
        let _ = writeln!(
            s,
            "<path d=\"M{x:.1} {:.1} l6 8 l-6 8 l-6 -8 z\" fill=\"{fill}\" fill-opacity=\"0.8\" stroke=\"{colour}\" stroke-width=\"1.5\">\
<title>{} {}: {how} {}</title></path>",
            y + 5.0,
            f.severity,
            esc(&f.rule),
            t.minute()
        );
    }
    drawn
}

/// Six dates along the bottom.
fn ticks(ax: &Axis, bottom: f64, s: &mut String) {
    let _ = writeln!(
        s,
        "<line x1=\"{LABEL}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\" stroke=\"#333\"/>",
        WIDTH - RIGHT
    );
    let span = ax.to as f64 - ax.from as f64;
    for i in 0..6 {
        let t = ax.from as f64 + span * f64::from(i) / 5.0;
        let t = Timestamp::from_unix(t as i64);
        let (x, _) = ax.x(t);
        let anchor = match i {
            0 => "start",
            5 => "end",
            _ => "middle",
        };
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"{anchor}\">{}</text>",
            bottom + 5.0,
            bottom + 18.0,
            esc(&t.date())
        );
    }
}

/// What the colours mean, and what was left out of the picture.
fn legend(r: &Report, drawn: usize, s: &mut String) {
    s.push_str(
        "<p class=\"muted\">Blue bar: the dated lines of a log source, all its rotations. Red: a hole \
(the log was silent far longer than usual, or a rotation is missing). Grey: the appliance was off. \
Yellow band: an exposure window whose logs reach back far enough; orange: one they do not. \
Diamonds: findings (red critical or high, amber medium, grey low) at their logged time, else at \
their file's modification time; a hollow diamond lies outside the axis and is drawn at its edge.",
    );
    let undated = r
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Low && f.time.or(f.mtime).is_none())
        .count();
    let over = r
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Low && f.time.or(f.mtime).is_some())
        .count()
        .saturating_sub(drawn);
    if undated > 0 {
        let _ = write!(s, " {undated} undated findings are not drawn.");
    }
    if over > 0 {
        let _ = write!(
            s,
            " {over} more findings are not drawn (at most {MARKS_MAX})."
        );
    }
    s.push_str("</p>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_times_are_clamped_to_the_axis() {
        let ax = Axis {
            from: 1_578_000_000,
            to: 1_580_000_000,
        };
        let (x, clamped) = ax.x(Timestamp::from_unix(i64::MIN));
        assert!(clamped && (x - LABEL).abs() < 1e-9);
        let (x, clamped) = ax.x(Timestamp::from_unix(i64::MAX));
        assert!(clamped && (x - (WIDTH - RIGHT)).abs() < 1e-9);
        let (x, clamped) = ax.x(Timestamp::from_unix(1_579_000_000));
        assert!(!clamped && x > LABEL && x < WIDTH - RIGHT);
    }

    #[test]
    fn the_sample_draws_sources_windows_and_marks() {
        let r = crate::report::sample_report();
        let mut s = String::new();
        picture(&r, &mut s);
        assert!(s.starts_with("<svg "), "{s}");
        assert!(s.contains("cve-2019-19781 window"));
        assert!(s.contains("#b00020"), "a critical mark");
        assert!(s.contains("findings: critical, high") && s.contains("findings: low"));
        assert!(!s.contains("<script"));
        let mut empty = r.clone();
        empty.coverage.sources.clear();
        empty.windows.clear();
        empty.findings.clear();
        let mut s = String::new();
        picture(&empty, &mut s);
        assert!(s.contains("nothing to draw"));
    }
}
