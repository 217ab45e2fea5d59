//! `/cdn-cgi/trace`: the edge's own plain-text report on the visitor's request, answered on
//! every host and never forwarded. This module renders it; [`crate::edge::service`] routes to it.

use std::fmt::Write;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, Version};

use crate::ray::RayId;
use crate::tls::visitor::VisitorTls;

/// The path Cloudflare answers itself on every proxied host.
pub const TRACE_PATH: &str = "/cdn-cgi/trace";

/// The trace's `expires`: long past, as on Cloudflare's trace (and its error pages).
const EXPIRED: &str = "Thu, 01 Jan 1970 00:00:01 GMT";

/// What the trace reports about one request.
pub struct Trace<'a> {
    /// The front-line instance id (`fl`).
    pub instance: &'a str,
    /// The Host requested (`h`).
    pub host: &'a str,
    /// The visitor's IP (`ip`).
    pub ip: IpAddr,
    /// When the request arrived (`ts`).
    pub at: SystemTime,
    /// What the visitor's TLS negotiated, `None` over plain HTTP (`visit_scheme`, `tls`, `sni`,
    /// `kex`).
    pub tls: Option<VisitorTls>,
    /// The visitor's User-Agent (`uag`), empty when absent.
    pub user_agent: &'a str,
    /// The visitor's HTTP version (`http`).
    pub version: Version,
    /// The request's ray ID (its colo gives `colo`).
    pub ray: RayId,
}

impl Trace<'_> {
    /// The body: one `key=value` line per key, in Cloudflare's order.
    pub fn render(&self) -> String {
        let ts = self
            .at
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let http = match self.version {
            Version::HTTP_09 => "http/0.9",
            Version::HTTP_10 => "http/1.0",
            Version::HTTP_2 => "http/2",
            Version::HTTP_3 => "http/3",
            _ => "http/1.1",
        };
        let (scheme, tls, sni, kex) = match self.tls {
            Some(tls) => {
                let sni = if tls.sni { "plaintext" } else { "off" };
                ("https", tls.version, sni, tls.kex)
            }
            None => ("http", "off", "off", "none"),
        };
        let mut out = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "fl={}\nh={}\nip={}\nts={ts:.3}\nvisit_scheme={scheme}\nuag={}\ncolo={}\n\
             sliver=none\nhttp={http}\nloc=XX\ntls={tls}\nsni={sni}\nwarp=off\ngateway=off\n\
             rbi=off\nkex={kex}\n",
            self.instance,
            self.host,
            self.ip,
            self.user_agent,
            self.ray.colo(),
        );
        out
    }

    /// The whole response, with the headers Cloudflare sends on the trace (`date` and
    /// `content-length` are added, and the order fixed, where every edge-made response's are:
    /// [`crate::edge::header_order`]).
    pub fn response(&self) -> Response<Bytes> {
        let mut response = Response::new(Bytes::from(self.render()));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert("cf-ray", self.ray.header_value());
        let fixed = [
            (header::CACHE_CONTROL, "no-cache"),
            (header::EXPIRES, EXPIRED),
            (header::SERVER, "cloudflare"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ];
        for (name, value) in fixed {
            headers.insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ray::Colo;
    use std::time::Duration;

    #[test]
    fn trace_lists_cloudflares_keys_in_order() {
        let trace = Trace {
            instance: "464f193",
            host: "site.test",
            ip: "127.0.0.1".parse().unwrap(),
            at: UNIX_EPOCH + Duration::from_millis(1_725_552_998_600),
            tls: None,
            user_agent: "curl/8",
            version: Version::HTTP_11,
            ray: RayId::new(1, Colo::DEFAULT),
        };
        let body = trace.render();
        let keys: Vec<&str> = body.lines().map(|l| l.split('=').next().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "fl",
                "h",
                "ip",
                "ts",
                "visit_scheme",
                "uag",
                "colo",
                "sliver",
                "http",
                "loc",
                "tls",
                "sni",
                "warp",
                "gateway",
                "rbi",
                "kex"
            ]
        );
        assert!(body.contains("ts=1725552998.600\n"));
        assert!(body.contains("h=site.test\nip=127.0.0.1\n"));
        assert!(body.contains("colo=CDG\n"));
        assert!(body.contains("visit_scheme=http\n"));
        assert!(body.contains("tls=off\nsni=off\n"));
        assert!(body.ends_with("kex=none\n"));
        let over_tls = Trace {
            tls: Some(VisitorTls {
                version: "TLSv1.2",
                sni: false,
                kex: "secp256r1",
            }),
            ..trace
        };
        let body = over_tls.render();
        assert!(body.contains("visit_scheme=https\n"), "{body}");
        assert!(body.contains("tls=TLSv1.2\nsni=off\n"), "{body}");
        assert!(body.ends_with("kex=secp256r1\n"), "{body}");
        let response = trace.response();
        assert_eq!(response.headers()["content-type"], "text/plain");
        assert_eq!(response.headers()["cf-ray"], "0000000000000001-CDG");
        assert_eq!(
            response.headers()["expires"],
            "Thu, 01 Jan 1970 00:00:01 GMT"
        );
        assert_eq!(response.headers()["cache-control"], "no-cache");
    }
}
