//! `name=value&name=value` text, as a URL's query and an `application/x-www-form-urlencoded`
//! body write it: splitting it into pairs as written, and reading a name the way the
//! application behind will (percent-decoded, `+` as a space). HAR keeps the pairs as written;
//! only comparisons decode.

/// The media type of a URL-encoded form body.
const FORM: &str = "application/x-www-form-urlencoded";

/// The non-empty `&`-separated pairs of `text`, each split at its first `=` (a pair without
/// one has an empty value), as written.
pub fn split(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// `name` percent-decoded (invalid escapes kept as written) with `+` as a space, in ASCII
/// lowercase: what a case-insensitive comparison of names should look at.
pub fn folded_name(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes[i] {
            b'%' => bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok()),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_ascii_lowercase()
}

/// Whether a `Content-Type` (parameters allowed) is a URL-encoded form.
pub fn is_form(content_type: &str) -> bool {
    essence(content_type) == FORM
}

/// Whether a `Content-Type` is JSON: `application/json` or any `+json` type.
pub fn is_json(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence == "application/json" || essence.ends_with("+json")
}

/// A media type without its parameters, trimmed and in lowercase.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_split_as_written_and_empty_ones_skipped() {
        let pairs: Vec<_> = split("a=1&&b&c=x=y&%74oken=%41").collect();
        assert_eq!(
            pairs,
            [("a", "1"), ("b", ""), ("c", "x=y"), ("%74oken", "%41")]
        );
    }

    #[test]
    fn names_are_compared_decoded_and_in_lowercase() {
        assert_eq!(folded_name("%74oKEN"), "token");
        assert_eq!(folded_name("api%5Fkey"), "api_key");
        assert_eq!(folded_name("a+b"), "a b");
        assert_eq!(folded_name("bad%zzescape%4"), "bad%zzescape%4");
    }

    #[test]
    fn media_types_are_read_without_their_parameters() {
        assert!(is_form("application/x-www-form-urlencoded; charset=UTF-8"));
        assert!(is_form(" Application/X-WWW-Form-URLEncoded"));
        assert!(!is_form("multipart/form-data; boundary=x"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/vnd.api+json"));
        assert!(!is_json("text/plain"));
    }
}
