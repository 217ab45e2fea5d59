//! The observability settings: `[log]`, `[analytics]`, `[capture]` and `[pages]`. They say
//! where each record of a finished request goes; `crate::observe` does the writing.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::pages::CustomPages;
use crate::config::{Access, LogFormat, StatusFilter, Timestamps};

/// How many access log lines may wait for the writer before new ones are dropped.
pub const DEFAULT_LOG_QUEUE: usize = 16_384;
/// The most of a request or response body a HAR entry keeps: 64 KiB.
pub const DEFAULT_CAPTURE_BODY_BYTES: usize = 64 * 1024;
/// The largest `[capture] body_bytes` accepted: 16 MiB.
pub const MAX_CAPTURE_BODY_BYTES: usize = 16 * 1024 * 1024;

/// `[log]`: the access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// `text` (default) or `json` (Logpush field names).
    pub format: LogFormat,
    /// `stdout` (default), `off`, or a file path (appended to).
    pub access: Access,
    /// How JSON lines write their timestamps: Logpush's `unixnano` (default), `unix`,
    /// `rfc3339`.
    pub timestamps: Timestamps,
    /// Lines waiting for the writer before new ones are dropped (and counted).
    pub queue: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            access: Access::Stdout,
            timestamps: Timestamps::UnixNano,
            queue: DEFAULT_LOG_QUEUE,
        }
    }
}

/// `[analytics]`: the Error Analytics page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnalyticsConfig {
    /// The fraction of requests counted, in (0, 1]. 1.0 by default; Cloudflare samples ~1%.
    pub sample: f64,
}

impl Eq for AnalyticsConfig {}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig { sample: 1.0 }
    }
}

/// `[capture]`: HAR capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureConfig {
    /// The HAR file matching exchanges are appended to; `None`: no file (`GET /har` still
    /// works from the recent requests).
    pub har: Option<PathBuf>,
    /// Which statuses are captured: `["5xx"]` by default.
    pub statuses: Vec<StatusFilter>,
    /// The most of each body kept.
    pub body_bytes: usize,
    /// What every HAR edgecase writes (`GET /har`, the file, a diagnose bundle) has blanked:
    /// the built-in credential names plus these. `None`: `sanitize = false`, everything kept
    /// in clear.
    pub sanitize: Option<Redact>,
}

/// The names `[capture]` adds to the built-in credential names, as written in the config
/// (capture lowercases and merges them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redact {
    /// `redact_headers`: more header names.
    pub headers: Vec<String>,
    /// `redact_query`: more query parameters (and form or JSON body fields).
    pub fields: Vec<String>,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            har: None,
            statuses: vec![StatusFilter::Class(5)],
            body_bytes: DEFAULT_CAPTURE_BODY_BYTES,
            sanitize: Some(Redact::default()),
        }
    }
}

impl CaptureConfig {
    /// Whether a response with `status` is captured.
    pub fn wants(&self, status: u16) -> bool {
        self.statuses.iter().any(|filter| filter.admits(status))
    }
}

/// `[pages] dir`: the customer's error page templates, loaded and checked.
#[derive(Clone, Debug)]
pub struct PagesConfig {
    /// The directory they came from.
    pub dir: PathBuf,
    /// The templates.
    pub pages: Arc<CustomPages>,
}

impl PartialEq for PagesConfig {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir
    }
}

impl Eq for PagesConfig {}
