//! The report page (`GET /scenarios/{name}` with `Accept: text/html`): a [`ScenarioReport`] as
//! one self-contained HTML5 document in the Error Analytics page's style (its stylesheet,
//! palette, escaping and band drawing, [`crate::analytics`]), with inline SVG and no script,
//! external stylesheet, font or image. For each run: requests per second by status as stacked
//! bars, the phases as labelled bands on the same time axis, and a table of the phases. Every
//! piece of text is HTML-escaped ([`crate::base::html::escape`]): scenario and phase names come
//! from the config. This module draws only; it does not read the registry.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::SystemTime;

use super::report::{PhaseReport, RunReport, ScenarioReport};
use crate::analytics::page::STYLE;
use crate::analytics::palette::colour;
use crate::analytics::status_name;
use crate::analytics::svg::{BandShape, Plot, YAxis, write_band, write_band_label};
use crate::base::html::escape;
use crate::base::time::Rfc3339Millis;

/// The drawing's size and the plot area's margins, in SVG user units (the `viewBox`, which the
/// page scales to its card's width). Above the plot, a strip for the phases' labels; the
/// margins leave room for the phone size of text (22 units, the analytics stylesheet's).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 44.0;
/// The plot area: the drawing less its margins.
const PLOT: Plot = Plot::new(WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM);
/// The top of the bands (their labels' strip starts there).
const BAND_TOP: f64 = 6.0;
/// The fraction of a bar's slot it fills.
const BAR_FILL: f64 = 0.8;
/// Above this many seconds, bars count several seconds each, so there are at most this many.
const MAX_BARS: u64 = 300;
/// The x axis is labelled at this many instants at most (0 included).
const MAX_X_TICKS: u64 = 6;
/// Seconds a bar may cover, or between two x labels: "nice" lengths, then whole hours.
const NICE_SECONDS: [u64; 13] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

/// What this page adds to the analytics stylesheet: the phases' table scrolls sideways inside
/// its own box on a narrow screen, and long names wrap.
const PAGE_STYLE: &str = "\
h1,h2,p{overflow-wrap:anywhere}\
.scroll{overflow-x:auto;max-width:100%}\
table.phases{width:auto;min-width:100%;white-space:nowrap}\
table.phases th.num,table.phases td.num{text-align:right}\
table.phases td.phase{white-space:normal;overflow-wrap:anywhere;min-width:6em;max-width:14em}\
table.phases span.cause{display:block}\
p.state strong{text-transform:capitalize}";

/// The whole HTML document for `report`, a running phase lasting until now.
pub fn render(report: &ScenarioReport) -> String {
    render_at(report, SystemTime::now())
}

/// The whole HTML document for `report`, a running phase lasting until `now`.
pub(crate) fn render_at(report: &ScenarioReport, now: SystemTime) -> String {
    let mut out = String::with_capacity(16 * 1024);
    // Writing to a String cannot fail.
    let _ = write_page(&mut out, report, now);
    out
}

fn write_page(out: &mut String, report: &ScenarioReport, now: SystemTime) -> fmt::Result {
    let name = escape(&report.name);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Scenario {name} · edgecase</title>\n<style>{STYLE}{PAGE_STYLE}</style>\n\
         </head>\n<body>\n<header>\n<h1>Scenario {name}</h1>\n"
    )?;
    let stopped = if report.stopped { ", stopped" } else { "" };
    let runs = match report.runs.len() {
        0 => String::new(),
        1 => " · 1 run".to_owned(),
        n => format!(" · {n} runs"),
    };
    writeln!(
        out,
        "<p class=\"state\" data-state=\"{state}\"><strong>{state}</strong>{stopped}{runs}</p>\n\
         </header>\n<main>",
        state = escape(report.state),
    )?;
    if report.runs.is_empty() {
        out.push_str(
            "<section id=\"no-runs\">\n<p class=\"empty\">Not started yet.</p>\n</section>\n",
        );
    }
    for run in &report.runs {
        write_run(out, run, now)?;
    }
    writeln!(
        out,
        "</main>\n<footer>\n<p>edgecase · generated <time datetime=\"{at}\">{at}</time></p>\n\
         </footer>\n</body>\n</html>",
        at = Rfc3339Millis(now),
    )
}

/// One run: its times, its chart and legend, and its phases' table.
fn write_run(out: &mut String, run: &RunReport, now: SystemTime) -> fmt::Result {
    let started = Rfc3339Millis(run.started.0);
    write!(
        out,
        "<section class=\"run\" id=\"run-{n}\" data-run=\"{n}\">\n<h2>Run {n}</h2>\n\
         <p class=\"window\">From <time datetime=\"{started}\">{started}</time> ",
        n = run.run,
    )?;
    match run.ended {
        Some(ended) => {
            let ended = Rfc3339Millis(ended.0);
            writeln!(out, "to <time datetime=\"{ended}\">{ended}</time>.</p>")?;
        }
        None => out.push_str("until now: running.</p>\n"),
    }
    let timeline = Timeline::of(run, now);
    write_chart(out, run, &timeline)?;
    write_legend(out, &timeline)?;
    write_table(out, run, now)?;
    out.push_str("</section>\n");
    Ok(())
}

/// A status as the report keys it (`"524"`), ordered by number, anything else after.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Status {
    number: Option<u16>,
    text: String,
}

impl Status {
    fn new(text: &str) -> Status {
        Status {
            number: text.parse().ok(),
            text: text.to_owned(),
        }
    }

    /// Its fixed colour (a key that is not a number gets the grey of an unnamed 4xx).
    fn colour(&self) -> &'static str {
        colour(self.number.unwrap_or(400))
    }
}

/// A run's requests laid out on its time axis.
struct Timeline {
    /// Seconds each bar covers: 1 unless the run is longer than [`MAX_BARS`] seconds.
    bar_seconds: u64,
    /// Requests by bar (bar `i` covers seconds `i * bar_seconds ..`), then by status.
    bars: Vec<BTreeMap<Status, u64>>,
    /// Every status of the run, in order.
    statuses: Vec<Status>,
    /// When the axis starts: the run's start.
    start: SystemTime,
    /// When a phase still running ends.
    now: SystemTime,
}

impl Timeline {
    fn of(run: &RunReport, now: SystemTime) -> Timeline {
        let start = run.started.0;
        let until = |end: SystemTime| {
            end.duration_since(start)
                .map_or(0, |d| d.as_secs_f64().ceil() as u64)
        };
        let mut span = until(run.ended.map_or(now, |e| e.0));
        for phase in &run.phases {
            span = span.max(until(phase.ended.map_or(now, |e| e.0)));
            for second in &phase.per_second {
                span = span.max(second.second.saturating_add(1));
            }
        }
        let span = span.max(1);
        let bar_seconds = bar_seconds(span);
        let mut bars = vec![BTreeMap::new(); span.div_ceil(bar_seconds) as usize];
        let mut statuses = Vec::new();
        for phase in &run.phases {
            for second in &phase.per_second {
                let bar = &mut bars[(second.second / bar_seconds) as usize];
                for (status, count) in &second.statuses {
                    let status = Status::new(status);
                    *bar.entry(status.clone()).or_insert(0) += count;
                    statuses.push(status);
                }
            }
        }
        statuses.sort();
        statuses.dedup();
        Timeline {
            bar_seconds,
            bars,
            statuses,
            start,
            now,
        }
    }

    /// The seconds the axis covers: a whole number of bars.
    fn seconds(&self) -> u64 {
        self.bars.len() as u64 * self.bar_seconds
    }

    /// Seconds from the run's start to `at` (0 before it).
    fn offset(&self, at: SystemTime) -> f64 {
        at.duration_since(self.start)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    /// User units per second on the x axis: the whole axis spans the plot.
    fn per_second(&self) -> f64 {
        PLOT.width / self.seconds() as f64
    }

    /// Where `seconds` after the run's start falls on the x axis, kept on the plot.
    fn x(&self, seconds: f64) -> f64 {
        (PLOT.left + seconds * self.per_second()).clamp(PLOT.left, PLOT.right)
    }
}

/// The fewest seconds per bar, from [`NICE_SECONDS`] (then whole hours), that draws `span`
/// seconds in at most [`MAX_BARS`] bars.
fn bar_seconds(span: u64) -> u64 {
    nice_at_least(span.div_ceil(MAX_BARS))
}

/// The smallest of [`NICE_SECONDS`] (then whole hours) that is at least `seconds`.
fn nice_at_least(seconds: u64) -> u64 {
    NICE_SECONDS
        .iter()
        .copied()
        .find(|&nice| nice >= seconds)
        .unwrap_or_else(|| seconds.div_ceil(3600).saturating_mul(3600))
}

/// `<svg class="timeline">`: the bands, the bars, the axes.
fn write_chart(out: &mut String, run: &RunReport, timeline: &Timeline) -> fmt::Result {
    let per = match timeline.bar_seconds {
        1 => "second".to_owned(),
        n => format!("{n} seconds"),
    };
    write!(
        out,
        "<svg class=\"timeline\" id=\"timeline-{n}\" role=\"img\" \
         aria-labelledby=\"timeline-{n}-title\" xmlns=\"http://www.w3.org/2000/svg\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" data-bar-seconds=\"{bar}\">\
         <title id=\"timeline-{n}-title\">Run {n}: requests per {per} by status, with its \
         phases; time since the run started</title>",
        n = run.run,
        bar = timeline.bar_seconds,
    )?;

    let shapes = band_shapes(run, timeline);
    for shape in &shapes {
        write_band(out, shape)?;
    }

    let max = timeline
        .bars
        .iter()
        .map(|bar| bar.values().sum::<u64>())
        .max()
        .unwrap_or(0);
    let axis = YAxis::for_max(max);
    axis.write_ticks(out, &PLOT)?;
    write_bars(out, timeline, PLOT.height / axis.top() as f64)?;
    if max == 0 {
        PLOT.write_empty(out, "No requests yet")?;
    }
    PLOT.write_baseline(out)?;

    for (nth, shape) in shapes.iter().enumerate() {
        let id = format!("run-{}-band-{nth}", run.run);
        write_band_label(out, shape, &id, BAND_TOP + 4.0)?;
    }
    write_x_ticks(out, timeline)?;
    out.push_str("</svg>\n");
    Ok(())
}

/// Each phase as a band, from its start to its end (now, for a running phase), kept on the
/// plot.
fn band_shapes<'a>(run: &'a RunReport, timeline: &Timeline) -> Vec<BandShape<'a>> {
    run.phases
        .iter()
        .enumerate()
        .map(|(nth, phase)| BandShape {
            x0: timeline.x(timeline.offset(phase.started.0)),
            x1: timeline.x(timeline.offset(phase.ended.map_or(timeline.now, |e| e.0))),
            top: BAND_TOP,
            bottom: PLOT.baseline,
            label: &phase.name,
            tooltip: &phase.name,
            nth,
        })
        .collect()
}

/// One stacked bar (`<g class="bar">`) per bar of `timeline` with requests, a `<rect>` per
/// status, at `scale` user units per request.
fn write_bars(out: &mut String, timeline: &Timeline, scale: f64) -> fmt::Result {
    let slot = timeline.bar_seconds as f64 * timeline.per_second();
    let bar_width = (slot * BAR_FILL).max(0.5);
    for (index, bar) in timeline.bars.iter().enumerate() {
        let total: u64 = bar.values().sum();
        if total == 0 {
            continue;
        }
        let second = index as u64 * timeline.bar_seconds;
        let x = PLOT.left + index as f64 * slot + (slot - bar_width) / 2.0;
        write!(
            out,
            "<g class=\"bar\" data-second=\"{second}\" data-count=\"{total}\">"
        )?;
        let mut top = PLOT.baseline;
        for (status, &count) in bar {
            let height = count as f64 * scale;
            top -= height;
            write!(
                out,
                "<rect x=\"{x:.2}\" y=\"{top:.1}\" width=\"{bar_width:.2}\" \
                 height=\"{height:.1}\" fill=\"{}\" data-status=\"{text}\" \
                 data-count=\"{count}\"><title>{text}: {count} at {second} s</title></rect>",
                status.colour(),
                text = escape(&status.text),
            )?;
        }
        out.push_str("</g>");
    }
    Ok(())
}

/// The x axis's ticks and labels, in seconds since the run started, [`x_step`] apart.
fn write_x_ticks(out: &mut String, timeline: &Timeline) -> fmt::Result {
    let baseline = PLOT.baseline;
    let step = x_step(timeline.seconds());
    let ticks: Vec<u64> = (0..=timeline.seconds() / step).map(|n| n * step).collect();
    for (nth, &second) in ticks.iter().enumerate() {
        let x = timeline.x(second as f64);
        // The first label starts at the axis and one at the right edge ends there, so that
        // none leaves the drawing; of five or six, every other one gives way on a phone
        // (`.minor`), leaving three.
        let anchor = if nth == 0 {
            "start"
        } else if x > PLOT.right - 24.0 {
            "end"
        } else {
            "middle"
        };
        let class = if nth % 2 == 1 && ticks.len() > 4 {
            "tick x-tick minor"
        } else {
            "tick x-tick"
        };
        write!(
            out,
            "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{baseline}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text class=\"{class}\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" \
             dominant-baseline=\"hanging\" data-second=\"{second}\">{}</text>",
            baseline + 4.0,
            baseline + 8.0,
            SecondsLabel(second, step)
        )?;
    }
    Ok(())
}

/// The seconds between two x labels: the smallest nice length giving at most [`MAX_X_TICKS`]
/// labels over `seconds`.
fn x_step(seconds: u64) -> u64 {
    nice_at_least(seconds.div_ceil(MAX_X_TICKS - 1).max(1))
}

/// An x label, `second` seconds into the run, labels `step` apart: `45 s`, or in minutes
/// (`2 min`) or hours (`1 h`) when the step is.
struct SecondsLabel(u64, u64);

impl fmt::Display for SecondsLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SecondsLabel(second, step) = *self;
        if step % 3600 == 0 {
            write!(f, "{} h", second / 3600)
        } else if step % 60 == 0 {
            write!(f, "{} min", second / 60)
        } else {
            write!(f, "{second} s")
        }
    }
}

/// One swatch per status of the run.
fn write_legend(out: &mut String, timeline: &Timeline) -> fmt::Result {
    if timeline.statuses.is_empty() {
        return Ok(());
    }
    out.push_str("<ul class=\"legend\">");
    for status in &timeline.statuses {
        let name = status.number.map(status_name);
        write!(
            out,
            "<li data-status=\"{text}\"><span class=\"swatch\" style=\"background:{}\"></span>\
             {text}{}{}</li>",
            status.colour(),
            if name.is_some() { " " } else { "" },
            escape(name.as_deref().unwrap_or("")),
            text = escape(&status.text),
        )?;
    }
    out.push_str("</ul>\n");
    Ok(())
}

/// The phases' table, in its own horizontally scrolling box: one column per status of the run.
fn write_table(out: &mut String, run: &RunReport, now: SystemTime) -> fmt::Result {
    let mut statuses: Vec<Status> = run
        .phases
        .iter()
        .flat_map(|phase| phase.statuses.keys().map(|s| Status::new(s)))
        .collect();
    statuses.sort();
    statuses.dedup();
    write!(
        out,
        "<h3>Phases</h3>\n<div class=\"scroll\" role=\"region\" tabindex=\"0\" \
         aria-label=\"Phases of run {n}\">\n<table class=\"phases\" id=\"phases-{n}\"><thead><tr>\
         <th scope=\"col\">Phase</th><th scope=\"col\" class=\"num\">Started</th>\
         <th scope=\"col\" class=\"num\">Length</th><th scope=\"col\" class=\"num\">Requests\
         </th>",
        n = run.run
    )?;
    for status in &statuses {
        write!(
            out,
            "<th scope=\"col\" class=\"num status\" data-status=\"{text}\">\
             <span class=\"swatch\" style=\"background:{}\"></span>{text}</th>",
            status.colour(),
            text = escape(&status.text),
        )?;
    }
    out.push_str(
        "<th scope=\"col\">Causes</th><th scope=\"col\" class=\"num\">p50 ms</th>\
         <th scope=\"col\" class=\"num\">p95 ms</th><th scope=\"col\" class=\"num\">p99 ms</th>\
         <th scope=\"col\" class=\"num\">max ms</th>\
         <th scope=\"col\" class=\"num\">Most held at once</th>\
         <th scope=\"col\" class=\"num\">Bytes</th></tr></thead>\n<tbody>\n",
    );
    if run.phases.is_empty() {
        writeln!(
            out,
            "<tr class=\"empty\"><td colspan=\"{}\">No phase has started yet.</td></tr>",
            statuses.len() + 10
        )?;
    }
    for phase in &run.phases {
        write_row(out, run, phase, &statuses, now)?;
    }
    out.push_str("</tbody></table>\n</div>\n");
    Ok(())
}

/// One phase's row.
fn write_row(
    out: &mut String,
    run: &RunReport,
    phase: &PhaseReport,
    statuses: &[Status],
    now: SystemTime,
) -> fmt::Result {
    let offset = phase
        .started
        .0
        .duration_since(run.started.0)
        .map_or(0.0, |d| d.as_secs_f64());
    let running = if phase.ended.is_none() {
        ", running"
    } else {
        ""
    };
    write!(
        out,
        "<tr data-phase=\"{name}\" data-requests=\"{requests}\"><td class=\"phase\">{name}</td>\
         <td class=\"num\"><time datetime=\"{at}\" title=\"{at}\">+{offset:.1} s</time></td>\
         <td class=\"num\">{length:.1} s{running}</td><td class=\"num\">{requests}</td>",
        name = escape(&phase.name),
        requests = phase.requests,
        at = Rfc3339Millis(phase.started.0),
        length = phase.length(now).as_secs_f64(),
    )?;
    for status in statuses {
        match phase.statuses.get(&status.text) {
            Some(count) => write!(out, "<td class=\"num\">{count}</td>")?,
            None => out.push_str("<td class=\"num none\">0</td>"),
        }
    }
    out.push_str("<td class=\"causes\">");
    if phase.causes.is_empty() {
        out.push('-');
    }
    for (cause, count) in &phase.causes {
        write!(
            out,
            "<span class=\"cause\">{} {count}</span>",
            escape(cause)
        )?;
    }
    out.push_str("</td>");
    let t = phase.time_ms;
    for ms in [t.p50, t.p95, t.p99, t.max] {
        if phase.requests == 0 {
            out.push_str("<td class=\"num none\">-</td>");
        } else {
            write!(out, "<td class=\"num\">{ms:.1}</td>")?;
        }
    }
    writeln!(
        out,
        "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        phase.max_in_flight,
        Bytes(phase.bytes)
    )
}

/// A byte count, short: `512 B`, `12.3 kB`, `4.0 MB`, `1.2 GB` (powers of 1000).
struct Bytes(u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0 as f64;
        match self.0 {
            0..1_000 => write!(f, "{} B", self.0),
            1_000..1_000_000 => write!(f, "{:.1} kB", n / 1e3),
            1_000_000..1_000_000_000 => write!(f, "{:.1} MB", n / 1e6),
            _ => write!(f, "{:.1} GB", n / 1e9),
        }
    }
}

#[cfg(test)]
#[path = "page_tests.rs"]
mod tests;
