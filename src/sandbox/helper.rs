//! The re-executed sandbox helper: `codex sandbox-exec --cwd DIR --policy JSON -- CMD...`.
//!
//! Runs in a fresh, single-threaded process before any async runtime exists, then
//! replaces itself with the command: `no_new_privs`, seccomp, Landlock, `execvp` (STYLE
//! F). It never runs the command unsandboxed: any failure prints
//! `codex sandbox: <reason>` on stderr and exits [`SANDBOX_FAILURE_EXIT_CODE`]. It keeps
//! the working directory it was started in (the spawner sets it); `--cwd` only names
//! the directory the policy's workspace root refers to.

use std::convert::Infallible;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use crate::cli::SandboxExecArgs;

use super::roots::{self, RootPin};
use super::{PinnedRoots, SandboxError, SandboxPolicy};

/// Exit code when the sandbox cannot be set up or the command cannot be executed
/// (the shell's "found but not executable" code).
pub(crate) const SANDBOX_FAILURE_EXIT_CODE: u8 = 126;

/// Exit code when the command does not exist (the shell's "command not found" code).
pub(crate) const COMMAND_NOT_FOUND_EXIT_CODE: u8 = 127;

/// Entry point of `codex sandbox-exec`: only returns when something failed.
pub(crate) fn run(args: SandboxExecArgs) -> ExitCode {
    let err = match sandbox_and_exec(args) {
        Ok(never) => match never {},
        Err(err) => err,
    };
    let code = match &err {
        SandboxError::Exec { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            COMMAND_NOT_FOUND_EXIT_CODE
        }
        _ => SANDBOX_FAILURE_EXIT_CODE,
    };
    // Stderr is the command's stderr: this is what the model sees. Nothing else to do
    // if it is closed.
    let _ = writeln!(std::io::stderr().lock(), "codex sandbox: {err}");
    ExitCode::from(code)
}

/// Parse, restrict this process, then `exec` the command (returns only on error).
fn sandbox_and_exec(args: SandboxExecArgs) -> Result<Infallible, SandboxError> {
    let policy = SandboxPolicy::parse(&args.policy).map_err(|source| SandboxError::Policy {
        text: args.policy.clone(),
        source,
    })?;
    let (program, rest) = args.command.split_first().ok_or(SandboxError::NoCommand)?;
    if !policy.has_full_disk_write_access() {
        let cwd = match args.cwd {
            Some(cwd) => cwd,
            None => std::env::current_dir().map_err(SandboxError::Cwd)?,
        };
        let pins = match &args.roots {
            Some(text) => serde_json::from_str::<Vec<RootPin>>(text).map_err(|source| {
                SandboxError::Policy {
                    text: text.clone(),
                    source,
                }
            })?,
            None => PinnedRoots::pin(&policy, &cwd).pins(),
        };
        // The roots as they were when the run started, or no command at all.
        let _root_fds = roots::verify(&pins)?;
        #[cfg(target_os = "linux")]
        super::namespaces::enter(&super::namespaces::Layer2Request {
            mode: args.namespaces,
            policy: &policy,
            roots: &pins,
            codex_home: args.codex_home.as_deref(),
        })?;
        let roots: Vec<PathBuf> = pins.into_iter().map(|pin| pin.path).collect();
        apply(&policy, &roots)?;
    }
    Err(exec(program, rest))
}

/// Apply `policy` to the calling (single) thread, in the order of STYLE F, with
/// writes allowed beneath `roots` only.
#[cfg(target_os = "linux")]
fn apply(policy: &SandboxPolicy, roots: &[PathBuf]) -> Result<(), SandboxError> {
    let restrict_network = !policy.has_network_access();
    // Build everything that can fail for a bad reason before restricting anything.
    let filters = super::seccomp::build(restrict_network)?;
    nix::sys::prctl::set_no_new_privs().map_err(|err| SandboxError::NoNewPrivs(err.to_string()))?;
    super::seccomp::install(&filters)?;
    match super::landlock::restrict(roots, restrict_network)? {
        super::landlock::Enforcement::Full => {}
        super::landlock::Enforcement::Partial => {
            tracing::debug!("landlock ruleset only partially enforced by this kernel");
        }
    }
    Ok(())
}

/// Elsewhere there is no sandbox to apply: fail closed.
#[cfg(not(target_os = "linux"))]
fn apply(_policy: &SandboxPolicy, _roots: &[PathBuf]) -> Result<(), SandboxError> {
    Err(SandboxError::UnsupportedPlatform)
}

/// Replace this process with `program` (looked up on `PATH` like `execvp`).
///
/// `std`'s `exec` also restores the default `SIGPIPE` disposition (the Rust runtime
/// ignores it), so `yes | head` behaves in the command as in a shell.
fn exec(program: &OsString, rest: &[OsString]) -> SandboxError {
    use std::os::unix::process::CommandExt;
    let source = Command::new(program).args(rest).exec();
    SandboxError::Exec {
        program: PathBuf::from(program),
        source,
    }
}
