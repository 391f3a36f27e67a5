//! Pseudo-terminals for `exec_command` with `tty: true`.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::pty::{openpty, OpenptyResult, Winsize};

/// Size reported to programs that ask for it.
const WINDOW: Winsize = Winsize {
    ws_row: 24,
    ws_col: 120,
    ws_xpixel: 0,
    ws_ypixel: 0,
};

/// Both ends of a new pty. The master is non-blocking; neither end leaks into
/// children except as explicitly wired stdio.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Open a pty pair.
pub fn open() -> io::Result<Pty> {
    let OpenptyResult { master, slave } = openpty(&WINDOW, None)?;
    for fd in [&master, &slave] {
        fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    let flags = OFlag::from_bits_truncate(fcntl(master.as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(
        master.as_raw_fd(),
        FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK),
    )?;
    Ok(Pty { master, slave })
}
