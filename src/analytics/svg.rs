//! The "Errors over time" chart: an inline SVG drawn on the server from a [`Report`]'s series,
//! one stacked bar per bucket, one `<rect>` per (bucket, error status) with a nonzero count,
//! each carrying `data-status`, `data-count` and a `<title>` tooltip. Colours are fixed per
//! status ([`colour`]). This module writes markup only; the page around it is [`super::page`].

use std::fmt::{self, Write as _};

use super::page::escape;
use super::{Range, Report};

/// The drawing's size and the plot area's margins, in SVG user units.
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;
/// The fraction of a bucket's width its bar takes.
const BAR_FILL: f64 = 0.8;

/// The fixed colour of an error status: Cloudflare's origin errors and the gateway statuses
/// each have their own, other 5xx red, 4xx grey.
pub(super) fn colour(status: u16) -> &'static str {
    match status {
        500 => "#343a40",
        502 => "#d6336c",
        503 => "#74b816",
        504 => "#364fc7",
        520 => "#e8590c",
        521 => "#c92a2a",
        522 => "#f59f00",
        523 => "#862e9c",
        524 => "#1971c2",
        525 => "#2b8a3e",
        526 => "#0c8599",
        527 => "#5f3dc4",
        530 => "#a61e4d",
        _ if status >= 500 => "#e03131",
        _ => "#868e96",
    }
}

/// Writes `<svg id="errors-over-time">` for `report` to `out`.
pub(super) fn write_chart(out: &mut String, report: &Report) -> fmt::Result {
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let baseline = TOP + plot_height;
    let buckets = report.series.len().max(1);
    let step = plot_width / buckets as f64;
    let bar_width = (step * BAR_FILL).max(1.0);
    let max = report.series.iter().map(|p| p.errors).max().unwrap_or(0);

    write!(
        out,
        "<svg id=\"errors-over-time\" role=\"img\" aria-labelledby=\"chart-title\" \
         xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         width=\"{WIDTH}\" height=\"{HEIGHT}\">\
         <title id=\"chart-title\">Errors over time ({}), by status</title>",
        report.range.label()
    )?;
    let right = WIDTH - RIGHT;
    write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{baseline}\" x2=\"{right}\" y2=\"{baseline}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{baseline}\"/>"
    )?;
    let label_x = LEFT - 6.0;
    write!(
        out,
        "<text class=\"tick\" x=\"{label_x}\" y=\"{baseline}\" text-anchor=\"end\">0</text>"
    )?;

    if max == 0 {
        write!(
            out,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">\
             No errors in this range</text>",
            LEFT + plot_width / 2.0,
            TOP + plot_height / 2.0
        )?;
    } else {
        write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{right}\" y2=\"{TOP}\"/>\
             <text class=\"tick\" x=\"{label_x}\" y=\"{:.1}\" text-anchor=\"end\">{max}</text>",
            TOP + 4.0
        )?;
        let scale = plot_height / max as f64;
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
    }

    for index in tick_indexes(report.series.len()) {
        let Some(point) = report.series.get(index) else {
            continue;
        };
        let x = LEFT + (index as f64 + 0.5) * step;
        write!(
            out,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            baseline + 16.0,
            escape(tick_label(report.range, &point.start))
        )?;
    }
    write!(
        out,
        "<text class=\"caption\" x=\"{right}\" y=\"{:.1}\" text-anchor=\"end\">UTC</text></svg>",
        HEIGHT - 4.0
    )
}

/// The buckets that get a time label: the first, the last and three between.
fn tick_indexes(len: usize) -> Vec<usize> {
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
