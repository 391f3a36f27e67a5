//! Built-in model catalogue: what each model family supports (SPEC §22.5).
//!
//! Data, not code paths: the request builder and the tool selector read these
//! fields. Families are matched by slug prefix, longest prefix first. A slug no
//! family matches gets [`GENERIC`], which, like 0.169, takes the model for
//! reasoning-capable (SPEC §7.3 `reasoning`).

use crate::config::file::{ReasoningEffort, ReasoningSummary, Verbosity};
use crate::config::Config;

/// Share of the context window the reference reports as `model_context_window`
/// (0.171: 500,000 → 475,000, 272,000 → 258,400).
const EFFECTIVE_CONTEXT_WINDOW_PERCENT: u64 = 95;
/// Share of the context window at which a thread compacts its history when
/// `model_auto_compact_token_limit` does not say (SPEC §20, as the reference).
const AUTO_COMPACT_PERCENT: u64 = 90;

/// How a family receives the apply_patch tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyPatchTool {
    /// Custom tool with a Lark grammar; the model sends raw patch text.
    Freeform,
    /// JSON function tool with an `input` string.
    Function,
    /// No tool: the model calls `apply_patch` through the shell.
    None,
}

/// Which command tools a family gets (SPEC §0.5, §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellTool {
    /// `exec_command` + `write_stdin`: sessions that can outlive a call.
    UnifiedExec,
    /// The classic JSON `shell` tool: an argv run without a shell.
    Shell,
    /// `shell_command`: a script run by the user's shell.
    ShellCommand,
}

/// What a model family supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// Slug prefix this entry matches.
    pub family: &'static str,
    /// Context window in tokens.
    pub context_window: u64,
    /// Whether requests carry a `reasoning` object.
    pub supports_reasoning: bool,
    /// Effort sent when the config names none.
    pub default_effort: Option<ReasoningEffort>,
    /// Summary sent when the config names none (`None` sends no `summary`).
    pub default_summary: ReasoningSummary,
    /// Whether `text.verbosity` may be sent.
    pub supports_verbosity: bool,
    /// Verbosity sent when the config names none.
    pub default_verbosity: Option<Verbosity>,
    /// `parallel_tool_calls` in the request.
    pub parallel_tool_calls: bool,
    /// Which apply_patch tool the family gets.
    pub apply_patch: ApplyPatchTool,
    /// Which command tools the family gets.
    pub shell: ShellTool,
}

const fn reasoning_family(family: &'static str, context_window: u64) -> ModelInfo {
    ModelInfo {
        family,
        context_window,
        supports_reasoning: true,
        default_effort: Some(ReasoningEffort::Medium),
        default_summary: ReasoningSummary::Auto,
        supports_verbosity: false,
        default_verbosity: None,
        parallel_tool_calls: false,
        apply_patch: ApplyPatchTool::Freeform,
        shell: ShellTool::UnifiedExec,
    }
}

const fn gpt5_family(family: &'static str, context_window: u64) -> ModelInfo {
    ModelInfo {
        supports_verbosity: true,
        default_verbosity: Some(Verbosity::Low),
        ..reasoning_family(family, context_window)
    }
}

/// Known families. Order does not matter: lookup picks the longest matching prefix.
const CATALOGUE: &[ModelInfo] = &[
    ModelInfo {
        default_verbosity: None,
        ..gpt5_family("gpt-5-codex", 272_000)
    },
    ModelInfo {
        default_verbosity: None,
        ..gpt5_family("gpt-5.1-codex", 272_000)
    },
    ModelInfo {
        default_verbosity: None,
        ..gpt5_family("gpt-5.2-codex", 272_000)
    },
    ModelInfo {
        default_verbosity: None,
        ..gpt5_family("gpt-5.3-codex", 272_000)
    },
    gpt5_family("gpt-5", 272_000),
    gpt5_family("gpt-5.1", 272_000),
    gpt5_family("gpt-5.2", 272_000),
    gpt5_family("gpt-5.4", 272_000),
    gpt5_family("gpt-5.5", 272_000),
    // 0.171 (observed on the reference): effort `low` and no summary by default.
    // The reference offers these models their tools inside its JavaScript "code
    // mode" (`exec_command`, `write_stdin`, freeform `apply_patch`, `view_image`,
    // with `parallel_tool_calls: false`); here they get the same tools directly.
    ModelInfo {
        default_effort: Some(ReasoningEffort::Low),
        default_summary: ReasoningSummary::None,
        ..gpt5_family("gpt-6.2-sol", 500_000)
    },
    ModelInfo {
        default_effort: Some(ReasoningEffort::Low),
        default_summary: ReasoningSummary::None,
        ..gpt5_family("gpt-6.2-astra", 272_000)
    },
    reasoning_family("codex-", 200_000),
    reasoning_family("o3", 200_000),
    reasoning_family("o4-mini", 200_000),
    ModelInfo {
        apply_patch: ApplyPatchTool::Function,
        shell: ShellTool::ShellCommand,
        ..reasoning_family("gpt-oss", 128_000)
    },
    ModelInfo {
        family: "gpt-4.1",
        context_window: 1_047_576,
        supports_reasoning: false,
        default_effort: None,
        default_summary: ReasoningSummary::None,
        supports_verbosity: false,
        default_verbosity: None,
        parallel_tool_calls: true,
        apply_patch: ApplyPatchTool::Function,
        shell: ShellTool::Shell,
    },
    ModelInfo {
        family: "gpt-4o",
        context_window: 128_000,
        supports_reasoning: false,
        default_effort: None,
        default_summary: ReasoningSummary::None,
        supports_verbosity: false,
        default_verbosity: None,
        parallel_tool_calls: true,
        apply_patch: ApplyPatchTool::Function,
        shell: ShellTool::Shell,
    },
];

/// Fallback for slugs no family matches: reasoning-capable without a default
/// effort, as 0.169 treats a model outside its catalogue (it sends
/// `"reasoning": {"summary": "auto"}` and whatever effort the user configured).
const GENERIC: ModelInfo = ModelInfo {
    family: "",
    context_window: 272_000,
    supports_reasoning: true,
    default_effort: None,
    default_summary: ReasoningSummary::Auto,
    supports_verbosity: false,
    default_verbosity: None,
    parallel_tool_calls: false,
    apply_patch: ApplyPatchTool::None,
    shell: ShellTool::UnifiedExec,
};

/// Look up `slug`; `None` means the generic fallback applies (and a warning is due).
pub fn find(slug: &str) -> Option<ModelInfo> {
    CATALOGUE
        .iter()
        .filter(|info| slug.starts_with(info.family))
        .max_by_key(|info| info.family.len())
        .copied()
}

/// `find`, or the generic fallback.
pub fn find_or_generic(slug: &str) -> ModelInfo {
    find(slug).unwrap_or(GENERIC)
}

/// The reasoning settings a request carries for `config`, or `None` when the
/// model gets no `reasoning` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reasoning {
    /// `reasoning.effort`, omitted when `None`.
    pub effort: Option<ReasoningEffort>,
    /// `reasoning.summary`, omitted when [`ReasoningSummary::None`].
    pub summary: ReasoningSummary,
}

impl ModelInfo {
    /// The window the rollouts report as `model_context_window`.
    pub fn effective_context_window(&self) -> u64 {
        self.context_window * EFFECTIVE_CONTEXT_WINDOW_PERCENT / 100
    }

    /// The token count at which a thread compacts by default: 90 % of the window.
    pub fn default_auto_compact_limit(&self) -> u64 {
        self.context_window * AUTO_COMPACT_PERCENT / 100
    }

    /// What `reasoning` says for this model under `config`: the configured
    /// effort and summary, else the family's defaults; `None` for a family that
    /// does not reason (unless `model_supports_reasoning_summaries = true`).
    pub fn reasoning(&self, config: &Config) -> Option<Reasoning> {
        (self.supports_reasoning || config.force_reasoning).then(|| Reasoning {
            effort: config.reasoning_effort.or(self.default_effort),
            summary: config.reasoning_summary.unwrap_or(self.default_summary),
        })
    }

    /// The reasoning keys the user set that this model's requests cannot carry:
    /// each is worth a warning, since a setting is never dropped silently.
    pub fn ignored_reasoning_keys(&self, config: &Config) -> Vec<&'static str> {
        if self.reasoning(config).is_some() {
            return Vec::new();
        }
        [
            ("model_reasoning_effort", config.reasoning_effort.is_some()),
            (
                "model_reasoning_summary",
                config.reasoning_summary.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(
            find("gpt-5.1-codex-max").map(|m| m.family),
            Some("gpt-5.1-codex")
        );
        assert_eq!(find("gpt-5.5").map(|m| m.family), Some("gpt-5.5"));
        assert_eq!(find("gpt-5-mini").map(|m| m.family), Some("gpt-5"));
        assert_eq!(find("gpt-6.2-sol").map(|m| m.family), Some("gpt-6.2-sol"));
        assert!(find("gpt-6.2").is_none());
        assert!(find("llama3").is_none());
    }

    #[test]
    fn unknown_models_are_reasoning_capable() {
        let generic = find_or_generic("llama3");
        assert!(generic.supports_reasoning);
        assert_eq!(generic.default_effort, None);
        assert_eq!(generic.default_summary, ReasoningSummary::Auto);
    }

    #[test]
    fn effective_window_is_95_percent() {
        assert_eq!(
            find_or_generic("gpt-6.2-sol").effective_context_window(),
            475_000
        );
        assert_eq!(
            find_or_generic("gpt-6.2-astra").effective_context_window(),
            258_400
        );
        assert_eq!(
            find_or_generic("gpt-6.2-astra").default_auto_compact_limit(),
            244_800
        );
    }

    #[test]
    fn command_tools_follow_the_family() {
        assert_eq!(find_or_generic("gpt-5-codex").shell, ShellTool::UnifiedExec);
        assert_eq!(find_or_generic("gpt-4.1-mini").shell, ShellTool::Shell);
        assert_eq!(
            find_or_generic("gpt-oss-20b").shell,
            ShellTool::ShellCommand
        );
        assert_eq!(find_or_generic("llama3").shell, ShellTool::UnifiedExec);
    }
}
