//! Built-in model catalogue: what each model family supports (SPEC §22.5).
//!
//! Data, not code paths: the request builder and (later) the tool selector read
//! these fields. Families are matched by slug prefix, longest prefix first.

use crate::config::file::{ReasoningEffort, Verbosity};

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
        supports_verbosity: false,
        default_verbosity: None,
        parallel_tool_calls: true,
        apply_patch: ApplyPatchTool::Function,
        shell: ShellTool::Shell,
    },
];

/// Fallback for slugs no family matches.
const GENERIC: ModelInfo = ModelInfo {
    family: "",
    context_window: 272_000,
    supports_reasoning: false,
    default_effort: None,
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
        assert!(find("llama3").is_none());
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
