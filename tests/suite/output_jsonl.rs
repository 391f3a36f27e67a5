//! `--json` output: event sequence, item ids and kinds, thread-cumulative usage
//! (SPEC §4, §8, §25 case 1).

use mock_responses::{ev, message_reply, Reply};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::common::*;

/// A single message turn prints exactly four compact JSONL lines and exits 0.
#[test]
fn one_message_run_prints_exactly_four_lines() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", "Hello world"),
        ev::completed_with_usage("resp_1", 100, 40, 20, 5),
    ])])?;
    let run = env.exec().args(["--json", "say hello"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(run.stdout.lines().count(), 4, "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "Hello world"),
            turn_completed(100, 40, 20, 5),
        ]
    );
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// A call to the unknown tool `shell` is answered `unsupported call: shell` in a
/// second request, and usage is summed over both requests.
#[test]
fn unknown_tool_call_is_answered_and_usage_accumulates() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::function_call("call_1", "shell", r#"{"command":["ls"]}"#),
            ev::completed_with_usage("resp_1", 100, 40, 20, 5),
        ]),
        Reply::sse(vec![
            ev::created("resp_2"),
            ev::message("msg_2", "done"),
            ev::completed_with_usage("resp_2", 200, 100, 30, 10),
        ]),
    ])?;
    let run = env.exec().args(["--json", "list files"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "done"),
            turn_completed(300, 140, 50, 15),
        ]
    );

    let requests = env.requests();
    assert_eq!(requests.len(), 2);
    let first = requests[0].input();
    let second = requests[1].input();
    assert_eq!(second.len(), first.len() + 2, "history + call + output");
    assert_eq!(&second[..first.len()], &first[..], "history is replayed");
    let call = &second[first.len()];
    assert_eq!(call["type"], "function_call");
    assert_eq!(call["name"], "shell");
    assert_eq!(call["call_id"], "call_1");
    assert_eq!(call["arguments"], r#"{"command":["ls"]}"#);
    assert_eq!(
        second[first.len() + 1],
        json!({"type": "function_call_output", "call_id": "call_1", "output": "unsupported call: shell"})
    );
    Ok(())
}

/// An unknown freeform (custom) tool call is answered with a `custom_tool_call_output`.
#[test]
fn unknown_custom_tool_call_gets_custom_output() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::custom_tool_call("call_c", "frobnicate", "some input"),
            ev::completed("resp_1"),
        ]),
        message_reply("ok"),
    ])?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let requests = env.requests();
    assert_eq!(requests.len(), 2);
    let second = requests[1].input();
    assert_eq!(
        second.last().cloned(),
        Some(
            json!({"type": "custom_tool_call_output", "call_id": "call_c", "output": "unsupported call: frobnicate"})
        )
    );
    Ok(())
}

/// A reasoning summary becomes a `reasoning` item (parts joined with `\n`) before the message.
#[test]
fn reasoning_summary_becomes_reasoning_item() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::reasoning("rs_1", &["**Planning**", "then answering"]),
        ev::message("msg_1", "answer"),
        ev::completed("resp_1"),
    ])])?;
    let run = env.exec().args(["--json", "think"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            reasoning_item("item_0", "**Planning**\nthen answering"),
            agent_message("item_1", "answer"),
            turn_completed(0, 0, 0, 0),
        ]
    );
    Ok(())
}

/// Reasoning with an empty or blank summary produces no item and uses no id.
#[test]
fn blank_reasoning_produces_no_item() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::reasoning("rs_1", &[]),
        ev::reasoning("rs_2", &["   "]),
        ev::message("msg_1", "answer"),
        ev::completed("resp_1"),
    ])])?;
    let run = env.exec().args(["--json", "think"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "answer"),
            turn_completed(0, 0, 0, 0),
        ]
    );
    Ok(())
}

/// A `web_search_call` is started on `output_item.added` and completed on `done`
/// with the same id, and needs no follow-up request.
#[test]
fn web_search_call_is_started_then_completed() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::output_item_added(json!({
            "type": "web_search_call", "id": "ws_1", "status": "in_progress",
        })),
        ev::web_search_call("ws_1", "rust async"),
        ev::message("msg_1", "found it"),
        ev::completed("resp_1"),
    ])])?;
    let run = env.exec().args(["--json", "search"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            json!({"type": "item.started", "item": {
                "id": "item_0", "type": "web_search", "query": "", "action": {"type": "other"},
            }}),
            json!({"type": "item.completed", "item": {
                "id": "item_0", "type": "web_search", "query": "rust async",
                "action": {"type": "search", "query": "rust async"},
            }}),
            agent_message("item_1", "found it"),
            turn_completed(0, 0, 0, 0),
        ]
    );
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// Two assistant messages in one response become two items with increasing ids.
#[test]
fn each_message_is_its_own_item() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", "first"),
        ev::message("msg_2", "second"),
        ev::completed("resp_1"),
    ])])?;
    let run = env.exec().args(["--json", "talk"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "first"),
            agent_message("item_1", "second"),
            turn_completed(0, 0, 0, 0),
        ]
    );
    Ok(())
}

/// A `response.completed` without usage reports all-zero usage.
#[test]
fn missing_usage_reports_zeros() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", "hi"),
        json!({"type": "response.completed", "response": {"id": "resp_1"}}),
    ])])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events.last(), Some(&turn_completed(0, 0, 0, 0)));
    Ok(())
}

/// `--experimental-json` is an alias of `--json`.
#[test]
fn experimental_json_is_an_alias() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("aliased")])?;
    let run = env.exec().args(["--experimental-json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "aliased"),
            turn_completed(10, 0, 5, 0),
        ]
    );
    Ok(())
}
