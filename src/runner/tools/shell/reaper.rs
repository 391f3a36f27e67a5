//! Run-end cleanup: kill everything our commands started (SPEC §0.5
//! "Background processes", §22.1).
//!
//! Sandboxed commands mostly clean up after themselves: their supervisor
//! kills everything a command started when it exits, and when this process
//! dies (its parent-death signal). What is left for the run end, from
//! cheapest to widest:
//! 1. every process group we spawned is SIGKILLed (covers `cmd &` children of
//!    unsandboxed commands, which stay in the command's group, and every
//!    supervisor still running);
//! 2. each command leader carries `PR_SET_PDEATHSIG=SIGKILL` (covers a crash
//!    of this process; a supervisor turns it into its own cleanup);
//! 3. a sweep of `/proc` kills every process whose environment still holds this
//!    thread's `CODEX_THREAD_ID=<id>` marker, and its group (covers
//!    double-forked children that called `setsid` to leave the group);
//! 4. this process is a child subreaper (set at startup, `exec::main`), so
//!    every orphan of the processes we started, environment scrubbed or not,
//!    is reparented to us: every live child left is SIGKILLed (MCP servers
//!    included, which are killed at run end anyway). Killed orphans are not
//!    reaped here — their exit statuses are not ours to take from the runtime,
//!    which waits for the children it spawned — and vanish with this process.
//!
//! Not covered: without a sandbox, a descendant that leaves the group,
//! scrubs its environment and is still running when a *timeout* kills its
//! command lives on until the run ends; a descendant that changes user.
//!
//! A group id stays reserved while any member lives, so killing a tracked
//! group only ever reaches our processes, unless the group emptied and the
//! kernel handed the same number to a new, unrelated session leader within
//! this run (a pid wrap-around; accepted).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::process::kill_group;

/// Sweeps repeated while they still find processes (children forked while
/// we were killing their parent show up in the next round).
const MAX_SWEEPS: usize = 5;
/// Pause between sweeps, so SIGKILLed processes have become zombies.
const SWEEP_PAUSE_MS: u64 = 5;

/// Every process group spawned by this thread's command tools.
#[derive(Debug, Default)]
pub struct Reaper {
    groups: Mutex<Vec<i32>>,
    /// `NAME=value` entry identifying our descendants.
    marker: String,
}

impl Reaper {
    /// A reaper recognising descendants by the `marker` environment entry.
    pub fn new(marker: String) -> Reaper {
        Reaper {
            groups: Mutex::new(Vec::new()),
            marker,
        }
    }

    /// Remember a spawned group.
    pub fn track(&self, pgid: i32) {
        self.groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pgid);
    }

    /// Kill every tracked group and sweep for escaped descendants. Synchronous:
    /// safe to call from `Drop` and right before the process exits.
    pub fn kill_all(&self) {
        let groups =
            std::mem::take(&mut *self.groups.lock().unwrap_or_else(PoisonError::into_inner));
        for pgid in &groups {
            kill_group(*pgid);
        }
        if groups.is_empty() {
            // Nothing was ever spawned, so there is nothing to sweep for.
            return;
        }
        let subreaper = is_subreaper();
        for round in 0..MAX_SWEEPS {
            let mut found = sweep(self.marker.as_bytes());
            if subreaper {
                found += kill_children();
            }
            if found == 0 {
                break;
            }
            if round + 1 < MAX_SWEEPS {
                std::thread::sleep(Duration::from_millis(SWEEP_PAUSE_MS));
            }
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Kill live processes whose environment contains `marker`, and their groups.
/// Returns how many were found.
#[cfg(target_os = "linux")]
fn sweep(marker: &[u8]) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let own_pid = std::process::id();
    let own_group = nix::unistd::getpgrp().as_raw();
    let mut found = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own_pid {
            continue;
        }
        // Unreadable (another user) or gone: not ours. Zombies read as empty.
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if !environ.split(|b| *b == 0).any(|var| var == marker) {
            continue;
        }
        found += 1;
        let Ok(pid) = i32::try_from(pid) else {
            continue;
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        if let Some(pgid) = stat(pid).map(|s| s.group).filter(|g| *g != own_group) {
            kill_group(pgid);
        }
    }
    found
}

#[cfg(not(target_os = "linux"))]
fn sweep(_marker: &[u8]) -> usize {
    0
}

/// Whether this process is a child subreaper: only the runner is (tests that
/// drop tools must never kill the children of the test process).
#[cfg(target_os = "linux")]
fn is_subreaper() -> bool {
    nix::sys::prctl::get_child_subreaper().unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
fn is_subreaper() -> bool {
    false
}

/// SIGKILL every live child of this process (zombies are left alone: see the
/// module docs). Returns how many were found alive.
#[cfg(target_os = "linux")]
fn kill_children() -> usize {
    let own_pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    let mut found = 0;
    for pid in children(own_pid) {
        let Some(stat) = stat(pid) else { continue };
        if stat.parent != own_pid || matches!(stat.state, 'Z' | 'X') {
            continue;
        }
        found += 1;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    found
}

#[cfg(not(target_os = "linux"))]
fn kill_children() -> usize {
    0
}

/// The children of this process (`own_pid`): every thread's
/// `/proc/self/task/<tid>/children`, or a scan of `/proc` when the kernel has
/// no such file.
#[cfg(target_os = "linux")]
fn children(own_pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for task in tasks.flatten() {
        match std::fs::read_to_string(task.path().join("children")) {
            Ok(text) => pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            ),
            Err(_) => return children_by_scan(own_pid),
        }
    }
    pids
}

/// The children of `own_pid`, from the parent pid of every `/proc/<pid>/stat`.
#[cfg(target_os = "linux")]
fn children_by_scan(own_pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|s| s.parent == own_pid))
        .collect()
}

/// The fields of `/proc/<pid>/stat` the sweeps use.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    /// Field 3: `R`, `S`, `Z` (zombie), ...
    state: char,
    /// Field 4: the parent pid.
    parent: i32,
    /// Field 5: the process group.
    group: i32,
}

/// Read `/proc/<pid>/stat` (the command name in field 2 may contain spaces and
/// parentheses, so parse after the last `)`).
#[cfg(target_os = "linux")]
fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = text[text.rfind(')')? + 1..].split_whitespace();
    Some(Stat {
        state: fields.next()?.chars().next()?,
        parent: fields.next()?.parse().ok()?,
        group: fields.next()?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Our own stat line names our parent and group.
    #[cfg(target_os = "linux")]
    #[test]
    fn reads_own_process_group() {
        let own = i32::try_from(std::process::id()).unwrap();
        let own_stat = stat(own).unwrap();
        assert_eq!(own_stat.group, nix::unistd::getpgrp().as_raw());
        assert_eq!(own_stat.parent, nix::unistd::getppid().as_raw());
    }

    /// A spawned child is found among our children, through the children files
    /// and through the scan.
    #[cfg(target_os = "linux")]
    #[test]
    fn finds_own_children() {
        let own = i32::try_from(std::process::id()).unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let listed = children(own);
        let scanned = children_by_scan(own);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(listed.contains(&pid), "{pid} not in {listed:?}");
        assert!(scanned.contains(&pid), "{pid} not in {scanned:?}");
    }

    /// Outside the runner (not a subreaper) the children sweep never runs.
    #[cfg(target_os = "linux")]
    #[test]
    fn test_process_is_not_a_subreaper() {
        assert!(!is_subreaper());
    }
}
