//! The pure parsers of `codex-exec`, compiled from the product's own source
//! files for fuzzing.
//!
//! The product is a binary crate, so there is no library to link against.
//! Rather than split it into a library (a change to every module's visibility
//! for the sake of the fuzzer), each fuzzed module is included here with
//! `#[path]`, unchanged. The modules were written to depend only on the
//! standard library, a few crates and one another, so the tree below only has
//! to mirror the few paths they name (`crate::runner::events`,
//! `super::repair`, `super::SessionError`). A module that starts to depend on
//! more breaks this build, not the product's.
#![allow(dead_code, unused_imports)]

// `sse` names `crate::runner::events::Usage`.
#[path = "../../src/runner/events.rs"]
mod events;

/// The product's SSE framer (`runner::model::sse_framer`).
#[path = "../../src/runner/model/sse_framer.rs"]
pub mod sse_framer;

/// The product's SSE payload parser (`runner::model::sse`).
#[path = "../../src/runner/model/sse.rs"]
pub mod sse;

/// The product's apply_patch parser (`runner::tools::apply_patch::parser`).
#[path = "../../src/runner/tools/apply_patch/parser.rs"]
pub mod apply_patch_parser;

/// The product's recognition of `apply_patch` in shell commands
/// (`runner::tools::apply_patch::intercept`).
#[path = "../../src/runner/tools/apply_patch/intercept.rs"]
pub mod apply_patch_intercept;

/// The product's `-c key=value` parser (`config::overrides`).
#[path = "../../src/config/overrides.rs"]
pub mod overrides;

/// The product's rollout reader (`session::reader`); it names its siblings
/// through `super`, which is this crate's root.
#[path = "../../src/session/reader.rs"]
pub mod reader;

/// The product's call / output pairing (`session::repair`).
#[path = "../../src/session/repair.rs"]
pub mod repair;

#[path = "../../src/session/error.rs"]
mod error;

pub use error::SessionError;

/// The module path the included sources name (`crate::runner::events`).
pub mod runner {
    /// Re-export of the product's event types.
    pub mod events {
        pub use crate::events::*;
    }
}
