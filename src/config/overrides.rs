//! `-c key=value` parsing and application onto the raw TOML tree (SPEC §1.5).

use toml::{Table, Value};

/// A parsed `-c` override: a dotted key path and its TOML value.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub path: Vec<String>,
    pub value: Value,
}

/// Why an override could not be parsed. The text matches the reference's.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OverrideError {
    #[error("Invalid override (missing '='): {0}")]
    MissingEquals(String),
    #[error("Empty key in override: {0}")]
    EmptyKey(String),
}

/// Parse one `-c` argument: split at the first `=`, parse the value as TOML, and
/// fall back to the raw text (one pair of surrounding quotes stripped).
pub fn parse_override(raw: &str) -> Result<Override, OverrideError> {
    let Some((key, value)) = raw.split_once('=') else {
        return Err(OverrideError::MissingEquals(raw.to_string()));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(OverrideError::EmptyKey(raw.to_string()));
    }
    let value = value.trim();
    let parsed = toml::from_str::<Table>(&format!("_x_ = {value}"))
        .ok()
        .and_then(|mut table| table.remove("_x_"))
        .unwrap_or_else(|| Value::String(strip_one_quote_pair(value).to_string()));
    let path = key.split('.').map(|part| part.trim().to_string()).collect();
    Ok(Override {
        path,
        value: parsed,
    })
}

fn strip_one_quote_pair(value: &str) -> &str {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

/// Set `path` to `value` inside `root`, creating (or replacing non-table)
/// intermediate tables as needed.
pub fn apply(root: &mut Table, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut table = root;
    for part in parents {
        let entry = table
            .entry(part.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(next) = entry else {
            return;
        };
        table = next;
    }
    table.insert(last.clone(), value);
}

/// Deep-merge `overlay` into `base`: tables merge key by key, anything else replaces.
pub fn merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(incoming)) => merge(existing, incoming),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bare_word_becomes_string() {
        let o = parse_override("model=o3").unwrap();
        assert_eq!(o.path, vec!["model"]);
        assert_eq!(o.value, Value::String("o3".into()));
    }

    #[test]
    fn toml_values_are_typed() {
        assert_eq!(
            parse_override("a.b=true").unwrap().value,
            Value::Boolean(true)
        );
        assert_eq!(
            parse_override("k='\"true\"'").unwrap().value,
            Value::String("\"true\"".into())
        );
        assert_eq!(
            parse_override("k=\"true\"").unwrap().value,
            Value::String("true".into())
        );
        assert_eq!(parse_override("n = 5 ").unwrap().value, Value::Integer(5));
        assert_eq!(
            parse_override("k=[1,").unwrap().value,
            Value::String("[1,".into())
        );
    }

    #[test]
    fn errors_name_the_argument() {
        assert_eq!(
            parse_override("nodot").unwrap_err().to_string(),
            "Invalid override (missing '='): nodot"
        );
        assert_eq!(
            parse_override(" =x").unwrap_err().to_string(),
            "Empty key in override:  =x"
        );
    }

    #[test]
    fn apply_creates_tables_and_replaces() {
        let mut root = Table::new();
        root.insert("a".into(), Value::Integer(1));
        apply(
            &mut root,
            &["a".into(), "b".into()],
            Value::String("x".into()),
        );
        assert_eq!(root["a"]["b"].as_str(), Some("x"));
    }
}
