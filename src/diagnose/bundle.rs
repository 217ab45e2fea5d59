//! `--bundle DIR`: what Cloudflare's support article asks a site owner to send, written as
//! files: a summary (the error code and message, the time with its time zone, the URL, the
//! ray ID), the `/cdn-cgi/trace` output, a HAR of the exchange and the JSON report.

use std::fmt::Write;
use std::io;
use std::path::{Path, PathBuf};

use super::report::{Diagnosis, Outcome};
use super::table;
use crate::base::time::UtcTimestamp;
use crate::capture::Redaction;

/// The summary, for people.
pub const SUMMARY: &str = "summary.txt";
/// What `/cdn-cgi/trace` would show for the diagnosed request.
pub const TRACE: &str = "trace.txt";
/// The requests as a HAR 1.2 document.
pub const HAR: &str = "diagnose.har";
/// The report, as `--json` prints it.
pub const REPORT: &str = "report.json";

/// Every file of a bundle, in the order written.
pub const FILES: [&str; 4] = [SUMMARY, TRACE, HAR, REPORT];

/// Why a bundle cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The directory cannot be created or written.
    #[error("cannot write into {dir}: {source}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A bundle (or another file of the same name) is already there.
    #[error(
        "{0} already exists; choose another --bundle directory (a bundle is never overwritten)"
    )]
    Exists(PathBuf),
}

/// Makes `dir` ready for a bundle before the diagnosis runs: created if missing, and holding
/// none of the bundle's files (a previous bundle is evidence, never overwritten).
pub fn prepare(dir: &Path) -> Result<(), BundleError> {
    let io = |source| BundleError::Io {
        dir: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    match FILES.iter().map(|name| dir.join(name)).find(|p| p.exists()) {
        Some(existing) => Err(BundleError::Exists(existing)),
        None => Ok(()),
    }
}

/// Writes the bundle for `diagnosis` into `dir`, its HAR sanitized by `sanitize` when given
/// (`[capture] sanitize`); returns the files written.
pub fn write(
    dir: &Path,
    diagnosis: &Diagnosis,
    sanitize: Option<&Redaction>,
) -> Result<Vec<PathBuf>, BundleError> {
    let har = crate::capture::shared(
        diagnosis
            .exchanges
            .iter()
            .map(crate::capture::entry)
            .collect(),
        sanitize,
    );
    let har = serde_json::to_string_pretty(&har).map_err(|e| BundleError::Io {
        dir: dir.to_owned(),
        source: io::Error::other(e),
    })?;
    let contents = [
        (SUMMARY, summary(diagnosis)),
        (TRACE, diagnosis.trace.clone()),
        (HAR, har),
        (REPORT, diagnosis.to_json()),
    ];
    let mut written = Vec::new();
    for (name, text) in contents {
        let path = dir.join(name);
        // create_new: a file that appeared since `prepare` is not overwritten either.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => BundleError::Exists(path.clone()),
                _ => BundleError::Io {
                    dir: dir.to_owned(),
                    source,
                },
            })?;
        io::Write::write_all(&mut file, text.as_bytes()).map_err(|source| BundleError::Io {
            dir: dir.to_owned(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// The summary: what the article lists, then the stages and what to check.
pub fn summary(diagnosis: &Diagnosis) -> String {
    let verdict = &diagnosis.verdict;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "edgecase diagnose: what to send to your host or support\n"
    );
    let error = if verdict.origin_answer {
        format!(
            "none: a visitor gets the origin's answer, {} {}",
            verdict.status, verdict.title
        )
    } else {
        let code = verdict
            .code
            .map(|c| format!(" (error {c})"))
            .unwrap_or_default();
        let cut_short = if verdict.cut_short {
            " from the origin, its body cut short"
        } else {
            ""
        };
        format!("{} {}{code}{cut_short}", verdict.status, verdict.title)
    };
    let failure = diagnosis
        .stages
        .iter()
        .find(|s| s.result == Outcome::Failed)
        .and_then(|s| s.failure.as_ref());
    let at = UtcTimestamp(diagnosis.at);
    let rows = [
        ("Error", error),
        (
            "Message",
            failure.map_or_else(|| "-".to_owned(), |f| f.error.clone()),
        ),
        (
            "Cause",
            verdict
                .cause
                .map_or_else(|| "-".to_owned(), |c| c.to_owned()),
        ),
        ("Time", format!("{at} ({})", diagnosis.time)),
        ("URL", diagnosis.subject.url.clone()),
        ("Ray ID", diagnosis.ray.clone()),
        (
            "Origin",
            format!(
                "{} (SSL mode {})",
                diagnosis.subject.origin, diagnosis.subject.ssl
            ),
        ),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "{:<9}{value}", format!("{name}:"));
    }
    let _ = writeln!(out, "\n{}", table::render(diagnosis));
    let _ = writeln!(out, "Files in this bundle:");
    let _ = writeln!(out, "  {SUMMARY:<14}this summary");
    let _ = writeln!(
        out,
        "  {TRACE:<14}what /cdn-cgi/trace shows for the request (its ray ID, time, colo)"
    );
    let _ = writeln!(
        out,
        "  {HAR:<14}the request(s) as a HAR 1.2 file, as the edge saw them"
    );
    let _ = writeln!(
        out,
        "  {REPORT:<14}the whole report as JSON (edgecase diagnose --json)"
    );
    out
}
