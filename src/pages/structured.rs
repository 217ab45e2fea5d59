//! The machine-readable forms of an edge-made error, as Cloudflare has served them to agents
//! since 2026: JSON (RFC 9457 problem details plus Cloudflare's fields) and Markdown (YAML front
//! matter with the same fields, then the explanation as prose). This module owns both bodies;
//! the facts come from [`super::catalog`], the words from [`super::text`], and the headers are
//! the same as the HTML page's ([`super::render_as`]).
//!
//! Text from the request (the zone, i.e. the Host) is escaped for each format: by serde_json in
//! JSON, as a double-quoted scalar in the YAML front matter, and with backslashes in the
//! Markdown prose, so a hostile Host can neither break the structure nor inject links.

use std::fmt::Write as _;

use serde::Serialize;

use super::catalog;
use super::shell::push_fmt;
use super::text::{self, Advice, WhatToDo};
use super::unbranded;
use super::{PageContext, PageKind};
use crate::base::time::{Rfc3339, UtcTimestamp};

/// What the Markdown shows when the visitor sent no Host.
const UNKNOWN_HOST: &str = "unknown host";

/// Every field of the structured forms, in the order the JSON lists them.
#[derive(Debug, Serialize)]
pub(super) struct Problem<'a> {
    /// RFC 9457: Cloudflare's documentation page for the error.
    #[serde(rename = "type")]
    pub(super) type_url: String,
    /// RFC 9457: `Error 522: Connection timed out`.
    pub(super) title: String,
    /// RFC 9457: the HTTP status of the response.
    pub(super) status: u16,
    /// RFC 9457: the page's "What happened?" text.
    pub(super) detail: &'static str,
    /// RFC 9457: this occurrence, i.e. the ray ID (`230b030023ae2822-CDG`).
    pub(super) instance: String,
    /// The status, or the 1xxx code of a numbered page.
    pub(super) error_code: u16,
    /// The error's name: `Connection timed out`, `Origin DNS error`.
    pub(super) error_name: &'static str,
    /// `origin`, `ssl`, `dns`, `cloudflare`, ... ([`catalog::Category::as_str`]).
    pub(super) error_category: &'static str,
    /// The ray ID, as in the `cf-ray` header.
    pub(super) ray_id: String,
    /// When the error happened: RFC 3339, UTC, to the second.
    pub(super) timestamp: String,
    /// The Host the visitor asked for (empty when none).
    pub(super) zone: &'a str,
    /// Always true: the error was made by the edge, not passed through from the origin.
    pub(super) cloudflare_error: bool,
    /// Whether the same request may succeed later ([`catalog::retryable`]).
    pub(super) retryable: bool,
    /// Seconds, as in the `retry-after` header; null when the response has none.
    pub(super) retry_after: Option<u32>,
    /// Whether the site's owner must act ([`catalog::Category::owner_action_required`]).
    pub(super) owner_action_required: bool,
    /// The advice for whoever can act: the owner's when the owner must, else the visitor's.
    pub(super) what_you_should_do: &'static str,
    /// `Cloudflare Ray ID: <hex> • Your IP: <ip> • Performance & security by Cloudflare`.
    pub(super) footer: String,
    /// The whole explanation, for the Markdown prose (not a JSON field).
    #[serde(skip)]
    advice: Advice,
    /// The time as the pages show it, for the Markdown details (not a JSON field).
    #[serde(skip)]
    shown_at: UtcTimestamp,
}

impl<'a> Problem<'a> {
    /// The facts of `kind` (already a valid status) for the request in `ctx`. `retry_after` is
    /// what the response's `retry-after` header says, if it has one.
    pub(super) fn new(kind: PageKind, ctx: &PageContext<'a>, retry_after: Option<u32>) -> Self {
        let status = kind.status();
        let (error_code, error_name, advice) = match kind {
            PageKind::Branded { status, .. } => {
                (status, text::title(status), text::branded_advice(status))
            }
            PageKind::Numbered { code, .. } => (
                code,
                text::numbered_title(code),
                text::numbered_advice(code),
            ),
            PageKind::Unbranded { status } => {
                (status, text::title(status), text::unbranded_advice(status))
            }
            PageKind::HeaderTooLarge => (
                400,
                unbranded::HEADER_TOO_LARGE,
                text::unbranded_advice(400),
            ),
        };
        let category = catalog::category(kind);
        let owner_action_required = category.owner_action_required();
        let what_you_should_do = match advice.what_to_do {
            WhatToDo::TryAgain => text::TRY_AGAIN,
            WhatToDo::Split { owner, .. } if owner_action_required => owner,
            WhatToDo::Split { visitor, .. } => visitor,
        };
        let ray = ctx.ray.to_string();
        Problem {
            type_url: catalog::doc_url(kind),
            title: format!("Error {error_code}: {error_name}"),
            status,
            detail: advice.what_happened,
            instance: ray.clone(),
            error_code,
            error_name,
            error_category: category.as_str(),
            ray_id: ray,
            timestamp: Rfc3339(ctx.at).to_string(),
            zone: ctx.host,
            cloudflare_error: true,
            retryable: catalog::retryable(kind, kind.retry_after_secs()),
            retry_after,
            owner_action_required,
            what_you_should_do,
            footer: format!(
                "Cloudflare Ray ID: {} \u{2022} Your IP: {} \u{2022} Performance & security by \
                 Cloudflare",
                ctx.ray.hex(),
                ctx.client_ip
            ),
            advice,
            shown_at: UtcTimestamp(ctx.at),
        }
    }

    /// The JSON body: one object, the fields in declaration order.
    pub(super) fn to_json(&self) -> String {
        // Invariant: every field is a string, number, bool or null; serializing such a struct
        // to a String cannot fail.
        serde_json::to_string(self).expect("a problem of plain fields serializes")
    }

    /// The Markdown body: YAML front matter with the operational fields, the title as a
    /// heading, "What happened" and "What you should do" sections, the details as a list and
    /// the footer.
    pub(super) fn to_markdown(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("---\n");
        push_fmt(&mut out, format_args!("error_code: {}\n", self.error_code));
        push_yaml_field(&mut out, "error_name", self.error_name);
        push_yaml_field(&mut out, "error_category", self.error_category);
        push_fmt(&mut out, format_args!("status: {}\n", self.status));
        push_yaml_field(&mut out, "ray_id", &self.ray_id);
        push_yaml_field(&mut out, "timestamp", &self.timestamp);
        push_yaml_field(&mut out, "zone", self.zone);
        push_fmt(
            &mut out,
            format_args!(
                "cloudflare_error: {}\nretryable: {}\n",
                self.cloudflare_error, self.retryable
            ),
        );
        match self.retry_after {
            Some(secs) => push_fmt(&mut out, format_args!("retry_after: {secs}\n")),
            None => out.push_str("retry_after: null\n"),
        }
        push_fmt(
            &mut out,
            format_args!(
                "owner_action_required: {}\n---\n\n# {}\n\n## What happened\n\n{}\n\n\
                 ## What you should do\n\n",
                self.owner_action_required, self.title, self.detail
            ),
        );
        match self.advice.what_to_do {
            WhatToDo::TryAgain => {
                out.push_str(text::TRY_AGAIN);
                out.push('\n');
            }
            WhatToDo::Split { visitor, owner } => push_fmt(
                &mut out,
                format_args!(
                    "- If you are a visitor of this website: {visitor}\n\
                     - If you are the owner of this website: {owner}\n"
                ),
            ),
        }
        out.push_str("\n## Details\n\n");
        push_fmt(
            &mut out,
            format_args!(
                "- Ray ID: {}\n- Time: {}\n- Zone: ",
                self.ray_id, self.shown_at
            ),
        );
        if self.zone.is_empty() {
            out.push_str(UNKNOWN_HOST);
        } else {
            push_markdown_escaped(&mut out, self.zone);
        }
        push_fmt(
            &mut out,
            format_args!(
                "\n- Documentation: <{}>\n\n{}\n",
                self.type_url, self.footer
            ),
        );
        out
    }
}

/// Appends `name: "value"` with `value` as a YAML double-quoted scalar.
fn push_yaml_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": \"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // Controls (C0, DEL, C1) and the two non-characters YAML does not allow raw; and
            // the HTML-significant characters, so that a renderer that shows the front matter
            // as Markdown meets no raw HTML (the scalar's value is the same).
            c if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}' | '<' | '>' | '&') => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push_str("\"\n");
}

/// Appends `text` as plain Markdown text: ASCII punctuation that Markdown gives a meaning to is
/// backslash-escaped (CommonMark allows escaping any of it), and control characters, line
/// breaks included, become U+FFFD so the text stays on its line.
fn push_markdown_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            out.push('\u{fffd}');
            continue;
        }
        if "\\`*_[]()<>&~|#!".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests;
