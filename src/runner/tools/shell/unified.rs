//! `exec_command` and `write_stdin` (SPEC §9.4): commands that may outlive
//! the call as numbered sessions, polled or typed into later.
//!
//! Calls go through the three steps of [`super::CommandCall`]: start (spawn
//! or find the session), wait (type, then wait up to the yield time; emits
//! nothing), finish (complete the item or register the session, reply).
//! Session ids are handed out in the finish step, so in call order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::env::EnvFlavor;
use super::format::{self, SessionState};
use super::run::{CommandRun, OpenCommands, Origin};
use super::spec::{self, ExecCommandArgs, WriteStdinArgs};
use super::{as_bash_script, Answer, CommandCall, ShellTools};
use crate::runner::emitter::Emitter;

/// `yield_time_ms` defaults and bounds.
const EXEC_YIELD_DEFAULT_MS: u64 = 10_000;
const WRITE_YIELD_DEFAULT_MS: u64 = 250;
const YIELD_MIN_MS: u64 = 250;
const YIELD_MAX_MS: u64 = 30_000;
/// `max_output_tokens` default and upper bound.
const MAX_OUTPUT_TOKENS_DEFAULT: u64 = 10_000;
const MAX_OUTPUT_TOKENS_LIMIT: u64 = 1_000_000;
/// After the process exits, how long to wait for its output streams to close.
const DRAIN_AFTER_EXIT_MS: u64 = 200;
/// Live sessions kept at most; starting one more kills the oldest.
const MAX_SESSIONS: usize = 64;
/// First session id handed out.
const FIRST_SESSION_ID: u32 = 1000;

/// Background sessions by id.
#[derive(Debug)]
pub struct Sessions {
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    next_id: u32,
    live: BTreeMap<u32, Arc<CommandRun>>,
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions {
            table: Mutex::new(Table {
                next_id: FIRST_SESSION_ID,
                live: BTreeMap::new(),
            }),
        }
    }
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keep `run` alive under a new id.
    fn insert(&self, run: Arc<CommandRun>) -> u32 {
        let mut table = self.lock();
        while table.live.len() >= MAX_SESSIONS {
            if let Some((_, oldest)) = table.live.pop_first() {
                oldest.process.kill();
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        table.live.insert(id, run);
        id
    }

    fn get(&self, id: u32) -> Option<Arc<CommandRun>> {
        self.lock().live.get(&id).cloned()
    }

    fn remove(&self, id: u32) {
        self.lock().live.remove(&id);
    }

    /// Kill and forget every session.
    pub fn kill_all(&self) {
        let live = std::mem::take(&mut self.lock().live);
        for run in live.values() {
            run.process.kill();
        }
    }
}

/// A started `exec_command`, or a `write_stdin` on a live session.
#[derive(Debug)]
pub struct Yielding {
    run: Arc<CommandRun>,
    /// The session written to or polled; `None` for a new command.
    session: Option<u32>,
    /// Characters to type before waiting (always empty for a pipe session,
    /// whose stdin is closed).
    input: String,
    started: Instant,
    yield_time: Duration,
    max_tokens: usize,
}

/// A [`Yielding`] call after its wait: the command exited or is still running.
#[derive(Debug)]
pub struct Yielded {
    call: Yielding,
    exit_code: Option<i32>,
    wall_time: Duration,
}

/// `exec_command`: spawn; the wait and the reply follow.
pub fn exec_command(
    tools: &ShellTools,
    call_id: &str,
    arguments: &str,
    open: &mut OpenCommands,
    emitter: &Emitter,
) -> Result<CommandCall, Answer> {
    let args: ExecCommandArgs = spec::parse(arguments)?;
    let dir = tools.workdir(args.workdir.as_deref())?;
    if let Some(reply) = tools.intercept(call_id, &as_bash_script(&args.cmd), &dir, emitter) {
        return Err(reply.into());
    }
    let argv = tools.shell_argv(args.shell.as_deref(), args.login.unwrap_or(true), &args.cmd);
    tools.check_escalation(&args.escalation, &argv)?;
    let yield_time = yield_time(args.yield_time_ms, EXEC_YIELD_DEFAULT_MS);
    let max_tokens = max_tokens(args.max_output_tokens);
    let started = Instant::now();
    let tty = args.tty.unwrap_or(false);
    let origin = Origin {
        call_id: call_id.to_string(),
        argv,
        cwd: dir,
    };
    let run = tools.spawn(origin, EnvFlavor::UnifiedExec, tty, open, emitter)?;
    Ok(CommandCall::Session(Yielding {
        run,
        session: None,
        input: String::new(),
        started,
        yield_time,
        max_tokens,
    }))
}

/// `write_stdin`: find the session; typing, waiting and the reply follow.
pub fn write_stdin(tools: &ShellTools, arguments: &str) -> Result<CommandCall, Answer> {
    let args: WriteStdinArgs = spec::parse(arguments)?;
    let run = session_id(args.session_id).and_then(|id| Some((id, tools.sessions.get(id)?)));
    let Some((id, run)) = run else {
        return Err(format!(
            "write_stdin failed: Unknown process id {}",
            display_number(args.session_id)
        )
        .into());
    };
    let input = args.chars.unwrap_or_default();
    if !input.is_empty() && !run.process.is_tty() {
        return Err("write_stdin failed: stdin is closed for this session; rerun exec_command with tty=true to keep stdin open".to_string().into());
    }
    Ok(CommandCall::Session(Yielding {
        run,
        session: Some(id),
        input,
        started: Instant::now(),
        yield_time: yield_time(args.yield_time_ms, WRITE_YIELD_DEFAULT_MS),
        max_tokens: max_tokens(args.max_output_tokens),
    }))
}

/// Whether `write_stdin` arguments only poll (no characters to type).
pub fn is_poll(arguments: &str) -> bool {
    spec::parse::<WriteStdinArgs>(arguments)
        .is_ok_and(|args| args.chars.unwrap_or_default().is_empty())
}

impl Yielding {
    /// Type the input, then wait up to the yield time for the command to exit
    /// (and its output to drain).
    pub async fn wait(self) -> Result<Yielded, String> {
        if !self.input.is_empty() {
            self.run
                .process
                .write_stdin(self.input.as_bytes())
                .await
                .map_err(|err| format!("write_stdin failed: {err}"))?;
        }
        let exit_code = self.run.process.wait_for(self.yield_time).await;
        if exit_code.is_some() {
            self.run
                .process
                .drain(Duration::from_millis(DRAIN_AFTER_EXIT_MS))
                .await;
        }
        Ok(Yielded {
            wall_time: self.started.elapsed(),
            call: self,
            exit_code,
        })
    }
}

impl Yielded {
    /// Complete the item of an exited command (forgetting its session) or
    /// keep a running one as a session, then build the reply.
    pub fn finish(self, tools: &ShellTools, emitter: &Emitter) -> String {
        let Yielded {
            call,
            exit_code,
            wall_time,
        } = self;
        let state = match (exit_code, call.session) {
            (Some(code), session) => {
                // A no-op when the turn that started a session already reconciled its item.
                call.run.complete(emitter, Some(code));
                if let Some(id) = session {
                    tools.sessions.remove(id);
                }
                SessionState::Exited(code)
            }
            (None, Some(id)) => SessionState::Running(id),
            (None, None) => SessionState::Running(tools.sessions.insert(call.run.clone())),
        };
        let (output, original_bytes) = call.run.process.take_unread();
        format::unified(
            &chunk_id(),
            wall_time,
            state,
            &output,
            original_bytes,
            call.max_tokens,
        )
    }
}

fn yield_time(value: Option<f64>, default_ms: u64) -> Duration {
    Duration::from_millis(spec::clamp_number(
        value,
        default_ms,
        YIELD_MIN_MS,
        YIELD_MAX_MS,
    ))
}

fn max_tokens(value: Option<f64>) -> usize {
    let tokens = spec::clamp_number(value, MAX_OUTPUT_TOKENS_DEFAULT, 0, MAX_OUTPUT_TOKENS_LIMIT);
    usize::try_from(tokens).unwrap_or(usize::MAX)
}

/// A session id given as a JSON number; only whole numbers in range name one.
fn session_id(value: f64) -> Option<u32> {
    (value.fract() == 0.0 && value >= 0.0 && value <= f64::from(u32::MAX)).then_some(value as u32)
}

fn display_number(value: f64) -> String {
    match session_id(value) {
        Some(id) => id.to_string(),
        None => value.to_string(),
    }
}

/// Six random hex digits identifying one reply.
fn chunk_id() -> String {
    format!("{:06x}", rand::random::<u32>() & 0x00ff_ffff)
}
