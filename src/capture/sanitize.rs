//! Sanitizing HAR entries before they leave edgecase (`[capture] sanitize`, on by default), so
//! a capture can be attached to a ticket as it is. This module owns what counts as a secret
//! and how it is blanked; which HARs are sanitized is the caller's business (every one
//! edgecase writes: `GET /har`, the `[capture] har` file, a diagnose bundle).
//!
//! What goes: the values of credential headers and of every cookie (names are kept, so the
//! capture still shows that they were sent), and the values of secret-looking parameters in
//! the request URL, its query string, a `Location` or `Referer` URL, and URL-encoded or JSON
//! request bodies. Each becomes [`REDACTED`]. Everything else (other headers, bodies of other
//! types, response bodies) is kept as it was.

use std::borrow::Cow;

use serde_json::Value;

use super::har::{Entry, Har, Header, PostData};
use super::pairs;
use crate::config::Redact;

/// What a secret value becomes.
pub const REDACTED: &str = "[redacted]";

/// The `log.comment` of a sanitized HAR.
pub const COMMENT: &str = "sanitized by edgecase: credential headers, cookies and secret \
                           query/form/JSON fields are [redacted]; set [capture] sanitize = false \
                           to keep them";

/// What a sanitized entry's `comment` ends with.
pub const ENTRY_MARK: &str = "sanitized";

/// The `log.comment` (or its end) of a HAR file holding entries written both ways.
pub const MIXED_COMMENT: &str = "some entries were sanitized by edgecase (their comment ends \
                                 with \"sanitized\"), others were not and may hold \
                                 credentials, cookies and secret fields in clear";

/// The headers whose values are always redacted (lowercase).
pub const CREDENTIAL_HEADERS: [&str; 7] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
    "x-csrf-token",
];

/// The parameter and JSON member names whose values are always redacted (lowercase).
pub const SECRET_FIELDS: [&str; 12] = [
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "code",
    "key",
    "api_key",
    "apikey",
    "sig",
    "signature",
    "password",
    "secret",
];

/// What the `log.comment` of a HAR file must be once entries are appended to it, given what it
/// is (`current`), whether it holds entries already, and whether those to come are
/// `sanitized`. It never claims more than is true: a file whose earlier entries may not be
/// sanitized says so, however the ones to come are written; another tool's comment is kept.
pub fn file_comment(current: Option<&str>, has_entries: bool, sanitized: bool) -> Option<String> {
    let claims_all = current.is_some_and(|comment| comment.ends_with(COMMENT));
    let mixed = current.is_some_and(|comment| comment.ends_with(MIXED_COMMENT));
    // The comment without edgecase's note: another tool's, or none.
    let own = current
        .map(|comment| {
            let comment = comment.strip_suffix(COMMENT).unwrap_or(comment);
            let comment = comment.strip_suffix(MIXED_COMMENT).unwrap_or(comment);
            comment.trim_end_matches([';', ' '])
        })
        .filter(|comment| !comment.is_empty());
    let noted = |note: &str| match own {
        Some(own) => format!("{own}; {note}"),
        None => note.to_owned(),
    };
    match (has_entries, sanitized) {
        (false, true) => Some(noted(COMMENT)),
        (false, false) => own.map(str::to_owned),
        (true, _) if mixed => current.map(str::to_owned),
        (true, true) if claims_all => current.map(str::to_owned),
        (true, true) => Some(noted(MIXED_COMMENT)),
        (true, false) if claims_all => Some(noted(MIXED_COMMENT)),
        (true, false) => current.map(str::to_owned),
    }
}

/// Headers whose values are URLs, whose query is sanitized like the request's.
const URL_HEADERS: [&str; 3] = ["location", "content-location", "referer"];

/// What is redacted: the built-in names plus the config's, all lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redaction {
    headers: Vec<String>,
    fields: Vec<String>,
}

impl Default for Redaction {
    fn default() -> Self {
        Redaction::new(&[], &[])
    }
}

impl From<&Redact> for Redaction {
    fn from(extra: &Redact) -> Redaction {
        Redaction::new(&extra.headers, &extra.fields)
    }
}

impl Redaction {
    /// The built-in names plus `headers` (`[capture] redact_headers`) and `fields`
    /// (`[capture] redact_query`, also applied to form and JSON bodies), matched without
    /// regard to case.
    pub fn new(headers: &[String], fields: &[String]) -> Redaction {
        let lowercase = |builtin: &[&str], extra: &[String]| {
            let mut names: Vec<String> = builtin.iter().map(|name| (*name).to_owned()).collect();
            for name in extra.iter().map(|name| name.to_ascii_lowercase()) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            names
        };
        Redaction {
            headers: lowercase(&CREDENTIAL_HEADERS, headers),
            fields: lowercase(&SECRET_FIELDS, fields),
        }
    }

    /// `har` with every entry sanitized and a `log.comment` that says so.
    pub fn document(&self, har: &mut Har) {
        for entry in &mut har.log.entries {
            self.entry(entry);
        }
        har.log.comment = Some(COMMENT.to_owned());
    }

    /// Blanks every secret of `entry`, and marks its comment.
    pub fn entry(&self, entry: &mut Entry) {
        let request = &mut entry.request;
        self.headers(&mut request.headers);
        request.url = self.url(&request.url);
        for param in &mut request.query_string {
            if self.is_secret_field(&param.name) {
                param.value = REDACTED.to_owned();
            }
        }
        if let Some(post) = &mut request.post_data {
            self.post_data(post);
        }
        let response = &mut entry.response;
        self.headers(&mut response.headers);
        response.redirect_url = self.url(&response.redirect_url);
        for cookie in request.cookies.iter_mut().chain(&mut response.cookies) {
            cookie.value = REDACTED.to_owned();
        }
        entry.comment = Some(match entry.comment.take() {
            Some(comment) => format!("{comment}, {ENTRY_MARK}"),
            None => ENTRY_MARK.to_owned(),
        });
    }

    /// A request's path and query (`/login?token=abc`) with its secret parameters blanked, for
    /// the records that are not HARs (the access log, `/requests`, Error Analytics). Borrows
    /// when there is nothing to blank, the common case.
    pub fn path<'a>(&self, path: &'a str) -> Cow<'a, str> {
        if !path.contains(['?', '#']) {
            return Cow::Borrowed(path);
        }
        let blanked = self.url(path);
        if blanked == path {
            Cow::Borrowed(path)
        } else {
            Cow::Owned(blanked)
        }
    }

    /// Blanks the values of credential headers, and secret parameters in URL-valued headers.
    fn headers(&self, headers: &mut [Header]) {
        for header in headers {
            let name = header.name.to_ascii_lowercase();
            if self.headers.contains(&name) {
                header.value = REDACTED.to_owned();
            } else if URL_HEADERS.contains(&name.as_str()) {
                header.value = self.url(&header.value);
            }
        }
    }

    /// `url` with the values of its secret query (and fragment) parameters blanked.
    fn url(&self, url: &str) -> String {
        let (rest, fragment) = match url.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment)),
            None => (url, None),
        };
        let mut out = match rest.split_once('?') {
            Some((base, query)) => format!("{base}?{}", self.pairs(query)),
            None => rest.to_owned(),
        };
        // A fragment of pairs carries tokens in OAuth's implicit flow (`#access_token=...`).
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(&self.pairs(fragment));
        }
        out
    }

    /// `name=value&...` text with the values of secret names blanked, all else as written.
    fn pairs(&self, text: &str) -> String {
        text.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if self.is_secret_field(name) => format!("{name}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Blanks the secret fields of a URL-encoded or JSON body; other bodies are kept.
    fn post_data(&self, post: &mut PostData) {
        if pairs::is_form(&post.mime_type) {
            for param in post.params.iter_mut().flatten() {
                if self.is_secret_field(&param.name) {
                    param.value = Some(REDACTED.to_owned());
                }
            }
            post.text = post.text.as_deref().map(|text| self.pairs(text));
        } else if pairs::is_json(&post.mime_type) {
            post.text = post.text.as_deref().map(|text| self.json(text));
        }
    }

    /// A JSON text with the value of every member named as a secret, at any depth, blanked
    /// and the whole re-serialised. A text that does not parse (a body cut at
    /// `[capture] body_bytes`, say) is cut before the first secret name it holds.
    fn json(&self, text: &str) -> String {
        match serde_json::from_str::<Value>(text) {
            Ok(mut value) => {
                self.json_value(&mut value);
                value.to_string()
            }
            Err(_) => self.unparsed_json(text),
        }
    }

    fn json_value(&self, value: &mut Value) {
        match value {
            Value::Object(members) => {
                for (name, member) in members.iter_mut() {
                    if self.fields.contains(&name.to_ascii_lowercase()) {
                        *member = Value::String(REDACTED.to_owned());
                    } else {
                        self.json_value(member);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.json_value(item)),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }

    /// A JSON text that does not parse, up to the first quoted secret name in it, followed by
    /// [`REDACTED`] in place of the rest.
    fn unparsed_json(&self, text: &str) -> String {
        let lowercase = text.to_ascii_lowercase();
        let first = self
            .fields
            .iter()
            .filter_map(|name| lowercase.find(&format!("\"{name}\"")))
            .min();
        match first {
            Some(at) => format!("{}{REDACTED}", &text[..at]),
            None => text.to_owned(),
        }
    }

    /// Whether a parameter named `name` (as written in a URL or form) holds a secret.
    fn is_secret_field(&self, name: &str) -> bool {
        self.fields.contains(&pairs::folded_name(name))
    }
}

#[cfg(test)]
#[path = "sanitize_tests.rs"]
mod tests;
