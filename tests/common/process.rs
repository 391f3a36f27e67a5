//! Running the real binary: [`Exec`] builds a command with a clean environment,
//! [`Spawned`] is a running child guarded by a watchdog, [`Run`] a finished one.

use std::ffi::OsStr;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use super::json::normalize_events;
use super::TEST_API_KEY;

/// Longest a single run may take before the watchdog kills it and the test fails.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// A `codex` command line being built. Stdin is `/dev/null` unless set; stdout
/// is captured unless redirected.
pub struct Exec {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    stdout: Option<std::fs::File>,
}

impl Exec {
    /// `codex` with only `PATH`, `HOME`, `CODEX_HOME` and `CODEX_API_KEY` set, run
    /// through `wrapper` (a program and its arguments, e.g. `setpriv …`; none when empty),
    /// which must `exec` it so that the child's pid stays codex's.
    pub(super) fn new(wrapper: &[&str], home: &Path, codex_home: &Path, work: &Path) -> Exec {
        let codex = env!("CARGO_BIN_EXE_codex");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(codex);
                cmd
            }
            None => Command::new(codex),
        };
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", home)
            .env("CODEX_HOME", codex_home)
            .env("CODEX_API_KEY", TEST_API_KEY)
            .current_dir(work)
            .stdin(Stdio::null());
        Exec {
            cmd,
            stdin: None,
            stdout: None,
        }
    }

    /// Append one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Exec {
        self.cmd.arg(arg);
        self
    }

    /// Append arguments.
    pub fn args<I, S>(mut self, args: I) -> Exec
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Set an environment variable of the child.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Exec {
        self.cmd.env(key, value);
        self
    }

    /// Remove an environment variable of the child.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Exec {
        self.cmd.env_remove(key);
        self
    }

    /// Run in `dir` instead of the work dir.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Exec {
        self.cmd.current_dir(dir);
        self
    }

    /// Limit the size of files the child may write to `bytes` (`RLIMIT_FSIZE`),
    /// with `SIGXFSZ` ignored: a write past the limit fails with `EFBIG`, the
    /// way a full disk fails it with `ENOSPC`.
    pub fn file_size_limit(mut self, bytes: u64) -> Exec {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before `exec` and only
        // makes async-signal-safe system calls (`sigaction`, `setrlimit`).
        unsafe {
            self.cmd.pre_exec(move || {
                nix::sys::signal::signal(Signal::SIGXFSZ, nix::sys::signal::SigHandler::SigIgn)
                    .map_err(std::io::Error::from)?;
                nix::sys::resource::setrlimit(
                    nix::sys::resource::Resource::RLIMIT_FSIZE,
                    bytes,
                    bytes,
                )
                .map_err(std::io::Error::from)
            });
        }
        self
    }

    /// Pipe `bytes` into stdin, then close it.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Exec {
        self.stdin = Some(bytes.into());
        self
    }

    /// Send stdout to `file` (e.g. `/dev/full`) instead of capturing it.
    pub fn stdout_to(mut self, file: std::fs::File) -> Exec {
        self.stdout = Some(file);
        self
    }

    /// Run to completion (killed after [`RUN_TIMEOUT`]) and collect the output.
    pub fn run(self) -> Result<Run> {
        let bytes = self.stdin.clone();
        let mut spawned = self.spawn_with_stdin(if bytes.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })?;
        let writer = match (bytes, spawned.child.stdin.take()) {
            (Some(bytes), Some(mut pipe)) => Some(thread::spawn(move || {
                // The child may exit without reading; a broken pipe is fine.
                let _ = pipe.write_all(&bytes);
            })),
            _ => None,
        };
        let run = spawned.finish();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        run
    }

    /// Start the child with stdout and stderr piped and the given stdin.
    pub fn spawn_with_stdin(mut self, stdin: Stdio) -> Result<Spawned> {
        let stdout = self.stdout.take().map_or_else(Stdio::piped, Stdio::from);
        let child = self
            .cmd
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .context("spawn codex")?;
        let pid = Pid::from_raw(i32::try_from(child.id())?);
        let mut spawned = Spawned {
            child,
            stderr: None,
            watchdog: Watchdog::arm(pid, RUN_TIMEOUT),
        };
        let stderr = spawned.child.stderr.take().map(read_all);
        spawned.stderr = stderr;
        Ok(spawned)
    }
}

/// A running child. A watchdog kills it after [`RUN_TIMEOUT`] so a hung binary
/// fails the test instead of hanging it. Stderr is drained in the background.
pub struct Spawned {
    /// The child; `stdout` (and `stdin` when piped) are still in it.
    pub child: Child,
    stderr: Option<JoinHandle<Vec<u8>>>,
    watchdog: Watchdog,
}

impl Spawned {
    /// Send `signal` to the child.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        let pid = Pid::from_raw(i32::try_from(self.child.id())?);
        kill(pid, signal).context("kill")
    }

    /// Take stdout and read it line by line on a background thread.
    pub fn stdout_lines(&mut self) -> Result<Lines> {
        let stdout = self.child.stdout.take().context("stdout already taken")?;
        Ok(Lines::start(stdout))
    }

    /// Wait for the child to exit and collect whatever stdout is left and all stderr.
    pub fn finish(mut self) -> Result<Run> {
        let stdout = self.child.stdout.take().map(read_all);
        let status = self.child.wait().context("wait for codex")?;
        let killed = self.watchdog.disarm();
        let stdout = stdout.map(|h| h.join().unwrap_or_default());
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default());
        let run = Run {
            status,
            stdout: String::from_utf8_lossy(&stdout.unwrap_or_default()).into_owned(),
            stderr: String::from_utf8_lossy(&stderr.unwrap_or_default()).into_owned(),
        };
        if killed {
            bail!("codex did not exit within {RUN_TIMEOUT:?} and was killed\n{run}");
        }
        Ok(run)
    }
}

fn read_all<R: Read + Send + 'static>(mut reader: R) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = reader.read_to_end(&mut buf);
        buf
    })
}

/// Kills a process group leader's pid with SIGKILL unless disarmed in time.
struct Watchdog {
    disarm: Option<Sender<()>>,
    thread: Option<JoinHandle<bool>>,
}

impl Watchdog {
    fn arm(pid: Pid, timeout: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = thread::spawn(move || match rx.recv_timeout(timeout) {
            Err(RecvTimeoutError::Timeout) => {
                let _ = kill(pid, Signal::SIGKILL);
                true
            }
            Ok(()) | Err(RecvTimeoutError::Disconnected) => false,
        });
        Watchdog {
            disarm: Some(tx),
            thread: Some(thread),
        }
    }

    /// Stop the watchdog; returns whether it had already killed the child.
    fn disarm(&mut self) -> bool {
        if let Some(tx) = self.disarm.take() {
            let _ = tx.send(());
        }
        self.thread
            .take()
            .map(|t| t.join().unwrap_or(false))
            .unwrap_or(false)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// Stdout lines delivered from a background reader thread.
pub struct Lines {
    rx: Receiver<String>,
}

impl Lines {
    fn start(stdout: ChildStdout) -> Lines {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines { rx }
    }

    /// The next line, or `None` at EOF or after `timeout`.
    pub fn next_within(&self, timeout: Duration) -> Option<String> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Read lines until one parses as JSON with `"type" == ty`; returns every line read.
    pub fn until_type(&self, ty: &str, timeout: Duration) -> Result<Vec<String>> {
        let mut seen = Vec::new();
        loop {
            let Some(line) = self.next_within(timeout) else {
                bail!("no `{ty}` line within {timeout:?}; got {seen:#?}");
            };
            let is_match = serde_json::from_str::<Value>(&line)
                .ok()
                .and_then(|v| v.get("type").and_then(Value::as_str).map(|t| t == ty))
                .unwrap_or(false);
            seen.push(line);
            if is_match {
                return Ok(seen);
            }
        }
    }

    /// Every remaining line until EOF (the child must have exited or be exiting).
    pub fn rest(&self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.rx.recv_timeout(RUN_TIMEOUT) {
            lines.push(line);
        }
        lines
    }
}

/// A finished run.
pub struct Run {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

impl Run {
    /// The exit code (`None` when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Every stdout line parsed as JSON; each line must be compact JSON.
    pub fn jsonl(&self) -> Result<Vec<Value>> {
        parse_jsonl(self.stdout.lines())
    }

    /// The JSONL events with the thread id checked (UUIDv7) and replaced by
    /// [`THREAD_ID`](super::THREAD_ID); returns the real thread id too.
    pub fn events(&self) -> Result<(String, Vec<Value>)> {
        normalize_events(self.jsonl().with_context(|| self.to_string())?)
            .with_context(|| self.to_string())
    }
}

/// Parse JSONL lines, requiring each to be compact (re-serialises identically).
pub fn parse_jsonl<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<Vec<Value>> {
    let mut values = Vec::new();
    for line in lines {
        let value: Value = serde_json::from_str(line)
            .with_context(|| format!("stdout line is not JSON: {line:?}"))?;
        let compact = serde_json::to_string(&value)?;
        if compact != line {
            bail!(
                "stdout line is not compact JSON in field order:\n  got  {line}\n  want {compact}"
            );
        }
        values.push(value);
    }
    Ok(values)
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "codex exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}
