//! What the branded and the 1xxx layouts share: the document head (which links the edge's
//! stylesheet, [`super::assets::STYLESHEET_PATH`]; no page carries CSS of its own), the
//! cloudflare.com links with their `utm_` query, the footer (ray ID, the visitor's IP behind
//! "Click to reveal" and its small script, the brand line), and HTML escaping. This module owns
//! markup common to both layouts; each layout's own body lives in its file
//! ([`super::branded`], [`super::numbered`]), the look in `assets/main.css`.

use std::fmt::{self, Write};

use super::PageContext;
use super::assets::STYLESHEET_PATH;

/// Cloudflare's landing page for 5xx errors, the target of the page's "cloudflare.com" links.
pub(super) const LANDING_URL: &str = "https://www.cloudflare.com/5xx-error-landing";

/// Everything before the `<title>` text.
const HEAD_START: &str = "<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n<title>";

/// The `<meta>` tags after the title; [`push_head_end`] adds the stylesheet link and opens the
/// body.
const HEAD_END: &str = "</title>\n<meta charset=\"UTF-8\">\n\
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\">\n\
<meta http-equiv=\"X-UA-Compatible\" content=\"IE=Edge\">\n\
<meta name=\"robots\" content=\"noindex, nofollow\">\n\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n";

/// The footer's script: shows the IP item (hidden for browsers without scripts, where its
/// button could do nothing) and swaps the button for the address when clicked. Written for
/// edgecase.
const REVEAL_SCRIPT: &str = "<script>(function(){var d=document;\
d.addEventListener&&d.addEventListener(\"DOMContentLoaded\",function(){\
var item=d.getElementById(\"cf-footer-item-ip\"),button=d.getElementById(\"cf-footer-ip-reveal\"),\
ip=d.getElementById(\"cf-footer-ip\");if(!item||!button||!ip||!(\"classList\"in item))return;\
item.classList.remove(\"hidden\");button.addEventListener(\"click\",function(){\
button.classList.add(\"hidden\");ip.classList.remove(\"hidden\")})})})();</script>\n";

/// Appends `args` to `out`. `fmt::Write for String` never fails, so there is nothing to handle.
pub(super) fn push_fmt(out: &mut String, args: fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
}

/// Appends `text` percent-encoded for a URL's query: every byte but ASCII letters, digits and
/// `-._~` becomes `%XX`. The result needs no HTML escaping either.
fn push_query_value(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            push_fmt(out, format_args!("%{byte:02X}"));
        }
    }
}

/// Appends the landing page's URL for error `number` asked for on `host`, as Cloudflare's links
/// carry it: `...5xx-error-landing?utm_source=errorcode_522&utm_campaign=<host>`. The `&` is
/// written raw, as on real pages (HTML reads `&utm_campaign` as text: it names no entity).
pub(super) fn push_landing_url(out: &mut String, number: u16, host: &str) {
    push_fmt(
        out,
        format_args!("{LANDING_URL}?utm_source=errorcode_{number}&utm_campaign="),
    );
    push_query_value(out, host);
}

/// Appends ` href="<landing URL>" target="_blank" rel="noopener noreferrer"`, the attributes of
/// every cloudflare.com link on a page.
pub(super) fn push_landing_attributes(out: &mut String, number: u16, host: &str) {
    out.push_str(" href=\"");
    push_landing_url(out, number, host);
    out.push_str("\" target=\"_blank\" rel=\"noopener noreferrer\"");
}

/// Appends the document head up to and including the opening `<title>` tag; the caller writes
/// the title text next, then calls [`push_head_end`].
pub(super) fn push_head_start(out: &mut String) {
    out.push_str(HEAD_START);
}

/// Closes the title, links the edge's stylesheet, and opens the body and the `cf-wrapper` /
/// `cf-error-details` containers that [`push_footer_and_end`] closes.
pub(super) fn push_head_end(out: &mut String) {
    out.push_str(HEAD_END);
    push_fmt(
        out,
        format_args!(
            "<link rel=\"stylesheet\" id=\"cf_styles-css\" href=\"{STYLESHEET_PATH}\">\n\
             </head>\n<body>\n<div id=\"cf-wrapper\">\n<div id=\"cf-error-details\">\n"
        ),
    );
}

/// Appends the footer of error `number` (the ray ID's hex, the visitor's IP behind "Click to
/// reveal", the brand line and the script that reveals the IP) and closes the containers and
/// the document.
pub(super) fn push_footer_and_end(out: &mut String, number: u16, ctx: &PageContext<'_>) {
    push_fmt(
        out,
        format_args!(
            "<div class=\"cf-error-footer\">\n<p class=\"text-13\">\n\
             <span class=\"cf-footer-item\">Cloudflare Ray ID: \
             <strong class=\"font-semibold\">{}</strong></span>\n\
             <span class=\"cf-footer-separator\">&bull;</span>\n\
             <span id=\"cf-footer-item-ip\" class=\"cf-footer-item hidden\">\nYour IP:\n\
             <button type=\"button\" id=\"cf-footer-ip-reveal\" class=\"cf-footer-ip-reveal-btn\">\
             Click to reveal</button>\n\
             <span class=\"hidden\" id=\"cf-footer-ip\">{}</span>\n\
             <span class=\"cf-footer-separator\">&bull;</span>\n</span>\n\
             <span class=\"cf-footer-item\"><span>Performance &amp; security by</span> \
             <a rel=\"noopener noreferrer\" href=\"",
            ctx.ray.hex(),
            ctx.client_ip,
        ),
    );
    push_landing_url(out, number, ctx.host);
    out.push_str("\" id=\"brand_link\" target=\"_blank\">Cloudflare</a></span>\n</p>\n");
    out.push_str(REVEAL_SCRIPT);
    out.push_str("</div>\n</div>\n</div>\n</body>\n</html>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landing_urls_carry_the_code_and_the_percent_encoded_host() {
        let mut out = String::new();
        push_landing_url(&mut out, 522, "shop.example.com");
        assert_eq!(
            out,
            "https://www.cloudflare.com/5xx-error-landing?utm_source=errorcode_522\
             &utm_campaign=shop.example.com"
        );
        let mut out = String::new();
        push_landing_url(&mut out, 1016, "a\"b<c>&d é");
        assert!(
            out.ends_with("utm_campaign=a%22b%3Cc%3E%26d%20%C3%A9"),
            "{out}"
        );
    }

    #[test]
    fn the_reveal_script_names_the_footer_ids() {
        for id in ["cf-footer-item-ip", "cf-footer-ip-reveal", "cf-footer-ip"] {
            assert!(REVEAL_SCRIPT.contains(&format!("\"{id}\"")), "{id}");
        }
        assert!(!REVEAL_SCRIPT.contains("cf-error-source"));
    }
}
