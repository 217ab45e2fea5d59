//! Unit tests of the analytics module as a whole: sampling, buckets and ranges, top tables,
//! boundedness, query strings, the JSON report and the page.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::sample::mix;
use super::*;

/// 2026-11-24T10:00:00Z: a whole hour, so every bucket and slot starts there.
const T0: u64 = 1_795_514_400;

fn at(secs_after_t0: i64) -> SystemTime {
    let secs = T0.checked_add_signed(secs_after_t0).expect("a test time");
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn obs<'a>(when: SystemTime, status: u16, path: &'a str, ray: &'a str) -> Observation<'a> {
    Observation {
        at: when,
        status,
        origin_status: None,
        host: "site.test",
        path,
        origin_ip: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
        colo: "CDG",
        ray,
        key: 0,
        cause: None,
    }
}

fn query(text: &str) -> Query {
    Query::from_query_string(text).expect("a valid query")
}

fn counts(report: &Report) -> Vec<(u16, u64)> {
    report
        .statuses
        .iter()
        .map(|r| (r.status, r.count))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Sampling
// ---------------------------------------------------------------------------------------------

#[test]
fn sampling_is_deterministic_and_keeps_about_the_rate() {
    let first = Analytics::new(0.25);
    let second = Analytics::new(0.25);
    let mut kept = 0;
    for key in 0..10_000u64 {
        let o = Observation {
            key,
            ..obs(at(0), 200, "/", "r")
        };
        let decision = first.record(&o);
        assert_eq!(decision, second.record(&o), "key {key}");
        assert_eq!(
            decision,
            first.sampler.keeps(key),
            "same answer twice, key {key}"
        );
        kept += u64::from(decision);
    }
    assert!((2_000..=3_000).contains(&kept), "kept {kept} of 10000");
    let report = first.report(&Query::default(), at(1));
    assert_eq!(report.requests, kept);
    assert_eq!(report.sample, 0.25);
}

#[test]
fn full_sample_keeps_every_key_and_bad_rates_are_clamped() {
    let all = Analytics::new(1.0);
    assert!((0..1_000u64).all(|key| all.sampler.keeps(key.wrapping_mul(0x9e37))));
    assert!(all.sampler.keeps(u64::MAX));
    assert_eq!(Analytics::new(3.0).sample(), 1.0);
    assert_eq!(Analytics::new(f64::NAN).sample(), 1.0);
    let none = Analytics::new(0.0);
    assert!(none.sample() > 0.0);
    assert_eq!((0..10_000u64).filter(|&k| none.sampler.keeps(k)).count(), 0);
    // Small keys are all far below 0.25 × 2^64: only the mix makes a quarter of them kept.
    assert!(mix(0) != 0 && mix(1) != 1);
}

// ---------------------------------------------------------------------------------------------
// Buckets and ranges
// ---------------------------------------------------------------------------------------------

#[test]
fn five_minute_report_has_thirty_ten_second_buckets_ending_at_now() {
    let analytics = Analytics::new(1.0);
    assert!(analytics.record(&obs(at(5), 522, "/a", "r1")));
    assert!(analytics.record(&obs(at(12), 524, "/a", "r2")));
    assert!(analytics.record(&obs(at(13), 200, "/a", "r3")));
    assert!(analytics.record(&obs(at(-200), 522, "/a", "r4")));
    // Two hours before: outside 5m and 1h, inside 24h.
    assert!(analytics.record(&obs(at(-7_200), 521, "/a", "r5")));

    let report = analytics.report(&query("range=5m"), at(25));
    assert_eq!(report.range, Range::FiveMinutes);
    assert_eq!(report.bucket_seconds, 10);
    assert_eq!(report.series.len(), 30);
    assert_eq!(report.generated_at, "2026-11-24T10:00:25Z");
    assert_eq!(report.from, "2026-11-24T09:55:30Z");
    assert_eq!(report.to, "2026-11-24T10:00:30Z");
    assert_eq!(report.series[0].start, "2026-11-24T09:55:30Z");
    assert_eq!(report.series[29].start, "2026-11-24T10:00:20Z");
    assert_eq!((report.requests, report.errors), (4, 3));

    let t0 = &report.series[27];
    assert_eq!(t0.start, "2026-11-24T10:00:00Z");
    assert_eq!((t0.requests, t0.errors), (1, 1));
    assert_eq!(t0.by_status, BTreeMap::from([(522, 1)]));
    let t10 = &report.series[28];
    assert_eq!((t10.requests, t10.errors), (2, 1));
    assert_eq!(t10.by_status, BTreeMap::from([(524, 1)]), "errors only");
    // 200 s before T0 is bucket 09:56:40, the 8th of the range.
    assert_eq!(report.series[7].start, "2026-11-24T09:56:40Z");
    assert_eq!(report.series[7].requests, 1);
    let busy: u64 = report.series.iter().map(|p| p.requests).sum();
    assert_eq!(busy, 4, "every other bucket is empty");

    assert_eq!(counts(&report), [(522, 2), (200, 1), (524, 1)]);
    assert_eq!(report.statuses[0].title, "Connection timed out");
    assert_eq!(report.statuses[0].share, 0.5);
    assert_eq!(report.statuses[1].share, 0.25);
    assert_eq!(report.selected, None);
}

#[test]
fn old_records_leave_the_short_ranges_but_stay_in_the_day() {
    let analytics = Analytics::new(1.0);
    analytics.record(&obs(at(5), 522, "/a", "r1"));
    analytics.record(&obs(at(-400), 520, "/a", "r2"));
    analytics.record(&obs(at(-7_200), 521, "/a", "r3"));
    let now = at(10);

    let five = analytics.report(&query("range=5m"), now);
    assert_eq!(counts(&five), [(522, 1)]);
    let hour = analytics.report(&query("range=1h"), now);
    assert_eq!(hour.bucket_seconds, 60);
    assert_eq!(hour.series.len(), 60);
    assert_eq!(hour.from, "2026-11-24T09:01:00Z");
    assert_eq!(counts(&hour), [(520, 1), (522, 1)]);
    let day = analytics.report(&query("range=24h"), now);
    assert_eq!(day.bucket_seconds, 900);
    assert_eq!(day.series.len(), 96);
    assert_eq!(day.from, "2026-11-23T10:15:00Z");
    assert_eq!(day.to, "2026-11-24T10:15:00Z");
    assert_eq!(counts(&day), [(520, 1), (521, 1), (522, 1)]);
    assert_eq!(day.series[95].start, "2026-11-24T10:00:00Z");
    assert_eq!(day.series[95].requests, 1, "T0 is in 10:00");
    assert_eq!(day.series[94].requests, 1, "T0-400s is in 09:45");
    assert_eq!(day.series[87].requests, 1, "T0-2h is in 08:00");

    // A day later, everything has left every range.
    let later = analytics.report(&query("range=24h"), at(86_400 + 10));
    assert_eq!(later.requests, 0);
    assert!(later.statuses.is_empty());
}

#[test]
fn a_ring_drops_what_is_older_than_the_period_it_holds() {
    let analytics = Analytics::new(1.0);
    assert!(analytics.record(&obs(at(0), 522, "/a", "r1")));
    // 300 s earlier lands in the same 5m cell, which holds newer data: dropped there, but the
    // 1h and 24h tiers still count it.
    assert!(analytics.record(&obs(at(-300), 524, "/a", "r2")));
    let five = analytics.report(&query("range=5m"), at(1));
    assert_eq!(counts(&five), [(522, 1)]);
    let hour = analytics.report(&query("range=1h"), at(1));
    assert_eq!(counts(&hour), [(522, 1), (524, 1)]);
    // Two days later, every ring has moved on where a two-day-old record would go.
    for step in 0..(2 * 96) {
        analytics.record(&obs(at(86_400 * 2 + step * 900), 200, "/", "r"));
    }
    assert!(!analytics.record(&obs(at(0), 522, "/a", "r3")));
}

#[test]
fn statuses_outside_100_to_599_and_times_before_1970_are_not_counted() {
    let analytics = Analytics::new(1.0);
    assert!(!analytics.record(&obs(at(0), 99, "/", "r")));
    assert!(!analytics.record(&obs(at(0), 600, "/", "r")));
    let before = UNIX_EPOCH - Duration::from_secs(1);
    assert!(!analytics.record(&obs(before, 522, "/", "r")));
    assert_eq!(analytics.stored_entries(), 0);
}

// ---------------------------------------------------------------------------------------------
// Top tables
// ---------------------------------------------------------------------------------------------

#[test]
fn selected_status_lists_top_urls_ips_and_colos_with_the_newest_rays() {
    let analytics = Analytics::new(1.0);
    let other_ip = Some(Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9))));
    // /a four times over two 30 s slots, the query stripped; /b twice; one without origin IP.
    let rows = [
        (1, "/a?x=1", "ray-1-CDG", None),
        (2, "/b", "ray-2-CDG", None),
        (3, "/a", "ray-3-CDG", other_ip),
        (31, "/a?y=2", "ray-4-CDG", None),
        (32, "/b", "ray-5-CDG", other_ip),
        (33, "/a", "ray-6-CDG", Some(None)),
    ];
    for (secs, path, ray, ip) in rows {
        let mut o = obs(at(secs), 522, path, ray);
        if let Some(ip) = ip {
            o.origin_ip = ip;
        }
        if ray == "ray-5-CDG" {
            o.colo = "SJC";
        }
        assert!(analytics.record(&o));
    }
    analytics.record(&obs(at(4), 524, "/c", "ray-7-CDG"));

    let report = analytics.report(&query("range=5m&status=522"), at(40));
    let selected = report.selected.expect("a status was asked for");
    assert_eq!((selected.status, selected.count), (522, 6));
    let summary = |rows: &[TopEntry]| -> Vec<(String, u64)> {
        rows.iter().map(|r| (r.value.clone(), r.count)).collect()
    };
    assert_eq!(
        summary(&selected.urls),
        [("site.test/a".to_owned(), 4), ("site.test/b".to_owned(), 2)]
    );
    assert_eq!(
        selected.urls[0].rays,
        ["ray-6-CDG", "ray-4-CDG", "ray-3-CDG"]
    );
    assert_eq!(selected.urls[1].rays, ["ray-5-CDG", "ray-2-CDG"]);
    assert_eq!(
        summary(&selected.origin_ips),
        [
            ("192.0.2.1".to_owned(), 3),
            ("198.51.100.9".to_owned(), 2),
            ("none".to_owned(), 1)
        ]
    );
    assert_eq!(selected.origin_ips[2].rays, ["ray-6-CDG"]);
    assert_eq!(
        summary(&selected.colos),
        [("CDG".to_owned(), 5), ("SJC".to_owned(), 1)]
    );

    // Only 524's own request in its tables.
    let other = analytics.report(&query("range=5m&status=524"), at(40));
    let other = other.selected.expect("a status was asked for");
    assert_eq!(summary(&other.urls), [("site.test/c".to_owned(), 1)]);
    // A status never seen: present, empty.
    let none = analytics.report(&query("range=5m&status=503"), at(40));
    let none = none.selected.expect("a status was asked for");
    assert_eq!(none.count, 0);
    assert!(none.urls.is_empty() && none.origin_ips.is_empty() && none.colos.is_empty());
}

#[test]
fn top_tables_show_ten_rows_count_descending_then_value_ascending() {
    let analytics = Analytics::new(1.0);
    for i in 0..15u64 {
        let path = format!("/p{i:02}");
        // /p00 once, /p01 twice... except /p13 and /p14 tie with /p12 at 13.
        let times = (i + 1).min(13);
        for n in 0..times {
            let ray = format!("{i}-{n}");
            analytics.record(&obs(at(1), 502, &path, &ray));
        }
    }
    let report = analytics.report(&query("range=1h&status=502"), at(2));
    let urls = report.selected.expect("selected").urls;
    let values: Vec<&str> = urls.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(
        values,
        [
            "site.test/p12",
            "site.test/p13",
            "site.test/p14",
            "site.test/p11",
            "site.test/p10",
            "site.test/p09",
            "site.test/p08",
            "site.test/p07",
            "site.test/p06",
            "site.test/p05",
        ]
    );
    assert_eq!(urls[0].count, 13);
    assert_eq!(urls[9].count, 6);
    assert_eq!(urls[3].rays, ["11-11", "11-10", "11-9"]);
}

#[test]
fn only_32_statuses_per_slot_get_top_tables_but_all_are_counted() {
    let analytics = Analytics::new(1.0);
    for status in 400..440u16 {
        analytics.record(&obs(at(1), status, "/x", "r"));
    }
    let report = analytics.report(&query("range=5m&status=431"), at(2));
    assert_eq!(report.errors, 40);
    assert_eq!(report.statuses.len(), 40);
    let last_with_tables = report.selected.expect("selected");
    assert_eq!(last_with_tables.urls.len(), 1);
    let report = analytics.report(&query("range=5m&status=432"), at(2));
    let without = report.selected.expect("selected");
    assert_eq!(without.count, 1);
    assert!(without.urls.is_empty());
}

#[test]
fn long_urls_are_cut_to_256_bytes_on_a_character_boundary() {
    let analytics = Analytics::new(1.0);
    let path = format!("/{}", "é".repeat(200));
    analytics.record(&obs(at(1), 520, &path, "r"));
    let report = analytics.report(&query("range=5m&status=520"), at(2));
    let url = &report.selected.expect("selected").urls[0].value;
    // "site.test/" is 10 bytes, then 123 two-byte characters fit in 256.
    assert_eq!(url.len(), 256);
    assert!(url.ends_with('é'));
}

// ---------------------------------------------------------------------------------------------
// Boundedness
// ---------------------------------------------------------------------------------------------

/// The bound from the sizes: (30 + 60 + 96) buckets × 500 statuses, plus (10 + 12 + 24) slots
/// × 32 statuses × 3 tables × 20 entries.
const BOUND: usize = (30 + 60 + 96) * 500 + (10 + 12 + 24) * 32 * 3 * 20;

fn distinct(i: u32, when: SystemTime, path: &str) -> Observation<'_> {
    Observation {
        at: when,
        status: 400 + (i % 200) as u16,
        origin_status: None,
        host: "site.test",
        path,
        origin_ip: Some(IpAddr::V4(Ipv4Addr::from(i))),
        colo: "CDG",
        ray: "0123456789abcdef-CDG",
        key: u64::from(i),
        cause: None,
    }
}

#[test]
fn two_hundred_thousand_distinct_requests_over_two_days_stay_under_the_bound() {
    assert_eq!(MAX_STORED_ENTRIES, BOUND);
    assert_eq!(BOUND, 181_320);
    let analytics = Analytics::new(1.0);
    let mut peak = 0;
    for i in 0..200_000u32 {
        let path = format!("/distinct/{i}");
        // One second apart: 55 hours, so every ring wraps around more than twice.
        analytics.record(&distinct(i, at(i64::from(i)), &path));
        if i % 1_000 == 999 {
            peak = peak.max(analytics.stored_entries());
        }
    }
    assert!(peak <= BOUND, "{peak} entries held, bound {BOUND}");
    // Per second a new status: each 15-min bucket of the day holds all 200, each 10 s bucket 10.
    assert!(
        peak > 96 * 200,
        "the day tier alone holds its buckets: {peak}"
    );
    // The day ending in the bucket of T0+200000 s starts at T0 + (222 - 95) × 900 s.
    let report = analytics.report(&query("range=24h"), at(200_000));
    assert_eq!(report.requests, 200_000 - 127 * 900);
}

#[test]
fn two_hundred_thousand_distinct_requests_at_once_fill_each_table_to_twenty() {
    let analytics = Analytics::new(1.0);
    for i in 0..200_000u32 {
        let path = format!("/distinct/{i}");
        analytics.record(&distinct(i, at(1), &path));
    }
    // Per tier: one bucket counting 200 statuses; one slot with tables for the first 32
    // statuses, each 20 URLs, 20 origin IPs and 1 colo.
    assert_eq!(analytics.stored_entries(), 3 * (200 + 32 * (20 + 20 + 1)));
    let report = analytics.report(&query("range=5m&status=400"), at(2));
    assert_eq!(report.requests, 200_000);
    let selected = report.selected.expect("selected");
    assert_eq!(selected.count, 1_000);
    assert_eq!(selected.urls.len(), 10);
    // Space-saving never undercounts the total: the tracked counts add up to what came in.
    let colos: u64 = selected.colos.iter().map(|r| r.count).sum();
    assert_eq!(colos, 1_000);
}

// ---------------------------------------------------------------------------------------------
// Query strings
// ---------------------------------------------------------------------------------------------

#[test]
fn query_strings_parse_with_either_key_optional() {
    assert_eq!(query(""), Query::default());
    assert_eq!(query("").range, Range::Hour);
    assert_eq!(
        query("range=5m&status=522"),
        Query {
            range: Range::FiveMinutes,
            status: Some(522)
        }
    );
    assert_eq!(query("status=404&range=24h").range, Range::Day);
    assert_eq!(query("status=404").range, Range::Hour);
    assert_eq!(query("range=5m&status=").status, None);
    assert_eq!(query("&range=1h&").range, Range::Hour);
    for range in Range::ALL {
        assert_eq!(range.as_str().parse::<Range>(), Ok(range));
        assert_eq!(range.to_string(), range.as_str());
    }
    assert_eq!(
        query("status=522&range=5m").to_query_string(),
        "range=5m&status=522"
    );
}

#[test]
fn bad_query_strings_name_the_key_and_the_accepted_values() {
    let error = |text: &str| Query::from_query_string(text).expect_err(text);
    let range = error("range=7d");
    assert!(range.starts_with("range:"), "{range}");
    assert!(
        range.contains("\"7d\"") && range.contains("5m, 1h, 24h"),
        "{range}"
    );
    for bad in [
        "status=abc",
        "status=600",
        "status=99",
        "status=-1",
        "status=5222",
    ] {
        let message = error(bad);
        assert!(message.starts_with("status:"), "{message}");
        assert!(message.contains("100-599"), "{message}");
    }
    let unknown = error("range=5m&colo=CDG");
    assert!(unknown.contains("\"colo\""), "{unknown}");
    assert!(
        unknown.contains("range") && unknown.contains("status"),
        "{unknown}"
    );
    let long = error(&format!("status={}", "9".repeat(500)));
    assert!(long.len() < 120, "the value is cut: {long}");
    assert!("5M".parse::<Range>().is_err());
}

// ---------------------------------------------------------------------------------------------
// The JSON report
// ---------------------------------------------------------------------------------------------

#[test]
fn report_serializes_in_snake_case_with_string_status_keys() {
    let analytics = Analytics::new(1.0);
    analytics.record(&obs(at(1), 522, "/a", "ray-1-CDG"));
    analytics.record(&obs(at(2), 200, "/a", "ray-2-CDG"));
    let value = serde_json::to_value(analytics.report(&query("range=5m"), at(3)))
        .expect("a report serializes");
    assert_eq!(value["range"], "5m");
    assert_eq!(value["sample"], 1.0);
    assert_eq!(value["bucket_seconds"], 10);
    assert_eq!(value["requests"], 2);
    assert_eq!(value["errors"], 1);
    assert_eq!(value["generated_at"], "2026-11-24T10:00:03Z");
    assert_eq!(value["series"][29]["start"], "2026-11-24T10:00:00Z");
    assert_eq!(value["series"][29]["by_status"]["522"], 1);
    assert_eq!(value["statuses"][0]["status"], 200);
    assert_eq!(value["statuses"][1]["title"], "Connection timed out");
    assert_eq!(value["statuses"][1]["share"], 0.5);
    assert!(value["selected"].is_null());

    let value = serde_json::to_value(analytics.report(&query("range=5m&status=522"), at(3)))
        .expect("a report serializes");
    assert_eq!(value["selected"]["status"], 522);
    assert_eq!(value["selected"]["urls"][0]["value"], "site.test/a");
    assert_eq!(value["selected"]["urls"][0]["rays"][0], "ray-1-CDG");
    assert_eq!(value["selected"]["origin_ips"][0]["value"], "192.0.2.1");
    assert_eq!(value["selected"]["colos"][0]["count"], 1);
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

/// The opening tags of every `<name ` element in `html` (the scenario page's tests use it too).
pub(crate) fn tags<'h>(html: &'h str, name: &str) -> Vec<&'h str> {
    let open = format!("<{name} ");
    html.match_indices(&open)
        .map(|(at, _)| {
            let end = html[at..].find('>').expect("the tag closes");
            &html[at..=at + end]
        })
        .collect()
}

/// The value of `attribute` in an opening tag.
pub(crate) fn attr<'t>(tag: &'t str, attribute: &str) -> Option<&'t str> {
    let key = format!(" {attribute}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

#[test]
fn page_escapes_visitor_controlled_text() {
    let analytics = Analytics::new(1.0);
    let mut o = obs(
        at(1),
        522,
        "/<script>alert(1)</script>?q=\"x\"",
        "ray-\"'<>-CDG",
    );
    o.host = "a&b.test";
    analytics.record(&o);
    let page = render_page(&analytics.report(&query("range=5m&status=522"), at(2)));
    assert!(!page.contains("<script"), "no script element: {page}");
    assert!(page.contains("a&amp;b.test/&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
    assert!(page.contains("<code>ray-&quot;&#39;&lt;&gt;-CDG</code>"));
    assert_eq!(
        escape_text("a<b>&\"c'"),
        "a&lt;b&gt;&amp;&quot;c&#39;",
        "every special character"
    );
}

fn escape_text(text: &str) -> String {
    crate::base::html::escape(text).to_string()
}

#[test]
fn svg_has_one_rect_per_bucket_and_error_status_with_its_count() {
    let analytics = Analytics::new(1.0);
    // Bucket 10:00:00: 522 ×2, 524 ×1, 200 ×3. Bucket 10:00:10: 522 ×1. Bucket 09:59:00: 404 ×1.
    for (secs, status) in [
        (1, 522),
        (2, 522),
        (3, 524),
        (4, 200),
        (5, 200),
        (6, 200),
        (11, 522),
        (-60, 404),
    ] {
        analytics.record(&obs(at(secs), status, "/", "r"));
    }
    let report = analytics.report(&query("range=5m"), at(15));
    let page = render_page(&report);
    let start = page
        .find("<svg id=\"errors-over-time\" role=\"img\"")
        .expect("the chart");
    let end = start + page[start..].find("</svg>").expect("the chart closes");
    let svg = &page[start..end];
    let rects = tags(svg, "rect");
    assert_eq!(rects.len(), 4, "{svg}");
    let mut seen: Vec<(&str, &str)> = rects
        .iter()
        .map(|tag| {
            (
                attr(tag, "data-status").expect("data-status"),
                attr(tag, "data-count").expect("data-count"),
            )
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        [("404", "1"), ("522", "1"), ("522", "2"), ("524", "1")]
    );
    assert!(svg.contains("<title>522: 2 at 10:00:00Z</title>"), "{svg}");
    assert!(svg.contains("<title>404: 1 at 09:59:00Z</title>"), "{svg}");
    // The tallest stack (3 errors) is the top of an axis labelled 0, 1, 2, 3.
    let labels: Vec<&str> = tags(svg, "text")
        .into_iter()
        .filter(|tag| tag.contains("y-tick"))
        .filter_map(|tag| attr(tag, "data-value"))
        .collect();
    assert_eq!(labels, ["0", "1", "2", "3"], "{svg}");
    // The drawing scales to its card: a viewBox and no size of its own.
    let open = tags(svg, "svg")[0];
    assert_eq!(attr(open, "viewBox"), Some("0 0 720 300"), "{open}");
    assert!(attr(open, "width").is_none() && attr(open, "height").is_none());
    // Time ticks (the last one says the zone) and the legend.
    assert!(
        svg.contains(">09:55:20</text>") && svg.contains(">10:00:10 UTC</text>"),
        "{svg}"
    );
    assert!(page.contains("<li data-status=\"524\">"));
    assert!(!page.contains("<li data-status=\"200\">"));
}

#[test]
fn page_has_the_range_selector_status_table_and_sample_line() {
    let analytics = Analytics::new(1.0);
    analytics.record(&obs(at(1), 522, "/a", "ray-1-CDG"));
    analytics.record(&obs(at(2), 522, "/a", "ray-2-CDG"));
    analytics.record(&obs(at(3), 200, "/a", "ray-3-CDG"));
    let page = render_page(&analytics.report(&query("range=5m&status=522"), at(4)));
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<title>Error Analytics · edgecase</title>"));
    assert!(page.contains("<a href=\"?range=5m&amp;status=522\" aria-current=\"page\">"));
    assert!(page.contains("<a href=\"?range=1h&amp;status=522\">"));
    assert!(page.contains("<a href=\"?range=24h&amp;status=522\">"));
    assert_eq!(page.matches("aria-current=\"page\"").count(), 1);
    assert!(page.contains("Sampled at 100% of requests"));
    assert!(page.contains("samples about 1%"));
    assert!(
        page.contains(
            "<tr data-status=\"522\" data-count=\"2\" class=\"selected\"><td>\
             <a href=\"?range=5m&amp;status=522\">522</a></td><td>Connection timed out</td>\
             <td class=\"count\">2</td><td class=\"share\">66.7%</td></tr>"
        ),
        "{page}"
    );
    assert!(page.contains("<tr data-status=\"200\" data-count=\"1\"><td>"));
    assert!(page.contains("<section id=\"selected\" data-status=\"522\">"));
    for id in ["top-urls", "top-origin-ips", "top-colos"] {
        assert!(page.contains(&format!("<table id=\"{id}\">")), "{id}");
    }
    assert!(page.contains(
        "<tr data-count=\"2\"><td class=\"value\">site.test/a</td><td class=\"count\">2</td>\
         <td class=\"rays\"><code>ray-2-CDG</code><code>ray-1-CDG</code></td></tr>"
    ));
    // Self-contained: nothing loaded from elsewhere, no script.
    for outside in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!page.contains(outside), "{outside}");
    }

    let sampled = render_page(&Analytics::new(0.01).report(&Query::default(), at(4)));
    assert!(sampled.contains("Sampled at 1% of requests"));
    assert!(!sampled.contains("id=\"selected\""));
    assert!(sampled.contains("<a href=\"?range=1h\" aria-current=\"page\">"));
    assert!(sampled.contains("No errors in this range"));
    let half = render_page(&Analytics::new(0.005).report(&Query::default(), at(4)));
    assert!(half.contains("Sampled at 0.5% of requests"));
}

#[test]
fn every_status_edgecase_answers_has_a_name() {
    for (status, name) in [
        (400, "Bad Request"),
        (403, "Forbidden"),
        (405, "Method Not Allowed"),
        (413, "Payload Too Large"),
        (414, "URI Too Long"),
        (431, "Request Header Fields Too Large"),
        (499, "Client Closed Request"),
        (500, "Internal server error"),
        (501, "Not Implemented"),
        (502, "Bad gateway"),
        (503, "Service temporarily unavailable"),
        (504, "Gateway time-out"),
        (520, "Web server is returning an unknown error"),
        (521, "Web server is down"),
        (522, "Connection timed out"),
        (523, "Origin is unreachable"),
        (524, "A timeout occurred"),
        (525, "SSL handshake failed"),
        (526, "Invalid SSL certificate"),
        (527, "Railgun Listener to origin error"),
        (530, "Origin DNS error (1016) or another 1xxx error"),
    ] {
        assert_eq!(super::status_name(status), name, "{status}");
    }
}

#[test]
fn the_footer_separates_its_parts() {
    let page = render_page(&Analytics::new(1.0).report(&Query::default(), at(4)));
    assert!(
        page.contains("This report as JSON</a> · generated <time"),
        "{page}"
    );
}

#[test]
fn phase_bands_are_drawn_clipped_to_the_window_with_their_names() {
    let analytics = Analytics::new(1.0);
    analytics.record(&obs(at(1), 522, "/", "r"));
    // The 5-minute window at 10:00:15 runs from 09:55:20 to 10:00:20.
    let report = analytics.report(&query("range=5m"), at(15));
    let band = |phase: &str, started: i64, ended: Option<i64>| PhaseBand {
        scenario: "drill <&>".to_owned(),
        phase: phase.to_owned(),
        started: at(started),
        ended: ended.map(at),
    };
    let bands = [
        band("long ago", -1000, Some(-900)),
        band("warm-up", -400, Some(-200)),
        band("outage <b>", -200, None),
    ];
    let page = render_page_with(&report, &bands);
    let start = page
        .find("<svg id=\"errors-over-time\"")
        .expect("the chart");
    let end = start + page[start..].find("</svg>").expect("the chart closes");
    let svg = &page[start..end];

    let phases: Vec<&str> = tags(svg, "g")
        .into_iter()
        .filter(|tag| attr(tag, "class") == Some("band"))
        .filter_map(|tag| attr(tag, "data-phase"))
        .collect();
    assert_eq!(
        phases,
        ["warm-up", "outage &lt;b&gt;"],
        "the one before the window is left out"
    );
    let fills: Vec<(f64, f64)> = tags(svg, "rect")
        .into_iter()
        .filter(|tag| attr(tag, "data-status").is_none() && tag.contains("fill="))
        .map(|tag| {
            let number = |name| attr(tag, name).and_then(|v| v.parse::<f64>().ok());
            (number("x").expect("x"), number("width").expect("width"))
        })
        .collect();
    assert_eq!(fills.len(), 2, "{svg}");
    // Clipped at the plot's left edge; the open band ends at the report's instant, 5 s before
    // the plot's right edge (704).
    assert_eq!(fills[0].0, 72.0, "{svg}");
    let open_end = fills[1].0 + fills[1].1;
    assert!(
        (open_end - (704.0 - 632.0 / 30.0 / 2.0)).abs() < 0.2,
        "{open_end}: {svg}"
    );
    assert!(svg.contains(">warm-up</text>") && svg.contains(">outage &lt;b&gt;</text>"));
    assert!(
        page.contains("scenario <strong>drill &lt;&amp;&gt;</strong>"),
        "{page}"
    );
    assert!(
        svg.contains("<title>Scenario drill &lt;&amp;&gt;, phase warm-up</title>"),
        "{page}"
    );
    assert!(
        !render_page(&report).contains("class=\"band\""),
        "no bands, none drawn"
    );
}
