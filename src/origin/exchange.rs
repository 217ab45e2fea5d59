//! One request/response exchange on an origin connection, with each phase timed and
//! classified where it fails: writing the request (write stall -> 524, unacknowledged data ->
//! 522, reset), then reading the head (read timeout -> 524, empty reply, reset, malformed or
//! oversized head -> 520).

use std::future::poll_fn;
use std::io;
use std::task::Poll;
use std::time::Duration;

use http::{Method, Request, Response};
use http_body::Body;
use tokio::time::Instant;

use crate::config::OriginTimeouts;
use crate::failure::{Malformed, OriginFailure, Unknown};
use crate::origin::body::RequestBody;
use crate::origin::h1::head::{BodyFraming, HeadError, ResponseHead, max_origin_headers};
use crate::origin::h1::request::UploadError;
use crate::origin::h1::{Decoder, HeadFailure, OnInterim, Upload};
use crate::origin::io::WriteStalled;
use crate::origin::pool::Conn;
use crate::origin::upload::failure_of_body;
use crate::record::ExchangeFacts;

/// Sends `request` on `conn` and waits for the response head; the body is read through the
/// returned [`Decoder`] on the same connection.
///
/// The read clock (`timeouts.read`) starts once the request is handed over: at once for a
/// bodiless request, after the last body byte is written otherwise (a slow upload is the
/// write timeout's business, not the read timeout's). A head that comes before the body is
/// all written ends the wait at once; the body's rest goes as the response is read.
///
/// `latency` (a fault rule's) holds a response head back until that long after the read clock
/// started; past `timeouts.read` that is a real read timeout.
pub async fn exchange(
    conn: &mut Conn,
    request: Request<RequestBody>,
    timeouts: &OriginTimeouts,
    head_limit: usize,
    latency: Option<Duration>,
    facts: &mut ExchangeFacts,
) -> Result<Response<Decoder>, OriginFailure> {
    let read = timeouts.read;
    let (parts, body) = request.into_parts();
    let upgrading = parts.headers.contains_key(http::header::UPGRADE);
    let to_head = parts.method == Method::HEAD;
    let on_interim = parts.extensions.get::<OnInterim>().cloned();
    let has_body = !body.is_end_stream();
    conn.wire.start(Upload::new(&parts, body));
    drop(parts);
    let max_headers = max_origin_headers(head_limit);
    let mut interim = |status: http::StatusCode, headers: &http::HeaderMap| {
        if let Some(on) = &on_interim {
            (on.0)(status, headers);
        }
    };
    let wire = &mut conn.wire;
    let fail = |failure: HeadFailure, seen: usize| classify(failure, seen, timeouts, head_limit);

    let mut early = None;
    if has_body {
        let sending = Instant::now();
        // Until the body is written, a head may still come first (an early 413, say), and a
        // write the origin refused (it answered, then closed) leaves the head to be read.
        let head = poll_fn(
            |cx| match wire.poll_head(cx, head_limit, max_headers, &mut interim) {
                Poll::Ready(head) => Poll::Ready(head.map(Some)),
                Poll::Pending if wire.is_uploaded() => Poll::Ready(Ok(None)),
                Poll::Pending => Poll::Pending,
            },
        )
        .await;
        match head {
            Ok(None) => {}
            Ok(Some(head)) => early = Some(head),
            Err(failure) => return Err(fail(failure, wire.head_bytes())),
        }
        facts.send = Some(sending.elapsed());
    } else {
        facts.send = Some(Duration::ZERO);
    }
    let read_started = Instant::now();
    let read_deadline = read_started + read;
    let head = match early {
        Some(head) => head,
        None => {
            let reading = poll_fn(|cx| wire.poll_head(cx, head_limit, max_headers, &mut interim));
            let outcome = tokio::time::timeout_at(read_deadline, reading).await;
            // Waited for, whatever came of it: a 524 logs the whole read timeout as its wait.
            facts.wait = Some(read_started.elapsed());
            match outcome {
                Err(_elapsed) => {
                    wire.close_after();
                    return Err(OriginFailure::ReadTimeout { after: read });
                }
                Ok(Ok(head)) => head,
                Ok(Err(failure)) => return Err(fail(failure, wire.head_bytes())),
            }
        }
    };
    facts.wait = Some(read_started.elapsed());
    let framing = match checked(&head, upgrading, to_head, head_limit) {
        Ok(framing) => framing,
        Err(failure) => {
            wire.close_after();
            return Err(failure);
        }
    };
    if !head.keeps_alive() {
        wire.close_after();
    }
    if let Some(latency) = latency {
        // An emulated slow origin: the head is held back, and past the read timeout it is a 524.
        let ready_at = read_started + latency;
        tokio::time::sleep_until(ready_at.min(read_deadline)).await;
        facts.wait = Some(read_started.elapsed());
        if ready_at > read_deadline {
            wire.close_after();
            return Err(OriginFailure::ReadTimeout { after: read });
        }
    }
    let mut response = Response::new(Decoder::new(framing, head_limit));
    *response.status_mut() = head.status;
    *response.version_mut() = head.version;
    *response.headers_mut() = head.headers;
    Ok(response)
}

/// How the body of a response with `head` is framed, or why the head is not an answer at all.
/// HTTP stops at 599, and a switch nobody asked for is garbage too: both are the unknown error
/// Cloudflare gives a malformed head.
fn checked(
    head: &ResponseHead,
    upgrading: bool,
    to_head: bool,
    head_limit: usize,
) -> Result<BodyFraming, OriginFailure> {
    let status = head.status.as_u16();
    if status >= 600 || (status == 101 && !upgrading) {
        return Err(OriginFailure::Unknown(Unknown::BadStatus { status }));
    }
    head.framing(to_head)
        .map_err(|e| head_failure(e, head_limit))
}

/// Whether a failure on a reused connection means the origin had closed it while idle, so the
/// request may go again on a new connection.
pub fn is_stale_connection(failure: &OriginFailure) -> bool {
    matches!(
        failure,
        OriginFailure::Unknown(Unknown::EmptyReply | Unknown::Reset(_))
    )
}

/// What a failed exchange means, after `seen` bytes of response head.
fn classify(
    failure: HeadFailure,
    seen: usize,
    timeouts: &OriginTimeouts,
    head_limit: usize,
) -> OriginFailure {
    match failure {
        HeadFailure::Upload(UploadError::Visitor(e)) => failure_of_body(e),
        HeadFailure::Upload(UploadError::Io(e)) | HeadFailure::Io(e) => {
            io_failure(e, seen, timeouts)
        }
        HeadFailure::Closed => closed(seen),
        HeadFailure::Head(e) => head_failure(e, head_limit),
    }
}

/// A head's broken rule as the 520 it is.
fn head_failure(e: HeadError, head_limit: usize) -> OriginFailure {
    OriginFailure::Unknown(match e {
        HeadError::TooLarge => Unknown::HeadersTooLarge { limit: head_limit },
        HeadError::Malformed(what) => Unknown::MalformedHead(Malformed(what)),
        HeadError::AmbiguousFraming => Unknown::AmbiguousFraming,
    })
}

/// What an origin socket error means, read by kind and by the markers our IO left in it.
fn io_failure(e: io::Error, seen: usize, timeouts: &OriginTimeouts) -> OriginFailure {
    if WriteStalled::is_in(&e) {
        return OriginFailure::WriteTimeout {
            after: timeouts.write,
        };
    }
    match e.kind() {
        // TCP_USER_TIMEOUT (or the ack clock): request bytes went unacknowledged.
        io::ErrorKind::TimedOut => OriginFailure::AckTimeout {
            after: timeouts.ack,
        },
        // A TLS origin that closed without close_notify: a plain close as far as HTTP goes.
        io::ErrorKind::UnexpectedEof => closed(seen),
        // A reset after part of the head is a head cut short, not a stale connection.
        _ => match seen {
            0 => OriginFailure::Unknown(Unknown::Reset(e)),
            received => OriginFailure::Unknown(Unknown::ClosedMidHead { received }),
        },
    }
}

/// The origin closed the connection: before a byte of response, or part way into the head.
fn closed(seen: usize) -> OriginFailure {
    match seen {
        0 => OriginFailure::Unknown(Unknown::EmptyReply),
        received => OriginFailure::Unknown(Unknown::ClosedMidHead { received }),
    }
}
