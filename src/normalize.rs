//! URL normalization: a request's path and host as Cloudflare's rules see them. Cloudflare
//! normalizes incoming URLs before any rule runs (on by default, type "Cloudflare"), in this
//! order: backslashes become slashes, repeated slashes are merged, then RFC 3986 normalization
//! (percent-encoded unreserved characters decoded, remaining percent-encodings in uppercase,
//! other characters percent-encoded, dot segments removed). Host names are case-insensitive and
//! a trailing dot names the same host.
//!
//! This module only computes the normal forms; it does not decide who uses them. Routes, fault
//! rules and the `/cdn-cgi/` endpoints match them; the origin, the access log and `/requests`
//! get the request as the visitor sent it ("Normalize URLs to origin" is off by default).

use std::borrow::Cow;

/// A request's host and path in normal form: what every rule is matched against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized<'a> {
    /// The host: lowercase, without port or one trailing dot ([`host`]).
    pub host: Cow<'a, str>,
    /// The path, without the query ([`path`]).
    pub path: Cow<'a, str>,
}

impl<'a> Normalized<'a> {
    /// The normal forms of `host` (a Host header value, port allowed) and `path` (without the
    /// query). Borrows both when they are already normal, the common case.
    pub fn new(host: &'a str, path: &'a str) -> Self {
        Normalized {
            host: self::host(host),
            path: self::path(path),
        }
    }
}

/// The host part of a Host header value: `example.test:8080` → `example.test`,
/// `[::1]:8080` → `[::1]`. Only a port of digits is taken off (RFC 3986's `port = *DIGIT`), so
/// `127.0.0.1:evil` and an unbracketed IPv6 literal are returned whole.
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// `host` (a Host header value) as rules match it: without its port, ASCII-lowercase, and
/// without one trailing dot (`Example.COM.:8080` → `example.com`).
pub fn host(host: &str) -> Cow<'_, str> {
    let bare = strip_port(host);
    let bare = bare.strip_suffix('.').unwrap_or(bare);
    if bare.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(bare.to_ascii_lowercase())
    } else {
        Cow::Borrowed(bare)
    }
}

/// `path` (without the query) in Cloudflare's normal form: `\` → `/`, repeated `/` merged,
/// `%XX` of an unreserved character decoded and any other `%xx` uppercased, characters that are
/// neither unreserved nor reserved percent-encoded, then dot segments removed (RFC 3986
/// §5.2.4). So `/%2e%2e/x` is `/x`, while `%2F` stays encoded: it is reserved. A `%` not
/// followed by two hex digits is not an encoding but a character to encode: `%25`, so that a
/// normal path stays as it is when normalized again. Paths are case-sensitive and stay so.
pub fn path(path: &str) -> Cow<'_, str> {
    if is_normal(path) {
        return Cow::Borrowed(path);
    }
    let slashed = merge_slashes(path);
    let encoded = normalize_encoding(&slashed);
    Cow::Owned(remove_dot_segments(&encoded))
}

/// A rule's path prefix that no normalized path starts with, so the rule could never match.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} can never match: rules see the normalized path; write it as {normal:?}")]
pub struct UnnormalizedPrefix {
    /// The prefix as written.
    pub given: String,
    /// Its normal form, which the rule probably meant.
    pub normal: String,
}

/// Checks that some normalized path can start with `prefix` (a route's or fault rule's
/// `path_prefix`): no `\`, `//`, `.` or `..` segment before its end, encoded unreserved
/// character, lowercase hex or character to encode. A prefix may stop inside a segment
/// (`/..`, matching `/..b`) or inside an encoding (`/a%2`, matching `/a%2F`).
pub fn check_prefix(prefix: &str) -> Result<(), UnnormalizedPrefix> {
    if can_start_a_normal_path(prefix) {
        Ok(())
    } else {
        Err(UnnormalizedPrefix {
            given: prefix.to_owned(),
            normal: path(prefix).into_owned(),
        })
    }
}

fn can_start_a_normal_path(prefix: &str) -> bool {
    let bytes = prefix.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            // Up to two digits: the prefix may end inside the encoding.
            let digits = &bytes[i + 1..bytes.len().min(i + 3)];
            let upper_hex = |d: &u8| d.is_ascii_digit() || (b'A'..=b'F').contains(d);
            if !digits.iter().all(upper_hex) || hex_pair(digits).is_some_and(is_unreserved) {
                return false;
            }
            i += 3;
        } else if is_unreserved(b) || is_reserved(b) {
            i += 1;
        } else {
            return false;
        }
    }
    let mut segments = prefix.split('/');
    // The last segment may go on: `/..` starts `/..b`.
    segments.next_back();
    !prefix.contains("//") && !segments.any(|segment| segment == "." || segment == "..")
}

/// Whether `path` is already normal: only unreserved and reserved characters (no `%`, no
/// `\`), no `//`, and no `.` or `..` segment.
fn is_normal(path: &str) -> bool {
    path.bytes().all(|b| is_unreserved(b) || is_reserved(b))
        && !path.contains("//")
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// Backslashes turned into slashes, then each run of slashes merged into one.
fn merge_slashes(path: &str) -> String {
    let mut merged = String::with_capacity(path.len());
    for c in path.chars() {
        let c = if c == '\\' { '/' } else { c };
        if c == '/' && merged.ends_with('/') {
            continue;
        }
        merged.push(c);
    }
    merged
}

/// RFC 3986 §6.2.2.1-2: unreserved characters decoded from `%XX`, other `%xx` in uppercase,
/// and every other byte that is neither unreserved nor reserved (a lone `%` too) as `%XX`.
fn normalize_encoding(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && let Some(decoded) = bytes.get(i + 1..i + 3).and_then(hex_pair)
        {
            if is_unreserved(decoded) {
                out.push(char::from(decoded));
            } else {
                push_encoded(&mut out, decoded);
            }
            i += 3;
            continue;
        }
        if is_unreserved(b) || is_reserved(b) {
            out.push(char::from(b));
        } else {
            push_encoded(&mut out, b);
        }
        i += 1;
    }
    out
}

/// The byte two hex digits spell, in either case.
fn hex_pair(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16);
    match pair {
        [high, low] => {
            let value = digit(*high)? * 16 + digit(*low)?;
            u8::try_from(value).ok()
        }
        _ => None,
    }
}

/// Appends `%XX`, hex in uppercase.
fn push_encoded(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

/// RFC 3986 §2.3: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §2.2: gen-delims and sub-delims, never decoded nor encoded.
fn is_reserved(b: u8) -> bool {
    matches!(
        b,
        b':' | b'/'
            | b'?'
            | b'#'
            | b'['
            | b']'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
    )
}

/// RFC 3986 §5.2.4, step by step: `.` segments dropped, `..` dropping the segment before it
/// (never above the root: `/../x` is `/x`).
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output = String::with_capacity(path.len());
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest;
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = &input[3..];
            drop_last_segment(&mut output);
        } else if input == "/.." {
            input = "/";
            drop_last_segment(&mut output);
        } else if input == "." || input == ".." {
            input = "";
        } else {
            // The first segment, with its leading `/` if any, up to the next `/` (a char
            // boundary, so the slicing cannot panic).
            let end = input
                .bytes()
                .skip(1)
                .position(|b| b == b'/')
                .map_or(input.len(), |at| at + 1);
            output.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    output
}

/// Removes the last segment of `output` and the `/` before it.
fn drop_last_segment(output: &mut String) {
    let keep = output.rfind('/').unwrap_or(0);
    output.truncate(keep);
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
