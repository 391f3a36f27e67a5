//! Context compaction (SPEC §20): a thread whose history nears the model's
//! context window goes on with a shorter history that carries the work over.
//!
//! **When.** After a response whose reported usage (input + output tokens: the
//! size of the context the next request starts from) reached the auto-compact
//! limit, if the turn goes on (the response called tools), the history is
//! compacted before the next request. The limit is
//! `model_auto_compact_token_limit`, else 90 % of the context window (the
//! catalogue's, or `model_context_window`); a limit of 0 or less turns this
//! off. Independently, a request the API refuses with
//! `context_length_exceeded` is compacted and retried once (the turn loop's
//! business).
//!
//! **Local procedure** (the default). The model is sent the history plus a
//! request for a hand-off note (`prompts/compact_prompt.md`), with
//! `tool_choice: "none"`; the last assistant text of its answer is the
//! summary. If that request itself overflows, the oldest conversation items
//! (never the initial context) are left out of it, twice as many each time,
//! until it fits. The new history is the thread's initial context, then the
//! most recent user messages (newest first up to 20,000 tokens of four bytes,
//! at most a quarter of the window; the oldest one kept may be cut in the
//! middle; text only), then one user message: `prompts/compact_prefix.md`, a
//! newline, and the summary. The summary request's usage counts toward the
//! thread's usage and is recorded as a `token_count`; nothing of it is shown
//! (the summary is not an `agent_message`).
//!
//! **Remote procedure** (`features.remote_compaction`): the provider's
//! `POST {base}/responses/compact` returns the new history; it follows the
//! initial context, without the context messages it may repeat.
//!
//! Either way a `compacted` record (summary and replacement history) goes to
//! the rollout, which resume replays, and a `context.compacted` notification to
//! the front end (human mode prints `context compacted`; `--json` prints
//! nothing). Knows nothing about the rollout's file format or the front ends.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::context;
use super::events::{ThreadEvent, Usage};
use super::history::History;
use super::model::catalog::ModelInfo;
use super::model::client::{stream_error, STREAM_CLOSED_MESSAGE};
use super::model::output_item::OutputItem;
use super::model::rate_limits::RateLimitSnapshot;
use super::model::{ModelError, ResponseEvent};
use super::tools::truncate_tokens;
use super::turn::{failure_error, message_text, record_token_counts, serialise_error, Turn};
use crate::config::compaction::CompactionConfig;
use crate::session::records;

/// The request for a hand-off note, sent as the last user message.
const SUMMARY_PROMPT: &str = include_str!("prompts/compact_prompt.md");
/// What tells the next model that the summary message is a hand-off note.
const SUMMARY_PREFIX: &str = include_str!("prompts/compact_prefix.md");
/// The summary when the model's answer had no text.
const NO_SUMMARY: &str = "(no summary was produced)";
/// Most user-message text a compacted history keeps, in tokens (SPEC §20).
const USER_MESSAGES_MAX_TOKENS: u64 = 20_000;
/// The kept user messages take at most this share of the window (1/n).
const USER_MESSAGES_WINDOW_DIVISOR: u64 = 4;
/// Bytes counted as one token when bounding the kept user messages.
const BYTES_PER_TOKEN: usize = 4;

/// How a thread compacts its history; built once per thread.
#[derive(Debug)]
pub struct Compactor {
    /// Compact after a response that reported this many tokens or more
    /// (`None`: only when a request overflows).
    auto_limit: Option<u64>,
    /// Use the provider's `/responses/compact`.
    remote: bool,
    /// The thread's initial context: every compacted history starts with it.
    initial_context: Vec<Box<RawValue>>,
    /// Room for the kept user messages, in bytes.
    user_messages_bytes: usize,
}

/// What a summary request produced.
struct SummaryReply {
    /// The last assistant message's text.
    text: Option<String>,
    usage: Option<Usage>,
    rate_limits: Vec<RateLimitSnapshot>,
}

impl Compactor {
    /// The compactor for a model `info` (its window already the configured one)
    /// under `config`; `initial_context` as `context::initial_items` builds it.
    pub fn new(
        config: &CompactionConfig,
        info: &ModelInfo,
        initial_context: &[Value],
    ) -> Compactor {
        let auto_limit = match config.auto_compact_token_limit {
            None => Some(info.default_auto_compact_limit()),
            Some(limit) => u64::try_from(limit).ok().filter(|limit| *limit > 0),
        };
        let user_tokens =
            USER_MESSAGES_MAX_TOKENS.min(info.context_window / USER_MESSAGES_WINDOW_DIVISOR);
        Compactor {
            auto_limit,
            remote: config.remote,
            initial_context: initial_context
                .iter()
                .filter_map(|item| serde_json::value::to_raw_value(item).ok())
                .collect(),
            user_messages_bytes: usize::try_from(user_tokens)
                .unwrap_or(usize::MAX)
                .saturating_mul(BYTES_PER_TOKEN),
        }
    }

    /// Whether a response that reported `usage` filled the context to the
    /// limit: its input plus output tokens, what the next request starts from.
    /// A response without usage never triggers compaction.
    pub fn limit_reached(&self, usage: Option<&Usage>) -> bool {
        match (self.auto_limit, usage) {
            (Some(limit), Some(usage)) => {
                usage.input_tokens.saturating_add(usage.output_tokens) >= limit
            }
            _ => false,
        }
    }

    /// The history after the local procedure: initial context, the newest user
    /// messages of `items`, the summary.
    fn rebuild(&self, items: &[Box<RawValue>], summary: &str) -> Vec<Box<RawValue>> {
        let messages: Vec<String> = items
            .iter()
            .filter_map(|item| match classify(item) {
                Kind::UserText(text) => Some(text),
                Kind::Context | Kind::Summary | Kind::ToolOutput | Kind::Other => None,
            })
            .collect();
        let mut history = self.initial_context.clone();
        for text in newest_within(&messages, self.user_messages_bytes) {
            history.extend(user_message(&text));
        }
        let summary = format!("{}\n{summary}", SUMMARY_PREFIX.trim_end());
        history.extend(user_message(&summary));
        history
    }

    /// The history after the remote procedure: initial context, then the
    /// provider's `output` without the context messages it may repeat.
    fn adopt(&self, output: Vec<Box<RawValue>>) -> Vec<Box<RawValue>> {
        let mut history = self.initial_context.clone();
        history.extend(
            output
                .into_iter()
                .filter(|item| !matches!(classify(item), Kind::Context)),
        );
        history
    }
}

impl Turn<'_> {
    /// Compact `history` (see the module docs). The summary request's usage is
    /// added to `usage`. Fails with the error of the request that failed.
    pub(super) async fn compact(
        &self,
        history: &mut History,
        usage: &mut Usage,
    ) -> Result<(), ModelError> {
        let compactor = self.compactor;
        let (summary, replacement) = if compactor.remote {
            let body = self
                .template
                .compact_body(history.items())
                .map_err(serialise_error)?;
            let body = Bytes::from(body);
            let compacted = self
                .with_stream_retries(|| self.client.compact(body.clone()))
                .await?;
            self.count_usage(usage, compacted.usage.as_ref(), &[]);
            (String::new(), compactor.adopt(compacted.output))
        } else {
            let summary = self.summarize(history.items(), usage).await?;
            let replacement = compactor.rebuild(history.items(), &summary);
            (summary, replacement)
        };
        if let Some(rec) = self.recorder {
            rec.record(
                "compacted",
                &records::Compacted {
                    message: &summary,
                    replacement_history: &replacement,
                },
            );
        }
        tracing::debug!(
            items_before = history.items().len(),
            items_after = replacement.len(),
            "history compacted"
        );
        history.replace(replacement);
        self.emitter.send(ThreadEvent::ContextCompacted {});
        Ok(())
    }

    /// Ask the model for the hand-off note on `items`, leaving out the oldest
    /// conversation items while the request does not fit.
    async fn summarize(
        &self,
        items: &[Box<RawValue>],
        usage: &mut Usage,
    ) -> Result<String, ModelError> {
        let prompt = context::message("user", SUMMARY_PROMPT.trim_end());
        let prompt = serde_json::value::to_raw_value(&prompt).map_err(serialise_error)?;
        let start = conversation_start(items);
        let mut dropped = 0;
        loop {
            let input: Vec<&RawValue> = items[..start]
                .iter()
                .chain(&items[start + dropped..])
                .map(AsRef::as_ref)
                .chain(std::iter::once(prompt.as_ref()))
                .collect();
            let body = Bytes::from(
                self.template
                    .summary_body(&input)
                    .map_err(serialise_error)?,
            );
            drop(input);
            match self
                .with_stream_retries(|| self.summary_once(body.clone()))
                .await
            {
                Ok(reply) => {
                    self.count_usage(usage, reply.usage.as_ref(), &reply.rate_limits);
                    return Ok(reply
                        .text
                        .filter(|text| !text.trim().is_empty())
                        .unwrap_or_else(|| NO_SUMMARY.to_string()));
                }
                Err(ModelError::ContextWindowExceeded) if start + dropped < items.len() => {
                    dropped = next_trim(items, start, dropped);
                    tracing::debug!(dropped, "the summary request overflowed; trimming it");
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Add a compaction request's usage to the thread's and record it as the
    /// `token_count` of a response.
    fn count_usage(
        &self,
        usage: &mut Usage,
        last: Option<&Usage>,
        rate_limits: &[RateLimitSnapshot],
    ) {
        if let Some(last) = last {
            usage.add(last);
        }
        if let Some(rec) = self.recorder {
            record_token_counts(rec, usage, last, rate_limits, self.context_window);
        }
    }

    /// One summary request: the last assistant text and the usage. Nothing is
    /// emitted or recorded here.
    async fn summary_once(&self, body: Bytes) -> Result<SummaryReply, ModelError> {
        let mut stream = self.client.open(body).await?;
        let mut reply = SummaryReply {
            text: None,
            usage: None,
            rate_limits: std::mem::take(&mut stream.rate_limits),
        };
        loop {
            let Some(event) = stream.next_event().await? else {
                return Err(stream_error(STREAM_CLOSED_MESSAGE));
            };
            match event {
                ResponseEvent::OutputItemDone(data) => {
                    if let Some(text) = assistant_text(&data) {
                        reply.text = Some(text);
                    }
                }
                ResponseEvent::Completed { usage, .. } => {
                    reply.usage = usage;
                    return Ok(reply);
                }
                ResponseEvent::Failed(failure) => return Err(failure_error(failure)),
                ResponseEvent::Incomplete(reason) => return Err(ModelError::Incomplete(reason)),
                ResponseEvent::Created
                | ResponseEvent::OutputItemAdded(_)
                | ResponseEvent::Ignored => {}
            }
        }
    }
}

/// What an item is, as far as compaction cares.
#[derive(Debug, PartialEq)]
enum Kind {
    /// Instructions, permissions, AGENTS.md, the environment.
    Context,
    /// The summary message of an earlier compaction.
    Summary,
    /// Text a user wrote.
    UserText(String),
    /// The output of a tool call.
    ToolOutput,
    /// Anything else (assistant messages, reasoning, calls, ...).
    Other,
}

/// The fields that tell items apart, read without building a tree.
#[derive(Deserialize)]
struct ItemProbe<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    role: Option<Cow<'a, str>>,
}

fn classify(item: &RawValue) -> Kind {
    let Ok(probe) = serde_json::from_str::<ItemProbe<'_>>(item.get()) else {
        return Kind::Other;
    };
    let kind = probe.kind.as_deref().unwrap_or_default();
    if kind.ends_with("_call_output") {
        return Kind::ToolOutput;
    }
    let Some(role) = probe.role.as_deref().filter(|_| kind == "message") else {
        return Kind::Other;
    };
    if role != "user" {
        return if context::is_context_message(role, "") {
            Kind::Context
        } else {
            Kind::Other
        };
    }
    let text = user_text(item);
    if context::is_context_message(role, &text) {
        Kind::Context
    } else if text.starts_with(SUMMARY_PREFIX.trim_end()) {
        Kind::Summary
    } else if text.is_empty() {
        Kind::Other
    } else {
        Kind::UserText(text)
    }
}

/// The text parts of a message item, joined.
fn user_text(item: &RawValue) -> String {
    let Ok(value) = serde_json::from_str::<Value>(item.get()) else {
        return String::new();
    };
    match value.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// Index of the first item after the leading context messages.
fn conversation_start(items: &[Box<RawValue>]) -> usize {
    items
        .iter()
        .position(|item| classify(item) != Kind::Context)
        .unwrap_or(items.len())
}

/// How many items after `start` the next summary attempt leaves out: twice as
/// many as the last one (at least one), extended past tool outputs so that no
/// output is sent without its call.
fn next_trim(items: &[Box<RawValue>], start: usize, dropped: usize) -> usize {
    let mut end = start
        .saturating_add(dropped.saturating_mul(2).max(1))
        .min(items.len());
    while end < items.len() && classify(&items[end]) == Kind::ToolOutput {
        end += 1;
    }
    end - start
}

/// The newest `messages` whose lengths fit `budget` bytes, in their order; the
/// oldest one kept is cut in the middle when it alone does not fit.
fn newest_within(messages: &[String], budget: usize) -> Vec<String> {
    let mut kept = Vec::new();
    let mut remaining = budget;
    for message in messages.iter().rev() {
        if message.len() <= remaining {
            kept.push(message.clone());
            remaining -= message.len();
            continue;
        }
        let tokens = remaining / BYTES_PER_TOKEN;
        if tokens > 0 {
            kept.push(truncate_tokens(message, tokens));
        }
        break;
    }
    kept.reverse();
    kept
}

/// The text of an assistant message in an `output_item.done` payload.
fn assistant_text(data: &str) -> Option<String> {
    let item = OutputItem::from_done_event(data)?;
    let is_assistant = item.str_field("type").as_deref() == Some("message")
        && item.str_field("role").as_deref() == Some("assistant");
    is_assistant.then(|| message_text(&item).text())
}

/// A user message item with `text`, serialised.
fn user_message(text: &str) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(&context::message("user", text)).ok()
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
