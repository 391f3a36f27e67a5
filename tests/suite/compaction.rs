//! Automatic context compaction on long runs (SPEC §20): a scripted model with a
//! small context window (the mock refuses requests larger than it and reports each
//! request's size as its usage) and runs whose history would overflow it.

use mock_responses::{ev, request_tokens, MockServer, RecordedRequest, Reply};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// The mock model's context window, in tokens of four bytes.
pub const WINDOW_TOKENS: u64 = 8_000;
/// Bytes each step's command echoes (its call and its output each carry them).
const STEP_ECHO_BYTES: usize = 400;
/// The hand-off note the scripted model writes.
pub const SUMMARY: &str = "SUMMARY: every step so far echoed its line; go on with the next";
/// The user's prompt.
pub const PROMPT: &str = "run the steps";

/// Whether `request` asks for a summary: it is the only one that forbids tool calls.
pub fn is_summary_request(request: &RecordedRequest) -> bool {
    request.json()["tool_choice"] == "none"
}

/// The scripted model's answer to every summary request.
pub fn summary_reply() -> Reply {
    Reply::sse(vec![
        ev::created("resp_summary"),
        ev::message("msg_summary", SUMMARY),
        ev::completed_with_usage("resp_summary", 0, 0, 40, 0),
    ])
}

/// Step `n`: one `exec_command` echoing [`STEP_ECHO_BYTES`] bytes.
pub fn step_reply(n: usize) -> Reply {
    let cmd = format!("echo {n} {}", "x".repeat(STEP_ECHO_BYTES));
    let arguments = json!({"cmd": cmd, "login": false}).to_string();
    Reply::sse(vec![
        ev::created(&format!("resp_{n}")),
        ev::function_call(&format!("call_{n}"), "exec_command", &arguments),
        ev::completed_with_usage(&format!("resp_{n}"), 0, 0, 20, 0),
    ])
}

/// A model with the [`WINDOW_TOKENS`] window that runs `steps` steps, then says
/// `done`; summary requests are answered with [`summary_reply`].
pub fn long_run_env(steps: usize) -> anyhow::Result<TestEnv> {
    let server = MockServer::builder()
        .context_window(WINDOW_TOKENS)
        .usage_from_request()
        .route(is_summary_request, summary_reply())
        .replies((0..steps).map(step_reply))
        .reply(done_reply("resp_done"))
        .start()?;
    TestEnv::with_server(server)
}

/// `exec --json` with the window configured, unsandboxed, plus `extra`.
pub fn run_long(env: &TestEnv, extra: &[&str]) -> anyhow::Result<Run> {
    let window = format!("model_context_window={WINDOW_TOKENS}");
    env.exec()
        .args(["--json", "--sandbox", "danger-full-access", "-c", &window])
        .args(extra)
        .arg(PROMPT)
        .run()
}

/// Whether the mock refused `request` for its size.
pub fn refused(request: &RecordedRequest) -> bool {
    request_tokens(request) > WINDOW_TOKENS
}

/// The last item of a request's input, which must be a user message: its text.
fn last_user_text(request: &RecordedRequest) -> String {
    let input = request.input();
    let last = input.last().cloned().unwrap_or_default();
    assert_eq!(message_role(&last), Some("user"), "{last}");
    message_text(&last).unwrap_or_default()
}

/// The input a compacted history must have: the thread's initial context (the
/// first request without its prompt), the prompt, the summary message.
pub fn assert_compacted_input(first: &RecordedRequest, request: &RecordedRequest) {
    let mut expected = first.input();
    expected.truncate(expected.len() - 1);
    expected.push(user_input(PROMPT));
    let input = request.input();
    assert_eq!(input[..expected.len()], expected[..]);
    assert_eq!(input.len(), expected.len() + 1, "{input:#?}");
    let summary = last_user_text(request);
    assert!(
        summary.ends_with(&format!("\n{SUMMARY}")),
        "the summary follows its prefix: {summary}"
    );
    assert!(
        summary.len() > SUMMARY.len() + 100,
        "the prefix says what the note is: {summary}"
    );
}

/// Call ids whose output some request carried.
fn answered_calls(requests: &[RecordedRequest]) -> std::collections::BTreeSet<String> {
    requests
        .iter()
        .flat_map(|r| r.input())
        .filter(|item| item["type"] == "function_call_output")
        .filter_map(|item| item["call_id"].as_str().map(str::to_string))
        .collect()
}

/// The rollout's `compacted` payloads, in order.
pub fn compacted_records(env: &TestEnv) -> anyhow::Result<Vec<Value>> {
    let files = rollouts(&env.codex_home);
    anyhow::ensure!(files.len() == 1, "{files:?}");
    Ok(records(&files[0])?
        .into_iter()
        .filter(|r| r["type"] == "compacted")
        .map(|r| r["payload"].clone())
        .collect())
}

/// A 60-step run whose history is several times the window completes: the
/// history is compacted before it fills, no request is ever refused, every
/// summary request carries the history plus the prompt, every following request
/// the rebuilt history, and nothing of it shows in the JSON output.
#[test]
fn a_long_run_is_compacted_automatically_and_completes() -> anyhow::Result<()> {
    const STEPS: usize = 60;
    let env = long_run_env(STEPS)?;
    let run = run_long(&env, &[])?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let requests = env.requests();

    assert!(
        !requests.iter().any(refused),
        "no request outgrew the window"
    );
    let summaries: Vec<usize> = (0..requests.len())
        .filter(|&i| is_summary_request(&requests[i]))
        .collect();
    assert!(summaries.len() >= 2, "compacted {} times", summaries.len());
    // Each call and output counted once: together they are far more than the window.
    let steps: std::collections::BTreeMap<String, usize> = requests
        .iter()
        .flat_map(|r| r.input())
        .filter(|item| item["call_id"].is_string())
        .map(|item| {
            (
                format!("{}{}", item["type"], item["call_id"]),
                item.to_string().len(),
            )
        })
        .collect();
    assert_eq!(steps.len(), 2 * STEPS);
    assert!(
        steps.values().sum::<usize>() as u64 > WINDOW_TOKENS * 4 * 3 / 2,
        "the steps alone are 1.5 times the window"
    );
    for &i in &summaries {
        let (before, summary, after) = (&requests[i - 1], &requests[i], &requests[i + 1]);
        // The history so far (the last request, its call and the call's output)
        // plus the request for a note.
        let input = summary.input();
        let sent = before.input();
        assert_eq!(input[..sent.len()], sent[..]);
        assert_eq!(input.len(), sent.len() + 3, "call, output, prompt");
        assert_eq!(input[sent.len()]["type"], "function_call");
        assert_eq!(input[sent.len() + 1]["type"], "function_call_output");
        assert!(last_user_text(summary).contains("hand-off note"));
        let body = summary.json();
        assert_eq!(
            body["tools"],
            before.json()["tools"],
            "tools kept for caching"
        );
        assert_eq!(body["stream"], true);
        assert_compacted_input(&requests[0], after);
    }
    // Every step ran exactly once and was answered.
    assert_eq!(answered_calls(&requests).len(), STEPS);
    assert_eq!(requests.len(), STEPS + 1 + summaries.len());

    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for kind in &kinds {
        assert!(
            [
                "thread.started",
                "turn.started",
                "item.started",
                "item.completed",
                "turn.completed"
            ]
            .contains(kind),
            "{kind}"
        );
    }
    let messages = item_events(&events, "agent_message");
    assert_eq!(messages, [agent_message(&format!("item_{STEPS}"), "done")]);
    // The summary requests' usage counts: the thread's input is every request's size.
    let input_tokens: u64 = requests.iter().map(request_tokens).sum();
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(last["type"], "turn.completed");
    assert_eq!(last["usage"]["input_tokens"], json!(input_tokens));
    assert_eq!(
        last["usage"]["output_tokens"],
        json!(20 * STEPS as u64 + 40 * summaries.len() as u64)
    );

    // The rollout records each compaction with the history that followed it.
    let compacted = compacted_records(&env)?;
    assert_eq!(compacted.len(), summaries.len());
    for (record, &i) in compacted.iter().zip(&summaries) {
        assert_eq!(record["message"], SUMMARY);
        assert_eq!(
            record["replacement_history"],
            json!(requests[i + 1].input())
        );
    }
    Ok(())
}

/// A compacted thread resumes with its compacted history: the resumed request
/// carries the last replacement history and what followed it, never the items
/// compacted away.
#[test]
fn a_compacted_thread_resumes_from_its_compacted_history() -> anyhow::Result<()> {
    const STEPS: usize = 24;
    let env = long_run_env(STEPS)?;
    let run = run_long(&env, &[])?;
    assert_eq!(run.code(), Some(0), "{run}");
    let compacted = compacted_records(&env)?;
    let last = compacted.last().cloned().unwrap_or_default();
    let replacement = last["replacement_history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!replacement.is_empty(), "the run compacted");
    let before = env.requests();
    let final_input = before.last().map(|r| r.input()).unwrap_or_default();

    env.server.push_replies([done_reply("resp_resumed")]);
    let resumed = env
        .exec()
        .args(["--json", "--sandbox", "danger-full-access"])
        .args(["resume", "--last", "and now?"])
        .run()?;
    assert_eq!(resumed.code(), Some(0), "{resumed}");
    let requests = env.requests();
    assert_eq!(requests.len(), before.len() + 1);
    let input = requests[before.len()].input();
    // The last request of the first run, its answer, the new prompt.
    assert_eq!(input[..final_input.len()], final_input[..]);
    assert_eq!(input[..replacement.len()], replacement[..]);
    assert_eq!(
        message_text(&input[final_input.len()]).as_deref(),
        Some("done")
    );
    assert_eq!(input.last(), Some(&user_input("and now?")));
    assert_eq!(input.len(), final_input.len() + 2);
    assert!(
        !input.iter().any(|item| item["call_id"] == "call_0"),
        "the first step was compacted away"
    );
    Ok(())
}

/// With automatic compaction off, a long run still completes: each refused
/// request is compacted (the summary request itself, too large as well, leaves
/// out the oldest items until it fits) and sent again.
#[test]
fn refused_requests_alone_keep_a_long_run_alive() -> anyhow::Result<()> {
    const STEPS: usize = 40;
    let env = long_run_env(STEPS)?;
    let run = run_long(&env, &["-c", "model_auto_compact_token_limit=0"])?;
    assert_eq!(run.code(), Some(0), "{run}");
    let requests = env.requests();
    let refused_steps = requests
        .iter()
        .filter(|r| refused(r) && !is_summary_request(r))
        .count();
    assert!(refused_steps >= 1, "the window was reached");
    let accepted_summaries: Vec<usize> = (0..requests.len())
        .filter(|&i| is_summary_request(&requests[i]) && !refused(&requests[i]))
        .collect();
    assert_eq!(accepted_summaries.len(), refused_steps);
    assert!(
        requests.iter().any(|r| is_summary_request(r) && refused(r)),
        "the summary request outgrew the window too"
    );
    for &i in &accepted_summaries {
        // The trimmed summary request keeps the initial context and never sends
        // an output without its call.
        let input = requests[i].input();
        let context = requests[0].input().len() - 1;
        assert_eq!(input[..context], requests[0].input()[..context]);
        let calls: Vec<&Value> = input
            .iter()
            .filter(|item| item["type"] == "function_call")
            .map(|item| &item["call_id"])
            .collect();
        for output in input
            .iter()
            .filter(|item| item["type"] == "function_call_output")
        {
            assert!(calls.contains(&&output["call_id"]), "{output}");
        }
        // The refused step is sent again, compacted.
        assert_compacted_input(&requests[0], &requests[i + 1]);
    }
    assert_eq!(answered_calls(&requests).len(), STEPS);
    Ok(())
}
