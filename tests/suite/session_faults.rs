//! Sessions under faults (issue 11 items 1, 2, 4 and 6; SPEC §16): tool calls
//! cut by a signal, session files that cannot be written, concurrent writers of
//! one thread, and torn or non-UTF-8 rollout lines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mock_responses::{ev, message_reply, Reply};
use nix::sys::signal::Signal;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// Generous bound for one step of a scenario (a watchdog, not a timing claim).
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// A reply in which the model runs `sleep 30` through `exec_command`.
fn sleep_call() -> Reply {
    calls_reply(
        "resp_1",
        &[("call_1", "exec_command", json!({"cmd": "sleep 30"}))],
    )
}

/// Run a new thread to completion; its id and rollout.
fn new_thread(env: &TestEnv, prompt: &str) -> anyhow::Result<(String, PathBuf)> {
    let run = env.exec().args(["--json", prompt]).run()?;
    anyhow::ensure!(run.code() == Some(0), "{run}");
    let (id, _) = run.events()?;
    let path = rollouts(&env.codex_home)
        .into_iter()
        .find(|p| p.to_string_lossy().contains(&id))
        .ok_or_else(|| anyhow::anyhow!("no rollout for {id}"))?;
    Ok((id, path))
}

/// Start `exec --json <args>`, wait until the `exec_command` call is running,
/// send `signal`, and return the thread id and the exit code.
fn cut_tool_call(
    env: &TestEnv,
    signal: Signal,
    args: &[&str],
) -> anyhow::Result<(String, Option<i32>)> {
    let mut spawned = env
        .exec()
        .args(["--json", "-s", "danger-full-access"])
        .args(args)
        .spawn_with_stdin(Stdio::null())?;
    let lines = spawned.stdout_lines()?;
    let seen = lines.until_type("item.started", STEP_TIMEOUT)?;
    spawned.signal(signal)?;
    let run = spawned.finish()?;
    anyhow::ensure!(!run.stderr.contains("panicked"), "{run}");
    let first: Value = serde_json::from_str(&seen[0])?;
    let id = first["thread_id"].as_str().unwrap_or_default().to_string();
    Ok((id, run.code()))
}

/// The input items of request `n` (0-based) with the position of the output
/// of `call_id` and of its call.
fn call_and_output(env: &TestEnv, n: usize, call_id: &str) -> anyhow::Result<(usize, Value)> {
    let input = env.requests()[n].input();
    let call = input
        .iter()
        .position(|i| i["type"] == "function_call" && i["call_id"] == call_id)
        .ok_or_else(|| anyhow::anyhow!("no call {call_id} in {input:#?}"))?;
    let output = output_position(&env.requests()[n], call_id)?;
    Ok((output - call, input[output].clone()))
}

/// SIGINT or SIGTERM while `exec_command` runs: the rollout records the call's
/// output as `aborted`, and `resume` sends a history the API accepts.
#[test]
fn a_tool_call_cut_by_a_signal_is_recorded_as_aborted() -> anyhow::Result<()> {
    for (signal, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        let env = TestEnv::new(vec![sleep_call(), message_reply("continued")])?;
        let (id, exit) = cut_tool_call(&env, signal, &["run it"])?;
        assert_eq!(exit, Some(code), "{signal}");
        let files = rollouts(&env.codex_home);
        let recorded = records(&files[0])?;
        let outputs: Vec<&Value> = recorded
            .iter()
            .filter(|r| r["type"] == "response_item")
            .map(|r| &r["payload"])
            .filter(|p| p["type"] == "function_call_output")
            .collect();
        assert_eq!(
            outputs,
            vec![
                &json!({"type": "function_call_output", "call_id": "call_1", "output": "aborted"})
            ],
            "{signal}"
        );
        let run = env
            .exec()
            .args(["--json", "resume", &id, "continue"])
            .run()?;
        assert_eq!(run.code(), Some(0), "{signal}: {run}");
        let (distance, output) = call_and_output(&env, 1, "call_1")?;
        assert_eq!(distance, 1, "{signal}: the output follows its call");
        assert_eq!(output["output"], "aborted");
        assert_eq!(last_input_text(&env.requests()[1])?, "continue");
    }
    Ok(())
}

/// SIGKILL cannot record anything: reading the rollout back inserts the
/// `aborted` output right after the call, and the killed run leaves no lock.
#[test]
fn a_killed_run_is_repaired_on_resume() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![sleep_call(), message_reply("continued")])?;
    let (id, exit) = cut_tool_call(&env, Signal::SIGKILL, &["run it"])?;
    assert_eq!(exit, None, "killed by the signal");
    assert!(!id.is_empty());
    let recorded = records(&rollouts(&env.codex_home)[0])?;
    assert!(
        !recorded
            .iter()
            .any(|r| r["payload"]["type"] == "function_call_output"),
        "nothing could be recorded after SIGKILL"
    );
    let run = env
        .exec()
        .args(["--json", "resume", "--last", "continue"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(run.events()?.0, id, "the killed thread is the last one");
    let (distance, output) = call_and_output(&env, 1, "call_1")?;
    assert_eq!(distance, 1);
    assert_eq!(
        output,
        json!({"type": "function_call_output", "call_id": "call_1", "output": "aborted"})
    );
    Ok(())
}

/// `$CODEX_HOME/sessions` that cannot hold a session file (a file in its
/// place, a read-only directory) fails the run before any
/// model request, naming the path and the reason.
#[test]
fn an_unwritable_sessions_dir_fails_before_any_request() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("never")])?;
    let sessions = env.codex_home.join("sessions");
    std::fs::write(&sessions, "not a directory")?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stdout, "");
    let expected = format!(
        "Error: cannot create or open the session file {}/",
        sessions.display()
    );
    assert!(run.stderr.starts_with(&expected), "{run}");
    assert!(run.stderr.contains("Not a directory"), "{run}");
    // A read-only directory: root ignores its mode, so as root the run is `nobody`'s.
    std::fs::remove_file(&sessions)?;
    std::fs::create_dir(&sessions)?;
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let codex = if unsafe { libc::geteuid() } == 0 {
        env.codex_as_nobody()?
    } else {
        env.codex()
    };
    std::fs::set_permissions(
        &sessions,
        std::os::unix::fs::PermissionsExt::from_mode(0o555),
    )?;
    let run = codex.args(["exec", "--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(run.stderr.contains("Permission denied"), "{run}");
    assert_eq!(env.requests().len(), 0, "a request was sent: {run}");
    // `--ephemeral` records nothing, so it still runs.
    let run = env.exec().args(["--json", "--ephemeral", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// A write that fails during the run (here `EFBIG` from a file size limit,
/// as a full disk gives `ENOSPC`) is reported as an `error` event and a
/// warning on stderr; the answer is still printed and the turn completes.
#[test]
fn a_failed_session_write_is_reported_and_the_answer_kept() -> anyhow::Result<()> {
    let big = "y".repeat(100_000);
    let env = TestEnv::new(vec![
        message_reply("x"),
        message_reply(&big),
        message_reply(&big),
        message_reply("after"),
    ])?;
    // A whole one-message thread fits; the same thread with a long answer not.
    let (_, small) = new_thread(&env, "same prompt")?;
    let limit = std::fs::metadata(&small)?.len();
    let run = env
        .exec()
        .args(["--json", "same prompt"])
        .file_size_limit(limit)
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (id, events) = run.events()?;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "thread.started",
            "turn.started",
            "item.completed",
            "error",
            "turn.completed"
        ],
        "{run}"
    );
    assert_eq!(events[2], agent_message("item_0", &big));
    let message = events[3]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("failed to record the session (cannot write the rollout ")
            && message.contains("File too large"),
        "{message}"
    );
    assert!(run.stderr.contains(&format!("warning: {message}")), "{run}");
    // Human mode: the answer on stdout, the failure on stderr.
    let run = env
        .exec()
        .args(["same prompt"])
        .file_size_limit(limit)
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(run.stdout, format!("{big}\n"));
    assert!(
        run.stderr.contains("ERROR: failed to record the session"),
        "{run}"
    );
    // What was recorded still resumes.
    let run = env.exec().args(["--json", "resume", &id, "again"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    Ok(())
}

/// Take the writer lock of the rollout at `path` the way a running `codex`
/// holds it.
fn hold_lock(path: &Path) -> anyhow::Result<nix::fcntl::Flock<std::fs::File>> {
    let file = std::fs::OpenOptions::new().append(true).open(path)?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|(_, errno)| anyhow::anyhow!("cannot lock {}: {errno}", path.display()))
}

/// While a thread has a writer, five `resume <id>` started at once all fail
/// with a message naming the thread, send nothing and write nothing; once the
/// writer is gone the thread resumes.
#[test]
fn concurrent_resumes_of_one_thread_are_refused() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("a1"), message_reply("a2")])?;
    let (id, path) = new_thread(&env, "q1")?;
    let before = std::fs::read(&path)?;
    let lock = hold_lock(&path)?;
    let children = (0..5)
        .map(|n| {
            env.exec()
                .args(["--json", "resume", &id, &format!("q{n}")])
                .spawn_with_stdin(Stdio::null())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for child in children {
        let run = child.finish()?;
        assert_eq!(run.code(), Some(1), "{run}");
        assert_eq!(run.stdout, "");
        assert_eq!(
            run.stderr.trim_end(),
            format!(
                "Error: thread {id} already has an active writer: another run is recording to \
                 {}; wait for it to finish",
                path.display()
            )
        );
    }
    assert_eq!(env.requests().len(), 1);
    assert_eq!(std::fs::read(&path)?, before);
    drop(lock);
    let run = env.exec().args(["--json", "resume", &id, "q2"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    Ok(())
}

/// A running resume holds the lock against a second one; killing it with
/// SIGKILL leaves no stale lock.
#[test]
fn a_running_writer_blocks_others_and_its_death_frees_the_thread() -> anyhow::Result<()> {
    let stalled = Reply::sse(vec![ev::created("resp_2"), ev::completed("resp_2")]).stall_after(1);
    let env = TestEnv::new(vec![message_reply("a1"), stalled, message_reply("a3")])?;
    let (id, _) = new_thread(&env, "q1")?;
    let mut first = env
        .exec()
        .args(["--json", "resume", &id, "q2"])
        .spawn_with_stdin(Stdio::null())?;
    let lines = first.stdout_lines()?;
    lines.until_type("turn.started", STEP_TIMEOUT)?;
    anyhow::ensure!(env.server.wait_for_requests(2, STEP_TIMEOUT));
    let second = env.exec().args(["--json", "resume", &id, "q3"]).run()?;
    assert_eq!(second.code(), Some(1), "{second}");
    assert!(
        second
            .stderr
            .contains(&format!("thread {id} already has an active writer")),
        "{second}"
    );
    first.signal(Signal::SIGKILL)?;
    first.finish()?;
    let third = env.exec().args(["--json", "resume", &id, "q3"]).run()?;
    assert_eq!(third.code(), Some(0), "{third}");
    assert_eq!(env.requests().len(), 3);
    Ok(())
}

/// A rollout with a torn record (cut inside a multi-byte character, as 0.169's
/// raw UTF-8 rollouts can be) and a line of invalid UTF-8 still resumes; the
/// skipped lines are named at debug level.
#[test]
fn torn_and_invalid_utf8_lines_are_skipped_on_resume() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("café"), message_reply("again")])?;
    let (id, path) = new_thread(&env, "première question")?;
    let mut torn = serde_json::to_vec(&json!({
        "timestamp": "2026-01-01T00:00:00.000Z",
        "type": "response_item",
        "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "é"}]},
    }))?;
    let cut = torn
        .iter()
        .position(|&b| b == 0xC3)
        .ok_or_else(|| anyhow::anyhow!("no two-byte character"))?;
    torn.truncate(cut + 1);
    let mut file = std::fs::OpenOptions::new().append(true).open(&path)?;
    file.write_all(&torn)?;
    file.write_all(b"\n\xFF\xFE not utf-8 \xC0\n")?;
    drop(file);
    let run = env
        .exec()
        .args(["--json", "resume", &id, "suite"])
        .env("RUST_LOG", "codex::session=debug")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(
        run.stderr
            .contains("skipping a rollout line that is not UTF-8"),
        "{run}"
    );
    let texts: Vec<String> = env.requests()[1]
        .input()
        .iter()
        .filter_map(message_text)
        .collect();
    assert!(texts.iter().any(|t| t == "première question"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "café"), "{texts:?}");
    assert_eq!(texts.last().map(String::as_str), Some("suite"));
    Ok(())
}
