//! Helpers for reading the rollout files a run leaves under `$CODEX_HOME/sessions`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

/// Every rollout file under `$CODEX_HOME/sessions`, sorted.
pub fn rollouts(codex_home: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&codex_home.join("sessions"), &mut out);
    out.sort();
    out
}

/// The records of a rollout, each line parsed (a line that is not JSON is an error).
pub fn records(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(|line| serde_json::from_str(line).with_context(|| format!("bad line {line:?}")))
        .collect()
}

/// The payloads of the `event_msg` records of type `kind`, in order.
pub fn event_payloads<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["type"] == "event_msg" && r["payload"]["type"] == kind)
        .map(|r| &r["payload"])
        .collect()
}
