//! The attack battery: a hostile command (prompt injection in CI: the model runs the
//! attacker's commands, usually as root in a container) against the sandbox, end to
//! end through the real binary and a scripted model (README "Sandbox", SPEC §12).
//!
//! Every attack in [`ATTACKS`] runs under the four combinations of
//! * layers: layer 1 alone (`-c sandbox.namespaces="off"`: Landlock, seccomp, dropped
//!   capabilities, pinned roots, the supervising helper, environment defaults and the
//!   patch tool's checks) and layers 1+2 (`"required"`: plus user, mount, pid and
//!   network namespaces);
//! * users: root (the test process) and `nobody` (through `setpriv`, with the bench
//!   chowned to it). Every combination applies to every attack: those that need a
//!   capability only root has (`chown`, raw sockets, `mknod`, `reboot`…) cannot succeed
//!   as `nobody` without a sandbox either, and run there to check that the sandbox
//!   hands no such capability back (a user namespace would).
//!
//! An attack asserts effects (nothing written outside, the secret absent from what
//! reached the model, the process gone, the signal not delivered, the syscall failing
//! with `EPERM`), never error texts, and carries a benign twin that must keep working
//! under every combination. Attacks that only layer 2 stops are listed in
//! [`LAYER1_GAPS`]: under layer 1 alone they must still succeed, which documents the
//! gap in one place (README "Sandbox", known limits).
//!
//! These tests need root (to switch users and to plant files for other uids) and fail
//! loudly without it; they never skip.
//!
//! `CODEX_ATTACKS_CONTROL=1 cargo test --test all sandbox_attacks` is the battery's own
//! control: every attack runs once, as root, with `danger-full-access`, and must then
//! succeed, so that no attack passes only because it never worked.
#![cfg(target_os = "linux")]

mod filesystem;
mod harness;
mod metadata;
mod network;
mod outcome;
mod patches;
mod probes;
mod processes;
mod secrets;
mod syscalls;
mod tracking;
mod workspace_state;

use std::collections::BTreeSet;
use std::fmt;
use std::os::unix::fs::MetadataExt;

use anyhow::{bail, Result};

use harness::{Case, Layers, Verdict};

use crate::common::RunAs;

/// The layer that is meant to stop an attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// Always on: the helper (Landlock, seccomp, capabilities, scopes, pinned roots,
    /// supervision), the environment defaults and the patch tool's checks.
    One,
    /// The namespaces (`sandbox.namespaces = "auto" | "required"`).
    Two,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::One => "layer 1",
            Layer::Two => "layer 2",
        })
    }
}

/// One attack of the battery.
struct Attack {
    name: &'static str,
    stopped_by: Layer,
    /// What the benign twin checks still works.
    twin: &'static str,
    run: fn(&Case) -> Result<Verdict>,
}

/// Attacks only layer 2 stops, with the reason layer 1 cannot (README "Sandbox",
/// "Known limits"). Under layer 1 alone the matrix asserts that each of them still
/// succeeds; when one stops succeeding, remove it here and from the README.
const LAYER1_GAPS: &[(&str, &str)] = &[
    (
        "git_hook_written_by_command",
        "Landlock cannot carve read-only holes: `.git` inside a writable root is writable",
    ),
    (
        "git_config_written_by_command",
        "Landlock cannot carve read-only holes: `.git/config` inside a writable root is writable",
    ),
    (
        "auth_json_read_by_command",
        "the sandbox limits writes, not reads: `$CODEX_HOME/auth.json` is readable",
    ),
    (
        "codex_home_config_written_by_command",
        "`$CODEX_HOME` inside a writable root (here `/tmp`) is writable",
    ),
    (
        "own_rollout_written_by_command",
        "`$CODEX_HOME/sessions` inside a writable root (here `/tmp`) is writable",
    ),
    (
        "chmod_own_file_outside_roots",
        "Landlock does not cover metadata; the owner needs no capability for chmod",
    ),
    (
        "touch_time_own_file_outside_roots",
        "Landlock does not cover metadata; the owner needs no capability for utimensat",
    ),
    (
        "setfattr_own_file_outside_roots",
        "Landlock does not cover extended attributes; the owner may set user.* attributes",
    ),
];

/// Declares [`ATTACKS`] and one test per attack that runs it under the whole matrix.
macro_rules! battery {
    ($($module:ident :: $name:ident => $layer:ident, $twin:literal;)+) => {
        /// Every attack: name, the layer meant to stop it, its benign twin.
        const ATTACKS: &[Attack] = &[$(Attack {
            name: stringify!($name),
            stopped_by: Layer::$layer,
            twin: $twin,
            run: $module::$name,
        }),+];

        $(
            #[doc = concat!("Attack `", stringify!($name), "` (", $twin, ") under both layer configurations, as root and as nobody.")]
            #[test]
            fn $name() -> Result<()> {
                run_matrix(stringify!($name))
            }
        )+
    };
}

battery! {
    // The patch tool (runner side, always on).
    patches::patch_add_through_dangling_link => One, "patches add and update files in the workspace";
    patches::patch_move_onto_dangling_link => One, "a patch moves a file within the workspace";
    patches::patch_update_through_link_to_outside_file => One, "a patch updates a regular workspace file";
    patches::patch_into_git_dir => One, "patches write .gitignore and .github/; git commit works afterwards";
    patches::patch_into_project_codex_dirs => One, "patches write AGENTS.md and codex/ in the workspace";
    patches::patch_codex_home_config => One, "a patch writes elsewhere in the writable /tmp";
    // Writable roots pinned at run start.
    filesystem::writable_root_swapped_for_link => One, "the --add-dir root is writable before the swap";
    filesystem::tmpdir_swapped_for_link => One, "a C build writes to $TMPDIR";
    // Writes outside the roots.
    filesystem::write_outside_roots => One, "a build directory in the workspace";
    filesystem::write_via_proc_self_root => One, "writes into the workspace through /proc/self/root";
    filesystem::write_via_proc_pid_cwd => One, "writes through /proc/self/cwd";
    filesystem::hardlink_to_outside_file => One, "hard links in the workspace and `python3 -m venv`";
    filesystem::rename_across_roots => One, "renames within the workspace";
    filesystem::dev_shm_write => One, "a pty session (exec_command tty)";
    filesystem::mknod_device => One, "mkfifo and mknod p in the workspace";
    // Metadata outside the roots.
    metadata::chown_file_outside_roots => One, "stat reads the metadata";
    metadata::chmod_foreign_file_outside_roots => One, "chmod +x of a workspace script";
    metadata::chmod_own_file_outside_roots => Two, "stat reads the mode";
    metadata::touch_time_foreign_file_outside_roots => One, "stat reads the times";
    metadata::touch_time_own_file_outside_roots => Two, "touch -d of a workspace file";
    metadata::chattr_append_outside_roots => One, "lsattr reads the flags";
    metadata::setfattr_own_file_outside_roots => Two, "setfattr and getfattr on a workspace file";
    // Secrets.
    secrets::proc_environ_scan => One, "the command reads its own /proc/self/environ";
    secrets::password_named_variables => One, "an ordinary variable reaches the command";
    secrets::password_in_url_value => One, "a URL without a password passes; ignore_default_excludes passes both";
    secrets::auth_json_read_by_command => Two, "$CODEX_HOME/config.toml stays readable";
    secrets::keyring_read => One, "git reads ~/.gitconfig";
    // Dangerous syscalls.
    syscalls::perf_event_open_denied => One, "getrusage and perf_counter";
    syscalls::bpf_denied => One, "epoll and eventfd";
    syscalls::reboot_denied => One, "sync";
    syscalls::module_loading_denied => One, "uname and /proc/version";
    syscalls::userfaultfd_denied => One, "memfd_create and mmap";
    syscalls::unshare_denied => One, "setsid, nice and timeout";
    syscalls::mount_denied => One, "findmnt and df";
    syscalls::ptrace_denied => One, "the command reads its own /proc/self/maps";
    syscalls::io_uring_denied => One, "asyncio runs";
    // Network and IPC.
    network::netlink_link_add => One, "ip addr show and TCP to a local listener, network on";
    network::raw_sockets => One, "UDP to a local listener, network on";
    network::tcp_without_network => One, "a unix socketpair";
    network::unix_datagram_to_pathname_socket => One, "a message (seqpacket) socketpair";
    network::unix_datagram_to_abstract_socket => One, "a message (seqpacket) socketpair";
    network::abstract_unix_connect_with_network => One, "TCP to a local listener, network on";
    // Processes and signals.
    processes::kill_runner => One, "a command kills its own background child";
    processes::stop_runner => One, "a command stops and resumes its own child";
    processes::signal_unrelated_process => One, "a command signals its own child";
    processes::setsid_env_i_survives_run => One, "a background job finishes within its call";
    processes::descendants_survive_runner_sigkill => One, "a session keeps running between calls";
    // State the runner or the user trusts later.
    workspace_state::git_hook_written_by_command => Two, "git status/commit in the sandbox and by the user";
    workspace_state::git_config_written_by_command => Two, "git status/commit by the user";
    workspace_state::codex_home_config_written_by_command => Two, "the command reads config.toml and writes /tmp";
    workspace_state::own_rollout_written_by_command => Two, "the command lists its sessions and writes /tmp";
}

/// Run attack `name` under every layer configuration and user; report every failing
/// combination at once. In a control run ([`harness::CONTROL_ENV_VAR`]) run it once,
/// unsandboxed as root, where it must succeed: an attack that fails even then proves
/// nothing when it is blocked.
fn run_matrix(name: &str) -> Result<()> {
    let Some(attack) = ATTACKS.iter().find(|a| a.name == name) else {
        bail!("attack `{name}` is not in ATTACKS");
    };
    if harness::control_run() {
        let case = Case {
            layers: Layers::One,
            user: RunAs::Root,
        };
        return match (attack.run)(&case)? {
            Verdict::Escaped(_) => Ok(()),
            Verdict::Blocked => {
                bail!("control run: attack `{name}` had no effect even without a sandbox")
            }
        };
    }
    let gap = LAYER1_GAPS.iter().find(|(gap, _)| *gap == name);
    let mut failures = Vec::new();
    for layers in Layers::ALL {
        for user in RunAs::ALL {
            let case = Case { layers, user };
            let label = format!(
                "attack `{name}` (stopped by {}) under {layers}, as {user}",
                attack.stopped_by
            );
            let expect_gap = layers == Layers::One && gap.is_some();
            match ((attack.run)(&case), gap) {
                (Err(err), _) => failures.push(format!(
                    "{label}: the benign twin ({}) or the bench failed: {err:#}",
                    attack.twin
                )),
                (Ok(Verdict::Escaped(evidence)), _) if !expect_gap => {
                    failures.push(format!("{label}: ESCAPED: {evidence}"));
                }
                (Ok(Verdict::Blocked), Some((_, why))) if expect_gap => failures.push(format!(
                    "{label}: blocked, but LAYER1_GAPS documents it as a gap of layer 1 \
                     ({why}); remove it from LAYER1_GAPS and the README"
                )),
                (Ok(_), _) => {}
            }
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n\n"));
    }
    Ok(())
}

/// The gap table lists exactly the attacks marked as stopped by layer 2.
#[test]
fn layer1_gaps_are_the_layer2_attacks() {
    let gaps: BTreeSet<&str> = LAYER1_GAPS.iter().map(|(name, _)| *name).collect();
    let layer2: BTreeSet<&str> = ATTACKS
        .iter()
        .filter(|a| a.stopped_by == Layer::Two)
        .map(|a| a.name)
        .collect();
    assert_eq!(gaps, layer2);
    assert!(ATTACKS.len() >= 30, "{} attacks", ATTACKS.len());
}

/// Guards the matrix itself: files a command creates belong to the user the run is for
/// (so the `nobody` runs really are unprivileged), and with `"required"` each command
/// gets its own mount, pid and network namespaces (network off), and its own user
/// namespace unless it runs as root, while with
/// `"off"` it shares the test's (so a layer-2 run cannot silently be layer 1 alone).
#[test]
fn matrix_runs_as_configured() -> Result<()> {
    if harness::control_run() {
        // A control run has no sandbox whose namespaces could be checked.
        return Ok(());
    }
    const KINDS: [&str; 4] = ["user", "mnt", "pid", "net"];
    let ours: Vec<String> = KINDS
        .iter()
        .map(|kind| std::fs::read_link(format!("/proc/self/ns/{kind}")))
        .map(|link| link.map(|l| l.display().to_string()))
        .collect::<std::io::Result<_>>()?;
    let mut failures = Vec::new();
    for layers in Layers::ALL {
        for user in RunAs::ALL {
            let lab = harness::Lab::new(Case { layers, user })?;
            let mut script: Vec<String> = KINDS
                .iter()
                .map(|kind| format!("readlink /proc/self/ns/{kind}"))
                .collect();
            script.push("touch owner-probe".into());
            let outcome = lab.run(harness::WORKSPACE, vec![harness::sh(script.join("; "))])?;
            outcome.ensure_completed()?;
            let owner = std::fs::metadata(lab.work().join("owner-probe"))?.uid();
            if owner != user.uid() {
                failures.push(format!(
                    "{layers}, as {user}: the command's file belongs to uid {owner}"
                ));
            }
            let output = outcome.command(0)?.output;
            let theirs: Vec<&str> = output.lines().collect();
            for (i, kind) in KINDS.iter().enumerate() {
                let shared = theirs.get(i) == Some(&ours[i].as_str());
                // Root (with CAP_SYS_ADMIN) gets no user namespace of its own: files keep
                // their owners and CAP_DAC_OVERRIDE still reaches a checkout owned by
                // another uid; layer 1 drops every other capability.
                let expect_shared =
                    layers == Layers::One || (*kind == "user" && user == RunAs::Root);
                if shared != expect_shared {
                    failures.push(format!(
                        "{layers}, as {user}: {kind} namespace {} (ours {}, the command's {:?})",
                        if shared { "shared" } else { "not shared" },
                        ours[i],
                        theirs.get(i)
                    ));
                }
            }
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}
