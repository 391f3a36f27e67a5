//! What a run left behind: the exit status, the JSONL events, the requests the model
//! received; checks of benign twins and a compact digest for failure messages.

use std::fmt;
use std::path::Path;

use anyhow::{ensure, Context, Result};
use serde_json::Value;

use crate::common::Run;

/// A finished (or killed) run: its output, parsed events and the model requests.
pub struct Outcome {
    pub run: Run,
    pub events: Vec<Value>,
    pub requests: Vec<mock_responses::RecordedRequest>,
}

/// A completed `command_execution` item.
#[derive(Debug)]
pub struct CommandItem {
    pub output: String,
    pub exit_code: Option<i64>,
}

impl Outcome {
    /// Whether codex exited 0 after `turn.completed`.
    pub fn completed(&self) -> bool {
        self.run.code() == Some(0) && self.events.iter().any(|e| e["type"] == "turn.completed")
    }

    /// Fail unless [`Outcome::completed`].
    pub fn ensure_completed(&self) -> Result<()> {
        ensure!(self.completed(), "the run did not complete:\n{self}");
        Ok(())
    }

    /// The `n`th completed `command_execution` item (0-based).
    pub fn command(&self, n: usize) -> Result<CommandItem> {
        let item = self
            .events
            .iter()
            .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
            .nth(n)
            .with_context(|| format!("no command #{n}:\n{self}"))?;
        Ok(CommandItem {
            output: item["item"]["aggregated_output"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            exit_code: item["item"]["exit_code"].as_i64(),
        })
    }

    /// Fail unless command `n` exited 0 and its output contains `expected`.
    pub fn ensure_ok(&self, n: usize, expected: &str) -> Result<()> {
        let command = self.command(n)?;
        ensure!(
            command.exit_code == Some(0) && command.output.contains(expected),
            "benign command #{n} should exit 0 printing {expected:?}, got exit {:?}: {:?}\n{self}",
            command.exit_code,
            shorten(&command.output, 600)
        );
        Ok(())
    }

    /// The usual benign twin check: the run completed and command `n` exited 0
    /// printing `expected`.
    pub fn twin_ok(&self, n: usize, expected: &str) -> Result<()> {
        self.ensure_completed()?;
        self.ensure_ok(n, expected)
    }

    /// The text the model got back for `call_<n>`.
    pub fn reply(&self, n: usize) -> Result<String> {
        let call_id = format!("call_{n}");
        self.requests
            .iter()
            .flat_map(|r| r.input())
            .find(|item| {
                item["call_id"] == call_id.as_str()
                    && matches!(
                        item["type"].as_str(),
                        Some("function_call_output" | "custom_tool_call_output")
                    )
            })
            .and_then(|item| item["output"].as_str().map(str::to_string))
            .with_context(|| format!("no output for {call_id}:\n{self}"))
    }

    /// The lines of the run's output (stdout, stderr) that hold `secret`, for evidence.
    pub fn lines_with(&self, secret: &str) -> String {
        let lines: Vec<&str> = self
            .events
            .iter()
            .filter_map(|e| e["item"]["aggregated_output"].as_str())
            .chain([self.run.stderr.as_str()])
            .flat_map(str::lines)
            .filter(|line| line.contains(secret))
            .collect();
        shorten(&lines.join(" | "), 1000)
    }

    /// Whether `secret` shows up anywhere: stdout, stderr or a request to the model.
    pub fn leaks(&self, secret: &str) -> bool {
        self.run.stdout.contains(secret)
            || self.run.stderr.contains(secret)
            || self
                .requests
                .iter()
                .any(|r| String::from_utf8_lossy(&r.body).contains(secret))
    }
}

impl fmt::Display for Outcome {
    /// A digest: the exit status, each tool item's status and output, the end of stderr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "codex exited with {}", self.run.status)?;
        for event in &self.events {
            let item = &event["item"];
            if event["type"] != "item.completed" {
                continue;
            }
            match item["type"].as_str() {
                Some("command_execution") => writeln!(
                    f,
                    "  command exit={} output={:?}",
                    item["exit_code"],
                    shorten(item["aggregated_output"].as_str().unwrap_or_default(), 600)
                )?,
                Some("file_change") => {
                    writeln!(f, "  file_change {} {}", item["status"], item["changes"])?
                }
                _ => {}
            }
        }
        write!(f, "  stderr: {:?}", shorten(&self.run.stderr, 1500))
    }
}

/// `text` with its middle cut out when longer than `max` bytes.
fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut head = max / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - max / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}[… {} bytes …]{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

/// Fail unless `path` holds exactly `expected` (a benign twin's file).
pub fn ensure_written(path: &Path, expected: &str) -> Result<()> {
    let found = std::fs::read_to_string(path).ok();
    ensure!(
        found.as_deref() == Some(expected),
        "{} should read {expected:?}, found {found:?}",
        path.display()
    );
    Ok(())
}
