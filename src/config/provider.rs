//! Model providers: the built-in `openai` one and `[model_providers.<id>]` entries.

use std::time::Duration;

use super::file::{ModelProviderToml, WireApi};
use super::ConfigError;

/// Default `request_max_retries` (SPEC §7.7).
const DEFAULT_REQUEST_MAX_RETRIES: u64 = 4;
/// Default `stream_max_retries` (SPEC §7.7).
const DEFAULT_STREAM_MAX_RETRIES: u64 = 5;
/// Upper bound on both retry settings.
const MAX_RETRIES_CAP: u64 = 100;
/// Default `stream_idle_timeout_ms` (SPEC §7.6).
const DEFAULT_STREAM_IDLE_TIMEOUT_MS: u64 = 300_000;
/// Base URL of the built-in provider when nothing overrides it.
const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// A fully resolved provider: where requests go and how they are authenticated.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Key in `model_providers` (`openai` for the built-in one).
    pub id: String,
    /// Base URL without trailing slash; requests go to `{base_url}/responses`.
    pub base_url: String,
    /// Query parameters appended to the request URL.
    pub query_params: Vec<(String, String)>,
    /// Static and environment-derived headers, already resolved.
    pub headers: Vec<(String, String)>,
    /// Environment variable holding the API key, if the provider names one.
    pub env_key: Option<String>,
    /// Extra text appended to the missing-key error.
    pub env_key_instructions: Option<String>,
    /// A literal bearer token from the config.
    pub bearer_token: Option<String>,
    /// Whether the OpenAI credential chain (CODEX_API_KEY, auth.json, OPENAI_API_KEY) applies.
    pub requires_openai_auth: bool,
    /// Request-level retries (attempts = 1 + retries).
    pub request_max_retries: u64,
    /// Stream-level retries.
    pub stream_max_retries: u64,
    /// How long a stream may stay silent.
    pub stream_idle_timeout: Duration,
}

/// Build the built-in `openai` provider.
pub fn builtin_openai(base_url_config: Option<&str>) -> ProviderConfig {
    let base_url = base_url_config
        .map(str::to_string)
        .or_else(|| non_blank_env("OPENAI_BASE_URL"))
        .unwrap_or_else(|| OPENAI_DEFAULT_BASE_URL.to_string());
    let mut headers = vec![("version".to_string(), env!("CARGO_PKG_VERSION").to_string())];
    for (header, var) in [
        ("OpenAI-Organization", "OPENAI_ORGANIZATION"),
        ("OpenAI-Project", "OPENAI_PROJECT"),
    ] {
        if let Some(value) = non_blank_env(var) {
            headers.push((header.to_string(), value));
        }
    }
    ProviderConfig {
        id: "openai".to_string(),
        base_url: trim_base_url(&base_url),
        query_params: Vec::new(),
        headers,
        env_key: None,
        env_key_instructions: None,
        bearer_token: None,
        requires_openai_auth: true,
        request_max_retries: DEFAULT_REQUEST_MAX_RETRIES,
        stream_max_retries: DEFAULT_STREAM_MAX_RETRIES,
        stream_idle_timeout: Duration::from_millis(DEFAULT_STREAM_IDLE_TIMEOUT_MS),
    }
}

/// Built-in local providers for `--oss` (SPEC §1.6).
pub fn builtin_oss(id: &str) -> Option<ModelProviderToml> {
    let (name, default_port) = match id {
        "ollama" => ("Ollama", 11434),
        "lmstudio" => ("LM Studio", 1234),
        _ => return None,
    };
    let base_url = non_blank_env("CODEX_OSS_BASE_URL").unwrap_or_else(|| {
        let port = non_blank_env("CODEX_OSS_PORT").unwrap_or_else(|| default_port.to_string());
        format!("http://localhost:{port}/v1")
    });
    Some(ModelProviderToml {
        name: Some(name.to_string()),
        base_url: Some(base_url),
        wire_api: Some(WireApi::Responses),
        ..ModelProviderToml::default()
    })
}

/// Resolve a `[model_providers.<id>]` entry.
pub fn from_toml(id: &str, entry: &ModelProviderToml) -> Result<ProviderConfig, ConfigError> {
    if entry.wire_api == Some(WireApi::Chat) {
        return Err(ConfigError::Invalid(format!(
            "model provider `{id}` uses `wire_api = \"chat\"`, which is not supported; \
             use a Responses-API endpoint (`wire_api = \"responses\"`)"
        )));
    }
    let Some(base_url) = entry.base_url.as_deref() else {
        return Err(ConfigError::Invalid(format!(
            "model provider `{id}` has no `base_url`"
        )));
    };
    let mut headers: Vec<(String, String)> = entry
        .http_headers
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (header, var) in entry.env_http_headers.iter().flatten() {
        if let Some(value) = non_blank_env(var) {
            headers.push((header.clone(), value));
        }
    }
    Ok(ProviderConfig {
        id: id.to_string(),
        base_url: trim_base_url(base_url),
        query_params: entry
            .query_params
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        headers,
        env_key: entry.env_key.clone(),
        env_key_instructions: entry.env_key_instructions.clone(),
        bearer_token: entry.experimental_bearer_token.clone(),
        requires_openai_auth: entry.requires_openai_auth,
        request_max_retries: entry
            .request_max_retries
            .unwrap_or(DEFAULT_REQUEST_MAX_RETRIES)
            .min(MAX_RETRIES_CAP),
        stream_max_retries: entry
            .stream_max_retries
            .unwrap_or(DEFAULT_STREAM_MAX_RETRIES)
            .min(MAX_RETRIES_CAP),
        stream_idle_timeout: Duration::from_millis(
            entry
                .stream_idle_timeout_ms
                .unwrap_or(DEFAULT_STREAM_IDLE_TIMEOUT_MS),
        ),
    })
}

fn trim_base_url(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

/// An environment variable's value, or `None` when unset or blank.
pub fn non_blank_env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}
