//! Error Analytics through the real binary: after a known sequence of answers (521 from a
//! refusing origin, 522 from a blackhole, 524 from a silent origin, 200 from a working one),
//! `GET /analytics.json` on the admin listener counts them by status, over time and by URL,
//! origin IP and colo with the ray IDs the visitor saw; bad queries are answered 400; and
//! `GET /analytics`, rendered by headless Chromium, shows the same numbers in its chart and
//! tables.
//!
//! The browser test needs Debian's `chromium` (or `chromium-browser`) on PATH; `.ci/run`
//! installs it. Without it the test says so on stderr and passes.
#[path = "control_api/admin.rs"]
mod admin;
mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::Value;

use admin::{Edgecase, error_of, json_of};
use support::GUARD;
use support::chromium;
use support::origins::Origin;
use support::pki::TempDir;
use support::visitor::{get_with_host, within};

/// The Host every visitor asks for.
const HOST: &str = "site.test";

/// The origins of the known sequence, kept alive for the test.
struct Origins {
    ok: Origin,
    refusing: Origin,
    blackhole: Origin,
    silent: Origin,
}

impl Origins {
    async fn start() -> Origins {
        Origins {
            ok: Origin::ok("fine").await,
            refusing: Origin::refusing().await,
            blackhole: Origin::blackhole().await,
            silent: Origin::silent().await,
        }
    }

    /// `[analytics]` keeping every request, and one route per misbehaving origin (the working
    /// one is `[origin]`).
    fn config_tail(&self) -> String {
        format!(
            "[analytics]\nsample = 1.0\n\
             [[route]]\npath_prefix = \"/down/\"\norigin = \"{}\"\n\
             [[route]]\npath_prefix = \"/blackhole/\"\norigin = \"{}\"\n\
             [[route]]\npath_prefix = \"/silent/\"\norigin = \"{}\"\n",
            self.refusing.addr(),
            self.blackhole.addr(),
            self.silent.addr()
        )
    }

    /// The binary in front of these origins, its files under a directory named for `test`.
    async fn edgecase(&self, test: &str) -> Edgecase {
        Edgecase::start(test, self.ok.addr(), "", &self.config_tail()).await
    }
}

/// The known sequence: path and the status it must get.
const SEQUENCE: [(&str, u16); 10] = [
    ("/down/a?q=1", 521),
    ("/ok/1", 200),
    ("/down/a?q=2", 521),
    ("/blackhole/x", 522),
    ("/down/b", 521),
    ("/ok/2", 200),
    ("/blackhole/x", 522),
    ("/silent/y", 524),
    ("/ok/3", 200),
    ("/ok/4", 200),
];

/// What the visitor saw: path (query stripped), status and `cf-ray` of every answer, in the
/// order sent.
#[derive(Debug, Default)]
struct Seen {
    sent: Vec<(String, u16, String)>,
}

impl Seen {
    /// The rays of `status` on `path`, newest first.
    fn newest_first(&self, path: &str, status: u16) -> Vec<String> {
        self.sent
            .iter()
            .rev()
            .filter(|(p, s, _)| p == path && *s == status)
            .map(|(_, _, ray)| ray.clone())
            .collect()
    }

    /// Every ray of `status`, newest first.
    fn all_newest_first(&self, status: u16) -> Vec<String> {
        self.sent
            .iter()
            .rev()
            .filter(|(_, s, _)| *s == status)
            .map(|(_, _, ray)| ray.clone())
            .collect()
    }
}

/// Sends [`SEQUENCE`] in order, checking each status; returns what the visitor saw.
async fn send_sequence(edgecase: &Edgecase) -> Seen {
    let mut seen = Seen::default();
    for (path, status) in SEQUENCE {
        let res = within(GUARD, get_with_host(edgecase.edge, HOST, path)).await;
        assert_eq!(res.status(), status, "{path}: {}", res.text());
        let ray = res.header("cf-ray").expect("cf-ray on every answer");
        support::assert_ray_format(ray);
        let bare = path.split_once('?').map_or(path, |(bare, _)| bare);
        seen.sent.push((bare.to_owned(), status, ray.to_owned()));
    }
    seen
}

/// `GET path` on the admin listener, answered 200 with JSON.
async fn fetch_json(edgecase: &Edgecase, path: &str) -> Value {
    let res = edgecase.get(path).await;
    assert_eq!(res.status(), 200, "GET {path}: {}", res.text());
    json_of(&res)
}

/// `/analytics.json?range=5m` once every request of the sequence is counted: a request is
/// recorded when its response is over, which may be just after the visitor has read it.
async fn settled_report(edgecase: &Edgecase) -> Value {
    within(GUARD, async {
        loop {
            let report = fetch_json(edgecase, "/analytics.json?range=5m").await;
            if report["requests"].as_u64() == Some(SEQUENCE.len() as u64) {
                return report;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

/// `(value, count)` of each row of a top table.
fn rows(table: &Value) -> Vec<(String, u64)> {
    table
        .as_array()
        .unwrap_or_else(|| panic!("a top table is an array: {table}"))
        .iter()
        .map(|row| {
            (
                row["value"].as_str().expect("a value").to_owned(),
                row["count"].as_u64().expect("a count"),
            )
        })
        .collect()
}

/// The `rays` of a top-table row.
fn rays_of(row: &Value) -> Vec<String> {
    row["rays"]
        .as_array()
        .unwrap_or_else(|| panic!("rays is an array: {row}"))
        .iter()
        .map(|ray| ray.as_str().expect("a ray").to_owned())
        .collect()
}

/// The colo of a ray ID: what follows the dash.
fn colo_of(ray: &str) -> &str {
    ray.split_once('-').map_or("", |(_, colo)| colo)
}

/// Asserts the report's totals: range, sample, buckets, requests and errors, and the
/// statuses table (count descending, with titles and shares).
#[track_caller]
fn assert_totals(report: &Value) {
    assert_eq!(report["range"], "5m", "{report}");
    assert_eq!(report["sample"], 1.0, "{report}");
    assert_eq!(report["bucket_seconds"], 10, "{report}");
    assert_eq!(report["requests"], 10, "{report}");
    assert_eq!(report["errors"], 6, "{report}");
    assert!(report["selected"].is_null(), "{report}");
    let statuses: Vec<(u64, u64)> = report["statuses"]
        .as_array()
        .expect("statuses is an array")
        .iter()
        .map(|row| {
            (
                row["status"].as_u64().expect("a status"),
                row["count"].as_u64().expect("a count"),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [(200, 4), (521, 3), (522, 2), (524, 1)],
        "{report}"
    );
    assert_eq!(report["statuses"][1]["title"], "Web server is down");
    assert_eq!(report["statuses"][0]["share"], 0.4);
}

/// Asserts the report's series: thirty 10 s buckets adding up to every request, and to the
/// errors by status.
#[track_caller]
fn assert_series(report: &Value) {
    let series = report["series"].as_array().expect("series is an array");
    assert_eq!(series.len(), 30, "five minutes of 10 s buckets");
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut requests = 0;
    for point in series {
        requests += point["requests"].as_u64().expect("requests");
        for (status, count) in point["by_status"].as_object().expect("by_status") {
            *by_status.entry(status.clone()).or_default() += count.as_u64().expect("a count");
        }
    }
    assert_eq!(requests, 10);
    let expected: BTreeMap<String, u64> = [("521", 3), ("522", 2), ("524", 1)]
        .into_iter()
        .map(|(status, count)| (status.to_owned(), count))
        .collect();
    assert_eq!(by_status, expected, "the series counts errors by status");
}

/// Asserts the 521's detail: its URLs grouped without their query, its origin IP and colo,
/// each with the rays the visitor saw, newest first.
#[track_caller]
fn assert_521_detail(detail: &Value, seen: &Seen) {
    assert_eq!(detail["status"], 521, "{detail}");
    assert_eq!(detail["count"], 3, "{detail}");
    assert_eq!(
        rows(&detail["urls"]),
        [
            ("site.test/down/a".to_owned(), 2),
            ("site.test/down/b".to_owned(), 1)
        ],
        "URLs are grouped without their query: {detail}"
    );
    assert_eq!(
        rays_of(&detail["urls"][0]),
        seen.newest_first("/down/a", 521)
    );
    assert_eq!(
        rays_of(&detail["urls"][1]),
        seen.newest_first("/down/b", 521)
    );
    assert_eq!(
        rows(&detail["origin_ips"]),
        [("127.0.0.1".to_owned(), 3)],
        "{detail}"
    );
    let all_521 = seen.all_newest_first(521);
    assert_eq!(rays_of(&detail["origin_ips"][0]), all_521);
    let colo = colo_of(&all_521[0]).to_owned();
    assert_eq!(rows(&detail["colos"]), [(colo, 3)], "{detail}");
    assert_eq!(rays_of(&detail["colos"][0]), all_521);
}

#[tokio::test]
async fn analytics_json_counts_a_known_sequence() {
    let origins = Origins::start().await;
    let edgecase = origins.edgecase("analytics_json").await;
    let seen = send_sequence(&edgecase).await;

    let report = settled_report(&edgecase).await;
    assert_totals(&report);
    assert_series(&report);

    let detail = report_for(&edgecase, 521).await;
    assert_521_detail(&detail, &seen);

    let detail = report_for(&edgecase, 522).await;
    assert_eq!(detail["count"], 2, "{detail}");
    assert_eq!(
        rows(&detail["urls"]),
        [("site.test/blackhole/x".to_owned(), 2)]
    );
    assert_eq!(
        rays_of(&detail["urls"][0]),
        seen.newest_first("/blackhole/x", 522)
    );
    let detail = report_for(&edgecase, 524).await;
    assert_eq!(
        rows(&detail["urls"]),
        [("site.test/silent/y".to_owned(), 1)]
    );

    // A 200 is counted but has no top tables; the 24h range sees the same requests.
    let ok = report_for(&edgecase, 200).await;
    assert_eq!(ok["count"], 4, "{ok}");
    assert_eq!(rows(&ok["urls"]), []);
    let day = fetch_json(&edgecase, "/analytics.json?range=24h").await;
    assert_eq!(day["requests"], 10, "{day}");
    assert_eq!(day["bucket_seconds"], 900, "{day}");

    for (bad, key) in [
        ("/analytics.json?range=7d", "range"),
        ("/analytics.json?status=abc", "status"),
        ("/analytics?colo=CDG", "colo"),
    ] {
        let message = error_of(&edgecase.get(bad).await, 400);
        assert!(message.contains(key), "GET {bad}: {message}");
    }
    edgecase.stop().await;
}

/// `selected` of `/analytics.json?range=5m&status=<status>`.
async fn report_for(edgecase: &Edgecase, status: u16) -> Value {
    let path = format!("/analytics.json?range=5m&status={status}");
    let report = fetch_json(edgecase, &path).await;
    assert_eq!(report["requests"], 10, "{report}");
    report["selected"].clone()
}

// ---------------------------------------------------------------------------------------------
// The page in a browser
// ---------------------------------------------------------------------------------------------

/// The markup of the element `<name id="id" ...>`, up to its closing tag (elements of the same
/// name are not nested in the page).
fn element<'d>(dom: &'d str, name: &str, id: &str) -> &'d str {
    let open = format!("<{name} ");
    let start = dom
        .match_indices(&open)
        .map(|(at, _)| at)
        .find(|&at| {
            dom[at..]
                .find('>')
                .is_some_and(|end| attr(&dom[at..=at + end], "id") == Some(id))
        })
        .unwrap_or_else(|| panic!("no <{name} id=\"{id}\"> in the DOM:\n{dom}"));
    let close = format!("</{name}>");
    let len = dom[start..]
        .find(&close)
        .unwrap_or_else(|| panic!("<{name} id=\"{id}\"> does not close"));
    &dom[start..start + len + close.len()]
}

/// The opening tags `<name ...>` in `markup`.
fn tags<'m>(markup: &'m str, name: &str) -> Vec<&'m str> {
    let open = format!("<{name} ");
    markup
        .match_indices(&open)
        .filter_map(|(at, _)| markup[at..].find('>').map(|end| &markup[at..=at + end]))
        .collect()
}

/// The value of `name` in an opening tag (as the browser serializes it: double quotes).
fn attr<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// Sums `data-count` per `data-status` over `tags`.
fn counts_by_status(tags: &[&str]) -> BTreeMap<u16, u64> {
    let mut sums = BTreeMap::new();
    for tag in tags {
        let status = attr(tag, "data-status").and_then(|s| s.parse().ok());
        let count = attr(tag, "data-count").and_then(|c| c.parse::<u64>().ok());
        let (Some(status), Some(count)) = (status, count) else {
            panic!("data-status and data-count on {tag}");
        };
        *sums.entry(status).or_default() += count;
    }
    sums
}

/// The DOM of `/analytics?range=5m&status=521` as headless Chromium rendered it.
async fn rendered_page(browser: PathBuf, edgecase: &Edgecase) -> String {
    let admin: SocketAddr = edgecase.admin;
    let url = format!("http://{admin}/analytics?range=5m&status=521");
    let dir = TempDir::new("analytics_chromium");
    tokio::task::spawn_blocking(move || chromium::dump_dom(&browser, &url, &[], &dir))
        .await
        .expect("the browser thread did not panic")
}

/// Asserts the page's head: its title, the sample rate, and the current range marked.
#[track_caller]
fn assert_page_head(dom: &str) {
    assert!(
        dom.contains("<title>Error Analytics · edgecase</title>"),
        "{dom}"
    );
    assert!(
        dom.contains("Sampled at 100% of requests"),
        "the sample rate is shown"
    );
    let five = tags(dom, "a")
        .into_iter()
        .find(|tag| attr(tag, "aria-current") == Some("page"))
        .expect("the current range is marked");
    assert_eq!(attr(five, "href"), Some("?range=5m&amp;status=521"));
}

/// Asserts the chart: an image whose stacked bars add up to the errors sent.
#[track_caller]
fn assert_chart(dom: &str) {
    let chart = element(dom, "svg", "errors-over-time");
    assert_eq!(attr(chart, "role"), Some("img"));
    let bars = counts_by_status(&tags(chart, "rect"));
    assert_eq!(
        bars,
        BTreeMap::from([(521, 3), (522, 2), (524, 1)]),
        "the stacked bars add up to the errors sent: {chart}"
    );
}

/// Asserts the statuses table: every status counted, count descending, with titles.
#[track_caller]
fn assert_status_table(dom: &str) {
    let by_status = element(dom, "table", "by-status");
    let rows: Vec<&str> = tags(by_status, "tr")
        .into_iter()
        .filter(|tag| attr(tag, "data-status").is_some())
        .collect();
    assert_eq!(
        counts_by_status(&rows),
        BTreeMap::from([(200, 4), (521, 3), (522, 2), (524, 1)]),
        "{by_status}"
    );
    let order: Vec<&str> = rows
        .iter()
        .filter_map(|tag| attr(tag, "data-status"))
        .collect();
    assert_eq!(order, ["200", "521", "522", "524"], "count descending");
    assert!(
        by_status.contains("Web server is down"),
        "titles: {by_status}"
    );
}

/// Asserts the selected 521's top URLs (with the rays the visitor saw), origin IPs and
/// colos.
#[track_caller]
fn assert_selected_521(dom: &str, seen: &Seen) {
    let selected = element(dom, "section", "selected");
    assert_eq!(attr(selected, "data-status"), Some("521"));
    let urls = element(selected, "table", "top-urls");
    let url_rows: Vec<&str> = urls
        .split("<tr ")
        .skip(1)
        .filter(|row| row.starts_with("data-count="))
        .collect();
    assert_eq!(url_rows.len(), 2, "{urls}");
    assert!(
        url_rows[0].starts_with("data-count=\"2\"") && url_rows[0].contains("site.test/down/a<"),
        "{urls}"
    );
    for ray in seen.newest_first("/down/a", 521) {
        assert!(
            url_rows[0].contains(&format!("<code>{ray}</code>")),
            "{ray}: {urls}"
        );
    }
    assert!(
        url_rows[1].starts_with("data-count=\"1\"") && url_rows[1].contains("site.test/down/b<"),
        "{urls}"
    );
    let ips = element(selected, "table", "top-origin-ips");
    assert!(
        ips.contains("data-count=\"3\"") && ips.contains("127.0.0.1"),
        "{ips}"
    );
    let colos = element(selected, "table", "top-colos");
    let colo = colo_of(&seen.all_newest_first(521)[0]).to_owned();
    assert!(
        colos.contains("data-count=\"3\"") && colos.contains(&colo),
        "{colos}"
    );
}

#[tokio::test]
async fn analytics_page_renders_in_chromium() {
    let Some(browser) = chromium::find() else {
        chromium::skip_notice();
        return;
    };
    let origins = Origins::start().await;
    let edgecase = origins.edgecase("analytics_page").await;
    let seen = send_sequence(&edgecase).await;
    settled_report(&edgecase).await;

    let dom = rendered_page(browser, &edgecase).await;
    assert_page_head(&dom);
    assert_chart(&dom);
    assert_status_table(&dom);
    assert_selected_521(&dom, &seen);

    edgecase.stop().await;
}
