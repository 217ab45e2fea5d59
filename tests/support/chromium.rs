//! Headless Chromium for the browser tests: finding Debian's `chromium` (or
//! `chromium-browser`) on PATH ([`find`]), the DOM it builds from a URL once the page has
//! loaded and its scripts have run ([`dump_dom`]), and a screenshot of it ([`screenshot`]). `.ci/run` installs it; a test without it
//! says so on stderr ([`skip_notice`]) and passes.
//!
//! Each run gets its own profile in a [`TempDir`], so runs share no state (cookies, cache).

#![allow(dead_code)]

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::pki::TempDir;

/// How long Chromium may take to load and dump a page before it is killed.
pub const BROWSER_LIMIT: Duration = Duration::from_secs(30);

/// `chromium` or `chromium-browser` from PATH.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("chromium"), dir.join("chromium-browser")])
        .find(|candidate| candidate.is_file())
}

/// Says on stderr that a browser test did not run.
pub fn skip_notice() {
    eprintln!("skipped: chromium not installed (.ci/run installs Debian's chromium)");
}

/// Headless Chromium with a fresh profile in `dir`, its stderr going to the returned log file.
fn headless(browser: &Path, dir: &TempDir) -> (Command, PathBuf) {
    let profile = dir.path().join("profile");
    let log = dir.path().join("chromium.log");
    let stderr = File::create(&log).expect("create the browser's log file");
    let mut command = Command::new(browser);
    command
        .args(["--headless=new", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--no-first-run", "--hide-scrollbars"])
        .stdin(Stdio::null())
        .stderr(Stdio::from(stderr));
    (command, log)
}

/// The DOM Chromium builds from `url`, serialized (`--dump-dom`), with `extra` flags (a
/// `--window-size`, a `--virtual-time-budget`). Killed after [`BROWSER_LIMIT`]. Blocking: call
/// it from `spawn_blocking`.
pub fn dump_dom(browser: &Path, url: &str, extra: &[&str], dir: &TempDir) -> String {
    let (mut command, log) = headless(browser, dir);
    let mut child = command
        .args(extra)
        .args(["--dump-dom", url])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", browser.display()));
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (done, dumped) = mpsc::channel();
    std::thread::spawn(move || {
        let mut dom = String::new();
        let read = stdout.read_to_string(&mut dom).map(|_| dom);
        let _ = done.send(read);
    });
    let dom = match dumped.recv_timeout(BROWSER_LIMIT) {
        Ok(read) => read.expect("read the dumped DOM"),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not dump {url} within {BROWSER_LIMIT:?}; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
    };
    let status = child.wait().expect("wait for chromium");
    assert!(
        status.success() && !dom.is_empty(),
        "chromium exited {status} with {} bytes; its log:\n{}",
        dom.len(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    dom
}

/// A PNG of `url` as a `width` x `height` window shows it once loaded (`--screenshot`), written
/// to `file`, with `extra` flags. Killed after [`BROWSER_LIMIT`]. Blocking: call it from
/// `spawn_blocking`.
pub fn screenshot(
    browser: &Path,
    url: &str,
    (width, height): (u32, u32),
    file: &Path,
    extra: &[&str],
    dir: &TempDir,
) {
    let (mut command, log) = headless(browser, dir);
    let mut child = command
        .arg(format!("--window-size={width},{height}"))
        .args(extra)
        .arg(format!("--screenshot={}", file.display()))
        .arg(url)
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", browser.display()));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll chromium") {
            break status;
        }
        if started.elapsed() > BROWSER_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not screenshot {url} within {BROWSER_LIMIT:?}; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success() && file.is_file(),
        "chromium exited {status} without {}; its log:\n{}",
        file.display(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// The text of the element whose opening tag is exactly `open` (e.g. `<pre id="report">`), with
/// the entities the serializer writes in text (`&amp;`, `&lt;`, `&gt;`, `&nbsp;`) undone.
pub fn text_of(dom: &str, open: &str) -> Option<String> {
    let start = dom.find(open)? + open.len();
    let len = dom[start..].find("</")?;
    Some(
        dom[start..start + len]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&nbsp;", "\u{a0}")
            .replace("&amp;", "&"),
    )
}

/// The window the layout tests load their measuring wrapper in: wide enough for the widest
/// iframe it holds.
pub const MEASURING_WINDOW: &str = "--window-size=1400,1000";

/// `html` served as a page from 127.0.0.1 port 0, for the browser to load. The body is
/// leaked: the origin serves a `'static` one, and a test serves a handful of pages at most.
pub async fn serve_page(html: String) -> crate::support::origins::Origin {
    let html: &'static str = Box::leak(html.into_boxed_str());
    crate::support::origins::Origin::with_headers(
        200,
        &[("content-type", "text/html; charset=utf-8")],
        html,
    )
    .await
}

/// What the page at `url` measured of itself: the JSON it writes into `<pre id="measured">`,
/// loaded in a [`MEASURING_WINDOW`] with `extra` flags, with a profile in a temp dir named
/// after `test`.
pub async fn measurements(
    browser: PathBuf,
    url: String,
    extra: Vec<String>,
    test: &'static str,
) -> serde_json::Value {
    let dir = TempDir::new(test);
    let dom = tokio::task::spawn_blocking(move || {
        let mut flags: Vec<&str> = extra.iter().map(String::as_str).collect();
        flags.push(MEASURING_WINDOW);
        dump_dom(&browser, &url, &flags, &dir)
    })
    .await
    .expect("the browser thread did not panic");
    let text = text_of(&dom, "<pre id=\"measured\">")
        .unwrap_or_else(|| panic!("no measurements in the DOM:\n{dom}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("measurements ({e}): {text}"))
}

/// A page that shows each of `pages` (name, HTML) in one `iframe.measured` per width of
/// `widths` (`data-page`, `data-width`, that many CSS px wide and high), then runs `script`,
/// which measures them into `<pre id="measured">` once they have loaded.
pub fn measuring_page(pages: &[(&str, &str)], widths: &[(u32, u32)], script: &str) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>layout</title>\
         <style>body{margin:0}iframe{display:block;border:0}</style></head><body>",
    );
    for (name, page) in pages {
        // Escaped for the double-quoted `srcdoc` attribute.
        let srcdoc = page.replace('&', "&amp;").replace('"', "&quot;");
        for (width, height) in widths {
            html.push_str(&format!(
                "<iframe class=\"measured\" data-page=\"{name}\" data-width=\"{width}\" \
                 style=\"width:{width}px;height:{height}px\" srcdoc=\"{srcdoc}\"></iframe>"
            ));
        }
    }
    html.push_str("<pre id=\"measured\"></pre><script>");
    html.push_str(script);
    html.push_str("</script></body></html>");
    html
}
