//! Prompt sources: argument, `-`, piped stdin and the `<stdin>` block, decoding,
//! and the never-hang rule for silent pipes (SPEC §2, §0.5, §25 cases 15–18).

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use mock_responses::message_reply;
use pretty_assertions::assert_eq;

use crate::common::*;

/// Run with `args` and `stdin`, expect success, return (stderr, last prompt text).
fn prompt_of(args: &[&str], stdin: &[u8]) -> anyhow::Result<(String, String)> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env.exec().args(args).stdin(stdin).run()?;
    anyhow::ensure!(run.code() == Some(0), "{run}");
    let requests = env.requests();
    anyhow::ensure!(requests.len() == 1, "{} requests\n{run}", requests.len());
    Ok((run.stderr, last_input_text(&requests[0])?))
}

/// Run with `args` and `stdin`, expect exit 1 with no request; return stderr.
fn failure_of(args: &[&str], stdin: &[u8]) -> anyhow::Result<String> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env.exec().args(args).stdin(stdin).run()?;
    anyhow::ensure!(run.code() == Some(1), "{run}");
    anyhow::ensure!(run.stdout.is_empty(), "stdout must stay empty\n{run}");
    anyhow::ensure!(env.requests().is_empty(), "no request expected\n{run}");
    Ok(run.stderr)
}

/// A prompt argument plus piped stdin appends a `<stdin>` block and says so on stderr.
#[test]
fn piped_stdin_is_appended_to_prompt_argument() -> anyhow::Result<()> {
    let (stderr, prompt) = prompt_of(&["--json", "my_prompt"], b"piped text\n")?;
    assert_eq!(prompt, "my_prompt\n\n<stdin>\npiped text\n</stdin>");
    assert!(
        stderr.contains("Reading additional input from stdin..."),
        "{stderr}"
    );
    Ok(())
}

/// A newline is inserted before `</stdin>` only when stdin did not end with one.
#[test]
fn stdin_block_gets_a_closing_newline() -> anyhow::Result<()> {
    let (_, prompt) = prompt_of(&["--json", "my_prompt"], b"no newline")?;
    assert_eq!(prompt, "my_prompt\n\n<stdin>\nno newline\n</stdin>");
    Ok(())
}

/// Blank piped stdin leaves the prompt argument alone.
#[test]
fn blank_stdin_keeps_prompt_argument() -> anyhow::Result<()> {
    let (_, prompt) = prompt_of(&["--json", "my_prompt"], b"  \n\n")?;
    assert_eq!(prompt, "my_prompt");
    Ok(())
}

/// Without an argument the piped stdin is the prompt, verbatim.
#[test]
fn stdin_is_the_prompt_without_argument() -> anyhow::Result<()> {
    let (stderr, prompt) = prompt_of(&["--json"], b"piped text\n")?;
    assert_eq!(prompt, "piped text\n");
    assert!(stderr.contains("Reading prompt from stdin..."), "{stderr}");
    Ok(())
}

/// `-` reads the prompt from stdin without a notice.
#[test]
fn dash_reads_stdin_silently() -> anyhow::Result<()> {
    let (stderr, prompt) = prompt_of(&["--json", "-"], b"from dash\n")?;
    assert_eq!(prompt, "from dash\n");
    assert!(!stderr.contains("Reading"), "{stderr}");
    Ok(())
}

/// Empty stdin without an argument: `No prompt provided via stdin.`, exit 1, no request.
#[test]
fn empty_stdin_is_an_error() -> anyhow::Result<()> {
    let stderr = failure_of(&["--json"], b"")?;
    assert!(stderr.contains("No prompt provided via stdin."), "{stderr}");
    Ok(())
}

/// Blank stdin after `-` is the same error.
#[test]
fn blank_stdin_after_dash_is_an_error() -> anyhow::Result<()> {
    let stderr = failure_of(&["--json", "-"], b" \n\t\n")?;
    assert!(stderr.contains("No prompt provided via stdin."), "{stderr}");
    Ok(())
}

/// A UTF-8 byte-order mark is stripped.
#[test]
fn utf8_bom_is_stripped() -> anyhow::Result<()> {
    let (_, prompt) = prompt_of(&["--json"], b"\xEF\xBB\xBFhello bom")?;
    assert_eq!(prompt, "hello bom");
    Ok(())
}

/// UTF-16LE input with a BOM is decoded.
#[test]
fn utf16le_with_bom_is_decoded() -> anyhow::Result<()> {
    let (_, prompt) = prompt_of(&["--json"], b"\xFF\xFEh\0i\0")?;
    assert_eq!(prompt, "hi");
    Ok(())
}

/// Invalid UTF-8 fails with the offset of the bad byte.
#[test]
fn invalid_utf8_is_rejected() -> anyhow::Result<()> {
    let stderr = failure_of(&["--json"], b"ab\xFFcd")?;
    assert!(
        stderr.contains(
            "Failed to read prompt from stdin: input is not valid UTF-8 (invalid byte at offset 2)"
        ),
        "{stderr}"
    );
    Ok(())
}

/// A prompt argument with an open, silent stdin pipe does not hang: it warns
/// (mentioning `--stdin`) and runs with the argument alone.
#[test]
fn silent_open_stdin_does_not_hang() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let mut spawned = env
        .exec()
        .args(["--json", "hello"])
        .spawn_with_stdin(Stdio::piped())?;
    let writer = spawned.child.stdin.take();
    let run = spawned.finish()?;
    drop(writer);
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(run.stderr.contains("--stdin"), "{run}");
    assert_eq!(last_input_text(&env.requests()[0])?, "hello");
    Ok(())
}

/// `--stdin ignore` never reads stdin.
#[test]
fn stdin_ignore_does_not_read_stdin() -> anyhow::Result<()> {
    let (stderr, prompt) = prompt_of(
        &["--json", "--stdin", "ignore", "my_prompt"],
        b"piped text\n",
    )?;
    assert_eq!(prompt, "my_prompt");
    assert!(!stderr.contains("Reading additional input"), "{stderr}");
    Ok(())
}

/// `--stdin append` waits for data that arrives after the grace period.
#[test]
fn stdin_append_waits_for_late_data() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let mut spawned = env
        .exec()
        .args(["--json", "--stdin", "append", "my_prompt"])
        .spawn_with_stdin(Stdio::piped())?;
    let mut writer = spawned.child.stdin.take();
    // The point of the test is time passing with nothing on the pipe.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(env.requests().is_empty(), "must wait for stdin EOF first");
    if let Some(pipe) = writer.as_mut() {
        pipe.write_all(b"late data\n")?;
    }
    drop(writer);
    let run = spawned.finish()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(
        last_input_text(&env.requests()[0])?,
        "my_prompt\n\n<stdin>\nlate data\n</stdin>"
    );
    Ok(())
}

/// No argument and a terminal on stdin: the "no prompt" error, exit 1.
#[test]
fn no_prompt_with_terminal_stdin_is_an_error() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let pty = nix::pty::openpty(None, None)?;
    let run = env
        .exec()
        .arg("--json")
        .spawn_with_stdin(Stdio::from(pty.slave))?
        .finish()?;
    drop(pty.master);
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(
        run.stderr.contains(
            "No prompt provided. Either specify one as an argument or pipe the prompt into stdin."
        ),
        "{run}"
    );
    assert!(env.requests().is_empty());
    Ok(())
}

/// A prompt argument with a terminal on stdin leaves stdin untouched.
#[test]
fn prompt_argument_with_terminal_stdin_reads_nothing() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let pty = nix::pty::openpty(None, None)?;
    let run = env
        .exec()
        .args(["--json", "tty prompt"])
        .spawn_with_stdin(Stdio::from(pty.slave))?
        .finish()?;
    drop(pty.master);
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(!run.stderr.contains("Reading"), "{run}");
    assert_eq!(last_input_text(&env.requests()[0])?, "tty prompt");
    Ok(())
}
