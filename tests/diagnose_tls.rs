//! `edgecase diagnose`'s TLS stage against real TLS origins on loopback: a valid certificate
//! (what was negotiated and the certificate's subject, names, issuer and dates, in the JSON
//! and the table), every certificate fault Full (strict) refuses with 526 and its reason (the
//! certificate still shown), Full accepting a self-signed certificate while saying Full
//! (strict) would not, and every handshake fault that is a 525 with its cause (a close, a
//! reset, an alert, bytes that are not TLS, plain HTTP on the TLS port, no answer within the
//! connect timeout). Several faults also go through the real edge in Strict mode (TLS to the
//! origin for a plain HTTP visitor), which must give the same status and cause.
//!
//! Certificates are made per test (`support/pki.rs`): a test CA the config trusts through
//! `[origin] ca`, and leaves for [`HOST`], which is the Host (`--host`) and so the SNI.
mod support;

use serde_json::Value;

use support::assert_took;
use support::diagnose::{
    DiagnoseConfig, Diagnosed, SHORT_MS, SLACK, assert_proxy_agrees, diagnose,
    diagnose_without_config, millis,
};
use support::ms;
use support::origins::Origin;
use support::pki::{TestCa, self_signed};
use support::tls_origins::{HANDSHAKE_FAILURE, RawTlsOrigin, TLS_ORIGIN_BODY, TlsOrigin};

/// The Host asked for, the SNI sent, and the name in the origins' certificates.
const HOST: &str = "site.test";

/// The common name of the CA the configs trust.
const CA_NAME: &str = "Diagnose Test CA";

/// A config for the TLS origin on `port` in `mode`, trusting `ca`.
fn tls_config(port: u16, mode: &str, ca: &TestCa) -> DiagnoseConfig {
    DiagnoseConfig::new(format!("127.0.0.1:{port}"))
        .ssl(mode)
        .origin_file("ca", "origin-ca.pem", &ca.cert_pem())
}

/// Diagnoses `config` for [`HOST`].
async fn diagnose_site(config: &DiagnoseConfig) -> Diagnosed {
    diagnose(config, &["--host", HOST]).await
}

/// Asserts a 526 for `reason` at the TLS stage, with the refused certificate still described
/// (subject, names, dates) in the JSON and the table.
#[track_caller]
fn assert_certificate_refused(d: &Diagnosed, reason: &str, names: &[&str]) {
    d.assert_edge_error("tls", 526, None, reason);
    let all = d.both();
    let tls = &d.stage("tls")["details"];
    assert_eq!(tls["validated"], true, "{all}");
    assert_eq!(tls["trusted"], false, "{all}");
    assert_eq!(tls["untrusted_reason"], reason, "{all}");
    let cert = &tls["certificate"];
    assert!(
        cert["subject"]
            .as_str()
            .is_some_and(|s| s.contains(&format!("CN={}", names[0]))),
        "the refused certificate is still described: {all}"
    );
    assert_eq!(cert["sans"], serde_json::json!(names), "{all}");
    assert!(
        cert["not_after"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{all}"
    );
    assert!(cert["not_before"].is_string(), "{all}");
    let seen = d.row("tls").seen_text();
    assert!(
        seen.contains(&format!("certificate for {}", names.join(", "))),
        "{all}"
    );
    assert!(seen.contains("valid from"), "{all}");
    assert!(seen.contains(reason), "the row says why: {all}");
}

// ---------------------------------------------------------------------------------------------
// A valid certificate
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn valid_certificate_passes_with_what_was_negotiated_and_the_certificate() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue(&[HOST])).await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_origin_answer(200);
    for stage in ["dns", "connect", "tls", "http", "keep_alive"] {
        d.assert_passed(stage);
    }
    let all = d.both();
    let tls = &d.stage("tls")["details"];
    assert_eq!(tls["sni"], HOST, "{all}");
    assert_eq!(tls["validated"], true, "{all}");
    assert_eq!(tls["version"], "TLSv1.3", "{all}");
    assert!(
        tls["cipher_suite"]
            .as_str()
            .is_some_and(|s| s.starts_with("TLS13_")),
        "{all}"
    );
    assert!(tls["key_exchange"].is_string(), "{all}");
    assert_eq!(tls["alpn"], "http/1.1", "{all}");
    assert_eq!(tls["trusted"], true, "{all}");
    assert_eq!(tls["untrusted_reason"], Value::Null, "{all}");
    let cert = &tls["certificate"];
    let subject = cert["subject"].as_str().expect("a subject");
    assert!(subject.contains(&format!("CN={HOST}")), "{all}");
    assert_eq!(cert["sans"], serde_json::json!([HOST]), "{all}");
    let issuer = cert["issuer"].as_str().expect("an issuer");
    assert!(issuer.contains(&format!("CN={CA_NAME}")), "{all}");
    assert!(
        cert["not_before"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "{all}"
    );
    assert!(
        cert["not_after"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{all}"
    );
    let days = cert["days_left"].as_i64().expect("days_left");
    assert!((28..=30).contains(&days), "valid for 30 days: {all}");
    assert_eq!(cert["self_signed"], false, "{all}");
    assert_eq!(cert["chain_length"], 1, "{all}");
    // The same, in the table.
    let seen = d.row("tls").seen_text();
    for needle in [
        "TLSv1.3",
        "ALPN http/1.1",
        &format!("certificate for {HOST}"),
        subject,
        issuer,
        cert["not_after"].as_str().expect("not_after"),
        "trusted",
    ] {
        assert!(seen.contains(needle), "{needle:?} in the tls row: {all}");
    }
    // What was diagnosed: an HTTPS visitor, TLS to the origin, the connection reused.
    let subject = &d.json["subject"];
    assert_eq!(subject["ssl"], "full_strict", "{all}");
    assert_eq!(subject["visitor_scheme"], "https", "{all}");
    assert_eq!(subject["url"], format!("https://{HOST}/"), "{all}");
    assert_eq!(d.stage("keep_alive")["details"]["reused_connection"], true);
    origin.requests_seen(4).await;
    assert_eq!(origin.handshakes().len(), 2, "one handshake per run");
    assert!(
        origin
            .handshakes()
            .iter()
            .all(|h| h.sni.as_deref() == Some(HOST)),
        "{:?}",
        origin.handshakes()
    );
    assert_eq!(
        origin
            .last_request()
            .and_then(|r| r.header("x-forwarded-proto").map(str::to_owned)),
        Some("https".to_owned())
    );
}

#[tokio::test]
async fn sni_from_the_config_names_the_certificate_checked() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue(&[HOST])).await;
    let config = tls_config(origin.port(), "full_strict", &ca).origin("sni", &format!("{HOST:?}"));

    let d = diagnose(&config, &[]).await;

    d.assert_origin_answer(200);
    assert_eq!(d.stage("tls")["details"]["sni"], HOST, "{}", d.both());
    assert_eq!(d.json["subject"]["host"], "127.0.0.1");
}

#[tokio::test]
async fn tls_port_from_the_config_is_the_port_dialled() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue(&[HOST])).await;
    let plain = Origin::refusing().await;
    let config = tls_config(plain.addr().port(), "full_strict", &ca)
        .origin("tls_port", &origin.port().to_string());

    let d = diagnose_site(&config).await;

    d.assert_origin_answer(200);
    assert_eq!(
        d.json["subject"]["origin"],
        format!("127.0.0.1:{}", origin.port()),
        "{}",
        d.both()
    );
}

#[tokio::test]
async fn https_url_without_a_config_is_checked_as_full_strict() {
    // The test CA is in no system store: Full (strict) refuses the certificate as untrusted.
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue(&[HOST])).await;
    let url = format!("https://127.0.0.1:{}/status", origin.port());

    let d = diagnose_without_config(&[&url, "--host", HOST]).await;

    assert_certificate_refused(&d, "untrusted", &[HOST]);
    let subject = &d.json["subject"];
    assert_eq!(subject["ssl"], "full_strict", "{}", d.both());
    assert_eq!(subject["visitor_scheme"], "https", "{}", d.both());
    assert_eq!(subject["path"], "/status", "{}", d.both());
}

// ---------------------------------------------------------------------------------------------
// 526: certificates Full (strict) refuses
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn expired_certificate_fails_the_tls_stage_with_526_expired() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue_expired(&[HOST])).await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    assert_certificate_refused(&d, "expired", &[HOST]);
    let days = d.stage("tls")["details"]["certificate"]["days_left"]
        .as_i64()
        .expect("days_left");
    assert!(days < 0, "expired two days ago: {days}");
    assert!(d.row("tls").seen_text().contains("expired"), "{}", d.both());
}

#[tokio::test]
async fn not_yet_valid_certificate_fails_the_tls_stage_with_526_not_yet_valid() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue_not_yet_valid(&[HOST])).await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    assert_certificate_refused(&d, "not_yet_valid", &[HOST]);
}

#[tokio::test]
async fn self_signed_certificate_fails_the_tls_stage_with_526_self_signed() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&self_signed(&[HOST])).await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    assert_certificate_refused(&d, "self_signed", &[HOST]);
    assert_eq!(
        d.stage("tls")["details"]["certificate"]["self_signed"],
        true,
        "{}",
        d.both()
    );
}

#[tokio::test]
async fn certificate_from_an_unknown_ca_fails_the_tls_stage_with_526_untrusted() {
    let trusted = TestCa::new(CA_NAME);
    let other = TestCa::new("Some Other CA");
    let origin = TlsOrigin::ok(&other.issue(&[HOST])).await;
    let config = tls_config(origin.port(), "full_strict", &trusted);

    let d = diagnose_site(&config).await;

    assert_certificate_refused(&d, "untrusted", &[HOST]);
    let issuer = d.stage("tls")["details"]["certificate"]["issuer"].clone();
    assert!(
        issuer.as_str().is_some_and(|i| i.contains("Some Other CA")),
        "{}",
        d.both()
    );
}

#[tokio::test]
async fn certificate_for_another_name_fails_the_tls_stage_with_526_name_mismatch() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue(&["other.test"])).await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    assert_certificate_refused(&d, "name_mismatch", &["other.test"]);
}

#[tokio::test]
async fn revoked_certificate_fails_the_tls_stage_with_526_revoked() {
    let ca = TestCa::new(CA_NAME);
    let leaf = ca.issue(&[HOST]);
    let crl = ca.crl_pem(&[&leaf]);
    let origin = TlsOrigin::ok(&leaf).await;
    let config =
        tls_config(origin.port(), "full_strict", &ca).origin_file("crl", "origin-crl.pem", &crl);

    let d = diagnose_site(&config).await;

    assert_certificate_refused(&d, "revoked", &[HOST]);
}

#[tokio::test]
async fn ssl_flag_overrides_the_configs_mode() {
    // The config says full; --ssl full_strict checks the certificate.
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue_expired(&[HOST])).await;
    let config = tls_config(origin.port(), "full", &ca);

    let d = diagnose(&config, &["--host", HOST, "--ssl", "full_strict"]).await;

    assert_certificate_refused(&d, "expired", &[HOST]);
    assert_eq!(d.json["subject"]["ssl"], "full_strict");
}

// ---------------------------------------------------------------------------------------------
// Full: any certificate is accepted, and what Full (strict) would say is shown
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn full_accepts_a_self_signed_certificate_and_says_strict_would_not() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&self_signed(&[HOST])).await;
    let config = tls_config(origin.port(), "full", &ca);

    let d = diagnose_site(&config).await;

    d.assert_origin_answer(200);
    assert_ne!(d.result("tls"), "failed");
    let all = d.both();
    let tls = &d.stage("tls")["details"];
    assert_eq!(tls["validated"], false, "{all}");
    assert_eq!(tls["trusted"], false, "{all}");
    assert_eq!(tls["untrusted_reason"], "self_signed", "{all}");
    assert_eq!(tls["certificate"]["self_signed"], true, "{all}");
    let seen = d.row("tls").seen_text();
    assert!(seen.contains("self_signed"), "{all}");
    assert!(seen.contains("full_strict"), "{all}");
    assert_eq!(d.json["subject"]["ssl"], "full");
}

#[tokio::test]
async fn full_with_a_valid_certificate_says_strict_would_accept_it_too() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue(&[HOST])).await;
    let config = tls_config(origin.port(), "full", &ca);

    let d = diagnose_site(&config).await;

    d.assert_origin_answer(200);
    let tls = &d.stage("tls")["details"];
    assert_eq!(tls["validated"], false, "{}", d.both());
    assert_eq!(tls["trusted"], true, "{}", d.both());
    assert_eq!(tls["untrusted_reason"], Value::Null, "{}", d.both());
}

#[tokio::test]
async fn certificate_expiring_within_two_weeks_is_a_warning_in_a_validating_mode() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue_expiring_in(&[HOST], 5)).await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_origin_answer(200);
    d.assert_warning("tls");
    let all = d.both();
    let days = d.stage("tls")["details"]["certificate"]["days_left"]
        .as_i64()
        .expect("days_left");
    assert!((4..=5).contains(&days), "{days}: {all}");
    let check = d.stage("tls")["check"].as_array().expect("a check list");
    assert!(
        check
            .iter()
            .filter_map(Value::as_str)
            .any(|line| line.contains(&format!("expires in {days} days"))),
        "{all}"
    );
}

#[tokio::test]
async fn certificate_expiring_soon_is_no_warning_in_full_which_does_not_check_it() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue_expiring_in(&[HOST], 5)).await;
    let config = tls_config(origin.port(), "full", &ca);

    let d = diagnose_site(&config).await;

    d.assert_origin_answer(200);
    d.assert_passed("tls");
}

// ---------------------------------------------------------------------------------------------
// 525: handshakes that fail
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn origin_closing_after_the_hello_fails_the_tls_stage_with_525_handshake_closed() {
    let ca = TestCa::new(CA_NAME);
    let origin = RawTlsOrigin::closes_after_hello().await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_edge_error("tls", 525, None, "handshake_closed");
}

#[tokio::test]
async fn origin_resetting_after_the_hello_fails_the_tls_stage_with_525_handshake_reset() {
    let ca = TestCa::new(CA_NAME);
    let origin = RawTlsOrigin::resets_after_hello().await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_edge_error("tls", 525, None, "handshake_reset");
}

#[tokio::test]
async fn origin_alert_fails_the_tls_stage_with_525_and_the_alert() {
    let ca = TestCa::new(CA_NAME);
    let origin = RawTlsOrigin::alert(HANDSHAKE_FAILURE).await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_edge_error("tls", 525, None, "alert:handshake_failure");
}

#[tokio::test]
async fn bytes_that_are_not_tls_fail_the_tls_stage_with_525_no_tls() {
    let ca = TestCa::new(CA_NAME);
    let origin = RawTlsOrigin::garbage().await;
    let config = tls_config(origin.port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_edge_error("tls", 525, None, "no_tls");
}

#[tokio::test]
async fn plain_http_origin_on_the_tls_port_fails_the_tls_stage_with_525_no_tls() {
    let ca = TestCa::new(CA_NAME);
    let origin = Origin::ok("plain HTTP, not TLS").await;
    let config = tls_config(origin.addr().port(), "full_strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_edge_error("tls", 525, None, "no_tls");
    assert!(
        d.stage("tls")["details"]["certificate"].is_null(),
        "no certificate without TLS: {}",
        d.both()
    );
}

#[tokio::test]
async fn silent_tls_origin_fails_the_tls_stage_with_525_after_the_connect_timeout() {
    let ca = TestCa::new(CA_NAME);
    let origin = RawTlsOrigin::silent().await;
    let config = tls_config(origin.port(), "full_strict", &ca).connect_ms(SHORT_MS);

    let d = diagnose_site(&config).await;

    d.assert_edge_error("tls", 525, None, "handshake_timeout");
    d.assert_passed("connect");
    assert_took(millis(&d.stage("tls")["ms"]), ms(SHORT_MS), SLACK);
}

// ---------------------------------------------------------------------------------------------
// The proxy agrees (Strict: TLS to the origin for a plain HTTP visitor too)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn strict_with_a_valid_certificate_agrees_with_the_proxy() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue(&[HOST])).await;
    let config = tls_config(origin.port(), "strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_origin_answer(200);
    d.assert_passed("tls");
    let res = assert_proxy_agrees(&config, HOST, "/", &d).await;
    assert_eq!(res.text(), TLS_ORIGIN_BODY);
}

#[tokio::test]
async fn strict_with_an_expired_certificate_agrees_with_the_proxy() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue_expired(&[HOST])).await;
    let config = tls_config(origin.port(), "strict", &ca);

    let d = diagnose_site(&config).await;

    assert_certificate_refused(&d, "expired", &[HOST]);
    assert_proxy_agrees(&config, HOST, "/", &d).await;
}

#[tokio::test]
async fn strict_with_a_wrong_name_agrees_with_the_proxy() {
    let ca = TestCa::new(CA_NAME);
    let origin = TlsOrigin::ok(&ca.issue(&["other.test"])).await;
    let config = tls_config(origin.port(), "strict", &ca);

    let d = diagnose_site(&config).await;

    assert_certificate_refused(&d, "name_mismatch", &["other.test"]);
    assert_proxy_agrees(&config, HOST, "/", &d).await;
}

#[tokio::test]
async fn strict_with_plain_http_on_the_tls_port_agrees_with_the_proxy() {
    let ca = TestCa::new(CA_NAME);
    let origin = Origin::ok("plain HTTP, not TLS").await;
    let config = tls_config(origin.addr().port(), "strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_edge_error("tls", 525, None, "no_tls");
    assert_proxy_agrees(&config, HOST, "/", &d).await;
}

#[tokio::test]
async fn strict_with_an_alert_agrees_with_the_proxy() {
    let ca = TestCa::new(CA_NAME);
    let origin = RawTlsOrigin::alert(HANDSHAKE_FAILURE).await;
    let config = tls_config(origin.port(), "strict", &ca);

    let d = diagnose_site(&config).await;

    d.assert_edge_error("tls", 525, None, "alert:handshake_failure");
    assert_proxy_agrees(&config, HOST, "/", &d).await;
}
