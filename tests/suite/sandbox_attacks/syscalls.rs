//! Syscalls a command has no business making: each probe (Python through `libc`)
//! must fail with `EPERM` (seccomp, or a capability check layer 1 made fail). Where
//! success would change the machine, the probe passes an invalid argument checked
//! only after the permission check, so "allowed" shows as `EINVAL` or similar and
//! never as a change.

use anyhow::Result;

use super::harness::*;

/// Probe names and the errnos that count as denied for them.
type Expectation<'a> = (&'a [&'a str], &'a [&'a str]);

/// Run `probes` (Python after the prelude of [`python`]) under `mode`, then the benign
/// `twin` command, which must exit 0 printing `expected`.
fn probe_attack(
    lab: &Lab,
    mode: &[&str],
    probes: &str,
    expectations: &[Expectation],
    twin: &str,
    expected: &str,
) -> Result<Verdict> {
    let outcome = lab.run(mode, vec![sh(python(probes)), sh(twin)])?;
    let output = outcome.command(0)?.output;
    let verdicts = expectations
        .iter()
        .map(|(names, denied)| probes_verdict(&output, names, denied))
        .collect::<Result<Vec<_>>>()?;
    conclude(Verdict::any(verdicts), outcome.twin_ok(1, expected))
}

const EPERM: &[&str] = &["EPERM"];

/// `perf_event_open` of a software clock on the command itself.
pub fn perf_event_open_denied(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    probe_attack(
        &lab,
        READ_ONLY,
        "import struct\n\
         attr = ctypes.create_string_buffer(128)\n\
         struct.pack_into('IIQ', attr, 0, 1, 128, 0)\n\
         struct.pack_into('Q', attr, 40, 1 | 1 << 5 | 1 << 6)\n\
         report('perf_event_open', sys_call('perf_event_open', attr, 0, -1, -1, 0))",
        &[(&["perf_event_open"], EPERM)],
        &format!(
            "{PY} -c 'import resource, time; time.perf_counter(); \
             print(\"rusage\", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0)'"
        ),
        "rusage True",
    )
}

/// `bpf(BPF_MAP_CREATE)` of a one-entry array map.
pub fn bpf_denied(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    probe_attack(
        &lab,
        READ_ONLY,
        "import struct\n\
         attr = ctypes.create_string_buffer(72)\n\
         struct.pack_into('IIII', attr, 0, 2, 4, 4, 1)\n\
         report('bpf_map_create', sys_call('bpf', 0, attr, 72))",
        &[(&["bpf_map_create"], EPERM)],
        &format!(
            "{PY} -c 'import os, select; e = select.epoll(); r, w = os.pipe(); \
             e.register(r); os.eventfd(0); print(\"epoll-ok\")'"
        ),
        "epoll-ok",
    )
}

/// `reboot` with an invalid magic: EINVAL means the capability check passed.
pub fn reboot_denied(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    probe_attack(
        &lab,
        READ_ONLY,
        "report('reboot', sys_call('reboot', 0, 0, 0x01234567, None))",
        &[(&["reboot"], EPERM)],
        "sync && echo synced",
        "synced",
    )
}

/// `init_module`, `finit_module` and `delete_module` with arguments that fail after
/// the capability check.
pub fn module_loading_denied(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    probe_attack(
        &lab,
        READ_ONLY,
        "report('init_module', sys_call('init_module', None, 0, b''))\n\
         report('finit_module', sys_call('finit_module', -1, b'', 0))\n\
         report('delete_module', sys_call('delete_module', b'codexatk_no_such_module', 0))",
        &[(&["init_module", "finit_module", "delete_module"], EPERM)],
        "uname -r > /dev/null && cat /proc/version > /dev/null && echo kernel-readable",
        "kernel-readable",
    )
}

/// `userfaultfd` (user-mode faults only, which unprivileged users may create) and
/// `/dev/userfaultfd`.
pub fn userfaultfd_denied(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    probe_attack(
        &lab,
        READ_ONLY,
        "report('userfaultfd', sys_call('userfaultfd', os.O_CLOEXEC | 1))\n\
         try_op('dev_userfaultfd', lambda: os.open('/dev/userfaultfd', os.O_RDWR))",
        &[
            (&["userfaultfd"], EPERM),
            (&["dev_userfaultfd"], &["EPERM", "EACCES", "ENOENT"]),
        ],
        &format!(
            "{PY} -c 'import mmap, os; fd = os.memfd_create(\"x\"); os.ftruncate(fd, 4096); \
             m = mmap.mmap(fd, 4096); m[0:5] = b\"mmap!\"; print(m[0:5].decode())'"
        ),
        "mmap!",
    )
}

/// `unshare` of mount, network and user namespaces (new kernel attack surface, and
/// capabilities inside them).
pub fn unshare_denied(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    probe_attack(
        &lab,
        READ_ONLY,
        "report('unshare_mount', libc.unshare(0x00020000))\n\
         report('unshare_net', libc.unshare(0x40000000))\n\
         report('unshare_user', libc.unshare(0x10000000))",
        &[(&["unshare_mount", "unshare_net", "unshare_user"], EPERM)],
        "setsid true && nice -n 5 true && timeout 5 true && echo procs-ok",
        "procs-ok",
    )
}

/// `mount` of a tmpfs on a workspace directory and `umount2` of that (still plain)
/// directory, EINVAL once past the capability check.
pub fn mount_denied(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let mnt = lab.dir("mnt")?;
    let verdict = probe_attack(
        &lab,
        READ_ONLY,
        "report('mount', libc.mount(b'none', b'mnt', b'tmpfs', 0, None))\n\
         report('umount', libc.umount2(b'mnt', 0))",
        &[(&["mount", "umount"], EPERM)],
        "findmnt -n -o TARGET / && df -P . > /dev/null && echo mounts-readable",
        "mounts-readable",
    );
    let mounted = std::process::Command::new("mountpoint")
        .arg("-q")
        .arg(&mnt)
        .status()?
        .success();
    if mounted {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&mnt)
            .status();
    }
    Ok(Verdict::any([
        verdict?,
        Verdict::escaped_if(mounted, || {
            format!("a tmpfs was mounted on {} (unmounted again)", mnt.display())
        }),
    ]))
}

/// `ptrace(PTRACE_TRACEME)` and `PTRACE_ATTACH` to a process of the same user
/// (`ESRCH` counts as denied: in a pid namespace the target does not exist).
pub fn ptrace_denied(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let mut sleeper = lab.as_user("sleep");
    sleeper.arg("60");
    let victim = Victim::spawn(sleeper)?;
    let verdict = probe_attack(
        &lab,
        READ_ONLY,
        &format!(
            "libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\n\
             report('traceme', libc.ptrace(0, 0, None, None))\n\
             report('attach', libc.ptrace(16, {}, None, None))",
            victim.pid()
        ),
        &[(&["traceme"], EPERM), (&["attach"], &["EPERM", "ESRCH"])],
        "head -1 /proc/self/maps > /dev/null && grep -c '^Pid' /proc/self/status",
        "1",
    )?;
    let state = victim.state();
    Ok(Verdict::any([
        verdict,
        Verdict::escaped_if(!matches!(state, Some('S' | 'R')), || {
            format!("the victim's state is {state:?}")
        }),
    ]))
}

/// `io_uring_setup` (I/O that seccomp cannot inspect).
pub fn io_uring_denied(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    probe_attack(
        &lab,
        READ_ONLY,
        "params = ctypes.create_string_buffer(120)\n\
         report('io_uring_setup', sys_call('io_uring_setup', 4, params))",
        &[(&["io_uring_setup"], EPERM)],
        &format!("{PY} -c 'import asyncio; asyncio.run(asyncio.sleep(0)); print(\"asyncio-ok\")'"),
        "asyncio-ok",
    )
}
