//! Self-signed certificates for local HTTPS: `edgecase cert` writes one, and `edgecase demo`
//! makes one in memory. Made with rcgen, so no openssl is needed.

use std::time::Duration;

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::ServerName;
use time::OffsetDateTime;

/// How long a generated certificate is valid: about a year, from a day before it was made (so
/// a clock slightly behind still accepts it).
pub const VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct SelfSigned {
    /// The certificate (one PEM block).
    pub cert_pem: String,
    /// The private key (PKCS#8 PEM).
    pub key_pem: String,
}

/// Why no certificate could be made.
#[derive(Debug, thiserror::Error)]
pub enum SelfSignedError {
    /// No name was given.
    #[error("give at least one host name or IP address to put in the certificate")]
    NoNames,
    /// A name is neither a DNS name nor an IP address.
    #[error("{0:?} is not a host name or an IP address")]
    BadName(String),
    /// rcgen refused the parameters.
    #[error("cannot make the certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// A self-signed end-entity certificate for `names` (DNS names and IP literals, each becoming
/// a subject alternative name; the first is also the common name), with a new ECDSA P-256 key.
/// It is not a CA, so a client trusts it by trusting the certificate itself.
pub fn generate(names: &[String]) -> Result<SelfSigned, SelfSignedError> {
    let first = names.first().ok_or(SelfSignedError::NoNames)?;
    for name in names {
        if ServerName::try_from(name.as_str()).is_err() || name.ends_with('.') {
            return Err(SelfSignedError::BadName(name.clone()));
        }
    }
    let mut params = CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(DnType::CommonName, first.as_str());
    params
        .distinguished_name
        .push(DnType::OrganizationName, "edgecase (local use)");
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + VALIDITY;
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(SelfSigned {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_the_certificate_names() {
        let made = generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        assert!(made.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(made.key_pem.contains("PRIVATE KEY"));
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let der = CertificateDer::from_pem_slice(made.cert_pem.as_bytes()).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let sans = cert.subject_alternative_name().unwrap().unwrap();
        use x509_parser::extensions::GeneralName;
        match sans.value.general_names.as_slice() {
            [GeneralName::DNSName(dns), GeneralName::IPAddress(ip)] => {
                assert_eq!(*dns, "localhost");
                assert_eq!(*ip, [127, 0, 0, 1]);
            }
            other => panic!("unexpected names {other:?}"),
        }
        assert!(!cert.is_ca());
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(matches!(generate(&[]), Err(SelfSignedError::NoNames)));
        let bad = generate(&["bad name!".into()]).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "\"bad name!\" is not a host name or an IP address"
        );
    }
}
