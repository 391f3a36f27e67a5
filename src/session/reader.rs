//! Reading a rollout back: the thread id, the conversation history (every
//! `response_item` in order, with `compacted` replacement histories applied,
//! then repaired so that every tool call has an output, see `repair`), the
//! thread-cumulative usage (the last `token_count` total) and the settings of
//! the last recorded turn.
//!
//! The file is read as bytes: a torn line (a crash while appending, possibly
//! inside a multi-byte character), a line that is not UTF-8 or not JSON is
//! skipped and logged at debug level; it never makes a thread unresumable.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::repair::repair;
use super::SessionError;
use crate::runner::events::Usage;

/// What a resumed thread starts from.
#[derive(Debug, Clone)]
pub struct ResumedThread {
    /// The thread id (from `session_meta`).
    pub thread_id: String,
    /// The conversation as recorded, initial context included, each item
    /// as its JSON text.
    pub history: Vec<Box<RawValue>>,
    /// Thread-cumulative usage so far.
    pub usage: Usage,
    /// The cwd of the last recorded turn (else of `session_meta`).
    pub cwd: Option<PathBuf>,
    /// The `sandbox_policy` of the last recorded turn.
    pub sandbox_policy: Option<Value>,
    /// `session_meta.model_provider`.
    pub model_provider: Option<String>,
}

/// One line, with the payload left unparsed until its kind is known.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    payload: &'a RawValue,
}

/// A `compacted` payload: newer builds carry the history that replaces
/// everything before it.
#[derive(Deserialize)]
struct Compacted {
    replacement_history: Option<Vec<Box<RawValue>>>,
}

/// The `type` of an `event_msg` payload.
#[derive(Deserialize)]
struct EventKind<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

/// Read and replay the rollout at `path`.
pub fn load(path: &Path) -> Result<ResumedThread, SessionError> {
    let bytes = std::fs::read(path).map_err(|source| SessionError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &bytes)
}

/// The lines of a rollout (`bytes`, read from `path`) that are UTF-8, with
/// their 1-based numbers; the others are skipped and logged at debug level.
pub fn text_lines<'a>(path: &'a Path, bytes: &'a [u8]) -> impl Iterator<Item = (usize, &'a str)> {
    byte_lines(bytes)
        .enumerate()
        .filter_map(move |(n, line)| match std::str::from_utf8(line) {
            Ok(text) => Some((n + 1, text)),
            Err(err) => {
                tracing::debug!(line = n + 1, cause = %err, path = %path.display(), "skipping a rollout line that is not UTF-8");
                None
            }
        })
}

/// The LF-separated lines of `bytes` (a last line without LF included).
fn byte_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b'\n', current) {
            Some(end) => {
                rest = Some(&current[end + 1..]);
                Some(&current[..end])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Replay rollout `bytes` (read from `path`).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ResumedThread, SessionError> {
    let mut thread_id = None;
    let mut resumed = ResumedThread {
        thread_id: String::new(),
        history: Vec::new(),
        usage: Usage::default(),
        cwd: None,
        sandbox_policy: None,
        model_provider: None,
    };
    for (n, raw) in text_lines(path, bytes) {
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = match serde_json::from_str(raw) {
            Ok(line) => line,
            Err(err) => {
                tracing::debug!(line = n, cause = %err, path = %path.display(), "skipping an unreadable rollout line");
                continue;
            }
        };
        // Only the payloads that matter are parsed into trees; the rest (most
        // `event_msg` records) are skipped without allocating.
        let parse = |raw: &RawValue| serde_json::from_str::<Value>(raw.get()).ok();
        match line.kind.as_ref() {
            "session_meta" if thread_id.is_none() => {
                let Some(payload) = parse(line.payload) else {
                    continue;
                };
                // 0.169 nests the meta under `meta`; classic has it flat.
                let meta = payload.get("meta").unwrap_or(&payload);
                thread_id = meta.get("id").and_then(Value::as_str).map(str::to_string);
                resumed.cwd = meta.get("cwd").and_then(Value::as_str).map(PathBuf::from);
                resumed.model_provider = meta
                    .get("model_provider")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            // Items are kept as the JSON text they were recorded as: they are
            // only ever sent back, so they are never parsed into trees.
            "response_item" => resumed.history.push(line.payload.to_owned()),
            "compacted" => {
                if let Ok(Compacted {
                    replacement_history: Some(items),
                }) = serde_json::from_str(line.payload.get())
                {
                    resumed.history = items;
                }
            }
            "turn_context" => {
                let Some(payload) = parse(line.payload) else {
                    continue;
                };
                if let Some(cwd) = payload.get("cwd").and_then(Value::as_str) {
                    resumed.cwd = Some(PathBuf::from(cwd));
                }
                resumed.sandbox_policy = payload.get("sandbox_policy").cloned();
            }
            "event_msg" => {
                let is_token_count = serde_json::from_str::<EventKind<'_>>(line.payload.get())
                    .is_ok_and(|event| event.kind == "token_count");
                if !is_token_count {
                    continue;
                }
                if let Some(total) = parse(line.payload)
                    .as_ref()
                    .and_then(|p| p.pointer("/info/total_token_usage"))
                {
                    resumed.usage = usage_from(total);
                }
            }
            _ => {}
        }
    }
    resumed.thread_id = thread_id.ok_or_else(|| SessionError::NoMeta(path.to_path_buf()))?;
    let (inserted, dropped) = repair(&mut resumed.history);
    if inserted + dropped > 0 {
        tracing::debug!(
            inserted,
            dropped,
            path = %path.display(),
            "repaired tool call outputs of the replayed history"
        );
    }
    Ok(resumed)
}

/// The model provider and latest recorded cwd of the rollout at `path`, read
/// without replaying it: only the first line and the last `turn_context` line
/// are parsed (for `--last`, which may look at many large rollouts).
pub fn summary(path: &Path) -> Option<(Option<String>, Option<PathBuf>)> {
    let bytes = std::fs::read(path).ok()?;
    let (_, first_line) = text_lines(path, &bytes).next()?;
    let first: Line = serde_json::from_str(first_line).ok()?;
    if first.kind != "session_meta" {
        return None;
    }
    let payload: Value = serde_json::from_str(first.payload.get()).ok()?;
    let meta = payload.get("meta").unwrap_or(&payload);
    let str_field = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_string);
    let provider = str_field(meta, "model_provider");
    let mut cwd = str_field(meta, "cwd");
    let lines: Vec<&[u8]> = byte_lines(&bytes).collect();
    let last_turn = lines
        .into_iter()
        .rev()
        .filter(|line| memchr::memmem::find(line, b"\"turn_context\"").is_some())
        .filter_map(|line| std::str::from_utf8(line).ok())
        .find_map(|line| {
            serde_json::from_str::<Line>(line)
                .ok()
                .filter(|l| l.kind == "turn_context")
                .and_then(|l| serde_json::from_str::<Value>(l.payload.get()).ok())
        });
    if let Some(turn) = last_turn {
        cwd = str_field(&turn, "cwd").or(cwd);
    }
    Some((provider, cwd.map(PathBuf::from)))
}

/// A recorded usage object; absent counters are 0 (classic files lack some).
fn usage_from(value: &Value) -> Usage {
    let field = |name: &str| value.get(name).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input_tokens: field("input_tokens"),
        cached_input_tokens: field("cached_input_tokens"),
        cache_write_input_tokens: field("cache_write_input_tokens"),
        output_tokens: field("output_tokens"),
        reasoning_output_tokens: field("reasoning_output_tokens"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn replays_items_usage_and_tolerates_a_torn_line() {
        let text = concat!(
            r#"{"timestamp":"t","type":"session_meta","payload":{"id":"abc","cwd":"/a","model_provider":"mock"}}"#,
            "\n",
            r#"{"timestamp":"t","type":"response_item","payload":{"type":"message","role":"user"}}"#,
            "\n",
            r#"garbage"#,
            "\n",
            r#"{"timestamp":"t","type":"turn_context","payload":{"cwd":"/b","sandbox_policy":{"mode":"read-only"}}}"#,
            "\n",
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":100,"output_tokens":5}}}}"#,
            "\n",
            r#"{"timestamp":"t","type":"response_item","payload":{"type":"mess"#,
        );
        let resumed = parse(Path::new("x.jsonl"), text.as_bytes()).unwrap();
        assert_eq!(resumed.thread_id, "abc");
        assert_eq!(resumed.history.len(), 1);
        assert_eq!(resumed.usage.input_tokens, 100);
        assert_eq!(resumed.usage.output_tokens, 5);
        assert_eq!(resumed.cwd, Some(PathBuf::from("/b")));
        assert_eq!(resumed.model_provider.as_deref(), Some("mock"));
    }

    #[test]
    fn lines_that_are_not_utf8_are_skipped() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(
            br#"{"timestamp":"t","type":"session_meta","payload":{"id":"abc","cwd":"/a"}}"#,
        );
        bytes.push(b'\n');
        // A record torn inside a two-byte character, then a complete one.
        bytes.extend_from_slice(
            "{\"timestamp\":\"t\",\"type\":\"response_item\",\"payload\":{\"text\":\"\u{e9}\"}}"
                .as_bytes(),
        );
        bytes.truncate(bytes.len() - 5);
        bytes.push(b'\n');
        bytes.extend_from_slice(b"\xff\xfe garbage\n");
        bytes.extend_from_slice(
            br#"{"timestamp":"t","type":"response_item","payload":{"type":"message","role":"user"}}"#,
        );
        bytes.push(b'\n');
        let resumed = parse(Path::new("x.jsonl"), &bytes).unwrap();
        assert_eq!(resumed.thread_id, "abc");
        assert_eq!(resumed.history.len(), 1);
    }

    #[test]
    fn a_call_without_output_is_answered_on_replay() {
        let text = concat!(
            r#"{"timestamp":"t","type":"session_meta","payload":{"id":"abc"}}"#,
            "\n",
            r#"{"timestamp":"t","type":"response_item","payload":{"type":"function_call","call_id":"c1","name":"exec_command","arguments":"{}"}}"#,
            "\n",
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"turn_aborted","reason":"interrupted"}}"#,
            "\n",
        );
        let resumed = parse(Path::new("x.jsonl"), text.as_bytes()).unwrap();
        let items: Vec<&str> = resumed.history.iter().map(|i| i.get()).collect();
        assert_eq!(
            items,
            vec![
                r#"{"type":"function_call","call_id":"c1","name":"exec_command","arguments":"{}"}"#,
                r#"{"type":"function_call_output","call_id":"c1","output":"aborted"}"#,
            ]
        );
    }

    #[test]
    fn a_rollout_without_meta_is_an_error() {
        let err = parse(Path::new("x.jsonl"), b"").unwrap_err();
        assert!(matches!(err, SessionError::NoMeta(_)));
    }
}
