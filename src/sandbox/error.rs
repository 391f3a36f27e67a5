//! Why a command could not be put under its sandbox.
//!
//! Every variant is fatal to the one command being launched (the command never runs
//! unsandboxed); none is fatal to the run. Messages are lowercase and end with a fix.

use std::path::PathBuf;

/// A sandbox could not be set up or the command could not be started in it.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The `--policy` text of the helper is not a policy (a bug in the caller).
    #[error("invalid sandbox policy `{text}`: {source}; pass policy JSON such as `{{\"mode\":\"read-only\"}}` or a mode name")]
    Policy {
        /// The text as received.
        text: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },

    /// The policy could not be rendered as JSON for the helper.
    #[error("cannot serialise the sandbox policy: {0}")]
    PolicyJson(#[source] serde_json::Error),

    /// Finding our own executable (to re-execute it as the helper) failed.
    #[error("cannot locate the `codex` executable to start the sandbox helper: {0}; check that it was not moved or deleted while running")]
    CurrentExe(#[source] std::io::Error),

    /// The policy cwd is missing and the current directory cannot be read.
    #[error("cannot determine the sandbox working directory: {0}; pass `--cwd`")]
    Cwd(#[source] std::io::Error),

    /// No command was given after `--`.
    #[error("no command given; usage: codex sandbox-exec --policy <JSON> -- <COMMAND> [ARGS]...")]
    NoCommand,

    /// The kernel has no usable Landlock (not built in, or not in the active LSM list).
    #[error("landlock is not available on this kernel ({reason}); use Linux 5.13+ with landlock enabled (e.g. `lsm=landlock,...` on the kernel command line), or run with `--sandbox danger-full-access` if the machine is already isolated")]
    LandlockUnavailable {
        /// What the kernel or the probe reported.
        reason: String,
    },

    /// The kernel accepted the ruleset calls but enforces none of it.
    #[error("the kernel did not enforce the landlock ruleset; use Linux 5.13+ with landlock enabled, or run with `--sandbox danger-full-access` if the machine is already isolated")]
    LandlockNotEnforced,

    /// Building or applying the Landlock ruleset failed.
    #[error("cannot apply the landlock ruleset: {0}")]
    Landlock(String),

    /// Setting `no_new_privs` failed.
    #[error("cannot set no_new_privs: {0}")]
    NoNewPrivs(String),

    /// Building or installing the seccomp filter failed.
    #[error("cannot install the seccomp filter: {0}; the kernel needs CONFIG_SECCOMP_FILTER, or run with `--sandbox danger-full-access` if the machine is already isolated")]
    Seccomp(String),

    /// The seccomp filter has no syscall table for this CPU architecture.
    #[error("the network sandbox does not support the `{0}` architecture (x86_64 and aarch64 only); or run with `--sandbox danger-full-access` if the machine is already isolated")]
    UnsupportedArch(&'static str),

    /// This operating system has no sandbox implementation.
    #[error("sandboxed commands are only supported on linux; or run with `--sandbox danger-full-access` if the machine is already isolated")]
    UnsupportedPlatform,

    /// A writable root cannot be opened or inspected while pinning it.
    #[error("cannot open the writable root `{}`: {source}", path.display())]
    Root {
        /// The root.
        path: PathBuf,
        /// What the kernel reported.
        #[source]
        source: std::io::Error,
    },

    /// A pinned writable root no longer leads to the directory it was when the run
    /// started (replaced by a symlink or another directory, or removed).
    #[error("writable root changed since the run started: {}", path.display())]
    RootChanged {
        /// The root's canonical path at run start.
        path: PathBuf,
    },

    /// Layer 2: the namespaces could not be created (`[sandbox] namespaces =
    /// "required"`, or a failure after the process had already changed).
    #[error("cannot create the sandbox namespaces: {reason}; allow user namespaces (e.g. `sysctl user.max_user_namespaces`, or a container that permits `unshare`), or set `[sandbox] namespaces = \"off\"` to run with Landlock and seccomp alone")]
    NamespacesUnavailable {
        /// The step that failed and what the kernel reported.
        reason: String,
    },

    /// Layer 2: one mount of the sandbox's view of the filesystem could not be made.
    #[error("cannot {action} `{}` in the sandbox mount namespace: {source}; set `[sandbox] namespaces = \"off\"` to run with Landlock and seccomp alone", path.display())]
    Mount {
        /// What was being done: `bind`, `make read-only`, `hide`, `inspect`.
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// What the kernel reported.
        #[source]
        source: std::io::Error,
    },

    /// Dropping the command's capabilities failed (a kernel that refuses `capset` or
    /// `prctl` calls the helper is entitled to make).
    #[error("cannot drop the command's capabilities ({step}): {source}; or run with `--sandbox danger-full-access` if the machine is already isolated")]
    Capabilities {
        /// The step that failed.
        step: &'static str,
        /// What the kernel reported.
        #[source]
        source: std::io::Error,
    },

    /// Layer 2: the first process of the sandbox's pid namespace could not be started.
    #[error("cannot start the sandbox's pid namespace: {0}; set `[sandbox] namespaces = \"off\"` to run with Landlock and seccomp alone")]
    PidNamespace(#[source] std::io::Error),

    /// The supervisor that owns the command's process tree could not be set up.
    #[error("cannot start the supervisor of the command ({step}): {source}")]
    Supervisor {
        /// The step that failed.
        step: &'static str,
        /// What the kernel reported.
        #[source]
        source: std::io::Error,
    },

    /// `execvp` of the command failed after the sandbox was applied.
    #[error("cannot execute `{}`: {source}", program.display())]
    Exec {
        /// The program as given.
        program: PathBuf,
        /// What `execvp` reported.
        #[source]
        source: std::io::Error,
    },
}
