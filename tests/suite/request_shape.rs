//! What the runner sends: endpoint, headers, body fields and the initial context
//! (SPEC §7.1–7.5, §19, §22.5).

use mock_responses::{message_reply, RecordedRequest};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// Run `codex exec --json <args> hi` against one message reply; return the env,
/// the thread id and the single recorded request.
fn one_request(args: &[&str]) -> anyhow::Result<(TestEnv, String, RecordedRequest)> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env.exec().arg("--json").args(args).arg("hi").run()?;
    anyhow::ensure!(run.code() == Some(0), "{run}");
    let (thread_id, _) = run.events()?;
    let mut requests = env.requests();
    anyhow::ensure!(
        requests.len() == 1,
        "expected one request, got {}",
        requests.len()
    );
    let request = requests.remove(0);
    Ok((env, thread_id, request))
}

/// The request goes to `POST /v1/responses` with auth, SSE, originator, user agent
/// and the thread id in every session header.
#[test]
fn request_headers_identify_client_and_thread() -> anyhow::Result<()> {
    let (_env, thread_id, req) = one_request(&[])?;
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/responses");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(req.header("accept"), Some("text/event-stream"));
    let content_type = req.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(req.header("originator"), Some("codex_exec"));
    let ua = req.header("user-agent").unwrap_or_default();
    assert!(ua.starts_with("codex_exec/0.169.0 ("), "user-agent: {ua}");
    assert!(ua.ends_with("(codex_exec; 0.169.0)"), "user-agent: {ua}");
    for name in ["session_id", "conversation_id", "session-id", "thread-id"] {
        assert_eq!(req.header(name), Some(thread_id.as_str()), "header {name}");
    }
    assert_eq!(
        req.header("version"),
        None,
        "`version` is only sent for the built-in openai provider"
    );
    Ok(())
}

/// The body carries model, instructions and the fixed Responses fields for gpt-5-codex.
#[test]
fn request_body_has_documented_fields() -> anyhow::Result<()> {
    let (_env, thread_id, req) = one_request(&[])?;
    let body = req.json();
    assert_eq!(body["model"], "gpt-5-codex");
    let instructions = body["instructions"].as_str().unwrap_or_default();
    assert!(
        !instructions.trim().is_empty(),
        "instructions: {:?}",
        body["instructions"]
    );
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["store"], false);
    assert_eq!(body["stream"], true);
    assert_eq!(body["parallel_tool_calls"], false);
    assert_eq!(
        body["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(body["prompt_cache_key"], thread_id.as_str());
    assert!(
        body.get("previous_response_id").is_none(),
        "stateless requests"
    );
    Ok(())
}

/// The input is: permissions (developer), environment context (user), prompt (user).
#[test]
fn input_starts_with_permissions_and_environment_context() -> anyhow::Result<()> {
    let (env, _, req) = one_request(&[])?;
    let input = req.input();
    assert_eq!(input.len(), 3, "input: {input:#?}");

    assert_eq!(message_role(&input[0]), Some("developer"));
    let permissions = message_text(&input[0]).unwrap_or_default();
    assert!(
        permissions.starts_with("<permissions instructions>")
            && permissions.ends_with("</permissions instructions>"),
        "{permissions}"
    );

    assert_eq!(message_role(&input[1]), Some("user"));
    let context = message_text(&input[1]).unwrap_or_default();
    assert!(
        context.starts_with("<environment_context>\n")
            && context.ends_with("\n</environment_context>"),
        "{context}"
    );
    for line in [
        format!("  <cwd>{}</cwd>", env.work.display()),
        "  <approval_policy>never</approval_policy>".to_string(),
        "  <sandbox_mode>read-only</sandbox_mode>".to_string(),
        "  <network_access>restricted</network_access>".to_string(),
    ] {
        assert!(
            context.lines().any(|l| l == line),
            "missing {line:?} in\n{context}"
        );
    }
    assert!(!context.contains("<writable_roots>"), "{context}");

    assert_eq!(input[2], user_input("hi"));
    Ok(())
}

/// `CODEX_INTERNAL_ORIGINATOR_OVERRIDE` replaces the originator header and user-agent prefix.
#[test]
fn originator_override_replaces_originator() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .env("CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "codex_sdk_ts")
        .args(["--json", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let req = &env.requests()[0];
    assert_eq!(req.header("originator"), Some("codex_sdk_ts"));
    let ua = req.header("user-agent").unwrap_or_default();
    assert!(ua.starts_with("codex_sdk_ts/0.169.0 ("), "user-agent: {ua}");
    Ok(())
}

/// Global and project AGENTS.md form one user message before the environment context.
#[test]
fn agents_md_global_and_project_are_combined() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    std::fs::write(env.codex_home.join("AGENTS.md"), "global rules")?;
    env.write_file("AGENTS.md", "project rules")?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let input = env.requests()[0].input();
    assert_eq!(input.len(), 4, "input: {input:#?}");
    assert_eq!(message_role(&input[0]), Some("developer"));
    assert_eq!(
        input[1],
        user_input(&format!(
            "# AGENTS.md instructions for {}\n\n<INSTRUCTIONS>\nglobal rules\n\n--- project-doc ---\n\nproject rules\n</INSTRUCTIONS>",
            env.work.display()
        ))
    );
    assert!(message_text(&input[2])
        .unwrap_or_default()
        .starts_with("<environment_context>"));
    assert_eq!(input[3], user_input("hi"));
    Ok(())
}

/// Project docs are collected root→cwd; an override file wins in its directory.
#[test]
fn nested_agents_md_follow_root_to_cwd_order() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    std::fs::write(env.codex_home.join("AGENTS.md"), "global rules")?;
    env.write_file("AGENTS.md", "root rules\n")?;
    env.write_file("sub/AGENTS.md", "plain sub\n")?;
    env.write_file("sub/AGENTS.override.md", "override sub\n")?;
    std::fs::create_dir_all(env.work.join("sub/deep"))?;
    let cwd = env.work.join("sub/deep");
    let run = env
        .exec()
        .arg("-C")
        .arg(&cwd)
        .args(["--json", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let users = texts_with_role(&env.requests()[0], "user");
    assert_eq!(
        users[0],
        format!(
            "# AGENTS.md instructions for {}\n\n<INSTRUCTIONS>\nglobal rules\n\n--- project-doc ---\n\nroot rules\n\n\noverride sub\n\n</INSTRUCTIONS>",
            cwd.display()
        )
    );
    Ok(())
}

/// Provider `http_headers`, `env_http_headers` and `query_params` reach the request.
#[test]
fn provider_headers_and_query_params_are_sent() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config(
        "",
        r#"query_params = { "api-version" = "2025-04-01" }
http_headers = { "X-Static" = "static-value" }
env_http_headers = { "X-From-Env" = "MY_HEADER_VALUE", "X-Unset" = "UNSET_HEADER_VALUE" }"#,
    )?;
    let run = env
        .exec()
        .env("MY_HEADER_VALUE", "from-env")
        .args(["--json", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let req = &env.requests()[0];
    assert_eq!(req.path, "/v1/responses?api-version=2025-04-01");
    assert_eq!(req.header("x-static"), Some("static-value"));
    assert_eq!(req.header("x-from-env"), Some("from-env"));
    assert_eq!(req.header("x-unset"), None);
    Ok(())
}

/// `-m` changes the model sent.
#[test]
fn model_flag_changes_model() -> anyhow::Result<()> {
    let (_env, _, req) = one_request(&["-m", "gpt-5.1-codex"])?;
    assert_eq!(req.json()["model"], "gpt-5.1-codex");
    Ok(())
}

/// An unknown model gets a metadata warning item before `turn.started` and, as
/// in 0.169, is taken for reasoning-capable: `reasoning` carries the default
/// summary and no effort (SPEC §7.3).
#[test]
fn unknown_model_warns_and_sends_default_reasoning() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .args(["--json", "-m", "llama-local", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            error_item(
                "item_0",
                "Model metadata for `llama-local` not found. Defaulting to fallback metadata; this can degrade performance and cause issues."
            ),
            turn_started(),
            agent_message("item_1", "ok"),
            turn_completed(10, 0, 5, 0),
        ]
    );
    let body = env.requests()[0].json();
    assert_eq!(body["model"], "llama-local");
    assert_eq!(
        body["reasoning"],
        json!({"summary": "auto"}),
        "body: {body}"
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    Ok(())
}

/// `-c model_reasoning_effort=high` sets `reasoning.effort`.
#[test]
fn reasoning_effort_override_is_sent() -> anyhow::Result<()> {
    let (_env, _, req) = one_request(&["-c", "model_reasoning_effort=high"])?;
    assert_eq!(
        req.json()["reasoning"],
        json!({"effort": "high", "summary": "auto"})
    );
    Ok(())
}

/// `-c model_reasoning_summary=detailed` sets `reasoning.summary`.
#[test]
fn reasoning_summary_override_is_sent() -> anyhow::Result<()> {
    let (_env, _, req) = one_request(&["-c", "model_reasoning_summary=detailed"])?;
    assert_eq!(
        req.json()["reasoning"],
        json!({"effort": "medium", "summary": "detailed"})
    );
    Ok(())
}

fn profile_env() -> anyhow::Result<TestEnv> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config("", "\n[profiles.fast]\nmodel = \"gpt-5.1-codex\"")?;
    Ok(env)
}

fn first_body(env: &TestEnv, args: &[&str]) -> anyhow::Result<Value> {
    let run = env.exec().arg("--json").args(args).arg("hi").run()?;
    anyhow::ensure!(run.code() == Some(0), "{run}");
    Ok(env.requests()[0].json())
}

/// `-p fast` selects `[profiles.fast]`, whose model beats the top-level one.
#[test]
fn profile_selects_its_model() -> anyhow::Result<()> {
    let env = profile_env()?;
    assert_eq!(first_body(&env, &["-p", "fast"])?["model"], "gpt-5.1-codex");
    Ok(())
}

/// A CLI `-m` beats the profile's model.
#[test]
fn model_flag_beats_profile() -> anyhow::Result<()> {
    let env = profile_env()?;
    assert_eq!(
        first_body(&env, &["-p", "fast", "-m", "gpt-5.2-codex"])?["model"],
        "gpt-5.2-codex"
    );
    Ok(())
}
