//! The conversation a thread sends with every request, kept serialised.
//!
//! Each item is turned into JSON text once, when it joins the history, and
//! from then on is only copied: into the rollout as a `response_item` and into
//! every later request body. A resumed thread's items come straight from the
//! rollout's lines without being parsed into trees, so resuming a long thread
//! costs about one read and one validation pass over its file.

use serde_json::value::RawValue;
use serde_json::Value;

use crate::session::RolloutRecorder;

/// The items of a thread's conversation, in order.
#[derive(Debug, Default)]
pub struct History {
    items: Vec<Box<RawValue>>,
}

impl History {
    /// A history that starts from already serialised items (a replayed rollout).
    pub fn from_raw(items: Vec<Box<RawValue>>) -> History {
        History { items }
    }

    /// Append `item`, recording it as a `response_item` when `recorder` is set.
    pub fn push(&mut self, item: &Value, recorder: Option<&RolloutRecorder>) {
        // A `Value` always serialises (its keys are strings).
        let Ok(raw) = serde_json::value::to_raw_value(item) else {
            return;
        };
        if let Some(rec) = recorder {
            rec.record_item(&raw);
        }
        self.items.push(raw);
    }

    /// Append already serialised items, in order, recording each.
    pub fn extend_raw(
        &mut self,
        items: impl IntoIterator<Item = Box<RawValue>>,
        recorder: Option<&RolloutRecorder>,
    ) {
        for raw in items {
            if let Some(rec) = recorder {
                rec.record_item(&raw);
            }
            self.items.push(raw);
        }
    }

    /// Append every item of `items`, in order (see [`History::push`]).
    pub fn extend<'a>(
        &mut self,
        items: impl IntoIterator<Item = &'a Value>,
        recorder: Option<&RolloutRecorder>,
    ) {
        for item in items {
            self.push(item, recorder);
        }
    }

    /// Replace every item with `items` (compaction); nothing is recorded here:
    /// the `compacted` record carries them.
    pub fn replace(&mut self, items: Vec<Box<RawValue>>) {
        self.items = items;
    }

    /// The items, for a request's `input`.
    pub fn items(&self) -> &[Box<RawValue>] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn items_serialise_as_they_were_added() {
        let mut history = History::from_raw(vec![RawValue::from_string(
            r#"{"type":"message","role":"user"}"#.to_string(),
        )
        .unwrap()]);
        history.push(
            &json!({"type": "function_call_output", "output": "a\"b"}),
            None,
        );
        assert_eq!(history.items().len(), 2);
        let text = serde_json::to_string(history.items()).unwrap();
        assert_eq!(
            text,
            r#"[{"type":"message","role":"user"},{"type":"function_call_output","output":"a\"b"}]"#
        );
    }
}
