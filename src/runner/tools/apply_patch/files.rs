//! Where the patch applier reads and writes (SPEC §10.3, §12.1, §0.5): by plain path
//! ([`Files::Direct`]: `danger-full-access`, and the reads of a `read-only` verification)
//! or confined beneath the writable roots pinned at run start ([`Files::Confined`]:
//! `workspace-write`).
//!
//! Confined, every file is reached from the descriptor of the pinned root that contains
//! it, through `crate::sandbox::beneath` (`openat2` with `RESOLVE_BENEATH`, the last
//! component never followed, new contents renamed over the old file), and the patch is
//! refused with a [`Refusal`] when a target
//! - lies outside every writable root;
//! - is reached through a symbolic link that leaves its root;
//! - is itself a symbolic link, for every operation, even one that stays inside the root:
//!   an update would have to replace the link or write through it, and neither is what
//!   the model asked for (it can name the file the link points to instead). Links in the
//!   directories on the way are followed while they stay inside the root;
//! - is, or lies in, a `.git`, `.codex` or `.agents` entry at any depth, judged on the
//!   directories as opened, so a link to `.git/hooks` is caught too;
//! - lies in `$CODEX_HOME`, judged by path and by device and inode of every directory
//!   from the target's up to the root.
//!
//! The root is the innermost pinned root containing the target's parent directory,
//! matched by path: as written (made absolute), else with the existing part of the parent
//! canonicalised. Matching only picks the descriptor to start from; every open is
//! resolved by the kernel beneath it. Verification runs the checks on every target
//! before anything is written ([`Files::check_target`]); every write runs them again,
//! reopening from the root, so a swap between check and use cannot escape.
//!
//! Left open: a process running in the background (an `exec_command` session) can rename
//! a directory into `.git` between a write's check and the write itself. It cannot make a
//! write leave the roots. Layer 2's read-only mounts close that.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::sandbox::beneath::{self, BeneathError, EntryKind, FileId};
use crate::sandbox::{PinnedRoot, PinnedRoots, PROTECTED_NAMES};

/// Why a patch may not touch a path. `Display` is the text the model gets. Fatal to the
/// patch: a refusal found while verifying means nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Targets outside every writable root (all of them, as the reference lists them).
    #[error("patch rejected: writing outside of the writable roots ({}) is blocked by the workspace-write sandbox; rejected by user approval settings", display_all(paths))]
    OutsideRoots {
        /// The targets outside.
        paths: Vec<PathBuf>,
    },
    /// A symbolic link on the way (or as the last component) leads out of the root.
    #[error("patch rejected: {} is reached through a symbolic link that leaves the writable roots", path.display())]
    LeavesRoots {
        /// The target.
        path: PathBuf,
    },
    /// The target is a symbolic link inside the root, or its path passes a link that is
    /// never followed (a loop, a `/proc` link, a link where a directory is to be made).
    #[error("patch rejected: {} is a symbolic link or passes one that is not followed; patches never write through links, so name the file the link points to instead", path.display())]
    Symlink {
        /// The target.
        path: PathBuf,
    },
    /// The target is or lies in a protected entry (`.git`, `.codex`, `.agents`).
    #[error("patch rejected: {} is inside {name}, which is read-only for the agent", path.display())]
    Protected {
        /// The target.
        path: PathBuf,
        /// The protected name on its way.
        name: &'static str,
    },
    /// The target lies in `$CODEX_HOME`.
    #[error("patch rejected: {} is inside $CODEX_HOME ({}), which is read-only for the agent", path.display(), home.display())]
    CodexHome {
        /// The target.
        path: PathBuf,
        /// `$CODEX_HOME`.
        home: PathBuf,
    },
}

/// Why reading or inspecting a file while verifying failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The patch may not touch the file.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The file cannot be read or inspected.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Why a write of a verified patch failed. Fatal to the patch; earlier actions of it
/// stay written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A check failed at the write (something changed since verification).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The write itself failed.
    #[error("failed to {verb} {}: {source}", path.display())]
    Io {
        /// What was being done: `write`, `remove`, `create directory`.
        verb: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// What the kernel reported.
        #[source]
        source: io::Error,
    },
}

/// How the patch applier reaches files.
#[derive(Debug)]
pub enum Files<'a> {
    /// By plain path, without checks.
    Direct,
    /// Beneath the pinned writable roots, protected paths refused.
    Confined(Confined<'a>),
}

/// The pinned roots and `$CODEX_HOME` of a `workspace-write` run.
#[derive(Debug)]
pub struct Confined<'a> {
    roots: &'a PinnedRoots,
    codex_home: CodexHome,
}

/// `$CODEX_HOME` as given, canonicalised as far as it exists, and its identity.
#[derive(Debug)]
struct CodexHome {
    path: PathBuf,
    canonical: PathBuf,
    id: Option<FileId>,
}

/// A target split into its root, the parent directory relative to the root, and its name.
struct Located<'r> {
    root: &'r PinnedRoot,
    parent: PathBuf,
    name: OsString,
}

impl Files<'_> {
    /// The checks of a path the patch adds, updates, deletes or moves (to or from), run
    /// while verifying. Failures that are no refusal (a parent that is a regular file)
    /// are left to the write, which checks again.
    pub fn check_target(&self, path: &Path) -> Result<(), Refusal> {
        match self {
            Files::Direct => Ok(()),
            Files::Confined(confined) => match confined.check_target(path) {
                Ok(()) | Err(FileError::Io(_)) => Ok(()),
                Err(FileError::Refused(refusal)) => Err(refusal),
            },
        }
    }

    /// The contents of a file to update (UTF-8).
    pub fn read(&self, path: &Path) -> Result<String, FileError> {
        match self {
            Files::Direct => Ok(fs::read_to_string(path)?),
            Files::Confined(confined) => {
                let bytes = confined.read(path)?;
                String::from_utf8(bytes).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "stream did not contain valid UTF-8",
                    )
                    .into()
                })
            }
        }
    }

    /// Whether a file to delete exists and is not a directory.
    pub fn check_deletable(&self, path: &Path) -> Result<(), FileError> {
        let kind = match self {
            Files::Direct => {
                if fs::metadata(path)?.is_dir() {
                    EntryKind::Directory
                } else {
                    EntryKind::File
                }
            }
            Files::Confined(confined) => confined.kind(path)?,
        };
        match kind {
            EntryKind::Directory => Err(io::Error::from(io::ErrorKind::IsADirectory).into()),
            EntryKind::File | EntryKind::Symlink | EntryKind::Other => Ok(()),
        }
    }

    /// Put `contents` at `path`, creating parent directories.
    pub fn write(&self, path: &Path, contents: &str) -> Result<(), WriteError> {
        match self {
            Files::Direct => {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent)
                        .map_err(|source| io_error("create directory", parent, source))?;
                }
                fs::write(path, contents).map_err(|source| io_error("write", path, source))
            }
            Files::Confined(confined) => confined
                .write(path, contents.as_bytes())
                .map_err(|err| write_error(err, "write", path)),
        }
    }

    /// Remove the file at `path`.
    pub fn remove(&self, path: &Path) -> Result<(), WriteError> {
        match self {
            Files::Direct => {
                fs::remove_file(path).map_err(|source| io_error("remove", path, source))
            }
            Files::Confined(confined) => confined
                .remove(path)
                .map_err(|err| write_error(err, "remove", path)),
        }
    }
}

impl<'a> Confined<'a> {
    /// Confine to `roots`, with `codex_home` read-only.
    pub fn new(roots: &'a PinnedRoots, codex_home: &Path) -> Confined<'a> {
        let id = fs::metadata(codex_home)
            .ok()
            .filter(fs::Metadata::is_dir)
            .map(|meta| FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            });
        Confined {
            roots,
            codex_home: CodexHome {
                path: codex_home.to_path_buf(),
                canonical: canonical_as_far_as_exists(codex_home),
                id,
            },
        }
    }

    /// Whether `path` (absolute) lies in a writable root.
    pub fn contains(&self, path: &Path) -> bool {
        self.locate(path).is_some()
    }

    fn locate(&self, path: &Path) -> Option<Located<'a>> {
        let name = path.file_name()?.to_os_string();
        let parent = path.parent()?;
        let (root, rest) = match self.roots.containing(parent) {
            Some((root, rest)) => (root, rest.to_path_buf()),
            None => {
                let real = canonical_as_far_as_exists(parent);
                let (root, rest) = self.roots.containing(&real)?;
                (root, rest.to_path_buf())
            }
        };
        Some(Located {
            root,
            parent: rest,
            name,
        })
    }

    fn located(&self, path: &Path) -> Result<Located<'a>, Refusal> {
        self.locate(path).ok_or_else(|| Refusal::OutsideRoots {
            paths: vec![path.to_path_buf()],
        })
    }

    fn check_target(&self, path: &Path) -> Result<(), FileError> {
        let at = self.located(path)?;
        let (dir, missing) = beneath::existing_prefix(at.root.dir(), &at.parent)
            .map_err(|err| self.classify(err, &at, path))?;
        if missing.is_empty() {
            let entry = beneath::entry(dir.as_fd(), &at.name)
                .map_err(|err| self.classify(err, &at, path))?;
            if entry.is_some_and(|entry| entry.kind == EntryKind::Symlink) {
                return Err(self.link_refusal(&at, path).into());
            }
        }
        self.check_protected(path, &at, dir.as_fd(), &missing)
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>, FileError> {
        let at = self.located(path)?;
        let dir = beneath::open_dir(at.root.dir(), &at.parent)
            .map_err(|err| self.classify(err, &at, path))?;
        beneath::read_file(dir.as_fd(), &at.name).map_err(|err| self.classify(err, &at, path))
    }

    fn kind(&self, path: &Path) -> Result<EntryKind, FileError> {
        let at = self.located(path)?;
        let dir = beneath::open_dir(at.root.dir(), &at.parent)
            .map_err(|err| self.classify(err, &at, path))?;
        match beneath::entry(dir.as_fd(), &at.name) {
            Ok(Some(entry)) if entry.kind == EntryKind::Symlink => {
                Err(self.link_refusal(&at, path).into())
            }
            Ok(Some(entry)) => Ok(entry.kind),
            Ok(None) => Err(io::Error::from_raw_os_error(libc::ENOENT).into()),
            Err(err) => Err(self.classify(err, &at, path)),
        }
    }

    fn write(&self, path: &Path, contents: &[u8]) -> Result<(), FileError> {
        let at = self.located(path)?;
        let classify = |err| self.classify(err, &at, path);
        let (dir, missing) =
            beneath::existing_prefix(at.root.dir(), &at.parent).map_err(classify)?;
        self.check_protected(path, &at, dir.as_fd(), &missing)?;
        let dir = beneath::create_dirs(dir, &missing).map_err(classify)?;
        beneath::replace_file(dir.as_fd(), &at.name, contents).map_err(classify)
    }

    fn remove(&self, path: &Path) -> Result<(), FileError> {
        let at = self.located(path)?;
        let classify = |err| self.classify(err, &at, path);
        let dir = beneath::open_dir(at.root.dir(), &at.parent).map_err(classify)?;
        if beneath::entry(dir.as_fd(), &at.name)
            .map_err(classify)?
            .is_some_and(|entry| entry.kind == EntryKind::Symlink)
        {
            return Err(self.link_refusal(&at, path).into());
        }
        self.check_protected(path, &at, dir.as_fd(), &[])?;
        beneath::remove_file(dir.as_fd(), &at.name).map_err(classify)
    }

    /// Refuse `path` if it is or lies in a protected entry or in `$CODEX_HOME`: `dir` is
    /// the deepest existing directory on its way, `missing` the directories still to be
    /// made below it.
    fn check_protected(
        &self,
        path: &Path,
        at: &Located<'_>,
        dir: BorrowedFd<'_>,
        missing: &[OsString],
    ) -> Result<(), FileError> {
        let names = missing.iter().chain(std::iter::once(&at.name));
        if let Some(name) = names.filter_map(|name| protected_name(name)).next() {
            return Err(Refusal::Protected {
                path: path.to_path_buf(),
                name,
            }
            .into());
        }
        if self.codex_home.contains_path(path) {
            return Err(self.codex_home_refusal(path).into());
        }
        let chain =
            beneath::lineage(dir, at.root.dir()).map_err(|err| self.classify(err, at, path))?;
        for (depth, current) in chain.iter().enumerate() {
            let id = FileId::of(current.as_fd())?;
            if Some(id) == self.codex_home.id {
                return Err(self.codex_home_refusal(path).into());
            }
            let Some(parent) = chain.get(depth + 1) else {
                continue;
            };
            for name in PROTECTED_NAMES {
                let entry = beneath::entry(parent.as_fd(), OsStr::new(name))
                    .map_err(|err| self.classify(err, at, path))?;
                if entry.is_some_and(|entry| entry.id == id) {
                    return Err(Refusal::Protected {
                        path: path.to_path_buf(),
                        name,
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// The refusal a resolution failure means, or the plain I/O error.
    fn classify(&self, err: BeneathError, at: &Located<'_>, path: &Path) -> FileError {
        match err {
            BeneathError::Escapes => Refusal::LeavesRoots {
                path: path.to_path_buf(),
            }
            .into(),
            BeneathError::Link => self.link_refusal(at, path).into(),
            BeneathError::Io(err) => FileError::Io(err),
        }
    }

    /// The refusal of a link that is not followed: whether it leads out only changes the
    /// words.
    fn link_refusal(&self, at: &Located<'_>, path: &Path) -> Refusal {
        let path = path.to_path_buf();
        if beneath::leads_out(at.root.dir(), &at.parent.join(&at.name)) {
            Refusal::LeavesRoots { path }
        } else {
            Refusal::Symlink { path }
        }
    }

    fn codex_home_refusal(&self, path: &Path) -> Refusal {
        Refusal::CodexHome {
            path: path.to_path_buf(),
            home: self.codex_home.path.clone(),
        }
    }
}

impl CodexHome {
    /// Whether `path` lies in `$CODEX_HOME` by path: as given, or canonicalised as far
    /// as both exist.
    fn contains_path(&self, path: &Path) -> bool {
        self.path.is_absolute()
            && (path.starts_with(&self.path)
                || canonical_as_far_as_exists(path).starts_with(&self.canonical))
    }
}

/// The protected name `name` is, if any.
fn protected_name(name: &OsStr) -> Option<&'static str> {
    PROTECTED_NAMES
        .into_iter()
        .find(|protected| name == OsStr::new(protected))
}

/// `path` (absolute) with symlinks resolved in its longest existing prefix and the rest
/// appended as written. Only for matching paths; nothing is opened by this path.
fn canonical_as_far_as_exists(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest: Vec<&OsStr> = Vec::new();
    loop {
        if let Ok(mut real) = existing.canonicalize() {
            real.extend(rest.iter().rev());
            return real;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

fn io_error(verb: &'static str, path: &Path, source: io::Error) -> WriteError {
    WriteError::Io {
        verb,
        path: path.to_path_buf(),
        source,
    }
}

fn write_error(err: FileError, verb: &'static str, path: &Path) -> WriteError {
    match err {
        FileError::Refused(refusal) => WriteError::Refused(refusal),
        FileError::Io(source) => io_error(verb, path, source),
    }
}

fn display_all(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
