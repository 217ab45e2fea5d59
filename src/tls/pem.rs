//! Reading PEM files: certificate chains, private keys and CRLs, each with an error that says
//! what was expected in the file.

use std::path::Path;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

/// Why a PEM file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid PEM.
    #[error("{} is not valid PEM: {source}", .path.display())]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// What the parser said.
        source: pem::Error,
    },
    /// The file is PEM but holds none of what was wanted.
    #[error("{} holds no {what} (expected a \"-----BEGIN {marker}-----\" block)", .path.display())]
    Missing {
        /// The file.
        path: std::path::PathBuf,
        /// What was wanted, in words.
        what: &'static str,
        /// The PEM label expected.
        marker: &'static str,
    },
}

/// Every certificate in the PEM file at `path`, in file order (a chain: leaf first).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    read_all(path, "certificate", "CERTIFICATE")
}

/// Every CRL in the PEM file at `path`.
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, PemError> {
    read_all(path, "certificate revocation list", "X509 CRL")
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in the PEM file at `path`.
pub fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    let text = read(path)?;
    match private_key_from(&text) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(PemError::Missing {
            path: path.to_owned(),
            what: "private key",
            marker: "PRIVATE KEY",
        }),
        Err(source) => Err(PemError::Malformed {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Every certificate in PEM text (possibly none).
pub fn certificates_from(text: &[u8]) -> Result<Vec<CertificateDer<'static>>, pem::Error> {
    CertificateDer::pem_slice_iter(text).collect()
}

/// The first private key in PEM text.
pub fn private_key_from(text: &[u8]) -> Result<PrivateKeyDer<'static>, pem::Error> {
    PrivateKeyDer::from_pem_slice(text)
}

fn read(path: &Path) -> Result<Vec<u8>, PemError> {
    std::fs::read(path).map_err(|source| PemError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_all<T: PemObject>(
    path: &Path,
    what: &'static str,
    marker: &'static str,
) -> Result<Vec<T>, PemError> {
    let text = read(path)?;
    let items = T::pem_slice_iter(&text)
        .collect::<Result<Vec<T>, _>>()
        .map_err(|source| PemError::Malformed {
            path: path.to_owned(),
            source,
        })?;
    if items.is_empty() {
        return Err(PemError::Missing {
            path: path.to_owned(),
            what,
            marker,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_and_a_file_without_certificates_say_so() {
        let missing = read_certificates(Path::new("/nonexistent/edgecase.pem")).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("cannot read /nonexistent/edgecase.pem")
        );
        let dir = std::env::temp_dir().join(format!("edgecase-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "just text\n").unwrap();
        let none = read_certificates(&empty).unwrap_err();
        assert!(none.to_string().contains("holds no certificate"), "{none}");
        let no_key = read_private_key(&empty).unwrap_err();
        assert!(no_key.to_string().contains("BEGIN PRIVATE KEY"), "{no_key}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
