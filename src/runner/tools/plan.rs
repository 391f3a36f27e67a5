//! `update_plan`: the agent's plan, surfaced as a `todo_list` item (SPEC §4.6, §9.2).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::runner::emitter::Emitter;
use crate::runner::events::{ItemDetails, TodoItem};

/// The turn's plan: its `todo_list` item and the latest list.
#[derive(Debug)]
pub struct Plan {
    item_id: String,
    items: Vec<TodoItem>,
}

impl Plan {
    /// Turn end: `item.completed` with the last list.
    pub fn complete(self, emitter: &Emitter) {
        emitter.item_completed(self.item_id, ItemDetails::TodoList { items: self.items });
    }
}

/// Handle an `update_plan` call: the first plan of the turn starts the
/// `todo_list` item, later ones replace its list (`item.updated`). Returns
/// the text for the model.
pub fn update(arguments: &str, plan: &mut Option<Plan>, emitter: &Emitter) -> String {
    let items = match parse(arguments) {
        Ok(items) => items,
        Err(message) => return message,
    };
    let details = ItemDetails::TodoList {
        items: items.clone(),
    };
    match plan {
        Some(plan) => {
            plan.items = items;
            emitter.item_updated(plan.item_id.clone(), details);
        }
        None => {
            let item_id = emitter.item_started(details);
            *plan = Some(Plan { item_id, items });
        }
    }
    "Plan updated".to_string()
}

/// The function-tool spec advertised to the model.
pub fn spec() -> Value {
    json!({
        "type": "function",
        "name": "update_plan",
        "description": "Record or revise your plan for this task: a short list of steps, each pending, in_progress or completed (at most one in_progress), with an optional explanation of what changed.",
        "strict": false,
        "parameters": {
            "type": "object",
            "additionalProperties": false,
            "required": ["plan"],
            "properties": {
                "explanation": {"type": "string"},
                "plan": {
                    "type": "array",
                    "description": "The steps of the plan, in order",
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["step", "status"],
                        "properties": {
                            "status": {"type": "string", "description": "One of: pending, in_progress, completed"},
                            "step": {"type": "string"}
                        }
                    }
                }
            }
        }
    })
}

#[derive(Debug, Deserialize)]
struct PlanArgs {
    plan: Vec<PlanStep>,
}

#[derive(Debug, Deserialize)]
struct PlanStep {
    step: String,
    status: StepStatus,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum StepStatus {
    Pending,
    InProgress,
    Completed,
}

/// Parse the call's arguments into todo items (`completed` only for completed steps).
fn parse(arguments: &str) -> Result<Vec<TodoItem>, String> {
    let args: PlanArgs = serde_json::from_str(arguments)
        .map_err(|err| format!("failed to parse function arguments: {err}"))?;
    Ok(args
        .plan
        .into_iter()
        .map(|step| TodoItem {
            text: step.step,
            completed: step.status == StepStatus::Completed,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn maps_statuses() {
        let items = parse(r#"{"plan":[{"step":"a","status":"completed"},{"step":"b","status":"in_progress"},{"step":"c","status":"pending"}]}"#).unwrap();
        assert_eq!(
            items.iter().map(|i| i.completed).collect::<Vec<_>>(),
            vec![true, false, false]
        );
    }

    #[test]
    fn bad_arguments_are_reported() {
        let err = parse(r#"{"plan":[{"step":"a","status":"done"}]}"#).unwrap_err();
        assert!(
            err.starts_with("failed to parse function arguments: "),
            "{err}"
        );
    }
}
