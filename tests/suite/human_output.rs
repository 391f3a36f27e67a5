//! Human-readable mode: stdout carries only the final message, stderr the header,
//! transcript and token count; colour control (SPEC §5, §25 case 25).

use mock_responses::{ev, message_reply, Reply};
use pretty_assertions::assert_eq;

use crate::common::*;

/// A reply with one message and usage 200 in / 50 cached / 30 out.
fn answer_reply(text: &str) -> Reply {
    Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", text),
        ev::completed_with_usage("resp_1", 200, 50, 30, 0),
    ])
}

/// The line after the first line equal to `label`.
fn line_after<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let mut lines = text.lines();
    lines.by_ref().find(|l| *l == label)?;
    lines.next()
}

/// stdout is exactly the final message plus a newline.
#[test]
fn stdout_is_only_the_final_message() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![answer_reply("The answer.")])?;
    let run = env.exec().args(["--color", "never", "question"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(run.stdout, "The answer.\n");
    Ok(())
}

/// stderr carries the header, the prompt, the message and `tokens used` (in − cached + out).
#[test]
fn stderr_has_header_transcript_and_token_count() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![answer_reply("The answer.")])?;
    let run = env.exec().args(["--color", "never", "question"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let stderr = &run.stderr;
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("OpenAI Codex v0.169.0")),
        "{stderr}"
    );
    for line in [
        format!("workdir: {}", env.work.display()),
        "model: gpt-5-codex".to_string(),
        "provider: mock".to_string(),
        "approval: never".to_string(),
        "sandbox: read-only".to_string(),
    ] {
        assert!(
            stderr.lines().any(|l| l == line),
            "missing {line:?}\n{stderr}"
        );
    }
    let session = stderr
        .lines()
        .find_map(|l| l.strip_prefix("session id: "))
        .unwrap_or_default();
    assert_uuid_v7(session)?;
    assert_eq!(env.requests()[0].header("session_id"), Some(session));
    assert_eq!(line_after(stderr, "user"), Some("question"), "{stderr}");
    assert_eq!(line_after(stderr, "codex"), Some("The answer."), "{stderr}");
    assert_eq!(line_after(stderr, "tokens used"), Some("180"), "{stderr}");
    assert!(
        !stderr.contains("\u{1b}["),
        "--color never must not emit ANSI"
    );
    Ok(())
}

/// The token count uses thousands separators.
#[test]
fn token_count_has_thousands_separators() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", "big"),
        ev::completed_with_usage("resp_1", 1_500_000, 200_000, 34_567, 0),
    ])])?;
    let run = env.exec().args(["--color", "never", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(
        line_after(&run.stderr, "tokens used"),
        Some("1,334,567"),
        "{run}"
    );
    Ok(())
}

/// A message that already ends with a newline is not given a second one.
#[test]
fn trailing_newline_is_not_doubled() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("line one\nline two\n")])?;
    let run = env.exec().args(["--color", "never", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(run.stdout, "line one\nline two\n");
    Ok(())
}

/// A turn without a message prints nothing on stdout.
#[test]
fn no_message_prints_nothing_on_stdout() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::completed("resp_1"),
    ])])?;
    let run = env.exec().args(["--color", "never", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(run.stdout, "");
    Ok(())
}

/// A fatal error is shown as `ERROR: <message>` on stderr; stdout stays empty.
#[test]
fn fatal_error_is_reported_on_stderr() -> anyhow::Result<()> {
    let body = r#"{"error":{"message":"bad request","type":"invalid_request_error"}}"#;
    let env = TestEnv::with_fallback(vec![], Reply::status(400, body))?;
    let run = env.exec().args(["--color", "never", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.lines().any(|l| l == format!("ERROR: {body}")),
        "{run}"
    );
    Ok(())
}

/// `--color always` emits ANSI escapes on stderr (and never on stdout).
#[test]
fn color_always_emits_ansi() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![answer_reply("plain")])?;
    let run = env.exec().args(["--color", "always", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(run.stderr.contains("\u{1b}["), "{run}");
    assert_eq!(run.stdout, "plain\n");
    Ok(())
}

/// With the default `--color auto` on a real terminal (`script` provides a pty),
/// the transcript is coloured, and `NO_COLOR=1` turns the colour off.
#[test]
fn no_color_env_disables_auto_color() -> anyhow::Result<()> {
    let transcript = |no_color: bool| -> anyhow::Result<String> {
        let env = TestEnv::new(vec![answer_reply("plain")])?;
        let line = format!("{} exec hi </dev/null", env!("CARGO_BIN_EXE_codex"));
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &env.home)
            .env("CODEX_HOME", &env.codex_home)
            .env("CODEX_API_KEY", TEST_API_KEY)
            .env("TERM", "xterm")
            .current_dir(&env.work)
            .stdin(std::process::Stdio::null());
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output()?;
        anyhow::ensure!(out.status.success(), "script failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        anyhow::ensure!(text.contains("plain"), "{text}");
        Ok(text)
    };
    // Colour is an SGR sequence (`ESC [ <digits;> m`); the spinner's line
    // clearing (`ESC [ 2K`) is not colour.
    let has_sgr = |text: &str| {
        text.split("\u{1b}[").skip(1).any(|rest| {
            let params = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';');
            params.starts_with('m')
        })
    };
    assert!(has_sgr(&transcript(false)?), "a terminal gets colour");
    assert!(!has_sgr(&transcript(true)?), "NO_COLOR disables it");
    Ok(())
}

/// The workspace-write header lists workdir, /tmp, $TMPDIR and extra roots.
#[test]
fn workspace_write_header_lists_roots() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let extra = env.root.join("extra");
    std::fs::create_dir_all(&extra)?;
    let run = env
        .exec()
        .args(["--color", "never", "-s", "workspace-write", "--add-dir"])
        .arg(&extra)
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let expected = format!(
        "sandbox: workspace-write [workdir, /tmp, $TMPDIR, {}]",
        extra.display()
    );
    assert!(run.stderr.lines().any(|l| l == expected), "{run}");
    Ok(())
}
