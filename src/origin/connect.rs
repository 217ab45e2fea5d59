//! TCP connections to the origin, with the connect phase classified where it fails.
//!
//! `timeouts.connect` bounds the whole phase, across every address the name resolved to (as
//! one Cloudflare connect attempt does): the addresses are tried in order, and what the last
//! one said decides the failure. TLS comes later, on top of the stream returned here.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

#[cfg(any(target_os = "linux", target_os = "android"))]
use socket2::SockRef;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use crate::failure::OriginFailure;

/// What became of one address's connect attempt.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// The address tried.
    pub addr: SocketAddr,
    /// From the attempt's start to its outcome.
    pub took: Duration,
    /// `None`: connected; else why this address failed (the last one's failure is the phase's).
    pub failure: Option<&'a OriginFailure>,
}

/// Told about each address as it is tried, then about what came of it.
pub trait Attempts {
    /// `addr` is about to be tried.
    fn trying(&mut self, addr: SocketAddr);
    /// What came of the attempt on `attempt.addr`.
    fn tried(&mut self, attempt: Attempt<'_>) {
        let _ = attempt;
    }
}

/// The proxy's record: the address being (or last) tried, so a failure names it.
impl Attempts for Option<SocketAddr> {
    fn trying(&mut self, addr: SocketAddr) {
        *self = Some(addr);
    }
}

/// Connects to the first address of `addrs` that accepts, within `connect` in total. `tried`
/// is told of each address as it is tried and of what came of it, so a failure still tells
/// which address failed (and a diagnosis can show every attempt).
///
/// Once connected, request data left unacknowledged by the origin's TCP for `ack` aborts the
/// connection (TCP_USER_TIMEOUT on Linux; since Linux 5.12 it also covers a receiver that keeps
/// its window at zero). It is set only after the handshake so it cannot cut SYN retries short.
pub async fn connect(
    addrs: &[SocketAddr],
    connect: Duration,
    ack: Duration,
    tried: &mut impl Attempts,
) -> Result<TcpStream, OriginFailure> {
    let deadline = Instant::now() + connect;
    let mut last = OriginFailure::ConnectTimeout { after: connect };
    for &addr in addrs {
        tried.trying(addr);
        let started = Instant::now();
        let outcome = attempt(addr, deadline, connect, ack).await;
        let failure = outcome.as_ref().err();
        let took = started.elapsed();
        tried.tried(Attempt {
            addr,
            took,
            failure,
        });
        match outcome {
            Ok(stream) => return Ok(stream),
            // The whole phase's time is spent: no address after this one is tried.
            Err(timeout @ OriginFailure::ConnectTimeout { .. }) if Instant::now() >= deadline => {
                return Err(timeout);
            }
            // edgecase's own failure (no socket): no other address would fare better.
            Err(internal @ OriginFailure::Internal(_)) => return Err(internal),
            Err(failure) => last = failure,
        }
    }
    Err(last)
}

/// One address's attempt, cut short at `deadline`.
async fn attempt(
    addr: SocketAddr,
    deadline: Instant,
    connect: Duration,
    ack: Duration,
) -> Result<TcpStream, OriginFailure> {
    let socket = open_socket(addr).map_err(OriginFailure::Internal)?;
    match tokio::time::timeout_at(deadline, socket.connect(addr)).await {
        Err(_elapsed) => Err(OriginFailure::ConnectTimeout { after: connect }),
        Ok(Ok(stream)) => {
            set_ack_timeout(&stream, ack).map_err(OriginFailure::Internal)?;
            Ok(stream)
        }
        Ok(Err(e)) => Err(classify_connect_error(e, connect)),
    }
}

/// A fresh, non-blocking TCP socket for `addr`'s family, with Nagle off.
///
/// Failing here (out of file descriptors, say) is edgecase's own failure, not the origin's.
fn open_socket(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_nodelay(true)?;
    Ok(socket)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_ack_timeout(stream: &TcpStream, ack: Duration) -> io::Result<()> {
    SockRef::from(stream).set_tcp_user_timeout(Some(ack))
}

/// Without TCP_USER_TIMEOUT the write timeout (524) is the only guard on unacked data.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_ack_timeout(_stream: &TcpStream, _ack: Duration) -> io::Result<()> {
    Ok(())
}

/// What a failed `connect()` means for the visitor.
fn classify_connect_error(e: io::Error, connect: Duration) -> OriginFailure {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused | ConnectionReset | ConnectionAborted => OriginFailure::Refused(e),
        // The kernel gave up on SYN retries before our own timer did.
        TimedOut => OriginFailure::ConnectTimeout { after: connect },
        NetworkUnreachable | HostUnreachable | NetworkDown | AddrNotAvailable => {
            OriginFailure::Unreachable(e)
        }
        // Anything else (EACCES from a firewall rule, EINVAL...) still means we could not
        // reach the origin: Cloudflare shows such failures as unreachable.
        _ => OriginFailure::Unreachable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every attempt: address, and `None` or the failure's tag.
    #[derive(Default)]
    struct Log(Vec<(SocketAddr, Option<&'static str>)>, Vec<SocketAddr>);

    impl Attempts for Log {
        fn trying(&mut self, addr: SocketAddr) {
            self.1.push(addr);
        }
        fn tried(&mut self, attempt: Attempt<'_>) {
            self.0
                .push((attempt.addr, attempt.failure.map(OriginFailure::tag)));
        }
    }

    #[tokio::test]
    async fn every_attempt_is_reported_in_order_until_one_connects() {
        // A port bound but not listening refuses (and stays ours); the listener accepts.
        let bound = TcpSocket::new_v4().expect("a socket");
        bound
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("bind");
        let refusing = bound.local_addr().expect("addr");
        let open = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let accepting = open.local_addr().expect("addr");
        let mut log = Log::default();
        let limit = Duration::from_secs(2);
        let stream = connect(&[refusing, accepting, refusing], limit, limit, &mut log).await;
        assert!(stream.is_ok(), "{:?}", stream.err());
        assert_eq!(log.1, [refusing, accepting]);
        assert_eq!(
            log.0,
            [(refusing, Some("refused")), (accepting, None::<&str>)]
        );
        let mut last = None;
        let failed = connect(&[refusing], limit, limit, &mut last).await;
        assert_eq!(failed.err().map(|f| f.tag()), Some("refused"));
        assert_eq!(last, Some(refusing));
    }
}
