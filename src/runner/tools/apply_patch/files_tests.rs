//! Unit tests of the confined checks of `files`: a temp dir as the only pinned root.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::symlink;

use anyhow::{ensure, Result};
use pretty_assertions::assert_eq;

use super::*;
use crate::sandbox::SandboxPolicy;

/// A temp dir holding `root/` (the only writable root, with a `.git/hooks`) and
/// `outside/`.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    roots: PinnedRoots,
}

impl Fixture {
    fn new() -> Result<Fixture> {
        let tmp = tempfile::tempdir()?;
        let base = tmp.path().canonicalize()?;
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join(".git/hooks"))?;
        std::fs::create_dir(&outside)?;
        let policy = SandboxPolicy::WorkspaceWrite {
            writable_roots: Vec::new(),
            network_access: false,
            exclude_tmpdir_env_var: true,
            exclude_slash_tmp: true,
        };
        let roots = PinnedRoots::pin(&policy, &root);
        Ok(Fixture {
            _tmp: tmp,
            root,
            outside,
            roots,
        })
    }

    /// Confined to the root, with `$CODEX_HOME` at `codex_home`.
    fn files(&self, codex_home: &Path) -> Files<'_> {
        Files::Confined(Confined::new(&self.roots, codex_home))
    }

    fn no_home(&self) -> Files<'_> {
        self.files(&self.outside.join("codex-home"))
    }
}

/// The refusal `check_target` gives `path`, rendered, if any.
fn refusal(files: &Files<'_>, path: &Path) -> Option<String> {
    files.check_target(path).err().map(|r| r.to_string())
}

/// `.git`, `.codex` and `.agents` are refused at any depth, existing or still to
/// be made, as directories and as the file itself; nothing is written.
#[test]
fn protected_names_are_refused_at_any_depth() -> Result<()> {
    let f = Fixture::new()?;
    std::fs::create_dir_all(f.root.join("sub/.codex"))?;
    let files = f.no_home();
    for (rel, name) in [
        (".git/hooks/pre-commit", ".git"),
        (".git", ".git"),
        ("sub/.codex/config.toml", ".codex"),
        ("new/dir/.agents/skill.md", ".agents"),
        ("vendor/lib/.git/config", ".git"),
    ] {
        let path = f.root.join(rel);
        let expected = format!(
            "patch rejected: {} is inside {name}, which is read-only for the agent",
            path.display()
        );
        assert_eq!(refusal(&files, &path), Some(expected.clone()), "{rel}");
        let err = files.write(&path, "x").unwrap_err();
        assert_eq!(err.to_string(), expected, "{rel}");
    }
    ensure!(
        !f.root.join(".git/hooks/pre-commit").exists(),
        "hook written"
    );
    ensure!(!f.root.join("new").exists(), "directories made");
    ensure!(f.root.join(".git").is_dir(), ".git replaced");
    Ok(())
}

/// A link inside the root that leads into `.git` is judged by where it leads.
#[test]
fn link_into_git_is_refused() -> Result<()> {
    let f = Fixture::new()?;
    symlink(".git/hooks", f.root.join("h"))?;
    let files = f.no_home();
    let path = f.root.join("h/pre-commit");
    assert_eq!(
        refusal(&files, &path),
        Some(format!(
            "patch rejected: {} is inside .git, which is read-only for the agent",
            path.display()
        ))
    );
    assert!(files.write(&path, "#!/bin/sh\n").is_err());
    assert!(files.remove(&f.root.join("h/missing")).is_err());
    ensure!(
        !f.root.join(".git/hooks/pre-commit").exists(),
        "hook written"
    );
    Ok(())
}

/// `$CODEX_HOME` inside the root is refused by path, also before it exists, and
/// through a link to it.
#[test]
fn codex_home_is_refused_by_path() -> Result<()> {
    let f = Fixture::new()?;
    let home = f.root.join("agent-home");
    let files = f.files(&home);
    let config = home.join("config.toml");
    let expected = format!(
        "patch rejected: {} is inside $CODEX_HOME ({}), which is read-only for the agent",
        config.display(),
        home.display()
    );
    assert_eq!(refusal(&files, &config), Some(expected.clone()));
    std::fs::create_dir(&home)?;
    let files = f.files(&home);
    assert_eq!(refusal(&files, &config), Some(expected));
    symlink("agent-home", f.root.join("via"))?;
    let via = f.root.join("via/config.toml");
    assert!(refusal(&files, &via).is_some_and(|r| r.contains("$CODEX_HOME")));
    ensure!(!config.exists(), "config written");
    Ok(())
}

/// `$CODEX_HOME` is also recognised by device and inode when no path matches (a
/// bind mount or a path spelled differently).
#[test]
fn codex_home_is_refused_by_identity() -> Result<()> {
    let f = Fixture::new()?;
    let home = f.root.join("agent-home");
    std::fs::create_dir_all(home.join("nested"))?;
    let meta = std::fs::metadata(&home)?;
    let files = Files::Confined(Confined {
        roots: &f.roots,
        codex_home: CodexHome {
            path: PathBuf::from("/elsewhere/home"),
            canonical: PathBuf::from("/elsewhere/home"),
            id: Some(FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            }),
        },
    });
    for rel in ["agent-home/config.toml", "agent-home/nested/new/x.txt"] {
        let path = f.root.join(rel);
        assert!(
            refusal(&files, &path).is_some_and(|r| r.contains("$CODEX_HOME")),
            "{rel}"
        );
    }
    assert_eq!(refusal(&files, &f.root.join("other.txt")), None);
    Ok(())
}

/// Links as the last component are refused for every operation; the words say
/// whether the link leaves the roots. Nothing outside changes.
#[test]
fn links_as_the_last_component_are_refused() -> Result<()> {
    let f = Fixture::new()?;
    std::fs::write(f.outside.join("outside.txt"), "outside\n")?;
    std::fs::write(f.root.join("inside.txt"), "inside\n")?;
    symlink(f.outside.join(".bashrc"), f.root.join("dangling"))?;
    symlink(f.outside.join("outside.txt"), f.root.join("out"))?;
    symlink("inside.txt", f.root.join("in"))?;
    let files = f.no_home();
    let leaves = |path: &Path| {
        format!(
            "patch rejected: {} is reached through a symbolic link that leaves the writable roots",
            path.display()
        )
    };
    for name in ["dangling", "out"] {
        let path = f.root.join(name);
        assert_eq!(refusal(&files, &path), Some(leaves(&path)), "{name}");
        assert_eq!(
            files.write(&path, "x").unwrap_err().to_string(),
            leaves(&path)
        );
        assert_eq!(files.remove(&path).unwrap_err().to_string(), leaves(&path));
        assert!(matches!(
            files.read(&path),
            Err(FileError::Refused(Refusal::LeavesRoots { .. }))
        ));
        assert!(matches!(
            files.check_deletable(&path),
            Err(FileError::Refused(Refusal::LeavesRoots { .. }))
        ));
    }
    let inside = f.root.join("in");
    assert!(refusal(&files, &inside).is_some_and(|r| r.contains("is a symbolic link")));
    assert!(matches!(
        files.read(&inside),
        Err(FileError::Refused(Refusal::Symlink { .. }))
    ));
    ensure!(
        !f.outside.join(".bashrc").exists(),
        "dangling target created"
    );
    assert_eq!(
        std::fs::read_to_string(f.outside.join("outside.txt"))?,
        "outside\n"
    );
    assert_eq!(
        std::fs::read_to_string(f.root.join("inside.txt"))?,
        "inside\n"
    );
    Ok(())
}

/// A directory link that leaves the root is refused, for new files below it too.
#[test]
fn directory_link_out_is_refused() -> Result<()> {
    let f = Fixture::new()?;
    symlink(&f.outside, f.root.join("escape"))?;
    let files = f.no_home();
    for rel in ["escape/new.txt", "escape/a/b/new.txt"] {
        let path = f.root.join(rel);
        assert!(
            refusal(&files, &path).is_some_and(|r| r.contains("leaves the writable roots")),
            "{rel}"
        );
        assert!(files.write(&path, "x").is_err());
    }
    ensure!(std::fs::read_dir(&f.outside)?.count() == 0, "wrote outside");
    Ok(())
}

/// Ordinary files work: nested new directories, through an inside directory link,
/// reads and removes; a path outside the root is not located.
#[test]
fn ordinary_files_are_reached() -> Result<()> {
    let f = Fixture::new()?;
    std::fs::create_dir(f.root.join("src"))?;
    symlink("src", f.root.join("alias"))?;
    let files = f.no_home();
    let nested = f.root.join("a/b/c.txt");
    assert_eq!(refusal(&files, &nested), None);
    files.write(&nested, "c\n")?;
    assert_eq!(files.read(&nested)?, "c\n");
    files.check_deletable(&nested)?;
    files.remove(&nested)?;
    ensure!(!nested.exists(), "not removed");
    let aliased = f.root.join("alias/lib.rs");
    assert_eq!(refusal(&files, &aliased), None);
    files.write(&aliased, "fn main() {}\n")?;
    assert_eq!(
        std::fs::read_to_string(f.root.join("src/lib.rs"))?,
        "fn main() {}\n"
    );
    let outside = f.outside.join("x.txt");
    assert_eq!(
        refusal(&files, &outside),
        Some(format!(
            "patch rejected: writing outside of the writable roots ({}) is blocked by the workspace-write sandbox; rejected by user approval settings",
            outside.display()
        ))
    );
    assert!(Files::Direct.check_target(&outside).is_ok());
    Ok(())
}
