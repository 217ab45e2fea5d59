//! `edgecase diagnose --bundle DIR`: the files the support article asks a site owner to send.
//! For a failing origin: `summary.txt` (status, title, ray ID, URL, time in UTC), `trace.txt`
//! (the `/cdn-cgi/trace` keys), `diagnose.har` (valid HAR 1.2, its entry the edge's error page
//! under the same ray ID) and `report.json` (the `--json` document itself); for a working
//! origin, both requests in the HAR; a directory created when missing; a second run into the
//! same directory refused (exit 2) with the first bundle left untouched; the HAR sanitized
//! as `[capture] sanitize` says.
mod support;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use support::binary::{EXIT_BAD_CONFIG, Outcome, assert_exit_code, assert_no_panic, path_arg, run};
use support::diagnose::{DiagnoseConfig, SHORT_MS, parse_json};
use support::har::check_har;
use support::origins::Origin;
use support::pki::{TempDir, TestCa};
use support::tls_origins::TlsOrigin;

/// The bundle's files.
const FILES: [&str; 4] = ["summary.txt", "trace.txt", "diagnose.har", "report.json"];

/// A bundle written by one `--json` run, read back.
struct Bundle {
    /// The run.
    outcome: Outcome,
    /// Its stdout, parsed.
    json: Value,
    dir: PathBuf,
}

impl Bundle {
    fn text(&self, name: &str) -> String {
        let path = self.dir.join(name);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    fn har(&self) -> Value {
        serde_json::from_str(&self.text("diagnose.har")).expect("diagnose.har is JSON")
    }

    /// `trace.txt` as its `key=value` lines.
    fn trace(&self) -> HashMap<String, String> {
        self.text("trace.txt")
            .lines()
            .map(|line| {
                let (key, value) = line
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{line:?} is not key=value"));
                (key.to_owned(), value.to_owned())
            })
            .collect()
    }

    fn ray(&self) -> &str {
        self.json["ray"].as_str().expect("a ray ID")
    }
}

/// Runs `edgecase diagnose --config FILE --json --bundle DIR args...`.
async fn bundle_run(config: &DiagnoseConfig, dir: &Path, args: &[&str]) -> Outcome {
    let path = config.write();
    let mut all = vec![
        "diagnose",
        "--config",
        path_arg(&path),
        "--json",
        "--bundle",
        path_arg(dir),
    ];
    all.extend_from_slice(args);
    let outcome = run(&all).await;
    assert_no_panic(&outcome);
    outcome
}

/// Writes a bundle for `config` into `dir` and reads it back; asserts every file is there.
async fn write_bundle(config: &DiagnoseConfig, dir: &Path, args: &[&str]) -> Bundle {
    let outcome = bundle_run(config, dir, args).await;
    let json = parse_json(&outcome);
    for name in FILES {
        assert!(
            dir.join(name).is_file(),
            "{name} in the bundle; stderr:\n{}",
            outcome.stderr
        );
    }
    assert!(
        outcome.stderr.contains("bundle written"),
        "stderr says where: {}",
        outcome.stderr
    );
    Bundle {
        outcome,
        json,
        dir: dir.to_owned(),
    }
}

/// Asserts what every bundle holds, whatever the verdict: the summary's time, URL and ray; the
/// trace for `host`; a valid HAR whose first entry carries the ray; the report equal to
/// stdout.
#[track_caller]
fn assert_common(bundle: &Bundle, host: &str, scheme: &str) {
    let ray = bundle.ray();
    let url = bundle.json["subject"]["url"]
        .as_str()
        .expect("a URL")
        .to_owned();
    // summary.txt
    let summary = bundle.text("summary.txt");
    let line = |name: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name}: line in summary.txt:\n{summary}"))
            .to_owned()
    };
    assert!(line("Ray ID").ends_with(ray), "{summary}");
    assert!(line("URL").ends_with(&url), "{summary}");
    let time = line("Time");
    assert!(time.contains("UTC"), "{summary}");
    assert!(
        time.contains(bundle.json["time"].as_str().expect("a time")),
        "{summary}"
    );
    // trace.txt
    let trace = bundle.trace();
    for key in support::TRACE_KEYS {
        assert!(trace.contains_key(key), "{key} in trace.txt: {trace:?}");
    }
    assert_eq!(trace["h"], host, "{trace:?}");
    assert_eq!(trace["visit_scheme"], scheme, "{trace:?}");
    assert_eq!(trace["http"], "http/1.1", "{trace:?}");
    assert!(trace["uag"].starts_with("edgecase-diagnose/"), "{trace:?}");
    let colo = ray.split_once('-').expect("ray-COLO").1;
    assert_eq!(trace["colo"], colo, "{trace:?}");
    assert!(
        trace["ts"].parse::<f64>().is_ok_and(|ts| ts > 1.0e9),
        "{trace:?}"
    );
    assert!(trace["ip"].parse::<std::net::IpAddr>().is_ok(), "{trace:?}");
    // diagnose.har
    let har = bundle.har();
    check_har(&har).unwrap_or_else(|e| panic!("diagnose.har is not HAR 1.2: {e}"));
    let first = &har["log"]["entries"][0];
    assert_eq!(first["_cfRay"], ray, "{first}");
    assert!(
        first["comment"].as_str().is_some_and(|c| c.contains(ray)),
        "{first}"
    );
    assert_eq!(first["request"]["method"], "GET", "{first}");
    assert_eq!(first["request"]["url"], url, "{first}");
    // report.json is the --json document.
    let report: Value =
        serde_json::from_str(&bundle.text("report.json")).expect("report.json is JSON");
    assert_eq!(report, bundle.json, "report.json is what --json printed");
}

#[tokio::test]
async fn bundle_for_a_refusing_origin_holds_the_521_under_one_ray() {
    let origin = Origin::refusing().await;
    let config = DiagnoseConfig::new(origin.addr());
    let dir = TempDir::new("bundle-521");

    let bundle = write_bundle(&config, dir.path(), &[]).await;

    assert_exit_code(&bundle.outcome, 1);
    assert_common(&bundle, "127.0.0.1", "http");
    let summary = bundle.text("summary.txt");
    assert!(summary.contains("521 Web server is down"), "{summary}");
    assert!(summary.contains("refused"), "the cause: {summary}");
    assert_eq!(bundle.trace()["tls"], "off");
    let har = bundle.har();
    let entries = har["log"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "one request, answered by the edge: {har}");
    let entry = &entries[0];
    assert_eq!(entry["response"]["status"], 521, "{entry}");
    assert_eq!(entry["_edgecaseCause"], "refused", "{entry}");
    assert!(
        entry["comment"]
            .as_str()
            .is_some_and(|c| c.contains("refused")),
        "{entry}"
    );
    // The page in the HAR is the edge's, with the same ray ID.
    let page = entry["response"]["content"]["text"]
        .as_str()
        .expect("the page's text");
    assert!(page.contains(&bundle.ray()[..16]), "the page shows the ray");
    let report: Value = serde_json::from_str(&bundle.text("report.json")).expect("JSON");
    assert_eq!(report["verdict"]["status"], 521);
    assert_eq!(report["verdict"]["cause"], "refused");
}

#[tokio::test]
async fn bundle_for_a_silent_origin_holds_the_524() {
    let origin = Origin::silent().await;
    let config = DiagnoseConfig::new(origin.addr()).read_ms(SHORT_MS);
    let dir = TempDir::new("bundle-524");

    let bundle = write_bundle(&config, dir.path(), &[]).await;

    assert_exit_code(&bundle.outcome, 1);
    assert_common(&bundle, "127.0.0.1", "http");
    assert!(
        bundle
            .text("summary.txt")
            .contains("524 A timeout occurred"),
        "{}",
        bundle.text("summary.txt")
    );
    let har = bundle.har();
    let entry = &har["log"]["entries"][0];
    assert_eq!(entry["response"]["status"], 524, "{entry}");
    assert_eq!(entry["_edgecaseCause"], "read_timeout", "{entry}");
    // The origin got the request under the bundle's ray.
    let request = origin.last_request().expect("the origin saw the request");
    assert_eq!(request.header("cf-ray"), Some(bundle.ray()));
}

#[tokio::test]
async fn bundle_for_a_working_origin_holds_both_requests() {
    let origin = Origin::ok("hello").await;
    let config = DiagnoseConfig::new(origin.addr());
    let dir = TempDir::new("bundle-200");

    let bundle = write_bundle(&config, dir.path(), &["--path", "/status"]).await;

    assert_exit_code(&bundle.outcome, 0);
    assert_common(&bundle, "127.0.0.1", "http");
    let summary = bundle.text("summary.txt");
    assert!(summary.contains("200 OK"), "{summary}");
    let har = bundle.har();
    let entries = har["log"]["entries"].as_array().expect("entries");
    assert_eq!(
        entries.len(),
        2,
        "the request and the keep-alive one: {har}"
    );
    for entry in entries {
        assert_eq!(entry["response"]["status"], 200, "{entry}");
        assert_eq!(entry["_originStatus"], 200, "{entry}");
        assert_eq!(entry["response"]["content"]["text"], "hello", "{entry}");
        assert!(entry.get("_edgecaseCause").is_none(), "{entry}");
    }
    let keep_alive_ray = &bundle.json["stages"][4]["details"]["ray"];
    assert_eq!(entries[1]["_cfRay"], *keep_alive_ray, "{har}");
    assert_ne!(entries[0]["_cfRay"], entries[1]["_cfRay"]);
    // The origin saw both, under those rays.
    origin.requests_seen(2).await;
    let rays: Vec<Option<String>> = origin
        .requests()
        .iter()
        .map(|r| r.header("cf-ray").map(str::to_owned))
        .collect();
    assert_eq!(
        rays,
        [
            entries[0]["_cfRay"].as_str().map(str::to_owned),
            entries[1]["_cfRay"].as_str().map(str::to_owned)
        ]
    );
}

#[tokio::test]
async fn bundle_for_an_https_visitor_shows_tls_in_the_trace() {
    let ca = TestCa::new("Bundle Test CA");
    let origin = TlsOrigin::ok(&ca.issue(&["site.test"])).await;
    let config = DiagnoseConfig::new(format!("127.0.0.1:{}", origin.port()))
        .ssl("full_strict")
        .origin_file("ca", "origin-ca.pem", &ca.cert_pem());
    let dir = TempDir::new("bundle-https");

    let bundle = write_bundle(&config, dir.path(), &["--host", "site.test"]).await;

    assert_exit_code(&bundle.outcome, 0);
    assert_common(&bundle, "site.test", "https");
    let trace = bundle.trace();
    assert_eq!(trace["tls"], "TLSv1.3", "{trace:?}");
    assert_eq!(trace["sni"], "plaintext", "{trace:?}");
    let har = bundle.har();
    assert_eq!(
        har["log"]["entries"][0]["request"]["url"], "https://site.test/",
        "{har}"
    );
}

#[tokio::test]
async fn bundle_directory_is_created_when_missing() {
    let origin = Origin::refusing().await;
    let config = DiagnoseConfig::new(origin.addr());
    let dir = TempDir::new("bundle-nested");
    let nested = dir.path().join("ticket-123").join("origin");

    let bundle = write_bundle(&config, &nested, &[]).await;

    assert_exit_code(&bundle.outcome, 1);
    assert_common(&bundle, "127.0.0.1", "http");
}

#[tokio::test]
async fn second_bundle_into_the_same_directory_is_refused_and_the_first_left_untouched() {
    let origin = Origin::refusing().await;
    let config = DiagnoseConfig::new(origin.addr());
    let dir = TempDir::new("bundle-twice");
    let first = write_bundle(&config, dir.path(), &[]).await;
    let before: Vec<(String, std::time::SystemTime)> = FILES
        .iter()
        .map(|name| {
            let path = dir.path().join(name);
            let modified = fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("the file's mtime");
            (first.text(name), modified)
        })
        .collect();

    let second = bundle_run(&config, dir.path(), &[]).await;

    assert_exit_code(&second, EXIT_BAD_CONFIG);
    assert!(
        second.stdout.trim().is_empty(),
        "refused before diagnosing: {}",
        second.stdout
    );
    assert!(
        second.stderr.contains("already exists"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("summary.txt"), "{}", second.stderr);
    for (name, (text, modified)) in FILES.iter().zip(before) {
        let path = dir.path().join(name);
        assert_eq!(first.text(name), text, "{name} unchanged");
        assert_eq!(
            fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("the file's mtime"),
            modified,
            "{name} not rewritten"
        );
    }
}

#[tokio::test]
async fn bundle_directory_holding_one_bundle_file_is_refused() {
    let origin = Origin::refusing().await;
    let config = DiagnoseConfig::new(origin.addr());
    let dir = TempDir::new("bundle-one-file");
    dir.write("report.json", "{\"mine\": true}");

    let outcome = bundle_run(&config, dir.path(), &[]).await;

    assert_exit_code(&outcome, EXIT_BAD_CONFIG);
    assert!(outcome.stderr.contains("report.json"), "{}", outcome.stderr);
    assert_eq!(
        fs::read_to_string(dir.path().join("report.json")).expect("still there"),
        "{\"mine\": true}"
    );
    for name in ["summary.txt", "trace.txt", "diagnose.har"] {
        assert!(!dir.path().join(name).exists(), "{name} not written");
    }
}

#[tokio::test]
async fn bundle_path_that_is_a_file_is_refused() {
    let dir = TempDir::new("bundle-file");
    let file = dir.write("not-a-directory", "x");

    let outcome = run(&["diagnose", "127.0.0.1:1", "--bundle", path_arg(&file)]).await;

    assert_exit_code(&outcome, EXIT_BAD_CONFIG);
    assert_no_panic(&outcome);
    assert!(outcome.stdout.trim().is_empty(), "{}", outcome.stdout);
    assert!(
        outcome
            .stderr
            .contains("edgecase diagnose: cannot write into"),
        "{}",
        outcome.stderr
    );
}

#[tokio::test]
async fn bundle_for_a_missing_name_holds_the_530_with_error_1016() {
    let config = DiagnoseConfig::new("missing.test:80");
    let dir = TempDir::new("bundle-530");

    let bundle = write_bundle(&config, dir.path(), &[]).await;

    assert_exit_code(&bundle.outcome, 1);
    assert_common(&bundle, "missing.test", "http");
    let summary = bundle.text("summary.txt");
    assert!(
        summary.contains("530 Origin DNS error (error 1016)"),
        "{summary}"
    );
    assert!(summary.contains("dns_error"), "{summary}");
    let har = bundle.har();
    let entry = &har["log"]["entries"][0];
    assert_eq!(entry["response"]["status"], 530, "{entry}");
    assert_eq!(entry["_edgecaseCause"], "dns_error", "{entry}");
}

#[tokio::test]
async fn bundle_for_a_body_cut_short_records_the_origins_head_and_the_cause() {
    let origin = Origin::slow_body(b"x", true).await;
    let config = DiagnoseConfig::new(origin.addr()).read_ms(SHORT_MS);
    let dir = TempDir::new("bundle-body");

    let bundle = write_bundle(&config, dir.path(), &[]).await;

    assert_exit_code(&bundle.outcome, 1);
    assert_common(&bundle, "127.0.0.1", "http");
    assert!(
        bundle.text("summary.txt").contains("body_read_timeout"),
        "{}",
        bundle.text("summary.txt")
    );
    let har = bundle.har();
    let entries = har["log"]["entries"].as_array().expect("entries");
    assert_eq!(
        entries.len(),
        1,
        "no keep-alive request after a broken body"
    );
    assert_eq!(entries[0]["response"]["status"], 200, "{har}");
    assert_eq!(entries[0]["_originStatus"], 200, "{har}");
    assert_eq!(entries[0]["_edgecaseCause"], "body_read_timeout", "{har}");
    assert_eq!(entries[0]["response"]["content"]["text"], "x", "{har}");
}

#[tokio::test]
async fn the_bundle_har_is_sanitized_unless_capture_sanitize_is_false() {
    static HEADERS: [(&str, &str); 1] = [("set-cookie", "sid=diagcookie-5a1e; Path=/")];
    let origin = Origin::with_headers(200, &HEADERS, "hello").await;
    for sanitize in [true, false] {
        let config =
            DiagnoseConfig::new(origin.addr()).tail(&format!("[capture]\nsanitize = {sanitize}\n"));
        let dir = TempDir::new("bundle-sanitized");
        let bundle =
            write_bundle(&config, dir.path(), &["--path", "/s?token=diagtoken-77aa"]).await;
        assert_exit_code(&bundle.outcome, 0);
        let text = bundle.text("diagnose.har");
        let har = bundle.har();
        check_har(&har).unwrap_or_else(|e| panic!("diagnose.har is not HAR 1.2: {e}"));
        for secret in ["diagtoken-77aa", "diagcookie-5a1e"] {
            assert_eq!(
                text.contains(secret),
                !sanitize,
                "sanitize = {sanitize}: {secret} in diagnose.har:\n{text}"
            );
        }
        let entry = &har["log"]["entries"][0];
        assert_eq!(entry["response"]["cookies"][0]["name"], "sid", "{entry}");
        let comment = har["log"]["comment"].as_str().unwrap_or_default();
        assert_eq!(
            comment.starts_with("sanitized by edgecase"),
            sanitize,
            "{comment:?}"
        );
    }
}
