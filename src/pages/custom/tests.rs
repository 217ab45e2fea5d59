//! Tests of custom error pages: loading and rejecting templates, which errors use which
//! template, and token substitution.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::config::pages::CustomPagesError;
use crate::pages::Hop;
use crate::ray::{Colo, RayId};

const RAY: u64 = 0x230b_0300_23ae_2822;
const HEX: &str = "230b030023ae2822";

/// A directory under the temp dir, unique to one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "edgecase-custom-pages-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // A leftover from a crashed run with the same pid would hold stale files.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir created");
        TempDir(path)
    }

    fn with(files: &[(&str, &[u8])]) -> TempDir {
        let dir = TempDir::new();
        for (name, contents) in files {
            std::fs::write(dir.0.join(name), contents).expect("template written");
        }
        dir
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ctx(host: &str) -> PageContext<'_> {
    PageContext {
        host,
        ray: RayId::new(RAY, Colo::DEFAULT),
        client_ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        at: UNIX_EPOCH + Duration::from_secs(1_725_552_998),
        retry_after: false,
    }
}

fn branded(status: u16) -> PageKind {
    PageKind::Branded {
        status,
        failing: Hop::Host,
    }
}

fn numbered(status: u16, code: u16) -> PageKind {
    PageKind::Numbered { status, code }
}

/// Loads templates from a fresh temp dir.
fn pages(files: &[(&str, &str)]) -> CustomPages {
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, text)| (*name, text.as_bytes()))
        .collect();
    let dir = TempDir::with(&files);
    CustomPages::load(dir.path()).expect("templates load")
}

fn load_error(files: &[(&str, &[u8])]) -> (CustomPagesError, PathBuf) {
    let dir = TempDir::with(files);
    let error = match CustomPages::load(dir.path()) {
        Ok(_) => panic!("templates {files:?} should be rejected"),
        Err(error) => error,
    };
    (error, dir.path().to_path_buf())
}

const BOX_500S: &str = "::CLOUDFLARE_ERROR_500S_BOX::";
const BOX_1000S: &str = "::CLOUDFLARE_ERROR_1000S_BOX::";

#[test]
fn server_error_template_gets_the_box_and_every_token() {
    let pages = pages(&[(
        "500s.html",
        "<title>Oops ::RAY_ID::</title>::CLOUDFLARE_ERROR_500S_BOX::\
         <p>ip=::CLIENT_IP:: ray=::RAY_ID:: geo=::GEO::</p>",
    )]);
    let page = pages
        .render(branded(522), &ctx("shop.example"))
        .expect("522 uses 500s.html");
    let expected_box = "<div class=\"cf-error-details cf-error-522\">\n\
        <h1>Connection timed out</h1>\n\
        <p>Cloudflare tried to connect to the web server, but the connection did not complete \
        in time.</p>\n\
        <ul>\n\
        <li>Ray ID: 230b030023ae2822</li>\n\
        <li>Your IP address: 203.0.113.7</li>\n\
        <li>Error reference number: 522</li>\n\
        <li>Cloudflare Location: Paris</li>\n\
        </ul>\n\
        </div>";
    assert_eq!(
        page,
        format!(
            "<title>Oops {HEX}</title>{expected_box}\
             <p>ip=203.0.113.7 ray={HEX} geo=Paris</p>"
        )
    );
}

#[test]
fn numbered_template_box_shows_the_1xxx_code_and_the_host() {
    let pages = pages(&[(
        "1000s.html",
        "<main>::CLOUDFLARE_ERROR_1000S_BOX::</main><footer>::GEO::</footer>",
    )]);
    let page = pages
        .render(numbered(530, 1016), &ctx("shop.example"))
        .expect("1xxx uses 1000s.html");
    assert!(page.starts_with("<main><div class=\"cf-error-details cf-error-1016\">\n"));
    assert!(page.contains("<h1>Origin DNS error</h1>\n"));
    assert!(page.contains(
        "<p>You asked for a page of shop.example, a website on the Cloudflare network. \
         Cloudflare could not look up the address of the web server"
    ));
    assert!(page.contains("<li>Error reference number: 1016</li>"));
    assert!(page.contains("<li>Ray ID: 230b030023ae2822</li>"));
    assert!(page.contains("<li>Your IP address: 203.0.113.7</li>"));
    assert!(page.ends_with("</ul>\n</div></main><footer>Paris</footer>"));

    let forbidden = pages
        .render(numbered(403, 1000), &ctx(""))
        .expect("403/1000 uses 1000s.html");
    assert!(forbidden.contains("<h1>DNS points to prohibited IP</h1>"));
    assert!(forbidden.contains("Error reference number: 1000<"));
    assert!(
        !forbidden.contains("You asked for"),
        "no host, no host sentence"
    );
}

#[test]
fn every_occurrence_is_replaced_and_unknown_tokens_stay() {
    let pages = pages(&[(
        "500s.html",
        "::RAY_ID::::RAY_ID:: :::RAY_ID:: ::ray_id:: ::FOO:: a::b ::CLIENT_IP ::\
         ::CLOUDFLARE_ERROR_1000S_BOX::|::CLOUDFLARE_ERROR_500S_BOX::|::CLOUDFLARE_ERROR_500S_BOX::",
    )]);
    let page = pages
        .render(branded(502), &ctx("example.com"))
        .expect("502 uses 500s.html");
    let (tokens, boxes) = page.split_once('|').expect("kept the separator");
    assert_eq!(
        tokens,
        format!(
            "{HEX}{HEX} :{HEX} ::ray_id:: ::FOO:: a::b ::CLIENT_IP ::\
             ::CLOUDFLARE_ERROR_1000S_BOX::"
        )
    );
    assert_eq!(boxes.matches("<div class=\"cf-error-details").count(), 2);
    assert!(!boxes.contains(BOX_500S));
}

#[test]
fn visitor_supplied_host_is_escaped() {
    let pages = pages(&[("1000s.html", BOX_1000S)]);
    let page = pages
        .render(numbered(530, 1033), &ctx("<b>bold</b>&\"'"))
        .expect("1xxx uses 1000s.html");
    assert!(page.contains("page of &lt;b&gt;bold&lt;/b&gt;&amp;&quot;&#39;, a website"));
    assert!(!page.contains("<b>"));
}

#[test]
fn replacements_are_never_scanned_for_tokens() {
    let pages = pages(&[("1000s.html", "::CLOUDFLARE_ERROR_1000S_BOX:: ::RAY_ID::")]);
    let page = pages
        .render(numbered(530, 1016), &ctx("::RAY_ID::.::CLIENT_IP::"))
        .expect("1xxx uses 1000s.html");
    assert!(page.contains("page of ::RAY_ID::.::CLIENT_IP::, a website"));
    // The box's "Ray ID" line and the template's own token; none from the host.
    assert_eq!(page.matches(HEX).count(), 2);
    assert_eq!(page.matches("203.0.113.7").count(), 1);
}

#[test]
fn geo_falls_back_to_the_colo_code() {
    let pages = pages(&[("500s.html", "::CLOUDFLARE_ERROR_500S_BOX::[::GEO::]")]);
    let elsewhere = PageContext {
        ray: RayId::new(RAY, "ZZZ".parse().expect("valid colo")),
        ..ctx("example.com")
    };
    let page = pages
        .render(branded(524), &elsewhere)
        .expect("524 uses 500s.html");
    assert!(page.ends_with("<li>Cloudflare Location: ZZZ</li>\n</ul>\n</div>[ZZZ]"));
    let san_jose = PageContext {
        ray: RayId::new(RAY, "SJC".parse().expect("valid colo")),
        ..ctx("example.com")
    };
    let page = pages
        .render(branded(524), &san_jose)
        .expect("524 uses 500s.html");
    assert!(page.ends_with("[San Jose]"));
}

#[test]
fn each_kind_uses_its_template_or_falls_back() {
    let both = pages(&[("500s.html", BOX_500S), ("1000s.html", BOX_1000S)]);
    let ctx = ctx("example.com");
    for status in [502, 504, 520, 521, 522, 523, 524, 525, 526, 527] {
        let page = both
            .render(branded(status), &ctx)
            .unwrap_or_else(|| panic!("{status} uses 500s.html"));
        assert!(
            page.contains(&format!("Error reference number: {status}<")),
            "{status}"
        );
    }
    for status in [500, 501, 503, 505] {
        assert_eq!(both.render(branded(status), &ctx), None, "{status}");
    }
    for status in [502, 503, 504, 520] {
        assert_eq!(
            both.render(PageKind::Unbranded { status }, &ctx),
            None,
            "unbranded {status}"
        );
    }
    assert!(both.render(numbered(530, 1016), &ctx).is_some());
    assert!(both.render(numbered(403, 1000), &ctx).is_some());

    let only_1000s = pages(&[("1000s.html", BOX_1000S)]);
    assert_eq!(only_1000s.render(branded(522), &ctx), None);
    assert!(only_1000s.render(numbered(530, 1033), &ctx).is_some());
    let only_500s = pages(&[("500s.html", BOX_500S)]);
    assert!(only_500s.render(branded(522), &ctx).is_some());
    assert_eq!(only_500s.render(numbered(530, 1033), &ctx), None);
}

#[test]
fn template_without_its_box_is_rejected_naming_file_and_placeholder() {
    // The 1000s box does not count in 500s.html.
    let (error, dir) = load_error(&[("500s.html", BOX_1000S.as_bytes())]);
    let path = dir.join("500s.html");
    assert!(
        matches!(&error, CustomPagesError::MissingBox { path: p, placeholder }
            if *p == path && *placeholder == BOX_500S),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: the ::CLOUDFLARE_ERROR_500S_BOX:: placeholder is missing; Cloudflare rejects \
             a template without it",
            path.display()
        )
    );

    let (error, dir) = load_error(&[
        ("500s.html", BOX_500S.as_bytes()),
        ("1000s.html", b"<p>::RAY_ID::</p>"),
    ]);
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: ", dir.join("1000s.html").display())),
        "{message}"
    );
    assert!(
        message.contains("::CLOUDFLARE_ERROR_1000S_BOX::"),
        "{message}"
    );
}

#[test]
fn directory_without_templates_is_rejected() {
    let (error, dir) = load_error(&[("404.html", b"not a template")]);
    assert!(
        matches!(&error, CustomPagesError::NoTemplates { dir: d } if *d == dir),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: has neither 500s.html nor 1000s.html; at least one is needed",
            dir.display()
        )
    );
}

#[test]
fn non_utf8_template_is_rejected_with_the_offset() {
    let mut bytes = BOX_500S.as_bytes().to_vec();
    bytes.extend_from_slice(b" caf\xe9");
    let (error, dir) = load_error(&[("500s.html", &bytes)]);
    assert!(
        matches!(&error, CustomPagesError::NotUtf8 { offset, .. } if *offset == BOX_500S.len() + 4),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: not UTF-8 (invalid bytes at offset 33)",
            dir.join("500s.html").display()
        )
    );
}

#[test]
fn oversized_template_is_rejected_and_the_limit_itself_loads() {
    let limit = usize::try_from(CustomPages::MAX_TEMPLATE_BYTES).expect("the limit fits in memory");
    let mut at_limit = BOX_1000S.as_bytes().to_vec();
    at_limit.resize(limit, b' ');
    let dir = TempDir::with(&[("1000s.html", &at_limit)]);
    assert!(
        CustomPages::load(dir.path()).is_ok(),
        "exactly the limit loads"
    );

    at_limit.push(b' ');
    let (error, dir) = load_error(&[("1000s.html", &at_limit)]);
    assert!(
        matches!(&error, CustomPagesError::TooLarge { limit, .. } if *limit == CustomPages::MAX_TEMPLATE_BYTES),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: larger than 1048576 bytes",
            dir.join("1000s.html").display()
        )
    );
}

#[test]
fn missing_directory_is_rejected() {
    let dir = TempDir::new();
    let missing = dir.path().join("no-such-dir");
    let error = match CustomPages::load(&missing) {
        Ok(_) => panic!("a missing dir should be rejected"),
        Err(error) => error,
    };
    assert!(
        matches!(&error, CustomPagesError::UnreadableDir { dir: d, error }
            if *d == missing && error.kind() == io::ErrorKind::NotFound),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(&format!(
            "{}: cannot read the directory: ",
            missing.display()
        )),
        "{error}"
    );
}

#[test]
fn unreadable_template_is_rejected() {
    // A directory where the file should be: it exists, but does not read.
    let dir = TempDir::new();
    std::fs::create_dir(dir.path().join("500s.html")).expect("dir created");
    let error = match CustomPages::load(dir.path()) {
        Ok(_) => panic!("a directory is no template"),
        Err(error) => error,
    };
    assert!(
        matches!(&error, CustomPagesError::Unreadable { path, .. }
            if *path == dir.path().join("500s.html")),
        "{error:?}"
    );
}

/// The example templates shipped in `config/pages`.
fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/pages")
}

#[test]
fn example_templates_load_and_use_every_token() {
    let dir = example_dir();
    let pages = CustomPages::load(&dir).expect("the examples load");
    for name in ["500s.html", "1000s.html"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("example readable");
        for token in ["::CLIENT_IP::", "::RAY_ID::", "::GEO::"] {
            assert!(text.contains(token), "{name} uses {token}");
        }
        assert!(text.starts_with("<!DOCTYPE html>"), "{name}");
        assert!(!text.contains("src="), "{name} is self-contained");
        assert!(!text.contains("<link"), "{name} is self-contained");
        assert!(!text.contains("url("), "{name} is self-contained");
    }
    let ctx = ctx("shop.example");
    for (kind, number) in [(branded(522), 522), (numbered(530, 1016), 1016)] {
        let page = pages.render(kind, &ctx).expect("an example applies");
        for token in [
            "::CLOUDFLARE_ERROR_",
            "::CLIENT_IP::",
            "::RAY_ID::",
            "::GEO::",
        ] {
            assert!(!page.contains(token), "{token} filled in: {kind:?}");
        }
        assert!(page.contains(&format!("Error reference number: {number}<")));
        assert!(page.contains(HEX));
        assert!(page.contains("203.0.113.7"));
        assert!(page.contains("Paris"));
    }
}
