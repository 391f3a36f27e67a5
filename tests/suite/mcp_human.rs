//! MCP calls in the human transcript (SPEC §5.3 "MCP call"), printed as
//! 0.169 prints them.
#![cfg(target_os = "linux")]

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use super::mcp::{configure, server_table};
use crate::common::*;

/// Run one MCP call (`tool` with `arguments`) against the test server started
/// with `server_args`, in human mode with `color`; returns stderr.
fn human_mcp_call(
    server_args: &[&str],
    tool: &str,
    arguments: Value,
    color: &str,
) -> anyhow::Result<String> {
    let env = TestEnv::new(vec![
        calls_reply("resp_1", &[("call_1", tool, arguments)]),
        done_reply("resp_2"),
    ])?;
    configure(&env, &[server_table("echo", server_args, "")])?;
    let run = env.exec().args(["--color", color, "go"]).run()?;
    anyhow::ensure!(run.code() == Some(0), "{run}");
    Ok(run.stderr)
}

/// The lines of uncoloured `stderr` from the first one starting with
/// `mcp: echo/` up to the agent's `codex` line.
fn mcp_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .skip_while(|l| !l.starts_with("mcp: echo/"))
        .take_while(|l| *l != "codex")
        .collect()
}

/// MCP calls read as 0.169 prints them: `mcp: <server>/<tool> started`, then
/// `(completed)` or `(failed)`; a transport error follows on its own line, a
/// tool's own `isError` text does not.
#[test]
fn mcp_calls_are_printed_as_the_reference_does() -> anyhow::Result<()> {
    let echo = json!({"text": "hello"});
    let stderr = human_mcp_call(&[], "mcp__echo__echo", echo.clone(), "never")?;
    assert_eq!(
        mcp_lines(&stderr),
        vec!["mcp: echo/echo started", "mcp: echo/echo (completed)"],
        "{stderr}"
    );
    assert!(!stderr.contains("tool echo.echo"), "{stderr}");
    let stderr = human_mcp_call(&["--is-error"], "mcp__echo__echo", echo.clone(), "never")?;
    assert_eq!(
        mcp_lines(&stderr),
        vec!["mcp: echo/echo started", "mcp: echo/echo (failed)"],
        "{stderr}"
    );
    assert!(!stderr.contains("echo went wrong"), "{stderr}");
    let stderr = human_mcp_call(&["--crash-on-call"], "mcp__echo__echo", echo, "never")?;
    let lines = mcp_lines(&stderr);
    assert_eq!(
        lines[..2],
        ["mcp: echo/echo started", "mcp: echo/echo (failed)"],
        "{stderr}"
    );
    assert!(
        lines.get(2).is_some_and(|l| l.contains("tool call failed")),
        "{stderr}"
    );
    Ok(())
}

/// With colour: `mcp:` bold, `<server>/<tool>` cyan, `started` dim, and the
/// outcome dim in parentheses with `completed` green (as 0.169 colours them).
#[test]
fn mcp_call_lines_are_coloured_as_the_reference_does() -> anyhow::Result<()> {
    let stderr = human_mcp_call(&[], "mcp__echo__echo", json!({"text": "hello"}), "always")?;
    assert!(
        stderr.contains("\x1b[1mmcp:\x1b[0m \x1b[36mecho/echo\x1b[0m \x1b[2mstarted\x1b[0m\n"),
        "{stderr:?}"
    );
    assert!(
        stderr.contains(
            "\x1b[1mmcp:\x1b[0m \x1b[36mecho/echo\x1b[0m \x1b[2m(\x1b[32mcompleted\x1b[0m)\x1b[0m\n"
        ),
        "{stderr:?}"
    );
    Ok(())
}
