//! Visitors on raw sockets: one that sends a request and reads until the edge closes
//! ([`exchange`]), one that sends arbitrary bytes the way a hostile client would
//! ([`send_raw`]), and a plain `GET /` that tells whether the edge still serves
//! ([`status_of_get`]).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How the connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The edge closed it (end of stream).
    Closed,
    /// A read failed: the edge reset it.
    Reset,
}

/// Everything a visitor received on one connection, and how it ended.
#[derive(Debug)]
pub struct Received {
    /// The bytes, in order.
    pub bytes: Vec<u8>,
    /// Closed or reset.
    pub ending: Ending,
}

/// Connects to `edge`, writes `request` and reads until the edge closes the connection
/// (`request` should ask for `connection: close`). No deadline: wrap it in
/// [`crate::rig::within`].
pub async fn exchange(edge: SocketAddr, request: &[u8]) -> io::Result<Received> {
    let mut stream = TcpStream::connect(edge).await?;
    stream.write_all(request).await?;
    let mut bytes = Vec::new();
    let ending = match stream.read_to_end(&mut bytes).await {
        Ok(_) => Ending::Closed,
        Err(_) => Ending::Reset,
    };
    Ok(Received { bytes, ending })
}

/// Connects to `edge`, writes `input` (a write the edge refuses by closing is not an error),
/// reads for as long as bytes keep coming within `quiet` of each other, then shuts its own
/// writing side, as a client that has nothing more to say, and reads until the edge closes.
/// The quiet wait lets the edge answer what it could parse before it sees the end of the
/// stream (hyper drops a request whose visitor half-closes mid-message). No deadline: wrap
/// it in [`crate::rig::within`].
pub async fn send_raw(edge: SocketAddr, input: &[u8], quiet: Duration) -> io::Result<Received> {
    let mut stream = TcpStream::connect(edge).await?;
    let _ = stream.write_all(input).await;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut half_closed = false;
    loop {
        let read = if half_closed {
            stream.read(&mut chunk).await
        } else {
            match tokio::time::timeout(quiet, stream.read(&mut chunk)).await {
                Ok(read) => read,
                Err(_) => {
                    half_closed = true;
                    let _ = stream.shutdown().await;
                    continue;
                }
            }
        };
        match read {
            Ok(0) => {
                return Ok(Received {
                    bytes,
                    ending: Ending::Closed,
                });
            }
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(_) => {
                return Ok(Received {
                    bytes,
                    ending: Ending::Reset,
                });
            }
        }
    }
}

/// The request [`status_of_get`] sends.
const PLAIN_GET: &[u8] =
    b"GET /still-serving HTTP/1.1\r\nhost: fuzz.test\r\nconnection: close\r\n\r\n";

/// The status of a plain `GET /still-serving` on a new connection to `edge`, with whether
/// the answer carried `cf-ray`; `None` when no whole response came back.
pub async fn status_of_get(edge: SocketAddr) -> Option<(u16, bool)> {
    let received = exchange(edge, PLAIN_GET).await.ok()?;
    match crate::reply::judge(&received.bytes) {
        Ok(crate::reply::Reply::Complete { status, cf_ray, .. }) => Some((status, cf_ray)),
        _ => None,
    }
}
