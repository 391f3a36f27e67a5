//! Signals and a closed stdout (SPEC §0.5 "SIGINT / SIGTERM", §22.1; STYLE C: a
//! broken pipe exits quietly with 0).

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

/// Start a `--json` run whose stream stalls, signal it once the request is in
/// flight, and return (exit code, events, time from signal to exit).
fn signal_stalled_run(
    signal: Signal,
) -> anyhow::Result<(Option<i32>, Vec<serde_json::Value>, Duration)> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", "never seen"),
        ev::completed("resp_1"),
    ])
    .stall_after(1)])?;
    let mut spawned = env
        .exec()
        .args(["--json", "hi"])
        .spawn_with_stdin(Stdio::null())?;
    let lines = spawned.stdout_lines()?;
    let mut seen = lines.until_type("turn.started", STEP_TIMEOUT)?;
    anyhow::ensure!(
        env.server.wait_for_requests(1, STEP_TIMEOUT),
        "the request never arrived"
    );
    spawned.signal(signal)?;
    let signalled = Instant::now();
    let run = spawned.finish()?;
    let elapsed = signalled.elapsed();
    seen.extend(lines.rest());
    let values = parse_jsonl(seen.iter().map(String::as_str))?;
    let (_, events) = normalize_events(values)?;
    anyhow::ensure!(!run.stderr.contains("panicked"), "panic on stderr:\n{run}");
    Ok((run.code(), events, elapsed))
}

/// SIGINT during a stalled stream: `error` + `turn.failed` "interrupted", exit 130, fast.
#[test]
fn sigint_fails_the_turn_and_exits_130() -> anyhow::Result<()> {
    let (code, events, elapsed) = signal_stalled_run(Signal::SIGINT)?;
    assert_eq!(code, Some(130));
    let mut expected = vec![thread_started(), turn_started()];
    expected.extend(fatal("interrupted"));
    assert_eq!(events, expected);
    assert!(elapsed < EXIT_AFTER_SIGNAL, "exit took {elapsed:?}");
    Ok(())
}

/// SIGTERM during a stalled stream: the same events, exit 143.
#[test]
fn sigterm_fails_the_turn_and_exits_143() -> anyhow::Result<()> {
    let (code, events, elapsed) = signal_stalled_run(Signal::SIGTERM)?;
    assert_eq!(code, Some(143));
    let mut expected = vec![thread_started(), turn_started()];
    expected.extend(fatal("interrupted"));
    assert_eq!(events, expected);
    assert!(elapsed < EXIT_AFTER_SIGNAL, "exit took {elapsed:?}");
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
