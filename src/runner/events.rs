//! JSONL wire types of `--json` (SPEC §4). Logic-free: shapes only.
//!
//! Field order follows the reference (`type` first, then fields; inside items
//! `id`, then `type`, then the item's fields). Optional fields serialise as `null`.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// One line of `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ThreadEvent {
    /// First line of every run; resumed runs repeat the original id.
    #[serde(rename = "thread.started")]
    ThreadStarted { thread_id: String },
    /// The user turn begins.
    #[serde(rename = "turn.started")]
    TurnStarted {},
    /// The turn ended normally; usage is thread-cumulative.
    #[serde(rename = "turn.completed")]
    TurnCompleted { usage: Usage },
    /// The turn ended with a fatal error (preceded by an `error` event with the same text).
    #[serde(rename = "turn.failed")]
    TurnFailed { error: ThreadError },
    /// An item began (commands, file changes, MCP calls, todo lists, web searches).
    #[serde(rename = "item.started")]
    ItemStarted { item: ThreadItem },
    /// An item changed (todo list updates).
    #[serde(rename = "item.updated")]
    ItemUpdated { item: ThreadItem },
    /// An item reached its final state.
    #[serde(rename = "item.completed")]
    ItemCompleted { item: ThreadItem },
    /// A non-item error notice: stream retry notices and the fatal error before `turn.failed`.
    #[serde(rename = "error")]
    Error { message: String },
    /// The thread's history was compacted (SPEC §20). Only the human transcript
    /// shows it: `--json` prints nothing for it, as 0.169.
    #[serde(rename = "context.compacted")]
    ContextCompacted {},
}

/// The five token counters, thread-cumulative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub cache_write_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
}

impl Usage {
    /// Add another request's usage to this total.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.cache_write_input_tokens += other.cache_write_input_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_output_tokens += other.reasoning_output_tokens;
    }

    /// The human `tokens used` figure: non-cached input plus output.
    pub fn blended_total(&self) -> u64 {
        self.input_tokens.saturating_sub(self.cached_input_tokens) + self.output_tokens
    }
}

/// `turn.failed.error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadError {
    pub message: String,
}

/// An item with its process-unique id (`item_<n>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadItem {
    pub id: String,
    #[serde(flatten)]
    pub details: ItemDetails,
}

/// The kinds of item (SPEC §4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemDetails {
    /// An assistant message (for `--output-schema`, the raw JSON text).
    AgentMessage { text: MessageText },
    /// A reasoning summary.
    Reasoning { text: String },
    /// A command the model ran.
    CommandExecution {
        command: String,
        aggregated_output: String,
        exit_code: Option<i32>,
        status: CommandStatus,
    },
    /// Files changed by a patch.
    FileChange {
        changes: Vec<FileUpdateChange>,
        status: PatchStatus,
    },
    /// An MCP tool call.
    McpToolCall {
        server: String,
        tool: String,
        arguments: Value,
        result: Option<McpToolCallResult>,
        error: Option<ThreadError>,
        status: McpToolCallStatus,
    },
    /// A hosted web search.
    WebSearch { query: String, action: Value },
    /// The agent's plan.
    TodoList { items: Vec<TodoItem> },
    /// A non-fatal warning.
    Error { message: String },
}

/// `command_execution.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandStatus {
    InProgress,
    Completed,
    Failed,
    Declined,
}

/// `file_change.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchStatus {
    InProgress,
    Completed,
    Failed,
}

/// One entry of `file_change.changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUpdateChange {
    pub path: String,
    pub kind: PatchChangeKind,
}

/// `add`, `delete` or `update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchChangeKind {
    Add,
    Delete,
    Update,
}

/// `mcp_tool_call.result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolCallResult {
    pub content: Vec<Value>,
    pub structured_content: Option<Value>,
}

/// `mcp_tool_call.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum McpToolCallStatus {
    InProgress,
    Completed,
    Failed,
}

/// One step of a `todo_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoItem {
    pub text: String,
    pub completed: bool,
}

/// The text of an agent message, held as its JSON string literal.
///
/// A message can be megabytes long and is written three times (the stdout
/// event, the rollout's `agent_message` and `task_complete`); holding it
/// escaped makes each write a copy, and cloning it is free. The plain text is
/// produced on demand (human output, `-o`).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageText(Arc<JsonString>);

/// A JSON string literal, quotes included.
#[derive(Debug)]
struct JsonString(Box<RawValue>);

impl PartialEq for JsonString {
    fn eq(&self, other: &JsonString) -> bool {
        self.0.get() == other.0.get()
    }
}

impl MessageText {
    /// The message `text`.
    pub fn new(text: &str) -> MessageText {
        // Serialising a string cannot fail; `null` is never reached.
        let literal =
            serde_json::value::to_raw_value(text).unwrap_or_else(|_| RawValue::NULL.to_owned());
        MessageText(Arc::new(JsonString(literal)))
    }

    /// A message from a JSON value that is already a string literal; `None`
    /// when it is not one.
    pub fn from_literal(literal: Box<RawValue>) -> Option<MessageText> {
        literal
            .get()
            .starts_with('"')
            .then(|| MessageText(Arc::new(JsonString(literal))))
    }

    /// The JSON string literal.
    pub fn literal(&self) -> &RawValue {
        &self.0 .0
    }

    /// The plain text.
    pub fn text(&self) -> String {
        serde_json::from_str(self.0 .0.get()).unwrap_or_default()
    }
}

impl Serialize for MessageText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.literal().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MessageText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MessageText, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(MessageText::new(&text))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn shapes_match_the_reference() {
        let line = serde_json::to_string(&ThreadEvent::TurnStarted {}).unwrap();
        assert_eq!(line, r#"{"type":"turn.started"}"#);
        let item = ThreadEvent::ItemCompleted {
            item: ThreadItem {
                id: "item_0".into(),
                details: ItemDetails::CommandExecution {
                    command: "bash -lc ls".into(),
                    aggregated_output: String::new(),
                    exit_code: None,
                    status: CommandStatus::InProgress,
                },
            },
        };
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"bash -lc ls","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#
        );
        let usage = ThreadEvent::TurnCompleted {
            usage: Usage {
                input_tokens: 1,
                ..Usage::default()
            },
        };
        assert_eq!(
            serde_json::to_string(&usage).unwrap(),
            r#"{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":0,"reasoning_output_tokens":0}}"#
        );
    }

    #[test]
    fn message_text_serialises_as_its_string() {
        let text = MessageText::new("a \"quoted\"\nline");
        assert_eq!(text.text(), "a \"quoted\"\nline");
        let item = ItemDetails::AgentMessage { text };
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"type":"agent_message","text":"a \"quoted\"\nline"}"#
        );
        let back: ItemDetails =
            serde_json::from_str(&serde_json::to_string(&item).unwrap()).unwrap();
        assert_eq!(back, item);
        assert!(MessageText::from_literal(RawValue::from_string("12".into()).unwrap()).is_none());
    }
}
