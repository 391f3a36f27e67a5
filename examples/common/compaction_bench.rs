//! The compaction scenario of the benchmark (SPEC §20): a 200-step turn whose
//! history is several times the model's context window, so the run compacts
//! several times, next to a 10-step turn that never compacts.
//!
//! The mock models a [`WINDOW_TOKENS`] window (`-c model_context_window=…`): it
//! reports each request's size as its usage and refuses requests that do not fit;
//! summary requests (the ones with `"tool_choice":"none"`) are routed to a fixed
//! note. Each step echoes [`ECHO_BYTES`] bytes, unsandboxed. Every run must
//! answer every step with exit code 0 and no request may be refused; the long
//! one must compact at least [`MIN_COMPACTIONS`] times.

use std::path::Path;

use anyhow::{bail, Context, Result};
use mock_responses::{ev, message_reply, request_tokens, MockServer, RecordedRequest, Reply};
use serde_json::json;

use super::{ms, Bench, WARMUP};

/// Steps of the long (compacting) run.
pub const LONG_STEPS: usize = 200;
/// Steps of the short run it is compared with.
pub const SHORT_STEPS: usize = 10;
/// The modelled context window, in tokens of four bytes.
const WINDOW_TOKENS: u64 = 20_000;
/// Bytes each step's command echoes.
const ECHO_BYTES: usize = 1_000;
/// Fewest compactions the long run must make for the scenario to mean anything.
const MIN_COMPACTIONS: usize = 3;
/// What only a summary request's body contains.
const SUMMARY_MARK: &[u8] = br#""tool_choice":"none""#;

/// The scenario's samples, one per measured run.
pub struct CompactionFigures {
    /// (long run's wall time − the one-message baseline) / [`LONG_STEPS`], in ms.
    pub per_step: Vec<f64>,
    /// Peak RSS of the short run, in MiB.
    pub rss_short: Vec<f64>,
    /// Peak RSS of the long run, in MiB.
    pub rss_long: Vec<f64>,
    /// Compactions per long run.
    pub compactions: Vec<f64>,
}

/// Run both turns `WARMUP + iters` times, alternating.
pub fn measure(
    codex: &Path,
    work: &Path,
    repo: &Path,
    iters: usize,
    baseline_ms: f64,
) -> Result<CompactionFigures> {
    let runs = WARMUP + iters;
    let long = server(LONG_STEPS, runs)?;
    let short = server(SHORT_STEPS, runs)?;
    let long_bench = Bench::new(codex, work, "compact-long", repo, &long)?;
    let short_bench = Bench::new(codex, work, "compact-short", repo, &short)?;
    let window = format!("model_context_window={WINDOW_TOKENS}");
    let args = ["--sandbox", "danger-full-access", "-c", window.as_str()];
    let mut figures = CompactionFigures {
        per_step: Vec::new(),
        rss_short: Vec::new(),
        rss_long: Vec::new(),
        compactions: Vec::new(),
    };
    for i in 0..runs {
        let before = short.response_requests().len();
        let short_run = short_bench.run_with(&args)?;
        check(&short.response_requests()[before..], SHORT_STEPS)?;
        let before = long.response_requests().len();
        let long_run = long_bench.run_with(&args)?;
        let compactions = check(&long.response_requests()[before..], LONG_STEPS)?;
        if compactions < MIN_COMPACTIONS {
            bail!("the {LONG_STEPS}-step run compacted only {compactions} times");
        }
        if i >= WARMUP {
            let wall = ms(long_run.exit - long_run.start);
            figures
                .per_step
                .push((wall - baseline_ms) / LONG_STEPS as f64);
            figures
                .rss_short
                .push(short_run.max_rss_kib as f64 / 1024.0);
            figures.rss_long.push(long_run.max_rss_kib as f64 / 1024.0);
            figures.compactions.push(compactions as f64);
        }
    }
    Ok(figures)
}

/// A mock with the window serving `runs` turns of `steps` steps.
fn server(steps: usize, runs: usize) -> Result<MockServer> {
    MockServer::builder()
        .context_window(WINDOW_TOKENS)
        .usage_from_request()
        .route(
            is_summary_request,
            message_reply("the steps so far all passed"),
        )
        .replies((0..runs).flat_map(|_| turn(steps)))
        .start()
        .context("cannot start the compaction mock")
}

/// One turn: `steps` sequential `echo` commands, then a message.
fn turn(steps: usize) -> Vec<Reply> {
    let cmd = format!("echo {}", "x".repeat(ECHO_BYTES));
    let args = json!({"cmd": cmd, "login": false}).to_string();
    let mut replies: Vec<Reply> = (0..steps)
        .map(|n| {
            Reply::sse(vec![
                ev::created(&format!("resp_{n}")),
                ev::function_call(&format!("call_{n}"), "exec_command", &args),
                ev::completed_with_usage(&format!("resp_{n}"), 0, 0, 20, 0),
            ])
        })
        .collect();
    replies.push(message_reply("Hello from the mock"));
    replies
}

fn is_summary_request(request: &RecordedRequest) -> bool {
    request
        .body
        .windows(SUMMARY_MARK.len())
        .any(|window| window == SUMMARY_MARK)
}

/// Check one run's requests: none refused, every one of `steps` calls answered
/// with exit code 0. Returns how many summary requests it made.
fn check(requests: &[RecordedRequest], steps: usize) -> Result<usize> {
    if let Some(refused) = requests.iter().find(|r| request_tokens(r) > WINDOW_TOKENS) {
        bail!(
            "a request of {} tokens outgrew the window",
            request_tokens(refused)
        );
    }
    let answered: std::collections::BTreeSet<String> = requests
        .iter()
        .flat_map(RecordedRequest::input)
        .filter(|item| item["type"] == "function_call_output")
        .filter(|item| {
            item["output"]
                .as_str()
                .is_some_and(|o| o.contains("Process exited with code 0"))
        })
        .filter_map(|item| item["call_id"].as_str().map(str::to_string))
        .collect();
    if answered.len() != steps {
        bail!("only {} of {steps} steps exited 0", answered.len());
    }
    Ok(requests.iter().filter(|r| is_summary_request(r)).count())
}
