//! A running command together with its `command_execution` item (SPEC §4.4),
//! and the per-turn list of items still open, reconciled at turn end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::process::Process;
use crate::runner::emitter::Emitter;
use crate::runner::events::{CommandStatus, ItemDetails};

/// A spawned command whose item was started.
#[derive(Debug)]
pub struct CommandRun {
    item_id: String,
    command: String,
    completed: AtomicBool,
    /// The OS process.
    pub process: Process,
}

impl CommandRun {
    /// Emit `item.started` for `command` (the shell-quoted argv) and wrap `process`.
    pub fn start(emitter: &Emitter, command: String, process: Process) -> Arc<CommandRun> {
        let item_id = emitter.item_started(ItemDetails::CommandExecution {
            command: command.clone(),
            aggregated_output: String::new(),
            exit_code: None,
            status: CommandStatus::InProgress,
        });
        Arc::new(CommandRun {
            item_id,
            command,
            completed: AtomicBool::new(false),
            process,
        })
    }

    /// Whether `item.completed` was emitted.
    pub fn is_completed(&self) -> bool {
        self.completed.load(Ordering::Acquire)
    }

    /// Emit `item.completed` once: `completed` for exit 0 or a still-running
    /// command (`exit_code` null, classic reconciliation), `failed` otherwise.
    pub fn complete(&self, emitter: &Emitter, exit_code: Option<i32>) {
        if self.completed.swap(true, Ordering::AcqRel) {
            return;
        }
        let status = match exit_code {
            Some(0) | None => CommandStatus::Completed,
            Some(_) => CommandStatus::Failed,
        };
        emitter.item_completed(
            self.item_id.clone(),
            ItemDetails::CommandExecution {
                command: self.command.clone(),
                aggregated_output: self.process.aggregated_output(),
                exit_code,
                status,
            },
        );
    }
}

/// Command items started in this turn and not yet completed.
#[derive(Debug, Default)]
pub struct OpenCommands {
    runs: Vec<Arc<CommandRun>>,
}

impl OpenCommands {
    /// Remember `run` until it completes or the turn ends.
    pub fn track(&mut self, run: &Arc<CommandRun>) {
        self.runs.retain(|r| !r.is_completed());
        self.runs.push(run.clone());
    }

    /// Turn end: complete every open item with what is known now. A command
    /// that is still running gets `exit_code: null`; one-shot commands are
    /// killed when their last handle goes (an interrupted turn), while
    /// `exec_command` sessions live on in the session table.
    pub fn reconcile(&mut self, emitter: &Emitter) {
        for run in self.runs.drain(..) {
            run.complete(emitter, run.process.exit_code());
        }
    }
}
