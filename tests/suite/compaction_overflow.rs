//! Compaction when the API refuses a request for its size (SPEC §20, §7.8), what
//! the front ends show of a compaction, and the remote procedure.

use mock_responses::{ev, MockServer, RecordedRequest, Reply};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use super::compaction::{
    assert_compacted_input, compacted_records, is_summary_request, summary_reply, PROMPT, SUMMARY,
};
use crate::common::*;

/// What `turn.failed` says when the window is exhausted (SPEC §7.8).
const CONTEXT_WINDOW_MESSAGE: &str = "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.";

/// A stream refused with `context_length_exceeded`.
fn refused_stream() -> Reply {
    Reply::sse(vec![
        ev::created("resp_refused"),
        ev::failed("resp_refused", "context_length_exceeded", "input too long"),
    ])
}

/// The same refusal as an HTTP 400 before any stream, as the API also answers.
fn refused_status() -> Reply {
    let body = json!({"error": {"message": "input too long", "type": "invalid_request_error",
        "param": "input", "code": "context_length_exceeded"}});
    Reply::status(400, body.to_string())
}

/// One step that runs `echo step`.
fn step() -> Reply {
    let arguments = json!({"cmd": "echo step", "login": false});
    calls_reply("resp_step", &[("call_step", "exec_command", arguments)])
}

/// A model that runs one step, then answers with `replies`; summary requests
/// are answered with [`summary_reply`].
fn env_with(replies: Vec<Reply>) -> anyhow::Result<TestEnv> {
    let server = MockServer::builder()
        .route(is_summary_request, summary_reply())
        .reply(step())
        .replies(replies)
        .start()?;
    TestEnv::with_server(server)
}

/// `exec` unsandboxed with `args` then the prompt.
fn run(env: &TestEnv, args: &[&str]) -> anyhow::Result<Run> {
    env.exec()
        .args(["--sandbox", "danger-full-access"])
        .args(args)
        .arg(PROMPT)
        .run()
}

/// The `type` of each event.
fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["type"].as_str().map(str::to_string))
        .collect()
}

/// A refused step, in a stream or as an HTTP 400, is compacted and sent once
/// more, and the turn completes; `--json` shows nothing of it.
#[test]
fn a_refused_request_is_compacted_and_retried_once() -> anyhow::Result<()> {
    for refusal in [refused_stream(), refused_status()] {
        let env = env_with(vec![refusal, done_reply("resp_done")])?;
        let run = run(&env, &["--json"])?;
        assert_eq!(run.code(), Some(0), "{run}");
        let (_, events) = run.events()?;
        assert_eq!(
            kinds(&events),
            [
                "thread.started",
                "turn.started",
                "item.started",
                "item.completed",
                "item.completed",
                "turn.completed"
            ]
        );
        assert_eq!(events[4], agent_message("item_1", "done"));

        let requests = env.requests();
        assert_eq!(requests.len(), 4, "step, refused, summary, retry");
        let [_, refused, summary, retry] = &requests[..] else {
            anyhow::bail!("four requests expected");
        };
        assert!(!is_summary_request(refused) && is_summary_request(summary));
        let mut expected = refused.input();
        expected.push(summary.input().last().cloned().unwrap_or_default());
        assert_eq!(
            summary.input(),
            expected,
            "the refused history plus the prompt"
        );
        assert_compacted_input(&requests[0], retry);
        assert!(call_output(retry, "call_step").is_err(), "compacted away");

        let compacted = compacted_records(&env)?;
        assert_eq!(compacted.len(), 1);
        assert_eq!(compacted[0]["message"], SUMMARY);
        assert_eq!(compacted[0]["replacement_history"], json!(retry.input()));
    }
    Ok(())
}

/// A step refused again after the compaction fails the turn with the
/// context-window message.
#[test]
fn a_request_refused_twice_fails_the_turn() -> anyhow::Result<()> {
    let env = env_with(vec![refused_stream(), refused_stream()])?;
    let run = run(&env, &["--json"])?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events[events.len() - 2..], fatal(CONTEXT_WINDOW_MESSAGE));
    let requests = env.requests();
    assert_eq!(requests.len(), 4, "step, refused, summary, refused retry");
    assert!(is_summary_request(&requests[2]));
    assert_compacted_input(&requests[0], &requests[3]);
    Ok(())
}

/// The human transcript says `context compacted`; stdout is still only the
/// final message.
#[test]
fn human_mode_prints_context_compacted() -> anyhow::Result<()> {
    let env = env_with(vec![refused_stream(), done_reply("resp_done")])?;
    let run = run(&env, &["--color", "never"])?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(run.stdout, "done\n");
    assert!(
        run.stderr.lines().any(|line| line == "context compacted"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(SUMMARY), "the summary is not shown");
    Ok(())
}

/// The summary request is the turn's request with the history, forbidding
/// tool calls and without the `--output-schema` format: a summary is prose.
#[test]
fn the_summary_request_asks_for_prose() -> anyhow::Result<()> {
    let env = env_with(vec![refused_stream(), done_reply("resp_done")])?;
    let schema = env.write_file(
        "schema.json",
        r#"{"type":"object","properties":{},"additionalProperties":false}"#,
    )?;
    let schema = schema.display().to_string();
    let run = run(&env, &["--json", "--output-schema", &schema])?;
    assert_eq!(run.code(), Some(0), "{run}");
    let requests = env.requests();
    let (step, summary) = (requests[1].json(), requests[2].json());
    assert_eq!(step["tool_choice"], "auto");
    assert!(step["text"]["format"].is_object());
    assert_eq!(summary["tool_choice"], "none");
    assert_eq!(summary["text"]["format"], Value::Null);
    for key in [
        "model",
        "instructions",
        "tools",
        "reasoning",
        "prompt_cache_key",
    ] {
        assert_eq!(summary[key], step[key], "{key}");
    }
    Ok(())
}

/// `features.remote_compaction` asks `POST /responses/compact` for the new
/// history (`{"model","input","instructions"}` → `{"output","usage"}`), which
/// follows the initial context; no summary request is made.
#[test]
fn remote_compaction_uses_the_compact_endpoint() -> anyhow::Result<()> {
    let compaction = json!({"type": "compaction", "encrypted_content": "opaque"});
    let output = json!({"output": [
        {"type": "message", "role": "developer",
         "content": [{"type": "input_text", "text": "a server copy of the permissions"}]},
        user_input(PROMPT),
        compaction,
    ], "usage": {"input_tokens": 300, "output_tokens": 30}});
    let env = env_with(vec![
        refused_stream(),
        Reply::status(200, output.to_string()),
        done_reply("resp_done"),
    ])?;
    let run = run(&env, &["--json", "--enable", "remote_compaction"])?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events.last(),
        Some(&turn_completed(300, 0, 30, 0)),
        "the endpoint's usage counts"
    );
    let requests = env.requests();
    assert_eq!(requests.len(), 4, "step, refused, compact, retry");
    let [first, refused, compact, retry] = &requests[..] else {
        anyhow::bail!("four requests expected");
    };
    assert!(!requests.iter().any(is_summary_request));
    assert_eq!(compact.path, "/v1/responses/compact");
    assert_eq!(compact.header("accept"), Some("application/json"));
    assert_eq!(
        compact.header("authorization"),
        Some(format!("Bearer {TEST_API_KEY}").as_str())
    );
    let body = compact.json();
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["model", "input", "instructions"]);
    let sent = refused.json();
    assert_eq!(body["model"], sent["model"]);
    assert_eq!(body["instructions"], sent["instructions"]);
    assert_eq!(body["input"], sent["input"]);

    let mut expected = initial_context(first);
    expected.extend([user_input(PROMPT), output["output"][2].clone()]);
    assert_eq!(retry.input(), expected);
    let compacted = compacted_records(&env)?;
    assert_eq!(compacted.len(), 1);
    assert_eq!(compacted[0]["message"], "");
    assert_eq!(compacted[0]["replacement_history"], json!(expected));
    Ok(())
}

/// The initial context of a thread: its first request without the prompt.
fn initial_context(first: &RecordedRequest) -> Vec<Value> {
    let mut input = first.input();
    input.pop();
    input
}
