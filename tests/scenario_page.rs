//! The scenario report page as a person sees it, in headless Chromium at a desktop width
//! (1280 px) and a phone width (390 px): a three-phase run of about 30 s with several statuses
//! is drawn as a chart that fills its card at a sensible height, with every phase's band
//! labelled, readable text, x labels that do not collide, and nothing wider than the window
//! except inside the phases' table's own scrolling box. The Error Analytics page with a
//! running scenario's bands is measured the same way.
//!
//! The pages are rendered directly (`edgecase::scenario::page::render`,
//! `edgecase::analytics::render_page_with`), not served by an edge. As in `analytics_layout.rs`,
//! Chromium's windows are at least 500 px wide, so each width is an iframe of that size whose
//! `srcdoc` is the page, in a wrapper page (served from a loopback HTTP server on port 0) whose
//! script measures the frames and writes the measurements into the DOM `--dump-dom` prints.
//! With `EDGECASE_SCREENSHOTS=<dir>` the test also saves screenshots of both pages there.
//! Without Chromium the test says so on stderr and passes.
mod support;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use edgecase::analytics::{Analytics, Observation, PhaseBand, Query};
use edgecase::scenario::report::{PhaseReport, RunReport, ScenarioReport, Second, Stamp, TimeMs};
use serde_json::Value;

use support::chromium;
use support::pki::TempDir;

/// The widths the pages are measured at, in CSS px, and the height of each frame.
const WIDTHS: [(u32, u32); 2] = [(1280, 900), (390, 844)];

/// What a person must be able to read at a phone's width, in CSS px.
const MIN_FONT_PX: f64 = 10.0;

/// A phase of the test run: name, first and last second, and requests per second by status.
type Phase = (&'static str, u64, u64, &'static [(&'static str, u64)]);

/// The phases of the test run.
const PHASES: [Phase; 3] = [
    ("warm-up", 0, 9, &[("200", 12), ("404", 1)]),
    (
        "origin down: 521 & 522 <for real>",
        10,
        19,
        &[("200", 3), ("521", 6), ("522", 2), ("499", 1)],
    ),
    ("recovery", 20, 29, &[("200", 10), ("524", 1), ("502", 1)]),
];

/// Measures every `iframe.measured` once they have loaded, as JSON in `<pre id="measured">`.
const MEASURE: &str = r#"
function measure(frame) {
  const doc = frame.contentDocument, win = frame.contentWindow;
  const shown = el => win.getComputedStyle(el).display !== 'none';
  const width = win.innerWidth;
  const inside = (el, selector) => el.closest(selector) !== null;
  const charts = [...doc.querySelectorAll('svg.timeline, svg#errors-over-time')].map(svg => {
    const box = svg.getBoundingClientRect();
    const card = svg.closest('section');
    const style = win.getComputedStyle(card);
    const scale = svg.getScreenCTM().a;
    const texts = [...svg.querySelectorAll('text')].filter(shown);
    const times = [...svg.querySelectorAll('text.x-tick')].filter(shown)
      .map(t => t.getBoundingClientRect());
    return {
      view_box: svg.getAttribute('viewBox'),
      width: box.width,
      height: box.height,
      visible: shown(svg) && win.getComputedStyle(svg).visibility !== 'hidden',
      card_content_width: card.clientWidth - parseFloat(style.paddingLeft)
        - parseFloat(style.paddingRight),
      smallest_text_px: Math.min(...texts.map(t => parseFloat(win.getComputedStyle(t).fontSize)
        * scale)),
      band_labels: [...svg.querySelectorAll('text.band-label')].map(t => t.textContent),
      band_labels_start_inside: [...svg.querySelectorAll('text.band-label')]
        .every(t => t.getBoundingClientRect().left >= box.left - 0.5
          && t.getBoundingClientRect().left < box.right),
      bars: svg.querySelectorAll('g.bar').length,
      time_labels: times.length,
      time_labels_collide: times.some((r, i) => i > 0 && r.left < times[i - 1].right),
      time_labels_inside: times.every(r => r.left >= box.left - 0.5 && r.right <= box.right + 0.5),
    };
  });
  const scrollers = [...doc.querySelectorAll('.scroll')].map(el => ({
    right: el.getBoundingClientRect().right,
    overflow_x: win.getComputedStyle(el).overflowX,
    scrolls: el.scrollWidth > el.clientWidth,
  }));
  return {
    inner_width: width,
    scroll_width: doc.documentElement.scrollWidth,
    overflowing: [...doc.body.querySelectorAll('*')]
      .filter(el => !inside(el, '.scroll') && !(el instanceof win.SVGElement
        && el.tagName !== 'svg'))
      .filter(el => el.getBoundingClientRect().right > width + 0.5)
      .map(el => el.tagName + (el.id ? '#' + el.id : '') + ' ' + el.getBoundingClientRect().right),
    charts,
    scrollers,
    title: doc.querySelector('h1').textContent,
  };
}
window.addEventListener('load', () => {
  const out = {};
  for (const frame of document.querySelectorAll('iframe.measured')) {
    out[frame.dataset.page + '@' + frame.dataset.width] = measure(frame);
  }
  document.getElementById('measured').textContent = JSON.stringify(out);
});
"#;

/// A done run of [`PHASES`] that started at `start`, its requests at the second's counts.
fn report(start: SystemTime) -> ScenarioReport {
    let phases = PHASES
        .iter()
        .map(|&(name, first, last, per_second)| {
            let seconds: Vec<Second> = (first..=last)
                .map(|second| Second {
                    second,
                    statuses: per_second
                        .iter()
                        // Some seconds busier than others, so the bars are not all alike.
                        .map(|&(status, n)| (status.to_owned(), n + second % 3))
                        .collect(),
                })
                .collect();
            let mut statuses = BTreeMap::new();
            for second in &seconds {
                for (status, n) in &second.statuses {
                    *statuses.entry(status.clone()).or_insert(0) += n;
                }
            }
            PhaseReport {
                name: name.to_owned(),
                started: Stamp(start + Duration::from_secs(first)),
                ended: Some(Stamp(start + Duration::from_secs(last + 1))),
                requests: statuses.values().sum(),
                statuses,
                causes: [("read_timeout", 3), ("refused", 60), ("visitor_gone", 10)]
                    .into_iter()
                    .map(|(cause, n)| (cause.to_owned(), n))
                    .collect(),
                time_ms: TimeMs {
                    p50: 4.2,
                    p95: 120.5,
                    p99: 1900.0,
                    max: 30_000.0,
                },
                max_in_flight: 17,
                bytes: 1_234_567,
                per_second: seconds,
            }
        })
        .collect();
    ScenarioReport {
        name: "outage drill".to_owned(),
        state: "done",
        stopped: false,
        runs: vec![RunReport {
            run: 1,
            started: Stamp(start),
            ended: Some(Stamp(start + Duration::from_secs(30))),
            phases,
        }],
    }
}

/// The Error Analytics page for a few errors over the last minute, with [`PHASES`] as bands of
/// a scenario that started 30 s before `now` and is in its last phase.
fn analytics_page(now: SystemTime) -> String {
    let analytics = Analytics::new(1.0);
    for (n, status) in [521u16, 521, 522, 524, 200, 404].into_iter().enumerate() {
        analytics.record(&Observation {
            at: now - Duration::from_secs(5 * n as u64),
            status,
            origin_status: None,
            host: "site.test",
            path: "/",
            origin_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            colo: "CDG",
            ray: "8f00000000000001-CDG",
            key: n as u64,
            cause: None,
        });
    }
    let query = Query::from_query_string("range=5m").expect("a valid query");
    let start = now - Duration::from_secs(30);
    let bands: Vec<PhaseBand> = PHASES
        .iter()
        .map(|&(name, first, last, _)| PhaseBand {
            scenario: "outage drill".to_owned(),
            phase: name.to_owned(),
            started: start + Duration::from_secs(first),
            ended: (last < 29).then(|| start + Duration::from_secs(last + 1)),
        })
        .collect();
    edgecase::analytics::render_page_with(&analytics.report(&query, now), &bands)
}

#[tokio::test]
async fn scenario_page_reads_on_desktop_and_phone() {
    let Some(browser) = chromium::find() else {
        chromium::skip_notice();
        return;
    };
    let now = SystemTime::now();
    let scenario = edgecase::scenario::page::render(&report(now - Duration::from_secs(40)));
    let analytics = analytics_page(now);
    if let Some(dir) = std::env::var_os("EDGECASE_SCREENSHOTS") {
        save_screenshots(PathBuf::from(dir), &browser, &scenario, &analytics).await;
    }
    let pages = [
        ("scenario", scenario.as_str()),
        ("analytics", analytics.as_str()),
    ];
    let server = chromium::serve_page(chromium::measuring_page(&pages, &WIDTHS, MEASURE)).await;
    let url = format!("http://{}/", server.addr());
    let measured = chromium::measurements(browser, url, Vec::new(), "scenario_page").await;

    let names: Vec<&str> = PHASES.iter().map(|(name, ..)| *name).collect();
    for page in ["scenario", "analytics"] {
        for (width, _) in WIDTHS {
            let at = &measured[format!("{page}@{width}")];
            let what = format!("{page} at {width} px");
            assert_eq!(
                at["inner_width"], width,
                "{what}: the frame is the viewport: {at}"
            );
            assert!(
                at["scroll_width"].as_f64() <= at["inner_width"].as_f64(),
                "{what}: no horizontal scroll: {at}"
            );
            assert_eq!(at["overflowing"], Value::Array(vec![]), "{what}: {at}");
            let charts = at["charts"].as_array().expect("charts");
            assert_eq!(charts.len(), 1, "{what}: one chart: {at}");
            check_chart(&what, &charts[0], &names);
            if page == "scenario" {
                assert_eq!(at["title"], "Scenario outage drill", "{what}");
                assert_eq!(charts[0]["bars"], 30, "{what}: a bar per second: {at}");
                for scroller in at["scrollers"].as_array().expect("scrollers") {
                    assert_eq!(scroller["overflow_x"], "auto", "{what}: {scroller}");
                    assert!(
                        scroller["right"].as_f64() <= Some(f64::from(width) + 0.5),
                        "{what}: the table's box fits the window: {scroller}"
                    );
                }
            }
        }
    }
    assert_eq!(
        measured["scenario@390"]["scrollers"][0]["scrolls"], true,
        "on a phone the phases' table scrolls inside its box"
    );
}

/// The chart fills its card at a height that follows its width, reads at this width, and
/// labels every phase.
fn check_chart(what: &str, chart: &Value, names: &[&str]) {
    assert_eq!(chart["visible"], true, "{what}: {chart}");
    let width = chart["width"].as_f64().expect("chart width");
    let card = chart["card_content_width"].as_f64().expect("card width");
    assert!(
        (width - card).abs() <= 1.0 && card > 0.0,
        "{what}: the chart ({width} px) fills its card ({card} px)"
    );
    let view_box: Vec<f64> = chart["view_box"]
        .as_str()
        .expect("a viewBox")
        .split(' ')
        .map(|n| n.parse().expect("a number"))
        .collect();
    let height = chart["height"].as_f64().expect("chart height");
    assert!(
        (height - width * view_box[3] / view_box[2]).abs() <= 1.0 && height >= 140.0,
        "{what}: a sensible height that follows the width: {chart}"
    );
    let smallest = chart["smallest_text_px"].as_f64().expect("text size");
    assert!(
        smallest >= MIN_FONT_PX,
        "{what}: chart text is {smallest:.1} px"
    );
    assert_eq!(chart["time_labels_collide"], false, "{what}: {chart}");
    assert_eq!(chart["time_labels_inside"], true, "{what}: {chart}");
    assert!(chart["time_labels"].as_u64() >= Some(3), "{what}: {chart}");
    let labels: Vec<&str> = chart["band_labels"]
        .as_array()
        .expect("band labels")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(labels, names, "{what}: every phase's band is labelled");
    assert_eq!(chart["band_labels_start_inside"], true, "{what}: {chart}");
}

/// Screenshots of both pages at 1280 px and at Chromium's narrowest window (500 px), in `dir`.
async fn save_screenshots(
    dir: PathBuf,
    browser: &std::path::Path,
    scenario: &str,
    analytics: &str,
) {
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    for (name, page) in [("scenario", scenario), ("analytics-bands", analytics)] {
        let file = dir.join(format!("{name}.html"));
        std::fs::write(&file, page).expect("write the page");
        let url = format!("file://{}", file.display());
        let browser = browser.to_owned();
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let profile = TempDir::new("scenario_page_screens");
            for (width, tag) in [(1280, "desktop"), (500, "phone")] {
                let png = dir.join(format!("{name}-{tag}.png"));
                chromium::screenshot(&browser, &url, (width, 1400), &png, &[], &profile);
            }
        })
        .await
        .expect("the screenshot thread did not panic");
    }
}
