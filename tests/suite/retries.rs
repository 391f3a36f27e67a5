//! HTTP-level failures: the request loop, the stream loop around it, and the final
//! messages (SPEC §7.7, §7.8, §25 cases 6, 7, 11).
//!
//! The default test provider has `request_max_retries = 1`, `stream_max_retries = 2`:
//! a retryable status is tried 2 × 3 = 6 times.

use mock_responses::{message_reply, Reply};
use pretty_assertions::assert_eq;

use crate::common::*;

/// Text of the exhausted-5xx error (with a typographic apostrophe).
const HIGH_DEMAND: &str =
    "We\u{2019}re currently experiencing high demand, which may cause temporary errors.";

/// HTTP 500 on every request: two reconnect notices, then the high-demand error; 6 POSTs.
#[test]
fn http_500_exhausts_both_retry_loops() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![],
        Reply::status(500, r#"{"error":{"message":"boom","type":"server_error"}}"#),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events, retried_twice_then_fatal(HIGH_DEMAND));
    assert_eq!(env.requests().len(), 6);
    Ok(())
}

/// One HTTP 500 is retried silently at the request level and the turn completes.
#[test]
fn http_500_once_then_success() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        Reply::status(500, r#"{"error":{"message":"boom","type":"server_error"}}"#),
        message_reply("recovered"),
    ])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "recovered"),
            turn_completed(10, 0, 5, 0),
        ]
    );
    let requests = env.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body, "same request re-sent");
    Ok(())
}

/// HTTP 429 with `Retry-After: 0`: 3 POSTs, then `exceeded retry limit`.
#[test]
fn http_429_exhausts_with_retry_limit_message() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![],
        Reply::status(
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
        )
        .header("retry-after", "0"),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let message = "exceeded retry limit, last status: 429 Too Many Requests";
    assert_eq!(events[events.len() - 2..], fatal(message));
    assert_eq!(env.requests().len(), 3);
    Ok(())
}

/// HTTP 429 `insufficient_quota` is fatal at once.
#[test]
fn http_429_insufficient_quota_is_fatal() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![],
        Reply::status(
            429,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        ),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let mut expected = vec![thread_started(), turn_started()];
    expected.extend(fatal(
        "Quota exceeded. Check your plan and billing details.",
    ));
    assert_eq!(events, expected);
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// HTTP 400 is fatal at once; the message is the response body.
#[test]
fn http_400_is_fatal_with_body_text() -> anyhow::Result<()> {
    let body = r#"{"error":{"message":"Invalid value for 'model'","type":"invalid_request_error","param":"model","code":null}}"#;
    let env = TestEnv::with_fallback(vec![], Reply::status(400, body))?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let mut expected = vec![thread_started(), turn_started()];
    expected.extend(fatal(body));
    assert_eq!(events, expected);
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// HTTP 401 with an API key: 3 POSTs, then `unexpected status 401 Unauthorized: …, url: …`.
#[test]
fn http_401_reports_status_and_url() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![],
        Reply::status(
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#,
        ),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(last["type"], "turn.failed", "{run}");
    let message = last["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("unexpected status 401 Unauthorized: "),
        "{message}"
    );
    assert!(message.contains("Incorrect API key provided"), "{message}");
    assert!(
        message.ends_with(&format!("url: {}/responses", env.server.base_url())),
        "{message}"
    );
    assert_eq!(env.requests().len(), 3);
    Ok(())
}

/// A refused connection fails the turn (after retries) with exit 1.
#[test]
fn connection_refused_fails_the_turn() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![])?;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let closed_url = format!("http://127.0.0.1:{closed_port}/v1");
    env.write_config_raw(
        &env.config_text("", "")
            .replace(&env.server.base_url(), &closed_url),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events[..2], [thread_started(), turn_started()]);
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(last["type"], "turn.failed", "{run}");
    let message = last["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty());
    assert_eq!(events[events.len() - 2], error_event(message));
    Ok(())
}
