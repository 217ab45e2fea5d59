//! Tests of the TLS keys: `[edge] tls_*`, `[origin] ssl/sni/tls_port/ca/crl`, their route
//! overrides, and the SSL mode table.

use std::path::{Path, PathBuf};

use super::*;
use crate::normalize::Normalized;
use crate::tls::self_signed;

fn load(text: &str) -> Config {
    Config::from_toml_str(text).unwrap_or_else(|e| panic!("{text}\n{e}"))
}

fn problems(text: &str) -> Vec<String> {
    match Config::from_toml_str(text) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

/// A directory of its own for one test, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let path = std::env::temp_dir().join(format!("edgecase-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pair(dir: &Dir, stem: &str) -> (PathBuf, PathBuf) {
    let made = self_signed::generate(&["localhost".into()]).unwrap();
    (
        dir.write(&format!("{stem}.crt"), &made.cert_pem),
        dir.write(&format!("{stem}.key"), &made.key_pem),
    )
}

#[test]
fn ssl_modes_choose_the_scheme_to_the_origin_as_cloudflare_does() {
    use OriginScheme::*;
    let table = [
        (SslMode::Off, Plain, Plain),
        (SslMode::Flexible, Plain, Plain),
        (SslMode::Full, Plain, Tls { validate: false }),
        (SslMode::FullStrict, Plain, Tls { validate: true }),
        (
            SslMode::Strict,
            Tls { validate: true },
            Tls { validate: true },
        ),
    ];
    for (mode, over_http, over_https) in table {
        assert_eq!(mode.to_origin(false), over_http, "{mode} over HTTP");
        assert_eq!(mode.to_origin(true), over_https, "{mode} over HTTPS");
    }
}

#[test]
fn sni_and_tls_port_load_and_routes_inherit_them_only_for_the_same_origin() {
    let config = load(
        r#"
        [origin]
        address = "origin.test:80"
        ssl = "full"
        sni = "Origin.Example"
        tls_port = 8443
        [[route]]
        path_prefix = "/same/"
        ssl = "strict"
        [[route]]
        path_prefix = "/other/"
        origin = "other.test:81"
        [[route]]
        path_prefix = "/own/"
        origin = "own.test:82"
        sni = "own.example"
        tls_port = 9443
        "#,
    );
    assert_eq!(config.origin.sni.as_deref(), Some("origin.example"));
    assert_eq!(config.origin.tls_port, Some(8443));
    let default = config.target(&Normalized::new("site.test", "/"));
    assert_eq!(
        (default.ssl, default.sni, default.tls_port),
        (SslMode::Full, Some("origin.example"), Some(8443))
    );
    let same = config.target(&Normalized::new("site.test", "/same/x"));
    assert_eq!(
        (same.ssl, same.sni, same.tls_port),
        (SslMode::Strict, Some("origin.example"), Some(8443))
    );
    let other = config.target(&Normalized::new("site.test", "/other/x"));
    assert_eq!(
        (other.ssl, other.sni, other.tls_port),
        (SslMode::Full, None, None)
    );
    let own = config.target(&Normalized::new("site.test", "/own/x"));
    assert_eq!((own.sni, own.tls_port), (Some("own.example"), Some(9443)));
}

#[test]
fn bad_sni_and_tls_port_are_named() {
    let found = problems(
        "[origin]\nsni = \"not a name!\"\ntls_port = 0\n\
         [[route]]\nsni = \"\"\ntls_port = 70000\n",
    );
    assert_eq!(
        found,
        [
            "origin.sni: \"not a name!\" is not a host name or IP address to send as SNI",
            "origin.tls_port: 0 is not a port between 1 and 65535",
            "route[0].sni: \"\" is not a host name or IP address to send as SNI",
            "route[0].tls_port: 70000 is not a port between 1 and 65535",
        ]
    );
}

#[test]
fn edge_tls_needs_all_three_keys() {
    let found = problems("[edge]\ntls_listen = \"127.0.0.1:8443\"\n");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("edge.tls_cert: is required with edge.tls_listen"));
    assert!(found[1].starts_with("edge.tls_key: is required with edge.tls_listen"));
    let found = problems("[edge]\ntls_cert = \"cert.pem\"\n");
    assert!(
        found[0].starts_with("edge.tls_cert: is set but edge.tls_listen is not"),
        "{found:?}"
    );
}

#[test]
fn edge_tls_files_are_read_relative_to_the_config_file() {
    let dir = Dir::new("config-tls-relative");
    pair(&dir, "edge");
    let file = dir.write(
        "edgecase.toml",
        "[edge]\ntls_listen = \"127.0.0.1:0\"\ntls_cert = \"edge.crt\"\ntls_key = \"edge.key\"\n",
    );
    let config = Config::load(&file, &Overrides::default()).unwrap();
    let tls = config.edge.tls.expect("HTTPS is configured");
    assert_eq!(tls.cert, dir.0.join("edge.crt"));
    assert_eq!(tls.key, dir.0.join("edge.key"));
    assert_eq!(
        tls.server.alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec()]
    );
}

#[test]
fn edge_tls_file_problems_name_the_key_and_the_file() {
    let dir = Dir::new("config-tls-problems");
    let (cert, key) = pair(&dir, "one");
    let (_, other_key) = pair(&dir, "two");
    let text = |cert: &Path, key: &Path| {
        format!(
            "[edge]\ntls_listen = \"127.0.0.1:0\"\ntls_cert = {:?}\ntls_key = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        )
    };
    let missing = dir.0.join("missing.pem");
    let found = problems(&text(&missing, &key));
    assert!(
        found[0].starts_with(&format!("edge.tls_cert: cannot read {}", missing.display())),
        "{found:?}"
    );
    let found = problems(&text(&key, &key));
    assert!(found[0].contains("holds no certificate"), "{found:?}");
    let found = problems(&text(&cert, &cert));
    assert!(found[0].starts_with("edge.tls_key:"), "{found:?}");
    assert!(found[0].contains("PRIVATE KEY"), "{found:?}");
    let found = problems(&text(&cert, &other_key));
    assert!(
        found[0].starts_with("edge.tls_key: cannot serve with this key and certificate"),
        "{found:?}"
    );
}

#[test]
fn edge_tls_listen_must_differ_from_listen() {
    let dir = Dir::new("config-tls-same-port");
    let (cert, key) = pair(&dir, "edge");
    let found = problems(&format!(
        "[edge]\nlisten = \"127.0.0.1:8443\"\ntls_listen = \"127.0.0.1:8443\"\n\
         tls_cert = {:?}\ntls_key = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    ));
    assert_eq!(
        found,
        ["edge.tls_listen: 127.0.0.1:8443 is also edge.listen; HTTPS needs its own port"]
    );
}

#[test]
fn origin_ca_and_crl_are_read_and_checked() {
    let dir = Dir::new("config-tls-ca");
    let (cert, key) = pair(&dir, "ca");
    let config = load(&format!(
        "[origin]\nca = {:?}\n",
        cert.display().to_string()
    ));
    assert_eq!(config.origin.trust.ca.as_deref(), Some(cert.as_path()));
    let found = problems(&format!("[origin]\nca = {:?}\n", key.display().to_string()));
    assert!(found[0].starts_with("origin.ca:"), "{found:?}");
    assert!(found[0].contains("holds no certificate"), "{found:?}");
    let found = problems(&format!(
        "[origin]\ncrl = {:?}\n",
        cert.display().to_string()
    ));
    assert!(found[0].starts_with("origin.crl:"), "{found:?}");
    assert!(found[0].contains("X509 CRL"), "{found:?}");
}
