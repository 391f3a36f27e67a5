//! The `codex exec` front end: startup checks, then a client of the agent thread
//! that renders its notifications (JSONL or human), handles signals and a closed
//! stdout, and writes the output files.

mod human;
mod images;
mod jsonl;
mod last_message;
mod prompt;
pub mod reporter;
mod session;
mod sink;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::cli::{ColorArg, ExecArgs, ExecCommand};
use crate::config::Config;
use crate::exit::ExitStatus;
use crate::review::{ReviewEvents, ReviewRequest, ReviewTarget};
use crate::runner::events::{ItemDetails, MessageText, ThreadError, ThreadEvent};
use crate::runner::model::ModelClient;
use crate::runner::tools::mcp::McpConnections;
use crate::runner::{context, AgentThread, Op, INTERRUPTED_MESSAGE};
use human::HumanRenderer;
use jsonl::JsonlRenderer;
use reporter::Reporter;
use sink::{SinkError, StdoutSink};

/// After a signal, how long the agent may take to end the turn before the
/// front end ends it itself.
const INTERRUPT_GRACE_MS: u64 = 500;

/// Printed on stderr when SIGTERM ended the run (SPEC §0.5).
const TERMINATED_MESSAGE: &str = "terminated";

/// Message printed by the git-repository check.
const GIT_CHECK_MESSAGE: &str =
    "Not inside a trusted directory and --skip-git-repo-check was not specified.";

/// Run `codex exec`. Everything before the runtime (config, prompt, git check)
/// is synchronous; the turn runs on a single-threaded tokio runtime.
pub fn main(args: ExecArgs) -> ExitStatus {
    tune_allocator();
    become_subreaper();
    let reporter = Reporter::new(use_color(args.color));
    if args.full_auto {
        reporter.warning("`--full-auto` is deprecated; use `--sandbox workspace-write` instead.");
    }
    let (resume, review) = match &args.command {
        Some(ExecCommand::Resume(resume)) => (Some(resume), None),
        Some(ExecCommand::Review(review)) => (None, Some(review)),
        None => (None, None),
    };
    let mut config = match Config::resolve(&args) {
        Ok(config) => config,
        Err(err) => {
            reporter.fatal(&err.to_string());
            return ExitStatus::Failure;
        }
    };
    if review.is_some() {
        crate::review::configure(&mut config, &args);
    }
    if config.sandbox != crate::sandbox::SandboxPolicy::DangerFullAccess {
        // Fail closed, but per command: the run itself may need no command at all.
        if let Err(err) = crate::sandbox::probe() {
            config.warnings.push(format!(
                "the sandbox cannot be enforced on this system ({err}); every command will fail \
                 unless you choose `--sandbox danger-full-access`"
            ));
        } else if config.sandbox_namespaces == crate::sandbox::Namespaces::Auto {
            probe_namespaces(&mut config);
        }
    }
    // Captured while single-threaded, like `local_date` below.
    let stamp = crate::session::file_stamp();
    let thread_session = match session::open(resume, &config, args.ephemeral, &stamp, &reporter) {
        Ok(thread_session) => thread_session,
        Err(err) => {
            reporter.fatal(&err.to_string());
            return ExitStatus::Failure;
        }
    };
    let prompt_arg = match (resume, review) {
        (Some(resume), _) => session::prompt_arg(resume, args.prompt.as_deref()),
        // A review's own positional holds its custom instructions (SPEC §1.4).
        (None, Some(review)) => review.prompt.as_deref(),
        (None, None) => args.prompt.as_deref(),
    };
    let prompt = match (review, prompt_arg) {
        // A review without instructions has a target flag instead (or fails
        // below): stdin is not read.
        (Some(_), None) => Ok(None),
        (_, arg) => prompt::resolve(arg, args.stdin, &reporter).map(Some),
    };
    let prompt = match prompt {
        Ok(prompt) => prompt,
        Err(err) => {
            reporter.fatal(&err.to_string());
            return ExitStatus::Failure;
        }
    };
    let review_target = match review.map(|r| ReviewTarget::new(r, prompt.as_deref())) {
        None => None,
        Some(Ok(target)) => Some(target),
        Some(Err(err)) => {
            reporter.fatal(&err.to_string());
            return ExitStatus::Failure;
        }
    };
    let mut image_paths = args.images.clone();
    image_paths.extend(resume.iter().flat_map(|r| r.images.iter().cloned()));
    let images = match images::load(&image_paths, &config.cwd) {
        Ok(images) => images,
        Err(err) => {
            reporter.fatal(&err.to_string());
            return ExitStatus::Failure;
        }
    };
    let skip_git = args.skip_git_repo_check || args.dangerously_bypass_approvals_and_sandbox;
    if !skip_git && context::git_root(&config.cwd).is_none() {
        reporter.fatal(GIT_CHECK_MESSAGE);
        return ExitStatus::Failure;
    }
    if let Some(path) = &args.output_last_message {
        if let Err(err) = last_message::check_writable(path) {
            reporter.fatal(&err.to_string());
            return ExitStatus::Failure;
        }
    }
    // What is sent, and what the transcript shows as the `user` block.
    let (prompt, shown_prompt) = match &review_target {
        Some(target) => match target.request(&config.cwd) {
            Ok(ReviewRequest { prompt, hint }) => (prompt, Some(hint)),
            Err(err) => {
                reporter.fatal(&err.to_string());
                return ExitStatus::Failure;
            }
        },
        None => (prompt.unwrap_or_default(), None),
    };
    // Computed before the runtime starts: the local offset is only knowable
    // while the process is single-threaded.
    let local_date = local_date();

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            reporter.fatal(&format!("Error: cannot start the async runtime: {err}"));
            return ExitStatus::Failure;
        }
    };
    let front = FrontEnd {
        json: args.json,
        output_last_message: args.output_last_message.clone(),
        reporter,
        spinner: !args.json
            && std::io::stderr().is_terminal()
            && std::env::var_os("RUST_LOG").is_none(),
        shown_prompt,
    };
    let status =
        runtime.block_on(front.run(Arc::new(config), prompt, images, local_date, thread_session));
    // Do not wait for stray blocking work (DNS lookups) at exit.
    runtime.shutdown_background();
    if status == ExitStatus::Terminated {
        reporter.line(TERMINATED_MESSAGE);
    }
    status
}

/// `[sandbox] namespaces = "auto"`: find out once whether layer 2 works here. When it
/// does not, commands run with layer 1 alone (no helper retries it per command) and the
/// run gets one warning naming what is then not enforced.
fn probe_namespaces(config: &mut Config) {
    let Err(reason) = crate::sandbox::probe_namespaces(&config.sandbox) else {
        return;
    };
    config.sandbox_namespaces = crate::sandbox::Namespaces::Off;
    let mut open = Vec::new();
    if matches!(
        config.sandbox,
        crate::sandbox::SandboxPolicy::WorkspaceWrite { .. }
    ) {
        open.push(".git/.codex/.agents stay writable inside writable roots");
    }
    open.push("$CODEX_HOME/auth.json stays readable");
    open.push("other processes stay visible");
    config.warnings.push(format!(
        "sandbox: namespaces are unavailable ({reason}); running with Landlock and seccomp \
         only: {}",
        open.join(", ")
    ));
}

/// Options of the front end that are not agent configuration.
struct FrontEnd {
    json: bool,
    output_last_message: Option<std::path::PathBuf>,
    reporter: Reporter,
    spinner: bool,
    /// A review's hint, shown (and passed to `notify`) instead of the prompt;
    /// its notifications go through [`ReviewEvents`].
    shown_prompt: Option<String>,
}

/// How the turn ended, as seen by the front end.
enum Outcome {
    Completed,
    Failed,
    /// The reader closed stdout: a quiet exit 0.
    StdoutClosed,
    /// Writing to stdout failed otherwise (full disk, I/O error): exit 1.
    StdoutFailed(SinkError),
}

enum Renderer {
    Jsonl(JsonlRenderer),
    Human(HumanRenderer),
}

impl Renderer {
    fn render(&mut self, event: &ThreadEvent) -> Result<(), SinkError> {
        match self {
            Renderer::Jsonl(r) => r.render(event),
            Renderer::Human(r) => {
                r.render(event);
                Ok(())
            }
        }
    }
}

impl FrontEnd {
    async fn run(
        self,
        config: Arc<Config>,
        prompt: String,
        images: Vec<serde_json::Value>,
        local_date: String,
        thread_session: crate::session::ThreadSession,
    ) -> ExitStatus {
        let cancel = CancellationToken::new();
        let (mut sigint, mut sigterm) = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => (int, term),
            (Err(err), _) | (_, Err(err)) => {
                self.reporter
                    .fatal(&format!("Error: cannot install signal handlers: {err}"));
                return ExitStatus::Failure;
            }
        };
        let client = match ModelClient::new(&config, &thread_session.thread_id) {
            Ok(client) => client,
            Err(err) => {
                self.reporter.fatal(&format!("Error: {err}"));
                return ExitStatus::Failure;
            }
        };
        // MCP servers come up before the first model request (SPEC §15.2); while
        // they start, the connection to the model endpoint is opened (SPEC §0.5).
        let startup = async {
            if config.mcp_servers.is_empty() {
                McpConnections::start(&config.mcp_servers).await
            } else {
                let (started, ()) =
                    tokio::join!(McpConnections::start(&config.mcp_servers), client.warm_up());
                started
            }
        };
        let mcp = tokio::select! {
            started = startup => match started {
                Ok(mcp) => mcp,
                Err(message) => {
                    self.reporter.fatal(&format!("Error: {message}"));
                    return ExitStatus::Failure;
                }
            },
            _ = sigint.recv() => return ExitStatus::Interrupted,
            _ = sigterm.recv() => return ExitStatus::Terminated,
        };
        let mcp_summary = mcp.startup_summary();
        let recorder = thread_session.recorder.clone();
        let mut thread = match AgentThread::start(
            config.clone(),
            local_date,
            cancel.clone(),
            thread_session,
            mcp,
            client,
        ) {
            Ok(thread) => thread,
            Err(err) => {
                self.reporter.fatal(&format!("Error: {err}"));
                return ExitStatus::Failure;
            }
        };
        let mut review_events = self.shown_prompt.is_some().then(ReviewEvents::new);
        let shown_prompt = self.shown_prompt.clone().unwrap_or_else(|| prompt.clone());
        let mut renderer = if self.json {
            Renderer::Jsonl(JsonlRenderer::new(StdoutSink::new()))
        } else {
            Renderer::Human(HumanRenderer::new(
                &config,
                shown_prompt.clone(),
                self.reporter,
                self.spinner,
                mcp_summary,
            ))
        };
        if thread
            .submit(Op::UserTurn {
                items: vec![context::user_message(&prompt, images)],
            })
            .await
            .is_err()
        {
            self.reporter
                .fatal("Error: the agent thread stopped unexpectedly");
            return ExitStatus::Failure;
        }

        let mut last_message: Option<MessageText> = None;
        let mut thread_id = String::new();
        let mut signalled: Option<ExitStatus> = None;
        let grace = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(grace);
        let outcome = loop {
            tokio::select! {
                event = next_event(&mut thread, review_events.as_mut()) => {
                    let Some(event) = event else {
                        break Outcome::Failed;
                    };
                    // After SIGTERM no turn event is printed (SPEC §0.5): the SDK
                    // reports its own `AbortError` only when the stream ends
                    // without `turn.failed`. Items in flight are still completed.
                    let hidden = signalled == Some(ExitStatus::Terminated) && is_turn_end(&event);
                    if !hidden {
                        if let Err(err) = renderer.render(&event) {
                            cancel.cancel();
                            break match err {
                                SinkError::Closed => Outcome::StdoutClosed,
                                failed @ SinkError::Failed(_) => Outcome::StdoutFailed(failed),
                            };
                        }
                    }
                    match event {
                        ThreadEvent::TurnCompleted { .. } => break Outcome::Completed,
                        ThreadEvent::TurnFailed { .. } => break Outcome::Failed,
                        ThreadEvent::ItemCompleted { item } => {
                            if let ItemDetails::AgentMessage { text } = item.details {
                                last_message = Some(text);
                            }
                        }
                        ThreadEvent::ThreadStarted { thread_id: id } => thread_id = id,
                        _ => {}
                    }
                }
                _ = sigint.recv() => {
                    if signalled.is_some() {
                        return ExitStatus::Interrupted;
                    }
                    signalled = Some(ExitStatus::Interrupted);
                    cancel.cancel();
                    grace.as_mut().reset(tokio::time::Instant::now() + Duration::from_millis(INTERRUPT_GRACE_MS));
                }
                _ = sigterm.recv() => {
                    if signalled.is_some() {
                        return ExitStatus::Terminated;
                    }
                    signalled = Some(ExitStatus::Terminated);
                    cancel.cancel();
                    grace.as_mut().reset(tokio::time::Instant::now() + Duration::from_millis(INTERRUPT_GRACE_MS));
                }
                () = &mut grace, if signalled.is_some() => {
                    // The agent did not end the turn in time: end it for it (after
                    // SIGINT only; SIGTERM prints no turn event).
                    if signalled == Some(ExitStatus::Interrupted) {
                        let message = INTERRUPTED_MESSAGE.to_string();
                        let _ = renderer.render(&ThreadEvent::Error { message: message.clone() });
                        let _ = renderer.render(&ThreadEvent::TurnFailed { error: ThreadError { message } });
                    }
                    break Outcome::Failed;
                }
            }
        };
        if let Renderer::Human(human) = &mut renderer {
            human.finish();
        }
        // Let the agent finish its cleanup, but never hang on it.
        let _ = tokio::time::timeout(Duration::from_millis(INTERRUPT_GRACE_MS), thread.shutdown())
            .await;
        // The human transcript showed the `error` event on stderr already.
        if let Some(failure) = recorder.as_deref().and_then(|r| r.failure()) {
            if self.json {
                self.reporter.warning(&failure);
            }
        }

        match outcome {
            Outcome::StdoutClosed => ExitStatus::Success,
            Outcome::StdoutFailed(err) => {
                self.reporter.fatal(&format!("Error: {err}"));
                ExitStatus::Failure
            }
            Outcome::Completed => {
                // Unescaped only for the consumers that need the plain text.
                let wanted =
                    self.output_last_message.is_some() || config.notify.is_some() || !self.json;
                let last_message = last_message.filter(|_| wanted).map(|m| m.text());
                self.write_last_message(last_message.as_deref());
                if let Some(argv) = &config.notify {
                    notify(
                        argv,
                        &thread_id,
                        &config.cwd,
                        &shown_prompt,
                        last_message.as_deref(),
                    )
                    .await;
                }
                if !self.json && !std::io::stdout().is_terminal() {
                    if let Some(text) = &last_message {
                        if let Err(err @ SinkError::Failed(_)) = StdoutSink::new().text_block(text)
                        {
                            self.reporter.fatal(&format!("Error: {err}"));
                            return ExitStatus::Failure;
                        }
                    }
                }
                signalled.unwrap_or(ExitStatus::Success)
            }
            Outcome::Failed => {
                // Both modes, as 0.169 (SPEC §6.1): a script reading the file
                // after a failure reads nothing, never a stale answer.
                if let Some(path) = &self.output_last_message {
                    self.write_file(path, "");
                }
                signalled.unwrap_or(ExitStatus::Failure)
            }
        }
    }

    fn write_last_message(&self, message: Option<&str>) {
        let Some(path) = &self.output_last_message else {
            return;
        };
        match message {
            Some(text) => self.write_file(path, text),
            None => {
                self.write_file(path, "");
                self.reporter.line(&format!(
                    "Warning: no last agent message; wrote empty content to {}",
                    path.display()
                ));
            }
        }
    }

    fn write_file(&self, path: &Path, text: &str) {
        if let Err(err) = std::fs::write(path, text) {
            self.reporter.line(&format!(
                "Failed to write last message file {}: {err}",
                path.display()
            ));
        }
    }
}

/// The thread's next notification, through the review filter for a review.
async fn next_event(
    thread: &mut AgentThread,
    review: Option<&mut ReviewEvents>,
) -> Option<ThreadEvent> {
    match review {
        Some(review) => review.next(thread).await,
        None => thread.next_event().await,
    }
}

/// Whether `event` ends the turn or reports its failure (`turn.*`, `error`).
fn is_turn_end(event: &ThreadEvent) -> bool {
    match event {
        ThreadEvent::TurnCompleted { .. }
        | ThreadEvent::TurnFailed { .. }
        | ThreadEvent::Error { .. } => true,
        ThreadEvent::ThreadStarted { .. }
        | ThreadEvent::TurnStarted {}
        | ThreadEvent::ItemStarted { .. }
        | ThreadEvent::ItemUpdated { .. }
        | ThreadEvent::ItemCompleted { .. }
        | ThreadEvent::ContextCompacted {} => false,
    }
}

/// How long the `notify` program may run before the process exits without it.
const NOTIFY_TIMEOUT_MS: u64 = 5000;

/// Run the `notify` program with the turn summary as its last argument (SPEC §17).
async fn notify(argv: &[String], thread_id: &str, cwd: &Path, prompt: &str, last: Option<&str>) {
    let payload = serde_json::json!({
        "type": "agent-turn-complete",
        "thread-id": thread_id,
        "turn-id": uuid::Uuid::now_v7().to_string(),
        "cwd": cwd,
        "input-messages": [prompt],
        "last-assistant-message": last,
    });
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .arg(payload.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    match child {
        Ok(mut child) => {
            let waited =
                tokio::time::timeout(Duration::from_millis(NOTIFY_TIMEOUT_MS), child.wait()).await;
            if waited.is_err() {
                tracing::warn!(program, "notify program still running; killing it");
            }
        }
        Err(err) => tracing::warn!(program, error = %err, "cannot run the notify program"),
    }
}

fn use_color(arg: ColorArg) -> bool {
    match arg {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// Keep large buffers (a multi-megabyte answer is parsed, copied and serialised
/// a few times) on the heap instead of a fresh `mmap` per allocation, and keep
/// freed heap memory instead of returning it at once: each new mapping, and
/// each page given back and taken again, is zero-filled page by page, which
/// dominated streaming a big answer.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// Allocations below this size come from the heap (glibc's default is 128 KiB).
        const MMAP_THRESHOLD_BYTES: libc::c_int = 64 << 20;
        /// Free memory at the top of the heap is given back to the kernel only
        /// beyond this size (glibc's default is 128 KiB).
        const TRIM_THRESHOLD_BYTES: libc::c_int = 64 << 20;
        // SAFETY: `mallopt` only changes allocator tuning; it is called before any
        // other thread exists, and a rejected setting leaves the defaults in place.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES);
        }
    }
}

/// Make this process a child subreaper before any command is spawned: every
/// orphan of the processes the run starts (a `setsid` child of an unsandboxed
/// command, the tree of a killed supervisor) is reparented here instead of to
/// init, so the run-end sweep (`tools::shell::reaper`) can kill it.
fn become_subreaper() {
    #[cfg(target_os = "linux")]
    if let Err(err) = nix::sys::prctl::set_child_subreaper(true) {
        tracing::debug!(error = %err, "cannot become a child subreaper");
    }
}

/// Today's local date as `YYYY-MM-DD`.
fn local_date() -> String {
    let now = time::OffsetDateTime::now_utc();
    let local = time::UtcOffset::current_local_offset()
        .map(|offset| now.to_offset(offset))
        .unwrap_or(now);
    let date = local.date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}
