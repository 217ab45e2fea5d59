//! Addresses in the config file: the origin's `host:port`, the edge's listen address, route hosts
//! and static DNS names. This module owns their syntax and normal form (lowercase names, IPv6 in
//! brackets); resolving names and binding sockets happen elsewhere.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// Where the origin is: a host name or IP literal and a port, e.g. `127.0.0.1:3000`,
/// `origin.test:80`, `[::1]:3000`.
///
/// The host is stored lowercased and without brackets (`::1`); a name is resolved at each new
/// connection, through `[dns]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OriginAddress {
    /// A lowercase host name or an IP literal in its canonical form, IPv6 without brackets.
    pub host: String,
    /// The TCP port, 1 to 65535.
    pub port: u16,
}

/// [`DEFAULT_ORIGIN_HOST`](super::DEFAULT_ORIGIN_HOST):[`DEFAULT_ORIGIN_PORT`](super::DEFAULT_ORIGIN_PORT),
/// the origin when `origin.address` is not set.
impl Default for OriginAddress {
    fn default() -> Self {
        OriginAddress {
            host: super::DEFAULT_ORIGIN_HOST.to_owned(),
            port: super::DEFAULT_ORIGIN_PORT,
        }
    }
}

impl OriginAddress {
    /// The host as an IP address when it is a literal one; `None` for a name that needs resolving.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl From<SocketAddr> for OriginAddress {
    fn from(addr: SocketAddr) -> Self {
        OriginAddress {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

impl fmt::Display for OriginAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why a string is not an [`OriginAddress`]. Displays as a sentence quoting the string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOriginAddress {
    /// Nothing was written.
    #[error("is empty; write it as host:port, like \"127.0.0.1:3000\"")]
    Empty,
    /// A URL such as `http://origin:3000`.
    #[error("{0:?} is a URL; write only host:port, like \"127.0.0.1:3000\"")]
    Url(String),
    /// No `:port` part.
    #[error("{0:?} has no port; write it as host:port, like \"127.0.0.1:3000\"")]
    NoPort(String),
    /// Nothing before the `:port` part.
    #[error("{0:?} has no host; write it as host:port, like \"127.0.0.1:3000\"")]
    NoHost(String),
    /// The port is not a number from 1 to 65535.
    #[error("{text:?} has port {port:?}; a port is a number from 1 to 65535")]
    BadPort {
        /// The whole address as written.
        text: String,
        /// The part after the last colon.
        port: String,
    },
    /// An IPv6 address written without brackets, so its port cannot be told apart.
    #[error("{0:?}: an IPv6 address goes in brackets, like \"[::1]:3000\"")]
    UnbracketedIpv6(String),
    /// The host part is neither a host name nor an IP address.
    #[error("{text:?}: {host:?} is not a host name or IP address")]
    BadHost {
        /// The whole address as written.
        text: String,
        /// The host part.
        host: String,
    },
}

impl FromStr for OriginAddress {
    type Err = InvalidOriginAddress;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad_host = |host: &str| InvalidOriginAddress::BadHost {
            text: text.to_owned(),
            host: host.to_owned(),
        };
        if text.is_empty() {
            return Err(InvalidOriginAddress::Empty);
        }
        if text.contains("://") {
            return Err(InvalidOriginAddress::Url(text.to_owned()));
        }
        let (host, port) = if let Some(inner) = text.strip_prefix('[') {
            let Some((ip, rest)) = inner.split_once(']') else {
                return Err(bad_host(text));
            };
            let ip: Ipv6Addr = ip.parse().map_err(|_| bad_host(ip))?;
            let port = match rest.strip_prefix(':') {
                Some(port) => port,
                None if rest.is_empty() => return Err(InvalidOriginAddress::NoPort(text.into())),
                None => return Err(bad_host(text)),
            };
            (ip.to_string(), port)
        } else {
            let Some((host, port)) = text.rsplit_once(':') else {
                return Err(InvalidOriginAddress::NoPort(text.to_owned()));
            };
            if host.contains(':') {
                return Err(InvalidOriginAddress::UnbracketedIpv6(text.to_owned()));
            }
            if host.is_empty() {
                return Err(InvalidOriginAddress::NoHost(text.to_owned()));
            }
            let host = match host.parse::<Ipv4Addr>() {
                Ok(ip) => ip.to_string(),
                Err(_) if is_host_name(host) => host.to_ascii_lowercase(),
                Err(_) => return Err(bad_host(host)),
            };
            (host, port)
        };
        match port.parse::<u16>() {
            Ok(port) if port != 0 => Ok(OriginAddress { host, port }),
            _ => Err(InvalidOriginAddress::BadPort {
                text: text.to_owned(),
                port: port.to_owned(),
            }),
        }
    }
}

/// Why a string is not a listen address. Displays as a sentence quoting the string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvalidListen {
    #[error("is empty; write an IP address and port, like \"127.0.0.1:8080\"")]
    Empty,
    #[error("{0:?} is a URL; write only an IP address and port, like \"127.0.0.1:8080\"")]
    Url(String),
    #[error("{0:?} has no port; write an IP address and port, like \"127.0.0.1:8080\"")]
    NoPort(String),
    #[error("{0:?} is an IPv6 address without a port; write it in brackets, like \"[::1]:8080\"")]
    Ipv6NoPort(String),
    #[error("{0:?} has no IP address; write an IP address and port, like \"127.0.0.1:8080\"")]
    NoAddress(String),
    #[error("{0:?}: an IPv6 address goes in brackets, like \"[::1]:8080\"")]
    UnbracketedIpv6(String),
    #[error("{text:?} has port {port:?}; a port is a number from 0 to 65535")]
    BadPort { text: String, port: String },
    #[error(
        "{text:?}: {host:?} is not an IP address (the edge listens on an address and does \
         not resolve names), like \"127.0.0.1:8080\" or \"[::1]:8080\""
    )]
    NotIp { text: String, host: String },
}

/// Parses the edge's listen address: an IP literal and a port (0 lets the kernel choose).
pub(crate) fn parse_listen(text: &str) -> Result<SocketAddr, InvalidListen> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let not_ip = |host: &str| InvalidListen::NotIp {
        text: text.to_owned(),
        host: host.to_owned(),
    };
    if text.is_empty() {
        return Err(InvalidListen::Empty);
    }
    if text.contains("://") {
        return Err(InvalidListen::Url(text.to_owned()));
    }
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => return Err(InvalidListen::NoPort(text.to_owned())),
        Ok(IpAddr::V6(_)) => return Err(InvalidListen::Ipv6NoPort(text.to_owned())),
        Err(_) => {}
    }
    let (host, port) = if let Some(inner) = text.strip_prefix('[') {
        let Some((ip, rest)) = inner.split_once(']') else {
            return Err(not_ip(text));
        };
        if ip.parse::<Ipv6Addr>().is_err() {
            return Err(not_ip(ip));
        }
        match rest.strip_prefix(':') {
            Some(port) => (ip, port),
            None if rest.is_empty() => return Err(InvalidListen::NoPort(text.to_owned())),
            None => return Err(not_ip(text)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err(InvalidListen::UnbracketedIpv6(text.to_owned()));
            }
            Some(parts) => parts,
            None if text.parse::<u16>().is_ok() => {
                return Err(InvalidListen::NoAddress(text.to_owned()));
            }
            None => return Err(InvalidListen::NoPort(text.to_owned())),
        }
    };
    if port.parse::<u16>().is_err() {
        return Err(InvalidListen::BadPort {
            text: text.to_owned(),
            port: port.to_owned(),
        });
    }
    if host.is_empty() {
        return Err(InvalidListen::NoAddress(text.to_owned()));
    }
    // The port is fine and `text` did not parse, so the host is the problem.
    Err(not_ip(host))
}

/// Why a route's `host` cannot match any Host header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvalidRouteHost {
    #[error("is empty; leave `host` out to match every host")]
    Empty,
    #[error("{0:?} has a port; write the name alone (the port in the Host header is ignored)")]
    HasPort(String),
    #[error("{0:?} is not a host name or IP address")]
    NotHost(String),
}

/// A route's host in the form [`crate::normalize::host`] leaves a Host header in: lowercase
/// name without a trailing dot, IPv4 literal, or IPv6 literal in brackets.
pub(crate) fn normalize_route_host(text: &str) -> Result<String, InvalidRouteHost> {
    // `example.test.` is `example.test`, as in DNS; only one dot goes, as from a Host.
    let text = text.strip_suffix('.').unwrap_or(text);
    if text.is_empty() {
        return Err(InvalidRouteHost::Empty);
    }
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(text);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(match ip {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        });
    }
    if text.contains(':') {
        return Err(InvalidRouteHost::HasPort(text.to_owned()));
    }
    if is_host_name(text) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(InvalidRouteHost::NotHost(text.to_owned()))
    }
}

pub(crate) use crate::normalize::strip_port;

/// Whether `name` is a DNS host name: dot-separated labels of letters, digits, `-` and `_`, each
/// 1 to 63 bytes, 253 in all, and not all digits (that would be a malformed IPv4 address).
pub(crate) fn is_host_name(name: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let numeric = |label: &str| label.bytes().all(|b| b.is_ascii_digit());
    (1..=253).contains(&name.len())
        && name.split('.').all(label_ok)
        && !name.split('.').all(numeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_origin_address_parses_names_and_literals_into_normal_form() {
        let cases = [
            ("127.0.0.1:3000", "127.0.0.1", 3000, "127.0.0.1:3000"),
            ("Origin.Test:80", "origin.test", 80, "origin.test:80"),
            ("[::1]:3000", "::1", 3000, "[::1]:3000"),
            ("[0:0::1]:65535", "::1", 65535, "[::1]:65535"),
            ("my_host-1:1", "my_host-1", 1, "my_host-1:1"),
        ];
        for (text, host, port, shown) in cases {
            let address: OriginAddress = text.parse().expect(text);
            assert_eq!(address.host, host);
            assert_eq!(address.port, port);
            assert_eq!(address.to_string(), shown);
            assert_eq!(shown.parse::<OriginAddress>().as_ref(), Ok(&address));
        }
    }

    #[test]
    fn config_origin_address_ip_only_for_literals() {
        let v4: OriginAddress = "127.0.0.1:1".parse().expect("v4");
        let v6: OriginAddress = "[::1]:1".parse().expect("v6");
        let name: OriginAddress = "origin.test:1".parse().expect("name");
        assert_eq!(v4.ip(), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(v6.ip(), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(name.ip(), None);
        let from: OriginAddress = SocketAddr::from(([127, 0, 0, 1], 9)).into();
        assert_eq!(from.to_string(), "127.0.0.1:9");
    }

    #[test]
    fn config_origin_address_says_what_is_wrong() {
        use InvalidOriginAddress as E;
        let s = String::from;
        let cases = [
            ("", E::Empty),
            ("http://origin:80", E::Url(s("http://origin:80"))),
            ("127.0.0.1", E::NoPort(s("127.0.0.1"))),
            ("[::1]", E::NoPort(s("[::1]"))),
            (":3000", E::NoHost(s(":3000"))),
            ("::1:3000", E::UnbracketedIpv6(s("::1:3000"))),
            (
                "a:0",
                E::BadPort {
                    text: s("a:0"),
                    port: s("0"),
                },
            ),
            (
                "a:65536",
                E::BadPort {
                    text: s("a:65536"),
                    port: s("65536"),
                },
            ),
            (
                "a:",
                E::BadPort {
                    text: s("a:"),
                    port: s(""),
                },
            ),
            (
                "a b:80",
                E::BadHost {
                    text: s("a b:80"),
                    host: s("a b"),
                },
            ),
            (
                "127.0.0.256:80",
                E::BadHost {
                    text: s("127.0.0.256:80"),
                    host: s("127.0.0.256"),
                },
            ),
            (
                "[nope]:80",
                E::BadHost {
                    text: s("[nope]:80"),
                    host: s("nope"),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<OriginAddress>(), Err(expected), "{text:?}");
        }
        assert_eq!(
            "a:0"
                .parse::<OriginAddress>()
                .expect_err("port 0")
                .to_string(),
            "\"a:0\" has port \"0\"; a port is a number from 1 to 65535"
        );
    }

    #[test]
    fn config_listen_accepts_socket_addresses_and_says_what_is_wrong() {
        assert_eq!(
            parse_listen("127.0.0.1:8080"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 8080)))
        );
        assert_eq!(parse_listen("[::1]:0").map(|a| a.port()), Ok(0));
        let s = String::from;
        let cases = [
            ("", InvalidListen::Empty),
            (
                "http://127.0.0.1:80",
                InvalidListen::Url(s("http://127.0.0.1:80")),
            ),
            ("127.0.0.1", InvalidListen::NoPort(s("127.0.0.1"))),
            ("::1", InvalidListen::Ipv6NoPort(s("::1"))),
            ("::1:8080", InvalidListen::Ipv6NoPort(s("::1:8080"))),
            ("[::1]", InvalidListen::NoPort(s("[::1]"))),
            ("localhost", InvalidListen::NoPort(s("localhost"))),
            ("8080", InvalidListen::NoAddress(s("8080"))),
            (":8080", InvalidListen::NoAddress(s(":8080"))),
            ("::1:99999", InvalidListen::UnbracketedIpv6(s("::1:99999"))),
            (
                "127.0.0.1:99999",
                InvalidListen::BadPort {
                    text: s("127.0.0.1:99999"),
                    port: s("99999"),
                },
            ),
            (
                "localhost:8080",
                InvalidListen::NotIp {
                    text: s("localhost:8080"),
                    host: s("localhost"),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_listen(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn config_strip_port_handles_names_and_ipv6() {
        assert_eq!(strip_port("example.test:8080"), "example.test");
        assert_eq!(strip_port("example.test"), "example.test");
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("::1"), "::1");
    }

    #[test]
    fn config_route_host_is_normalized() {
        assert_eq!(
            normalize_route_host("API.Example.test"),
            Ok(s("api.example.test"))
        );
        assert_eq!(normalize_route_host("::1"), Ok(s("[::1]")));
        assert_eq!(normalize_route_host("[::1]"), Ok(s("[::1]")));
        assert_eq!(normalize_route_host("127.0.0.1"), Ok(s("127.0.0.1")));
        assert_eq!(normalize_route_host("Example.TEST."), Ok(s("example.test")));
        assert_eq!(
            normalize_route_host("example.test.."),
            Err(InvalidRouteHost::NotHost(s("example.test.")))
        );
        assert_eq!(normalize_route_host(""), Err(InvalidRouteHost::Empty));
        assert_eq!(normalize_route_host("."), Err(InvalidRouteHost::Empty));
        assert_eq!(
            normalize_route_host("a.test:80"),
            Err(InvalidRouteHost::HasPort(s("a.test:80")))
        );
        assert_eq!(
            normalize_route_host("*.test"),
            Err(InvalidRouteHost::NotHost(s("*.test")))
        );

        fn s(text: &str) -> String {
            text.to_owned()
        }
    }

    #[test]
    fn config_host_names_are_checked() {
        for good in ["a", "origin.test", "x-1.example_2.test", "localhost"] {
            assert!(is_host_name(good), "{good:?}");
        }
        for bad in [
            "", ".", "a..b", "a.", ".a", "a b", "a/b", "1.2.3", "3000", "é.test",
        ] {
            assert!(!is_host_name(bad), "{bad:?}");
        }
        assert!(!is_host_name(&"a".repeat(64)));
    }
}
