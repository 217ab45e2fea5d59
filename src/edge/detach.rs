//! Giving a visitor's request head its own memory. hyper parses a head in place: every header
//! value and the URI are slices of the connection's read buffer (8 KiB), so while any of them
//! lives, the buffer cannot be reused, and hyper allocates another one for the next read. A
//! request held for minutes on a slow origin, and each record in the recent-requests ring,
//! would keep a whole buffer for a few hundred bytes of head.
//!
//! [`detach`] copies the values and the target into one allocation the size of the head,
//! before the first await of the request, so hyper's next read finds its buffer free again.

use bytes::{Bytes, BytesMut};
use http::uri::{Authority, PathAndQuery};
use http::{HeaderValue, Request, Uri};

/// Moves `request`'s header values and URI into one buffer of their own. Values and URI parts
/// that fail to re-parse (they never do: each was valid a moment ago) are left as they were.
pub fn detach<B>(request: &mut Request<B>) {
    let uri = request.uri();
    let target = uri.path_and_query().map_or(0, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    let values: usize = request.headers().values().map(HeaderValue::len).sum();
    let mut arena = BytesMut::with_capacity(values + target);
    for value in request.headers().values() {
        arena.extend_from_slice(value.as_bytes());
    }
    let path = uri.path_and_query().map(|pq| pq.as_str());
    let authority = uri.authority().map(Authority::as_str);
    arena.extend_from_slice(path.unwrap_or("").as_bytes());
    arena.extend_from_slice(authority.unwrap_or("").as_bytes());
    let (path, authority) = (path.map(str::len), authority.map(str::len));
    let mut arena: Bytes = arena.freeze();

    for value in request.headers_mut().values_mut() {
        let own = arena.split_to(value.len());
        if let Ok(mut own) = HeaderValue::from_maybe_shared(own) {
            own.set_sensitive(value.is_sensitive());
            *value = own;
        }
    }
    let path = path.map(|len| arena.split_to(len));
    let authority = authority.map(|len| arena.split_to(len));
    // A clone (reference counts only), so a target that cannot be rebuilt (an authority-form
    // CONNECT target has no scheme) is left exactly as it was.
    let mut parts = request.uri().clone().into_parts();
    if let Some(own) = path.and_then(|p| PathAndQuery::from_maybe_shared(p).ok()) {
        parts.path_and_query = Some(own);
    }
    if let Some(own) = authority.and_then(|a| Authority::from_maybe_shared(a).ok()) {
        parts.authority = Some(own);
    }
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `bytes` lies inside `buffer`.
    fn inside(buffer: &Bytes, bytes: &[u8]) -> bool {
        let start = buffer.as_ptr() as usize;
        let at = bytes.as_ptr() as usize;
        !bytes.is_empty() && at >= start && at < start + buffer.len()
    }

    fn parsed_from(buffer: &Bytes) -> Request<()> {
        let slice = |from: &str| {
            let at = buffer
                .windows(from.len())
                .position(|w| w == from.as_bytes());
            let at = at.expect("in the buffer");
            buffer.slice(at..at + from.len())
        };
        let mut request = Request::new(());
        *request.uri_mut() = Uri::from_maybe_shared(slice("/a/b?c=d")).unwrap();
        let headers = request.headers_mut();
        headers.append(
            "host",
            HeaderValue::from_maybe_shared(slice("site.test")).unwrap(),
        );
        headers.append(
            "x-two",
            HeaderValue::from_maybe_shared(slice("one")).unwrap(),
        );
        headers.append(
            "x-two",
            HeaderValue::from_maybe_shared(slice("two")).unwrap(),
        );
        let mut secret = HeaderValue::from_maybe_shared(slice("token")).unwrap();
        secret.set_sensitive(true);
        headers.append("authorization", secret);
        headers.append("x-empty", HeaderValue::from_static(""));
        request
    }

    #[test]
    fn the_head_keeps_its_values_order_and_uri_but_not_the_buffer() {
        let buffer = Bytes::from_static(b"GET /a/b?c=d HTTP/1.1 site.test one two token");
        let mut request = parsed_from(&buffer);
        let before = request.headers().clone();
        detach(&mut request);

        assert_eq!(request.headers(), &before);
        let twos: Vec<_> = request.headers().get_all("x-two").iter().collect();
        assert_eq!(twos, ["one", "two"]);
        assert!(request.headers()["authorization"].is_sensitive());
        assert_eq!(request.uri(), "/a/b?c=d");
        for value in request.headers().values() {
            assert!(
                !inside(&buffer, value.as_bytes()),
                "{value:?} still in the buffer"
            );
        }
        let path = request.uri().path_and_query().unwrap().as_str();
        assert!(!inside(&buffer, path.as_bytes()));
    }

    #[test]
    fn an_absolute_form_target_keeps_its_authority() {
        let mut request = Request::get("http://site.test:8080/x?y").body(()).unwrap();
        detach(&mut request);
        assert_eq!(request.uri(), "http://site.test:8080/x?y");
        assert_eq!(request.uri().host(), Some("site.test"));
    }

    #[test]
    fn an_authority_form_target_is_left_as_it_was() {
        let mut request = Request::connect("site.test:443").body(()).unwrap();
        detach(&mut request);
        assert_eq!(request.uri(), "site.test:443");
    }

    #[test]
    fn an_asterisk_target_and_an_empty_head_survive() {
        let mut request = Request::options("*").body(()).unwrap();
        detach(&mut request);
        assert_eq!(request.uri(), "*");
        assert!(request.headers().is_empty());
    }
}
