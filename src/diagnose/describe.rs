//! The report's "what was seen" lines, in words: each connect attempt, the certificate, the
//! response; and a failure with its sources as one line.

use std::net::IpAddr;

use super::report::{AddressAttempt, TlsDetails};
use super::request::Sent;
use super::table::duration;
use crate::config::OriginTimeouts;
use crate::failure::{CertificateReason, OriginFailure};
use crate::origin::handshake::TlsTarget;
use crate::pages;

/// One address's attempt, in words.
pub(super) fn describe_attempt(attempt: &AddressAttempt) -> String {
    let took = attempt.ms.map(duration).unwrap_or_default();
    let side = if attempt.tried_by_edge {
        ""
    } else {
        " (checked on the side: the edge did not get to it)"
    };
    match attempt.status {
        None => format!(
            "{} accepted the connection in {took}{side}",
            attempt.address
        ),
        Some(status) => format!(
            "{} failed after {took}: {} ({status}){side}",
            attempt.address, attempt.outcome
        ),
    }
}

/// The certificate's lines for the TLS row.
pub(super) fn certificate_lines(details: &TlsDetails) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(cert) = &details.certificate {
        let names = if cert.sans.is_empty() {
            "no subject alternative names".to_owned()
        } else {
            cert.sans.join(", ")
        };
        lines.push(format!(
            "certificate for {names} (subject {}), issued by {}{}",
            cert.subject,
            cert.issuer,
            if cert.self_signed {
                " (self-signed)"
            } else {
                ""
            }
        ));
        let left = match cert.days_until_valid {
            _ if cert.days_left < 0 => format!("expired {} days ago", -cert.days_left),
            Some(0) => "not valid until later today".to_owned(),
            Some(days) => format!("not valid for another {days} days"),
            None => format!("{} days left", cert.days_left),
        };
        lines.push(format!(
            "valid from {} to {} ({left}); chain of {}",
            cert.not_before, cert.not_after, cert.chain_length
        ));
    }
    lines.extend(trust_line(details));
    lines
}

/// What the trust check said, once made.
pub(super) fn trust_line(details: &TlsDetails) -> Option<String> {
    let reason = details.untrusted_reason.unwrap_or("invalid");
    let line = match (details.trusted?, details.validated) {
        (true, true) => format!(
            "trusted: chains to a trusted root and is valid for {}",
            details.sni
        ),
        (true, false) => format!(
            "not checked in SSL mode full; it would also pass full_strict for {}",
            details.sni
        ),
        (false, false) => {
            format!(
                "not checked in SSL mode full; full_strict would refuse it ({reason}) with a 526"
            )
        }
        (false, true) => format!("refused: {reason}"),
    };
    Some(line)
}

/// The response's lines for the HTTP and keep-alive rows.
pub(super) fn response_lines(sent: &Sent, timeouts: &OriginTimeouts) -> Vec<String> {
    let d = &sent.details;
    let mut lines = Vec::new();
    let read = duration(timeouts.read);
    match (d.status, d.time_to_first_byte_ms) {
        (Some(status), ttfb) => {
            let ttfb = ttfb.map(duration).unwrap_or_default();
            lines.push(format!(
                "{status} {} after {ttfb} (read timeout {read})",
                pages::reason(status)
            ));
        }
        (None, Some(waited)) => lines.push(format!(
            "no usable response head after {} (read timeout {read})",
            duration(waited)
        )),
        (None, None) => {}
    }
    match (d.head_bytes, d.status) {
        (Some(head), _) if head > d.head_limit => lines.push(format!(
            "response head over the {} bytes allowed ({head} bytes read)",
            d.head_limit
        )),
        (Some(head), Some(_)) => lines.push(format!(
            "response head {head} bytes of the {} allowed",
            d.head_limit
        )),
        (Some(head), None) => lines.push(format!(
            "{head} bytes of response head received before it failed"
        )),
        (None, _) => {}
    }
    if let Some(bytes) = d.body_bytes {
        let whole = if d.body_complete == Some(true) {
            "whole"
        } else {
            "cut short"
        };
        lines.push(format!("body {bytes} bytes, {whole}"));
    }
    lines
}

/// The SNI of a TLS target, as text.
pub(super) fn name_of(tls: &TlsTarget) -> String {
    match &tls.name {
        rustls::pki_types::ServerName::DnsName(name) => name.as_ref().to_owned(),
        rustls::pki_types::ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
        other => format!("{other:?}"),
    }
}

/// `failure` and its sources, as one line.
pub(super) fn error_chain(failure: &OriginFailure) -> String {
    let mut text = failure.to_string();
    if let OriginFailure::InvalidCertificate(invalid) = failure
        && invalid.reason == CertificateReason::SelfSigned
    {
        // The verifier's own words for this one are a debug dump of our marker.
        return text;
    }
    let mut source = std::error::Error::source(failure);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
