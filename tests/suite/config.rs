//! Configuration: `-c` parsing, config.toml loading and errors, profiles, providers
//! and authentication (SPEC §1.5, §3.1, §17, §0.5).

use mock_responses::message_reply;
use pretty_assertions::assert_eq;

use crate::common::*;

/// Run and expect a startup failure: exit 1, empty stdout, no request. Returns stderr.
fn startup_failure(env: &TestEnv, args: &[&str]) -> anyhow::Result<String> {
    let run = env.exec().args(args).run()?;
    anyhow::ensure!(run.code() == Some(1), "{run}");
    anyhow::ensure!(run.stdout.is_empty(), "stdout must stay empty\n{run}");
    anyhow::ensure!(env.requests().is_empty(), "no request expected\n{run}");
    Ok(run.stderr)
}

/// `-c` without `=` is rejected with the documented message.
#[test]
fn override_without_equals_is_rejected() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let stderr = startup_failure(&env, &["--json", "-c", "nodot", "hi"])?;
    assert!(
        stderr.contains("Error parsing -c overrides: Invalid override (missing '='): nodot"),
        "{stderr}"
    );
    Ok(())
}

/// A `-c` value of the wrong variant is a config load error.
#[test]
fn override_with_bad_variant_is_a_load_error() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let stderr = startup_failure(&env, &["--json", "-c", "sandbox_mode=bogus", "hi"])?;
    assert!(stderr.starts_with("Error loading config.toml:"), "{stderr}");
    assert!(stderr.contains("unknown variant"), "{stderr}");
    assert!(stderr.contains("bogus"), "{stderr}");
    Ok(())
}

/// A TOML syntax error in config.toml fails and names the file.
#[test]
fn config_syntax_error_names_the_file() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config_raw("model = \"gpt-5-codex\"\nthis is not toml [\n")?;
    let stderr = startup_failure(&env, &["--json", "hi"])?;
    let path = env.codex_home.join("config.toml");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    Ok(())
}

/// Unknown config keys are ignored by default.
#[test]
fn unknown_config_key_is_ignored() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config("totally_unknown_key = 1", "")?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    Ok(())
}

/// A known key this runner does not honour yields a warning item naming it,
/// and the run goes on.
#[test]
fn unhonoured_key_is_reported() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config("model_max_output_tokens = 1000", "")?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events[1],
        error_item(
            "item_0",
            "config key `model_max_output_tokens` is not supported by this runner and has no effect"
        )
    );
    Ok(())
}

/// `model_context_window` and `model_auto_compact_token_limit` are honoured
/// without a warning: the rollout reports 95 % of the configured window.
#[test]
fn context_window_keys_are_honoured() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config(
        "model_context_window = 10000\nmodel_auto_compact_token_limit = 5000",
        "",
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert!(item_events(&events, "error").is_empty(), "{events:#?}");
    let records = records(&rollouts(&env.codex_home)[0])?;
    let started = event_payloads(&records, "task_started");
    assert_eq!(started[0]["model_context_window"], 9_500);
    let counts = event_payloads(&records, "token_count");
    assert_eq!(counts[0]["info"]["model_context_window"], 9_500);
    Ok(())
}

/// A context window of zero tokens is a configuration error.
#[test]
fn a_zero_context_window_is_rejected() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let stderr = startup_failure(&env, &["--json", "-c", "model_context_window=0", "hi"])?;
    assert!(stderr.contains("`model_context_window`"), "{stderr}");
    Ok(())
}

/// `--strict-config` turns an unknown key into an error naming it.
#[test]
fn strict_config_rejects_unknown_key() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config("totally_unknown_key = 1", "")?;
    let stderr = startup_failure(&env, &["--json", "--strict-config", "hi"])?;
    assert!(stderr.contains("totally_unknown_key"), "{stderr}");
    Ok(())
}

/// `--ignore-user-config` skips config.toml; `-c` overrides still configure the run.
#[test]
fn ignore_user_config_skips_config_file() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config_raw("this is not toml [\n")?;
    let base_url = format!(
        "model_providers.mock.base_url=\"{}\"",
        env.server.base_url()
    );
    let run = env
        .exec()
        .args(["--json", "--ignore-user-config"])
        .args(["-c", "model=gpt-5-codex", "-c", "model_provider=mock"])
        .args(["-c", "model_providers.mock.name=Mock", "-c", &base_url])
        .args(["-c", "model_providers.mock.env_key=CODEX_API_KEY"])
        .args(["-c", "model_providers.mock.wire_api=responses"])
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// A `CODEX_HOME` that does not exist is a startup error naming the variable.
#[test]
fn missing_codex_home_is_an_error() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let missing = env.root.join("does-not-exist");
    let run = env
        .exec()
        .env("CODEX_HOME", &missing)
        .args(["--json", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(run.stderr.contains("CODEX_HOME"), "{run}");
    assert!(env.requests().is_empty());
    Ok(())
}

fn env_key_config(env: &TestEnv, instructions: Option<&str>) -> anyhow::Result<()> {
    let mut replacement = "env_key = \"MY_KEY\"".to_string();
    if let Some(text) = instructions {
        replacement.push_str(&format!("\nenv_key_instructions = \"{text}\""));
    }
    env.write_config_raw(
        &env.config_text("", "")
            .replace("env_key = \"CODEX_API_KEY\"", &replacement),
    )
}

/// An unset provider `env_key` fails the turn after it started, with the instructions.
#[test]
fn missing_env_key_fails_the_turn() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env_key_config(&env, Some("Export MY_KEY first."))?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    let message = "Missing environment variable: `MY_KEY`. Export MY_KEY first.";
    let mut expected = vec![thread_started(), turn_started()];
    expected.extend(fatal(message));
    assert_eq!(events, expected);
    assert!(env.requests().is_empty());
    Ok(())
}

/// Without `env_key_instructions` the message ends after the variable name.
#[test]
fn missing_env_key_without_instructions() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env_key_config(&env, None)?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events.last(),
        Some(&turn_failed("Missing environment variable: `MY_KEY`."))
    );
    assert!(env.requests().is_empty());
    Ok(())
}

/// `wire_api = "chat"` is a clear configuration error.
#[test]
fn chat_wire_api_is_rejected() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config_raw(
        &env.config_text("", "")
            .replace("wire_api = \"responses\"", "wire_api = \"chat\""),
    )?;
    let stderr = startup_failure(&env, &["--json", "hi"])?;
    assert!(stderr.contains("wire_api"), "{stderr}");
    assert!(stderr.contains("chat"), "{stderr}");
    Ok(())
}

/// Config with only the built-in `openai` provider, pointed at the mock.
fn builtin_provider_config(env: &TestEnv) -> anyhow::Result<()> {
    env.write_config_raw(&format!(
        "model = \"gpt-5-codex\"\nopenai_base_url = \"{}\"\n",
        env.server.base_url()
    ))
}

/// The built-in provider honours `openai_base_url`, `CODEX_API_KEY` and sends `version`.
#[test]
fn builtin_provider_uses_openai_base_url() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    builtin_provider_config(&env)?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let req = &env.requests()[0];
    assert_eq!(req.path, "/v1/responses");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(req.header("version"), Some(VERSION));
    Ok(())
}

/// The built-in provider also honours the `OPENAI_BASE_URL` environment variable.
#[test]
fn builtin_provider_uses_openai_base_url_env() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config_raw("model = \"gpt-5-codex\"\n")?;
    let run = env
        .exec()
        .env("OPENAI_BASE_URL", env.server.base_url())
        .args(["--json", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// Without `CODEX_API_KEY`, the API key from auth.json is used (before `OPENAI_API_KEY`).
#[test]
fn auth_json_api_key_is_used() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    builtin_provider_config(&env)?;
    std::fs::write(
        env.codex_home.join("auth.json"),
        r#"{"OPENAI_API_KEY":"sk-file"}"#,
    )?;
    let run = env
        .exec()
        .env_remove("CODEX_API_KEY")
        .env("OPENAI_API_KEY", "sk-env")
        .args(["--json", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(
        env.requests()[0].header("authorization"),
        Some("Bearer sk-file")
    );
    Ok(())
}

/// `CODEX_API_KEY` beats auth.json.
#[test]
fn codex_api_key_beats_auth_json() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    builtin_provider_config(&env)?;
    std::fs::write(
        env.codex_home.join("auth.json"),
        r#"{"OPENAI_API_KEY":"sk-file"}"#,
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(
        env.requests()[0].header("authorization"),
        Some("Bearer sk-test")
    );
    Ok(())
}

/// With neither `CODEX_API_KEY` nor auth.json, `OPENAI_API_KEY` is used (our decision).
#[test]
fn openai_api_key_env_is_the_last_resort() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    builtin_provider_config(&env)?;
    let run = env
        .exec()
        .env_remove("CODEX_API_KEY")
        .env("OPENAI_API_KEY", "sk-env")
        .args(["--json", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(
        env.requests()[0].header("authorization"),
        Some("Bearer sk-env")
    );
    Ok(())
}

/// exec forces approval `never` whatever `approval_policy` says.
#[test]
fn approval_policy_override_still_runs_with_never() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .args([
            "--color",
            "never",
            "-c",
            "approval_policy=\"on-request\"",
            "hi",
        ])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(run.stderr.lines().any(|l| l == "approval: never"), "{run}");
    Ok(())
}

/// An unquoted `-c` value that is not TOML is taken as a string; later `-c` wins.
#[test]
fn override_values_fall_back_to_strings_and_last_wins() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .args([
            "--json",
            "-c",
            "model=gpt-5.1-codex",
            "-c",
            "model=gpt-5.2-codex",
            "hi",
        ])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(env.requests()[0].json()["model"], "gpt-5.2-codex");
    Ok(())
}

/// `-p NAME` layers `$CODEX_HOME/NAME.config.toml` over config.toml.
#[test]
fn profile_overlay_file_is_layered() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    std::fs::write(
        env.codex_home.join("fast.config.toml"),
        "model = \"gpt-5.1-codex\"\n",
    )?;
    let run = env.exec().args(["--json", "-p", "fast", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(env.requests()[0].json()["model"], "gpt-5.1-codex");
    Ok(())
}
