//! Writable roots pinned at run start.
//!
//! The runner resolves every writable root of the policy once, when the run starts:
//! canonical path, device and inode, and an `O_PATH` descriptor kept for the whole
//! run. Everything that writes on the model's behalf works from that pin:
//! - the sandbox helper gets the pins (`--roots <JSON>`) and refuses to run a command
//!   when a root's path no longer leads to the same directory (a command replaced it
//!   with a symlink or another directory), instead of re-resolving it;
//! - the patch applier opens its targets beneath the kept descriptors.
//!
//! Roots that do not exist when the run starts are not pinned, so they stay read-only
//! for the whole run.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{SandboxError, SandboxPolicy};

/// Identity of one pinned root, as passed to the helper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootPin {
    /// Canonical path at run start (no symlink in any component).
    pub path: PathBuf,
    /// Device of the directory.
    pub dev: u64,
    /// Inode of the directory.
    pub ino: u64,
}

/// A pinned root in the runner: its identity and a descriptor on the directory.
#[derive(Debug)]
pub struct PinnedRoot {
    /// Path, device and inode at run start.
    pub pin: RootPin,
    fd: OwnedFd,
}

impl PinnedRoot {
    /// The directory as opened at run start (`O_PATH`): open targets beneath it.
    pub fn dir(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Every writable root of a run, pinned when the run starts.
#[derive(Debug, Default)]
pub struct PinnedRoots {
    roots: Vec<PinnedRoot>,
}

impl PinnedRoots {
    /// Pin the writable roots of `policy` for workspace `cwd` (in policy order; roots
    /// that are missing or not directories are left out, duplicates kept once).
    pub fn pin(policy: &SandboxPolicy, cwd: &Path) -> PinnedRoots {
        let mut roots: Vec<PinnedRoot> = Vec::new();
        for root in policy.writable_roots(cwd) {
            let Ok(path) = std::fs::canonicalize(&root) else {
                tracing::debug!(root = %root.display(), "writable root does not exist; it stays read-only");
                continue;
            };
            let Ok(pinned) = open_pinned(&path) else {
                continue;
            };
            if roots
                .iter()
                .all(|known| (known.pin.dev, known.pin.ino) != (pinned.pin.dev, pinned.pin.ino))
            {
                roots.push(pinned);
            }
        }
        PinnedRoots { roots }
    }

    /// The identities, for the helper.
    pub fn pins(&self) -> Vec<RootPin> {
        self.roots.iter().map(|root| root.pin.clone()).collect()
    }

    /// The innermost pinned root that `path` (absolute, canonical as far as it
    /// exists) lies in, with the rest of the path relative to it.
    pub fn containing<'a>(&self, path: &'a Path) -> Option<(&PinnedRoot, &'a Path)> {
        self.roots
            .iter()
            .filter_map(|root| {
                path.strip_prefix(&root.pin.path)
                    .ok()
                    .map(|rest| (root, rest))
            })
            .max_by_key(|(root, _)| root.pin.path.components().count())
    }
}

/// Open `path` (canonical) as an `O_PATH` directory without following any symlink and
/// read its identity.
fn open_pinned(path: &Path) -> Result<PinnedRoot, SandboxError> {
    let fd = open_dir_no_symlinks(path)?;
    let meta = std::fs::File::from(fd.try_clone().map_err(|source| SandboxError::Root {
        path: path.to_path_buf(),
        source,
    })?)
    .metadata()
    .map_err(|source| SandboxError::Root {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(PinnedRoot {
        pin: RootPin {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        },
        fd,
    })
}

/// `openat2(path, O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS)`: a directory reached
/// through no symlink at all.
pub(crate) fn open_dir_no_symlinks(path: &Path) -> Result<OwnedFd, SandboxError> {
    use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
    use std::os::fd::FromRawFd;
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let raw = openat2(libc::AT_FDCWD, path, how).map_err(|errno| SandboxError::Root {
        path: path.to_path_buf(),
        source: errno.into(),
    })?;
    // SAFETY: `openat2` just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// In the helper: check that every pin still names the same directory through a
/// symlink-free path, and return a descriptor on each, in order.
pub(crate) fn verify(pins: &[RootPin]) -> Result<Vec<OwnedFd>, SandboxError> {
    pins.iter()
        .map(|pin| {
            let changed = || SandboxError::RootChanged {
                path: pin.path.clone(),
            };
            let fd = open_dir_no_symlinks(&pin.path).map_err(|_| changed())?;
            let meta = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|_| changed())?;
            #[allow(clippy::useless_conversion)] // the field types differ between targets
            let (dev, ino) = (u64::from(meta.st_dev), u64::from(meta.st_ino));
            if (dev, ino) == (pin.dev, pin.ino) {
                Ok(fd)
            } else {
                Err(changed())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn workspace(roots: Vec<PathBuf>) -> SandboxPolicy {
        SandboxPolicy::WorkspaceWrite {
            writable_roots: roots,
            network_access: false,
            exclude_tmpdir_env_var: true,
            exclude_slash_tmp: true,
        }
    }

    /// Existing roots are pinned canonically and verify; missing ones are left out.
    #[test]
    fn pins_existing_roots_and_verifies_them() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("extra")).unwrap();
        let policy = workspace(vec![base.join("extra"), base.join("missing")]);
        let roots = PinnedRoots::pin(&policy, &base);
        let pins = roots.pins();
        let paths: Vec<&Path> = pins.iter().map(|p| p.path.as_path()).collect();
        assert_eq!(paths, vec![base.join("extra").as_path(), base.as_path()]);
        assert_eq!(verify(&pins).unwrap().len(), 2);
    }

    /// A root replaced by a symlink to another directory, or by another directory,
    /// no longer verifies.
    #[test]
    fn swapped_roots_fail_verification() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let sub = base.join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::create_dir(base.join("elsewhere")).unwrap();
        let roots = PinnedRoots::pin(&workspace(vec![sub.clone()]), &base);
        let pins = roots.pins();
        std::fs::rename(&sub, base.join("sub.old")).unwrap();
        std::os::unix::fs::symlink(base.join("elsewhere"), &sub).unwrap();
        let err = verify(&pins).unwrap_err();
        assert!(
            matches!(&err, SandboxError::RootChanged { path } if path == &sub),
            "{err}"
        );
        std::fs::remove_file(&sub).unwrap();
        std::fs::create_dir(&sub).unwrap();
        assert!(verify(&pins).is_err());
    }

    /// `containing` picks the innermost root.
    #[test]
    fn containing_picks_the_innermost_root() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("inner")).unwrap();
        let roots = PinnedRoots::pin(&workspace(vec![base.join("inner")]), &base);
        let target = base.join("inner/a/b.txt");
        let (root, rest) = roots.containing(&target).unwrap();
        assert_eq!(root.pin.path, base.join("inner"));
        assert_eq!(rest, Path::new("a/b.txt"));
        assert!(roots.containing(Path::new("/elsewhere/x")).is_none());
    }
}
