//! Layer 2 of the Linux sandbox (SPEC §12.1, §12.3): the mount, pid and network
//! namespaces the helper wraps commands in, through the real binary on this machine's
//! kernel.
//!
//! These machines allow the namespaces (root has `CAP_SYS_ADMIN`, unprivileged user
//! namespaces are enabled), so nothing here skips. Unavailable namespaces are simulated
//! the way a locked-down container has them: inside a user namespace whose
//! `user.max_user_namespaces` is 0, with `CAP_SYS_ADMIN` dropped from the bounding set
//! (util-linux `unshare` and `setpriv`). The unprivileged path (a user namespace of
//! our own) runs as nobody (65534) through `setpriv`.
#![cfg(target_os = "linux")]

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use mock_responses::Reply;
use serde_json::{json, Value};

use crate::common::*;

/// `-c` override that makes layer 2 mandatory.
const REQUIRED: &str = r#"sandbox.namespaces="required""#;

/// The unprivileged user of the user-namespace tests.
const NOBODY: u32 = 65534;

/// `setpriv` prefix that runs `codex` as nobody.
const AS_NOBODY: [&str; 5] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--",
];

/// Prefix that runs `codex` where no namespace can be created: root of a user
/// namespace with `user.max_user_namespaces = 0` and no `CAP_SYS_ADMIN`.
const WITHOUT_NAMESPACES: [&str; 8] = [
    "unshare",
    "--user",
    "--map-root-user",
    "--",
    "sh",
    "-c",
    "echo 0 > /proc/sys/user/max_user_namespaces && \
     exec setpriv --bounding-set -sys_admin -- \"$@\"",
    "sh",
];

/// Replies in which the model makes one `exec_command` call with `cmd`, then ends.
fn command_replies(cmd: &str) -> Vec<Reply> {
    command_replies_with(json!({"cmd": cmd, "yield_time_ms": 10000}))
}

/// Replies in which the model makes one `exec_command` call with `arguments`.
fn command_replies_with(arguments: Value) -> Vec<Reply> {
    vec![
        calls_reply("resp_1", &[("call_1", "exec_command", arguments)]),
        done_reply("resp_2"),
    ]
}

/// Run `exec` (a `codex` command) as `exec --json -s workspace-write <args> go` and
/// return the run and the output of the one command as the model got it.
fn run_command(env: &TestEnv, exec: Exec, args: &[&str]) -> Result<(Run, String)> {
    let run = exec
        .arg("exec")
        .args(["--json", "-s", "workspace-write"])
        .args(args)
        .arg("go")
        .run()?;
    ensure!(run.code() == Some(0), "{run}");
    let requests = env.requests();
    let request = requests
        .get(1)
        .with_context(|| format!("no second request: {run}"))?;
    let output = call_output(request, "call_1")?;
    Ok((run, output))
}

/// `codex sandbox-exec` of `bash -c script` in the work dir with layer 2 `mode`.
fn helper(env: &TestEnv, exec: Exec, mode: &str, policy: &Value, script: &str) -> Result<Run> {
    exec.arg("sandbox-exec")
        .arg("--cwd")
        .arg(&env.work)
        .args(["--policy", &policy.to_string(), "--namespaces", mode])
        .arg("--codex-home")
        .arg(&env.codex_home)
        .args(["--", "bash", "-c", script])
        .run()
}

/// `workspace-write` without network, `/tmp` and `$TMPDIR`, plus `extra` roots.
fn workspace(extra: &[&Path]) -> Value {
    json!({
        "mode": "workspace-write",
        "writable_roots": extra,
        "network_access": false,
        "exclude_tmpdir_env_var": true,
        "exclude_slash_tmp": true,
    })
}

/// Run `git args` in `dir` as the test's user; its stdout.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    ensure!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Make the work dir a real repository with one commit.
fn init_repo(env: &TestEnv) -> Result<()> {
    std::fs::remove_dir_all(env.work.join(".git"))?;
    git(&env.work, &["init", "-q"])?;
    env.write_file("README.md", "hello\n")?;
    git(&env.work, &["add", "README.md"])?;
    git(&env.work, &["commit", "-q", "-m", "init"])?;
    Ok(())
}

/// Hand the whole temp root to nobody.
fn give_to_nobody(env: &TestEnv) -> Result<()> {
    let status = Command::new("chown")
        .args(["-R", &format!("{NOBODY}:{NOBODY}")])
        .arg(&env.root)
        .status()?;
    ensure!(status.success(), "chown failed: {status}");
    Ok(())
}

/// The wrapper prefix as a slice.
fn prefix<const N: usize>(words: &[&'static str; N]) -> Vec<&'static str> {
    words.to_vec()
}

/// With `required`, `.git` cannot be written (a hook, `git config`), while the rest of
/// the workspace and `/tmp` can; afterwards the user's own git works and no mount is
/// left on the host.
#[test]
fn required_protects_git_and_keeps_the_workspace_writable() -> Result<()> {
    let env = TestEnv::new(command_replies(
        "echo x > .git/hooks/pre-commit; echo hook=$?; \
         git config core.fsmonitor x; echo fsmonitor=$?; \
         echo ok > made.txt && echo workspace=ok; \
         f=$(mktemp) && echo ok > \"$f\" && echo tmp=ok; rm -f \"$f\"",
    ))?;
    init_repo(&env)?;
    let (run, output) = run_command(&env, env.codex(), &["-c", REQUIRED])?;
    ensure!(output.contains("hook=1"), "{output}");
    ensure!(output.contains("Read-only file system"), "{output}");
    ensure!(
        output.contains("fsmonitor=") && !output.contains("fsmonitor=0"),
        "{output}"
    );
    ensure!(output.contains("workspace=ok\ntmp=ok"), "{output}\n{run}");
    ensure!(!env.work.join(".git/hooks/pre-commit").exists());
    ensure!(
        !git(&env.work, &["config", "--list"])?.contains("fsmonitor"),
        "core.fsmonitor was set"
    );
    ensure!(git(&env.work, &["status", "--porcelain"])? == "?? made.txt\n");
    git(&env.work, &["add", "made.txt"])?;
    git(&env.work, &["commit", "-q", "-m", "made"])?;
    ensure!(git(&env.work, &["log", "--oneline"])?.lines().count() == 2);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")?;
    ensure!(
        !mounts.contains(&env.root.display().to_string()),
        "a sandbox mount leaked to the host: {mounts}"
    );
    Ok(())
}

/// `.codex` and `.agents` (directory or file) stay read-only too, and cannot be
/// removed or renamed away.
#[test]
fn codex_and_agents_entries_are_read_only() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    env.write_file(".codex/config.toml", "model = \"x\"\n")?;
    env.write_file(".agents", "agents\n")?;
    let run = helper(
        &env,
        env.codex(),
        "required",
        &workspace(&[]),
        "echo x >> .codex/config.toml; echo codex=$?; echo x >> .agents; echo agents=$?; \
         mv .codex moved; echo mv=$?; rm -f .agents; echo rm=$?; echo ok > other && echo other=ok",
    )?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(
        run.stdout == "codex=1\nagents=1\nmv=1\nrm=1\nother=ok\n",
        "{run}"
    );
    ensure!(std::fs::read_to_string(env.work.join(".codex/config.toml"))? == "model = \"x\"\n");
    ensure!(std::fs::read_to_string(env.work.join(".agents"))? == "agents\n");
    Ok(())
}

/// A worktree's `.git` file protects the git directory it points to and the common
/// directory (hooks, config) when they lie in a writable root.
#[test]
fn git_pointer_file_protects_its_git_directories() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    let repos = env.root.join("repos");
    let common = repos.join("main.git");
    let gitdir = common.join("worktrees/wt");
    std::fs::create_dir_all(&gitdir)?;
    std::fs::create_dir_all(common.join("hooks"))?;
    std::fs::write(gitdir.join("commondir"), "../..\n")?;
    std::fs::remove_dir_all(env.work.join(".git"))?;
    env.write_file(".git", format!("gitdir: {}\n", gitdir.display()))?;
    let script = format!(
        "echo x > '{common}/hooks/pre-commit'; echo hook=$?; echo x > '{gitdir}/HEAD'; \
         echo head=$?; echo ok > '{repos}/free' && echo free=ok",
        common = common.display(),
        gitdir = gitdir.display(),
        repos = repos.display(),
    );
    let run = helper(
        &env,
        env.codex(),
        "required",
        &workspace(&[&repos]),
        &script,
    )?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(run.stdout == "hook=1\nhead=1\nfree=ok\n", "{run}");
    ensure!(!common.join("hooks/pre-commit").exists());
    Ok(())
}

/// `$CODEX_HOME/auth.json` reads as empty inside the sandbox, its secret reaches
/// neither the command nor the model, and the real file is untouched; `config.toml`
/// there (under the writable `/tmp`) cannot be written.
#[test]
fn codex_home_credentials_are_hidden() -> Result<()> {
    let secret = "sk-layer2-secret-in-auth-json";
    let env = TestEnv::new(command_replies(
        "cat \"$CODEX_HOME/auth.json\"; echo auth=$?; \
         echo x >> \"$CODEX_HOME/config.toml\"; echo config=$?",
    ))?;
    let auth = env.codex_home.join("auth.json");
    std::fs::write(&auth, format!("{{\"OPENAI_API_KEY\":\"{secret}\"}}\n"))?;
    let config_before = std::fs::read_to_string(env.codex_home.join("config.toml"))?;
    let (run, output) = run_command(&env, env.codex(), &["-c", REQUIRED])?;
    ensure!(output.contains("auth=0\n"), "{output}");
    ensure!(output.contains("config=1"), "{output}");
    ensure!(!output.contains(secret), "the secret leaked: {output}");
    ensure!(!run.stdout.contains(secret), "{run}");
    ensure!(std::fs::read_to_string(&auth)?.contains(secret));
    ensure!(std::fs::read_to_string(env.codex_home.join("config.toml"))? == config_before);
    Ok(())
}

/// With `$CODEX_HOME` inside the workspace, its `config.toml` and the run's own
/// rollout file cannot be written.
#[test]
fn codex_home_inside_the_workspace_is_read_only() -> Result<()> {
    let env = TestEnv::new(command_replies(
        "echo x >> \"$CODEX_HOME/config.toml\"; echo config=$?; \
         for f in $(find \"$CODEX_HOME/sessions\" -name '*.jsonl'); do \
         echo x >> \"$f\"; echo rollout=$?; done; echo ok > free && echo free=ok",
    ))?;
    let home = env.work.join("agent-home");
    std::fs::create_dir_all(&home)?;
    std::fs::write(home.join("config.toml"), env.config_text("", ""))?;
    let exec = env.codex().env("CODEX_HOME", &home);
    let (_, output) = run_command(&env, exec, &["-c", REQUIRED])?;
    for line in ["config=1\n", "rollout=1\n", "free=ok\n"] {
        ensure!(output.contains(line), "{output}");
    }
    ensure!(
        output.contains("config.toml: Read-only file system"),
        "{output}"
    );
    ensure!(std::fs::read_to_string(home.join("config.toml"))? == env.config_text("", ""));
    Ok(())
}

/// Only the sandbox's own processes are listed in `/proc` (the supervisor is pid 1, the
/// command pid 2), and the test process
/// (an ancestor of the runner) cannot be signalled.
#[test]
fn other_processes_are_invisible_and_unsignalable() -> Result<()> {
    let outside = std::process::id();
    let env = TestEnv::new(command_replies(&format!(
        "echo pids=$(ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '); \
         kill -0 {outside}; echo kill=$?; echo self=$$"
    )))?;
    let (_, output) = run_command(&env, env.codex(), &["-c", REQUIRED])?;
    ensure!(output.contains("kill=1"), "{output}");
    // Pid 1 is the supervisor; the command is its first child.
    ensure!(output.contains("self=2\n"), "not pid 2: {output}");
    let pids: Vec<u32> = output
        .lines()
        .find_map(|line| line.strip_prefix("pids="))
        .context("no pid list")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    ensure!(
        pids.contains(&1) && pids.iter().all(|&pid| pid < 20),
        "{output}"
    );
    Ok(())
}

/// Without network access the command sees only the loopback interface; with it,
/// the host's interfaces.
#[test]
fn network_namespace_follows_network_access() -> Result<()> {
    let interfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '";
    let env = TestEnv::new(vec![])?;
    let closed = helper(&env, env.codex(), "required", &workspace(&[]), interfaces)?;
    ensure!(closed.code() == Some(0), "{closed}");
    ensure!(closed.stdout == "lo ", "{closed}");
    let mut open_policy = workspace(&[]);
    open_policy["network_access"] = json!(true);
    let open = helper(&env, env.codex(), "required", &open_policy, interfaces)?;
    let host = Command::new("bash").args(["-c", interfaces]).output()?;
    ensure!(open.code() == Some(0), "{open}");
    ensure!(
        open.stdout == String::from_utf8_lossy(&host.stdout),
        "{open}"
    );
    Ok(())
}

/// Outside the roots the mounts are read-only: even metadata changes of a
/// root-owned file fail, as does `/dev/shm`; `/dev/null` stays writable.
#[test]
fn mounts_outside_the_roots_are_read_only() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    let outside = env.root.join("outside");
    std::fs::create_dir_all(&outside)?;
    let file = outside.join("owned-by-root");
    std::fs::write(&file, "x")?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))?;
    let before = std::fs::metadata(&file)?;
    let script = format!(
        "touch -d 2000-01-01 '{f}'; echo touch=$?; chmod 600 '{f}'; echo chmod=$?; \
         echo x > /dev/shm/codex-layer2-$$; echo shm=$?; echo x > /dev/null; echo null=$?",
        f = file.display()
    );
    let run = helper(&env, env.codex(), "required", &workspace(&[]), &script)?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(run.stdout == "touch=1\nchmod=1\nshm=1\nnull=0\n", "{run}");
    ensure!(run.stderr.contains("Read-only file system"), "{run}");
    let after = std::fs::metadata(&file)?;
    ensure!(before.mtime() == after.mtime() && before.mode() == after.mode());
    Ok(())
}

/// A `tty: true` session works: the command's terminal can be reopened and written.
#[test]
fn tty_sessions_work() -> Result<()> {
    let env = TestEnv::new(command_replies_with(json!({
        "cmd": "t=$(tty) && echo \"tty=$t\" && echo reopened > \"$t\" && echo done",
        "tty": true,
        "yield_time_ms": 10000,
    })))?;
    let (_, output) = run_command(&env, env.codex(), &["-c", REQUIRED])?;
    ensure!(output.contains("tty=/dev/pts/"), "{output}");
    ensure!(
        output.contains("reopened") && output.contains("done"),
        "{output}"
    );
    Ok(())
}

/// A Python virtual environment, pip included, can be made in the workspace and runs
/// (Debian needs `python3-venv`, which `.ci/run` installs).
#[test]
fn python_venv_in_the_workspace_works() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    let run = helper(
        &env,
        env.codex(),
        "required",
        &workspace(&[]),
        "/usr/bin/python3 -m venv .venv && .venv/bin/python -m pip --version >/dev/null && \
         .venv/bin/python -c 'print(\"venv-ok\")'",
    )?;
    ensure!(run.code() == Some(0) && run.stdout == "venv-ok\n", "{run}");
    ensure!(env.work.join(".venv/pyvenv.cfg").exists());
    Ok(())
}

/// With `off`, `.git` stays writable: the documented gap of layer 1 alone.
#[test]
fn off_leaves_git_writable() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    let run = helper(
        &env,
        env.codex(),
        "off",
        &workspace(&[]),
        "echo x > .git/written && echo written",
    )?;
    ensure!(run.code() == Some(0) && run.stdout == "written\n", "{run}");
    ensure!(env.work.join(".git/written").exists());
    Ok(())
}

/// `auto` (the default) uses the namespaces here without any warning.
#[test]
fn auto_uses_namespaces_without_warning() -> Result<()> {
    let env = TestEnv::new(command_replies("echo x > .git/x; echo git=$?"))?;
    let (run, output) = run_command(&env, env.codex(), &[])?;
    ensure!(output.contains("git=1"), "{output}");
    let (_, events) = run.events()?;
    ensure!(
        events.iter().all(|event| event["item"]["type"] != "error"),
        "{run}"
    );
    Ok(())
}

/// The command's status passes through pid 1 of the namespace: its exit code, or
/// 128 + the signal that killed it.
#[test]
fn exit_status_passes_through() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    let exited = helper(&env, env.codex(), "required", &workspace(&[]), "exit 7")?;
    ensure!(exited.code() == Some(7), "{exited}");
    // Pid 1 ignores signals sent from inside its namespace, but not a fault.
    let killed = helper(
        &env,
        env.codex(),
        "required",
        &workspace(&[]),
        "exec /usr/bin/python3 -c 'import ctypes; ctypes.string_at(0)'",
    )?;
    ensure!(killed.code() == Some(128 + 11), "{killed}");
    Ok(())
}

/// Killing the helper kills everything in the namespace, background processes too.
#[test]
fn killing_the_helper_kills_the_namespace() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    let marker = format!("61.{}", std::process::id());
    let script = format!("sleep {marker} & echo started; wait");
    let policy = workspace(&[]).to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_codex"))
        .current_dir(&env.work)
        .args([
            "sandbox-exec",
            "--policy",
            &policy,
            "--namespaces",
            "required",
        ])
        .args(["--", "bash", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut started = [0u8; 8];
    child
        .stdout
        .take()
        .context("no stdout")?
        .read_exact(&mut started)?;
    ensure!(&started == b"started\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sleepers(&marker)? == 0 {
        ensure!(Instant::now() < deadline, "the sleep never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill()?;
    child.wait()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while sleepers(&marker)? > 0 {
        ensure!(Instant::now() < deadline, "the background sleep survived");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Live (non-zombie) processes whose command line is `sleep <marker>`.
fn sleepers(marker: &str) -> Result<usize> {
    let wanted = format!("sleep\0{marker}\0");
    let mut count = 0;
    for entry in std::fs::read_dir("/proc")? {
        let path = entry?.path();
        let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'));
        if cmdline == wanted.as_bytes() && !zombie {
            count += 1;
        }
    }
    Ok(count)
}

/// `required` where no namespace can be created: the command never runs, the helper
/// says why and exits 126.
#[test]
fn required_fails_closed_without_namespaces() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    let wrapper = prefix(&WITHOUT_NAMESPACES);
    let run = helper(
        &env,
        env.codex_via(&wrapper),
        "required",
        &workspace(&[]),
        "echo ran",
    )?;
    ensure!(run.code() == Some(126), "{run}");
    ensure!(run.stdout.is_empty(), "the command ran: {run}");
    ensure!(
        run.stderr.starts_with(
            "codex sandbox: cannot create the sandbox namespaces: unshare of a user namespace \
             failed: ENOSPC"
        ),
        "{run}"
    );
    Ok(())
}

/// `auto` where no namespace can be created: one warning naming the reason and what
/// is not enforced, and commands run with layer 1 alone (`.git` writable).
#[test]
fn auto_warns_once_without_namespaces() -> Result<()> {
    let env = TestEnv::new(command_replies("echo x > .git/x && echo git=written"))?;
    let wrapper = prefix(&WITHOUT_NAMESPACES);
    let (run, output) = run_command(&env, env.codex_via(&wrapper), &[])?;
    ensure!(output.contains("git=written"), "{output}");
    let (_, events) = run.events()?;
    let warnings: Vec<&Value> = events
        .iter()
        .filter(|event| event["item"]["type"] == "error")
        .collect();
    ensure!(warnings.len() == 1, "{run}");
    let message = warnings[0]["item"]["message"].as_str().unwrap_or_default();
    ensure!(
        message
            == "sandbox: namespaces are unavailable (unshare of a user namespace failed: \
                ENOSPC: No space left on device); running with Landlock and seccomp only: \
                .git/.codex/.agents stay writable inside writable roots, \
                $CODEX_HOME/auth.json stays readable, other processes stay visible",
        "{message}"
    );
    Ok(())
}

/// As an unprivileged user (a user namespace mapping only nobody): `.git` read-only,
/// the workspace writable with nobody's ownership, credentials hidden, processes and
/// network isolated, and the protections cannot be unmounted.
#[test]
fn unprivileged_user_gets_the_same_protections() -> Result<()> {
    let env = TestEnv::new(vec![])?;
    std::fs::write(env.codex_home.join("auth.json"), "sk-nobody-secret\n")?;
    give_to_nobody(&env)?;
    let wrapper = prefix(&AS_NOBODY);
    let run = helper(
        &env,
        env.codex_via(&wrapper),
        "required",
        &workspace(&[]),
        "echo x > .git/x; echo git=$?; echo ok > made && echo made=$(stat -c %u made); \
         cat \"$CODEX_HOME/auth.json\"; ls /proc | grep -qE '^[0-9]{3,}$' || echo pids=few; \
         echo net=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '); \
         umount .git 2>/dev/null || echo umount=failed; echo x > .git/x 2>/dev/null; echo git=$?",
    )?;
    ensure!(run.code() == Some(0), "{run}");
    ensure!(
        run.stdout == format!("git=1\nmade={NOBODY}\npids=few\nnet=lo\numount=failed\ngit=1\n"),
        "{run}"
    );
    ensure!(std::fs::metadata(env.work.join("made"))?.uid() == NOBODY);
    ensure!(!env.work.join(".git/x").exists());
    Ok(())
}

/// As an unprivileged user, `auto` finds the namespaces usable: no warning, `.git`
/// protected.
#[test]
fn unprivileged_user_auto_uses_namespaces() -> Result<()> {
    let env = TestEnv::new(command_replies("echo x > .git/x; echo git=$?"))?;
    give_to_nobody(&env)?;
    let wrapper = prefix(&AS_NOBODY);
    let (run, output) = run_command(&env, env.codex_via(&wrapper), &[])?;
    ensure!(output.contains("git=1"), "{output}");
    let (_, events) = run.events()?;
    ensure!(
        events.iter().all(|event| event["item"]["type"] != "error"),
        "{run}"
    );
    Ok(())
}
