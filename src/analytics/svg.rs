//! The "Errors over time" chart: an inline SVG drawn on the server from a [`Report`]'s series,
//! one stacked bar per bucket, one `<rect>` per (bucket, error status) with a nonzero count,
//! each carrying `data-status`, `data-count` and a `<title>` tooltip. Colours are fixed per
//! status ([`colour`]). A running scenario's phases ([`PhaseBand`]) are shaded columns behind
//! the bars, each labelled with its phase; the scenario page draws its own bands with the same
//! [`write_band`] and [`write_band_label`]. This module writes markup only; the page around it is [`super::page`],
//! whose stylesheet makes the drawing as wide as its card and enlarges its text on a phone.

use std::fmt::{self, Write as _};
use std::time::SystemTime;

use super::palette::colour;
use super::{PhaseBand, Range, Report};
use crate::base::html::escape;

/// The drawing's size and the plot area's margins, in SVG user units (the `viewBox`: the page
/// scales it to its card's width). The margins leave room for labels at the phone size
/// (the page's stylesheet: 22 units instead of 11).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;
/// The fraction of a bucket's width its bar takes.
const BAR_FILL: f64 = 0.8;
/// The y axis is labelled at this many values at most (0 included), and at least
/// [`MIN_Y_TICKS`].
const MAX_Y_TICKS: u64 = 6;
/// See [`MAX_Y_TICKS`].
const MIN_Y_TICKS: u64 = 4;

/// The fills phase bands alternate between: a light orange and a light blue-grey.
pub(crate) const BAND_SHADES: [&str; 2] = ["#fdf0e3", "#e9eef3"];

/// A phase band as drawn: a shaded column from `x0` to `x1` and `top` to `bottom`, in user
/// units, labelled `label`, with `tooltip` on hover. `nth` picks its shade.
pub(crate) struct BandShape<'a> {
    /// Left edge.
    pub x0: f64,
    /// Right edge.
    pub x1: f64,
    /// Top edge.
    pub top: f64,
    /// Bottom edge.
    pub bottom: f64,
    /// The phase's name.
    pub label: &'a str,
    /// What hovering shows.
    pub tooltip: &'a str,
    /// Its place among the bands (0, 1, ...).
    pub nth: usize,
}

/// Writes `band`'s shaded column (`<g class="band" data-phase>`): before the bars, so they
/// stand on it.
pub(crate) fn write_band(out: &mut String, band: &BandShape<'_>) -> fmt::Result {
    let BandShape {
        x0,
        x1,
        top,
        bottom,
        ..
    } = *band;
    write!(
        out,
        "<g class=\"band\" data-phase=\"{label}\"><rect x=\"{x0:.1}\" y=\"{top:.1}\" \
         width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}</title></rect>\
         <line class=\"band-edge\" x1=\"{x0:.1}\" y1=\"{top:.1}\" x2=\"{x0:.1}\" \
         y2=\"{bottom:.1}\"/></g>",
        (x1 - x0).max(0.0),
        (bottom - top).max(0.0),
        BAND_SHADES[band.nth % BAND_SHADES.len()],
        escape(band.tooltip),
        label = escape(band.label),
    )
}

/// Writes `band`'s label at height `y` (its top), clipped to the band's width so that it never
/// runs into the next one; `id` names the clip path and must be unique in the page. After the
/// bars, so that they do not hide it (a white halo keeps it legible over them).
pub(crate) fn write_band_label(
    out: &mut String,
    band: &BandShape<'_>,
    id: &str,
    y: f64,
) -> fmt::Result {
    let BandShape {
        x0,
        x1,
        top,
        bottom,
        ..
    } = *band;
    write!(
        out,
        "<clipPath id=\"{id}\"><rect x=\"{x0:.1}\" y=\"{top:.1}\" width=\"{:.1}\" \
         height=\"{:.1}\"/></clipPath><text class=\"band-label\" clip-path=\"url(#{id})\" \
         x=\"{:.1}\" y=\"{y:.1}\" dominant-baseline=\"hanging\">{}</text>",
        (x1 - x0).max(0.0),
        (bottom - top).max(0.0),
        x0 + 4.0,
        escape(band.label),
    )
}

/// Writes `<svg id="errors-over-time">` for `report` to `out`, with `bands` behind the bars
/// where they overlap the report's window.
pub(super) fn write_chart(out: &mut String, report: &Report, bands: &[PhaseBand]) -> fmt::Result {
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let baseline = TOP + plot_height;
    let right = WIDTH - RIGHT;
    let buckets = report.series.len().max(1);
    let step = plot_width / buckets as f64;
    let bar_width = (step * BAR_FILL).max(1.0);
    let max = report.series.iter().map(|p| p.errors).max().unwrap_or(0);
    let axis = YAxis::for_max(max);

    write!(
        out,
        "<svg id=\"errors-over-time\" role=\"img\" aria-labelledby=\"chart-title\" \
         xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\">\
         <title id=\"chart-title\">Errors over time ({}), by status; times in UTC</title>",
        report.range.label()
    )?;

    // Seconds after the window's start to x, kept on the plot.
    let seconds = report.bucket_seconds.max(1) as f64;
    let x_of = |at: SystemTime| {
        let after = at
            .duration_since(report.from_instant)
            .map_or(0.0, |d| d.as_secs_f64());
        (LEFT + after / seconds * step).min(right)
    };
    let tooltips: Vec<String> = bands
        .iter()
        .map(|band| format!("Scenario {}, phase {}", band.scenario, band.phase))
        .collect();
    let shapes: Vec<BandShape<'_>> = bands
        .iter()
        .zip(&tooltips)
        .map(|(band, tooltip)| {
            let ended = band.ended.unwrap_or(report.generated_instant);
            (band, tooltip, x_of(band.started), x_of(ended))
        })
        .filter(|(_, _, x0, x1)| x1 > x0)
        .enumerate()
        .map(|(nth, (band, tooltip, x0, x1))| BandShape {
            x0,
            x1,
            top: TOP,
            bottom: baseline,
            label: &band.phase,
            tooltip,
            nth,
        })
        .collect();
    for shape in &shapes {
        write_band(out, shape)?;
    }

    axis.write_ticks(out, (LEFT, right), baseline, plot_height)?;
    let scale = plot_height / axis.top() as f64;
    write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{baseline}\" x2=\"{right}\" y2=\"{baseline}\"/>"
    )?;

    if max == 0 {
        write!(
            out,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">\
             No errors in this range</text>",
            LEFT + plot_width / 2.0,
            TOP + plot_height / 2.0
        )?;
    }
    for (index, point) in report.series.iter().enumerate() {
        let x = LEFT + index as f64 * step + (step - bar_width) / 2.0;
        let clock = clock(&point.start);
        let mut top = baseline;
        for (&status, &count) in &point.by_status {
            if count == 0 {
                continue;
            }
            let height = count as f64 * scale;
            top -= height;
            write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{bar_width:.1}\" \
                 height=\"{height:.1}\" fill=\"{}\" data-status=\"{status}\" \
                 data-count=\"{count}\"><title>{status}: {count} at {}</title></rect>",
                colour(status),
                escape(clock)
            )?;
        }
    }

    for (nth, shape) in shapes.iter().enumerate() {
        write_band_label(out, shape, &format!("band-clip-{nth}"), TOP + 4.0)?;
    }

    let ticks = x_ticks(report.series.len());
    for (nth, &index) in ticks.iter().enumerate() {
        let Some(point) = report.series.get(index) else {
            continue;
        };
        // The first label starts at the axis and the last ends at the right edge, so neither
        // leaves the drawing; the last one says the zone.
        let (x, anchor, zone) = if nth == 0 && ticks.len() > 1 {
            (LEFT, "start", "")
        } else if nth + 1 == ticks.len() && ticks.len() > 1 {
            (right, "end", " UTC")
        } else {
            (LEFT + (index as f64 + 0.5) * step, "middle", "")
        };
        // Every other label gives way on a narrow screen (`.minor`).
        let class = if nth % 2 == 1 {
            "tick x-tick minor"
        } else {
            "tick x-tick"
        };
        write!(
            out,
            "<text class=\"{class}\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" \
             dominant-baseline=\"hanging\">{}{zone}</text>",
            baseline + 8.0,
            escape(tick_label(report.range, &point.start))
        )?;
    }
    out.push_str("</svg>");
    Ok(())
}

/// The y axis: labelled every `step` from 0, `ticks` labels in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct YAxis {
    /// The value between two labels.
    pub step: u64,
    /// How many labels, 0 included.
    pub ticks: u64,
}

impl YAxis {
    /// The smallest "nice" step (1, 2 or 5 × 10^n) that labels `max` (the tallest stack) in at
    /// most [`MAX_Y_TICKS`] values; small counts are padded to [`MIN_Y_TICKS`] values of 1.
    pub(crate) fn for_max(max: u64) -> YAxis {
        let mut magnitude = 1u64;
        loop {
            for factor in [1, 2, 5] {
                let step = magnitude.saturating_mul(factor);
                let above_zero = max.div_ceil(step);
                if above_zero < MAX_Y_TICKS {
                    return YAxis {
                        step,
                        ticks: (above_zero + 1).max(MIN_Y_TICKS),
                    };
                }
            }
            magnitude = magnitude.saturating_mul(10);
        }
    }

    /// The value of the top label.
    pub(crate) fn top(self) -> u64 {
        self.step.saturating_mul(self.ticks - 1)
    }

    /// The axis drawn on a plot from `left` to `right` whose 0 is at `baseline` and top label
    /// `plot_height` above it: a grid line at each label but 0, and the labels right-aligned
    /// just left of the plot.
    pub(crate) fn write_ticks(
        self,
        out: &mut String,
        (left, right): (f64, f64),
        baseline: f64,
        plot_height: f64,
    ) -> fmt::Result {
        let label_x = left - 8.0;
        let scale = plot_height / self.top() as f64;
        for tick in 0..self.ticks {
            let value = self.step.saturating_mul(tick);
            let y = baseline - value as f64 * scale;
            if tick > 0 {
                write!(
                    out,
                    "<line class=\"grid\" x1=\"{left}\" y1=\"{y:.1}\" x2=\"{right}\" y2=\"{y:.1}\"/>"
                )?;
            }
            write!(
                out,
                "<text class=\"tick y-tick\" x=\"{label_x}\" y=\"{y:.1}\" text-anchor=\"end\" \
                 dominant-baseline=\"middle\" data-value=\"{value}\">{}</text>",
                Compact(value)
            )?;
        }
        Ok(())
    }
}

/// A count as a short label: `950`, `1.5k`, `20k`, `2M`.
pub(crate) struct Compact(pub u64);

impl fmt::Display for Compact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unit, suffix) = match self.0 {
            n if n >= 1_000_000 => (1_000_000, "M"),
            n if n >= 1_000 => (1_000, "k"),
            n => return write!(f, "{n}"),
        };
        let whole = self.0 / unit;
        let tenths = self.0 % unit * 10 / unit;
        if tenths == 0 {
            write!(f, "{whole}{suffix}")
        } else {
            write!(f, "{whole}.{tenths}{suffix}")
        }
    }
}

/// The buckets that get a time label: the first, the last and three between.
fn x_ticks(len: usize) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    let mut ticks: Vec<usize> = (0..5).map(|quarter| (len - 1) * quarter / 4).collect();
    ticks.dedup();
    ticks
}

/// The time of day of an RFC 3339 UTC timestamp: `10:00:10Z`.
fn clock(rfc3339: &str) -> &str {
    rfc3339.split_once('T').map_or(rfc3339, |(_, time)| time)
}

/// A time label: `10:00:10` for the 5-minute range, `10:00` otherwise.
fn tick_label(range: Range, rfc3339: &str) -> &str {
    let time = clock(rfc3339).trim_end_matches('Z');
    match range {
        Range::FiveMinutes => time,
        Range::Hour | Range::Day => time.get(..5).unwrap_or(time),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labelled values of the y axis for `max`.
    fn labels(max: u64) -> Vec<u64> {
        let axis = YAxis::for_max(max);
        (0..axis.ticks).map(|tick| tick * axis.step).collect()
    }

    #[test]
    fn the_y_axis_has_four_to_six_nice_labels_covering_the_tallest_stack() {
        assert_eq!(labels(0), [0, 1, 2, 3]);
        assert_eq!(labels(1), [0, 1, 2, 3]);
        assert_eq!(labels(3), [0, 1, 2, 3]);
        assert_eq!(labels(5), [0, 1, 2, 3, 4, 5]);
        assert_eq!(labels(6), [0, 2, 4, 6]);
        assert_eq!(labels(11), [0, 5, 10, 15]);
        assert_eq!(labels(21), [0, 5, 10, 15, 20, 25]);
        assert_eq!(labels(1234), [0, 500, 1000, 1500]);
        for max in (0..5000).chain([u64::from(u32::MAX), u64::MAX / 3, u64::MAX]) {
            let axis = YAxis::for_max(max);
            assert!((4..=6).contains(&axis.ticks), "{max}: {axis:?}");
            assert!(axis.top() >= max, "{max}: {axis:?}");
            let magnitude = 10u64.pow(axis.step.ilog10());
            assert!(
                [1, 2, 5].contains(&(axis.step / magnitude)) && axis.step.is_multiple_of(magnitude),
                "{max}: {axis:?}"
            );
        }
    }

    #[test]
    fn counts_are_labelled_short() {
        let shown: Vec<String> = [0, 950, 1000, 1500, 20_000, 2_000_000, 2_500_000]
            .map(|n| Compact(n).to_string())
            .into();
        assert_eq!(shown, ["0", "950", "1k", "1.5k", "20k", "2M", "2.5M"]);
    }
}
