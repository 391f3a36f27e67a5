//! `codex exec resume <thread name>` through `$CODEX_HOME/session_index.jsonl`
//! (SPEC §1.3, §16.2).

use std::io::Write;

use mock_responses::message_reply;
use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::common::*;

/// Run `exec --json <args>` and return the thread id (exit 0 required).
fn run_ok(env: &TestEnv, args: &[&str]) -> anyhow::Result<(String, Vec<Value>)> {
    let run = env.exec().arg("--json").args(args).run()?;
    anyhow::ensure!(run.code() == Some(0), "{run}");
    run.events()
}

/// Append `lines` (raw text) to the session index.
fn append_index(env: &TestEnv, lines: &[String]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env.codex_home.join("session_index.jsonl"))?;
    for line in lines {
        writeln!(file, "{line}")?;
    }
    Ok(())
}

/// An index line naming thread `id`.
fn name_line(id: &str, name: &str) -> String {
    serde_json::json!({"id": id, "thread_name": name, "updated_at": "2026-01-01T00:00:00Z"})
        .to_string()
}

/// Whether a request's input carries the user prompt `text`.
fn sent(env: &TestEnv, request: usize, text: &str) -> bool {
    env.requests()[request].input().contains(&user_input(text))
}

/// A name resolves to its thread (past a garbage index line); the resumed run
/// keeps the thread id and replays that thread's history only.
#[test]
fn resume_by_thread_name() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], message_reply("ok"))?;
    let (first, _) = run_ok(&env, &["q-alpha"])?;
    let (second, _) = run_ok(&env, &["q-beta"])?;
    append_index(
        &env,
        &[
            name_line(&first, "alpha"),
            "{not json".to_string(),
            name_line(&second, "beta thread"),
        ],
    )?;
    let (resumed, _) = run_ok(&env, &["resume", "alpha", "more"])?;
    assert_eq!(resumed, first);
    assert!(sent(&env, 2, "q-alpha") && !sent(&env, 2, "q-beta"));
    let (resumed, _) = run_ok(&env, &["resume", "beta thread", "more"])?;
    assert_eq!(resumed, second);
    assert!(sent(&env, 3, "q-beta") && !sent(&env, 3, "q-alpha"));
    assert_eq!(rollouts(&env.codex_home).len(), 2);
    Ok(())
}

/// A later index line renames a thread: the old name no longer matches, the new
/// one does; when two threads share a name the most recently used one wins.
#[test]
fn renamed_thread_answers_to_its_new_name_only() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], message_reply("ok"))?;
    let (first, _) = run_ok(&env, &["q1"])?;
    let (second, _) = run_ok(&env, &["q2"])?;
    append_index(
        &env,
        &[name_line(&first, "draft"), name_line(&first, "final")],
    )?;
    let run = env.exec().args(["--json", "resume", "draft", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(run.stderr.contains("no session found for `draft`"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    let (resumed, _) = run_ok(&env, &["resume", "final", "hi"])?;
    assert_eq!(resumed, first);

    // Both threads named `shared`; `first` was just used, so it is the newest.
    append_index(
        &env,
        &[name_line(&second, "shared"), name_line(&first, "shared")],
    )?;
    let (resumed, _) = run_ok(&env, &["resume", "shared", "again"])?;
    assert_eq!(resumed, first);
    Ok(())
}

/// A thread last used in another directory is found by name only with `--all`;
/// without it the error says so and names `--all`.
#[test]
fn resume_by_name_filters_by_cwd_unless_all() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], message_reply("ok"))?;
    let other = env.root.join("other");
    std::fs::create_dir_all(other.join(".git"))?;
    let run = env
        .exec()
        .current_dir(&other)
        .args(["--json", "q-there"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (there, _) = run.events()?;
    append_index(&env, &[name_line(&there, "elsewhere")])?;

    let run = env
        .exec()
        .args(["--json", "resume", "elsewhere", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(run.stderr.contains("`elsewhere`"), "{run}");
    assert!(run.stderr.contains("--all"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert_eq!(env.requests().len(), 1);

    let (resumed, _) = run_ok(&env, &["resume", "--all", "elsewhere", "hi"])?;
    assert_eq!(resumed, there);
    assert!(sent(&env, 1, "q-there"));
    Ok(())
}

/// A name nobody gave a thread fails with exit 1 and names the name.
#[test]
fn unknown_thread_name_fails() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let (id, _) = run_ok(&env, &["q1"])?;
    append_index(&env, &[name_line(&id, "known")])?;
    let run = env
        .exec()
        .args(["--json", "resume", "unknown", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("no session found for `unknown`")),
        "{run}"
    );
    assert!(!run.stderr.contains("--all"), "{run}");
    assert_eq!(env.requests().len(), 1);
    Ok(())
}

/// A `thread_name_updated` event in a rollout names a thread the index does
/// not know; for a thread the index knows, the index wins.
#[test]
fn rollout_rename_event_names_a_thread() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], message_reply("ok"))?;
    let (first, _) = run_ok(&env, &["q1"])?;
    let (second, _) = run_ok(&env, &["q2"])?;
    let rename = |id: &str, name: &str| {
        serde_json::json!({
            "timestamp": "2026-01-01T00:00:00.000Z",
            "type": "event_msg",
            "payload": {"type": "thread_name_updated", "thread_id": id, "thread_name": name},
        })
        .to_string()
    };
    for (id, name) in [(&first, "from-rollout"), (&second, "ignored")] {
        let file = rollouts(&env.codex_home)
            .into_iter()
            .find(|p| p.to_string_lossy().contains(id.as_str()))
            .ok_or_else(|| anyhow::anyhow!("no rollout for {id}"))?;
        let mut file = std::fs::OpenOptions::new().append(true).open(file)?;
        writeln!(file, "{}", rename(id, name))?;
    }
    append_index(&env, &[name_line(&second, "from-index")])?;

    let (resumed, _) = run_ok(&env, &["resume", "from-rollout", "hi"])?;
    assert_eq!(resumed, first);
    let run = env
        .exec()
        .args(["--json", "resume", "ignored", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (resumed, _) = run_ok(&env, &["resume", "from-index", "hi"])?;
    assert_eq!(resumed, second);
    Ok(())
}
