//! The command tools end to end (SPEC §9.2–9.4, §4.4, §11, §14, §22.1):
//! `exec_command` / `write_stdin` for GPT-5 and codex families, `shell` for
//! gpt-4.1, `shell_command` for gpt-oss; `command_execution` items, the texts
//! the model gets back, environments, apply_patch interception, escalation,
//! and that nothing a command started outlives the run.
//!
//! Most tests run with `-s danger-full-access`: the sandbox has its own suite.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use mock_responses::{ev, Reply};
use nix::sys::signal::Signal;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a killed process may take to disappear after codex exited.
const DEATH_TIMEOUT: Duration = Duration::from_secs(3);

/// A reply in which the model calls function tool `name` with `arguments`.
fn call(resp_id: &str, call_id: &str, name: &str, arguments: Value) -> Reply {
    Reply::sse(vec![
        ev::created(resp_id),
        ev::function_call(call_id, name, &arguments.to_string()),
        ev::completed(resp_id),
    ])
}

/// The final reply: one assistant message.
fn done(resp_id: &str) -> Reply {
    Reply::sse(vec![
        ev::created(resp_id),
        ev::message("msg_done", "done"),
        ev::completed(resp_id),
    ])
}

/// The `function_call_output` text for `call_id` in request `index`.
fn output_of(env: &TestEnv, index: usize, call_id: &str) -> anyhow::Result<String> {
    let requests = env.requests();
    let request = requests
        .get(index)
        .ok_or_else(|| anyhow::anyhow!("only {} requests", requests.len()))?;
    let input = request.input();
    input
        .iter()
        .find(|item| item["type"] == "function_call_output" && item["call_id"] == call_id)
        .and_then(|item| item["output"].as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no function_call_output for {call_id} in {input:?}"))
}

/// The `command_execution` events, in order.
fn command_events(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["item"]["type"] == "command_execution")
        .cloned()
        .collect()
}

/// Names of the tools a request advertised.
fn tool_names(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `pid` is gone (no `/proc` entry, or a zombie awaiting its reaper).
fn is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// Wait until `pid` is dead; fail after [`DEATH_TIMEOUT`].
fn assert_dies(pid: i32, what: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    while !is_dead(pid) {
        if start.elapsed() > DEATH_TIMEOUT {
            // Do not leave it behind for the next test.
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            anyhow::bail!("{what} (pid {pid}) survived the run");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The pid a command wrote to `path`.
fn read_pid(path: &Path) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    Ok(text.trim().parse()?)
}

/// A script that records three background processes, all still running when
/// it yields: one in the command's group, one double-forked in the group, and
/// one that left the group and session with `setsid`.
const BACKGROUND_SCRIPT: &str = "sleep 30 & echo $! > bg.pid; \
     (sleep 30 & echo $! > forked.pid); \
     (setsid sleep 30 & echo $! > escaped.pid); \
     echo started; wait";

fn assert_background_dies(work: &Path) -> anyhow::Result<()> {
    for (file, what) in [
        ("bg.pid", "background child"),
        ("forked.pid", "double-forked child"),
        ("escaped.pid", "setsid child"),
    ] {
        assert_dies(read_pid(&work.join(file))?, what)?;
    }
    Ok(())
}

/// `exec_command` that exits 3: `item.started` then `item.completed` (failed,
/// exit 3, output), and the unified envelope in the next request.
#[test]
fn exec_command_reports_exit_code() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "exec_command",
            json!({"cmd": "echo hi; exit 3"}),
        ),
        done("resp_2"),
    ])?;
    let run = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let command = "/bin/bash -lc 'echo hi; exit 3'";
    assert_eq!(
        command_events(&events),
        vec![
            json!({"type": "item.started", "item": {"id": "item_0", "type": "command_execution", "command": command, "aggregated_output": "", "exit_code": null, "status": "in_progress"}}),
            json!({"type": "item.completed", "item": {"id": "item_0", "type": "command_execution", "command": command, "aggregated_output": "hi\n", "exit_code": 3, "status": "failed"}}),
        ]
    );
    let output = output_of(&env, 1, "call_1")?;
    let lines: Vec<&str> = output.lines().collect();
    assert!(
        lines[0].starts_with("Chunk ID: ") && lines[0].len() == "Chunk ID: ".len() + 6,
        "{output}"
    );
    assert!(
        lines[1].starts_with("Wall time: ") && lines[1].ends_with(" seconds"),
        "{output}"
    );
    assert_eq!(
        lines[2..],
        [
            "Process exited with code 3",
            "Original token count: 1",
            "Output:",
            "hi"
        ]
    );
    Ok(())
}

/// The catalogue picks the command tools: unified exec for codex families and
/// unknown models (which also get the patch instructions), `shell` for
/// gpt-4.1, `shell_command` for gpt-oss.
#[test]
fn command_tools_follow_the_model_family() -> anyhow::Result<()> {
    for (model, present, absent) in [
        (
            "gpt-5-codex",
            &["exec_command", "write_stdin"][..],
            &["shell", "shell_command"][..],
        ),
        (
            "my-local-model",
            &["exec_command", "write_stdin"],
            &["shell", "apply_patch"],
        ),
        (
            "gpt-4.1",
            &["shell"],
            &["exec_command", "write_stdin", "shell_command"],
        ),
        (
            "gpt-oss-20b",
            &["shell_command"],
            &["exec_command", "shell"],
        ),
    ] {
        let env = TestEnv::new(vec![mock_responses::message_reply("hi")])?;
        let run = env.exec().args(["--json", "-m", model, "hi"]).run()?;
        assert_eq!(run.code(), Some(0), "{model}: {run}");
        let body = env.requests()[0].json();
        let names = tool_names(&body);
        for name in present {
            assert!(names.iter().any(|n| n == name), "{model}: {names:?}");
        }
        for name in absent {
            assert!(!names.iter().any(|n| n == name), "{model}: {names:?}");
        }
        let instructions = body["instructions"].as_str().unwrap_or_default();
        assert_eq!(
            instructions.contains("*** Begin Patch"),
            model == "my-local-model",
            "{model}: patch instructions only without an apply_patch tool"
        );
    }
    Ok(())
}

/// A session that outlives its call: `exec_command` yields with a session id,
/// `write_stdin` polls it, the turn end completes its item with exit null, and
/// every process it started is gone once codex has exited.
#[test]
fn background_session_is_polled_then_killed_at_exit() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "exec_command",
            json!({"cmd": BACKGROUND_SCRIPT, "yield_time_ms": 1000}),
        ),
        call(
            "resp_2",
            "call_2",
            "write_stdin",
            json!({"session_id": 1000, "chars": "", "yield_time_ms": 250}),
        ),
        call(
            "resp_3",
            "call_3",
            "write_stdin",
            json!({"session_id": 4242}),
        ),
        done("resp_4"),
    ])?;
    let run = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_background_dies(&env.work)?;

    let first = output_of(&env, 1, "call_1")?;
    assert!(
        first.contains("\nProcess running with session ID 1000\n"),
        "{first}"
    );
    assert!(first.ends_with("Output:\nstarted\n"), "{first}");
    let poll = output_of(&env, 2, "call_2")?;
    assert!(
        poll.contains("\nProcess running with session ID 1000\n"),
        "{poll}"
    );
    assert!(poll.ends_with("Output:\n"), "nothing new: {poll}");
    assert_eq!(
        output_of(&env, 3, "call_3")?,
        "write_stdin failed: Unknown process id 4242"
    );

    let (_, events) = run.events()?;
    let commands = command_events(&events);
    assert_eq!(commands.len(), 2, "{commands:#?}");
    assert_eq!(commands[0]["type"], "item.started");
    assert_eq!(
        commands[1]["item"],
        json!({"id": "item_0", "type": "command_execution",
               "command": format!("/bin/bash -lc '{BACKGROUND_SCRIPT}'"),
               "aggregated_output": "started\n", "exit_code": null, "status": "completed"})
    );
    // Reconciled at turn end: after the agent message, right before turn.completed.
    let n = events.len();
    assert_eq!(events[n - 2], commands[1]);
    assert_eq!(events[n - 1]["type"], "turn.completed");
    Ok(())
}

/// SIGINT while a background session runs: the item is still completed, the
/// turn fails with `interrupted`, and every process the session started dies.
#[test]
fn background_session_is_killed_on_sigint() -> anyhow::Result<()> {
    let (code, events) = signal_background_session(Signal::SIGINT)?;
    assert_eq!(code, Some(130));
    assert_eq!(
        events[events.len() - 1],
        turn_failed("interrupted"),
        "{events:#?}"
    );
    Ok(())
}

/// SIGTERM while a background session runs: the same clean-up (the item is
/// completed, every process dies) but no turn event (SPEC §0.5), exit 143.
#[test]
fn background_session_is_killed_on_sigterm() -> anyhow::Result<()> {
    let (code, events) = signal_background_session(Signal::SIGTERM)?;
    assert_eq!(code, Some(143));
    assert!(
        events
            .iter()
            .all(|e| e["type"] != "turn.failed" && e["type"] != "error"),
        "{events:#?}"
    );
    Ok(())
}

/// Send `signal` while a background session runs and the next request
/// stalls; checks that the session's item was completed and its processes
/// died, and returns the exit code and the events.
fn signal_background_session(signal: Signal) -> anyhow::Result<(Option<i32>, Vec<Value>)> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "exec_command",
            json!({"cmd": BACKGROUND_SCRIPT, "yield_time_ms": 1000}),
        ),
        Reply::sse(vec![ev::created("resp_2"), ev::message("m", "never")]).stall_after(1),
    ])?;
    let mut spawned = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "go"])
        .spawn_with_stdin(Stdio::null())?;
    let lines = spawned.stdout_lines()?;
    let mut seen = lines.until_type("turn.started", STEP_TIMEOUT)?;
    anyhow::ensure!(
        env.server.wait_for_requests(2, STEP_TIMEOUT),
        "the second request never arrived"
    );
    spawned.signal(signal)?;
    let run = spawned.finish()?;
    seen.extend(lines.rest());
    assert_background_dies(&env.work)?;
    let (_, events) = normalize_events(parse_jsonl(seen.iter().map(String::as_str))?)?;
    let commands = command_events(&events);
    anyhow::ensure!(commands.len() == 2, "{run}\n{events:#?}");
    anyhow::ensure!(commands[1]["type"] == "item.completed", "{events:#?}");
    anyhow::ensure!(
        commands[1]["item"]["exit_code"] == Value::Null,
        "{events:#?}"
    );
    Ok((run.code(), events))
}

/// `shell` (gpt-4.1) past its timeout: the group is killed at once (the next
/// command sees the background child dead), exit code 124, the timeout prefix,
/// and the structured JSON envelope.
#[test]
fn shell_timeout_kills_the_group() -> anyhow::Result<()> {
    let probe = "p=$(cat bg.pid); if [ -e /proc/$p ] && ! grep -q '^State:.*Z' /proc/$p/status; \
                 then echo alive; else echo dead; fi";
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "shell",
            json!({"command": ["bash", "-c", "sleep 30 & echo $! > bg.pid; echo waiting; sleep 30"], "timeout_ms": 500}),
        ),
        call(
            "resp_2",
            "call_2",
            "shell",
            json!({"command": ["bash", "-c", probe]}),
        ),
        done("resp_3"),
    ])?;
    let started = Instant::now();
    let run = env
        .exec()
        .args(["--json", "-m", "gpt-4.1", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "timeout ignored"
    );

    let first: Value = serde_json::from_str(&output_of(&env, 1, "call_1")?)?;
    assert_eq!(first["metadata"]["exit_code"], 124);
    assert_eq!(
        first["output"],
        "command timed out after 500 milliseconds\nwaiting\n"
    );
    let duration = first["metadata"]["duration_seconds"]
        .as_f64()
        .unwrap_or_default();
    assert!((0.4..5.0).contains(&duration), "{first}");
    let second: Value = serde_json::from_str(&output_of(&env, 2, "call_2")?)?;
    assert_eq!(
        second,
        json!({"output": "dead\n", "metadata": {"exit_code": 0, "duration_seconds": second["metadata"]["duration_seconds"]}})
    );

    let (_, events) = run.events()?;
    let commands = command_events(&events);
    assert_eq!(
        commands[1]["item"],
        json!({"id": "item_0", "type": "command_execution",
               "command": "bash -c 'sleep 30 & echo $! > bg.pid; echo waiting; sleep 30'",
               "aggregated_output": "waiting\n", "exit_code": 124, "status": "failed"})
    );
    Ok(())
}

/// `shell` interleaves stdout and stderr in the item, honours `workdir`, and
/// reports the exit code of a command killed by a signal as 128+n.
#[test]
fn shell_runs_argv_in_workdir() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "shell",
            json!({"command": ["bash", "-c", "pwd; sleep 0.1; echo err >&2; sleep 0.1; echo out; exit 2"], "workdir": "sub"}),
        ),
        call(
            "resp_2",
            "call_2",
            "shell",
            json!({"command": ["bash", "-c", "kill -TERM $$"]}),
        ),
        done("resp_3"),
    ])?;
    std::fs::create_dir(env.work.join("sub"))?;
    let run = env
        .exec()
        .args(["--json", "-m", "gpt-4.1", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let expected = format!("{}/sub\nerr\nout\n", env.work.display());
    let first: Value = serde_json::from_str(&output_of(&env, 1, "call_1")?)?;
    assert_eq!(first["output"], expected.as_str());
    assert_eq!(first["metadata"]["exit_code"], 2);
    let second: Value = serde_json::from_str(&output_of(&env, 2, "call_2")?)?;
    assert_eq!(second["metadata"]["exit_code"], 128 + 15);
    let (_, events) = run.events()?;
    let commands = command_events(&events);
    assert_eq!(commands[1]["item"]["aggregated_output"], expected.as_str());
    assert_eq!(commands[1]["item"]["status"], "failed");
    Ok(())
}

/// `shell_command` (gpt-oss) runs a script with the user's shell and replies
/// with the freeform envelope.
#[test]
fn shell_command_uses_the_user_shell() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "shell_command",
            json!({"command": "echo $0; exit 0", "workdir": "sub", "login": false}),
        ),
        done("resp_2"),
    ])?;
    std::fs::create_dir(env.work.join("sub"))?;
    let run = env
        .exec()
        .args([
            "--json",
            "-m",
            "gpt-oss-20b",
            "-s",
            "danger-full-access",
            "go",
        ])
        .env("SHELL", "/bin/sh")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let output = output_of(&env, 1, "call_1")?;
    assert!(output.starts_with("Exit code: 0\nWall time: "), "{output}");
    assert!(output.ends_with(" seconds\nOutput:\n/bin/sh\n"), "{output}");
    let (_, events) = run.events()?;
    assert_eq!(
        command_events(&events)[1]["item"],
        json!({"id": "item_0", "type": "command_execution", "command": "/bin/sh -c 'echo $0; exit 0'",
               "aggregated_output": "/bin/sh\n", "exit_code": 0, "status": "completed"})
    );
    Ok(())
}

/// A command printing 50 MB: the item's output is capped (head and tail), the
/// model gets a token-truncated reply that still counts every byte, and no
/// process of the run grows large.
#[test]
fn huge_output_stays_bounded() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "exec_command",
            json!({"cmd": "yes | head -c 50000000; echo; echo the-end", "max_output_tokens": 1000}),
        ),
        done("resp_2"),
    ])?;
    let run = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let commands = command_events(&events);
    let aggregated = commands[1]["item"]["aggregated_output"]
        .as_str()
        .unwrap_or_default();
    assert!(
        aggregated.len() <= 1024 * 1024 + 100,
        "aggregated_output is {} bytes",
        aggregated.len()
    );
    assert!(aggregated.starts_with("y\ny\n"));
    assert!(aggregated.contains("bytes of output omitted"));
    assert!(aggregated.ends_with("y\n\nthe-end\n"));
    let output = output_of(&env, 1, "call_1")?;
    assert!(
        output.len() < 5_000,
        "model output is {} bytes",
        output.len()
    );
    assert!(
        output.contains("\nOriginal token count: 12500003\n"),
        "{}",
        &output[..200]
    );
    assert!(output.contains("tokens truncated"));
    assert!(output.ends_with("the-end\n"));
    // Peak RSS of the largest finished child of this test process (kilobytes).
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    assert!(
        usage.max_rss() < 300 * 1024,
        "a child peaked at {} KiB",
        usage.max_rss()
    );
    Ok(())
}

/// Secrets stay out of commands: `*KEY*`/`*SECRET*`/`*TOKEN*`/`*PASSWORD*`
/// names and URLs with a password are dropped by default, the model's API key
/// always; unified exec adds its variables.
#[test]
fn environment_drops_secrets_and_the_api_key() -> anyhow::Result<()> {
    for ignore_default_excludes in [false, true] {
        let env = TestEnv::new(vec![
            call("resp_1", "call_1", "exec_command", json!({"cmd": "env"})),
            done("resp_2"),
        ])?;
        let run = env
            .exec()
            .args([
                "--json",
                "-s",
                "danger-full-access",
                "-c",
                &format!(
                    "shell_environment_policy.ignore_default_excludes={ignore_default_excludes}"
                ),
                "-c",
                "shell_environment_policy.set={FROM_CONFIG=\"yes\"}",
                "go",
            ])
            .env("MY_SECRET_TOKEN", "hush")
            .env("MY_PASSWORD", "hunter2")
            .env("DATABASE_URL", "postgres://u:p@h/db")
            .env("MIRROR_URL", "https://user@mirror.example/simple")
            .env("PLAIN_VAR", "visible")
            .run()?;
        assert_eq!(run.code(), Some(0), "{run}");
        let (thread_id, events) = run.events()?;
        let output = command_events(&events)[1]["item"]["aggregated_output"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let vars: Vec<&str> = output.lines().collect();
        for expected in [
            "PLAIN_VAR=visible",
            "MIRROR_URL=https://user@mirror.example/simple",
            "FROM_CONFIG=yes",
            "NO_COLOR=1",
            "TERM=dumb",
            "PAGER=cat",
            "GIT_PAGER=cat",
            "CODEX_CI=1",
            &format!("CODEX_THREAD_ID={thread_id}"),
        ] {
            assert!(vars.contains(&expected), "{expected} missing: {output}");
        }
        assert!(!output.contains("CODEX_API_KEY"), "{output}");
        assert!(!output.contains(TEST_API_KEY), "{output}");
        assert!(
            !output.contains("CODEX_SANDBOX_NETWORK_DISABLED"),
            "no marker without a sandbox: {output}"
        );
        for secret in [
            "MY_SECRET_TOKEN=hush",
            "MY_PASSWORD=hunter2",
            "DATABASE_URL=postgres://u:p@h/db",
        ] {
            assert_eq!(
                vars.contains(&secret),
                ignore_default_excludes,
                "{secret}: {output}"
            );
        }
    }
    Ok(())
}

/// An `apply_patch` heredoc sent through `exec_command` is applied in-process
/// (from `workdir` and the script's `cd`): a `file_change` item and the patch
/// reply, no `command_execution`.
#[test]
fn apply_patch_heredoc_is_intercepted() -> anyhow::Result<()> {
    let script = "cd inner && apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\nEOF\n";
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "exec_command",
            json!({"cmd": script, "workdir": "outer"}),
        ),
        done("resp_2"),
    ])?;
    std::fs::create_dir_all(env.work.join("outer/inner"))?;
    let run = env
        .exec()
        .args(["--json", "-s", "workspace-write", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let target = env.work.join("outer/inner/hello.txt");
    assert_eq!(std::fs::read_to_string(&target)?, "hi\n");
    let (_, events) = run.events()?;
    assert!(command_events(&events).is_empty(), "{events:#?}");
    assert_eq!(
        events[3],
        json!({"type": "item.completed", "item": {"id": "item_0", "type": "file_change",
               "changes": [{"path": target.display().to_string(), "kind": "add"}], "status": "completed"}})
    );
    let output = output_of(&env, 1, "call_1")?;
    assert!(output.starts_with("Exit code: 0\nWall time: "), "{output}");
    assert!(
        output.ends_with("Output:\nSuccess. Updated the following files:\nA hello.txt\n"),
        "{output}"
    );
    Ok(())
}

/// Asking for escalation under a sandbox is refused without running: a
/// `declined` item and an explanation for the model.
#[test]
fn escalation_is_refused() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "exec_command",
            json!({"cmd": "touch escalated.txt", "sandbox_permissions": "require_escalated", "justification": "needs it"}),
        ),
        done("resp_2"),
    ])?;
    let run = env
        .exec()
        .args(["--json", "-s", "workspace-write", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(!env.work.join("escalated.txt").exists());
    let (_, events) = run.events()?;
    assert_eq!(
        command_events(&events),
        vec![
            json!({"type": "item.completed", "item": {"id": "item_0", "type": "command_execution",
                   "command": "/bin/bash -lc 'touch escalated.txt'", "aggregated_output": "",
                   "exit_code": null, "status": "declined"}})
        ]
    );
    let output = output_of(&env, 1, "call_1")?;
    assert!(output.starts_with("rejected: "), "{output}");
    assert!(output.contains("approval policy is `never`"), "{output}");
    Ok(())
}

/// With `tty: true` the command runs on a pseudo-terminal, and `write_stdin`
/// types into it; the item completes when the session exits.
#[test]
fn tty_session_takes_input() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "exec_command",
            json!({"cmd": "tty; read line; echo got:$line", "tty": true, "yield_time_ms": 1000}),
        ),
        call(
            "resp_2",
            "call_2",
            "write_stdin",
            json!({"session_id": 1000, "chars": "hello\n", "yield_time_ms": 2000}),
        ),
        done("resp_3"),
    ])?;
    let run = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let first = output_of(&env, 1, "call_1")?;
    assert!(
        first.contains("Process running with session ID 1000\n"),
        "{first}"
    );
    assert!(first.contains("Output:\n/dev/pts/"), "{first}");
    let second = output_of(&env, 2, "call_2")?;
    assert!(second.contains("Process exited with code 0\n"), "{second}");
    assert!(second.contains("got:hello"), "{second}");
    let (_, events) = run.events()?;
    let commands = command_events(&events);
    assert_eq!(commands.len(), 2, "{commands:#?}");
    assert_eq!(commands[1]["item"]["exit_code"], 0);
    assert_eq!(commands[1]["item"]["status"], "completed");
    let aggregated = commands[1]["item"]["aggregated_output"]
        .as_str()
        .unwrap_or_default();
    assert!(
        aggregated.starts_with("/dev/pts/") && aggregated.contains("got:hello"),
        "{aggregated}"
    );
    Ok(())
}

/// Without a tty, stdin is closed: `write_stdin` with characters is refused.
#[test]
fn pipe_session_refuses_input() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "exec_command",
            json!({"cmd": "sleep 30", "yield_time_ms": 250}),
        ),
        call(
            "resp_2",
            "call_2",
            "write_stdin",
            json!({"session_id": 1000, "chars": "x\n"}),
        ),
        done("resp_3"),
    ])?;
    let run = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(
        output_of(&env, 2, "call_2")?,
        "write_stdin failed: stdin is closed for this session; rerun exec_command with tty=true to keep stdin open"
    );
    Ok(())
}

/// Under the read-only sandbox the command runs in the helper: it sees the
/// network marker, and a write is an ordinary failure for the model.
#[test]
fn sandbox_denial_is_an_ordinary_failure() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        call(
            "resp_1",
            "call_1",
            "exec_command",
            json!({"cmd": "echo marker=$CODEX_SANDBOX_NETWORK_DISABLED; touch denied.txt"}),
        ),
        done("resp_2"),
    ])?;
    let run = env.exec().args(["--json", "-s", "read-only", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(!env.work.join("denied.txt").exists());
    let (_, events) = run.events()?;
    let item = &command_events(&events)[1]["item"];
    assert_eq!(item["status"], "failed", "{item}");
    assert_eq!(
        item["command"],
        "/bin/bash -lc 'echo marker=$CODEX_SANDBOX_NETWORK_DISABLED; touch denied.txt'"
    );
    let output = item["aggregated_output"].as_str().unwrap_or_default();
    assert!(output.starts_with("marker=1\n"), "{output}");
    assert!(output.contains("denied.txt"), "{output}");
    let reply = output_of(&env, 1, "call_1")?;
    assert!(reply.contains("Process exited with code 1\n"), "{reply}");
    Ok(())
}
