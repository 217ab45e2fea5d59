//! The Error Analytics page as a person sees it, in headless Chromium at a desktop width
//! (1280 px) and a phone width (390 px): every status has its name (499 and 530 included, no
//! "Unknown error"), the chart has a `viewBox` and fills its card, its text stays legible and
//! its time labels do not collide, nothing overflows sideways, and the y axis has 4-6 labels.
//!
//! Chromium's windows are at least 500 px wide, so each width is an iframe of that size. The
//! page (fetched from the admin listener without an `Origin`, as a script-free document) is its
//! `srcdoc`, which makes it same-origin with the wrapper page whose script measures it and
//! writes the measurements into the DOM that `--dump-dom` prints. The wrapper is served from a
//! loopback HTTP server on port 0. Without Chromium the test says so on stderr and passes.
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use admin::Edgecase;
use support::GUARD;
use support::chromium;
use support::origins::Origin;
use support::visitor::{get_with_host, within};

/// The Host every visitor asks for.
const HOST: &str = "site.test";

/// The widths the page is measured at, in CSS px, and the height of each frame.
const WIDTHS: [(u32, u32); 2] = [(1280, 900), (390, 844)];

/// What a person must be able to read at a phone's width, in CSS px.
const MIN_FONT_PX: f64 = 10.0;

/// Measures every `iframe.measured` once they have loaded, as JSON in `<pre id="measured">`.
const MEASURE: &str = r#"
function measure(frame) {
  const doc = frame.contentDocument, win = frame.contentWindow;
  const shown = el => win.getComputedStyle(el).display !== 'none';
  const svg = doc.getElementById('errors-over-time');
  const card = svg.closest('section');
  const style = win.getComputedStyle(card);
  const box = svg.getBoundingClientRect();
  const scale = svg.getScreenCTM().a;
  const texts = [...svg.querySelectorAll('text')].filter(shown);
  const fonts = texts.map(t => parseFloat(win.getComputedStyle(t).fontSize) * scale);
  const times = [...svg.querySelectorAll('text.x-tick')].filter(shown)
    .map(t => t.getBoundingClientRect());
  return {
    inner_width: win.innerWidth,
    scroll_width: doc.documentElement.scrollWidth,
    overflowing: [...doc.body.querySelectorAll('*')]
      .filter(el => el.getBoundingClientRect().right > win.innerWidth + 0.5)
      .map(el => el.tagName + (el.id ? '#' + el.id : '')),
    view_box: svg.getAttribute('viewBox'),
    width_attribute: svg.getAttribute('width'),
    chart_width: box.width,
    chart_height: box.height,
    card_content_width: card.clientWidth - parseFloat(style.paddingLeft)
      - parseFloat(style.paddingRight),
    smallest_text_px: Math.min(...fonts),
    y_labels: [...svg.querySelectorAll('text.y-tick')].filter(shown).map(t => t.textContent),
    time_labels: times.length,
    time_labels_collide: times.some((r, i) => i > 0 && r.left < times[i - 1].right),
    time_labels_inside: times.every(r => r.left >= box.left - 0.5 && r.right <= box.right + 0.5),
    titles: [...doc.querySelectorAll('#by-status tr[data-status]')]
      .map(row => [Number(row.dataset.status), row.cells[1].textContent]),
    legend: [...doc.querySelectorAll('ul.legend li')].map(li => li.textContent),
    footer: doc.querySelector('footer').textContent.trim(),
    says_unknown: doc.body.innerText.includes('Unknown error'),
  };
}
window.addEventListener('load', () => {
  const out = {};
  for (const frame of document.querySelectorAll('iframe.measured')) {
    out[frame.dataset.width] = measure(frame);
  }
  document.getElementById('measured').textContent = JSON.stringify(out);
});
"#;

/// A visitor who sends `path` to the silent origin and leaves once it has arrived there: the
/// edge logs it as 499.
async fn leave_early(edgecase: &Edgecase, silent: &Origin, path: &str) {
    let mut visitor = within(GUARD, TcpStream::connect(edgecase.edge))
        .await
        .expect("the edge accepts");
    let request = format!("GET {path} HTTP/1.1\r\nhost: {HOST}\r\n\r\n");
    within(GUARD, visitor.write_all(request.as_bytes()))
        .await
        .expect("the request is written");
    within(GUARD, silent.request_seen()).await;
    drop(visitor);
}

/// `/analytics.json?range=5m` once it counts `requests`.
async fn settled(edgecase: &Edgecase, requests: u64) -> Value {
    within(GUARD, async {
        loop {
            let res = edgecase.get("/analytics.json?range=5m").await;
            let report = admin::json_of(&res);
            if report["requests"].as_u64() == Some(requests) {
                return report;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

#[tokio::test]
async fn analytics_page_reads_at_a_glance_on_desktop_and_phone() {
    let Some(browser) = chromium::find() else {
        chromium::skip_notice();
        return;
    };
    let ok = Origin::ok("fine").await;
    let refusing = Origin::refusing().await;
    let silent = Origin::silent().await;
    let rest = format!(
        "[analytics]\nsample = 1.0\n\
         [[route]]\npath_prefix = \"/down/\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/gone/\"\norigin = \"{}\"\n\
         [[fault]]\npath_prefix = \"/dns/\"\nstatus = 530\n\
         [[fault]]\npath_prefix = \"/slow/\"\nstatus = 522\ndelay = \"0s\"\n",
        refusing.addr(),
        silent.addr()
    );
    let edgecase = Edgecase::start("analytics_layout", ok.addr(), "", &rest).await;
    let answers = [
        ("/ok", 200),
        ("/down/a", 521),
        ("/dns/a", 530),
        ("/slow/a", 522),
        ("/down/b", 521),
        ("/ok", 200),
        ("/dns/b", 530),
        ("/down/c", 521),
    ];
    for (path, status) in answers {
        let res = within(GUARD, get_with_host(edgecase.edge, HOST, path)).await;
        assert_eq!(res.status(), status, "{path}: {}", res.text());
    }
    leave_early(&edgecase, &silent, "/gone/a").await;
    let report = settled(&edgecase, answers.len() as u64 + 1).await;
    assert!(
        report["statuses"]
            .as_array()
            .expect("statuses")
            .iter()
            .any(|row| row["status"] == 499),
        "the visitor who left is counted as 499: {report}"
    );

    let page = edgecase.get("/analytics?range=5m&status=521").await;
    assert_eq!(page.status(), 200, "{}", page.text());
    let server = chromium::serve_page(chromium::measuring_page(
        &[("analytics", &page.text())],
        &WIDTHS,
        MEASURE,
    ))
    .await;
    let url = format!("http://{}/", server.addr());
    let measured = chromium::measurements(browser, url, Vec::new(), "analytics_layout").await;

    for (width, _) in WIDTHS {
        let at = &measured[width.to_string()];
        assert_eq!(at["inner_width"], width, "the frame is the viewport: {at}");
        check_names(width, at);
        check_chart(width, at);
        assert!(
            at["scroll_width"].as_f64() <= at["inner_width"].as_f64(),
            "{width} px: no horizontal scroll: {at}"
        );
        assert_eq!(at["overflowing"], Value::Array(vec![]), "{width} px: {at}");
        assert!(
            at["footer"]
                .as_str()
                .is_some_and(|f| f.contains("JSON · generated")),
            "{width} px: {at}"
        );
    }
    edgecase.stop().await;
}

/// Every status row and legend entry has its name.
fn check_names(width: u32, at: &Value) {
    assert_eq!(at["says_unknown"], false, "{width} px: {at}");
    let titles: Vec<(u64, &str)> = at["titles"]
        .as_array()
        .expect("titles")
        .iter()
        .map(|row| {
            (
                row[0].as_u64().expect("a status"),
                row[1].as_str().expect("a title"),
            )
        })
        .collect();
    for (status, name) in [
        (200, "OK"),
        (499, "Client Closed Request"),
        (521, "Web server is down"),
        (522, "Connection timed out"),
        (530, "Origin DNS error (1016)"),
    ] {
        assert!(
            titles
                .iter()
                .any(|&(s, title)| s == status && title.contains(name)),
            "{width} px: {status} is named {name:?}: {titles:?}"
        );
    }
    let legend: Vec<&str> = at["legend"]
        .as_array()
        .expect("legend")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for entry in ["499 Client Closed Request", "530 Origin DNS error (1016)"] {
        assert!(
            legend.iter().any(|l| l.starts_with(entry)),
            "{width} px: {legend:?}"
        );
    }
}

/// The chart scales to its card, reads at this width, and has 4-6 nice y labels.
fn check_chart(width: u32, at: &Value) {
    assert_eq!(at["view_box"], "0 0 720 300", "{width} px: {at}");
    assert!(at["width_attribute"].is_null(), "no fixed width: {at}");
    let chart = at["chart_width"].as_f64().expect("chart width");
    let card = at["card_content_width"].as_f64().expect("card width");
    assert!(
        (chart - card).abs() <= 1.0 && card > 0.0,
        "{width} px: the chart ({chart} px) fills its card ({card} px)"
    );
    let height = at["chart_height"].as_f64().expect("chart height");
    assert!(
        (height - chart * 300.0 / 720.0).abs() <= 1.0,
        "{width} px: the height follows the width: {at}"
    );
    let smallest = at["smallest_text_px"].as_f64().expect("text size");
    assert!(
        smallest >= MIN_FONT_PX,
        "{width} px: chart text is {smallest:.1} px"
    );
    assert_eq!(at["time_labels_collide"], false, "{width} px: {at}");
    assert_eq!(at["time_labels_inside"], true, "{width} px: {at}");
    assert!(
        at["time_labels"].as_u64() >= Some(3),
        "{width} px: at least the first, middle and last times: {at}"
    );

    let labels: Vec<u64> = at["y_labels"]
        .as_array()
        .expect("y labels")
        .iter()
        .map(|l| {
            l.as_str()
                .and_then(|l| l.parse().ok())
                .unwrap_or_else(|| panic!("a count: {l}"))
        })
        .collect();
    assert!(
        (4..=6).contains(&labels.len()),
        "{width} px: y labels {labels:?}"
    );
    let step = labels[1];
    let magnitude = 10u64.pow(step.ilog10());
    assert!(
        [1, 2, 5].contains(&(step / magnitude)) && step.is_multiple_of(magnitude),
        "{width} px: a nice step: {labels:?}"
    );
    let expected: Vec<u64> = (0..labels.len() as u64).map(|i| i * step).collect();
    assert_eq!(labels, expected, "{width} px: evenly spaced from 0");
}
