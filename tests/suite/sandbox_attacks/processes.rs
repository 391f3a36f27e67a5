//! Processes and signals: the runner must survive and stay running, unrelated
//! processes must not be signalled, and nothing a command starts may outlive the
//! command's run or a crash of the runner.
//!
//! Commands may run in a pid namespace, so pids they print mean nothing to the test:
//! processes are found by their unique argv (`sleep 987.<token>`) instead.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use anyhow::Result;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;

use super::harness::*;

/// A bash prefix that waits (bounded) until `file` is written.
fn wait_for_file(file: &Path) -> String {
    format!(
        "for i in $(seq 200); do [ -s '{0}' ] && break; sleep 0.05; done; ",
        file.display()
    )
}

/// A command that `kill -9`s its parent and the runner (whose pid the test writes to a
/// file as soon as it started).
pub fn kill_runner(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let pid_file = lab.outside.join("runner.pid");
    let (spawned, first) = lab.spawn(
        WORKSPACE,
        vec![
            sh(format!(
                "{}kill -9 $(cat '{}'); kill -9 $PPID; echo after-kill",
                wait_for_file(&pid_file),
                pid_file.display()
            )),
            sh("sleep 30 & kill $! && wait $!; echo rc=$?"),
        ],
    )?;
    std::fs::write(&pid_file, spawned.child.id().to_string())?;
    let outcome = lab.outcome(spawned.finish()?, first);
    let signal = outcome.run.status.signal();
    let verdict = Verdict::escaped_if(signal.is_some(), || {
        format!("the runner died of signal {signal:?}")
    });
    if let Verdict::Escaped(_) = verdict {
        // The runner is gone: there is no twin to check.
        return Ok(verdict);
    }
    conclude(verdict, outcome.twin_ok(1, "rc=143"))
}

/// A command that SIGSTOPs the runner and its own parent.
pub fn stop_runner(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let pid_file = lab.outside.join("runner.pid");
    let (spawned, first) = lab.spawn(
        WORKSPACE,
        vec![
            Step::Exec(json!({
                "cmd": format!(
                    "{}kill -STOP $(cat '{}'); kill -STOP $PPID; echo sent",
                    wait_for_file(&pid_file),
                    pid_file.display()
                ),
                "yield_time_ms": 3000,
            })),
            sh(
                "sleep 30 & p=$!; kill -STOP $p && sleep 0.1 && grep '^State' /proc/$p/status \
                && kill -CONT $p && kill $p; wait $p; echo resumed",
            ),
        ],
    )?;
    let runner = i32::try_from(spawned.child.id())?;
    std::fs::write(&pid_file, runner.to_string())?;
    // Either the runner asks the model for the next step, or it is stopped.
    let mut stopped = false;
    let waited = wait_until("the runner's next request or its stop", || {
        stopped = process_state(runner) == Some('T');
        stopped || lab.env.requests().len() > first + 1
    });
    if let Err(err) = waited {
        // Neither: do not leave a hung runner behind.
        let _ = spawned.signal(Signal::SIGKILL);
        return Err(err);
    }
    if stopped {
        let _ = kill(Pid::from_raw(runner), Signal::SIGCONT);
    }
    let outcome = lab.outcome(spawned.finish()?, first);
    if stopped {
        return Ok(Verdict::Escaped("the runner was stopped".into()));
    }
    let twin = outcome
        .twin_ok(1, "stopped")
        .and_then(|()| outcome.ensure_ok(1, "resumed"));
    conclude(Verdict::Blocked, twin)
}

/// SIGTERM, SIGSTOP and SIGKILL to an unrelated process of the same user.
pub fn signal_unrelated_process(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let mut sleeper = lab.as_user("sleep");
    sleeper.arg("60");
    let victim = Victim::spawn(sleeper)?;
    let pid = victim.pid();
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "kill -TERM {pid}; kill -STOP {pid}; kill -KILL {pid}; echo sent"
            )),
            sh("sleep 30 & kill -TERM $!; wait $!; echo rc=$?"),
        ],
    )?;
    let state = victim.state();
    let verdict = Verdict::escaped_if(!matches!(state, Some('S' | 'R')), || {
        format!("the unrelated process is now in state {state:?}")
    });
    conclude(verdict, outcome.twin_ok(1, "rc=143"))
}

/// `env -i setsid sleep &` (no thread marker, own session) and a double-forked
/// `setsid nohup` child, left behind when the command and the run end.
pub fn setsid_env_i_survives_run(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let token = decimal_nonce();
    let (first_arg, second_arg) = (format!("987.{token}"), format!("986.{token}"));
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "env -i setsid sleep {first_arg} > /dev/null 2>&1 & \
                 (setsid nohup sleep {second_arg} > /dev/null 2>&1 &); \
                 for i in $(seq 100); do \
                   grep -qsxz '98[7]\\.{token}' /proc/[0-9]*/cmdline \
                   && grep -qsxz '98[6]\\.{token}' /proc/[0-9]*/cmdline && break; \
                   sleep 0.05; \
                 done; echo started"
            )),
            sh("(sleep 0.1; echo late) & wait; echo waited"),
        ],
    )?;
    let left = surviving_sleepers(&[&first_arg, &second_arg]);
    let verdict = Verdict::escaped_if(!left.is_empty(), || {
        format!("processes {left:?} outlived the run (killed now)")
    });
    let twin = outcome
        .twin_ok(0, "started")
        .and_then(|()| outcome.ensure_ok(1, "late\nwaited"));
    conclude(verdict, twin)
}

/// SIGKILL of the runner while a command runs: the command, and a descendant that
/// left its session and scrubbed its environment, must die with it.
pub fn descendants_survive_runner_sigkill(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let token = decimal_nonce();
    let (escaped_arg, child_arg) = (format!("985.{token}"), format!("984.{token}"));
    let (spawned, first) = lab.spawn(
        WORKSPACE,
        vec![
            Step::Exec(json!({"cmd": "sleep 0.5; echo slow-done", "yield_time_ms": 100})),
            Step::Stdin(json!({"session_id": 1000, "chars": "", "yield_time_ms": 5000})),
            sh(format!(
                "env -i setsid sleep {escaped_arg} > /dev/null 2>&1 & sleep {child_arg}"
            )),
        ],
    )?;
    let started = wait_until("the command's processes", || {
        !sleepers(&escaped_arg).is_empty() && !sleepers(&child_arg).is_empty()
    });
    spawned.signal(Signal::SIGKILL)?;
    let outcome = lab.outcome(spawned.finish()?, first);
    let left = surviving_sleepers(&[&escaped_arg, &child_arg]);
    started.map_err(|err| anyhow::anyhow!("{err}\n{outcome}"))?;
    let verdict = Verdict::escaped_if(!left.is_empty(), || {
        format!("processes {left:?} outlived the killed runner (killed now)")
    });
    let twin = outcome.reply(1).and_then(|poll| {
        anyhow::ensure!(
            poll.contains("slow-done"),
            "the session did not keep running between calls: {poll}"
        );
        Ok(())
    });
    conclude(verdict, twin)
}
