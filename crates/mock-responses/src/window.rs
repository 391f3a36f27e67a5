//! A model's context window, modelled on request sizes: a request's size in tokens is
//! its body length at [`BYTES_PER_TOKEN`] bytes per token. With it the server can report
//! realistic usage (`input_tokens` = the request's size) and refuse requests that do not
//! fit, as the API does, so a client's context management can be tested without a
//! real model.

use serde_json::{json, Value};

use crate::reply::{Reply, ReplyKind};
use crate::request::RecordedRequest;

/// Bytes counted as one token.
pub const BYTES_PER_TOKEN: u64 = 4;

/// Message of the `response.failed` a request too large for the window gets.
pub const CONTEXT_WINDOW_EXCEEDED_MESSAGE: &str =
    "Your input exceeds the context window of this model. Please adjust your input and try again.";

/// The size of `request` in tokens: its body length / [`BYTES_PER_TOKEN`], rounded up.
pub fn request_tokens(request: &RecordedRequest) -> u64 {
    (request.body.len() as u64).div_ceil(BYTES_PER_TOKEN)
}

/// The answer to a request that does not fit: a stream that fails with
/// `context_length_exceeded` (the API's code, SPEC §7.6).
pub(crate) fn overflow_reply() -> Reply {
    Reply::sse(vec![
        json!({"type": "response.created", "response": {"id": "resp_overflow"}}),
        json!({
            "type": "response.failed",
            "response": {
                "id": "resp_overflow",
                "error": {
                    "code": "context_length_exceeded",
                    "message": CONTEXT_WINDOW_EXCEEDED_MESSAGE,
                },
            },
        }),
    ])
}

/// `reply` with `input_tokens` of every `response.completed` usage set to `tokens`
/// (`total_tokens` follows; a `response.completed` without usage gets one). `None` when
/// the reply is not an event stream built from events (it is then served as scripted).
pub(crate) fn with_input_tokens(reply: &Reply, tokens: u64) -> Option<Reply> {
    let ReplyKind::Sse(events) = &reply.kind else {
        return None;
    };
    let events = events
        .iter()
        .map(|event| {
            let mut event = event.clone();
            if event.get("type").and_then(Value::as_str) == Some("response.completed") {
                set_input_tokens(&mut event, tokens);
            }
            event
        })
        .collect();
    let mut patched = reply.clone();
    patched.kind = ReplyKind::Sse(events);
    Some(patched)
}

fn set_input_tokens(event: &mut Value, tokens: u64) {
    let Some(response) = event.get_mut("response").and_then(Value::as_object_mut) else {
        return;
    };
    let usage = response
        .entry("usage")
        .or_insert_with(|| json!({"input_tokens": 0, "output_tokens": 0}));
    let Some(usage) = usage.as_object_mut() else {
        return;
    };
    let output = usage
        .get("output_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    usage.insert("input_tokens".to_string(), json!(tokens));
    usage.insert(
        "total_tokens".to_string(),
        json!(tokens.saturating_add(output)),
    );
}
