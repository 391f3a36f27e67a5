//! The `todo_list` item of `update_plan` (SPEC §4.6, §4.7, §9.2): started by
//! the first plan, updated by later ones, completed with the last list right
//! before the turn's terminal event, whether the turn completed or failed.

use mock_responses::{ev, Reply};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// `update_plan` arguments for `(step, status)` pairs.
fn plan(steps: &[(&str, &str)]) -> Value {
    json!({"plan": steps
        .iter()
        .map(|(step, status)| json!({"step": step, "status": status}))
        .collect::<Vec<_>>()})
}

/// A `todo_list` event of `kind` for item `id` with `(text, completed)` steps.
fn todo(kind: &str, id: &str, steps: &[(&str, bool)]) -> Value {
    json!({"type": kind, "item": {"id": id, "type": "todo_list", "items": steps
        .iter()
        .map(|(text, completed)| json!({"text": text, "completed": completed}))
        .collect::<Vec<_>>()}})
}

/// Two plans across two responses, then a message: `item.started`,
/// `item.updated`, the agent message, then `item.completed` with the final
/// list just before `turn.completed`; each call is answered `Plan updated`.
#[test]
fn plan_lifecycle_spans_the_turn() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[(
                "call_1",
                "update_plan",
                plan(&[
                    ("Inspect repo", "in_progress"),
                    ("Add hello.txt", "pending"),
                ]),
            )],
        ),
        calls_reply(
            "resp_2",
            &[(
                "call_2",
                "update_plan",
                json!({"explanation": "inspected", "plan": [
                    {"step": "Inspect repo", "status": "completed"},
                    {"step": "Add hello.txt", "status": "in_progress"}
                ]}),
            )],
        ),
        done_reply("resp_3"),
    ])?;
    let run = env.exec().args(["--json", "plan it"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            todo(
                "item.started",
                "item_0",
                &[("Inspect repo", false), ("Add hello.txt", false)]
            ),
            todo(
                "item.updated",
                "item_0",
                &[("Inspect repo", true), ("Add hello.txt", false)]
            ),
            agent_message("item_1", "done"),
            todo(
                "item.completed",
                "item_0",
                &[("Inspect repo", true), ("Add hello.txt", false)]
            ),
            turn_completed(0, 0, 0, 0),
        ]
    );
    let requests = env.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(call_output(&requests[1], "call_1")?, "Plan updated");
    assert_eq!(call_output(&requests[2], "call_2")?, "Plan updated");
    Ok(())
}

/// A turn that fails after a plan still completes the todo item, before the
/// `error` / `turn.failed` pair.
#[test]
fn failed_turn_completes_the_plan_first() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_1", "update_plan", plan(&[("Only step", "pending")]))],
        ),
        Reply::sse(vec![
            ev::created("resp_2"),
            ev::failed("resp_2", "insufficient_quota", "You exceeded your quota."),
        ]),
    ])?;
    let run = env.exec().args(["--json", "plan it"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let mut expected = vec![
        thread_started(),
        turn_started(),
        todo("item.started", "item_0", &[("Only step", false)]),
        todo("item.completed", "item_0", &[("Only step", false)]),
    ];
    expected.extend(fatal(
        "Quota exceeded. Check your plan and billing details.",
    ));
    assert_eq!(events, expected);
    Ok(())
}

/// Arguments that do not fit the schema (an unknown status, no `plan`, not
/// JSON) are answered `failed to parse function arguments: ...`, and no
/// todo item appears.
#[test]
fn bad_plan_arguments_are_reported_to_the_model() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::function_call(
                "call_1",
                "update_plan",
                r#"{"plan":[{"step":"a","status":"done"}]}"#,
            ),
            ev::function_call("call_2", "update_plan", r#"{"steps":[]}"#),
            ev::function_call("call_3", "update_plan", "not json"),
            ev::completed("resp_1"),
        ]),
        done_reply("resp_2"),
    ])?;
    let run = env.exec().args(["--json", "plan it"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "done"),
            turn_completed(0, 0, 0, 0),
        ]
    );
    let request = &env.requests()[1];
    for call_id in ["call_1", "call_2", "call_3"] {
        let output = call_output(request, call_id)?;
        assert!(
            output.starts_with("failed to parse function arguments: "),
            "{call_id}: {output}"
        );
    }
    Ok(())
}

/// Unknown models get `update_plan` only when the config turns it on;
/// without it, a call is unsupported.
#[test]
fn plan_tool_is_opt_in_for_unknown_models() -> anyhow::Result<()> {
    for (extra, advertised) in [
        (&[][..], false),
        (&["-c", "tools.update_plan.enabled=true"][..], true),
        (&["--enable", "update_plan"][..], true),
    ] {
        let env = TestEnv::new(vec![
            calls_reply(
                "resp_1",
                &[("call_1", "update_plan", plan(&[("a", "pending")]))],
            ),
            done_reply("resp_2"),
        ])?;
        let run = env
            .exec()
            .args(["--json", "-m", "my-local-model"])
            .args(extra)
            .arg("plan it")
            .run()?;
        assert_eq!(run.code(), Some(0), "{extra:?}: {run}");
        let requests = env.requests();
        let names = advertised_tools(&requests[0].json());
        assert_eq!(
            names.iter().any(|n| n == "update_plan"),
            advertised,
            "{extra:?}: {names:?}"
        );
        let expected = if advertised {
            "Plan updated"
        } else {
            "unsupported call: update_plan"
        };
        assert_eq!(call_output(&requests[1], "call_1")?, expected, "{extra:?}");
    }
    Ok(())
}
