//! The Linux sandbox (SPEC §12, STYLE F): real commands through the hidden
//! `codex sandbox-exec` helper, under Landlock + seccomp on this machine's kernel.
//!
//! These machines have Landlock and seccomp; when they are missing every test here
//! fails loudly (see [`require_sandbox`]) instead of silently passing. The only
//! network peer is a listener on 127.0.0.1 that the test itself starts.
#![cfg(target_os = "linux")]

use std::fmt;
use std::io::{ErrorKind, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use crate::common::*;

/// Exit code of the helper when the sandbox cannot be set up.
const SANDBOX_FAILURE_EXIT_CODE: i32 = 126;

/// A finished sandboxed command.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The whole run, rendered for failure messages.
    shown: String,
}

impl Outcome {
    fn code(&self) -> Option<i32> {
        self.code
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Panic with a clear message unless the helper can sandbox a trivial command.
fn require_sandbox() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let result = (|| -> Result<Outcome> {
            let env = TestEnv::new(vec![])?;
            sandboxed(&env, &env.work, &json!({"mode": "read-only"}), "true")
        })();
        match result {
            Ok(run) if run.code() == Some(0) => {}
            Ok(run) => panic!(
                "the Linux sandbox is unavailable on this machine (Landlock and seccomp are \
                 required; these tests never skip): {run}"
            ),
            Err(err) => panic!("cannot run the sandbox helper: {err:#}"),
        }
    });
}

/// Run `bash -c script` under `policy` with `cwd` as policy root and working dir.
fn sandboxed(env: &TestEnv, cwd: &Path, policy: &Value, script: &str) -> Result<Outcome> {
    let policy = policy.to_string();
    let cwd_arg = cwd.as_os_str().to_owned();
    let run = env
        .codex()
        .current_dir(cwd)
        .arg("sandbox-exec")
        .arg("--cwd")
        .arg(cwd_arg)
        .args(["--policy", policy.as_str(), "--", "bash", "-c", script])
        .run()?;
    Ok(Outcome {
        code: run.code(),
        shown: run.to_string(),
        stdout: run.stdout,
        stderr: run.stderr,
    })
}

/// A `workspace-write` policy with `/tmp` and `$TMPDIR` excluded (the test's temp
/// dirs live under `/tmp`, so leaving it writable would hide escapes).
fn workspace_write(extra_roots: &[&Path], network_access: bool) -> Value {
    json!({
        "mode": "workspace-write",
        "writable_roots": extra_roots,
        "network_access": network_access,
        "exclude_tmpdir_env_var": true,
        "exclude_slash_tmp": true,
    })
}

/// A directory next to the work dir, outside every writable root.
fn outside_dir(env: &TestEnv) -> Result<PathBuf> {
    let dir = env.root.join("outside");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The Python the sandboxed probes use (Debian's, else the one on `PATH`).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Assert that the run failed because of the sandbox, not for another reason.
fn ensure_denied(run: &Outcome) -> Result<()> {
    ensure!(run.code() != Some(0), "expected a denial: {run}");
    ensure!(
        run.stderr.contains("Permission denied") || run.stderr.contains("Read-only file system"),
        "expected a permission error: {run}"
    );
    Ok(())
}

/// Whether the listener has a pending connection (non-blocking).
fn accepted(listener: &TcpListener) -> Result<bool> {
    listener.set_nonblocking(true)?;
    match listener.accept() {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == ErrorKind::WouldBlock => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Connect to a fresh 127.0.0.1 listener from a sandboxed bash; returns the run and
/// whether the listener saw the connection.
fn connect_to_local_listener(policy: &Value) -> Result<(Outcome, bool)> {
    let env = TestEnv::new(vec![])?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");
    let run = sandboxed(&env, &env.work, policy, &script)?;
    let accepted = accepted(&listener)?;
    Ok((run, accepted))
}

/// `read-only` blocks creating a file in the cwd: the command fails and no file appears.
#[test]
fn read_only_blocks_writes_in_cwd() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let run = sandboxed(
        &env,
        &env.work,
        &json!({"mode": "read-only"}),
        "echo hi > created.txt",
    )?;
    ensure_denied(&run)?;
    ensure!(!env.work.join("created.txt").exists(), "file was created");
    Ok(())
}

/// `read-only` still reads files, lists directories, runs programs and writes `/dev/null`.
#[test]
fn read_only_allows_reads_and_dev_null() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    env.write_file("notes.txt", "hello from the workspace\n")?;
    let run = sandboxed(
        &env,
        &env.work,
        &json!({"mode": "read-only"}),
        "cat notes.txt && ls /etc >/dev/null && echo discarded > /dev/null && echo ok",
    )?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(
        run.stdout == "hello from the workspace\nok\n",
        "unexpected stdout: {run}"
    );
    Ok(())
}

/// Reopening piped stdio through `/dev/stdout` and `/dev/stderr` still works.
#[test]
fn read_only_allows_dev_stdout_and_stderr_on_pipes() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let run = sandboxed(
        &env,
        &env.work,
        &json!({"mode": "read-only"}),
        "echo out > /dev/stdout && echo err > /dev/stderr",
    )?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(run.stdout == "out\n" && run.stderr == "err\n", "{run}");
    Ok(())
}

/// Under a pty, reopening the terminal through `/dev/stderr` still works, while other
/// writes stay blocked.
#[test]
fn read_only_allows_reopening_its_own_terminal() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let pty = nix::pty::openpty(None, None)?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_codex"))
        .current_dir(&env.work)
        .args(["sandbox-exec", "--policy", "read-only", "--", "bash", "-c"])
        .arg("echo out > /dev/stdout && echo err > /dev/stderr && echo x > f; echo rc=$?")
        .stdin(Stdio::null())
        .stdout(Stdio::from(pty.slave.try_clone()?))
        .stderr(Stdio::from(pty.slave))
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        ensure!(Instant::now() < deadline, "the sandboxed command hung");
        std::thread::sleep(Duration::from_millis(10));
    };
    // The child has exited and the parent's slave ends were moved into it, so reading
    // the master ends with EIO once the buffered output is drained.
    let mut master = std::fs::File::from(pty.master);
    let mut output = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n @ 1..) = master.read(&mut chunk) {
        output.extend_from_slice(&chunk[..n]);
    }
    let output = String::from_utf8_lossy(&output).replace("\r\n", "\n");
    ensure!(status.success(), "{status}: {output}");
    ensure!(output.starts_with("out\nerr\n"), "{output}");
    // Landlock says `Permission denied`; with namespaces the mount is read-only first.
    ensure!(
        output.contains("f: Permission denied") || output.contains("f: Read-only file system"),
        "{output}"
    );
    ensure!(output.ends_with("rc=1\n"), "{output}");
    Ok(())
}

/// `read-only` also blocks writes to `/tmp`.
#[test]
fn read_only_blocks_writes_to_tmp() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let target = unique_tmp_path("read-only");
    let script = format!("echo x > '{}'", target.display());
    let run = sandboxed(&env, &env.work, &json!({"mode": "read-only"}), &script)?;
    let existed = target.exists();
    let _ = std::fs::remove_file(&target);
    ensure_denied(&run)?;
    ensure!(!existed, "file was created in /tmp");
    Ok(())
}

/// `workspace-write` allows the cwd, an extra writable root and `/tmp`.
#[test]
fn workspace_write_allows_cwd_extra_root_and_tmp() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let extra = env.root.join("extra");
    std::fs::create_dir_all(&extra)?;
    let tmp_file = unique_tmp_path("workspace-write");
    let policy = json!({
        "mode": "workspace-write",
        "writable_roots": [&extra],
        "network_access": false,
        "exclude_tmpdir_env_var": false,
        "exclude_slash_tmp": false,
    });
    let script = format!(
        "set -e; echo a > in_cwd.txt; mkdir -p sub/deeper && echo b > sub/deeper/f; \
         rm sub/deeper/f; echo c > '{extra}/in_extra.txt'; echo d > '{tmp}'",
        extra = extra.display(),
        tmp = tmp_file.display(),
    );
    let run = sandboxed(&env, &env.work, &policy, &script)?;
    let tmp_written = std::fs::read_to_string(&tmp_file).ok();
    let _ = std::fs::remove_file(&tmp_file);
    ensure!(run.code() == Some(0), "{run}");
    ensure!(std::fs::read_to_string(env.work.join("in_cwd.txt"))? == "a\n");
    ensure!(std::fs::read_to_string(extra.join("in_extra.txt"))? == "c\n");
    ensure!(
        tmp_written.as_deref() == Some("d\n"),
        "/tmp write lost: {run}"
    );
    Ok(())
}

/// `workspace-write` blocks a directory outside the writable roots.
#[test]
fn workspace_write_blocks_directory_outside_roots() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let outside = outside_dir(&env)?;
    let script = format!("echo x > '{}/escaped.txt'", outside.display());
    let run = sandboxed(&env, &env.work, &workspace_write(&[], false), &script)?;
    ensure_denied(&run)?;
    ensure!(!outside.join("escaped.txt").exists(), "file was created");
    Ok(())
}

/// A symlink planted inside the workspace does not lead writes out of it.
#[test]
fn workspace_write_blocks_writes_through_planted_symlink() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let outside = outside_dir(&env)?;
    std::os::unix::fs::symlink(&outside, env.work.join("escape"))?;
    let run = sandboxed(
        &env,
        &env.work,
        &workspace_write(&[], false),
        "echo x > escape/escaped.txt",
    )?;
    ensure_denied(&run)?;
    ensure!(!outside.join("escaped.txt").exists(), "file was created");
    // The command may plant the symlink itself, too.
    let script = format!(
        "ln -s '{}' planted && echo x > planted/escaped.txt",
        outside.display()
    );
    let run = sandboxed(&env, &env.work, &workspace_write(&[], false), &script)?;
    ensure_denied(&run)?;
    ensure!(!outside.join("escaped.txt").exists(), "file was created");
    Ok(())
}

/// A writable root given as a symlink grants its target.
#[test]
fn symlinked_writable_root_is_writable() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let target = env.root.join("real-extra");
    std::fs::create_dir_all(&target)?;
    let link = env.root.join("extra-link");
    std::os::unix::fs::symlink(&target, &link)?;
    let script = format!("echo x > '{}/via-link.txt'", link.display());
    let run = sandboxed(&env, &env.work, &workspace_write(&[&link], false), &script)?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(target.join("via-link.txt").exists(), "file missing: {run}");
    Ok(())
}

/// A writable root that does not exist is skipped, not an error.
#[test]
fn missing_writable_root_is_skipped() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let missing = env.root.join("does-not-exist");
    let run = sandboxed(
        &env,
        &env.work,
        &workspace_write(&[&missing], false),
        "echo ok > ok.txt",
    )?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(env.work.join("ok.txt").exists(), "{run}");
    Ok(())
}

/// A local TCP listener is unreachable from a `read-only` command.
#[test]
fn read_only_blocks_tcp_to_localhost() -> Result<()> {
    require_sandbox();
    let (run, accepted) = connect_to_local_listener(&json!({"mode": "read-only"}))?;
    ensure!(run.code() != Some(0), "connect succeeded: {run}");
    ensure!(run.stderr.contains("Operation not permitted"), "{run}");
    ensure!(!accepted, "the listener saw a connection: {run}");
    Ok(())
}

/// A local TCP listener is unreachable from `workspace-write` without network access.
#[test]
fn workspace_write_without_network_blocks_tcp_to_localhost() -> Result<()> {
    require_sandbox();
    let (run, accepted) = connect_to_local_listener(&workspace_write(&[], false))?;
    ensure!(run.code() != Some(0), "connect succeeded: {run}");
    ensure!(run.stderr.contains("Operation not permitted"), "{run}");
    ensure!(!accepted, "the listener saw a connection: {run}");
    Ok(())
}

/// `network_access = true` lets the command reach the local listener.
#[test]
fn workspace_write_with_network_reaches_localhost() -> Result<()> {
    require_sandbox();
    let (run, accepted) = connect_to_local_listener(&workspace_write(&[], true))?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(run.stdout == "connected\n", "{run}");
    ensure!(accepted, "the listener saw no connection: {run}");
    Ok(())
}

/// Without network, UDP sockets are refused too (not only TCP).
#[test]
fn network_restriction_blocks_udp_sockets() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let script = format!(
        "{} -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)'",
        python()
    );
    let run = sandboxed(&env, &env.work, &json!({"mode": "read-only"}), &script)?;
    ensure!(run.code() != Some(0), "{run}");
    ensure!(run.stderr.contains("PermissionError"), "{run}");
    Ok(())
}

/// AF_UNIX sockets keep working under the network restriction.
#[test]
fn unix_sockets_work_without_network() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let script = format!(
        "{} -c 'import os, socket\n\
         socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()\n\
         a, b = socket.socketpair()\n\
         os.write(a.fileno(), b\"ping\")\n\
         print(os.read(b.fileno(), 4).decode())'",
        python()
    );
    let run = sandboxed(&env, &env.work, &json!({"mode": "read-only"}), &script)?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(run.stdout == "ping\n", "{run}");
    Ok(())
}

/// `ptrace` fails with EPERM in every sandboxed mode, even with network access.
#[test]
fn ptrace_is_denied() -> Result<()> {
    // PTRACE_TRACEME (0) on itself: normally succeeds.
    assert_libc_call_denied("rc = libc.ptrace(0, 0, None, None)")
}

/// `io_uring_setup` fails with EPERM in every sandboxed mode.
#[test]
fn io_uring_is_denied() -> Result<()> {
    // io_uring_setup is syscall 425 on x86_64 and aarch64 alike.
    assert_libc_call_denied(
        "params = ctypes.create_string_buffer(120)\n\
         rc = libc.syscall(425, 4, params)",
    )
}

/// Run Python `call` (lines that set `rc` from a call through `libc`) in the
/// read-only sandbox and in workspace-write with network: it fails with EPERM
/// in both.
fn assert_libc_call_denied(call: &str) -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let script = format!(
        "{} -c 'import ctypes, os\n\
         libc = ctypes.CDLL(None, use_errno=True)\n\
         {call}\n\
         print(rc, os.strerror(ctypes.get_errno()))'",
        python()
    );
    for policy in [json!({"mode": "read-only"}), workspace_write(&[], true)] {
        let run = sandboxed(&env, &env.work, &policy, &script)?;
        ensure!(run.code() == Some(0), "{run}");
        ensure!(
            run.stdout == "-1 Operation not permitted\n",
            "{policy}: {run}"
        );
    }
    Ok(())
}

/// `danger-full-access` through the helper applies no restriction at all.
#[test]
fn danger_full_access_is_unrestricted() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let outside = outside_dir(&env)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let script = format!(
        "echo x > '{}/free.txt' && exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected",
        outside.display()
    );
    let run = sandboxed(
        &env,
        &env.work,
        &json!({"mode": "danger-full-access"}),
        &script,
    )?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(outside.join("free.txt").exists(), "{run}");
    ensure!(accepted(&listener)?, "no connection: {run}");
    Ok(())
}

/// A bad policy never runs the command: `codex sandbox: ...` and exit 126.
#[test]
fn invalid_policy_fails_closed() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    let run = env
        .codex()
        .args([
            "sandbox-exec",
            "--policy",
            "{\"mode\":\"sort-of-safe\"}",
            "--",
        ])
        .args(["bash", "-c", "echo ran"])
        .run()?;
    ensure!(run.code() == Some(SANDBOX_FAILURE_EXIT_CODE), "{run}");
    ensure!(run.stdout.is_empty(), "the command ran: {run}");
    ensure!(
        run.stderr
            .starts_with("codex sandbox: invalid sandbox policy"),
        "{run}"
    );
    Ok(())
}

/// A missing command is reported by the helper with the shell's exit code 127.
#[test]
fn missing_command_exits_127() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let run = env
        .codex()
        .args(["sandbox-exec", "--policy", "read-only", "--"])
        .arg("codex-no-such-command")
        .run()?;
    ensure!(run.code() == Some(127), "{run}");
    ensure!(
        run.stderr
            .contains("codex sandbox: cannot execute `codex-no-such-command`"),
        "{run}"
    );
    Ok(())
}

/// A fresh path directly under `/tmp` (not yet created).
fn unique_tmp_path(tag: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    PathBuf::from(format!(
        "/tmp/codex-sandbox-test-{tag}-{}-{nanos}",
        std::process::id()
    ))
}

/// The helper works when the working directory is not the policy root either.
#[test]
fn command_keeps_the_spawners_working_directory() -> Result<()> {
    require_sandbox();
    let env = TestEnv::new(vec![])?;
    let sub = env.work.join("sub");
    std::fs::create_dir_all(&sub)?;
    let policy = workspace_write(&[], false).to_string();
    let run = env
        .codex()
        .current_dir(&sub)
        .arg("sandbox-exec")
        .arg("--cwd")
        .arg(&env.work)
        .args(["--policy", policy.as_str(), "--", "bash", "-c"])
        .arg("pwd && echo x > ../from-sub.txt")
        .run()
        .context("run helper")?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(run.stdout == format!("{}\n", sub.display()), "{run}");
    ensure!(env.work.join("from-sub.txt").exists(), "{run}");
    Ok(())
}
