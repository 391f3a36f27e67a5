//! Credential resolution (SPEC §3.1, §18 and our decision in §0.5).
//!
//! Order for providers that use the OpenAI credential chain: `CODEX_API_KEY`,
//! then `auth.json`'s `OPENAI_API_KEY`, then the `OPENAI_API_KEY` variable.
//! Providers with `env_key` read that variable; when it is missing the *turn*
//! fails (after `turn.started`), as the reference does.

use std::path::Path;

use serde::Deserialize;

use super::provider::{non_blank_env, ProviderConfig};
use super::ConfigError;

/// What the model client sends as `Authorization`.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// No credential found: the request goes out without `Authorization`.
    Anonymous,
    /// The provider's `env_key` is unset; the turn fails with this message.
    MissingEnvKey(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself, not even in debug logs.
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::MissingEnvKey(msg) => write!(f, "MissingEnvKey({msg:?})"),
        }
    }
}

impl Credential {
    /// The bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        match self {
            Credential::Bearer(token) => Some(token),
            Credential::Anonymous | Credential::MissingEnvKey(_) => None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct AuthJson {
    #[serde(rename = "OPENAI_API_KEY")]
    openai_api_key: Option<String>,
    tokens: Option<serde_json::Value>,
}

/// Resolve the credential for `provider`.
pub fn resolve(provider: &ProviderConfig, codex_home: &Path) -> Result<Credential, ConfigError> {
    if let Some(var) = &provider.env_key {
        return Ok(match non_blank_env(var) {
            Some(key) => Credential::Bearer(key),
            None => {
                let mut message = format!("Missing environment variable: `{var}`.");
                if let Some(instructions) = &provider.env_key_instructions {
                    message.push(' ');
                    message.push_str(instructions);
                }
                Credential::MissingEnvKey(message)
            }
        });
    }
    if let Some(token) = &provider.bearer_token {
        return Ok(Credential::Bearer(token.clone()));
    }
    if !provider.requires_openai_auth {
        return Ok(Credential::Anonymous);
    }
    if let Some(key) = non_blank_env("CODEX_API_KEY") {
        return Ok(Credential::Bearer(key));
    }
    let auth_path = codex_home.join("auth.json");
    match std::fs::read_to_string(&auth_path) {
        Ok(text) => {
            let auth: AuthJson = serde_json::from_str(&text).map_err(|err| {
                ConfigError::Invalid(format!("cannot parse {}: {err}", auth_path.display()))
            })?;
            if let Some(key) = auth.openai_api_key.filter(|k| !k.trim().is_empty()) {
                return Ok(Credential::Bearer(key));
            }
            if auth.tokens.is_some_and(|t| !t.is_null())
                && non_blank_env("OPENAI_API_KEY").is_none()
            {
                return Err(ConfigError::Invalid(format!(
                    "{} holds a ChatGPT login, which this runner does not support; \
                     set `CODEX_API_KEY` (or `OPENAI_API_KEY`) to an API key instead",
                    auth_path.display()
                )));
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(ConfigError::Invalid(format!(
                "cannot read {}: {err}",
                auth_path.display()
            )))
        }
    }
    Ok(non_blank_env("OPENAI_API_KEY")
        .map(Credential::Bearer)
        .unwrap_or(Credential::Anonymous))
}
