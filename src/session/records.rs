//! Payload shapes of the records this runner writes (SPEC §16.1). Logic-free
//! apart from gathering the values.

use serde_json::{json, Value};

use super::git;
use crate::config::file::ReasoningSummary;
use crate::config::Config;
use crate::runner::context;
use crate::runner::events::Usage;
use crate::runner::model::catalog::Reasoning;
use crate::runner::model::rate_limits::RateLimitSnapshot;
use crate::sandbox::SandboxPolicy;

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
    if let Some(program) = config.cyber_access_program {
        meta["cyber_access_program"] = json!(program);
    }
    if let Some(info) = context::git_root(&config.cwd).and_then(|root| git::info(&root)) {
        meta["git"] = info;
    }
    meta
}

/// `turn_context`: the settings a turn runs with; `reasoning` is what the
/// requests carry (effort null and summary `none` without reasoning).
pub fn turn_context(config: &Config, reasoning: Option<Reasoning>) -> Value {
    json!({
        "cwd": config.cwd,
        "approval_policy": "never",
        "sandbox_policy": config.sandbox,
        "model": config.model,
        "effort": reasoning.and_then(|r| r.effort),
        "summary": reasoning.map_or(ReasoningSummary::None, |r| r.summary),
    })
}

/// The fields of a `token_count` event: the thread total and the last
/// response's usage (`info` is null when that response reported none), and a
/// rate-limit snapshot (null when the response headers had none).
pub fn token_count(
    total: &Usage,
    last: Option<&Usage>,
    rate_limits: Option<&RateLimitSnapshot>,
    model_context_window: u64,
) -> Value {
    let info = last.map(|last| {
        json!({
            "total_token_usage": usage(total),
            "last_token_usage": usage(last),
            "model_context_window": model_context_window,
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

/// A `compacted` record (SPEC §16.1, §20): the summary text (empty after the
/// remote procedure) and the history that replaces everything before it,
/// which resume replays.
#[derive(Debug, serde::Serialize)]
pub struct Compacted<'a> {
    /// The summary the model wrote.
    pub message: &'a str,
    /// The history the thread goes on with.
    pub replacement_history: &'a [Box<serde_json::value::RawValue>],
}

/// Output kept in an `exec_command_end` record, in tokens of about four bytes
/// (10,000 bytes, head and tail kept), so a noisy command cannot bloat the rollout.
pub const EXEC_END_OUTPUT_TOKENS: usize = 2_500;

/// The fields of an `exec_command_begin` event, recorded when a command
/// starts (its `exec_command_end` follows with the outcome).
pub fn exec_command_begin(call_id: &str, argv: &[String], cwd: &std::path::Path) -> Value {
    json!({
        "call_id": call_id,
        "command": argv,
        "cwd": cwd,
        "parsed_cmd": [],
        "source": "agent",
    })
}

/// The fields of a `patch_apply_begin` event: the patch is applied without
/// asking (exec never asks), `changes` as in `patch_apply_end`.
pub fn patch_apply_begin(call_id: &str, changes: Value) -> Value {
    json!({
        "call_id": call_id,
        "auto_approved": true,
        "changes": changes,
    })
}

/// The fields of an `mcp_tool_call_begin` event.
pub fn mcp_tool_call_begin(call_id: &str, invocation: &Value) -> Value {
    json!({
        "call_id": call_id,
        "invocation": invocation,
    })
}

/// The fields of an `exec_command_end` event. `aggregated_output` is already
/// bounded; `stdout`, `stderr` and `formatted_output` are written empty, as
/// the reference does in rollouts (the model's view is in the call output
/// item). `exit_code` is null for a command still running when its turn ended.
pub fn exec_command_end(
    call_id: &str,
    argv: &[String],
    cwd: &std::path::Path,
    aggregated_output: &str,
    exit_code: Option<i32>,
    duration: std::time::Duration,
    status: &str,
) -> Value {
    json!({
        "call_id": call_id,
        "command": argv,
        "cwd": cwd,
        "parsed_cmd": [],
        "source": "agent",
        "stdout": "",
        "stderr": "",
        "aggregated_output": aggregated_output,
        "exit_code": exit_code,
        "duration": duration,
        "formatted_output": "",
        "status": status,
    })
}

/// The fields of a `patch_apply_end` event: `changes` maps each absolute
/// path to `{"type": "add"|"delete"|"update"}` (updates also carry
/// `move_path`); file contents are not repeated (the patch is in the call item).
pub fn patch_apply_end(call_id: &str, success: bool, output: &str, changes: Value) -> Value {
    let (stdout, stderr) = if success { (output, "") } else { ("", output) };
    json!({
        "call_id": call_id,
        "stdout": stdout,
        "stderr": stderr,
        "success": success,
        "changes": changes,
        "status": if success { "completed" } else { "failed" },
    })
}

/// The fields of an `mcp_tool_call_end` event: the invocation, how long it
/// took, and `{"Ok": <CallToolResult>}` or `{"Err": "<message>"}`.
pub fn mcp_tool_call_end(
    call_id: &str,
    invocation: Value,
    duration: std::time::Duration,
    result: Result<Value, &str>,
) -> Value {
    let result = match result {
        Ok(value) => json!({"Ok": value}),
        Err(message) => json!({"Err": message}),
    };
    json!({
        "call_id": call_id,
        "invocation": invocation,
        "duration": duration,
        "result": result,
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
    cwd_changed || sandbox_changed(resumed.sandbox_policy.as_ref(), &config.sandbox)
}

/// Whether a recorded `sandbox_policy` differs from `current`. Classic
/// rollouts tag the policy with `mode`, 0.169 with `type`; both are read. A
/// policy that cannot be read counts as unchanged.
fn sandbox_changed(recorded: Option<&Value>, current: &SandboxPolicy) -> bool {
    let Some(mut recorded) = recorded.cloned() else {
        return false;
    };
    if let Some(map) = recorded.as_object_mut() {
        if !map.contains_key("mode") {
            if let Some(kind) = map.remove("type") {
                map.insert("mode".to_string(), kind);
            }
        }
    }
    serde_json::from_value::<SandboxPolicy>(recorded).is_ok_and(|policy| policy != *current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_policies_of_either_tag_are_compared() {
        let read_only = SandboxPolicy::ReadOnly;
        for same in [json!({"mode": "read-only"}), json!({"type": "read-only"})] {
            assert!(!sandbox_changed(Some(&same), &read_only), "{same}");
        }
        let open = json!({"type": "danger-full-access"});
        assert!(sandbox_changed(Some(&open), &read_only));
        let write =
            json!({"type": "workspace-write", "writable_roots": [], "network_access": true});
        assert!(sandbox_changed(Some(&write), &read_only));
        assert!(!sandbox_changed(None, &read_only));
        assert!(!sandbox_changed(
            Some(&json!({"type": "unknown"})),
            &read_only
        ));
    }
}
