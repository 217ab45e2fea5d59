//! The access log (`[log]`) through an in-process edge: one JSON line per request with
//! Cloudflare's Logpush field names and the right values for each failure class (200, 520,
//! 521, 522, 524, 526, 530), timings that match the timeouts that fired, the `text` form, the
//! `[log] timestamps` forms, a blocked writer that costs lines (counted in
//! `edgecase_log_lines_dropped_total`) but never requests, and `--check` on a bad
//! `[log] access` path.
//!
//! Each test starts its own edge (listeners and control API on 127.0.0.1:0, static DNS only,
//! timeouts of a few hundred ms) and its own scripted origins.
mod support;

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use edgecase::EdgeHandle;
use http::{Method, Request, header};
use http_body_util::Empty;
use serde_json::Value;

use support::binary::{EXIT_BAD_CONFIG, assert_exit_code, assert_no_panic, path_arg, run};
use support::observe::{
    Exposition, edge_toml, log_lines_for, poll_file, ray_hex, ray_of, scrape, start, toml_path,
};
use support::origins::Origin;
use support::pki::{TempDir, self_signed};
use support::tls_origins::TlsOrigin;
use support::visitor::{Response, send, within};
use support::{GUARD, assert_took, ms};

/// `timeouts.connect` of the edges here, in ms: how long a 522 takes.
const CONNECT_MS: u64 = 200;
/// `timeouts.read` of the edges here, in ms: how long a 524 takes.
const READ_MS: u64 = 200;
/// How much later than its timeout a timed-out phase may end on a busy machine.
const SLACK: Duration = Duration::from_millis(400);

/// The Host every visitor sends.
const HOST: &str = "shop.test";
/// The User-Agent every visitor sends.
const USER_AGENT: &str = "edgecase-observe-tests/1.0";
/// The healthy origin's body.
const OK_BODY: &str = "hello from the origin";

/// The fields of a JSON access line: Logpush's `http_requests` names, then edgecase's own.
const LOGPUSH_FIELDS: [&str; 35] = [
    "RayID",
    "EdgeStartTimestamp",
    "EdgeEndTimestamp",
    "EdgeResponseStatus",
    "EdgeColoCode",
    "EdgeTimeToFirstByteMs",
    "EdgeResponseBytes",
    "EdgeServerIP",
    "ClientIP",
    "ClientRequestHost",
    "ClientRequestMethod",
    "ClientRequestURI",
    "ClientRequestProtocol",
    "ClientRequestScheme",
    "ClientRequestUserAgent",
    "ClientRequestBytes",
    "ClientSSLProtocol",
    "ClientCountry",
    "OriginResponseStatus",
    "OriginIP",
    "OriginDNSResponseTimeMs",
    "OriginTCPHandshakeDurationMs",
    "OriginTLSHandshakeDurationMs",
    "OriginRequestHeaderSendDurationMs",
    "OriginResponseHeaderReceiveDurationMs",
    "OriginResponseDurationMs",
    "OriginSSLProtocol",
    "CacheCacheStatus",
    "EdgecaseCause",
    "EdgecaseEnding",
    "EdgecaseFaultRule",
    "EdgecaseProxy",
    "EdgecaseScenario",
    "EdgecasePhase",
    "EdgecaseRetried",
];

/// `method path` to the edge with `Host: HOST`, a User-Agent and an HTML Accept.
async fn visit(edge: SocketAddr, method: Method, path: &str) -> Response {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::USER_AGENT, USER_AGENT)
        .header(header::ACCEPT, "text/html")
        .body(Empty::<Bytes>::new())
        .expect("a valid test request");
    within(GUARD, send(edge, request)).await
}

/// Nanoseconds since the Unix epoch, now.
fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos()
}

/// A field that must be a whole number.
#[track_caller]
fn whole(line: &Value, field: &str) -> u64 {
    line[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is a whole number: {line}"))
}

/// A field that must be a whole number, as a Duration of that many ms.
#[track_caller]
fn millis(line: &Value, field: &str) -> Duration {
    ms(whole(line, field))
}

/// What one request of the sequence must log.
struct Expected {
    method: Method,
    path: &'static str,
    status: u16,
    origin_status: u64,
    cause: Option<&'static str>,
    /// Whether `OriginIP` is the origin's address (else empty: nothing to connect to).
    origin_ip: bool,
}

/// One request of each failure class, in the order the test sends them: 200, 521, 522, 524,
/// 520, 530, 526, each through the route of the origin that fails that way.
fn failure_classes() -> [Expected; 7] {
    [
        Expected {
            method: Method::GET,
            path: "/ok/page?x=1&y=two",
            status: 200,
            origin_status: 200,
            cause: None,
            origin_ip: true,
        },
        Expected {
            method: Method::PUT,
            path: "/refused/item",
            status: 521,
            origin_status: 0,
            cause: Some("refused"),
            origin_ip: true,
        },
        Expected {
            method: Method::GET,
            path: "/blackhole/slow",
            status: 522,
            origin_status: 0,
            cause: Some("connect_timeout"),
            origin_ip: true,
        },
        Expected {
            method: Method::GET,
            path: "/silent/report",
            status: 524,
            origin_status: 0,
            cause: Some("read_timeout"),
            origin_ip: true,
        },
        Expected {
            method: Method::GET,
            path: "/empty/",
            status: 520,
            origin_status: 0,
            cause: Some("empty_reply"),
            origin_ip: true,
        },
        Expected {
            method: Method::GET,
            path: "/nodns/where",
            status: 530,
            origin_status: 0,
            cause: Some("dns_error"),
            origin_ip: false,
        },
        Expected {
            method: Method::GET,
            path: "/tls/secure",
            status: 526,
            origin_status: 0,
            cause: Some("self_signed"),
            origin_ip: true,
        },
    ]
}

/// What every line of the sequence must hold: exactly the Logpush field names, the request as
/// sent, the answer as received, and unixnano timestamps in order, between `before` and `after`.
#[track_caller]
fn assert_line_fields(
    case: &Expected,
    res: &Response,
    line: &Value,
    fields: &BTreeSet<&str>,
    (before, after): (u128, u128),
) {
    let what = format!("{} {}: {line}", case.method, case.path);
    let keys: BTreeSet<&str> = line
        .as_object()
        .expect("a line is one JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(&keys, fields, "the Logpush field names, no more: {what}");

    let ray = ray_of(res);
    assert_eq!(line["RayID"], ray_hex(&ray), "{what}");
    assert_eq!(
        whole(line, "EdgeResponseStatus"),
        u64::from(case.status),
        "{what}"
    );
    assert_eq!(
        whole(line, "OriginResponseStatus"),
        case.origin_status,
        "{what}"
    );
    assert_eq!(line["EdgecaseCause"].as_str(), case.cause, "{what}");
    let origin_ip = line["OriginIP"].as_str().expect("OriginIP is text");
    assert_eq!(
        origin_ip,
        if case.origin_ip { "127.0.0.1" } else { "" },
        "{what}"
    );
    assert_eq!(line["ClientRequestURI"], case.path, "{what}");
    assert_eq!(line["ClientRequestMethod"], case.method.as_str(), "{what}");
    assert_eq!(line["ClientRequestHost"], HOST, "{what}");
    assert_eq!(line["ClientRequestUserAgent"], USER_AGENT, "{what}");
    assert_eq!(line["ClientRequestProtocol"], "HTTP/1.1", "{what}");
    assert_eq!(line["ClientRequestScheme"], "http", "{what}");
    assert_eq!(line["ClientRequestBytes"], 0, "{what}");
    assert_eq!(line["ClientIP"], "127.0.0.1", "{what}");
    assert_eq!(line["EdgeServerIP"], "127.0.0.1", "{what}");
    assert_eq!(line["EdgeColoCode"], "CDG", "{what}");
    assert_eq!(
        Some(&ray[17..]),
        line["EdgeColoCode"].as_str(),
        "the colo of the cf-ray: {what}"
    );
    assert_eq!(
        whole(line, "EdgeResponseBytes"),
        res.body.len() as u64,
        "the body bytes the visitor got: {what}"
    );
    assert_eq!(line["EdgecaseEnding"], "complete", "{what}");
    assert_eq!(line["EdgecaseFaultRule"], Value::Null, "{what}");
    assert_eq!(line["EdgecaseRetried"], false, "{what}");
    assert_eq!(line["CacheCacheStatus"], "dynamic", "{what}");

    // unixnano timestamps, in order, within the test's own window.
    let start = line["EdgeStartTimestamp"]
        .as_u64()
        .map(u128::from)
        .unwrap_or_else(|| panic!("EdgeStartTimestamp in ns: {what}"));
    let end = line["EdgeEndTimestamp"]
        .as_u64()
        .map(u128::from)
        .unwrap_or_else(|| panic!("EdgeEndTimestamp in ns: {what}"));
    assert!(
        before <= start && start <= end && end <= after,
        "{before} {after}: {what}"
    );
    let ttfb = millis(line, "EdgeTimeToFirstByteMs");
    assert!(
        end - start >= ttfb.as_nanos(),
        "the response ends after its head: {what}"
    );
}

/// The timings each failure class must log, `lines` in the order of [`failure_classes`]: a
/// clean exchange's phases add up, a refusal is at once, a 522 spends the connect timeout, a 524
/// the read timeout waiting for the head, and the rest fail at once.
#[track_caller]
fn assert_phase_timings(lines: &[Value]) {
    let [
        ok_line,
        refused,
        timed_out,
        silent_line,
        empty_line,
        dns,
        tls,
    ] = lines
    else {
        panic!("one line per case");
    };
    assert_eq!(ok_line["OriginIP"], "127.0.0.1");
    assert_eq!(
        whole(ok_line, "EdgeResponseBytes"),
        OK_BODY.len() as u64,
        "the origin's body went through"
    );
    assert_eq!(
        ok_line["OriginSSLProtocol"], "none",
        "plain HTTP to the origin"
    );
    assert_eq!(
        ok_line["ClientSSLProtocol"], "none",
        "plain HTTP from the visitor"
    );
    // The phases of a clean exchange add up to the origin's duration.
    let phases: u64 = [
        "OriginDNSResponseTimeMs",
        "OriginTCPHandshakeDurationMs",
        "OriginTLSHandshakeDurationMs",
        "OriginRequestHeaderSendDurationMs",
        "OriginResponseHeaderReceiveDurationMs",
    ]
    .iter()
    .map(|field| whole(ok_line, field))
    .sum();
    let total = whole(ok_line, "OriginResponseDurationMs");
    assert!(
        total <= phases + 5 && phases <= total + 5,
        "phases {phases} ms vs total {total} ms: {ok_line}"
    );

    assert!(
        millis(refused, "OriginTCPHandshakeDurationMs") < ms(CONNECT_MS),
        "a refusal comes at once: {refused}"
    );

    assert_took(
        millis(timed_out, "OriginTCPHandshakeDurationMs"),
        ms(CONNECT_MS),
        SLACK,
    );
    assert_took(
        millis(timed_out, "EdgeTimeToFirstByteMs"),
        ms(CONNECT_MS),
        SLACK,
    );
    assert_eq!(
        whole(timed_out, "OriginResponseHeaderReceiveDurationMs"),
        0,
        "no request was sent: {timed_out}"
    );

    assert_took(
        millis(silent_line, "EdgeTimeToFirstByteMs"),
        ms(READ_MS),
        SLACK,
    );
    // The whole read timeout was spent waiting for the head.
    assert_took(
        millis(silent_line, "OriginResponseHeaderReceiveDurationMs"),
        ms(READ_MS),
        SLACK,
    );
    assert!(
        millis(silent_line, "OriginTCPHandshakeDurationMs") < ms(CONNECT_MS),
        "the silent origin accepted at once: {silent_line}"
    );

    assert!(
        millis(empty_line, "EdgeTimeToFirstByteMs") < ms(READ_MS),
        "an empty reply is seen at once: {empty_line}"
    );

    assert_eq!(whole(dns, "OriginTCPHandshakeDurationMs"), 0, "{dns}");
    assert_eq!(dns["OriginSSLProtocol"], "none", "{dns}");

    assert_eq!(
        tls["OriginSSLProtocol"], "none",
        "the handshake did not complete: {tls}"
    );
    assert!(
        millis(tls, "OriginTLSHandshakeDurationMs") < ms(CONNECT_MS),
        "the handshake failed at once: {tls}"
    );
}

#[tokio::test]
async fn json_log_after_one_request_of_each_failure_class() {
    let ok = Origin::ok(OK_BODY).await;
    let refusing = Origin::refusing().await;
    let blackhole = Origin::blackhole().await;
    let silent = Origin::silent().await;
    let empty = Origin::hangs_up().await;
    let untrusted = TlsOrigin::ok(&self_signed(&["origin.test"])).await;
    let dir = TempDir::new("log_json");
    let access = dir.path().join("access.log");
    let routes = format!(
        "[[route]]\npath_prefix = \"/refused\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/blackhole\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/silent\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/empty\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/nodns\"\norigin = \"nowhere.test:80\"\n\
         [[route]]\npath_prefix = \"/tls\"\norigin = \"{}\"\nssl = \"strict\"\n\
         sni = \"origin.test\"\n",
        refusing.addr(),
        blackhole.addr(),
        silent.addr(),
        empty.addr(),
        untrusted.addr(),
    );
    let log = format!("format = \"json\"\naccess = {}\n", toml_path(&access));
    let edge = start(&edge_toml(ok.addr(), CONNECT_MS, READ_MS, &log, &routes)).await;

    let cases = failure_classes();

    let before = now_nanos();
    let mut responses = Vec::new();
    for case in &cases {
        let res = visit(edge.addr(), case.method.clone(), case.path).await;
        assert_eq!(
            res.status().as_u16(),
            case.status,
            "{} {}: {}",
            case.method,
            case.path,
            res.text()
        );
        responses.push(res);
    }
    let rays: Vec<String> = responses.iter().map(ray_of).collect();
    let lines = log_lines_for(&access, &rays).await;
    let after = now_nanos();

    let fields: BTreeSet<&str> = LOGPUSH_FIELDS.into_iter().collect();
    for ((case, res), line) in cases.iter().zip(&responses).zip(&lines) {
        assert_line_fields(case, res, line, &fields, (before, after));
    }

    assert_phase_timings(&lines);
    drop(edge);
}

#[tokio::test]
async fn text_log_line_names_the_ray_status_and_cause() {
    let ok = Origin::ok(OK_BODY).await;
    let refusing = Origin::refusing().await;
    let dir = TempDir::new("log_text");
    let access = dir.path().join("access.log");
    let routes = format!(
        "[[route]]\npath_prefix = \"/refused\"\norigin = \"{}\"\n",
        refusing.addr()
    );
    let log = format!("format = \"text\"\naccess = {}\n", toml_path(&access));
    let edge = start(&edge_toml(ok.addr(), CONNECT_MS, READ_MS, &log, &routes)).await;

    let failed = visit(edge.addr(), Method::GET, "/refused/x").await;
    assert_eq!(failed.status(), 521, "{}", failed.text());
    let passed = visit(edge.addr(), Method::GET, "/fine").await;
    assert_eq!(passed.status(), 200, "{}", passed.text());
    let (failed_ray, passed_ray) = (ray_of(&failed), ray_of(&passed));

    let line_of = |text: &str, ray: &str| {
        text.lines()
            .find(|line| line.contains(&format!(" ray={ray} ")))
            .map(str::to_owned)
    };
    let (failed_line, passed_line) = poll_file(&access, |text| {
        // Only complete lines count.
        let text = &text[..text.rfind('\n')? + 1];
        Some((line_of(text, &failed_ray)?, line_of(text, &passed_ray)?))
    })
    .await;

    for part in [
        "method=GET",
        &format!("host=\"{HOST}\""),
        "path=\"/refused/x\"",
        " status=521",
        " cause=refused",
        &format!(" origin={}", refusing.addr()),
        "ending=complete",
    ] {
        assert!(failed_line.contains(part), "{part:?} in {failed_line:?}");
    }
    assert!(!failed_line.contains("origin_status="), "{failed_line:?}");
    for part in [
        "path=\"/fine\"",
        " status=200",
        " origin_status=200",
        &format!(" origin={}", ok.addr()),
        &format!(" bytes={}", OK_BODY.len()),
    ] {
        assert!(passed_line.contains(part), "{part:?} in {passed_line:?}");
    }
    assert!(
        !passed_line.contains("cause="),
        "a clean answer has no cause: {passed_line:?}"
    );
    let stamp = failed_line.split(' ').next().unwrap_or_default();
    assert!(
        stamp.len() == "2026-11-24T10:00:00.123Z".len() && stamp.ends_with('Z'),
        "the line starts with its RFC 3339 time: {failed_line:?}"
    );
}

#[tokio::test]
async fn json_timestamps_follow_log_timestamps() {
    let refusing = Origin::refusing().await;
    for (format, check) in [
        ("unix", &(|v: &Value| v.is_u64()) as &dyn Fn(&Value) -> bool),
        ("rfc3339", &|v: &Value| {
            v.as_str().is_some_and(|s| s.ends_with('Z'))
        }),
    ] {
        let dir = TempDir::new("log_stamps");
        let access = dir.path().join("access.log");
        let log = format!(
            "format = \"json\"\naccess = {}\ntimestamps = \"{format}\"\n",
            toml_path(&access)
        );
        let edge = start(&edge_toml(refusing.addr(), CONNECT_MS, READ_MS, &log, "")).await;
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let res = visit(edge.addr(), Method::GET, "/").await;
        assert_eq!(res.status(), 521);
        let line = log_lines_for(&access, &[ray_of(&res)]).await.remove(0);
        for field in ["EdgeStartTimestamp", "EdgeEndTimestamp"] {
            assert!(check(&line[field]), "{format}: {field} in {line}");
        }
        match format {
            "unix" => {
                let start = whole(&line, "EdgeStartTimestamp");
                assert!(
                    (before..=before + 5).contains(&start),
                    "seconds, not ns: {start} vs {before}"
                );
            }
            _ => {
                let start = line["EdgeStartTimestamp"].as_str().unwrap_or_default();
                assert_eq!(start.len(), "2026-11-24T10:00:00.123Z".len(), "{line}");
                assert!(start.starts_with("20"), "{line}");
            }
        }
    }
}

/// `mkfifo path` (mode 0600).
fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path_arg(path)).expect("no NUL in a temp path");
    // SAFETY: `name` is a valid NUL-terminated string for the call's duration.
    let result = unsafe { libc::mkfifo(name.as_ptr(), 0o600) };
    assert_eq!(
        result,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// Makes `file`'s reads block again (clears `O_NONBLOCK`).
fn set_blocking(file: &File) {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on an fd this File owns, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert!(flags >= 0, "F_GETFL: {}", std::io::Error::last_os_error());
    // SAFETY: as above.
    let result = unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) };
    assert_eq!(result, 0, "F_SETFL: {}", std::io::Error::last_os_error());
}

/// Requests sent at the blocked log writer, and how many visitors send them at once.
const FLOOD: usize = 2000;
const FLOOD_VISITORS: usize = 16;

/// The whole blocked-writer scenario's limit, checked from outside the runtime.
const SCENARIO_LIMIT: Duration = Duration::from_secs(60);

/// Runs [`blocked_writer_scenario`] on a runtime of its own, watched from this thread: a
/// writer that blocked request tasks could stall every worker, timers included, so the
/// scenario's own `within` guards would never fire and dropping the runtime would hang. The
/// watch fails the test instead, and the runtime is abandoned rather than joined.
#[test]
fn a_blocked_log_writer_drops_and_counts_lines_without_stalling_requests() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a test runtime");
    let scenario = runtime.spawn(blocked_writer_scenario());
    let (done, outcome) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let _ = done.send(scenario.await);
    });
    match outcome.recv_timeout(SCENARIO_LIMIT) {
        Ok(Ok(())) => {}
        Ok(Err(failed)) => {
            runtime.shutdown_background();
            match failed.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(failed) => panic!("the scenario did not finish: {failed}"),
            }
        }
        Err(_) => {
            runtime.shutdown_background();
            panic!(
                "the scenario stalled for {SCENARIO_LIMIT:?}: requests (or the edge) are held up \
                 by the blocked log writer"
            );
        }
    }
}

/// A blocked writer fills the pipe and drops lines, and every request still gets its 521;
/// each line the pipe held is written whole, and written and dropped lines add up to the
/// requests.
async fn blocked_writer_scenario() {
    let refusing = Origin::refusing().await;
    let dir = TempDir::new("log_fifo");
    let (fifo, reader) = unread_fifo(dir.path());
    let log = format!(
        "format = \"json\"\naccess = {}\nqueue = 16\n",
        toml_path(&fifo)
    );
    let edge = start(&edge_toml(refusing.addr(), CONNECT_MS, READ_MS, &log, "")).await;

    // Long paths fill the pipe and the writer's buffer after a few dozen lines.
    let long = "a".repeat(2000);
    // A writer that held requests up would hang them for good; 20 s is far beyond what 2000
    // refused requests take.
    within(Duration::from_secs(20), flood(edge.addr(), &long)).await;

    let metrics = within(GUARD, metrics_counting_the_flood(&edge)).await;
    let dropped = assert_dropped_lines_counted(&metrics);

    let bytes = drain_after_shutdown(edge, reader).await;
    assert_written_lines(bytes, &long, dropped);
}

/// A FIFO in `dir`, and its read end opened without blocking: the edge's open for writing
/// then finds a reader and returns at once. Nothing is read until every request is done, so
/// the pipe (64 KiB) fills and the writer thread blocks in write(2).
fn unread_fifo(dir: &Path) -> (PathBuf, File) {
    let fifo = dir.join("access.fifo");
    mkfifo(&fifo);
    let reader = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .expect("open the FIFO's read end");
    (fifo, reader)
}

/// Sends [`FLOOD`] requests for `/{long}/N` from [`FLOOD_VISITORS`] visitors at once, each
/// answered 521 by the refusing origin.
async fn flood(addr: SocketAddr, long: &str) {
    let mut visitors = tokio::task::JoinSet::new();
    for visitor in 0..FLOOD_VISITORS {
        let long = long.to_owned();
        visitors.spawn(async move {
            for n in (visitor..FLOOD).step_by(FLOOD_VISITORS) {
                let res = visit(addr, Method::GET, &format!("/{long}/{n}")).await;
                assert_eq!(res.status(), 521, "request {n}: {}", res.text());
            }
        });
    }
    while let Some(done) = visitors.join_next().await {
        done.expect("a visitor task did not panic");
    }
}

/// The metrics once every request of the flood is counted: a request is counted once its
/// record is handed over, so the drop count is then final.
async fn metrics_counting_the_flood(edge: &EdgeHandle) -> Exposition {
    loop {
        let metrics = scrape(edge).await;
        if metrics.sum("edgecase_requests_total") >= FLOOD as f64 {
            return metrics;
        }
        tokio::time::sleep(ms(5)).await;
    }
}

/// Asserts every request of the flood is counted as a 521 and some lines as dropped (a
/// counter); returns how many were dropped.
#[track_caller]
fn assert_dropped_lines_counted(metrics: &Exposition) -> f64 {
    assert_eq!(
        metrics.value(
            "edgecase_requests_total",
            &[
                ("status", "521"),
                ("cause", "refused"),
                ("proxy", "edgecase")
            ]
        ),
        Some(FLOOD as f64)
    );
    let dropped = metrics.scalar("edgecase_log_lines_dropped_total");
    assert!(dropped > 0.0, "a blocked writer drops lines: {dropped}");
    assert_eq!(
        metrics
            .types
            .get("edgecase_log_lines_dropped_total")
            .map(String::as_str),
        Some("counter")
    );
    dropped
}

/// Reads everything the writer still has, then lets the edge stop: its writer drains into
/// the reader, closes the FIFO, and the read ends. Returns what was read.
async fn drain_after_shutdown(edge: EdgeHandle, reader: File) -> Vec<u8> {
    set_blocking(&reader);
    let reading = std::thread::spawn(move || {
        let mut reader = reader;
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map(|_| bytes)
    });
    within(GUARD, edge.shutdown())
        .await
        .expect("the edge shuts down cleanly");
    within(GUARD, tokio::task::spawn_blocking(move || reading.join()))
        .await
        .expect("the join task ran")
        .expect("the reader thread did not panic")
        .expect("the FIFO reads to EOF")
}

/// Asserts the log `bytes` hold whole JSON lines only, each a 521 for `/{long}/N`, and that
/// they and the `dropped` lines add up to the flood.
#[track_caller]
fn assert_written_lines(bytes: Vec<u8>, long: &str, dropped: f64) {
    let text = String::from_utf8(bytes).expect("the log is UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "no line cut short at the end: {:?}",
        &text[text.len().saturating_sub(200)..]
    );
    let mut written = 0;
    for line in text.lines() {
        let parsed: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a complete JSON object per line ({e}): {line:.200}"));
        assert_eq!(parsed["EdgeResponseStatus"], 521, "{line:.200}");
        assert!(
            parsed["ClientRequestURI"]
                .as_str()
                .is_some_and(|uri| uri.starts_with(&format!("/{long}/"))),
            "{line:.200}"
        );
        written += 1;
    }
    assert!(written > 0, "the lines the pipe held were written");
    assert_eq!(
        written as f64 + dropped,
        FLOOD as f64,
        "every request's line is either written or counted as dropped"
    );
}

#[tokio::test]
async fn check_rejects_an_access_log_in_a_missing_directory_naming_log_access() {
    let dir = TempDir::new("log_check");
    let missing = dir.path().join("no-such-dir").join("access.log");
    let file = dir.write(
        "edgecase.toml",
        &format!(
            "[dns]\nsystem = false\n[log]\naccess = {}\n",
            toml_path(&missing)
        ),
    );
    let outcome = run(&["--check", "--config", path_arg(&file)]).await;
    assert_exit_code(&outcome, EXIT_BAD_CONFIG);
    assert_no_panic(&outcome);
    let prefix = format!("edgecase: {}: log.access: ", file.display());
    let line = outcome
        .stderr
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("a line starting {prefix:?}:\n{}", outcome.stderr));
    assert!(
        line.contains("no-such-dir") && line.contains("does not exist"),
        "says which directory is missing: {line}"
    );
    assert!(!missing.exists(), "--check creates no file");
}
