//! The Landlock ruleset of the sandbox helper (SPEC §12.3 step 3).
//!
//! Filesystem: read-class rights (`Execute`, `ReadFile`, `ReadDir`) beneath `/`, every
//! right beneath each writable root that exists (canonicalised, so a symlinked root
//! grants its target), on the file `/dev/null`, and on the terminal device the
//! helper's stdio is attached to, if any (so `> /dev/stderr` works under a pty). Network (only when restricted and
//! the kernel has ABI v4+): `BindTcp` and `ConnectTcp` handled with no port allowed.
//!
//! We target ABI v5 in best-effort mode. v5 is the newest ABI whose filesystem rights
//! all fit our "read everywhere" model: v9's `ResolveUnix` would also deny connecting
//! to pathname UNIX sockets outside the writable roots, which the sandbox promises to
//! keep working. Older kernels enforce what they know (logged as partial); a kernel
//! that enforces nothing makes the helper fail closed.
//!
//! Restricts the calling thread only; must not be called in the CLI process itself.

use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, ABI,
};

use super::SandboxError;

/// The Landlock ABI whose rights we request (see the module docs for why not newer).
const TARGET_ABI: ABI = ABI::V5;

/// The one file outside the writable roots that read-only commands may write.
const DEV_NULL: &str = "/dev/null";

/// How much of the requested ruleset the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enforcement {
    /// Everything we asked for.
    Full,
    /// An older kernel: some rights (e.g. TCP rules before ABI v4) are not enforced.
    Partial,
}

/// Restrict the calling thread to reads everywhere plus writes under `writable_roots`
/// (missing roots are skipped) and, when `restrict_network`, no TCP bind/connect.
pub(crate) fn restrict(
    writable_roots: &[PathBuf],
    restrict_network: bool,
) -> Result<Enforcement, SandboxError> {
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(TARGET_ABI))
        .map_err(landlock_error)?;
    if restrict_network {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(TARGET_ABI))
            .map_err(landlock_error)?;
    }
    let mut created = ruleset.create().map_err(landlock_error)?;
    created = add_path(created, Path::new("/"), AccessFs::from_read(TARGET_ABI))?;
    created = add_path(created, Path::new(DEV_NULL), AccessFs::from_all(TARGET_ABI))?;
    for terminal in stdio_terminals() {
        created = add_path(created, &terminal, AccessFs::from_all(TARGET_ABI))?;
    }
    for root in writable_roots {
        // A root that does not exist (yet) cannot be named by an fd; it stays read-only.
        let Ok(root) = std::fs::canonicalize(root) else {
            continue;
        };
        created = add_path(created, &root, AccessFs::from_all(TARGET_ABI))?;
    }
    let status = created.restrict_self().map_err(landlock_error)?;
    match status.ruleset {
        RulesetStatus::FullyEnforced => Ok(Enforcement::Full),
        RulesetStatus::PartiallyEnforced => Ok(Enforcement::Partial),
        RulesetStatus::NotEnforced => Err(SandboxError::LandlockNotEnforced),
    }
}

/// Allow `access` beneath `path` (only the file rights when `path` is not a directory).
/// A path that vanished since it was resolved is skipped.
fn add_path(
    created: RulesetCreated,
    path: &Path,
    access: landlock::BitFlags<AccessFs>,
) -> Result<RulesetCreated, SandboxError> {
    let Ok(fd) = PathFd::new(path) else {
        return Ok(created);
    };
    let access = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_dir() => access & AccessFs::from_file(TARGET_ABI),
        _ => access,
    };
    created
        .add_rule(PathBeneath::new(fd, access))
        .map_err(landlock_error)
}

/// The terminal devices the helper's stdio is attached to (a pty the spawner opened).
///
/// The command already holds these open; granting the device path too lets it reopen
/// them, as shells do for `> /dev/stderr` (a `/proc/self/fd` link to `/dev/pts/N`).
fn stdio_terminals() -> Vec<PathBuf> {
    let mut terminals: Vec<PathBuf> = Vec::new();
    let names = [
        nix::unistd::ttyname(std::io::stdin()),
        nix::unistd::ttyname(std::io::stdout()),
        nix::unistd::ttyname(std::io::stderr()),
    ];
    for name in names.into_iter().flatten() {
        if !terminals.contains(&name) {
            terminals.push(name);
        }
    }
    terminals
}

/// Check that the kernel has a working Landlock (any ABI): create and drop a ruleset.
/// Restricts nothing, so it is safe in the CLI process.
pub(crate) fn probe() -> Result<(), SandboxError> {
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(ABI::V1))
        .and_then(Ruleset::create)
        .map(drop)
        .map_err(|err| SandboxError::LandlockUnavailable {
            reason: err.to_string(),
        })
}

/// Landlock's error, flattened into our typed error.
fn landlock_error(err: landlock::RulesetError) -> SandboxError {
    SandboxError::Landlock(err.to_string())
}
