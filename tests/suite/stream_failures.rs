//! SSE stream handling: disconnects, idle timeouts, `response.failed` and
//! `response.incomplete`, junk payloads, and the served-model check
//! (SPEC §7.6–7.8, §25 cases 8–12).

use mock_responses::{ev, message_reply, Reply};
use pretty_assertions::assert_eq;

use crate::common::*;

const CLOSED_EARLY: &str =
    "stream disconnected before completion: stream closed before response.completed";

/// A stream that ends cleanly (proper end of body) without `response.completed`.
fn stream_without_completed() -> Reply {
    Reply::sse(vec![ev::created("resp_1")])
}

/// A stream whose connection is closed abruptly before `response.completed`.
fn cut_stream() -> Reply {
    Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", "never seen"),
        ev::completed("resp_1"),
    ])
    .cut_after(1)
}

/// Every stream ends without `response.completed`: retried twice with notices, then
/// the disconnect error; 3 POSTs.
#[test]
fn stream_without_completed_is_retried_then_fails() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], stream_without_completed())?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events, retried_twice_then_fatal(CLOSED_EARLY));
    assert_eq!(env.requests().len(), 3);
    Ok(())
}

/// An abruptly cut connection counts as a stream closed before `response.completed`.
#[test]
fn cut_stream_is_retried_then_fails() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], cut_stream())?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events, retried_twice_then_fatal(CLOSED_EARLY));
    assert_eq!(env.requests().len(), 3);
    Ok(())
}

/// With `stream_max_retries = 0` an incomplete stream fails after one POST, no notices.
#[test]
fn incomplete_stream_without_stream_retries_fails_at_once() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], stream_without_completed())?;
    let run = env
        .exec()
        .args([
            "--json",
            "-c",
            "model_providers.mock.stream_max_retries=0",
            "hi",
        ])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let mut expected = vec![thread_started(), turn_started()];
    expected.extend(fatal(CLOSED_EARLY));
    assert_eq!(events, expected);
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// With `stream_max_retries = 0` a cut stream fails after one POST without notices.
#[test]
fn cut_stream_without_stream_retries_fails_at_once() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], cut_stream())?;
    let run = env
        .exec()
        .args([
            "--json",
            "-c",
            "model_providers.mock.stream_max_retries=0",
            "hi",
        ])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events.len(), 4, "{run}");
    assert_eq!(events[..2], [thread_started(), turn_started()]);
    assert_eq!(events[3]["type"], "turn.failed");
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// One incomplete stream, then a good one: a single notice and the turn completes
/// with the same request re-sent.
#[test]
fn incomplete_stream_then_success_completes() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        stream_without_completed(),
        message_reply("second try"),
    ])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            reconnecting(1, CLOSED_EARLY),
            agent_message("item_0", "second try"),
            turn_completed(10, 0, 5, 0),
        ]
    );
    let requests = env.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body, "same request re-sent");
    Ok(())
}

/// One cut stream, then a good one: the turn completes.
#[test]
fn cut_stream_then_success_completes() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![cut_stream(), message_reply("second try")])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events.len(), 5, "{run}");
    assert_eq!(events[3], agent_message("item_0", "second try"));
    assert_eq!(env.requests().len(), 2);
    Ok(())
}

/// A stream that goes silent hits the idle timeout.
#[test]
fn idle_stream_times_out() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![],
        Reply::sse(vec![ev::created("resp_1"), ev::completed("resp_1")]).stall_after(1),
    )?;
    let run = env
        .exec()
        .args([
            "--json",
            "-c",
            "model_providers.mock.stream_idle_timeout_ms=300",
            "hi",
        ])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let message = "stream disconnected before completion: idle timeout waiting for SSE";
    assert_eq!(events, retried_twice_then_fatal(message));
    assert_eq!(env.requests().len(), 3);
    Ok(())
}

/// A generic `response.failed` is retried, then reported with the server's message.
#[test]
fn generic_response_failed_is_retried() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![],
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::failed("resp_1", "server_error", "Something broke upstream"),
        ]),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let message = "stream disconnected before completion: Something broke upstream";
    assert_eq!(events[events.len() - 2..], fatal(message));
    assert_eq!(env.requests().len(), 3);
    Ok(())
}

/// `context_length_exceeded` that compaction cannot cure (even the summary
/// request, trimmed to the initial context, is refused) fails the turn with the
/// context-window message and nothing else on stdout.
#[test]
fn context_length_exceeded_is_fatal() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![],
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::failed(
                "resp_1",
                "context_length_exceeded",
                "Your input exceeds the context window of this model.",
            ),
        ]),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let mut expected = vec![thread_started(), turn_started()];
    expected.extend(fatal(
        "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.",
    ));
    assert_eq!(events, expected);
    let requests = env.requests();
    assert_eq!(requests.len(), 3, "the step, its summary request, trimmed");
    assert_eq!(requests[0].json()["tool_choice"], "auto");
    assert_eq!(requests[2].json()["tool_choice"], "none");
    assert!(requests[2].input().len() < requests[1].input().len());
    Ok(())
}

/// `response.failed` with `insufficient_quota` is fatal at once.
#[test]
fn insufficient_quota_response_failed_is_fatal() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![],
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::failed("resp_1", "insufficient_quota", "You exceeded your quota."),
        ]),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events[events.len() - 2..],
        fatal("Quota exceeded. Check your plan and billing details.")
    );
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// `response.incomplete` is fatal with its reason.
#[test]
fn incomplete_response_is_fatal() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![],
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::incomplete("resp_1", "max_output_tokens"),
        ]),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let mut expected = vec![thread_started(), turn_started()];
    expected.extend(fatal(
        "Incomplete response returned, reason: max_output_tokens",
    ));
    assert_eq!(events, expected);
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// Unparseable and unknown SSE payloads are skipped; the `event:` line is ignored.
#[test]
fn malformed_sse_payloads_are_skipped() -> anyhow::Result<()> {
    let body = std::fs::read_to_string(fixture("malformed_between_valid.sse"))?;
    let env = TestEnv::new(vec![Reply::raw_sse(body)])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "survived"),
            turn_completed(7, 0, 3, 0),
        ]
    );
    Ok(())
}

/// Junk strings between individually flushed events are skipped too.
#[test]
fn junk_events_between_valid_events_are_skipped() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        serde_json::json!("data: {\"type\": \"response.output_item.done\", broken\n\n"),
        serde_json::json!(": a comment line\n\n"),
        ev::message("msg_1", "fine"),
        ev::completed_with_usage("resp_1", 3, 0, 2, 0),
    ])
    .event_delay_ms(5)])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "fine"),
            turn_completed(3, 0, 2, 0),
        ]
    );
    Ok(())
}

/// An `openai-model` response header naming another model produces a warning item.
#[test]
fn served_model_mismatch_warns() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok").header("openai-model", "gpt-4.1")])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let warnings: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "error")
        .filter_map(|e| e["item"]["message"].as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{run}");
    assert!(
        warnings[0].contains("gpt-4.1") && warnings[0].contains("gpt-5-codex"),
        "{}",
        warnings[0]
    );
    assert_eq!(events.last(), Some(&turn_completed(10, 0, 5, 0)));
    Ok(())
}

/// A matching `openai-model` header produces no warning.
#[test]
fn served_model_match_is_silent() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        message_reply("ok").header("openai-model", "gpt-5-codex")
    ])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "ok"),
            turn_completed(10, 0, 5, 0),
        ]
    );
    Ok(())
}
