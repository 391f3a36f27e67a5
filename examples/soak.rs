//! Soak test of the `codex` binary: many runs of a five-step turn against the
//! in-process scripted model, then checks that nothing was lost or left behind.
//!
//! ```text
//! cargo run --release --example soak                     # 1,000 sequential + 50 concurrent runs
//! cargo run --release --example soak -- --sequential 100 --concurrent 20 --workers 4
//! ```
//!
//! Not part of the test suite (it takes minutes). Every run is
//! `codex exec --json -s danger-full-access "soak <n>"`; the model
//! (`mock-responses` in this process, one script per thread) answers with four
//! `exec_command` calls, one response each (the third leaves `sleep 60` running
//! in the background), then a message: five requests per run. The
//! `--sequential` runs go one after the other, the `--concurrent` ones all at
//! once; then every thread is resumed once (`resume <id> "again"`, by
//! `--workers` runs at a time). Checked afterwards:
//!
//! * every run exited 0 with `turn.completed`, four completed commands and the
//!   answer;
//! * no process is left: none carries the soak's marker variable (set on every
//!   `codex` and inherited by the commands it runs);
//! * no temporary file is left: the runs' private `TMPDIR` is empty, and
//!   `CODEX_HOME` holds only `config.toml` and one rollout per thread;
//! * every rollout is valid (each line a JSON record, `session_meta` first,
//!   every tool call with its output, the turn completed) and resumable, and
//!   every request the model received paired each call with its output;
//! * this process's descriptor count (the long-lived parent, which also hosts
//!   the model server) is the same after the runs as before.
//!
//! Exits 1 if any check fails. The binaries of the example's profile are built
//! first when missing or stale.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// Shared with the other examples; this one drives no MCP server.
#[allow(dead_code)]
#[path = "common/binaries.rs"]
mod binaries;

use anyhow::{bail, ensure, Context, Result};
use mock_responses::{ev, message_reply, MockServer, RecordedRequest, Reply};
use serde_json::{json, Value};

/// The commands of the four tool steps.
const STEPS: [&str; 4] = [
    "echo one",
    "printf 'two\\n'; ls >/dev/null",
    "sleep 60 >/dev/null 2>&1 & echo three",
    "true; echo four",
];
/// How long the model server's connections may take to close after the runs.
const SETTLE: Duration = Duration::from_secs(10);

struct Options {
    sequential: usize,
    concurrent: usize,
    workers: usize,
}

fn parse_options() -> Result<Options> {
    let mut options = Options {
        sequential: 1000,
        concurrent: 50,
        workers: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize> {
            let value = args
                .next()
                .with_context(|| format!("{name} needs a number"))?;
            value
                .parse()
                .with_context(|| format!("{name} needs a number, got `{value}`"))
        };
        match arg.as_str() {
            "--sequential" => options.sequential = number("--sequential")?,
            "--concurrent" => options.concurrent = number("--concurrent")?,
            "--workers" => options.workers = number("--workers")?.max(1),
            _ => bail!("unknown argument `{arg}` (--sequential N, --concurrent N, --workers N)"),
        }
    }
    Ok(options)
}

/// The per-thread script: four calls, then the answer.
fn script() -> Vec<Reply> {
    let mut replies: Vec<Reply> = STEPS
        .iter()
        .enumerate()
        .map(|(n, cmd)| {
            let resp = format!("resp_{n}");
            let args = json!({"cmd": cmd}).to_string();
            Reply::sse(vec![
                ev::created(&resp),
                ev::function_call(&format!("call_{n}"), "exec_command", &args),
                ev::completed(&resp),
            ])
        })
        .collect();
    replies.push(message_reply("soaked"));
    replies
}

/// Whether every call in a request's input has its output and every output
/// its call.
fn calls_paired(request: &RecordedRequest) -> bool {
    let input = request.input();
    let ids = |kind: &str| -> Vec<String> {
        let mut ids: Vec<String> = input
            .iter()
            .filter(|item| item["type"] == kind)
            .filter_map(|item| item["call_id"].as_str().map(str::to_string))
            .collect();
        ids.sort();
        ids
    };
    ids("function_call") == ids("function_call_output")
}

/// The isolated world the runs live in.
struct World {
    codex: PathBuf,
    codex_home: PathBuf,
    home: PathBuf,
    work: PathBuf,
    tmp: PathBuf,
    marker: String,
    _root: tempfile::TempDir,
}

impl World {
    fn new(codex: PathBuf, base_url: &str) -> Result<World> {
        let root = tempfile::Builder::new().prefix("codex-soak-").tempdir()?;
        let base = root.path().canonicalize()?;
        let world = World {
            codex,
            codex_home: base.join("codex_home"),
            home: base.join("home"),
            work: base.join("work"),
            tmp: base.join("tmp"),
            marker: format!("codex-soak-{}", std::process::id()),
            _root: root,
        };
        for dir in [
            &world.codex_home,
            &world.home,
            &world.work.join(".git"),
            &world.tmp,
        ] {
            fs::create_dir_all(dir)?;
        }
        fs::write(
            world.codex_home.join("config.toml"),
            format!(
                "model = \"gpt-5-codex\"\nmodel_provider = \"mock\"\n\n[model_providers.mock]\n\
                 name = \"Mock\"\nbase_url = \"{base_url}\"\nenv_key = \"CODEX_API_KEY\"\n\
                 wire_api = \"responses\"\nrequest_max_retries = 1\nstream_max_retries = 1\n"
            ),
        )?;
        Ok(world)
    }

    /// Run `codex exec --json -s danger-full-access <args>` to the end.
    fn run(&self, args: &[&str]) -> Result<Output> {
        Command::new(&self.codex)
            .args(["exec", "--json", "-s", "danger-full-access"])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("CODEX_HOME", &self.codex_home)
            .env("CODEX_API_KEY", "sk-soak")
            .env("TMPDIR", &self.tmp)
            .env("SOAK_MARKER", &self.marker)
            .current_dir(&self.work)
            .stdin(Stdio::null())
            .output()
            .context("cannot run codex")
    }
}

/// The thread id of a finished run, after checking it: exit 0, `turn.completed`
/// last, `commands` completed commands that exited 0, and the answer.
fn check_run(output: &Output, commands: usize) -> Result<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let context = || {
        format!(
            "{}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    };
    ensure!(output.status.success(), "run failed: {}", context());
    let events: Vec<Value> = stdout
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .with_context(context)?;
    let completed = |kind: &str| {
        events
            .iter()
            .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == kind)
            .collect::<Vec<_>>()
    };
    let done = completed("command_execution");
    ensure!(
        done.len() == commands && done.iter().all(|e| e["item"]["exit_code"] == 0),
        "expected {commands} successful commands: {}",
        context()
    );
    ensure!(
        completed("agent_message")
            .iter()
            .any(|e| e["item"]["text"] == "soaked"),
        "no answer: {}",
        context()
    );
    ensure!(
        events.last().is_some_and(|e| e["type"] == "turn.completed"),
        "the turn did not complete: {}",
        context()
    );
    events
        .first()
        .and_then(|e| e["thread_id"].as_str())
        .map(str::to_string)
        .with_context(context)
}

/// Descriptors open in this process.
fn open_descriptors() -> Result<usize> {
    Ok(fs::read_dir("/proc/self/fd")?.count())
}

/// Processes (other than this one) whose environment carries `marker`.
fn marked_processes(marker: &str) -> Vec<(u32, String)> {
    let needle = format!("SOAK_MARKER={marker}");
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != std::process::id())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == needle.as_bytes()))
        })
        .map(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                .unwrap_or_default();
            (pid, cmdline)
        })
        .collect()
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        let Ok(entries) = fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push(rel.to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Check one rollout: JSON records, `session_meta` first, every call answered,
/// and (`turns` times) a completed turn.
fn check_rollout(path: &Path, turns: usize) -> Result<()> {
    let text = fs::read_to_string(path)?;
    let records: Vec<Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} has a line that is not JSON", path.display()))?;
    ensure!(
        records
            .iter()
            .all(|r| r["timestamp"].is_string() && r["type"].is_string()),
        "{}: a record without timestamp or type",
        path.display()
    );
    ensure!(
        records.first().is_some_and(|r| r["type"] == "session_meta"),
        "{}: no session_meta first",
        path.display()
    );
    let items: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "response_item")
        .map(|r| &r["payload"])
        .collect();
    let count = |kind: &str| items.iter().filter(|i| i["type"] == kind).count();
    ensure!(
        count("function_call") == STEPS.len() && count("function_call_output") == STEPS.len(),
        "{}: calls and outputs do not pair",
        path.display()
    );
    let completed = records
        .iter()
        .filter(|r| r["payload"]["type"] == "task_complete")
        .count();
    ensure!(
        completed == turns,
        "{}: {completed} completed turns, expected {turns}",
        path.display()
    );
    Ok(())
}

/// Run `jobs` on `workers` threads; the results in job order.
fn parallel<T: Send>(workers: usize, jobs: Vec<Box<dyn FnOnce() -> T + Send + '_>>) -> Vec<T> {
    let queue = Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let job = queue.lock().ok().and_then(|mut q| q.pop());
                let Some((n, job)) = job else { break };
                let result = job();
                if let Ok(mut results) = results.lock() {
                    results.insert(n, result);
                }
            });
        }
    });
    results
        .into_inner()
        .map(|r| r.into_values().collect())
        .unwrap_or_default()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn main() -> Result<()> {
    let options = parse_options()?;
    let binaries = binaries::locate()?;
    let unpaired = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&unpaired);
    let server = MockServer::builder()
        .replies(script())
        .fallback(message_reply("soaked"))
        .per_thread(true)
        .on_request(move |request| {
            if request.is_responses_request() && !calls_paired(request) {
                seen.fetch_add(1, Ordering::Relaxed);
            }
        })
        .start()?;
    let world = World::new(binaries.codex.clone(), &server.base_url())?;
    let fds_before = open_descriptors()?;
    let started = Instant::now();
    let mut failures: Vec<String> = Vec::new();
    let mut threads: Vec<String> = Vec::new();

    // Sequential runs.
    let mut times = Vec::new();
    let phase = Instant::now();
    for n in 0..options.sequential {
        let run = Instant::now();
        let output = world.run(&[&format!("soak {n}")])?;
        times.push(run.elapsed());
        match check_run(&output, STEPS.len()) {
            Ok(id) => threads.push(id),
            Err(err) => failures.push(format!("sequential run {n}: {err:#}")),
        }
    }
    let sequential_time = phase.elapsed();
    let sequential_median = median(times);

    // Concurrent runs, all started at once.
    let phase = Instant::now();
    let world_ref = &world;
    let outputs: Vec<Result<Output>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..options.concurrent)
            .map(|n| scope.spawn(move || world_ref.run(&[&format!("soak concurrent {n}")])))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a runner thread panicked")))
            })
            .collect()
    });
    let concurrent_time = phase.elapsed();
    for (n, output) in outputs.into_iter().enumerate() {
        match output.and_then(|o| check_run(&o, STEPS.len())) {
            Ok(id) => threads.push(id),
            Err(err) => failures.push(format!("concurrent run {n}: {err:#}")),
        }
    }

    // Every rollout, then every thread resumed once.
    let files = files_under(&world.codex_home);
    let rollouts: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.starts_with("sessions"))
        .map(|f| world.codex_home.join(f))
        .collect();
    let leftovers: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let rollout = f.starts_with("sessions")
                && name.starts_with("rollout-")
                && name.ends_with(".jsonl");
            !rollout && f.as_path() != Path::new("config.toml")
        })
        .collect();
    if rollouts.len() != threads.len() {
        failures.push(format!(
            "{} rollouts for {} threads",
            rollouts.len(),
            threads.len()
        ));
    }
    for rollout in &rollouts {
        if let Err(err) = check_rollout(rollout, 1) {
            failures.push(format!("{err:#}"));
        }
    }
    let phase = Instant::now();
    let jobs: Vec<Box<dyn FnOnce() -> Result<()> + Send + '_>> = threads
        .iter()
        .map(|id| {
            let world = &world;
            Box::new(move || -> Result<()> {
                let output = world.run(&["resume", id, "again"])?;
                check_run(&output, 0).map(drop)
            }) as Box<dyn FnOnce() -> Result<()> + Send + '_>
        })
        .collect();
    let resumed = parallel(options.workers, jobs);
    let resume_time = phase.elapsed();
    let resumes_ok = resumed.iter().filter(|r| r.is_ok()).count();
    for err in resumed.into_iter().filter_map(Result::err) {
        failures.push(format!("resume: {err:#}"));
    }
    for rollout in &rollouts {
        if let Err(err) = check_rollout(rollout, 2) {
            failures.push(format!("after resume: {err:#}"));
        }
    }

    // What is left behind.
    let settle = Instant::now();
    let mut fds_after = open_descriptors()?;
    while fds_after != fds_before && settle.elapsed() < SETTLE {
        std::thread::sleep(Duration::from_millis(100));
        fds_after = open_descriptors()?;
    }
    let processes = marked_processes(&world.marker);
    let temp_files = files_under(&world.tmp);
    let unpaired = unpaired.load(Ordering::Relaxed);
    let requests = server.response_requests().len();

    let mut report = String::new();
    let _ = writeln!(
        report,
        "soak: {} sequential + {} concurrent runs of a {}-step turn, {} resumes ({} workers)",
        options.sequential,
        options.concurrent,
        STEPS.len() + 1,
        threads.len(),
        options.workers
    );
    let _ = writeln!(
        report,
        "  sequential: {:.1} s total, median run {:.0} ms",
        sequential_time.as_secs_f64(),
        sequential_median.as_secs_f64() * 1000.0
    );
    let _ = writeln!(
        report,
        "  concurrent: {:.1} s for all {}",
        concurrent_time.as_secs_f64(),
        options.concurrent
    );
    let _ = writeln!(
        report,
        "  resumes:    {:.1} s, {resumes_ok} of {} exited 0",
        resume_time.as_secs_f64(),
        threads.len()
    );
    let _ = writeln!(
        report,
        "  requests served: {requests}; with a call not paired with its output: {unpaired}"
    );
    let _ = writeln!(
        report,
        "  rollouts: {} checked (valid before and after resume)",
        rollouts.len()
    );
    let _ = writeln!(report, "  processes left: {}", processes.len());
    let _ = writeln!(
        report,
        "  temp files left: {} in TMPDIR, {} stray files in CODEX_HOME",
        temp_files.len(),
        leftovers.len()
    );
    let _ = writeln!(
        report,
        "  parent descriptors: {fds_before} before, {fds_after} after"
    );
    let _ = writeln!(report, "  total: {:.1} s", started.elapsed().as_secs_f64());
    for (pid, cmdline) in &processes {
        failures.push(format!("process left: {pid} {cmdline}"));
    }
    for file in &temp_files {
        failures.push(format!("temp file left: {}", file.display()));
    }
    for file in leftovers {
        failures.push(format!("stray file in CODEX_HOME: {}", file.display()));
    }
    if unpaired > 0 {
        failures.push(format!("{unpaired} requests with unpaired calls"));
    }
    if fds_after != fds_before {
        failures.push(format!(
            "descriptors: {fds_before} before, {fds_after} after"
        ));
    }
    if failures.is_empty() {
        let _ = writeln!(report, "soak: all checks passed");
    }
    io::stdout().lock().write_all(report.as_bytes())?;
    if failures.is_empty() {
        return Ok(());
    }
    let mut stderr = io::stderr().lock();
    for failure in failures.iter().take(20) {
        writeln!(stderr, "FAILED: {failure}")?;
    }
    bail!("{} checks failed", failures.len())
}
