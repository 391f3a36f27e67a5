//! A client-side tool call as the model made it, and the output item that
//! answers it (SPEC §7.4).

use serde_json::{json, Value};

/// A client-side tool call taken from a model response.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolCall {
    /// `function_call`: JSON arguments.
    Function {
        name: String,
        call_id: String,
        arguments: String,
    },
    /// `custom_tool_call`: freeform input.
    Custom {
        name: String,
        call_id: String,
        input: String,
    },
    /// Legacy `local_shell_call`.
    LocalShell { call_id: String },
}

impl ToolCall {
    /// Recognise a tool call among a response's output items.
    pub fn from_item(item: &Value) -> Option<ToolCall> {
        let field = |name: &str| {
            item.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        // A call made through the Responses `namespace` field names its tool inside it.
        let name = match item.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() => format!("{ns}__{}", field("name")),
            _ => field("name"),
        };
        match item.get("type")?.as_str()? {
            "function_call" => Some(ToolCall::Function {
                name,
                call_id: field("call_id"),
                arguments: field("arguments"),
            }),
            "custom_tool_call" => Some(ToolCall::Custom {
                name,
                call_id: field("call_id"),
                input: field("input"),
            }),
            "local_shell_call" => Some(ToolCall::LocalShell {
                call_id: item
                    .get("call_id")
                    .or_else(|| item.get("id"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            }),
            _ => None,
        }
    }

    /// The tool name (`local_shell` for legacy shell calls).
    pub fn name(&self) -> &str {
        match self {
            ToolCall::Function { name, .. } | ToolCall::Custom { name, .. } => name,
            ToolCall::LocalShell { .. } => "local_shell",
        }
    }

    /// The call id the output must name.
    pub fn call_id(&self) -> &str {
        match self {
            ToolCall::Function { call_id, .. }
            | ToolCall::Custom { call_id, .. }
            | ToolCall::LocalShell { call_id } => call_id,
        }
    }

    /// The output item answering this call with `output`.
    pub fn output(&self, output: CallOutput) -> Value {
        let output = match output {
            CallOutput::Text(text) => Value::String(text),
            CallOutput::Content(items) => Value::Array(items),
        };
        match self {
            ToolCall::Function { call_id, .. } | ToolCall::LocalShell { call_id } => {
                json!({"type": "function_call_output", "call_id": call_id, "output": output})
            }
            ToolCall::Custom { call_id, .. } => {
                json!({"type": "custom_tool_call_output", "call_id": call_id, "output": output})
            }
        }
    }
}

/// The `output` of a call's output item (SPEC §7.4): plain text, which is
/// what almost every tool answers, or a list of content items
/// (`input_text` / `input_image` parts) when the answer carries images.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutput {
    /// A string `output`.
    Text(String),
    /// An array `output` of Responses input content items.
    Content(Vec<Value>),
}

impl From<&str> for CallOutput {
    fn from(text: &str) -> CallOutput {
        CallOutput::Text(text.to_string())
    }
}

impl From<String> for CallOutput {
    fn from(text: String) -> CallOutput {
        CallOutput::Text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function_call() -> ToolCall {
        ToolCall::Function {
            name: "f".to_string(),
            call_id: "call_1".to_string(),
            arguments: "{}".to_string(),
        }
    }

    #[test]
    fn text_output_is_a_string() {
        assert_eq!(
            function_call().output("hi".into()),
            json!({"type": "function_call_output", "call_id": "call_1", "output": "hi"})
        );
    }

    #[test]
    fn content_output_is_an_array() {
        let part = json!({"type": "input_text", "text": "hi"});
        assert_eq!(
            function_call().output(CallOutput::Content(vec![part.clone()])),
            json!({"type": "function_call_output", "call_id": "call_1", "output": [part]})
        );
    }
}
