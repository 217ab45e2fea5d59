//! Custom error pages (`[pages] dir`) through an in-process edge and `edgecase --check`: the
//! customer's `500s.html` serves a 522 with Cloudflare's box and every token filled in, and
//! nothing else of the template changed; 500 and 503 keep the built-in pages; a 530 uses
//! `1000s.html` with error 1016; a JSON Accept still gets the structured error; a template
//! without its box, or a directory with neither template, stops `--check` with exit 2 naming
//! `pages.dir`; the shipped examples in `config/pages/` pass.
mod support;

use std::net::SocketAddr;
use std::path::Path;

use bytes::Bytes;
use edgecase::EdgeHandle;
use http::{Request, header};
use http_body_util::Empty;
use serde_json::Value;

use support::binary::{EXIT_BAD_CONFIG, Outcome, assert_exit_code, assert_no_panic, path_arg, run};
use support::observe::{edge_toml, ray_hex, start, toml_path};
use support::origins::Origin;
use support::pki::TempDir;
use support::visitor::{Response, send, within};
use support::{GUARD, assert_error_page};

/// The Host every visitor sends.
const HOST: &str = "shop.test";

/// A "500 class errors" template using every token; the marker tells it from the built-in.
const SERVER_ERRORS: &str = "<!DOCTYPE html>\n<html><head><title>Acme | trouble</title></head>\n\
    <body><p class=\"acme\">ACME-500S-TEMPLATE</p>\n::CLOUDFLARE_ERROR_500S_BOX::\n\
    <footer>ray ::RAY_ID:: for ::CLIENT_IP:: near ::GEO:: (again: ::RAY_ID::)</footer>\n\
    </body></html>\n";

/// A 1xxx template using every token.
const NUMBERED: &str = "<!DOCTYPE html>\n<html><head><title>Acme | blocked</title></head>\n\
    <body><p class=\"acme\">ACME-1000S-TEMPLATE</p>\n::CLOUDFLARE_ERROR_1000S_BOX::\n\
    <footer>ray ::RAY_ID:: for ::CLIENT_IP:: near ::GEO::</footer>\n</body></html>\n";

/// The tokens, none of which may be left in a page.
const TOKENS: [&str; 5] = [
    "::CLOUDFLARE_ERROR_500S_BOX::",
    "::CLOUDFLARE_ERROR_1000S_BOX::",
    "::RAY_ID::",
    "::CLIENT_IP::",
    "::GEO::",
];

/// `GET path` with `Host: HOST` and `Accept: accept`.
async fn visit(edge: SocketAddr, path: &str, accept: &str) -> Response {
    let request = Request::get(path)
        .header(header::HOST, HOST)
        .header(header::ACCEPT, accept)
        .body(Empty::<Bytes>::new())
        .expect("a valid test request");
    within(GUARD, send(edge, request)).await
}

/// `template` with its informational tokens filled for `hex`, 127.0.0.1 and Paris (CDG), split
/// around its `box_token`: what a page must start and end with.
fn expected_around_box(template: &str, box_token: &str, hex: &str) -> (String, String) {
    let filled = template
        .replace("::RAY_ID::", hex)
        .replace("::CLIENT_IP::", "127.0.0.1")
        .replace("::GEO::", "Paris");
    let (before, after) = filled
        .split_once(box_token)
        .expect("the template has its box");
    (before.to_owned(), after.to_owned())
}

/// Asserts no placeholder is left in `page`.
#[track_caller]
fn assert_no_token_left(page: &str) {
    for token in TOKENS {
        assert!(!page.contains(token), "{token} left in the page:\n{page}");
    }
}

/// Asserts each of `parts` is in the page's `error_box`.
#[track_caller]
fn assert_box_contains(error_box: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            error_box.contains(part),
            "{part:?} in the box:\n{error_box}"
        );
    }
}

/// An edge in front of `ok` with both templates in `dir`, and routes to a 522 (`blackhole`),
/// a 530 (`/nodns`), Cloudflare's own 503 (`/edge503`) and a 500 (`/status500`).
async fn start_with_templates(ok: &Origin, blackhole: &Origin, dir: &TempDir) -> EdgeHandle {
    dir.write("500s.html", SERVER_ERRORS);
    dir.write("1000s.html", NUMBERED);
    let rest = format!(
        "[pages]\ndir = {}\n\
         [[route]]\npath_prefix = \"/blackhole\"\norigin = \"{}\"\n\
         [[route]]\npath_prefix = \"/nodns\"\norigin = \"nowhere.test:80\"\n\
         [[fault]]\npath_prefix = \"/edge503\"\nedge = 503\n\
         [[fault]]\npath_prefix = \"/status500\"\nstatus = 500\n",
        toml_path(dir.path()),
        blackhole.addr()
    );
    start(&edge_toml(ok.addr(), 150, 2000, "access = \"off\"", &rest)).await
}

/// Asserts the 522 `res` for a browser is `500s.html`, with the box and every token filled
/// in and nothing else changed.
#[track_caller]
fn assert_templated_522(res: &Response) {
    let ray = assert_error_page(res, 522);
    let hex = ray_hex(&ray);
    let page = res.text();
    assert_no_token_left(&page);
    let (before, after) = expected_around_box(SERVER_ERRORS, "::CLOUDFLARE_ERROR_500S_BOX::", hex);
    assert!(
        page.starts_with(&before),
        "the template's start, as written:\n{page}"
    );
    assert!(
        page.ends_with(&after),
        "the template's end, tokens filled:\n{page}"
    );
    let error_box = &page[before.len()..page.len() - after.len()];
    assert_box_contains(
        error_box,
        &[
            "522",
            "Connection timed out",
            &format!("Ray ID: {hex}"),
            "Your IP address: 127.0.0.1",
            "Error reference number: 522",
            "Cloudflare Location: Paris",
        ],
    );
    assert!(
        !page.contains("cf-host-status"),
        "not the built-in page with its diagram:\n{page}"
    );
}

/// Asserts the 522 `res` for a JSON Accept is Cloudflare's structured error, no template.
#[track_caller]
fn assert_structured_522(res: &Response) {
    assert_eq!(res.status(), 522, "{}", res.text());
    assert!(
        res.header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        res.headers()
    );
    let body: Value =
        serde_json::from_slice(&res.body).unwrap_or_else(|e| panic!("JSON ({e}): {}", res.text()));
    assert_eq!(body["status"], 522, "{body}");
    assert_eq!(body["error_code"], 522, "{body}");
    assert!(!res.text().contains("ACME"), "{body}");
}

/// Asserts the 530 `res` is `1000s.html` with error 1016, its box and tokens filled in.
#[track_caller]
fn assert_templated_1016(res: &Response) {
    let ray = assert_error_page(res, 530);
    let hex = ray_hex(&ray);
    let page = res.text();
    assert_no_token_left(&page);
    let (before, after) = expected_around_box(NUMBERED, "::CLOUDFLARE_ERROR_1000S_BOX::", hex);
    assert!(page.starts_with(&before), "{page}");
    assert!(page.ends_with(&after), "{page}");
    let error_box = &page[before.len()..page.len() - after.len()];
    assert_box_contains(
        error_box,
        &[
            "Error reference number: 1016",
            &format!("Ray ID: {hex}"),
            "Your IP address: 127.0.0.1",
            "Cloudflare Location: Paris",
            HOST,
        ],
    );
    assert!(!page.contains("ACME-500S"), "{page}");
}

#[tokio::test]
async fn custom_templates_serve_522_and_530_and_built_in_pages_stay_for_500_and_503() {
    let ok = Origin::ok("fine").await;
    let blackhole = Origin::blackhole().await;
    let dir = TempDir::new("pages_serve");
    let edge = start_with_templates(&ok, &blackhole, &dir).await;

    // 522 for a browser: the template, with the box and every token filled in.
    let res = visit(edge.addr(), "/blackhole/x", "text/html").await;
    assert_templated_522(&res);

    // The same failure asking for JSON: Cloudflare's structured error, no template.
    let res = visit(edge.addr(), "/blackhole/y", "application/json").await;
    assert_structured_522(&res);

    // Cloudflare's own 503: the unbranded built-in page.
    let res = visit(edge.addr(), "/edge503", "text/html").await;
    assert_eq!(res.status(), 503, "{}", res.text());
    let page = res.text();
    assert!(
        page.contains("<title>503 Service Unavailable</title>"),
        "{page}"
    );
    assert!(page.contains("<center>cloudflare</center>"), "{page}");
    assert!(!page.contains("ACME"), "500s.html is not for 503:\n{page}");

    // A 500: the built-in branded page.
    let res = visit(edge.addr(), "/status500", "text/html").await;
    assert_error_page(&res, 500);
    let page = res.text();
    assert!(page.contains("Error code 500"), "{page}");
    assert!(!page.contains("ACME"), "500s.html is not for 500:\n{page}");

    // 530 (origin DNS error): 1000s.html with error 1016.
    let res = visit(edge.addr(), "/nodns", "text/html").await;
    assert_templated_1016(&res);

    // And a request the origin answers is untouched.
    let res = visit(edge.addr(), "/", "text/html").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "fine");
}

#[tokio::test]
async fn only_the_1000s_template_leaves_5xx_errors_on_the_built_in_page() {
    let blackhole = Origin::blackhole().await;
    let dir = TempDir::new("pages_numbered_only");
    dir.write("1000s.html", NUMBERED);
    let rest = format!("[pages]\ndir = {}\n", toml_path(dir.path()));
    let edge = start(&edge_toml(
        blackhole.addr(),
        100,
        2000,
        "access = \"off\"",
        &rest,
    ))
    .await;
    let res = visit(edge.addr(), "/", "text/html").await;
    assert_error_page(&res, 522);
    let page = res.text();
    assert!(page.contains("cf-host-status"), "the built-in 522:\n{page}");
    assert!(!page.contains("ACME"), "{page}");
}

/// `edgecase --check --config FILE` with `[pages] dir = dir`.
async fn check_pages(config_dir: &TempDir, dir: &str) -> (Outcome, String) {
    let file = config_dir.write(
        "edgecase.toml",
        &format!("[dns]\nsystem = false\n[pages]\ndir = {dir}\n"),
    );
    let outcome = run(&["--check", "--config", path_arg(&file)]).await;
    (outcome, file.display().to_string())
}

/// Asserts exit 2 with one problem, on `pages.dir`, whose line contains each of `parts`.
#[track_caller]
fn assert_pages_rejected(outcome: &Outcome, file: &str, parts: &[&str]) {
    assert_exit_code(outcome, EXIT_BAD_CONFIG);
    assert_no_panic(outcome);
    let prefix = format!("edgecase: {file}: pages.dir: ");
    let lines: Vec<&str> = outcome
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one problem:\n{}", outcome.stderr);
    assert!(
        lines[0].starts_with(&prefix),
        "{:?} starts {prefix:?}",
        lines[0]
    );
    for part in parts {
        assert!(lines[0].contains(part), "{part:?} in {:?}", lines[0]);
    }
}

#[tokio::test]
async fn check_rejects_a_template_without_its_box_naming_pages_dir_and_the_placeholder() {
    let config_dir = TempDir::new("pages_no_box");
    let pages = config_dir.path().join("pages");
    std::fs::create_dir(&pages).expect("create the pages dir");
    // The informational tokens are there, the required box is not.
    std::fs::write(
        pages.join("500s.html"),
        "<html><body>::RAY_ID:: ::CLIENT_IP::</body></html>",
    )
    .expect("write 500s.html");
    let (outcome, file) = check_pages(&config_dir, &toml_path(&pages)).await;
    assert_pages_rejected(
        &outcome,
        &file,
        &["500s.html", "::CLOUDFLARE_ERROR_500S_BOX::"],
    );

    // The other template's box does not count.
    std::fs::remove_file(pages.join("500s.html")).expect("remove 500s.html");
    std::fs::write(
        pages.join("1000s.html"),
        "<html><body>::CLOUDFLARE_ERROR_500S_BOX::</body></html>",
    )
    .expect("write 1000s.html");
    let (outcome, file) = check_pages(&config_dir, &toml_path(&pages)).await;
    assert_pages_rejected(
        &outcome,
        &file,
        &["1000s.html", "::CLOUDFLARE_ERROR_1000S_BOX::"],
    );
}

#[tokio::test]
async fn check_rejects_a_pages_dir_without_templates_and_a_missing_one() {
    let config_dir = TempDir::new("pages_empty");
    let empty = config_dir.path().join("empty");
    std::fs::create_dir(&empty).expect("create the empty dir");
    std::fs::write(empty.join("index.html"), "<html></html>").expect("write a stray file");
    let (outcome, file) = check_pages(&config_dir, &toml_path(&empty)).await;
    assert_pages_rejected(&outcome, &file, &["500s.html", "1000s.html"]);

    let missing = config_dir.path().join("no-such-dir");
    let (outcome, file) = check_pages(&config_dir, &toml_path(&missing)).await;
    assert_pages_rejected(&outcome, &file, &["no-such-dir"]);
}

#[tokio::test]
async fn check_accepts_the_shipped_examples_and_a_dir_relative_to_the_config() {
    let config_dir = TempDir::new("pages_ok");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/pages");
    let (outcome, file) = check_pages(&config_dir, &toml_path(&shipped)).await;
    assert_exit_code(&outcome, 0);
    assert_eq!(
        outcome.stdout.trim(),
        format!("edgecase: {file}: config is valid")
    );

    let pages = config_dir.path().join("pages");
    std::fs::create_dir(&pages).expect("create the pages dir");
    std::fs::write(pages.join("500s.html"), SERVER_ERRORS).expect("write 500s.html");
    let (outcome, _) = check_pages(&config_dir, "\"pages\"").await;
    assert_exit_code(&outcome, 0);
}
