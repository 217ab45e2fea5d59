//! What a site owner should check when `edgecase diagnose` finds a stage failing: for each
//! [`OriginFailure`] (and for the warnings a working origin can still earn), a short list of
//! checks, most likely cause first, naming the address, host name and limits involved.
//!
//! The wording is ours, drawn from the resolution lists of Cloudflare's 5xx troubleshooting
//! article. This module only writes advice; it does not probe anything or decide the status.

use std::io;
use std::time::Duration;

use crate::config::SslMode;
use crate::failure::{DnsCause, DnsFailure, OriginFailure, Unknown};
use crate::origin::body::BodyAbort;

/// What the checks may name: the diagnosed request's facts.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The origin address dialled, `host:port` (the TLS port when TLS was used).
    pub origin: &'a str,
    /// The Host the request was for (no port).
    pub host: &'a str,
    /// The SSL mode in force.
    pub ssl: SslMode,
    /// `limits.origin_header_bytes`.
    pub header_limit: usize,
}

/// Check lines from format strings that name only variables in scope.
macro_rules! lines {
    ($($text:literal),* $(,)?) => { vec![$(format!($text)),*] };
}

/// Who must be let through the origin's firewall.
const EDGE: &str = "the address edgecase connects from (in production, every Cloudflare range \
                    listed at https://www.cloudflare.com/ips/)";

pub use tls::certificate_expires_soon;
use tls::{certificate_refused, handshake_failed};

/// What to check, most likely cause first, for a failure a visitor would see.
pub fn checks(failure: &OriginFailure, context: &Context<'_>) -> Vec<String> {
    let (c, origin, host) = (context, context.origin, context.host);
    // Exhaustive on purpose: a new variant does not compile until it has advice.
    match failure {
        OriginFailure::Unknown(unknown) => unknown_reply(unknown, c),
        OriginFailure::Refused(_) => refused(c),
        OriginFailure::ConnectTimeout { after } => connect_timeout(span(*after), c),
        OriginFailure::AckTimeout { after } => ack_timeout(span(*after), c),
        OriginFailure::Unreachable(error) => unreachable(error, c),
        OriginFailure::ReadTimeout { after } => read_timeout(span(*after), c),
        OriginFailure::WriteTimeout { after } => write_timeout(span(*after), c),
        OriginFailure::TlsHandshake(handshake) => handshake_failed(handshake, c),
        OriginFailure::InvalidCertificate(certificate) => {
            certificate_refused(certificate.reason, c)
        }
        OriginFailure::Dns(dns) => dns_failed(dns, c),
        OriginFailure::Gateway { status } => gateway(*status, c),
        OriginFailure::Railgun(inner) => railgun(inner, c),
        OriginFailure::Internal(error) => internal(error, c),
        OriginFailure::VisitorBody(_) => lines![
            "The visitor's request body broke off or was malformed (400) before the origin could \
             be judged: check the client that sent it (a Content-Length matching the body, a \
             chunked body that ends properly)."
        ],
        OriginFailure::BodyTooLarge { limit } => lines![
            "The request body passed {limit} bytes (`limits.request_body_bytes`) and was answered \
             413 without reaching the origin: send smaller uploads, or raise the limit within \
             your plan's (100 MB on Free and Pro, 200 MB on Business, 500 MB on Enterprise)."
        ],
        OriginFailure::Edge { status } => lines![
            "This {status} is an edge-side error served by a fault rule, not an answer from \
             {origin}: list and remove the rules with `GET /faults` and `DELETE /faults` on the \
             control API.",
            "In production, a {status} made by Cloudflare itself goes to Cloudflare support, with \
             the time and time zone, the URL and the /cdn-cgi/trace output of {host}.",
        ],
        OriginFailure::Numbered { status, code } => {
            let tunnel = if *code == 1033 {
                " (1033: no healthy Tunnel serves the host)"
            } else {
                ""
            };
            lines![
                "This {status} carries error {code}, served by a fault rule: remove the rule (`GET \
                 /faults` lists them), and see Cloudflare's page on error {code} for its own \
                 checks{tunnel}."
            ]
        }
    }
}

/// What to check when the origin does not keep connections alive (the article names disabled
/// keep-alives as a cause of 522 under load).
pub fn keep_alive_off(context: &Context<'_>) -> Vec<String> {
    let origin = context.origin;
    let handshakes = if uses_tls(context.ssl) {
        "TCP and TLS handshake"
    } else {
        "TCP handshake"
    };
    lines![
        "{origin} closes the connection after each response, so every request pays a new \
         {handshakes}; under load its accept queue fills and new connections time out (522).",
        "Turn keep-alive on at the origin (nginx: `keepalive_timeout` above 0; Apache: \
         `KeepAlive On`), and make sure no proxy or load balancer in front of it adds \
         `Connection: close`.",
        "Keep idle connections open longer than edgecase's `[origin] idle_timeout` (Cloudflare \
         reuses them for up to 900s): an origin that closes them sooner can drop a request the \
         edge is just sending (520).",
    ]
}

/// What to check when the origin answered an error status itself (e.g. 500, 503, 404), which
/// the edge passes to the visitor unchanged.
pub fn origin_error_status(status: u16, context: &Context<'_>) -> Vec<String> {
    let (origin, host, fetch) = (context.origin, context.host, fetch(context));
    let mut lines = match status {
        500 => lines![
            "The application on {origin} failed on this request: its error log has the cause (a \
             database it cannot reach is a frequent one)."
        ],
        502 | 504 => return gateway(status, context),
        503 => lines![
            "The origin answered 503: it is overloaded, in maintenance mode, or limiting request \
             rates; ask the host whether it rate-limits, since all edge traffic comes from few \
             addresses."
        ],
        401 | 403 => lines![
            "The origin refused the request ({status}): check its access rules, any WAF or \
             security plugin blocking {EDGE}, and HTTP authentication on the site for {host}."
        ],
        404 | 410 => lines![
            "The origin has nothing at this path for {host}: check that a site is configured for \
             {host} (an unknown Host falls to the default site) and that the path exists there."
        ],
        421 => lines![
            "The origin says it does not serve {host} on this connection: check its virtual hosts \
             and its certificate for {host}, or `[origin] sni`."
        ],
        429 => lines![
            "The origin is rate-limiting: the edge gathers many visitors onto few addresses, so \
             raise its limits for {EDGE}, or exempt it."
        ],
        400..=499 => lines![
            "The origin rejected the request as a client error ({status}): its access log says \
             what it objected to."
        ],
        _ => {
            lines!["The origin answered {status} itself: its error log at this time has the cause."]
        }
    };
    lines.extend(lines!["Reproduce it without the edge: {fetch}."]);
    lines
}

/// What to check when the origin's response body broke off after a good head: the visitor's
/// download ends early, with no error page.
pub fn body_aborted(abort: &BodyAbort, context: &Context<'_>) -> Vec<String> {
    let origin = context.origin;
    let mut lines = match abort {
        BodyAbort::Stalled { after } => {
            let after = span(*after);
            lines![
                "{origin} sent the response head, then no body bytes for {after} \
                 (`timeouts.read` also bounds each wait between reads): find what the handler \
                 waits on mid-response (a slow query, a backend), and have it send data, or \
                 finish, sooner."
            ]
        }
        BodyAbort::Origin(_) => lines![
            "{origin} broke the connection in the middle of the response body: look in its error \
             log for a worker that crashed or was killed mid-response, and check that a \
             Content-Length it sends matches the body."
        ],
    };
    lines.extend(lines![
        "A proxy or load balancer on the origin with a shorter timeout can cut long responses \
         too: check its timeouts against the size of the download."
    ]);
    lines
}

/// What to check when other resolved addresses failed while the one the edge used worked
/// (a stale A/AAAA record): `failed` is e.g. ["192.0.2.9:80 refused"].
pub fn other_addresses_failed(failed: &[String], context: &Context<'_>) -> Vec<String> {
    let (origin, failed_list) = (context.origin, failed.join("; "));
    let mut lines = lines![
        "The origin's name also resolves to addresses that failed ({failed_list}), beside \
         {origin} which answered: remove the stale A/AAAA records, or bring those servers back.",
        "The addresses are tried in order within one `timeouts.connect`: each dead one costs \
         time, and when the last one tried fails too, visitors get 521 or 522.",
    ];
    if failed.iter().any(|address| address.starts_with('[')) {
        lines.extend(lines![
            "An AAAA record for a server that only listens on IPv4 is a common culprit: make it \
             listen on IPv6 as well, or remove the record."
        ]);
    }
    lines
}

/// 520: the origin answered, but nothing forwardable. The sub-cause's own line comes first,
/// then the article's other usual causes that it does not already cover.
fn unknown_reply(unknown: &Unknown, c: &Context<'_>) -> Vec<String> {
    let (origin, header_limit, fetch) = (c.origin, c.header_limit, fetch(c));
    let mut lines = match unknown {
        Unknown::EmptyReply => lines![
            "{origin} took the request and closed the connection without a byte of response: \
             look in its error log at this time for a worker that crashed or was killed \
             (segfault, out-of-memory kill, fatal error)."
        ],
        Unknown::ClosedMidHead { received } => lines![
            "{origin} closed the connection after {received} bytes of response head, before the \
             headers ended: a worker dying mid-response, or a proxy on the origin losing its \
             backend (nginx logs \"upstream prematurely closed connection while reading response \
             header from upstream\")."
        ],
        Unknown::Reset(_) => lines![
            "{origin} reset the connection before a complete response head: check its error log \
             for a crash, and any security module, IPS or load balancer that kills connections \
             from {EDGE}."
        ],
        Unknown::MalformedHead(_) => lines![
            "The response head from {origin} could not be parsed: the status line must read like \
             `HTTP/1.1 200 OK` and each header like `Name: value`, lines ending in CRLF; see the \
             raw answer with {fetch}."
        ],
        Unknown::BadStatus { status } => lines![
            "{origin} answered status {status}, which is not usable (valid statuses run 100-599, \
             and 101 only answers a request that asked for an upgrade): fix the application or \
             proxy that produces it."
        ],
        Unknown::AmbiguousFraming => lines![
            "{origin} sent both `Content-Length` and `Transfer-Encoding` in one response head, \
             which HTTP/1.1 forbids (RFC 9112 6.3): the edge cannot tell where the body ends. \
             Send one of them; a proxy in front of the application that adds chunking must \
             drop the length."
        ],
        Unknown::HeadersTooLarge { limit } => lines![
            "The response head from {origin} passed {limit} bytes (`limits.origin_header_bytes`): \
             usually too many or too large Set-Cookie headers; trim cookies and oversized headers \
             (long CSP or Link lists), or raise the limit if your Cloudflare plan allows more."
        ],
    };
    let closed = matches!(
        unknown,
        Unknown::EmptyReply | Unknown::ClosedMidHead { .. } | Unknown::Reset(_)
    );
    if !closed {
        lines.extend(lines![
            "Check the origin's error log for application crashes at this time."
        ]);
    }
    lines.extend(lines![
        "Make sure the origin's firewall or security software does not block or throttle {EDGE}."
    ]);
    if !matches!(unknown, Unknown::HeadersTooLarge { .. }) {
        lines.extend(lines![
            "Keep response headers under {header_limit} bytes (`limits.origin_header_bytes`); \
             many cookies are the usual way past it."
        ]);
    }
    lines.extend(if closed {
        lines![
            "Make sure the origin answers every request, errors included, with a status line and \
             headers: a reply without them is a 520 too."
        ]
    } else {
        lines![
            "An empty reply (no status, no headers, no body) or a connection the origin closes \
             early (\"upstream prematurely closed connection\" in nginx) is a 520 too."
        ]
    });
    lines
}

/// 521: connection refused.
fn refused(c: &Context<'_>) -> Vec<String> {
    let (origin, ssl, (ip, port)) = (c.origin, c.ssl, split(c.origin));
    let mut lines = lines![
        "Nothing accepts connections on {origin}: check that the web server is running and \
         listening on port {port} of {ip} (`ss -ltnp 'sport = :{port}'` on the origin).",
        "Make sure no firewall or security software on the origin rejects {EDGE}, or limits its \
         rate.",
        "Read the web server's error log for a crash, or a service that failed to start or \
         restart.",
    ];
    lines.extend(if uses_tls(ssl) {
        lines![
            "With ssl = \"{ssl}\", HTTPS visitors are sent to the TLS port (`[origin] tls_port`, \
             else the port of `[origin] address`): a TLS server must listen there too, not only \
             plain HTTP."
        ]
    } else {
        lines![
            "If the server listens on another port than {port}, fix `[origin] address` (or the \
             route's `origin`)."
        ]
    });
    lines
}

/// 522: no SYN+ACK within the connect timeout (`after`).
fn connect_timeout(after: String, c: &Context<'_>) -> Vec<String> {
    let (origin, (ip, port)) = (c.origin, split(c.origin));
    lines![
        "{origin} did not answer the edge's connection attempts within {after} \
         (`timeouts.connect`): most often a firewall, iptables or nftables rule, fail2ban or \
         .htaccess rule on the origin silently drops or rate-limits {EDGE}; allow it.",
        "Check that the origin is up and not overloaded: a full listen queue on port {port} (`ss \
         -ltn`: Recv-Q reaching Send-Q) drops new connections the same way.",
        "Check that {ip} is still the server's address: the DNS record (or `[origin] address`) \
         must hold the address your host gives it today.",
        "Look for packet loss: `mtr {ip}` from here, and from the origin toward the edge.",
        "Under load, an origin with keep-alive off makes the edge open a connection per request, \
         which fills its queue: turn keep-alive on.",
    ]
}

/// 522: the request was not acknowledged within `after`.
fn ack_timeout(after: String, c: &Context<'_>) -> Vec<String> {
    let origin = c.origin;
    lines![
        "{origin} completed the TCP handshake but acknowledged none of the request for {after} \
         (`timeouts.ack`): the origin machine is overloaded (CPU, memory, a full receive queue) \
         or dropping packets.",
        "Check for an MTU problem on the path: small handshake packets pass while full-size \
         request packets vanish; ICMP \"fragmentation needed\" must not be filtered, and tunnels \
         or VPNs need MSS clamping.",
        "A firewall or IPS that lets the connection open, then drops the edge's traffic, looks \
         the same: allow {EDGE}.",
    ]
}

/// 523: no route to the origin.
fn unreachable(error: &io::Error, c: &Context<'_>) -> Vec<String> {
    let (ip, _) = split(c.origin);
    let mut lines = if error.kind() != io::ErrorKind::NetworkUnreachable {
        lines![
            "The network reported {ip} unreachable: the machine is off or gone from its network, \
             or a router on the way has no route to it."
        ]
    } else if ip.contains(':') {
        lines![
            "This machine has no IPv6 route to {ip} (`ip -6 route get {ip}`): give it IPv6 \
             connectivity, or remove the origin's AAAA record if it is reachable over IPv4."
        ]
    } else {
        lines![
            "This machine has no route to the network of {ip} (`ip route get {ip}`): check its \
             default route, and any VPN the origin is only reachable through."
        ]
    };
    lines.extend(lines![
        "Check that {ip} is still the origin's address: the A/AAAA record (or `[origin] address`) \
         must hold the address your host gives it now.",
        "Trace the route both ways (`traceroute {ip}` or `mtr {ip}` from here, and from the \
         origin toward the edge) and give the output to the network's provider.",
    ]);
    lines
}

/// 524: no response head within the read timeout (`after`).
fn read_timeout(after: String, c: &Context<'_>) -> Vec<String> {
    let origin = c.origin;
    lines![
        "{origin} took the request but sent no response head within {after} (`timeouts.read`): \
         find the slow request in its logs; long work (reports, exports, batch jobs) should \
         answer at once with a job id and let the client poll a status URL.",
        "Check that the origin is not overloaded: all workers busy, a slow database or a backend \
         it waits on (slow query log, worker pool size).",
        "If requests truly need longer, raise `timeouts.read` (up to 6000s); in production only \
         Enterprise plans can raise Cloudflare's (`proxy_read_timeout`), others stay at 100s \
         (125s today).",
        "Serve requests that routinely take minutes, such as large exports, from a host name that \
         is not proxied (DNS only), so the edge's timeout does not apply.",
    ]
}

/// 524: the origin took no request data for `after`.
fn write_timeout(after: String, c: &Context<'_>) -> Vec<String> {
    let origin = c.origin;
    lines![
        "{origin} stopped reading the request body for {after} (`timeouts.write`): check how it \
         handles uploads (a worker blocked before reading the body, a full disk for temporary \
         files) and its error log.",
        "An origin that refuses a large body should answer 413 at once rather than stop reading: \
         check its body size limits.",
        "Check that the origin is not overloaded; raise `timeouts.write` only if slow uploads are \
         expected.",
    ]
}

/// 530 with error 1016: the origin's name did not resolve.
fn dns_failed(dns: &DnsFailure, c: &Context<'_>) -> Vec<String> {
    let name = if dns.name.is_empty() {
        split(c.origin).0
    } else {
        &dns.name
    };
    let mut lines = match &dns.cause {
        DnsCause::Lookup(_) => lines![
            "{name} did not resolve: check that its A/AAAA record exists and that `[origin] \
             address` spells it right (`dig {name}` or `getent hosts {name}` on this machine)."
        ],
        DnsCause::NoAddress => {
            lines!["{name} exists but has no A or AAAA record: add one pointing at the origin."]
        }
        DnsCause::NotInStaticHosts => lines![
            "`[dns] system = false`, so only `[dns] hosts` resolves, and {name} is not listed \
             there: add it with the origin's address, or set system = true."
        ],
        DnsCause::Timeout { after } => {
            let after = span(*after);
            lines![
                "The resolver gave no answer for {name} within {after} (the lookup counts against \
                 `timeouts.connect`): check that the name servers in /etc/resolv.conf answer, or \
                 pin the name in `[dns] hosts`."
            ]
        }
        DnsCause::Emulated => {
            return lines![
                "This 530 (error 1016) was served by a fault rule (`status = 530`), not by a real \
                 lookup: remove the rule or let it expire (`GET /faults` lists them)."
            ];
        }
    };
    if !matches!(dns.cause, DnsCause::NotInStaticHosts) {
        lines.extend(lines![
            "For a staging name with no public record, list {name} in `[dns] hosts` instead."
        ]);
    }
    lines.extend(lines![
        "In production, the DNS record for the origin must exist and point at the server (a CNAME \
         to a name that no longer resolves is a classic 1016)."
    ]);
    lines
}

/// The origin itself answered 502 or 504.
fn gateway(status: u16, c: &Context<'_>) -> Vec<String> {
    let (host, fetch) = (c.host, fetch(c));
    let mut lines = if status == 504 {
        lines![
            "The origin itself answered 504: a proxy on it waited too long for its backend; find \
             the slow or stuck application or service behind it."
        ]
    } else {
        lines![
            "The origin itself answered {status}: a proxy or load balancer on it got no valid \
             answer from its backend (application server, PHP-FPM, upstream service); check \
             that the backend runs."
        ]
    };
    lines.extend(lines![
        "Check that the origin serves the host name {host}: {fetch}.",
        "Look for excess load, crashes or network outages on the origin and the services it \
         calls.",
    ]);
    lines
}

/// 527: a failure behind Railgun's listener; its own causes, then the inner failure's.
fn railgun(inner: &OriginFailure, c: &Context<'_>) -> Vec<String> {
    let (origin, host, (ip, port)) = (c.origin, c.host, split(c.origin));
    let mut lines = match inner {
        OriginFailure::ConnectTimeout { .. } | OriginFailure::AckTimeout { .. } => lines![
            "The Railgun listener could not reach {origin} in time: test from the listener's \
             machine with `nc -vz {ip} {port}`."
        ],
        OriginFailure::ReadTimeout { after } => {
            let after = span(*after);
            lines![
                "The origin did not answer the listener within its LAN timeout ({after}, \
                 `[railgun] lan_timeout`, 30s by default): raise it if the origin is slow by \
                 design, otherwise find why it is overloaded."
            ]
        }
        OriginFailure::Refused(_) => lines![
            "The origin refused the listener: allow the listener's address in the origin's \
             firewall."
        ],
        OriginFailure::TlsHandshake(_) | OriginFailure::InvalidCertificate(_) => lines![
            "TLS from the listener failed: port {port} must be open and present a certificate \
             carrying {host} in its SAN or CN, and the SSL mode must be full or full_strict."
        ],
        _ => Vec::new(),
    };
    lines.extend(lines![
        "Between the Railgun listener and the origin, look for firewall interference and packet \
         loss (`mtr {ip}` from the listener's machine)."
    ]);
    // Behind Railgun the LAN timeout replaces `timeouts.read`: the read timeout's own advice
    // (which names `timeouts.read`) would send the owner to the wrong key.
    if !matches!(inner, OriginFailure::ReadTimeout { .. }) {
        lines.extend(checks(inner, c));
    }
    lines
}

/// 500: edgecase itself failed.
fn internal(error: &io::Error, c: &Context<'_>) -> Vec<String> {
    let origin = c.origin;
    let mut lines = match error.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE) => lines![
            "edgecase itself ran out of file descriptors opening a socket to {origin}: raise its \
             limit (`ulimit -n`, or LimitNOFILE= in a systemd unit) or lower the load; the origin \
             is not at fault."
        ],
        _ if error.kind() == io::ErrorKind::AddrNotAvailable => lines![
            "edgecase ran out of local ports for connections to {origin}: widen \
             net.ipv4.ip_local_port_range, or keep more idle connections (`[origin] max_idle`)."
        ],
        _ => lines![
            "edgecase itself could not open a socket to {origin} ({error}); the origin is not at \
             fault."
        ],
    };
    lines.extend(lines![
        "Check the machine running edgecase: open descriptors (`ls /proc/<pid>/fd | wc -l`) \
         against its limit, free memory and local ports."
    ]);
    lines
}

/// Whether `mode` may reach the origin over TLS.
fn uses_tls(mode: SslMode) -> bool {
    match mode {
        // An Automatic walk is given the mode its probe chose; undecided, it is plain.
        SslMode::Off | SslMode::Flexible | SslMode::Automatic => false,
        SslMode::Full | SslMode::FullStrict | SslMode::Strict => true,
    }
}

/// `host:port` as (host, port), IPv6 brackets removed; without a port, (`origin`, "").
fn split(origin: &str) -> (&str, &str) {
    match origin.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            (host.trim_start_matches('[').trim_end_matches(']'), port)
        }
        _ => (origin, ""),
    }
}

/// A command fetching the page from the origin directly, as the edge would.
fn fetch(c: &Context<'_>) -> String {
    let (origin, host) = (c.origin, c.host);
    if uses_tls(c.ssl) {
        format!("`curl -skv --connect-to {host}:443:{origin} https://{host}/`")
    } else {
        format!("`curl -sv -H 'Host: {host}' http://{origin}/`")
    }
}

/// An `openssl s_client` command against the origin with the SNI the edge sends (unless
/// `[origin] sni` says otherwise), more `options`, and a `pipe` after it.
fn s_client(c: &Context<'_>, options: &str, pipe: &str) -> String {
    let (origin, host) = (c.origin, c.host);
    format!("`openssl s_client -connect {origin} -servername {host}{options} </dev/null{pipe}`")
}

/// A duration as the config writes it: `15s`, `250ms`.
fn span(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

mod tls;

#[cfg(test)]
mod tests;
