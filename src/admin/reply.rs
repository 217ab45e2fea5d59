//! JSON answers of the control API, and reading JSON bodies with errors that name the field.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `status` with `value` as its JSON body.
pub(super) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Bytes> {
    // Serializing plain data (strings, numbers, maps with string keys) cannot fail.
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `status` with `{"error": message, "status": N}` (Toxiproxy's error shape too).
pub(super) fn error(status: StatusCode, message: &str) -> Response<Bytes> {
    json(
        status,
        &serde_json::json!({"error": message, "status": status.as_u16()}),
    )
}

/// An empty 204.
pub(super) fn no_content() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// `body` as a `T`, or why not: a sentence naming the field at fault, for a 400.
pub(super) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let text = body.trim_ascii_start();
    if text.is_empty() {
        return Err("the body is empty: send one JSON object".to_owned());
    }
    if !text.starts_with(b"{") {
        return Err("the body must be one JSON object, like {\"status\": 522}".to_owned());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        match path.as_str() {
            "." | "" | "?" => format!("invalid JSON body: {}", e.inner()),
            path => format!("{path}: {}", e.inner()),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| format!("invalid JSON body: {e}"))?;
    Ok(value)
}
