//! One request/response exchange on an origin connection, with each phase timed and
//! classified where it fails: writing the request (write stall -> 524, unacknowledged data ->
//! 522, reset), then reading the head (read timeout -> 524, empty reply, reset, malformed or
//! oversized head -> 520).

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use http::Request;
use http_body::Body;
use hyper::Response;
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::config::OriginTimeouts;
use crate::failure::{OriginFailure, Unknown};
use crate::origin::ExchangeFacts;
use crate::origin::body::{BodyTooLarge, RequestBody};
use crate::origin::io::{HeadMeter, HeadTooLarge, WriteStalled};
use crate::origin::pool::Conn;

/// Sends `request` on `conn` and waits for the response head.
///
/// The read clock (`timeouts.read`) starts once the request is handed over: at once for a
/// bodiless request, after the last body frame otherwise (a slow upload is the write timeout's
/// business, not the read timeout's).
///
/// `latency` (a fault rule's) holds a response head back until that long after the read clock
/// started; past `timeouts.read` that is a real read timeout.
pub async fn exchange(
    conn: &mut Conn,
    mut request: Request<RequestBody>,
    timeouts: &OriginTimeouts,
    head_limit: usize,
    latency: Option<Duration>,
    facts: &mut ExchangeFacts,
) -> Result<Response<Incoming>, OriginFailure> {
    let read = timeouts.read;
    // Before anything can fail: a failure must never be judged by the previous response's
    // head bytes (a pooled connection that died idle is an empty reply, retried).
    conn.meter.rearm();
    if let Err(e) = conn.sender.ready().await {
        return Err(classify(e, &conn.meter, timeouts, head_limit));
    }
    let upgrading = request.headers().contains_key(http::header::UPGRADE);
    let sent = (!request.body().is_end_stream()).then(|| request.body_mut().on_sent());
    let sending = Instant::now();
    let response = conn.sender.send_request(request);
    tokio::pin!(response);

    let read_deadline = match sent {
        None => {
            facts.send = Some(Duration::ZERO);
            Instant::now() + read
        }
        Some(sent) => {
            tokio::select! {
                outcome = &mut response => {
                    return outcome.map_err(|e| classify(e, &conn.meter, timeouts, head_limit));
                }
                // Either the body was handed over, or the body went away with an error that
                // the response future is about to report: both start the read clock.
                _ = sent => {
                    facts.send = Some(sending.elapsed());
                    Instant::now() + read
                }
            }
        }
    };
    let read_started = read_deadline - read;
    let outcome = tokio::time::timeout_at(read_deadline, response).await;
    // Waited for, whatever came of it: a 524 logs the whole read timeout as its wait.
    facts.wait = Some(read_started.elapsed());
    let response = match outcome {
        Err(_elapsed) => return Err(OriginFailure::ReadTimeout { after: read }),
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Err(classify(e, &conn.meter, timeouts, head_limit)),
    };
    // hyper accepts any three digits; HTTP stops at 599, and a switch nobody asked for is
    // garbage too. Both are the unknown error Cloudflare gives a malformed head.
    let status = response.status().as_u16();
    if status >= 600 || (status == 101 && !upgrading) {
        return Err(OriginFailure::Unknown(Unknown::BadStatus { status }));
    }
    // hyper keeps both headers and reads the body as chunked; HTTP/1.1 makes such a head an
    // error (RFC 9112 6.3), and forwarding it would announce a length the body does not have.
    let headers = response.headers();
    if headers.contains_key(http::header::CONTENT_LENGTH)
        && headers.contains_key(http::header::TRANSFER_ENCODING)
    {
        return Err(OriginFailure::Unknown(Unknown::AmbiguousFraming));
    }
    if let Some(latency) = latency {
        let ready_at = read_deadline - read + latency;
        if ready_at > read_deadline {
            tokio::time::sleep_until(read_deadline).await;
            facts.wait = Some(read_started.elapsed());
            return Err(OriginFailure::ReadTimeout { after: read });
        }
        tokio::time::sleep_until(ready_at).await;
        facts.wait = Some(read_started.elapsed());
    }
    Ok(response)
}

/// Whether a failure on a reused connection means the origin had closed it while idle, so the
/// request may go again on a new connection.
pub fn is_stale_connection(failure: &OriginFailure) -> bool {
    matches!(
        failure,
        OriginFailure::Unknown(Unknown::EmptyReply | Unknown::Reset(_))
    )
}

/// What a hyper client error means, read by type and by the markers our IO left in it.
fn classify(
    err: hyper::Error,
    meter: &HeadMeter,
    timeouts: &OriginTimeouts,
    head_limit: usize,
) -> OriginFailure {
    // The visitor's own body failed while we streamed it: the visitor's problem, not the
    // origin's. Checked first, since that error may itself wrap an io error.
    let visitor_body = err.is_user()
        && err
            .source()
            .is_some_and(|s| s.downcast_ref::<hyper::Error>().is_some());
    let too_large = err
        .source()
        .and_then(|s| s.downcast_ref::<BodyTooLarge>())
        .map(|e| e.limit);
    if let Some(limit) = too_large {
        return OriginFailure::BodyTooLarge { limit };
    }
    if visitor_body {
        return OriginFailure::VisitorBody(err);
    }
    if let Some(io) = find_io(&err) {
        if io.get_ref().is_some_and(|e| e.is::<WriteStalled>()) {
            return OriginFailure::WriteTimeout {
                after: timeouts.write,
            };
        }
        if io.get_ref().is_some_and(|e| e.is::<HeadTooLarge>()) {
            return OriginFailure::Unknown(Unknown::HeadersTooLarge { limit: head_limit });
        }
        return match io.kind() {
            // TCP_USER_TIMEOUT: request bytes went unacknowledged for `timeouts.ack`.
            io::ErrorKind::TimedOut => OriginFailure::AckTimeout {
                after: timeouts.ack,
            },
            // A TLS origin that closed without close_notify: a plain close as far as HTTP goes.
            io::ErrorKind::UnexpectedEof => closed(meter),
            // A reset after part of the head is a head cut short, not a stale connection.
            _ => match meter.seen() {
                0 => OriginFailure::Unknown(Unknown::Reset(copy_io(io))),
                received => OriginFailure::Unknown(Unknown::ClosedMidHead { received }),
            },
        };
    }
    if err.is_parse_too_large() {
        return OriginFailure::Unknown(Unknown::HeadersTooLarge { limit: head_limit });
    }
    if err.is_parse() || err.is_parse_status() {
        return OriginFailure::Unknown(Unknown::MalformedHead(err));
    }
    closed(meter)
}

/// The origin closed the connection: before a byte of response, or part way into the head.
fn closed(meter: &HeadMeter) -> OriginFailure {
    match meter.seen() {
        0 => OriginFailure::Unknown(Unknown::EmptyReply),
        received => OriginFailure::Unknown(Unknown::ClosedMidHead { received }),
    }
}

/// The first `io::Error` in `err`'s source chain.
fn find_io(err: &hyper::Error) -> Option<&io::Error> {
    let mut current = err.source();
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}

/// An owned copy of a borrowed io error: same OS code or kind, for the failure's source.
fn copy_io(io: &io::Error) -> io::Error {
    match io.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(io.kind(), io.to_string()),
    }
}
