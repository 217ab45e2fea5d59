//! `[pages] dir`: a site owner's custom error page templates (Cloudflare's custom error
//! pages, REFERENCE.md §9), read and checked when the config is, since Cloudflare refuses a
//! template without its box placeholder at upload and edgecase must refuse it before it starts.
//! What this module keeps is data: each template split into text and tokens, once. Filling a
//! template for an error is the pages' job (`crate::pages::custom`).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The "500 class errors" template's file name.
pub const SERVER_ERRORS_FILE: &str = "500s.html";
/// The 1xxx errors template's file name.
pub const NUMBERED_FILE: &str = "1000s.html";
/// What `500s.html` must contain.
pub const SERVER_ERRORS_BOX: &str = "::CLOUDFLARE_ERROR_500S_BOX::";
/// What `1000s.html` must contain.
pub const NUMBERED_BOX: &str = "::CLOUDFLARE_ERROR_1000S_BOX::";

/// A site owner's custom error templates, checked and split into text and tokens at load.
#[derive(Clone, Debug)]
pub struct CustomPages {
    /// `500s.html`, if present.
    pub server_errors: Option<Template>,
    /// `1000s.html`, if present.
    pub numbered: Option<Template>,
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
}

/// A placeholder the templates may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
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
pub enum Piece {
    /// Text as written.
    Text(String),
    /// A token to fill in.
    Token(Token),
}

/// One loaded template, already split into pieces.
#[derive(Clone, Debug)]
pub struct Template {
    /// The template, left to right.
    pub pieces: Vec<Piece>,
    /// The template's length in bytes.
    pub len: usize,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_finds_tokens_left_to_right() {
        assert_eq!(
            split(":::GEO:::CLIENT_IP::x", SERVER_ERRORS_BOX),
            [
                Piece::Text(":".to_owned()),
                Piece::Token(Token::Geo),
                Piece::Text(":CLIENT_IP::x".to_owned()),
            ]
        );
        assert_eq!(split("", SERVER_ERRORS_BOX), []);
        assert_eq!(
            split("été ::GEO::", NUMBERED_BOX),
            [Piece::Text("été ".to_owned()), Piece::Token(Token::Geo)]
        );
    }
}
