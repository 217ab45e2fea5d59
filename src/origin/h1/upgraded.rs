//! [`Upgraded`]: an origin connection after `101 Switching Protocols`, for the tunnel: the
//! bytes read past the head come first, then the socket's.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::stream::OriginStream;
use crate::origin::io::OriginIo;
use crate::record::connections::OpenConnection;

/// The origin side of a tunnel.
pub struct Upgraded {
    io: OriginIo<OriginStream>,
    prefix: Bytes,
    _open: Option<OpenConnection>,
}

impl Upgraded {
    pub(super) fn new(
        io: OriginIo<OriginStream>,
        prefix: Bytes,
        open: Option<OpenConnection>,
    ) -> Self {
        Upgraded {
            io,
            prefix,
            _open: open,
        }
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
