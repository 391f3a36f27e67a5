//! Pure mapping of Responses-API stream payloads to typed events (SPEC §7.6).
//!
//! SSE framing itself is done by `sse-stream`; this module only looks
//! at each `data:` payload's JSON `type`.

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;

use serde_json::Value;

use crate::runner::events::Usage;

/// One meaningful stream event. Deltas are not surfaced: exec reports whole items.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseEvent {
    /// `response.created`.
    Created,
    /// `response.output_item.added`: an item began.
    OutputItemAdded(Value),
    /// `response.output_item.done`: the authoritative finished item. The
    /// payload is kept as text (see `output_item`): the item can be megabytes.
    OutputItemDone(String),
    /// `response.completed` with its usage (if reported).
    Completed {
        response_id: String,
        usage: Option<Usage>,
    },
    /// `response.failed`, classified.
    Failed(Failure),
    /// `response.incomplete` with its reason.
    Incomplete(String),
    /// Anything else (ignored).
    Ignored,
}

/// How a `response.failed` should be treated.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Fatal: the context window is exhausted.
    ContextWindowExceeded,
    /// Fatal: the account has no quota left.
    QuotaExceeded,
    /// Retryable, after the server-suggested delay when one is given.
    Retryable {
        message: String,
        delay: Option<Duration>,
    },
}

/// How delta payloads start when the server writes `type` first (it does).
const DELTA_PREFIXES: [&str; 3] = [
    r#"{"type":"response.output_text.delta""#,
    r#"{"type":"response.reasoning_summary_text.delta""#,
    r#"{"type":"response.reasoning_text.delta""#,
];

/// The `type` of a payload that starts `{"type":"<plain text>"`.
fn fast_type(data: &str) -> Option<&str> {
    let rest = data.strip_prefix(r#"{"type":""#)?;
    let end = rest.find(['"', '\\'])?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

/// The `type` of a payload, read without building a JSON tree.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

/// Payloads that carry an output item.
#[derive(Deserialize)]
struct ItemPayload {
    item: Value,
}

/// Payloads that carry the response object.
#[derive(Deserialize)]
struct ResponsePayload {
    #[serde(default)]
    response: Value,
}

/// Parse one SSE `data:` payload. `None` for payloads that are not JSON objects
/// with a string `type` (they are skipped). Only the events this runner acts on
/// are parsed in full; a delta-heavy stream stays cheap.
pub fn parse_event(data: String) -> Option<ResponseEvent> {
    // Text deltas are most of a stream and carry nothing the runner uses (items
    // come from `output_item.done`): recognise the usual shape without parsing.
    if DELTA_PREFIXES.iter().any(|prefix| data.starts_with(prefix)) {
        return Some(ResponseEvent::Ignored);
    }
    // Servers write `type` first; reading it off the front avoids a second full
    // scan of large payloads. Anything else takes the general path.
    let kind: Cow<'_, str> = match fast_type(&data) {
        Some(kind) => Cow::Borrowed(kind),
        None => serde_json::from_str::<Peek<'_>>(&data).ok()?.kind,
    };
    if kind == "response.output_item.done" {
        return Some(ResponseEvent::OutputItemDone(data));
    }
    let data = data.as_str();
    let response = || {
        serde_json::from_str::<ResponsePayload>(data)
            .ok()
            .map(|r| r.response)
    };
    Some(match kind.as_ref() {
        "response.created" => ResponseEvent::Created,
        "response.output_item.added" => {
            ResponseEvent::OutputItemAdded(serde_json::from_str::<ItemPayload>(data).ok()?.item)
        }
        "response.completed" => {
            // Without its response object the event completes nothing: it is
            // skipped, and the stream then ends without `response.completed`
            // (a retryable stream error), as with the reference.
            let response = response().filter(Value::is_object)?;
            ResponseEvent::Completed {
                response_id: response
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                usage: response.get("usage").and_then(parse_usage),
            }
        }
        "response.failed" => ResponseEvent::Failed(classify_failure(response()?.get("error"))),
        "response.incomplete" => ResponseEvent::Incomplete(
            response()?
                .pointer("/incomplete_details/reason")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
        ),
        _ => ResponseEvent::Ignored,
    })
}

/// Map the API's usage object to our five counters.
pub fn parse_usage(usage: &Value) -> Option<Usage> {
    if !usage.is_object() {
        return None;
    }
    let int = |ptr: &str| usage.pointer(ptr).and_then(Value::as_u64).unwrap_or(0);
    Some(Usage {
        input_tokens: int("/input_tokens"),
        cached_input_tokens: int("/input_tokens_details/cached_tokens"),
        cache_write_input_tokens: int("/input_tokens_details/cache_write_tokens")
            .max(int("/input_tokens_details/cache_creation_tokens")),
        output_tokens: int("/output_tokens"),
        reasoning_output_tokens: int("/output_tokens_details/reasoning_tokens"),
    })
}

fn classify_failure(error: Option<&Value>) -> Failure {
    let code = error
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("response.failed event received")
        .to_string();
    match code {
        "context_length_exceeded" => Failure::ContextWindowExceeded,
        "insufficient_quota" => Failure::QuotaExceeded,
        "rate_limit_exceeded" => Failure::Retryable {
            delay: try_again_in(&message),
            message,
        },
        _ => Failure::Retryable {
            message,
            delay: None,
        },
    }
}

/// Find `try again in <n>(s|ms|seconds)` in a rate-limit message.
pub fn try_again_in(message: &str) -> Option<Duration> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("try again in ")? + "try again in ".len()..];
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let number: f64 = rest[..number_len].parse().ok()?;
    let unit = rest[number_len..].trim_start();
    let seconds = if unit.starts_with("ms") {
        number / 1000.0
    } else if unit.starts_with('s') {
        number
    } else {
        return None;
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn completed_carries_usage() {
        let data = json!({"type":"response.completed","response":{"id":"r1","usage":{
            "input_tokens":100,"input_tokens_details":{"cached_tokens":40},
            "output_tokens":20,"output_tokens_details":{"reasoning_tokens":5},"total_tokens":120}}});
        let event = parse_event(data.to_string()).unwrap();
        assert_eq!(
            event,
            ResponseEvent::Completed {
                response_id: "r1".into(),
                usage: Some(Usage {
                    input_tokens: 100,
                    cached_input_tokens: 40,
                    cache_write_input_tokens: 0,
                    output_tokens: 20,
                    reasoning_output_tokens: 5
                })
            }
        );
    }

    #[test]
    fn failures_are_classified() {
        let failed = |code: &str, msg: &str| {
            parse_event(
                json!({"type":"response.failed","response":{"error":{"code":code,"message":msg}}})
                    .to_string(),
            )
            .unwrap()
        };
        assert_eq!(
            failed("context_length_exceeded", "x"),
            ResponseEvent::Failed(Failure::ContextWindowExceeded)
        );
        assert_eq!(
            failed("rate_limit_exceeded", "Please try again in 1.5s."),
            ResponseEvent::Failed(Failure::Retryable {
                message: "Please try again in 1.5s.".into(),
                delay: Some(Duration::from_millis(1500))
            })
        );
    }

    #[test]
    fn type_is_read_off_the_front() {
        assert_eq!(
            fast_type(r#"{"type":"response.created","x":1}"#),
            Some("response.created")
        );
        assert_eq!(fast_type(r#"{"type":"a\\"b"}"#), None);
        assert_eq!(fast_type(r#"{"x":1,"type":"response.created"}"#), None);
        assert_eq!(
            parse_event(r#"{"x":1,"type":"response.created"}"#.to_string()),
            Some(ResponseEvent::Created)
        );
    }

    #[test]
    fn completed_without_a_response_object_is_skipped() {
        for response in ["null", "[]", "\"r\""] {
            let data = format!(r#"{{"type":"response.completed","response":{response}}}"#);
            assert_eq!(parse_event(data), None, "{response}");
        }
        assert_eq!(
            parse_event(r#"{"type":"response.completed"}"#.to_string()),
            None
        );
    }

    #[test]
    fn junk_is_skipped() {
        assert!(parse_event("not json".to_string()).is_none());
        assert!(parse_event("[1,2]".to_string()).is_none());
        assert_eq!(
            parse_event(r#"{"type":"response.in_progress"}"#.to_string()),
            Some(ResponseEvent::Ignored)
        );
    }

    #[test]
    fn try_again_units() {
        assert_eq!(
            try_again_in("try again in 250ms"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            try_again_in("Try again in 3 seconds"),
            Some(Duration::from_secs(3))
        );
        assert_eq!(try_again_in("no hint"), None);
    }
}
