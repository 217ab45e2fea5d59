//! The `cf-edgecase-fault` request header (`[emulation] header_faults = true`): a test asks
//! for a fault on one request, e.g. `524`, `530;code=1033`, `403;code=1020`, `524;delay=2s`,
//! `edge=502`, `latency=2s`, `refuse`. The value is a `;`-separated list of the `[[fault]]` action keys, a
//! bare number standing for `status`; it goes through the same checks as a rule.

use http::HeaderName;

use crate::config::fault::{Action, FaultSpec};
use crate::config::parse_duration;

/// The request header a test names its fault in. Never forwarded to the origin.
pub const FAULT_HEADER: HeaderName = HeaderName::from_static("cf-edgecase-fault");

/// The action `value` asks for, or why it cannot be one (a sentence for the 400 answer).
pub fn parse(value: &[u8]) -> Result<Action, String> {
    let text = std::str::from_utf8(value)
        .map_err(|_| "cf-edgecase-fault: the value is not text".to_owned())?;
    let mut spec = FaultSpec::default();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match part.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim())),
            None if part.bytes().all(|b| b.is_ascii_digit()) => ("status", Some(part)),
            None => (part, None),
        };
        set(&mut spec, key, value).map_err(|why| format!("cf-edgecase-fault: {key}: {why}"))?;
    }
    let fault = spec
        .compile()
        .map_err(|problem| format!("cf-edgecase-fault: {problem}"))?;
    Ok(fault.action)
}

fn set(spec: &mut FaultSpec, key: &str, value: Option<&str>) -> Result<(), String> {
    let number = |value: Option<&str>| -> Result<u64, String> {
        let text = value.ok_or("needs a value")?;
        text.parse()
            .map_err(|_| format!("{text:?} is not a whole number"))
    };
    let small = |value| {
        number(value).and_then(|n| u16::try_from(n).map_err(|_| format!("{n} is too large")))
    };
    let duration = |value: Option<&str>| {
        let text = value.ok_or("needs a duration, like 2s")?;
        parse_duration(text).map_err(|e| e.to_string())
    };
    let flag = |value: Option<&str>| match value {
        None | Some("true") => Ok(Some(true)),
        Some(other) => Err(format!("takes no value, not {other:?}")),
    };
    match key {
        "status" => spec.status = Some(small(value)?),
        "code" => spec.code = Some(small(value)?),
        "delay" => spec.delay = Some(duration(value)?),
        "edge" => spec.edge = Some(small(value)?),
        "latency" => spec.latency = Some(duration(value)?),
        "jitter" => spec.jitter = Some(duration(value)?),
        "refuse" => spec.refuse = flag(value)?,
        "blackhole" => spec.blackhole = flag(value)?,
        "reset_after_bytes" => spec.reset_after_bytes = Some(number(value)?),
        "bandwidth" => spec.bandwidth = Some(number(value)?),
        "close_before_headers" => spec.close_before_headers = flag(value)?,
        "slow_close" => spec.slow_close = Some(duration(value)?),
        _ => return Err("not a fault action key".to_owned()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn header_values_become_actions() {
        assert_eq!(
            parse(b"524").unwrap(),
            Action::Status {
                status: 524,
                code: None,
                delay: None
            }
        );
        assert_eq!(
            parse(b"530; code=1033").unwrap(),
            Action::Status {
                status: 530,
                code: Some(1033),
                delay: None
            }
        );
        assert_eq!(
            parse(b"403;code=1020").unwrap(),
            Action::Status {
                status: 403,
                code: Some(1020),
                delay: None
            }
        );
        assert_eq!(
            parse(b"524;delay=2s").unwrap(),
            Action::Status {
                status: 524,
                code: None,
                delay: Some(Duration::from_secs(2))
            }
        );
        assert!(matches!(
            parse(b"edge=502").unwrap(),
            Action::Edge { status: 502, .. }
        ));
        assert!(matches!(parse(b"refuse").unwrap(), Action::Link(l) if l.refuse));
        assert!(matches!(parse(b"latency=2s").unwrap(),
            Action::Link(l) if l.latency == Some(Duration::from_secs(2))));
    }

    #[test]
    fn bad_values_explain_themselves() {
        for (value, needle) in [
            (&b"418"[..], "status"),
            (b"teapot", "teapot"),
            (b"524;delay=soon", "delay"),
            (b"refuse=no", "refuse"),
            (b"", "one action"),
            (b"\xff", "not text"),
        ] {
            let err = parse(value).unwrap_err();
            assert!(err.contains(needle), "{value:?}: {err}");
        }
    }
}
