//! The command tools (SPEC §9.2–9.4, §4.4, §14): `exec_command` +
//! `write_stdin` (unified exec), the classic `shell`, and `shell_command`.
//!
//! Owns spawning model-run commands under the sandbox, their environment,
//! their `command_execution` items, background sessions and killing every
//! process they started when the run ends. Which tools a model gets is the
//! catalogue's decision ([`ShellTool`]); envelopes and truncation live in
//! `format`, processes in `process`, run-end cleanup in `reaper`.
//!
//! Decisions (see also SPEC §0.5):
//! * A call with `sandbox_permissions: "require_escalated"` (or the older
//!   `with_escalated_permissions: true`) is refused without running unless the
//!   sandbox is `danger-full-access` (nothing to escalate to). It gets a
//!   `command_execution` item with only `item.completed`, status `declined`,
//!   `exit_code` null and empty output.
//! * A command that cannot be spawned at all gets only an `item.completed`
//!   (status `failed`, `exit_code` null, the error as output); the model gets
//!   `execution error: <reason>`.
//! * `exec_command` without `tty` runs with stdin on `/dev/null`;
//!   `write_stdin` with characters to such a session is refused. Session ids
//!   count up from 1000; at most 64 live sessions, starting another kills the
//!   oldest.
//! * A sandboxed command's background children die when the command exits
//!   (its supervisor kills whatever it left, `setsid` or not), as in the
//!   reference's pid namespace: a server needed across calls must run in an
//!   `exec_command` session that stays alive. Under `danger-full-access`
//!   one-shot commands (`shell`, `shell_command`) that leave background
//!   children behind keep them until the run ends (a server started in one
//!   call can serve the next). A timeout or an interrupt kills the command's
//!   whole tree (the group without a sandbox).
//! * Every command's environment carries `CODEX_THREAD_ID`, which the run-end
//!   sweep uses to find escaped descendants; the runner is also a child
//!   subreaper, so orphans of unsandboxed commands become its children and are
//!   killed when the run ends.
//! * `apply_patch` invocations are intercepted and applied in-process (a
//!   `file_change` item, no `command_execution`), whichever shell is named.

mod buffer;
mod classic;
mod env;
mod format;
mod glob;
pub(crate) mod process;
mod pty;
mod quote;
mod reaper;
mod run;
mod spec;
mod step;
mod unified;

pub(crate) use format::{prefix_at_boundary, truncate_tokens};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::{apply_patch, patch_tool};
use crate::config::Config;
use crate::runner::emitter::Emitter;
use crate::runner::events::CommandStatus;
use crate::runner::model::catalog::ShellTool;
use crate::sandbox::{self, SandboxPolicy, SandboxSpec};
use env::{CommandEnv, EnvFlavor};
use process::{Process, SpawnSpec};
use reaper::Reaper;
pub use run::OpenCommands;
use run::{CommandRun, Origin};
use step::{Answer, Unrun};
pub use step::{CommandCall, CommandDone, CommandKind};

/// Shell used when neither the call nor `$SHELL` names one.
const DEFAULT_SHELL: &str = "/bin/bash";

/// The command tools of one thread, with its background sessions.
#[derive(Debug)]
pub struct ShellTools {
    kind: ShellTool,
    /// Session working directory; also the sandbox's workspace root.
    cwd: PathBuf,
    sandbox: SandboxSpec,
    env: CommandEnv,
    user_shell: String,
    sessions: unified::Sessions,
    reaper: Reaper,
}

impl ShellTools {
    /// The `kind` tools for a thread with `config`, whose id is `thread_id`.
    pub fn new(config: &Config, kind: ShellTool, thread_id: &str) -> ShellTools {
        let user_shell = std::env::var("SHELL")
            .ok()
            .filter(|shell| !shell.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SHELL.to_string());
        ShellTools {
            kind,
            cwd: config.cwd.clone(),
            sandbox: config.sandbox_spec(),
            env: CommandEnv::from_config(config, thread_id),
            user_shell,
            sessions: unified::Sessions::default(),
            reaper: Reaper::new(format!("{}={thread_id}", env::THREAD_ID_VAR)),
        }
    }

    /// Specs for the request's `tools` array.
    pub fn specs(&self) -> Vec<Value> {
        match self.kind {
            ShellTool::UnifiedExec => vec![spec::exec_command(), spec::write_stdin()],
            ShellTool::Shell => vec![spec::shell()],
            ShellTool::ShellCommand => vec![spec::shell_command()],
        }
    }

    /// Whether `name` is one of the tools advertised.
    pub fn handles(&self, name: &str) -> bool {
        match self.kind {
            ShellTool::UnifiedExec => name == "exec_command" || name == "write_stdin",
            ShellTool::Shell => name == "shell",
            ShellTool::ShellCommand => name == "shell_command",
        }
    }

    /// How a call to one of [`ShellTools::handles`]' tools touches shared
    /// state, for scheduling it among the other calls of its response.
    pub fn kind(&self, name: &str, arguments: &str) -> CommandKind {
        let argv = match name {
            "write_stdin" if unified::is_poll(arguments) => return CommandKind::Poll,
            "write_stdin" => return CommandKind::Input,
            "shell" => spec::parse::<spec::ShellArgs>(arguments).map(|args| args.command),
            "shell_command" => spec::parse::<spec::ShellCommandArgs>(arguments)
                .map(|args| as_bash_script(&args.command).to_vec()),
            "exec_command" => spec::parse::<spec::ExecCommandArgs>(arguments)
                .map(|args| as_bash_script(&args.cmd).to_vec()),
            _ => return CommandKind::Command,
        };
        match argv {
            Ok(argv) if apply_patch::intercept(&argv).is_some() => CommandKind::Patch,
            Ok(_) | Err(_) => CommandKind::Command,
        }
    }

    /// First step of a call to one of [`ShellTools::handles`]' tools: check
    /// the arguments and spawn (emitting `item.started`; the item is tracked
    /// in `open`). Intercepted patches are applied here, whole.
    pub fn start(
        &self,
        name: &str,
        call_id: &str,
        arguments: &str,
        open: &mut OpenCommands,
        emitter: &Emitter,
    ) -> CommandCall {
        let started = match name {
            "exec_command" => unified::exec_command(self, call_id, arguments, open, emitter),
            "write_stdin" => unified::write_stdin(self, arguments),
            "shell" => classic::shell(self, call_id, arguments, open, emitter),
            "shell_command" => classic::shell_command(self, call_id, arguments, open, emitter),
            other => Err(format!("unsupported call: {other}").into()),
        };
        started.unwrap_or_else(CommandCall::Answered)
    }

    /// Kill every session and every process group ever spawned, synchronously.
    /// Called when the thread stops; dropping the tools does the same.
    pub fn shutdown(&self) {
        self.sessions.kill_all();
        self.reaper.kill_all();
    }

    /// `workdir` resolved against the session cwd; it must be a directory.
    fn workdir(&self, workdir: Option<&str>) -> Result<PathBuf, String> {
        let dir = match workdir.filter(|w| !w.is_empty()) {
            Some(w) => self.cwd.join(w),
            None => self.cwd.clone(),
        };
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(format!(
                "execution error: workdir `{}` is not a directory",
                dir.display()
            ))
        }
    }

    /// If `argv` is an `apply_patch` invocation, apply it in-process from
    /// `dir` exactly like the apply_patch tool and return its reply.
    fn intercept(
        &self,
        call_id: &str,
        argv: &[String],
        dir: &Path,
        emitter: &Emitter,
    ) -> Option<String> {
        let found = apply_patch::intercept(argv)?;
        let base = match &found.cd {
            Some(cd) => dir.join(cd),
            None => dir.to_path_buf(),
        };
        Some(patch_tool::run(
            &found.patch,
            call_id,
            &base,
            &self.sandbox,
            emitter,
        ))
    }

    /// A refusal (with a `declined` item) when the call asks for escalation
    /// that cannot be granted.
    fn check_escalation(
        &self,
        escalation: &spec::Escalation,
        argv: &[String],
    ) -> Result<(), Answer> {
        if !escalation.requested() || self.sandbox.policy == SandboxPolicy::DangerFullAccess {
            return Ok(());
        }
        Err(Answer {
            reply: format!(
                "rejected: this command asked to run outside the sandbox (sandbox_permissions = \"require_escalated\"), \
                 but the approval policy is `never`, so nobody can approve it and it was not run. \
                 Run it inside the `{}` sandbox without sandbox_permissions, or tell the user what it needs.",
                self.sandbox.policy.mode_name()
            ),
            unrun: Some(Unrun {
                command: quote::join(argv),
                reason: String::new(),
                status: CommandStatus::Declined,
            }),
        })
    }

    /// Spawn the origin's argv in its directory under the sandbox, start its
    /// item and track it. A command that cannot start gets a `failed` item
    /// (emitted with the answer).
    fn spawn(
        &self,
        origin: Origin,
        flavor: EnvFlavor,
        tty: bool,
        open: &mut OpenCommands,
        emitter: &Emitter,
    ) -> Result<Arc<CommandRun>, Answer> {
        let command = quote::join(&origin.argv);
        let dir = origin.cwd.as_path();
        let spawned = sandbox::wrap_command(&self.sandbox, &origin.argv)
            .map_err(|err| err.to_string())
            .and_then(|wrapped| {
                Process::spawn(SpawnSpec {
                    argv: wrapped,
                    cwd: dir.to_path_buf(),
                    env: self
                        .env
                        .for_spawn(&sandbox::env_markers(&self.sandbox.policy), flavor),
                    tty,
                    supervised: sandbox::is_supervised(&self.sandbox.policy),
                })
                .map_err(|err| err.to_string())
            });
        match spawned {
            Ok(process) => {
                self.reaper.track(process.pid());
                let run = CommandRun::start(emitter, command, origin, process);
                open.track(&run);
                Ok(run)
            }
            Err(reason) => {
                tracing::warn!(command, %reason, "cannot start command");
                Err(Answer {
                    reply: format!("execution error: {reason}"),
                    unrun: Some(Unrun {
                        command,
                        reason,
                        status: CommandStatus::Failed,
                    }),
                })
            }
        }
    }

    /// `[shell, -lc|-c, script]` for the user's (or the named) shell.
    fn shell_argv(&self, shell: Option<&str>, login: bool, script: &str) -> Vec<String> {
        let shell = shell
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&self.user_shell);
        let flag = if login { "-lc" } else { "-c" };
        vec![shell.to_string(), flag.to_string(), script.to_string()]
    }
}

impl Drop for ShellTools {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// How a script looks to the apply_patch recogniser, whatever shell runs it.
fn as_bash_script(script: &str) -> [String; 3] {
    ["bash".to_string(), "-lc".to_string(), script.to_string()]
}
