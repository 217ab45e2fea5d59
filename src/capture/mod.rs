//! HAR capture: finished requests written as HAR 1.2 entries, the format a browser's dev tools
//! import and the one Cloudflare's support asks for. This module owns the format ([`har`]),
//! how a [`crate::observe::finished::Finished`] request becomes an entry ([`entry`]) and the
//! appending file ([`file`]). Which requests are captured (`[capture] statuses`), the writer
//! thread and `GET /har` belong to the config, the proxy and the admin listener.

mod base64;
pub mod entry;
pub mod file;
pub mod har;

pub use entry::entry;
pub use file::HarFile;
pub use har::{Entry, Har, document};

#[cfg(test)]
mod tests;
