//! Recorded requests.

use std::time::Instant;

use serde_json::Value;

/// One HTTP request as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Request method, e.g. `POST`.
    pub method: String,
    /// Request target including the query string, e.g. `/v1/responses?x=1`.
    pub path: String,
    /// Headers in arrival order; names are lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked when it was sent with `Transfer-Encoding: chunked`).
    pub body: Vec<u8>,
    /// When the server had read the complete request head (the body may still have been
    /// on its way). Lets benchmarks measure, e.g., process start → first model request.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// The first header with this name (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, or `Value::Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The `input` array of the JSON body (empty when absent).
    pub fn input(&self) -> Vec<Value> {
        match self.json() {
            Value::Object(mut map) => match map.remove("input") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// Whether this is a model request (the requests that consume scripted replies): a
    /// `POST` to a path ending in `/responses`, or in `/responses/compact` (see
    /// [`RecordedRequest::is_compact_request`]).
    pub fn is_responses_request(&self) -> bool {
        self.method == "POST"
            && (self.path_only().ends_with("/responses") || self.is_compact_request())
    }

    /// Whether this is a `POST` to a path ending in `/responses/compact` (the remote
    /// compaction endpoint).
    pub fn is_compact_request(&self) -> bool {
        self.method == "POST" && self.path_only().ends_with("/responses/compact")
    }

    /// The request as one JSON object, the format of the binary's `--log` lines:
    /// `{"method","path","headers":{name: value},"body":<parsed JSON or string>}`.
    /// Repeated headers are joined with `", "`.
    pub fn to_log_json(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            match headers.get_mut(name) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(value);
                }
                _ => {
                    headers.insert(name.clone(), Value::String(value.clone()));
                }
            }
        }
        let body = serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()));
        serde_json::json!({
            "method": self.method,
            "path": self.path,
            "headers": headers,
            "body": body,
        })
    }
}
