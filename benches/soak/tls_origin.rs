//! The untrusted TLS origin: a self-signed certificate no root vouches for, so a route in a
//! strict SSL mode gets 526. Made with rcgen and served with tokio-rustls; a client that did
//! accept the certificate would get a plain 200.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};
use tokio_rustls::TlsAcceptor;

/// How long a handshake may take before the origin drops the connection.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(2);

/// Starts the origin on 127.0.0.1; the task runs until aborted.
pub async fn start() -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let made = rcgen::generate_simple_self_signed(vec!["soak.test".to_owned()])
        .map_err(io::Error::other)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .map_err(io::Error::other)?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        // edgecase refuses the certificate, so this normally fails at once.
                        let Ok(Ok(mut tls)) =
                            timeout(HANDSHAKE_WAIT, acceptor.accept(stream)).await
                        else {
                            return;
                        };
                        let mut buf = [0u8; 4096];
                        let _ = timeout(HANDSHAKE_WAIT, tls.read(&mut buf)).await;
                        let _ = tls
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                            .await;
                        let _ = tls.shutdown().await;
                    });
                }
                Err(_) => sleep(Duration::from_millis(10)).await,
            }
        }
    });
    Ok((addr, task))
}
