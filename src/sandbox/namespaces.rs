//! Layer 2 of the sandbox helper: user, mount, pid and network namespaces.
//!
//! Placeholder until layer 2 lands: it never uses namespaces, so commands run under
//! layer 1 alone. The helper already calls [`enter`] at the point where layer 2 will
//! work (after the roots are verified, before the supervisor forks).

use std::path::Path;

use super::{Namespaces, RootPin, SandboxError, SandboxPolicy};

/// What layer 2 needs to know about the command's sandbox.
#[allow(dead_code)] // read once layer 2 lands
pub(crate) struct Layer2Request<'a> {
    /// `[sandbox] namespaces` of the run.
    pub mode: Namespaces,
    /// The policy of the command.
    pub policy: &'a SandboxPolicy,
    /// The writable roots, as verified by the helper.
    pub roots: &'a [RootPin],
    /// `$CODEX_HOME` of the run, when known.
    pub codex_home: Option<&'a Path>,
}

/// Whether the calling process went on inside layer 2.
#[allow(dead_code)] // `Entered` is returned once layer 2 lands
pub(crate) enum Layer2 {
    /// This process is pid 1 of the new namespaces.
    Entered,
    /// No namespaces: layer 1 alone.
    NotUsed,
}

/// Layer 2: called in the helper after the roots are verified, before the supervisor forks.
/// Off → Ok(Layer2::NotUsed). With namespaces, the calling process may fork: only the process
/// that should go on (pid 1 of a new pid namespace) returns Ok(Layer2::Entered); the other one
/// waits and exits with its child's status, never returning.
pub(crate) fn enter(req: &Layer2Request<'_>) -> Result<Layer2, SandboxError> {
    let _ = req;
    Ok(Layer2::NotUsed)
}
