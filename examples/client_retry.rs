//! Testing your own HTTP client's retry handling against edgecase, in-process, with the library.
//!
//! ```sh
//! cargo run --example client_retry
//! ```
//!
//! A tiny origin answers 200. edgecase sits in front of it with one fault rule: the next two
//! requests get a 522 (after the connect timeout, as the real failure would). The client under
//! test retries 5xx answers up to three times with backoff, so its third try must succeed. The
//! program prints each try and exits non-zero if the client did not behave.

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout};

use edgecase::{EdgeBuilder, FaultSpec};

type BoxError = Box<dyn Error>;

/// How many times the client under test tries a request, and its first backoff (doubled each
/// retry).
const TRIES: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(50);

/// The origin: answers every request `200 hello from the origin`.
async fn start_origin() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let hello = service_fn(|_request| async {
                let body = Full::new(Bytes::from_static(b"hello from the origin"));
                Ok::<_, Infallible>(Response::new(body))
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), hello));
        }
    });
    Ok(addr)
}

/// One `GET path` on a fresh connection, limited to 2 s: the status and the body.
async fn get_once(addr: SocketAddr, path: &str) -> Result<(u16, String), BoxError> {
    let exchange = async {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = Request::get(path)
            .header("host", "shop.test")
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, BoxError>((status, String::from_utf8_lossy(&body).into_owned()))
    };
    timeout(Duration::from_secs(2), exchange).await?
}

/// The client under test: retries a 5xx or a transport error, up to [`TRIES`] tries, sleeping
/// [`BACKOFF`], then twice as long, between them. Returns the last answer and the tries used.
async fn get_with_retries(addr: SocketAddr, path: &str) -> Result<(u16, String, u32), BoxError> {
    let mut backoff = BACKOFF;
    for attempt in 1..=TRIES {
        let started = Instant::now();
        let outcome = get_once(addr, path).await;
        match &outcome {
            Ok((status, _)) => println!("try {attempt}: {status} after {:?}", started.elapsed()),
            Err(error) => println!("try {attempt}: failed: {error}"),
        }
        match outcome {
            Ok((status, body)) if status < 500 => return Ok((status, body, attempt)),
            Ok((status, body)) if attempt == TRIES => return Ok((status, body, attempt)),
            Err(error) if attempt == TRIES => return Err(error),
            _ => {
                sleep(backoff).await;
                backoff *= 2;
            }
        }
    }
    unreachable!("the last try returns")
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let origin = start_origin().await?;

    // The edge: short timeouts (a 522 arrives after connect_timeout), and one rule answering
    // the next two requests with a 522, then expiring.
    let edge = EdgeBuilder::new()
        .origin(origin.to_string())
        .connect_timeout(Duration::from_millis(200))
        .read_timeout(Duration::from_millis(500))
        .fault(FaultSpec::status(522).count(2))
        .start()
        .await?;
    println!(
        "edgecase on {} in front of the origin on {origin}",
        edge.url("/")
    );

    let (status, body, tries) = get_with_retries(edge.addr(), "/checkout").await?;

    // What edgecase saw, newest first: two 522s from the rule, then the origin's 200.
    let statuses: Vec<u16> = edge.requests().iter().map(|r| r.status).collect();
    println!("edgecase answered (newest first): {statuses:?}");
    edge.shutdown().await?;

    if status != 200 || body != "hello from the origin" || tries != 3 {
        return Err(
            format!("expected 200 from the origin on try 3, got {status} on try {tries}").into(),
        );
    }
    if statuses != [200, 522, 522] {
        return Err(format!("expected edgecase to answer 522, 522, 200, got {statuses:?}").into());
    }
    println!("ok: the client retried two 522s and its third try succeeded");
    Ok(())
}
