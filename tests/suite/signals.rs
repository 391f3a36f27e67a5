//! Signals and stdout failures (SPEC §0.5 "SIGINT / SIGTERM", §22.1; STYLE C
//! and D: a broken pipe exits quietly with 0, any other write error exits 1).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mock_responses::{ev, Reply};
use nix::sys::signal::Signal;
use pretty_assertions::assert_eq;

use crate::common::*;

/// How long the process may take to exit after a signal (SPEC: within 1 s; some
/// slack for a loaded test machine).
const EXIT_AFTER_SIGNAL: Duration = Duration::from_millis(1500);
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// What a signalled run left behind.
struct Signalled {
    code: Option<i32>,
    events: Vec<serde_json::Value>,
    stderr: String,
    /// Time from the signal to the exit.
    elapsed: Duration,
    /// The payload types of the rollout's `event_msg` records.
    recorded: Vec<String>,
}

/// Start a run (`--json` when `json`) whose stream stalls and signal it once
/// the request is in flight.
fn signal_stalled_run(signal: Signal, json: bool) -> anyhow::Result<Signalled> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", "never seen"),
        ev::completed("resp_1"),
    ])
    .stall_after(1)])?;
    let mut exec = env.exec();
    if json {
        exec = exec.arg("--json");
    }
    let mut spawned = exec.arg("hi").spawn_with_stdin(Stdio::null())?;
    let lines = spawned.stdout_lines()?;
    let mut seen = if json {
        lines.until_type("turn.started", STEP_TIMEOUT)?
    } else {
        Vec::new()
    };
    anyhow::ensure!(
        env.server.wait_for_requests(1, STEP_TIMEOUT),
        "the request never arrived"
    );
    spawned.signal(signal)?;
    let signalled = Instant::now();
    let run = spawned.finish()?;
    let elapsed = signalled.elapsed();
    seen.extend(lines.rest());
    anyhow::ensure!(!run.stderr.contains("panicked"), "panic on stderr:\n{run}");
    let events = if json {
        normalize_events(parse_jsonl(seen.iter().map(String::as_str))?)?.1
    } else {
        anyhow::ensure!(seen.is_empty(), "stdout: {seen:?}");
        Vec::new()
    };
    let files = rollouts(&env.codex_home);
    anyhow::ensure!(files.len() == 1, "rollouts: {files:?}");
    let recorded = records(&files[0])?
        .iter()
        .filter(|r| r["type"] == "event_msg")
        .filter_map(|r| r["payload"]["type"].as_str().map(str::to_string))
        .collect();
    Ok(Signalled {
        code: run.code(),
        events,
        stderr: run.stderr,
        elapsed,
        recorded,
    })
}

/// SIGINT during a stalled stream: `error` + `turn.failed` "interrupted", exit
/// 130, fast, and the rollout closed with `turn_aborted`.
#[test]
fn sigint_fails_the_turn_and_exits_130() -> anyhow::Result<()> {
    let run = signal_stalled_run(Signal::SIGINT, true)?;
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    let mut expected = vec![thread_started(), turn_started()];
    expected.extend(fatal("interrupted"));
    assert_eq!(run.events, expected);
    assert!(
        run.elapsed < EXIT_AFTER_SIGNAL,
        "exit took {:?}",
        run.elapsed
    );
    assert!(!run.stderr.contains("terminated"), "{}", run.stderr);
    assert!(
        run.recorded.contains(&"turn_aborted".to_string()),
        "{:?}",
        run.recorded
    );
    Ok(())
}

/// SIGTERM during a stalled stream (how the SDK aborts a turn): no turn event
/// on stdout, so that the SDK reports its own `AbortError`; `terminated` on
/// stderr, exit 143, fast, and the rollout closed with `turn_aborted`.
#[test]
fn sigterm_prints_no_turn_event_and_exits_143() -> anyhow::Result<()> {
    let run = signal_stalled_run(Signal::SIGTERM, true)?;
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert_eq!(run.events, vec![thread_started(), turn_started()]);
    assert!(
        run.elapsed < EXIT_AFTER_SIGNAL,
        "exit took {:?}",
        run.elapsed
    );
    assert!(
        run.stderr.lines().any(|l| l == "terminated"),
        "{}",
        run.stderr
    );
    assert!(
        run.recorded.contains(&"turn_aborted".to_string()),
        "{:?}",
        run.recorded
    );
    Ok(())
}

/// In human mode SIGTERM prints `terminated`, not `turn interrupted`, and
/// nothing on stdout; SIGINT keeps `turn interrupted`.
#[test]
fn human_mode_says_terminated_on_sigterm() -> anyhow::Result<()> {
    let run = signal_stalled_run(Signal::SIGTERM, false)?;
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(run.stderr.ends_with("terminated\n"), "{}", run.stderr);
    assert!(!run.stderr.contains("turn interrupted"), "{}", run.stderr);
    let run = signal_stalled_run(Signal::SIGINT, false)?;
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert!(run.stderr.contains("turn interrupted\n"), "{}", run.stderr);
    assert!(!run.stderr.contains("terminated"), "{}", run.stderr);
    Ok(())
}

/// Closing stdout mid-run makes the process exit promptly with 0 and no panic.
#[test]
fn closed_stdout_exits_quietly() -> anyhow::Result<()> {
    let mut events = vec![ev::created("resp_1")];
    for n in 0..40 {
        events.push(ev::message(&format!("msg_{n}"), &format!("message {n}")));
    }
    events.push(ev::completed("resp_1"));
    // 40 messages × 50 ms: the stream lasts about two seconds.
    let env = TestEnv::new(vec![Reply::sse(events).event_delay_ms(50)])?;
    let mut spawned = env
        .exec()
        .args(["--json", "hi"])
        .spawn_with_stdin(Stdio::null())?;
    let stdout = spawned
        .child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut reader = BufReader::new(stdout);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    assert!(first.contains("thread.started"), "first line: {first:?}");
    drop(reader);
    let closed = Instant::now();
    let run = spawned.finish()?;
    let elapsed = closed.elapsed();
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert!(!run.stderr.contains("Broken pipe"), "{run}");
    assert!(elapsed < EXIT_AFTER_SIGNAL, "exit took {elapsed:?}");
    Ok(())
}

/// A run whose stdout is `/dev/full`: the write error is reported on stderr
/// and the run exits 1 instead of passing for a closed pipe; the rollout is
/// kept. `json` selects `--json` or human mode.
fn full_stdout_run(json: bool) -> anyhow::Result<(Run, Vec<String>)> {
    let env = TestEnv::new(vec![mock_responses::message_reply("answer")])?;
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full")?;
    let mut exec = env.exec().stdout_to(full);
    if json {
        exec = exec.arg("--json");
    }
    let run = exec.arg("hi").run()?;
    let files = rollouts(&env.codex_home);
    anyhow::ensure!(files.len() == 1, "rollouts: {files:?}\n{run}");
    let recorded = records(&files[0])?
        .iter()
        .filter(|r| r["type"] == "event_msg")
        .filter_map(|r| r["payload"]["type"].as_str().map(str::to_string))
        .collect();
    Ok((run, recorded))
}

/// `--json > /dev/full`: `Error: cannot write to stdout: …` on stderr, exit 1,
/// and the rollout keeps the user's message.
#[test]
fn full_stdout_in_json_mode_exits_1() -> anyhow::Result<()> {
    let (run, recorded) = full_stdout_run(true)?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(
        run.stderr
            .contains("Error: cannot write to stdout: No space left on device"),
        "{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert!(
        recorded.contains(&"user_message".to_string()),
        "{recorded:?}"
    );
    Ok(())
}

/// Human mode `> /dev/full`: the final message cannot be written, so the run
/// reports it and exits 1; the completed turn stays in the rollout.
#[test]
fn full_stdout_in_human_mode_exits_1() -> anyhow::Result<()> {
    let (run, recorded) = full_stdout_run(false)?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(
        run.stderr
            .contains("Error: cannot write to stdout: No space left on device"),
        "{run}"
    );
    assert!(
        recorded.contains(&"task_complete".to_string()),
        "{recorded:?}"
    );
    Ok(())
}
