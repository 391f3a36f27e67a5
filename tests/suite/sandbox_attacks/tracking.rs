//! Processes as the test sees them from outside: victims it starts, processes found
//! by a unique argument (commands may run in their own pid namespace, so pids they
//! print mean nothing here), and bounded waits.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long a process may take to disappear once it should be dead.
pub const DEATH_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the bench waits for something a command announces (a pid file, a request).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// A process the test started (as some user); killed and reaped on drop.
pub struct Victim {
    pub child: std::process::Child,
}

impl Victim {
    /// Start `cmd` (which must run until killed).
    pub fn spawn(mut cmd: Command) -> Result<Victim> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn victim")?;
        Ok(Victim { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its state letter (`R`, `S`, `T`, `Z`…), `None` once gone.
    pub fn state(&self) -> Option<char> {
        process_state(i32::try_from(self.pid()).ok()?)
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The state letter of `pid` from `/proc/<pid>/stat`, `None` when it does not exist.
pub fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rfind(')')?;
    stat[after + 1..].trim_start().chars().next()
}

/// Live (non-zombie) `sleep <duration>` processes, by their exact argv (a shell whose
/// script merely mentions the duration does not count).
pub fn sleepers(duration: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let wanted = format!("sleep\0{duration}\0");
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|argv| argv == wanted.as_bytes())
        })
        .filter(|pid| !matches!(process_state(*pid), None | Some('Z' | 'X')))
        .collect()
}

/// Wait until no `sleep <duration>` process is left for any of `durations`; those
/// still alive after [`DEATH_TIMEOUT`] are SIGKILLed and returned.
pub fn surviving_sleepers(durations: &[&str]) -> Vec<i32> {
    let deadline = Instant::now() + DEATH_TIMEOUT;
    loop {
        let alive: Vec<i32> = durations.iter().flat_map(|d| sleepers(d)).collect();
        if alive.is_empty() {
            return alive;
        }
        if Instant::now() > deadline {
            for pid in &alive {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
            return alive;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait (bounded by [`STEP_TIMEOUT`]) until `ready()` holds.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !ready() {
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
