//! The one-shot command tools: `shell` (an argv, structured JSON reply) and
//! `shell_command` (a script for the user's shell, freeform reply), SPEC §9.3.
//!
//! Each call goes through the three steps of [`super::CommandCall`]: start
//! (spawn, `item.started`), wait (exit or timeout; emits nothing), finish
//! (`item.completed` and the reply).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::env::EnvFlavor;
use super::format;
use super::run::{CommandRun, OpenCommands, Origin};
use super::spec::{self, ShellArgs, ShellCommandArgs};
use super::{as_bash_script, Answer, CommandCall, ShellTools};
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

/// Which envelope the reply uses (SPEC §11.1).
#[derive(Debug, Clone, Copy)]
enum Envelope {
    /// `shell`: `{"output":..,"metadata":{..}}`.
    Structured,
    /// `shell_command`: `Exit code: ..` lines.
    Freeform,
}

/// A started one-shot command.
#[derive(Debug)]
pub struct Running {
    run: Arc<CommandRun>,
    started: Instant,
    timeout_ms: u64,
    envelope: Envelope,
}

/// A one-shot command that exited or was killed at its timeout.
#[derive(Debug)]
pub struct Exited {
    run: Arc<CommandRun>,
    exit_code: i32,
    timed_out: bool,
    duration: Duration,
    timeout_ms: u64,
    envelope: Envelope,
}

/// `shell`: start an argv directly.
pub fn shell(
    tools: &ShellTools,
    call_id: &str,
    arguments: &str,
    open: &mut OpenCommands,
    emitter: &Emitter,
) -> Result<CommandCall, Answer> {
    let args: ShellArgs = spec::parse(arguments)?;
    if args.command.is_empty() {
        return Err("execution error: the command is empty".to_string().into());
    }
    let dir = tools.workdir(args.workdir.as_deref())?;
    if let Some(reply) = tools.intercept(call_id, &args.command, &dir, emitter) {
        return Err(reply.into());
    }
    tools.check_escalation(&args.escalation, &args.command)?;
    start(
        tools,
        Origin {
            call_id: call_id.to_string(),
            argv: args.command,
            cwd: dir,
        },
        args.timeout_ms,
        Envelope::Structured,
        open,
        emitter,
    )
}

/// `shell_command`: start a script with the user's shell.
pub fn shell_command(
    tools: &ShellTools,
    call_id: &str,
    arguments: &str,
    open: &mut OpenCommands,
    emitter: &Emitter,
) -> Result<CommandCall, Answer> {
    let args: ShellCommandArgs = spec::parse(arguments)?;
    let dir = tools.workdir(args.workdir.as_deref())?;
    if let Some(reply) = tools.intercept(call_id, &as_bash_script(&args.command), &dir, emitter) {
        return Err(reply.into());
    }
    let argv = tools.shell_argv(None, args.login.unwrap_or(true), &args.command);
    tools.check_escalation(&args.escalation, &argv)?;
    start(
        tools,
        Origin {
            call_id: call_id.to_string(),
            argv,
            cwd: dir,
        },
        args.timeout_ms,
        Envelope::Freeform,
        open,
        emitter,
    )
}

fn start(
    tools: &ShellTools,
    origin: Origin,
    timeout_ms: Option<f64>,
    envelope: Envelope,
    open: &mut OpenCommands,
    emitter: &Emitter,
) -> Result<CommandCall, Answer> {
    let started = Instant::now();
    let run = tools.spawn(origin, EnvFlavor::Classic, false, open, emitter)?;
    Ok(CommandCall::OneShot(Running {
        run,
        started,
        timeout_ms: spec::clamp_number(timeout_ms, DEFAULT_TIMEOUT_MS, 0, u64::MAX),
        envelope,
    }))
}

impl Running {
    /// Wait for exit or the timeout (then kill the group) and for the output.
    pub async fn wait(self) -> Exited {
        let Running {
            run,
            started,
            timeout_ms,
            envelope,
        } = self;
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
        Exited {
            run,
            exit_code,
            timed_out,
            duration,
            timeout_ms,
            envelope,
        }
    }
}

impl Exited {
    /// Complete the item and build the reply.
    pub fn finish(self, emitter: &Emitter) -> String {
        self.run.complete(emitter, Some(self.exit_code));
        let mut output = self.run.process.aggregated_output();
        if self.timed_out {
            output = format!(
                "command timed out after {} milliseconds\n{output}",
                self.timeout_ms
            );
        }
        match self.envelope {
            Envelope::Structured => format::structured(&output, self.exit_code, self.duration),
            Envelope::Freeform => format::freeform(&output, self.exit_code, self.duration),
        }
    }
}
