//! The two bodies that cross edgecase: [`RequestBody`] (visitor to origin) and [`OriginBody`]
//! (origin to visitor). Both stream frame by frame; neither buffers a whole body.
//!
//! [`RequestBody`] tells the exchange when the request has been handed over, which starts the
//! read clock. [`OriginBody`] enforces `timeouts.read` between two reads of the response body,
//! returns the connection to the pool once the body is complete, and drops it (closing the
//! origin request) when the visitor goes away first.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::sync::oneshot;

use crate::origin::pool::{Conn, Pool};
use crate::origin::stall::StallTimer;

/// The visitor's request body on its way to the origin.
pub struct RequestBody {
    inner: Option<Incoming>,
    sent: Option<oneshot::Sender<()>>,
}

impl RequestBody {
    /// Streams the visitor's body.
    pub fn streaming(body: Incoming) -> Self {
        RequestBody {
            inner: Some(body),
            sent: None,
        }
    }

    /// No body (retries of bodiless requests).
    pub fn empty() -> Self {
        RequestBody {
            inner: None,
            sent: None,
        }
    }

    /// A receiver that fires once the last frame has been handed to the connection.
    pub fn on_sent(&mut self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.sent = Some(tx);
        rx
    }

    fn finished(&mut self) {
        if let Some(tx) = self.sent.take() {
            // The exchange may have stopped listening (it already failed): nothing to tell.
            let _ = tx.send(());
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            this.finished();
            return Poll::Ready(None);
        };
        let frame = ready!(Pin::new(&mut *inner).poll_frame(cx));
        if frame.is_none() || inner.is_end_stream() {
            this.finished();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

/// The response body broke off: the visitor's response is aborted, never ended cleanly.
#[derive(Debug)]
pub enum BodyAbort {
    /// No body bytes for `timeouts.read`.
    Stalled {
        /// The read timeout in force.
        after: Duration,
    },
    /// The origin's connection failed mid-body.
    Origin(hyper::Error),
}

impl fmt::Display for BodyAbort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stalled { after } => write!(f, "origin body stalled for {after:?}"),
            Self::Origin(_) => f.write_str("origin connection failed mid-body"),
        }
    }
}

impl StdError for BodyAbort {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Stalled { .. } => None,
            Self::Origin(e) => Some(e),
        }
    }
}

impl BodyAbort {
    /// A stable snake_case tag for logs.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::Stalled { .. } => "body_read_timeout",
            Self::Origin(_) => "body_origin_error",
        }
    }
}

/// The origin's response body on its way to the visitor.
pub struct OriginBody {
    inner: Incoming,
    /// Fires when the body has not moved for `timeouts.read`.
    stall: StallTimer,
    /// Returned to `pool` once the body completes; dropped (closing it) otherwise.
    conn: Option<(Conn, Pool)>,
}

impl OriginBody {
    /// Streams `inner`, allowing at most `idle_limit` between two frames, and hands `conn`
    /// back to `pool` once the body is complete.
    pub fn new(inner: Incoming, idle_limit: Duration, conn: Conn, pool: Pool) -> Self {
        let mut body = OriginBody {
            inner,
            stall: StallTimer::new(idle_limit),
            conn: Some((conn, pool)),
        };
        if body.inner.is_end_stream() {
            body.release();
        }
        body
    }

    fn release(&mut self) {
        if let Some((conn, pool)) = self.conn.take() {
            pool.release(conn);
        }
    }
}

impl Body for OriginBody {
    type Data = Bytes;
    type Error = BodyAbort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyAbort>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                ready!(this.stall.poll_stalled(cx));
                this.conn = None;
                let after = this.stall.limit();
                Poll::Ready(Some(Err(BodyAbort::Stalled { after })))
            }
            Poll::Ready(Some(Ok(frame))) => {
                this.stall.progress();
                if this.inner.is_end_stream() {
                    this.release();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.conn = None;
                Poll::Ready(Some(Err(BodyAbort::Origin(e))))
            }
            Poll::Ready(None) => {
                this.release();
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
