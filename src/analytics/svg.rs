//! The "Errors over time" chart: an inline SVG drawn on the server from a [`Report`]'s series,
//! one stacked bar per bucket, one `<rect>` per (bucket, error status) with a nonzero count,
//! each carrying `data-status`, `data-count` and a `<title>` tooltip. Colours are fixed per
//! status ([`colour`]). A running scenario's phases ([`PhaseBand`]) are shaded columns behind
//! the bars, each labelled with its phase; the scenario page draws its own chart with the same
//! plot area ([`Plot`]), y axis ([`YAxis`]) and bands ([`write_band`], [`write_band_label`]).
//! This module writes markup only; the page around it is [`super::page`], whose stylesheet
//! makes the drawing as wide as its card and enlarges its text on a phone.

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
/// The plot area: the drawing less its margins.
const PLOT: Plot = Plot::new(WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM);
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

/// A chart's plot area, in SVG user units: the part of the drawing inside its margins, where
/// the bars stand.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plot {
    /// The left edge, where the y axis stands.
    pub left: f64,
    /// The right edge.
    pub right: f64,
    /// The top edge: the y axis's top label.
    pub top: f64,
    /// The bottom edge: 0 on the y axis, and the x axis.
    pub baseline: f64,
    /// From `left` to `right`.
    pub width: f64,
    /// From `top` to `baseline`.
    pub height: f64,
}

impl Plot {
    /// The plot area of a `width` × `height` drawing with the margins `left`, `right`, `top`
    /// and `bottom`.
    pub(crate) const fn new(
        width: f64,
        height: f64,
        left: f64,
        right: f64,
        top: f64,
        bottom: f64,
    ) -> Plot {
        let plot_height = height - top - bottom;
        Plot {
            left,
            right: width - right,
            top,
            baseline: top + plot_height,
            width: width - left - right,
            height: plot_height,
        }
    }

    /// Writes the x axis: a line along the baseline.
    pub(crate) fn write_baseline(&self, out: &mut String) -> fmt::Result {
        let Plot {
            left,
            right,
            baseline,
            ..
        } = *self;
        write!(
            out,
            "<line class=\"axis\" x1=\"{left}\" y1=\"{baseline}\" x2=\"{right}\" \
             y2=\"{baseline}\"/>"
        )
    }

    /// Writes `note` (markup: not escaped) in the middle of the plot, for a chart with no bar.
    pub(crate) fn write_empty(&self, out: &mut String, note: &str) -> fmt::Result {
        write!(
            out,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{note}</text>",
            self.left + self.width / 2.0,
            self.top + self.height / 2.0
        )
    }
}

/// Writes `<svg id="errors-over-time">` for `report` to `out`, with `bands` behind the bars
/// where they overlap the report's window.
pub(super) fn write_chart(out: &mut String, report: &Report, bands: &[PhaseBand]) -> fmt::Result {
    // The width of one bucket's slot.
    let step = PLOT.width / report.series.len().max(1) as f64;
    write!(
        out,
        "<svg id=\"errors-over-time\" role=\"img\" aria-labelledby=\"chart-title\" \
         xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\">\
         <title id=\"chart-title\">Errors over time ({}), by status; times in UTC</title>",
        report.range.label()
    )?;

    let tooltips = band_tooltips(bands);
    let shapes = band_shapes(report, bands, &tooltips, step);
    for shape in &shapes {
        write_band(out, shape)?;
    }

    let max = report.series.iter().map(|p| p.errors).max().unwrap_or(0);
    let axis = YAxis::for_max(max);
    axis.write_ticks(out, &PLOT)?;
    PLOT.write_baseline(out)?;
    if max == 0 {
        PLOT.write_empty(out, "No errors in this range")?;
    }
    write_bars(out, report, step, PLOT.height / axis.top() as f64)?;

    for (nth, shape) in shapes.iter().enumerate() {
        write_band_label(out, shape, &format!("band-clip-{nth}"), PLOT.top + 4.0)?;
    }
    write_x_labels(out, report, step)?;
    out.push_str("</svg>");
    Ok(())
}

/// What hovering each band shows: its scenario and phase.
fn band_tooltips(bands: &[PhaseBand]) -> Vec<String> {
    bands
        .iter()
        .map(|band| format!("Scenario {}, phase {}", band.scenario, band.phase))
        .collect()
}

/// The bands that overlap the report's window, as drawn: from their start to their end (the
/// report's time for a running phase), kept on the plot; buckets are `step` wide.
fn band_shapes<'a>(
    report: &Report,
    bands: &'a [PhaseBand],
    tooltips: &'a [String],
    step: f64,
) -> Vec<BandShape<'a>> {
    // Seconds after the window's start to x, kept on the plot.
    let seconds = report.bucket_seconds.max(1) as f64;
    let x_of = |at: SystemTime| {
        let after = at
            .duration_since(report.from_instant)
            .map_or(0.0, |d| d.as_secs_f64());
        (PLOT.left + after / seconds * step).min(PLOT.right)
    };
    bands
        .iter()
        .zip(tooltips)
        .map(|(band, tooltip)| {
            let ended = band.ended.unwrap_or(report.generated_instant);
            (band, tooltip, x_of(band.started), x_of(ended))
        })
        .filter(|(_, _, x0, x1)| x1 > x0)
        .enumerate()
        .map(|(nth, (band, tooltip, x0, x1))| BandShape {
            x0,
            x1,
            top: PLOT.top,
            bottom: PLOT.baseline,
            label: &band.phase,
            tooltip,
            nth,
        })
        .collect()
}

/// One stacked bar per bucket, `step` wide, with a `<rect>` per error status it counts, at
/// `scale` user units per error.
fn write_bars(out: &mut String, report: &Report, step: f64, scale: f64) -> fmt::Result {
    let bar_width = (step * BAR_FILL).max(1.0);
    for (index, point) in report.series.iter().enumerate() {
        let x = PLOT.left + index as f64 * step + (step - bar_width) / 2.0;
        let clock = clock(&point.start);
        let mut top = PLOT.baseline;
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
    Ok(())
}

/// The time labels under the x axis, for buckets `step` wide ([`x_ticks`]).
fn write_x_labels(out: &mut String, report: &Report, step: f64) -> fmt::Result {
    let ticks = x_ticks(report.series.len());
    for (nth, &index) in ticks.iter().enumerate() {
        let Some(point) = report.series.get(index) else {
            continue;
        };
        // The first label starts at the axis and the last ends at the right edge, so neither
        // leaves the drawing; the last one says the zone.
        let (x, anchor, zone) = if nth == 0 && ticks.len() > 1 {
            (PLOT.left, "start", "")
        } else if nth + 1 == ticks.len() && ticks.len() > 1 {
            (PLOT.right, "end", " UTC")
        } else {
            (PLOT.left + (index as f64 + 0.5) * step, "middle", "")
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
            PLOT.baseline + 8.0,
            escape(tick_label(report.range, &point.start))
        )?;
    }
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

    /// The axis drawn on `plot`, its 0 at the baseline and its top label at the top: a grid
    /// line at each label but 0, and the labels right-aligned just left of the plot.
    pub(crate) fn write_ticks(self, out: &mut String, plot: &Plot) -> fmt::Result {
        let Plot {
            left,
            right,
            baseline,
            ..
        } = *plot;
        let label_x = left - 8.0;
        let scale = plot.height / self.top() as f64;
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
