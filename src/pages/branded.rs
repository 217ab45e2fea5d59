//! The branded 5xx page (500, 502, 504, 520-527): title and error code, the three-box
//! Browser / Cloudflare / Host diagram with the failing hop marked, the explanation and the
//! footer. This module owns that layout's markup and styles; words come from [`super::text`].

use super::shell::{self, push_escaped, push_fmt};
use super::time::UtcTimestamp;
use super::{Hop, PageContext, text};

/// What the host box and the title show when the visitor sent no Host.
const UNKNOWN_HOST: &str = "unknown host";

/// Styles of the header and the three boxes. The failing box is styled through `cf-err`, never
/// through `cf-error-source`, so that class appears exactly once in a page.
const CSS: &str = "\
.code-label{display:inline-block;margin-left:.5rem;padding:.125rem .5rem;font-size:.9375rem;\
font-weight:400;vertical-align:middle;background:#eee;border-radius:.25rem;color:#313131}\
.cf-time{margin-top:.75rem;color:#595959}\
.cf-hops{margin:2rem 0;padding:2.5rem 0;background:linear-gradient(#eee,#fff 6%,#fff 94%,#eee)}\
.cf-row{display:flex}\
.cf-hop{flex:1;position:relative;padding:0 .5rem;text-align:center;min-width:0}\
.cf-icon{position:relative;display:inline-block;width:8rem;height:6rem;color:#999;\
margin-bottom:.5rem}\
.cf-icon svg{width:100%;height:100%;fill:currentColor}\
.cf-badge{position:absolute;right:-.5rem;bottom:-.25rem;width:2.5rem;height:2.5rem;\
border-radius:50%;color:#fff;font:700 1.375rem/2.5rem sans-serif;text-align:center}\
.cf-ok .cf-badge{background:#9bca3e}.cf-err .cf-badge{background:#bd2426}\
.cf-ok .cf-badge::after{content:\"\\2713\"}.cf-err .cf-badge::after{content:\"\\2715\"}\
.cf-name{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\
.cf-hop h3{font-size:1.5rem;font-weight:400;line-height:1.3;color:#313131}\
.cf-state{font-size:1.5rem;line-height:1.3}\
.cf-ok .cf-state{color:#9bca3e}.cf-err .cf-state{color:#bd2426}\
.cf-err::after{content:\"\";position:absolute;left:50%;bottom:-2.5rem;margin-left:-1.25rem;\
border:1.25rem solid transparent;border-bottom-color:#fff}\
@media (max-width:720px){.cf-row{display:block}.cf-hop{display:flex;flex-wrap:wrap;\
align-items:center;text-align:left;padding:1rem 0;border-bottom:1px solid #ddd}\
.cf-icon{width:4rem;height:3rem;margin:0 1.5rem 0 0}.cf-badge{width:1.5rem;height:1.5rem;\
font-size:.875rem;line-height:1.5rem}.cf-hop>span,.cf-hop h3{margin-right:.75rem}\
.cf-err::after{display:none}}";

/// A browser window.
const ICON_BROWSER: &str = "<svg viewBox=\"0 0 64 48\" aria-hidden=\"true\">\
<path fill-rule=\"evenodd\" d=\"M4 0h56a4 4 0 0 1 4 4v40a4 4 0 0 1-4 4H4a4 4 0 0 1-4-4V4a4 4 0 0 1 \
4-4zM4 12v32h56V12z\"/></svg>";

/// A cloud.
const ICON_CLOUD: &str = "<svg viewBox=\"0 0 64 48\" aria-hidden=\"true\">\
<circle cx=\"20\" cy=\"30\" r=\"12\"/><circle cx=\"35\" cy=\"21\" r=\"15\"/>\
<circle cx=\"50\" cy=\"31\" r=\"11\"/><rect x=\"20\" y=\"30\" width=\"30\" height=\"12\"/></svg>";

/// A rack of servers.
const ICON_SERVER: &str = "<svg viewBox=\"0 0 64 48\" aria-hidden=\"true\">\
<rect x=\"8\" y=\"1\" width=\"48\" height=\"13\" rx=\"2\"/>\
<rect x=\"8\" y=\"17\" width=\"48\" height=\"13\" rx=\"2\"/>\
<rect x=\"8\" y=\"33\" width=\"48\" height=\"13\" rx=\"2\"/></svg>";

/// Roughly what a page weighs, so the body is built without reallocating.
pub(super) const CAPACITY: usize = 8 * 1024;

/// Appends the whole branded page for `status` with `failing` marked as the broken hop.
pub(super) fn write(out: &mut String, status: u16, failing: Hop, ctx: &PageContext<'_>) {
    let title = text::title(status);

    shell::push_head_start(out);
    if !ctx.host.is_empty() {
        push_escaped(out, ctx.host);
        out.push_str(" | ");
    }
    push_fmt(out, format_args!("{status}: {title}"));
    shell::push_head_end(out, CSS);

    push_fmt(
        out,
        format_args!(
            "<header class=\"cf-wrap cf-header\">\n\
             <h1><span>{title}</span> <span class=\"code-label\">Error code {status}</span></h1>\n\
             <p>Visit <a href=\"{landing}?utm_source=errorcode_{status}\" target=\"_blank\" \
             rel=\"noopener noreferrer\">cloudflare.com</a> for more information.</p>\n\
             <p class=\"cf-time\">{time}</p>\n\
             </header>\n\
             <div class=\"cf-hops\">\n<div class=\"cf-wrap cf-row\">\n",
            landing = shell::LANDING_URL,
            time = UtcTimestamp(ctx.at),
        ),
    );

    let colo = ctx.ray.colo();
    // Pages name the city; a colo missing from the table shows its code instead.
    let city = super::colo_city(colo).unwrap_or(colo.as_str());
    let host = if ctx.host.is_empty() {
        UNKNOWN_HOST
    } else {
        ctx.host
    };
    push_hop(out, Hop::Browser, failing, ICON_BROWSER, "You", "Browser");
    push_hop(
        out,
        Hop::Cloudflare,
        failing,
        ICON_CLOUD,
        city,
        "Cloudflare",
    );
    push_hop(out, Hop::Host, failing, ICON_SERVER, host, "Host");
    out.push_str("</div>\n</div>\n");

    shell::push_explanation(out, &text::branded_advice(status));
    shell::push_footer_and_end(out, ctx);
}

/// Appends one box of the diagram. `name` is escaped (the host box shows the visitor's Host).
fn push_hop(out: &mut String, hop: Hop, failing: Hop, icon: &str, name: &str, label: &str) {
    let id = match hop {
        Hop::Browser => "cf-browser-status",
        Hop::Cloudflare => "cf-cloudflare-status",
        Hop::Host => "cf-host-status",
    };
    let (class, state) = if hop == failing {
        ("cf-error-source cf-hop cf-err", "Error")
    } else {
        ("cf-hop cf-ok", "Working")
    };
    push_fmt(
        out,
        format_args!(
            "<div id=\"{id}\" class=\"{class}\">\n\
             <div class=\"cf-icon\">{icon}<span class=\"cf-badge\"></span></div>\n\
             <span class=\"cf-name\">"
        ),
    );
    push_escaped(out, name);
    push_fmt(
        out,
        format_args!(
            "</span>\n<h3>{label}</h3>\n<span class=\"cf-state\">{state}</span>\n</div>\n"
        ),
    );
}
