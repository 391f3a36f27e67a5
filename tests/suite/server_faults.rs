//! A model server that misbehaves: no response headers, a giant or undecodable
//! SSE event, a `response.completed` without its response, and 403 / 404
//! answers (SPEC §7.6–7.8; issue 11 items 5, 7 and 8).

use mock_responses::{ev, message_reply, Reply};
use pretty_assertions::assert_eq;

use crate::common::*;

/// Text of the transport error when no response headers arrive in time.
const NO_HEADERS: &str = "idle timeout waiting for the response headers";

/// A short idle timeout for the mock provider.
const SHORT_IDLE: &str = "model_providers.mock.stream_idle_timeout_ms=300";

/// A server that never sends response headers is retried like a transport
/// error (both retry levels), and the run goes on once an answer comes.
#[test]
fn missing_response_headers_time_out_and_are_retried() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        Reply::no_headers(),
        Reply::no_headers(),
        message_reply("finally"),
    ])?;
    let run = env.exec().args(["--json", "-c", SHORT_IDLE, "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            reconnecting(1, NO_HEADERS),
            agent_message("item_0", "finally"),
            turn_completed(10, 0, 5, 0),
        ]
    );
    assert_eq!(env.requests().len(), 3);
    Ok(())
}

/// A server that never answers at all fails the turn once every retry is used
/// (2 request attempts × 3 stream attempts), instead of hanging.
#[test]
fn a_server_that_never_answers_fails_the_turn() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], Reply::no_headers())?;
    let run = env.exec().args(["--json", "-c", SHORT_IDLE, "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events, retried_twice_then_fatal(NO_HEADERS));
    assert_eq!(env.requests().len(), 6);
    Ok(())
}

/// One SSE event larger than 64 MiB is a stream error (the process does not
/// grow with it); the retry then succeeds.
#[test]
fn an_oversized_sse_event_is_a_stream_error() -> anyhow::Result<()> {
    let mut body = String::from("data: ");
    body.push_str(&"x".repeat((64 << 20) + 1));
    body.push_str("\n\n");
    let env = TestEnv::new(vec![Reply::raw_sse(body), message_reply("small")])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            reconnecting(
                1,
                "stream disconnected before completion: SSE event larger than 64 MiB"
            ),
            agent_message("item_0", "small"),
            turn_completed(10, 0, 5, 0),
        ]
    );
    Ok(())
}

/// An SSE event whose data is not UTF-8 (here a character cut in half) is a
/// stream error, never text with replacement characters.
#[test]
fn invalid_utf8_in_an_sse_event_is_a_stream_error() -> anyhow::Result<()> {
    let item = ev::message("msg_1", "\u{20ac}").to_string();
    let euro = "\u{20ac}".as_bytes();
    let cut = item.replace('\u{20ac}', "\u{1}");
    let mut body = b"data: ".to_vec();
    for (n, part) in cut.split('\u{1}').enumerate() {
        if n > 0 {
            body.extend_from_slice(&euro[..2]);
        }
        body.extend_from_slice(part.as_bytes());
    }
    body.extend_from_slice(b"\n\n");
    let env = TestEnv::new(vec![
        Reply::raw_sse_bytes(body),
        message_reply("\u{20ac} intact"),
    ])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            reconnecting(
                1,
                "stream disconnected before completion: SSE event data is not valid UTF-8"
            ),
            agent_message("item_0", "\u{20ac} intact"),
            turn_completed(10, 0, 5, 0),
        ]
    );
    assert!(!run.stdout.contains('\u{fffd}'), "{run}");
    Ok(())
}

/// `response.completed` with `"response": null` completes nothing: the stream
/// counts as closed before completion (retried, then fatal).
#[test]
fn completed_with_a_null_response_is_a_stream_error() -> anyhow::Result<()> {
    let reply = Reply::sse(vec![
        ev::created("resp_1"),
        serde_json::json!({"type": "response.completed", "response": null}),
    ]);
    let env = TestEnv::with_fallback(vec![], reply)?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        retried_twice_then_fatal(
            "stream disconnected before completion: stream closed before response.completed"
        )
    );
    Ok(())
}

/// 403 and 404 are fatal at once and show the error's message with the status
/// and URL, as the reference does, not the raw JSON body.
#[test]
fn forbidden_and_not_found_show_the_error_message() -> anyhow::Result<()> {
    for (code, reason) in [(403, "Forbidden"), (404, "Not Found")] {
        let body = format!(
            r#"{{"error":{{"message":"no access to model x ({code})","type":"invalid_request_error","code":null}}}}"#
        );
        let env = TestEnv::with_fallback(vec![], Reply::status(code, body))?;
        let run = env.exec().args(["--json", "hi"]).run()?;
        assert_eq!(run.code(), Some(1), "{run}");
        let (_, events) = run.events()?;
        let message = format!(
            "unexpected status {code} {reason}: no access to model x ({code}), url: {}/responses",
            env.server.base_url()
        );
        let mut expected = vec![thread_started(), turn_started()];
        expected.extend(fatal(&message));
        assert_eq!(events, expected);
        assert_eq!(env.requests().len(), 1);
    }
    Ok(())
}

/// A 403 whose body is not JSON shows the body text.
#[test]
fn forbidden_with_a_plain_body_shows_the_text() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], Reply::status(403, "blocked by proxy\n"))?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let message = format!(
        "unexpected status 403 Forbidden: blocked by proxy, url: {}/responses",
        env.server.base_url()
    );
    assert_eq!(events.last(), Some(&turn_failed(&message)), "{run}");
    Ok(())
}
