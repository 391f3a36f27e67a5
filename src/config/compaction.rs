//! The context-compaction settings (SPEC §20): `model_context_window`,
//! `model_auto_compact_token_limit` and `features.remote_compaction`, resolved
//! once. What they mean at run time is `runner::compact`'s business.

use std::collections::BTreeMap;

use super::file::ConfigToml;
use super::ConfigError;

/// The feature that selects the remote compaction procedure.
const REMOTE_COMPACTION_FEATURE: &str = "remote_compaction";

/// How a thread keeps its history within the model's context window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionConfig {
    /// `model_context_window`: the model's window in tokens, replacing the
    /// catalogue's (and with it the default compaction limit and the window the
    /// rollouts report).
    pub context_window: Option<u64>,
    /// `model_auto_compact_token_limit`: compact once a response's usage reaches
    /// this many tokens; `Some(0)` or less turns automatic compaction off.
    /// `None`: 90 % of the window.
    pub auto_compact_token_limit: Option<i64>,
    /// `features.remote_compaction`: ask the provider's `POST /responses/compact`
    /// for the compacted history instead of summarising locally.
    pub remote: bool,
}

/// Read the settings from `config.toml` (with `-c` overrides applied) and the
/// merged `features` table.
pub fn resolve(
    toml_cfg: &ConfigToml,
    features: &BTreeMap<String, bool>,
) -> Result<CompactionConfig, ConfigError> {
    if toml_cfg.model_context_window == Some(0) {
        return Err(ConfigError::Invalid(
            "`model_context_window` must be a positive number of tokens".to_string(),
        ));
    }
    Ok(CompactionConfig {
        context_window: toml_cfg.model_context_window,
        auto_compact_token_limit: toml_cfg.model_auto_compact_token_limit,
        remote: features.get(REMOTE_COMPACTION_FEATURE) == Some(&true),
    })
}
