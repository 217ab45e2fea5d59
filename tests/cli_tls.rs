//! The `edgecase` binary's TLS side from outside, as a user runs it: `edgecase cert` (the files
//! it writes, what the certificate says, exit 2 on bad arguments), an HTTPS edge started from a
//! config whose certificate paths are relative to the config file, and the TLS config problems
//! `--check` reports by key (exit 2), plus the SSL modes it now accepts.
//!
//! Every child process sits in a [`Running`] guard that kills it if the test fails, and every
//! wait (for a line, for the exit) is bounded.
mod support;

use std::net::SocketAddr;
use std::path::Path;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use support::GUARD;
use support::binary::{
    EXIT_BAD_CONFIG, LISTENING_ON, Outcome, Running, assert_exit_code, assert_no_panic, path_arg,
    run,
};
use support::https::{HTTP_1_1, HttpsVisitor, certificate_from_pem};
use support::origins::Origin;
use support::pki::{TempDir, TestCa, self_signed};
use support::visitor::within;

/// Where the start-up line names the HTTPS listener's address.
const TLS_LISTEN: &str = "tls_listen=";

/// Waits for the start-up line; returns it with the plain and TLS addresses it announces.
async fn listening(edgecase: &mut Running) -> (String, SocketAddr, SocketAddr) {
    let line = edgecase.stderr_line_containing(LISTENING_ON).await;
    let plain = address_after(&line, LISTENING_ON);
    let tls = address_after(&line, TLS_LISTEN);
    (line, plain, tls)
}

/// The socket address right after `marker` in `line` (an `https://` prefix, quotes and a
/// trailing `/` or `,` removed).
#[track_caller]
fn address_after(line: &str, marker: &str) -> SocketAddr {
    let (_, rest) = line
        .split_once(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in the start-up line {line:?}"));
    let word = rest.split_whitespace().next().unwrap_or_default();
    let word = word.trim_matches(|c| c == '"' || c == ',');
    let word = word.strip_prefix("https://").unwrap_or(word);
    let addr = word.split('/').next().unwrap_or_default();
    addr.parse()
        .unwrap_or_else(|e| panic!("{addr:?} after {marker:?} in {line:?} is not an address: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------------

/// Asserts the exit code and that nothing panicked.
#[track_caller]
fn assert_exited(outcome: &Outcome, code: i32) {
    assert_exit_code(outcome, code);
    assert_no_panic(outcome);
}

/// Asserts a config rejected by `--check`: exit 2, nothing on stdout, every stderr line
/// `edgecase: {file}: key: why`, one of them for `key`. Returns that line.
#[track_caller]
fn assert_rejected_naming(outcome: &Outcome, file: &Path, key: &str) -> String {
    assert_exited(outcome, EXIT_BAD_CONFIG);
    assert!(
        outcome.stdout.trim().is_empty(),
        "stdout: {}",
        outcome.stdout
    );
    let file_prefix = format!("edgecase: {}: ", file.display());
    let lines: Vec<&str> = outcome
        .stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    for line in &lines {
        assert!(line.starts_with(&file_prefix), "{line:?} names the file");
    }
    let key_prefix = format!("{file_prefix}{key}: ");
    let line = lines
        .iter()
        .find(|line| line.starts_with(&key_prefix))
        .unwrap_or_else(|| panic!("no line for {key}; stderr:\n{}", outcome.stderr));
    assert!(line.len() > key_prefix.len(), "{line:?} says why");
    (*line).to_owned()
}

/// Writes `toml` into `dir` as `edgecase.toml`, runs `--check` on it and asserts it is
/// rejected naming `key`. Returns that line.
async fn check_rejects(dir: &TempDir, toml: &str, key: &str) -> String {
    let file = dir.write("edgecase.toml", toml);
    let outcome = run(&["--check", "--config", path_arg(&file)]).await;
    assert_rejected_naming(&outcome, &file, key)
}

/// The `[edge]` table of a valid HTTPS config using these files.
fn edge_table(cert: &Path, key: &Path) -> String {
    format!(
        "[edge]\nlisten = \"127.0.0.1:0\"\ntls_listen = \"127.0.0.1:0\"\n\
         tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    )
}

// ---------------------------------------------------------------------------------------------
// edgecase cert, then serving HTTPS with what it wrote
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn cert_writes_a_leaf_for_the_hosts_that_a_config_with_relative_paths_serves() {
    let dir = TempDir::new("cli-cert");
    let outcome = run(&[
        "cert",
        "--host",
        "localhost",
        "--host",
        "127.0.0.1",
        "--out",
        path_arg(dir.path()),
    ])
    .await;
    assert_exited(&outcome, 0);
    let said = format!("{}\n{}", outcome.stdout, outcome.stderr);
    assert!(said.contains("cert.pem"), "says what it wrote: {said}");
    assert!(said.contains("key.pem"), "says what it wrote: {said}");

    let cert_pem = std::fs::read_to_string(dir.path().join("cert.pem")).expect("cert.pem");
    std::fs::read_to_string(dir.path().join("key.pem")).expect("key.pem");
    let der = certificate_from_pem(&cert_pem);
    let (_, cert) = X509Certificate::from_der(&der).expect("cert.pem holds an X.509 certificate");
    let sans = cert
        .subject_alternative_name()
        .expect("one SAN extension")
        .expect("the certificate has SANs");
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for name in &sans.value.general_names {
        match name {
            GeneralName::DNSName(name) => dns.push((*name).to_owned()),
            GeneralName::IPAddress(ip) => ips.push(ip.to_vec()),
            other => panic!("unexpected SAN {other:?}"),
        }
    }
    assert_eq!(dns, ["localhost"], "DNS SANs");
    assert_eq!(ips, [vec![127u8, 0, 0, 1]], "IP SANs");
    assert!(!cert.is_ca(), "a leaf, not a CA");
    assert!(
        cert.validity().is_valid(),
        "valid now: {:?}",
        cert.validity()
    );

    // The config names the files relative to itself; edgecase runs from another directory.
    let origin = Origin::ok("answered by the origin").await;
    let config = dir.write(
        "edgecase.toml",
        &format!(
            "[edge]\nlisten = \"127.0.0.1:0\"\ntls_listen = \"127.0.0.1:0\"\n\
             tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n\
             [origin]\naddress = \"{}\"\nssl = \"flexible\"\n\
             [dns]\nsystem = false\n",
            origin.addr()
        ),
    );
    let mut edgecase = Running::spawn(&["--config", path_arg(&config)]);
    let (line, _plain, tls) = listening(&mut edgecase).await;
    assert_eq!(tls.ip().to_string(), "127.0.0.1", "{line}");
    assert_ne!(
        tls.port(),
        0,
        "the line shows the port the kernel chose: {line}"
    );

    let root = certificate_from_pem(&cert_pem);
    let trace = within(
        GUARD,
        HttpsVisitor::new(root.clone(), "localhost").get(tls, "/cdn-cgi/trace"),
    )
    .await;
    assert_eq!(trace.response.status(), 200, "{}", trace.response.text());
    let text = trace.response.text();
    for line in [
        "visit_scheme=https",
        "tls=TLSv1.3",
        "sni=plaintext",
        "h=localhost",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    // The IP SAN works too, without SNI.
    let by_ip = within(
        GUARD,
        HttpsVisitor::new(root, "127.0.0.1")
            .alpn(&[HTTP_1_1])
            .get(tls, "/"),
    )
    .await;
    assert_eq!(by_ip.response.status(), 200, "{}", by_ip.response.text());
    assert_eq!(by_ip.response.text(), "answered by the origin");

    let outcome = edgecase.stop_with(libc::SIGTERM).await;
    assert_exited(&outcome, 0);
}

#[tokio::test]
async fn cert_without_host_exits_2_saying_host_is_needed() {
    let dir = TempDir::new("cli-cert-no-host");
    let outcome = run(&["cert", "--out", path_arg(dir.path())]).await;
    assert_exited(&outcome, EXIT_BAD_CONFIG);
    assert!(outcome.stderr.contains("--host"), "{}", outcome.stderr);
    assert!(
        !dir.path().join("cert.pem").exists() && !dir.path().join("key.pem").exists(),
        "nothing written"
    );
}

#[tokio::test]
async fn cert_with_a_bad_host_name_exits_2_naming_it() {
    let dir = TempDir::new("cli-cert-bad-host");
    let outcome = run(&["cert", "--host", "bad name!", "--out", path_arg(dir.path())]).await;
    assert_exited(&outcome, EXIT_BAD_CONFIG);
    assert!(outcome.stderr.contains("bad name!"), "{}", outcome.stderr);
    assert!(
        !dir.path().join("cert.pem").exists() && !dir.path().join("key.pem").exists(),
        "nothing written"
    );
}

// ---------------------------------------------------------------------------------------------
// TLS config problems, by key
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn check_rejects_tls_listen_without_a_certificate_naming_edge_tls_cert() {
    let dir = TempDir::new("cli-tls-no-cert");
    let line = check_rejects(
        &dir,
        "[edge]\ntls_listen = \"127.0.0.1:0\"\n",
        "edge.tls_cert",
    )
    .await;
    assert!(line.contains("tls_listen"), "says why: {line}");
}

#[tokio::test]
async fn check_rejects_a_missing_certificate_file_naming_edge_tls_cert_cannot_read() {
    let dir = TempDir::new("cli-tls-missing-cert");
    let (_, key) = self_signed(&["localhost"]).write_to(&dir, "edge");
    let missing = dir.path().join("absent.pem");
    let line = check_rejects(&dir, &edge_table(&missing, &key), "edge.tls_cert").await;
    assert!(line.contains("cannot read"), "{line}");
}

#[tokio::test]
async fn check_rejects_a_key_file_that_is_not_pem_naming_edge_tls_key() {
    let dir = TempDir::new("cli-tls-key-not-pem");
    let (cert, _) = self_signed(&["localhost"]).write_to(&dir, "edge");
    let key = dir.write("junk.key", "this is not a PEM private key\n");
    check_rejects(&dir, &edge_table(&cert, &key), "edge.tls_key").await;
}

#[tokio::test]
async fn check_rejects_a_key_that_does_not_match_the_certificate_naming_edge_tls_key() {
    let dir = TempDir::new("cli-tls-key-mismatch");
    let (cert, _) = self_signed(&["localhost"]).write_to(&dir, "one");
    let (_, other_key) = self_signed(&["localhost"]).write_to(&dir, "two");
    check_rejects(&dir, &edge_table(&cert, &other_key), "edge.tls_key").await;
}

#[tokio::test]
async fn check_rejects_an_origin_ca_that_is_not_a_certificate_naming_origin_ca() {
    let dir = TempDir::new("cli-tls-bad-ca");
    let identity = self_signed(&["localhost"]);
    // A PEM file, but of a private key: no certificate in it.
    let ca = dir.write("ca.pem", &identity.key_pem);
    check_rejects(
        &dir,
        &format!(
            "[origin]\nssl = \"full_strict\"\nca = \"{}\"\n",
            ca.display()
        ),
        "origin.ca",
    )
    .await;
    let ca = dir.write("text.pem", "not a certificate\n");
    check_rejects(
        &dir,
        &format!("[origin]\nca = \"{}\"\n", ca.display()),
        "origin.ca",
    )
    .await;
}

#[tokio::test]
async fn check_rejects_an_origin_tls_port_outside_1_to_65535() {
    let dir = TempDir::new("cli-tls-port");
    for port in ["0", "70000"] {
        let line = check_rejects(
            &dir,
            &format!("[origin]\ntls_port = {port}\n"),
            "origin.tls_port",
        )
        .await;
        assert!(line.contains(port), "names the value: {line}");
    }
}

#[tokio::test]
async fn check_rejects_an_origin_sni_that_is_not_a_name() {
    let dir = TempDir::new("cli-tls-sni");
    let line = check_rejects(&dir, "[origin]\nsni = \"not a name!\"\n", "origin.sni").await;
    assert!(line.contains("not a name!"), "names the value: {line}");
}

#[tokio::test]
async fn check_accepts_every_ssl_mode_and_a_valid_tls_setup() {
    let dir = TempDir::new("cli-tls-valid");
    let ca = TestCa::new("cli test CA");
    let ca_file = dir.write("ca.pem", &ca.cert_pem());
    let crl_file = dir.write("crl.pem", &ca.crl_pem(&[]));
    let (cert, key) = ca.issue(&["localhost"]).write_to(&dir, "edge");
    for mode in ["off", "flexible", "full", "full_strict", "strict"] {
        let file = dir.write(
            "edgecase.toml",
            &format!(
                "{}[origin]\naddress = \"origin.test:8080\"\nssl = \"{mode}\"\n\
                 sni = \"origin.test\"\ntls_port = 8443\nca = \"{}\"\ncrl = \"{}\"\n\
                 [dns]\nsystem = false\nhosts = {{ \"origin.test\" = \"127.0.0.1\" }}\n",
                edge_table(&cert, &key),
                ca_file.display(),
                crl_file.display()
            ),
        );
        let outcome = run(&["--check", "--config", path_arg(&file)]).await;
        assert_exited(&outcome, 0);
        assert!(
            outcome.stdout.contains("config is valid"),
            "ssl = {mode:?}: {}",
            outcome.stdout
        );
    }
}
