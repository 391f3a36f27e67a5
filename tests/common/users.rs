//! Running programs as another user: the sandbox must hold both for root (a CI
//! container) and for an ordinary account, so tests run the binary as each.
//!
//! Switching users needs a test process running as root; [`require_root`] fails the
//! test loudly otherwise (these tests never skip).

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{ensure, Context, Result};

/// The unprivileged account the tests switch to (`nobody`).
pub const NOBODY_UID: u32 = 65534;
/// Its primary group (`nogroup`).
pub const NOBODY_GID: u32 = 65534;
/// A uid that is neither root nor [`NOBODY_UID`]: owner of "someone else's" files.
pub const FOREIGN_UID: u32 = 4242;

/// `setpriv` arguments that drop to `nobody` with no groups and no capabilities,
/// then `exec` the program that follows.
const SETPRIV_TO_NOBODY: [&str; 6] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
    "--",
];

/// Who runs the binary under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAs {
    /// The test process's own user: root (CI containers run agents as root).
    Root,
    /// `nobody` (uid 65534), through `setpriv`.
    Nobody,
}

impl RunAs {
    /// Every user, in the order tests run them.
    pub const ALL: [RunAs; 2] = [RunAs::Root, RunAs::Nobody];

    /// The uid the program runs with.
    pub fn uid(self) -> u32 {
        match self {
            RunAs::Root => 0,
            RunAs::Nobody => NOBODY_UID,
        }
    }

    /// The gid the program runs with.
    pub fn gid(self) -> u32 {
        match self {
            RunAs::Root => 0,
            RunAs::Nobody => NOBODY_GID,
        }
    }

    /// The argv prefix that runs a program as this user (empty for root).
    pub fn wrapper(self) -> &'static [&'static str] {
        match self {
            RunAs::Root => &[],
            RunAs::Nobody => &SETPRIV_TO_NOBODY,
        }
    }

    /// A command running `program` as this user (nothing else about it is set).
    pub fn command(self, program: &str) -> Command {
        match self.wrapper().split_first() {
            Some((wrapper, args)) => {
                let mut cmd = Command::new(wrapper);
                cmd.args(args).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }

    /// Give `path` (not following a final symlink) to this user.
    pub fn own(self, path: &Path) -> Result<()> {
        std::os::unix::fs::lchown(path, Some(self.uid()), Some(self.gid()))
            .with_context(|| format!("chown {} to uid {}", path.display(), self.uid()))
    }

    /// Give `root` and everything beneath it to this user.
    pub fn own_tree(self, root: &Path) -> Result<()> {
        self.own(root)?;
        if root.symlink_metadata()?.is_dir() {
            for entry in std::fs::read_dir(root)? {
                self.own_tree(&entry?.path())?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for RunAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunAs::Root => "root",
            RunAs::Nobody => "nobody (uid 65534)",
        })
    }
}

/// Panic with a clear message unless this process is root and can run programs as
/// `nobody` through `setpriv` (checked once).
pub fn require_root() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        if let Err(err) = check_root() {
            panic!(
                "these tests run the binary as root and as nobody, so the test process must \
                 be root with a working `setpriv` (util-linux); they never skip: {err:#}"
            );
        }
    });
}

fn check_root() -> Result<()> {
    let euid = std::fs::metadata("/proc/self")
        .context("stat /proc/self")?
        .uid();
    ensure!(euid == 0, "the test process runs as uid {euid}, not root");
    let status = RunAs::Nobody
        .command("true")
        .stdin(Stdio::null())
        .status()
        .context("run `setpriv … true`")?;
    ensure!(status.success(), "`setpriv … true` failed: {status}");
    Ok(())
}
