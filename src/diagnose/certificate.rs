//! The origin's certificate as a site owner reads it: subject, names, issuer, dates.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::report::CertificateDetails;
use crate::base::time::Rfc3339;

/// The leaf of `chain` (leaf first), described; `None` when there is none or it does not
/// parse.
pub fn describe(chain: &[CertificateDer<'_>], now: SystemTime) -> Option<CertificateDetails> {
    let leaf = chain.first()?;
    let (_, cert) = X509Certificate::from_der(leaf).ok()?;
    let validity = cert.validity();
    let not_before = validity.not_before.timestamp();
    let not_after = validity.not_after.timestamp();
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Some(CertificateDetails {
        subject: cert.subject().to_string(),
        sans: names(&cert),
        issuer: cert.issuer().to_string(),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        days_left: (not_after - now).div_euclid(86_400),
        days_until_valid: (not_before > now).then(|| (not_before - now).div_euclid(86_400)),
        self_signed: cert.issuer().as_raw() == cert.subject().as_raw(),
        chain_length: chain.len(),
    })
}

/// The DNS names and IP addresses of the subject alternative names.
fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => ip(bytes),
            _ => None,
        })
        .collect()
}

fn ip(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (before 1970: the epoch count).
fn rfc3339(secs: i64) -> String {
    match u64::try_from(secs) {
        Ok(secs) => Rfc3339(UNIX_EPOCH + Duration::from_secs(secs)).to_string(),
        Err(_) => format!("{secs} s from the epoch"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_described() {
        let made = crate::tls::self_signed::generate(&["site.test".into(), "127.0.0.1".into()])
            .expect("a certificate");
        let chain = crate::tls::pem::certificates_from(made.cert_pem.as_bytes()).expect("PEM");
        let info = describe(&chain, SystemTime::now()).expect("parses");
        assert_eq!(info.sans, ["site.test", "127.0.0.1"]);
        assert!(info.self_signed);
        assert_eq!(info.chain_length, 1);
        assert!((360..=366).contains(&info.days_left), "{}", info.days_left);
        assert!(info.not_after.ends_with('Z'), "{}", info.not_after);
        assert_eq!(info.days_until_valid, None);
        assert_eq!(describe(&[], SystemTime::now()), None);
    }
}
