//! What the branded and the 1xxx layouts share: the document head, the base stylesheet, the
//! footer (ray ID, visitor IP, brand line), and HTML escaping. This module owns markup common to
//! both layouts; each layout's own body lives in its file ([`super::branded`],
//! [`super::numbered`]).

use std::fmt::{self, Write};

use super::PageContext;

/// Cloudflare's landing page for 5xx errors, the target of the page's "cloudflare.com" links.
pub(super) const LANDING_URL: &str = "https://www.cloudflare.com/5xx-error-landing";

/// Everything before the `<title>` text.
const HEAD_START: &str = "<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n\
<meta charset=\"UTF-8\">\n\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>";

/// Styles both layouts use: type, the centred column, the two explanation columns, the footer.
/// No class here mentions `cf-error-source`, so that class appears exactly once in a page.
const BASE_CSS: &str = "\
*{box-sizing:border-box;margin:0;padding:0}\
html{font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;\
color:#404040;background:#fff;-webkit-font-smoothing:antialiased}\
a{color:#2c7cb0;text-decoration:none}a:hover{color:#f68b1f}\
.cf-wrap{max-width:60rem;margin:0 auto;padding:0 2rem}\
.cf-header{padding:2.5rem 2rem 1rem}\
h1{font-size:3.75rem;font-weight:300;line-height:1.2;color:#313131}\
.cf-why{display:flex;gap:2.5rem;padding-top:1rem;padding-bottom:2.5rem}\
.cf-why>div{flex:1}\
.cf-why h2{font-size:2.25rem;font-weight:400;line-height:1.2;color:#313131;margin-bottom:.5rem}\
.cf-why h3{font-size:1rem;font-weight:600;margin-top:.75rem}\
.cf-error-footer{max-width:60rem;margin:0 auto;padding:2rem;border-top:1px solid #d9d9d9;\
font-size:.8125rem;text-align:center}\
.cf-error-footer>div{display:inline-block;margin:0 .25rem}\
.cf-sep{color:#999}\
.cf-ip{display:inline}\
.cf-ip summary{display:inline;cursor:pointer;color:#2c7cb0;list-style:none}\
.cf-ip summary::-webkit-details-marker{display:none}\
.cf-ip[open] summary{display:none}\
@media (max-width:720px){h1{font-size:1.875rem}.cf-why{display:block}\
.cf-why h2{font-size:1.5rem;margin-top:1.5rem}.cf-error-footer>div{display:block}\
.cf-sep{display:none}}";

/// Appends `args` to `out`. `fmt::Write for String` never fails, so there is nothing to handle.
pub(super) fn push_fmt(out: &mut String, args: fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
}

/// Appends `text` with the five HTML-significant characters escaped, so that visitor-supplied
/// text (the Host header) can go into element content and attribute values alike.
pub(super) fn push_escaped(out: &mut String, text: &str) {
    let mut plain_from = 0;
    for (i, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        // `i` sits on an ASCII byte, hence on a char boundary.
        out.push_str(&text[plain_from..i]);
        out.push_str(entity);
        plain_from = i + 1;
    }
    out.push_str(&text[plain_from..]);
}

/// Appends the document head up to and including the opening `<title>` tag; the caller writes
/// the title text next, then calls [`push_head_end`].
pub(super) fn push_head_start(out: &mut String) {
    out.push_str(HEAD_START);
}

/// Closes the title, writes the stylesheet (the base plus `layout_css`), and opens the body and
/// the `cf-wrapper` / `cf-error-details` containers that [`push_footer_and_end`] closes.
pub(super) fn push_head_end(out: &mut String, layout_css: &str) {
    out.push_str("</title>\n<style>");
    out.push_str(BASE_CSS);
    out.push_str(layout_css);
    out.push_str(
        "</style>\n</head>\n<body>\n<div id=\"cf-wrapper\">\n<div id=\"cf-error-details\">\n",
    );
}

/// Appends the "What happened?" / "What can I do?" columns.
pub(super) fn push_explanation(out: &mut String, advice: &super::text::Advice) {
    use super::text::WhatToDo;

    out.push_str("<div class=\"cf-wrap cf-why\">\n<div>\n<h2>What happened?</h2>\n<p>");
    out.push_str(advice.what_happened);
    out.push_str("</p>\n</div>\n<div>\n<h2>What can I do?</h2>\n");
    match advice.what_to_do {
        WhatToDo::TryAgain => {
            out.push_str("<p>");
            out.push_str(super::text::TRY_AGAIN);
            out.push_str("</p>\n");
        }
        WhatToDo::Split { visitor, owner } => {
            out.push_str("<h3>If you are a visitor of this website:</h3>\n<p>");
            out.push_str(visitor);
            out.push_str("</p>\n<h3>If you are the owner of this website:</h3>\n<p>");
            out.push_str(owner);
            out.push_str("</p>\n");
        }
    }
    out.push_str("</div>\n</div>\n");
}

/// Appends the footer (ray ID hex, the visitor's IP behind a CSS-only reveal, the brand line)
/// and closes the containers and the document.
pub(super) fn push_footer_and_end(out: &mut String, ctx: &PageContext<'_>) {
    push_fmt(
        out,
        format_args!(
            "<div class=\"cf-error-footer\">\n\
             <div>Cloudflare Ray ID: {}</div><span class=\"cf-sep\">\u{2022}</span>\n\
             <div>Your IP: <details class=\"cf-ip\"><summary>Click to reveal</summary>\
             {}</details></div><span class=\"cf-sep\">\u{2022}</span>\n",
            ctx.ray.hex(),
            ctx.client_ip,
        ),
    );
    out.push_str("<div>Performance &amp; security by <a href=\"");
    out.push_str(LANDING_URL);
    out.push_str(
        "\" target=\"_blank\" rel=\"noopener noreferrer\">Cloudflare</a></div>\n</div>\n\
         </div>\n</div>\n</body>\n</html>\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        push_escaped(&mut out, text);
        out
    }

    #[test]
    fn escaping_replaces_html_significant_characters_only() {
        assert_eq!(escaped("example.com"), "example.com");
        assert_eq!(
            escaped("<script>alert('x&y')</script>\""),
            "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;"
        );
        assert_eq!(escaped("café<"), "café&lt;");
        assert_eq!(escaped(""), "");
    }

    #[test]
    fn base_css_never_names_the_error_source_class() {
        assert!(!BASE_CSS.contains("cf-error-source"));
        assert!(!BASE_CSS.contains('<'));
    }
}
