//! The agent loop of one turn (SPEC §8): sample, handle output items in stream
//! order, run tool calls, send their outputs back, repeat until a response has no
//! client tool calls.
//!
//! Messages and reasoning are surfaced as soon as their output item is done. Tool
//! calls are queued and run only once the response completed, so a response
//! that breaks and is retried never runs a command twice. The registry runs
//! them (some concurrently, see `tools` for the rule); their outputs follow
//! the response's items in history in call order, then the images that
//! `view_image` calls attached, so the next request carries both.
//!
//! Between requests the history may be compacted (SPEC §20, see `compact`):
//! after a response that filled the context to the limit when the turn goes
//! on, and once when a request is refused with `context_length_exceeded`,
//! before that request is sent again (a second refusal fails the turn).

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::compact::Compactor;
use super::emitter::Emitter;
use super::events::{ItemDetails, MessageText, Usage};
use super::history::History;
use super::model::client::{stream_error, STREAM_CLOSED_MESSAGE};
use super::model::error::backoff;
use super::model::output_item::OutputItem;
use super::model::rate_limits::RateLimitSnapshot;
use super::model::sse::Failure;
use super::model::{ModelClient, ModelError, RequestTemplate, ResponseEvent};
use super::tools::{ToolCall, ToolRegistry, TurnTools};
use crate::session::{records, RolloutRecorder};

/// What a successful sample produced.
struct Sample {
    /// Output items, in stream order, serialised for history (ids stripped).
    items: Vec<Box<RawValue>>,
    /// Tool calls to run.
    calls: Vec<ToolCall>,
    usage: Option<Usage>,
    served_model: Option<String>,
    /// Rate-limit snapshots from the response headers.
    rate_limits: Vec<RateLimitSnapshot>,
}

/// The state one turn works on.
pub struct Turn<'a> {
    pub client: &'a ModelClient,
    pub template: &'a RequestTemplate,
    pub tools: &'a ToolRegistry,
    pub emitter: &'a Emitter,
    pub stream_max_retries: u64,
    pub requested_model: &'a str,
    /// The model's context window, as token counts record it.
    pub context_window: u64,
    /// Where history items and token counts are recorded (`None`: ephemeral).
    pub recorder: Option<&'a RolloutRecorder>,
    /// When and how the history is compacted.
    pub compactor: &'a Compactor,
}

impl Turn<'_> {
    /// Run the turn on `history` (which already ends with the user input),
    /// appending everything it produces. Adds each request's usage to `usage`.
    pub async fn run(
        &self,
        history: &mut History,
        usage: &mut Usage,
        turn_tools: &mut TurnTools,
    ) -> Result<(), ModelError> {
        let mut warned_reroute = false;
        // Whether the request about to be sent again was refused for its size.
        let mut overflowed = false;
        loop {
            let body = Bytes::from(
                self.template
                    .body(history.items())
                    .map_err(serialise_error)?,
            );
            let sample = match self.with_stream_retries(|| self.sample(body.clone())).await {
                Ok(sample) => sample,
                Err(ModelError::ContextWindowExceeded) if !overflowed => {
                    overflowed = true;
                    drop(body);
                    self.compact(history, usage).await?;
                    continue;
                }
                Err(err) => return Err(err),
            };
            overflowed = false;
            if let Some(served) = &sample.served_model {
                if served != self.requested_model && !warned_reroute {
                    warned_reroute = true;
                    self.emitter.warning(format!(
                        "The server answered with model `{served}` instead of the requested `{}`.",
                        self.requested_model
                    ));
                }
            }
            let last_usage = sample.usage;
            if let Some(u) = &last_usage {
                usage.add(u);
            }
            history.extend_raw(sample.items, self.recorder);
            if let Some(rec) = self.recorder {
                record_token_counts(
                    rec,
                    usage,
                    sample.usage.as_ref(),
                    &sample.rate_limits,
                    self.context_window,
                );
            }
            if sample.calls.is_empty() {
                return Ok(());
            }
            let results = self
                .tools
                .run_calls(&sample.calls, turn_tools, self.emitter)
                .await;
            let mut attachments = Vec::new();
            for result in results {
                history.push(&result.output, self.recorder);
                attachments.extend(result.attachment);
            }
            history.extend(&attachments, self.recorder);
            if self.compactor.limit_reached(last_usage.as_ref()) {
                self.compact(history, usage).await?;
            }
        }
    }

    /// The stream-level retry loop (SPEC §7.7b) around `attempt` (one request).
    pub(super) async fn with_stream_retries<T, F, Fut>(
        &self,
        mut attempt: F,
    ) -> Result<T, ModelError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ModelError>>,
    {
        let mut retry: u64 = 0;
        loop {
            match attempt().await {
                Ok(sample) => return Ok(sample),
                Err(err) => {
                    let Some(delay) = err.retry_hint() else {
                        return Err(err);
                    };
                    if retry >= self.stream_max_retries {
                        return Err(err);
                    }
                    retry += 1;
                    self.emitter.stream_error(format!(
                        "Reconnecting... {retry}/{} ({err})",
                        self.stream_max_retries
                    ));
                    tokio::time::sleep(delay.unwrap_or_else(|| backoff(retry))).await;
                }
            }
        }
    }

    /// One attempt: open the stream and consume it to `response.completed`.
    async fn sample(&self, body: Bytes) -> Result<Sample, ModelError> {
        let mut stream = self.client.open(body).await?;
        let mut sample = Sample {
            items: Vec::new(),
            calls: Vec::new(),
            usage: None,
            served_model: stream.served_model.take(),
            rate_limits: std::mem::take(&mut stream.rate_limits),
        };
        // Provider item id -> our item id, for items shown as started before done.
        let mut started: HashMap<String, String> = HashMap::new();
        loop {
            let Some(event) = stream.next_event().await? else {
                return Err(stream_error(STREAM_CLOSED_MESSAGE));
            };
            match event {
                ResponseEvent::OutputItemAdded(item) => {
                    if item.get("type").and_then(Value::as_str) == Some("web_search_call") {
                        let id = self.emitter.item_started(ItemDetails::WebSearch {
                            query: String::new(),
                            action: json!({"type": "other"}),
                        });
                        if let Some(provider_id) = item.get("id").and_then(Value::as_str) {
                            started.insert(provider_id.to_string(), id);
                        }
                    }
                }
                ResponseEvent::OutputItemDone(data) => {
                    self.handle_item_done(data, &mut started, &mut sample);
                }
                ResponseEvent::Completed { usage, .. } => {
                    sample.usage = usage;
                    return Ok(sample);
                }
                ResponseEvent::Failed(failure) => return Err(failure_error(failure)),
                ResponseEvent::Incomplete(reason) => return Err(ModelError::Incomplete(reason)),
                ResponseEvent::Created | ResponseEvent::Ignored => {}
            }
        }
    }

    fn handle_item_done(
        &self,
        data: String,
        started: &mut HashMap<String, String>,
        sample: &mut Sample,
    ) {
        let Some(item) = OutputItem::from_done_event(&data) else {
            tracing::debug!("skipping an output item that is not an object");
            return;
        };
        // `data` bounds the item's size: its history form never regrows.
        let Some(raw) = item.history_json(data.len()) else {
            return;
        };
        let kind = item.str_field("type").unwrap_or_default();
        if kind == "message" && item.str_field("role").as_deref() == Some("assistant") {
            let text = message_text(&item);
            // The event text (possibly megabytes) is not needed any more.
            drop(item);
            drop(data);
            self.emitter
                .item_completed_new(ItemDetails::AgentMessage { text });
            sample.items.push(raw);
            return;
        }
        let item = item.to_value();
        match kind.as_ref() {
            "reasoning" => {
                let text = summary_text(&item);
                if !text.trim().is_empty() {
                    self.emitter
                        .item_completed_new(ItemDetails::Reasoning { text });
                }
            }
            "web_search_call" => {
                let action = item
                    .get("action")
                    .cloned()
                    .unwrap_or(json!({"type": "other"}));
                let query = action
                    .get("query")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let details = ItemDetails::WebSearch { query, action };
                let provider_id = item.get("id").and_then(Value::as_str).unwrap_or_default();
                match started.remove(provider_id) {
                    Some(id) => self.emitter.item_completed(id, details),
                    None => self.emitter.item_completed_new(details),
                }
            }
            _ => {
                if let Some(call) = ToolCall::from_item(&item) {
                    sample.calls.push(call);
                }
            }
        }
        sample.items.push(raw);
    }
}

/// The error a `response.failed` ends a request with.
pub(super) fn failure_error(failure: Failure) -> ModelError {
    match failure {
        Failure::ContextWindowExceeded => ModelError::ContextWindowExceeded,
        Failure::QuotaExceeded => ModelError::QuotaExceeded,
        Failure::Retryable { message, delay } => ModelError::Stream { message, delay },
    }
}

/// A request body that could not be serialised (fatal; it cannot happen with
/// the JSON values histories hold).
pub(super) fn serialise_error(err: serde_json::Error) -> ModelError {
    ModelError::Fatal(format!("cannot serialise the request: {err}"))
}

/// The text of an assistant message item.
pub(super) fn message_text(item: &OutputItem<'_>) -> MessageText {
    item.field("content")
        .and_then(single_text_literal)
        .and_then(|literal| MessageText::from_literal(literal.to_owned()))
        .unwrap_or_else(|| MessageText::new(&content_text(&item.to_value(), "output_text")))
}

#[derive(Deserialize)]
struct MessagePart<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    text: Option<&'a RawValue>,
}

/// The escaped text of an assistant message's `content` whose only text part
/// is one `output_text` (the usual case): a long answer is then never
/// unescaped and escaped again.
fn single_text_literal(content: &RawValue) -> Option<&RawValue> {
    let parts: Vec<MessagePart<'_>> = serde_json::from_str(content.get()).ok()?;
    let mut parts = parts.into_iter().filter(|p| p.kind == "output_text");
    match (parts.next(), parts.next()) {
        (Some(MessagePart { text, .. }), None) => text,
        _ => None,
    }
}

/// Record a response's `token_count` events: one carrying the usage (`info`
/// null when the response reported none) and the first rate-limit snapshot
/// (`codex`), then one more for each further limit, as the reference emits
/// one per snapshot. Nothing when there is neither usage nor a snapshot.
pub(super) fn record_token_counts(
    rec: &RolloutRecorder,
    total: &Usage,
    last: Option<&Usage>,
    rate_limits: &[RateLimitSnapshot],
    context_window: u64,
) {
    if last.is_none() && rate_limits.is_empty() {
        return;
    }
    let mut snapshots = rate_limits.iter();
    rec.record_event(
        "token_count",
        records::token_count(total, last, snapshots.next(), context_window),
    );
    for snapshot in snapshots {
        rec.record_event(
            "token_count",
            records::token_count(total, last, Some(snapshot), context_window),
        );
    }
}

/// Join the text parts of `kind` in a message item.
fn content_text(item: &Value, kind: &str) -> String {
    item.get("content")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) == Some(kind))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<String>()
        })
        .unwrap_or_default()
}

/// Reasoning summary parts joined with newlines.
fn summary_text(item: &Value) -> String {
    item.get("summary")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn text_of(item: Value) -> MessageText {
        let data = json!({"type": "response.output_item.done", "item": item}).to_string();
        message_text(&OutputItem::from_done_event(&data).unwrap())
    }

    #[test]
    fn a_single_text_part_is_taken_escaped_from_the_item() {
        let text = "line \"one\"\n\ttab \u{1} é";
        let message = text_of(json!({"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}));
        assert_eq!(message.text(), text);
        assert_eq!(
            message.literal().get(),
            serde_json::to_string(text).unwrap()
        );
    }

    #[test]
    fn several_text_parts_are_joined() {
        let message = text_of(json!({"type": "message", "role": "assistant", "content": [
            {"type": "output_text", "text": "a\""}, {"type": "refusal", "refusal": "x"},
            {"type": "output_text", "text": "b"}]}));
        assert_eq!(message.text(), "a\"b");
        let empty = text_of(json!({"type": "message", "role": "assistant", "content": []}));
        assert_eq!(empty.text(), "");
    }
}
