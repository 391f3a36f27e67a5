//! Offline demo: one `codex exec` turn against a scripted model, no API key, no network.
//!
//! ```text
//! cargo run --release --example demo
//! ```
//!
//! It starts the mock Responses server (crates/mock-responses) on 127.0.0.1 with a small
//! scripted turn: the model thinks, posts a plan (`update_plan`), runs `ls`, adds README.md
//! with `apply_patch`, runs `cat` on it (commands and the edit really happen, inside the
//! Landlock + seccomp sandbox, `--sandbox workspace-write`), calls the `echo` tool of a
//! local MCP server (`mcp__demo__echo`, an `mcp_tool_call` item), then answers. It makes a
//! temporary CODEX_HOME whose config.toml points a provider at the mock and declares
//! `[mcp_servers.demo]`, a stdio server running this repository's `mcp-test-server`
//! binary, and a temporary git repository to work in. Then it runs the release `codex`
//! binary (building it and `mcp-test-server` first when missing or older than this
//! example) twice:
//!
//! 1. `codex exec --json --sandbox workspace-write "..."`, streaming the JSONL events to stdout as they arrive;
//! 2. `codex exec --sandbox workspace-write "..."` in human mode: the transcript goes to stderr, the final message
//!    to stdout;
//!
//! and finally summarises what the mock received.

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

#[path = "common/binaries.rs"]
mod binaries;

use anyhow::{bail, Context, Result};
use binaries::Binaries;
use mock_responses::{ev, MockServer, RecordedRequest, Reply};
use serde_json::json;

const PROMPT: &str = "Add a README with a short overview of this repository.";

fn main() -> Result<()> {
    let Binaries {
        codex, mcp_server, ..
    } = binaries::locate()?;

    // The same two-response turn for each of the two runs.
    let server = MockServer::start([scripted_turn(), scripted_turn()].concat())
        .context("cannot start the mock Responses server")?;
    let codex_home = tempfile::tempdir().context("cannot create a temporary CODEX_HOME")?;
    let repo = tempfile::tempdir().context("cannot create a temporary work directory")?;
    make_git_repo(repo.path())?;
    fs::write(
        codex_home.path().join("config.toml"),
        format!(
            r#"model = "gpt-5-codex"
model_provider = "mock"

[model_providers.mock]
name = "Mock"
base_url = "{}"
env_key = "CODEX_API_KEY"
wire_api = "responses"

[mcp_servers.demo]
command = {:?}
required = true
"#,
            server.base_url(),
            mcp_server.to_string_lossy()
        ),
    )
    .context("cannot write config.toml")?;

    let command = |json: bool| {
        let mut cmd = Command::new(&codex);
        cmd.arg("exec");
        if json {
            cmd.arg("--json");
        }
        cmd.args(["--sandbox", "workspace-write", PROMPT])
            .current_dir(repo.path())
            .env("CODEX_HOME", codex_home.path())
            // A placeholder: the mock accepts any key.
            .env("CODEX_API_KEY", "sk-offline-demo")
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .stdin(Stdio::null());
        cmd
    };

    let mut out = io::stdout().lock();
    writeln!(out, "# mock Responses server at {}", server.base_url())?;
    writeln!(out, "# codex binary: {}", codex.display())?;

    // 1. JSONL mode, streamed line by line.
    writeln!(
        out,
        "\n## codex exec --json --sandbox workspace-write {PROMPT:?}\n"
    )?;
    out.flush()?;
    let mut child = command(true)
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", codex.display()))?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    for line in BufReader::new(stdout).lines() {
        writeln!(out, "{}", line.context("cannot read codex's stdout")?)?;
        out.flush()?;
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("codex exec --json failed: {status}");
    }

    // 2. Human mode: transcript on stderr (inherited), final message on stdout.
    writeln!(
        out,
        "\n## codex exec --sandbox workspace-write {PROMPT:?}  (transcript on stderr)\n"
    )?;
    out.flush()?;
    let output = command(false)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", codex.display()))?;
    if !output.status.success() {
        bail!("codex exec failed: {}", output.status);
    }
    writeln!(
        out,
        "\n[stdout] {}",
        String::from_utf8_lossy(&output.stdout).trim_end()
    )?;

    summarise(&mut out, &server.response_requests())?;
    Ok(())
}

/// Six model responses: a plan, a command, a patch, a second command (all run
/// for real, in the Landlock + seccomp sandbox), an MCP tool call, then the
/// final message.
fn scripted_turn() -> Vec<Reply> {
    let plan = json!({
        "explanation": "Small change, two steps.",
        "plan": [
            {"step": "Look at the repository", "status": "in_progress"},
            {"step": "Write README.md with a project overview", "status": "pending"},
        ],
    });
    let ls = json!({"cmd": "ls -A", "login": false, "yield_time_ms": 2000});
    let cat =
        json!({"cmd": "cat README.md && wc -l README.md", "login": false, "yield_time_ms": 2000});
    let echo = json!({"text": "README.md is written"});
    let patch = "*** Begin Patch\n*** Add File: README.md\n+# demo\n+\n+A repository edited by the offline demo.\n*** End Patch\n";
    vec![
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::reasoning("rs_1", &["**Planning the README**"]),
            ev::function_call("call_plan", "update_plan", &plan.to_string()),
            ev::completed_with_usage("resp_1", 1200, 0, 80, 48),
        ]),
        Reply::sse(vec![
            ev::created("resp_2"),
            ev::function_call("call_ls", "exec_command", &ls.to_string()),
            ev::completed_with_usage("resp_2", 1300, 1152, 30, 0),
        ]),
        Reply::sse(vec![
            ev::created("resp_3"),
            ev::custom_tool_call("call_patch", "apply_patch", patch),
            ev::completed_with_usage("resp_3", 1400, 1280, 60, 0),
        ]),
        Reply::sse(vec![
            ev::created("resp_4"),
            ev::function_call("call_cat", "exec_command", &cat.to_string()),
            ev::completed_with_usage("resp_4", 1500, 1408, 30, 0),
        ]),
        Reply::sse(vec![
            ev::created("resp_5"),
            ev::function_call("call_mcp", "mcp__demo__echo", &echo.to_string()),
            ev::completed_with_usage("resp_5", 1550, 1408, 30, 0),
        ]),
        Reply::sse(vec![
            ev::created("resp_6"),
            ev::reasoning("rs_2", &["**Summarising**"]),
            ev::message_added("msg_1"),
            ev::output_text_delta("msg_1", "Added README.md with a short overview; "),
            ev::output_text_delta("msg_1", "`cat` shows its three lines."),
            ev::message(
                "msg_1",
                "Added README.md with a short overview; `cat` shows its three lines.",
            ),
            ev::completed_with_usage("resp_6", 1600, 1536, 40, 16),
        ]),
    ]
}

fn summarise(out: &mut impl Write, requests: &[RecordedRequest]) -> Result<()> {
    writeln!(out, "\n## what the mock received\n")?;
    writeln!(out, "{} POST /v1/responses requests", requests.len())?;
    for (i, request) in requests.iter().enumerate() {
        let body = request.json();
        let tools: Vec<&str> = body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["name"].as_str().or(t["type"].as_str()))
            .collect();
        writeln!(
            out,
            "  #{}: model={} input_items={} tools={:?} bytes={}",
            i + 1,
            body["model"].as_str().unwrap_or("?"),
            request.input().len(),
            tools,
            request.body.len(),
        )?;
    }
    if let Some(first) = requests.first() {
        writeln!(out, "headers of #1:")?;
        for (name, value) in &first.headers {
            let value = if name == "authorization" {
                "Bearer sk-…(redacted)"
            } else {
                value
            };
            writeln!(out, "  {name}: {value}")?;
        }
    }
    Ok(())
}

/// Makes `dir` a git repository (`git init`; a bare `.git` folder when git is missing,
/// which is all the runner's repository check looks for).
fn make_git_repo(dir: &Path) -> Result<()> {
    let init = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .status();
    if !matches!(init, Ok(status) if status.success()) {
        fs::create_dir(dir.join(".git")).context("cannot create .git")?;
    }
    Ok(())
}
