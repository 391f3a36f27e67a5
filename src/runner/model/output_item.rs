//! A finished output item (`response.output_item.done`) split into its
//! top-level fields, each left as the JSON text the server sent.
//!
//! An assistant answer can be megabytes long. Building a tree of it, then
//! writing it back out for the history, would unescape and escape every byte;
//! working on the fields' text instead, the item is scanned and copied but
//! never re-escaped. Items the runner acts on in detail (tool calls,
//! reasoning, web searches) are small and are turned into trees on demand.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The top-level fields of an output item, in the order sent.
#[derive(Debug)]
pub struct OutputItem<'a> {
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

/// A `response.output_item.done` payload, borrowing its item.
#[derive(Deserialize)]
struct DonePayload<'a> {
    #[serde(borrow)]
    item: OutputItem<'a>,
}

impl<'a> OutputItem<'a> {
    /// The item of a `response.output_item.done` payload; `None` when the
    /// payload is not JSON or has no item object.
    pub fn from_done_event(data: &'a str) -> Option<OutputItem<'a>> {
        serde_json::from_str::<DonePayload<'a>>(data)
            .ok()
            .map(|payload| payload.item)
    }

    /// A field's JSON text.
    pub fn field(&self, name: &str) -> Option<&'a RawValue> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| *value)
    }

    /// A string field's value (`None` when absent or not a string).
    pub fn str_field(&self, name: &str) -> Option<Cow<'a, str>> {
        #[derive(Deserialize)]
        struct Text<'b>(#[serde(borrow)] Cow<'b, str>);
        let raw = self.field(name)?;
        serde_json::from_str::<Text<'a>>(raw.get())
            .ok()
            .map(|text| text.0)
    }

    /// The whole item as a tree.
    pub fn to_value(&self) -> Value {
        let map: Map<String, Value> = self
            .fields
            .iter()
            .filter_map(|(key, raw)| {
                let value = serde_json::from_str(raw.get()).ok()?;
                Some((key.to_string(), value))
            })
            .collect();
        Value::Object(map)
    }

    /// The item as history keeps it: without the server's `id` (items
    /// replayed with `store: false` must not carry one), every other field as
    /// sent. `len_hint` is at least the item's size (the buffer then never
    /// grows).
    pub fn history_json(&self, len_hint: usize) -> Option<Box<RawValue>> {
        let mut text = String::with_capacity(len_hint);
        text.push('{');
        for (key, raw) in self.fields.iter().filter(|(key, _)| key != "id") {
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(&serde_json::to_string(key.as_ref()).ok()?);
            text.push(':');
            text.push_str(raw.get());
        }
        text.push('}');
        // Shrinking in place lets `from_string` keep the buffer instead of copying it.
        text.shrink_to_fit();
        RawValue::from_string(text).ok()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for OutputItem<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OutputItem<'a>, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// A map key, borrowed unless it contains escapes.
#[derive(Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = OutputItem<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an output item object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<OutputItem<'de>, M::Error> {
        let mut fields = Vec::new();
        while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
            fields.push((key, value));
        }
        Ok(OutputItem { fields })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_and_the_id_is_dropped_for_history() {
        let data = json!({"type": "response.output_item.done", "output_index": 0, "item": {
            "id": "msg_1", "type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "a \"b\"\n"}]}})
        .to_string();
        let item = OutputItem::from_done_event(&data).unwrap();
        assert_eq!(item.str_field("type").as_deref(), Some("message"));
        assert_eq!(item.str_field("role").as_deref(), Some("assistant"));
        assert!(item.str_field("content").is_none());
        let history: Value = serde_json::from_str(item.history_json(0).unwrap().get()).unwrap();
        assert_eq!(
            history,
            json!({"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "a \"b\"\n"}]})
        );
        assert_eq!(item.to_value()["id"], "msg_1");
    }

    #[test]
    fn payloads_without_an_item_object_are_refused() {
        assert!(OutputItem::from_done_event(r#"{"type":"x","item":[1]}"#).is_none());
        assert!(OutputItem::from_done_event("not json").is_none());
        assert!(OutputItem::from_done_event(r#"{"type":"x"}"#).is_none());
    }
}
