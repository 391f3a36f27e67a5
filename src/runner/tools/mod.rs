//! Tool registry: what is advertised to the model and how calls are answered.
//!
//! Unknown tools get the `unsupported call: <name>` reply; the concrete tools
//! (plans, apply_patch, the command tools; MCP next) plug in here.

pub mod apply_patch;
mod patch_tool;
mod plan;
mod shell;

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::config::Config;
use crate::runner::emitter::Emitter;
use crate::runner::events::{ItemDetails, TodoItem};
use crate::runner::model::catalog::{ApplyPatchTool, ModelInfo};
use crate::sandbox::SandboxPolicy;
use shell::{OpenCommands, ShellTools};

/// A client-side tool call taken from a model response.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolCall {
    /// `function_call`: JSON arguments.
    Function {
        name: String,
        call_id: String,
        arguments: String,
    },
    /// `custom_tool_call`: freeform input.
    Custom {
        name: String,
        call_id: String,
        input: String,
    },
    /// Legacy `local_shell_call`.
    LocalShell { call_id: String },
}

impl ToolCall {
    /// Recognise a tool call among a response's output items.
    pub fn from_item(item: &Value) -> Option<ToolCall> {
        let field = |name: &str| {
            item.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        // A call made through the Responses `namespace` field names its tool inside it.
        let name = match item.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() => format!("{ns}__{}", field("name")),
            _ => field("name"),
        };
        match item.get("type")?.as_str()? {
            "function_call" => Some(ToolCall::Function {
                name,
                call_id: field("call_id"),
                arguments: field("arguments"),
            }),
            "custom_tool_call" => Some(ToolCall::Custom {
                name,
                call_id: field("call_id"),
                input: field("input"),
            }),
            "local_shell_call" => Some(ToolCall::LocalShell {
                call_id: item
                    .get("call_id")
                    .or_else(|| item.get("id"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            }),
            _ => None,
        }
    }

    /// The tool name (`local_shell` for legacy shell calls).
    pub fn name(&self) -> &str {
        match self {
            ToolCall::Function { name, .. } | ToolCall::Custom { name, .. } => name,
            ToolCall::LocalShell { .. } => "local_shell",
        }
    }

    /// The output item answering this call with `text`.
    pub fn output(&self, text: &str) -> Value {
        match self {
            ToolCall::Function { call_id, .. } | ToolCall::LocalShell { call_id } => {
                json!({"type": "function_call_output", "call_id": call_id, "output": text})
            }
            ToolCall::Custom { call_id, .. } => {
                json!({"type": "custom_tool_call_output", "call_id": call_id, "output": text})
            }
        }
    }
}

/// Per-turn tool state: the plan's `todo_list` item and the command items
/// still open, completed at turn end.
#[derive(Debug, Default)]
pub struct TurnTools {
    plan: Option<(String, Vec<TodoItem>)>,
    commands: OpenCommands,
}

impl TurnTools {
    /// Emit the final state of items that live for the whole turn: the plan,
    /// then every command item not yet completed (SPEC §4.5).
    pub fn finish(&mut self, emitter: &Emitter) {
        if let Some((id, items)) = self.plan.take() {
            emitter.item_completed(id, ItemDetails::TodoList { items });
        }
        self.commands.reconcile(emitter);
    }
}

/// The tools of one thread.
#[derive(Debug)]
pub struct ToolRegistry {
    web_search: bool,
    update_plan: bool,
    apply_patch: ApplyPatchTool,
    cwd: PathBuf,
    sandbox: SandboxPolicy,
    shell: ShellTools,
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
    ) -> ToolRegistry {
        ToolRegistry {
            web_search: config.web_search,
            update_plan: config.update_plan.unwrap_or(known_model),
            apply_patch: info.apply_patch,
            cwd: config.cwd.clone(),
            sandbox: config.sandbox.clone(),
            shell: ShellTools::new(config, info.shell, thread_id),
        }
    }

    /// Kill every process the command tools started (background sessions,
    /// their groups and escaped descendants). Synchronous; dropping the
    /// registry does the same.
    pub fn shutdown(&self) {
        self.shell.shutdown();
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
        if self.web_search {
            specs.push(json!({"type": "web_search"}));
        }
        specs
    }

    /// Run one call and return its output item. Never fails the turn: problems
    /// go back to the model as the call's output.
    pub async fn dispatch(
        &self,
        call: &ToolCall,
        turn: &mut TurnTools,
        emitter: &Emitter,
    ) -> Value {
        match call {
            ToolCall::Function {
                name, arguments, ..
            } if name == "update_plan" && self.update_plan => match plan::parse(arguments) {
                Ok(items) => {
                    let details = ItemDetails::TodoList {
                        items: items.clone(),
                    };
                    match &mut turn.plan {
                        Some((id, current)) => {
                            *current = items;
                            emitter.item_updated(id.clone(), details);
                        }
                        None => {
                            let id = emitter.item_started(details);
                            turn.plan = Some((id, items));
                        }
                    }
                    call.output("Plan updated")
                }
                Err(message) => call.output(&message),
            },
            ToolCall::Function {
                name, arguments, ..
            } if self.shell.handles(name) => call.output(
                &self
                    .shell
                    .call(name, arguments, &mut turn.commands, emitter)
                    .await,
            ),
            ToolCall::Custom { name, input, .. }
                if name == "apply_patch" && self.apply_patch == ApplyPatchTool::Freeform =>
            {
                call.output(&patch_tool::run(
                    input,
                    &self.cwd,
                    &self.cwd,
                    &self.sandbox,
                    emitter,
                ))
            }
            ToolCall::Function {
                name, arguments, ..
            } if name == "apply_patch" && self.apply_patch == ApplyPatchTool::Function => {
                match patch_tool::patch_from_arguments(arguments) {
                    Ok(patch) => call.output(&patch_tool::run(
                        &patch,
                        &self.cwd,
                        &self.cwd,
                        &self.sandbox,
                        emitter,
                    )),
                    Err(message) => call.output(&message),
                }
            }
            _ => {
                tracing::warn!(tool = call.name(), "unsupported tool call");
                call.output(&format!("unsupported call: {}", call.name()))
            }
        }
    }
}
