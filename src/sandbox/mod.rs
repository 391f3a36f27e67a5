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
//! `codex sandbox-exec --cwd <cwd> --policy <json> --roots <pins> --namespaces <mode>
//! --codex-home <dir> -- argv...`. The helper, a fresh single-threaded process with no
//! runtime:
//! 1. checks that every writable root pinned at run start is still the same
//!    directory (`roots.rs`), and keeps an `O_PATH` descriptor on each;
//! 2. layer 2, unless `[sandbox] namespaces = "off"` (`namespaces.rs`): new mount, pid
//!    and (without network access) network namespaces, plus a user namespace mapping
//!    only its own ids when it lacks `CAP_SYS_ADMIN`. The whole filesystem is mounted
//!    read-only except the writable roots; inside each root `.git`, `.codex` and
//!    `.agents` are re-bound read-only; `$CODEX_HOME` is read-only and its credential
//!    files read as empty; the helper goes on as pid 1 of its own pid namespace with a
//!    fresh `/proc`, and the namespace dies with the helper; without network only `lo`
//!    exists. `auto` (the default) uses them where they can be created: the runner
//!    probes once per run and, when they cannot, warns once and runs layer 1 alone;
//!    `required` fails the command instead;
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
//! # Patches
//!
//! The runner applies the model's patches itself, outside the helper. They reach files
//! only through [`beneath`], from the descriptors of the roots pinned at run start, and
//! never write [`PROTECTED_NAMES`] or `$CODEX_HOME` (`runner/tools/apply_patch/files.rs`).
//!
//! Helper failures print `codex sandbox: <reason>` and exit 126 (127 when the command
//! does not exist), so they reach the model as an ordinary failed command.
//!
//! # What is not enforced
//!
//! With layer 2 (namespaces available):
//! * Protected entries that do not exist when the command starts (`.git` of a directory
//!   that is no repository yet, a new `.codex`) can be created; nested repositories
//!   and submodule `.git` entries below the root's top level stay writable (a
//!   submodule's git directory under the top-level `.git` is protected with it).
//! * Reads outside `$CODEX_HOME`'s credential files: everything else stays readable.
//! * A command running as root with `CAP_SYS_ADMIN` (no user namespace is created for
//!   it) could unmount the protections; layer 1's capability drop is what prevents it.
//! * Background processes die with the command (pid 1 of its namespace): nothing it
//!   starts outlives it, even across tool calls. Processes inside may run as pid 1 and
//!   ignore signals sent from inside the namespace.
//! * Where the kernel refuses a fresh `/proc` (a container that masks `/proc` paths)
//!   the old one stays: other processes are listed but still cannot be signalled, and
//!   `/proc/<pid>/root` of a process of the same user outside the sandbox leads to the
//!   unprotected view of the filesystem (the writable roots' `.git` included).
//! * Device nodes are writable where their permissions allow, whatever the mount
//!   (that is how `/dev/null` and the terminal keep working); Landlock (layer 1) is
//!   what keeps the command from writing other devices.
//! * As an unprivileged user, files of other users appear owned by `nobody` inside.
//!
//! With layer 1 alone (`off`, or `auto` where namespaces cannot be created):
//! * Read-only sub-paths inside writable roots (`.git`, `.codex`, `.agents` of SPEC
//!   §12.1): Landlock rules only ever grant, beneath a whole hierarchy, so a writable
//!   root cannot have read-only holes. `.git` stays writable to commands, as in classic
//!   Codex, and so does `$CODEX_HOME` when it lies in a writable root. Patches, which
//!   the runner applies itself, never write there.
//! * Reads: the sandbox limits writes and network, never what can be read (with
//!   `CAP_DAC_READ_SEARCH` a root command reads every file, `$CODEX_HOME/auth.json`
//!   included); only other processes' memory and environment (`/proc/<pid>/environ`,
//!   `mem`) are out of reach: a root command holds fewer capabilities than they do, an
//!   unprivileged one is refused by Landlock's ptrace restriction.
//! * Processes: other processes of the same user stay visible in `/proc` (but cannot
//!   be signalled where Landlock has ABI v6).
//! * Metadata of existing files the command's uid owns: Landlock does not cover
//!   `chmod`, `chown`, `utimes` (so `touch` on an existing file succeeds) or extended
//!   attributes. Files owned by another uid are safe: changing their metadata needs
//!   `CAP_FOWNER` / `CAP_CHOWN`, which are dropped. Layer 2 covers both outside the
//!   roots (read-only mounts).
//!
//! In both:
//! * Writable roots that do not exist when the run starts stay read-only.
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

pub mod beneath;
#[cfg(target_os = "linux")]
mod caps;
mod error;
mod helper;
#[cfg(target_os = "linux")]
mod landlock;
#[cfg(target_os = "linux")]
mod namespaces;
mod policy;
mod roots;
#[cfg(target_os = "linux")]
mod seccomp;
#[cfg(target_os = "linux")]
mod supervisor;

use std::ffi::OsString;
#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;
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

/// Names that stay read-only for the agent inside a writable root, at any depth, as a
/// directory or a file (SPEC §12.1, §0.5): git metadata (hooks run unsandboxed at the
/// user's next commit) and the agents' own configuration.
pub const PROTECTED_NAMES: [&str; 3] = [".git", ".codex", ".agents"];

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
    #[cfg(test)]
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

/// Check, once per run, that layer 2 (the namespaces) can wrap commands under `policy`
/// here: a throwaway child tries to create them. Restricts nothing. The error is the
/// reason, for the run's warning.
pub fn probe_namespaces(policy: &SandboxPolicy) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        namespaces::probe(policy)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = policy;
        Err("namespaces exist only on linux".to_string())
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
            // Neither `/extra` nor `/w` exists, so no root is pinned.
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
