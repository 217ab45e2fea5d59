//! The two TLS failures of the origin side: a handshake that did not complete (525,
//! [`HandshakeFailure`]) and a certificate the mode refuses (526, [`CertificateFailure`]). Each
//! names its precise cause as a stable tag (`no_tls`, `alert:handshake_failure`, `expired`...).

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

use rustls::AlertDescription;

/// Why the TLS handshake with the origin did not complete (525).
#[derive(Debug)]
pub enum HandshakeFailure {
    /// The origin's port answered something that is not TLS.
    NoTls {
        /// Whether it looked like an HTTP response (a plain-HTTP server on the TLS port).
        http: bool,
    },
    /// The origin closed the connection during the handshake.
    Closed,
    /// The origin reset the connection during the handshake.
    Reset(io::Error),
    /// The handshake did not complete within `timeouts.connect` of the TCP connection.
    Timeout {
        /// The connect timeout in force.
        after: Duration,
    },
    /// The origin sent a TLS alert.
    Alert(AlertDescription),
    /// The origin chose a TLS version edgecase does not offer (it offers 1.2 and 1.3).
    ProtocolVersion(rustls::Error),
    /// No cipher suite in common.
    NoSharedCipher(rustls::Error),
    /// No key-exchange group in common.
    NoSharedGroup(rustls::Error),
    /// The origin presented no certificate.
    NoCertificate,
    /// The origin needs something edgecase does not do.
    Incompatible(rustls::Error),
    /// The origin broke the TLS protocol.
    Misbehaved(rustls::Error),
    /// Anything else (an I/O error during the handshake).
    Other(io::Error),
}

impl HandshakeFailure {
    /// A stable tag for logs: `no_tls`, `handshake_timeout`, `alert:<name>`...
    pub fn tag(&self) -> &'static str {
        match self {
            Self::NoTls { .. } => "no_tls",
            Self::Closed => "handshake_closed",
            Self::Reset(_) => "handshake_reset",
            Self::Timeout { .. } => "handshake_timeout",
            Self::Alert(alert) => alert_tag(*alert),
            Self::ProtocolVersion(_) => "protocol_version",
            Self::NoSharedCipher(_) => "no_shared_cipher",
            Self::NoSharedGroup(_) => "no_shared_group",
            Self::NoCertificate => "no_certificate",
            Self::Incompatible(_) => "handshake_incompatible",
            Self::Misbehaved(_) => "handshake_misbehaved",
            Self::Other(_) => "handshake_error",
        }
    }
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTls { http: true } => f.write_str("the origin answered plain HTTP, not TLS"),
            Self::NoTls { http: false } => {
                f.write_str("the origin answered bytes that are not TLS")
            }
            Self::Closed => f.write_str("the origin closed the connection during the handshake"),
            Self::Reset(_) => f.write_str("the origin reset the connection during the handshake"),
            Self::Timeout { after } => write!(f, "no TLS handshake within {after:?}"),
            Self::Alert(alert) => write!(f, "the origin sent the TLS alert {alert:?}"),
            Self::ProtocolVersion(_) => f.write_str("no TLS version in common"),
            Self::NoSharedCipher(_) => f.write_str("no cipher suite in common"),
            Self::NoSharedGroup(_) => f.write_str("no key-exchange group in common"),
            Self::NoCertificate => f.write_str("the origin presented no certificate"),
            Self::Incompatible(_) => f.write_str("the origin's TLS is incompatible"),
            Self::Misbehaved(_) => f.write_str("the origin broke the TLS protocol"),
            Self::Other(_) => f.write_str("the TLS handshake failed"),
        }
    }
}

impl StdError for HandshakeFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Reset(e) | Self::Other(e) => Some(e),
            Self::ProtocolVersion(e)
            | Self::NoSharedCipher(e)
            | Self::NoSharedGroup(e)
            | Self::Incompatible(e)
            | Self::Misbehaved(e) => Some(e),
            Self::NoTls { .. }
            | Self::Closed
            | Self::Timeout { .. }
            | Self::Alert(_)
            | Self::NoCertificate => None,
        }
    }
}

/// Why the origin's certificate was refused (526): Full (strict) and Strict only.
#[derive(Debug)]
pub struct CertificateFailure {
    /// The reason, as a tag.
    pub reason: CertificateReason,
    /// What the verifier said.
    pub detail: rustls::Error,
}

/// The reasons a certificate is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateReason {
    /// Past its validity period.
    Expired,
    /// Before its validity period.
    NotYetValid,
    /// Self-signed, and not itself trusted.
    SelfSigned,
    /// Does not chain to a trusted root.
    Untrusted,
    /// Not valid for the name checked (the SNI).
    NameMismatch,
    /// Revoked by a CRL of `[origin] crl`.
    Revoked,
    /// A signature in the chain does not verify.
    BadSignature,
    /// Anything else (bad encoding, wrong key usage...).
    Invalid,
}

impl CertificateReason {
    /// A stable tag for logs: `expired`, `name_mismatch`...
    pub fn tag(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::SelfSigned => "self_signed",
            Self::Untrusted => "untrusted",
            Self::NameMismatch => "name_mismatch",
            Self::Revoked => "revoked",
            Self::BadSignature => "bad_signature",
            Self::Invalid => "invalid_certificate",
        }
    }

    /// The reason in words: `it has expired`, `it is not valid for the name`...
    pub fn describe(self) -> &'static str {
        match self {
            Self::Expired => "it has expired",
            Self::NotYetValid => "it is not valid yet",
            Self::SelfSigned => "it is self-signed, and nothing trusted vouches for it",
            Self::Untrusted => "it does not chain to a trusted root",
            Self::NameMismatch => "it is not valid for the name checked",
            Self::Revoked => "it has been revoked",
            Self::BadSignature => "a signature in its chain does not verify",
            Self::Invalid => "it cannot be used",
        }
    }
}

impl fmt::Display for CertificateFailure {
    /// The reason in words; the verifier's own message is the source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the origin's certificate is invalid: {}",
            self.reason.describe()
        )
    }
}

impl StdError for CertificateFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.detail)
    }
}

/// `alert:<name>`, the alert's RFC 8446 (or RFC 5246) name.
fn alert_tag(alert: AlertDescription) -> &'static str {
    match u8::from(alert) {
        0 => "alert:close_notify",
        10 => "alert:unexpected_message",
        20 => "alert:bad_record_mac",
        21 => "alert:decryption_failed",
        22 => "alert:record_overflow",
        30 => "alert:decompression_failure",
        40 => "alert:handshake_failure",
        41 => "alert:no_certificate",
        42 => "alert:bad_certificate",
        43 => "alert:unsupported_certificate",
        44 => "alert:certificate_revoked",
        45 => "alert:certificate_expired",
        46 => "alert:certificate_unknown",
        47 => "alert:illegal_parameter",
        48 => "alert:unknown_ca",
        49 => "alert:access_denied",
        50 => "alert:decode_error",
        51 => "alert:decrypt_error",
        60 => "alert:export_restriction",
        70 => "alert:protocol_version",
        71 => "alert:insufficient_security",
        80 => "alert:internal_error",
        86 => "alert:inappropriate_fallback",
        90 => "alert:user_canceled",
        100 => "alert:no_renegotiation",
        109 => "alert:missing_extension",
        110 => "alert:unsupported_extension",
        111 => "alert:certificate_unobtainable",
        112 => "alert:unrecognized_name",
        113 => "alert:bad_certificate_status_response",
        114 => "alert:bad_certificate_hash_value",
        115 => "alert:unknown_psk_identity",
        116 => "alert:certificate_required",
        120 => "alert:no_application_protocol",
        121 => "alert:ech_required",
        _ => "alert:unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_named_as_the_rfc_names_them() {
        let tag = |byte: u8| HandshakeFailure::Alert(AlertDescription::from(byte)).tag();
        assert_eq!(tag(40), "alert:handshake_failure");
        assert_eq!(tag(70), "alert:protocol_version");
        assert_eq!(tag(112), "alert:unrecognized_name");
        assert_eq!(tag(250), "alert:unknown");
    }
}
