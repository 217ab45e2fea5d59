//! WebSockets (and any other HTTP/1.1 upgrade the origin accepts with 101): the request goes
//! to the origin with its `upgrade` header; once the origin answers `101 Switching
//! Protocols` and the visitor has that answer, both connections are handed over and bytes are
//! copied both ways until either side closes. Cloudflare proxies WebSockets the same way.

use http::header::{self, HeaderMap};
use http::{Method, Version};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tracing::debug;

use crate::edge::access_log::{AccessLog, Ending};
use crate::origin::h1::Upgraded;

/// Whether the request asks to switch to WebSocket: an HTTP/1.1 `GET` with `Connection:
/// upgrade` and `Upgrade: websocket`.
pub fn is_websocket(method: &Method, version: Version, headers: &HeaderMap) -> bool {
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    method == Method::GET
        && version == Version::HTTP_11
        && has_token(header::CONNECTION, "upgrade")
        && has_token(header::UPGRADE, "websocket")
}

/// Copies bytes both ways between the two upgraded connections until either side closes, then
/// writes the request's one record: the bytes each way (visitor to origin counted as request
/// bytes, origin to visitor as response bytes) and the tunnel's whole duration.
pub fn spawn(visitor: OnUpgrade, mut origin: Upgraded, mut log: AccessLog) {
    tokio::spawn(async move {
        let ray = log.ray;
        let visitor = match visitor.await {
            Ok(visitor) => visitor,
            Err(e) => {
                debug!(%ray, visitor = %e, "upgrade did not complete");
                log.finish(Ending::Aborted("upgrade_failed"));
                return;
            }
        };
        let mut visitor = TokioIo::new(visitor);
        match tokio::io::copy_bidirectional(&mut visitor, &mut origin).await {
            Ok((up, down)) => {
                debug!(%ray, up, down, "tunnel closed");
                log.tunnel_up = up;
                log.response_bytes = down;
                log.finish(Ending::Complete);
            }
            Err(e) => {
                debug!(%ray, error = %e, "tunnel broke off");
                log.finish(Ending::Aborted("tunnel_error"));
            }
        }
    });
}
