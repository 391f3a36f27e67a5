//! Layer 1 of the sandbox and process containment, end to end: the real runner
//! (`codex exec` against the mock model) runs attacker-style commands in
//! `read-only` and `workspace-write` on this machine's kernel, as root (the CI
//! case) and as the unprivileged `nobody`.
//!
//! Each attack has a benign twin that must keep working. Probes whose outcome
//! would damage the machine if the sandbox failed are built to fail harmlessly
//! when allowed (`reboot` with an invalid magic answers `EINVAL`, `mount` of a
//! filesystem type that does not exist answers `ENODEV`), and the same probes run
//! unsandboxed as a control, so a test cannot pass because a probe is broken.
#![cfg(target_os = "linux")]

use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::common::*;

/// How long a process may take to disappear once it should be dead.
const DEATH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a command may take to start its background processes.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The sandbox a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `-s read-only`.
    ReadOnly,
    /// `-s workspace-write`, with `/tmp` and `$TMPDIR` excluded (the test's temp
    /// root lives under `/tmp`), no network.
    WorkspaceWrite,
    /// `workspace-write` with `network_access = true`.
    WorkspaceWriteNetwork,
    /// `-s danger-full-access`: the unsandboxed control.
    FullAccess,
}

/// Both sandboxed modes without network.
const SANDBOXED: [Mode; 2] = [Mode::ReadOnly, Mode::WorkspaceWrite];

impl Mode {
    /// The `codex exec` flags selecting this mode.
    fn args(self) -> Vec<&'static str> {
        let mut args = match self {
            Mode::ReadOnly => vec!["-s", "read-only"],
            Mode::FullAccess => vec!["-s", "danger-full-access"],
            Mode::WorkspaceWrite | Mode::WorkspaceWriteNetwork => vec![
                "-s",
                "workspace-write",
                "-c",
                "sandbox_workspace_write.exclude_slash_tmp=true",
                "-c",
                "sandbox_workspace_write.exclude_tmpdir_env_var=true",
            ],
        };
        if self == Mode::WorkspaceWriteNetwork {
            args.extend(["-c", "sandbox_workspace_write.network_access=true"]);
        }
        args
    }
}

/// Who runs `codex`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum User {
    /// The test's own user (root on the development machines and in CI).
    Own,
    /// `nobody`, through `setpriv` (needs root to switch).
    Nobody,
}

/// The users a containment test runs as: `nobody` too when we can switch to it.
fn users() -> Vec<User> {
    vec![User::Own, User::Nobody]
}

/// These tests check what a root-run command can no longer do, and run commands as
/// `nobody` through `setpriv`: they fail, never skip, without root (CI runs as root).
fn require_root() -> Result<()> {
    ensure!(
        is_root(),
        "this test must run as root: it checks what a root-run sandboxed command can no longer do"
    );
    Ok(())
}

/// Whether the tests run as root (`/proc/self` belongs to our effective uid).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// A test environment whose model runs `exec_command` with `arguments` once, then
/// says `done`.
fn env_with_command(arguments: Value) -> Result<TestEnv> {
    TestEnv::new(vec![
        calls_reply("resp_1", &[("call_1", "exec_command", arguments)]),
        done_reply("resp_2"),
    ])
}

/// `codex exec --json <mode> go` as `user`, not started yet.
fn exec(env: &TestEnv, mode: Mode, user: User) -> Result<Exec> {
    let codex = match user {
        User::Own => env.codex(),
        User::Nobody => env.codex_as_nobody()?,
    };
    // Layer 1 alone: these tests look for the runner and other processes, which layer 2
    // (tests/suite/sandbox_namespaces.rs, sandbox_attacks.rs) hides altogether.
    Ok(codex
        .args(["exec", "--json", "-c", "sandbox.namespaces=\"off\""])
        .args(mode.args())
        .arg("go"))
}

/// What the runner reported for the one command of a run.
struct CommandOutcome {
    /// The whole run.
    run: Run,
    /// The events, normalised.
    events: Vec<Value>,
    /// The item's `aggregated_output`.
    output: String,
    /// The item's `exit_code` (null while still running at turn end).
    exit_code: Value,
}

/// Run `script` through `exec_command` under `mode` as `user`; the run must complete.
fn run_script(mode: Mode, user: User, script: &str) -> Result<CommandOutcome> {
    let env = env_with_command(json!({"cmd": script, "yield_time_ms": 20_000}))?;
    finish(exec(&env, mode, user)?.run()?)
}

/// Check that `run` completed its turn and pick out its command item.
fn finish(run: Run) -> Result<CommandOutcome> {
    ensure!(run.code() == Some(0), "{run}");
    let (_, events) = run.events()?;
    ensure!(
        events.last().is_some_and(|e| e["type"] == "turn.completed"),
        "the turn did not complete: {run}"
    );
    let item = events
        .iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
        .map(|e| e["item"].clone())
        .with_context(|| format!("no completed command item: {run}"))?;
    Ok(CommandOutcome {
        output: item["aggregated_output"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        exit_code: item["exit_code"].clone(),
        events,
        run,
    })
}

/// The value after `key=` on the first line of `output` that starts with it.
fn value_of<'a>(output: &'a str, key: &str) -> Option<&'a str> {
    output
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

/// A number unique to this test run, to tell our processes from any other.
fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{}{nanos:09}", std::process::id() % 1000)
}

/// Live (non-zombie) processes whose argv is exactly `argv`.
fn processes_running(argv: &[&str]) -> Vec<i32> {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted))
        .filter(|pid| !is_zombie(*pid))
        .collect()
}

/// Whether `pid` is a zombie (dead, awaiting its reaper).
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X")
    })
}

/// Wait until no live process has argv `argv`; SIGKILL survivors and fail.
fn ensure_gone(argv: &[&str], when: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        let alive = processes_running(argv);
        if alive.is_empty() {
            return Ok(());
        }
        if start.elapsed() > DEATH_TIMEOUT {
            for pid in &alive {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            bail!("`{}` (pids {alive:?}) still alive {when}", argv.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Script lines that set `$runner` to the runner's pid: the command's parent is
/// the supervisor, whose parent is the runner.
const FIND_RUNNER: &str = "supervisor=$PPID; \
     runner=$(awk '/^PPid:/ {print $2}' /proc/$supervisor/status); \
     echo runner=$runner";

/// The runner's environment (which holds the API key) cannot be read by a
/// sandboxed command, nor can any process's environment that carries it; the
/// command's own environment still can.
#[test]
fn runner_environment_is_unreadable() -> Result<()> {
    for user in users() {
        for mode in SANDBOXED {
            let script = format!(
                "{FIND_RUNNER}; cat /proc/$runner/environ >/dev/null; echo runner_environ=$?; \
                 echo leaked=$(grep -l {TEST_API_KEY} /proc/[0-9]*/environ 2>/dev/null | wc -l); \
                 grep -q CODEX_THREAD_ID /proc/self/environ; echo own_environ=$?"
            );
            let env = env_with_command(json!({"cmd": script, "yield_time_ms": 20_000}))?;
            let spawned = exec(&env, mode, user)?.spawn_with_stdin(Stdio::null())?;
            let runner_pid = spawned.child.id().to_string();
            let outcome = finish(spawned.finish()?)?;
            let output = &outcome.output;
            let context = format!("{user:?} {mode:?}: {output}");
            ensure!(
                value_of(output, "runner") == Some(runner_pid.as_str()),
                "{context}"
            );
            ensure!(value_of(output, "runner_environ") == Some("1"), "{context}");
            ensure!(output.contains("Permission denied"), "{context}");
            ensure!(value_of(output, "leaked") == Some("0"), "{context}");
            ensure!(value_of(output, "own_environ") == Some("0"), "{context}");
            ensure!(!output.contains(TEST_API_KEY), "{context}");
        }
    }
    Ok(())
}

/// `kill -9` of the supervisor, `SIGSTOP` and `SIGKILL` to the runner all fail,
/// and the run still ends with `turn.completed`; the command may still signal its
/// own children.
#[test]
fn signals_to_the_supervisor_and_the_runner_are_refused() -> Result<()> {
    for user in users() {
        for mode in SANDBOXED {
            let script = format!(
                "{FIND_RUNNER}; kill -9 $supervisor; echo kill_supervisor=$?; \
                 kill -STOP $runner; echo stop_runner=$?; kill -9 $runner; echo kill_runner=$?; \
                 sleep 30 & kill $!; wait $!; echo own_child=$?"
            );
            let outcome = run_script(mode, user, &script)?;
            let output = &outcome.output;
            let context = format!("{user:?} {mode:?}: {output}");
            for key in ["kill_supervisor", "stop_runner", "kill_runner"] {
                ensure!(value_of(output, key) == Some("1"), "{key}: {context}");
            }
            ensure!(value_of(output, "own_child") == Some("143"), "{context}");
            ensure!(outcome.exit_code == json!(0), "{context}");
        }
    }
    Ok(())
}

/// A background process that leaves the session and scrubs its environment
/// (`env -i setsid sleep &`) dies when its command exits: a second command no
/// longer sees it, and it is gone after the run.
#[test]
fn setsid_escapee_dies_with_its_command() -> Result<()> {
    for user in users() {
        for mode in SANDBOXED {
            let seconds = format!("300.{}", unique());
            let env = TestEnv::new(vec![
                calls_reply(
                    "resp_1",
                    &[(
                        "call_1",
                        "exec_command",
                        json!({"cmd": format!("env -i setsid sleep {seconds} & echo started"),
                               "yield_time_ms": 20_000}),
                    )],
                ),
                calls_reply(
                    "resp_2",
                    &[(
                        "call_2",
                        "exec_command",
                        json!({"cmd": format!("sleep 0.2; pgrep -fx 'sleep {seconds}' || echo gone"),
                               "yield_time_ms": 20_000}),
                    )],
                ),
                done_reply("resp_3"),
            ])?;
            let run = exec(&env, mode, user)?.run()?;
            let context = format!("{user:?} {mode:?}: {run}");
            ensure_gone(&["sleep", &seconds], "after the run")?;
            ensure!(run.code() == Some(0), "{context}");
            let second = call_output(&env.requests()[2], "call_2")?;
            ensure!(second.ends_with("Output:\ngone\n"), "{second}\n{context}");
        }
    }
    Ok(())
}

/// SIGKILL of the runner in the middle of a command: the command's grandchild and
/// a `setsid` escapee die too (the supervisor's parent-death signal).
#[test]
fn grandchildren_die_when_the_runner_is_killed() -> Result<()> {
    for mode in SANDBOXED {
        let (grandchild, escapee) = (format!("300.{}", unique()), format!("301.{}", unique()));
        let script = format!(
            "(sleep {grandchild}; true) & (env -i setsid sleep {escapee} &); echo started; wait"
        );
        let env = env_with_command(json!({"cmd": script, "yield_time_ms": 30_000}))?;
        let mut spawned = exec(&env, mode, User::Own)?.spawn_with_stdin(Stdio::null())?;
        let start = Instant::now();
        while processes_running(&["sleep", &grandchild]).is_empty()
            || processes_running(&["sleep", &escapee]).is_empty()
        {
            if start.elapsed() > START_TIMEOUT {
                let _ = spawned.child.kill();
                bail!("{mode:?}: the command never started its children");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        spawned.child.kill()?;
        let run = spawned.finish()?;
        // Both checked (and survivors killed) before either result is reported.
        let grandchild_gone = ensure_gone(&["sleep", &grandchild], "after the runner was killed");
        let escapee_gone = ensure_gone(&["sleep", &escapee], "after the runner was killed");
        grandchild_gone.and(escapee_gone)?;
        ensure!(run.code().is_none(), "{mode:?}: {run}");
    }
    Ok(())
}

/// Kernel interfaces a root command must not reach fail with `EPERM` in both
/// sandboxed modes; unsandboxed, the same probes reach the kernel (the control).
#[test]
fn privileged_kernel_interfaces_are_denied() -> Result<()> {
    require_root()?;
    // Each probe prints `name=<errno name>` (or `name=ok`). Every call is harmless
    // if allowed: NULL or invalid arguments, a made-up filesystem type, an invalid
    // reboot magic, a device node that is a copy of /dev/null in the cwd.
    let probe = r#"
import ctypes, errno, os, platform
libc = ctypes.CDLL(None, use_errno=True)
nr = {"x86_64": dict(perf_event_open=298, bpf=321, keyctl=250, reboot=169),
      "aarch64": dict(perf_event_open=241, bpf=280, keyctl=219, reboot=142)}[platform.machine()]
def show(name, rc):
    print(f"{name}=" + ("ok" if rc != -1 else errno.errorcode[ctypes.get_errno()]))
show("perf_event_open", libc.syscall(nr["perf_event_open"], None, 0, -1, -1, 0))
show("bpf", libc.syscall(nr["bpf"], 0, None, 0))
show("keyctl", libc.syscall(nr["keyctl"], 0, -3, 0))
show("reboot", libc.syscall(nr["reboot"], 0, 0, 0, None))
show("mount", libc.mount(b"none", b".", b"codex-no-such-fs", 0, None))
try:
    os.mknod("null-copy", 0o600 | 0o020000, os.makedev(1, 3))
    print("mknod=ok")
except OSError as e:
    print("mknod=" + errno.errorcode[e.errno])
show("unshare", libc.unshare(0x10000000))
"#;
    let script = format!("/usr/bin/python3 -c '{probe}'");
    for mode in [
        Mode::WorkspaceWrite,
        Mode::WorkspaceWriteNetwork,
        Mode::ReadOnly,
    ] {
        let outcome = run_script(mode, User::Own, &script)?;
        let output = &outcome.output;
        for name in [
            "perf_event_open",
            "bpf",
            "keyctl",
            "reboot",
            "mount",
            "unshare",
        ] {
            ensure!(
                value_of(output, name) == Some("EPERM"),
                "{mode:?} {name}: {output}"
            );
        }
        // Read-only refuses the node as a write (Landlock); workspace-write, where
        // the cwd is writable, for lack of CAP_MKNOD.
        let mknod = if mode == Mode::ReadOnly {
            "EACCES"
        } else {
            "EPERM"
        };
        ensure!(
            value_of(output, "mknod") == Some(mknod),
            "{mode:?}: {output}"
        );
    }
    let control = run_script(Mode::FullAccess, User::Own, &script)?;
    let output = &control.output;
    for (name, allowed) in [
        ("reboot", "EINVAL"),
        ("mount", "ENODEV"),
        ("keyctl", "ok"),
        ("mknod", "ok"),
    ] {
        ensure!(
            value_of(output, name) == Some(allowed),
            "control {name}: {output}"
        );
    }
    Ok(())
}

/// With network access, a root command still gets no packet socket and cannot
/// change the network configuration over netlink (no `CAP_NET_RAW` /
/// `CAP_NET_ADMIN`); unsandboxed, the same probes succeed or reach the kernel.
#[test]
fn raw_network_needs_dropped_capabilities() -> Result<()> {
    require_root()?;
    // RTM_NEWADDR on an interface index that does not exist: ENODEV when allowed,
    // EPERM without CAP_NET_ADMIN; nothing is ever changed.
    let probe = r#"
import errno, socket, struct
try:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
    print("packet=ok")
except OSError as e:
    print("packet=" + errno.errorcode[e.errno])
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
body = struct.pack("=BBBBI", socket.AF_INET, 32, 0, 0, 0x7ffffff0)
body += struct.pack("=HH4s", 8, 2, socket.inet_aton("192.0.2.1"))  # IFA_LOCAL
s.send(struct.pack("=IHHII", 16 + len(body), 20, 0x1 | 0x4 | 0x400 | 0x200, 1, 0) + body)
reply = s.recv(4096)
print("netlink=" + errno.errorcode[-struct.unpack("=i", reply[16:20])[0]])
"#;
    let script = format!("/usr/bin/python3 -c '{probe}'");
    let sandboxed = run_script(Mode::WorkspaceWriteNetwork, User::Own, &script)?;
    let output = &sandboxed.output;
    ensure!(value_of(output, "packet") == Some("EPERM"), "{output}");
    ensure!(value_of(output, "netlink") == Some("EPERM"), "{output}");
    let control = run_script(Mode::FullAccess, User::Own, &script)?;
    let output = &control.output;
    ensure!(
        value_of(output, "packet") == Some("ok"),
        "control: {output}"
    );
    ensure!(
        value_of(output, "netlink") == Some("ENODEV"),
        "control: {output}"
    );
    Ok(())
}

/// As root, `chown`, `chmod` and `chattr +a` of a file outside the writable roots
/// that another uid owns fail and change nothing; a file inside the roots owned by another uid
/// can still be edited (CAP_DAC_OVERRIDE), but its owner is still not changeable.
#[test]
fn other_users_files_keep_their_metadata() -> Result<()> {
    require_root()?;
    // The work dir's sibling `outside/` is in no writable root.
    let script = "chown 0:0 ../outside/foreign.txt; echo chown_outside=$?; \
                  chmod 666 ../outside/foreign.txt; echo chmod_outside=$?; \
                  chattr +a ../outside/foreign.txt; echo chattr_outside=$?; \
                  echo edited >> checkout.txt; echo edit_inside=$?; \
                  chown 0 checkout.txt; echo chown_inside=$?";
    for mode in SANDBOXED {
        let env = env_with_command(json!({"cmd": script, "yield_time_ms": 20_000}))?;
        let outside = env.root.join("outside");
        std::fs::create_dir_all(&outside)?;
        let foreign = outside.join("foreign.txt");
        std::fs::write(&foreign, "theirs\n")?;
        let inside = env.write_file("checkout.txt", "original\n")?;
        for file in [&foreign, &inside] {
            std::os::unix::fs::chown(file, Some(NOBODY_ID), Some(NOBODY_ID))?;
            set_mode(file, 0o644)?;
        }
        let outcome = finish(exec(&env, mode, User::Own)?.run()?)?;
        // Never leave an append-only file behind, whatever happened.
        let _ = std::process::Command::new("chattr")
            .arg("-a")
            .arg(&foreign)
            .status();
        let output = &outcome.output;
        ensure!(
            value_of(output, "chown_outside") == Some("1"),
            "{mode:?}: {output}"
        );
        ensure!(
            value_of(output, "chattr_outside") == Some("1"),
            "{mode:?}: {output}"
        );
        ensure!(
            value_of(output, "chmod_outside") == Some("1"),
            "{mode:?}: {output}"
        );
        ensure!(
            value_of(output, "chown_inside") == Some("1"),
            "{mode:?}: {output}"
        );
        let meta = std::fs::metadata(&foreign)?;
        ensure!(
            meta.uid() == NOBODY_ID && meta.mode() & 0o777 == 0o644,
            "{mode:?}: {output}"
        );
        ensure!(
            std::fs::metadata(&inside)?.uid() == NOBODY_ID,
            "{mode:?}: {output}"
        );
        let edited = std::fs::read_to_string(&inside)?;
        if mode == Mode::WorkspaceWrite {
            ensure!(value_of(output, "edit_inside") == Some("0"), "{output}");
            ensure!(edited == "original\nedited\n", "{edited}");
        } else {
            ensure!(value_of(output, "edit_inside") == Some("1"), "{output}");
            ensure!(edited == "original\n", "{edited}");
        }
    }
    Ok(())
}

/// `chmod` on `path`.
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Without network, a unix datagram sent with a destination address reaches
/// neither a pathname nor an abstract socket the test listens on: datagram sockets
/// cannot be created. With network the pathname one arrives (so the probe works)
/// while the abstract one is still refused (Landlock's abstract-socket scope).
#[test]
fn unix_datagrams_do_not_leave_the_sandbox() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    let path = env.root.join("listener.sock");
    let abstract_name = format!("codex-test-{}", unique());
    for mode in [
        Mode::ReadOnly,
        Mode::WorkspaceWrite,
        Mode::WorkspaceWriteNetwork,
    ] {
        let _ = std::fs::remove_file(&path);
        let by_path = UnixDatagram::bind(&path)?;
        let by_name =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(abstract_name.as_bytes())?)?;
        for socket in [&by_path, &by_name] {
            socket.set_nonblocking(true)?;
        }
        let probe = format!(
            r#"
import errno, socket
def attempt(kind, make):
    try:
        s = make()
    except OSError as e:
        print(f"{{kind}}=" + errno.errorcode[e.errno])
        return
    for target, address in (("path", "{path}"), ("abstract", "\0{abstract_name}")):
        try:
            s.sendmsg([b"escaped"], [], 0, address)
            print(f"{{kind}}_{{target}}=sent")
        except OSError as e:
            print(f"{{kind}}_{{target}}=" + errno.errorcode[e.errno])
attempt("socket", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
attempt("pair", lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)[0])
socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
print("stream_pair=ok")
"#,
            path = path.display()
        );
        let outcome = run_script(mode, User::Own, &format!("/usr/bin/python3 -c '{probe}'"))?;
        let output = &outcome.output;
        let mut buf = [0u8; 64];
        let path_got = by_path.recv(&mut buf).is_ok();
        let name_got = by_name.recv(&mut buf).is_ok();
        ensure!(
            !name_got,
            "{mode:?}: an abstract datagram arrived: {output}"
        );
        ensure!(
            value_of(output, "stream_pair") == Some("ok"),
            "{mode:?}: {output}"
        );
        if mode == Mode::WorkspaceWriteNetwork {
            ensure!(value_of(output, "socket_path") == Some("sent"), "{output}");
            ensure!(
                value_of(output, "socket_abstract") == Some("EPERM"),
                "{output}"
            );
            ensure!(path_got, "the control datagram never arrived: {output}");
        } else {
            ensure!(!path_got, "{mode:?}: a pathname datagram arrived: {output}");
            ensure!(
                value_of(output, "socket") == Some("EPERM"),
                "{mode:?}: {output}"
            );
            ensure!(
                value_of(output, "pair") == Some("EPERM"),
                "{mode:?}: {output}"
            );
        }
    }
    Ok(())
}

/// Benign twins under `workspace-write`, as root and as `nobody`: pipes, a pty
/// session, `git status` and writes inside the roots still work, and the command
/// holds no capability beyond the two DAC ones.
#[test]
fn everyday_commands_still_work() -> Result<()> {
    for user in users() {
        let script = "tty; echo piped | tr a-z A-Z; echo written > inside.txt && cat inside.txt; \
                      git status --short --untracked-files=all; \
                      echo capabilities=$(awk '/^CapEff:/ {print $2}' /proc/self/status)";
        let env = env_with_command(json!({"cmd": script, "tty": true, "yield_time_ms": 20_000}))?;
        let git = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(&env.work)
            .status()?;
        ensure!(git.success(), "git init failed");
        let outcome = finish(exec(&env, Mode::WorkspaceWrite, user)?.run()?)?;
        let output = outcome.output.replace("\r\n", "\n");
        let context = format!("{user:?}: {output}");
        ensure!(outcome.exit_code == json!(0), "{context}");
        ensure!(output.starts_with("/dev/pts/"), "{context}");
        ensure!(output.contains("\nPIPED\nwritten\n"), "{context}");
        ensure!(output.contains("?? inside.txt\n"), "{context}");
        let expected_caps = if is_root() && user == User::Own {
            "0000000000000006"
        } else {
            "0000000000000000"
        };
        ensure!(
            value_of(&output, "capabilities") == Some(expected_caps),
            "{context}"
        );
        ensure!(
            outcome.events.iter().any(|e| e["type"] == "turn.completed"),
            "{}",
            outcome.run
        );
    }
    Ok(())
}

/// A `shell` command past its timeout takes its whole tree with it at once, the
/// `setsid` escapee included: the next command no longer sees it.
#[test]
fn timeout_kills_the_whole_tree() -> Result<()> {
    let seconds = format!("300.{}", unique());
    let first = format!("(env -i setsid sleep {seconds} &); echo waiting; sleep 30");
    let probe = format!("pgrep -fx 'sleep {seconds}' || echo gone");
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[(
                "call_1",
                "shell",
                json!({"command": ["bash", "-c", first], "timeout_ms": 1000}),
            )],
        ),
        calls_reply(
            "resp_2",
            &[("call_2", "shell", json!({"command": ["bash", "-c", probe]}))],
        ),
        done_reply("resp_3"),
    ])?;
    let run = env
        .codex()
        .args(["exec", "--json", "-m", "gpt-4.1"])
        .args(Mode::ReadOnly.args())
        .arg("go")
        .run()?;
    ensure_gone(&["sleep", &seconds], "after the run")?;
    ensure!(run.code() == Some(0), "{run}");
    let timed_out: Value = serde_json::from_str(&call_output(&env.requests()[1], "call_1")?)?;
    ensure!(timed_out["metadata"]["exit_code"] == 124, "{timed_out}");
    let second: Value = serde_json::from_str(&call_output(&env.requests()[2], "call_2")?)?;
    ensure!(second["output"] == "gone\n", "{second}");
    Ok(())
}

/// A session still running when the run ends: its `setsid` escapee dies with it.
#[test]
fn running_session_escapee_dies_at_run_end() -> Result<()> {
    for mode in [Mode::ReadOnly, Mode::FullAccess] {
        let seconds = format!("300.{}", unique());
        let script = format!("(env -i setsid sleep {seconds} &); echo started; sleep 60");
        let env = env_with_command(json!({"cmd": script, "yield_time_ms": 1000}))?;
        let run = exec(&env, mode, User::Own)?.run()?;
        ensure_gone(&["sleep", &seconds], "after the run")?;
        ensure!(run.code() == Some(0), "{mode:?}: {run}");
    }
    Ok(())
}

/// `^C` typed into a pty session reaches the command, which may handle it: the
/// supervisor does not die first, so the command's own exit code comes back.
#[test]
fn terminal_interrupt_reaches_the_command() -> Result<()> {
    let script = "trap 'echo trapped; exit 3' INT; echo ready; while true; do sleep 0.1; done";
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[(
                "call_1",
                "exec_command",
                json!({"cmd": script, "tty": true, "yield_time_ms": 1000}),
            )],
        ),
        calls_reply(
            "resp_2",
            &[(
                "call_2",
                "write_stdin",
                json!({"session_id": 1000, "chars": "\u{3}", "yield_time_ms": 5000}),
            )],
        ),
        done_reply("resp_3"),
    ])?;
    let outcome = finish(exec(&env, Mode::ReadOnly, User::Own)?.run()?)?;
    let reply = call_output(&env.requests()[2], "call_2")?;
    ensure!(reply.contains("Process exited with code 3\n"), "{reply}");
    ensure!(reply.contains("trapped"), "{reply}");
    ensure!(outcome.exit_code == json!(3), "{}", outcome.run);
    Ok(())
}

/// `clone` with a namespace flag is refused (`EPERM`) and `clone3` is reported
/// missing (`ENOSYS`), so libc falls back to `clone`: threads and `fork` still work.
/// Unsandboxed, the same user-namespace clones succeed (the control).
#[test]
fn namespace_clones_are_refused_and_threads_still_work() -> Result<()> {
    // A child that a clone creates leaves at once with `_exit`.
    let probe = r#"
import ctypes, errno, os, platform, threading
libc = ctypes.CDLL(None, use_errno=True)
nr = {"x86_64": dict(clone=56, clone3=435), "aarch64": dict(clone=220, clone3=435)}[platform.machine()]
CLONE_NEWUSER, SIGCHLD = 0x10000000, 17
def show(name, rc):
    if rc == 0:
        os._exit(0)
    print(f"{name}=" + ("ok" if rc > 0 else errno.errorcode[ctypes.get_errno()]))
    if rc > 0:
        os.waitpid(rc, 0)
show("clone_newuser", libc.syscall(nr["clone"], CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0))
args = (ctypes.c_uint64 * 11)()
args[0], args[4] = CLONE_NEWUSER, SIGCHLD
show("clone3", libc.syscall(nr["clone3"], args, ctypes.sizeof(args)))
thread = threading.Thread(target=lambda: print("thread=ok"))
thread.start()
thread.join()
pid = os.fork()
if pid == 0:
    os._exit(7)
print("fork=%d" % os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"#;
    let script = format!("/usr/bin/python3 -c '{probe}'");
    for user in users() {
        for mode in SANDBOXED {
            let outcome = run_script(mode, user, &script)?;
            let output = &outcome.output;
            let context = format!("{user:?} {mode:?}: {output}");
            ensure!(
                value_of(output, "clone_newuser") == Some("EPERM"),
                "{context}"
            );
            ensure!(value_of(output, "clone3") == Some("ENOSYS"), "{context}");
            ensure!(value_of(output, "thread") == Some("ok"), "{context}");
            ensure!(value_of(output, "fork") == Some("7"), "{context}");
        }
    }
    let control = run_script(Mode::FullAccess, User::Own, &script)?;
    let output = &control.output;
    ensure!(
        value_of(output, "clone_newuser") == Some("ok"),
        "control: {output}"
    );
    ensure!(
        value_of(output, "clone3") == Some("ok"),
        "control: {output}"
    );
    Ok(())
}
