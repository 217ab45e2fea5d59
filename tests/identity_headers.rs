//! Identity and hop-by-hop headers: a visitor claiming an identity Cloudflare sets
//! (`CF-Connecting-IP`, two `X-Forwarded-For` lines, an `X-Forwarded-For` over 100 characters)
//! gets Cloudflare's 403 with error 1000 and the origin is not contacted; the headers edgecase
//! sets are the origin's only copies, whatever the visitor sent; and hop-by-hop headers stop at
//! the edge in both directions.
mod support;

use support::raw::{
    ORIGIN_BODY, OriginRequest, RawResponse, RecordingOrigin, TomlConfig, exchange,
};
use support::visitor::within;
use support::{Edge, GUARD, assert_ray_format, spawn_edge};

/// The Host every request names.
const HOST: &str = "site.test";

/// The longest `X-Forwarded-For` Cloudflare accepts, in characters.
const XFF_MAX: usize = 100;

/// An origin answering with `extra` header lines, and an edge forwarding to it.
async fn start_answering(extra: &str) -> (RecordingOrigin, Edge) {
    let origin = RecordingOrigin::answering(extra).await;
    let edge = spawn_edge(TomlConfig::new(origin.addr()).build()).await;
    (origin, edge)
}

/// A `GET /who` with `headers` (whole lines).
fn get(headers: &str) -> Vec<u8> {
    format!("GET /who HTTP/1.1\r\nHost: {HOST}\r\n{headers}\r\n").into_bytes()
}

/// Asserts Cloudflare's 403 page for error 1000 and that the origin was never contacted.
#[track_caller]
fn assert_error_1000(res: &RawResponse, origin: &RecordingOrigin) {
    assert_eq!(res.status, 403, "{}{}", res.head, res.text());
    assert_eq!(res.header("server"), Some("cloudflare"));
    let ray = res.header("cf-ray").expect("the 403 carries cf-ray");
    assert_ray_format(ray);
    let page = res.text();
    assert!(
        page.contains("<span class=\"cf-error-code\">1000</span>"),
        "{page}"
    );
    assert!(page.contains("DNS points to prohibited IP"), "{page}");
    assert!(
        page.contains(&ray[..16]),
        "the page shows the ray ID: {page}"
    );
    origin.assert_untouched();
}

/// Asserts the request went through and returns the one request the origin framed.
#[track_caller]
fn assert_forwarded(res: &RawResponse, origin: &RecordingOrigin) -> OriginRequest {
    assert_eq!(res.status, 200, "{}{}", res.head, res.text());
    assert_eq!(res.text(), ORIGIN_BODY);
    let requests = origin.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    requests.into_iter().next().expect("one request")
}

/// A plausible `X-Forwarded-For` chain of exactly `len` characters: `10.0.0.1,` repeated, then
/// one last address sized to fit.
fn forwarded_for_of(len: usize) -> String {
    const HOP: &str = "10.0.0.1,";
    // The last address takes the 7 to 15 characters left ("1.1.1.1" to "100.100.100.100").
    let hops = (len - 7) / HOP.len();
    let last_len = len - hops * HOP.len();
    // Four octets of 1 to 3 digits plus three dots.
    let mut octets = [1usize; 4];
    let mut extra = last_len - 7;
    for octet in &mut octets {
        let grow = extra.min(2);
        *octet += grow;
        extra -= grow;
    }
    let last: Vec<String> = octets
        .iter()
        .map(|&digits| format!("{:0<digits$}", 1))
        .collect();
    let chain = format!("{}{}", HOP.repeat(hops), last.join("."));
    assert_eq!(chain.len(), len, "chain built to the wrong length: {chain}");
    chain
}

#[tokio::test]
async fn visitor_sending_cf_connecting_ip_gets_403_error_1000() {
    let (origin, edge) = start_answering("").await;

    let res = within(
        GUARD,
        exchange(edge.addr(), &get("CF-Connecting-IP: 203.0.113.7\r\n")),
    )
    .await;

    assert_error_1000(&res, &origin);
}

#[tokio::test]
async fn two_x_forwarded_for_lines_get_403_error_1000() {
    let (origin, edge) = start_answering("").await;
    let request = get("X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.2\r\n");

    let res = within(GUARD, exchange(edge.addr(), &request)).await;

    assert_error_1000(&res, &origin);
}

#[tokio::test]
async fn x_forwarded_for_over_100_characters_gets_403_error_1000() {
    let (origin, edge) = start_answering("").await;
    let chain = forwarded_for_of(XFF_MAX + 1);

    let res = within(
        GUARD,
        exchange(edge.addr(), &get(&format!("X-Forwarded-For: {chain}\r\n"))),
    )
    .await;

    assert_error_1000(&res, &origin);
}

#[tokio::test]
async fn x_forwarded_for_of_exactly_100_characters_is_forwarded_with_the_visitor_appended() {
    let (origin, edge) = start_answering("").await;
    let chain = forwarded_for_of(XFF_MAX);

    let res = within(
        GUARD,
        exchange(edge.addr(), &get(&format!("X-Forwarded-For: {chain}\r\n"))),
    )
    .await;

    let seen = assert_forwarded(&res, &origin);
    assert_eq!(
        seen.header_all("x-forwarded-for"),
        [format!("{chain},127.0.0.1").as_str()]
    );
    assert_eq!(seen.header_all("cf-connecting-ip"), ["127.0.0.1"]);
}

#[tokio::test]
async fn identity_headers_from_the_visitor_are_replaced_by_edgecases_own() {
    let (origin, edge) = start_answering("").await;
    let forged = "CF-Ray: 0123456789abcdef-EVL\r\n\
                  CF-Visitor: {\"scheme\":\"https\"}\r\n\
                  cf-visitor: {\"scheme\":\"wss\"}\r\n\
                  CF-IPCountry: US\r\n\
                  CDN-Loop: evil-cdn\r\n\
                  X-Forwarded-Proto: https\r\n";

    let res = within(GUARD, exchange(edge.addr(), &get(forged))).await;

    let seen = assert_forwarded(&res, &origin);
    let ray = res
        .header("cf-ray")
        .expect("a proxied response carries cf-ray");
    assert_ray_format(ray);
    assert_eq!(seen.header_all("cf-ray"), [ray]);
    assert_eq!(seen.header_all("cf-visitor"), [r#"{"scheme":"http"}"#]);
    assert_eq!(seen.header_all("cf-ipcountry"), ["XX"]);
    assert_eq!(seen.header_all("x-forwarded-proto"), ["http"]);
    let loops = seen.header_all("cdn-loop");
    assert_eq!(loops.len(), 1, "one cdn-loop: {loops:?}");
    assert!(
        loops[0].starts_with("cloudflare") && !loops[0].contains("evil-cdn"),
        "cdn-loop is edgecase's alone: {loops:?}"
    );
    assert_eq!(seen.header_all("cf-connecting-ip"), ["127.0.0.1"]);
    assert_eq!(seen.header_all("x-forwarded-for"), ["127.0.0.1"]);
}

#[tokio::test]
async fn visitors_hop_by_hop_headers_do_not_reach_the_origin() {
    let (origin, edge) = start_answering("").await;
    let hop_by_hop = "Connection: x-foo\r\n\
                      X-Foo: listed-in-connection\r\n\
                      Keep-Alive: timeout=5\r\n\
                      TE: trailers\r\n\
                      Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\
                      Proxy-Connection: keep-alive\r\n\
                      Upgrade: h2c\r\n\
                      X-Kept: end-to-end\r\n";

    let res = within(GUARD, exchange(edge.addr(), &get(hop_by_hop))).await;

    let seen = assert_forwarded(&res, &origin);
    for gone in [
        "x-foo",
        "keep-alive",
        "te",
        "proxy-authorization",
        "proxy-connection",
        "upgrade",
    ] {
        assert!(
            seen.header(gone).is_none(),
            "{gone} reached the origin: {:?}",
            seen.headers
        );
    }
    assert!(
        seen.header_all("connection")
            .iter()
            .all(|value| !value.to_ascii_lowercase().contains("x-foo")),
        "the visitor's connection header reached the origin: {:?}",
        seen.headers
    );
    assert_eq!(seen.header("x-kept"), Some("end-to-end"));
}

#[tokio::test]
async fn origins_hop_by_hop_headers_do_not_reach_the_visitor() {
    let (_origin, edge) = start_answering(
        "connection: x-bar\r\n\
         x-bar: listed-in-connection\r\n\
         proxy-authenticate: Basic realm=\"origin\"\r\n\
         keep-alive: timeout=5, max=100\r\n\
         x-kept: end-to-end\r\n",
    )
    .await;

    let res = within(GUARD, exchange(edge.addr(), &get(""))).await;

    assert_eq!(res.status, 200, "{}{}", res.head, res.text());
    assert_eq!(res.text(), ORIGIN_BODY);
    for gone in ["x-bar", "proxy-authenticate", "keep-alive"] {
        assert!(
            res.header(gone).is_none(),
            "{gone} reached the visitor: {}",
            res.head
        );
    }
    assert!(
        res.header_all("connection")
            .iter()
            .all(|value| !value.to_ascii_lowercase().contains("x-bar")),
        "the origin's connection header reached the visitor: {}",
        res.head
    );
    assert_eq!(res.header("x-kept"), Some("end-to-end"));
}

#[test]
fn forwarded_for_chains_have_the_asked_length() {
    for len in [XFF_MAX - 1, XFF_MAX, XFF_MAX + 1, 16, 20, 24, 25] {
        let chain = forwarded_for_of(len);
        assert_eq!(chain.len(), len);
        assert!(
            chain
                .split(',')
                .all(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok()),
            "{chain}"
        );
    }
}
