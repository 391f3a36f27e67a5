//! The battery's test bench: one [`Case`] (layer configuration × user), a [`Lab`]
//! (a fresh [`TestEnv`] owned by that user, with an `outside` directory beyond every
//! writable root) and the scripted runs of the real binary ([`Step`] → [`Outcome`]).
//!
//! Attacks decide a [`Verdict`] from effects on disk, in processes or in what reached
//! the model; a broken benign twin or bench is an `Err`.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context, Result};
use mock_responses::{ev, Reply};
use serde_json::{json, Value};

use crate::common::*;

pub use super::outcome::*;
pub use super::probes::*;
pub use super::tracking::*;

/// Which layers a run has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layers {
    /// Layer 1 alone: `-c sandbox.namespaces="off"`.
    One,
    /// Layers 1 and 2: `-c sandbox.namespaces="required"` (fails closed without namespaces).
    OneAndTwo,
}

impl Layers {
    /// Both configurations, in the order the matrix runs them.
    pub const ALL: [Layers; 2] = [Layers::One, Layers::OneAndTwo];

    /// The `-c` override selecting this configuration.
    pub fn override_arg(self) -> &'static str {
        match self {
            Layers::One => "sandbox.namespaces=\"off\"",
            Layers::OneAndTwo => "sandbox.namespaces=\"required\"",
        }
    }
}

impl fmt::Display for Layers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layers::One => "layer 1 alone (sandbox.namespaces=\"off\")",
            Layers::OneAndTwo => "layers 1+2 (sandbox.namespaces=\"required\")",
        })
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub layers: Layers,
    pub user: RunAs,
}

/// What an attack achieved.
#[derive(Debug)]
pub enum Verdict {
    /// Nothing the attack aimed at happened.
    Blocked,
    /// The attack had its effect; the text says which.
    Escaped(String),
}

impl Verdict {
    /// `Escaped(evidence())` when `escaped`, else `Blocked`.
    pub fn escaped_if(escaped: bool, evidence: impl FnOnce() -> String) -> Verdict {
        if escaped {
            Verdict::Escaped(evidence())
        } else {
            Verdict::Blocked
        }
    }

    /// The first escape of `verdicts`, else `Blocked`.
    pub fn any(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        verdicts
            .into_iter()
            .find(|v| matches!(v, Verdict::Escaped(_)))
            .unwrap_or(Verdict::Blocked)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Blocked => f.write_str("blocked"),
            Verdict::Escaped(evidence) => write!(f, "ESCAPED: {evidence}"),
        }
    }
}

/// `verdict`, unless the benign `twin` checks failed: then their error, which also
/// tells what the attack itself did.
pub fn conclude(verdict: Verdict, twin: Result<()>) -> Result<Verdict> {
    match twin {
        Ok(()) => Ok(verdict),
        Err(err) => Err(anyhow::anyhow!("{err:#}\n(the attack itself: {verdict})")),
    }
}

/// `workspace-write` with `/tmp` and `$TMPDIR` left out: the bench lives under `/tmp`,
/// so a writable `/tmp` would make `outside` writable too.
pub const WORKSPACE: &[&str] = &[
    "-s",
    "workspace-write",
    "-c",
    "sandbox_workspace_write.exclude_slash_tmp=true",
    "-c",
    "sandbox_workspace_write.exclude_tmpdir_env_var=true",
];

/// [`WORKSPACE`] with the network on.
pub const WORKSPACE_NETWORK: &[&str] = &[
    "-s",
    "workspace-write",
    "-c",
    "sandbox_workspace_write.exclude_slash_tmp=true",
    "-c",
    "sandbox_workspace_write.exclude_tmpdir_env_var=true",
    "-c",
    "sandbox_workspace_write.network_access=true",
];

/// `workspace-write` with `/tmp` writable (the default), so `$CODEX_HOME` (under
/// `/tmp` here) lies inside a writable root.
pub const WORKSPACE_WITH_TMP: &[&str] = &[
    "-s",
    "workspace-write",
    "-c",
    "sandbox_workspace_write.exclude_tmpdir_env_var=true",
];

/// `read-only`.
pub const READ_ONLY: &[&str] = &["-s", "read-only"];

/// Set (to anything) to run the battery as its own control: every attack without any
/// sandbox, as root, where each one must succeed (see `run_matrix`).
pub const CONTROL_ENV_VAR: &str = "CODEX_ATTACKS_CONTROL";

/// Whether this is a control run ([`CONTROL_ENV_VAR`]).
pub fn control_run() -> bool {
    std::env::var_os(CONTROL_ENV_VAR).is_some()
}

/// The sandbox arguments a run gets: `mode`, or none at all in a control run.
fn sandbox_args<'a>(mode: &'a [&'a str]) -> &'a [&'a str] {
    if control_run() {
        &["-s", "danger-full-access"]
    } else {
        mode
    }
}

/// One model response: a single tool call.
pub enum Step {
    /// `exec_command` with `cmd` (run by `bash -lc`).
    Sh(String),
    /// `exec_command` with these arguments.
    Exec(Value),
    /// `write_stdin` with these arguments.
    Stdin(Value),
    /// The freeform `apply_patch` tool with this patch.
    Patch(String),
}

/// `exec_command` running `cmd`.
pub fn sh(cmd: impl Into<String>) -> Step {
    Step::Sh(cmd.into())
}

/// The freeform `apply_patch` call for a patch with these `hunks` (between the
/// `Begin` and `End` lines).
pub fn patch(hunks: &str) -> Step {
    Step::Patch(format!("*** Begin Patch\n{hunks}*** End Patch\n"))
}

/// A fresh environment for one case: the [`TestEnv`] directories (owned by the case's
/// user), `$HOME/.gitconfig`, and `outside`: a directory beyond every writable root.
pub struct Lab {
    pub env: TestEnv,
    pub case: Case,
    /// `<root>/outside`, owned by the case's user.
    pub outside: PathBuf,
    /// A token unique to this lab (process names, key names, socket names).
    pub nonce: String,
}

impl Lab {
    pub fn new(case: Case) -> Result<Lab> {
        require_root();
        let env = TestEnv::new(vec![])?;
        let outside = env.root.join("outside");
        std::fs::create_dir_all(&outside)?;
        std::fs::write(
            env.home.join(".gitconfig"),
            "[user]\n\tname = Codex Attack Test\n\temail = attack@example.invalid\n",
        )?;
        case.user.own_tree(&env.root)?;
        Ok(Lab {
            env,
            case,
            outside,
            nonce: nonce(),
        })
    }

    /// The work dir (the cwd of codex and its commands).
    pub fn work(&self) -> &Path {
        &self.env.work
    }

    /// Write `contents` to `path` (relative to the work dir), creating parents; the
    /// file and any directory created for it belong to the case's user.
    pub fn plant(&self, path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<PathBuf> {
        self.plant_as(self.case.user.uid(), path, contents)
    }

    /// Like [`Lab::plant`], but the file belongs to `uid` (mode 0644).
    pub fn plant_as(
        &self,
        uid: u32,
        path: impl AsRef<Path>,
        contents: impl AsRef<[u8]>,
    ) -> Result<PathBuf> {
        let path = self.env.work.join(path);
        let parent = path.parent().context("no parent")?;
        if !parent.exists() {
            std::fs::create_dir_all(parent)?;
            self.case.user.own(parent)?;
        }
        std::fs::write(&path, contents).with_context(|| format!("write {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        std::os::unix::fs::chown(&path, Some(uid), Some(uid))?;
        Ok(path)
    }

    /// A directory (created with parents) owned by the case's user.
    pub fn dir(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let path = self.env.work.join(path);
        std::fs::create_dir_all(&path)?;
        self.case.user.own(&path)?;
        Ok(path)
    }

    /// `program` as the case's user with this lab's `HOME` and the test's `PATH`.
    pub fn as_user(&self, program: &str) -> Command {
        let mut cmd = self.case.user.command(program);
        cmd.env_clear()
            .env("HOME", &self.env.home)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .current_dir(&self.env.work)
            .stdin(Stdio::null());
        cmd
    }

    /// Run `git args` in the work dir as the case's user (the runner's user); fails
    /// unless git succeeds.
    pub fn git(&self, args: &[&str]) -> Result<Output> {
        let output = self
            .as_user("git")
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .context("run git")?;
        ensure!(
            output.status.success(),
            "git {args:?} as {} failed ({}):\n{}{}",
            self.case.user,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(output)
    }

    /// Make the work dir a git repository with one commit, as the case's user.
    pub fn git_init(&self) -> Result<()> {
        self.plant("README.md", "hello\n")?;
        self.git(&["init", "-q", "."])?;
        self.git(&["add", "-A"])?;
        self.git(&["commit", "-q", "-m", "initial"])?;
        Ok(())
    }

    /// What the user does after the run: `git status`, then commit everything.
    pub fn user_git_commit(&self) -> Result<()> {
        self.git(&["status", "--porcelain"])?;
        self.git(&["add", "-A"])?;
        self.git(&["commit", "-q", "--allow-empty", "-m", "after the run"])?;
        Ok(())
    }

    /// The base command: `codex exec --json -c sandbox.namespaces=…` as the case's user.
    pub fn exec(&self) -> Exec {
        self.env.codex_via(self.case.user.wrapper()).args([
            "exec",
            "--json",
            "-c",
            self.case.layers.override_arg(),
        ])
    }

    /// Script `steps` (then a final message), run `codex exec` with `mode` and wait.
    pub fn run(&self, mode: &[&str], steps: Vec<Step>) -> Result<Outcome> {
        self.run_with(self.exec(), mode, steps)
    }

    /// Like [`Lab::run`], starting from `exec` (e.g. [`Lab::exec`] plus variables).
    pub fn run_with(&self, exec: Exec, mode: &[&str], steps: Vec<Step>) -> Result<Outcome> {
        let first = self.env.requests().len();
        self.script(steps);
        let run = exec.args(sandbox_args(mode)).arg("attack").run()?;
        Ok(self.outcome(run, first))
    }

    /// Script `steps` and start `codex exec` with `mode` without waiting; returns the
    /// running child and the index of its first model request.
    pub fn spawn(&self, mode: &[&str], steps: Vec<Step>) -> Result<(Spawned, usize)> {
        let first = self.env.requests().len();
        self.script(steps);
        let spawned = self
            .exec()
            .args(sandbox_args(mode))
            .arg("attack")
            .spawn_with_stdin(Stdio::null())?;
        Ok((spawned, first))
    }

    /// Queue `steps` (then a final message) on the mock model.
    pub fn script(&self, steps: Vec<Step>) {
        let mut replies: Vec<Reply> = steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| {
                let resp = format!("resp_{i}");
                let call = format!("call_{i}");
                let item = match step {
                    Step::Sh(cmd) => ev::function_call(
                        &call,
                        "exec_command",
                        &json!({"cmd": cmd, "yield_time_ms": 10_000}).to_string(),
                    ),
                    Step::Exec(args) => ev::function_call(&call, "exec_command", &args.to_string()),
                    Step::Stdin(args) => ev::function_call(&call, "write_stdin", &args.to_string()),
                    Step::Patch(text) => ev::custom_tool_call(&call, "apply_patch", &text),
                };
                Reply::sse(vec![ev::created(&resp), item, ev::completed(&resp)])
            })
            .collect();
        replies.push(done_reply("resp_done"));
        self.env.server.push_replies(replies);
    }

    /// The outcome of a finished run whose requests start at index `first`.
    pub fn outcome(&self, run: Run, first: usize) -> Outcome {
        let events = run
            .stdout
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        let requests = self.env.requests().into_iter().skip(first).collect();
        Outcome {
            run,
            events,
            requests,
        }
    }
}

/// A token unique across this process and concurrent test processes.
pub fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:x}{n:x}", std::process::id() & 0xffff, nanos & 0xffff)
}

/// A decimal token unique across this process and concurrent test processes (for
/// arguments that must be numbers, e.g. `sleep 987.<token>`).
pub fn decimal_nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}{:03}{:04}",
        std::process::id() % 10_000,
        n % 1000,
        nanos % 10_000
    )
}
