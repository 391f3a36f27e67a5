//! The steps of a command call, as the registry drives them (see the
//! registry's docs for how calls of one response are scheduled): start
//! ([`super::ShellTools::start`]), wait, finish.

use super::{classic, unified, ShellTools};
use crate::runner::emitter::Emitter;
use crate::runner::events::{CommandStatus, ItemDetails};

/// How a command call touches state shared with other calls (see
/// [`ShellTools::kind`]); the registry schedules calls by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// `write_stdin` without characters: waits and reads, nothing else.
    Poll,
    /// `write_stdin` typing into a session.
    Input,
    /// An `apply_patch` invocation, applied in-process instead of run.
    Patch,
    /// Any other command (or arguments that do not parse).
    Command,
}

/// A call answered in its first step, without waiting: bad arguments, a
/// refusal, a command that cannot start, an intercepted patch.
#[derive(Debug)]
pub struct Answer {
    /// Text for the model.
    pub(super) reply: String,
    /// A command that never ran (declined, or failed to start): its
    /// `command_execution` item has only `item.completed`, emitted in the
    /// finish step.
    pub(super) unrun: Option<Unrun>,
}

/// A command that never ran, for its `command_execution` item.
#[derive(Debug)]
pub(super) struct Unrun {
    pub(super) command: String,
    /// Why it could not start (empty when declined).
    pub(super) reason: String,
    pub(super) status: CommandStatus,
}

impl From<String> for Answer {
    fn from(reply: String) -> Answer {
        Answer { reply, unrun: None }
    }
}

/// A command call after its first step ([`ShellTools::start`]). The steps:
/// start (in call order; spawns and emits `item.started`), [`CommandCall::wait`]
/// (may overlap other calls' waits; emits nothing), [`CommandDone::finish`]
/// (in call order; emits `item.completed`, returns the reply).
#[derive(Debug)]
pub enum CommandCall {
    /// Answered already.
    Answered(Answer),
    /// `shell` / `shell_command`: runs to exit or timeout.
    OneShot(classic::Running),
    /// `exec_command` / `write_stdin`: runs up to the yield time.
    Session(unified::Yielding),
}

/// A command call after its wait.
#[derive(Debug)]
pub enum CommandDone {
    /// Answered without a result to report.
    Answered(Answer),
    /// A one-shot command ended.
    OneShot(classic::Exited),
    /// A session call ended its wait.
    Session(unified::Yielded),
}

impl CommandCall {
    /// Wait for the command (or the session) as the call asks.
    pub async fn wait(self) -> CommandDone {
        match self {
            CommandCall::Answered(answer) => CommandDone::Answered(answer),
            CommandCall::OneShot(running) => CommandDone::OneShot(running.wait().await),
            CommandCall::Session(yielding) => match yielding.wait().await {
                Ok(yielded) => CommandDone::Session(yielded),
                Err(reply) => CommandDone::Answered(reply.into()),
            },
        }
    }
}

impl CommandDone {
    /// Emit the call's remaining events and return the text for the model.
    pub fn finish(self, tools: &ShellTools, emitter: &Emitter) -> String {
        match self {
            CommandDone::Answered(Answer { reply, unrun }) => {
                if let Some(Unrun {
                    command,
                    reason,
                    status,
                }) = unrun
                {
                    emitter.item_completed_new(ItemDetails::CommandExecution {
                        command,
                        aggregated_output: reason,
                        exit_code: None,
                        status,
                    });
                }
                reply
            }
            CommandDone::OneShot(exited) => exited.finish(emitter),
            CommandDone::Session(yielded) => yielded.finish(tools, emitter),
        }
    }
}
