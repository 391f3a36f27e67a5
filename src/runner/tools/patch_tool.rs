//! The `apply_patch` tool as the model calls it (freeform or JSON variant):
//! parse, verify, check the sandbox's writable roots, write, and report a
//! `file_change` item (SPEC §4.4, §10.3, §11.1).

use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};

use super::apply_patch::{self, ChangeKind, FileAction};
use crate::runner::emitter::Emitter;
use crate::runner::events::{FileUpdateChange, ItemDetails, PatchChangeKind, PatchStatus};
use crate::sandbox::SandboxPolicy;
use crate::session::records;

/// Short description of the freeform tool; the grammar carries the format.
const FREEFORM_DESCRIPTION: &str = "Edit files by sending a patch in the apply_patch format as raw text (not JSON): *** Begin Patch, then Add File / Delete File / Update File hunks, then *** End Patch.";

/// The freeform (custom, Lark grammar) tool spec.
pub fn freeform_spec() -> Value {
    json!({
        "type": "custom",
        "name": "apply_patch",
        "description": FREEFORM_DESCRIPTION,
        "format": {"type": "grammar", "syntax": "lark", "definition": apply_patch::GRAMMAR},
    })
}

/// The JSON function tool spec.
pub fn function_spec() -> Value {
    json!({
        "type": "function",
        "name": "apply_patch",
        "description": apply_patch::tool_instructions(),
        "strict": false,
        "parameters": {
            "type": "object",
            "additionalProperties": false,
            "required": ["input"],
            "properties": {
                "input": {"type": "string", "description": "The entire contents of the apply_patch command"}
            }
        }
    })
}

#[derive(Deserialize)]
struct FunctionArgs {
    input: String,
}

/// The patch text of a JSON-variant call.
pub fn patch_from_arguments(arguments: &str) -> Result<String, String> {
    serde_json::from_str::<FunctionArgs>(arguments)
        .map(|args| args.input)
        .map_err(|err| format!("failed to parse function arguments: {err}"))
}

/// Apply `patch` with relative paths resolved against `cwd`, under `policy`
/// whose workspace root is `policy_cwd` (they differ when a shell call with a
/// `workdir` or `cd` is intercepted); returns the text for the model.
/// Rejected or invalid patches produce no item, as in the reference.
pub fn run(
    patch: &str,
    call_id: &str,
    cwd: &Path,
    policy_cwd: &Path,
    policy: &SandboxPolicy,
    emitter: &Emitter,
) -> String {
    let started = Instant::now();
    let parsed = match apply_patch::parse_patch(patch) {
        Ok(parsed) => parsed,
        Err(err) => return err.to_string(),
    };
    let actions = match apply_patch::verify(&parsed, cwd) {
        Ok(actions) => actions,
        Err(err) => return format!("apply_patch verification failed: {err}"),
    };
    let targets: Vec<&Path> = actions.iter().flat_map(|a| a.target_paths()).collect();
    if let Some(reason) = rejection(policy, policy_cwd, &targets) {
        return reason;
    }
    let changes: Vec<FileUpdateChange> = apply_patch::changes(&actions)
        .into_iter()
        .map(|(path, kind)| FileUpdateChange {
            path: path.display().to_string(),
            kind: match kind {
                ChangeKind::Add => PatchChangeKind::Add,
                ChangeKind::Delete => PatchChangeKind::Delete,
                ChangeKind::Update => PatchChangeKind::Update,
            },
        })
        .collect();
    let recorded = recorded_changes(&actions);
    emitter.record_event(
        "patch_apply_begin",
        records::patch_apply_begin(call_id, recorded.clone()),
    );
    let id = emitter.item_started(ItemDetails::FileChange {
        changes: changes.clone(),
        status: PatchStatus::InProgress,
    });
    let (status, exit_code, output) = match apply_patch::write(&actions) {
        Ok(summary) => (PatchStatus::Completed, 0, summary.to_model_text()),
        Err(err) => (PatchStatus::Failed, 1, format!("{err}\n")),
    };
    emitter.record_event(
        "patch_apply_end",
        records::patch_apply_end(call_id, exit_code == 0, &output, recorded),
    );
    emitter.item_completed(id, ItemDetails::FileChange { changes, status });
    format!(
        "Exit code: {exit_code}\nWall time: {} seconds\nOutput:\n{output}",
        wall_time(started.elapsed().as_secs_f64())
    )
}

/// The `changes` of a `patch_apply_end` record: absolute path to
/// `{"type": …}`, with `move_path` for updates.
fn recorded_changes(actions: &[FileAction]) -> Value {
    let mut changes = serde_json::Map::new();
    for action in actions {
        let (path, change) = match action {
            FileAction::Add { path, .. } => (path, json!({"type": "add"})),
            FileAction::Delete { path, .. } => (path, json!({"type": "delete"})),
            FileAction::Update { path, move_to, .. } => (
                path,
                json!({"type": "update", "move_path": move_to.as_ref().map(|to| &to.path)}),
            ),
        };
        changes.insert(path.display().to_string(), change);
    }
    Value::Object(changes)
}

/// Why writing `targets` is not allowed, or `None` when it is.
fn rejection(policy: &SandboxPolicy, cwd: &Path, targets: &[&Path]) -> Option<String> {
    match policy {
        SandboxPolicy::DangerFullAccess => None,
        SandboxPolicy::ReadOnly => Some(
            "patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings"
                .to_string(),
        ),
        SandboxPolicy::WorkspaceWrite { .. } => {
            let roots: Vec<PathBuf> = policy
                .writable_roots(cwd)
                .iter()
                .map(|root| resolve_through_links(root))
                .collect();
            let outside: Vec<String> = targets
                .iter()
                .filter(|target| {
                    let real = resolve_through_links(target);
                    !roots.iter().any(|root| real.starts_with(root))
                })
                .map(|target| target.display().to_string())
                .collect();
            (!outside.is_empty()).then(|| {
                format!(
                    "patch rejected: writing outside of the writable roots ({}) is blocked by the workspace-write sandbox; rejected by user approval settings",
                    outside.join(", ")
                )
            })
        }
    }
}

/// `path` with symlinks resolved as far as it exists, so a link planted inside a
/// writable root that points elsewhere is judged by where it leads.
fn resolve_through_links(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return normalise(path),
        }
    }
}

fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Seconds rounded to one decimal, printed minimally: `0`, `0.1`, `2.5`.
pub fn wall_time(seconds: f64) -> String {
    let tenths = (seconds * 10.0).round() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{}", tenths as u64)
    } else {
        format!("{tenths:.1}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn wall_time_is_minimal() {
        assert_eq!(wall_time(0.01), "0");
        assert_eq!(wall_time(0.14), "0.1");
        assert_eq!(wall_time(2.46), "2.5");
        assert_eq!(wall_time(3.0), "3");
    }

    #[test]
    fn symlink_out_of_root_is_rejected() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let cwd = root.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(outside.path(), cwd.join("link")).unwrap();
        let policy = SandboxPolicy::WorkspaceWrite {
            writable_roots: Vec::new(),
            network_access: false,
            exclude_tmpdir_env_var: true,
            exclude_slash_tmp: true,
        };
        let inside = cwd.join("a.txt");
        let through_link = cwd.join("link/b.txt");
        assert!(rejection(&policy, &cwd, &[inside.as_path()]).is_none());
        assert!(rejection(&policy, &cwd, &[through_link.as_path()]).is_some());
    }
}
