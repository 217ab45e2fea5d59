//! HAR capture: finished requests written as HAR 1.2 entries, the format a browser's dev tools
//! import and the one Cloudflare's support asks for. This module owns the format ([`har`]),
//! how a [`crate::record::finished::Finished`] request becomes an entry ([`entry`], with its
//! [`cookies`] and query or form [`pairs`]), what sanitizing blanks ([`sanitize`]) and the
//! appending file ([`file`]). Which requests are captured (`[capture] statuses`), the writer
//! thread and `GET /har` belong to the config, the proxy and the admin listener.

pub mod cookies;
pub mod entry;
pub mod file;
pub mod har;
pub mod pairs;
pub mod sanitize;

pub use entry::entry;
pub use file::HarFile;
pub use har::{Entry, Har, document};
pub use sanitize::Redaction;

/// The HAR document edgecase hands out for `entries`: sanitized (and saying so in
/// `log.comment`) when `sanitize` is given, as they are otherwise.
pub fn shared(entries: Vec<Entry>, sanitize: Option<&Redaction>) -> Har {
    let mut har = document(entries);
    if let Some(redaction) = sanitize {
        redaction.document(&mut har);
    }
    har
}

#[cfg(test)]
mod tests;
