//! Who may talk to the control API. It listens on loopback, and every web page the developer
//! opens can reach loopback: a page can send "simple" requests to it (a text/plain `fetch`
//! in `no-cors` mode, a `<form>`) without any preflight, and a page whose name was rebound to
//! 127.0.0.1 can read its answers. So, as webpack-dev-server and Jupyter do:
//!
//! - the `Host` must name this API (loopback names, the listen address's IP, or a name in
//!   `[admin] allowed_hosts`), which stops DNS rebinding;
//! - a request that says it comes from a web page (an `Origin` other than the API's own, or
//!   `Sec-Fetch-Site: cross-site` / `same-site`) is refused unless its origin is in
//!   `[admin] allowed_origins`, which stops cross-site requests.
//!
//! Clients that are not browsers (curl, the Toxiproxy clients, Prometheus) send no `Origin`
//! and pass as before.

use std::fmt;
use std::net::IpAddr;

use http::{HeaderMap, header};

use crate::config::AdminConfig;
use crate::normalize::strip_port;

/// Why a request was refused, said in the 403's JSON error.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The `Host` names something else (DNS rebinding, or a name not allowed yet).
    Host(String),
    /// The request comes from a web page on another origin.
    Origin(String),
}

impl fmt::Display for Refused {
    /// The short reason, for the log line of a refused request.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Host(host) => write!(f, "Host {host:?} is not this control API's"),
            Refused::Origin(origin) => write!(f, "sent by a web page ({origin})"),
        }
    }
}

impl Refused {
    /// The sentence for the JSON error.
    pub fn message(&self) -> String {
        match self {
            Refused::Host(host) => format!(
                "Host {host:?} is not this control API's: it answers 127.0.0.1, localhost, \
                 [::1] and its listen address; add the name to [admin] allowed_hosts to use it"
            ),
            Refused::Origin(origin) => format!(
                "requests from web pages ({origin}) are refused, so a page you open cannot \
                 drive or read the control API; add the origin to [admin] allowed_origins to \
                 allow it"
            ),
        }
    }
}

/// Checks the request head against `admin`. `Ok` lets it through.
pub fn check(
    headers: &HeaderMap,
    authority: Option<&str>,
    admin: &AdminConfig,
) -> Result<(), Refused> {
    let host = headers
        .get(header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or_else(|| authority.map(str::to_owned));
    if let Some(host) = &host
        && !host_allowed(host, admin)
    {
        return Err(Refused::Host(host.clone()));
    }
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let allowed = |origin: &str| {
        admin
            .allowed_origins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(origin.trim_end_matches('/')))
    };
    if let Some(origin) = &origin {
        let own = host
            .as_deref()
            .is_some_and(|host| origin.eq_ignore_ascii_case(&format!("http://{host}")));
        if !own && !allowed(origin) {
            return Err(Refused::Origin(origin.clone()));
        }
    }
    if let Some(site) = site.as_deref()
        && matches!(site, "cross-site" | "same-site")
        && !origin.as_deref().is_some_and(allowed)
    {
        let named = origin.unwrap_or_else(|| format!("Sec-Fetch-Site: {site}"));
        return Err(Refused::Origin(named));
    }
    Ok(())
}

/// Whether `host` (a Host value, with or without a port) names this control API.
fn host_allowed(host: &str, admin: &AdminConfig) -> bool {
    let name = strip_port(host.trim());
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>()
        && (ip.is_loopback() || ip == admin.listen.ip() || admin.listen.ip().is_unspecified())
    {
        return true;
    }
    admin
        .allowed_hosts
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(name) || allowed.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(hosts: &[&str], origins: &[&str]) -> AdminConfig {
        AdminConfig {
            listen: "127.0.0.1:8081".parse().unwrap(),
            token: None,
            default_listen: false,
            allowed_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        }
    }

    fn head(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn loopback_names_pass_with_or_without_the_port() {
        let admin = admin(&[], &[]);
        for host in [
            "127.0.0.1:8081",
            "127.0.0.1",
            "localhost",
            "LOCALHOST:8081",
            "[::1]:8081",
            "[::1]",
            "127.0.0.2",
            "localhost.",
        ] {
            assert_eq!(
                check(&head(&[("host", host)]), None, &admin),
                Ok(()),
                "{host}"
            );
        }
        assert_eq!(
            check(&HeaderMap::new(), None, &admin),
            Ok(()),
            "no Host at all"
        );
    }

    #[test]
    fn other_names_are_refused_unless_allowed() {
        let strict = admin(&[], &[]);
        for host in [
            "evil.example",
            "evil.example:8081",
            "10.0.0.1:8081",
            "127.0.0.1.evil.example",
        ] {
            let refused = check(&head(&[("host", host)]), None, &strict);
            assert_eq!(refused, Err(Refused::Host(host.to_owned())), "{host}");
        }
        let open = admin(&["edgecase.internal"], &[]);
        assert_eq!(
            check(&head(&[("host", "edgecase.internal:8081")]), None, &open),
            Ok(())
        );
        let refused = check(&HeaderMap::new(), Some("evil.example:8081"), &strict);
        assert!(refused.is_err(), "absolute-form authority is checked too");
    }

    #[test]
    fn foreign_origins_and_cross_site_fetches_are_refused() {
        let admin = admin(&[], &["http://dashboard.test:3000"]);
        let own = head(&[
            ("host", "127.0.0.1:8081"),
            ("origin", "http://127.0.0.1:8081"),
        ]);
        assert_eq!(check(&own, None, &admin), Ok(()));
        let foreign = head(&[
            ("host", "127.0.0.1:8081"),
            ("origin", "http://127.0.0.1:5173"),
        ]);
        assert!(matches!(
            check(&foreign, None, &admin),
            Err(Refused::Origin(_))
        ));
        let null = head(&[("host", "127.0.0.1:8081"), ("origin", "null")]);
        assert!(check(&null, None, &admin).is_err());
        let site = head(&[("host", "127.0.0.1:8081"), ("sec-fetch-site", "cross-site")]);
        assert!(check(&site, None, &admin).is_err());
        let same = head(&[
            ("host", "127.0.0.1:8081"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(check(&same, None, &admin), Ok(()));
        let listed = head(&[
            ("host", "127.0.0.1:8081"),
            ("origin", "http://dashboard.test:3000"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert_eq!(check(&listed, None, &admin), Ok(()));
    }
}
