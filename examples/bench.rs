//! Benchmark of the release `codex` binary against an in-process mock model.
//!
//! ```text
//! cargo run --release --example bench [-- --json-out FILE]
//! BENCH_ITERS=100 cargo run --release --example bench
//! ```
//!
//! The mock Responses server (crates/mock-responses) runs in this process and answers
//! instantly, so the figures are the binary's own costs. Each scenario runs `BENCH_ITERS`
//! times (default 30) after two warm-up runs; the table shows the median and the 90th
//! percentile (for throughput: the rate 90 % of the runs reach) next to the target.
//!
//! | metric | how it is measured | target |
//! |---|---|---|
//! | one-message run | `codex exec --json "…"` answered by one message: spawn → process exit | ≤ 25 ms |
//! | per tool step | a turn of 20 sequential `exec_command` `echo` steps (each its own model response) then a message, with `--sandbox danger-full-access`, and with the read-only sandbox under layer 1 alone (`-c sandbox.namespaces="off"`) and under layers 1+2 (`"required"`): (wall time − median one-message wall time) / 20; every sandboxed step must exit 0 | ≤ 4 ms open, ≤ 6 ms sandboxed |
//! | per tool step, compacting run | a turn of 200 sequential `exec_command` steps each echoing 1,000 bytes, unsandboxed, against a mock that models a 20,000-token window (`-c model_context_window=20000`; usage = request size, larger requests refused, summary requests answered with a note), so the run compacts several times (at least 3, or the bench fails; every step must exit 0 and no request may be refused): (wall time − median one-message wall time) / 200 | ≤ 4 ms |
//! | peak RSS, 10-step / 200-step compacting run | the child's peak RSS (see below) in the 200-step run and in the same turn cut to 10 steps (which never compacts) | ≤ 15 MiB / ≤ 2 × the 10-step run |
//! | helper `-- true` | `codex sandbox-exec --policy read-only <namespaces> -- true` run directly: spawn → exit, with the namespaces off and required (see [`helper_true_args`]) | (informational) |
//! | namespace setup | per iteration, the `required` helper run − the `off` one: what creating the namespaces costs | (informational) |
//! | first event | spawn → the first stdout line has been read | ≤ 8 ms |
//! | first request | spawn → the mock has the head of the first `POST /v1/responses` (`RecordedRequest::received_at`) | ≤ 10 ms |
//! | exit after last event | the `turn.completed` line has been read → process exit (`wait4` returns) | ≤ 3 ms |
//! | throughput | a 2,000,000-byte answer streamed as 10,000 `response.output_text.delta` events then the done message, each event in its own HTTP chunk: answer bytes / (spawn → exit), in MB/s (10⁶ bytes) | ≥ 120 MB/s |
//! | same, in one chunk | the same stream sent as one HTTP chunk (as a buffering proxy would) | (informational) |
//! | peak RSS | `VmHWM` of the child (`/proc/<pid>/status`), for the one-message and the 2 MB runs | ≤ 15 MiB |
//! | 3 MCP servers run | a one-message run with three required stdio `mcp-test-server --init-delay-ms 200` servers: spawn → exit | (informational) |
//! | sum of single-server runs | Σ over the three servers of (a one-message run with only that server − median one-message wall time) | (informational) |
//! | 3-server / 1-server startup | (3-server run − median one-message wall time) / mean single-server overhead, per iteration: startup is concurrent when the overhead is that of the slowest server, not the sum | ≈ slowest, not the sum: ≤ 1.5 × |
//! | per MCP call | a turn in which the model calls `mcp__echo__echo` once then answers (two model requests) − the one-message run with the same server configured and no call, run just before it | (informational) |
//! | raw server round trip | one `tools/call` `echo` request → reply over `mcp-test-server`'s pipes, driven directly after `initialize` | (informational) |
//! | resume N records → first request | `codex exec --json resume <id> "next"` on a synthetic rollout of 200, 2,000 and 20,000 records (`session_meta`, then per exchange a ~150-byte user and assistant `response_item` message and an `event_msg` `token_count`): spawn → head of the first `POST` (`received_at`); each run must exit 0 and send the whole history plus the prompt | ≤ 50 ms at 20,000 |
//! | binary size | size of `target/release/codex` (stripped by the release profile) | ≤ 15 MB |
//!
//! Every run uses a temporary `CODEX_HOME` whose config points a provider at the mock, a
//! temporary git repository as the working directory, and stdin `/dev/null`. With
//! `--json-out FILE` the figures are also written to FILE as JSON. The MCP scenarios add
//! `[mcp_servers.*]` tables (`required = true`) running `target/<profile>/mcp-test-server`;
//! the resume scenario writes its rollouts to
//! `$CODEX_HOME/sessions/2026/01/15/rollout-2026-01-15T10-00-00-<uuid>.jsonl`, afresh
//! before every run (a resumed run appends to its rollout).
//!
//! Peak RSS is the child's `VmHWM`: read each time it prints a line, and logged by the
//! child itself as it exits (`RUST_LOG=codex::stats=debug` → `peak_rss_kib=N` on stderr),
//! which covers the end of the run that a reader of `/proc` can miss. `ru_maxrss`
//! from `wait4` would be wrong here: `Command` spawns with `posix_spawn` (a vfork that
//! shares this process's memory until `exec`), and the kernel folds the high-water mark
//! of that shared memory, i.e. this benchmark's own (tens of MiB with the 2 MB script),
//! into the child's `ru_maxrss` at `exec`. The release binaries (`codex`,
//! `mcp-test-server`) are built first when missing or older than this example (and
//! brought up to date when running under `cargo run`).

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/binaries.rs"]
mod binaries;
#[path = "common/compaction_bench.rs"]
mod compaction_bench;

use anyhow::{bail, Context, Result};
use binaries::Binaries;
use mock_responses::{ev, message_reply, MockServer, Reply};
use serde_json::{json, Value};

const WARMUP: usize = 2;
const BIG_DELTAS: usize = 10_000;
const BIG_DELTA_BYTES: usize = 200;
const BIG_ANSWER_BYTES: usize = BIG_DELTAS * BIG_DELTA_BYTES;

fn main() -> Result<()> {
    let json_out = parse_args()?;
    let iters: usize = match std::env::var("BENCH_ITERS") {
        Ok(text) => text
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("BENCH_ITERS must be a positive integer, got `{text}`"))?,
        Err(_) => 30,
    };
    let Binaries { codex, mcp_server } = binaries::locate()?;
    if cfg!(debug_assertions) {
        writeln!(
            io::stderr(),
            "warning: benchmarking a debug build; use `cargo run --release --example bench`"
        )?;
    }
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let repo = work.path().join("repo");
    fs::create_dir_all(repo.join(".git")).context("cannot create the work repository")?;

    // One message per run.
    let small = MockServer::start_with_fallback(Vec::new(), message_reply("Hello from the mock"))?;
    let small_bench = Bench::new(&codex, work.path(), "small", &repo, &small)?;
    // The 2 MB answer, each event in its own HTTP chunk (as the API sends them) ...
    let answer = big_answer();
    let events = big_events(&answer);
    let big = MockServer::start_with_fallback(Vec::new(), Reply::sse(events.clone()))?;
    let big_bench = Bench::new(&codex, work.path(), "big", &repo, &big)?;
    // ... and the same stream as one chunk (a proxy that buffers).
    let one_chunk = MockServer::start_with_fallback(Vec::new(), Reply::raw_sse(render(&events)))?;
    let one_chunk_bench = Bench::new(&codex, work.path(), "one-chunk", &repo, &one_chunk)?;

    let mut out = io::stdout().lock();
    writeln!(
        out,
        "codex bench: {} ({} iterations + {WARMUP} warm-up, {} CPUs)",
        codex.display(),
        iters,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    )?;
    out.flush()?;

    let mut wall = Vec::new();
    let mut first_event = Vec::new();
    let mut first_request = Vec::new();
    let mut exit_delay = Vec::new();
    let mut rss_small = Vec::new();
    for i in 0..WARMUP + iters {
        let before = small.response_requests().len();
        let run = small_bench.run()?;
        let requests = small.response_requests();
        let request = requests
            .get(before)
            .context("the run made no model request")?;
        if !run.last_message.contains("Hello from the mock") {
            bail!("unexpected answer: {}", run.last_message);
        }
        if i >= WARMUP {
            wall.push(ms(run.exit - run.start));
            first_event.push(ms(run.first_line - run.start));
            first_request.push(ms(request.received_at.saturating_duration_since(run.start)));
            exit_delay.push(ms(run.exit - run.last_line));
            rss_small.push(run.max_rss_kib as f64 / 1024.0);
        }
    }

    // 20 sequential tool steps (`echo`), unsandboxed and in the read-only sandbox with
    // layer 1 alone and with layers 1+2.
    let mut step_overhead = Vec::new();
    for (label, sandbox, namespaces) in [
        ("steps-open", "danger-full-access", None),
        ("steps-layer1", "read-only", Some("off")),
        ("steps-layers12", "read-only", Some("required")),
    ] {
        let layers = namespaces.map(|mode| format!("sandbox.namespaces=\"{mode}\""));
        let mut args = vec!["--sandbox", sandbox];
        if let Some(layers) = &layers {
            args.extend(["-c", layers.as_str()]);
        }
        let script: Vec<Reply> = (0..WARMUP + iters)
            .flat_map(|_| tool_steps_turn())
            .collect();
        let server = MockServer::start(script)?;
        let bench = Bench::new(&codex, work.path(), label, &repo, &server)?;
        let mut per_step = Vec::new();
        for i in 0..WARMUP + iters {
            let run = bench.run_with(&args)?;
            ensure_steps_succeeded(&server, label)?;
            if i >= WARMUP {
                per_step.push(ms(run.exit - run.start));
            }
        }
        let baseline = percentile(&wall, 50.0);
        let overhead: Vec<f64> = per_step
            .iter()
            .map(|total| (total - baseline) / TOOL_STEPS as f64)
            .collect();
        step_overhead.push((sandbox, overhead));
    }

    let compaction =
        compaction_bench::measure(&codex, work.path(), &repo, iters, percentile(&wall, 50.0))?;
    let helper = HelperFigures::measure(&codex, &repo, iters)?;
    if !helper.namespaces_supported {
        writeln!(
            out,
            "note: `codex sandbox-exec` has no `{HELPER_NAMESPACES_ARG}` option yet: \
             the helper rows show its default (layer 1) only"
        )?;
    }
    let (big_wall, rss_big) = big_bench.run_big(&answer, iters)?;
    let (one_chunk_wall, _) = one_chunk_bench.run_big(&answer, iters)?;
    let baseline = percentile(&wall, 50.0);
    let mcp = McpFigures::measure(&codex, &mcp_server, work.path(), &repo, iters, baseline)?;
    let resume = measure_resume(&codex, work.path(), &repo, iters)?;

    // MB/s from a wall time in ms.
    let rate = |wall_ms: f64| BIG_ANSWER_BYTES as f64 / 1e6 / (wall_ms / 1e3);
    let binary_bytes = fs::metadata(&codex)?.len();

    let rows = [
        Row::at_most("one_message_run_ms", "one-message run", "ms", &wall, 25.0),
        Row::at_most(
            "tool_step_overhead_ms",
            "per tool step, no sandbox",
            "ms",
            &step_overhead[0].1,
            4.0,
        ),
        Row::at_most(
            "tool_step_overhead_layer1_ms",
            "per tool step, sandboxed, layer 1 alone",
            "ms",
            &step_overhead[1].1,
            6.0,
        ),
        Row::at_most(
            "tool_step_overhead_sandboxed_ms",
            "per tool step, sandboxed, layers 1+2",
            "ms",
            &step_overhead[2].1,
            6.0,
        ),
        Row::at_most(
            "compacting_run_step_overhead_ms",
            "per tool step, 200-step compacting run",
            "ms",
            &compaction.per_step,
            4.0,
        ),
        Row::at_most(
            "compactions_per_long_run",
            "  compactions per 200-step run",
            "",
            &compaction.compactions,
            f64::INFINITY,
        ),
        Row::at_most(
            "helper_true_layer1_ms",
            "helper `-- true`, layer 1 alone",
            "ms",
            &helper.layer1,
            f64::INFINITY,
        ),
        Row::at_most(
            "helper_true_layers12_ms",
            "  same, layers 1+2",
            "ms",
            &helper.layers12,
            f64::INFINITY,
        ),
        Row::at_most(
            "namespace_setup_ms",
            "  namespace setup (difference)",
            "ms",
            &helper.setup,
            f64::INFINITY,
        ),
        Row::at_most("first_event_ms", "first event", "ms", &first_event, 8.0),
        Row::at_most(
            "first_request_ms",
            "first request",
            "ms",
            &first_request,
            10.0,
        ),
        Row::at_most(
            "exit_after_last_event_ms",
            "exit after last event",
            "ms",
            &exit_delay,
            3.0,
        ),
        Row {
            key: "throughput_mb_per_s",
            name: "2 MB answer throughput",
            unit: "MB/s",
            median: rate(percentile(&big_wall, 50.0)),
            p90: rate(percentile(&big_wall, 90.0)),
            target: 120.0,
            higher_is_better: true,
            note: None,
        },
        Row::at_most(
            "big_run_ms",
            "2 MB run (wall)",
            "ms",
            &big_wall,
            f64::INFINITY,
        ),
        Row {
            key: "throughput_one_chunk_mb_per_s",
            name: "  same, in one chunk",
            unit: "MB/s",
            median: rate(percentile(&one_chunk_wall, 50.0)),
            p90: rate(percentile(&one_chunk_wall, 90.0)),
            target: f64::INFINITY,
            higher_is_better: true,
            note: None,
        },
        Row::at_most(
            "peak_rss_one_message_mib",
            "peak RSS, one message",
            "MiB",
            &rss_small,
            15.0,
        ),
        Row::at_most(
            "peak_rss_big_mib",
            "peak RSS, 2 MB answer",
            "MiB",
            &rss_big,
            15.0,
        ),
        Row::at_most(
            "peak_rss_short_steps_mib",
            "peak RSS, 10-step run",
            "MiB",
            &compaction.rss_short,
            15.0,
        ),
        Row {
            note: Some("≤ 2 × the 10-step run"),
            ..Row::at_most(
                "peak_rss_long_compacting_mib",
                "peak RSS, 200-step compacting run",
                "MiB",
                &compaction.rss_long,
                2.0 * percentile(&compaction.rss_short, 50.0),
            )
        },
        Row::at_most(
            "mcp_three_servers_run_ms",
            "3 MCP servers (200 ms each) run",
            "ms",
            &mcp.three_wall,
            f64::INFINITY,
        ),
        Row::at_most(
            "mcp_single_server_overhead_sum_ms",
            "  sum of single-server runs",
            "ms",
            &mcp.single_overhead_sum,
            f64::INFINITY,
        ),
        Row {
            note: Some("≈ slowest, not the sum (≤ 1.5 ×)"),
            ..Row::at_most(
                "mcp_startup_overhead_ratio",
                "  3-server / 1-server startup",
                "×",
                &mcp.overhead_ratio,
                1.5,
            )
        },
        Row::at_most(
            "mcp_call_overhead_ms",
            "per MCP call (mcp__echo__echo)",
            "ms",
            &mcp.call_overhead,
            f64::INFINITY,
        ),
        Row::at_most(
            "mcp_server_round_trip_ms",
            "  raw server round trip",
            "ms",
            &mcp.round_trip,
            f64::INFINITY,
        ),
        Row::at_most(
            RESUME_SIZES[0].1,
            RESUME_SIZES[0].2,
            "ms",
            &resume[0],
            f64::INFINITY,
        ),
        Row::at_most(
            RESUME_SIZES[1].1,
            RESUME_SIZES[1].2,
            "ms",
            &resume[1],
            f64::INFINITY,
        ),
        Row::at_most(RESUME_SIZES[2].1, RESUME_SIZES[2].2, "ms", &resume[2], 50.0),
        Row {
            key: "binary_size_mb",
            name: "binary size",
            unit: "MB",
            median: binary_bytes as f64 / 1e6,
            p90: binary_bytes as f64 / 1e6,
            target: 15.0,
            higher_is_better: false,
            note: None,
        },
    ];

    let targets: Vec<String> = rows
        .iter()
        .map(|row| match row.note {
            Some(note) => note.to_string(),
            None if row.target.is_infinite() => String::new(),
            None => format!(
                "{} {} {}",
                if row.higher_is_better { "≥" } else { "≤" },
                row.target,
                row.unit
            ),
        })
        .collect();
    let name_width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(6);
    let target_width = targets.iter().map(|t| t.chars().count()).max().unwrap_or(6);
    writeln!(
        out,
        "\n{:<name_width$} {:>10} {:>10} {:>target_width$}  ",
        "metric", "median", "p90", "target"
    )?;
    for (row, target) in rows.iter().zip(&targets) {
        let verdict = match (row.target.is_infinite(), row.met()) {
            (true, _) => "",
            (false, true) => "ok",
            (false, false) => "MISSED",
        };
        writeln!(
            out,
            "{:<name_width$} {:>10} {:>10} {:>target_width$}  {verdict}",
            row.name,
            format!("{:.2} {}", row.median, row.unit),
            format!("{:.2}", row.p90),
            target,
        )?;
    }

    if let Some(path) = json_out {
        let metrics: serde_json::Map<String, Value> = rows
            .iter()
            .map(|row| {
                let target = (!row.target.is_infinite()).then_some(row.target);
                let value = json!({
                    "unit": row.unit,
                    "median": row.median,
                    "p90": row.p90,
                    "target": target,
                    "target_note": row.note,
                    "higher_is_better": row.higher_is_better,
                    "met": target.map(|_| row.met()),
                });
                (row.key.to_string(), value)
            })
            .collect();
        let report = json!({
            "binary": codex,
            "binary_size_bytes": binary_bytes,
            "iterations": iters,
            "answer_bytes": BIG_ANSWER_BYTES,
            "metrics": metrics,
        });
        fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "\nwrote {}", path.display())?;
    }
    Ok(())
}

struct Row {
    key: &'static str,
    name: &'static str,
    unit: &'static str,
    median: f64,
    p90: f64,
    target: f64,
    higher_is_better: bool,
    /// Shown instead of the numeric target in the table (the target still decides "ok").
    note: Option<&'static str>,
}

impl Row {
    fn at_most(
        key: &'static str,
        name: &'static str,
        unit: &'static str,
        samples: &[f64],
        target: f64,
    ) -> Row {
        Row {
            key,
            name,
            unit,
            median: percentile(samples, 50.0),
            p90: percentile(samples, 90.0),
            target,
            higher_is_better: false,
            note: None,
        }
    }

    /// Whether the median meets the target.
    fn met(&self) -> bool {
        if self.higher_is_better {
            self.median >= self.target
        } else {
            self.median <= self.target
        }
    }
}

/// Nearest-rank percentile.
fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One scenario: a CODEX_HOME pointing at one mock server.
struct Bench<'a> {
    codex: &'a Path,
    home: PathBuf,
    repo: &'a Path,
}

/// What one run measured.
struct Run {
    start: Instant,
    first_line: Instant,
    last_line: Instant,
    exit: Instant,
    /// The last `item.completed` line.
    last_message: String,
    /// The child's last readable `VmHWM`.
    max_rss_kib: u64,
}

impl<'a> Bench<'a> {
    fn new(
        codex: &'a Path,
        work: &Path,
        name: &str,
        repo: &'a Path,
        server: &MockServer,
    ) -> Result<Bench<'a>> {
        Bench::with_config(codex, work, name, repo, server, "")
    }

    /// A scenario whose config.toml ends with `extra` (e.g. `[mcp_servers.*]` tables).
    fn with_config(
        codex: &'a Path,
        work: &Path,
        name: &str,
        repo: &'a Path,
        server: &MockServer,
        extra: &str,
    ) -> Result<Bench<'a>> {
        let home = work.join(format!("home-{name}"));
        fs::create_dir_all(&home)?;
        fs::write(
            home.join("config.toml"),
            format!(
                "model = \"gpt-5-codex\"\nmodel_provider = \"mock\"\n\n\
                 [model_providers.mock]\nname = \"Mock\"\nbase_url = \"{}\"\n\
                 env_key = \"CODEX_API_KEY\"\nwire_api = \"responses\"\n{extra}",
                server.base_url()
            ),
        )?;
        Ok(Bench { codex, home, repo })
    }

    /// Runs the 2 MB scenario: wall times (ms) and peak RSS (MiB) of the measured runs.
    fn run_big(&self, answer: &str, iters: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        let mut wall = Vec::new();
        let mut rss = Vec::new();
        for i in 0..WARMUP + iters {
            let run = self.run()?;
            if i == 0 {
                let item: Value = serde_json::from_str(&run.last_message)?;
                if item["item"]["text"].as_str() != Some(answer) {
                    bail!("the 2 MB answer did not come back intact");
                }
            }
            if i >= WARMUP {
                wall.push(ms(run.exit - run.start));
                rss.push(run.max_rss_kib as f64 / 1024.0);
            }
        }
        Ok((wall, rss))
    }

    fn run(&self) -> Result<Run> {
        self.run_with(&[])
    }

    /// One `codex exec --json <extra> "Say hello"` run.
    fn run_with(&self, extra: &[&str]) -> Result<Run> {
        let mut args = extra.to_vec();
        args.push("Say hello");
        self.run_args(&args)
    }

    /// One `codex exec --json <args>` run (exit 0 and a `turn.completed` line required).
    fn run_args(&self, args: &[&str]) -> Result<Run> {
        let stderr_path = self.home.join("stderr.txt");
        let stderr = File::create(&stderr_path)?;
        let mut command = Command::new(self.codex);
        command
            .args(["exec", "--json"])
            .args(args)
            .current_dir(self.repo)
            .env("CODEX_HOME", &self.home)
            .env("CODEX_API_KEY", "sk-bench")
            .env_remove("OPENAI_API_KEY")
            // Only the end-of-run line with the peak resident memory.
            .env("RUST_LOG", "error,rmcp=off,codex::stats=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);

        let start = Instant::now();
        let mut child = command.spawn().context("cannot spawn codex")?;
        let pid = child.id();
        let mut max_rss_kib = 0;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut reader = BufReader::with_capacity(256 * 1024, stdout);
        let mut line = String::new();
        let mut first_line = None;
        let mut last_line = None;
        let mut last_message = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            let now = Instant::now();
            if let Some(kib) = vm_hwm_kib(pid) {
                max_rss_kib = kib;
            }
            first_line.get_or_insert(now);
            if line.starts_with(r#"{"type":"turn.completed""#) {
                last_line = Some(now);
            } else if line.starts_with(r#"{"type":"item.completed""#) {
                std::mem::swap(&mut last_message, &mut line);
            }
        }
        let status = child.wait()?;
        let exit = Instant::now();
        let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
        if !status.success() {
            bail!("codex failed ({status}); stderr:\n{stderr}");
        }
        let (Some(first_line), Some(last_line)) = (first_line, last_line) else {
            bail!("codex printed no turn.completed; stderr:\n{stderr}");
        };
        // The run's own figure covers what happened after its last line was read.
        let logged = logged_peak_rss_kib(&stderr)
            .with_context(|| format!("codex logged no peak_rss_kib; stderr:\n{stderr}"))?;
        max_rss_kib = max_rss_kib.max(logged);
        Ok(Run {
            start,
            first_line,
            last_line,
            exit,
            last_message,
            max_rss_kib,
        })
    }
}

/// The `peak_rss_kib=N` of codex's `codex::stats` line on stderr.
fn logged_peak_rss_kib(stderr: &str) -> Option<u64> {
    let at = stderr.rfind("peak_rss_kib=")? + "peak_rss_kib=".len();
    let digits: String = stderr[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The peak resident set size of a live process, in KiB (`None` once it has exited).
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Init delay of each server in the MCP startup scenario.
const MCP_INIT_DELAY_MS: u64 = 200;

/// A `[mcp_servers.<name>]` table running `mcp-test-server` with `args`, required.
fn mcp_table(server: &Path, name: &str, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    format!(
        "\n[mcp_servers.{name}]\ncommand = {:?}\nargs = [{}]\nrequired = true\n",
        server.display().to_string(),
        args.join(", ")
    )
}

/// The MCP scenarios' samples (ms, except the ratio).
struct McpFigures {
    /// Wall time of a one-message run with three slow servers.
    three_wall: Vec<f64>,
    /// Per iteration: Σ over the three servers of (single-server run − baseline).
    single_overhead_sum: Vec<f64>,
    /// Per iteration: (three-server run − baseline) / mean single-server overhead.
    overhead_ratio: Vec<f64>,
    /// A turn with one `mcp__echo__echo` call − the same server configured, no call.
    call_overhead: Vec<f64>,
    /// `tools/call` → reply over the server's pipes, driven directly.
    round_trip: Vec<f64>,
}

impl McpFigures {
    /// `baseline`: the median one-message wall time (ms) without MCP servers.
    fn measure(
        codex: &Path,
        server_bin: &Path,
        work: &Path,
        repo: &Path,
        iters: usize,
        baseline: f64,
    ) -> Result<McpFigures> {
        let delay = MCP_INIT_DELAY_MS.to_string();
        let slow_args = ["--init-delay-ms", delay.as_str()];
        let names = ["one", "two", "three"];
        let mock =
            MockServer::start_with_fallback(Vec::new(), message_reply("Hello from the mock"))?;
        let check = |run: &Run| -> Result<()> {
            if !run.last_message.contains("Hello from the mock") {
                bail!("unexpected answer: {}", run.last_message);
            }
            Ok(())
        };

        // Each slow server alone, then all three together (interleaved per iteration).
        let singles: Vec<Bench> = names
            .iter()
            .map(|name| {
                let table = mcp_table(server_bin, name, &slow_args);
                Bench::with_config(codex, work, &format!("mcp-{name}"), repo, &mock, &table)
            })
            .collect::<Result<_>>()?;
        let all_tables: String = names
            .iter()
            .map(|name| mcp_table(server_bin, name, &slow_args))
            .collect();
        let three = Bench::with_config(codex, work, "mcp-three", repo, &mock, &all_tables)?;
        let mut three_wall = Vec::new();
        let mut single_overhead_sum = Vec::new();
        let mut overhead_ratio = Vec::new();
        for i in 0..WARMUP + iters {
            let mut sum = 0.0;
            for bench in &singles {
                let run = bench.run()?;
                check(&run)?;
                sum += ms(run.exit - run.start) - baseline;
            }
            let run = three.run()?;
            check(&run)?;
            let wall = ms(run.exit - run.start);
            if i >= WARMUP {
                three_wall.push(wall);
                single_overhead_sum.push(sum);
                overhead_ratio.push((wall - baseline) / (sum / names.len() as f64));
            }
        }

        // One echo call per turn, against the same server configured without a call (the
        // two interleaved).
        let echo = mcp_table(server_bin, "echo", &[]);
        let idle = Bench::with_config(codex, work, "mcp-idle", repo, &mock, &echo)?;
        let script: Vec<Reply> = (0..WARMUP + iters)
            .flat_map(|n| {
                let args = json!({"text": "hello"}).to_string();
                let id = format!("resp_call_{n}");
                [
                    Reply::sse(vec![
                        ev::created(&id),
                        ev::function_call(&format!("call_{n}"), "mcp__echo__echo", &args),
                        ev::completed(&id),
                    ]),
                    message_reply("Hello from the mock"),
                ]
            })
            .collect();
        let calling = MockServer::start(script)?;
        let caller = Bench::with_config(codex, work, "mcp-call", repo, &calling, &echo)?;
        let mut idle_wall = Vec::new();
        let mut call_wall = Vec::new();
        for i in 0..WARMUP + iters {
            let run = idle.run()?;
            check(&run)?;
            let idle_ms = ms(run.exit - run.start);
            let before = calling.response_requests().len();
            let run = caller.run()?;
            check(&run)?;
            let requests = calling.response_requests();
            let Some(second) = requests.get(before + 1) else {
                bail!(
                    "the MCP call turn made {} requests",
                    requests.len() - before
                );
            };
            let output = second
                .input()
                .into_iter()
                .find(|item| item["type"] == "function_call_output")
                .with_context(|| format!("no function_call_output after the MCP call {i}"))?;
            if !output.to_string().contains("hello") {
                bail!("unexpected MCP call output: {output}");
            }
            if i >= WARMUP {
                idle_wall.push(idle_ms);
                call_wall.push(ms(run.exit - run.start));
            }
        }
        // Paired with the idle run of the same iteration, so that drift in the machine's
        // load cancels out.
        let call_overhead = call_wall
            .iter()
            .zip(&idle_wall)
            .map(|(call, idle)| call - idle)
            .collect();

        Ok(McpFigures {
            three_wall,
            single_overhead_sum,
            overhead_ratio,
            call_overhead,
            round_trip: server_round_trips(server_bin, iters)?,
        })
    }
}

/// `tools/call echo` round trips (ms) over `mcp-test-server`'s stdio, after a handshake.
fn server_round_trips(server_bin: &Path, iters: usize) -> Result<Vec<f64>> {
    let mut child = Command::new(server_bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot spawn {}", server_bin.display()))?;
    let mut stdin = child.stdin.take().context("no stdin pipe")?;
    let mut stdout = BufReader::new(child.stdout.take().context("no stdout pipe")?);
    let mut line = String::new();
    let mut ask = move |request: Value, line: &mut String| -> Result<()> {
        writeln!(stdin, "{request}")?;
        stdin.flush()?;
        line.clear();
        if stdout.read_line(line)? == 0 {
            bail!("mcp-test-server closed its stdout");
        }
        Ok(())
    };
    ask(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"}}}),
        &mut line,
    )?;
    let mut samples = Vec::new();
    for i in 0..WARMUP + iters {
        let request = json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hello"}}});
        let start = Instant::now();
        ask(request, &mut line)?;
        let elapsed = ms(start.elapsed());
        if !line.contains("hello") {
            bail!("unexpected tools/call reply: {line}");
        }
        if i >= WARMUP {
            samples.push(elapsed);
        }
    }
    drop(ask); // closes its stdin: the server exits
    child.wait()?;
    Ok(samples)
}

/// Rollout sizes of the resume scenario: (records, JSON key, table name).
const RESUME_SIZES: [(usize, &str, &str); 3] = [
    (
        200,
        "resume_200_first_request_ms",
        "resume 200 records → first request",
    ),
    (
        2_000,
        "resume_2000_first_request_ms",
        "resume 2,000 records → first request",
    ),
    (
        20_000,
        "resume_20000_first_request_ms",
        "resume 20,000 records → first request",
    ),
];

/// A synthetic rollout of `records` lines for thread `id`: `session_meta`, then per
/// exchange a user message, an assistant message (~150-byte texts) and a `token_count`
/// event. Returns the text and the number of `response_item`s.
fn synthetic_rollout(id: &str, cwd: &Path, records: usize) -> (String, usize) {
    let timestamp = |n: usize| format!("2026-01-15T10:00:{:02}.{:03}Z", n / 1000, n % 1000);
    let line = |n: usize, kind: &str, payload: Value| {
        json!({"timestamp": timestamp(n), "type": kind, "payload": payload}).to_string() + "\n"
    };
    let mut text = line(
        0,
        "session_meta",
        json!({
            "id": id,
            "timestamp": timestamp(0),
            "cwd": cwd,
            "originator": "codex_exec",
            "cli_version": env!("CARGO_PKG_VERSION"),
            "instructions": null,
            "source": "exec",
            "model_provider": "mock",
        }),
    );
    let mut items = 0;
    let (mut input_total, mut output_total) = (0u64, 0u64);
    for n in 1..records {
        let exchange = (n - 1) / 3;
        let record = match (n - 1) % 3 {
            0 => {
                items += 1;
                let question = format!(
                    "[hist {exchange}] Could you look at src/module_{exchange}.rs and explain \
                     why the parser rejects trailing commas in nested arrays? Keep it short."
                );
                line(
                    n,
                    "response_item",
                    json!({"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": question}]}),
                )
            }
            1 => {
                items += 1;
                let answer = format!(
                    "[hist {exchange}] The parser in module_{exchange} treats a comma as a \
                     separator only, so `[1, [2,],]` fails; accept an optional comma before `]`."
                );
                line(
                    n,
                    "response_item",
                    json!({"type": "message", "role": "assistant", "id": format!("msg_{exchange}"),
                           "content": [{"type": "output_text", "text": answer}]}),
                )
            }
            _ => {
                input_total += 1_200 + 80 * exchange as u64;
                output_total += 60;
                let usage = |input: u64, output: u64| {
                    json!({"input_tokens": input, "cached_input_tokens": 0,
                           "output_tokens": output, "reasoning_output_tokens": 0,
                           "total_tokens": input + output})
                };
                line(
                    n,
                    "event_msg",
                    json!({"type": "token_count", "info": {
                        "total_token_usage": usage(input_total, output_total),
                        "last_token_usage": usage(1_200 + 80 * exchange as u64, 60),
                        "model_context_window": null}, "rate_limits": null}),
                )
            }
        };
        text.push_str(&record);
    }
    (text, items)
}

/// Per size of [`RESUME_SIZES`]: spawn → head of the first request (ms) of
/// `codex exec --json resume <id> "next"`. The rollout is rewritten before every run
/// (a resumed run appends to it).
fn measure_resume(codex: &Path, work: &Path, repo: &Path, iters: usize) -> Result<Vec<Vec<f64>>> {
    let mock = MockServer::start_with_fallback(Vec::new(), message_reply("Hello from the mock"))?;
    let bench = Bench::new(codex, work, "resume", repo, &mock)?;
    let day = bench.home.join("sessions/2026/01/15");
    fs::create_dir_all(&day)?;
    let mut figures = Vec::new();
    for (records, _, _) in RESUME_SIZES {
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        let (text, items) = synthetic_rollout(&id, repo, records);
        let path = day.join(format!("rollout-2026-01-15T10-00-00-{id}.jsonl"));
        let mut samples = Vec::new();
        for i in 0..WARMUP + iters {
            fs::write(&path, &text)?;
            let before = mock.response_requests().len();
            let run = bench.run_args(&["resume", &id, "next"])?;
            let requests = mock.response_requests();
            let request = requests
                .get(before)
                .context("the resumed run made no model request")?;
            let input = request.input();
            let replayed = input
                .iter()
                .filter(|item| item.to_string().contains("[hist "))
                .count();
            let last_is_next = input
                .last()
                .is_some_and(|item| item.to_string().contains("\"next\""));
            if replayed != items || input.len() != items + 1 || !last_is_next {
                bail!(
                    "resume of {records} records: the request has {} input items \
                     ({replayed} from the rollout), expected {items} + the prompt",
                    input.len()
                );
            }
            if i >= WARMUP {
                samples.push(ms(request.received_at.saturating_duration_since(run.start)));
            }
        }
        fs::remove_file(&path)?;
        figures.push(samples);
    }
    Ok(figures)
}

/// Fail unless the last turn on `server` got every one of its [`TOOL_STEPS`] commands
/// back with exit code 0 (a sandbox that cannot start, e.g. `"required"` namespaces
/// on a machine without them, fails the commands, not the run).
fn ensure_steps_succeeded(server: &MockServer, label: &str) -> Result<()> {
    let requests = server.response_requests();
    let last = requests.last().context("no model request")?;
    let succeeded = last
        .input()
        .iter()
        .filter(|item| item["type"] == "function_call_output")
        .filter(|item| {
            item["output"]
                .as_str()
                .is_some_and(|o| o.contains("Process exited with code 0"))
        })
        .count();
    if succeeded != TOOL_STEPS {
        bail!("{label}: only {succeeded} of {TOOL_STEPS} commands exited 0");
    }
    Ok(())
}

/// The helper's option selecting the layers: `codex sandbox-exec
/// <HELPER_NAMESPACES_ARG> off|required …`. The one place to adapt if the helper
/// settles on another spelling.
const HELPER_NAMESPACES_ARG: &str = "--namespaces";

/// argv (after the binary) of the helper running `true` read-only, with `namespaces`
/// (`None`: the helper's own default).
fn helper_true_args(namespaces: Option<&str>) -> Vec<&str> {
    let mut args = vec!["sandbox-exec", "--policy", "read-only"];
    if let Some(mode) = namespaces {
        args.extend([HELPER_NAMESPACES_ARG, mode]);
    }
    args.extend(["--", "true"]);
    args
}

/// The helper scenario's samples (ms).
struct HelperFigures {
    /// Whether the helper knows [`HELPER_NAMESPACES_ARG`]; without it both series
    /// measure its default and `setup` is empty.
    namespaces_supported: bool,
    layer1: Vec<f64>,
    layers12: Vec<f64>,
    /// Per iteration: the layers 1+2 run − the layer 1 run.
    setup: Vec<f64>,
}

impl HelperFigures {
    /// `codex sandbox-exec … -- true` spawn → exit, alternating the two modes.
    fn measure(codex: &Path, repo: &Path, iters: usize) -> Result<HelperFigures> {
        let help = Command::new(codex)
            .args(["sandbox-exec", "--help"])
            .output()
            .context("cannot run `codex sandbox-exec --help`")?;
        let namespaces_supported =
            String::from_utf8_lossy(&help.stdout).contains(HELPER_NAMESPACES_ARG);
        let time = |namespaces: Option<&str>| -> Result<f64> {
            let args = helper_true_args(namespaces.filter(|_| namespaces_supported));
            let start = Instant::now();
            let output = Command::new(codex)
                .args(&args)
                .current_dir(repo)
                .stdin(Stdio::null())
                .output()
                .context("cannot run the sandbox helper")?;
            let elapsed = ms(start.elapsed());
            if !output.status.success() {
                bail!(
                    "`codex {}` failed ({}): {}",
                    args.join(" "),
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            Ok(elapsed)
        };
        let mut figures = HelperFigures {
            namespaces_supported,
            layer1: Vec::new(),
            layers12: Vec::new(),
            setup: Vec::new(),
        };
        for i in 0..WARMUP + iters {
            let layer1 = time(Some("off"))?;
            let layers12 = time(Some("required"))?;
            if i >= WARMUP {
                figures.layer1.push(layer1);
                if namespaces_supported {
                    figures.layers12.push(layers12);
                    figures.setup.push(layers12 - layer1);
                }
            }
        }
        Ok(figures)
    }
}

/// Tool steps in the tool-step scenario.
const TOOL_STEPS: usize = 20;

/// One turn of `TOOL_STEPS` sequential `echo` commands, then a message.
fn tool_steps_turn() -> Vec<Reply> {
    let args = json!({"cmd": "echo step", "login": false}).to_string();
    let mut replies: Vec<Reply> = (0..TOOL_STEPS)
        .map(|n| {
            Reply::sse(vec![
                ev::created(&format!("resp_{n}")),
                ev::function_call(&format!("call_{n}"), "exec_command", &args),
                ev::completed(&format!("resp_{n}")),
            ])
        })
        .collect();
    replies.push(message_reply("Hello from the mock"));
    replies
}

/// 2,000,000 bytes of ASCII text.
fn big_answer() -> String {
    let words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod ";
    words.repeat(BIG_ANSWER_BYTES / words.len() + 1)[..BIG_ANSWER_BYTES].to_string()
}

/// The answer as 10,000 deltas and the done message.
fn big_events(answer: &str) -> Vec<Value> {
    let mut events = vec![ev::created("resp_big"), ev::message_added("msg_big")];
    events.extend(
        answer
            .as_bytes()
            .chunks(BIG_DELTA_BYTES)
            .map(|chunk| ev::output_text_delta("msg_big", &String::from_utf8_lossy(chunk))),
    );
    events.push(ev::message("msg_big", answer));
    events.push(ev::completed_with_usage("resp_big", 10, 0, 500_000, 0));
    events
}

/// Events rendered as one SSE body, as `Reply::sse` would write them.
fn render(events: &[Value]) -> String {
    let mut body = String::new();
    for event in events {
        let kind = event["type"].as_str().unwrap_or_default();
        body.push_str(&format!("event: {kind}\ndata: {event}\n\n"));
    }
    body
}

fn parse_args() -> Result<Option<PathBuf>> {
    let mut args = std::env::args().skip(1);
    let mut json_out = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json-out" => {
                json_out = Some(PathBuf::from(
                    args.next().context("--json-out needs a file name")?,
                ));
            }
            "-h" | "--help" => {
                writeln!(
                    io::stdout(),
                    "usage: cargo run --release --example bench [-- --json-out FILE]\n\
                     env BENCH_ITERS: iterations per scenario (default 30)"
                )?;
                std::process::exit(0);
            }
            _ => bail!("unexpected argument `{arg}` (see --help)"),
        }
    }
    Ok(json_out)
}
