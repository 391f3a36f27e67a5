//! An agent thread: accepts turn submissions and emits thread, turn and item
//! notifications. Front ends (the exec JSONL and human renderers) are clients of
//! this queue pair; they never reach into the turn loop.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::emitter::Emitter;
use super::events::{ThreadError, ThreadEvent, Usage};
use super::model::{catalog, ModelClient, RequestTemplate};
use super::tools::{ToolRegistry, TurnTools};
use super::turn::Turn;
use super::{context, RunnerError};
use crate::config::Config;

/// Message of the `turn.failed` that an interrupt produces.
pub const INTERRUPTED_MESSAGE: &str = "interrupted";

/// A submission to the thread.
#[derive(Debug)]
pub enum Op {
    /// Run one user turn with these input items (the prompt message, images, ...).
    UserTurn { items: Vec<Value> },
}

/// Handle to a running agent thread.
#[derive(Debug)]
pub struct AgentThread {
    ops: mpsc::Sender<Op>,
    events: mpsc::UnboundedReceiver<ThreadEvent>,
    task: JoinHandle<()>,
}

impl AgentThread {
    /// Start a new thread. `thread.started` is the first notification.
    /// `cancel` interrupts the running turn (it then fails with `interrupted`).
    pub fn start(
        config: Arc<Config>,
        local_date: String,
        cancel: CancellationToken,
    ) -> Result<AgentThread, RunnerError> {
        let thread_id = uuid::Uuid::now_v7().to_string();
        let client = ModelClient::new(&config, &thread_id).map_err(RunnerError::Client)?;
        let (ops_tx, mut ops_rx) = mpsc::channel::<Op>(4);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let id = thread_id;
        let task = tokio::spawn(async move {
            let emitter = Emitter::new(events_tx);
            emitter.send(ThreadEvent::ThreadStarted {
                thread_id: id.clone(),
            });
            for warning in &config.warnings {
                emitter.warning(warning.clone());
            }
            let known = catalog::find(&config.model);
            let info = known.unwrap_or_else(|| {
                emitter.warning(format!(
                    "Model metadata for `{}` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.",
                    config.model
                ));
                catalog::find_or_generic(&config.model)
            });
            let tools = ToolRegistry::new(&config, &info, known.is_some(), &id);
            let template = RequestTemplate::new(
                &config,
                &info,
                context::base_instructions(&config, &info),
                tools.specs(),
                &id,
            );
            let mut history = context::initial_items(&config, &local_date);
            let mut usage = Usage::default();
            while let Some(op) = ops_rx.recv().await {
                match op {
                    Op::UserTurn { items } => {
                        emitter.send(ThreadEvent::TurnStarted {});
                        history.extend(items);
                        let turn = Turn {
                            client: &client,
                            template: &template,
                            tools: &tools,
                            emitter: &emitter,
                            stream_max_retries: config.provider.stream_max_retries,
                            requested_model: &config.model,
                        };
                        let mut turn_tools = TurnTools::default();
                        let outcome = tokio::select! {
                            result = turn.run(&mut history, &mut usage, &mut turn_tools) => {
                                result.map_err(|err| err.to_string())
                            }
                            () = cancel.cancelled() => Err(INTERRUPTED_MESSAGE.to_string()),
                        };
                        turn_tools.finish(&emitter);
                        match outcome {
                            Ok(()) => emitter.send(ThreadEvent::TurnCompleted { usage }),
                            Err(message) => {
                                emitter.send(ThreadEvent::Error {
                                    message: message.clone(),
                                });
                                emitter.send(ThreadEvent::TurnFailed {
                                    error: ThreadError { message },
                                });
                            }
                        }
                    }
                }
            }
            // The front end stopped the thread: nothing our commands started may
            // outlive it (SPEC §22.1).
            tools.shutdown();
        });
        Ok(AgentThread {
            ops: ops_tx,
            events: events_rx,
            task,
        })
    }

    /// Submit an operation.
    pub async fn submit(&self, op: Op) -> Result<(), RunnerError> {
        self.ops.send(op).await.map_err(|_| RunnerError::AgentDied)
    }

    /// The next notification; `None` once the thread has stopped.
    pub async fn next_event(&mut self) -> Option<ThreadEvent> {
        self.events.recv().await
    }

    /// Stop the thread and wait for it to finish its cleanup.
    pub async fn shutdown(self) {
        drop(self.ops);
        let _ = self.task.await;
    }
}
