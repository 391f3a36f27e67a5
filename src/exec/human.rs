//! Human renderer (SPEC §5): header and transcript on stderr, a spinner while the
//! model works (stderr, terminal only), the final message on stdout only when
//! stdout is not a terminal.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::file::{ReasoningEffort, ReasoningSummary};
use crate::config::Config;
use crate::exec::reporter::{Reporter, Style};
use crate::runner::events::{
    CommandStatus, ItemDetails, McpToolCallStatus, PatchChangeKind, ThreadEvent, ThreadItem,
};
use crate::runner::model::catalog;
use crate::runner::INTERRUPTED_MESSAGE;

/// Lines of command output shown under a finished command.
const MAX_OUTPUT_LINES: usize = 20;
/// Printed when the thread's history was compacted (SPEC §20), as 0.169.
const CONTEXT_COMPACTED_LINE: &str = "context compacted";
/// Spinner redraw interval.
const SPINNER_TICK_MS: u64 = 100;

/// Renders notifications for people.
#[derive(Debug)]
pub struct HumanRenderer {
    reporter: Reporter,
    header: Vec<(String, String)>,
    prompt: String,
    cwd: String,
    hide_reasoning: bool,
    started: HashMap<String, Instant>,
    spinner: Option<ProgressBar>,
    spinner_enabled: bool,
    /// `mcp startup: …`, printed once when the turn starts.
    mcp_summary: Option<String>,
}

impl HumanRenderer {
    /// A renderer for `config` and the prompt as sent; `mcp_summary` is the
    /// MCP startup line, if servers are configured.
    pub fn new(
        config: &Config,
        prompt: String,
        reporter: Reporter,
        spinner: bool,
        mcp_summary: Option<String>,
    ) -> HumanRenderer {
        let reasoning = catalog::find_or_generic(&config.model).reasoning(config);
        let effort = reasoning.and_then(|r| r.effort);
        let summary = reasoning.map_or(ReasoningSummary::None, |r| r.summary);
        let header = vec![
            ("workdir".to_string(), config.cwd.display().to_string()),
            ("model".to_string(), config.model.clone()),
            ("provider".to_string(), config.provider.id.clone()),
            ("approval".to_string(), "never".to_string()),
            ("sandbox".to_string(), config.sandbox.summary()),
            (
                "reasoning effort".to_string(),
                effort.map_or("none".to_string(), |e: ReasoningEffort| e.to_string()),
            ),
            ("reasoning summaries".to_string(), summary.to_string()),
        ];
        HumanRenderer {
            reporter,
            header,
            prompt,
            cwd: config.cwd.display().to_string(),
            hide_reasoning: config.hide_agent_reasoning,
            started: HashMap::new(),
            spinner: None,
            spinner_enabled: spinner,
            mcp_summary,
        }
    }

    /// Render one notification on stderr.
    pub fn render(&mut self, event: &ThreadEvent) {
        self.stop_spinner();
        match event {
            ThreadEvent::ThreadStarted { thread_id } => self.print_header(thread_id),
            ThreadEvent::TurnStarted {} => {
                // After the header and the failed servers' warnings.
                if let Some(summary) = self.mcp_summary.take() {
                    self.reporter.line(&summary);
                }
            }
            ThreadEvent::ItemStarted { item } => self.item_started(item),
            ThreadEvent::ItemUpdated { item } => self.item_updated(item),
            ThreadEvent::ItemCompleted { item } => self.item_completed(item),
            ThreadEvent::Error { message } if message == INTERRUPTED_MESSAGE => {}
            ThreadEvent::Error { message } => self.reporter.error(message),
            ThreadEvent::TurnFailed { error } if error.message == INTERRUPTED_MESSAGE => {
                self.reporter.line("turn interrupted");
            }
            ThreadEvent::TurnFailed { .. } => {}
            ThreadEvent::ContextCompacted {} => self.reporter.line(CONTEXT_COMPACTED_LINE),
            ThreadEvent::TurnCompleted { usage } => {
                self.reporter
                    .line(&self.reporter.paint("tokens used", Style::MagentaItalic));
                self.reporter.line(&thousands(usage.blended_total()));
            }
        }
        let waiting = matches!(
            event,
            ThreadEvent::TurnStarted {}
                | ThreadEvent::ItemCompleted { .. }
                | ThreadEvent::ItemUpdated { .. }
                | ThreadEvent::Error { .. }
                | ThreadEvent::ContextCompacted {}
        );
        if waiting {
            self.start_spinner();
        }
    }

    /// Stop drawing the spinner (before the process prints its last lines).
    pub fn finish(&mut self) {
        self.stop_spinner();
    }

    fn start_spinner(&mut self) {
        if !self.spinner_enabled || self.spinner.is_some() {
            return;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message("working");
        bar.enable_steady_tick(Duration::from_millis(SPINNER_TICK_MS));
        self.spinner = Some(bar);
    }

    fn stop_spinner(&mut self) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
    }

    fn print_header(&self, thread_id: &str) {
        let r = &self.reporter;
        r.line(&format!("OpenAI Codex v{}", env!("CARGO_PKG_VERSION")));
        r.line("--------");
        for (key, value) in &self.header {
            r.line(&format!(
                "{} {value}",
                r.paint(&format!("{key}:"), Style::Bold)
            ));
        }
        r.line(&format!(
            "{} {thread_id}",
            r.paint("session id:", Style::Bold)
        ));
        r.line("--------");
        r.line(&r.paint("user", Style::Cyan));
        r.line(&self.prompt);
    }

    fn item_started(&mut self, item: &ThreadItem) {
        self.started.insert(item.id.clone(), Instant::now());
        let r = &self.reporter;
        match &item.details {
            ItemDetails::CommandExecution { command, .. } => {
                r.line(&r.paint("exec", Style::MagentaItalic));
                r.line(&format!(
                    "{} in {}",
                    r.paint(command, Style::Bold),
                    self.cwd
                ));
            }
            ItemDetails::McpToolCall { server, tool, .. } => {
                r.line(&format!(
                    "{} {}",
                    mcp_call(r, server, tool),
                    r.paint("started", Style::Dim)
                ));
            }
            ItemDetails::TodoList { .. } => self.item_updated(item),
            ItemDetails::WebSearch { .. }
            | ItemDetails::FileChange { .. }
            | ItemDetails::AgentMessage { .. }
            | ItemDetails::Reasoning { .. }
            | ItemDetails::Error { .. } => {}
        }
    }

    fn item_updated(&self, item: &ThreadItem) {
        if let ItemDetails::TodoList { items } = &item.details {
            let r = &self.reporter;
            r.line(&r.paint("Plan update", Style::Magenta));
            for step in items {
                if step.completed {
                    r.line(&r.paint(&format!("  \u{2713} {}", step.text), Style::Green));
                } else {
                    r.line(&r.paint(&format!("  \u{2022} {}", step.text), Style::Dim));
                }
            }
        }
    }

    fn item_completed(&mut self, item: &ThreadItem) {
        let elapsed = self
            .started
            .remove(&item.id)
            .map(|start| start.elapsed())
            .unwrap_or_default();
        let r = &self.reporter;
        match &item.details {
            ItemDetails::AgentMessage { text } => {
                r.line(&r.paint("codex", Style::MagentaItalic));
                r.line(&text.text());
            }
            ItemDetails::Reasoning { text } => {
                if !self.hide_reasoning {
                    r.line(&r.paint(text, Style::Italic));
                }
            }
            ItemDetails::CommandExecution {
                aggregated_output,
                exit_code,
                status,
                ..
            } => {
                let duration = format_duration(elapsed);
                let summary = match (status, exit_code) {
                    (CommandStatus::Completed, _) => {
                        r.paint(&format!(" succeeded in {duration}:"), Style::Green)
                    }
                    (CommandStatus::Declined, _) => r.paint(" declined:", Style::Red),
                    (_, Some(code)) => {
                        r.paint(&format!(" exited {code} in {duration}:"), Style::Red)
                    }
                    (_, None) => r.paint(&format!(" failed in {duration}:"), Style::Red),
                };
                r.line(&summary);
                for line in aggregated_output.lines().take(MAX_OUTPUT_LINES) {
                    r.line(&r.paint(line, Style::Dim));
                }
            }
            ItemDetails::FileChange { changes, status } => {
                r.line(&r.paint("file update", Style::MagentaItalic));
                for change in changes {
                    let letter = match change.kind {
                        PatchChangeKind::Add => "A",
                        PatchChangeKind::Delete => "D",
                        PatchChangeKind::Update => "M",
                    };
                    r.line(&r.paint(&format!("{letter} {}", change.path), Style::Magenta));
                }
                r.line(&format!("patch: {status:?}").to_lowercase());
            }
            ItemDetails::McpToolCall {
                server,
                tool,
                status,
                error,
                ..
            } => {
                // As 0.169: the outcome in parentheses, then a transport error or
                // timeout (not a tool's own `isError` answer) on its own lines.
                let outcome = match status {
                    McpToolCallStatus::Failed => r.paint("failed", Style::Red),
                    McpToolCallStatus::Completed | McpToolCallStatus::InProgress => {
                        r.paint("completed", Style::Green)
                    }
                };
                r.line(&format!(
                    "{} {}",
                    mcp_call(r, server, tool),
                    r.paint(&format!("({outcome})"), Style::Dim)
                ));
                if let Some(error) = error {
                    r.line(&r.paint(&error.message, Style::Red));
                }
            }
            ItemDetails::WebSearch { query, .. } => r.line(&format!("web search: {query}")),
            ItemDetails::TodoList { .. } => {}
            ItemDetails::Error { message } => r.warning(message),
        }
    }
}

/// `mcp: <server>/<tool>`, the start of both lines of an MCP call.
fn mcp_call(r: &Reporter, server: &str, tool: &str) -> String {
    format!(
        "{} {}",
        r.paint("mcp:", Style::Bold),
        r.paint(&format!("{server}/{tool}"), Style::Cyan)
    )
}

/// `1234567` -> `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `0ms`, `1.23s`, `1m 05s`.
fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}m {:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(180), "180");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(5)), "5ms");
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.23s");
        assert_eq!(format_duration(Duration::from_secs(65)), "1m 05s");
    }
}
