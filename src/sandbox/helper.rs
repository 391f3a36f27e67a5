//! The re-executed sandbox helper: `codex sandbox-exec --cwd DIR --policy JSON -- CMD...`.
//!
//! Runs in a fresh, single-threaded process before any async runtime exists. For a
//! sandboxed policy it verifies the pinned writable roots, enters layer 2 (namespaces,
//! `namespaces.rs`) where used, then becomes the command's supervisor
//! (`supervisor.rs`), whose forked child applies layer 1 — `no_new_privs`, the
//! capability drop (`caps.rs`), seccomp, Landlock (STYLE F) — and `execvp`s the
//! command. `danger-full-access` `exec`s the command directly. It never runs the
//! command unsandboxed: any failure prints `codex sandbox: <reason>` on stderr and
//! exits [`SANDBOX_FAILURE_EXIT_CODE`]. It keeps the working directory it was started
//! in (the spawner sets it); `--cwd` only names the directory the policy's workspace
//! root refers to.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use crate::cli::SandboxExecArgs;

use super::namespaces::{self, Layer2, Layer2Request};
use super::roots::{self, RootPin};
use super::{PinnedRoots, SandboxError, SandboxPolicy};

/// Exit code when the sandbox cannot be set up or the command cannot be executed
/// (the shell's "found but not executable" code).
pub(crate) const SANDBOX_FAILURE_EXIT_CODE: u8 = 126;

/// Exit code when the command does not exist (the shell's "command not found" code).
pub(crate) const COMMAND_NOT_FOUND_EXIT_CODE: u8 = 127;

/// A command ready to be launched.
enum Launch {
    /// `danger-full-access`: replace the helper with the command, no restriction.
    Direct {
        /// The program.
        program: OsString,
        /// Its arguments.
        args: Vec<OsString>,
    },
    /// A sandboxed policy: supervise a child that applies layer 1 and `exec`s.
    Sandboxed(Sandboxed),
}

/// Everything the supervised child needs, checked before the fork.
struct Sandboxed {
    /// The policy.
    policy: SandboxPolicy,
    /// One verified `O_PATH` descriptor per pinned writable root.
    roots: Vec<OwnedFd>,
    /// The program.
    program: OsString,
    /// Its arguments.
    args: Vec<OsString>,
}

/// Entry point of `codex sandbox-exec`: the command's exit status (as reported by
/// the supervisor), or the failure exit code.
pub(crate) fn run(args: SandboxExecArgs) -> ExitCode {
    let code = match prepare(args) {
        Ok(Launch::Direct { program, args }) => report(&exec(&program, &args)),
        Ok(Launch::Sandboxed(sandboxed)) => launch(sandboxed),
        Err(err) => report(&err),
    };
    ExitCode::from(code)
}

/// Print `err` for the model and return the exit code it maps to.
pub(crate) fn report(err: &SandboxError) -> u8 {
    let code = match err {
        SandboxError::Exec { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            COMMAND_NOT_FOUND_EXIT_CODE
        }
        _ => SANDBOX_FAILURE_EXIT_CODE,
    };
    // Stderr is the command's stderr: this is what the model sees. Nothing else to do
    // if it is closed.
    let _ = writeln!(std::io::stderr().lock(), "codex sandbox: {err}");
    code
}

/// Parse the arguments, verify the roots and enter layer 2 (restricting nothing yet).
fn prepare(args: SandboxExecArgs) -> Result<Launch, SandboxError> {
    let policy = SandboxPolicy::parse(&args.policy).map_err(|source| SandboxError::Policy {
        text: args.policy.clone(),
        source,
    })?;
    let mut command = args.command.into_iter();
    let program = command.next().ok_or(SandboxError::NoCommand)?;
    let command_args: Vec<OsString> = command.collect();
    if policy.has_full_disk_write_access() {
        return Ok(Launch::Direct {
            program,
            args: command_args,
        });
    }
    let cwd = match args.cwd {
        Some(cwd) => cwd,
        None => std::env::current_dir().map_err(SandboxError::Cwd)?,
    };
    let pins = match &args.roots {
        Some(text) => {
            serde_json::from_str::<Vec<RootPin>>(text).map_err(|source| SandboxError::Policy {
                text: text.clone(),
                source,
            })?
        }
        None => PinnedRoots::pin(&policy, &cwd).pins(),
    };
    // The roots as they were when the run started, or no command at all.
    let roots = roots::verify(&pins)?;
    match namespaces::enter(&Layer2Request {
        mode: args.namespaces,
        policy: &policy,
        roots: &pins,
        codex_home: args.codex_home.as_deref(),
    })? {
        Layer2::Entered => tracing::debug!("layer 2 entered"),
        Layer2::NotUsed => {}
    }
    Ok(Launch::Sandboxed(Sandboxed {
        policy,
        roots,
        program,
        args: command_args,
    }))
}

/// Supervise a child that applies layer 1 and `exec`s the command.
#[cfg(target_os = "linux")]
fn launch(sandboxed: Sandboxed) -> u8 {
    let supervised = super::supervisor::supervise(move || {
        let err = match apply(&sandboxed.policy, &sandboxed.roots) {
            Ok(()) => exec(&sandboxed.program, &sandboxed.args),
            Err(err) => err,
        };
        report(&err)
    });
    supervised.unwrap_or_else(|err| report(&err))
}

/// Elsewhere there is no sandbox to apply: fail closed.
#[cfg(not(target_os = "linux"))]
fn launch(_sandboxed: Sandboxed) -> u8 {
    report(&SandboxError::UnsupportedPlatform)
}

/// Layer 1 on the calling (single) thread, in the order of STYLE F: writes allowed
/// beneath the pinned `roots` only.
#[cfg(target_os = "linux")]
fn apply(policy: &SandboxPolicy, roots: &[OwnedFd]) -> Result<(), SandboxError> {
    let restrict_network = !policy.has_network_access();
    // Build everything that can fail for a bad reason before restricting anything.
    let filters = super::seccomp::build(restrict_network)?;
    nix::sys::prctl::set_no_new_privs().map_err(|err| SandboxError::NoNewPrivs(err.to_string()))?;
    let caps = super::caps::restrict()?;
    tracing::debug!(?caps, "capabilities of the command");
    super::seccomp::install(&filters)?;
    super::landlock::restrict(roots, restrict_network)
}

/// Replace this process with `program` (looked up on `PATH` like `execvp`).
///
/// `std`'s `exec` also restores the default `SIGPIPE` disposition (the Rust runtime
/// ignores it) and an empty signal mask, so `yes | head` behaves in the command as in
/// a shell.
fn exec(program: &OsString, args: &[OsString]) -> SandboxError {
    use std::os::unix::process::CommandExt;
    let source = Command::new(program).args(args).exec();
    SandboxError::Exec {
        program: PathBuf::from(program),
        source,
    }
}
