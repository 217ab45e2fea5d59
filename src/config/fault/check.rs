//! [`FaultSpec::compile`]: every key of a rule checked, and the rule built as a [`Fault`].
//! The checks live with the keys, in config, so a bad `[[fault]]` is a config problem named by
//! its key (`fault[2].status`); emulation only applies the rules built here.

use std::time::Duration;

use http::HeaderName;

use super::rule::{Action, EDGE_STATUSES, EMULATED_STATUSES, Fault, LinkFaults, Matcher};
use super::{FaultSpec, SpecProblem};
use crate::base::numbered::numbered_status;
use crate::normalize;

impl FaultSpec {
    /// Checks every key and builds the rule.
    pub fn compile(&self) -> Result<Fault, SpecProblem> {
        let matcher = self.matcher()?;
        let action = self.action()?;
        if self.count == Some(0) {
            return Err(problem(
                "count",
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        if self.lasting == Some(Duration::ZERO) {
            return Err(problem("for", "must be longer than 0ms"));
        }
        Ok(Fault {
            matcher,
            action,
            count: self.count,
            lasting: self.lasting,
        })
    }

    fn matcher(&self) -> Result<Matcher, SpecProblem> {
        let host = match &self.host {
            Some(host) if host.is_empty() || host.contains(['/', ' ']) => {
                return Err(problem("host", format!("{host:?} is not a host name")));
            }
            // As a request's host is matched: lowercase, no port, no trailing dot.
            host => host.as_deref().map(|h| normalize::host(h).into_owned()),
        };
        if let Some(prefix) = &self.path_prefix {
            if !prefix.starts_with('/') {
                return Err(problem(
                    "path_prefix",
                    format!("{prefix:?} must start with /"),
                ));
            }
            if let Err(unnormalized) = normalize::check_prefix(prefix) {
                return Err(problem("path_prefix", unnormalized.to_string()));
            }
        }
        let method = match &self.method {
            Some(method) => {
                match http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()) {
                    Ok(method) => Some(method),
                    Err(_) => return Err(problem("method", format!("{method:?} is not a method"))),
                }
            }
            None => None,
        };
        let header = match &self.header {
            Some(header) => match HeaderName::from_bytes(header.name.as_bytes()) {
                Ok(name) => Some((name, header.value.clone())),
                Err(_) => {
                    let name = &header.name;
                    return Err(problem("header", format!("{name:?} is not a header name")));
                }
            },
            None => None,
        };
        let percent = match self.percent {
            Some(p) if !(0.0..=100.0).contains(&p) => {
                return Err(problem("percent", format!("{p} is not between 0 and 100")));
            }
            p => p,
        };
        Ok(Matcher {
            host,
            path_prefix: self.path_prefix.clone(),
            method,
            header,
            percent,
        })
    }

    fn action(&self) -> Result<Action, SpecProblem> {
        let given: Vec<&'static str> = [
            ("status", self.status.is_some()),
            ("edge", self.edge.is_some()),
            ("latency", self.latency.is_some()),
            ("refuse", self.refuse.is_some()),
            ("blackhole", self.blackhole.is_some()),
            ("reset_after_bytes", self.reset_after_bytes.is_some()),
            ("bandwidth", self.bandwidth.is_some()),
            ("close_before_headers", self.close_before_headers.is_some()),
            ("slow_close", self.slow_close.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        let key = match given.as_slice() {
            [] => {
                return Err(problem(
                    "status",
                    "a rule needs one action: status, edge, latency, refuse, blackhole, \
                     reset_after_bytes, bandwidth, close_before_headers or slow_close",
                ));
            }
            [one] => *one,
            [first, second, ..] => {
                return Err(problem(
                    second,
                    format!("a rule has one action, and {first} is already set"),
                ));
            }
        };
        if self.code.is_some() && self.status.is_none() {
            return Err(problem(
                "code",
                "only goes with status (530, or the status the error is sent with)",
            ));
        }
        if self.delay.is_some() && !matches!(key, "status" | "edge") {
            return Err(problem("delay", "only goes with status or edge"));
        }
        if self.jitter.is_some() && key != "latency" {
            return Err(problem("jitter", "only goes with latency"));
        }
        for (key, value) in [
            ("refuse", self.refuse),
            ("blackhole", self.blackhole),
            ("close_before_headers", self.close_before_headers),
        ] {
            if value == Some(false) {
                return Err(problem(key, "false does nothing: leave the key out"));
            }
        }
        let mut link = LinkFaults::default();
        match key {
            "status" => return self.status_action(),
            "edge" => {
                let status = self.edge.unwrap_or_default();
                if !EDGE_STATUSES.contains(&status) {
                    return Err(problem(
                        "edge",
                        format!(
                            "{status} is not one of Cloudflare's own errors (500, 502, 503, 504)"
                        ),
                    ));
                }
                return Ok(Action::Edge {
                    status,
                    delay: self.delay,
                });
            }
            "latency" => {
                link.latency = self.latency;
                link.jitter = self.jitter.unwrap_or_default();
            }
            "refuse" => link.refuse = true,
            "blackhole" => link.blackhole = true,
            "reset_after_bytes" => link.reset_after_bytes = self.reset_after_bytes,
            "bandwidth" => {
                if self.bandwidth == Some(0) {
                    return Err(problem("bandwidth", "must be at least 1 byte per second"));
                }
                link.bandwidth = self.bandwidth;
            }
            "close_before_headers" => link.close_before_headers = true,
            _ => link.slow_close = self.slow_close,
        }
        Ok(Action::Link(link))
    }

    fn status_action(&self) -> Result<Action, SpecProblem> {
        let status = self.status.unwrap_or_default();
        if let Some(code) = self.code {
            return self.numbered_action(status, code);
        }
        if !EMULATED_STATUSES.contains(&status) {
            return Err(problem(
                "status",
                format!(
                    "{status} is not an error edgecase emulates (520-527, 530, 500, 502, 503, \
                     504; a 1xxx error's own status goes with its code, e.g. 403 with code = 1020)"
                ),
            ));
        }
        Ok(Action::Status {
            status,
            code: (status == 530).then_some(1016),
            delay: self.delay,
        })
    }

    /// `status` with the 1xxx error `code`: 530 (as Cloudflare sends the origin-side errors,
    /// and edgecase always has) or the status Cloudflare sends this error with.
    fn numbered_action(&self, status: u16, code: u16) -> Result<Action, SpecProblem> {
        let Some(own) = numbered_status(code) else {
            return Err(problem(
                "code",
                format!("{code} is not a 1xxx error edgecase knows (e.g. 1016, 1020, 1033)"),
            ));
        };
        if status != 530 && status != own {
            return Err(problem(
                "code",
                format!("{code} is sent with status {own} (or 530), not {status}"),
            ));
        }
        Ok(Action::Status {
            status,
            code: Some(code),
            delay: self.delay,
        })
    }
}

fn problem(key: &'static str, message: impl Into<String>) -> SpecProblem {
    SpecProblem {
        key,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_rule_names_its_key() {
        let cases = [
            (FaultSpec::default(), "status"),
            (FaultSpec::status(418), "status"),
            (FaultSpec::edge(520), "edge"),
            (FaultSpec::status(524).code(1033), "code"),
            (FaultSpec::status(530).code(1999), "code"),
            (FaultSpec::status(403).code(1033), "code"),
            (FaultSpec::status(403), "status"),
            (FaultSpec::refuse().code(1020), "code"),
            (FaultSpec::refuse().delay(Duration::from_secs(1)), "delay"),
            (FaultSpec::refuse().jitter(Duration::from_secs(1)), "jitter"),
            (FaultSpec::status(522).percent(101.0), "percent"),
            (FaultSpec::status(522).count(0), "count"),
            (
                FaultSpec::status(522).path_prefix("checkout"),
                "path_prefix",
            ),
            (
                FaultSpec::status(522).path_prefix("/%61dmin/"),
                "path_prefix",
            ),
            (FaultSpec::status(522).method("GE T"), "method"),
            (FaultSpec::bandwidth(0), "bandwidth"),
            (
                FaultSpec {
                    refuse: Some(true),
                    blackhole: Some(true),
                    ..FaultSpec::default()
                },
                "blackhole",
            ),
        ];
        for (spec, key) in cases {
            let problem = spec.compile().expect_err(key);
            assert_eq!(problem.key, key, "{problem}");
        }
    }

    #[test]
    fn a_1xxx_code_goes_with_530_or_with_its_own_status() {
        for (spec, status, code) in [
            (FaultSpec::status(530), 530, 1016),
            (FaultSpec::status(530).code(1033), 530, 1033),
            (FaultSpec::status(530).code(1020), 530, 1020),
            (FaultSpec::status(403).code(1020), 403, 1020),
            (FaultSpec::status(429).code(1015), 429, 1015),
        ] {
            let fault = spec.compile().expect("a valid rule");
            assert_eq!(
                fault.action,
                Action::Status {
                    status,
                    code: Some(code),
                    delay: None
                }
            );
        }
        let problem = FaultSpec::status(429)
            .code(1020)
            .compile()
            .expect_err("429");
        assert!(
            problem.message.contains("1020 is sent with status 403"),
            "{problem}"
        );
    }
}
