//! What to check when TLS to the origin fails (525, by the handshake's cause; 526, by the
//! certificate's reason), and when a validated certificate is about to expire.

use super::{Context, EDGE, s_client, span, split};
use crate::failure::{CertificateReason, HandshakeFailure};

/// What to check when the certificate (in a validating mode) expires within `days` days.
pub fn certificate_expires_soon(days: i64, context: &Context<'_>) -> Vec<String> {
    let (origin, host, ssl) = (context.origin, context.host, context.ssl);
    let dates = s_client(context, "", " | openssl x509 -noout -dates");
    let when = match days {
        ..=0 => "within a day".to_owned(),
        1 => "in 1 day".to_owned(),
        days => format!("in {days} days"),
    };
    lines![
        "The certificate {origin} serves for {host} expires {when}: renew it now; once it lapses, \
         every visitor gets 526 with ssl = \"{ssl}\".",
        "If renewal is automatic (certbot or another ACME client), check that its last run \
         succeeded (`certbot renew --dry-run`) and that the server was reloaded to serve the new \
         file.",
        "Read the dates it serves: {dates}.",
    ]
}

/// 525: the TLS handshake failed. The precise cause first, then the article's usual checks
/// it does not already cover.
pub(super) fn handshake_failed(handshake: &HandshakeFailure, c: &Context<'_>) -> Vec<String> {
    let first = handshake_cause(handshake, c);
    let mut usual = usual_checks(handshake, c);
    usual.retain(|line| !first.contains(line));
    [first, usual].concat()
}

/// The check for this handshake's precise cause, the first line of the advice.
fn handshake_cause(handshake: &HandshakeFailure, c: &Context<'_>) -> Vec<String> {
    let (origin, host, (_, port)) = (c.origin, c.host, split(c.origin));
    match handshake {
        HandshakeFailure::NoTls { http: true } => lines![
            "{origin} answered plain HTTP where TLS was expected: set `[origin] tls_port` to the \
             port your HTTPS server uses (usually 443), or use ssl = \"flexible\" if the origin \
             has no HTTPS."
        ],
        HandshakeFailure::NoTls { http: false } => lines![
            "{origin} answered with something that is neither TLS nor HTTP: another service sits \
             on port {port}; check `[origin] tls_port` and `[origin] address`."
        ],
        HandshakeFailure::Closed => lines![
            "{origin} hung up during the handshake: often no certificate is configured for {host} \
             (no matching site and no default one), or the server refuses the SNI; read its \
             error log."
        ],
        HandshakeFailure::Reset(_) => lines![
            "{origin} reset the connection during the handshake: its error log at this time, or \
             a firewall or IPS resetting TLS from {EDGE}, will say why."
        ],
        HandshakeFailure::Timeout { after } => {
            let after = span(*after);
            lines![
                "TCP to {origin} opened but the TLS handshake did not finish within {after} \
                 (`timeouts.connect`): the server is overloaded, or the port accepts connections \
                 without speaking TLS first (a listener expecting the PROXY protocol, say)."
            ]
        }
        HandshakeFailure::Alert(description) => {
            // The alert's name, without the tag's `alert:` prefix.
            let alert = handshake.tag().trim_start_matches("alert:");
            alert_cause(u8::from(*description), alert, c)
        }
        HandshakeFailure::ProtocolVersion(_) => versions_check(),
        HandshakeFailure::NoSharedCipher(_) => lines![
            "No cipher suite in common: edgecase offers TLS 1.3 suites and TLS 1.2 ECDHE suites \
             with AES-GCM or ChaCha20-Poly1305 (no CBC, no RSA key exchange); enable one of them \
             on {origin}."
        ],
        HandshakeFailure::NoSharedGroup(_) => lines![
            "No key-exchange group in common: enable X25519, P-256 (secp256r1) or P-384 \
             (secp384r1) on {origin}."
        ],
        HandshakeFailure::NoCertificate => lines![
            "{origin} sent no certificate: install one for {host} on its TLS server (any CA's, or \
             a free Cloudflare Origin CA certificate)."
        ],
        HandshakeFailure::Incompatible(error) => lines![
            "The origin requires a TLS feature edgecase does not implement ({error}): look for \
             unusual requirements in its TLS settings."
        ],
        HandshakeFailure::Misbehaved(_) => lines![
            "The TLS stack on {origin} broke the protocol: update the origin's TLS library or \
             terminator, and look for a middlebox rewriting the traffic."
        ],
        HandshakeFailure::Other(_) => lines![
            "The handshake failed on an I/O error: check the origin's error log and the network \
             between the edge and {origin}."
        ],
    }
}

/// The check for the TLS alert numbered `description` (named `alert`) the origin ended the
/// handshake with.
fn alert_cause(description: u8, alert: &str, c: &Context<'_>) -> Vec<String> {
    let probe = s_client(c, "", "");
    match description {
        112 => sni_check(c),
        70 => versions_check(),
        40 | 71 => lines![
            "The origin found nothing in common with what edgecase offers (alert `{alert}`): \
             enable TLS 1.3, or TLS 1.2 ECDHE suites with AES-GCM or ChaCha20-Poly1305, and the \
             X25519 or P-256 group; compare with {probe}."
        ],
        41 | 42 | 116 => lines![
            "The origin asks for a client certificate (mutual TLS, like Authenticated Origin \
             Pulls) and edgecase presents none: turn that requirement off on the staging origin."
        ],
        _ => lines![
            "The origin ended the handshake with the TLS alert `{alert}`: its TLS error log says \
             what it objected to."
        ],
    }
}

/// The check that the origin offers a TLS version edgecase does.
fn versions_check() -> Vec<String> {
    lines![
        "The origin must offer TLS 1.2 or 1.3 (edgecase offers only those): enable one of them \
         on its TLS server."
    ]
}

/// The check that the origin has a site for the name edgecase sends as SNI.
fn sni_check(c: &Context<'_>) -> Vec<String> {
    let host = c.host;
    lines![
        "The origin does not recognise the name {host} sent as SNI: add a site (server block, \
         virtual host) with a certificate for {host}, or set `[origin] sni` to a name it serves."
    ]
}

/// The article's usual causes of a 525, less those this handshake's cause rules out; none but
/// the fallback while the port does not speak TLS at all.
fn usual_checks(handshake: &HandshakeFailure, c: &Context<'_>) -> Vec<String> {
    let (host, ssl, (_, port)) = (c.host, c.ssl, split(c.origin));
    let probe = s_client(c, "", "");
    let speaks_tls = !matches!(handshake, HandshakeFailure::NoTls { .. });
    let unclear = matches!(
        handshake,
        HandshakeFailure::Closed
            | HandshakeFailure::Reset(_)
            | HandshakeFailure::Timeout { .. }
            | HandshakeFailure::Other(_)
    );
    let mut usual = Vec::new();
    if speaks_tls && !matches!(handshake, HandshakeFailure::NoCertificate) {
        usual.extend(lines![
            "A valid certificate for {host} must be installed on the origin's TLS server (a free \
             Cloudflare Origin CA certificate will do)."
        ]);
    }
    if unclear {
        usual.extend(lines![
            "Port {port} must be open and speak TLS: test it with {probe}."
        ]);
    }
    if speaks_tls && !settles_negotiation(handshake) {
        usual.extend(sni_check(c));
        usual.extend(lines![
            "Cipher suites and versions must overlap edgecase's: TLS 1.3, or TLS 1.2 with ECDHE \
             and AES-GCM or ChaCha20-Poly1305."
        ]);
    }
    if speaks_tls && !matches!(handshake, HandshakeFailure::Reset(_)) {
        usual.extend(lines![
            "Read the origin's error log at the time of the failure for handshakes it reset or \
             refused."
        ]);
    }
    usual.extend(lines![
        "If the origin cannot serve TLS at all, ssl = \"flexible\" keeps HTTPS for visitors and \
         plain HTTP to the origin (the mode here is \"{ssl}\")."
    ]);
    usual
}

/// Whether the cause's check already covers versions, cipher suites or groups.
fn settles_negotiation(handshake: &HandshakeFailure) -> bool {
    match handshake {
        HandshakeFailure::ProtocolVersion(_)
        | HandshakeFailure::NoSharedCipher(_)
        | HandshakeFailure::NoSharedGroup(_) => true,
        HandshakeFailure::Alert(description) => matches!(u8::from(*description), 40 | 70 | 71),
        _ => false,
    }
}

/// 526: the certificate was refused, by reason.
pub(super) fn certificate_refused(reason: CertificateReason, c: &Context<'_>) -> Vec<String> {
    let (origin, host, ssl) = (c.origin, c.host, c.ssl);
    let (dates, chain) = (
        s_client(c, "", " | openssl x509 -noout -dates"),
        s_client(c, " -showcerts", ""),
    );
    let mut lines = match reason {
        CertificateReason::Expired => lines![
            "The certificate on {origin} has expired: renew it, install the renewed file and \
             reload the server; check its dates with {dates}."
        ],
        CertificateReason::NotYetValid => lines![
            "The certificate's validity starts in the future: check the clocks of this machine \
             and of the origin (NTP), and the dates the certificate was issued with."
        ],
        CertificateReason::SelfSigned => lines![
            "{origin} serves a self-signed certificate: replace it with one from a public CA or a \
             Cloudflare Origin CA certificate; here, listing it in `[origin] ca` makes it \
             trusted, and ssl = \"full\" accepts it unchecked."
        ],
        CertificateReason::Untrusted => lines![
            "The certificate does not chain to a trusted root: serve the full chain (leaf then \
             intermediates, e.g. fullchain.pem); for a private CA or Cloudflare Origin CA, add \
             its root to `[origin] ca`."
        ],
        CertificateReason::NameMismatch => lines![
            "The certificate does not carry {host} in its Common Name or Subject Alternative \
             Names: reissue it with {host} (or a wildcard covering it), or set `[origin] sni` to \
             a name it carries."
        ],
        CertificateReason::Revoked => lines![
            "The certificate is revoked by a list in `[origin] crl`: issue and install a new one \
             (or drop an outdated CRL file)."
        ],
        CertificateReason::BadSignature => lines![
            "A signature in the chain does not verify: the intermediate served does not belong to \
             this certificate, or a file is corrupt; reinstall the chain your CA issued with it."
        ],
        CertificateReason::Invalid => lines![
            "The certificate is malformed or not meant for a TLS server (its extended key usage \
             must allow serverAuth): inspect it with `openssl x509 -text -noout` and reissue it."
        ],
    };
    lines.extend(lines![
        "Look at what {origin} serves for {host}: {chain}.",
        "ssl = \"{ssl}\" checks the certificate; ssl = \"full\" accepts any, for an origin that \
         cannot get a valid one.",
    ]);
    lines
}
