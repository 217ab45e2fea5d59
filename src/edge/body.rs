//! [`EdgeBody`]: every response body edgecase sends, one type for pages and proxied bodies,
//! carrying the request's [`AccessLog`] so the line is written when the body is over.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::edge::access_log::{AccessLog, Ending};
use crate::origin::body::{BodyAbort, OriginBody};

/// A response body on its way to the visitor.
// The proxied body is the common case: boxing it would cost an allocation per proxied
// response to save a few bytes on error pages.
#[allow(clippy::large_enum_variant)]
pub enum EdgeBody {
    /// A body edgecase made (error page, trace), sent in one frame.
    Full(Option<Bytes>),
    /// The origin's body, streamed; the log line is written when it ends.
    Origin {
        /// The streaming body.
        body: OriginBody,
        /// Written at the end; `None` once written. Boxed: the line's fields would otherwise
        /// make every page body as large as a proxied one.
        log: Option<Box<AccessLog>>,
    },
}

impl EdgeBody {
    /// A complete body.
    pub fn full(bytes: Bytes) -> Self {
        EdgeBody::Full((!bytes.is_empty()).then_some(bytes))
    }

    /// A complete body whose response carries its own `content-length` in its place: sent as
    /// one frame even when empty. hyper's HTTP/1.1 encoder drops the map's `content-length` of
    /// a body that is already over and writes its own after every other header; a body of one
    /// (empty) frame is "0 bytes to come", whose `content-length` stays where it was set.
    pub fn sized(bytes: Bytes) -> Self {
        EdgeBody::Full(Some(bytes))
    }
}

impl Body for EdgeBody {
    type Data = Bytes;
    type Error = BodyAbort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyAbort>>> {
        match self.get_mut() {
            EdgeBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            EdgeBody::Origin { body, log } => {
                let frame = ready!(Pin::new(&mut *body).poll_frame(cx));
                if let (Some(Ok(frame)), Some(log)) = (&frame, log.as_mut())
                    && let Some(data) = frame.data_ref()
                {
                    log.sent(data);
                }
                let ending = match &frame {
                    None => Some(Ending::Complete),
                    Some(Err(abort)) => Some(Ending::Aborted(abort.tag())),
                    Some(Ok(_)) if body.is_end_stream() => Some(Ending::Complete),
                    Some(Ok(_)) => None,
                };
                // Taken only at the end: the line is written once, with how the body ended.
                if let Some(ending) = ending
                    && let Some(log) = log.take()
                {
                    log.finish(ending);
                }
                Poll::Ready(frame)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            EdgeBody::Full(bytes) => bytes.is_none(),
            EdgeBody::Origin { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            EdgeBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            EdgeBody::Origin { body, .. } => body.size_hint(),
        }
    }
}

impl Drop for EdgeBody {
    fn drop(&mut self) {
        if let EdgeBody::Origin { log, body } = self
            && let Some(log) = log.take()
        {
            // An empty body hyper never polled is complete, not abandoned.
            let ending = if body.is_end_stream() {
                Ending::Complete
            } else {
                Ending::VisitorGone
            };
            log.finish(ending);
        }
    }
}
