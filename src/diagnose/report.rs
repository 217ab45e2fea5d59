//! [`Diagnosis`]: what one `edgecase diagnose` run found, as one value. The table, the JSON
//! document and the bundle are all made from it, so they cannot disagree. This module owns
//! its shape (which is also the JSON's: docs/diagnose.md documents it); the walk fills it in.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::record::finished::Finished;

/// The stages the edge walks to answer a request, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    /// Resolving the origin's name (530 with error 1016).
    Dns,
    /// The TCP connection, to each address in turn (521, 522, 523).
    Connect,
    /// TLS to the origin, when the SSL mode uses it (525, 526).
    Tls,
    /// The request and the whole response (520, 522, 524, the origin's 502/504).
    Http,
    /// A second request on the same connection.
    KeepAlive,
}

impl StageName {
    /// Every stage, in the order the edge walks them.
    pub const ALL: [StageName; 5] = [
        StageName::Dns,
        StageName::Connect,
        StageName::Tls,
        StageName::Http,
        StageName::KeepAlive,
    ];

    /// The name in the table: `dns`, `connect`, `tls`, `http`, `keep-alive`.
    pub fn label(self) -> &'static str {
        match self {
            StageName::Dns => "dns",
            StageName::Connect => "connect",
            StageName::Tls => "tls",
            StageName::Http => "http",
            StageName::KeepAlive => "keep-alive",
        }
    }
}

/// How a stage went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing to report.
    Passed,
    /// A visitor still gets the origin's answer, but something needs looking at.
    Warning,
    /// A visitor would not get the origin's answer.
    Failed,
    /// Not run: an earlier stage failed, or the SSL mode does not use it.
    Skipped,
}

impl Outcome {
    /// The mark in the table: ✓, ⚠, ✗ or –.
    pub fn mark(self) -> &'static str {
        match self {
            Outcome::Passed => "✓",
            Outcome::Warning => "⚠",
            Outcome::Failed => "✗",
            Outcome::Skipped => "–",
        }
    }
}

/// What a failed stage means for a visitor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageFailure {
    /// The status the visitor would get.
    pub status: u16,
    /// The 1xxx error shown with a 530.
    pub code: Option<u16>,
    /// The failure's stable tag, as in the access log's `EdgecaseCause` (`refused`...).
    pub cause: &'static str,
    /// What went wrong, in a sentence, with its source.
    pub error: String,
    /// The origin's answer had started (`status` is the origin's) when its body broke off.
    pub cut_short: bool,
}

/// One stage's row.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    /// Which stage.
    pub stage: StageName,
    /// How it went.
    pub result: Outcome,
    /// How long it took, in milliseconds; `None` when skipped.
    #[serde(serialize_with = "millis")]
    pub ms: Option<Duration>,
    /// What was seen, one fact per line, most important first.
    pub seen: Vec<String>,
    /// For a failure: what the visitor would get and why.
    pub failure: Option<StageFailure>,
    /// What to check, for a failure or a warning; most likely cause first.
    pub check: Vec<String>,
    /// The stage's facts, for scripts.
    pub details: Details,
}

impl Stage {
    /// A stage that did not run, with why.
    pub fn skipped(stage: StageName, why: impl Into<String>) -> Stage {
        Stage {
            stage,
            result: Outcome::Skipped,
            ms: None,
            seen: vec![why.into()],
            failure: None,
            check: Vec::new(),
            details: Details::None,
        }
    }
}

/// The facts of one stage, by stage.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Details {
    /// Name resolution.
    Dns(DnsDetails),
    /// TCP connection.
    Connect(ConnectDetails),
    /// TLS handshake.
    Tls(Box<TlsDetails>),
    /// A request and its response (the first, and the keep-alive one).
    Http(HttpDetails),
    /// Nothing (a skipped stage).
    None,
}

/// What name resolution found.
#[derive(Clone, Debug, Serialize)]
pub struct DnsDetails {
    /// The name (or IP literal) resolved.
    pub name: String,
    /// `literal` (no lookup), `static` (`[dns] hosts`) or `system`; `None` when it failed.
    pub source: Option<&'static str>,
    /// Every address, in the order the edge tries them.
    pub addresses: Vec<String>,
}

/// What connecting found.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectDetails {
    /// The address the edge's connection went to, when one accepted.
    pub connected: Option<String>,
    /// Each resolved address and what came of connecting to it.
    pub addresses: Vec<AddressAttempt>,
}

/// One address's connect attempt.
#[derive(Clone, Debug, Serialize)]
pub struct AddressAttempt {
    /// `ip:port`.
    pub address: String,
    /// `connected`, or the failure's tag (`refused`, `connect_timeout`, `unreachable`...).
    pub outcome: String,
    /// The status a failure here means (521, 522, 523); `None` when connected.
    pub status: Option<u16>,
    /// How long the attempt took.
    #[serde(serialize_with = "millis")]
    pub ms: Option<Duration>,
    /// Whether the edge's own connect reached this address (`false`: an earlier address
    /// answered, or the connect timeout ran out first, and it was checked on the side).
    pub tried_by_edge: bool,
}

/// What the TLS handshake found.
#[derive(Clone, Debug, Serialize)]
pub struct TlsDetails {
    /// The name sent as SNI and checked against the certificate.
    pub sni: String,
    /// Whether the SSL mode validates the certificate (`full_strict`, `strict`).
    pub validated: bool,
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: Option<&'static str>,
    /// The cipher suite, by its IANA name.
    pub cipher_suite: Option<String>,
    /// The key-exchange group.
    pub key_exchange: Option<String>,
    /// The application protocol agreed by ALPN; `None` when the origin chose none.
    pub alpn: Option<String>,
    /// The origin's certificate, when one was seen.
    pub certificate: Option<CertificateDetails>,
    /// Whether the certificate chains to a trusted root and is valid for the name: checked
    /// whatever the mode, so Full shows what Full (strict) would say.
    pub trusted: Option<bool>,
    /// Why the certificate is not trusted (a 526 reason: `expired`, `self_signed`...).
    pub untrusted_reason: Option<&'static str>,
}

/// The origin's leaf certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateDetails {
    /// The subject, as a distinguished name.
    pub subject: String,
    /// The DNS names and IP addresses it is valid for.
    pub sans: Vec<String>,
    /// The issuer, as a distinguished name.
    pub issuer: String,
    /// Start of validity, RFC 3339 (UTC).
    pub not_before: String,
    /// End of validity, RFC 3339 (UTC).
    pub not_after: String,
    /// Whole days from now to `not_after` (negative once expired).
    pub days_left: i64,
    /// Whole days from now to `not_before` when that is still to come (not valid yet).
    pub days_until_valid: Option<i64>,
    /// Whether the issuer is the subject itself.
    pub self_signed: bool,
    /// How many certificates the origin sent (leaf included).
    pub chain_length: usize,
}

/// One request and its response.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HttpDetails {
    /// The request line as sent: `GET /path HTTP/1.1`.
    pub request: String,
    /// This request's ray ID (the `cf-ray` the origin got).
    pub ray: String,
    /// Whether the request went on a connection that had already carried one.
    pub reused_connection: bool,
    /// The origin's status, when it answered with a response head.
    pub status: Option<u16>,
    /// From the request being sent to the response head.
    #[serde(serialize_with = "millis")]
    pub time_to_first_byte_ms: Option<Duration>,
    /// `timeouts.read`, the most the edge waits for the head (524 past it).
    #[serde(serialize_with = "millis")]
    pub read_timeout_ms: Option<Duration>,
    /// The response head's size in bytes, status line to blank line.
    pub head_bytes: Option<usize>,
    /// `limits.origin_header_bytes` (520 past it).
    pub head_limit: usize,
    /// Response body bytes received.
    pub body_bytes: Option<u64>,
    /// Whether the body arrived whole.
    pub body_complete: Option<bool>,
    /// The origin's `connection` header, if any (`close` turns keep-alive off).
    pub connection: Option<String>,
}

/// What a visitor would get, all stages considered.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Whether a visitor would get the origin's complete answer (exit status 0).
    pub origin_answer: bool,
    /// The status the visitor would get.
    pub status: u16,
    /// The 1xxx error shown with a 530.
    pub code: Option<u16>,
    /// The status's title (`Web server is down`), or the origin's reason phrase.
    pub title: String,
    /// The failure's tag, when the edge answered instead of the origin.
    pub cause: Option<&'static str>,
    /// The stage that failed.
    pub stage: Option<StageName>,
    /// The origin's answer reached the visitor, but its body broke off (`cause` says how).
    pub cut_short: bool,
    /// How many stages warned.
    pub warnings: usize,
}

/// What was diagnosed, as the edge would see it.
#[derive(Clone, Debug, Serialize)]
pub struct Subject {
    /// The URL a visitor would ask for: the visitor's scheme, the Host, the path.
    pub url: String,
    /// The origin dialled, `host:port` (before resolution; the TLS port when TLS is used).
    pub origin: String,
    /// The Host, without port.
    pub host: String,
    /// The path and query.
    pub path: String,
    /// The SSL/TLS mode.
    pub ssl: String,
    /// `http` or `https`: how the visitor is taken to arrive.
    pub visitor_scheme: &'static str,
    /// The index of the `[[route]]` that matched (from 0), when one did.
    pub route: Option<usize>,
    /// The timeouts in force, in milliseconds.
    pub timeouts_ms: TimeoutsMs,
    /// `limits.origin_header_bytes`.
    pub origin_header_bytes: usize,
    /// Whether a Railgun listener sits in front of the origin (origin-link failures are 527).
    pub railgun: bool,
}

/// The timeouts, in milliseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TimeoutsMs {
    /// `timeouts.connect`.
    pub connect: u64,
    /// `timeouts.ack`.
    pub ack: u64,
    /// `timeouts.write`.
    pub write: u64,
    /// `timeouts.read` (Railgun's `lan_timeout` when set).
    pub read: u64,
}

/// One `edgecase diagnose` run.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    /// The edgecase version that ran it.
    pub edgecase: &'static str,
    /// When it started, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// The first request's ray ID (`cf-ray`).
    pub ray: String,
    /// What was diagnosed.
    pub subject: Subject,
    /// What a visitor would get.
    pub verdict: Verdict,
    /// Every stage, in order, run or not.
    pub stages: Vec<Stage>,
    /// The requests as the edge's records, for the bundle's HAR (not in the JSON).
    #[serde(skip)]
    pub exchanges: Vec<Finished>,
    /// When it started (`time`, as an instant).
    #[serde(skip)]
    pub at: SystemTime,
    /// What `/cdn-cgi/trace` would show for the first request (not in the JSON).
    #[serde(skip)]
    pub trace: String,
}

impl Diagnosis {
    /// The process exit status: 0 when a visitor gets the origin's answer, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.verdict.origin_answer { 0 } else { 1 }
    }

    /// The stage named `name`.
    pub fn stage(&self, name: StageName) -> Option<&Stage> {
        self.stages.iter().find(|s| s.stage == name)
    }

    /// The report as one pretty-printed JSON document.
    pub fn to_json(&self) -> String {
        // Every field is a plain string, number, bool or list of those: this cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// A duration as fractional milliseconds (three decimals), or null.
fn millis<S: serde::Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3),
        None => s.serialize_none(),
    }
}
