//! The Landlock ruleset of the sandbox helper (SPEC §12.3 step 3, layer 1).
//!
//! Filesystem: read-class rights (`Execute`, `ReadFile`, `ReadDir`) beneath `/`, every
//! right beneath each pinned writable root (the `O_PATH` descriptors the helper opened
//! and verified without following symlinks, so nothing is resolved again here), on
//! the file `/dev/null`, and on the terminal device the helper's stdio is attached
//! to, if any (so `> /dev/stderr` works under a pty). Network (only when restricted
//! and the kernel has ABI v4+): `BindTcp` and `ConnectTcp` handled with no port
//! allowed. Scopes (ABI v6+, always): the command cannot signal a process outside its
//! own Landlock domain (the supervisor, the runner, any other process of the user)
//! nor connect to an abstract unix socket created outside it.
//!
//! We target ABI v5 for filesystem rights in best-effort mode. v5 is the newest ABI
//! whose filesystem rights all fit our "read everywhere" model: v9's `ResolveUnix`
//! would also deny connecting to pathname UNIX sockets outside the writable roots,
//! which the sandbox promises to keep working. Older kernels enforce what they know
//! (the missing parts are logged at debug level); a kernel that enforces nothing
//! makes the helper fail closed.
//!
//! Restricts the calling thread only; must not be called in the CLI process itself.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

use super::SandboxError;

/// The Landlock ABI whose rights we request (see the module docs for why not newer).
const TARGET_ABI: ABI = ABI::V5;

/// The one file outside the writable roots that read-only commands may write.
const DEV_NULL: &str = "/dev/null";

/// The first ABI with scopes.
const SCOPE_ABI: ABI = ABI::V6;

/// Restrict the calling thread to reads everywhere plus writes beneath the pinned
/// `writable_roots` and, when `restrict_network`, no TCP bind/connect; scope its
/// signals and abstract unix sockets to its own domain. An older kernel enforces
/// part of it (logged at debug level); one that enforces nothing is an error.
pub(crate) fn restrict(
    writable_roots: &[OwnedFd],
    restrict_network: bool,
) -> Result<(), SandboxError> {
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(TARGET_ABI))
        .map_err(landlock_error)?
        .scope(Scope::from_all(SCOPE_ABI))
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
        created = created
            .add_rule(PathBeneath::new(root, AccessFs::from_all(TARGET_ABI)))
            .map_err(landlock_error)?;
    }
    let status = created.restrict_self().map_err(landlock_error)?;
    match status.ruleset {
        RulesetStatus::FullyEnforced => Ok(()),
        RulesetStatus::NotEnforced => Err(SandboxError::LandlockNotEnforced),
        RulesetStatus::PartiallyEnforced => {
            let abi = match status.landlock {
                LandlockStatus::Available { effective_abi, .. } => effective_abi,
                LandlockStatus::NotEnabled | LandlockStatus::NotImplemented => ABI::Unsupported,
            };
            tracing::debug!(
                abi = %abi,
                not_enforced = ?unenforced_parts(abi, restrict_network),
                "landlock ruleset only partially enforced by this kernel"
            );
            Ok(())
        }
    }
}

/// What a kernel with Landlock `abi` leaves out of our ruleset.
fn unenforced_parts(abi: ABI, restrict_network: bool) -> Vec<&'static str> {
    let mut parts = Vec::new();
    if abi < ABI::V2 {
        parts.push("renaming and linking files across directories (refer)");
    }
    if abi < ABI::V3 {
        parts.push("truncating files");
    }
    if restrict_network && abi < ABI::V4 {
        parts.push("tcp bind and connect");
    }
    if abi < ABI::V5 {
        parts.push("device ioctls");
    }
    if abi < SCOPE_ABI {
        parts.push("signal scope (the command can signal processes outside its sandbox)");
        parts.push("abstract unix socket scope");
    }
    parts
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each older ABI names what it leaves out; ABI v6+ leaves out nothing we ask for.
    #[test]
    fn unenforced_parts_follow_the_abi() {
        assert!(unenforced_parts(ABI::V6, true).is_empty());
        assert!(unenforced_parts(ABI::V7, true).is_empty());
        let v5 = unenforced_parts(ABI::V5, true);
        assert_eq!(v5.len(), 2, "{v5:?}");
        assert!(v5[0].starts_with("signal scope"), "{v5:?}");
        let v3 = unenforced_parts(ABI::V3, true);
        assert!(v3.contains(&"tcp bind and connect"), "{v3:?}");
        assert!(!unenforced_parts(ABI::V3, false).contains(&"tcp bind and connect"));
        assert_eq!(unenforced_parts(ABI::V1, true).len(), 6);
    }
}
