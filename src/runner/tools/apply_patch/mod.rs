//! The apply_patch tool (SPEC §10): parse a patch, verify it against the
//! files, then write it; plus recognising `apply_patch` in shell commands
//! (SPEC §9.3).
//!
//! The flow a caller follows:
//! [`parse_patch`] → [`plan`] (the paths, for the `file_change` item and the
//! writable-root check) → [`verify`] → [`write`] → [`Summary::to_model_text`].
//! Verification and writes reach the disk through a [`Files`] the caller picks
//! from the sandbox policy (`files.rs` confines them to the pinned writable
//! roots). This module owns no events, policy decisions or tool envelopes;
//! those stay with the caller.

mod apply;
mod files;
mod intercept;
mod parser;

#[cfg(test)]
#[path = "fixtures_tests.rs"]
mod fixtures_tests;

pub use apply::{changes, plan, verify, write, ApplyError, ChangeKind, PlannedChange};
pub use files::{Confined, Files, Refusal};
pub use intercept::intercept;
pub use parser::parse_patch;

/// The Lark grammar of the freeform `apply_patch` tool (SPEC §10.1, §9.2).
pub const GRAMMAR: &str = include_str!("grammar.lark");

/// Patch-format instructions appended to the base instructions when the
/// model has no apply_patch tool and must call `apply_patch` via the shell.
pub fn tool_instructions() -> &'static str {
    include_str!("instructions.md")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The grammar spells every marker the parser understands.
    #[test]
    fn grammar_names_every_marker() {
        for marker in [
            "\"*** Begin Patch\"",
            "\"*** End Patch\"",
            "\"*** Add File: \"",
            "\"*** Delete File: \"",
            "\"*** Update File: \"",
            "\"*** Move to: \"",
            "\"*** End of File\"",
            "\"@@ \"",
            "/(.*)/",
            "/(.+)/",
        ] {
            assert!(GRAMMAR.contains(marker), "grammar lacks {marker}");
        }
    }

    /// The example in the instructions is a shell call we intercept and parse.
    #[test]
    fn instructions_example_is_a_valid_invocation() {
        let text = tool_instructions();
        let start = text.find("apply_patch <<'EOF'").unwrap();
        let end = text[start..].find("\nEOF\n").unwrap() + start + "\nEOF\n".len();
        let argv = ["bash", "-lc", &text[start..end]].map(str::to_string);
        let intercepted = intercept(&argv).expect("example is intercepted");
        let patch = parse_patch(&intercepted.patch).unwrap();
        assert_eq!(patch.hunks.len(), 1);
    }
}
