//! Cloudflare's custom error pages (REFERENCE.md §9): [`CustomPages`], a site owner's HTML
//! templates loaded from `[pages] dir`, and the page one of them makes for an error.
//!
//! - `500s.html`, the "500 class errors" template, must contain `::CLOUDFLARE_ERROR_500S_BOX::`.
//!   It serves the branded 5xx errors except 500, 501, 503 and 505, which keep the built-in page.
//! - `1000s.html`, the 1xxx template, must contain `::CLOUDFLARE_ERROR_1000S_BOX::`. It serves
//!   every numbered (1xxx) error.
//! - Either may also hold the informational tokens `::CLIENT_IP::`, `::RAY_ID::` (the hex part,
//!   as the built-in footer shows it) and `::GEO::` (the colo's city, or its code).
//!
//! Every occurrence of a token is replaced, in one pass over the template: a replacement is
//! never scanned again, so a Host that reads `::RAY_ID::` comes out as written. Values are
//! HTML-escaped. Text between `::` that is no token, and the other template's box placeholder,
//! stay as written.
//!
//! The templates are read and checked with the config (`crate::config::pages`); this module
//! fills them ([`RenderTemplates`]) and owns the box's markup. It does not decide which error
//! happened (the failure mapping does), nor build the response: the caller sends the body with
//! the same status and headers as the built-in page.

use std::fmt::{self, Write as _};

use super::shell::push_fmt;
use super::{PageContext, PageKind, text};
use crate::base::html::push_escaped;
pub use crate::config::pages::{CustomPages, CustomPagesError};
use crate::config::pages::{Piece, Token};
use crate::ray::Colo;

/// Roughly what a box adds to its template, so a page is built without reallocating.
const BOX_CAPACITY: usize = 1024;

/// Filling a customer's templates for an error: the pages' half of [`CustomPages`].
pub trait RenderTemplates {
    /// The HTML body for `kind` from the customer's template, or `None` when no template applies
    /// (the built-in page then): `500s.html` for [`PageKind::Branded`] 5xx statuses other than
    /// 500, 501, 503 and 505 (in practice 502, 504, 520-527); `1000s.html` for every
    /// [`PageKind::Numbered`] page (e.g. 530 with 1016, 403 with 1000); `None` for
    /// [`PageKind::Unbranded`] and whenever the template needed was not loaded.
    fn render(&self, kind: PageKind, ctx: &PageContext<'_>) -> Option<String>;
}

impl RenderTemplates for CustomPages {
    fn render(&self, kind: PageKind, ctx: &PageContext<'_>) -> Option<String> {
        let (template, error_box) = match kind {
            PageKind::Branded { status, .. } if uses_server_errors_template(status) => {
                (self.server_errors.as_ref()?, ErrorBox::ServerError(status))
            }
            PageKind::Numbered { code, .. } => (self.numbered.as_ref()?, ErrorBox::Numbered(code)),
            PageKind::Branded { .. } | PageKind::Unbranded { .. } | PageKind::HeaderTooLarge => {
                return None;
            }
        };
        let mut out = String::with_capacity(template.len + BOX_CAPACITY);
        for piece in &template.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Token(Token::Box) => error_box.write(&mut out, ctx),
                Piece::Token(Token::ClientIp) => push_value(&mut out, ctx.client_ip),
                Piece::Token(Token::RayId) => push_value(&mut out, ctx.ray.hex()),
                Piece::Token(Token::Geo) => push_value(&mut out, location(ctx)),
            }
        }
        Some(out)
    }
}

/// Whether Cloudflare's "500 class errors" template applies to `status`: every 5xx but 500,
/// 501, 503 and 505 (REFERENCE.md §9).
fn uses_server_errors_template(status: u16) -> bool {
    (500..=599).contains(&status) && !matches!(status, 500 | 501 | 503 | 505)
}

/// Which box a page gets, with the number it shows as "Error reference number".
#[derive(Clone, Copy, Debug)]
enum ErrorBox {
    /// A 5xx error, by status.
    ServerError(u16),
    /// A 1xxx error, by code.
    Numbered(u16),
}

impl ErrorBox {
    /// Appends the box: the error's heading and description (the built-in pages' words), then
    /// ray ID, visitor IP, reference number and location.
    fn write(self, out: &mut String, ctx: &PageContext<'_>) {
        let (number, heading, description) = match self {
            ErrorBox::ServerError(status) => (
                status,
                text::title(status),
                text::branded_advice(status).what_happened,
            ),
            ErrorBox::Numbered(code) => (
                code,
                text::numbered_title(code),
                text::numbered_advice(code).what_happened,
            ),
        };
        push_fmt(
            out,
            format_args!(
                "<div class=\"cf-error-details cf-error-{number}\">\n\
                 <h1>{heading}</h1>\n<p>"
            ),
        );
        // Like Cloudflare's 1xxx texts, the 1xxx box names the site the visitor asked for.
        if let ErrorBox::Numbered(_) = self
            && !ctx.host.is_empty()
        {
            out.push_str("You asked for a page of ");
            push_escaped(out, ctx.host);
            out.push_str(", a website on the Cloudflare network. ");
        }
        out.push_str(description);
        out.push_str("</p>\n<ul>\n<li>Ray ID: ");
        push_value(out, ctx.ray.hex());
        out.push_str("</li>\n<li>Your IP address: ");
        push_value(out, ctx.client_ip);
        push_fmt(
            out,
            format_args!(
                "</li>\n<li>Error reference number: {number}</li>\n<li>Cloudflare Location: "
            ),
        );
        push_value(out, location(ctx));
        out.push_str("</li>\n</ul>\n</div>");
    }
}

/// The colo's city, or its code when the table does not know it (as the built-in page shows).
fn location(ctx: &PageContext<'_>) -> Location {
    Location(ctx.ray.colo())
}

/// Displays where a colo is without allocating.
struct Location(Colo);

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match super::colo_city(self.0) {
            Some(city) => f.write_str(city),
            None => f.write_str(self.0.as_str()),
        }
    }
}

/// Appends `value`'s text, HTML-escaped.
fn push_value(out: &mut String, value: impl fmt::Display) {
    // Escaping never fails, so neither does the write.
    let _ = write!(Escaping(out), "{value}");
}

/// A `fmt::Write` that HTML-escapes what goes through it.
struct Escaping<'a>(&'a mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        push_escaped(self.0, text);
        Ok(())
    }
}

#[cfg(test)]
#[path = "custom/tests.rs"]
mod tests;
