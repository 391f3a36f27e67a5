//! Sandbox policies for model-run commands (SPEC §12).
//!
//! This module owns the policy value and how it is described to users and to the
//! model. Enforcement (Landlock + seccomp in a re-executed helper) arrives with the
//! tools; until then no command is ever run.

mod policy;

pub use policy::SandboxPolicy;
