//! Reaching files beneath a pinned directory (a writable root) so that no path the model
//! chose can lead out of it.
//!
//! This module owns the `openat2` and `*at` calls the patch applier makes; it decides no
//! policy (which root a path belongs to, which names are protected: the caller does). Every
//! path handed in is relative to a directory descriptor, and every `name` is one plain
//! component (no `/`, `.` or `..`).
//!
//! - Directories are opened from the root's descriptor with `openat2` and
//!   `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`: `..` and symlinks are followed only while
//!   they stay beneath it. An absolute symlink (even one pointing back inside), a link or a
//!   `..` that climbs out fails with [`BeneathError::Escapes`]; a `/proc` magic link with
//!   [`BeneathError::Link`]. The check *is* the open, so a directory swapped for a link
//!   between a caller's check and its use cannot escape.
//! - The last component is never followed (`O_NOFOLLOW`, `RESOLVE_NO_SYMLINKS`,
//!   `AT_SYMLINK_NOFOLLOW`): a symlink there is [`BeneathError::Link`] or reported as
//!   [`EntryKind::Symlink`].
//! - Missing directories are made one at a time with `mkdirat` and opened without following
//!   any link, so a link planted in their place is refused.
//! - A file is never written in place: the new contents go to a fresh temporary file in the
//!   same directory, which `renameat` puts over the name. A hardlink to a file elsewhere is
//!   replaced, never written through. The replaced file's permission bits (not set-id bits)
//!   and, where allowed, its owner are kept.
//! - [`lineage`] walks `..` from a directory up to the root, so callers can judge a
//!   directory by what it is (device and inode, the name it has in its parent) rather than
//!   by the path that reached it.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{openat2, renameat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, mkdirat, FileStat, Mode};
use nix::unistd::{fchown, unlinkat, Gid, Uid, UnlinkatFlags};

/// How often a resolution that raced with a rename (`EAGAIN`) is retried.
const RESOLVE_RETRIES: usize = 16;
/// How often a fresh temporary name is drawn when one already exists.
const TEMP_NAME_RETRIES: usize = 8;
/// The deepest directory [`lineage`] walks up from before giving up.
const MAX_LINEAGE_DEPTH: usize = 4096;
/// Permission bits kept from a replaced file (set-id and sticky bits are dropped).
const KEPT_MODE_BITS: u32 = 0o777;
/// Mode of new directories and files, before the umask.
const NEW_DIR_MODE: u32 = 0o777;
const NEW_FILE_MODE: u32 = 0o666;

/// Why an operation beneath a root failed.
#[derive(Debug, thiserror::Error)]
pub enum BeneathError {
    /// Resolving the path would leave the root (`EXDEV`): an absolute symlink, or a
    /// symlink or `..` that climbs above it; or a directory is no longer beneath it.
    /// Fatal to the operation; nothing was touched.
    #[error("the path leads out of the directory it is opened beneath")]
    Escapes,
    /// A symbolic link that is not followed: the last component, a link where a new
    /// directory was to be, a `/proc` magic link, or too many links (`ELOOP`). Fatal to
    /// the operation; nothing was touched.
    #[error("the path is or passes a symbolic link that is not followed")]
    Link,
    /// Any other failure, as the kernel reported it.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl BeneathError {
    /// Whether this is "no such file or directory".
    pub fn is_not_found(&self) -> bool {
        matches!(self, BeneathError::Io(err) if err.kind() == io::ErrorKind::NotFound)
    }
}

/// Identity of a file: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
}

impl FileId {
    /// The identity of an open file or directory.
    pub fn of(fd: BorrowedFd<'_>) -> io::Result<FileId> {
        Ok(FileId::from_stat(&fstat(fd.as_raw_fd())?))
    }

    #[allow(clippy::useless_conversion)] // the field types differ between targets
    fn from_stat(stat: &FileStat) -> FileId {
        FileId {
            dev: u64::from(stat.st_dev),
            ino: u64::from(stat.st_ino),
        }
    }
}

/// What a directory entry is, without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (never followed here).
    Symlink,
    /// Anything else: a FIFO, socket or device.
    Other,
}

/// A directory entry as `fstatat(AT_SYMLINK_NOFOLLOW)` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// What it is.
    pub kind: EntryKind,
    /// Its device and inode.
    pub id: FileId,
}

/// Open the directory `rel` beneath `root` (`O_PATH`); an empty `rel` is `root` itself.
/// Symlinks and `..` are followed while they stay beneath `root`.
pub fn open_dir(root: BorrowedFd<'_>, rel: &Path) -> Result<OwnedFd, BeneathError> {
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    open_beneath(
        root,
        rel,
        OFlag::O_PATH | OFlag::O_DIRECTORY,
        ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS,
    )
}

/// The deepest directory of `rel` beneath `root` that exists, and the names of the
/// components below it that do not (in order). Nothing is created.
pub fn existing_prefix(
    root: BorrowedFd<'_>,
    rel: &Path,
) -> Result<(OwnedFd, Vec<OsString>), BeneathError> {
    let components: Vec<&OsStr> = rel.components().map(Component::as_os_str).collect();
    for depth in (0..=components.len()).rev() {
        let prefix: std::path::PathBuf = components[..depth].iter().collect();
        match open_dir(root, &prefix) {
            Ok(dir) => {
                let missing = components[depth..]
                    .iter()
                    .map(|name| name.to_os_string())
                    .collect();
                return Ok((dir, missing));
            }
            Err(err) if err.is_not_found() => continue,
            Err(err) => return Err(err),
        }
    }
    // Unreachable in practice: depth 0 opens `root` itself.
    Err(BeneathError::Io(io::ErrorKind::NotFound.into()))
}

/// Create the directories `missing` one inside the other under `dir` (an existing one is
/// fine, a symlink is not) and return the innermost.
pub fn create_dirs(dir: OwnedFd, missing: &[OsString]) -> Result<OwnedFd, BeneathError> {
    let mut current = dir;
    for name in missing {
        check_name(name)?;
        match mkdirat(
            Some(current.as_raw_fd()),
            name.as_os_str(),
            Mode::from_bits_truncate(NEW_DIR_MODE),
        ) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(errno) => return Err(io::Error::from(errno).into()),
        }
        current = open_beneath(
            current.as_fd(),
            Path::new(name),
            // Not `O_NOFOLLOW`: with `O_PATH` it would open a link itself, where
            // `RESOLVE_NO_SYMLINKS` refuses it (`ELOOP`).
            OFlag::O_PATH | OFlag::O_DIRECTORY,
            ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS,
        )?;
    }
    Ok(current)
}

/// What `name` in `dir` is, without following a link; `None` when it does not exist.
pub fn entry(dir: BorrowedFd<'_>, name: &OsStr) -> Result<Option<Entry>, BeneathError> {
    check_name(name)?;
    match fstatat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(stat) => Ok(Some(Entry {
            kind: kind_of(&stat),
            id: FileId::from_stat(&stat),
        })),
        Err(Errno::ENOENT) => Ok(None),
        Err(errno) => Err(io::Error::from(errno).into()),
    }
}

/// Whether following `rel` from `root`, links included, leads out of `root` (an absolute
/// link, or one that climbs out), as far as it exists. Only for telling the user why a
/// link was refused; never a reason to open anything.
pub fn leads_out(root: BorrowedFd<'_>, rel: &Path) -> bool {
    matches!(
        open_beneath(
            root,
            rel,
            OFlag::O_PATH,
            ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        ),
        Err(BeneathError::Escapes)
    )
}

/// The contents of the regular file `name` in `dir`. A symlink is [`BeneathError::Link`];
/// a FIFO, socket or device is refused without being read (it could block forever).
pub fn read_file(dir: BorrowedFd<'_>, name: &OsStr) -> Result<Vec<u8>, BeneathError> {
    check_name(name)?;
    let fd = open_beneath(
        dir,
        Path::new(name),
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
        ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS,
    )?;
    let stat = fstat(fd.as_raw_fd()).map_err(io::Error::from)?;
    if kind_of(&stat) != EntryKind::File {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file").into());
    }
    let mut contents = Vec::new();
    File::from(fd).read_to_end(&mut contents)?;
    Ok(contents)
}

/// Put a file holding `contents` at `name` in `dir`, replacing what is there (never
/// writing through it): a temporary file in `dir`, then `renameat`. A symlink at `name`
/// is [`BeneathError::Link`]; a directory makes the rename fail.
pub fn replace_file(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    contents: &[u8],
) -> Result<(), BeneathError> {
    check_name(name)?;
    let replaced = match fstatat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(stat) if kind_of(&stat) == EntryKind::Symlink => return Err(BeneathError::Link),
        Ok(stat) if kind_of(&stat) == EntryKind::File => Some(stat),
        Ok(_) | Err(Errno::ENOENT) => None,
        Err(errno) => return Err(io::Error::from(errno).into()),
    };
    let (temp_name, temp) = create_temp(dir)?;
    let written = fill_temp(temp, replaced.as_ref(), contents).and_then(|()| {
        renameat(
            Some(dir.as_raw_fd()),
            temp_name.as_os_str(),
            Some(dir.as_raw_fd()),
            name,
        )
        .map_err(io::Error::from)
    });
    if let Err(err) = written {
        if let Err(cleanup) = unlinkat(
            Some(dir.as_raw_fd()),
            temp_name.as_os_str(),
            UnlinkatFlags::NoRemoveDir,
        ) {
            tracing::debug!(temp = ?temp_name, cause = %cleanup, "cannot remove temporary file");
        }
        return Err(err.into());
    }
    Ok(())
}

/// Remove the entry `name` from `dir` (not a directory; a symlink itself, never its
/// target).
pub fn remove_file(dir: BorrowedFd<'_>, name: &OsStr) -> Result<(), BeneathError> {
    check_name(name)?;
    unlinkat(Some(dir.as_raw_fd()), name, UnlinkatFlags::NoRemoveDir)
        .map_err(|errno| io::Error::from(errno).into())
}

/// The directories from `dir` up to `root`, walking `..`: `[dir, its parent, …, root]`
/// (`[root]` when `dir` is `root`). [`BeneathError::Escapes`] when the walk reaches `/`
/// without meeting `root` (the directory is not beneath it).
pub fn lineage(dir: BorrowedFd<'_>, root: BorrowedFd<'_>) -> Result<Vec<OwnedFd>, BeneathError> {
    let root_id = FileId::of(root)?;
    let mut chain = vec![dir.try_clone_to_owned()?];
    while chain.len() <= MAX_LINEAGE_DEPTH {
        let Some(current) = chain.last() else {
            break;
        };
        let id = FileId::of(current.as_fd())?;
        if id == root_id {
            return Ok(chain);
        }
        let parent = open_beneath(
            current.as_fd(),
            Path::new(".."),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
            ResolveFlag::RESOLVE_NO_MAGICLINKS,
        )?;
        if FileId::of(parent.as_fd())? == id {
            break; // `/`: its own parent
        }
        chain.push(parent);
    }
    Err(BeneathError::Escapes)
}

/// `openat2(dir, rel, flags | O_CLOEXEC, resolve)`, retried while it races a rename.
fn open_beneath(
    dir: BorrowedFd<'_>,
    rel: &Path,
    flags: OFlag,
    resolve: ResolveFlag,
) -> Result<OwnedFd, BeneathError> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(resolve);
    let mut attempts = 0;
    loop {
        match openat2(dir.as_raw_fd(), rel, how) {
            // SAFETY: `openat2` just returned this descriptor; nothing else owns it.
            Ok(raw) => return Ok(unsafe { OwnedFd::from_raw_fd(raw) }),
            Err(Errno::EAGAIN) if attempts < RESOLVE_RETRIES => attempts += 1,
            Err(errno) => return Err(resolve_error(errno)),
        }
    }
}

/// The error of a failed resolution.
fn resolve_error(errno: Errno) -> BeneathError {
    match errno {
        Errno::EXDEV => BeneathError::Escapes,
        Errno::ELOOP => BeneathError::Link,
        other => BeneathError::Io(other.into()),
    }
}

/// A new, empty temporary file in `dir` (`O_EXCL`, never following a link), with its name.
fn create_temp(dir: BorrowedFd<'_>) -> Result<(OsString, File), BeneathError> {
    let how = OpenHow::new()
        .flags(
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        )
        .mode(Mode::from_bits_truncate(NEW_FILE_MODE))
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
    let mut last = Errno::EEXIST;
    for _ in 0..TEMP_NAME_RETRIES {
        let name = OsString::from(format!(".codex-patch-{:016x}.tmp", rand::random::<u64>()));
        match openat2(dir.as_raw_fd(), name.as_os_str(), how) {
            // SAFETY: `openat2` just returned this descriptor; nothing else owns it.
            Ok(raw) => return Ok((name, File::from(unsafe { OwnedFd::from_raw_fd(raw) }))),
            Err(Errno::EEXIST) => last = Errno::EEXIST,
            Err(errno) => return Err(resolve_error(errno)),
        }
    }
    Err(io::Error::from(last).into())
}

/// Give the temporary file the permission bits (and, where allowed, the owner) of the
/// file it replaces, then `contents`.
fn fill_temp(mut temp: File, replaced: Option<&FileStat>, contents: &[u8]) -> io::Result<()> {
    if let Some(stat) = replaced {
        let ours = fstat(temp.as_raw_fd())?;
        if (ours.st_uid, ours.st_gid) != (stat.st_uid, stat.st_gid) {
            // Only root may give a file away; others keep their own ownership.
            if let Err(err) = fchown(
                temp.as_raw_fd(),
                Some(Uid::from_raw(stat.st_uid)),
                Some(Gid::from_raw(stat.st_gid)),
            ) {
                tracing::debug!(cause = %err, "cannot keep the owner of a replaced file");
            }
        }
        fchmod(
            temp.as_raw_fd(),
            Mode::from_bits_truncate(stat.st_mode & KEPT_MODE_BITS),
        )?;
    }
    temp.write_all(contents)
}

fn kind_of(stat: &FileStat) -> EntryKind {
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFREG => EntryKind::File,
        libc::S_IFDIR => EntryKind::Directory,
        libc::S_IFLNK => EntryKind::Symlink,
        _ => EntryKind::Other,
    }
}

/// `name` must be one plain component: `*at` calls would otherwise resolve it as a path.
fn check_name(name: &OsStr) -> Result<(), BeneathError> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a file name", name.to_string_lossy()),
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "beneath_tests.rs"]
mod tests;
