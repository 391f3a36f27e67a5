//! The supervisor: the helper process that owns a sandboxed command's process tree.
//!
//! The helper does not `exec` the command itself. It becomes a child subreaper, swaps
//! the `SIGKILL` parent-death signal the runner armed for a catchable `SIGTERM`, and
//! forks the child that applies layer 1 and `exec`s the command. Then it only waits:
//! * when the command (its direct child) exits, it kills every process left below it
//!   (orphans are reparented to it even after `setsid` or `env -i`, since it is a
//!   subreaper) and exits with the command's status (its exit code, or 128 + the
//!   signal that killed it);
//! * when the runner dies (parent-death signal), or on `SIGTERM` / `SIGHUP` (a timeout
//!   or interrupt in the runner, the pty closing), it kills every descendant and exits
//!   with 128 + that signal;
//! * `SIGINT` / `SIGQUIT` (and the job-control stops `SIGTSTP`, `SIGTTIN`, `SIGTTOU`)
//!   from the terminal reach the command's whole process group; the supervisor
//!   ignores its own copy, so the command decides, and the supervisor never stops.
//!
//! The signals are blocked before the fork and taken with `sigwait`, so none is lost
//! and no handler runs; the child restores the original mask, so the command starts
//! with the dispositions and mask the runner gave it. The command cannot signal the
//! supervisor (Landlock signal scope) nor trace it (seccomp, and it holds fewer
//! capabilities), so nothing it does ends the supervision early.
//!
//! Must run single-threaded (it forks and goes on in the child); never in the CLI.

use std::io;

use nix::errno::Errno;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getpid, getppid, ForkResult, Pid};

use super::SandboxError;

/// What the supervisor waits for (all blocked, taken with `sigwait`).
const WATCHED_SIGNALS: [Signal; 8] = [
    Signal::SIGCHLD,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// The supervisor's parent-death signal: catchable, so the tree is cleaned up first.
const PARENT_DEATH_SIGNAL: Signal = Signal::SIGTERM;

/// Rounds of "list the children, kill them, reap them" before giving up on
/// processes that refuse to die (uninterruptible sleep).
const MAX_KILL_ROUNDS: usize = 1000;

/// Pause between rounds that found live children the listing could not name.
const UNLISTED_CHILD_PAUSE_MS: u64 = 1;

/// Exit-status base of a process killed by a signal (the shell's convention).
const SIGNAL_EXIT_BASE: u8 = 128;

/// Fork `command` (which must apply the sandbox and `exec`, returning only an exit
/// code on failure) and supervise it. Returns the code to exit with, once no
/// descendant is left.
pub(crate) fn supervise(command: impl FnOnce() -> u8) -> Result<u8, SandboxError> {
    let runner = getppid();
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|errno| supervisor_error("become a child subreaper", errno))?;
    let watched: SigSet = WATCHED_SIGNALS.into_iter().collect();
    let mut original_mask = SigSet::empty();
    sigprocmask(
        SigmaskHow::SIG_BLOCK,
        Some(&watched),
        Some(&mut original_mask),
    )
    .map_err(|errno| supervisor_error("block signals", errno))?;
    nix::sys::prctl::set_pdeathsig(PARENT_DEATH_SIGNAL)
        .map_err(|errno| supervisor_error("set the parent-death signal", errno))?;
    if getppid() != runner {
        // The runner died before the catchable signal was armed: nothing started yet.
        return Ok(exit_code_for_signal(PARENT_DEATH_SIGNAL));
    }
    let supervisor = getpid();
    let affinity = SameCpu::pin();
    // SAFETY: the helper is single-threaded (no runtime, no other thread was ever
    // started), so the child may go on running ordinary code.
    let forked = unsafe { fork() };
    affinity.restore();
    let child = match forked.map_err(|errno| supervisor_error("fork", errno))? {
        ForkResult::Child => {
            let code = in_child(supervisor, &original_mask)
                .map_or_else(|err| super::helper::report(&err), |()| command());
            std::process::exit(i32::from(code));
        }
        ForkResult::Parent { child } => child,
    };
    Ok(wait(child, &watched))
}

/// The CPU affinity of the helper, narrowed to the CPU it runs on around the fork.
///
/// A new process is placed by the scheduler's fork balancing, often on another CPU
/// whose queue is busy, while the supervisor goes to sleep at once and leaves its own
/// CPU idle: on the loaded 2-core machine that wait cost about 1 ms per sandboxed
/// command (median of 20-step runs). Forking while pinned puts the child where the
/// supervisor was; both restore the original mask right after (the command is never
/// pinned).
struct SameCpu {
    /// The mask to restore; `None` when pinning did not happen.
    original: Option<nix::sched::CpuSet>,
}

impl SameCpu {
    /// Pin the calling process to its current CPU (best effort).
    fn pin() -> SameCpu {
        use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
        let me = Pid::from_raw(0);
        let original = sched_getaffinity(me).ok().filter(|_| {
            let mut one = CpuSet::new();
            sched_getcpu()
                .and_then(|cpu| one.set(cpu))
                .and_then(|()| sched_setaffinity(me, &one))
                .is_ok()
        });
        SameCpu { original }
    }

    /// Give the calling process (either side of the fork) its original mask back.
    fn restore(&self) {
        if let Some(original) = &self.original {
            let _ = nix::sched::sched_setaffinity(Pid::from_raw(0), original);
        }
    }
}

/// In the forked child: the original signal mask back, and `SIGKILL` when the
/// supervisor goes away (it never does before killing us, unless killed itself).
fn in_child(supervisor: Pid, original_mask: &SigSet) -> Result<(), SandboxError> {
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(original_mask), None)
        .map_err(|errno| supervisor_error("restore the signal mask", errno))?;
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|errno| supervisor_error("set the parent-death signal", errno))?;
    if getppid() != supervisor {
        return Err(supervisor_error("watch the supervisor", Errno::ESRCH));
    }
    Ok(())
}

/// The supervisor's loop: wait for the command or a signal that ends supervision,
/// then kill what is left. Returns the exit code.
fn wait(command: Pid, watched: &SigSet) -> u8 {
    loop {
        let signal = match watched.wait() {
            Ok(signal) => signal,
            // sigwait only fails for an invalid set; treat it like a termination.
            Err(_) => Signal::SIGTERM,
        };
        let (code, children_left) = match signal {
            Signal::SIGCHLD => reap(command),
            // The terminal's signals are for the command (the whole foreground group
            // gets them); the supervisor neither dies nor stops on its copy.
            Signal::SIGINT
            | Signal::SIGQUIT
            | Signal::SIGTSTP
            | Signal::SIGTTIN
            | Signal::SIGTTOU => (None, true),
            other => (Some(exit_code_for_signal(other)), true),
        };
        if let Some(code) = code {
            if children_left {
                kill_descendants();
            }
            return code;
        }
    }
}

/// Reap every child that has exited: the command's exit code if it was one of them,
/// and whether any child is left.
fn reap(command: Pid) -> (Option<u8>, bool) {
    let mut code = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, status)) if pid == command => {
                code = Some(u8::try_from(status).unwrap_or(u8::MAX));
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == command => {
                code = Some(exit_code_for_signal(signal));
            }
            Ok(WaitStatus::StillAlive) => return (code, true),
            // ECHILD: nothing left to kill.
            Err(_) => return (code, false),
            Ok(_) => {}
        }
    }
}

/// SIGKILL every descendant and reap it, round after round (orphans of a killed
/// child become our children), until no child is left.
fn kill_descendants() {
    let me = getpid();
    for _ in 0..MAX_KILL_ROUNDS {
        let mut listed = children(me);
        for &pid in &listed {
            let _ = kill(pid, Signal::SIGKILL);
        }
        for &pid in &listed {
            let _ = waitpid(pid, None);
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                // None left at all: done.
                Err(_) => return,
                Ok(WaitStatus::StillAlive) => break,
                // An orphan that had exited on its own: reaped, look again.
                Ok(_) => {}
            }
        }
        if listed.is_empty() {
            // A live child the children file did not name (it is only exact for
            // stopped trees): look it up the slow way.
            listed = children_by_scan(me);
            for &pid in &listed {
                let _ = kill(pid, Signal::SIGKILL);
            }
            if listed.is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(UNLISTED_CHILD_PAUSE_MS));
            }
        }
    }
    tracing::debug!("descendants still alive after {MAX_KILL_ROUNDS} rounds of SIGKILL");
}

/// Our children, from `/proc/self/task/<tid>/children`; a scan of `/proc` when the
/// kernel has no such file.
fn children(me: Pid) -> Vec<Pid> {
    match std::fs::read_to_string(format!("/proc/self/task/{me}/children")) {
        Ok(text) => text
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .map(Pid::from_raw)
            .collect(),
        Err(_) => children_by_scan(me),
    }
}

/// Our children, from the parent pid in every `/proc/<pid>/stat`.
fn children_by_scan(me: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| parent_of(pid) == Some(me.as_raw()))
        .map(Pid::from_raw)
        .collect()
}

/// The parent pid of `pid` (field 4 of `/proc/<pid>/stat`; the command name in field
/// 2 may hold spaces and parentheses, so parse after the last `)`).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// 128 + the signal number, as a shell reports a command killed by it.
fn exit_code_for_signal(signal: Signal) -> u8 {
    u8::try_from(signal as i32).map_or(u8::MAX, |n| SIGNAL_EXIT_BASE.saturating_add(n))
}

/// A failed setup step, as our typed error.
fn supervisor_error(step: &'static str, errno: Errno) -> SandboxError {
    SandboxError::Supervisor {
        step,
        source: io::Error::from(errno),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Signals map to the shell's 128 + n.
    #[test]
    fn signal_exit_codes_follow_the_shell() {
        assert_eq!(exit_code_for_signal(Signal::SIGTERM), 143);
        assert_eq!(exit_code_for_signal(Signal::SIGKILL), 137);
        assert_eq!(exit_code_for_signal(Signal::SIGHUP), 129);
    }

    /// Pinning narrows this thread to one CPU; restoring gives the mask back.
    #[test]
    fn same_cpu_pins_and_restores() {
        use nix::sched::sched_getaffinity;
        let me = Pid::from_raw(0);
        let before = sched_getaffinity(me).unwrap();
        let count = |set: &nix::sched::CpuSet| {
            (0..nix::sched::CpuSet::count())
                .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
                .count()
        };
        let pinned = SameCpu::pin();
        assert!(pinned.original.is_some());
        assert_eq!(count(&sched_getaffinity(me).unwrap()), 1);
        pinned.restore();
        assert_eq!(sched_getaffinity(me).unwrap(), before);
    }

    /// `/proc` parsing finds our own parent, and a spawned child among our children.
    #[test]
    fn children_are_found_in_proc() {
        let me = i32::try_from(std::process::id()).unwrap();
        assert_eq!(parent_of(me), Some(getppid().as_raw()));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
        let by_scan = children_by_scan(Pid::from_raw(me));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(by_scan.contains(&pid), "{pid} not in {by_scan:?}");
    }
}
