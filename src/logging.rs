//! `tracing` on stderr: filter from `RUST_LOG` (default `error`, minus `rmcp`,
//! whose transport errors are reported as MCP startup/call failures already),
//! JSON lines when `LOG_FORMAT=json`, ANSI only on a terminal.
//! `RUST_LOG=codex::stats=debug` adds one line at exit with the peak resident
//! memory of the run (`peak_rss_kib`), which the benchmark reads.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. Never fails the run: a bad filter falls back
/// to the default.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error,rmcp=off"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if json {
        builder.json().with_ansi(false).try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
    // A second initialisation can only happen in tests; ignore it.
    let _ = result;
}

/// Target of the end-of-run statistics line.
const STATS_TARGET: &str = "codex::stats";

/// Log the peak resident memory of this process (`VmHWM`) at debug level
/// under `codex::stats`. `/proc` is read only when that line is enabled.
pub fn log_peak_memory() {
    if !tracing::enabled!(target: STATS_TARGET, tracing::Level::DEBUG) {
        return;
    }
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
    if let Some(kib) = peak {
        tracing::debug!(target: STATS_TARGET, peak_rss_kib = kib, "run finished");
    }
}
