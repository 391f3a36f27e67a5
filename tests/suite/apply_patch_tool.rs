//! The freeform `apply_patch` tool end to end: files on disk, `file_change`
//! items, the texts the model gets back, and the sandbox's writable roots
//! (SPEC §4.4, §10.3, §12.1, §25 cases 3–5).

use mock_responses::{ev, Reply};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// `workspace-write` with the work dir as the only writable root (no `/tmp`, no
/// `$TMPDIR`), so `$HOME` and everything next to the work dir lie outside it.
const WORK_DIR_ONLY: [&str; 7] = [
    "--json",
    "-s",
    "workspace-write",
    "-c",
    "sandbox_workspace_write.exclude_slash_tmp=true",
    "-c",
    "sandbox_workspace_write.exclude_tmpdir_env_var=true",
];

/// Two replies: the model sends `patch` through the freeform tool, then answers.
fn patch_turn(patch: &str) -> Vec<Reply> {
    vec![
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::custom_tool_call("call_patch", "apply_patch", patch),
            ev::completed("resp_1"),
        ]),
        Reply::sse(vec![
            ev::created("resp_2"),
            ev::message("msg_1", "patched"),
            ev::completed("resp_2"),
        ]),
    ]
}

/// The `output` the second request carries for `call_patch`.
fn patch_output(env: &TestEnv) -> anyhow::Result<String> {
    custom_output(env, 2)
}

/// The `output` the last of `count` requests carries for `call_patch`.
fn custom_output(env: &TestEnv, count: usize) -> anyhow::Result<String> {
    let requests = env.requests();
    anyhow::ensure!(
        requests.len() == count,
        "expected {count} requests, got {}",
        requests.len()
    );
    let input = requests[count - 1].input();
    let output = input
        .iter()
        .find(|item| item["type"] == "custom_tool_call_output" && item["call_id"] == "call_patch")
        .and_then(|item| item["output"].as_str())
        .ok_or_else(|| anyhow::anyhow!("no custom_tool_call_output in {input:?}"))?;
    Ok(output.to_string())
}

const ADD_AND_UPDATE: &str = "*** Begin Patch\n*** Update File: README.md\n@@\n-hello\n+hello there\n*** Add File: hello.txt\n+hello world\n*** End Patch\n";

/// A known model gets the freeform tool with its Lark grammar.
#[test]
fn freeform_tool_is_advertised() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![mock_responses::message_reply("hi")])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let body = env.requests()[0].json();
    let tool = body["tools"]
        .as_array()
        .and_then(|tools| tools.iter().find(|t| t["name"] == "apply_patch"))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no apply_patch tool in {body}"))?;
    assert_eq!(tool["type"], "custom");
    assert_eq!(tool["format"]["type"], "grammar");
    assert_eq!(tool["format"]["syntax"], "lark");
    assert!(tool["format"]["definition"]
        .as_str()
        .unwrap_or_default()
        .contains("*** Begin Patch"));
    Ok(())
}

/// In workspace-write the patch lands on disk, a `file_change` item starts and
/// completes with absolute sorted paths, and the model gets the success text.
#[test]
fn patch_applies_in_workspace_write() -> anyhow::Result<()> {
    let env = TestEnv::new(patch_turn(ADD_AND_UPDATE))?;
    env.write_file("README.md", "hello\n")?;
    let run = env
        .exec()
        .args(["--json", "-s", "workspace-write", "edit"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(
        std::fs::read_to_string(env.work.join("README.md"))?,
        "hello there\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.work.join("hello.txt"))?,
        "hello world\n"
    );
    let (_, events) = run.events()?;
    let changes = json!([
        {"path": env.work.join("README.md").display().to_string(), "kind": "update"},
        {"path": env.work.join("hello.txt").display().to_string(), "kind": "add"},
    ]);
    assert_eq!(
        events[2],
        json!({"type": "item.started", "item": {"id": "item_0", "type": "file_change", "changes": changes, "status": "in_progress"}})
    );
    assert_eq!(
        events[3],
        json!({"type": "item.completed", "item": {"id": "item_0", "type": "file_change", "changes": changes, "status": "completed"}})
    );
    let output = patch_output(&env)?;
    assert!(output.starts_with("Exit code: 0\nWall time: "), "{output}");
    assert!(
        output.ends_with(
            "Output:\nSuccess. Updated the following files:\nA hello.txt\nM README.md\n"
        ),
        "{output}"
    );
    Ok(())
}

/// The read-only default rejects the patch without an item and writes nothing.
#[test]
fn read_only_rejects_patch() -> anyhow::Result<()> {
    let env = TestEnv::new(patch_turn(ADD_AND_UPDATE))?;
    env.write_file("README.md", "hello\n")?;
    let run = env.exec().args(["--json", "edit"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(!env.work.join("hello.txt").exists());
    assert_eq!(
        std::fs::read_to_string(env.work.join("README.md"))?,
        "hello\n"
    );
    let (_, events) = run.events()?;
    assert!(
        !events.iter().any(|e| e["item"]["type"] == "file_change"),
        "{events:?}"
    );
    assert_eq!(
        patch_output(&env)?,
        "patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings"
    );
    Ok(())
}

/// Context that does not match fails verification: no item, nothing written,
/// and the model gets the exact verification message.
#[test]
fn non_matching_context_fails_verification() -> anyhow::Result<()> {
    let patch = "*** Begin Patch\n*** Add File: new.txt\n+x\n*** Update File: README.md\n@@\n-goodbye\n+bye\n*** End Patch\n";
    let env = TestEnv::new(patch_turn(patch))?;
    env.write_file("README.md", "hello\n")?;
    let run = env
        .exec()
        .args(["--json", "-s", "workspace-write", "edit"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(!env.work.join("new.txt").exists(), "verify-all-then-write");
    let (_, events) = run.events()?;
    assert!(!events.iter().any(|e| e["item"]["type"] == "file_change"));
    assert_eq!(
        patch_output(&env)?,
        format!(
            "apply_patch verification failed: Failed to find expected lines in {}:\ngoodbye",
            env.work.join("README.md").display()
        )
    );
    Ok(())
}

/// A path outside the writable roots is rejected without an item, as the
/// reference does, and nothing is written there.
#[test]
fn workspace_write_rejects_paths_outside_roots() -> anyhow::Result<()> {
    let outside = tempfile::tempdir()?;
    let escape = outside.path().canonicalize()?;
    let direct = escape.join("direct.txt");
    let patch = format!(
        "*** Begin Patch\n*** Add File: {}\n+x\n*** End Patch\n",
        direct.display()
    );
    let env = TestEnv::new(patch_turn(&patch))?;
    let run = env.exec().args(WORK_DIR_ONLY).arg("edit").run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(
        patch_output(&env)?,
        format!(
            "patch rejected: writing outside of the writable roots ({}) is blocked by the workspace-write sandbox; rejected by user approval settings",
            direct.display()
        )
    );
    assert_eq!(std::fs::read_dir(&escape)?.count(), 0, "nothing written");
    let (_, events) = run.events()?;
    assert!(!events
        .iter()
        .any(|e: &Value| e["item"]["type"] == "file_change"));
    Ok(())
}
