//! Header maps that own their bytes. A header value hyper parsed is a slice of the connection's
//! read buffer (8 KiB or more), so keeping one value keeps the whole buffer. A record that
//! outlives its request (the recent-requests ring, HAR capture) keeps a compact copy instead:
//! every value in one allocation the size of the headers.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

/// A copy of `headers` that shares no memory with them: names and values, in order, with
/// every value a slice of one buffer.
pub fn compact(headers: &HeaderMap) -> HeaderMap {
    let total = headers.values().map(HeaderValue::len).sum();
    let mut arena = BytesMut::with_capacity(total);
    for value in headers.values() {
        arena.extend_from_slice(value.as_bytes());
    }
    let arena: Bytes = arena.freeze();
    let mut copy = HeaderMap::with_capacity(headers.len());
    let mut at = 0;
    for (name, value) in headers {
        let bytes = arena.slice(at..at + value.len());
        at += value.len();
        // Both were valid in `headers`, so both are valid again; a standard name is a constant
        // and costs nothing, a custom one is copied.
        let (Ok(name), Ok(mut owned)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_maybe_shared(bytes),
        ) else {
            continue;
        };
        owned.set_sensitive(value.is_sensitive());
        copy.append(name, owned);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_has_every_header_in_order_and_owns_its_bytes() {
        let buffer = Bytes::from_static(b"text/html\x00a\x00b\x00\xe9t\xe9");
        let mut headers = HeaderMap::new();
        let value = |range: std::ops::Range<usize>| {
            HeaderValue::from_maybe_shared(buffer.slice(range)).unwrap()
        };
        headers.append("content-type", value(0..9));
        headers.append("x-custom", value(10..11));
        headers.append("x-custom", value(12..13));
        headers.append("x-latin", value(14..17));
        let copy = compact(&headers);
        assert_eq!(copy, headers);
        let all: Vec<_> = copy.get_all("x-custom").iter().collect();
        assert_eq!(all, ["a", "b"]);
        assert_eq!(copy["x-latin"].as_bytes(), b"\xe9t\xe9");
        let start = buffer.as_ptr() as usize..buffer.as_ptr() as usize + buffer.len();
        for value in copy.values() {
            assert!(!start.contains(&(value.as_bytes().as_ptr() as usize)));
        }
    }

    #[test]
    fn an_empty_map_stays_empty() {
        assert!(compact(&HeaderMap::new()).is_empty());
    }
}
