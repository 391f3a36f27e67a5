//! The model catalogue as the request and the rollout show it: reasoning for
//! models outside the catalogue (SPEC §7.3 `reasoning`), settings a model
//! cannot take, and the 0.171 entries `gpt-6.2-sol` (the default model) and
//! `gpt-6.2-astra` (SPEC §22.5).

use mock_responses::message_reply;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// Run `codex exec --json <args> hi` against one message reply; returns the
/// env, the events and the request body.
fn one_body(args: &[&str]) -> anyhow::Result<(TestEnv, Vec<Value>, Value)> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env.exec().arg("--json").args(args).arg("hi").run()?;
    anyhow::ensure!(run.code() == Some(0), "{run}");
    let (_, events) = run.events()?;
    let requests = env.requests();
    anyhow::ensure!(requests.len() == 1, "{} requests", requests.len());
    let body = requests[0].json();
    Ok((env, events, body))
}

/// The `model_context_window` of every `task_started` and `token_count` record
/// of the run's one rollout.
fn recorded_windows(env: &TestEnv) -> anyhow::Result<Vec<Value>> {
    let files = rollouts(&env.codex_home);
    anyhow::ensure!(files.len() == 1, "expected one rollout, got {files:?}");
    let records = records(&files[0])?;
    let mut windows: Vec<Value> = event_payloads(&records, "task_started")
        .into_iter()
        .map(|p| p["model_context_window"].clone())
        .collect();
    windows.extend(
        event_payloads(&records, "token_count")
            .into_iter()
            .map(|p| p["info"]["model_context_window"].clone()),
    );
    Ok(windows)
}

/// The messages of the warning items among `events`.
fn warnings(events: &[Value]) -> Vec<String> {
    item_events(events, "error")
        .iter()
        .filter_map(|e| e["item"]["message"].as_str().map(str::to_string))
        .collect()
}

/// A model outside the catalogue sends the effort and summary the user set,
/// as 0.169 does (`-m other-model -c …effort="high" -c …summary="detailed"`).
#[test]
fn uncatalogued_model_sends_the_configured_reasoning() -> anyhow::Result<()> {
    let (_env, _, body) = one_body(&[
        "-m",
        "other-model",
        "-c",
        "model_reasoning_effort=\"high\"",
        "-c",
        "model_reasoning_summary=\"detailed\"",
    ])?;
    assert_eq!(body["model"], "other-model");
    assert_eq!(
        body["reasoning"],
        json!({"effort": "high", "summary": "detailed"})
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    Ok(())
}

/// A custom provider's model from the profile gets the profile's reasoning
/// settings too.
#[test]
fn uncatalogued_model_takes_reasoning_from_a_profile() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config(
        "profile = \"local\"",
        "\n[profiles.local]\nmodel = \"local-coder\"\nmodel_reasoning_effort = \"low\"\n\
         model_reasoning_summary = \"none\"",
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let body = env.requests()[0].json();
    assert_eq!(body["model"], "local-coder");
    assert_eq!(body["reasoning"], json!({"effort": "low"}));
    Ok(())
}

/// A catalogued model that does not reason sends no `reasoning`, and a
/// reasoning setting the user made is named in a warning instead of being
/// dropped silently.
#[test]
fn non_reasoning_model_warns_about_reasoning_settings() -> anyhow::Result<()> {
    let (_env, events, body) =
        one_body(&["-m", "gpt-4.1", "-c", "model_reasoning_effort=\"high\""])?;
    assert_eq!(body.get("reasoning"), None, "{body}");
    assert_eq!(body["include"], json!([]));
    assert_eq!(
        warnings(&events),
        vec![
            "`model_reasoning_effort` has no effect: model `gpt-4.1` does not support reasoning \
             (`model_supports_reasoning_summaries = true` sends it anyway)"
                .to_string()
        ]
    );
    let (_env, events, _) = one_body(&["-m", "gpt-4.1"])?;
    assert_eq!(warnings(&events), Vec::<String>::new());
    Ok(())
}

/// `gpt-6.2-sol` is catalogued as 0.171 shows it: no metadata warning, effort
/// `low` and no summary by default, verbosity `low`, unified exec with the
/// freeform `apply_patch`, and a 500,000-token window recorded as 475,000.
#[test]
fn gpt_6_2_sol_has_the_observed_properties() -> anyhow::Result<()> {
    let (env, events, body) = one_body(&["-m", "gpt-6.2-sol"])?;
    assert_eq!(warnings(&events), Vec::<String>::new());
    assert_eq!(body["reasoning"], json!({"effort": "low"}));
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(body["text"], json!({"verbosity": "low"}));
    assert_eq!(body["parallel_tool_calls"], false);
    let tools = advertised_tools(&body);
    for name in ["exec_command", "write_stdin", "apply_patch", "view_image"] {
        assert!(tools.contains(&name.to_string()), "{name}: {tools:?}");
    }
    let patch = body["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "apply_patch").cloned())
        .unwrap_or_default();
    assert_eq!(patch["type"], "custom");
    let windows = recorded_windows(&env)?;
    assert!(!windows.is_empty());
    assert!(windows.iter().all(|w| *w == json!(475_000)), "{windows:?}");
    Ok(())
}

/// `gpt-6.2-astra`: the same defaults, a 272,000-token window recorded as 258,400.
#[test]
fn gpt_6_2_astra_has_the_observed_properties() -> anyhow::Result<()> {
    let (env, events, body) = one_body(&["-m", "gpt-6.2-astra"])?;
    assert_eq!(warnings(&events), Vec::<String>::new());
    assert_eq!(body["reasoning"], json!({"effort": "low"}));
    assert_eq!(body["text"], json!({"verbosity": "low"}));
    let tools = advertised_tools(&body);
    assert!(tools.contains(&"apply_patch".to_string()), "{tools:?}");
    assert!(tools.contains(&"exec_command".to_string()), "{tools:?}");
    let windows = recorded_windows(&env)?;
    assert!(!windows.is_empty());
    assert!(windows.iter().all(|w| *w == json!(258_400)), "{windows:?}");
    Ok(())
}

/// The new models take the user's summary and the 0.171 efforts `max` and
/// `ultra`.
#[test]
fn gpt_6_2_models_take_configured_reasoning() -> anyhow::Result<()> {
    let (_env, _, body) = one_body(&[
        "-m",
        "gpt-6.2-sol",
        "-c",
        "model_reasoning_summary=\"detailed\"",
        "-c",
        "model_reasoning_effort=\"max\"",
    ])?;
    assert_eq!(
        body["reasoning"],
        json!({"effort": "max", "summary": "detailed"})
    );
    let (_env, _, body) = one_body(&[
        "-m",
        "gpt-6.2-astra",
        "-c",
        "model_reasoning_effort=\"ultra\"",
    ])?;
    assert_eq!(body["reasoning"], json!({"effort": "ultra"}));
    Ok(())
}

/// Without a model in flags or config the request names `gpt-6.2-sol`, the
/// default of 0.171.
#[test]
fn default_model_is_gpt_6_2_sol() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let text = env.config_text("", "");
    let without_model: String = text
        .lines()
        .filter(|line| !line.starts_with("model ="))
        .map(|line| format!("{line}\n"))
        .collect();
    env.write_config_raw(&without_model)?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(warnings(&events), Vec::<String>::new());
    assert_eq!(env.requests()[0].json()["model"], "gpt-6.2-sol");
    Ok(())
}
