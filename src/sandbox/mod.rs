//! Sandbox policies for model-run commands and their enforcement (SPEC §12).
//!
//! This module owns the policy value, how a command is wrapped to run under it, the
//! environment markers of sandboxed children, and the helper that enforces it. It
//! never restricts the CLI process itself: enforcement happens only in the re-executed
//! helper (`codex sandbox-exec`, [`run_helper`]) and the child it forks.
//!
//! # Linux enforcement
//!
//! [`wrap_command`] turns `argv` into
//! `codex sandbox-exec --cwd <cwd> --policy <json> --roots <json> ... -- argv...`. The
//! helper, a fresh single-threaded process with no runtime:
//! 1. checks that every writable root pinned at run start is still the same
//!    directory (`roots.rs`), and keeps an `O_PATH` descriptor on each;
//! 2. enters layer 2 (namespaces, `namespaces.rs`) where it is used;
//! 3. becomes the command's supervisor (`supervisor.rs`): a child subreaper whose
//!    parent-death signal is catchable; it forks the command's process, waits, and
//!    when the command exits (or the runner dies, or it gets `SIGTERM`/`SIGHUP`)
//!    kills every process left below it, `setsid` or not, and exits with the
//!    command's status.
//!
//! The forked child applies layer 1 (no privileges needed, always on), then `execvp`s
//! the command:
//! 1. `no_new_privs`;
//! 2. capabilities (`caps.rs`): all dropped but `CAP_DAC_OVERRIDE` and
//!    `CAP_DAC_READ_SEARCH` (so a root command can still edit a checkout owned by
//!    another uid), bounding set trimmed, securebits locked (`NOROOT`, ...); nothing
//!    to do for an unprivileged user;
//! 3. seccomp (`seccomp.rs`): `ptrace`, io_uring, the keyring, `perf_event_open`,
//!    `bpf`, `userfaultfd`, kexec, `reboot`, modules, namespaces and mounts (and
//!    `clone` with `CLONE_NEW*`) fail with `EPERM` (`clone3` with `ENOSYS`); without
//!    network access so do all socket syscalls except `AF_UNIX` stream / seqpacket
//!    `socket`/`socketpair`;
//! 4. Landlock (`landlock.rs`, filesystem ABI v5, best effort): read everywhere,
//!    write only beneath the pinned roots, to `/dev/null` and to its own terminal;
//!    without network access, TCP bind/connect are denied too where the kernel has
//!    ABI v4; with ABI v6 the command cannot signal processes outside its sandbox
//!    (the supervisor, the runner, other processes of the user) nor connect to
//!    abstract unix sockets created outside it. A kernel that enforces none of it
//!    makes the helper fail closed.
//!
//! Helper failures print `codex sandbox: <reason>` and exit 126 (127 when the command
//! does not exist), so they reach the model as an ordinary failed command.
//!
//! # What is not enforced
//!
//! * Read-only sub-paths inside writable roots (`.git`, `.codex`, `.agents` of SPEC
//!   §12.1): Landlock rules only ever grant, beneath a whole hierarchy, so a writable
//!   root cannot have read-only holes. `.git` stays writable, as in classic Codex.
//! * Reads: the sandbox limits writes and network, never what can be read (with
//!   `CAP_DAC_READ_SEARCH` a root command reads every file); only other processes'
//!   memory and environment (`/proc/<pid>/environ`, `mem`) are out of reach: a root
//!   command holds fewer capabilities than they do, an unprivileged one is refused
//!   by Landlock's ptrace restriction.
//! * Writable roots that do not exist when the run starts stay read-only.
//! * Metadata of existing files the command's uid owns: Landlock does not cover
//!   `chmod`, `chown`, `utimes` (so `touch` on an existing file succeeds) or extended
//!   attributes. Files owned by another uid are safe: changing their metadata needs
//!   `CAP_FOWNER` / `CAP_CHOWN`, which are dropped.
//! * Outside the roots only `/dev/null` and the terminal the helper's stdio is
//!   attached to (a pty from the spawner) are writable; `/dev/tty`, `/dev/shm` and
//!   `/proc/self/*` are not, and device `ioctl`s on other files the command opens
//!   itself are denied (inherited descriptors such as its stdio are unaffected). So
//!   `> /dev/stdout` fails when stdout is a regular file outside the roots (it works
//!   on pipes and on the pty), and programs that open `/dev/tty` read-write fail.
//! * On kernels before Landlock ABI v6 (Linux 6.12) the signal and abstract-socket
//!   scopes are missing: the command can then signal (and stop) its supervisor or
//!   other processes of its user, and a stopped supervisor no longer cleans up
//!   until the run ends. Before ABI v4 TCP is only blocked by seccomp.
//! * The network restriction is seccomp's: a command with network access may use any
//!   socket its capabilities allow (no raw or packet sockets: `CAP_NET_RAW` is gone).
//! * Without layer 2 the command shares the machine's pid, mount and network
//!   namespaces: it sees other processes in `/proc` (their command lines, not their
//!   memory or environment).
//! * i386 (32-bit) programs are killed by the seccomp architecture check, and x32
//!   syscalls fail with `ENOSYS`.
//! * Other platforms have no sandbox: every sandboxed mode fails closed there.

#[cfg(target_os = "linux")]
mod caps;
mod error;
mod helper;
#[cfg(target_os = "linux")]
mod landlock;
mod namespaces;
mod policy;
// The patch applier's side of the pins (`PinnedRoot::dir`, `containing`) is not wired
// up yet; until it is, those items are unused outside tests.
#[allow(dead_code)]
mod roots;
#[cfg(target_os = "linux")]
mod seccomp;
#[cfg(target_os = "linux")]
mod supervisor;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

pub use error::SandboxError;
pub use policy::{Namespaces, SandboxPolicy};
#[allow(unused_imports)] // `PinnedRoot`: see `mod roots` above
pub use roots::{PinnedRoot, PinnedRoots, RootPin};

use crate::cli::SandboxExecArgs;

/// Name of the hidden subcommand that runs the helper (see `cli::Command::SandboxExec`).
pub const HELPER_SUBCOMMAND: &str = "sandbox-exec";

/// Environment marker set on children that have no network (SPEC §12.2).
pub const NETWORK_DISABLED_ENV_VAR: &str = "CODEX_SANDBOX_NETWORK_DISABLED";

/// The sandbox of one run, fixed when the run starts: what every command and patch of
/// the run is held to.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// The policy.
    pub policy: SandboxPolicy,
    /// The workspace root the policy refers to (the run's cwd).
    pub cwd: PathBuf,
    /// The writable roots, pinned at run start.
    pub roots: Arc<PinnedRoots>,
    /// Whether layer 2 (namespaces) wraps commands.
    pub namespaces: Namespaces,
    /// `$CODEX_HOME`: never writable by commands or patches (layer 2 makes it
    /// read-only and hides its credential files).
    pub codex_home: PathBuf,
}

impl SandboxSpec {
    /// A spec whose roots are pinned now (tests; the runner pins once per run).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn pinned_now(
        policy: SandboxPolicy,
        cwd: &Path,
        namespaces: Namespaces,
        codex_home: &Path,
    ) -> SandboxSpec {
        SandboxSpec {
            roots: Arc::new(PinnedRoots::pin(&policy, cwd)),
            policy,
            cwd: cwd.to_path_buf(),
            namespaces,
            codex_home: codex_home.to_path_buf(),
        }
    }
}

/// The argv to spawn so that `argv` runs under `spec`.
///
/// `DangerFullAccess` returns `argv` unchanged. Otherwise:
/// `[current_exe, "sandbox-exec", "--cwd", cwd, "--policy", <json>, "--roots", <json>,
/// "--namespaces", <mode>, "--codex-home", <dir>, "--", argv...]`.
/// The spawner still sets the working directory of the process itself.
pub fn wrap_command(spec: &SandboxSpec, argv: &[String]) -> Result<Vec<OsString>, SandboxError> {
    if spec.policy.has_full_disk_write_access() {
        return Ok(argv.iter().map(OsString::from).collect());
    }
    if !cfg!(target_os = "linux") {
        return Err(SandboxError::UnsupportedPlatform);
    }
    if argv.is_empty() {
        return Err(SandboxError::NoCommand);
    }
    let exe = std::env::current_exe().map_err(SandboxError::CurrentExe)?;
    let policy = spec.policy.to_json().map_err(SandboxError::PolicyJson)?;
    let roots = serde_json::to_string(&spec.roots.pins()).map_err(SandboxError::PolicyJson)?;
    let mut wrapped = Vec::with_capacity(argv.len() + 13);
    wrapped.extend([
        exe.into_os_string(),
        HELPER_SUBCOMMAND.into(),
        "--cwd".into(),
        spec.cwd.as_os_str().to_owned(),
        "--policy".into(),
        policy.into(),
        "--roots".into(),
        roots.into(),
        "--namespaces".into(),
        spec.namespaces.as_str().into(),
        "--codex-home".into(),
        spec.codex_home.as_os_str().to_owned(),
        "--".into(),
    ]);
    wrapped.extend(argv.iter().map(OsString::from));
    Ok(wrapped)
}

/// Whether [`wrap_command`] puts the helper's supervisor between the spawner and the
/// command (every policy but `danger-full-access`). A supervised process answers
/// `SIGTERM` by killing the command's whole tree, `setsid` escapees included, before
/// it exits; an unsupervised one is only reached through its process group.
pub fn is_supervised(policy: &SandboxPolicy) -> bool {
    !policy.has_full_disk_write_access()
}

/// Environment variables to add for children run under `policy` (SPEC §12.2):
/// `CODEX_SANDBOX_NETWORK_DISABLED=1` when the network is not allowed; nothing for
/// `danger-full-access`.
pub fn env_markers(policy: &SandboxPolicy) -> Vec<(String, String)> {
    if policy.has_network_access() {
        Vec::new()
    } else {
        vec![(NETWORK_DISABLED_ENV_VAR.to_string(), "1".to_string())]
    }
}

/// Entry point of the re-executed helper (`codex sandbox-exec`). Call it from `main`
/// before any runtime or thread exists. Returns the command's exit status (128 + n
/// when signal n killed it) once nothing it started is left, or the failure exit code
/// (126, or 127 for a missing command); `danger-full-access` replaces the process with
/// the command.
pub fn run_helper(args: SandboxExecArgs) -> ExitCode {
    helper::run(args)
}

/// Check that this kernel can enforce sandboxed policies (Landlock is available), so
/// the caller can stop with a clear error before running anything. Restricts nothing.
pub fn probe() -> Result<(), SandboxError> {
    #[cfg(target_os = "linux")]
    {
        landlock::probe()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(SandboxError::UnsupportedPlatform)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use pretty_assertions::assert_eq;

    use super::*;

    fn spec(policy: SandboxPolicy) -> SandboxSpec {
        SandboxSpec::pinned_now(policy, Path::new("/w"), Namespaces::Auto, Path::new("/h"))
    }

    fn argv() -> Vec<String> {
        vec!["bash".into(), "-lc".into(), "echo hi".into()]
    }

    /// `danger-full-access` runs the command as is.
    #[test]
    fn danger_full_access_is_not_wrapped() {
        let wrapped = wrap_command(&spec(SandboxPolicy::DangerFullAccess), &argv()).unwrap();
        assert_eq!(wrapped, vec!["bash", "-lc", "echo hi"]);
    }

    /// Sandboxed modes re-execute this binary as the helper with the policy JSON.
    #[cfg(target_os = "linux")]
    #[test]
    fn sandboxed_modes_are_wrapped_in_the_helper() {
        // No root exists (`/tmp` and `$TMPDIR` excluded), so none is pinned.
        let policy = SandboxPolicy::WorkspaceWrite {
            writable_roots: vec![PathBuf::from("/extra")],
            network_access: true,
            exclude_tmpdir_env_var: true,
            exclude_slash_tmp: true,
        };
        let wrapped = wrap_command(&spec(policy.clone()), &argv()).unwrap();
        let exe = std::env::current_exe().unwrap().into_os_string();
        let expected: Vec<OsString> = vec![
            exe,
            "sandbox-exec".into(),
            "--cwd".into(),
            "/w".into(),
            "--policy".into(),
            policy.to_json().unwrap().into(),
            "--roots".into(),
            "[]".into(),
            "--namespaces".into(),
            "auto".into(),
            "--codex-home".into(),
            "/h".into(),
            "--".into(),
            "bash".into(),
            "-lc".into(),
            "echo hi".into(),
        ];
        assert_eq!(wrapped, expected);
        assert_eq!(
            SandboxPolicy::parse(wrapped[5].to_str().unwrap()).unwrap(),
            policy
        );
    }

    /// An empty command cannot be sandboxed.
    #[cfg(target_os = "linux")]
    #[test]
    fn empty_argv_is_an_error() {
        let err = wrap_command(&spec(SandboxPolicy::ReadOnly), &[]).unwrap_err();
        assert!(matches!(err, SandboxError::NoCommand), "{err}");
    }

    /// These machines have Landlock; the probe restricts nothing in the test process.
    #[cfg(target_os = "linux")]
    #[test]
    fn probe_finds_landlock() {
        if let Err(err) = probe() {
            panic!("landlock must be available on the test machines: {err}");
        }
        // Still unrestricted: we can create a file anywhere the user may.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("still-writable"), "x").unwrap();
    }

    /// Only policies without network get the §12.2 marker.
    #[test]
    fn env_markers_follow_network_access() {
        let marker = vec![(
            "CODEX_SANDBOX_NETWORK_DISABLED".to_string(),
            "1".to_string(),
        )];
        assert_eq!(env_markers(&SandboxPolicy::ReadOnly), marker);
        assert_eq!(env_markers(&SandboxPolicy::DangerFullAccess), vec![]);
        let workspace = |network_access| SandboxPolicy::WorkspaceWrite {
            writable_roots: Vec::new(),
            network_access,
            exclude_tmpdir_env_var: false,
            exclude_slash_tmp: false,
        };
        assert_eq!(env_markers(&workspace(false)), marker);
        assert_eq!(env_markers(&workspace(true)), vec![]);
    }
}
