//! A structural check of HAR 1.2 documents (<http://www.softwareishard.com/blog/har-12-spec/>)
//! over plain `serde_json::Value`s, independent of edgecase's own HAR types: required members
//! and their types, ISO 8601 dates, timings (`send`, `wait`, `receive` >= 0, the others >= -1,
//! `time` the sum of those that apply, `ssl` excluded), and no member outside the spec unless
//! it starts with `_` (the spec's custom members). Shared by the integration tests and the
//! `capture` unit tests.
#![allow(dead_code)]

use serde_json::{Map, Value};

/// How far `time` may be from the sum of the timings, in ms.
const TIME_TOLERANCE_MS: f64 = 0.01;

/// Checks that `har` is a HAR 1.2 document; the error names the first member that is wrong,
/// by its path (`log.entries[0].timings.wait: ...`).
pub fn check_har(har: &Value) -> Result<(), String> {
    let root = object(har, "")?;
    members(root, "", &["log"])?;
    let log = object(required(root, "log", "")?, "log")?;
    members(
        log,
        "log",
        &[
            "version", "creator", "browser", "pages", "entries", "comment",
        ],
    )?;
    let version = string(log, "version", "log")?;
    if version != "1.2" {
        return Err(format!("log.version: expected \"1.2\", got {version:?}"));
    }
    creator(required(log, "creator", "log")?, "log.creator")?;
    if let Some(browser) = log.get("browser") {
        creator(browser, "log.browser")?;
    }
    optional_string(log, "comment", "log")?;
    if let Some(pages) = log.get("pages") {
        for (i, page_value) in array(pages, "log.pages")?.iter().enumerate() {
            page(page_value, &format!("log.pages[{i}]"))?;
        }
    }
    let entries = array(required(log, "entries", "log")?, "log.entries")?;
    for (i, entry_value) in entries.iter().enumerate() {
        entry(entry_value, &format!("log.entries[{i}]"))?;
    }
    Ok(())
}

/// Checks one entry.
pub fn check_entry(entry_value: &Value) -> Result<(), String> {
    entry(entry_value, "entry")
}

/// Whether `text` is an ISO 8601 date and time: `YYYY-MM-DDTHH:MM:SS`, an optional fraction,
/// then `Z` or an offset `+HH:MM` / `-HH:MM`.
pub fn is_iso8601(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            .then(|| {
                b[range]
                    .iter()
                    .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
            })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (Some(_year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return false;
    };
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return false;
    }
    if !((1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second <= 60)
    {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && at(i + 3, b':')
                && digits(i + 1..i + 3).is_some_and(|h| h < 24)
                && digits(i + 4..i + 6).is_some_and(|m| m < 60)
        }
        _ => false,
    }
}

fn creator(value: &Value, path: &str) -> Result<(), String> {
    let creator = object(value, path)?;
    members(creator, path, &["name", "version", "comment"])?;
    string(creator, "name", path)?;
    string(creator, "version", path)?;
    optional_string(creator, "comment", path)?;
    Ok(())
}

fn page(value: &Value, path: &str) -> Result<(), String> {
    let page = object(value, path)?;
    members(
        page,
        path,
        &["startedDateTime", "id", "title", "pageTimings", "comment"],
    )?;
    date(page, "startedDateTime", path)?;
    string(page, "id", path)?;
    string(page, "title", path)?;
    let timings_path = format!("{path}.pageTimings");
    let timings = object(required(page, "pageTimings", path)?, &timings_path)?;
    members(
        timings,
        &timings_path,
        &["onContentLoad", "onLoad", "comment"],
    )?;
    optional_number(timings, "onContentLoad", &timings_path)?;
    optional_number(timings, "onLoad", &timings_path)?;
    optional_string(page, "comment", path)?;
    Ok(())
}

fn entry(value: &Value, path: &str) -> Result<(), String> {
    let entry = object(value, path)?;
    members(
        entry,
        path,
        &[
            "pageref",
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
            "serverIPAddress",
            "connection",
            "comment",
        ],
    )?;
    optional_string(entry, "pageref", path)?;
    date(entry, "startedDateTime", path)?;
    let time = number(entry, "time", path)?;
    if time < 0.0 {
        return Err(format!("{path}.time: negative ({time})"));
    }
    request(
        required(entry, "request", path)?,
        &format!("{path}.request"),
    )?;
    response(
        required(entry, "response", path)?,
        &format!("{path}.response"),
    )?;
    cache(required(entry, "cache", path)?, &format!("{path}.cache"))?;
    let sum = timings(
        required(entry, "timings", path)?,
        &format!("{path}.timings"),
    )?;
    if (time - sum).abs() > TIME_TOLERANCE_MS {
        return Err(format!(
            "{path}.time: {time} is not the sum of the timings ({sum})"
        ));
    }
    optional_string(entry, "serverIPAddress", path)?;
    optional_string(entry, "connection", path)?;
    optional_string(entry, "comment", path)?;
    Ok(())
}

fn request(value: &Value, path: &str) -> Result<(), String> {
    let request = object(value, path)?;
    members(
        request,
        path,
        &[
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "postData",
            "headersSize",
            "bodySize",
            "comment",
        ],
    )?;
    string(request, "method", path)?;
    let url = string(request, "url", path)?;
    if !url.contains("://") || url.contains('#') {
        return Err(format!(
            "{path}.url: not an absolute URL without fragment: {url:?}"
        ));
    }
    string(request, "httpVersion", path)?;
    cookies(request, path)?;
    pairs(request, "headers", path)?;
    pairs(request, "queryString", path)?;
    if let Some(post) = request.get("postData") {
        post_data(post, &format!("{path}.postData"))?;
    }
    integer(request, "headersSize", path)?;
    integer(request, "bodySize", path)?;
    optional_string(request, "comment", path)?;
    Ok(())
}

fn response(value: &Value, path: &str) -> Result<(), String> {
    let response = object(value, path)?;
    members(
        response,
        path,
        &[
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
            "comment",
        ],
    )?;
    integer(response, "status", path)?;
    string(response, "statusText", path)?;
    string(response, "httpVersion", path)?;
    cookies(response, path)?;
    pairs(response, "headers", path)?;
    content(
        required(response, "content", path)?,
        &format!("{path}.content"),
    )?;
    string(response, "redirectURL", path)?;
    integer(response, "headersSize", path)?;
    integer(response, "bodySize", path)?;
    optional_string(response, "comment", path)?;
    Ok(())
}

fn cookies(parent: &Map<String, Value>, path: &str) -> Result<(), String> {
    let list_path = format!("{path}.cookies");
    for (i, value) in array(required(parent, "cookies", path)?, &list_path)?
        .iter()
        .enumerate()
    {
        let cookie_path = format!("{list_path}[{i}]");
        let cookie = object(value, &cookie_path)?;
        members(
            cookie,
            &cookie_path,
            &[
                "name", "value", "path", "domain", "expires", "httpOnly", "secure", "comment",
            ],
        )?;
        string(cookie, "name", &cookie_path)?;
        string(cookie, "value", &cookie_path)?;
        optional_string(cookie, "path", &cookie_path)?;
        optional_string(cookie, "domain", &cookie_path)?;
        if cookie.get("expires").is_some_and(|v| !v.is_null()) {
            date(cookie, "expires", &cookie_path)?;
        }
        optional_bool(cookie, "httpOnly", &cookie_path)?;
        optional_bool(cookie, "secure", &cookie_path)?;
        optional_string(cookie, "comment", &cookie_path)?;
    }
    Ok(())
}

/// An array of `{name, value}` objects (headers, query string).
fn pairs(parent: &Map<String, Value>, key: &str, path: &str) -> Result<(), String> {
    let list_path = format!("{path}.{key}");
    for (i, value) in array(required(parent, key, path)?, &list_path)?
        .iter()
        .enumerate()
    {
        let pair_path = format!("{list_path}[{i}]");
        let pair = object(value, &pair_path)?;
        members(pair, &pair_path, &["name", "value", "comment"])?;
        string(pair, "name", &pair_path)?;
        string(pair, "value", &pair_path)?;
        optional_string(pair, "comment", &pair_path)?;
    }
    Ok(())
}

fn post_data(value: &Value, path: &str) -> Result<(), String> {
    let post = object(value, path)?;
    members(post, path, &["mimeType", "params", "text", "comment"])?;
    string(post, "mimeType", path)?;
    if post.get("text").is_none() && post.get("params").is_none() {
        return Err(format!("{path}: neither text nor params"));
    }
    optional_string(post, "text", path)?;
    if let Some(params) = post.get("params") {
        let list_path = format!("{path}.params");
        for (i, value) in array(params, &list_path)?.iter().enumerate() {
            let param_path = format!("{list_path}[{i}]");
            let param = object(value, &param_path)?;
            members(
                param,
                &param_path,
                &["name", "value", "fileName", "contentType", "comment"],
            )?;
            string(param, "name", &param_path)?;
            for key in ["value", "fileName", "contentType", "comment"] {
                optional_string(param, key, &param_path)?;
            }
        }
    }
    optional_string(post, "comment", path)?;
    Ok(())
}

fn content(value: &Value, path: &str) -> Result<(), String> {
    let content = object(value, path)?;
    members(
        content,
        path,
        &[
            "size",
            "compression",
            "mimeType",
            "text",
            "encoding",
            "comment",
        ],
    )?;
    integer(content, "size", path)?;
    if content.get("compression").is_some() {
        integer(content, "compression", path)?;
    }
    string(content, "mimeType", path)?;
    optional_string(content, "text", path)?;
    optional_string(content, "encoding", path)?;
    if content.get("encoding").is_some() && content.get("text").is_none() {
        return Err(format!("{path}.encoding: without text"));
    }
    optional_string(content, "comment", path)?;
    Ok(())
}

fn cache(value: &Value, path: &str) -> Result<(), String> {
    let cache = object(value, path)?;
    members(cache, path, &["beforeRequest", "afterRequest", "comment"])?;
    for key in ["beforeRequest", "afterRequest"] {
        let state_path = format!("{path}.{key}");
        let Some(state) = cache.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        let state = object(state, &state_path)?;
        members(
            state,
            &state_path,
            &["expires", "lastAccess", "eTag", "hitCount", "comment"],
        )?;
        optional_string(state, "expires", &state_path)?;
        string(state, "lastAccess", &state_path)?;
        string(state, "eTag", &state_path)?;
        integer(state, "hitCount", &state_path)?;
        optional_string(state, "comment", &state_path)?;
    }
    optional_string(cache, "comment", path)?;
    Ok(())
}

/// Checks the timings and returns the sum that `time` must equal.
fn timings(value: &Value, path: &str) -> Result<f64, String> {
    let timings = object(value, path)?;
    members(
        timings,
        path,
        &[
            "blocked", "dns", "connect", "send", "wait", "receive", "ssl", "comment",
        ],
    )?;
    let mut sum = 0.0;
    for key in ["send", "wait", "receive"] {
        let ms = number(timings, key, path)?;
        if ms < 0.0 {
            return Err(format!("{path}.{key}: negative ({ms})"));
        }
        sum += ms;
    }
    for key in ["blocked", "dns", "connect", "ssl"] {
        let Some(ms) = optional_number(timings, key, path)? else {
            continue;
        };
        if ms < -1.0 {
            return Err(format!("{path}.{key}: below -1 ({ms})"));
        }
        if ms >= 0.0 && key != "ssl" {
            sum += ms;
        }
    }
    if let (Some(ssl), Some(connect)) = (
        optional_number(timings, "ssl", path)?,
        optional_number(timings, "connect", path)?,
    ) && ssl >= 0.0
        && ssl > connect + TIME_TOLERANCE_MS
    {
        return Err(format!(
            "{path}.ssl: {ssl} is longer than connect ({connect}), which includes it"
        ));
    }
    optional_string(timings, "comment", path)?;
    Ok(sum)
}

/// Fails on a member that is neither one of `known` nor a custom `_` member.
fn members(object: &Map<String, Value>, path: &str, known: &[&str]) -> Result<(), String> {
    match object
        .keys()
        .find(|key| !key.starts_with('_') && !known.contains(&key.as_str()))
    {
        Some(key) => Err(format!(
            "{}: member not in HAR 1.2 (custom members start with `_`)",
            join(path, key)
        )),
        None => Ok(()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{}: expected an object, got {value}", display(path)))
}

fn array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{}: expected an array, got {value}", display(path)))
}

fn display(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

fn required<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Value, String> {
    object
        .get(key)
        .ok_or_else(|| format!("{}: missing", join(path, key)))
}

fn string<'a>(object: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str, String> {
    let value = required(object, key, path)?;
    value
        .as_str()
        .ok_or_else(|| format!("{}: expected a string, got {value}", join(path, key)))
}

fn optional_string(object: &Map<String, Value>, key: &str, path: &str) -> Result<(), String> {
    match object.get(key) {
        None | Some(Value::String(_)) => Ok(()),
        Some(other) => Err(format!(
            "{}: expected a string, got {other}",
            join(path, key)
        )),
    }
}

fn optional_bool(object: &Map<String, Value>, key: &str, path: &str) -> Result<(), String> {
    match object.get(key) {
        None | Some(Value::Bool(_)) => Ok(()),
        Some(other) => Err(format!(
            "{}: expected a boolean, got {other}",
            join(path, key)
        )),
    }
}

fn number(object: &Map<String, Value>, key: &str, path: &str) -> Result<f64, String> {
    let value = required(object, key, path)?;
    value
        .as_f64()
        .ok_or_else(|| format!("{}: expected a number, got {value}", join(path, key)))
}

fn optional_number(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<f64>, String> {
    match object.get(key) {
        None => Ok(None),
        Some(_) => number(object, key, path).map(Some),
    }
}

fn integer(object: &Map<String, Value>, key: &str, path: &str) -> Result<i64, String> {
    let value = required(object, key, path)?;
    value
        .as_i64()
        .ok_or_else(|| format!("{}: expected an integer, got {value}", join(path, key)))
}

fn date(object: &Map<String, Value>, key: &str, path: &str) -> Result<(), String> {
    let text = string(object, key, path)?;
    if is_iso8601(text) {
        Ok(())
    } else {
        Err(format!(
            "{}: not an ISO 8601 date and time: {text:?}",
            join(path, key)
        ))
    }
}
