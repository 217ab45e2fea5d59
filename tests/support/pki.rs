//! Certificates made in the tests themselves, with rcgen: a test CA ([`TestCa`]) issuing valid,
//! expired and not-yet-valid leaves and CRLs, self-signed leaves ([`self_signed`]), and the
//! files the edge's config points at ([`TempDir`], [`Identity::write_to`]).
//!
//! Every key is ECDSA P-256, made fresh per certificate. Validity windows are relative to now,
//! so a certificate is never valid by accident on a machine with a skewed clock of a day or less.
//!
//! This module starts no server; `support/tls_origins.rs` serves these identities.

#![allow(dead_code)]

use std::fs;
use std::ops::{Add, Sub};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateRevocationListParams,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// One day, the unit of every validity window below.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Makes serial numbers and directory names unique within the process.
static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A directory of its own under the system temp dir, removed (with its files) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `edgecase-<tag>-<pid>-<n>-<nanos>` under [`std::env::temp_dir`].
    pub fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "edgecase-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("create temp dir {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory's absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to the file `name` in this directory; returns its absolute path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let file = self.path.join(name);
        fs::write(&file, contents).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        file
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A certificate chain (leaf first) and the leaf's private key.
#[derive(Debug)]
pub struct Identity {
    /// The chain as PEM, leaf first (what a `tls_cert` file holds).
    pub cert_pem: String,
    /// The leaf's private key as PKCS#8 PEM (what a `tls_key` file holds).
    pub key_pem: String,
    /// The chain as DER, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key, PKCS#8 DER.
    key_der: Vec<u8>,
    /// The leaf's serial number, big-endian, for [`TestCa::crl_pem`].
    serial: Vec<u8>,
}

impl Identity {
    /// The leaf's private key, for a rustls config.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// A rustls server config (ring provider, TLS 1.2 and 1.3) serving this identity for any
    /// SNI, offering `alpn` in that order.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(self.chain.clone(), self.key())
        .expect("a certificate made by rcgen and its own key");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// Writes the chain to `<stem>.crt` and the key to `<stem>.key` in `dir`; returns their
    /// absolute paths (certificate, key).
    pub fn write_to(&self, dir: &TempDir, stem: &str) -> (PathBuf, PathBuf) {
        (
            dir.write(&format!("{stem}.crt"), &self.cert_pem),
            dir.write(&format!("{stem}.key"), &self.key_pem),
        )
    }
}

/// A certificate authority made for one test: a self-signed CA certificate and its key.
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
}

impl TestCa {
    /// A new CA named `common_name`, valid from two days ago for a year, allowed to sign
    /// certificates and CRLs.
    pub fn new(common_name: &str) -> TestCa {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = days_from_now(date_time_ymd(1970, 1, 1), -2);
        params.not_after = days_from_now(date_time_ymd(1970, 1, 1), 365);
        params.serial_number = Some(serial());
        params.key_identifier_method = KeyIdMethod::Sha256;
        let key = KeyPair::generate().expect("generate a P-256 key");
        let cert = params.self_signed(&key).expect("self-sign the test CA");
        TestCa {
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            params,
            key,
        }
    }

    /// The CA certificate as PEM (what an `[origin] ca` file holds).
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The CA certificate as DER, for a rustls root store.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert_der.clone()
    }

    /// A leaf for `names` (DNS names, or IP literals which become IP SANs), valid from
    /// yesterday for 30 days.
    pub fn issue(&self, names: &[&str]) -> Identity {
        self.issue_between(names, -1, 30)
    }

    /// A leaf for `names` that expired two days ago (valid from 30 days ago).
    pub fn issue_expired(&self, names: &[&str]) -> Identity {
        self.issue_between(names, -30, -2)
    }

    /// A leaf for `names` valid from yesterday until `days` days from now (a certificate
    /// about to expire).
    pub fn issue_expiring_in(&self, names: &[&str], days: i64) -> Identity {
        self.issue_between(names, -1, days)
    }

    /// A leaf for `names` that becomes valid in 30 days (for 30 days).
    pub fn issue_not_yet_valid(&self, names: &[&str]) -> Identity {
        self.issue_between(names, 30, 60)
    }

    /// A CRL signed by this CA, listing `revoked` (leaves this CA issued), valid from yesterday
    /// for 30 days, as PEM (what an `[origin] crl` file holds).
    pub fn crl_pem(&self, revoked: &[&Identity]) -> String {
        let revoked_certs = revoked
            .iter()
            .map(|identity| RevokedCertParams {
                serial_number: SerialNumber::from_slice(&identity.serial),
                revocation_time: days_from_now(date_time_ymd(1970, 1, 1), -1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect();
        let crl = CertificateRevocationListParams {
            this_update: days_from_now(date_time_ymd(1970, 1, 1), -1),
            next_update: days_from_now(date_time_ymd(1970, 1, 1), 30),
            crl_number: serial(),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        crl.signed_by(&self.issuer())
            .expect("the test CA may sign CRLs")
            .pem()
            .expect("a CRL encodes as PEM")
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    fn issue_between(&self, names: &[&str], from_day: i64, to_day: i64) -> Identity {
        let (params, key) = leaf_params(names, from_day, to_day);
        let cert = params
            .signed_by(&key, &self.issuer())
            .expect("the test CA signs a leaf");
        identity(&cert, &params, &key)
    }
}

/// A self-signed leaf (not a CA) for `names`, valid from yesterday for 30 days.
pub fn self_signed(names: &[&str]) -> Identity {
    let (params, key) = leaf_params(names, -1, 30);
    let cert = params.self_signed(&key).expect("self-sign a leaf");
    identity(&cert, &params, &key)
}

/// Parameters for a server leaf: SANs `names`, CN the first name, server-auth usage, valid
/// from `from_day` to `to_day` days from now; and a fresh key.
fn leaf_params(names: &[&str], from_day: i64, to_day: i64) -> (CertificateParams, KeyPair) {
    let sans: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(sans).expect("test names are valid SANs");
    params.distinguished_name = name(names.first().copied().unwrap_or("test leaf"));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = days_from_now(date_time_ymd(1970, 1, 1), from_day);
    params.not_after = days_from_now(date_time_ymd(1970, 1, 1), to_day);
    params.serial_number = Some(serial());
    let key = KeyPair::generate().expect("generate a P-256 key");
    (params, key)
}

fn identity(leaf: &Certificate, params: &CertificateParams, key: &KeyPair) -> Identity {
    let serial = params
        .serial_number
        .as_ref()
        .expect("every leaf gets a serial")
        .to_bytes();
    Identity {
        cert_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
        chain: vec![leaf.der().clone()],
        key_der: key.serialize_der(),
        serial,
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "edgecase tests");
    dn
}

/// A positive serial number unique within the process (high bit clear, never zero).
fn serial() -> SerialNumber {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&nanos.to_be_bytes());
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// Now plus `days` (negative: in the past), whole seconds, UTC. Generic because rcgen does not
/// re-export its date type: call it as
/// `days_from_now(date_time_ymd(1970, 1, 1), n)`.
fn days_from_now<T>(epoch: T, days: i64) -> T
where
    T: Add<Duration, Output = T> + Sub<Duration, Output = T>,
{
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    let now = epoch + Duration::from_secs(now.as_secs());
    let shift = DAY * u32::try_from(days.unsigned_abs()).expect("a test shifts by few days");
    if days < 0 { now - shift } else { now + shift }
}
