//! Checking the emulation half of the config: `[[fault]]`, `[emulation]`, `[railgun]`,
//! `[admin]` and the `[edge]` keys that make runs reproducible. Problems are collected like
//! every other key's, named by their key path (`fault[2].status`, `admin.listen`).

use std::net::SocketAddr;

use super::super::address::parse_listen;
use super::super::error::{Problem, push_index};
use super::super::fault::FaultSpec;
use super::super::raw::{RawAdmin, RawEmulation, RawRailgun};
use super::super::{AdminConfig, DEFAULT_ADMIN_LISTEN, DEFAULT_LAN_TIMEOUT, Emulation, Railgun};
use super::{Check, READ_LIMIT};

impl Check {
    /// Every `[[fault]]` compiles; problems name `fault[N].key`.
    pub(super) fn faults(&mut self, faults: &[FaultSpec]) {
        for (index, spec) in faults.iter().enumerate() {
            if let Err(problem) = spec.compile() {
                let mut key = String::from("fault");
                push_index(&mut key, index);
                key.push('.');
                key.push_str(problem.key);
                self.problems.push(Problem::new(key, problem.message));
            }
        }
    }

    /// `[emulation]`.
    pub(super) fn emulation(&mut self, raw: RawEmulation) -> Emulation {
        Emulation {
            seed: raw.seed.and_then(|seed| self.seed("emulation.seed", seed)),
            header_faults: raw.header_faults.unwrap_or(false),
            explain: raw.explain.unwrap_or(false),
        }
    }

    /// A seed: any whole number from 0 up.
    pub(super) fn seed(&mut self, key: &str, seed: i64) -> Option<u64> {
        let seed =
            u64::try_from(seed).map_err(|_| format!("{seed} is negative; a seed is 0 or more"));
        self.some(key, seed)
    }

    /// `[railgun]`: `None` unless `enabled = true`.
    pub(super) fn railgun(&mut self, raw: RawRailgun) -> Option<Railgun> {
        let lan_timeout = raw
            .lan_timeout
            .as_ref()
            .and_then(|raw| self.duration("railgun.lan_timeout", raw, &READ_LIMIT));
        raw.enabled.unwrap_or(false).then(|| Railgun {
            lan_timeout: lan_timeout.unwrap_or(DEFAULT_LAN_TIMEOUT),
        })
    }

    /// `[admin]` (with `--admin` over `listen`): loopback unless a token is set.
    pub(super) fn admin(
        &mut self,
        raw: RawAdmin,
        flag: Option<&str>,
        edge_listen: SocketAddr,
    ) -> Option<AdminConfig> {
        let token = match raw.token {
            Some(token) if token.trim().is_empty() || token.contains(char::is_whitespace) => {
                let why = "must be a non-empty word (no spaces): clients send it as \
                           `authorization: Bearer <token>`";
                self.problems.push(Problem::new("admin.token", why));
                None
            }
            token => token,
        };
        let text = flag.or(raw.listen.as_deref());
        let listen = match text {
            Some(text) => self.some("admin.listen", parse_listen(text))?,
            None => DEFAULT_ADMIN_LISTEN,
        };
        if !raw.enabled.unwrap_or(true) {
            return None;
        }
        if !listen.ip().is_loopback() && token.is_none() {
            let why = format!(
                "{listen} is not a loopback address; set admin.token to expose the control API \
                 beyond this machine (clients then send `authorization: Bearer <token>`)"
            );
            self.problems.push(Problem::new("admin.listen", why));
        }
        if listen == edge_listen && listen.port() != 0 {
            let why = format!("{listen} is also edge.listen; the control API needs its own port");
            self.problems.push(Problem::new("admin.listen", why));
        }
        let allowed_origins: Vec<String> = raw
            .allowed_origins
            .unwrap_or_default()
            .into_iter()
            .map(|origin| origin.trim_end_matches('/').to_owned())
            .collect();
        for origin in &allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                let why = format!(
                    "{origin:?} is not a web origin; write it as a browser sends it, \
                     `http://host:port`"
                );
                self.problems
                    .push(Problem::new("admin.allowed_origins", why));
            }
        }
        Some(AdminConfig {
            listen,
            token,
            default_listen: text.is_none(),
            allowed_hosts: raw.allowed_hosts.unwrap_or_default(),
            allowed_origins,
        })
    }
}
