//! Command-line surface (clap derive types only, no behaviour).
//!
//! The runner never sees these types: `config::Config::resolve` turns them into
//! an immutable configuration once. Flag names, aliases and global-ness follow
//! SPEC §1.2–1.4, because the TypeScript SDK builds its argv from them.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `codex`: a headless coding agent runner.
#[derive(Debug, Parser)]
#[command(
    name = "codex-cli",
    bin_name = "codex",
    version,
    about = "Run a coding agent against a Responses-API model, headless",
    propagate_version = false,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Codex non-interactively
    #[command(
        visible_alias = "e",
        version,
        disable_help_subcommand = true,
        override_usage = "codex exec [OPTIONS] [PROMPT]\n       codex exec [OPTIONS] <COMMAND> [ARGS]"
    )]
    Exec(Box<ExecArgs>),

    /// Internal: run a command under a sandbox policy (the runner re-executes itself
    /// with this; see `sandbox::wrap_command`).
    #[command(hide = true, name = "sandbox-exec")]
    SandboxExec(SandboxExecArgs),
}

/// Options of the hidden `codex sandbox-exec` helper.
#[derive(Debug, Args)]
pub struct SandboxExecArgs {
    /// Directory the policy's workspace root refers to (default: the current
    /// directory). The command still runs in the current directory.
    #[arg(long = "cwd", value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// The sandbox policy: its JSON form or a bare mode name.
    #[arg(long = "policy", value_name = "JSON")]
    pub policy: String,

    /// The writable roots pinned at run start (JSON list of `{path, dev, ino}`); the
    /// command is refused when one no longer leads to the same directory. Without it
    /// the policy's roots are pinned now.
    #[arg(long = "roots", value_name = "JSON")]
    pub roots: Option<String>,

    /// Layer 2 (namespaces): `auto`, `off` or `required`.
    #[arg(long = "namespaces", value_enum, default_value_t = crate::sandbox::Namespaces::Auto)]
    pub namespaces: crate::sandbox::Namespaces,

    /// `$CODEX_HOME` of the run: kept read-only, its credential files hidden.
    #[arg(long = "codex-home", value_name = "DIR")]
    pub codex_home: Option<PathBuf>,

    /// The command to run and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Sandbox policy for commands the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxModeArg {
    /// Read everywhere, write nowhere, no network.
    ReadOnly,
    /// Read everywhere, write inside the workspace and extra roots.
    WorkspaceWrite,
    /// No sandbox at all.
    DangerFullAccess,
}

/// `--cyber-access-program` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum CyberAccessProgramArg {
    /// The standard program.
    Standard,
    /// The Daybreak blue-team program.
    DaybreakBlue,
    /// The Daybreak red-team program.
    DaybreakRed,
}

impl CyberAccessProgramArg {
    /// The value as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CyberAccessProgramArg::Standard => "standard",
            CyberAccessProgramArg::DaybreakBlue => "daybreak_blue",
            CyberAccessProgramArg::DaybreakRed => "daybreak_red",
        }
    }
}

/// When to colour human output on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorArg {
    /// Always emit ANSI colour.
    Always,
    /// Never emit ANSI colour.
    Never,
    /// Colour when stderr is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
}

/// How a prompt argument combines with a piped (non-terminal) stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum StdinArg {
    /// Append stdin as a `<stdin>` block if it delivers data or EOF within a short
    /// grace period; otherwise warn and go on without it.
    #[default]
    Auto,
    /// Always wait for stdin to reach EOF and append it.
    Append,
    /// Never read stdin when a prompt argument is given.
    Ignore,
}

/// Local OSS providers for `--oss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LocalProviderArg {
    /// LM Studio on localhost:1234.
    Lmstudio,
    /// Ollama on localhost:11434.
    Ollama,
}

/// Options of `codex exec`.
#[derive(Debug, Args)]
#[command(
    name = "exec",
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = false
)]
pub struct ExecArgs {
    #[command(subcommand)]
    pub command: Option<ExecCommand>,

    /// Override a configuration value from config.toml (`-c key=value`, value parsed as TOML,
    /// else taken as a string). Repeatable; later ones win.
    #[arg(short = 'c', long = "config", value_name = "key=value", global = true, action = clap::ArgAction::Append)]
    pub config_overrides: Vec<String>,

    /// Enable a feature flag (same as `-c features.<NAME>=true`). Repeatable.
    #[arg(long = "enable", value_name = "FEATURE", global = true, action = clap::ArgAction::Append)]
    pub enable: Vec<String>,

    /// Disable a feature flag (same as `-c features.<NAME>=false`). Repeatable.
    #[arg(long = "disable", value_name = "FEATURE", global = true, action = clap::ArgAction::Append)]
    pub disable: Vec<String>,

    /// Image(s) to attach to the initial prompt (greedy: put them after the prompt or use `--`).
    #[arg(short = 'i', long = "image", value_name = "FILE", value_delimiter = ',', num_args = 1..)]
    pub images: Vec<PathBuf>,

    /// Model the agent should use.
    #[arg(short = 'm', long = "model", global = true)]
    pub model: Option<String>,

    /// Use a local open-source model provider (see `--local-provider` / `oss_provider`).
    #[arg(long = "oss")]
    pub oss: bool,

    /// Which local provider `--oss` uses.
    #[arg(long = "local-provider", value_enum)]
    pub local_provider: Option<LocalProviderArg>,

    /// Configuration profile: `[profiles.<NAME>]` in config.toml, plus
    /// `$CODEX_HOME/<NAME>.config.toml` layered on top when it exists.
    #[arg(short = 'p', long = "profile")]
    pub profile: Option<String>,

    /// Sandbox policy for model-generated shell commands.
    #[arg(short = 's', long = "sandbox", value_enum)]
    pub sandbox: Option<SandboxModeArg>,

    /// Deprecated: same as `--sandbox workspace-write`.
    #[arg(
        long = "full-auto",
        conflicts_with = "dangerously_bypass_approvals_and_sandbox"
    )]
    pub full_auto: bool,

    /// Run commands with no sandbox and skip the git-repository check. Extremely dangerous.
    #[arg(
        long = "dangerously-bypass-approvals-and-sandbox",
        alias = "yolo",
        global = true
    )]
    pub dangerously_bypass_approvals_and_sandbox: bool,

    /// Working root for the agent.
    #[arg(short = 'C', long = "cd", value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// Additional writable directory (workspace-write only). Repeatable.
    #[arg(long = "add-dir", value_name = "DIR", action = clap::ArgAction::Append)]
    pub add_dir: Vec<PathBuf>,

    /// Allow running outside a git repository.
    #[arg(long = "skip-git-repo-check", global = true)]
    pub skip_git_repo_check: bool,

    /// Do not write session files to disk.
    #[arg(long = "ephemeral", global = true)]
    pub ephemeral: bool,

    /// JSON Schema file the model's final answer must follow.
    #[arg(long = "output-schema", value_name = "FILE", global = true)]
    pub output_schema: Option<PathBuf>,

    /// Colour for human output on stderr.
    #[arg(long = "color", value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// Print events to stdout as JSON Lines.
    #[arg(long = "json", alias = "experimental-json", global = true)]
    pub json: bool,

    /// Write the final agent message to this file.
    #[arg(
        short = 'o',
        long = "output-last-message",
        value_name = "FILE",
        global = true
    )]
    pub output_last_message: Option<PathBuf>,

    /// How a prompt argument combines with a piped stdin.
    #[arg(long = "stdin", value_enum, default_value_t = StdinArg::Auto)]
    pub stdin: StdinArg,

    /// Treat unknown config.toml keys as errors.
    #[arg(long = "strict-config", global = true)]
    pub strict_config: bool,

    /// Do not read `$CODEX_HOME/config.toml` (`-c` overrides still apply).
    #[arg(long = "ignore-user-config", global = true)]
    pub ignore_user_config: bool,

    /// Accepted for compatibility: exec never asks for approval, so there is nothing to approve.
    #[arg(long = "approve-for-me", hide = true, global = true)]
    pub approve_for_me: bool,

    /// Accepted for compatibility: this runner executes no hooks.
    #[arg(long = "dangerously-bypass-hook-trust", hide = true, global = true)]
    pub dangerously_bypass_hook_trust: bool,

    /// Accepted for compatibility: this runner has no execution-policy rules to ignore.
    #[arg(long = "ignore-rules", hide = true, global = true)]
    pub ignore_rules: bool,

    /// Not supported: fails with an error.
    #[arg(long = "worktree", hide = true, global = true)]
    pub worktree: bool,

    /// Not supported: fails with an error.
    #[arg(long = "trust", hide = true, global = true)]
    pub trust: bool,

    /// Where the thread comes from (recorded in the session metadata).
    #[arg(
        long = "thread-source",
        value_name = "SOURCE",
        hide = true,
        global = true
    )]
    pub thread_source: Option<String>,

    /// Request an experimental Cyber access program for this turn
    ///
    /// Recorded in the session metadata. With API-key auth it changes nothing in the
    /// request; it is accepted for callers that pass it (the TypeScript SDK's
    /// `cyberAccessProgram`).
    #[arg(long = "cyber-access-program", value_name = "PROGRAM", global = true)]
    pub cyber_access_program: Option<CyberAccessProgramArg>,

    /// Accepted and ignored (very old builds advertised `update_plan` with it).
    #[arg(long = "include-plan-tool", hide = true)]
    pub include_plan_tool: bool,

    /// Initial instructions for the agent; `-` reads them from stdin. When absent and stdin is
    /// piped, the prompt is read from stdin.
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,
}

/// Subcommands of `codex exec`.
#[derive(Debug, Subcommand)]
pub enum ExecCommand {
    /// Resume a previous session by id or pick the most recent with --last.
    Resume(ResumeArgs),
    /// Run a code review against the current repository.
    Review(ReviewArgs),
}

/// Options of `codex exec resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Session id (UUID) or thread name.
    #[arg(value_name = "SESSION_ID")]
    pub session_id: Option<String>,

    /// Prompt for the follow-up turn (`-` reads stdin).
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,

    /// Resume the most recent session (a single positional is then the prompt).
    #[arg(long = "last")]
    pub last: bool,

    /// Do not filter sessions by the current working directory.
    #[arg(long = "all")]
    pub all: bool,

    /// Images to attach to the follow-up prompt.
    #[arg(
        short = 'i',
        long = "image",
        value_name = "FILE",
        value_delimiter = ',',
        num_args = 1
    )]
    pub images: Vec<PathBuf>,
}

/// Options of `codex exec review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Review staged, unstaged and untracked changes.
    #[arg(long = "uncommitted", conflicts_with_all = ["base", "commit", "prompt"])]
    pub uncommitted: bool,

    /// Review changes against this base branch.
    #[arg(long = "base", value_name = "BRANCH", conflicts_with_all = ["commit", "prompt"])]
    pub base: Option<String>,

    /// Review the changes introduced by a commit.
    #[arg(long = "commit", value_name = "SHA", conflicts_with = "prompt")]
    pub commit: Option<String>,

    /// Title shown for a commit review.
    // clap skips `requires` when a flag that conflicts with `--commit` is
    // present, so the other targets are excluded explicitly.
    #[arg(
        long = "title",
        value_name = "TITLE",
        requires = "commit",
        conflicts_with_all = ["uncommitted", "base"]
    )]
    pub title: Option<String>,

    /// Custom review instructions (`-` reads stdin).
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
