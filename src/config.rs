//! Configuration: the TOML file (`config/edgecase.toml` documents every key) and command-line
//! overrides, turned into a typed [`Config`], plus the per-request choice of origin and
//! timeouts ([`Config::target`]).
//!
//! The file goes `raw` (serde structs, unknown keys refused) → `validate` (every value checked,
//! every problem collected with its key path) → [`Config`]. Defaults copy Cloudflare's edge:
//! the `classic` profile follows the seed article, `current` the 2026 documentation. This module
//! does not resolve names, bind sockets or enforce any timeout: it only says what they are.

mod address;
mod duration;
mod error;
pub mod fault;
mod modes;
mod observe;
pub mod pages;
mod proxy;
mod raw;
mod route;
mod scenario;
mod settings;
mod shape;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_observe;
#[cfg(test)]
mod tests_tls;
mod validate;
mod visitor;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::ray::Colo;
use crate::tls::trust::OriginTls;

pub(crate) use duration::{format as format_duration, parse as parse_duration};

pub(crate) use address::strip_port;
pub use address::{InvalidOriginAddress, OriginAddress};
pub use error::{ConfigError, Problem};
pub use fault::FaultSpec;
pub use modes::{OriginScheme, Profile, SslInForce, SslMode, UnknownProfile, UnknownSslMode};
pub use observe::{
    AnalyticsConfig, CaptureConfig, DEFAULT_CAPTURE_BODY_BYTES, DEFAULT_LOG_QUEUE, LogConfig,
    MAX_CAPTURE_BODY_BYTES, PagesConfig, Redact,
};
pub use proxy::{OWN_PROXY, ProxySpec};
pub use route::{Route, Target};
pub use scenario::{BadStart, PhaseSpec, ScenarioSpec, ScenarioStart};
pub use settings::{Access, EmptyAccess, LogFormat, StatusFilter, Timestamps};
pub use visitor::{PoolLimits, VisitorLimits};

/// Where visitors connect when `edge.listen` is not set: loopback only, so a fresh checkout
/// exposes nothing.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));
/// The origin's host when `origin.address` is not set (with [`DEFAULT_ORIGIN_PORT`]).
pub const DEFAULT_ORIGIN_HOST: &str = "127.0.0.1";
/// The origin's port when `origin.address` is not set: a local development server.
pub const DEFAULT_ORIGIN_PORT: u16 = 3000;
/// Cloudflare's default for every zone since October 2024: Automatic SSL/TLS, which probes the
/// origin and uses the most secure mode it supports.
pub const DEFAULT_SSL_MODE: SslMode = SslMode::Automatic;
/// How often Automatic SSL/TLS probes each origin and host name again when
/// `origin.ssl_probe_interval` is not set. edgecase's choice: Cloudflare does not publish how
/// often it re-scans.
pub const DEFAULT_SSL_PROBE_INTERVAL: Duration = Duration::from_secs(3600);
/// The longest `origin.ssl_probe_interval` accepted: a week.
pub const MAX_SSL_PROBE_INTERVAL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long in-flight requests may finish after SIGTERM or Ctrl-C. edgecase's own setting:
/// Cloudflare's edge has no visible equivalent.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The longest `edge.shutdown_grace` accepted.
pub const MAX_SHUTDOWN_GRACE: Duration = Duration::from_secs(3600);
/// The profile used when `timeouts.profile` is not set.
pub const DEFAULT_PROFILE: Profile = Profile::Classic;

/// Where the control API listens when `[admin] listen` is not set: loopback only.
pub const DEFAULT_ADMIN_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8081));
/// Railgun's `lan.timeout` default: 30 seconds without a response from the origin, then 527.
pub const DEFAULT_LAN_TIMEOUT: Duration = Duration::from_secs(30);

/// Classic: Cloudflare answered 522 when the origin had not completed the TCP handshake within
/// 15 seconds (seed article).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Current: 19 seconds, the SYN retries of Cloudflare's 2026 docs (1, 1, 1, 1, 1, 2, 4, 8 s)
/// added up, then 522.
pub const CURRENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(19);
/// Both profiles: Cloudflare answers 522 when request data sent to the origin stays
/// unacknowledged by its TCP for 90 seconds.
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(90);
/// Both profiles: Cloudflare's proxy write timeout, 30 seconds; a write that stalls longer ends
/// in 524.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Classic: Cloudflare's proxy read timeout, 100 seconds without a response, then 524 (seed
/// article).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(100);
/// Current: the proxy read timeout of the 2026 docs, 125 seconds (120 in 2025), then 524.
pub const CURRENT_READ_TIMEOUT: Duration = Duration::from_secs(125);
/// The longest read timeout accepted: 6000 seconds, Cloudflare's Enterprise maximum for
/// `proxy_read_timeout` (which starts at 1 s; edgecase also accepts less, for tests).
pub const MAX_READ_TIMEOUT: Duration = Duration::from_secs(6000);
/// The longest connect, ack or write timeout accepted: one hour. Cloudflare has no setting for
/// these; the cap catches a unit slip such as `"15h"` for `"15s"`.
pub const MAX_PHASE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Classic: Cloudflare answered 520 when the origin's response headers exceeded 16 KB (seed
/// article: "usually too many cookies").
pub const DEFAULT_ORIGIN_HEADER_BYTES: usize = 16 * 1024;
/// Current: 128 KB of response headers in all before a 520 (2026 docs).
pub const CURRENT_ORIGIN_HEADER_BYTES: usize = 128 * 1024;
/// The smallest `limits.origin_header_bytes` accepted: 1 KiB, below which few real heads fit.
pub const MIN_ORIGIN_HEADER_BYTES: usize = 1024;
/// The largest `limits.origin_header_bytes` accepted: 1 MiB, eight times Cloudflare's largest.
pub const MAX_ORIGIN_HEADER_BYTES: usize = 1024 * 1024;

/// Everything edgecase needs to run, checked. Fields are public so tests can adjust a loaded
/// config; [`Config::target`] reads them at each call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The visitor side: `[edge]`.
    pub edge: EdgeConfig,
    /// The default origin: `[origin]`.
    pub origin: OriginConfig,
    /// The profile the defaults of `timeouts` and `limits` came from.
    pub profile: Profile,
    /// The origin timeouts for requests no route overrides: the profile's, then explicit keys.
    pub timeouts: OriginTimeouts,
    /// Size limits on what the origin sends: `[limits]`.
    pub limits: Limits,
    /// How origin names resolve: `[dns]`.
    pub dns: DnsConfig,
    /// `[[route]]`s in file order; the first that matches a request wins.
    pub routes: Vec<Route>,
    /// `[[fault]]` rules in file order, each checked; the first that matches wins.
    pub faults: Vec<FaultSpec>,
    /// `[emulation]`: how faults are chosen and shown.
    pub emulation: Emulation,
    /// `[railgun]`: when set, a Railgun listener sits between the edge and the origin.
    pub railgun: Option<Railgun>,
    /// `[admin]`: the control API; `None` when `[admin] enabled = false`.
    pub admin: Option<AdminConfig>,
    /// `[log]`: the access log.
    pub log: LogConfig,
    /// `[analytics]`: Error Analytics.
    pub analytics: AnalyticsConfig,
    /// `[capture]`: HAR capture.
    pub capture: CaptureConfig,
    /// `[pages] dir`: custom error page templates; `None`: the built-in pages.
    pub pages: Option<PagesConfig>,
    /// `[limits]` on what visitors send and how many connect.
    pub visitor: VisitorLimits,
    /// `[origin] max_idle` and `idle_timeout`.
    pub pool: PoolLimits,
    /// `[[proxy]]`: more proxies to start beside the config's own, as Toxiproxy's `-config`.
    pub proxies: Vec<ProxySpec>,
    /// `[[scenario]]`: fault timelines, each a list of phases on a clock.
    pub scenarios: Vec<ScenarioSpec>,
}

/// `[emulation]`: fault decisions and explanations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Emulation {
    /// Seeds the RNG behind `percent`, jitter and toxicity; `None`: random.
    pub seed: Option<u64>,
    /// Whether the `cf-edgecase-fault` request header picks a fault (off by default).
    pub header_faults: bool,
    /// Whether edgecase-made responses carry `cf-edgecase-cause`.
    pub explain: bool,
}

/// `[railgun]`: the retired Railgun listener beside the origin. Origin-link failures answer
/// 527, and `lan_timeout` replaces `timeouts.read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Railgun {
    /// How long the listener waits for the origin's response.
    pub lan_timeout: Duration,
}

/// `[admin]`: where the control API listens, and the token it wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminConfig {
    /// The control API's address.
    pub listen: SocketAddr,
    /// `authorization: Bearer <token>` required on every endpoint but `/healthz`, when set.
    pub token: Option<String>,
    /// Whether `listen` was left to its default, so a busy port is a warning, not an error.
    pub default_listen: bool,
    /// `[admin] allowed_hosts`: Host names answered besides loopback and the listen address.
    pub allowed_hosts: Vec<String>,
    /// `[admin] allowed_origins`: web origins (`http://host:port`) whose pages may call it.
    pub allowed_origins: Vec<String>,
}

/// `[edge]`: where visitors connect and how the edge presents itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeConfig {
    /// The address visitors connect to, HTTP/1.1 and h2c. Port 0 lets the kernel choose.
    pub listen: SocketAddr,
    /// HTTPS for visitors: `tls_listen` with `tls_cert` and `tls_key`. `None`: HTTP only.
    pub tls: Option<EdgeTls>,
    /// The data centre shown in `cf-ray`, `/cdn-cgi/trace` and on error pages.
    pub colo: Colo,
    /// How long in-flight requests may finish after SIGTERM or Ctrl-C; the clock starts at the
    /// signal, and connections still open when it runs out are closed. Zero closes at once.
    pub shutdown_grace: Duration,
    /// Seeds the ray ID sequence, so a run can be replayed; `None`: random.
    pub ray_seed: Option<u64>,
    /// Cloudflare's 2026 errors: `Accept` picks HTML, JSON or Markdown, and `retry-after` is
    /// sent. `false`: the HTML page for everyone, no `retry-after`.
    pub structured_errors: bool,
    /// Threads serving requests: `Some(1)` runs everything on one thread (for measuring on one
    /// core); `None`: one per core.
    pub workers: Option<usize>,
}

/// `[edge] tls_listen`, `tls_cert`, `tls_key`: the visitor-facing HTTPS listener.
#[derive(Clone, Debug)]
pub struct EdgeTls {
    /// Where visitors connect over TLS (h2 and http/1.1 by ALPN).
    pub listen: SocketAddr,
    /// The certificate chain file (PEM, leaf first), resolved against the config's directory.
    pub cert: PathBuf,
    /// The private key file (PEM), resolved like `cert`.
    pub key: PathBuf,
    /// The server config built from the two files when the config was loaded.
    pub server: Arc<rustls::ServerConfig>,
}

impl PartialEq for EdgeTls {
    /// Same listener and files (the server config is built from them).
    fn eq(&self, other: &Self) -> bool {
        (self.listen, &self.cert, &self.key) == (other.listen, &other.cert, &other.key)
    }
}

impl Eq for EdgeTls {}

/// `[origin]`: where requests go when no route says otherwise, and how TLS to it works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginConfig {
    /// The origin's host and port.
    pub address: OriginAddress,
    /// Cloudflare's SSL/TLS mode: whether the edge speaks TLS to the origin, and how far it
    /// trusts the certificate.
    pub ssl: SslMode,
    /// The name sent as SNI and checked against the certificate; `None`: the visitor's Host.
    pub sni: Option<String>,
    /// The port used when the mode sends TLS; `None`: the address's own port.
    pub tls_port: Option<u16>,
    /// How often Automatic SSL/TLS probes each origin and host name again.
    pub ssl_probe_interval: Duration,
    /// Trusted roots and revocation lists for `full_strict` and `strict`.
    pub trust: OriginTrust,
}

/// `[origin] ca` and `crl`, and the TLS client configs built from them with webpki-roots.
#[derive(Clone, Debug, Default)]
pub struct OriginTrust {
    /// Extra trusted roots (PEM), beside webpki-roots.
    pub ca: Option<PathBuf>,
    /// Certificate revocation lists (PEM).
    pub crl: Option<PathBuf>,
    /// The client configs, built when the config was loaded.
    pub tls: OriginTls,
}

impl PartialEq for OriginTrust {
    /// Same files (the client configs are built from them).
    fn eq(&self, other: &Self) -> bool {
        (&self.ca, &self.crl) == (&other.ca, &other.crl)
    }
}

impl Eq for OriginTrust {}

/// How long each phase of talking to the origin may take. Each is a wall-clock [`Duration`]
/// (at least 1 ms once loaded; below a second is allowed so tests stay fast), enforced on its
/// own so that 522 and 524 stay distinguishable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginTimeouts {
    /// From the first SYN until the TCP handshake completes, in total over every address the
    /// origin's name resolves to (name resolution is not counted). Exceeded → 522.
    pub connect: Duration,
    /// How long request bytes already sent may stay unacknowledged by the origin's TCP: the
    /// clock runs while any sent byte is unacknowledged and restarts when acknowledgements
    /// advance. Exceeded → 522.
    pub ack: Duration,
    /// How long one write to the origin may make no progress (the origin stopped reading and
    /// the socket buffer is full): the clock runs while a write is blocked and restarts on each
    /// byte accepted. Exceeded → 524.
    pub write: Duration,
    /// From the request being completely sent until the origin's complete response head has
    /// arrived (at most 6000 s, Cloudflare's Enterprise maximum). Exceeded → 524.
    pub read: Duration,
}

impl Default for OriginTimeouts {
    /// The classic profile's values.
    fn default() -> Self {
        DEFAULT_PROFILE.timeouts()
    }
}

/// Timeouts a route sets; `None` keeps the global value ([`Config::timeouts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartialTimeouts {
    /// Overrides [`OriginTimeouts::connect`].
    pub connect: Option<Duration>,
    /// Overrides [`OriginTimeouts::ack`].
    pub ack: Option<Duration>,
    /// Overrides [`OriginTimeouts::write`].
    pub write: Option<Duration>,
    /// Overrides [`OriginTimeouts::read`].
    pub read: Option<Duration>,
}

impl PartialTimeouts {
    /// `base` with the values set here replacing its own.
    pub fn over(&self, base: OriginTimeouts) -> OriginTimeouts {
        OriginTimeouts {
            connect: self.connect.unwrap_or(base.connect),
            ack: self.ack.unwrap_or(base.ack),
            write: self.write.unwrap_or(base.write),
            read: self.read.unwrap_or(base.read),
        }
    }
}

/// `[limits]`: how much the origin may send before the edge gives up on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest origin response head, in bytes, counted as it arrives from the first byte
    /// of the status line to the end of the blank line. One byte more → 520.
    pub origin_header_bytes: usize,
}

impl Default for Limits {
    /// The classic profile's values.
    fn default() -> Self {
        Limits {
            origin_header_bytes: DEFAULT_PROFILE.origin_header_bytes(),
        }
    }
}

/// `[dns]`: how origin host names become addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsConfig {
    /// Whether names missing from `hosts` go to the system resolver; `false` makes every other
    /// name fail to resolve (hermetic tests).
    pub system: bool,
    /// Static answers, consulted first: lowercase name → one or more addresses (never empty).
    pub hosts: HashMap<String, Vec<IpAddr>>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            system: true,
            hosts: HashMap::new(),
        }
    }
}

/// Values from the command line, applied over the file's before validation, so their problems
/// name `edge.listen` / `origin.address` like the file's would.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--listen`: replaces `edge.listen`.
    pub listen: Option<String>,
    /// `--origin`: replaces `origin.address`.
    pub origin: Option<String>,
    /// `--admin`: replaces `admin.listen`.
    pub admin: Option<String>,
}

impl Config {
    /// Parses and checks a config file's text, without overrides.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str_with(text, &Overrides::default())
    }

    /// Parses a config file's text, applies `overrides`, and checks the result. Every problem
    /// is reported: unknown keys (with the closest known one), wrongly typed values and invalid
    /// values together; a TOML syntax error alone.
    pub fn from_toml_str_with(text: &str, overrides: &Overrides) -> Result<Config, ConfigError> {
        Config::parse(text, overrides, Path::new(""))
    }

    /// As [`Config::from_toml_str_with`], with relative file paths taken from `base`.
    fn parse(text: &str, overrides: &Overrides, base: &Path) -> Result<Config, ConfigError> {
        let (raw, mut problems) = raw::parse(text);
        let Some(raw) = raw else {
            return Err(ConfigError::new(problems));
        };
        match validate::build(raw, overrides, base) {
            Ok(config) if problems.is_empty() => Ok(config),
            Ok(_) => Err(ConfigError::new(problems)),
            Err(more) => {
                // An item of a list (`route[1]`, `fault[0]`) is checked as a whole; once one of
                // its keys was taken out for its shape, what the item lacks is not news.
                let cut: Vec<String> = problems.iter().filter_map(|p| item_of(&p.key)).collect();
                problems.extend(
                    more.into_iter()
                        .filter(|p| !cut.iter().any(|item| p.key.starts_with(item.as_str()))),
                );
                Err(ConfigError::new(problems))
            }
        }
    }

    /// Reads the file at `path`, then as [`Config::from_toml_str_with`]; errors name the file.
    /// Relative file paths in it (`tls_cert`, `ca`...) are relative to the file's directory.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
        let in_file = |mut error: ConfigError| {
            error.file = Some(path.to_owned());
            error
        };
        let text = std::fs::read_to_string(path).map_err(|io| {
            in_file(ConfigError::new(vec![Problem::new(
                "",
                format_args!("cannot read: {io}"),
            )]))
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        Config::parse(&text, overrides, base).map_err(in_file)
    }

    /// The defaults with `overrides` applied, for running without a config file.
    pub fn defaults_with(overrides: &Overrides) -> Result<Config, ConfigError> {
        validate::build(raw::RawConfig::default(), overrides, Path::new(""))
            .map_err(ConfigError::new)
    }
}

/// The innermost list item a key path is inside, with its dot: `route[1].` for
/// `route[1].hots`, `scenario[0].phase[1].faults[0].` for a fault rule's key.
fn item_of(key: &str) -> Option<String> {
    let end = key.rfind(']')?;
    Some(format!("{}.", &key[..=end]))
}

impl Default for Config {
    /// What an empty config file gives: the classic profile and the `DEFAULT_*` values.
    fn default() -> Self {
        Config {
            edge: EdgeConfig {
                listen: DEFAULT_LISTEN,
                tls: None,
                colo: Colo::DEFAULT,
                shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
                ray_seed: None,
                structured_errors: true,
                workers: None,
            },
            origin: OriginConfig {
                address: OriginAddress::default(),
                ssl: DEFAULT_SSL_MODE,
                sni: None,
                tls_port: None,
                ssl_probe_interval: DEFAULT_SSL_PROBE_INTERVAL,
                trust: OriginTrust::default(),
            },
            profile: DEFAULT_PROFILE,
            timeouts: OriginTimeouts::default(),
            limits: Limits::default(),
            dns: DnsConfig::default(),
            routes: Vec::new(),
            faults: Vec::new(),
            emulation: Emulation::default(),
            railgun: None,
            admin: Some(AdminConfig {
                listen: DEFAULT_ADMIN_LISTEN,
                token: None,
                default_listen: true,
                allowed_hosts: Vec::new(),
                allowed_origins: Vec::new(),
            }),
            log: LogConfig::default(),
            analytics: AnalyticsConfig::default(),
            capture: CaptureConfig::default(),
            pages: None,
            visitor: VisitorLimits::default(),
            pool: PoolLimits::default(),
            proxies: Vec::new(),
            scenarios: Vec::new(),
        }
    }
}
