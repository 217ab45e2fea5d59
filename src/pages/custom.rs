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
//! This module owns loading, checking and filling the templates, and the box's markup. It does
//! not decide which error happened (the failure mapping does), nor build the response: the
//! caller sends the body with the same status and headers as the built-in page.

use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::shell::push_fmt;
use super::{PageContext, PageKind, text};
use crate::base::html::push_escaped;
use crate::ray::Colo;

/// The "500 class errors" template's file name.
const SERVER_ERRORS_FILE: &str = "500s.html";
/// The 1xxx errors template's file name.
const NUMBERED_FILE: &str = "1000s.html";
/// What `500s.html` must contain.
const SERVER_ERRORS_BOX: &str = "::CLOUDFLARE_ERROR_500S_BOX::";
/// What `1000s.html` must contain.
const NUMBERED_BOX: &str = "::CLOUDFLARE_ERROR_1000S_BOX::";

/// Roughly what a box adds to its template, so a page is built without reallocating.
const BOX_CAPACITY: usize = 1024;

/// A site owner's custom error templates, checked and split into text and tokens at load.
#[derive(Clone, Debug)]
pub struct CustomPages {
    /// `500s.html`, if present.
    server_errors: Option<Template>,
    /// `1000s.html`, if present.
    numbered: Option<Template>,
}

/// Why `[pages] dir` could not be loaded. Each message is one line naming the file (or the
/// directory) and why, the I/O error included, so the config error can show it as is.
#[derive(Debug, thiserror::Error)]
pub enum CustomPagesError {
    /// The directory cannot be listed: missing, not a directory, or not permitted.
    #[error("{}: cannot read the directory: {error}", .dir.display())]
    UnreadableDir {
        /// The configured directory.
        dir: PathBuf,
        /// Why it cannot be read.
        error: io::Error,
    },
    /// Neither template is in the directory.
    #[error(
        "{}: has neither {SERVER_ERRORS_FILE} nor {NUMBERED_FILE}; at least one is needed",
        .dir.display()
    )]
    NoTemplates {
        /// The configured directory.
        dir: PathBuf,
    },
    /// A template exists but cannot be read.
    #[error("{}: cannot read: {error}", .path.display())]
    Unreadable {
        /// The template's path.
        path: PathBuf,
        /// Why it cannot be read.
        error: io::Error,
    },
    /// A template is larger than [`CustomPages::MAX_TEMPLATE_BYTES`].
    #[error("{}: larger than {limit} bytes", .path.display())]
    TooLarge {
        /// The template's path.
        path: PathBuf,
        /// The limit, [`CustomPages::MAX_TEMPLATE_BYTES`].
        limit: u64,
    },
    /// A template is not UTF-8 text.
    #[error("{}: not UTF-8 (invalid bytes at offset {offset})", .path.display())]
    NotUtf8 {
        /// The template's path.
        path: PathBuf,
        /// Where the first invalid byte sequence starts.
        offset: usize,
    },
    /// A template lacks its box placeholder, which Cloudflare requires at upload.
    #[error(
        "{}: the {placeholder} placeholder is missing; Cloudflare rejects a template without it",
        .path.display()
    )]
    MissingBox {
        /// The template's path.
        path: PathBuf,
        /// The placeholder it must contain.
        placeholder: &'static str,
    },
}

impl CustomPages {
    /// The largest template edgecase loads, in bytes (1 MiB). An error page needs a small
    /// fraction of this; the limit only keeps a wrong `[pages] dir` (a log file, say) out of
    /// memory. It is edgecase's own limit, not a Cloudflare figure.
    pub const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

    /// Loads `dir/500s.html` and `dir/1000s.html` (either may be missing, not both). A template
    /// without its box placeholder is an error, as Cloudflare rejects it at upload; so are a
    /// template that is not UTF-8 or is over [`Self::MAX_TEMPLATE_BYTES`], an unreadable `dir`,
    /// and a `dir` holding neither file.
    pub fn load(dir: &Path) -> Result<CustomPages, CustomPagesError> {
        // Listing first tells "no such directory" apart from "no templates in it".
        std::fs::read_dir(dir).map_err(|error| CustomPagesError::UnreadableDir {
            dir: dir.to_path_buf(),
            error,
        })?;
        let server_errors = Template::load(&dir.join(SERVER_ERRORS_FILE), SERVER_ERRORS_BOX)?;
        let numbered = Template::load(&dir.join(NUMBERED_FILE), NUMBERED_BOX)?;
        if server_errors.is_none() && numbered.is_none() {
            return Err(CustomPagesError::NoTemplates {
                dir: dir.to_path_buf(),
            });
        }
        Ok(CustomPages {
            server_errors,
            numbered,
        })
    }

    /// The HTML body for `kind` from the customer's template, or `None` when no template applies
    /// (the built-in page then): `500s.html` for [`PageKind::Branded`] 5xx statuses other than
    /// 500, 501, 503 and 505 (in practice 502, 504, 520-527); `1000s.html` for every
    /// [`PageKind::Numbered`] page (e.g. 530 with 1016, 403 with 1000); `None` for
    /// [`PageKind::Unbranded`] and whenever the template needed was not loaded.
    pub fn render(&self, kind: PageKind, ctx: &PageContext<'_>) -> Option<String> {
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

/// A placeholder the templates may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    /// The template's own box placeholder.
    Box,
    /// `::CLIENT_IP::`.
    ClientIp,
    /// `::RAY_ID::`.
    RayId,
    /// `::GEO::`.
    Geo,
}

/// A run of a template: literal text, or a token to fill in.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Token(Token),
}

/// One loaded template, already split into pieces.
#[derive(Clone, Debug)]
struct Template {
    pieces: Vec<Piece>,
    /// The template's length in bytes.
    len: usize,
}

impl Template {
    /// Reads and checks the template at `path`, which must contain `box_token`; `None` when
    /// the file does not exist.
    fn load(path: &Path, box_token: &'static str) -> Result<Option<Template>, CustomPagesError> {
        let unreadable = |error| CustomPagesError::Unreadable {
            path: path.to_path_buf(),
            error,
        };
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(unreadable(error)),
        };
        let mut bytes = Vec::new();
        // One byte past the limit tells "at the limit" from "over it".
        file.take(CustomPages::MAX_TEMPLATE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        if bytes.len() as u64 > CustomPages::MAX_TEMPLATE_BYTES {
            return Err(CustomPagesError::TooLarge {
                path: path.to_path_buf(),
                limit: CustomPages::MAX_TEMPLATE_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|error| CustomPagesError::NotUtf8 {
            path: path.to_path_buf(),
            offset: error.utf8_error().valid_up_to(),
        })?;
        let pieces = split(&text, box_token);
        if !pieces.contains(&Piece::Token(Token::Box)) {
            return Err(CustomPagesError::MissingBox {
                path: path.to_path_buf(),
                placeholder: box_token,
            });
        }
        Ok(Some(Template {
            pieces,
            len: text.len(),
        }))
    }
}

/// Splits `template` into literal text and tokens, left to right; `box_token` is the one box
/// placeholder recognised. Each token ends where it is found, so tokens never overlap.
fn split(template: &str, box_token: &'static str) -> Vec<Piece> {
    let tokens = [
        (box_token, Token::Box),
        ("::CLIENT_IP::", Token::ClientIp),
        ("::RAY_ID::", Token::RayId),
        ("::GEO::", Token::Geo),
    ];
    let mut pieces = Vec::new();
    let mut text_from = 0;
    let mut search_from = 0;
    while let Some(found) = template[search_from..].find("::") {
        let start = search_from + found;
        let rest = &template[start..];
        match tokens.iter().find(|(name, _)| rest.starts_with(name)) {
            Some(&(name, token)) => {
                if text_from < start {
                    pieces.push(Piece::Text(template[text_from..start].to_owned()));
                }
                pieces.push(Piece::Token(token));
                text_from = start + name.len();
                search_from = text_from;
            }
            // `start` is on an ASCII ':', so one byte on is a char boundary; a token may still
            // begin at the second colon (":::RAY_ID::").
            None => search_from = start + 1,
        }
    }
    if text_from < template.len() {
        pieces.push(Piece::Text(template[text_from..].to_owned()));
    }
    pieces
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
