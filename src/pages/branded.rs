//! The branded 5xx page (500, 502, 504, 520-527): title and error code, the three-hop
//! Browser / Cloudflare / Host diagram with the failing hop marked, the explanation and the
//! footer, in the markup of Cloudflare's real pages (REFERENCE.md §2: the ids, the classes
//! tools key on, where each text sits). This module owns that layout's markup; words come from
//! [`super::text`], the look from the edge's stylesheet ([`super::assets`]).

use super::catalog;
use super::shell::{self, push_fmt};
use super::{Hop, PageContext, PageKind, text};
use crate::base::html::push_escaped;
use crate::base::time::UtcTimestamp;

/// What the host hop and the title show when the visitor sent no Host.
const UNKNOWN_HOST: &str = "unknown host";

/// Roughly what a page weighs, so the body is built without reallocating.
pub(super) const CAPACITY: usize = 6 * 1024;

/// Appends the whole branded page for `status` with `failing` marked as the broken hop.
pub(super) fn write(out: &mut String, status: u16, failing: Hop, ctx: &PageContext<'_>) {
    let title = text::title(status);

    shell::push_head_start(out);
    if !ctx.host.is_empty() {
        push_escaped(out, ctx.host);
        out.push_str(" | ");
    }
    push_fmt(out, format_args!("{status}: {title}"));
    shell::push_head_end(out);

    push_fmt(
        out,
        format_args!(
            "<header class=\"cf-header\">\n\
             <h1><span class=\"inline-block\">{title}</span> \
             <span class=\"code-label\">Error code {status}</span></h1>\n\
             <div>Visit <a"
        ),
    );
    shell::push_landing_attributes(out, status, ctx.host);
    push_fmt(
        out,
        format_args!(
            ">cloudflare.com</a> for more information.</div>\n\
             <div class=\"mt-3\">{time}</div>\n\
             </header>\n\
             <div class=\"cf-hops\">\n<div class=\"cf-hops-row\">\n",
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
    let hops = [
        (Hop::Browser, "You"),
        (Hop::Cloudflare, city),
        (Hop::Host, host),
    ];
    for (hop, name) in hops {
        push_hop(out, hop, failing, name, status, ctx.host);
    }
    out.push_str("</div>\n</div>\n");

    push_explanation(out, status, failing);
    shell::push_footer_and_end(out, status, ctx);
}

/// Appends one hop of the diagram: icon with its ok/error badge, name, label and state. `name`
/// is escaped (the host hop shows the visitor's Host). The Cloudflare hop's icon and label are
/// links to cloudflare.com, as on real pages.
fn push_hop(out: &mut String, hop: Hop, failing: Hop, name: &str, status: u16, host: &str) {
    let (id, icon, label) = match hop {
        Hop::Browser => ("cf-browser-status", "cf-icon-browser", "Browser"),
        Hop::Cloudflare => ("cf-cloudflare-status", "cf-icon-cloud", "Cloudflare"),
        Hop::Host => ("cf-host-status", "cf-icon-server", "Host"),
    };
    let (class, badge, state_class, state) = if hop == failing {
        (
            "cf-error-source cf-hop",
            "cf-icon-error",
            "cf-failed",
            "Error",
        )
    } else {
        ("cf-hop", "cf-icon-ok", "cf-working", "Working")
    };
    let linked = hop == Hop::Cloudflare;
    push_fmt(
        out,
        format_args!("<div id=\"{id}\" class=\"{class}\">\n<div class=\"cf-hop-icon\">\n"),
    );
    if linked {
        out.push_str("<a");
        shell::push_landing_attributes(out, status, host);
        out.push_str(">\n");
    }
    push_fmt(
        out,
        format_args!("<span class=\"{icon}\"></span>\n<span class=\"{badge}\"></span>\n"),
    );
    if linked {
        out.push_str("</a>\n");
    }
    out.push_str("</div>\n<span class=\"cf-hop-name\">");
    push_escaped(out, name);
    out.push_str("</span>\n<h3 class=\"cf-hop-label\">");
    if linked {
        out.push_str("<a");
        shell::push_landing_attributes(out, status, host);
        push_fmt(out, format_args!(">{label}</a>"));
    } else {
        out.push_str(label);
    }
    push_fmt(
        out,
        format_args!("</h3>\n<span class=\"cf-hop-state {state_class}\">{state}</span>\n</div>\n"),
    );
}

/// Appends "What happened?" and "What can I do?". The owner's part ends with the link to the
/// error's article on developers.cloudflare.com, as on real pages.
fn push_explanation(out: &mut String, status: u16, failing: Hop) {
    use super::text::WhatToDo;

    let advice = text::branded_advice(status);
    out.push_str(
        "<div class=\"cf-why\">\n<div class=\"cf-why-column\">\n\
         <h2>What happened?</h2>\n<p>",
    );
    out.push_str(advice.what_happened);
    out.push_str(
        "</p>\n</div>\n<div class=\"cf-why-column\">\n\
         <h2>What can I do?</h2>\n",
    );
    match advice.what_to_do {
        WhatToDo::TryAgain => {
            out.push_str("<p>");
            out.push_str(text::TRY_AGAIN);
            out.push_str("</p>\n");
        }
        WhatToDo::Split { visitor, owner } => {
            let docs = catalog::doc_url(PageKind::Branded { status, failing });
            push_fmt(
                out,
                format_args!(
                    "<h3>If you are a visitor of this website:</h3>\n<p>{visitor}</p>\n\
                     <h3>If you are the owner of this website:</h3>\n\
                     <p><span>{owner}</span> <a rel=\"noopener noreferrer\" href=\"{docs}\">\
                     Additional troubleshooting information here.</a></p>\n"
                ),
            );
        }
    }
    out.push_str("</div>\n</div>\n");
}
