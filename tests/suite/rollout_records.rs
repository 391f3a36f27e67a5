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
            "individual_limit": null,
            "spend_control_reached": null,
            "plan_type": null,
            "rate_limit_reached_type": null,
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
        // The catalogue's window for the configured model.
        assert!(
            count["info"]["model_context_window"]
                .as_u64()
                .is_some_and(|w| w > 0),
            "{count}"
        );
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

/// A reply in which the model makes one freeform `apply_patch` call.
fn patch_reply(resp_id: &str, call_id: &str, patch: &str) -> Reply {
    Reply::sse(vec![
        ev::created(resp_id),
        ev::custom_tool_call(call_id, "apply_patch", patch),
        ev::completed(resp_id),
    ])
}

/// A command, a patch and an MCP call each leave their end event in the
/// rollout, keyed by call id, with the outcome (and nothing on stdout changes).
#[test]
fn tool_end_events_are_recorded() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_cmd", "exec_command", json!({"cmd": "echo hi; exit 3"}))],
        ),
        patch_reply(
            "resp_2",
            "call_patch",
            "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** Update File: README.md\n@@\n-old\n+new\n*** End Patch\n",
        ),
        calls_reply(
            "resp_3",
            &[("call_mcp", "mcp__echo__echo", json!({"text": "ping"}))],
        ),
        done_reply("resp_4"),
    ])?;
    env.write_file("README.md", "old\n")?;
    env.write_config(
        "",
        &format!(
            "\n[mcp_servers.echo]\ncommand = {:?}\n",
            env!("CARGO_BIN_EXE_mcp-test-server")
        ),
    )?;
    let run = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let records = only_rollout(&env)?;

    let ends = event_payloads(&records, "exec_command_end");
    assert_eq!(ends.len(), 1, "{ends:?}");
    let end = ends[0];
    assert_eq!(end["call_id"], "call_cmd");
    assert_eq!(
        end["command"],
        json!(["/bin/bash", "-lc", "echo hi; exit 3"])
    );
    assert_eq!(end["cwd"], json!(env.work));
    assert_eq!(end["exit_code"], 3);
    assert_eq!(end["aggregated_output"], "hi\n");
    assert_eq!(end["status"], "failed");
    assert!(end["duration"]["secs"].is_u64(), "{end}");
    assert!(end["duration"]["nanos"].is_u64(), "{end}");

    let patches = event_payloads(&records, "patch_apply_end");
    assert_eq!(patches.len(), 1, "{patches:?}");
    let patch = patches[0];
    assert_eq!(patch["call_id"], "call_patch");
    assert_eq!(patch["success"], true);
    assert_eq!(patch["status"], "completed");
    assert!(
        patch["stdout"]
            .as_str()
            .unwrap_or_default()
            .contains("A hello.txt"),
        "{patch}"
    );
    let readme = env.work.join("README.md").display().to_string();
    let hello = env.work.join("hello.txt").display().to_string();
    assert_eq!(
        patch["changes"],
        json!({
            hello: {"type": "add"},
            readme: {"type": "update", "move_path": null},
        })
    );

    let calls = event_payloads(&records, "mcp_tool_call_end");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = calls[0];
    assert_eq!(call["call_id"], "call_mcp");
    assert_eq!(
        call["invocation"],
        json!({"server": "echo", "tool": "echo", "arguments": {"text": "ping"}})
    );
    assert_eq!(
        call["result"]["Ok"]["content"],
        json!([{"type": "text", "text": "ping"}])
    );
    assert!(call["duration"]["secs"].is_u64(), "{call}");

    // Each end event names the turn it belongs to.
    let started = event_payloads(&records, "task_started");
    assert_eq!(started.len(), 1, "{started:?}");
    let turn_id = &started[0]["turn_id"];
    assert!(turn_id.is_string(), "{turn_id}");
    for end in [end, patch, call] {
        assert_eq!(&end["turn_id"], turn_id, "{end}");
    }
    assert_eq!(end["parsed_cmd"], json!([]));

    // Each end has its begin, earlier, with the same call id and turn.
    for (begin_kind, end_kind, call_id) in [
        ("exec_command_begin", "exec_command_end", "call_cmd"),
        ("patch_apply_begin", "patch_apply_end", "call_patch"),
        ("mcp_tool_call_begin", "mcp_tool_call_end", "call_mcp"),
    ] {
        let begins = event_payloads(&records, begin_kind);
        assert_eq!(begins.len(), 1, "{begins:?}");
        assert_eq!(begins[0]["call_id"], call_id);
        assert_eq!(&begins[0]["turn_id"], turn_id);
        let at = |kind: &str| records.iter().position(|r| r["payload"]["type"] == kind);
        assert!(
            at(begin_kind) < at(end_kind),
            "{begin_kind} after {end_kind}"
        );
    }
    let begins = event_payloads(&records, "exec_command_begin");
    assert_eq!(begins[0]["command"], end["command"]);
    assert_eq!(begins[0]["cwd"], end["cwd"]);
    let begins = event_payloads(&records, "patch_apply_begin");
    assert_eq!(begins[0]["changes"], patch["changes"]);
    assert_eq!(begins[0]["auto_approved"], true);
    let begins = event_payloads(&records, "mcp_tool_call_begin");
    assert_eq!(begins[0]["invocation"], call["invocation"]);

    // The end events follow their calls' output items' calls, in call order.
    let position = |kind: &str| {
        records
            .iter()
            .position(|r| r["payload"]["type"] == kind)
            .unwrap_or(usize::MAX)
    };
    assert!(position("exec_command_end") < position("patch_apply_end"));
    assert!(position("patch_apply_end") < position("mcp_tool_call_end"));
    Ok(())
}

/// Command output kept in `exec_command_end` is bounded (head and tail kept).
#[test]
fn exec_command_end_output_is_bounded() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[(
                "call_big",
                "exec_command",
                json!({"cmd": "echo first; head -c 300000 /dev/zero | tr '\\0' x; echo; echo last", "max_output_tokens": 100}),
            )],
        ),
        done_reply("resp_2"),
    ])?;
    let run = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let records = only_rollout(&env)?;
    let ends = event_payloads(&records, "exec_command_end");
    assert_eq!(ends.len(), 1, "{ends:?}");
    let output = ends[0]["aggregated_output"].as_str().unwrap_or_default();
    assert!(output.len() < 12_000, "{} bytes", output.len());
    assert!(output.starts_with("first\n"), "{output:.40}");
    assert!(output.ends_with("last\n"), "{output:.40}");
    assert_eq!(ends[0]["exit_code"], 0);
    Ok(())
}

/// Secrets in the environment never reach the rollout: the API key variables
/// (`CODEX_API_KEY` is the credential here, `OPENAI_API_KEY` just set) and a
/// `*_TOKEN` variable that a command tries to echo, nor the credential when the
/// model repeats it.
#[test]
fn environment_secrets_are_never_recorded() -> anyhow::Result<()> {
    let codex_key = "sk-codex-secret-0123456789abcdef";
    let openai_key = "sk-openai-secret-0123456789abcdef";
    let token = "tok-service-secret-0123456789";
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[(
                "call_echo",
                "exec_command",
                json!({"cmd": "echo \"k=$OPENAI_API_KEY c=$CODEX_API_KEY t=$MY_SERVICE_TOKEN end\""}),
            )],
        ),
        message_reply(&format!("your key is {codex_key}")),
    ])?;
    let run = env
        .exec()
        .env("CODEX_API_KEY", codex_key)
        .env("OPENAI_API_KEY", openai_key)
        .env("MY_SERVICE_TOKEN", token)
        .args(["--json", "-s", "danger-full-access", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let files = rollouts(&env.codex_home);
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0])?;
    for secret in [codex_key, openai_key, token] {
        assert!(!text.contains(secret), "{secret} recorded: {text}");
    }
    let records = records(&files[0])?;
    let ends = event_payloads(&records, "exec_command_end");
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0]["aggregated_output"], "k= c= t= end\n");
    let messages = event_payloads(&records, "agent_message");
    assert_eq!(messages[0]["message"], "your key is [REDACTED]");
    Ok(())
}
