//! The real cloudscraper (PyPI) recognises edgecase's 1020 page as Cloudflare's firewall block.
//! cloudscraper decides "Cloudflare has blocked this request (Code 1020 Detected)" in
//! `Cloudflare.is_Firewall_Blocked` (cloudscraper/cloudflare.py, 1.2.71): status 403, a
//! `Server` header starting with "cloudflare" and `<span class="cf-error-code">1020</span>` in
//! the body; `CloudScraper.request` then raises `CloudflareCode1020`. A small Python script
//! asks both (the detector on a response, and a scraper's request) about each URL:
//! `/cdn-cgi/error/1020` and a fault rule answering 1020 must be blocks, and pages that are not
//! (the origin's 200, a 522, the 1016 page) must not.
//!
//! `.ci/run` installs cloudscraper; without python3 or the module the test says so on stderr
//! and passes.
mod support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use edgecase::{EdgeBuilder, FaultSpec};

use support::faults::start;
use support::origins::Origin;
use support::visitor::within;

/// How long the script may take for all its requests (each has its own 10 s timeout).
const SCRIPT_LIMIT: Duration = Duration::from_secs(60);

/// For each URL of `argv`, asks cloudscraper twice: its detector itself
/// (`Cloudflare.is_Firewall_Blocked` on the response of a scraper with the detection turned
/// off), and a normal scraper's request (which raises `CloudflareCode1020` when the detector
/// fires). Prints `<url> <status> <detector: block|none> <request: 1020|none>`.
const SCRIPT: &str = r#"
import sys
import cloudscraper
from cloudscraper.cloudflare import Cloudflare
from cloudscraper.exceptions import CloudflareCode1020

for url in sys.argv[1:]:
    response = cloudscraper.create_scraper(disableCloudflareV1=True).get(url, timeout=10)
    detector = "block" if Cloudflare.is_Firewall_Blocked(response) else "none"
    try:
        cloudscraper.create_scraper().get(url, timeout=10)
        request = "none"
    except CloudflareCode1020:
        request = "1020"
    print(url, response.status_code, detector, request, flush=True)
"#;

/// Whether `python3` runs and can import cloudscraper; says why not on stderr.
fn cloudscraper_available() -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import cloudscraper"])
        .stdin(Stdio::null())
        .output();
    match probe {
        Err(e) => {
            eprintln!("skipped: python3 not found ({e}); .ci/run installs cloudscraper for it");
            false
        }
        Ok(out) if !out.status.success() => {
            eprintln!(
                "skipped: python3 cannot import cloudscraper (.ci/run installs it with \
                 `python3 -m pip install cloudscraper`): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            false
        }
        Ok(_) => true,
    }
}

/// Runs [`SCRIPT`] on `urls`, with loopback never sent through a proxy.
fn run_script(urls: Vec<String>) -> Output {
    Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(urls)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .output()
        .expect("run python3")
}

#[tokio::test]
async fn cloudscraper_detects_the_1020_block_of_the_test_endpoint_and_of_a_fault_rule() {
    if !cloudscraper_available() {
        return;
    }
    let origin = Origin::ok("origin body").await;
    let edge = start(
        EdgeBuilder::new()
            .origin(origin.addr().to_string())
            .fault(FaultSpec::status(403).code(1020).path_prefix("/blocked/"))
            .fault(
                FaultSpec::status(522)
                    .delay(Duration::ZERO)
                    .path_prefix("/down/"),
            ),
    )
    .await;
    let base = format!("http://{}", edge.addr());
    let cases = [
        ("/cdn-cgi/error/1020", "403 block 1020"),
        ("/blocked/checkout", "403 block 1020"),
        ("/", "200 none none"),
        ("/down/", "522 none none"),
        ("/cdn-cgi/error/1016", "530 none none"),
    ];
    let urls: Vec<String> = cases
        .iter()
        .map(|(path, _)| format!("{base}{path}"))
        .collect();
    let ran = within(
        SCRIPT_LIMIT,
        tokio::task::spawn_blocking(move || run_script(urls)),
    )
    .await
    .expect("the script thread did not panic");
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(
        ran.status.success(),
        "the script failed ({}): {stdout}\n{}",
        ran.status,
        String::from_utf8_lossy(&ran.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one line per URL: {stdout}");
    for ((path, expected), line) in cases.iter().zip(lines) {
        assert_eq!(
            line,
            format!("{base}{path} {expected}"),
            "what cloudscraper made of {path}"
        );
    }
    assert_eq!(
        origin.requests().len(),
        2,
        "only the two requests for `/` reached the origin: the block and the 522 are the edge's"
    );
    edge.shutdown().await.expect("the edge shuts down");
}
