//! [`Plan`]: what `edgecase diagnose` was asked to check, from its command line (and config
//! file), settled before any packet is sent. This module owns the command's arguments and how
//! they combine; every problem with them is a [`PlanError`] (exit status 2).

use std::path::PathBuf;
use std::str::FromStr;

use http::Uri;

use crate::config::{Config, ConfigError, OriginAddress, Overrides, SslMode, Target};
use crate::normalize::Normalized;

/// `edgecase diagnose`'s arguments.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Args {
    /// The origin to check: HOST:PORT, or a URL (http://HOST[:PORT]/PATH, https://...).
    /// Optional with --config, which names the origin.
    #[arg(value_name = "ORIGIN")]
    pub origin: Option<String>,
    /// The Host a visitor asks for [default: the URL's or ORIGIN's host]; with --config it
    /// also picks the [[route]], as the edge would.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// The SSL/TLS mode: off, flexible, full, full_strict or strict [default: the config's;
    /// without --config, full_strict for an https:// URL, off otherwise].
    #[arg(long, value_name = "MODE")]
    pub ssl: Option<SslMode>,
    /// The path (and query) to request [default: the URL's, else /]; with --config it also
    /// picks the [[route]].
    #[arg(long, value_name = "/PATH")]
    pub path: Option<String>,
    /// A config file: the origin, SSL mode, routes, [dns] map, trust and timeouts come from
    /// it (ORIGIN, if given, replaces the matched route's origin).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the report as one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write what Cloudflare's support asks for into DIR (created if missing): summary,
    /// /cdn-cgi/trace output, HAR and the JSON report.
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
}

/// Why the arguments cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Neither an origin nor a config file.
    #[error("name the origin to check (HOST:PORT or a URL), or give --config FILE")]
    NoOrigin,
    /// ORIGIN is not `host:port` or an http(s) URL.
    #[error("{text:?} is not an origin: {why}")]
    BadOrigin {
        /// As given.
        text: String,
        /// What is wrong with it.
        why: String,
    },
    /// `--host` is not a host name or IP address.
    #[error("--host {0:?} is not a host name or IP address")]
    BadHost(String),
    /// `--path` does not start with `/`, or is not a valid request target.
    #[error("--path {0:?} must be a path starting with /, like /login?next=%2F")]
    BadPath(String),
    /// The config file (or the defaults with ORIGIN) did not load.
    #[error("{0}")]
    Config(#[from] ConfigError),
}

/// What to diagnose, settled.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The config in force: the file's, or the defaults.
    pub config: Config,
    /// ORIGIN, replacing the matched route's origin when given.
    pub origin: Option<OriginAddress>,
    /// The Host, lowercase, without port.
    pub host: String,
    /// The path and query, starting with `/`.
    pub path: String,
    /// `--ssl`, or the mode an https:// URL implies when there is no config file.
    pub ssl: Option<SslMode>,
    /// Whether the visitor is taken to arrive over HTTPS (Full and Full (strict) follow it).
    pub https: bool,
}

impl Plan {
    /// Settles `args`: reads the config file, parses ORIGIN, picks host, path and mode.
    pub fn from_args(args: &Args) -> Result<Plan, PlanError> {
        let origin = args.origin.as_deref().map(parse_origin).transpose()?;
        let config = match &args.config {
            Some(path) => Config::load(path, &Overrides::default())?,
            None if origin.is_none() => return Err(PlanError::NoOrigin),
            None => Config::defaults_with(&Overrides::default())?,
        };
        let url_scheme = origin.as_ref().and_then(|o| o.https);
        let host = match &args.host {
            Some(host) => normal_host(host).ok_or_else(|| PlanError::BadHost(host.clone()))?,
            None => match &origin {
                Some(o) => bracketed(&o.address.host),
                None => bracketed(&config.origin.address.host),
            },
        };
        let path = match &args.path {
            Some(path) => checked_path(path)?,
            None => origin
                .as_ref()
                .and_then(|o| o.path.clone())
                .unwrap_or_else(|| "/".to_owned()),
        };
        // Without a config file, an https:// URL asks for TLS to the origin, validated as
        // Cloudflare recommends; with one, the file's mode stands unless --ssl says otherwise.
        let ssl = args.ssl.or(match (&args.config, url_scheme) {
            (None, Some(true)) => Some(SslMode::FullStrict),
            _ => None,
        });
        let mut plan = Plan {
            config,
            origin: origin.map(|o| o.address),
            host,
            path,
            ssl,
            https: false,
        };
        let mode = plan.target().ssl;
        // A URL's scheme is the visitor's; otherwise the visitor comes over HTTPS whenever
        // the mode would then use TLS, so that path is the one checked. Off serves no HTTPS.
        plan.https = mode != SslMode::Off
            && url_scheme.unwrap_or(matches!(
                mode,
                SslMode::Automatic | SslMode::Full | SslMode::FullStrict | SslMode::Strict
            ));
        Ok(plan)
    }

    /// Where the request goes, as the edge would route it: the matching `[[route]]` (or
    /// `[origin]`), with ORIGIN and `--ssl` over it and Railgun's `lan_timeout` as the read
    /// timeout when `[railgun]` is set.
    pub fn target(&self) -> Target<'_> {
        let path = self.path.split('?').next().unwrap_or("/");
        // Routed as the edge routes it: by the normalized host and path.
        let mut target = self.config.target(&Normalized::new(&self.host, path));
        if let Some(origin) = &self.origin {
            // As for a route with its own origin: `[origin]`'s sni and tls_port describe
            // `[origin]`'s address only.
            if target.address != origin {
                target.sni = None;
                target.tls_port = None;
            }
            target.address = origin;
        }
        if let Some(ssl) = self.ssl {
            target.ssl = ssl;
        }
        if let Some(railgun) = &self.config.railgun {
            target.timeouts.read = railgun.lan_timeout;
        }
        target
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    /// The URL a visitor would ask for.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme(), self.host, self.path)
    }
}

/// ORIGIN, parsed.
struct Origin {
    address: OriginAddress,
    /// `Some(true)` for an https:// URL, `Some(false)` for http://, `None` for host:port.
    https: Option<bool>,
    /// A URL's path and query.
    path: Option<String>,
}

fn parse_origin(text: &str) -> Result<Origin, PlanError> {
    let bad = |why: String| PlanError::BadOrigin {
        text: text.to_owned(),
        why,
    };
    if !text.contains("://") {
        let address = OriginAddress::from_str(text).map_err(|e| bad(e.to_string()))?;
        return Ok(Origin {
            address,
            https: None,
            path: None,
        });
    }
    let uri: Uri = text
        .parse()
        .map_err(|e| bad(format!("not a valid URL ({e})")))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("only http:// and https:// URLs can be checked".into())),
    };
    let Some(authority) = uri.authority() else {
        return Err(bad("the URL has no host".into()));
    };
    if authority.as_str().contains('@') {
        return Err(bad("a URL with credentials cannot be checked".into()));
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let address = OriginAddress::from_str(&format!("{}:{port}", authority.host()))
        .map_err(|e| bad(e.to_string()))?;
    let path = uri.path_and_query().map(|pq| pq.as_str().to_owned());
    Ok(Origin {
        address,
        https: Some(https),
        path: path.filter(|p| !p.is_empty()),
    })
}

/// A Host as the edge matches it: lowercase, without port, IPv6 in brackets.
fn normal_host(host: &str) -> Option<String> {
    let bare = crate::config::strip_port(host.trim());
    let probe = format!("{bare}:1");
    let parsed = OriginAddress::from_str(&probe).ok()?;
    Some(bracketed(&parsed.host))
}

/// A host as it goes in a Host header: IPv6 literals in brackets.
fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn checked_path(path: &str) -> Result<String, PlanError> {
    let valid = path.starts_with('/')
        && path
            .parse::<http::uri::PathAndQuery>()
            .is_ok_and(|pq| pq.as_str() == path);
    if valid {
        Ok(path.to_owned())
    } else {
        Err(PlanError::BadPath(path.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(args: Args) -> Plan {
        Plan::from_args(&args).expect("valid arguments")
    }

    fn origin(text: &str) -> Args {
        Args {
            origin: Some(text.into()),
            ..Args::default()
        }
    }

    #[test]
    fn host_port_is_that_address_in_automatic_mode_for_an_https_visitor() {
        let p = plan(origin("127.0.0.1:8080"));
        let target = p.target();
        assert_eq!(target.address.to_string(), "127.0.0.1:8080");
        assert_eq!(target.ssl, SslMode::Automatic);
        assert!(
            p.https,
            "Automatic may use TLS: the HTTPS visitor's path is the one walked"
        );
        assert_eq!(p.url(), "https://127.0.0.1/");
        let p = plan(origin("http://127.0.0.1:8080/"));
        assert!(!p.https, "an http:// URL is an HTTP visitor");
    }

    #[test]
    fn an_https_url_means_a_validated_tls_origin_on_443() {
        let p = plan(origin("https://Site.Test/login?next=1"));
        let target = p.target();
        assert_eq!(target.address.to_string(), "site.test:443");
        assert_eq!(target.ssl, SslMode::FullStrict);
        assert!(p.https);
        assert_eq!(p.host, "site.test");
        assert_eq!(p.path, "/login?next=1");
        assert_eq!(p.url(), "https://site.test/login?next=1");
    }

    #[test]
    fn flags_win_over_the_url() {
        let p = plan(Args {
            host: Some("www.site.test:8443".into()),
            path: Some("/health".into()),
            ssl: Some(SslMode::Full),
            ..origin("https://[::1]:9443/ignored")
        });
        assert_eq!(p.host, "www.site.test");
        assert_eq!(p.path, "/health");
        assert_eq!(p.target().ssl, SslMode::Full);
        assert_eq!(p.target().address.to_string(), "[::1]:9443");
    }

    #[test]
    fn full_without_a_url_checks_the_https_visitors_path() {
        let p = plan(Args {
            ssl: Some(SslMode::Full),
            ..origin("127.0.0.1:8443")
        });
        assert!(p.https);
        let p = plan(Args {
            ssl: Some(SslMode::Flexible),
            ..origin("127.0.0.1:8443")
        });
        assert!(!p.https);
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        let err = |args: Args| Plan::from_args(&args).unwrap_err().to_string();
        assert!(err(Args::default()).contains("name the origin"));
        assert!(err(origin("localhost")).contains("has no port"));
        assert!(err(origin("ftp://x.test/")).contains("only http:// and https://"));
        assert!(err(origin("http://u:p@x.test/")).contains("credentials"));
        let bad_path = Args {
            path: Some("login".into()),
            ..origin("127.0.0.1:1")
        };
        assert!(err(bad_path).contains("must be a path"));
        let bad_host = Args {
            host: Some("a b".into()),
            ..origin("127.0.0.1:1")
        };
        assert!(err(bad_host).contains("not a host name"));
    }

    #[test]
    fn with_a_config_the_route_for_host_and_path_is_chosen() {
        let config = Config::from_toml_str(
            r#"
            [origin]
            address = "127.0.0.1:1000"
            [[route]]
            host = "api.test"
            path_prefix = "/v2"
            origin = "127.0.0.1:2000"
            ssl = "strict"
            timeouts = { read = "250ms" }
            "#,
        )
        .expect("a valid config");
        let p = Plan {
            config,
            origin: None,
            host: "api.test".into(),
            path: "/v2/x?y".into(),
            ssl: None,
            https: false,
        };
        let target = p.target();
        assert_eq!(target.route, Some(0));
        assert_eq!(target.address.to_string(), "127.0.0.1:2000");
        assert_eq!(target.ssl, SslMode::Strict);
        assert_eq!(target.timeouts.read, std::time::Duration::from_millis(250));

        // Routed as the edge routes it: by the normalized path and host.
        let p = Plan {
            host: "api.test.".into(),
            path: "/public/..//%76%32/x?y".into(),
            ..p
        };
        assert_eq!(p.target().route, Some(0));
        let p = Plan {
            path: "/V2/x".into(),
            ..p
        };
        assert_eq!(p.target().route, None, "paths are case-sensitive");
    }
}
