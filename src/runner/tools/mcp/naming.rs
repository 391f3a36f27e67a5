//! Model-facing names and schemas of MCP tools (SPEC §15.3).

use serde_json::{json, Map, Value};
use sha1::{Digest, Sha1};

/// Longest tool name the Responses API accepts.
const MAX_NAME_LEN: usize = 64;
/// Characters of the name kept before the hash when shortening.
const KEPT_PREFIX_LEN: usize = 24;

/// `mcp__<server>__<tool>`, sanitised to `^[a-zA-Z0-9_-]+$` and, if longer
/// than 64 characters, cut to its first 24 characters plus the SHA-1 (hex)
/// of the sanitised full name.
pub fn qualified_name(server: &str, tool: &str) -> String {
    let full: String = format!("mcp__{server}__{tool}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if full.len() <= MAX_NAME_LEN {
        return full;
    }
    let hash = Sha1::digest(full.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{hex}", &full[..KEPT_PREFIX_LEN])
}

/// The input schema reduced to what the API accepts: an object schema with
/// `properties`, JSON-schema types it knows (`integer` becomes `number`).
pub fn sanitize_schema(schema: &Map<String, Value>) -> Value {
    let mut value = Value::Object(schema.clone());
    sanitize(&mut value);
    if let Value::Object(map) = &mut value {
        map.insert("type".to_string(), json!("object"));
        map.entry("properties").or_insert_with(|| json!({}));
    }
    value
}

fn sanitize(value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    let ty = match map.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        // A list of types: keep the first known one.
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(str::to_string),
        _ => None,
    };
    let ty = match ty.as_deref() {
        Some("integer") => Some("number".to_string()),
        Some("object" | "array" | "string" | "number" | "boolean") => ty,
        _ if map.contains_key("properties") => Some("object".to_string()),
        _ if map.contains_key("items") => Some("array".to_string()),
        _ if map.contains_key("enum") || map.contains_key("format") => Some("string".to_string()),
        _ => Some("string".to_string()),
    };
    if let Some(ty) = ty {
        if ty == "object" {
            map.entry("properties").or_insert_with(|| json!({}));
        }
        if ty == "array" {
            map.entry("items")
                .or_insert_with(|| json!({"type": "string"}));
        }
        map.insert("type".to_string(), Value::String(ty));
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for prop in props.values_mut() {
            sanitize(prop);
        }
    }
    if let Some(items) = map.get_mut("items") {
        sanitize(items);
    }
    if let Some(Value::Object(_)) = map.get("additionalProperties") {
        if let Some(extra) = map.get_mut("additionalProperties") {
            sanitize(extra);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(qualified_name("echo", "echo"), "mcp__echo__echo");
        assert_eq!(qualified_name("my-server", "a.b"), "mcp__my_server__a_b");
    }

    #[test]
    fn long_names_are_hashed() {
        let tool = "t".repeat(70);
        let name = qualified_name("srv", &tool);
        assert_eq!(name.len(), 64);
        assert!(name.starts_with("mcp__srv__tttttttttttttt"));
        assert_ne!(name, qualified_name("srv", &"t".repeat(71)));
    }

    #[test]
    fn schemas_become_objects() {
        let schema = json!({"properties": {"n": {"type": "integer"}, "x": {}}});
        let Value::Object(map) = schema else {
            return;
        };
        assert_eq!(
            sanitize_schema(&map),
            json!({"type": "object", "properties": {"n": {"type": "number"}, "x": {"type": "string"}}})
        );
        assert_eq!(
            sanitize_schema(&Map::new()),
            json!({"type": "object", "properties": {}})
        );
    }
}
