//! The `apply_patch` tool as the model calls it (freeform or JSON variant):
//! parse, pick how files are reached from the run's sandbox, verify, write, and
//! report a `file_change` item (SPEC §4.4, §10.3, §11.1, §12.1).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};

use super::apply_patch::{self, ApplyError, ChangeKind, Confined, Files, PlannedChange, Refusal};
use crate::runner::emitter::Emitter;
use crate::runner::events::{FileUpdateChange, ItemDetails, PatchChangeKind, PatchStatus};
use crate::sandbox::{SandboxPolicy, SandboxSpec};
use crate::session::records;

/// What the model gets for any patch under the `read-only` sandbox (SPEC §10.3).
const READ_ONLY_REJECTION: &str =
    "patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings";

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

/// Apply `patch` with relative paths resolved against `cwd` (the turn cwd, or
/// a shell call's `workdir` and `cd` when intercepted) under the run's
/// `sandbox`; returns the text for the model.
///
/// * `danger-full-access`: files are reached by plain path, without checks.
/// * `read-only`: the patch is verified, then rejected.
/// * `workspace-write`: files are reached beneath the pinned writable roots
///   (`apply_patch/files.rs`). A target outside every root is rejected like
///   the reference does; refusals found while reaching the files (a link out
///   of the roots, a protected path) fail the `file_change` item.
///
/// Invalid patches, verification failures and rejections produce no item, as
/// in the reference; nothing is written for any of them nor for a refusal.
pub fn run(
    patch: &str,
    call_id: &str,
    cwd: &Path,
    sandbox: &SandboxSpec,
    emitter: &Emitter,
) -> String {
    let started = Instant::now();
    let parsed = match apply_patch::parse_patch(patch) {
        Ok(parsed) => parsed,
        Err(err) => return err.to_string(),
    };
    let planned = apply_patch::plan(&parsed, cwd);
    let files = match &sandbox.policy {
        SandboxPolicy::ReadOnly | SandboxPolicy::DangerFullAccess => Files::Direct,
        SandboxPolicy::WorkspaceWrite { .. } => {
            let confined = Confined::new(&sandbox.roots, &sandbox.codex_home);
            if let Some(rejection) = outside_roots(&confined, &planned) {
                return rejection.to_string();
            }
            Files::Confined(confined)
        }
    };
    let verified = match apply_patch::verify(&parsed, cwd, &files) {
        Ok(actions) => Ok(actions),
        Err(ApplyError::Refused(refusal)) => Err(refusal),
        Err(err) => return format!("apply_patch verification failed: {err}"),
    };
    if sandbox.policy == SandboxPolicy::ReadOnly {
        return READ_ONLY_REJECTION.to_string();
    }
    let changes: Vec<FileUpdateChange> = apply_patch::changes(&planned)
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
    let recorded = recorded_changes(&planned);
    emitter.record_event(
        "patch_apply_begin",
        records::patch_apply_begin(call_id, recorded.clone()),
    );
    let id = emitter.item_started(ItemDetails::FileChange {
        changes: changes.clone(),
        status: PatchStatus::InProgress,
    });
    let written = match verified {
        Ok(actions) => apply_patch::write(&actions, &files).map_err(|err| err.to_string()),
        Err(refusal) => Err(refusal.to_string()),
    };
    let (status, exit_code, output) = match written {
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

/// The rejection of a patch whose targets lie outside every writable root.
fn outside_roots(confined: &Confined<'_>, planned: &[PlannedChange]) -> Option<Refusal> {
    let paths: Vec<PathBuf> = planned
        .iter()
        .flat_map(PlannedChange::targets)
        .filter(|target| !confined.contains(target))
        .map(Path::to_path_buf)
        .collect();
    (!paths.is_empty()).then_some(Refusal::OutsideRoots { paths })
}

/// The `changes` of a `patch_apply_end` record: absolute path to
/// `{"type": …}`, with `move_path` for updates.
fn recorded_changes(planned: &[PlannedChange]) -> Value {
    let mut changes = serde_json::Map::new();
    for change in planned {
        let record = match change.kind {
            ChangeKind::Add => json!({"type": "add"}),
            ChangeKind::Delete => json!({"type": "delete"}),
            ChangeKind::Update => json!({"type": "update", "move_path": change.move_to}),
        };
        changes.insert(change.path.display().to_string(), record);
    }
    Value::Object(changes)
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

    /// Wall times are rounded to tenths and printed minimally.
    #[test]
    fn wall_time_is_minimal() {
        assert_eq!(wall_time(0.01), "0");
        assert_eq!(wall_time(0.14), "0.1");
        assert_eq!(wall_time(2.46), "2.5");
        assert_eq!(wall_time(3.0), "3");
    }

    /// Targets outside every root are all listed; a path through a link inside a
    /// root is left to the confined checks.
    #[test]
    fn outside_roots_lists_every_target_outside() -> anyhow::Result<()> {
        let root = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        let cwd = root.path().canonicalize()?;
        let escape = outside.path().canonicalize()?;
        std::os::unix::fs::symlink(&escape, cwd.join("link"))?;
        let policy = SandboxPolicy::WorkspaceWrite {
            writable_roots: Vec::new(),
            network_access: false,
            exclude_tmpdir_env_var: true,
            exclude_slash_tmp: true,
        };
        let roots = crate::sandbox::PinnedRoots::pin(&policy, &cwd);
        let confined = Confined::new(&roots, Path::new("/nonexistent/codex-home"));
        let change = |path: PathBuf, move_to: Option<PathBuf>| PlannedChange {
            path,
            kind: ChangeKind::Update,
            move_to,
        };
        let inside = vec![
            change(cwd.join("a.txt"), Some(cwd.join("new/b.txt"))),
            change(cwd.join("link/b.txt"), None),
        ];
        assert!(outside_roots(&confined, &inside).is_none());
        let mixed = vec![
            change(cwd.join("a.txt"), Some(escape.join("b.txt"))),
            change(escape.join("c.txt"), None),
        ];
        let rejection = outside_roots(&confined, &mixed).map(|r| r.to_string());
        assert_eq!(
            rejection,
            Some(format!(
                "patch rejected: writing outside of the writable roots ({}, {}) is blocked by the workspace-write sandbox; rejected by user approval settings",
                escape.join("b.txt").display(),
                escape.join("c.txt").display()
            ))
        );
        Ok(())
    }
}
