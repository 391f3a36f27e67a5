//! Resolved, immutable configuration.
//!
//! `Config::resolve` is the only place where CLI flags, `config.toml`, profiles,
//! `-c` overrides and the environment meet. Precedence, highest first: dedicated
//! CLI flags > selected profile > `-c` overrides and top-level keys > defaults.
//! The runner only ever sees the `Config` this produces.

pub mod auth;
pub mod compaction;
pub mod file;
pub mod mcp;
pub mod overrides;
pub mod provider;

use std::path::{Path, PathBuf};

use serde_json::Value as JsonValue;
use toml::Table;

use crate::cli::{ExecArgs, LocalProviderArg, SandboxModeArg};
use crate::sandbox::SandboxPolicy;
pub use auth::Credential;
pub use file::EnvironmentInherit;
use file::{ConfigToml, ProfileToml, ReasoningEffort, ReasoningSummary, Verbosity, WebSearchMode};
pub use provider::ProviderConfig;

/// Model used when neither flags nor config name one (the default of 0.171's
/// catalogue).
pub const DEFAULT_MODEL: &str = "gpt-6.2-sol";
/// Default cap on the combined size of AGENTS.md files (SPEC §19.1).
const DEFAULT_PROJECT_DOC_MAX_BYTES: usize = 32 * 1024;

/// Why configuration could not be loaded. Every variant is fatal to the process
/// (exit 1) and is printed once on stderr.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `$CODEX_HOME` is set to a path that does not exist.
    #[error(
        "Error: failed to resolve CODEX_HOME: CODEX_HOME points to {0:?}, but that path does not exist"
    )]
    CodexHomeMissing(PathBuf),
    /// A `-c` argument could not be parsed.
    #[error("Error parsing -c overrides: {0}")]
    Override(#[from] overrides::OverrideError),
    /// config.toml (or a profile overlay) is unreadable, not TOML, or has a bad value.
    #[error("Error loading config.toml: {0}")]
    Load(String),
    /// A value is well-formed but unusable (unknown profile, unsupported provider, ...).
    #[error("Error loading config.toml: {0}")]
    Invalid(String),
    /// `-C/--cd` does not name a usable directory.
    #[error("Error: cannot use `--cd {path}`: {source}")]
    Cwd {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--output-schema` file unreadable.
    #[error("Failed to read output schema file {path}: {source}")]
    SchemaRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--output-schema` file is not JSON.
    #[error("Output schema file {path} is not valid JSON: {source}")]
    SchemaJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A feature that this runner does not implement yet was requested.
    #[error("Error: {0} is not supported yet by this runner")]
    Unsupported(String),
    /// The model name (`-m`, a profile or `model` in config.toml) is empty:
    /// a request would name no model.
    #[error(
        "Error: the model name is empty; pass one with `-m <MODEL>` or set `model` in config.toml"
    )]
    EmptyModel,
}

/// Everything the runner needs, resolved once.
#[derive(Debug, Clone)]
pub struct Config {
    /// `$CODEX_HOME`.
    pub codex_home: PathBuf,
    /// Canonical working directory of the agent.
    pub cwd: PathBuf,
    /// Model slug sent in every request.
    pub model: String,
    /// `review_model`: the model of `codex exec review`, if configured.
    pub review_model: Option<String>,
    /// Where requests go.
    pub provider: ProviderConfig,
    /// How requests authenticate.
    pub credential: Credential,
    /// Policy for model-run commands.
    pub sandbox: SandboxPolicy,
    /// `[sandbox] namespaces`: whether layer 2 wraps sandboxed commands.
    pub sandbox_namespaces: crate::sandbox::Namespaces,
    /// The writable roots of `sandbox`, pinned when the config was resolved (run start).
    pub sandbox_roots: std::sync::Arc<crate::sandbox::PinnedRoots>,
    /// `model_reasoning_effort`, if configured.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// `model_reasoning_summary`, if configured (else the model's default).
    pub reasoning_summary: Option<ReasoningSummary>,
    /// `model_verbosity`, if configured.
    pub verbosity: Option<Verbosity>,
    /// `model_supports_reasoning_summaries`: force `reasoning` for unknown models.
    pub force_reasoning: bool,
    /// `hide_agent_reasoning`.
    pub hide_agent_reasoning: bool,
    /// `project_doc_max_bytes` (0 disables AGENTS.md).
    pub project_doc_max_bytes: usize,
    /// `project_doc_fallback_filenames`.
    pub project_doc_fallback_filenames: Vec<String>,
    /// Replacement base instructions (`base_instructions` or `experimental_instructions_file`).
    pub base_instructions: Option<String>,
    /// `developer_instructions`: an extra developer message.
    pub developer_instructions: Option<String>,
    /// `features.update_plan` / `[tools.update_plan]`: force the plan tool on or off.
    pub update_plan: Option<bool>,
    /// Whether the hosted web-search tool is advertised.
    pub web_search: bool,
    /// Whether `view_image` is advertised: `features.view_image_tool`, else
    /// `tools.view_image`, else on.
    pub view_image: bool,
    /// Parsed `--output-schema`.
    pub output_schema: Option<JsonValue>,
    /// Context window and compaction settings (SPEC §20).
    pub compaction: compaction::CompactionConfig,
    /// `--thread-source`: where the thread comes from (recorded in `session_meta`).
    pub thread_source: Option<String>,
    /// `--cyber-access-program`: recorded in `session_meta`; with API-key auth
    /// nothing in the request depends on it.
    pub cyber_access_program: Option<&'static str>,
    /// Originator header value (`codex_exec` unless overridden).
    pub originator: String,
    /// `notify` program.
    pub notify: Option<Vec<String>>,
    /// `[shell_environment_policy]`: the environment of model-run commands.
    pub shell_environment_policy: ShellEnvironmentPolicy,
    /// Warnings to surface as `error` items before the turn starts.
    pub warnings: Vec<String>,
    /// The enabled `[mcp_servers]` (SPEC §15).
    pub mcp_servers: Vec<mcp::McpServerConfig>,
}

impl Config {
    /// The sandbox every command and patch of the run is held to.
    pub fn sandbox_spec(&self) -> crate::sandbox::SandboxSpec {
        crate::sandbox::SandboxSpec {
            policy: self.sandbox.clone(),
            cwd: self.cwd.clone(),
            roots: self.sandbox_roots.clone(),
            namespaces: self.sandbox_namespaces,
            codex_home: self.codex_home.clone(),
        }
    }
}

/// The resolved `[shell_environment_policy]` (SPEC §14 with the defaults of §0.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellEnvironmentPolicy {
    /// The starting set of variables.
    pub inherit: EnvironmentInherit,
    /// Keep variables named like `*KEY*`, `*SECRET*`, `*TOKEN*` (dropped by default).
    pub ignore_default_excludes: bool,
    /// Case-insensitive globs of names to drop.
    pub exclude: Vec<String>,
    /// Variables to set or override, in name order.
    pub set: Vec<(String, String)>,
    /// When non-empty, case-insensitive globs of the only names to keep.
    pub include_only: Vec<String>,
}

impl Config {
    /// Resolve configuration for `codex exec` from its arguments and the environment.
    pub fn resolve(args: &ExecArgs) -> Result<Config, ConfigError> {
        let codex_home = find_codex_home()?;
        let cwd = resolve_cwd(args.cwd.as_deref())?;
        let mut warnings = Vec::new();

        for (flag, set) in [("`--worktree`", args.worktree), ("`--trust`", args.trust)] {
            if set {
                return Err(ConfigError::Unsupported(flag.to_string()));
            }
        }

        let (raw, profile_name) = load_raw(&codex_home, args)?;
        let mut ignored = Vec::new();
        let toml_cfg: ConfigToml = serde_ignored::deserialize(raw, |path| {
            ignored.push(path.to_string());
        })
        .map_err(|err| ConfigError::Load(err.to_string().trim_end().to_string()))?;
        if !ignored.is_empty() {
            if args.strict_config {
                return Err(ConfigError::Load(format!(
                    "unknown configuration key(s): {}",
                    ignored.join(", ")
                )));
            }
            tracing::debug!(keys = ?ignored, "ignoring unknown config keys");
        }

        // Keys that change behaviour in the reference but not (yet) here: say so
        // rather than accept them silently.
        for (key, set) in [
            (
                "show_raw_agent_reasoning",
                toml_cfg.show_raw_agent_reasoning == Some(true),
            ),
            (
                "model_max_output_tokens",
                toml_cfg.model_max_output_tokens.is_some(),
            ),
            (
                "forced_login_method",
                toml_cfg.forced_login_method.is_some(),
            ),
            (
                "forced_chatgpt_workspace_id",
                toml_cfg.forced_chatgpt_workspace_id.is_some(),
            ),
        ] {
            if set {
                warnings.push(format!(
                    "config key `{key}` is not supported by this runner and has no effect"
                ));
            }
        }

        let profile_name = profile_name.or_else(|| toml_cfg.profile.clone());
        let profile = match &profile_name {
            None => ProfileToml::default(),
            Some(name) => match toml_cfg.profiles.get(name) {
                Some(profile) => profile.clone(),
                None if codex_home.join(format!("{name}.config.toml")).is_file() => {
                    ProfileToml::default()
                }
                None => {
                    return Err(ConfigError::Invalid(format!(
                        "config profile `{name}` not found"
                    )))
                }
            },
        };

        if let Some(policy) = profile
            .approval_policy
            .as_deref()
            .or(toml_cfg.approval_policy.as_deref())
        {
            if !["untrusted", "on-failure", "on-request", "never"].contains(&policy) {
                return Err(ConfigError::Load(format!(
                    "unknown variant `{policy}`, expected one of `untrusted`, `on-failure`, \
                     `on-request`, `never`\nin `approval_policy`"
                )));
            }
        }

        let mcp_servers = mcp::parse(toml_cfg.mcp_servers.as_ref())?;

        let provider = resolve_provider(args, &toml_cfg, &profile)?;
        let credential = auth::resolve(&provider, &codex_home)?;

        let model = args
            .model
            .clone()
            .or_else(|| profile.model.clone())
            .or_else(|| toml_cfg.model.clone())
            .unwrap_or_else(|| DEFAULT_MODEL.to_string());
        if model.trim().is_empty() {
            return Err(ConfigError::EmptyModel);
        }

        let sandbox = resolve_sandbox(args, &toml_cfg, &profile, &cwd, &mut warnings);
        let sandbox_roots = std::sync::Arc::new(crate::sandbox::PinnedRoots::pin(&sandbox, &cwd));

        let mut features = toml_cfg.features.clone();
        features.extend(profile.features.clone());
        let web_search = match profile.web_search.or(toml_cfg.web_search) {
            Some(mode) => mode != WebSearchMode::Disabled,
            None => {
                toml_cfg.tools.as_ref().and_then(|t| t.web_search) == Some(true)
                    || features.get("web_search_request") == Some(&true)
            }
        };

        let update_plan = features.get("update_plan").copied().or_else(|| {
            match toml_cfg.tools.as_ref().and_then(|t| t.update_plan.as_ref()) {
                Some(toml::Value::Boolean(enabled)) => Some(*enabled),
                Some(toml::Value::Table(table)) => {
                    table.get("enabled").and_then(toml::Value::as_bool)
                }
                _ => None,
            }
        });

        let view_image = features
            .get("view_image_tool")
            .copied()
            .or_else(|| toml_cfg.tools.as_ref().and_then(|t| t.view_image))
            .unwrap_or(true);

        let compaction = compaction::resolve(&toml_cfg, &features)?;

        let base_instructions = match (
            &toml_cfg.base_instructions,
            &toml_cfg.experimental_instructions_file,
        ) {
            (Some(text), _) => Some(text.clone()),
            (None, Some(path)) => {
                let path = resolve_relative(&codex_home, path);
                Some(std::fs::read_to_string(&path).map_err(|err| {
                    ConfigError::Invalid(format!(
                        "cannot read experimental_instructions_file {}: {err}",
                        path.display()
                    ))
                })?)
            }
            (None, None) => None,
        };

        let output_schema = match &args.output_schema {
            None => None,
            Some(path) => Some(load_output_schema(path)?),
        };

        Ok(Config {
            codex_home,
            cwd,
            model,
            review_model: toml_cfg.review_model.clone(),
            provider,
            credential,
            sandbox,
            reasoning_effort: profile
                .model_reasoning_effort
                .or(toml_cfg.model_reasoning_effort),
            reasoning_summary: profile
                .model_reasoning_summary
                .or(toml_cfg.model_reasoning_summary),
            verbosity: profile.model_verbosity.or(toml_cfg.model_verbosity),
            force_reasoning: toml_cfg.model_supports_reasoning_summaries == Some(true),
            hide_agent_reasoning: toml_cfg.hide_agent_reasoning.unwrap_or(false),
            project_doc_max_bytes: toml_cfg
                .project_doc_max_bytes
                .unwrap_or(DEFAULT_PROJECT_DOC_MAX_BYTES),
            project_doc_fallback_filenames: toml_cfg
                .project_doc_fallback_filenames
                .clone()
                .unwrap_or_default(),
            base_instructions,
            developer_instructions: toml_cfg.developer_instructions.clone(),
            update_plan,
            web_search,
            view_image,
            output_schema,
            compaction,
            thread_source: args.thread_source.clone(),
            cyber_access_program: args.cyber_access_program.map(|p| p.name()),
            originator: provider::non_blank_env("CODEX_INTERNAL_ORIGINATOR_OVERRIDE")
                .unwrap_or_else(|| "codex_exec".to_string()),
            notify: toml_cfg.notify.clone().filter(|argv| !argv.is_empty()),
            shell_environment_policy: shell_environment_policy(&toml_cfg),
            sandbox_namespaces: toml_cfg
                .sandbox
                .as_ref()
                .and_then(|sandbox| sandbox.namespaces)
                .unwrap_or_default(),
            sandbox_roots,
            warnings,
            mcp_servers,
        })
    }
}

/// `$CODEX_HOME`, or `~/.codex` (which need not exist yet).
fn find_codex_home() -> Result<PathBuf, ConfigError> {
    if let Some(home) = std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(home);
        return match path.canonicalize() {
            Ok(canonical) => Ok(canonical),
            Err(_) => Err(ConfigError::CodexHomeMissing(path)),
        };
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    Ok(home.join(".codex"))
}

fn resolve_cwd(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
    let path = match flag {
        Some(path) => path.to_path_buf(),
        None => std::env::current_dir().map_err(|source| ConfigError::Cwd {
            path: PathBuf::from("."),
            source,
        })?,
    };
    let canonical = path.canonicalize().map_err(|source| ConfigError::Cwd {
        path: path.clone(),
        source,
    })?;
    if !canonical.is_dir() {
        return Err(ConfigError::Cwd {
            path,
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    Ok(canonical)
}

/// Read config.toml (unless ignored), layer the profile file, then the `-c`,
/// `--enable` and `--disable` overrides. Returns the raw tree and the profile name.
fn load_raw(codex_home: &Path, args: &ExecArgs) -> Result<(Table, Option<String>), ConfigError> {
    let mut root = Table::new();
    if !args.ignore_user_config {
        if let Some(table) = read_toml_file(&codex_home.join("config.toml"))? {
            root = table;
        }
    }
    if let Some(name) = &args.profile {
        if let Some(overlay) = read_toml_file(&codex_home.join(format!("{name}.config.toml")))? {
            overrides::merge(&mut root, overlay);
        }
    }
    for raw in &args.config_overrides {
        let parsed = overrides::parse_override(raw)?;
        overrides::apply(&mut root, &parsed.path, parsed.value);
    }
    for (names, value) in [(&args.enable, true), (&args.disable, false)] {
        for name in names {
            overrides::apply(
                &mut root,
                &["features".to_string(), name.clone()],
                toml::Value::Boolean(value),
            );
        }
    }
    Ok((root, args.profile.clone()))
}

fn read_toml_file(path: &Path) -> Result<Option<Table>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str::<Table>(&text).map(Some).map_err(|err| {
            ConfigError::Load(format!(
                "{}: {}",
                path.display(),
                err.to_string().trim_end()
            ))
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(ConfigError::Load(format!("{}: {err}", path.display()))),
    }
}

fn resolve_provider(
    args: &ExecArgs,
    toml_cfg: &ConfigToml,
    profile: &ProfileToml,
) -> Result<ProviderConfig, ConfigError> {
    let id = if args.oss {
        let id = match args.local_provider {
            Some(LocalProviderArg::Lmstudio) => Some("lmstudio".to_string()),
            Some(LocalProviderArg::Ollama) => Some("ollama".to_string()),
            None => toml_cfg.oss_provider.clone(),
        };
        id.ok_or_else(|| {
            ConfigError::Invalid(
                "No default OSS provider configured. Use --local-provider=provider or set \
                 oss_provider to one of: lmstudio, ollama in config.toml"
                    .to_string(),
            )
        })?
    } else {
        profile
            .model_provider
            .clone()
            .or_else(|| toml_cfg.model_provider.clone())
            .unwrap_or_else(|| "openai".to_string())
    };
    if let Some(entry) = toml_cfg.model_providers.get(&id) {
        return provider::from_toml(&id, entry);
    }
    if id == "openai" {
        let base_url = profile
            .openai_base_url
            .as_deref()
            .or(toml_cfg.openai_base_url.as_deref());
        return Ok(provider::builtin_openai(base_url));
    }
    if let Some(entry) = provider::builtin_oss(&id) {
        return provider::from_toml(&id, &entry);
    }
    Err(ConfigError::Invalid(format!(
        "model provider `{id}` not found in `model_providers`"
    )))
}

fn resolve_sandbox(
    args: &ExecArgs,
    toml_cfg: &ConfigToml,
    profile: &ProfileToml,
    cwd: &Path,
    warnings: &mut Vec<String>,
) -> SandboxPolicy {
    let mode = if args.dangerously_bypass_approvals_and_sandbox {
        SandboxModeArg::DangerFullAccess
    } else if let Some(mode) = args.sandbox {
        mode
    } else if args.full_auto {
        SandboxModeArg::WorkspaceWrite
    } else {
        profile
            .sandbox_mode
            .or(toml_cfg.sandbox_mode)
            .unwrap_or(SandboxModeArg::ReadOnly)
    };
    let policy = match mode {
        SandboxModeArg::ReadOnly => SandboxPolicy::ReadOnly,
        SandboxModeArg::DangerFullAccess => SandboxPolicy::DangerFullAccess,
        SandboxModeArg::WorkspaceWrite => {
            let ws = toml_cfg.sandbox_workspace_write.clone().unwrap_or_default();
            let mut roots: Vec<PathBuf> = ws
                .writable_roots
                .iter()
                .map(|p| resolve_relative(cwd, p))
                .collect();
            roots.extend(args.add_dir.iter().map(|p| resolve_relative(cwd, p)));
            SandboxPolicy::WorkspaceWrite {
                writable_roots: roots,
                network_access: ws.network_access,
                exclude_tmpdir_env_var: ws.exclude_tmpdir_env_var,
                exclude_slash_tmp: ws.exclude_slash_tmp,
            }
        }
    };
    if !args.add_dir.is_empty() && mode != SandboxModeArg::WorkspaceWrite {
        warnings.push(format!(
            "`--add-dir` has no effect with the `{}` sandbox",
            policy.mode_name()
        ));
    }
    policy
}

fn shell_environment_policy(toml_cfg: &ConfigToml) -> ShellEnvironmentPolicy {
    let Some(raw) = toml_cfg.shell_environment_policy.clone() else {
        return ShellEnvironmentPolicy::default();
    };
    ShellEnvironmentPolicy {
        inherit: raw.inherit.unwrap_or_default(),
        ignore_default_excludes: raw.ignore_default_excludes.unwrap_or(false),
        exclude: raw.exclude.unwrap_or_default(),
        set: raw.set.unwrap_or_default().into_iter().collect(),
        include_only: raw.include_only.unwrap_or_default(),
    }
}

fn resolve_relative(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    joined.canonicalize().unwrap_or(joined)
}

fn load_output_schema(path: &Path) -> Result<JsonValue, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SchemaRead {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ConfigError::SchemaJson {
        path: path.to_path_buf(),
        source,
    })
}
