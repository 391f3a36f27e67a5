//! The `config.toml` schema as serde types (parsed, not yet validated or resolved).
//!
//! Unknown keys are tolerated here; `config::load` collects them with
//! `serde_ignored` so `--strict-config` can reject them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::cli::SandboxModeArg;

/// Top level of `config.toml` (SPEC §17). Some keys are parsed only so that
/// `--strict-config` accepts a config shared with the interactive CLI.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
pub struct ConfigToml {
    pub model: Option<String>,
    /// Model of `codex exec review` (the session model when unset).
    pub review_model: Option<String>,
    pub model_provider: Option<String>,
    #[serde(default)]
    pub model_providers: BTreeMap<String, ModelProviderToml>,
    pub openai_base_url: Option<String>,
    pub approval_policy: Option<String>,
    pub sandbox_mode: Option<SandboxModeArg>,
    pub sandbox_workspace_write: Option<SandboxWorkspaceWriteToml>,
    pub sandbox: Option<SandboxToml>,
    pub profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileToml>,
    pub model_reasoning_effort: Option<ReasoningEffort>,
    pub model_reasoning_summary: Option<ReasoningSummary>,
    pub model_verbosity: Option<Verbosity>,
    pub model_supports_reasoning_summaries: Option<bool>,
    pub model_context_window: Option<u64>,
    pub model_max_output_tokens: Option<u64>,
    pub model_auto_compact_token_limit: Option<i64>,
    pub hide_agent_reasoning: Option<bool>,
    pub show_raw_agent_reasoning: Option<bool>,
    pub project_doc_max_bytes: Option<usize>,
    pub project_doc_fallback_filenames: Option<Vec<String>>,
    pub experimental_instructions_file: Option<PathBuf>,
    pub base_instructions: Option<String>,
    pub developer_instructions: Option<String>,
    #[serde(default)]
    pub features: BTreeMap<String, bool>,
    pub tools: Option<ToolsToml>,
    pub web_search: Option<WebSearchMode>,
    pub oss_provider: Option<String>,
    pub mcp_servers: Option<BTreeMap<String, toml::Value>>,
    pub notify: Option<Vec<String>>,
    pub shell_environment_policy: Option<ShellEnvironmentPolicyToml>,
    pub forced_login_method: Option<String>,
    // Keys that only concern the interactive TUI or other subcommands; accepted
    // so that a shared config.toml does not trip `--strict-config`.
    pub history: Option<toml::Value>,
    pub tui: Option<toml::Value>,
    pub file_opener: Option<toml::Value>,
    pub otel: Option<toml::Value>,
    pub analytics: Option<toml::Value>,
    pub projects: Option<toml::Value>,
    pub chatgpt_base_url: Option<String>,
    pub cli_auth_credentials_store: Option<String>,
    pub forced_chatgpt_workspace_id: Option<String>,
    pub disable_response_storage: Option<bool>,
    pub preferred_auth_method: Option<String>,
    pub windows_wsl_setup_acknowledged: Option<bool>,
    pub notice: Option<toml::Value>,
}

/// `[profiles.<name>]`: a subset of the top-level keys that a profile can set.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ProfileToml {
    pub model: Option<String>,
    pub model_provider: Option<String>,
    pub approval_policy: Option<String>,
    pub sandbox_mode: Option<SandboxModeArg>,
    pub model_reasoning_effort: Option<ReasoningEffort>,
    pub model_reasoning_summary: Option<ReasoningSummary>,
    pub model_verbosity: Option<Verbosity>,
    pub openai_base_url: Option<String>,
    pub web_search: Option<WebSearchMode>,
    #[serde(default)]
    pub features: BTreeMap<String, bool>,
}

/// `[model_providers.<id>]` (SPEC §17).
#[allow(dead_code)]
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ModelProviderToml {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub env_key: Option<String>,
    pub env_key_instructions: Option<String>,
    pub experimental_bearer_token: Option<String>,
    pub wire_api: Option<WireApi>,
    pub query_params: Option<BTreeMap<String, String>>,
    pub http_headers: Option<BTreeMap<String, String>>,
    pub env_http_headers: Option<BTreeMap<String, String>>,
    pub request_max_retries: Option<u64>,
    pub stream_max_retries: Option<u64>,
    pub stream_idle_timeout_ms: Option<u64>,
    #[serde(default)]
    pub requires_openai_auth: bool,
}

/// `[sandbox_workspace_write]`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SandboxWorkspaceWriteToml {
    #[serde(default)]
    pub writable_roots: Vec<PathBuf>,
    #[serde(default)]
    pub network_access: bool,
    #[serde(default)]
    pub exclude_tmpdir_env_var: bool,
    #[serde(default)]
    pub exclude_slash_tmp: bool,
}

/// `[sandbox]`: how commands are sandboxed beyond the mode.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SandboxToml {
    /// Layer 2: `auto` (default), `off` or `required`.
    pub namespaces: Option<crate::sandbox::Namespaces>,
}

/// `[shell_environment_policy]` (SPEC §14): how the environment of model-run
/// commands is derived from ours.
#[allow(dead_code)]
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ShellEnvironmentPolicyToml {
    pub inherit: Option<EnvironmentInherit>,
    pub ignore_default_excludes: Option<bool>,
    pub exclude: Option<Vec<String>>,
    pub set: Option<BTreeMap<String, String>>,
    pub include_only: Option<Vec<String>>,
    /// Accepted for compatibility; commands never run through a shell profile snapshot.
    pub experimental_use_profile: Option<bool>,
}

/// `shell_environment_policy.inherit`: the starting set of variables.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentInherit {
    /// Every variable of our own environment.
    #[default]
    All,
    /// Only HOME, LOGNAME, PATH, SHELL, USER, USERNAME, TMPDIR, TEMP and TMP.
    Core,
    /// Nothing.
    None,
}

/// `[tools]` (deprecated in favour of `features`, still honoured).
#[allow(dead_code)]
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ToolsToml {
    pub web_search: Option<bool>,
    pub view_image: Option<bool>,
    pub update_plan: Option<toml::Value>,
}

/// Wire protocol of a provider. Only `responses` is supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireApi {
    Responses,
    Chat,
}

/// `model_reasoning_effort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
    /// Known to the 0.171 catalogue's `gpt-6.2-*` models.
    Max,
    /// Known to the 0.171 catalogue's `gpt-6.2-*` models.
    Ultra,
}

/// `model_reasoning_summary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningSummary {
    Auto,
    Concise,
    Detailed,
    None,
}

/// `model_verbosity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verbosity {
    Low,
    Medium,
    High,
}

/// `web_search`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebSearchMode {
    Live,
    Cached,
    Disabled,
}

macro_rules! display_as_lowercase {
    ($($ty:ty),*) => {$(
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let text = format!("{self:?}").to_lowercase();
                f.write_str(&text)
            }
        }
    )*};
}
display_as_lowercase!(ReasoningEffort, ReasoningSummary, Verbosity);
