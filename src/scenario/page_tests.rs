//! The scenario report page's structure: bands named after the phases, a bar per second with
//! requests, bucketed bars for long runs, escaping, and the idle case.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::analytics::tests::{attr, tags};
use crate::scenario::report::{PhaseReport, RunReport, ScenarioReport, Second, Stamp, TimeMs};

/// 2026-11-24T10:00:00Z.
fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_514_400) + Duration::from_millis(millis)
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|&(k, n)| (k.to_owned(), n)).collect()
}

/// A phase from `from` to `to` ms of the run, with `per_second` as (second, status, count).
fn phase(name: &str, from: u64, to: Option<u64>, per_second: &[(u64, &str, u64)]) -> PhaseReport {
    let mut statuses = BTreeMap::new();
    let mut seconds: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    for &(second, status, n) in per_second {
        *statuses.entry(status.to_owned()).or_insert(0) += n;
        *seconds
            .entry(second)
            .or_default()
            .entry(status.to_owned())
            .or_insert(0) += n;
    }
    PhaseReport {
        name: name.to_owned(),
        started: Stamp(at(from)),
        ended: to.map(|to| Stamp(at(to))),
        requests: statuses.values().sum(),
        statuses,
        causes: counts(&[("read_timeout", 2)]),
        time_ms: TimeMs {
            p50: 12.0,
            p95: 90.5,
            p99: 100.0,
            max: 250.0,
        },
        max_in_flight: 3,
        bytes: 12_345,
        per_second: seconds
            .into_iter()
            .map(|(second, statuses)| Second { second, statuses })
            .collect(),
    }
}

fn scenario(name: &str, phases: Vec<PhaseReport>, ended: Option<u64>) -> ScenarioReport {
    ScenarioReport {
        name: name.to_owned(),
        state: if ended.is_some() { "done" } else { "running" },
        stopped: false,
        runs: vec![RunReport {
            run: 1,
            started: Stamp(at(0)),
            ended: ended.map(|e| Stamp(at(e))),
            phases,
        }],
    }
}

/// Only the chart of run 1.
fn chart(page: &str) -> &str {
    let start = page.find("<svg class=\"timeline\"").expect("a chart");
    let end = start + page[start..].find("</svg>").expect("the chart closes");
    &page[start..end]
}

#[test]
fn each_phase_is_a_labelled_band_and_each_second_with_requests_a_bar() {
    let report = scenario(
        "outage drill",
        vec![
            phase(
                "warm-up",
                0,
                Some(3000),
                &[(0, "200", 4), (1, "200", 5), (2, "200", 5)],
            ),
            phase(
                "origin down",
                3000,
                Some(6000),
                &[(3, "521", 2), (3, "200", 1), (5, "521", 3)],
            ),
            phase("quiet", 6000, Some(10_000), &[]),
        ],
        Some(10_000),
    );
    let page = render_at(&report, at(20_000));
    let svg = chart(&page);

    let bands: Vec<&str> = tags(svg, "g")
        .into_iter()
        .filter(|tag| attr(tag, "class") == Some("band"))
        .filter_map(|tag| attr(tag, "data-phase"))
        .collect();
    assert_eq!(bands, ["warm-up", "origin down", "quiet"]);
    for name in ["warm-up", "origin down", "quiet"] {
        assert!(
            svg.contains(&format!(">{name}</text>")),
            "{name} is labelled: {svg}"
        );
    }
    // Ten seconds over 632 units: the second band starts 3 s in.
    let fills: Vec<f64> = tags(svg, "rect")
        .into_iter()
        .filter(|tag| attr(tag, "data-status").is_none() && tag.contains("fill="))
        .filter_map(|tag| attr(tag, "x")?.parse().ok())
        .collect();
    assert_eq!(fills, [72.0, 261.6, 451.2]);

    let bars: Vec<(&str, &str)> = tags(svg, "g")
        .into_iter()
        .filter(|tag| attr(tag, "class") == Some("bar"))
        .map(|tag| {
            (
                attr(tag, "data-second").unwrap(),
                attr(tag, "data-count").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        bars,
        [("0", "4"), ("1", "5"), ("2", "5"), ("3", "3"), ("5", "3")]
    );
    assert_eq!(attr(tags(svg, "svg")[0], "data-bar-seconds"), Some("1"));
    assert!(svg.contains("<title>521: 2 at 3 s</title>"), "{svg}");
    assert!(
        svg.contains(">10 s</text>"),
        "the axis is in seconds: {svg}"
    );
    assert_eq!(attr(tags(svg, "svg")[0], "viewBox"), Some("0 0 720 320"));
    assert!(attr(tags(svg, "svg")[0], "width").is_none());

    // The legend and the table's columns, one per status; the quiet phase has no times.
    assert!(page.contains("<li data-status=\"521\">"), "{page}");
    assert!(page.contains("<th scope=\"col\" class=\"num status\" data-status=\"200\">"));
    let quiet = page
        .find("<tr data-phase=\"quiet\" data-requests=\"0\">")
        .expect("its row");
    let row = &page[quiet..quiet + page[quiet..].find("</tr>").unwrap()];
    assert!(row.contains("<td class=\"num none\">-</td>"), "{row}");
    assert!(page.contains("<td class=\"num\">4.0 s</td>"), "{page}");
    assert!(page.contains("12.3 kB"));
    assert!(page.contains("<strong>done</strong>"));
}

#[test]
fn a_running_phase_reaches_now() {
    let report = scenario(
        "live",
        vec![
            phase("first", 0, Some(2000), &[(0, "200", 1)]),
            phase("second", 2000, None, &[(3, "524", 1)]),
        ],
        None,
    );
    let page = render_at(&report, at(4000));
    let svg = chart(&page);
    let widths: Vec<f64> = tags(svg, "rect")
        .into_iter()
        .filter(|tag| attr(tag, "data-status").is_none() && tag.contains("fill="))
        .filter_map(|tag| attr(tag, "width")?.parse().ok())
        .collect();
    // Four seconds on the axis, two of them the running phase's: half the plot.
    assert_eq!(widths, [316.0, 316.0]);
    assert!(page.contains("2.0 s, running"), "{page}");
    assert!(page.contains("until now: running"));
}

#[test]
fn a_long_run_gets_at_most_three_hundred_bars() {
    let per_second: Vec<(u64, &str, u64)> = (0..4000)
        .flat_map(|s| {
            [
                (s, "200", 2),
                (s, if s % 2 == 0 { "502" } else { "524" }, 1),
            ]
        })
        .collect();
    let report = scenario(
        "soak",
        vec![phase("soak", 0, Some(4_000_000), &per_second)],
        Some(4_000_000),
    );
    let page = render_at(&report, at(4_000_000));
    let svg = chart(&page);
    let bars = tags(svg, "g")
        .into_iter()
        .filter(|tag| attr(tag, "class") == Some("bar"))
        .collect::<Vec<_>>();
    // 4000 s in 15 s bars: 267 of them, each 15 s of 3 requests (the last one 10 s).
    assert_eq!(attr(tags(svg, "svg")[0], "data-bar-seconds"), Some("15"));
    assert_eq!(bars.len(), 267);
    assert_eq!(attr(bars[0], "data-count"), Some("45"));
    assert_eq!(attr(bars[1], "data-second"), Some("15"));
    assert!(svg.contains(">15 min</text>"), "minutes on the axis: {svg}");
    assert!(svg.contains("requests per 15 seconds"));
}

#[test]
fn hostile_names_are_escaped() {
    let mut hostile = phase("<script>alert(1)</script>", 0, Some(1000), &[(0, "200", 1)]);
    hostile.causes = counts(&[("\"cause'", 1)]);
    let page = render_at(
        &scenario("a&b <img src=x>", vec![hostile], Some(1000)),
        at(1000),
    );
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(
        page.contains("<h1>Scenario a&amp;b &lt;img src=x&gt;</h1>"),
        "{page}"
    );
    assert!(page.contains("data-phase=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
    assert!(page.contains(">&lt;script&gt;alert(1)&lt;/script&gt;</text>"));
    assert!(page.contains("&quot;cause&#39; 1"));
}

#[test]
fn an_idle_scenario_says_it_has_not_started() {
    let report = ScenarioReport {
        name: "drill".to_owned(),
        state: "idle",
        stopped: false,
        runs: Vec::new(),
    };
    let page = render_at(&report, at(0));
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains("<p class=\"empty\">Not started yet.</p>"),
        "{page}"
    );
    assert!(page.contains("data-state=\"idle\""));
    assert!(!page.contains("<svg"), "no chart without a run");
    assert!(
        !page.contains("<script") && !page.contains("<link"),
        "self-contained"
    );
}

#[test]
fn a_stopped_run_without_requests_draws_empty_and_many_statuses_each_get_a_column() {
    let statuses = [
        "200", "404", "499", "500", "502", "503", "520", "521", "522", "524", "530",
    ];
    let per_second: Vec<(u64, &str, u64)> = statuses
        .iter()
        .enumerate()
        .map(|(s, &status)| (s as u64, status, 1))
        .collect();
    let mut report = scenario(
        "many",
        vec![phase("all", 0, Some(11_000), &per_second)],
        Some(11_000),
    );
    report.stopped = true;
    let page = render_at(&report, at(11_000));
    assert!(page.contains("<strong>done</strong>, stopped"), "{page}");
    for status in statuses {
        assert!(
            page.contains(&format!("<li data-status=\"{status}\">")),
            "{status}"
        );
        assert!(page.contains(&format!("class=\"num status\" data-status=\"{status}\">")));
    }

    let empty = scenario(
        "empty",
        vec![phase("nothing", 0, Some(5000), &[])],
        Some(5000),
    );
    let page = render_at(&empty, at(5000));
    assert!(page.contains(">No requests yet</text>"), "{page}");
    assert!(!page.contains("class=\"bar\""));
}
