//! [`OpenConnection`]: an origin connection counted while it lives. The count is a shared
//! gauge the origin side holds; the metrics publish the same gauge, so the origin names no
//! observer.

use prometheus_client::metrics::gauge::Gauge;

/// Keeps the open-origin-connections gauge up while a connection lives.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl OpenConnection {
    /// Counts one more open connection on `gauge`.
    pub fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        OpenConnection(gauge.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}
