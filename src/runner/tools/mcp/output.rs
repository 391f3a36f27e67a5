//! What the model and the `mcp_tool_call` item get from an answered MCP
//! call (SPEC §15.4).
//!
//! The item keeps the server's content blocks verbatim. The model gets text
//! when the answer has no image: the text blocks joined with newlines when
//! every block is text, else the JSON of the content (or of the structured
//! content when there is no content). An answer with at least one `image`
//! block goes to the model as content items instead, so that it sees the
//! images: in block order, text blocks as `input_text`, images as
//! `input_image` with a `data:` URL, and any other block as `input_text`
//! holding the block's JSON.

use rmcp::model::{CallToolResult, Content, RawContent};
use serde_json::{json, Value};

use super::super::call::CallOutput;

/// The output the model gets for an answered call.
pub fn model_output(result: &CallToolResult) -> CallOutput {
    let has_image = result
        .content
        .iter()
        .any(|c| matches!(c.raw, RawContent::Image(_)));
    if has_image {
        CallOutput::Content(result.content.iter().map(input_item).collect())
    } else {
        CallOutput::Text(output_text(result))
    }
}

/// One content block as a Responses input content item.
fn input_item(content: &Content) -> Value {
    match &content.raw {
        RawContent::Text(text) => json!({"type": "input_text", "text": text.text}),
        RawContent::Image(image) => json!({
            "type": "input_image",
            "image_url": format!("data:{};base64,{}", image.mime_type, image.data),
        }),
        RawContent::Resource(_) | RawContent::Audio(_) | RawContent::ResourceLink(_) => {
            json!({"type": "input_text", "text": serde_json::to_string(content).unwrap_or_default()})
        }
    }
}

/// The text the model gets for an answered call without images (see the
/// module docs).
pub fn output_text(result: &CallToolResult) -> String {
    let texts: Option<Vec<&str>> = result
        .content
        .iter()
        .map(|c| match &c.raw {
            RawContent::Text(t) => Some(t.text.as_str()),
            _ => None,
        })
        .collect();
    match texts {
        Some(texts) if !texts.is_empty() => texts.join("\n"),
        _ => match &result.structured_content {
            Some(structured) if result.content.is_empty() => structured.to_string(),
            _ => serde_json::to_string(&result.content).unwrap_or_default(),
        },
    }
}

/// The content blocks of a result, verbatim, as JSON.
pub fn content_json(result: &CallToolResult) -> Vec<Value> {
    result
        .content
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(content: Value) -> CallToolResult {
        let content: Vec<Content> = serde_json::from_value(content).unwrap_or_default();
        assert!(!content.is_empty(), "test content did not parse");
        CallToolResult::success(content)
    }

    #[test]
    fn text_only_answer_is_joined_text() {
        let answer = result(json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]));
        assert_eq!(model_output(&answer), CallOutput::Text("a\nb".to_string()));
    }

    #[test]
    fn answer_with_an_image_is_content_items_in_order() {
        let answer = result(json!([
            {"type": "text", "text": "look"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "resource_link", "uri": "x://y", "name": "y"},
        ]));
        let CallOutput::Content(items) = model_output(&answer) else {
            panic!("expected content items");
        };
        assert_eq!(items.len(), 3);
        assert_eq!(items[0], json!({"type": "input_text", "text": "look"}));
        assert_eq!(
            items[1],
            json!({"type": "input_image", "image_url": "data:image/png;base64,AAAA"})
        );
        assert_eq!(items[2]["type"], "input_text");
        let link: Value =
            serde_json::from_str(items[2]["text"].as_str().unwrap_or_default()).unwrap_or_default();
        assert_eq!(link["uri"], "x://y");
    }

    #[test]
    fn non_text_answer_without_image_is_json_text() {
        let answer = result(json!([{"type": "resource_link", "uri": "x://y", "name": "y"}]));
        let CallOutput::Text(text) = model_output(&answer) else {
            panic!("expected text");
        };
        assert!(text.starts_with('[') && text.contains("x://y"), "{text}");
    }
}
