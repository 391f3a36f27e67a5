//! Git as a child process for `codex exec review`: each command runs with a
//! bounded time in its own process group (killed with its children when the
//! time is up), with captured output and a one-line summary of its stderr.
//!
//! Only read-only queries run here (`rev-parse`, `rev-list`, `merge-base`): the
//! review itself is left to the model, whose commands run under the sandbox.
//! Nothing here runs `git status` or `git diff`, which could start programs
//! named in the repository's own config (`core.fsmonitor`, clean filters)
//! outside the sandbox.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Longest one git command may run before it is killed.
const GIT_TIMEOUT_MS: u64 = 10_000;
/// Output kept from one stream of a git command; the rest is read and dropped.
const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// Longest a stderr summary may be.
const MAX_SUMMARY_CHARS: usize = 200;

/// Why a git command gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` could not be started (not on `PATH`, not executable). Fatal to the run.
    #[error("cannot run `git`: {0}")]
    Spawn(std::io::Error),
    /// The command did not finish in time and was killed. Fatal to the run.
    #[error("`git {command}` did not finish within {seconds} s and was stopped")]
    Timeout { command: String, seconds: u64 },
    /// The command ran and failed; `summary` is the gist of its stderr. The
    /// caller decides what it means (unknown revision, no repository, ...).
    #[error("`git {command}` failed: {summary}")]
    Failed {
        command: String,
        code: Option<i32>,
        summary: String,
    },
}

/// Runs git commands in one working directory.
#[derive(Debug, Clone, Copy)]
pub struct Git<'a> {
    cwd: &'a Path,
    timeout: Duration,
}

impl<'a> Git<'a> {
    /// Git in `cwd` with the default time bound.
    pub fn new(cwd: &'a Path) -> Git<'a> {
        Git {
            cwd,
            timeout: Duration::from_millis(GIT_TIMEOUT_MS),
        }
    }

    /// Run `git <args>`; its stdout, trimmed, when it exits 0.
    pub fn run(&self, args: &[&str]) -> Result<String, GitError> {
        let mut command = Command::new("git");
        // Plain messages to summarise, no prompt for credentials, no index
        // refresh behind the user's back; `core.fsmonitor` never starts a program.
        command
            .args(["-c", "core.fsmonitor=false"])
            .args(args)
            .current_dir(self.cwd)
            .env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0");
        let output = run_bounded(command, self.timeout).map_err(|err| match err {
            Bounded::Spawn(err) => GitError::Spawn(err),
            Bounded::Timeout => GitError::Timeout {
                command: args.join(" "),
                seconds: self.timeout.as_secs(),
            },
        })?;
        if output.status.success() {
            return Ok(output.stdout.trim().to_string());
        }
        Err(GitError::Failed {
            command: args.join(" "),
            code: output.status.code(),
            summary: summarise(&output.stderr, output.status),
        })
    }
}

/// What a finished command printed.
#[derive(Debug)]
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Why [`run_bounded`] has no output.
#[derive(Debug)]
enum Bounded {
    Spawn(std::io::Error),
    Timeout,
}

/// Run `command` in its own process group with null stdin and captured
/// output; after `timeout` the whole group is killed. Being in its own group,
/// the command does not get the terminal's Ctrl-C: it is killed instead when
/// this process dies (parent-death signal).
fn run_bounded(mut command: Command, timeout: Duration) -> Result<Output, Bounded> {
    let deadline = Instant::now() + timeout;
    let parent = std::process::id();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe system calls on no memory of ours.
    unsafe {
        command.pre_exec(move || die_with_parent(parent));
    }
    let mut child = command.spawn().map_err(Bounded::Spawn)?;
    let pid = child.id();
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = match done_rx.recv_timeout(timeout) {
        Ok(Ok(status)) => status,
        Ok(Err(err)) => return Err(Bounded::Spawn(err)),
        Err(_) => {
            kill_group(pid);
            return Err(Bounded::Timeout);
        }
    };
    // A descendant that outlived git may still hold the pipes: never wait
    // for it past the deadline.
    let collect = |reader: Option<mpsc::Receiver<Vec<u8>>>| {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let bytes = reader
            .and_then(|rx| rx.recv_timeout(remaining).ok())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let stdout = collect(stdout);
    let stderr = collect(stderr);
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// In the child: SIGKILL when `parent` goes away (Linux; nothing elsewhere).
fn die_with_parent(parent: u32) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on no memory of ours; async-signal-safe.
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the signal was armed.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
        }
    }
    let _ = parent;
    Ok(())
}

/// Read `reader` to its end on a thread, keeping the first [`MAX_OUTPUT_BYTES`].
fn drain<R: Read + Send + 'static>(mut reader: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = MAX_OUTPUT_BYTES.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
        }
        let _ = tx.send(kept);
    });
    rx
}

/// Kill the process group led by `pid`. Called only when the wait timed out,
/// so the leader is (all but always) still running and the id still names
/// its group.
fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// The gist of a failed command's stderr on one line: its first `fatal:` or
/// `error:` line, else its first non-blank line, else the exit status.
fn summarise(stderr: &str, status: ExitStatus) -> String {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = lines()
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .or_else(|| lines().next());
    match line {
        Some(line) if line.chars().count() > MAX_SUMMARY_CHARS => {
            let cut: String = line.chars().take(MAX_SUMMARY_CHARS).collect();
            format!("{cut}…")
        }
        Some(line) => line.to_string(),
        None => format!("git exited with {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    /// Both streams and the exit status of a finished command are kept.
    #[test]
    fn output_and_status_are_captured() -> anyhow::Result<()> {
        let output = run_bounded(
            sh("echo out; echo err >&2; exit 3"),
            Duration::from_secs(10),
        )
        .map_err(|err| anyhow::anyhow!("{err:?}"))?;
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
        Ok(())
    }

    /// A command past its time is killed, with the children holding its pipes.
    #[test]
    fn a_command_past_its_time_is_killed_with_its_children() -> anyhow::Result<()> {
        let started = Instant::now();
        let result = run_bounded(sh("sleep 30 & sleep 30"), Duration::from_millis(200));
        assert!(matches!(result, Err(Bounded::Timeout)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        Ok(())
    }

    /// A program that cannot be started is a spawn error.
    #[test]
    fn a_missing_program_is_a_spawn_error() -> anyhow::Result<()> {
        let result = run_bounded(
            Command::new("/nonexistent/git-for-test"),
            Duration::from_secs(1),
        );
        assert!(matches!(result, Err(Bounded::Spawn(_))), "{result:?}");
        Ok(())
    }

    /// The summary is git's `fatal:` line, one line, bounded.
    #[test]
    fn the_summary_prefers_the_fatal_line() -> anyhow::Result<()> {
        let status = Command::new("false").status()?;
        assert_eq!(
            summarise("hint: x\nfatal: Needed a single revision\n", status),
            "fatal: Needed a single revision"
        );
        assert_eq!(summarise("\n  warning: y \n", status), "warning: y");
        assert!(summarise("", status).starts_with("git exited with"));
        let long = "fatal: ".to_string() + &"x".repeat(500);
        assert_eq!(
            summarise(&long, status).chars().count(),
            MAX_SUMMARY_CHARS + 1
        );
        Ok(())
    }
}
