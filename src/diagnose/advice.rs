//! What a site owner should check when `edgecase diagnose` finds a stage failing: for each
//! [`OriginFailure`] (and for the warnings a working origin can still earn), a short list of
//! checks, most likely cause first, naming the address, host name and limits involved.
//!
//! The wording is ours, drawn from the resolution lists of Cloudflare's 5xx troubleshooting
//! article. This module only writes advice; it does not probe anything or decide the status.

use std::io;
use std::time::Duration;

use crate::config::SslMode;
use crate::failure::{
    CertificateReason, DnsCause, DnsFailure, HandshakeFailure, OriginFailure, Unknown,
};

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

/// Who must be let through the origin's firewall.
const EDGE_ADDRESSES: &str = "the address edgecase connects from (in production, every \
     Cloudflare range listed at https://www.cloudflare.com/ips/)";

/// What to check, most likely cause first, for a failure a visitor would see.
pub fn checks(failure: &OriginFailure, context: &Context<'_>) -> Vec<String> {
    let c = context;
    // Exhaustive on purpose: a new variant does not compile until it has advice.
    match failure {
        OriginFailure::Unknown(unknown) => unknown_reply(unknown, c),
        OriginFailure::Refused(_) => refused(c),
        OriginFailure::ConnectTimeout { after } => connect_timeout(*after, c),
        OriginFailure::AckTimeout { after } => ack_timeout(*after, c),
        OriginFailure::Unreachable(error) => unreachable(error, c),
        OriginFailure::ReadTimeout { after } => read_timeout(*after, c),
        OriginFailure::WriteTimeout { after } => write_timeout(*after, c),
        OriginFailure::TlsHandshake(handshake) => handshake_failed(handshake, c),
        OriginFailure::InvalidCertificate(certificate) => {
            certificate_refused(certificate.reason, c)
        }
        OriginFailure::Dns(dns) => dns_failed(dns, c),
        OriginFailure::Gateway { status } => gateway(*status, c),
        OriginFailure::Railgun(inner) => railgun(inner, c),
        OriginFailure::Internal(error) => internal(error, c),
        OriginFailure::VisitorBody(_) => vec![
            "The visitor's request body broke off or was malformed (400), before the origin \
             could be judged: check the client that sent it (a Content-Length that matches the \
             body, a chunked body that ends properly)."
                .into(),
        ],
        OriginFailure::BodyTooLarge { limit } => vec![format!(
            "The request body passed {limit} bytes (`limits.request_body_bytes`) and was \
             answered 413 without reaching the origin: send smaller uploads, or raise the limit \
             within what your plan allows (100 MB on Free and Pro, 200 MB on Business, 500 MB on \
             Enterprise)."
        )],
        OriginFailure::Edge { status } => vec![
            format!(
                "This {status} is an edge-side error served by a fault rule, not an answer from \
                 {}: list and remove the rules with `GET /faults` and `DELETE /faults` on the \
                 control API.",
                c.origin
            ),
            format!(
                "In production, a {status} made by Cloudflare itself goes to Cloudflare support, \
                 with the time and time zone, the URL and the /cdn-cgi/trace output of {}.",
                c.host
            ),
        ],
        OriginFailure::Numbered { code } => vec![format!(
            "This 530 carries error {code}, served by a fault rule: remove the rule (`GET \
             /faults` lists them), and see Cloudflare's page for error {code} for its own checks{}.",
            if *code == 1033 {
                " (1033: no healthy Cloudflare Tunnel serves the host)"
            } else {
                ""
            }
        )],
    }
}

/// What to check when the origin does not keep connections alive (the article names disabled
/// keep-alives as a cause of 522 under load).
pub fn keep_alive_off(context: &Context<'_>) -> Vec<String> {
    let handshakes = if uses_tls(context.ssl) {
        "TCP and TLS handshakes"
    } else {
        "TCP handshake"
    };
    vec![
        format!(
            "{} closes the connection after each response, so every request pays new {handshakes}; \
             under load its accept queue fills and new connections time out (522).",
            context.origin
        ),
        "Turn keep-alive on at the origin (nginx: `keepalive_timeout` above 0; Apache: \
         `KeepAlive On`), and make sure no proxy or load balancer in front of it adds \
         `Connection: close`."
            .into(),
        "Keep idle connections open longer than edgecase's `[origin] idle_timeout` (Cloudflare \
         reuses them for up to 900s); an origin that closes them sooner can drop a request the \
         edge is just sending (520)."
            .into(),
    ]
}

/// What to check when the origin answered an error status itself (e.g. 500, 503, 404), which
/// the edge passes to the visitor unchanged.
pub fn origin_error_status(status: u16, context: &Context<'_>) -> Vec<String> {
    let (c, host) = (context, context.host);
    let mut lines = match status {
        500 => vec![format!(
            "The application on {} failed on this request: its error log has the cause (a \
             database it cannot reach is a frequent one).",
            c.origin
        )],
        502 | 504 => gateway(status, c),
        503 => vec![
            "The origin answered 503: it is overloaded, in maintenance mode, or limiting request \
             rates; ask the host whether it rate-limits, since all edge traffic arrives from few \
             addresses."
                .into(),
        ],
        401 | 403 => vec![format!(
            "The origin refused the request ({status}): check its access rules, any WAF or \
             security plugin blocking {EDGE_ADDRESSES}, and HTTP authentication on the site for \
             {host}."
        )],
        404 | 410 => vec![format!(
            "The origin has nothing at this path for {host}: check that a site is configured for \
             {host} (an unknown Host falls to the default site) and that the path exists there."
        )],
        421 => vec![format!(
            "The origin says it does not serve {host} on this connection: check its virtual hosts \
             and certificate for {host}, or `[origin] sni`."
        )],
        429 => vec![format!(
            "The origin is rate-limiting: the edge gathers many visitors onto few addresses, so \
             raise its limits for {EDGE_ADDRESSES} or exempt them."
        )],
        400..=499 => vec![format!(
            "The origin rejected the request as a client error ({status}): its access log says \
             which part it objected to."
        )],
        _ => vec![format!(
            "The origin answered {status} itself: its error log, at the time of the request, has \
             the cause."
        )],
    };
    lines.push(format!("Reproduce it without the edge: {}.", fetch(c)));
    lines
}

/// What to check when other resolved addresses failed while the one the edge used worked
/// (a stale A/AAAA record): `failed` is e.g. ["192.0.2.9:80 refused"].
pub fn other_addresses_failed(failed: &[String], context: &Context<'_>) -> Vec<String> {
    let mut lines = vec![
        format!(
            "The origin's name also resolves to addresses that failed ({}), beside {} which \
             answered: remove the stale A/AAAA records, or bring those servers back.",
            failed.join("; "),
            context.origin
        ),
        "The addresses are tried in order within one `timeouts.connect`: each dead one costs \
         time, and when the last one tried fails too, visitors get 521 or 522."
            .into(),
    ];
    if failed.iter().any(|address| address.starts_with('[')) {
        lines.push(
            "An AAAA record for a server that only listens on IPv4 is a common culprit: make it \
             listen on IPv6 as well, or remove the record."
                .into(),
        );
    }
    lines
}

/// What to check when the certificate (in a validating mode) expires within `days` days.
pub fn certificate_expires_soon(days: i64, context: &Context<'_>) -> Vec<String> {
    let (c, host) = (context, context.host);
    let when = match days {
        ..=0 => "within a day".to_owned(),
        1 => "in 1 day".to_owned(),
        days => format!("in {days} days"),
    };
    vec![
        format!(
            "The certificate {} serves for {host} expires {when}: renew it now; once it lapses, \
             every visitor gets 526 with ssl = \"{}\".",
            c.origin, c.ssl
        ),
        "If renewal is automatic (certbot or another ACME client), check that its last run \
         succeeded (`certbot renew --dry-run`) and that the server was reloaded to serve the new \
         file."
            .into(),
        format!(
            "Read the dates it serves: {}.",
            s_client(c, "", " | openssl x509 -noout -dates")
        ),
    ]
}

/// 520: the origin answered, but nothing forwardable. The sub-cause's own line comes first,
/// then the article's other usual causes that it does not already cover.
fn unknown_reply(unknown: &Unknown, c: &Context<'_>) -> Vec<String> {
    let origin = c.origin;
    let first = match unknown {
        Unknown::EmptyReply => format!(
            "{origin} took the request and closed the connection without a byte of response: \
             look in its error log at this time for a worker that crashed or was killed \
             (segfault, out-of-memory kill, fatal error)."
        ),
        Unknown::ClosedMidHead { received } => format!(
            "{origin} closed the connection after {received} bytes of response head, before the \
             headers ended: a worker dying mid-response, or a proxy on the origin losing its \
             backend (nginx logs \"upstream prematurely closed connection while reading response \
             header from upstream\")."
        ),
        Unknown::Reset(_) => format!(
            "{origin} reset the connection before a complete response head: check its error log \
             for a crash, and any security module, IPS or load balancer that kills connections \
             from {EDGE_ADDRESSES}."
        ),
        Unknown::MalformedHead(_) => format!(
            "The response head from {origin} could not be parsed: the status line must read like \
             `HTTP/1.1 200 OK` and each header like `Name: value`, lines ending in CRLF; see the \
             raw answer with {}.",
            fetch(c)
        ),
        Unknown::BadStatus { status } => format!(
            "{origin} answered status {status}, which is not usable (valid statuses run 100-599, \
             and 101 only answers a request that asked for an upgrade): fix the application or \
             proxy that produces it."
        ),
        Unknown::HeadersTooLarge { limit } => format!(
            "The response head from {origin} passed {limit} bytes (`limits.origin_header_bytes`): \
             usually too many or too large Set-Cookie headers; trim cookies and oversized headers \
             (long CSP or Link lists), or raise the limit if your Cloudflare plan allows more."
        ),
    };
    let closed = matches!(
        unknown,
        Unknown::EmptyReply | Unknown::ClosedMidHead { .. } | Unknown::Reset(_)
    );
    let mut lines = vec![first];
    if !closed {
        lines.push("Check the origin's error log for application crashes at this time.".into());
    }
    lines.push(format!(
        "Make sure the origin's firewall or security software does not block or throttle \
         {EDGE_ADDRESSES}."
    ));
    if !matches!(unknown, Unknown::HeadersTooLarge { .. }) {
        lines.push(format!(
            "Keep response headers under {} bytes (`limits.origin_header_bytes`); many cookies \
             are the usual way past it.",
            c.header_limit
        ));
    }
    if closed {
        lines.push(
            "Make sure the origin answers every request, errors included, with a status line and \
             headers: a reply without them is a 520 too."
                .into(),
        );
    } else {
        lines.push(
            "An empty reply (no status, no headers, no body) or a connection the origin closes \
             early (\"upstream prematurely closed connection\" in nginx) is a 520 too."
                .into(),
        );
    }
    lines
}

/// 521: connection refused.
fn refused(c: &Context<'_>) -> Vec<String> {
    let (ip, port) = split(c.origin);
    let mut lines = vec![
        format!(
            "Nothing accepts connections on {}: check that the web server is running and \
             listening on port {port} of {ip} (`ss -ltnp 'sport = :{port}'` on the origin).",
            c.origin
        ),
        format!(
            "Make sure no firewall or security software on the origin rejects {EDGE_ADDRESSES}, \
             or limits its rate."
        ),
        "Read the web server's error log for a crash, or a service that failed to start or \
         restart."
            .into(),
    ];
    lines.push(if uses_tls(c.ssl) {
        format!(
            "With ssl = \"{}\", HTTPS visitors are sent to the TLS port (`[origin] tls_port`, else \
             the port of `[origin] address`): a TLS server must listen there too, not only plain \
             HTTP.",
            c.ssl
        )
    } else {
        format!(
            "If the server listens on another port than {port}, fix `[origin] address` (or the \
             route's `origin`)."
        )
    });
    lines
}

/// 522: no SYN+ACK within the connect timeout.
fn connect_timeout(after: Duration, c: &Context<'_>) -> Vec<String> {
    let (ip, port) = split(c.origin);
    vec![
        format!(
            "{} did not answer the edge's connection attempts within {} (`timeouts.connect`): \
             most often a firewall, iptables or nftables rule, fail2ban or .htaccess rule on the \
             origin silently drops or rate-limits {EDGE_ADDRESSES}; allow it.",
            c.origin,
            span(after)
        ),
        format!(
            "Check that the origin is up and not overloaded: a full listen queue on port {port} \
             (`ss -ltn`: Recv-Q reaching Send-Q) drops new connections the same way."
        ),
        format!(
            "Check that {ip} is still the server's address: the DNS record (or `[origin] \
             address`) must hold the address your host gives it today."
        ),
        format!("Look for packet loss: `mtr {ip}` from here, and from the origin toward the edge."),
        "Under load, an origin with keep-alive off makes the edge open a connection per request, \
         which fills its queue: turn keep-alive on."
            .into(),
    ]
}

/// 522: the request was never acknowledged.
fn ack_timeout(after: Duration, c: &Context<'_>) -> Vec<String> {
    vec![
        format!(
            "{} completed the TCP handshake but acknowledged none of the request for {} \
             (`timeouts.ack`): the origin machine is overloaded (CPU, memory, a full receive \
             queue) or dropping packets.",
            c.origin,
            span(after)
        ),
        "Check for an MTU problem on the path: small handshake packets pass while full-size \
         request packets vanish; ICMP \"fragmentation needed\" must not be filtered, and tunnels \
         or VPNs need MSS clamping."
            .into(),
        format!(
            "A firewall or IPS that lets the connection open and then drops the edge's traffic \
             looks the same: allow {EDGE_ADDRESSES}."
        ),
    ]
}

/// 523: no route to the origin.
fn unreachable(error: &io::Error, c: &Context<'_>) -> Vec<String> {
    let (ip, _) = split(c.origin);
    let first = if error.kind() == io::ErrorKind::NetworkUnreachable {
        format!(
            "This machine has no route to the network of {ip} (`ip route get {ip}`); an IPv6 \
             address without IPv6 connectivity here is a common cause."
        )
    } else {
        format!(
            "The network reported {ip} unreachable: the machine is off or gone from its network, \
             or a router on the way has no route to it."
        )
    };
    vec![
        first,
        format!(
            "Check that {ip} is still the origin's address: the A/AAAA record (or `[origin] \
             address`) must hold the address your host gives it now."
        ),
        format!(
            "Trace the route both ways (`traceroute {ip}` or `mtr {ip}` from here, and from the \
             origin toward the edge) and give the output to the network's provider."
        ),
    ]
}

/// 524: no response head within the read timeout.
fn read_timeout(after: Duration, c: &Context<'_>) -> Vec<String> {
    vec![
        format!(
            "{} took the request but sent no response head within {} (`timeouts.read`): find the \
             slow request in its logs; long work (reports, exports, batch jobs) should answer at \
             once with a job id and let the client poll a status URL.",
            c.origin,
            span(after)
        ),
        "Check that the origin is not overloaded: all workers busy, a slow database or a \
         backend it waits on (slow query log, worker pool size)."
            .into(),
        "If requests truly need longer, raise `timeouts.read` (up to 6000s); in production only \
         Enterprise plans can raise Cloudflare's (`proxy_read_timeout`), others stay at 100s \
         (125s today)."
            .into(),
        "Serve requests that routinely take minutes, such as large exports, from a host name \
         that is not proxied (DNS only), so the edge's timeout does not apply."
            .into(),
    ]
}

/// 524: the origin stopped taking the request.
fn write_timeout(after: Duration, c: &Context<'_>) -> Vec<String> {
    vec![
        format!(
            "{} stopped reading the request body for {} (`timeouts.write`): check how it handles \
             uploads (a worker blocked before reading the body, a full disk for temporary files) \
             and its error log.",
            c.origin,
            span(after)
        ),
        "An origin that refuses a large body should answer 413 at once rather than stop \
         reading: check its body size limits."
            .into(),
        "Check that the origin is not overloaded; raise `timeouts.write` only if slow uploads \
         are expected."
            .into(),
    ]
}

/// 525: the TLS handshake failed. The precise cause first, then the article's usual checks
/// it does not already cover.
fn handshake_failed(handshake: &HandshakeFailure, c: &Context<'_>) -> Vec<String> {
    let (origin, host) = (c.origin, c.host);
    let (_, port) = split(origin);
    let versions = "The origin must offer TLS 1.2 or 1.3 (edgecase offers only those): enable \
                    one of them on its TLS server.";
    let ciphers = format!(
        "The origin found nothing in common with what edgecase offers (alert `{}`): enable TLS \
         1.3, or TLS 1.2 ECDHE suites with AES-GCM or ChaCha20-Poly1305, and the X25519 or P-256 \
         group; compare with {}.",
        handshake.tag(),
        s_client(c, "", "")
    );
    let client_certificate = "The origin asks for a client certificate (mutual TLS, like \
                              Authenticated Origin Pulls) and edgecase presents none: turn that \
                              requirement off on the staging origin.";
    let sni = format!(
        "The origin does not recognise the name {host} sent as SNI: add a site (server block, \
         virtual host) with a certificate for {host}, or set `[origin] sni` to a name it serves."
    );
    let first = match handshake {
        HandshakeFailure::NoTls { http: true } => format!(
            "{origin} answered plain HTTP where TLS was expected: set `[origin] tls_port` to the \
             port your HTTPS server uses (usually 443), or use ssl = \"flexible\" if the origin \
             has no HTTPS."
        ),
        HandshakeFailure::NoTls { http: false } => format!(
            "{origin} answered with something that is neither TLS nor HTTP: another service sits \
             on port {port}; check `[origin] tls_port` and `[origin] address`."
        ),
        HandshakeFailure::Closed => format!(
            "{origin} hung up during the handshake: often no certificate is configured for \
             {host} (no matching site and no default one), or the server refuses the SNI; read \
             its error log."
        ),
        HandshakeFailure::Reset(_) => format!(
            "{origin} reset the connection during the handshake: its error log at this time, or \
             a firewall or IPS resetting TLS from {EDGE_ADDRESSES}, will say why."
        ),
        HandshakeFailure::Timeout { after } => format!(
            "TCP to {origin} opened but the TLS handshake did not finish within {} \
             (`timeouts.connect`): the server is overloaded, or the port accepts connections \
             without speaking TLS first (a listener expecting the PROXY protocol, say).",
            span(*after)
        ),
        HandshakeFailure::Alert(alert) => match u8::from(*alert) {
            112 => sni.clone(),
            70 => versions.into(),
            40 | 71 => ciphers,
            41 | 42 | 116 => client_certificate.into(),
            _ => format!(
                "The origin ended the handshake with the TLS alert `{}`: its TLS error log says \
                 what it objected to.",
                handshake.tag()
            ),
        },
        HandshakeFailure::ProtocolVersion(_) => versions.into(),
        HandshakeFailure::NoSharedCipher(_) => format!(
            "No cipher suite in common: edgecase offers TLS 1.3 suites and TLS 1.2 ECDHE suites \
             with AES-GCM or ChaCha20-Poly1305 (no CBC, no RSA key exchange); enable one of them \
             on {origin}."
        ),
        HandshakeFailure::NoSharedGroup(_) => format!(
            "No key-exchange group in common: enable X25519, P-256 (secp256r1) or P-384 \
             (secp384r1) on {origin}."
        ),
        HandshakeFailure::NoCertificate => format!(
            "{origin} sent no certificate: install one for {host} on its TLS server (any CA's, \
             or a free Cloudflare Origin CA certificate)."
        ),
        HandshakeFailure::Incompatible(error) => format!(
            "The origin requires a TLS feature edgecase does not implement ({error}): look for \
             unusual requirements in its TLS settings."
        ),
        HandshakeFailure::Misbehaved(_) => format!(
            "The TLS stack on {origin} broke the protocol: update the origin's TLS library or \
             terminator, and look for a middlebox rewriting the traffic."
        ),
        HandshakeFailure::Other(_) => format!(
            "The handshake failed on an I/O error: check the origin's error log and the network \
             between the edge and {origin}."
        ),
    };
    // Whether the first line already covers versions, ciphers or groups.
    let negotiation = match handshake {
        HandshakeFailure::ProtocolVersion(_)
        | HandshakeFailure::NoSharedCipher(_)
        | HandshakeFailure::NoSharedGroup(_) => true,
        HandshakeFailure::Alert(alert) => matches!(u8::from(*alert), 40 | 70 | 71),
        _ => false,
    };
    let mut lines = vec![first.clone()];
    let mut add = |line: String| {
        if line != first {
            lines.push(line);
        }
    };
    if !matches!(handshake, HandshakeFailure::NoCertificate) {
        add(format!(
            "A valid certificate for {host} must be installed on the origin's TLS server (a free \
             Cloudflare Origin CA certificate will do)."
        ));
    }
    if !matches!(handshake, HandshakeFailure::NoTls { .. }) {
        add(format!(
            "Port {port} must be open and speak TLS: test it with {}.",
            s_client(c, "", "")
        ));
    }
    add(sni);
    if !negotiation {
        add(
            "Cipher suites and versions must overlap edgecase's: TLS 1.3, or TLS 1.2 with ECDHE \
             and AES-GCM or ChaCha20-Poly1305."
                .into(),
        );
    }
    if !matches!(handshake, HandshakeFailure::Reset(_)) {
        add(
            "Read the origin's error log at the time of the failure for handshakes it reset or \
             refused."
                .into(),
        );
    }
    add(format!(
        "If the origin cannot serve TLS at all, ssl = \"flexible\" keeps HTTPS for visitors and \
         plain HTTP to the origin (the mode here is \"{}\").",
        c.ssl
    ));
    lines
}

/// 526: the certificate was refused, by reason.
fn certificate_refused(reason: CertificateReason, c: &Context<'_>) -> Vec<String> {
    let (origin, host) = (c.origin, c.host);
    let first = match reason {
        CertificateReason::Expired => format!(
            "The certificate on {origin} has expired: renew it, install the renewed file and \
             reload the server; check its dates with {}.",
            s_client(c, "", " | openssl x509 -noout -dates")
        ),
        CertificateReason::NotYetValid => "The certificate's validity starts in the future: \
             check the clocks of this machine and of the origin (NTP), and the dates the \
             certificate was issued with."
            .into(),
        CertificateReason::SelfSigned => format!(
            "{origin} serves a self-signed certificate: replace it with one from a public CA or a \
             Cloudflare Origin CA certificate; here, listing it in `[origin] ca` makes it trusted, \
             and ssl = \"full\" accepts it unchecked."
        ),
        CertificateReason::Untrusted => "The certificate does not chain to a trusted root: serve \
             the full chain (leaf then intermediates, e.g. fullchain.pem); for a private CA or \
             Cloudflare Origin CA, add its root to `[origin] ca`."
            .into(),
        CertificateReason::NameMismatch => format!(
            "The certificate does not carry {host} in its Common Name or Subject Alternative \
             Names: reissue it with {host} (or a wildcard covering it), or set `[origin] sni` to a \
             name it carries."
        ),
        CertificateReason::Revoked => "The certificate is revoked by a list in `[origin] crl`: \
             issue and install a new one (or drop an outdated CRL file)."
            .into(),
        CertificateReason::BadSignature => "A signature in the chain does not verify: the \
             intermediate served does not belong to this certificate, or a file is corrupt; \
             reinstall the chain your CA issued with it."
            .into(),
        CertificateReason::Invalid => "The certificate is malformed or not meant for a TLS \
             server (its extended key usage must allow serverAuth): inspect it with `openssl \
             x509 -text -noout` and reissue it."
            .into(),
    };
    vec![
        first,
        format!(
            "Look at what {origin} serves for {host}: {}.",
            s_client(c, " -showcerts", "")
        ),
        format!(
            "ssl = \"{}\" checks the certificate; ssl = \"full\" accepts any, for an origin that \
             cannot get a valid one.",
            c.ssl
        ),
    ]
}

/// 530 with error 1016: the origin's name did not resolve.
fn dns_failed(dns: &DnsFailure, c: &Context<'_>) -> Vec<String> {
    let name = if dns.name.is_empty() {
        split(c.origin).0
    } else {
        dns.name.as_str()
    };
    let first = match &dns.cause {
        DnsCause::Lookup(_) => format!(
            "{name} did not resolve: check that its A/AAAA record exists and that `[origin] \
             address` spells it right (`dig {name}` or `getent hosts {name}` on this machine)."
        ),
        DnsCause::NoAddress => {
            format!("{name} exists but has no A or AAAA record: add one pointing at the origin.")
        }
        DnsCause::NotInStaticHosts => format!(
            "`[dns] system = false`, so only `[dns] hosts` resolves, and {name} is not listed \
             there: add it with the origin's address, or set system = true."
        ),
        DnsCause::Timeout { after } => format!(
            "The resolver gave no answer for {name} within {} (the lookup counts against \
             `timeouts.connect`): check that the name servers in /etc/resolv.conf answer, or pin \
             the name in `[dns] hosts`.",
            span(*after)
        ),
        DnsCause::Emulated => {
            return vec![
                "This 530 (error 1016) was served by a fault rule (`status = 530`), not by a \
                 real lookup: remove the rule or let it expire (`GET /faults` lists them)."
                    .into(),
            ];
        }
    };
    let mut lines = vec![first];
    if !matches!(dns.cause, DnsCause::NotInStaticHosts) {
        lines.push(format!(
            "For a staging name with no public record, list {name} in `[dns] hosts` instead."
        ));
    }
    lines.push(
        "In production, the DNS record for the origin must exist and point at the server (a \
         CNAME to a name that no longer resolves is a classic 1016)."
            .into(),
    );
    lines
}

/// The origin itself answered 502 or 504.
fn gateway(status: u16, c: &Context<'_>) -> Vec<String> {
    let first = if status == 504 {
        "The origin itself answered 504: a proxy on it waited too long for its backend; find the \
         slow or stuck application or service behind it."
    } else {
        "The origin itself answered 502: a proxy or load balancer on it got no valid answer from \
         its backend (application server, PHP-FPM, upstream service); check that it runs."
    };
    vec![
        first.into(),
        format!(
            "Check that the origin serves the host name {}: {}.",
            c.host,
            fetch(c)
        ),
        "Look for excess load, crashes or network outages on the origin and the services it \
         calls."
            .into(),
    ]
}

/// 527: a failure behind Railgun's listener; its own causes, then the inner failure's.
fn railgun(inner: &OriginFailure, c: &Context<'_>) -> Vec<String> {
    let (ip, port) = split(c.origin);
    let specific = match inner {
        OriginFailure::ConnectTimeout { .. } | OriginFailure::AckTimeout { .. } => Some(format!(
            "The Railgun listener could not reach {} in time: test from the listener's machine \
             with `nc -vz {ip} {port}`.",
            c.origin
        )),
        OriginFailure::ReadTimeout { after } => Some(format!(
            "The origin did not answer the listener within its LAN timeout ({}, `[railgun] \
             lan_timeout`, 30s by default): raise it if the origin is slow by design, otherwise \
             find why it is overloaded.",
            span(*after)
        )),
        OriginFailure::Refused(_) => Some(
            "The origin refused the listener: allow the listener's address in the origin's \
             firewall."
                .to_owned(),
        ),
        OriginFailure::TlsHandshake(_) | OriginFailure::InvalidCertificate(_) => Some(format!(
            "TLS from the listener failed: port {port} must be open and present a certificate \
             carrying {} in its SAN or CN, with the SSL mode full or full_strict.",
            c.host
        )),
        _ => None,
    };
    let mut lines: Vec<String> = specific.into_iter().collect();
    lines.push(format!(
        "Between the Railgun listener and the origin, look for firewall interference and packet \
         loss (`mtr {ip}` from the listener's machine)."
    ));
    lines.extend(checks(inner, c));
    lines
}

/// 500: edgecase itself failed.
fn internal(error: &io::Error, c: &Context<'_>) -> Vec<String> {
    let first = match error.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE) => format!(
            "edgecase itself ran out of file descriptors opening a socket to {}: raise its limit \
             (`ulimit -n`, or LimitNOFILE= in a systemd unit) or lower the load; the origin is \
             not at fault.",
            c.origin
        ),
        _ if error.kind() == io::ErrorKind::AddrNotAvailable => format!(
            "edgecase ran out of local ports for connections to {}: widen \
             net.ipv4.ip_local_port_range, or keep more idle connections (`[origin] max_idle`).",
            c.origin
        ),
        _ => format!(
            "edgecase itself could not open a socket to {} ({error}); the origin is not at \
             fault.",
            c.origin
        ),
    };
    vec![
        first,
        "Check the machine running edgecase: open descriptors (`ls /proc/<pid>/fd | wc -l`) \
         against its limit, free memory and local ports."
            .into(),
    ]
}

/// Whether `mode` may reach the origin over TLS.
fn uses_tls(mode: SslMode) -> bool {
    match mode {
        SslMode::Off | SslMode::Flexible => false,
        SslMode::Full | SslMode::FullStrict | SslMode::Strict => true,
    }
}

/// `host:port` as (host, port), IPv6 brackets removed; no port gives an empty one.
fn split(origin: &str) -> (&str, &str) {
    let (host, port) = origin.rsplit_once(':').unwrap_or((origin, ""));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match port.parse::<u16>() {
        Ok(_) if !host.is_empty() => (host, port),
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

/// An `openssl s_client` command against the origin, with the SNI the edge sends (unless
/// `[origin] sni` says otherwise), with more `options` and a `pipe` after it.
fn s_client(c: &Context<'_>, options: &str, pipe: &str) -> String {
    format!(
        "`openssl s_client -connect {} -servername {}{options} </dev/null{pipe}`",
        c.origin, c.host
    )
}

/// A duration as the config writes it: `15s`, `250ms`.
fn span(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests;

/// TEMP: what to check when the response body broke off.
pub fn body_aborted(abort: &crate::origin::body::BodyAbort, context: &Context<'_>) -> Vec<String> {
    let _ = (abort, context);
    vec!["TEMP".into()]
}
