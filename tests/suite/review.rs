//! `codex exec review` (SPEC §1.4, §21, §25 case 33): each target against a
//! real repository made by the test, the request on the wire (header,
//! guidelines, the prompt's facts), the rendering of the answer, JSON and human
//! output, `-o`, `review_model`, tools under the sandbox, and the inputs that
//! fail before any model request.

use anyhow::Context;
use mock_responses::{ev, message_reply, RecordedRequest, Reply};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// A finding as the review guidelines ask for it.
fn finding(title: &str, body: &str, path: &str, start: u64, end: u64) -> Value {
    json!({
        "title": title, "body": body, "confidence_score": 0.9, "priority": 1,
        "code_location": {"absolute_file_path": path, "line_range": {"start": start, "end": end}},
    })
}

/// A reviewer's JSON answer.
fn answer(findings: Vec<Value>, explanation: &str) -> String {
    json!({
        "findings": findings, "overall_correctness": "patch is incorrect",
        "overall_explanation": explanation, "overall_confidence_score": 0.8,
    })
    .to_string()
}

/// The line that follows the first line equal to `label`.
fn line_after<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let mut lines = text.lines();
    lines.by_ref().find(|l| *l == label)?;
    lines.next()
}

/// A repository in the work dir with one commit on `main`; its id.
fn repo_with_commit(env: &TestEnv) -> anyhow::Result<(GitRepo, String)> {
    let repo = env.git_repo()?;
    let sha = repo.commit_file("lib.txt", "one\n", "first")?;
    Ok((repo, sha))
}

/// Check that `request` is a reviewer's: the sub-agent header, and the
/// guidelines (demanding the JSON answer) as the instructions.
fn assert_review_request(request: &RecordedRequest) -> anyhow::Result<()> {
    assert_eq!(request.header("x-openai-subagent"), Some("review"));
    let body = request.json();
    let instructions = body["instructions"]
        .as_str()
        .context("no instructions in the request")?;
    for field in [
        "\"findings\"",
        "\"title\"",
        "\"body\"",
        "\"confidence_score\"",
        "\"priority\"",
        "\"absolute_file_path\"",
        "\"line_range\"",
        "\"overall_correctness\"",
        "\"overall_explanation\"",
        "\"overall_confidence_score\"",
    ] {
        assert!(
            instructions.contains(field),
            "{field} missing: {instructions}"
        );
    }
    Ok(())
}

/// `--uncommitted` with staged, unstaged and untracked changes: one request
/// with the header, guidelines and prompt, no AGENTS.md, no `view_image`; JSON
/// shows one rendered `agent_message` and `turn.completed` with zero usage.
#[test]
fn uncommitted_review_sends_the_review_request() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply(&answer(vec![], "No problems."))])?;
    let repo = env.git_repo()?;
    repo.commit_file("AGENTS.md", "AGENTS-MARKER-7f3\n", "docs")?;
    repo.commit_file("src.txt", "one\n", "first")?;
    repo.write("src.txt", "two\n")?;
    repo.write("staged.txt", "staged\n")?;
    repo.git(&["add", "staged.txt"])?;
    repo.write("notes.txt", "untracked\n")?;

    let run = env
        .exec()
        .args(["--json", "review", "--uncommitted"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "No problems."),
            turn_completed(0, 0, 0, 0),
        ]
    );
    let requests = env.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_review_request(request)?;
    assert_eq!(request.json()["model"], "gpt-5-codex");
    let prompt = last_input_text(request)?;
    for fact in ["uncommitted", "staged", "untracked", "git status"] {
        assert!(prompt.contains(fact), "{fact}: {prompt}");
    }
    let texts: Vec<String> = request.input().iter().filter_map(message_text).collect();
    assert!(
        !texts.iter().any(|t| t.contains("AGENTS-MARKER")),
        "{texts:#?}"
    );
    let tools = advertised_tools(&request.json());
    assert!(tools.contains(&"exec_command".to_string()), "{tools:?}");
    assert!(!tools.contains(&"view_image".to_string()), "{tools:?}");
    Ok(())
}

/// The reviewer's commands run as in exec, under the session's read-only
/// sandbox: `git status` shows it the untracked file; the items keep their
/// order and the rendered review comes last.
#[test]
fn review_commands_run_under_the_sandbox() -> anyhow::Result<()> {
    let one = answer(
        vec![finding(
            "[P2] Stray file",
            "Remove it.",
            "/w/notes.txt",
            1,
            1,
        )],
        "One issue.",
    );
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[(
                "call_1",
                "exec_command",
                json!({"cmd": "git status --porcelain --untracked-files=all"}),
            )],
        ),
        message_reply(&one),
    ])?;
    let (repo, _) = repo_with_commit(&env)?;
    repo.write("lib.txt", "changed\n")?;
    repo.write("notes.txt", "untracked\n")?;

    let run = env
        .exec()
        .args(["review", "--uncommitted", "--json"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let output = call_output(&env.requests()[1], "call_1")?;
    assert!(output.contains("?? notes.txt"), "{output}");
    assert!(output.contains(" M lib.txt"), "{output}");
    let (_, events) = run.events()?;
    let kinds: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            let item = &e["item"];
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                item["id"].as_str().unwrap_or_default().to_string(),
                item["type"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("thread.started", "", ""),
        ("turn.started", "", ""),
        ("item.started", "item_0", "command_execution"),
        ("item.completed", "item_0", "command_execution"),
        ("item.completed", "item_1", "agent_message"),
        ("turn.completed", "", ""),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(kinds, expected);
    assert_eq!(events[3]["item"]["status"], "completed", "{}", events[3]);
    assert_eq!(
        events[4]["item"]["text"],
        "One issue.\n\nReview comment:\n\n- [P2] Stray file \u{2014} /w/notes.txt:1-1\n  Remove it."
    );
    assert_eq!(events[5], turn_completed(0, 0, 0, 0));
    Ok(())
}

/// `--base main` uses the merge base with `main`'s upstream when it is ahead
/// of the local branch (a bare "remote" got a commit the local `main` lacks);
/// `-o` receives the rendered review.
#[test]
fn base_review_uses_the_merge_base_with_the_upstream() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply(&answer(vec![], "Fine."))])?;
    let remote = GitRepo::init_bare(&env.root.join("remote.git"), &env.home)?;
    let (repo, first) = repo_with_commit(&env)?;
    repo.git(&["remote", "add", "origin", &remote.dir.display().to_string()])?;
    repo.git(&["push", "-q", "-u", "origin", "main"])?;
    let other = GitRepo::clone_from(&remote.dir, &env.root.join("other"), &env.home)?;
    let upstream = other.commit_file("lib.txt", "two\n", "upstream work")?;
    other.git(&["push", "-q", "origin", "main"])?;
    repo.git(&["fetch", "-q", "origin"])?;
    repo.git(&["checkout", "-q", "-b", "feature", "origin/main"])?;
    repo.commit_file("feature.txt", "new\n", "feature work")?;

    let out = env.root.join("review.txt");
    let run = env
        .exec()
        .args(["--json", "review", "--base", "main", "-o"])
        .arg(&out)
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let requests = env.requests();
    assert_review_request(&requests[0])?;
    let prompt = last_input_text(&requests[0])?;
    assert!(prompt.contains(&format!("git diff {upstream}")), "{prompt}");
    assert!(
        prompt.contains("origin/main") && prompt.contains("'main'"),
        "{prompt}"
    );
    assert!(!prompt.contains(&first), "{prompt}");
    assert_eq!(std::fs::read_to_string(&out)?, "Fine.");
    Ok(())
}

/// A base branch without an upstream is compared as it is (the reference's
/// rule); `-C` points into the repository; the human transcript shows the
/// hint as the `user` block and stdout the review.
#[test]
fn base_without_upstream_compares_the_branch_itself() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply(&answer(vec![], "Fine."))])?;
    let (repo, base) = repo_with_commit(&env)?;
    repo.git(&["checkout", "-q", "-b", "feature"])?;
    repo.commit_file("feature.txt", "new\n", "feature work")?;

    let run = env
        .exec()
        .current_dir(&env.root)
        .arg("-C")
        .arg(&env.work)
        .args(["review", "--base", "main"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let prompt = last_input_text(&env.requests()[0])?;
    assert!(prompt.contains(&format!("git diff {base}")), "{prompt}");
    assert!(!prompt.contains("upstream"), "{prompt}");
    assert_eq!(
        line_after(&run.stderr, "user"),
        Some("changes against 'main'"),
        "{run}"
    );
    assert_eq!(run.stdout, "Fine.\n");
    Ok(())
}

/// `--commit` with and without `--title`: the full id (and the quoted title)
/// in the prompt, `commit <7 chars>[: title]` as the `user` block.
#[test]
fn commit_review_names_the_commit_and_title() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        message_reply(&answer(vec![], "Fine.")),
        message_reply(&answer(vec![], "Fine.")),
    ])?;
    let (repo, first) = repo_with_commit(&env)?;
    let fix = repo.commit_file("lib.txt", "fixed\n", "Fix the parser")?;

    let titled = env
        .exec()
        .args([
            "review",
            "--commit",
            &fix[..10],
            "--title",
            "Fix the parser",
        ])
        .run()?;
    assert_eq!(titled.code(), Some(0), "{titled}");
    let hint = format!("commit {}: Fix the parser", &fix[..7]);
    assert_eq!(
        line_after(&titled.stderr, "user"),
        Some(hint.as_str()),
        "{titled}"
    );

    let plain = env.exec().args(["review", "--commit", "HEAD~1"]).run()?;
    assert_eq!(plain.code(), Some(0), "{plain}");
    let hint = format!("commit {}", &first[..7]);
    assert_eq!(
        line_after(&plain.stderr, "user"),
        Some(hint.as_str()),
        "{plain}"
    );

    let requests = env.requests();
    assert_review_request(&requests[0])?;
    let prompt = last_input_text(&requests[0])?;
    assert!(prompt.contains(&fix), "{prompt}");
    assert!(prompt.contains("\"Fix the parser\""), "{prompt}");
    let prompt = last_input_text(&requests[1])?;
    assert!(prompt.contains(&first) && !prompt.contains('"'), "{prompt}");
    Ok(())
}

/// Custom instructions, trimmed, from the argument (outside any repository
/// with `--skip-git-repo-check`: they need none) and from `-` (stdin).
#[test]
fn custom_instructions_are_the_prompt() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        message_reply(&answer(vec![], "Fine.")),
        message_reply(&answer(vec![], "Fine.")),
    ])?;
    let plain = env.root.join("plain");
    std::fs::create_dir_all(&plain)?;
    let run = env
        .exec()
        .current_dir(&plain)
        .args([
            "--skip-git-repo-check",
            "review",
            "  Focus on error handling.  ",
        ])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(
        line_after(&run.stderr, "user"),
        Some("Focus on error handling."),
        "{run}"
    );

    let run = env
        .exec()
        .args(["review", "-"])
        .stdin("Check the docs.\n")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");

    let requests = env.requests();
    assert_review_request(&requests[0])?;
    assert_eq!(last_input_text(&requests[0])?, "Focus on error handling.");
    assert_eq!(last_input_text(&requests[1])?, "Check the docs.");
    Ok(())
}

/// The final message (stdout and `-o`) for one finding, several, none, and a
/// non-JSON answer (verbatim).
#[test]
fn answers_are_rendered_as_spec_describes() -> anyhow::Result<()> {
    let one = answer(
        vec![finding(
            "[P1] Off by one",
            "The loop skips\nthe last item.",
            "/r/a.rs",
            3,
            4,
        )],
        "The loop is broken.",
    );
    let several = answer(
        vec![
            finding("[P1] First", "Body one.", "/r/a.rs", 1, 2),
            finding("[P3] Second", "Body two.", "/r/b.rs", 10, 12),
        ],
        "Two issues.",
    );
    let cases = [
        (
            one,
            "The loop is broken.\n\nReview comment:\n\n- [P1] Off by one \u{2014} /r/a.rs:3-4\n  The loop skips\n  the last item.",
        ),
        (
            several,
            "Two issues.\n\nFull review comments:\n\n- [P1] First \u{2014} /r/a.rs:1-2\n  Body one.\n\n- [P3] Second \u{2014} /r/b.rs:10-12\n  Body two.",
        ),
        (answer(vec![], "Looks good."), "Looks good."),
        (
            "I could not produce JSON, sorry.\n".to_string(),
            "I could not produce JSON, sorry.\n",
        ),
    ];
    for (reply, expected) in cases {
        let env = TestEnv::new(vec![message_reply(&reply)])?;
        repo_with_commit(&env)?;
        let out = env.root.join("review.txt");
        let run = env
            .exec()
            .args(["review", "--uncommitted", "-o"])
            .arg(&out)
            .run()?;
        assert_eq!(run.code(), Some(0), "{run}");
        assert_eq!(std::fs::read_to_string(&out)?, expected);
        let newline = if expected.ends_with('\n') { "" } else { "\n" };
        assert_eq!(run.stdout, format!("{expected}{newline}"));
        assert_eq!(
            line_after(&run.stderr, "user"),
            Some("current changes"),
            "{run}"
        );
    }
    Ok(())
}

/// The reviewer's model: `review_model` (config or `-c`), else the session
/// model; an explicit `-m` wins over `review_model`.
#[test]
fn review_model_picks_the_reviewer() -> anyhow::Result<()> {
    let replies = (0..3).map(|_| message_reply("ok")).collect();
    let env = TestEnv::new(replies)?;
    env.write_config("review_model = \"gpt-5.1-codex\"", "")?;
    repo_with_commit(&env)?;
    let runs: [&[&str]; 3] = [
        &["review", "--uncommitted"],
        &[
            "-c",
            "review_model=gpt-5.2-codex",
            "review",
            "--uncommitted",
        ],
        &["review", "-m", "gpt-4.1", "--uncommitted"],
    ];
    for args in runs {
        let run = env.exec().args(args).run()?;
        assert_eq!(run.code(), Some(0), "{args:?}: {run}");
    }
    let models: Vec<Value> = env
        .requests()
        .iter()
        .map(|r| r.json()["model"].clone())
        .collect();
    assert_eq!(
        models,
        vec![
            json!("gpt-5.1-codex"),
            json!("gpt-5.2-codex"),
            json!("gpt-4.1")
        ]
    );
    Ok(())
}

/// Bad input fails with one clear line on stderr, exit 1, and no request.
#[test]
fn bad_input_fails_before_any_request() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("unused")])?;
    let check = |args: &[&str], expected: &str| -> anyhow::Result<()> {
        let run = env.exec().args(args).run()?;
        assert_eq!(run.code(), Some(1), "{args:?}: {run}");
        assert_eq!(run.stdout, "", "{args:?}");
        let last = run.stderr.lines().last().unwrap_or_default();
        assert!(last.contains(expected), "{args:?}: {run}");
        assert_eq!(run.stderr.matches(expected).count(), 1, "{args:?}: {run}");
        Ok(())
    };
    // The work dir's `.git` is an empty placeholder: git knows no repository.
    check(&["review", "--uncommitted"], "needs a git repository")?;
    check(&["review", "--commit", "HEAD"], "needs a git repository")?;
    let (repo, _) = repo_with_commit(&env)?;
    check(
        &["review", "--base", "nope"],
        "unknown branch `nope` for `--base`",
    )?;
    check(
        &["review", "--commit", "0123abc"],
        "unknown commit `0123abc` for `--commit`",
    )?;
    check(&["review", "--commit", "0123abc"], "(git: fatal: ")?;
    check(
        &["review"],
        "Specify --uncommitted, --base, --commit, or provide custom review instructions",
    )?;
    check(&["review", "   "], "Review prompt cannot be empty")?;
    repo.git(&["checkout", "-q", "--orphan", "unrelated"])?;
    check(&["review", "--base", "main"], "HEAD has no commit yet")?;
    repo.commit_file("other.txt", "x\n", "unrelated history")?;
    check(&["review", "--base", "main"], "have no common ancestor")?;
    assert!(env.requests().is_empty());
    Ok(())
}

/// Git missing from `PATH` is named in the error (exit 1, no request).
#[test]
fn missing_git_is_reported() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("unused")])?;
    repo_with_commit(&env)?;
    let empty = env.root.join("empty-path");
    std::fs::create_dir_all(&empty)?;
    let run = env
        .exec()
        .env("PATH", &empty)
        .args(["review", "--uncommitted"])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(run.stderr.contains("cannot run `git`"), "{run}");
    assert!(env.requests().is_empty());
    Ok(())
}

/// Outside a repository the usual git check refuses a review too.
#[test]
fn review_outside_a_repository_is_refused() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("unused")])?;
    let plain = env.root.join("plain");
    std::fs::create_dir_all(&plain)?;
    let run = env
        .exec()
        .current_dir(&plain)
        .args(["review", "--uncommitted"])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(
        run.stderr,
        "Not inside a trusted directory and --skip-git-repo-check was not specified.\n"
    );
    assert!(env.requests().is_empty());
    Ok(())
}

/// Targets exclude each other and `--title` needs `--commit`: usage errors
/// (exit 2) from clap, no request.
#[test]
fn conflicting_targets_are_usage_errors() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("unused")])?;
    repo_with_commit(&env)?;
    let cases: [&[&str]; 5] = [
        &["review", "--uncommitted", "--base", "main"],
        &["review", "--base", "main", "--commit", "HEAD"],
        &["review", "--commit", "HEAD", "custom text"],
        &["review", "--uncommitted", "custom text"],
        &["review", "--title", "T", "--uncommitted"],
    ];
    for args in cases {
        let run = env.exec().args(args).run()?;
        assert_eq!(run.code(), Some(2), "{args:?}: {run}");
        assert!(run.stderr.starts_with("error: "), "{args:?}: {run}");
    }
    assert!(env.requests().is_empty());
    Ok(())
}

/// A failed review turn shows the failure and no review; `-o` is left empty.
#[test]
fn failed_review_turn_leaves_no_review() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", &answer(vec![], "never shown")),
        ev::failed("resp_1", "context_length_exceeded", "too long"),
    ])])?;
    repo_with_commit(&env)?;
    let out = env.root.join("review.txt");
    let run = env
        .exec()
        .args(["--json", "review", "--uncommitted", "-o"])
        .arg(&out)
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    let (_, events) = run.events()?;
    assert!(!run.stdout.contains("never shown"), "{run}");
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("turn.failed"))
    );
    assert_eq!(std::fs::read_to_string(&out)?, "");
    Ok(())
}
