//! Payload shapes of the records this runner writes (SPEC §16.1). Logic-free
//! apart from gathering the values.

use serde_json::{json, Value};

use super::git;
use crate::config::Config;
use crate::runner::context;
use crate::runner::events::Usage;
use crate::runner::model::rate_limits::RateLimitSnapshot;

/// `session_meta`: the first line of a new rollout.
pub fn session_meta(
    config: &Config,
    thread_id: &str,
    timestamp: &str,
    instructions: &str,
) -> Value {
    let mut meta = json!({
        "id": thread_id,
        "timestamp": timestamp,
        "cwd": config.cwd,
        "originator": config.originator,
        "cli_version": env!("CARGO_PKG_VERSION"),
        "instructions": instructions,
        "source": "exec",
        "model_provider": config.provider.id,
    });
    if let Some(source) = &config.thread_source {
        meta["thread_source"] = json!(source);
    }
    if let Some(info) = context::git_root(&config.cwd).and_then(|root| git::info(&root)) {
        meta["git"] = info;
    }
    meta
}

/// `turn_context`: the settings a turn runs with.
pub fn turn_context(config: &Config) -> Value {
    json!({
        "cwd": config.cwd,
        "approval_policy": "never",
        "sandbox_policy": config.sandbox,
        "model": config.model,
        "effort": config.reasoning_effort,
        "summary": config.reasoning_summary,
    })
}

/// The fields of a `token_count` event: the thread total and the last
/// response's usage (`info` is null when that response reported none), and a
/// rate-limit snapshot (null when the response headers had none).
pub fn token_count(
    total: &Usage,
    last: Option<&Usage>,
    rate_limits: Option<&RateLimitSnapshot>,
) -> Value {
    let info = last.map(|last| {
        json!({
            "total_token_usage": usage(total),
            "last_token_usage": usage(last),
            "model_context_window": null,
        })
    });
    json!({"info": info, "rate_limits": rate_limits})
}

fn usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "cached_input_tokens": u.cached_input_tokens,
        "cache_write_input_tokens": u.cache_write_input_tokens,
        "output_tokens": u.output_tokens,
        "reasoning_output_tokens": u.reasoning_output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
    })
}

/// The fields of a `user_message` event for the user input `items`: the text
/// parts joined, and the images' URLs.
pub fn user_message(items: &[Value]) -> Value {
    let parts = items
        .iter()
        .filter(|item| item.get("role").and_then(Value::as_str) == Some("user"))
        .filter_map(|item| item.get("content").and_then(Value::as_array))
        .flatten();
    let mut message = String::new();
    let mut images = Vec::new();
    for part in parts {
        match part.get("type").and_then(Value::as_str) {
            Some("input_text") => {
                message.push_str(part.get("text").and_then(Value::as_str).unwrap_or_default())
            }
            Some("input_image") => images.extend(part.get("image_url").cloned()),
            _ => {}
        }
    }
    json!({"message": message, "images": images})
}

/// Whether the settings a resumed thread last ran with differ from `config`'s
/// in what the environment context tells the model (cwd, sandbox).
pub fn environment_changed(resumed: &super::ResumedThread, config: &Config) -> bool {
    let cwd_changed = resumed.cwd.as_deref() != Some(config.cwd.as_path());
    let sandbox_changed = match (
        &resumed.sandbox_policy,
        serde_json::to_value(&config.sandbox),
    ) {
        (Some(recorded), Ok(current)) => *recorded != current,
        (None, _) | (_, Err(_)) => false,
    };
    cwd_changed || sandbox_changed
}
