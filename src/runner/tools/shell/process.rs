//! One model-run command as an OS process: spawned in its own session (and so
//! its own process group), with a parent-death signal, its output pumped into
//! bounded buffers by background tasks, and its exit observed by a waiter task.
//!
//! Under a sandbox the process is the helper's supervisor (`sandbox::supervisor`):
//! it exits only once the command and everything it started are gone, so a
//! sandboxed command's background processes die with it (as in the reference's
//! pid namespace). Killing a supervised process sends it `SIGTERM`, which it
//! answers by killing the whole tree, `setsid` escapees included. Unsandboxed
//! (`danger-full-access`) commands are killed through their process group;
//! a group whose leader already exited is left to the run-end sweep
//! (`reaper`), so servers such commands start in the background keep running
//! between tool calls. Dropping a [`Process`] whose leader has not exited
//! kills it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::buffer::HeadTail;
use super::pty;

/// Cap on the output kept for `aggregated_output` (head + tail).
pub const AGGREGATED_OUTPUT_MAX_BYTES: usize = 1024 * 1024;
/// Cap on output not yet returned to the model (unified exec).
const UNREAD_OUTPUT_MAX_BYTES: usize = 1024 * 1024;
/// Read size of the output pumps.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// How long a PTY write may block on a program that does not read.
const TTY_WRITE_TIMEOUT_MS: u64 = 5_000;

/// What to run.
#[derive(Debug)]
pub struct SpawnSpec {
    /// Program and arguments (already wrapped by the sandbox).
    pub argv: Vec<OsString>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The complete environment.
    pub env: BTreeMap<OsString, OsString>,
    /// Run on a pseudo-terminal (stdin writable) instead of pipes (stdin `/dev/null`).
    pub tty: bool,
    /// The program is the sandbox supervisor (`sandbox::is_supervised`): it is
    /// killed with `SIGTERM` so it can take the command's whole tree with it.
    pub supervised: bool,
}

/// Output collected so far.
#[derive(Debug)]
struct Output {
    /// Everything, for `aggregated_output`.
    aggregated: HeadTail,
    /// Not yet handed to the model.
    unread: HeadTail,
}

/// A spawned command.
#[derive(Debug)]
pub struct Process {
    pid: i32,
    supervised: bool,
    tty: Option<Arc<AsyncFd<OwnedFd>>>,
    output: Arc<Mutex<Output>>,
    exit: watch::Receiver<Option<i32>>,
    closed_streams: watch::Receiver<usize>,
    streams: usize,
    pumps: Vec<AbortHandle>,
}

impl Process {
    /// Start `spec`. Must be called on the thread that stays alive for the
    /// whole run (the runtime thread): the parent-death signal fires when the
    /// forking *thread* exits.
    pub fn spawn(spec: SpawnSpec) -> io::Result<Process> {
        let (program, args) = spec
            .argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .current_dir(&spec.cwd)
            .env_clear()
            .envs(&spec.env);
        let master = if spec.tty {
            let pty = pty::open()?;
            cmd.stdin(Stdio::from(pty.slave.try_clone()?))
                .stdout(Stdio::from(pty.slave.try_clone()?))
                .stderr(Stdio::from(pty.slave));
            // Registered before spawning, so no failure can leave a child untracked.
            // SAFETY: `master` is an open descriptor that the AsyncFd owns
            // (and so keeps open, unchanged) for its whole life.
            let master = unsafe { AsyncFd::register(pty.master) }.map_err(io::Error::from)?;
            Some(Arc::new(master))
        } else {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            None
        };
        let parent = std::process::id();
        let tty = spec.tty;
        // SAFETY: the closure runs between fork and exec and only makes
        // async-signal-safe system calls; it allocates nothing.
        unsafe {
            cmd.pre_exec(move || in_child(parent, tty));
        }
        let mut child = cmd.spawn()?;
        // Closes our copies of the pty slave, so EOF arrives when the command's do.
        drop(cmd);
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| io::Error::other("spawned process has no pid"))?;

        let output = Arc::new(Mutex::new(Output {
            aggregated: HeadTail::new(AGGREGATED_OUTPUT_MAX_BYTES),
            unread: HeadTail::new(UNREAD_OUTPUT_MAX_BYTES),
        }));
        let (closed_tx, closed_streams) = watch::channel(0usize);
        let closed_tx = Arc::new(closed_tx);
        let mut pumps = Vec::new();
        let tty = match master {
            Some(fd) => {
                pumps.push(
                    tokio::spawn(pump_tty(fd.clone(), output.clone(), closed_tx.clone()))
                        .abort_handle(),
                );
                Some(fd)
            }
            None => {
                if let Some(stdout) = child.stdout.take() {
                    pumps.push(
                        tokio::spawn(pump(stdout, output.clone(), closed_tx.clone()))
                            .abort_handle(),
                    );
                }
                if let Some(stderr) = child.stderr.take() {
                    pumps.push(
                        tokio::spawn(pump(stderr, output.clone(), closed_tx.clone()))
                            .abort_handle(),
                    );
                }
                None
            }
        };
        let streams = pumps.len();
        let (exit_tx, exit) = watch::channel(None);
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(status) => status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
                Err(err) => {
                    tracing::warn!(pid, error = %err, "cannot wait for command");
                    -1
                }
            };
            let _ = exit_tx.send(Some(code));
        });
        Ok(Process {
            pid,
            supervised: spec.supervised,
            tty,
            output,
            exit,
            closed_streams,
            streams,
            pumps,
        })
    }

    /// Process id of the leader, which is also the group (and session) id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Whether stdin is a pty that `write_stdin` can write to.
    pub fn is_tty(&self) -> bool {
        self.tty.is_some()
    }

    /// The exit code, once the leader has exited (128+n when killed by signal n).
    pub fn exit_code(&self) -> Option<i32> {
        *self.exit.borrow()
    }

    /// Wait for the leader to exit, at most `limit`.
    pub async fn wait_for(&self, limit: Duration) -> Option<i32> {
        let mut exit = self.exit.clone();
        let _ = tokio::time::timeout(limit, exit.wait_for(Option::is_some)).await;
        self.exit_code()
    }

    /// After exit: wait, at most `grace`, for the output streams to reach EOF
    /// (a background child that inherited them may hold them open forever).
    pub async fn drain(&self, grace: Duration) {
        let mut closed = self.closed_streams.clone();
        let streams = self.streams;
        let _ = tokio::time::timeout(grace, closed.wait_for(|n| *n >= streams)).await;
    }

    /// Kill the command and what it started: `SIGTERM` to a supervisor (which
    /// kills its whole tree, then exits), `SIGKILL` to an unsupervised group.
    pub fn kill(&self) {
        if self.supervised {
            terminate_supervisor(self.pid);
        } else {
            kill_group(self.pid);
        }
    }

    /// The output so far, head and tail kept (SPEC §4.4 `aggregated_output`).
    pub fn aggregated_output(&self) -> String {
        self.lock().aggregated.to_text()
    }

    /// Output not yet returned to the model, and its size before any capping.
    pub fn take_unread(&self) -> (String, u64) {
        let mut output = self.lock();
        let fresh = std::mem::replace(&mut output.unread, HeadTail::new(UNREAD_OUTPUT_MAX_BYTES));
        (fresh.to_text(), fresh.total_len())
    }

    /// Write `bytes` to the pty. Fails for pipe-mode processes, whose stdin is closed.
    pub async fn write_stdin(&self, mut bytes: &[u8]) -> io::Result<()> {
        let fd = self.tty.as_ref().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "stdin is closed for this session",
            )
        })?;
        let write_all = async {
            while !bytes.is_empty() {
                let mut guard = fd.writable().await?;
                match guard.try_io(|inner| {
                    nix::unistd::write(inner.get_ref(), bytes).map_err(io::Error::from)
                }) {
                    Ok(Ok(n)) => bytes = &bytes[n..],
                    Ok(Err(err)) => return Err(err),
                    Err(_would_block) => {}
                }
            }
            Ok(())
        };
        tokio::time::timeout(Duration::from_millis(TTY_WRITE_TIMEOUT_MS), write_all)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the process is not reading its input",
                )
            })?
    }

    fn lock(&self) -> MutexGuard<'_, Output> {
        lock(&self.output)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        for pump in &self.pumps {
            pump.abort();
        }
        if self.exit_code().is_none() {
            self.kill();
        }
    }
}

/// SIGKILL process group `pgid`; errors (already gone) are ignored.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Ask supervisor `pid` to kill its tree and exit: `SIGTERM`, and `SIGCONT` in
/// case it was stopped (possible only on kernels without Landlock's signal
/// scope). The run-end sweep SIGKILLs its group whatever happens.
fn terminate_supervisor(pid: i32) {
    if pid > 1 {
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
    }
}

fn lock(output: &Mutex<Output>) -> MutexGuard<'_, Output> {
    // A pump never panics while holding the lock; recover the data if one did.
    output.lock().unwrap_or_else(PoisonError::into_inner)
}

fn append(output: &Mutex<Output>, bytes: &[u8]) {
    let mut output = lock(output);
    output.aggregated.push(bytes);
    output.unread.push(bytes);
}

/// Copy one pipe into the buffers until EOF.
async fn pump<R: AsyncRead + Unpin>(
    mut reader: R,
    output: Arc<Mutex<Output>>,
    closed: Arc<watch::Sender<usize>>,
) {
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => append(&output, &buf[..n]),
        }
    }
    closed.send_modify(|n| *n += 1);
}

/// Copy the pty master into the buffers until the slave side is closed (EIO).
async fn pump_tty(
    fd: Arc<AsyncFd<OwnedFd>>,
    output: Arc<Mutex<Output>>,
    closed: Arc<watch::Sender<usize>>,
) {
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    loop {
        let Ok(mut guard) = fd.readable().await else {
            break;
        };
        match guard
            .try_io(|inner| nix::unistd::read(inner.as_raw_fd(), &mut buf).map_err(io::Error::from))
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => append(&output, &buf[..n]),
            Err(_would_block) => {}
        }
    }
    closed.send_modify(|n| *n += 1);
}

/// Between fork and exec: a new session (so a new process group and, for a
/// pty, a controlling terminal), and SIGKILL when the parent goes away.
pub fn in_child(parent: u32, tty: bool) -> io::Result<()> {
    // SAFETY: plain system calls on no memory of ours; all async-signal-safe.
    unsafe {
        if libc::setsid() == -1 {
            return Err(io::Error::last_os_error());
        }
        if tty && libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
            return Err(io::Error::last_os_error());
        }
        #[cfg(target_os = "linux")]
        {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before the signal was armed.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
        }
    }
    let _ = parent;
    Ok(())
}
