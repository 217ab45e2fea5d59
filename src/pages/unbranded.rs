//! The unbranded page: the bare nginx-style page Cloudflare's own front line answers with for
//! its 502/503/504, malformed requests and the like. This module owns that exact byte shape
//! (CRLF line ends, "cloudflare" under the rule); it shows no ray ID, host or time.

use http::StatusCode;

use super::shell::push_fmt;
use super::text;

/// Enough for the longest reason phrase.
pub(super) const CAPACITY: usize = 256;

/// The words of the classic answer to a request head over Cloudflare's limits (nginx's).
pub(super) const HEADER_TOO_LARGE: &str = "Request Header Or Cookie Too Large";

/// Appends the page for `status`, e.g. `502 Bad Gateway`.
pub(super) fn write(out: &mut String, status: u16) {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .or_else(|| text::cloudflare_reason(status))
        .unwrap_or_else(|| text::title(status));
    write_reason(out, status, reason);
}

/// Appends the page for `status` with `reason` as its words.
pub(super) fn write_reason(out: &mut String, status: u16, reason: &str) {
    push_fmt(
        out,
        format_args!(
            "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n\
             <center><h1>{status} {reason}</h1></center>\r\n\
             <hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
        ),
    );
}
