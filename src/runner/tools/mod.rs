//! Tool registry: what is advertised to the model and how the calls of one
//! response are answered (SPEC §8 step 3, §9).
//!
//! Unknown tools get the `unsupported call: <name>` reply; the concrete tools
//! (plans, apply_patch, the command tools, view_image, MCP servers' tools and
//! the MCP resource tools)
//! plug in here.
//! A call never fails the turn: problems go back to the model as its output.
//!
//! # Several calls in one response
//!
//! Each call is answered in three steps: *start* (check the arguments; spawn a
//! command and emit its `item.started`; tools that do not wait, such as
//! `update_plan` and `apply_patch`, do all their work here), *wait* (the
//! command runs, the image is read; nothing is emitted) and *finish* (emit the
//! call's remaining events, such as `item.completed`, and build its output).
//!
//! The rule: the calls are cut, in call order, into groups that run one after
//! another. A maximal run of consecutive calls to tools that allow concurrency
//! forms one group: `view_image`; `write_stdin` polls (empty `chars`); and
//! `exec_command`, `shell`, `shell_command` when the model family has
//! `parallel_tool_calls`, unless the command is an intercepted `apply_patch`.
//! Every other call (`update_plan`, `apply_patch`, intercepted patches,
//! `write_stdin` with characters, commands of other families, MCP tools and
//! the MCP resource tools, unknown tools)
//! is a group of its own, so it is a barrier: it starts after everything
//! before it has finished and finishes before anything after it starts.
//! Within a group, every call is started in call order before anything is
//! awaited, all then wait concurrently (on the one runtime thread), and they
//! are finished in call order, each as soon as it and every earlier call of
//! the group are done.
//!
//! So a group's events are the `item.started` of its commands, in call order,
//! then the remaining events of each call, call by call, in call order,
//! whichever command ends first; a group of one call is a call run on its
//! own. Outputs go back to the model in call order, followed by the images
//! that `view_image` calls attached, in call order.

pub mod apply_patch;
mod call;
pub mod mcp;
mod patch_tool;
mod plan;
mod shell;
mod view_image;

pub(crate) use shell::{prefix_at_boundary, truncate_tokens};

use std::path::PathBuf;
use std::time::Instant;

use futures_util::stream::{FuturesOrdered, StreamExt};
use serde_json::{json, Value};

use crate::config::Config;
use crate::runner::emitter::Emitter;
use crate::runner::events::{ItemDetails, McpToolCallResult, McpToolCallStatus, ThreadError};
use crate::runner::model::catalog::{ApplyPatchTool, ModelInfo};
use crate::sandbox::SandboxSpec;
use crate::session::records;
use call::CallOutput;
pub use call::ToolCall;
use mcp::{McpConnections, McpOutcome, ResourceTool};
use shell::{CommandCall, CommandDone, CommandKind, OpenCommands, ShellTools};

/// What answering one call produced.
#[derive(Debug)]
pub struct CallResult {
    /// The output item answering the call.
    pub output: Value,
    /// An input item that goes after all outputs of the response: the user
    /// message with the image a `view_image` call attached.
    pub attachment: Option<Value>,
}

impl CallResult {
    /// `text` as the output of `call`, with nothing attached.
    fn reply(call: &ToolCall, text: &str) -> CallResult {
        CallResult::answer(call, text.into())
    }

    /// `output` (text or content items) as the output of `call`, with
    /// nothing attached.
    fn answer(call: &ToolCall, output: CallOutput) -> CallResult {
        CallResult {
            output: call.output(output),
            attachment: None,
        }
    }
}

/// A call after its start step.
enum Started<'c> {
    /// Answered in full.
    Done(CallResult),
    /// A command tool call.
    Command(&'c ToolCall, CommandCall),
    /// A `view_image` call, with its arguments.
    ViewImage(&'c ToolCall, &'c str),
    /// An MCP tool call whose `item.started` was emitted.
    Mcp(&'c ToolCall, McpPending),
}

/// An MCP call between its start and finish steps.
struct McpPending {
    item_id: String,
    call_id: String,
    target: McpTarget,
    server: String,
    tool: String,
    arguments: Value,
    started: Instant,
}

/// What an MCP call asks for.
enum McpTarget {
    /// A server's tool, by its model-facing name.
    Tool(String),
    /// One of the resource tools.
    Resource(ResourceTool),
}

/// A call after its wait step.
enum Waited<'c> {
    /// Answered in full.
    Done(CallResult),
    /// A command tool call, still to be finished.
    Command(&'c ToolCall, CommandDone),
    /// An MCP tool call, still to be finished.
    Mcp(&'c ToolCall, Box<(McpPending, McpOutcome)>),
}

/// Per-turn tool state: the plan's `todo_list` item and the command items
/// still open, completed at turn end.
#[derive(Debug, Default)]
pub struct TurnTools {
    plan: Option<plan::Plan>,
    commands: OpenCommands,
}

impl TurnTools {
    /// Emit the final state of items that live for the whole turn: the plan,
    /// then every command item not yet completed (SPEC §4.5).
    pub fn finish(&mut self, emitter: &Emitter) {
        if let Some(plan) = self.plan.take() {
            plan.complete(emitter);
        }
        self.commands.reconcile(emitter);
    }
}

/// The tools of one thread.
#[derive(Debug)]
pub struct ToolRegistry {
    web_search: bool,
    update_plan: bool,
    view_image: bool,
    /// The family's `parallel_tool_calls`: new commands may run concurrently.
    parallel_commands: bool,
    apply_patch: ApplyPatchTool,
    cwd: PathBuf,
    sandbox: SandboxSpec,
    shell: ShellTools,
    mcp: McpConnections,
}

impl ToolRegistry {
    /// Tools enabled by `config` for a model the catalogue knows (`known_model`)
    /// or not, in thread `thread_id`. `update_plan` is offered to known
    /// families, and to others only when enabled in the config (SPEC §0.5).
    pub fn new(
        config: &Config,
        info: &ModelInfo,
        known_model: bool,
        thread_id: &str,
        mcp: McpConnections,
    ) -> ToolRegistry {
        ToolRegistry {
            web_search: config.web_search,
            update_plan: config.update_plan.unwrap_or(known_model),
            view_image: config.view_image,
            parallel_commands: info.parallel_tool_calls,
            apply_patch: info.apply_patch,
            cwd: config.cwd.clone(),
            sandbox: config.sandbox_spec(),
            shell: ShellTools::new(config, info.shell, thread_id),
            mcp,
        }
    }

    /// Kill every process the command tools started (background sessions,
    /// their groups and escaped descendants). Synchronous; dropping the
    /// registry does the same.
    pub fn shutdown(&self) {
        self.shell.shutdown();
        self.mcp.shutdown();
    }

    /// Tool specs for the request's `tools` array.
    pub fn specs(&self) -> Vec<Value> {
        let mut specs = self.shell.specs();
        match self.apply_patch {
            ApplyPatchTool::Freeform => specs.push(patch_tool::freeform_spec()),
            ApplyPatchTool::Function => specs.push(patch_tool::function_spec()),
            ApplyPatchTool::None => {}
        }
        if self.update_plan {
            specs.push(plan::spec());
        }
        if self.view_image {
            specs.push(view_image::spec());
        }
        if self.web_search {
            specs.push(json!({"type": "web_search"}));
        }
        specs.extend(self.mcp.specs().cloned());
        specs
    }

    /// Answer the calls of one response, in call order, running some of them
    /// concurrently (the rule is in the module docs).
    pub async fn run_calls(
        &self,
        calls: &[ToolCall],
        turn: &mut TurnTools,
        emitter: &Emitter,
    ) -> Vec<CallResult> {
        let mut results = Vec::with_capacity(calls.len());
        let groups = calls.chunk_by(|a, b| self.runs_concurrently(a) && self.runs_concurrently(b));
        for group in groups {
            let started: Vec<Started<'_>> = group
                .iter()
                .map(|call| self.start(call, turn, emitter))
                .collect();
            let mut waits: FuturesOrdered<_> =
                started.into_iter().map(|call| self.wait(call)).collect();
            while let Some(waited) = waits.next().await {
                results.push(self.finish(waited, emitter));
            }
        }
        results
    }

    /// Whether `call` may share a group with its neighbours.
    fn runs_concurrently(&self, call: &ToolCall) -> bool {
        match call {
            ToolCall::Function { name, .. } if name == view_image::NAME && self.view_image => true,
            ToolCall::Function {
                name, arguments, ..
            } if self.shell.handles(name) => match self.shell.kind(name, arguments) {
                CommandKind::Poll => true,
                CommandKind::Command => self.parallel_commands,
                CommandKind::Input | CommandKind::Patch => false,
            },
            ToolCall::Function { .. } | ToolCall::Custom { .. } | ToolCall::LocalShell { .. } => {
                false
            }
        }
    }

    /// The start step: plans, patches and unsupported calls are answered
    /// here; commands are spawned (`item.started`).
    fn start<'c>(
        &self,
        call: &'c ToolCall,
        turn: &mut TurnTools,
        emitter: &Emitter,
    ) -> Started<'c> {
        let text = match call {
            ToolCall::Function {
                name, arguments, ..
            } if name == "update_plan" && self.update_plan => {
                plan::update(arguments, &mut turn.plan, emitter)
            }
            ToolCall::Function {
                name, arguments, ..
            } if name == view_image::NAME && self.view_image => {
                return Started::ViewImage(call, arguments);
            }
            ToolCall::Function {
                name,
                arguments,
                call_id,
            } if self.shell.handles(name) => {
                return Started::Command(
                    call,
                    self.shell
                        .start(name, call_id, arguments, &mut turn.commands, emitter),
                );
            }
            ToolCall::Function {
                name, arguments, ..
            } if self.mcp.lookup(name).is_some() || self.mcp.resource_tool(name).is_some() => {
                match self.mcp_start(name, call.call_id(), arguments, emitter) {
                    Ok(pending) => return Started::Mcp(call, pending),
                    Err(message) => message,
                }
            }
            ToolCall::Custom {
                name,
                input,
                call_id,
            } if name == "apply_patch" && self.apply_patch == ApplyPatchTool::Freeform => {
                patch_tool::run(input, call_id, &self.cwd, &self.sandbox, emitter)
            }
            ToolCall::Function {
                name,
                arguments,
                call_id,
            } if name == "apply_patch" && self.apply_patch == ApplyPatchTool::Function => {
                match patch_tool::patch_from_arguments(arguments) {
                    Ok(patch) => {
                        patch_tool::run(&patch, call_id, &self.cwd, &self.sandbox, emitter)
                    }
                    Err(message) => message,
                }
            }
            ToolCall::Function { .. } | ToolCall::Custom { .. } | ToolCall::LocalShell { .. } => {
                tracing::warn!(tool = call.name(), "unsupported tool call");
                format!("unsupported call: {}", call.name())
            }
        };
        Started::Done(CallResult::reply(call, &text))
    }

    /// The wait step: nothing is emitted here.
    async fn wait<'c>(&self, started: Started<'c>) -> Waited<'c> {
        match started {
            Started::Done(result) => Waited::Done(result),
            Started::Command(call, command) => Waited::Command(call, command.wait().await),
            Started::Mcp(call, pending) => {
                let outcome = match &pending.target {
                    McpTarget::Tool(name) => {
                        let arguments = match &pending.arguments {
                            Value::Object(map) => Some(map.clone()),
                            _ => None,
                        };
                        self.mcp.call(name, arguments).await
                    }
                    McpTarget::Resource(tool) => {
                        self.mcp.resource_call(*tool, &pending.arguments).await
                    }
                };
                Waited::Mcp(call, Box::new((pending, outcome)))
            }
            Started::ViewImage(call, arguments) => {
                Waited::Done(match view_image::view(arguments, &self.cwd).await {
                    Ok(viewed) => CallResult {
                        output: call.output(viewed.reply.into()),
                        attachment: Some(viewed.message),
                    },
                    Err(text) => CallResult::reply(call, &text),
                })
            }
        }
    }

    /// The finish step: the remaining events, and the result.
    fn finish(&self, waited: Waited<'_>, emitter: &Emitter) -> CallResult {
        match waited {
            Waited::Done(result) => result,
            Waited::Command(call, done) => {
                CallResult::reply(call, &done.finish(&self.shell, emitter))
            }
            Waited::Mcp(call, waited) => {
                CallResult::answer(call, mcp_finish(waited.0, waited.1, emitter))
            }
        }
    }

    /// Check an MCP call's arguments (a server tool's or a resource tool's)
    /// and emit its `item.started`.
    fn mcp_start(
        &self,
        name: &str,
        call_id: &str,
        arguments: &str,
        emitter: &Emitter,
    ) -> Result<McpPending, String> {
        let arguments = if arguments.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(arguments)
                .map_err(|err| format!("failed to parse function arguments: {err}"))?
        };
        let (target, server, tool) = match (self.mcp.lookup(name), self.mcp.resource_tool(name)) {
            (Some((server, tool)), _) => (
                McpTarget::Tool(name.to_string()),
                server.to_string(),
                tool.to_string(),
            ),
            (None, Some(resource)) => (
                McpTarget::Resource(resource),
                mcp::item_server(&arguments),
                resource.name().to_string(),
            ),
            (None, None) => return Err(format!("unsupported call: {name}")),
        };
        let pending = McpPending {
            item_id: String::new(),
            call_id: call_id.to_string(),
            target,
            server,
            tool,
            arguments,
            started: Instant::now(),
        };
        emitter.record_event(
            "mcp_tool_call_begin",
            records::mcp_tool_call_begin(&pending.call_id, &invocation(&pending)),
        );
        let item_id = emitter.item_started(mcp_details(
            &pending,
            None,
            None,
            McpToolCallStatus::InProgress,
        ));
        Ok(McpPending { item_id, ..pending })
    }
}

/// What an MCP call's begin and end records say was called.
fn invocation(pending: &McpPending) -> Value {
    json!({
        "server": pending.server,
        "tool": pending.tool,
        "arguments": pending.arguments,
    })
}

/// An `mcp_tool_call` item's fields.
fn mcp_details(
    pending: &McpPending,
    result: Option<McpToolCallResult>,
    error: Option<String>,
    status: McpToolCallStatus,
) -> ItemDetails {
    ItemDetails::McpToolCall {
        server: pending.server.clone(),
        tool: pending.tool.clone(),
        arguments: pending.arguments.clone(),
        result,
        error: error.map(|message| ThreadError { message }),
        status,
    }
}

/// Record an MCP call's `mcp_tool_call_end` in the rollout and emit its
/// `item.completed`; returns the output for the model:
/// the error text of a failed call, else text or, when the answer carries
/// images, content items (`mcp::model_output`). An answer with `isError: true`
/// is a failed item that keeps its content (SPEC §15.4: consumers read the
/// tool's own failure text from `result.content`, and `error` is null); the
/// model gets its text, without images.
fn mcp_finish(pending: McpPending, outcome: McpOutcome, emitter: &Emitter) -> CallOutput {
    let invocation = invocation(&pending);
    let result = match &outcome {
        McpOutcome::Answered(result) => Ok(serde_json::to_value(result).unwrap_or(Value::Null)),
        McpOutcome::Failed(message) => Err(message.as_str()),
    };
    emitter.record_event(
        "mcp_tool_call_end",
        records::mcp_tool_call_end(
            &pending.call_id,
            invocation,
            pending.started.elapsed(),
            result,
        ),
    );
    let (details, output) = match outcome {
        McpOutcome::Answered(result) => {
            let item_result = McpToolCallResult {
                content: mcp::content_json(&result),
                structured_content: result.structured_content.clone(),
            };
            let (status, output) = if result.is_error == Some(true) {
                (
                    McpToolCallStatus::Failed,
                    CallOutput::from(mcp::output_text(&result)),
                )
            } else {
                (McpToolCallStatus::Completed, mcp::model_output(&result))
            };
            (
                mcp_details(&pending, Some(item_result), None, status),
                output,
            )
        }
        McpOutcome::Failed(message) => (
            mcp_details(
                &pending,
                None,
                Some(message.clone()),
                McpToolCallStatus::Failed,
            ),
            message.into(),
        ),
    };
    emitter.item_completed(pending.item_id.clone(), details);
    output
}
