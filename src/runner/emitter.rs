//! The agent's side of the notification channel: allocates `item_<n>` ids and
//! sends `ThreadEvent`s to whichever front end listens.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::events::{ItemDetails, ThreadEvent, ThreadItem};
use crate::session::RolloutRecorder;

/// Sends notifications; a closed receiver is ignored (the front end is gone).
#[derive(Debug)]
pub struct Emitter {
    tx: UnboundedSender<ThreadEvent>,
    next_item: AtomicU64,
    /// Records assistant messages and reasoning as `event_msg`s, and the tool
    /// end events the tools hand to [`Emitter::record_event`].
    recorder: Option<Arc<RolloutRecorder>>,
}

impl Emitter {
    /// Wrap a channel sender.
    pub fn new(tx: UnboundedSender<ThreadEvent>) -> Emitter {
        Emitter {
            tx,
            next_item: AtomicU64::new(0),
            recorder: None,
        }
    }

    /// Also record the events a rollout keeps (`agent_message`, `agent_reasoning`).
    pub fn with_recorder(mut self, recorder: Option<Arc<RolloutRecorder>>) -> Emitter {
        self.recorder = recorder;
        self
    }

    /// Send an event as is. A session write failure since the last event is
    /// reported first, as an `error` event (once).
    pub fn send(&self, event: ThreadEvent) {
        if let Some(message) = self.recorder.as_ref().and_then(|r| r.take_failure_report()) {
            let _ = self.tx.send(ThreadEvent::Error { message });
        }
        if let (Some(rec), ThreadEvent::ItemCompleted { item }) = (&self.recorder, &event) {
            match &item.details {
                ItemDetails::AgentMessage { text } => {
                    rec.record_agent_message(text);
                }
                ItemDetails::Reasoning { text } => {
                    rec.record_event("agent_reasoning", serde_json::json!({"text": text}));
                }
                ItemDetails::CommandExecution { .. }
                | ItemDetails::FileChange { .. }
                | ItemDetails::McpToolCall { .. }
                | ItemDetails::WebSearch { .. }
                | ItemDetails::TodoList { .. }
                | ItemDetails::Error { .. } => {}
            }
        }
        // The receiver only disappears when the front end is shutting down.
        let _ = self.tx.send(event);
    }

    /// Record an `event_msg` of type `kind` of the turn under way in the
    /// rollout (nothing when the thread is not recorded); the front end sees
    /// nothing.
    pub fn record_event(&self, kind: &str, fields: serde_json::Value) {
        if let Some(rec) = &self.recorder {
            rec.record_turn_event(kind, fields);
        }
    }

    fn next_id(&self) -> String {
        let n = self.next_item.fetch_add(1, Ordering::Relaxed);
        format!("item_{n}")
    }

    /// Emit `item.started` for a new item; returns its id.
    pub fn item_started(&self, details: ItemDetails) -> String {
        let id = self.next_id();
        self.send(ThreadEvent::ItemStarted {
            item: ThreadItem {
                id: id.clone(),
                details,
            },
        });
        id
    }

    /// Emit `item.updated` for an existing item.
    pub fn item_updated(&self, id: String, details: ItemDetails) {
        self.send(ThreadEvent::ItemUpdated {
            item: ThreadItem { id, details },
        });
    }

    /// Emit `item.completed` for an existing item.
    pub fn item_completed(&self, id: String, details: ItemDetails) {
        self.send(ThreadEvent::ItemCompleted {
            item: ThreadItem { id, details },
        });
    }

    /// Emit `item.completed` for an item that had no start event.
    pub fn item_completed_new(&self, details: ItemDetails) {
        let id = self.next_id();
        self.item_completed(id, details);
    }

    /// A non-fatal warning item.
    pub fn warning(&self, message: String) {
        self.item_completed_new(ItemDetails::Error { message });
    }

    /// A top-level `error` notice (stream retries).
    pub fn stream_error(&self, message: String) {
        self.send(ThreadEvent::Error { message });
    }
}
