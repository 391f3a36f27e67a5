//! Rollout files and `codex exec resume` (SPEC §1.3, §4.2, §16).

use mock_responses::{ev, message_reply, Reply};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// One assistant message with usage `input` / `output`.
fn answer(text: &str, input: u64, output: u64) -> Reply {
    Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", text),
        ev::completed_with_usage("resp_1", input, 0, output, 0),
    ])
}

/// The `payload.type` of every `event_msg` record.
fn event_kinds(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["type"] == "event_msg")
        .filter_map(|r| r["payload"]["type"].as_str().map(str::to_string))
        .collect()
}

/// Run `exec --json <args>` and return the thread id (exit 0 required).
fn run_ok(env: &TestEnv, args: &[&str]) -> anyhow::Result<(String, Vec<Value>)> {
    let run = env.exec().arg("--json").args(args).run()?;
    anyhow::ensure!(run.code() == Some(0), "{run}");
    run.events()
}

/// `--thread-source` (passed by the SDK) is recorded in `session_meta`.
#[test]
fn thread_source_is_recorded() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![answer("a1", 80, 20)])?;
    run_ok(&env, &["--thread-source", "sdk-test", "q1"])?;
    let files = rollouts(&env.codex_home);
    let records = records(&files[0])?;
    assert_eq!(records[0]["payload"]["thread_source"], "sdk-test");
    Ok(())
}

/// A run writes exactly one rollout in the dated directory, `session_meta` first,
/// then the initial context, turn records, messages and token counts.
#[test]
fn a_run_writes_one_rollout_file() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![answer("a1", 80, 20)])?;
    let (id, _) = run_ok(&env, &["q1"])?;
    let files = rollouts(&env.codex_home);
    assert_eq!(files.len(), 1, "{files:?}");
    let rel = files[0].strip_prefix(env.codex_home.join("sessions"))?;
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(parts.len(), 4, "{rel:?}");
    let name = &parts[3];
    assert!(
        name.starts_with(&format!("rollout-{}-{}-{}T", parts[0], parts[1], parts[2])),
        "{name}"
    );
    assert!(name.ends_with(&format!("-{id}.jsonl")), "{name}");

    let records = records(&files[0])?;
    for record in &records {
        assert!(
            record["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{record}"
        );
    }
    assert_eq!(records[0]["type"], "session_meta");
    let meta = &records[0]["payload"];
    assert_eq!(meta["id"], json!(id));
    assert_eq!(meta["cwd"], json!(env.work));
    assert_eq!(meta["source"], "exec");
    assert_eq!(meta["model_provider"], "mock");
    assert_eq!(meta["cli_version"], VERSION);
    assert!(records.iter().any(|r| r["type"] == "turn_context"
        && r["payload"]["model"] == "gpt-5-codex"
        && r["payload"]["approval_policy"] == "never"));
    assert_eq!(
        event_kinds(&records),
        [
            "task_started",
            "user_message",
            "agent_message",
            "token_count",
            "task_complete"
        ]
    );
    let items: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "response_item")
        .map(|r| &r["payload"])
        .collect();
    let first_request = env.requests()[0].input();
    let sent: Vec<&Value> = first_request.iter().collect();
    assert_eq!(
        items[..sent.len()],
        sent[..],
        "the items sent are recorded as sent"
    );
    assert_eq!(message_text(items[sent.len()]).as_deref(), Some("a1"));
    let total = records
        .iter()
        .rev()
        .find(|r| r["payload"]["type"] == "token_count")
        .map(|r| r["payload"]["info"]["total_token_usage"].clone())
        .unwrap_or_default();
    assert_eq!(total["input_tokens"], 80);
    assert_eq!(total["output_tokens"], 20);
    Ok(())
}

/// `--ephemeral` writes nothing under `sessions/` and the run still works.
#[test]
fn ephemeral_writes_no_rollout() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    run_ok(&env, &["--ephemeral", "hi"])?;
    assert!(!env.codex_home.join("sessions").exists());
    Ok(())
}

/// The API key never appears in the rollout, even when the prompt contains it.
#[test]
fn api_key_is_never_recorded() -> anyhow::Result<()> {
    let secret = "sk-secret-0123456789abcdef";
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .env("CODEX_API_KEY", secret)
        .args(["--json", &format!("is {secret} valid?")])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let files = rollouts(&env.codex_home);
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0])?;
    assert!(!text.contains(secret), "{text}");
    assert!(text.contains("valid?"), "{text}");
    Ok(())
}

/// Resume by id: same thread id, the request replays the first turn before the
/// new prompt, usage stays thread-cumulative, records go to the same file.
#[test]
fn resume_by_id_replays_history_and_keeps_usage() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![answer("a1", 80, 20), answer("a2", 80, 20)])?;
    let (id, first) = run_ok(&env, &["q1"])?;
    assert_eq!(first.last(), Some(&turn_completed(80, 0, 20, 0)));
    let (resumed_id, events) = run_ok(&env, &["resume", &id, "q2"])?;
    assert_eq!(resumed_id, id);
    assert_eq!(events.last(), Some(&turn_completed(160, 0, 40, 0)));

    let requests = env.requests();
    let (one, two) = (requests[0].input(), requests[1].input());
    assert_eq!(two[..one.len()], one[..], "the first request is replayed");
    assert_eq!(message_role(&two[one.len()]), Some("assistant"));
    assert_eq!(message_text(&two[one.len()]).as_deref(), Some("a1"));
    assert_eq!(two[one.len() + 1], user_input("q2"));
    assert_eq!(two.len(), one.len() + 2);

    let files = rollouts(&env.codex_home);
    assert_eq!(files.len(), 1, "{files:?}");
    let records = records(&files[0])?;
    assert_eq!(
        records
            .iter()
            .filter(|r| r["type"] == "session_meta")
            .count(),
        1
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r["type"] == "turn_context")
            .count(),
        2
    );
    let turn_ids: Vec<&Value> = records
        .iter()
        .filter(|r| r["payload"]["type"] == "task_started")
        .map(|r| &r["payload"]["turn_id"])
        .collect();
    assert_eq!(turn_ids.len(), 2);
    assert_ne!(turn_ids[0], turn_ids[1]);
    Ok(())
}

/// A third run continues from the second (history and usage keep growing).
#[test]
fn resume_twice_accumulates() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        answer("a1", 100, 0),
        answer("a2", 100, 0),
        answer("a3", 100, 0),
    ])?;
    let (id, _) = run_ok(&env, &["q1"])?;
    run_ok(&env, &["resume", &id, "q2"])?;
    let (_, events) = run_ok(&env, &["resume", &id, "q3"])?;
    assert_eq!(events.last(), Some(&turn_completed(300, 0, 0, 0)));
    let texts: Vec<String> = env.requests()[2]
        .input()
        .iter()
        .filter(|i| {
            matches!(message_role(i), Some("assistant"))
                || message_text(i).is_some_and(|t| t.starts_with('q'))
        })
        .filter_map(message_text)
        .collect();
    assert_eq!(texts, ["q1", "a1", "q2", "a2", "q3"]);
    Ok(())
}

/// `resume --last PROMPT` picks the newest session of this cwd; `--all` the newest overall.
#[test]
fn resume_last_filters_by_cwd_unless_all() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(
        vec![answer("here", 1, 1), answer("there", 1, 1)],
        message_reply("ok"),
    )?;
    let other = env.root.join("other");
    std::fs::create_dir_all(other.join(".git"))?;
    let (here, _) = run_ok(&env, &["q-here"])?;
    let run = env
        .exec()
        .current_dir(&other)
        .args(["--json", "q-there"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (there, _) = run.events()?;

    // `--all` first, from the other dir: a resumed session's latest cwd is the
    // one it was resumed in, and resuming makes it the newest.
    let run = env
        .exec()
        .current_dir(env.root.join("home"))
        .args(["--json", "--skip-git-repo-check", "-C"])
        .arg(&other)
        .args(["resume", "--last", "--all", "again"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (picked, _) = run.events()?;
    assert_eq!(picked, there);
    assert!(env.requests()[2].input().contains(&user_input("q-there")));

    let (picked, _) = run_ok(&env, &["resume", "--last", "follow"])?;
    assert_eq!(picked, here);
    let input = env.requests()[3].input();
    assert!(input.contains(&user_input("q-here")), "{input:?}");
    assert!(!input.contains(&user_input("q-there")), "{input:?}");
    assert_eq!(last_input_text(&env.requests()[3])?, "follow");
    Ok(())
}

/// `resume --last` with no session to resume starts a new thread and says so.
#[test]
fn resume_last_without_sessions_starts_a_new_thread() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .args(["--json", "resume", "--last", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(run.stderr.contains("starting a new thread"), "{run}");
    run.events()?;
    assert_eq!(last_input_text(&env.requests()[0])?, "hi");
    assert_eq!(rollouts(&env.codex_home).len(), 1);
    Ok(())
}

/// An unknown id (or a name) fails with exit 1 before any request.
#[test]
fn resume_unknown_id_fails() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    for target in ["0199a213-81c0-7800-8aa1-bbab2a035a53", "my-thread"] {
        let run = env.exec().args(["--json", "resume", target, "hi"]).run()?;
        assert_eq!(run.code(), Some(1), "{run}");
        assert!(
            run.stderr
                .contains(&format!("no session found for `{target}`")),
            "{run}"
        );
        assert!(run.stdout.is_empty(), "{run}");
    }
    assert!(env.requests().is_empty());
    Ok(())
}

/// A rollout whose last line was torn by a crash still resumes, and later
/// records start on a fresh line.
#[test]
fn torn_last_line_still_resumes() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![answer("a1", 1, 1), answer("a2", 1, 1)])?;
    let (id, _) = run_ok(&env, &["q1"])?;
    let file = rollouts(&env.codex_home).remove(0);
    let mut text = std::fs::read_to_string(&file)?;
    text.push_str(
        r#"{"timestamp":"2026-01-01T00:00:00.000Z","type":"response_item","payload":{"type":"mes"#,
    );
    std::fs::write(&file, text)?;
    let (resumed, _) = run_ok(&env, &["resume", &id, "q2"])?;
    assert_eq!(resumed, id);
    assert!(env.requests()[1].input().contains(&user_input("q1")));
    let lines = std::fs::read_to_string(&file)?;
    let unreadable = lines
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_err())
        .count();
    assert_eq!(unreadable, 1, "only the torn line is unreadable");
    Ok(())
}

/// Two runs at the same time write two separate files.
#[test]
fn concurrent_runs_write_separate_files() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], message_reply("ok"))?;
    let spawn = |prompt: &str| {
        env.exec()
            .args(["--json", prompt])
            .spawn_with_stdin(std::process::Stdio::null())
    };
    let (a, b) = (spawn("one")?, spawn("two")?);
    let (a, b) = (a.finish()?, b.finish()?);
    assert_eq!((a.code(), b.code()), (Some(0), Some(0)), "{a}\n{b}");
    let (ida, idb) = (a.events()?.0, b.events()?.0);
    assert_ne!(ida, idb);
    let files = rollouts(&env.codex_home);
    assert_eq!(files.len(), 2, "{files:?}");
    for (file, id) in files
        .iter()
        .zip(if files[0].to_string_lossy().contains(&ida) {
            [&ida, &idb]
        } else {
            [&idb, &ida]
        })
    {
        assert_eq!(records(file)?[0]["payload"]["id"], json!(id));
    }
    Ok(())
}

/// `-o`, `--output-schema` and a `-` (stdin) prompt work on resume, and a changed
/// sandbox adds an updated environment context before the new prompt.
#[test]
fn resume_with_output_files_stdin_and_new_sandbox() -> anyhow::Result<()> {
    let reply = r#"{"answer":"42","confidence":1}"#;
    let env = TestEnv::new(vec![answer("a1", 1, 1), message_reply(reply)])?;
    let (id, _) = run_ok(&env, &["q1"])?;
    let schema_path = fixture("output_schema.json");
    let out = env.root.join("out.txt");
    let run = env
        .exec()
        .args(["--json", "-s", "workspace-write", "--output-schema"])
        .arg(&schema_path)
        .args(["resume", &id, "-", "-o"])
        .arg(&out)
        .stdin("from stdin")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(std::fs::read_to_string(&out)?, reply);
    let request = &env.requests()[1];
    assert_eq!(request.json()["text"]["format"]["type"], "json_schema");
    let input = request.input();
    assert_eq!(
        message_text(&input[input.len() - 1]).as_deref(),
        Some("from stdin")
    );
    let context = message_text(&input[input.len() - 2]).unwrap_or_default();
    assert!(
        context.contains("<sandbox_mode>workspace-write</sandbox_mode>"),
        "{context}"
    );
    let records = records(&rollouts(&env.codex_home)[0])?;
    let last_user = records
        .iter()
        .rev()
        .find(|r| r["payload"]["type"] == "user_message")
        .map(|r| r["payload"]["message"].clone());
    assert_eq!(last_user, Some(json!("from stdin")));
    Ok(())
}

/// `resume` without an id or `--last` is an error.
#[test]
fn resume_needs_a_target() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env.exec().args(["resume"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(
        run.stderr.contains("needs a session id or `--last`"),
        "{run}"
    );
    Ok(())
}
