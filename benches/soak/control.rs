//! [`call`]: one request to edgecase's control API (`/healthz`, `/faults`), on a connection of
//! its own, as a script with curl would make it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The most one control call may take, connection included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `method path` (with a JSON `body`, if any) to the control API at `admin`; returns
/// the status and the body.
pub async fn call(
    admin: SocketAddr,
    method: Method,
    path: &str,
    body: Option<String>,
) -> io::Result<(u16, Bytes)> {
    let exchange = async {
        let stream = TcpStream::connect(admin).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        let driver = tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", admin.to_string());
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(io::Error::other)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(io::Error::other)?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(io::Error::other)?
            .to_bytes();
        driver.abort();
        Ok((status, bytes))
    };
    timeout(CALL_TIMEOUT, exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the control API did not answer"))?
}
