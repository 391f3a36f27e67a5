//! What a rollout records besides the conversation: rate-limit snapshots on
//! `token_count` (SPEC §22.3), tool end events, and never a secret (SPEC §16.1).

use mock_responses::{ev, message_reply, Reply};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// The records of the only rollout of `env`.
fn only_rollout(env: &TestEnv) -> anyhow::Result<Vec<Value>> {
    let files = rollouts(&env.codex_home);
    anyhow::ensure!(files.len() == 1, "expected one rollout, got {files:?}");
    records(&files[0])
}

/// The rate-limit headers of a successful response become snapshots on the
/// rollout's `token_count` events (one per limit); stdout does not change.
#[test]
fn rate_limit_headers_are_recorded_on_token_count() -> anyhow::Result<()> {
    let reply = Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", "ok"),
        ev::completed_with_usage("resp_1", 10, 0, 5, 0),
    ])
    .header("x-codex-primary-used-percent", "12.5")
    .header("x-codex-primary-window-minutes", "300")
    .header("x-codex-primary-reset-at", "1790369264")
    .header("x-codex-secondary-used-percent", "64")
    .header("x-codex-secondary-window-minutes", "10080")
    .header("x-codex-secondary-reset-at", "not-a-time")
    .header("x-codex-credits-has-credits", "true")
    .header("x-codex-credits-unlimited", "false")
    .header("x-codex-credits-balance", "42")
    .header("x-codex-other-primary-used-percent", "80")
    .header("x-codex-other-primary-window-minutes", "1440");
    let env = TestEnv::new(vec![reply])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        [
            thread_started(),
            turn_started(),
            agent_message("item_0", "ok"),
            turn_completed(10, 0, 5, 0),
        ]
    );
    assert!(!run.stdout.contains("used_percent"), "{run}");

    let records = only_rollout(&env)?;
    let counts = event_payloads(&records, "token_count");
    assert_eq!(counts.len(), 2, "{counts:?}");
    let credits = json!({"has_credits": true, "unlimited": false, "balance": "42"});
    assert_eq!(
        counts[0]["rate_limits"],
        json!({
            "limit_id": "codex",
            "limit_name": null,
            "primary": {"used_percent": 12.5, "window_minutes": 300, "resets_at": 1790369264},
            "secondary": {"used_percent": 64.0, "window_minutes": 10080, "resets_at": null},
            "credits": credits,
            "plan_type": null,
        })
    );
    assert_eq!(counts[1]["rate_limits"]["limit_id"], "codex_other");
    assert_eq!(
        counts[1]["rate_limits"]["primary"],
        json!({"used_percent": 80.0, "window_minutes": 1440, "resets_at": null})
    );
    for count in &counts {
        assert_eq!(count["info"]["total_token_usage"]["input_tokens"], 10);
        assert_eq!(count["info"]["last_token_usage"]["output_tokens"], 5);
    }
    Ok(())
}

/// Without rate-limit headers, `token_count.rate_limits` is null.
#[test]
fn token_count_without_rate_limit_headers_is_null() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let records = only_rollout(&env)?;
    let counts = event_payloads(&records, "token_count");
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts[0]["rate_limits"], Value::Null);
    Ok(())
}
