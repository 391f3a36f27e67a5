//! Layer 2 of the Linux sandbox: mount, pid and network namespaces around the command
//! (SPEC §12.1 read-only sub-paths, §12.3), where the kernel lets the helper create them.
//!
//! Landlock and seccomp (layer 1) cannot make holes inside a writable root, hide files
//! from reads or isolate processes. Here the helper, after [`super::roots::verify`] and
//! before layer 1, builds its own view of the system:
//!
//! 1. `unshare` a mount, a pid and (without network access) a network namespace. With
//!    `CAP_SYS_ADMIN` in its user namespace (root on a normal host) it creates no user
//!    namespace, so files keep their real owners and root its `DAC_OVERRIDE`. Otherwise
//!    the call fails with `EPERM` and it retries with a new user namespace that maps only
//!    its own uid and gid to themselves (`setgroups` denied first);
//! 2. make every mount private (`mount_setattr`, recursive), so nothing below reaches the
//!    host's mount table;
//! 3. clone each pinned writable root (`open_tree`, recursive, so the mounts beneath it
//!    keep their own flags), checking its device and inode against the pin;
//! 4. make the whole tree read-only with one recursive `mount_setattr` on `/`;
//! 5. attach the root clones at their paths again (shallowest first, each target checked
//!    against its pin): they are the only writable places;
//! 6. re-bind read-only, inside each root, `.git`, `.codex` and `.agents` where they
//!    exist (a `.git` file also protects the git directory it points to and its common
//!    directory, when those lie in a writable root);
//! 7. re-bind `$CODEX_HOME` read-only when it lies in a writable root, and bind
//!    `/dev/null` over its credential files (`auth.json`, `.credentials.json`): reads
//!    return nothing and the real files stay untouched;
//! 8. the new network namespace (no network access) keeps its loopback down: nothing
//!    could use it, since seccomp refuses every socket but `AF_UNIX` streams there, and
//!    bringing it up takes the kernel's network lock on every command;
//! 9. fork: the child is pid 1 of the new pid namespace. It arms
//!    `PR_SET_PDEATHSIG=SIGKILL` (when the helper dies, the namespace dies), mounts a
//!    fresh read-only `/proc` (or, where the kernel refuses, e.g. in a container that
//!    masks `/proc` paths, goes on with the old one, logged at debug level) and returns
//!    to the helper, which applies layer 1 and `exec`s the command. The parent closes its
//!    stdio, waits and exits with the child's status (its code, or 128 + signal).
//!
//! Character devices stay usable on read-only mounts, so `/dev/null` and the terminal
//! of the command keep working; `/dev/shm` becomes read-only like everything else.
//!
//! Every step runs in the single-threaded helper before any runtime exists. Nothing
//! here restricts the runner: [`probe`] tries steps 1 and 2 in a throwaway child.

use std::ffi::CStr;
use std::fmt;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::stat::SFlag;
use nix::sys::wait::WaitStatus;
use nix::unistd::ForkResult;

use super::helper::SANDBOX_FAILURE_EXIT_CODE;
use super::{Namespaces, RootPin, SandboxError, SandboxPolicy};

/// Entries of a writable root that stay read-only (SPEC §12.1).
const PROTECTED_NAMES: [&str; 3] = [".git", ".codex", ".agents"];

/// Files of `$CODEX_HOME` that hold credentials: hidden behind `/dev/null`.
const CREDENTIAL_FILES: [&str; 2] = ["auth.json", ".credentials.json"];

/// The most of a `.git` or `commondir` pointer file that is read.
const POINTER_FILE_MAX_BYTES: u64 = 4096;

/// What the helper asks of layer 2.
pub(crate) struct Layer2Request<'a> {
    /// `[sandbox] namespaces`.
    pub mode: Namespaces,
    /// The policy (a new network namespace when it has no network access).
    pub policy: &'a SandboxPolicy,
    /// The writable roots, already verified against their pins.
    pub roots: &'a [RootPin],
    /// `$CODEX_HOME` of the run: read-only, its credential files hidden.
    pub codex_home: Option<&'a Path>,
}

/// What [`enter`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer2 {
    /// This process is pid 1 of the sandbox's namespaces.
    Entered,
    /// Namespaces are off, or (`auto`) could not be created: layer 1 alone.
    NotUsed,
}

/// Layer 2: called in the helper after the roots are verified, before layer 1.
///
/// Off → `Ok(Layer2::NotUsed)`. With namespaces, the calling process forks: only the
/// process that should go on (pid 1 of a new pid namespace) returns
/// `Ok(Layer2::Entered)`; the other one waits and exits with its child's status, never
/// returning. `auto` falls back to `NotUsed` only while nothing has changed yet (the
/// `unshare` itself failed); any later failure is an error, as in `required`.
pub(crate) fn enter(req: &Layer2Request<'_>) -> Result<Layer2, SandboxError> {
    match req.mode {
        Namespaces::Off => return Ok(Layer2::NotUsed),
        Namespaces::Auto | Namespaces::Required => {}
    }
    let new_net = !req.policy.has_network_access();
    if let Err(failure) = Creation::new(new_net).run() {
        if req.mode == Namespaces::Auto && !failure.committed() {
            tracing::debug!(reason = %failure, "sandbox namespaces unavailable; layer 1 alone");
            return Ok(Layer2::NotUsed);
        }
        return Err(SandboxError::NamespacesUnavailable {
            reason: failure.to_string(),
        });
    }
    // The working directory still points into the old, now covered, mounts.
    let cwd = std::env::current_dir().ok();
    build_view(req.roots, req.codex_home)?;
    if let Some(cwd) = cwd {
        return_to(&cwd)?;
    }
    start_pid_namespace()
}

/// What the probe child writes when the namespaces could be created.
const PROBE_OK: u8 = 0;

/// Runner side, once per run: can the namespaces for `policy` be created here?
/// Tries `unshare` (and the id maps) and a first mount change in a throwaway child;
/// restricts nothing in the calling process. The error is the reason, for a warning.
pub(crate) fn probe(policy: &SandboxPolicy) -> Result<(), String> {
    let creation = Creation::new(!policy.has_network_access());
    let (reader, writer) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|err| format!("pipe: {err}"))?;
    // SAFETY: the child only makes async-signal-safe system calls on memory prepared
    // before the fork (no allocation, no locks) and leaves with `_exit`, so forking a
    // process that might have other threads is sound.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Child) => {
            let code = match creation.run() {
                Ok(()) => {
                    let _ = nix::unistd::write(&writer, &[PROBE_OK]);
                    0
                }
                Err(failure) => {
                    let _ = nix::unistd::write(&writer, &failure.encode());
                    1
                }
            };
            // SAFETY: ends the child at once, without running the parent's exit
            // handlers or destructors.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => {
            drop(writer);
            // The report arrives when the child closes the pipe on its way out, before
            // the kernel tears its namespaces down (the slow part): it is reaped now if
            // it is already gone, else it stays a zombie until the run ends.
            let mut report = Vec::new();
            let _ = std::fs::File::from(reader).read_to_end(&mut report);
            let _ = nix::sys::wait::waitpid(child, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            match (report.as_slice(), CreateFailure::decode(&report)) {
                ([PROBE_OK], _) => Ok(()),
                (_, Some(failure)) => Err(failure.to_string()),
                (_, None) => Err("the probe process ended without a report".to_string()),
            }
        }
        Err(err) => Err(format!("cannot fork a probe process: {err}")),
    }
}

/// Step 1 and 2, prepared before any fork so that [`Creation::run`] allocates nothing.
struct Creation {
    /// Namespaces created without a user namespace.
    flags: CloneFlags,
    /// `/proc/self/uid_map` content: our uid mapped to itself.
    uid_map: String,
    /// `/proc/self/gid_map` content: our gid mapped to itself.
    gid_map: String,
}

/// The step of [`Creation::run`] that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// `unshare` without a user namespace, other than `EPERM`.
    Unshare = 1,
    /// `unshare` with a user namespace.
    UnshareUser = 2,
    /// Writing `setgroups`, `uid_map` or `gid_map`.
    IdMaps = 3,
    /// The first mount change (all mounts private).
    Propagation = 4,
}

/// Why the namespaces could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CreateFailure {
    step: Step,
    errno: Errno,
}

impl CreateFailure {
    /// Whether the process had already changed (so `auto` cannot fall back).
    fn committed(self) -> bool {
        match self.step {
            Step::Unshare | Step::UnshareUser => false,
            Step::IdMaps | Step::Propagation => true,
        }
    }

    /// Five bytes for the probe's pipe: the step, then the errno.
    fn encode(self) -> [u8; 5] {
        let errno = (self.errno as i32).to_le_bytes();
        [self.step as u8, errno[0], errno[1], errno[2], errno[3]]
    }

    fn decode(bytes: &[u8]) -> Option<CreateFailure> {
        let (&step, errno) = bytes.split_first()?;
        let step = match step {
            1 => Step::Unshare,
            2 => Step::UnshareUser,
            3 => Step::IdMaps,
            4 => Step::Propagation,
            _ => return None,
        };
        let errno = Errno::from_raw(i32::from_le_bytes(errno.try_into().ok()?));
        Some(CreateFailure { step, errno })
    }
}

impl fmt::Display for CreateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.step {
            Step::Unshare => "unshare of the mount, pid and network namespaces",
            Step::UnshareUser => "unshare of a user namespace",
            Step::IdMaps => "mapping the user and group ids into the user namespace",
            Step::Propagation => "changing mounts in the new mount namespace",
        };
        write!(f, "{what} failed: {}", self.errno)
    }
}

impl Creation {
    fn new(new_net: bool) -> Creation {
        let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID;
        if new_net {
            flags |= CloneFlags::CLONE_NEWNET;
        }
        let uid = nix::unistd::geteuid();
        let gid = nix::unistd::getegid();
        Creation {
            flags,
            uid_map: format!("{uid} {uid} 1\n"),
            gid_map: format!("{gid} {gid} 1\n"),
        }
    }

    /// Create the namespaces and make every mount private. Async-signal-safe.
    fn run(&self) -> Result<(), CreateFailure> {
        let fail = |step| move |errno| CreateFailure { step, errno };
        match nix::sched::unshare(self.flags) {
            Ok(()) => {}
            Err(Errno::EPERM) => {
                nix::sched::unshare(self.flags | CloneFlags::CLONE_NEWUSER)
                    .map_err(fail(Step::UnshareUser))?;
                write_proc_file(c"/proc/self/setgroups", b"deny")
                    .and_then(|()| write_proc_file(c"/proc/self/uid_map", self.uid_map.as_bytes()))
                    .and_then(|()| write_proc_file(c"/proc/self/gid_map", self.gid_map.as_bytes()))
                    .map_err(fail(Step::IdMaps))?;
            }
            Err(errno) => return Err(fail(Step::Unshare)(errno)),
        }
        let private = mount_attr(0, 0, libc::MS_PRIVATE);
        mount_setattr(
            libc::AT_FDCWD,
            c"/",
            libc::AT_RECURSIVE as libc::c_uint,
            &private,
        )
        .map_err(fail(Step::Propagation))
    }
}

/// Write `data` to a `/proc` file in one `write`. Async-signal-safe.
fn write_proc_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated; `open` keeps no pointer to it.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    let fd = Errno::result(fd)?;
    // SAFETY: `open` just returned this descriptor and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let written = nix::unistd::write(&fd, data)?;
    if written == data.len() {
        Ok(())
    } else {
        Err(Errno::EIO)
    }
}

/// Steps 3 to 7: the filesystem view (see the module docs).
fn build_view(roots: &[RootPin], codex_home: Option<&Path>) -> Result<(), SandboxError> {
    // A root of `/` leaves everything writable; a mount on `/` would not even be seen.
    let whole_fs_writable = roots.iter().any(|pin| pin.path == Path::new("/"));
    if !whole_fs_writable {
        let mut clones = Vec::with_capacity(roots.len());
        for pin in roots {
            let dir = open_pinned(pin)?;
            let tree = clone_tree(dir.as_fd(), true).map_err(mount_error("bind", &pin.path))?;
            if identity(tree.as_fd()) != Ok((pin.dev, pin.ino)) {
                return Err(root_changed(pin));
            }
            clones.push((pin, tree));
        }
        let read_only = mount_attr(libc::MOUNT_ATTR_RDONLY, 0, 0);
        mount_setattr(
            libc::AT_FDCWD,
            c"/",
            libc::AT_RECURSIVE as libc::c_uint,
            &read_only,
        )
        .map_err(mount_error("make read-only", Path::new("/")))?;
        // A root inside another one goes on top of its parent's clone.
        clones.sort_by_key(|(pin, _)| pin.path.components().count());
        for (pin, tree) in clones {
            let target = open_pinned(pin)?;
            move_mount(tree.as_fd(), target.as_fd()).map_err(mount_error("bind", &pin.path))?;
        }
    }
    for pin in roots {
        for name in PROTECTED_NAMES {
            protect_entry(&pin.path.join(name), roots)?;
        }
    }
    if let Some(home) = codex_home {
        protect_codex_home(home, roots)?;
    }
    Ok(())
}

/// `chdir` to `cwd` again, by path, so the command sees the new mounts there; it must
/// still be the same directory.
fn return_to(cwd: &Path) -> Result<(), SandboxError> {
    let error = mount_error("return to the working directory", cwd);
    let before = nix::sys::stat::stat(".").map_err(&error)?;
    nix::unistd::chdir(cwd).map_err(&error)?;
    let after = nix::sys::stat::stat(".").map_err(&error)?;
    if (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino) {
        Ok(())
    } else {
        Err(error(Errno::ESTALE))
    }
}

/// Make `path` (an entry of a writable root) read-only if it exists, and what a `.git`
/// symlink or pointer file leads to when that lies in a writable root.
fn protect_entry(path: &Path, roots: &[RootPin]) -> Result<(), SandboxError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(mount_error("inspect", path)(Errno::from_raw(raw_os(&err)))),
    };
    if meta.file_type().is_symlink() {
        // The link itself cannot be changed in a usable way; its target can.
        if let Ok(target) = std::fs::canonicalize(path) {
            if inside_roots(&target, roots) {
                make_read_only(&target)?;
            }
        }
        return Ok(());
    }
    make_read_only(path)?;
    if meta.is_file() && path.file_name() == Some(".git".as_ref()) {
        for target in git_pointer_targets(path) {
            if inside_roots(&target, roots) {
                make_read_only(&target)?;
            }
        }
    }
    Ok(())
}

/// The directories a `.git` file (`gitdir: <dir>`) points to: the git directory and,
/// for a worktree, its common directory (with the hooks and the config).
fn git_pointer_targets(dot_git: &Path) -> Vec<PathBuf> {
    let Some(base) = dot_git.parent() else {
        return Vec::new();
    };
    let Some(gitdir) =
        read_pointer(dot_git, "gitdir:").and_then(|dir| std::fs::canonicalize(base.join(dir)).ok())
    else {
        return Vec::new();
    };
    let common = read_pointer(&gitdir.join("commondir"), "")
        .and_then(|dir| std::fs::canonicalize(gitdir.join(dir)).ok());
    std::iter::once(gitdir).chain(common).collect()
}

/// The first line of the small regular file `path` after `prefix`, trimmed. Opened
/// without following a symlink and non-blocking, so a planted FIFO cannot stall us.
fn read_pointer(path: &Path, prefix: &str) -> Option<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(POINTER_FILE_MAX_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    let line = text.lines().next()?.strip_prefix(prefix)?.trim();
    (!line.is_empty()).then(|| line.to_string())
}

/// Step 7: `$CODEX_HOME` read-only (it already is outside the writable roots) and its
/// credential files hidden behind `/dev/null`.
fn protect_codex_home(home: &Path, roots: &[RootPin]) -> Result<(), SandboxError> {
    let Ok(home) = std::fs::canonicalize(home) else {
        tracing::debug!(codex_home = %home.display(), "CODEX_HOME does not exist; nothing to protect");
        return Ok(());
    };
    if inside_roots(&home, roots) {
        make_read_only(&home)?;
    }
    for name in CREDENTIAL_FILES {
        let path = home.join(name);
        if std::fs::symlink_metadata(&path).is_err() {
            continue;
        }
        // A symlinked credential file is hidden where it really is.
        match std::fs::canonicalize(&path) {
            Ok(target) if target.is_file() => hide_file(&target)?,
            _ => tracing::debug!(path = %path.display(), "not a regular file; not hidden"),
        }
    }
    Ok(())
}

/// Bind a read-only `/dev/null` over the regular file `path`.
fn hide_file(path: &Path) -> Result<(), SandboxError> {
    let hide = mount_error("hide", path);
    let null = nix::fcntl::open(
        c"/dev/null",
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(&hide)?;
    // SAFETY: `open` just returned this descriptor and nothing else owns it.
    let null = unsafe { OwnedFd::from_raw_fd(null) };
    let tree = clone_tree(null.as_fd(), false).map_err(&hide)?;
    let read_only = mount_attr(libc::MOUNT_ATTR_RDONLY, 0, 0);
    set_tree_attr(tree.as_fd(), &read_only).map_err(&hide)?;
    let target = open_path(path, false).map_err(&hide)?;
    if !matches!(file_type(target.as_fd()), Ok(SFlag::S_IFREG)) {
        return Err(hide(Errno::EINVAL));
    }
    move_mount(tree.as_fd(), target.as_fd()).map_err(hide)
}

/// Re-bind the file or directory `path` (canonical) read-only, with everything below it.
fn make_read_only(path: &Path) -> Result<(), SandboxError> {
    let protect = mount_error("make read-only", path);
    let target = open_path(path, false).map_err(&protect)?;
    if matches!(file_type(target.as_fd()), Ok(SFlag::S_IFLNK)) {
        // Replaced by a symlink since we looked: refuse rather than guess.
        return Err(protect(Errno::ELOOP));
    }
    let tree = clone_tree(target.as_fd(), true).map_err(&protect)?;
    let read_only = mount_attr(libc::MOUNT_ATTR_RDONLY, 0, 0);
    set_tree_attr(tree.as_fd(), &read_only).map_err(&protect)?;
    move_mount(tree.as_fd(), target.as_fd()).map_err(protect)
}

/// Whether `path` lies in (or is) one of the writable roots.
fn inside_roots(path: &Path, roots: &[RootPin]) -> bool {
    roots.iter().any(|pin| path.starts_with(&pin.path))
}

/// The root's directory, opened through no symlink, still the pinned one.
fn open_pinned(pin: &RootPin) -> Result<OwnedFd, SandboxError> {
    let dir = open_path(&pin.path, true).map_err(|_| root_changed(pin))?;
    if identity(dir.as_fd()) == Ok((pin.dev, pin.ino)) {
        Ok(dir)
    } else {
        Err(root_changed(pin))
    }
}

fn root_changed(pin: &RootPin) -> SandboxError {
    SandboxError::RootChanged {
        path: pin.path.clone(),
    }
}

/// An error constructor for `action` on `path`.
fn mount_error(action: &'static str, path: &Path) -> impl Fn(Errno) -> SandboxError {
    let path = path.to_path_buf();
    move |errno| SandboxError::Mount {
        action,
        path: path.clone(),
        source: errno.into(),
    }
}

fn raw_os(err: &std::io::Error) -> i32 {
    err.raw_os_error().unwrap_or(libc::EIO)
}

/// `openat2(path, O_PATH | O_NOFOLLOW, RESOLVE_NO_SYMLINKS)`: the entry itself, reached
/// through no symlink.
fn open_path(path: &Path, directory: bool) -> Result<OwnedFd, Errno> {
    let mut flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    if directory {
        flags |= OFlag::O_DIRECTORY;
    }
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = nix::fcntl::openat2(libc::AT_FDCWD, path, how)?;
    // SAFETY: `openat2` just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Device and inode of what `fd` refers to.
fn identity(fd: BorrowedFd<'_>) -> Result<(u64, u64), Errno> {
    let stat = nix::sys::stat::fstat(fd.as_raw_fd())?;
    #[allow(clippy::useless_conversion)] // the field types differ between targets
    Ok((u64::from(stat.st_dev), u64::from(stat.st_ino)))
}

/// The file type of what `fd` refers to.
fn file_type(fd: BorrowedFd<'_>) -> Result<SFlag, Errno> {
    let stat = nix::sys::stat::fstat(fd.as_raw_fd())?;
    Ok(SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT)
}

fn mount_attr(set: u64, clear: u64, propagation: libc::c_ulong) -> libc::mount_attr {
    libc::mount_attr {
        attr_set: set,
        attr_clr: clear,
        #[allow(clippy::useless_conversion)] // `c_ulong` is 32 bits on some targets
        propagation: u64::from(propagation),
        userns_fd: 0,
    }
}

/// `mount_setattr(2)`, which `nix` lacks.
fn mount_setattr(
    dirfd: RawFd,
    path: &CStr,
    flags: libc::c_uint,
    attr: &libc::mount_attr,
) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated and `attr` is a valid `mount_attr` of the size
    // passed; the kernel only reads both during the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags,
            attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(rc).map(drop)
}

/// Apply `attr` to the whole detached tree `tree`.
fn set_tree_attr(tree: BorrowedFd<'_>, attr: &libc::mount_attr) -> Result<(), Errno> {
    mount_setattr(
        tree.as_raw_fd(),
        c"",
        (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
        attr,
    )
}

/// `open_tree(fd, "", OPEN_TREE_CLONE)`: a detached copy of the mount at `fd`, with the
/// mounts below it when `recursive`.
fn clone_tree(fd: BorrowedFd<'_>, recursive: bool) -> Result<OwnedFd, Errno> {
    let mut flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: the path is an empty NUL-terminated string; no pointer is kept.
    let rc = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) };
    let fd = Errno::result(rc)?;
    let fd = RawFd::try_from(fd).map_err(|_| Errno::EBADF)?;
    // SAFETY: `open_tree` just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `move_mount(from, "", to, "")`: attach the detached tree `from` on what `to` is.
fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), Errno> {
    let flags = libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH;
    // SAFETY: both paths are empty NUL-terminated strings; no pointer is kept.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            flags,
        )
    };
    Errno::result(rc).map(drop)
}

/// Step 9: fork into the new pid namespace. Returns only in the child.
fn start_pid_namespace() -> Result<Layer2, SandboxError> {
    let pid_error = |errno: Errno| SandboxError::PidNamespace(errno.into());
    // Held by the parent until it exits: lets the child see that it died before the
    // death signal was armed (in the new namespace `getppid` is 0).
    let (alive_reader, alive_writer) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(pid_error)?;
    // SAFETY: the helper is single-threaded (no runtime, no threads), so the child may
    // go on running ordinary Rust code.
    match unsafe { nix::unistd::fork() }.map_err(pid_error)? {
        ForkResult::Parent { child } => wait_and_exit(child, alive_writer),
        ForkResult::Child => {
            drop(alive_writer);
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(pid_error)?;
            let mut poll = [nix::poll::PollFd::new(
                alive_reader.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            let hung_up =
                nix::poll::poll(&mut poll, nix::poll::PollTimeout::ZERO).map_err(pid_error)? > 0;
            if hung_up {
                return Err(pid_error(Errno::ESRCH));
            }
            drop(alive_reader);
            mount_proc();
            Ok(Layer2::Entered)
        }
    }
}

/// A fresh `/proc` for the new pid namespace, read-only; the old one stays where the
/// kernel refuses (e.g. a container that masks `/proc` paths).
fn mount_proc() {
    use nix::mount::MsFlags;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY;
    if let Err(err) = nix::mount::mount(Some("proc"), "/proc", Some("proc"), flags, None::<&str>) {
        tracing::debug!(error = %err, "cannot mount a fresh /proc in the sandbox; other processes stay listed there");
    }
}

/// The parent after the fork: stay out of the way, wait for pid 1 of the namespace and
/// leave with its status. Dying from a signal kills the namespace (the child's death
/// signal), which is what the runner expects of a killed command.
fn wait_and_exit(child: nix::unistd::Pid, _alive: OwnedFd) -> ! {
    // Still in the terminal's foreground group: ^C, ^\ and ^Z are for the command (its
    // supervisor takes them inside), and would otherwise end or stop this process, and
    // with it the whole namespace. Ignoring them here changes nothing for the child,
    // which was forked before.
    for signal in [
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTSTP,
        Signal::SIGTTIN,
        Signal::SIGTTOU,
    ] {
        // SAFETY: SIG_IGN installs no handler code; this process is single-threaded.
        let _ = unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigIgn) };
    }
    // Our copies of the command's stdio would keep its pipes open after it closed them.
    if let Ok(null) = nix::fcntl::open(
        c"/dev/null",
        OFlag::O_RDWR | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) {
        for fd in 0..=2 {
            let _ = nix::unistd::dup2(null, fd);
        }
        let _ = nix::unistd::close(null);
    }
    let code = loop {
        match nix::sys::wait::waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => break code,
            Ok(WaitStatus::Signaled(_, signal, _)) => break 128 + signal as i32,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => break i32::from(SANDBOX_FAILURE_EXIT_CODE),
        }
    };
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// These machines allow the namespaces; the probe restricts nothing here.
    #[test]
    fn probe_succeeds_and_leaves_the_caller_alone() {
        let own_mounts = std::fs::read_link("/proc/self/ns/mnt").unwrap();
        if let Err(reason) = probe(&SandboxPolicy::ReadOnly) {
            panic!("namespaces must be available on the test machines: {reason}");
        }
        assert_eq!(std::fs::read_link("/proc/self/ns/mnt").unwrap(), own_mounts);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("still-writable"), "x").unwrap();
    }

    /// A failure survives the probe's pipe and names the step and the errno.
    #[test]
    fn failures_round_trip_and_read_well() {
        let failure = CreateFailure {
            step: Step::UnshareUser,
            errno: Errno::ENOSPC,
        };
        assert_eq!(CreateFailure::decode(&failure.encode()), Some(failure));
        assert_eq!(
            failure.to_string(),
            "unshare of a user namespace failed: ENOSPC: No space left on device"
        );
        assert!(!failure.committed());
        assert!(CreateFailure::decode(&[9, 0, 0, 0, 0]).is_none());
        assert!(CreateFailure::decode(&[]).is_none());
    }

    /// A worktree's `.git` file leads to its git directory and the common directory.
    #[test]
    fn git_pointer_files_lead_to_gitdir_and_commondir() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let main = base.join("main/.git");
        let gitdir = main.join("worktrees/wt");
        std::fs::create_dir_all(&gitdir).unwrap();
        std::fs::write(gitdir.join("commondir"), "../..\n").unwrap();
        std::fs::create_dir(base.join("wt")).unwrap();
        std::fs::write(
            base.join("wt/.git"),
            format!("gitdir: {}\n", gitdir.display()),
        )
        .unwrap();
        assert_eq!(
            git_pointer_targets(&base.join("wt/.git")),
            vec![gitdir, main]
        );
        std::fs::write(base.join("wt/.git"), "not a pointer").unwrap();
        assert!(git_pointer_targets(&base.join("wt/.git")).is_empty());
    }
}
