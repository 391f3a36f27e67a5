//! The one-shot command tools: `shell` (an argv, structured JSON reply) and
//! `shell_command` (a script for the user's shell, freeform reply), SPEC §9.3.

use std::time::{Duration, Instant};

use super::env::EnvFlavor;
use super::format;
use super::run::OpenCommands;
use super::spec::{self, ShellArgs, ShellCommandArgs};
use super::{as_bash_script, ShellTools};
use crate::runner::emitter::Emitter;

/// `timeout_ms` when the call names none.
const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Exit code reported for a command killed at its timeout (as `timeout(1)`).
const TIMEOUT_EXIT_CODE: i32 = 124;
/// After the process exits, how long to wait for its output streams to close
/// (a background child may keep them open).
const DRAIN_AFTER_EXIT_MS: u64 = 200;
/// How long to wait for a killed command to be reaped.
const KILL_WAIT_MS: u64 = 1_000;

/// What a finished one-shot command gives the model.
struct Finished {
    output: String,
    exit_code: i32,
    duration: Duration,
}

/// `shell`: run an argv directly.
pub async fn shell(
    tools: &ShellTools,
    arguments: &str,
    open: &mut OpenCommands,
    emitter: &Emitter,
) -> Result<String, String> {
    let args: ShellArgs = spec::parse(arguments)?;
    if args.command.is_empty() {
        return Err("execution error: the command is empty".to_string());
    }
    let dir = tools.workdir(args.workdir.as_deref())?;
    if let Some(reply) = tools.intercept(&args.command, &dir, emitter) {
        return Ok(reply);
    }
    if let Some(refusal) = tools.refuse_escalation(&args.escalation, &args.command, emitter) {
        return Ok(refusal);
    }
    let done = run_to_end(tools, &args.command, &dir, args.timeout_ms, open, emitter).await?;
    Ok(format::structured(
        &done.output,
        done.exit_code,
        done.duration,
    ))
}

/// `shell_command`: run a script with the user's shell.
pub async fn shell_command(
    tools: &ShellTools,
    arguments: &str,
    open: &mut OpenCommands,
    emitter: &Emitter,
) -> Result<String, String> {
    let args: ShellCommandArgs = spec::parse(arguments)?;
    let dir = tools.workdir(args.workdir.as_deref())?;
    if let Some(reply) = tools.intercept(&as_bash_script(&args.command), &dir, emitter) {
        return Ok(reply);
    }
    let argv = tools.shell_argv(None, args.login.unwrap_or(true), &args.command);
    if let Some(refusal) = tools.refuse_escalation(&args.escalation, &argv, emitter) {
        return Ok(refusal);
    }
    let done = run_to_end(tools, &argv, &dir, args.timeout_ms, open, emitter).await?;
    Ok(format::freeform(
        &done.output,
        done.exit_code,
        done.duration,
    ))
}

/// Spawn, wait for exit or the timeout (then kill the group), complete the item.
async fn run_to_end(
    tools: &ShellTools,
    argv: &[String],
    dir: &std::path::Path,
    timeout_ms: Option<f64>,
    open: &mut OpenCommands,
    emitter: &Emitter,
) -> Result<Finished, String> {
    let timeout_ms = spec::clamp_number(timeout_ms, DEFAULT_TIMEOUT_MS, 0, u64::MAX);
    let started = Instant::now();
    let run = tools.spawn(argv, dir, EnvFlavor::Classic, false, open, emitter)?;
    let (exit_code, timed_out) = match run
        .process
        .wait_for(Duration::from_millis(timeout_ms))
        .await
    {
        Some(code) => (code, false),
        None => {
            run.process.kill();
            let _ = run
                .process
                .wait_for(Duration::from_millis(KILL_WAIT_MS))
                .await;
            (TIMEOUT_EXIT_CODE, true)
        }
    };
    let duration = started.elapsed();
    run.process
        .drain(Duration::from_millis(DRAIN_AFTER_EXIT_MS))
        .await;
    run.complete(emitter, Some(exit_code));
    let mut output = run.process.aggregated_output();
    if timed_out {
        output = format!("command timed out after {timeout_ms} milliseconds\n{output}");
    }
    Ok(Finished {
        output,
        exit_code,
        duration,
    })
}
