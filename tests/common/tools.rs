//! Helpers for tool-call scenarios: scripted replies that call tools, and
//! lookups of call outputs and items.

use anyhow::{Context, Result};
use mock_responses::{ev, RecordedRequest, Reply};
use serde_json::Value;

/// A reply in which the model makes every call of `calls`
/// (`(call_id, tool name, arguments)`), in order, then completes.
pub fn calls_reply(resp_id: &str, calls: &[(&str, &str, Value)]) -> Reply {
    let mut events = vec![ev::created(resp_id)];
    events.extend(calls.iter().map(|(call_id, name, arguments)| {
        ev::function_call(call_id, name, &arguments.to_string())
    }));
    events.push(ev::completed(resp_id));
    Reply::sse(events)
}

/// A final reply: one assistant message `done`.
pub fn done_reply(resp_id: &str) -> Reply {
    Reply::sse(vec![
        ev::created(resp_id),
        ev::message("msg_done", "done"),
        ev::completed(resp_id),
    ])
}

/// Position of the `function_call_output` for `call_id` in a request's input.
pub fn output_position(request: &RecordedRequest, call_id: &str) -> Result<usize> {
    let input = request.input();
    input
        .iter()
        .position(|item| item["type"] == "function_call_output" && item["call_id"] == call_id)
        .with_context(|| format!("no function_call_output for {call_id} in {input:#?}"))
}

/// The `function_call_output` text for `call_id` in a request's input.
pub fn call_output(request: &RecordedRequest, call_id: &str) -> Result<String> {
    let position = output_position(request, call_id)?;
    request.input()[position]["output"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("output of {call_id} is not a string"))
}

/// The events whose item has type `kind`, in order.
pub fn item_events(events: &[Value], kind: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["item"]["type"] == kind)
        .cloned()
        .collect()
}

/// Names of the tools a request body advertises.
pub fn advertised_tools(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
