//! Run-end cleanup: kill everything our commands started (SPEC §0.5
//! "Background processes", §22.1).
//!
//! Three layers, from cheapest to widest:
//! 1. every process group we spawned is SIGKILLed (covers `cmd &` children,
//!    which stay in the command's group);
//! 2. each command leader carries `PR_SET_PDEATHSIG=SIGKILL` (covers a crash
//!    of this process);
//! 3. a sweep of `/proc` kills every process whose environment still holds this
//!    thread's `CODEX_THREAD_ID=<id>` marker, and its group (covers
//!    double-forked children that called `setsid` to leave the group).
//!
//! Not covered: a descendant that both leaves the group *and* scrubs its
//! environment (e.g. `setsid env -i sleep 100 &`), or that changes user.
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
        for round in 0..MAX_SWEEPS {
            if sweep(self.marker.as_bytes()) == 0 {
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
        if let Some(pgid) = process_group(pid).filter(|g| *g != own_group) {
            kill_group(pgid);
        }
    }
    found
}

#[cfg(not(target_os = "linux"))]
fn sweep(_marker: &[u8]) -> usize {
    0
}

/// The process group of `pid`, from `/proc/<pid>/stat` (field 5; the command
/// name in field 2 may contain spaces and parentheses, so parse after the last `)`).
#[cfg(target_os = "linux")]
fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_own_process_group() {
        let own = i32::try_from(std::process::id()).unwrap();
        assert_eq!(process_group(own), Some(nix::unistd::getpgrp().as_raw()));
    }
}
