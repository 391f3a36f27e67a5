//! A running command together with its `command_execution` item (SPEC §4.4),
//! and the per-turn list of items still open, reconciled at turn end.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::format;
use super::process::Process;
use crate::runner::emitter::Emitter;
use crate::runner::events::{CommandStatus, ItemDetails};
use crate::session::records;

/// Which call started a command, what it runs and where: the parts of its
/// rollout `exec_command_end` record that the outcome does not give.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The model's call id.
    pub call_id: String,
    /// The argv as run (before sandbox wrapping).
    pub argv: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
}

/// A spawned command whose item was started.
#[derive(Debug)]
pub struct CommandRun {
    item_id: String,
    command: String,
    origin: Origin,
    started: Instant,
    completed: AtomicBool,
    /// The OS process.
    pub process: Process,
}

impl CommandRun {
    /// Emit `item.started` for `command` (the shell-quoted argv), record
    /// `exec_command_begin`, and wrap `process`.
    pub fn start(
        emitter: &Emitter,
        command: String,
        origin: Origin,
        process: Process,
    ) -> Arc<CommandRun> {
        emitter.record_event(
            "exec_command_begin",
            records::exec_command_begin(&origin.call_id, &origin.argv, &origin.cwd),
        );
        let item_id = emitter.item_started(ItemDetails::CommandExecution {
            command: command.clone(),
            aggregated_output: String::new(),
            exit_code: None,
            status: CommandStatus::InProgress,
        });
        Arc::new(CommandRun {
            item_id,
            command,
            origin,
            started: Instant::now(),
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
    /// The rollout gets the matching `exec_command_end`.
    pub fn complete(&self, emitter: &Emitter, exit_code: Option<i32>) {
        if self.completed.swap(true, Ordering::AcqRel) {
            return;
        }
        let (status, status_name) = match exit_code {
            Some(0) | None => (CommandStatus::Completed, "completed"),
            Some(_) => (CommandStatus::Failed, "failed"),
        };
        let aggregated_output = self.process.aggregated_output();
        emitter.record_event(
            "exec_command_end",
            records::exec_command_end(
                &self.origin.call_id,
                &self.origin.argv,
                &self.origin.cwd,
                &format::truncate_tokens(&aggregated_output, records::EXEC_END_OUTPUT_TOKENS),
                exit_code,
                self.started.elapsed(),
                status_name,
            ),
        );
        emitter.item_completed(
            self.item_id.clone(),
            ItemDetails::CommandExecution {
                command: self.command.clone(),
                aggregated_output,
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
