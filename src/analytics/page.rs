//! The Error Analytics page (`GET /analytics`): a [`Report`] as one self-contained HTML5
//! document (inline style and SVG; no script, external stylesheet, font or image). Every piece
//! of text goes through [`escape`]: URLs are the visitor's. This module does not read the store.

use std::fmt::{self, Write as _};

use super::palette::colour;
use super::report::{SelectedStatus, TopEntry};
use super::svg::write_chart;
use super::{PhaseBand, Query, Range, Report};
use crate::base::html::escape;

/// The page's inline stylesheet. The chart's text is in SVG user units, which scale with the
/// card: 11 units read as 11-14 px on a wide screen, and the two narrower steps keep it about
/// 10-15 px down to a 390 px phone ([`super::svg`] leaves room for the largest).
pub(crate) const STYLE: &str = "\
body{margin:0;font:14px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;\
color:#1d1f20;background:#f6f7f8}\
header,main,footer{max-width:980px;margin:0 auto;padding:0 16px}\
h1{font-size:24px;margin:24px 0 4px}h2{font-size:18px;margin:24px 0 8px}\
h3{font-size:15px;margin:16px 0 6px}\
section{background:#fff;border:1px solid #dfe1e3;border-radius:6px;padding:4px 16px 16px;\
margin:16px 0}\
nav.ranges a{display:inline-block;padding:4px 10px;margin-right:4px;border:1px solid #c7cacc;\
border-radius:4px;color:#1d1f20;text-decoration:none}\
nav.ranges a[aria-current=page]{background:#f38020;border-color:#f38020;color:#fff}\
.sample,.window,footer{color:#595c5f}\
table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceeef;vertical-align:top}\
td.count,td.share,th.num{text-align:right}tr.selected{background:#fff4e6}\
td.value{word-break:break-all}td.rays code{display:block;font-size:12px}\
svg{display:block;width:100%;height:auto}\
svg .axis,svg .grid{vector-effect:non-scaling-stroke}svg .axis{stroke:#6c7073}\
svg .grid{stroke:#dfe1e3}svg text{font-size:11px;fill:#595c5f}\
ul.legend{list-style:none;padding:0;margin:8px 0 0}\
ul.legend li{display:inline-block;margin-right:16px}\
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}\
svg .band-edge{stroke:#b9bec2;stroke-dasharray:3 3;vector-effect:non-scaling-stroke}\
svg text.band-label{fill:#3b3f42;font-weight:600;stroke:#fff;stroke-width:3px;\
stroke-linejoin:round;paint-order:stroke}\
p.bands{color:#595c5f;overflow-wrap:anywhere}\
@media (max-width:760px){svg text{font-size:15px}}\
@media (max-width:540px){svg text{font-size:22px}svg .minor{display:none}\
header,main,footer{padding:0 8px}section{padding:4px 8px 12px}th,td{padding:4px}}";

/// The whole HTML document for `report`.
pub fn render_page(report: &Report) -> String {
    render_page_with(report, &[])
}

/// The whole HTML document for `report`, with `bands` (a running scenario's phases) drawn
/// behind the chart where they overlap its time window.
pub fn render_page_with(report: &Report, bands: &[PhaseBand]) -> String {
    let mut out = String::with_capacity(16 * 1024);
    // Writing to a String cannot fail.
    let _ = write_page(&mut out, report, bands);
    out
}

fn write_page(out: &mut String, report: &Report, bands: &[PhaseBand]) -> fmt::Result {
    let selected = report.selected.as_ref().map(|s| s.status);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Error Analytics · edgecase</title>\n<style>",
    );
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<header>\n<h1>Error Analytics</h1>\n");
    writeln!(
        out,
        "<p class=\"sample\">Sampled at {}% of requests. Cloudflare's Error Analytics samples \
         about 1% of requests.</p>",
        percent(report.sample)
    )?;
    write_ranges(out, report.range, selected)?;
    writeln!(
        out,
        "<p class=\"window\">{}, {}, from <time datetime=\"{from}\">\
         {from}</time> to <time datetime=\"{to}\">{to}</time>.</p>\n</header>\n<main>",
        counted(report.requests, "sampled request"),
        counted(report.errors, "error"),
        from = escape(&report.from),
        to = escape(&report.to),
    )?;

    out.push_str("<section id=\"over-time\">\n<h2>Errors over time</h2>\n");
    write_chart(out, report, bands)?;
    write_legend(out, report)?;
    write_band_caption(out, bands)?;
    out.push_str("</section>\n");

    write_statuses(out, report, selected)?;
    if let Some(detail) = &report.selected {
        write_selected(out, report.range, detail)?;
    }

    let json = Query {
        range: report.range,
        status: selected,
    }
    .to_query_string();
    writeln!(
        out,
        "</main>\n<footer>\n<p>edgecase · <a href=\"analytics.json?{}\">This report as JSON</a> \
         · generated <time datetime=\"{at}\">{at}</time></p>\n</footer>\n</body>\n</html>",
        escape(&json),
        at = escape(&report.generated_at),
    )
}

/// The range selector: one link per range, keeping the selected status.
fn write_ranges(out: &mut String, current: Range, status: Option<u16>) -> fmt::Result {
    out.push_str("<nav class=\"ranges\" aria-label=\"Time range\">");
    for range in Range::ALL {
        let href = Query { range, status }.to_query_string();
        let mark = if range == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        write!(
            out,
            "<a href=\"?{}\"{mark}>{}</a>",
            escape(&href),
            range.label()
        )?;
    }
    out.push_str("</nav>\n");
    Ok(())
}

/// The chart's legend: one swatch per error status in the series.
fn write_legend(out: &mut String, report: &Report) -> fmt::Result {
    let mut statuses: Vec<u16> = report
        .series
        .iter()
        .flat_map(|point| point.by_status.keys().copied())
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    if statuses.is_empty() {
        return Ok(());
    }
    out.push_str("<ul class=\"legend\">");
    for status in statuses {
        write!(
            out,
            "<li data-status=\"{status}\"><span class=\"swatch\" style=\"background:{}\">\
             </span>{status} {}</li>",
            colour(status),
            escape(&super::status_name(status))
        )?;
    }
    out.push_str("</ul>\n");
    Ok(())
}

/// Under the chart, which scenario its bands are the phases of.
fn write_band_caption(out: &mut String, bands: &[PhaseBand]) -> fmt::Result {
    let mut scenarios: Vec<&str> = bands.iter().map(|band| band.scenario.as_str()).collect();
    scenarios.dedup();
    if scenarios.is_empty() {
        return Ok(());
    }
    out.push_str("<p class=\"bands\">Shaded bands: the phases of scenario ");
    for (nth, scenario) in scenarios.iter().enumerate() {
        if nth > 0 {
            out.push_str(", ");
        }
        write!(out, "<strong>{}</strong>", escape(scenario))?;
    }
    out.push_str(", as it runs now.</p>\n");
    Ok(())
}

/// The table by status code, each status linking to its detail.
fn write_statuses(out: &mut String, report: &Report, selected: Option<u16>) -> fmt::Result {
    out.push_str(
        "<section id=\"statuses\">\n<h2>By status code</h2>\n<table id=\"by-status\">\
         <thead><tr><th scope=\"col\">Status</th><th scope=\"col\">Title</th>\
         <th scope=\"col\" class=\"num\">Requests</th><th scope=\"col\" class=\"num\">Share</th>\
         </tr></thead>\n<tbody>\n",
    );
    if report.statuses.is_empty() {
        out.push_str(
            "<tr class=\"empty\"><td colspan=\"4\">No requests in this range.</td></tr>\n",
        );
    }
    for row in &report.statuses {
        let href = Query {
            range: report.range,
            status: Some(row.status),
        }
        .to_query_string();
        let class = if selected == Some(row.status) {
            " class=\"selected\""
        } else {
            ""
        };
        writeln!(
            out,
            "<tr data-status=\"{status}\" data-count=\"{count}\"{class}><td><a href=\"?{href}\">\
             {status}</a></td><td>{title}</td><td class=\"count\">{count}</td>\
             <td class=\"share\">{share:.1}%</td></tr>",
            status = row.status,
            count = row.count,
            href = escape(&href),
            title = escape(&row.title),
            share = row.share * 100.0,
        )?;
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

/// `n` and `noun`, plural unless `n` is 1: "1 error", "3 errors".
fn counted(n: impl Into<u64>, noun: &str) -> String {
    match n.into() {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// The selected status: its top URLs, origin IPs and colos.
fn write_selected(out: &mut String, range: Range, detail: &SelectedStatus) -> fmt::Result {
    writeln!(
        out,
        "<section id=\"selected\" data-status=\"{status}\">\n<h2>{status} {title}</h2>\n\
         <p>{count} with status {status} ({range}). \
         <a href=\"?range={range}\">Clear selection</a></p>",
        status = detail.status,
        title = escape(&super::status_name(detail.status)),
        count = counted(detail.count, "sampled request"),
        range = range.as_str(),
    )?;
    if detail.status < 400 {
        out.push_str("<p>Top tables are kept for error statuses (400 and above) only.</p>\n");
    }
    write_top(out, "top-urls", "Top URLs", "URL", &detail.urls)?;
    write_top(
        out,
        "top-origin-ips",
        "Top origin IPs",
        "Origin IP",
        &detail.origin_ips,
    )?;
    write_top(out, "top-colos", "Top data centres", "Colo", &detail.colos)?;
    out.push_str("</section>\n");
    Ok(())
}

/// One top table with `id`.
fn write_top(
    out: &mut String,
    id: &str,
    heading: &str,
    column: &str,
    rows: &[TopEntry],
) -> fmt::Result {
    write!(
        out,
        "<h3>{heading}</h3>\n<table id=\"{id}\"><thead><tr><th scope=\"col\">{column}</th>\
         <th scope=\"col\" class=\"num\">Requests</th><th scope=\"col\">Newest ray IDs</th>\
         </tr></thead>\n<tbody>\n"
    )?;
    if rows.is_empty() {
        out.push_str("<tr class=\"empty\"><td colspan=\"3\">None in this range.</td></tr>\n");
    }
    for row in rows {
        write!(
            out,
            "<tr data-count=\"{count}\"><td class=\"value\">{value}</td>\
             <td class=\"count\">{count}</td><td class=\"rays\">",
            count = row.count,
            value = escape(&row.value),
        )?;
        for ray in &row.rays {
            write!(out, "<code>{}</code>", escape(ray))?;
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}

/// A rate as a percentage without needless decimals: 1.0 -> `100`, 0.005 -> `0.5`.
fn percent(rate: f64) -> String {
    let percent = rate * 100.0;
    if (percent - percent.round()).abs() < 1e-9 {
        return format!("{percent:.0}");
    }
    let text = format!("{percent:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_singular_for_one_only() {
        assert_eq!(super::counted(1u64, "error"), "1 error");
        assert_eq!(super::counted(0u64, "error"), "0 errors");
        assert_eq!(
            super::counted(8u64, "sampled request"),
            "8 sampled requests"
        );
    }
}
