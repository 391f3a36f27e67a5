//! An agent thread: accepts turn submissions and emits thread, turn and item
//! notifications. Front ends (the exec JSONL and human renderers) are clients of
//! this queue pair; they never reach into the turn loop.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::compact::Compactor;
use super::emitter::Emitter;
use super::events::{ThreadError, ThreadEvent, Usage};
use super::history::History;
use super::model::{catalog, ModelClient, RequestTemplate};
use super::tools::mcp::McpConnections;
use super::tools::{ToolRegistry, TurnTools};
use super::turn::Turn;
use super::{context, RunnerError};
use crate::config::Config;
use crate::session::{records, ThreadSession};

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
    /// Start a thread (new, or resumed from `session`). `thread.started` is the
    /// first notification. `cancel` interrupts the running turn (it then fails
    /// with `interrupted`). Everything is recorded through `session.recorder`.
    pub fn start(
        config: Arc<Config>,
        local_date: String,
        cancel: CancellationToken,
        session: ThreadSession,
        mcp: McpConnections,
        client: ModelClient,
    ) -> Result<AgentThread, RunnerError> {
        let ThreadSession {
            thread_id,
            resumed,
            recorder,
        } = session;
        let (ops_tx, mut ops_rx) = mpsc::channel::<Op>(4);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let id = thread_id;
        let task = tokio::spawn(async move {
            let emitter = Emitter::new(events_tx).with_recorder(recorder.clone());
            let recorder = recorder.as_deref();
            emitter.send(ThreadEvent::ThreadStarted {
                thread_id: id.clone(),
            });
            for warning in config.warnings.iter().chain(mcp.warnings()) {
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
            // `model_context_window` replaces the catalogue's window everywhere.
            let info = catalog::ModelInfo {
                context_window: config
                    .compaction
                    .context_window
                    .unwrap_or(info.context_window),
                ..info
            };
            for key in info.ignored_reasoning_keys(&config) {
                emitter.warning(format!(
                    "`{key}` has no effect: model `{}` does not support reasoning \
                     (`model_supports_reasoning_summaries = true` sends it anyway)",
                    config.model
                ));
            }
            let tools = ToolRegistry::new(&config, &info, known.is_some(), &id, mcp);
            let base_instructions = context::base_instructions(&config, &info);
            let initial_context = context::initial_items(&config, &local_date);
            let compactor = Compactor::new(&config.compaction, &info, &initial_context);
            let (mut history, mut usage, mut env_update) = match resumed {
                Some(resumed) => {
                    let changed = records::environment_changed(&resumed, &config);
                    (History::from_raw(resumed.history), resumed.usage, changed)
                }
                None => {
                    if let Some(rec) = recorder {
                        let now = crate::session::timestamp_now();
                        rec.record(
                            "session_meta",
                            &records::session_meta(&config, &id, &now, &base_instructions),
                        );
                    }
                    let mut history = History::default();
                    history.extend(&initial_context, recorder);
                    (history, Usage::default(), false)
                }
            };
            let template =
                RequestTemplate::new(&config, &info, base_instructions, tools.specs(), &id);
            while let Some(op) = ops_rx.recv().await {
                match op {
                    Op::UserTurn { items } => {
                        emitter.send(ThreadEvent::TurnStarted {});
                        let turn_id = uuid::Uuid::now_v7().to_string();
                        // The cwd or sandbox changed since the recorded turn.
                        let env_message = std::mem::take(&mut env_update).then(|| {
                            let text = context::environment_context(&config, &local_date);
                            context::message("user", &text)
                        });
                        if let Some(rec) = recorder {
                            rec.record_task_started(&turn_id, info.effective_context_window());
                            rec.record(
                                "turn_context",
                                &records::turn_context(&config, info.reasoning(&config)),
                            );
                        }
                        history.extend(&env_message, recorder);
                        history.extend(&items, recorder);
                        if let Some(rec) = recorder {
                            rec.record_event("user_message", records::user_message(&items));
                            rec.materialize();
                        }
                        let turn = Turn {
                            client: &client,
                            template: &template,
                            tools: &tools,
                            emitter: &emitter,
                            stream_max_retries: config.provider.stream_max_retries,
                            requested_model: &config.model,
                            context_window: info.effective_context_window(),
                            recorder,
                            compactor: &compactor,
                        };
                        let mut turn_tools = TurnTools::default();
                        let outcome = tokio::select! {
                            result = turn.run(&mut history, &mut usage, &mut turn_tools) => {
                                result.map_err(|err| err.to_string())
                            }
                            () = cancel.cancelled() => Err(INTERRUPTED_MESSAGE.to_string()),
                        };
                        turn_tools.finish(&emitter);
                        if outcome.is_err() {
                            // A turn cut while its tools ran leaves calls without
                            // outputs; the API refuses such a history on resume.
                            let aborted = crate::session::aborted_outputs(history.items());
                            history.extend(&aborted, recorder);
                        }
                        match (recorder, &outcome) {
                            (Some(rec), Err(message)) if message == INTERRUPTED_MESSAGE => rec
                                .record_event(
                                    "turn_aborted",
                                    serde_json::json!({"turn_id": turn_id, "reason": "interrupted"}),
                                ),
                            (Some(rec), Err(message)) => {
                                rec.record_event("error", serde_json::json!({"message": message}))
                            }
                            (Some(_), Ok(())) | (None, _) => {}
                        }
                        if let Some(rec) = recorder {
                            rec.record_task_complete(&turn_id);
                        }
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
