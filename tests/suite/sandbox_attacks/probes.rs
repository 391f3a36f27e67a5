//! Syscall probes: Python (through `libc`) run by a command, printing one
//! `<name> rc=… errno=…` line per probe, and the verdict read from those lines.

use anyhow::{Context, Result};

use super::harness::Verdict;

/// The Python the probes use: Debian's (the one on root's `PATH` may be a pyenv shim
/// that `nobody` cannot read).
pub const PY: &str = "/usr/bin/python3";

/// `/usr/bin/python3` running `code` after a prelude that defines `libc`, `NR` (syscall
/// numbers of this machine), `sys_call(name, *args)`, `report(name, rc)`, which prints
/// `<name> rc=<rc> errno=<E…>` (errno `0` on success), and `try_op(name, op)`, which
/// prints the same line for a Python call that may raise `OSError`.
pub fn python(code: &str) -> String {
    format!("{PY} - <<'PY'\n{PY_PRELUDE}{code}\nPY\n")
}

const PY_PRELUDE: &str = r#"import ctypes, errno, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {
    "x86_64": dict(perf_event_open=298, bpf=321, reboot=169, init_module=175,
                   finit_module=313, userfaultfd=323, keyctl=250, add_key=248,
                   request_key=249, io_uring_setup=425, delete_module=176),
    "aarch64": dict(perf_event_open=241, bpf=280, reboot=142, init_module=105,
                    finit_module=273, userfaultfd=282, keyctl=219, add_key=217,
                    request_key=218, io_uring_setup=425, delete_module=106),
}[os.uname().machine]
def report(name, rc):
    err = ctypes.get_errno() if rc == -1 else 0
    print(f"{name} rc={rc} errno={errno.errorcode.get(err, err) if err else 0}", flush=True)
    ctypes.set_errno(0)
def sys_call(name, *args):
    ctypes.set_errno(0)
    return libc.syscall(ctypes.c_long(NR[name]), *args)
def try_op(name, op):
    try:
        op()
        print(f"{name} rc=0 errno=0", flush=True)
    except OSError as e:
        print(f"{name} rc=-1 errno={errno.errorcode.get(e.errno, e.errno)}", flush=True)
"#;

/// The verdict from probe lines `<name> rc=… errno=…` in `output`: blocked when every
/// named probe failed with one of `denied` (e.g. `EPERM`); a missing line is an error
/// (the probe did not run).
pub fn probes_verdict(output: &str, names: &[&str], denied: &[&str]) -> Result<Verdict> {
    let mut escapes = Vec::new();
    for name in names {
        let prefix = format!("{name} rc=");
        let line = output
            .lines()
            .find(|line| line.starts_with(&prefix))
            .with_context(|| format!("probe `{name}` printed nothing:\n{output}"))?;
        let errno = line.rsplit("errno=").next().unwrap_or_default();
        if !(line.contains(" rc=-1 ") && denied.contains(&errno)) {
            escapes.push(line.to_string());
        }
    }
    Ok(Verdict::escaped_if(!escapes.is_empty(), || {
        format!("not denied with {denied:?}: {}", escapes.join("; "))
    }))
}
