//! The error pages as a person sees them, in headless Chromium at a desktop width (1280 px)
//! and a phone width (390 px): a 522 and a 525 (branded, the Host hop failing) and a 530 (the
//! 1016 page). Checked from the DOM: the edge's stylesheet loaded (its rules, and a computed
//! font only it sets) and its icons fetched; the hops on a solid light grey band; "Browser"
//! and "Host" light grey, "Cloudflare" a blue link; on the desktop the hops side by side, each
//! big icon with its ok/error badge centred under it; on the phone no big icons, each hop a row
//! with its badge on the right; "Error code NNN" a small grey pill; section headings about
//! 30 px; the footer centred on the desktop and left-aligned on the phone, its IP revealed by a
//! click; nothing wider than the window.
//!
//! Chromium's windows are at least 500 px wide, so each width is an iframe of that size in a
//! wrapper page whose script measures them and writes the measurements into the DOM that
//! `--dump-dom` prints (as in `analytics_layout.rs`). The wrapper is served through the edge
//! (from an origin behind it), so the frames' pages (`/cdn-cgi/error/NNN`) and the stylesheet
//! they link are same-origin with it. Chromium maps `site.test` to 127.0.0.1, so pages show a
//! host name. With `EDGECASE_SCREENSHOTS=<dir>` the test also saves a screenshot of each page at
//! each width there. Without Chromium the test says so on stderr and passes.
mod support;

use std::path::PathBuf;

use serde_json::Value;

use support::chromium;
use support::origins::Origin;
use support::pki::TempDir;
use support::{spawn_edge, test_config};

/// The name Chromium asks for (mapped to 127.0.0.1); the pages show it as the host.
const HOST: &str = "site.test";

/// The pages rendered, by their `/cdn-cgi/error/` code.
const PAGES: [&str; 3] = ["522", "530", "525"];

/// The widths the pages are measured at, in CSS px, and the height of each frame.
const DESKTOP: (u32, u32) = (1280, 1000);
/// See [`DESKTOP`].
const PHONE: (u32, u32) = (390, 1400);

/// The band behind the hops: #ebebeb.
const BAND: [u64; 3] = [235, 235, 235];

/// Chromium's flags for every run: the host name, and no proxy whatever the environment says.
fn flags() -> [String; 2] {
    [
        format!("--host-resolver-rules=MAP {HOST} 127.0.0.1"),
        "--no-proxy-server".to_owned(),
    ]
}

/// The wrapper page. `?phone=NNN` shows that page alone in a phone-wide frame (for a
/// screenshot); otherwise every page at both widths, measured once all have loaded, as JSON in
/// `<pre id="measured">`, keyed `NNN@WIDTH`.
const WRAPPER: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>pages layout</title>
<style>body{margin:0}iframe{display:block;border:0}</style></head><body>
<pre id="measured"></pre>
<script>
const SIZES = [[1280, 1000], [390, 1400]];
const PAGES = ['522', '530', '525'];
const phone = new URLSearchParams(location.search).get('phone');
const frames = phone ? [[phone, 390, 1100]]
  : PAGES.flatMap(page => SIZES.map(([width, height]) => [page, width, height]));
for (const [page, width, height] of frames) {
  const frame = document.createElement('iframe');
  frame.className = 'measured';
  frame.dataset.key = page + '@' + width;
  frame.style.width = width + 'px';
  frame.style.height = height + 'px';
  frame.src = '/cdn-cgi/error/' + page;
  document.body.appendChild(frame);
}

function box(el) {
  const r = el.getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
          height: r.height};
}
function rgb(text) {
  const m = /rgba?\(([^)]+)\)/.exec(text);
  if (!m) return null;
  const parts = m[1].split(',').map(Number);
  return parts.length > 3 && parts[3] === 0 ? null : parts.slice(0, 3);
}

function measure(frame) {
  const doc = frame.contentDocument, win = frame.contentWindow;
  const style = el => win.getComputedStyle(el);
  const shown = el => style(el).display !== 'none' && el.getBoundingClientRect().width > 0;
  const textRight = el => {
    const range = doc.createRange();
    range.selectNodeContents(el);
    return range.getBoundingClientRect().right;
  };
  const sheet = [...doc.styleSheets]
    .find(s => s.href && new URL(s.href).pathname === '/cdn-cgi/styles/main.css');
  const footer = doc.querySelector('.cf-error-footer');
  const footerStyle = style(footer);
  const footerBox = box(footer);
  const out = {
    inner_width: win.innerWidth,
    scroll_width: doc.documentElement.scrollWidth,
    overflowing: [...doc.body.querySelectorAll('*')]
      .filter(el => el.getBoundingClientRect().right > win.innerWidth + 0.5)
      .map(el => el.tagName + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : '')),
    sheet_rules: sheet ? sheet.cssRules.length : 0,
    body_font: style(doc.body).fontFamily,
    h1_px: parseFloat(style(doc.querySelector('h1')).fontSize),
    h2_px: [...doc.querySelectorAll('.cf-why h2')].map(h => parseFloat(style(h).fontSize)),
    error_code: doc.querySelector('h1 .cf-error-code')?.textContent ?? null,
    images: win.performance.getEntriesByType('resource')
      .filter(e => e.name.includes('/cdn-cgi/images/'))
      .map(e => [new URL(e.name).pathname, e.responseStatus ?? 0]),
    footer: {
      text_align: footerStyle.textAlign,
      content_left: footerBox.left + parseFloat(footerStyle.paddingLeft),
      content_right: footerBox.right - parseFloat(footerStyle.paddingRight),
      items: [...footer.querySelectorAll('.cf-footer-item')].filter(shown).map(box),
      separators_shown: [...footer.querySelectorAll('.cf-footer-separator')].filter(shown).length,
    },
  };
  const label = doc.querySelector('.code-label');
  if (label) {
    const s = style(label);
    out.code_label = {background: rgb(s.backgroundColor), radius: parseFloat(s.borderTopLeftRadius),
                      font_px: parseFloat(s.fontSize), text: label.textContent};
  }
  const first = doc.getElementById('cf-browser-status');
  if (first) {
    let band = first.parentElement;
    while (band && !rgb(style(band).backgroundColor)) band = band.parentElement;
    out.band = band && {color: rgb(style(band).backgroundColor), box: box(band)};
    out.hops = ['cf-browser-status', 'cf-cloudflare-status', 'cf-host-status'].map(id => {
      const hop = doc.getElementById(id);
      const icon = hop.querySelector('.cf-icon-browser, .cf-icon-cloud, .cf-icon-server');
      const badge = hop.querySelector('.cf-icon-ok, .cf-icon-error');
      const label = hop.querySelector('h3');
      const link = label.querySelector('a');
      const state = hop.querySelector('.cf-hop-state');
      return {
        id,
        failing: hop.classList.contains('cf-error-source'),
        box: box(hop),
        icon: {shown: shown(icon), box: box(icon), image: style(icon).backgroundImage},
        badge: {error: badge.classList.contains('cf-icon-error'), shown: shown(badge),
                box: box(badge), image: style(badge).backgroundImage},
        label: {text: label.textContent.trim(), color: rgb(style(label).color),
                link_color: link && rgb(style(link).color)},
        state: {text: state.textContent, color: rgb(style(state).color)},
        text_right: Math.max(...[hop.querySelector('.cf-hop-name'), label, state].map(textRight)),
      };
    });
  }
  // The footer's script shows the IP item; a click swaps its button for the address.
  const item = doc.getElementById('cf-footer-item-ip');
  const button = doc.getElementById('cf-footer-ip-reveal');
  const ip = doc.getElementById('cf-footer-ip');
  out.ip = {item_shown: shown(item), button_shown: shown(button), address_shown: shown(ip)};
  button.click();
  out.ip.button_shown_after = shown(button);
  out.ip.address_shown_after = shown(ip);
  out.ip.address = ip.textContent;
  return out;
}

window.addEventListener('load', () => {
  if (phone) return;
  const out = {};
  for (const frame of document.querySelectorAll('iframe.measured')) {
    try {
      out[frame.dataset.key] = measure(frame);
    } catch (e) {
      out[frame.dataset.key] = {error: String(e)};
    }
  }
  document.getElementById('measured').textContent = JSON.stringify(out);
});
</script></body></html>
"#;

#[tokio::test]
async fn error_pages_look_like_cloudflares_on_desktop_and_phone() {
    let Some(browser) = chromium::find() else {
        chromium::skip_notice();
        return;
    };
    let wrapper = Origin::with_headers(
        200,
        &[("content-type", "text/html; charset=utf-8")],
        WRAPPER,
    )
    .await;
    let edge = spawn_edge(test_config(wrapper.addr())).await;
    let base = format!("http://{HOST}:{}", edge.addr().port());

    let url = format!("{base}/");
    let measured = chromium::measurements(browser, url, flags().to_vec(), "pages_layout").await;

    let mut fetched = Vec::new();
    for page in PAGES {
        for (width, _) in [DESKTOP, PHONE] {
            let at = &measured[format!("{page}@{width}")];
            assert!(at.get("error").is_none(), "{page} at {width} px: {at}");
            check_common(page, width, at);
            if page == "530" {
                check_numbered(width, at);
            } else {
                check_branded(page, width, at);
            }
            fetched.extend(at["images"].as_array().expect("images").iter().cloned());
        }
    }
    // The icons came from the edge: each fetched once (later frames may reuse the cached copy
    // without a resource entry of their own).
    for image in ["browser", "cloud", "server", "ok", "error"] {
        let path = format!("/cdn-cgi/images/{image}.svg");
        assert!(
            fetched.iter().any(|e| e[0] == path.as_str() && e[1] == 200),
            "{path} fetched with 200: {fetched:?}"
        );
    }

    if let Some(screens) = std::env::var_os("EDGECASE_SCREENSHOTS") {
        save_screenshots(PathBuf::from(screens), &base).await;
    }
    edge.shutdown().await.expect("the edge shuts down");
}

/// What every page has at every width: its stylesheet, no sideways scroll, the footer aligned
/// for the width, the IP revealed by a click.
fn check_common(page: &str, width: u32, at: &Value) {
    let ctx = format!("{page} at {width} px: {at}");
    assert_eq!(at["inner_width"], width, "the frame is the viewport: {ctx}");
    assert!(
        at["sheet_rules"].as_u64() > Some(20),
        "main.css loaded: {ctx}"
    );
    assert!(
        at["body_font"]
            .as_str()
            .is_some_and(|f| f.contains("system-ui")),
        "the font only main.css sets: {ctx}"
    );
    assert!(
        at["scroll_width"].as_f64() <= at["inner_width"].as_f64(),
        "no horizontal scroll: {ctx}"
    );
    assert_eq!(at["overflowing"], Value::Array(vec![]), "{ctx}");

    let footer = &at["footer"];
    let items = footer["items"].as_array().expect("footer items");
    assert_eq!(items.len(), 3, "ray ID, IP and brand shown: {ctx}");
    let left = footer["content_left"].as_f64().expect("footer left");
    let right = footer["content_right"].as_f64().expect("footer right");
    let num = |v: &Value, key: &str| v[key].as_f64().expect(key);
    if width == DESKTOP.0 {
        assert_eq!(footer["text_align"], "center", "{ctx}");
        let top = num(&items[0], "top");
        assert!(
            items
                .iter()
                .all(|item| (num(item, "top") - top).abs() < 1.0),
            "one line: {ctx}"
        );
        let line_centre = (num(&items[0], "left") + num(&items[2], "right")) / 2.0;
        assert!(
            (line_centre - (left + right) / 2.0).abs() < 4.0,
            "the line is centred: {ctx}"
        );
        assert_eq!(footer["separators_shown"], 2, "{ctx}");
    } else {
        assert_eq!(footer["text_align"], "left", "{ctx}");
        for (i, item) in items.iter().enumerate() {
            assert!(
                (num(item, "left") - left).abs() < 1.0,
                "item {i} starts at the footer's left edge: {ctx}"
            );
            if i > 0 {
                assert!(
                    num(item, "top") >= num(&items[i - 1], "bottom") - 0.5,
                    "one item per line: {ctx}"
                );
            }
        }
        assert_eq!(footer["separators_shown"], 0, "{ctx}");
    }

    let ip = &at["ip"];
    assert_eq!(
        ip["item_shown"], true,
        "the script shows the IP item: {ctx}"
    );
    assert_eq!(ip["button_shown"], true, "{ctx}");
    assert_eq!(ip["address_shown"], false, "hidden until clicked: {ctx}");
    assert_eq!(ip["button_shown_after"], false, "{ctx}");
    assert_eq!(ip["address_shown_after"], true, "{ctx}");
    assert_eq!(ip["address"], "127.0.0.1", "{ctx}");
}

/// The branded 522 and 525: band, hops, badges, labels, pill and headings.
fn check_branded(page: &str, width: u32, at: &Value) {
    let ctx = format!("{page} at {width} px: {at}");
    check_band(&at["band"], width, &ctx);
    check_pill(page, at, &ctx);
    if width == DESKTOP.0 {
        let headings = at["h2_px"].as_array().expect("headings");
        assert_eq!(headings.len(), 2, "{ctx}");
        for px in headings {
            let px = px.as_f64().expect("a size");
            assert!((28.0..=32.0).contains(&px), "about 30 px: {ctx}");
        }
    }

    let hops = at["hops"].as_array().expect("three hops");
    for (i, hop) in hops.iter().enumerate() {
        let id = hop["id"].as_str().expect("an id");
        let ctx = format!("{id} of {ctx}");
        check_hop_state(id, hop, &ctx);
        check_hop_label(id, &hop["label"], &ctx);
        let before = i.checked_sub(1).map(|before| &hops[before]["box"]);
        if width == DESKTOP.0 {
            check_desktop_hop(hop, before, &ctx);
        } else {
            check_phone_hop(hop, before, &ctx);
        }
    }
}

/// The number `key` of the measured object `v`; `ctx` says where, if it is missing.
fn num(v: &Value, key: &str, ctx: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key}: {ctx}"))
}

/// A measured colour `[r, g, b]`; `ctx` says where, if it is not one.
fn colour(v: &Value, ctx: &str) -> [u64; 3] {
    let parts: Vec<u64> = v
        .as_array()
        .unwrap_or_else(|| panic!("a colour: {ctx}"))
        .iter()
        .map(|c| c.as_u64().expect("a channel"))
        .collect();
    [parts[0], parts[1], parts[2]]
}

/// The hops' band: its light grey, across the whole window.
fn check_band(band: &Value, width: u32, ctx: &str) {
    assert_eq!(colour(&band["color"], ctx), BAND, "the hops' band: {ctx}");
    assert!(
        num(&band["box"], "left", ctx) <= 0.5
            && num(&band["box"], "right", ctx) >= f64::from(width) - 0.5,
        "the band spans the window: {ctx}"
    );
}

/// "Error code NNN": a small, rounded, grey pill.
fn check_pill(page: &str, at: &Value, ctx: &str) {
    let pill = &at["code_label"];
    assert_eq!(pill["text"], format!("Error code {page}"), "{ctx}");
    let [r, g, b] = colour(&pill["background"], ctx);
    assert!(
        r == g && g == b && (200..250).contains(&r),
        "a grey pill: {ctx}"
    );
    assert!(num(pill, "radius", ctx) > 0.0, "rounded: {ctx}");
    assert!(
        num(pill, "font_px", ctx) <= num(at, "h1_px", ctx) / 2.0,
        "small next to the title: {ctx}"
    );
}

/// The hop `id`: failing only for the Host, with the matching badge and a green "Working" or
/// a red "Error".
fn check_hop_state(id: &str, hop: &Value, ctx: &str) {
    let failing = id == "cf-host-status";
    assert_eq!(hop["failing"], failing, "{ctx}");
    assert_eq!(hop["badge"]["error"], failing, "{ctx}");
    let badge_image = if failing { "error.svg" } else { "ok.svg" };
    assert!(
        hop["badge"]["image"]
            .as_str()
            .is_some_and(|i| i.contains(&format!("/cdn-cgi/images/{badge_image}"))),
        "{ctx}"
    );
    assert_eq!(hop["badge"]["shown"], true, "{ctx}");
    let (state, green_or_red) = if failing {
        ("Error", 0)
    } else {
        ("Working", 1)
    };
    assert_eq!(hop["state"]["text"], state, "{ctx}");
    let [r, g, _] = colour(&hop["state"]["color"], ctx);
    assert_eq!(
        usize::from(g > r),
        green_or_red,
        "Working green, Error red: {ctx}"
    );
}

/// The label of hop `id`: "Cloudflare" a blue link, the others light grey text.
fn check_hop_label(id: &str, label: &Value, ctx: &str) {
    if id == "cf-cloudflare-status" {
        assert_eq!(label["text"], "Cloudflare", "{ctx}");
        let [r, _, b] = colour(&label["link_color"], ctx);
        assert!(b > r + 60, "a blue link: {ctx}");
    } else {
        assert!(label["link_color"].is_null(), "not a link: {ctx}");
        let [r, g, b] = colour(&label["color"], ctx);
        assert!(
            r == g && g == b && (130..200).contains(&r),
            "light grey: {ctx}"
        );
    }
}

/// A hop on the desktop: a big icon with a large badge centred under it, beside the hop
/// `before` (the box of the previous one, if any).
fn check_desktop_hop(hop: &Value, before: Option<&Value>, ctx: &str) {
    let badge = &hop["badge"]["box"];
    let icon = &hop["icon"]["box"];
    let frame = &hop["box"];
    assert_eq!(hop["icon"]["shown"], true, "{ctx}");
    assert!(num(icon, "height", ctx) >= 60.0, "a big icon: {ctx}");
    assert!(num(badge, "width", ctx) >= 40.0, "a large badge: {ctx}");
    let icon_centre = (num(icon, "left", ctx) + num(icon, "right", ctx)) / 2.0;
    let badge_centre = (num(badge, "left", ctx) + num(badge, "right", ctx)) / 2.0;
    assert!(
        (icon_centre - badge_centre).abs() < 1.0,
        "badge centred: {ctx}"
    );
    assert!(
        num(badge, "top", ctx) >= num(icon, "top", ctx) + num(icon, "height", ctx) / 2.0
            && num(badge, "bottom", ctx) > num(icon, "bottom", ctx),
        "badge under the icon: {ctx}"
    );
    if let Some(before) = before {
        assert!(
            (num(frame, "top", ctx) - num(before, "top", ctx)).abs() < 1.0
                && num(frame, "left", ctx) >= num(before, "right", ctx) - 0.5,
            "side by side: {ctx}"
        );
    }
}

/// A hop on the phone: no big icon, a row of its own under the hop `before` (the box of the
/// previous one, if any), its badge at the right, level with the row and clear of the text.
fn check_phone_hop(hop: &Value, before: Option<&Value>, ctx: &str) {
    let badge = &hop["badge"]["box"];
    let frame = &hop["box"];
    assert_eq!(hop["icon"]["shown"], false, "no big icons: {ctx}");
    assert!(
        (num(badge, "right", ctx) - num(frame, "right", ctx)).abs() < 1.0,
        "badge at the row's right: {ctx}"
    );
    let badge_middle = (num(badge, "top", ctx) + num(badge, "bottom", ctx)) / 2.0;
    let row_middle = (num(frame, "top", ctx) + num(frame, "bottom", ctx)) / 2.0;
    assert!(
        (badge_middle - row_middle).abs() < 2.0,
        "badge level with its row: {ctx}"
    );
    assert!(
        num(hop, "text_right", ctx) <= num(badge, "left", ctx),
        "the text stays clear of the badge: {ctx}"
    );
    if let Some(before) = before {
        assert!(
            num(frame, "top", ctx) >= num(before, "bottom", ctx) - 0.5
                && (num(frame, "left", ctx) - num(before, "left", ctx)).abs() < 0.5
                && (num(frame, "width", ctx) - num(before, "width", ctx)).abs() < 0.5,
            "one row each: {ctx}"
        );
    }
}

/// The 1016 page: its code in the title, no hops, headings about 30 px on the desktop.
fn check_numbered(width: u32, at: &Value) {
    let ctx = format!("530 at {width} px: {at}");
    assert_eq!(at["error_code"], "1016", "{ctx}");
    assert!(at["hops"].is_null(), "no diagram: {ctx}");
    if width == DESKTOP.0 {
        for px in at["h2_px"].as_array().expect("headings") {
            let px = px.as_f64().expect("a size");
            assert!((28.0..=32.0).contains(&px), "about 30 px: {ctx}");
        }
    }
}

/// Saves `<page>-1280.png` and `<page>-390.png` for every page into `dir`.
async fn save_screenshots(dir: PathBuf, base: &str) {
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    let Some(browser) = chromium::find() else {
        return;
    };
    let base = base.to_owned();
    tokio::task::spawn_blocking(move || {
        let flags = flags();
        let extra: Vec<&str> = flags.iter().map(String::as_str).collect();
        for page in PAGES {
            let profile = TempDir::new("pages_layout_screens");
            let desktop = dir.join(format!("{page}-1280.png"));
            let url = format!("{base}/cdn-cgi/error/{page}");
            chromium::screenshot(&browser, &url, (1280, 1100), &desktop, &extra, &profile);
            // The narrowest window is 500 px: the phone-wide frame sits at its left.
            let phone = dir.join(format!("{page}-390.png"));
            let url = format!("{base}/?phone={page}");
            chromium::screenshot(&browser, &url, (500, 1100), &phone, &extra, &profile);
            eprintln!("saved {} and {}", desktop.display(), phone.display());
        }
    })
    .await
    .expect("the screenshot thread did not panic");
}
