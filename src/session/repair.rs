//! Call / output pairing of a conversation. The Responses API rejects a
//! history in which a tool call has no output ("No tool output found for
//! function call") or an output has no call, and both can be left behind: a
//! turn cut while its tools ran (SIGINT, SIGTERM, SIGKILL), or a rollout line
//! lost to a crash. As the reference does, every call without an output gets
//! the output `aborted`, and outputs without a call are dropped.
//!
//! Pure: items are looked at, never parsed into trees (only their `type`,
//! `call_id` and `id` are read, and only from items that mention `_call`).

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// The output recorded for a call that never produced one.
pub const ABORTED_OUTPUT: &str = "aborted";

/// Which kind of output answers which kind of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    /// `function_call` and legacy `local_shell_call`, answered by
    /// `function_call_output`.
    Function,
    /// `custom_tool_call`, answered by `custom_tool_call_output`.
    Custom,
}

impl Family {
    fn output_type(self) -> &'static str {
        match self {
            Family::Function => "function_call_output",
            Family::Custom => "custom_tool_call_output",
        }
    }
}

/// What an item is to the pairing.
#[derive(Debug, PartialEq, Eq)]
enum Role {
    Call(Family, String),
    Output(Family, String),
    Other,
}

/// The fields of an item the pairing looks at.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    call_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
}

fn role(item: &RawValue) -> Role {
    // Every call and output type contains `_call`: anything else (most items,
    // long messages among them) is passed over without a parse.
    if memchr::memmem::find(item.get().as_bytes(), b"_call").is_none() {
        return Role::Other;
    }
    let Ok(peek) = serde_json::from_str::<Peek<'_>>(item.get()) else {
        return Role::Other;
    };
    let Some(kind) = peek.kind else {
        return Role::Other;
    };
    // An empty id names nothing: such an item is left alone, on either side,
    // so that a repaired history needs no further repair.
    let call_id = peek.call_id.filter(|id| !id.is_empty());
    // A legacy shell call may carry only its item id.
    let call_id = match kind.as_ref() {
        "local_shell_call" => call_id.or(peek.id.filter(|id| !id.is_empty())),
        _ => call_id,
    };
    let Some(call_id) = call_id.map(Cow::into_owned) else {
        return Role::Other;
    };
    match kind.as_ref() {
        "function_call" | "local_shell_call" => Role::Call(Family::Function, call_id),
        "custom_tool_call" => Role::Call(Family::Custom, call_id),
        "function_call_output" => Role::Output(Family::Function, call_id),
        "custom_tool_call_output" => Role::Output(Family::Custom, call_id),
        _ => Role::Other,
    }
}

/// The `aborted` output item answering call `call_id` of `family`.
fn aborted(family: Family, call_id: &str) -> Value {
    json!({"type": family.output_type(), "call_id": call_id, "output": ABORTED_OUTPUT})
}

/// The outputs to append to `items` (a conversation whose last turn was cut)
/// so that every call has one: `aborted` for each call without an output, in
/// call order.
pub fn aborted_outputs(items: &[Box<RawValue>]) -> Vec<Value> {
    let roles: Vec<Role> = items.iter().map(|item| role(item)).collect();
    let answered: HashSet<(Family, &str)> = roles
        .iter()
        .filter_map(|role| match role {
            Role::Output(family, id) => Some((*family, id.as_str())),
            Role::Call(..) | Role::Other => None,
        })
        .collect();
    let mut added: HashSet<(Family, &str)> = HashSet::new();
    roles
        .iter()
        .filter_map(|role| match role {
            Role::Call(family, id)
                if !answered.contains(&(*family, id.as_str()))
                    && added.insert((*family, id.as_str())) =>
            {
                Some(aborted(*family, id))
            }
            Role::Call(..) | Role::Output(..) | Role::Other => None,
        })
        .collect()
}

/// Make a replayed conversation acceptable to the API: insert an `aborted`
/// output right after each call that has none, and drop outputs whose call is
/// missing. Returns how many items were inserted and dropped.
pub fn repair(items: &mut Vec<Box<RawValue>>) -> (usize, usize) {
    let roles: Vec<Role> = items.iter().map(|item| role(item)).collect();
    let mut calls: HashSet<(Family, &str)> = HashSet::new();
    let mut answered: HashSet<(Family, &str)> = HashSet::new();
    for role in &roles {
        match role {
            Role::Call(family, id) => calls.insert((*family, id.as_str())),
            Role::Output(family, id) => answered.insert((*family, id.as_str())),
            Role::Other => false,
        };
    }
    let needs_output = |role: &Role| match role {
        Role::Call(family, id) => !answered.contains(&(*family, id.as_str())),
        Role::Output(..) | Role::Other => false,
    };
    let orphan = |role: &Role| match role {
        Role::Output(family, id) => !calls.contains(&(*family, id.as_str())),
        Role::Call(..) | Role::Other => false,
    };
    if !roles.iter().any(|r| needs_output(r) || orphan(r)) {
        return (0, 0);
    }
    let mut repaired = Vec::with_capacity(items.len() + 1);
    let (mut inserted, mut dropped) = (0, 0);
    let mut filled: HashSet<(Family, &str)> = HashSet::new();
    for (item, role) in std::mem::take(items).into_iter().zip(&roles) {
        if orphan(role) {
            tracing::debug!(
                ?role,
                "dropping a tool output whose call is not in the history"
            );
            dropped += 1;
            continue;
        }
        repaired.push(item);
        if let Role::Call(family, id) = role {
            if needs_output(role) && filled.insert((*family, id.as_str())) {
                tracing::debug!(call_id = %id, "a tool call has no output; recording it as aborted");
                // A `Value` of strings always serialises.
                if let Ok(output) = serde_json::value::to_raw_value(&aborted(*family, id)) {
                    repaired.push(output);
                    inserted += 1;
                }
            }
        }
    }
    *items = repaired;
    (inserted, dropped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn raw(value: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&value).unwrap()
    }

    fn texts(items: &[Box<RawValue>]) -> Vec<Value> {
        items
            .iter()
            .map(|i| serde_json::from_str(i.get()).unwrap())
            .collect()
    }

    #[test]
    fn unanswered_calls_get_aborted_outputs_right_after_them() {
        let mut items = vec![
            raw(json!({"type": "message", "role": "user", "content": "function_call"})),
            raw(json!({"type": "function_call", "call_id": "a", "name": "x", "arguments": "{}"})),
            raw(json!({"type": "custom_tool_call", "call_id": "b", "name": "y", "input": ""})),
            raw(json!({"type": "local_shell_call", "id": "c", "action": {}})),
            raw(json!({"type": "function_call_output", "call_id": "a", "output": "ok"})),
        ];
        assert_eq!(repair(&mut items), (2, 0));
        let kinds: Vec<Value> = texts(&items)
            .into_iter()
            .map(|v| json!([v["type"], v["call_id"].clone(), v["output"].clone()]))
            .collect();
        assert_eq!(
            kinds,
            vec![
                json!(["message", null, null]),
                json!(["function_call", "a", null]),
                json!(["custom_tool_call", "b", null]),
                json!(["custom_tool_call_output", "b", "aborted"]),
                json!(["local_shell_call", null, null]),
                json!(["function_call_output", "c", "aborted"]),
                json!(["function_call_output", "a", "ok"]),
            ]
        );
        // Repairing again changes nothing.
        assert_eq!(repair(&mut items), (0, 0));
    }

    #[test]
    fn empty_ids_are_left_alone_so_repair_is_idempotent() {
        // Found by the `rollout` fuzz target: a legacy shell call with an empty
        // item id got an output with an empty `call_id`, which the next repair
        // did not count as an output, and answered again.
        let mut items = vec![
            raw(json!({"type": "local_shell_call", "id": "", "action": {}})),
            raw(json!({"type": "function_call", "call_id": "", "name": "f", "arguments": ""})),
            raw(json!({"type": "function_call_output", "call_id": "", "output": "x"})),
        ];
        assert_eq!(repair(&mut items), (0, 0));
        assert!(aborted_outputs(&items).is_empty());
    }

    #[test]
    fn outputs_without_calls_are_dropped() {
        let mut items = vec![
            raw(json!({"type": "function_call_output", "call_id": "gone", "output": "x"})),
            raw(json!({"type": "custom_tool_call_output", "call_id": "a", "output": "x"})),
            raw(json!({"type": "function_call", "call_id": "a", "name": "f", "arguments": ""})),
            raw(json!({"type": "function_call_output", "call_id": "a", "output": "y"})),
        ];
        assert_eq!(repair(&mut items), (0, 2));
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn a_cut_turn_gets_one_output_per_unanswered_call() {
        let items = vec![
            raw(json!({"type": "function_call", "call_id": "a", "name": "x", "arguments": "{}"})),
            raw(json!({"type": "function_call", "call_id": "a", "name": "x", "arguments": "{}"})),
            raw(json!({"type": "custom_tool_call", "call_id": "b", "name": "y", "input": ""})),
            raw(json!({"type": "function_call", "call_id": "c", "name": "x", "arguments": "{}"})),
            raw(json!({"type": "function_call_output", "call_id": "c", "output": "done"})),
            raw(json!("a string item")),
        ];
        assert_eq!(
            aborted_outputs(&items),
            vec![
                json!({"type": "function_call_output", "call_id": "a", "output": "aborted"}),
                json!({"type": "custom_tool_call_output", "call_id": "b", "output": "aborted"}),
            ]
        );
    }
}
