//! The 1xxx page (used with 530, and with the 403 of a block such as 1000 or 1020): "Error
//! NNNN" with the ray ID and the time under it, the error's name, "What happened?" (naming the
//! host asked for) and "What can I do?", and the footer. No three-hop diagram. The markup is
//! that of Cloudflare's real 1xxx pages (REFERENCE.md §2): `span.cf-error-type` and
//! `span.cf-error-code` in the `h1` (what tools such as cloudscraper look for), two
//! `span.heading-ray-id`, `h2.cf-subheadline`, `#what-happened-section` and
//! `#resolution-copy-section`. This module owns that layout's markup; words come from
//! [`super::text`], the look from the edge's stylesheet ([`super::assets`]).

use super::PageContext;
use super::shell::{self, push_fmt};
use super::text::{self, WhatToDo};
use crate::base::html::push_escaped;
use crate::base::time::UtcTimestamp;

/// Roughly what a page weighs, so the body is built without reallocating.
pub(super) const CAPACITY: usize = 5 * 1024;

/// Appends the whole 1xxx page for error `code`.
pub(super) fn write(out: &mut String, code: u16, ctx: &PageContext<'_>) {
    let name = text::numbered_title(code);

    shell::push_head_start(out);
    out.push_str(name);
    out.push_str(" | ");
    if !ctx.host.is_empty() {
        push_escaped(out, ctx.host);
        out.push_str(" | ");
    }
    out.push_str("Cloudflare");
    shell::push_head_end(out);

    push_fmt(
        out,
        format_args!(
            "<header class=\"cf-header cf-error-overview\">\n\
             <h1><span class=\"cf-error-type\" data-translate=\"error\">Error</span> \
             <span class=\"cf-error-code\">{code}</span></h1>\n\
             <span class=\"heading-ray-id\">Ray ID: {hex} &bull;</span>\n\
             <span class=\"heading-ray-id\">{time}</span>\n\
             <h2 class=\"cf-subheadline\">{name}</h2>\n\
             </header>\n",
            hex = ctx.ray.hex(),
            time = UtcTimestamp(ctx.at),
        ),
    );

    push_explanation(out, code, ctx.host);
    shell::push_footer_and_end(out, code, ctx);
}

/// Appends "What happened?" (the error's explanation between two sentences naming `host`) and
/// "What can I do?" (the visitor's and the owner's parts).
fn push_explanation(out: &mut String, code: u16, host: &str) {
    let advice = text::numbered_advice(code);
    out.push_str(
        "<section class=\"cf-why\">\n<div class=\"cf-why-column\">\n\
         <h2 data-translate=\"what_happened\">What happened?</h2>\n\
         <div id=\"what-happened-section\">\n<p>",
    );
    if host.is_empty() {
        out.push_str(text::NUMBERED_LEAD_NO_HOST);
    } else {
        let [before, after] = text::NUMBERED_LEAD;
        out.push_str(before);
        push_escaped(out, host);
        out.push_str(after);
    }
    out.push(' ');
    out.push_str(advice.what_happened);
    if !host.is_empty() {
        let [before, after] = text::numbered_closing(code);
        out.push(' ');
        out.push_str(before);
        push_escaped(out, host);
        out.push_str(after);
    }
    out.push_str(
        "</p>\n</div>\n</div>\n<div class=\"cf-why-column\">\n\
         <h2 data-translate=\"what_can_i_do\">What can I do?</h2>\n\
         <div id=\"resolution-copy-section\">\n",
    );
    match advice.what_to_do {
        WhatToDo::TryAgain => {
            out.push_str("<p>");
            out.push_str(text::TRY_AGAIN);
            out.push_str("</p>\n");
        }
        WhatToDo::Split { visitor, owner } => push_fmt(
            out,
            format_args!(
                "<p><strong>If you are a visitor of this website:</strong><br>{visitor}</p>\n\
                 <p><strong>If you are the owner of this website:</strong><br>{owner}</p>\n"
            ),
        ),
    }
    out.push_str("</div>\n</div>\n</section>\n");
}
