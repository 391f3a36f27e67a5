//! The command-line surface: clap errors, versions, aliases, global flags,
//! compatibility flags and not-yet-supported features (SPEC §1.1–1.4, §0.5).

use mock_responses::message_reply;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// Run and expect clap's usage error (exit 2) before any request; returns stderr.
fn usage_error(env: &TestEnv, args: &[&str]) -> anyhow::Result<String> {
    let run = env.exec().args(args).run()?;
    anyhow::ensure!(run.code() == Some(2), "{run}");
    anyhow::ensure!(run.stdout.is_empty(), "{run}");
    anyhow::ensure!(env.requests().is_empty(), "{run}");
    Ok(run.stderr)
}

/// An unknown flag is a clap usage error with exit code 2.
#[test]
fn unknown_flag_is_a_usage_error() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let stderr = usage_error(&env, &["--bogus-flag", "hi"])?;
    assert!(
        stderr.contains("error: unexpected argument '--bogus-flag' found"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage: codex exec"), "{stderr}");
    Ok(())
}

/// `-a/--ask-for-approval` is not an exec flag.
#[test]
fn ask_for_approval_is_rejected() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let stderr = usage_error(&env, &["-a", "never", "hi"])?;
    assert!(
        stderr.contains("error: unexpected argument '-a' found"),
        "{stderr}"
    );
    Ok(())
}

/// An invalid `--sandbox` value is a usage error.
#[test]
fn invalid_sandbox_value_is_a_usage_error() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let stderr = usage_error(&env, &["-s", "bogus", "hi"])?;
    assert!(stderr.contains("bogus"), "{stderr}");
    Ok(())
}

/// `--full-auto` conflicts with `--dangerously-bypass-approvals-and-sandbox`.
#[test]
fn full_auto_conflicts_with_bypass() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    usage_error(&env, &["--full-auto", "--yolo", "hi"])?;
    Ok(())
}

/// `codex exec --version` / `-V` print `codex-cli-exec 0.169.0`.
#[test]
fn exec_version() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![])?;
    for flag in ["--version", "-V"] {
        let run = env.exec().arg(flag).run()?;
        assert_eq!(run.code(), Some(0), "{run}");
        assert_eq!(run.stdout.trim_end(), "codex-cli-exec 0.169.0");
    }
    Ok(())
}

/// `codex --version` prints `codex-cli 0.169.0`.
#[test]
fn top_level_version() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![])?;
    let run = env.codex().arg("--version").run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(run.stdout.trim_end(), "codex-cli 0.169.0");
    Ok(())
}

/// `codex exec --help` prints usage on stdout and exits 0.
#[test]
fn exec_help() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![])?;
    let run = env.exec().arg("--help").run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(run.stdout.contains("Usage: codex exec"), "{run}");
    assert!(run.stdout.contains("--json"), "{run}");
    Ok(())
}

/// `codex e` is an alias of `codex exec`.
#[test]
fn e_is_an_alias_of_exec() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("via alias")])?;
    let run = env.codex().args(["e", "--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events[2], agent_message("item_0", "via alias"));
    Ok(())
}

/// Flags may follow the prompt.
#[test]
fn flags_after_the_prompt_are_accepted() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .args(["hi", "--json", "-m", "gpt-5.1-codex"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    run.events()?;
    let req = &env.requests()[0];
    assert_eq!(req.json()["model"], "gpt-5.1-codex");
    assert_eq!(last_input_text(req)?, "hi");
    Ok(())
}

/// Global flags are accepted after the `resume` subcommand word and apply to
/// the run (`--last` finds nothing here, so a new thread starts).
#[test]
fn global_flags_after_subcommand_are_parsed() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .args([
            "resume",
            "--last",
            "--json",
            "-m",
            "gpt-5.1-codex",
            "--skip-git-repo-check",
            "--ephemeral",
            "-c",
            "model_reasoning_effort=high",
            "-o",
            "out.txt",
            "--dangerously-bypass-approvals-and-sandbox",
            "follow up",
        ])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    run.events()?;
    let req = env.requests()[0].json();
    assert_eq!(req["model"], "gpt-5.1-codex");
    assert_eq!(req["reasoning"]["effort"], "high");
    assert_eq!(std::fs::read_to_string(env.work.join("out.txt"))?, "ok");
    assert!(!env.codex_home.join("sessions").exists());
    Ok(())
}

/// `--full-auto` warns that it is deprecated and means workspace-write.
#[test]
fn full_auto_is_deprecated_workspace_write() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env.exec().args(["--json", "--full-auto", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let warning = run
        .stderr
        .lines()
        .find(|l| l.contains("--full-auto"))
        .unwrap_or_default();
    assert!(warning.contains("deprecated"), "{run}");
    run.events()?;
    let context = environment_context(&env.requests()[0])?;
    assert!(
        context.contains("<sandbox_mode>workspace-write</sandbox_mode>"),
        "{context}"
    );
    Ok(())
}

/// `--add-dir` roots appear as `<writable_roots>` in workspace-write.
#[test]
fn add_dir_lists_writable_roots() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let extra = env.root.join("extra");
    std::fs::create_dir_all(&extra)?;
    let run = env
        .exec()
        .args(["--json", "-s", "workspace-write", "--add-dir"])
        .arg(&extra)
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let context = environment_context(&env.requests()[0])?;
    let block = format!(
        "  <writable_roots>\n    <root>{}</root>\n  </writable_roots>",
        extra.display()
    );
    assert!(context.contains(&block), "{context}");
    assert!(
        context.contains("<sandbox_mode>workspace-write</sandbox_mode>"),
        "{context}"
    );
    assert!(
        context.contains("<network_access>restricted</network_access>"),
        "{context}"
    );
    Ok(())
}

/// Compatibility flags are accepted and ignored.
#[test]
fn compatibility_flags_are_accepted() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .args([
            "--json",
            "--include-plan-tool",
            "--approve-for-me",
            "--ignore-rules",
            "--dangerously-bypass-hook-trust",
            "--thread-source",
            "sdk",
            "--ephemeral",
            "hi",
        ])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// `--enable web_search_request` advertises the hosted web-search tool.
#[test]
fn enable_flag_sets_a_feature() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .args(["--json", "--enable", "web_search_request", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let tools = env.requests()[0].json()["tools"].clone();
    let tools = tools.as_array().cloned().unwrap_or_default();
    assert!(tools.contains(&json!({"type": "web_search"})), "{tools:?}");
    Ok(())
}

/// `-i` attaches images as `input_image` data URLs before the prompt text; the
/// flag is greedy, so it goes after the prompt.
#[test]
fn image_is_sent_before_the_prompt_text() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_file("pic.png", b"\x89PNG\r\n\x1a\nrest")?;
    let run = env.exec().args(["--json", "hi", "-i", "pic.png"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let input = env.requests()[0].input();
    let last = input.last().cloned().unwrap_or_default();
    assert_eq!(
        last["content"],
        serde_json::json!([
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgpyZXN0"},
            {"type": "input_text", "text": "hi"}
        ])
    );
    Ok(())
}

/// An image that is missing or not an image stops the run before any request.
#[test]
fn bad_image_fails_before_any_request() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_file("notes.txt", "plain text")?;
    for (file, needle) in [
        ("missing.png", "cannot read image"),
        ("notes.txt", "is not a PNG"),
    ] {
        let run = env.exec().args(["--json", "hi", "-i", file]).run()?;
        assert_eq!(run.code(), Some(1), "{run}");
        assert!(run.stderr.contains(needle), "{file}: {run}");
        assert!(run.stdout.is_empty(), "{run}");
    }
    assert!(env.requests().is_empty());
    Ok(())
}

/// A streamable HTTP MCP server is supported: an optional one that cannot be
/// reached is only a startup failure, the run goes on.
#[test]
fn mcp_http_servers_are_supported() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    env.write_config("", "\n[mcp_servers.x]\nurl = \"http://127.0.0.1:1/mcp\"")?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(!run.stderr.contains("not supported yet"), "{run}");
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// `--cyber-access-program` (the SDK's `cyberAccessProgram`) is accepted, also
/// after `resume`; it is recorded in `session_meta` and, as with the reference
/// under API-key auth, changes nothing in the request.
#[test]
fn cyber_access_program_is_accepted_and_recorded() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(Vec::new(), message_reply("ok"))?;
    let plain = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(plain.code(), Some(0), "{plain}");
    let run = env
        .exec()
        .args(["--json", "--cyber-access-program", "daybreak_blue", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (thread_id, _) = run.events()?;
    let requests = env.requests();
    assert_eq!(requests.len(), 2);
    let header_names =
        |i: usize| -> Vec<String> { requests[i].headers.iter().map(|(n, _)| n.clone()).collect() };
    assert_eq!(header_names(0), header_names(1));
    let (mut without, mut with) = (requests[0].json(), requests[1].json());
    for body in [&mut without, &mut with] {
        body["prompt_cache_key"] = Value::Null;
    }
    assert_eq!(without, with);
    for request in &requests {
        let text = String::from_utf8_lossy(&request.body).into_owned();
        assert!(
            !text.contains("daybreak") && !text.contains("cyber"),
            "{text}"
        );
    }
    let rollout = rollouts(&env.codex_home)
        .into_iter()
        .find(|p| p.to_string_lossy().contains(&thread_id))
        .ok_or_else(|| anyhow::anyhow!("no rollout for {thread_id}"))?;
    let records = records(&rollout)?;
    assert_eq!(records[0]["type"], "session_meta");
    assert_eq!(
        records[0]["payload"]["cyber_access_program"],
        "daybreak_blue"
    );
    let resumed = env
        .exec()
        .args([
            "--json",
            "resume",
            "--last",
            "--cyber-access-program",
            "standard",
            "again",
        ])
        .run()?;
    assert_eq!(resumed.code(), Some(0), "{resumed}");
    Ok(())
}

/// A `--cyber-access-program` value outside `standard`, `daybreak_blue`,
/// `daybreak_red` is a usage error (exit 2) that lists the values.
#[test]
fn bad_cyber_access_program_is_a_usage_error() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let stderr = usage_error(&env, &["--cyber-access-program", "bogus", "hi"])?;
    assert!(
        stderr.contains("invalid value 'bogus' for '--cyber-access-program <PROGRAM>'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[possible values: standard, daybreak_blue, daybreak_red]"),
        "{stderr}"
    );
    Ok(())
}
