//! The origin side's HTTP/1.1, edgecase's own on `httparse` (hyper serves visitors only).
//!
//! - [`head`]: where a response head ends, what it says, how its body is framed;
//! - [`decode`]: the body, by length, chunked or to the close;
//! - [`request`]: the request head written and its body framed;
//! - [`connection`]: one connection, driven by the request that uses it;
//! - [`stream`]: the socket under it, plain or TLS; [`upgraded`]: the socket after a 101.
//!
//! Where RFC 9112 leaves a choice, the choice is written beside the rule it follows.

pub mod connection;
pub mod decode;
pub mod head;
pub mod request;
pub mod stream;
pub mod upgraded;

#[cfg(test)]
mod tests;

pub use connection::{BodyFault, Connection, HeadFailure};
pub use decode::Decoder;
pub use head::{BodyFraming, ResponseHead};
pub use request::Upload;
pub use stream::OriginStream;
pub use upgraded::Upgraded;

/// Passes an origin's interim responses (1xx other than 101) on: set in a request's
/// extensions, called with each one's status and fields before the final head.
#[derive(Clone)]
pub struct OnInterim(pub std::sync::Arc<PassInterim>);

/// What [`OnInterim`] calls.
pub type PassInterim = dyn Fn(http::StatusCode, &http::HeaderMap) + Send + Sync;
