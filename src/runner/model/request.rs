//! The Responses request body (SPEC §7.3).

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::catalog::ModelInfo;
use crate::config::file::{ReasoningSummary, Verbosity};
use crate::config::Config;

/// Name of the `text.format` schema for `--output-schema`.
const OUTPUT_SCHEMA_NAME: &str = "codex_output_schema";

/// `tool_choice` of a summary request: the model must answer in text.
const SUMMARY_TOOL_CHOICE: &str = "none";

/// Request-invariant parts of the body, computed once per turn.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    model: String,
    instructions: String,
    tools: Vec<Value>,
    parallel_tool_calls: bool,
    reasoning: Option<Value>,
    text: Option<Value>,
    /// `text` without the output schema: a summary is prose.
    summary_text: Option<Value>,
    prompt_cache_key: String,
}

#[derive(Serialize)]
struct Body<'a, I: Serialize> {
    model: &'a str,
    instructions: &'a str,
    input: I,
    tools: &'a [Value],
    tool_choice: &'static str,
    parallel_tool_calls: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<&'a Value>,
    store: bool,
    stream: bool,
    include: Vec<&'static str>,
    prompt_cache_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a Value>,
}

/// The body of `POST /responses/compact`.
#[derive(Serialize)]
struct CompactBody<'a> {
    model: &'a str,
    input: &'a [Box<RawValue>],
    instructions: &'a str,
}

impl RequestTemplate {
    /// Build the template from config, model metadata, instructions and tools.
    pub fn new(
        config: &Config,
        info: &ModelInfo,
        instructions: String,
        tools: Vec<Value>,
        thread_id: &str,
    ) -> RequestTemplate {
        let reasoning = info.reasoning(config).map(|settings| {
            let mut reasoning = serde_json::Map::new();
            if let Some(effort) = settings.effort {
                reasoning.insert("effort".into(), json!(effort));
            }
            if settings.summary != ReasoningSummary::None {
                reasoning.insert("summary".into(), json!(settings.summary));
            }
            Value::Object(reasoning)
        });
        let verbosity: Option<Verbosity> = if info.supports_verbosity {
            config.verbosity.or(info.default_verbosity)
        } else {
            None
        };
        let mut text = serde_json::Map::new();
        if let Some(verbosity) = verbosity {
            text.insert("verbosity".into(), json!(verbosity));
        }
        let summary_text = (!text.is_empty()).then(|| Value::Object(text.clone()));
        if let Some(schema) = &config.output_schema {
            text.insert(
                "format".into(),
                json!({"type": "json_schema", "name": OUTPUT_SCHEMA_NAME, "strict": true, "schema": schema}),
            );
        }
        RequestTemplate {
            model: config.model.clone(),
            instructions,
            tools,
            parallel_tool_calls: info.parallel_tool_calls,
            reasoning,
            text: (!text.is_empty()).then_some(Value::Object(text)),
            summary_text,
            prompt_cache_key: thread_id.to_string(),
        }
    }

    /// Serialise the body for this history.
    pub fn body(&self, input: &[Box<RawValue>]) -> Result<Vec<u8>, serde_json::Error> {
        self.serialise(input, "auto", self.text.as_ref())
    }

    /// Serialise the body of a summary request (SPEC §20): the same request,
    /// tools included so that the provider's prompt cache still matches the
    /// history, but with `tool_choice: "none"` (the answer must be text) and
    /// without the `--output-schema` format (a summary is prose).
    pub fn summary_body(&self, input: &[&RawValue]) -> Result<Vec<u8>, serde_json::Error> {
        self.serialise(input, SUMMARY_TOOL_CHOICE, self.summary_text.as_ref())
    }

    /// Serialise the body of `POST /responses/compact` (SPEC §20, remote
    /// procedure): `{"model","input","instructions"}`.
    pub fn compact_body(&self, input: &[Box<RawValue>]) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&CompactBody {
            model: &self.model,
            input,
            instructions: &self.instructions,
        })
    }

    fn serialise<I: Serialize>(
        &self,
        input: I,
        tool_choice: &'static str,
        text: Option<&Value>,
    ) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&Body {
            model: &self.model,
            instructions: &self.instructions,
            input,
            tools: &self.tools,
            tool_choice,
            parallel_tool_calls: self.parallel_tool_calls,
            reasoning: self.reasoning.as_ref(),
            store: false,
            stream: true,
            include: if self.reasoning.is_some() {
                vec!["reasoning.encrypted_content"]
            } else {
                Vec::new()
            },
            prompt_cache_key: &self.prompt_cache_key,
            text,
        })
    }
}
