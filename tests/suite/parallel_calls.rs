//! Several tool calls in one response (SPEC §8 step 3): calls to tools that
//! allow it run concurrently (commands only for families with
//! `parallel_tool_calls`, here gpt-4.1 and its `shell` tool), others run alone
//! as barriers; commands start in call order, complete in call order, and the
//! outputs go back in call order.
//!
//! Concurrency is proven without timing: the first command waits for a file
//! that only a later command of the same response creates (a sequential
//! runner would hit the first command's timeout instead).
#![cfg(target_os = "linux")]

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// `bash -c <script>` as a `shell` call.
fn shell(call_id: &'static str, script: &str) -> (&'static str, &'static str, Value) {
    (
        call_id,
        "shell",
        json!({"command": ["bash", "-c", script], "timeout_ms": 5000}),
    )
}

/// Waits until `flag` exists (at most the 5 s timeout), then prints A.
const WAIT_FOR_FLAG: &str = "while [ ! -f flag ]; do sleep 0.01; done; echo A";

/// `item.started` of a `command_execution`.
fn started(id: &str, command: &str) -> Value {
    json!({"type": "item.started", "item": {"id": id, "type": "command_execution",
           "command": command, "aggregated_output": "", "exit_code": null, "status": "in_progress"}})
}

/// `item.completed` of a `command_execution` that exited 0.
fn completed(id: &str, command: &str, output: &str) -> Value {
    json!({"type": "item.completed", "item": {"id": id, "type": "command_execution",
           "command": command, "aggregated_output": output, "exit_code": 0, "status": "completed"}})
}

/// The `output` field of a structured (`shell`) reply.
fn shell_output(
    request: &mock_responses::RecordedRequest,
    call_id: &str,
) -> anyhow::Result<String> {
    let reply: Value = serde_json::from_str(&call_output(request, call_id)?)?;
    Ok(reply["output"].as_str().unwrap_or_default().to_string())
}

/// Two commands of one gpt-4.1 response run at the same time: the first sees
/// the file the second creates. Both `item.started` come first, then both
/// `item.completed`, each in call order (though the second ended first), and
/// the outputs go back in call order.
#[test]
fn commands_of_a_parallel_family_run_concurrently() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                shell("call_1", WAIT_FOR_FLAG),
                shell("call_2", "touch flag; echo B"),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    let run = env
        .exec()
        .args(["--json", "-m", "gpt-4.1", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let first = format!("bash -c '{WAIT_FOR_FLAG}'");
    let second = "bash -c 'touch flag; echo B'";
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            started("item_0", &first),
            started("item_1", second),
            completed("item_0", &first, "A\n"),
            completed("item_1", second, "B\n"),
            agent_message("item_2", "done"),
            turn_completed(0, 0, 0, 0),
        ]
    );
    let request = &env.requests()[1];
    assert_eq!(shell_output(request, "call_1")?, "A\n");
    assert_eq!(shell_output(request, "call_2")?, "B\n");
    assert_eq!(
        output_position(request, "call_2")?,
        output_position(request, "call_1")? + 1
    );
    assert_eq!(request.json()["parallel_tool_calls"], true);
    Ok(())
}

/// `view_image` joins a concurrent group of commands without splitting it;
/// its image follows all three outputs.
#[test]
fn view_image_runs_alongside_commands() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                shell("call_1", WAIT_FOR_FLAG),
                ("call_2", "view_image", json!({"path": "pic.png"})),
                shell("call_3", "touch flag; echo C"),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    env.write_file("pic.png", b"\x89PNG\r\n\x1a\nrest")?;
    let run = env
        .exec()
        .args(["--json", "-m", "gpt-4.1", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let request = &env.requests()[1];
    assert_eq!(shell_output(request, "call_1")?, "A\n");
    assert_eq!(call_output(request, "call_2")?, "attached local image path");
    let positions = [
        output_position(request, "call_1")?,
        output_position(request, "call_2")?,
        output_position(request, "call_3")?,
    ];
    assert_eq!(
        positions,
        [positions[0], positions[0] + 1, positions[0] + 2]
    );
    let input = request.input();
    assert_eq!(input.len(), positions[2] + 2);
    assert_eq!(
        input[positions[2] + 1]["content"][0]["image_url"],
        "data:image/png;base64,iVBORw0KGgpyZXN0"
    );
    let (_, events) = run.events()?;
    let order: Vec<(String, String)> = item_events(&events, "command_execution")
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["item"]["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = order
        .iter()
        .map(|(t, i)| (t.as_str(), i.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("item.started", "item_0"),
            ("item.started", "item_1"),
            ("item.completed", "item_0"),
            ("item.completed", "item_1"),
        ]
    );
    Ok(())
}

/// `update_plan` and an intercepted `apply_patch` run alone: the commands
/// before them have completed when they run, the ones after start only then;
/// consecutive commands between barriers still form one concurrent group.
#[test]
fn plans_and_patches_are_barriers() -> anyhow::Result<()> {
    let patch = "apply_patch <<'EOF'\n*** Begin Patch\n*** Update File: note.txt\n-old\n+new\n*** End Patch\nEOF\n";
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                shell("call_1", "sleep 0.2; cat note.txt"),
                (
                    "call_2",
                    "update_plan",
                    json!({"plan": [{"step": "edit", "status": "in_progress"}]}),
                ),
                shell("call_3", patch),
                shell("call_4", WAIT_FOR_FLAG),
                shell("call_5", "touch flag; cat note.txt"),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    env.write_file("note.txt", "old\n")?;
    let run = env
        .exec()
        .args(["--json", "-m", "gpt-4.1", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let request = &env.requests()[1];
    assert_eq!(
        shell_output(request, "call_1")?,
        "old\n",
        "ran before the patch"
    );
    assert_eq!(call_output(request, "call_2")?, "Plan updated");
    let patched = call_output(request, "call_3")?;
    assert!(
        patched.ends_with("Output:\nSuccess. Updated the following files:\nM note.txt\n"),
        "{patched}"
    );
    assert_eq!(shell_output(request, "call_4")?, "A\n");
    assert_eq!(shell_output(request, "call_5")?, "new\n");
    let positions: Vec<usize> = ["call_1", "call_2", "call_3", "call_4", "call_5"]
        .iter()
        .map(|id| output_position(request, id))
        .collect::<anyhow::Result<_>>()?;
    assert!(
        positions.windows(2).all(|w| w[1] == w[0] + 1),
        "{positions:?}"
    );

    let (_, events) = run.events()?;
    let summary: Vec<String> = events
        .iter()
        .filter(|e| e.get("item").is_some())
        .map(|e| {
            format!(
                "{} {} {}",
                e["type"].as_str().unwrap_or_default(),
                e["item"]["id"].as_str().unwrap_or_default(),
                e["item"]["type"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "item.started item_0 command_execution",
            "item.completed item_0 command_execution",
            "item.started item_1 todo_list",
            "item.started item_2 file_change",
            "item.completed item_2 file_change",
            "item.started item_3 command_execution",
            "item.started item_4 command_execution",
            "item.completed item_3 command_execution",
            "item.completed item_4 command_execution",
            "item.completed item_5 agent_message",
            "item.completed item_1 todo_list",
        ]
    );
    Ok(())
}

/// Families without `parallel_tool_calls` run the commands of one response
/// one after another: each completes before the next starts.
#[test]
fn commands_of_other_families_run_one_at_a_time() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                (
                    "call_1",
                    "exec_command",
                    json!({"cmd": "touch flag; echo A"}),
                ),
                (
                    "call_2",
                    "exec_command",
                    json!({"cmd": "[ -f flag ] && echo B"}),
                ),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    let run = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let first = "/bin/bash -lc 'touch flag; echo A'";
    let second = "/bin/bash -lc '[ -f flag ] && echo B'";
    let (_, events) = run.events()?;
    assert_eq!(
        item_events(&events, "command_execution"),
        vec![
            started("item_0", first),
            completed("item_0", first, "A\n"),
            started("item_1", second),
            completed("item_1", second, "B\n"),
        ]
    );
    let request = &env.requests()[1];
    assert_eq!(request.json()["parallel_tool_calls"], false);
    assert_eq!(
        output_position(request, "call_2")?,
        output_position(request, "call_1")? + 1
    );
    Ok(())
}
