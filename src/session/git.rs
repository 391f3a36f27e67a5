//! Git facts for `session_meta.git`, read straight from `.git` files (no `git`
//! subprocess): the HEAD commit, the branch and the `origin` URL.

use std::path::Path;

use serde_json::{json, Map, Value};

/// `{commit_hash, branch, repository_url}` for the repository at `root`, with
/// the fields that could be read; `None` outside a repository or for worktrees.
pub fn info(root: &Path) -> Option<Value> {
    let git = root.join(".git");
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let mut fields = Map::new();
    match head.strip_prefix("ref: ") {
        Some(reference) => {
            if let Some(branch) = reference.strip_prefix("refs/heads/") {
                fields.insert("branch".into(), json!(branch));
            }
            if let Some(commit) = resolve_ref(&git, reference) {
                fields.insert("commit_hash".into(), json!(commit));
            }
        }
        None if !head.is_empty() => {
            fields.insert("commit_hash".into(), json!(head));
        }
        None => {}
    }
    if let Some(url) = origin_url(&git) {
        fields.insert("repository_url".into(), json!(url));
    }
    Some(Value::Object(fields))
}

fn resolve_ref(git: &Path, reference: &str) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(git.join(reference)) {
        let hash = text.trim();
        if !hash.is_empty() {
            return Some(hash.to_string());
        }
    }
    let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (hash, name) = line.split_once(' ')?;
        (name == reference).then(|| hash.to_string())
    })
}

fn origin_url(git: &Path) -> Option<String> {
    let config = std::fs::read_to_string(git.join("config")).ok()?;
    let mut in_origin = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_origin = line == "[remote \"origin\"]";
        } else if in_origin {
            if let Some((key, value)) = line.split_once('=') {
                if key.trim() == "url" {
                    return Some(value.trim().to_string());
                }
            }
        }
    }
    None
}
