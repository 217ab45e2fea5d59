//! The HAR 1.2 format (<http://www.softwareishard.com/blog/har-12-spec/>) as serde types, with
//! the spec's member names. This module owns the shape of a HAR document only: what goes into
//! an entry is [`super::entry`], and the file on disk is [`super::file`].
//!
//! Optional members are `None` and left out when absent. Members the spec lists as optional
//! stay optional when reading, so a HAR file written by a browser parses too; members a browser
//! adds (`_initiator`, `sameSite`...) are ignored when reading.

use serde::{Deserialize, Serialize};

/// The version of the format this module writes.
pub const HAR_VERSION: &str = "1.2";

/// A HAR document: the root object, holding one [`Log`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Har {
    /// The log.
    pub log: Log,
}

/// The exported data.
///
/// `entries` is declared last so that it is the last member written: an appender can then add
/// entries before the closing `]}}` of the document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Log {
    /// The format version, `"1.2"`.
    pub version: String,
    /// The application that wrote the log.
    pub creator: Creator,
    /// The browser that made the requests, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<Creator>,
    /// The pages the entries belong to, when grouped by page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<Vec<Page>>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// One entry per request, oldest first.
    pub entries: Vec<Entry>,
}

/// The application (`creator`) or browser (`browser`) behind a log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Creator {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One page that entries can refer to (`pageref`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// When the page load started (ISO 8601).
    pub started_date_time: String,
    /// The page's identifier, unique within the log.
    pub id: String,
    /// The page title.
    pub title: String,
    /// When the page's load events fired.
    pub page_timings: PageTimings,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// When a page's load events fired, in milliseconds since its `startedDateTime` (-1: unknown).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageTimings {
    /// When the content was loaded (`DOMContentLoaded`), in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_content_load: Option<f64>,
    /// When the page was loaded (`load`), in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_load: Option<f64>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One request and its response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The page this request belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pageref: Option<String>,
    /// When the request started (ISO 8601 with milliseconds, `2026-11-24T10:00:00.123Z`).
    pub started_date_time: String,
    /// The request's total time in ms: the sum of the [`Timings`] that apply (not `ssl`).
    pub time: f64,
    /// The request.
    pub request: Request,
    /// The response.
    pub response: Response,
    /// Cache use (edgecase has no cache: always empty).
    pub cache: Cache,
    /// How the time was spent.
    pub timings: Timings,
    /// The IP address of the server the request went to (no port).
    #[serde(
        rename = "serverIPAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_ip_address: Option<String>,
    /// Which connection carried the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// edgecase's ray ID for the request (custom member).
    #[serde(rename = "_cfRay", default, skip_serializing_if = "Option::is_none")]
    pub cf_ray: Option<String>,
    /// Why edgecase answered instead of the origin, or how the response broke off (custom
    /// member).
    #[serde(
        rename = "_edgecaseCause",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub edgecase_cause: Option<String>,
    /// The origin's status, when it answered with an HTTP response (custom member).
    #[serde(
        rename = "_originStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub origin_status: Option<u16>,
    /// The Toxiproxy name of the proxy that served it (custom member).
    #[serde(
        rename = "_edgecaseProxy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub edgecase_proxy: Option<String>,
    /// The scenario running when the request arrived (custom member).
    #[serde(
        rename = "_edgecaseScenario",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub edgecase_scenario: Option<String>,
    /// The phase of that scenario the request arrived in (custom member).
    #[serde(
        rename = "_edgecasePhase",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub edgecase_phase: Option<String>,
}

/// A request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The method (`GET`).
    pub method: String,
    /// The absolute URL (fragments excluded).
    pub url: String,
    /// The HTTP version (`HTTP/1.1`).
    pub http_version: String,
    /// The cookies sent.
    pub cookies: Vec<Cookie>,
    /// The headers sent.
    pub headers: Vec<Header>,
    /// The query string's parameters.
    pub query_string: Vec<QueryParam>,
    /// The posted data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_data: Option<PostData>,
    /// Bytes from the start of the request to the body, -1 when unknown.
    pub headers_size: i64,
    /// Bytes of the request body, -1 when unknown.
    pub body_size: i64,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The status description.
    pub status_text: String,
    /// The HTTP version (`HTTP/1.1`).
    pub http_version: String,
    /// The cookies set.
    pub cookies: Vec<Cookie>,
    /// The headers received.
    pub headers: Vec<Header>,
    /// The body.
    pub content: Content,
    /// The `Location` header's target, or empty.
    #[serde(rename = "redirectURL")]
    pub redirect_url: String,
    /// Bytes from the start of the response to the body, -1 when unknown.
    pub headers_size: i64,
    /// Bytes of the response body, -1 when unknown.
    pub body_size: i64,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A cookie.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cookie {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Its path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Its domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// When it expires (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Whether it is HTTP only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_only: Option<bool>,
    /// Whether it is sent over TLS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A query string parameter, as it appears in the URL (not percent-decoded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryParam {
    /// Its name.
    pub name: String,
    /// Its value (empty when the parameter has no `=`).
    pub value: String,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A request body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    /// Its media type (the request's `Content-Type`).
    pub mime_type: String,
    /// Its parameters, for a URL-encoded or multipart body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<Param>>,
    /// The body as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A posted parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The name of a posted file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The media type of a posted file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A response body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    /// Bytes of the body (after decoding any content encoding).
    pub size: i64,
    /// Bytes saved by compression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<i64>,
    /// Its media type (the response's `Content-Type`), or empty.
    pub mime_type: String,
    /// The body, as text or encoded as `encoding` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// How `text` is encoded (`base64`); absent for plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Cache use for a request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cache {
    /// The cache entry before the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_request: Option<CacheState>,
    /// The cache entry after the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_request: Option<CacheState>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A cache entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheState {
    /// When it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// When it was last used.
    pub last_access: String,
    /// Its ETag.
    pub e_tag: String,
    /// How many times it was used.
    pub hit_count: i64,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// How a request's time was spent, in milliseconds; -1 where a phase does not apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Waiting for a connection to be available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<f64>,
    /// Resolving the host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<f64>,
    /// Opening the connection, TLS handshake included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<f64>,
    /// Sending the request.
    pub send: f64,
    /// Waiting for the response head.
    pub wait: f64,
    /// Receiving the response body.
    pub receive: f64,
    /// The TLS handshake (already counted in `connect`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl: Option<f64>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A HAR document written by edgecase, holding `entries`.
pub fn document(entries: Vec<Entry>) -> Har {
    Har {
        log: Log {
            version: HAR_VERSION.to_owned(),
            creator: Creator {
                name: "edgecase".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                comment: None,
            },
            browser: None,
            pages: None,
            comment: None,
            entries,
        },
    }
}
