//! A proxy of the Toxiproxy model (`[[proxy]]`, `POST /proxies`), as plain data: the config
//! reads it, the edge runs it.

/// The name of the config's own proxy, as Toxiproxy's API and every request record show it.
pub const OWN_PROXY: &str = "edgecase";

/// A proxy as Toxiproxy's `POST /proxies` and `[[proxy]]` describe one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySpec {
    /// Unique among the proxies; `edgecase` is the config's own.
    pub name: String,
    /// `ip:port` or `localhost:port`; port 0 lets the kernel pick one.
    pub listen: String,
    /// The origin, `host:port`.
    pub upstream: String,
    /// Whether it forwards (disabled: every request acts as refused, 521).
    pub enabled: bool,
}
