//! Reloading the config file while edgecase runs (`SIGHUP`, `POST /reload`): the new file is
//! read and checked as at start; if it is valid it applies to requests that start afterwards
//! (routes, timeouts, limits, pages, `[[fault]]` rules), while requests in flight finish on the
//! config they started with. An invalid file changes nothing and its problems are logged.
//!
//! What was bound or opened at start stays: the listen addresses, the HTTPS certificate, the
//! control API's address and token, the access log and HAR files, analytics sampling, and the
//! visitor connection settings (header timeout, h2 streams, `max_connections`). A reload that
//! changes them says so and keeps the old ones.

use std::path::PathBuf;

use tracing::{info, warn};

use super::EdgeState;
use crate::config::{Config, ConfigError, Overrides};

/// Where a reload reads the config from: the file and the command-line flags over it.
#[derive(Clone, Debug)]
pub struct Source {
    /// The config file.
    pub path: PathBuf,
    /// `--listen`, `--origin`, `--admin`, applied over the file as at start.
    pub overrides: Overrides,
}

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// edgecase was started without a config file.
    #[error("edgecase was started without --config: there is no file to reload")]
    NoFile,
    /// The file is invalid (every problem, one per line).
    #[error("{0}")]
    Invalid(ConfigError),
}

impl EdgeState {
    /// Reads the config file again and, if valid, puts it in force for new requests.
    pub fn reload(&self) -> Result<(), ReloadError> {
        let source = self.reload_from.as_ref().ok_or(ReloadError::NoFile)?;
        let config = match Config::load(&source.path, &source.overrides) {
            Ok(config) => config,
            Err(e) => {
                for line in e.to_string().lines() {
                    warn!("reload refused, old config kept: {line}");
                }
                return Err(ReloadError::Invalid(e));
            }
        };
        let old = self.config();
        for what in kept_as_at_start(&old, &config) {
            warn!("reload: {what} changed in the file but stays as it was; restart to change it");
        }
        // The file's rules replace every rule, those added at run time included.
        self.faults.clear();
        for spec in &config.faults {
            // Validation compiled every rule already.
            let _ = self.faults.add(spec.clone());
        }
        self.scenarios.reconfigure(&config.scenarios);
        self.replace(config);
        info!(file = %source.path.display(), "config reloaded");
        Ok(())
    }
}

/// The settings that differ between `old` and `new` but only take effect at start.
fn kept_as_at_start(old: &Config, new: &Config) -> Vec<&'static str> {
    let checks = [
        ("edge.listen", old.edge.listen != new.edge.listen),
        (
            "edge.tls_listen / tls_cert / tls_key",
            old.edge.tls.as_ref().map(|t| t.listen) != new.edge.tls.as_ref().map(|t| t.listen),
        ),
        ("[admin]", old.admin != new.admin),
        ("[log]", old.log != new.log),
        ("[capture]", old.capture != new.capture),
        ("[analytics] sample", old.analytics != new.analytics),
        (
            "limits.client_header_timeout / max_connections / h2_max_concurrent_streams",
            old.visitor.client_header_timeout != new.visitor.client_header_timeout
                || old.visitor.max_connections != new.visitor.max_connections
                || old.visitor.h2_max_concurrent_streams != new.visitor.h2_max_concurrent_streams,
        ),
        ("edge.ray_seed", old.edge.ray_seed != new.edge.ray_seed),
    ];
    checks
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(what, _)| what)
        .collect()
}
