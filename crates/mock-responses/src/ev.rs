//! Constructors for Responses-API streaming events.
//!
//! Every function returns a [`serde_json::Value`] whose `"type"` field names the SSE
//! event; [`Reply::sse`](crate::Reply::sse) writes it as `event: <type>` followed by
//! `data: <compact json>`.

use serde_json::{json, Value};

/// `response.created`: `{"type":"response.created","response":{"id":<resp_id>}}`.
pub fn created(resp_id: &str) -> Value {
    json!({"type": "response.created", "response": {"id": resp_id}})
}

/// `response.completed` whose usage counters are all zero.
pub fn completed(resp_id: &str) -> Value {
    completed_with_usage(resp_id, 0, 0, 0, 0)
}

/// `response.completed` with a usage block:
/// `{"input_tokens","input_tokens_details":{"cached_tokens"},"output_tokens",
/// "output_tokens_details":{"reasoning_tokens"},"total_tokens"}` where
/// `total_tokens = input + output`.
pub fn completed_with_usage(
    resp_id: &str,
    input: u64,
    cached: u64,
    output: u64,
    reasoning: u64,
) -> Value {
    json!({
        "type": "response.completed",
        "response": {
            "id": resp_id,
            "usage": {
                "input_tokens": input,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": output,
                "output_tokens_details": {"reasoning_tokens": reasoning},
                "total_tokens": input.saturating_add(output),
            }
        }
    })
}

/// `response.output_item.done` carrying an arbitrary `item`.
pub fn output_item_done(item: Value) -> Value {
    json!({"type": "response.output_item.done", "item": item})
}

/// `response.output_item.added` carrying an arbitrary `item`.
pub fn output_item_added(item: Value) -> Value {
    json!({"type": "response.output_item.added", "item": item})
}

/// `response.output_item.done` with an assistant message:
/// `{"type":"message","role":"assistant","id","content":[{"type":"output_text","text"}]}`.
pub fn message(id: &str, text: &str) -> Value {
    output_item_done(json!({
        "type": "message",
        "role": "assistant",
        "id": id,
        "content": [{"type": "output_text", "text": text}],
    }))
}

/// `response.output_item.added` with an assistant message whose `content` is empty.
pub fn message_added(id: &str) -> Value {
    output_item_added(json!({
        "type": "message",
        "role": "assistant",
        "id": id,
        "content": [],
    }))
}

/// `response.output_text.delta`:
/// `{"type":"response.output_text.delta","item_id","output_index":0,"content_index":0,"delta"}`.
pub fn output_text_delta(item_id: &str, delta: &str) -> Value {
    json!({
        "type": "response.output_text.delta",
        "item_id": item_id,
        "output_index": 0,
        "content_index": 0,
        "delta": delta,
    })
}

/// `response.output_item.done` with a reasoning item:
/// `{"type":"reasoning","id","summary":[{"type":"summary_text","text"},..],
/// "encrypted_content":"enc-<id>"}`.
pub fn reasoning(id: &str, summaries: &[&str]) -> Value {
    let summary: Vec<Value> = summaries
        .iter()
        .map(|text| json!({"type": "summary_text", "text": text}))
        .collect();
    output_item_done(json!({
        "type": "reasoning",
        "id": id,
        "summary": summary,
        "encrypted_content": format!("enc-{id}"),
    }))
}

/// `response.reasoning_summary_text.delta`:
/// `{"type":"response.reasoning_summary_text.delta","item_id","output_index":0,"summary_index","delta"}`.
pub fn reasoning_summary_delta(item_id: &str, summary_index: u64, delta: &str) -> Value {
    json!({
        "type": "response.reasoning_summary_text.delta",
        "item_id": item_id,
        "output_index": 0,
        "summary_index": summary_index,
        "delta": delta,
    })
}

/// `response.output_item.done` with a function call:
/// `{"type":"function_call","id":"fc_<call_id>","call_id","name","arguments"}`.
pub fn function_call(call_id: &str, name: &str, arguments: &str) -> Value {
    output_item_done(json!({
        "type": "function_call",
        "id": format!("fc_{call_id}"),
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }))
}

/// `response.output_item.done` with a custom (freeform) tool call:
/// `{"type":"custom_tool_call","id":"ctc_<call_id>","call_id","name","input"}`.
pub fn custom_tool_call(call_id: &str, name: &str, input: &str) -> Value {
    output_item_done(json!({
        "type": "custom_tool_call",
        "id": format!("ctc_{call_id}"),
        "call_id": call_id,
        "name": name,
        "input": input,
    }))
}

/// `response.output_item.done` with a finished web search:
/// `{"type":"web_search_call","id","status":"completed","action":{"type":"search","query"}}`.
pub fn web_search_call(id: &str, query: &str) -> Value {
    output_item_done(json!({
        "type": "web_search_call",
        "id": id,
        "status": "completed",
        "action": {"type": "search", "query": query},
    }))
}

/// `response.failed`: `{"type":"response.failed","response":{"id","error":{"code","message"}}}`.
pub fn failed(resp_id: &str, code: &str, message: &str) -> Value {
    json!({
        "type": "response.failed",
        "response": {"id": resp_id, "error": {"code": code, "message": message}},
    })
}

/// `response.incomplete`:
/// `{"type":"response.incomplete","response":{"id","incomplete_details":{"reason"}}}`.
pub fn incomplete(resp_id: &str, reason: &str) -> Value {
    json!({
        "type": "response.incomplete",
        "response": {"id": resp_id, "incomplete_details": {"reason": reason}},
    })
}
