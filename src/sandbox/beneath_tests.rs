//! Unit tests of `beneath`: real directories, links and files in a temp dir.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::PathBuf;

use anyhow::{ensure, Result};
use pretty_assertions::assert_eq;

use super::*;

/// A temp dir holding `root/` (the directory everything is opened beneath) and
/// `outside/` next to it.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    fd: OwnedFd,
}

impl Fixture {
    fn new() -> Result<Fixture> {
        let tmp = tempfile::tempdir()?;
        let base = tmp.path().canonicalize()?;
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir(&root)?;
        std::fs::create_dir(&outside)?;
        let fd = OwnedFd::from(File::open(&root)?);
        Ok(Fixture {
            _tmp: tmp,
            root,
            outside,
            fd,
        })
    }

    fn dir(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn name(text: &str) -> &OsStr {
    OsStr::new(text)
}

/// A dangling absolute link (`rc -> <outside>/.bashrc`) is never followed: not to
/// write, not to read, and its target is never created.
#[test]
fn dangling_absolute_link_is_not_followed() -> Result<()> {
    let f = Fixture::new()?;
    let target = f.outside.join(".bashrc");
    symlink(&target, f.root.join("rc"))?;
    let err = replace_file(f.dir(), name("rc"), b"evil\n").unwrap_err();
    assert!(matches!(err, BeneathError::Link), "{err:?}");
    let err = read_file(f.dir(), name("rc")).unwrap_err();
    assert!(matches!(err, BeneathError::Link), "{err:?}");
    let kind = entry(f.dir(), name("rc"))?.map(|e| e.kind);
    assert_eq!(kind, Some(EntryKind::Symlink));
    assert!(leads_out(f.dir(), Path::new("rc")));
    ensure!(!target.exists(), "the link's target was created");
    Ok(())
}

/// A dangling relative link that climbs out (`rc -> ../outside/new.txt`) leads out and
/// is not written through.
#[test]
fn dangling_relative_link_out_is_not_followed() -> Result<()> {
    let f = Fixture::new()?;
    symlink("../outside/new.txt", f.root.join("rc"))?;
    assert!(leads_out(f.dir(), Path::new("rc")));
    let err = replace_file(f.dir(), name("rc"), b"x").unwrap_err();
    assert!(matches!(err, BeneathError::Link), "{err:?}");
    ensure!(
        !f.outside.join("new.txt").exists(),
        "written through the link"
    );
    Ok(())
}

/// A link to a directory outside (absolute or relative) cannot be opened or passed.
#[test]
fn link_to_outside_dir_escapes() -> Result<()> {
    let f = Fixture::new()?;
    symlink(&f.outside, f.root.join("abs"))?;
    symlink("../outside", f.root.join("rel"))?;
    for link in ["abs", "rel"] {
        let err = open_dir(f.dir(), Path::new(link)).unwrap_err();
        assert!(matches!(err, BeneathError::Escapes), "{link}: {err:?}");
        let err = existing_prefix(f.dir(), &Path::new(link).join("new/file")).unwrap_err();
        assert!(matches!(err, BeneathError::Escapes), "{link}: {err:?}");
    }
    Ok(())
}

/// `..` cannot climb above the root, and names with `/` or `..` are refused.
#[test]
fn dot_dot_cannot_escape() -> Result<()> {
    let f = Fixture::new()?;
    std::fs::create_dir(f.root.join("a"))?;
    for rel in ["..", "a/../..", "a/../../outside"] {
        let err = open_dir(f.dir(), Path::new(rel)).unwrap_err();
        assert!(matches!(err, BeneathError::Escapes), "{rel}: {err:?}");
    }
    assert_eq!(
        FileId::of(open_dir(f.dir(), Path::new("a/.."))?.as_fd())?,
        FileId::of(f.dir())?
    );
    for bad in ["..", ".", "a/b", ""] {
        let err = replace_file(f.dir(), name(bad), b"x").unwrap_err();
        assert!(
            matches!(&err, BeneathError::Io(io) if io.kind() == io::ErrorKind::InvalidInput),
            "{bad:?}: {err:?}"
        );
    }
    ensure!(std::fs::read_dir(&f.outside)?.count() == 0, "wrote outside");
    Ok(())
}

/// An absolute symlink is refused even when it points back inside the root.
#[test]
fn absolute_link_is_refused_even_inside() -> Result<()> {
    let f = Fixture::new()?;
    std::fs::create_dir(f.root.join("sub"))?;
    symlink(f.root.join("sub"), f.root.join("abs"))?;
    let err = open_dir(f.dir(), Path::new("abs")).unwrap_err();
    assert!(matches!(err, BeneathError::Escapes), "{err:?}");
    Ok(())
}

/// A hardlink to an outside file is replaced, never written through; the replaced
/// file's permission bits are kept.
#[test]
fn hardlink_is_replaced_not_written_through() -> Result<()> {
    let f = Fixture::new()?;
    let secret = f.outside.join("secret.txt");
    std::fs::write(&secret, "secret\n")?;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o640))?;
    std::fs::hard_link(&secret, f.root.join("h.txt"))?;
    replace_file(f.dir(), name("h.txt"), b"new\n")?;
    assert_eq!(std::fs::read_to_string(&secret)?, "secret\n");
    assert_eq!(std::fs::read_to_string(f.root.join("h.txt"))?, "new\n");
    assert_eq!(std::fs::metadata(&secret)?.nlink(), 1);
    assert_eq!(
        std::fs::metadata(f.root.join("h.txt"))?
            .permissions()
            .mode()
            & 0o777,
        0o640
    );
    let leftovers: Vec<_> = std::fs::read_dir(&f.root)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()?;
    assert_eq!(leftovers, vec![OsString::from("h.txt")], "temp file left");
    Ok(())
}

/// Relative links that stay inside the root are followed for directories, and new
/// directories are made beneath them.
#[test]
fn links_inside_the_root_are_followed_for_directories() -> Result<()> {
    let f = Fixture::new()?;
    std::fs::create_dir(f.root.join("sub"))?;
    symlink("sub", f.root.join("inner"))?;
    std::fs::create_dir(f.root.join("sub/deep"))?;
    symlink("../../sub", f.root.join("sub/deep/up"))?;
    let sub_id = FileId::of(open_dir(f.dir(), Path::new("sub"))?.as_fd())?;
    for via in ["inner", "sub/deep/up"] {
        assert_eq!(
            FileId::of(open_dir(f.dir(), Path::new(via))?.as_fd())?,
            sub_id
        );
    }
    let (dir, missing) = existing_prefix(f.dir(), Path::new("inner/new/deeper"))?;
    assert_eq!(FileId::of(dir.as_fd())?, sub_id);
    assert_eq!(
        missing,
        vec![OsString::from("new"), OsString::from("deeper")]
    );
    let dir = create_dirs(dir, &missing)?;
    replace_file(dir.as_fd(), name("f.txt"), b"ok\n")?;
    assert_eq!(
        std::fs::read_to_string(f.root.join("sub/new/deeper/f.txt"))?,
        "ok\n"
    );
    assert!(!leads_out(f.dir(), Path::new("inner/new/deeper/f.txt")));
    Ok(())
}

/// A link sitting where a directory is to be made (dangling inside the root) is
/// refused and nothing is created through it.
#[test]
fn create_dirs_refuses_a_planted_link() -> Result<()> {
    let f = Fixture::new()?;
    symlink("missing", f.root.join("d"))?;
    let (dir, missing) = existing_prefix(f.dir(), Path::new("d/x"))?;
    assert_eq!(FileId::of(dir.as_fd())?, FileId::of(f.dir())?);
    assert_eq!(missing, vec![OsString::from("d"), OsString::from("x")]);
    let err = create_dirs(dir, &missing).unwrap_err();
    assert!(matches!(err, BeneathError::Link), "{err:?}");
    ensure!(!f.root.join("missing").exists(), "created through the link");
    Ok(())
}

/// A FIFO is refused without blocking; a missing file is "not found".
#[test]
fn read_file_reads_only_regular_files() -> Result<()> {
    let f = Fixture::new()?;
    nix::unistd::mkfifo(&f.root.join("pipe"), Mode::from_bits_truncate(0o600))?;
    let err = read_file(f.dir(), name("pipe")).unwrap_err();
    assert!(
        matches!(&err, BeneathError::Io(io) if io.kind() == io::ErrorKind::InvalidInput),
        "{err:?}"
    );
    assert!(read_file(f.dir(), name("none")).unwrap_err().is_not_found());
    std::fs::write(f.root.join("ok.txt"), "ok")?;
    assert_eq!(read_file(f.dir(), name("ok.txt"))?, b"ok");
    Ok(())
}

/// Removing a symlink removes the link, never its target.
#[test]
fn remove_file_removes_the_link_itself() -> Result<()> {
    let f = Fixture::new()?;
    std::fs::write(f.outside.join("t.txt"), "t")?;
    symlink(f.outside.join("t.txt"), f.root.join("l"))?;
    remove_file(f.dir(), name("l"))?;
    ensure!(!f.root.join("l").exists(), "link still there");
    assert_eq!(std::fs::read_to_string(f.outside.join("t.txt"))?, "t");
    Ok(())
}

/// `lineage` walks from a directory up to the root, and refuses one outside it.
#[test]
fn lineage_walks_up_to_the_root() -> Result<()> {
    let f = Fixture::new()?;
    std::fs::create_dir_all(f.root.join("a/b"))?;
    let dir = open_dir(f.dir(), Path::new("a/b"))?;
    let ids = lineage(dir.as_fd(), f.dir())?
        .iter()
        .map(|fd| FileId::of(fd.as_fd()))
        .collect::<io::Result<Vec<_>>>()?;
    let expected = ["a/b", "a", ""]
        .iter()
        .map(|rel| FileId::of(open_dir(f.dir(), Path::new(rel))?.as_fd()).map_err(Into::into))
        .collect::<Result<Vec<_>, BeneathError>>()?;
    assert_eq!(ids, expected);
    let outside = OwnedFd::from(File::open(&f.outside)?);
    let err = lineage(outside.as_fd(), f.dir()).unwrap_err();
    assert!(matches!(err, BeneathError::Escapes), "{err:?}");
    Ok(())
}
