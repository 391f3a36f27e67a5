//! JSON helpers: expected JSONL events, thread-id normalisation and accessors for
//! recorded request bodies.

use anyhow::{bail, ensure, Context, Result};
use mock_responses::RecordedRequest;
use serde_json::{json, Value};

/// Placeholder that replaces the real thread id in normalised events.
pub const THREAD_ID: &str = "<thread_id>";

/// Check that `id` is a hyphenated UUID of version 7.
pub fn assert_uuid_v7(id: &str) -> Result<()> {
    let uuid = uuid::Uuid::parse_str(id).with_context(|| format!("not a UUID: {id:?}"))?;
    ensure!(
        uuid.get_version_num() == 7,
        "thread id {id} is UUID version {}, expected 7",
        uuid.get_version_num()
    );
    ensure!(
        uuid.hyphenated().to_string() == id,
        "thread id {id} is not in lowercase hyphenated form"
    );
    Ok(())
}

/// Require `thread.started` first, check its id, and replace it by [`THREAD_ID`].
pub fn normalize_events(mut events: Vec<Value>) -> Result<(String, Vec<Value>)> {
    let Some(first) = events.first_mut() else {
        bail!("no JSONL events on stdout");
    };
    ensure!(
        first.get("type") == Some(&json!("thread.started")),
        "first event is not thread.started: {first}"
    );
    let id = first
        .get("thread_id")
        .and_then(Value::as_str)
        .context("thread.started without a string thread_id")?
        .to_string();
    assert_uuid_v7(&id)?;
    first["thread_id"] = json!(THREAD_ID);
    Ok((id, events))
}

/// `{"type":"thread.started","thread_id":"<thread_id>"}`.
pub fn thread_started() -> Value {
    json!({"type": "thread.started", "thread_id": THREAD_ID})
}

/// `{"type":"turn.started"}`.
pub fn turn_started() -> Value {
    json!({"type": "turn.started"})
}

/// `turn.completed` with the five usage fields (`cache_write_input_tokens` = 0).
pub fn turn_completed(input: u64, cached: u64, output: u64, reasoning: u64) -> Value {
    json!({"type": "turn.completed", "usage": {
        "input_tokens": input,
        "cached_input_tokens": cached,
        "cache_write_input_tokens": 0,
        "output_tokens": output,
        "reasoning_output_tokens": reasoning,
    }})
}

/// `turn.failed` with `message`.
pub fn turn_failed(message: &str) -> Value {
    json!({"type": "turn.failed", "error": {"message": message}})
}

/// A top-level `error` event.
pub fn error_event(message: &str) -> Value {
    json!({"type": "error", "message": message})
}

/// The notice of stream retry `n` of 2 (the default `stream_max_retries`).
pub fn reconnecting(n: u32, detail: &str) -> Value {
    error_event(&format!("Reconnecting... {n}/2 ({detail})"))
}

/// The events of a run whose turn was retried twice with `detail` before
/// failing with the fatal `detail`.
pub fn retried_twice_then_fatal(detail: &str) -> Vec<Value> {
    let mut events = vec![
        thread_started(),
        turn_started(),
        reconnecting(1, detail),
        reconnecting(2, detail),
    ];
    events.extend(fatal(detail));
    events
}

/// The fatal pair: `error` then `turn.failed`, both with `message`.
pub fn fatal(message: &str) -> [Value; 2] {
    [error_event(message), turn_failed(message)]
}

/// `item.completed` with an `agent_message`.
pub fn agent_message(id: &str, text: &str) -> Value {
    json!({"type": "item.completed", "item": {"id": id, "type": "agent_message", "text": text}})
}

/// `item.completed` with a `reasoning` item.
pub fn reasoning_item(id: &str, text: &str) -> Value {
    json!({"type": "item.completed", "item": {"id": id, "type": "reasoning", "text": text}})
}

/// `item.completed` with an `error` (warning) item.
pub fn error_item(id: &str, message: &str) -> Value {
    json!({"type": "item.completed", "item": {"id": id, "type": "error", "message": message}})
}

/// A user `message` input item with one `input_text` part.
pub fn user_input(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
}

/// The text of a message input item (its text parts concatenated), if it is one.
pub fn message_text(item: &Value) -> Option<String> {
    if item.get("type").and_then(Value::as_str) != Some("message") {
        return None;
    }
    let parts = item.get("content")?.as_array()?;
    Some(
        parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
    )
}

/// The role of a message input item.
pub fn message_role(item: &Value) -> Option<&str> {
    item.get("role").and_then(Value::as_str)
}

/// Texts of all messages with `role` in a request's `input`, in order.
pub fn texts_with_role(request: &RecordedRequest, role: &str) -> Vec<String> {
    request
        .input()
        .iter()
        .filter(|item| message_role(item) == Some(role))
        .filter_map(message_text)
        .collect()
}

/// Text of the last item of a request's `input` (must be a message).
pub fn last_input_text(request: &RecordedRequest) -> Result<String> {
    let input = request.input();
    let last = input.last().context("request has an empty input")?;
    message_text(last).with_context(|| format!("last input item is not a message: {last}"))
}

/// The `<environment_context>` text of a request.
pub fn environment_context(request: &RecordedRequest) -> Result<String> {
    texts_with_role(request, "user")
        .into_iter()
        .find(|t| t.starts_with("<environment_context>"))
        .context("no <environment_context> user message in the request")
}
