//! The seccomp-BPF filters of the sandbox helper (SPEC §12.3 step 2, layer 1), built
//! with `seccompiler`.
//!
//! Default action *allow*; listed syscalls fail with `EPERM`, so a denied command sees
//! an ordinary error (`bash: socket: Operation not permitted`). In every sandboxed
//! mode:
//! * `ptrace` and io_uring: ptrace could drive a process outside the sandbox, and
//!   io_uring submits I/O that seccomp cannot inspect;
//! * the kernel keyring (`keyctl`, `add_key`, `request_key`), `perf_event_open`,
//!   `bpf`, `userfaultfd`, kexec, `reboot` and module loading: kernel attack surface
//!   and state no command needs;
//! * namespaces and mounts (`unshare`, `setns`, `mount`, `umount2`, `pivot_root`
//!   and the new mount API), and `clone` with any `CLONE_NEW*` flag: a user
//!   namespace would give the command a fresh set of capabilities and a mount
//!   namespace a way around the filesystem rules. `clone3` answers `ENOSYS` (its flags
//!   sit behind a pointer seccomp cannot read), so libc falls back to `clone`.
//!
//! Without network access also every socket call except `AF_UNIX` `socket` /
//! `socketpair` of type `SOCK_STREAM` or `SOCK_SEQPACKET` (and `recvfrom` / `sendmsg`
//! / `recvmsg` on such sockets). Datagram sockets are refused even for `AF_UNIX`:
//! `sendmsg` with a destination address would reach any unix datagram socket on the
//! machine, abstract or not.
//!
//! Only installs the filters on the calling thread; it must run after `no_new_privs`
//! and is inherited across `fork` and `execve`. Must not be called in the CLI process
//! itself.

use std::collections::BTreeMap;

use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

use super::SandboxError;

/// Denied only when the network is restricted: everything that talks over a socket
/// other than plain reads and writes on an existing one.
const NETWORK_SYSCALLS: [i64; 13] = [
    libc::SYS_connect,
    libc::SYS_accept,
    libc::SYS_accept4,
    libc::SYS_bind,
    libc::SYS_listen,
    libc::SYS_getpeername,
    libc::SYS_getsockname,
    libc::SYS_shutdown,
    libc::SYS_sendto,
    libc::SYS_sendmmsg,
    libc::SYS_recvmmsg,
    libc::SYS_getsockopt,
    libc::SYS_setsockopt,
];

/// `open_tree_attr` (Linux 6.15; the same number on every architecture, not yet in
/// `libc`).
const SYS_OPEN_TREE_ATTR: i64 = 467;

/// Denied in every sandboxed mode (see the module docs for why).
const ALWAYS_DENIED_SYSCALLS: [i64; 29] = [
    libc::SYS_ptrace,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_perf_event_open,
    libc::SYS_bpf,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_reboot,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_userfaultfd,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_open_tree,
    SYS_OPEN_TREE_ATTR,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
];

/// The `clone` flags that create namespaces (`CLONE_NEWTIME` only exists for
/// `clone3` and `unshare`, both denied whole).
const CLONE_NEW_FLAGS: [libc::c_int; 7] = [
    libc::CLONE_NEWNS,
    libc::CLONE_NEWCGROUP,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
];

/// Allowed only for `AF_UNIX` (argument 0) with a stream or seqpacket type
/// (argument 1) when the network is restricted.
const UNIX_ONLY_SYSCALLS: [i64; 2] = [libc::SYS_socket, libc::SYS_socketpair];

/// The socket types a command without network may create, before the
/// `SOCK_NONBLOCK` / `SOCK_CLOEXEC` flags are added.
const ALLOWED_SOCKET_TYPES: [libc::c_int; 2] = [libc::SOCK_STREAM, libc::SOCK_SEQPACKET];

/// The errno a denied syscall returns.
const DENIED_ERRNO: u32 = libc::EPERM as u32;

/// Build the filters for this CPU: the main one, the `clone3` one (a different errno)
/// and, on x86_64, a guard for the x32 syscall ABI.
pub(crate) fn build(restrict_network: bool) -> Result<Vec<BpfProgram>, SandboxError> {
    let arch = target_arch()?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALWAYS_DENIED_SYSCALLS
        .iter()
        .map(|&nr| (nr, Vec::new()))
        .collect();
    rules.insert(libc::SYS_clone, clone_new_namespace_rules()?);
    if restrict_network {
        rules.extend(NETWORK_SYSCALLS.iter().map(|&nr| (nr, Vec::new())));
        let unix_only = unix_stream_only_rules()?;
        rules.extend(UNIX_ONLY_SYSCALLS.iter().map(|&nr| (nr, unix_only.clone())));
    }
    let main = compile(rules, DENIED_ERRNO, arch)?;
    let clone3 = compile(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        libc::ENOSYS as u32,
        arch,
    )?;
    let mut programs = vec![main, clone3];
    if arch == TargetArch::x86_64 {
        programs.push(x32_guard());
    }
    Ok(programs)
}

/// Install `programs` on the calling thread (inherited by everything it `exec`s).
pub(crate) fn install(programs: &[BpfProgram]) -> Result<(), SandboxError> {
    for program in programs {
        seccompiler::apply_filter(program).map_err(|err| SandboxError::Seccomp(err.to_string()))?;
    }
    Ok(())
}

/// One BPF program: `rules` fail with `errno`, everything else is allowed.
fn compile(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    errno: u32,
    arch: TargetArch,
) -> Result<BpfProgram, SandboxError> {
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno),
        arch,
    )
    .map_err(|err| SandboxError::Seccomp(err.to_string()))?;
    filter
        .try_into()
        .map_err(|err: seccompiler::BackendError| SandboxError::Seccomp(err.to_string()))
}

/// `clone` matches (and so is denied) when any `CLONE_NEW*` bit of its flags
/// (argument 0 on x86_64 and aarch64) is set: one rule per flag, any may match.
fn clone_new_namespace_rules() -> Result<Vec<SeccompRule>, SandboxError> {
    CLONE_NEW_FLAGS
        .iter()
        .map(|&flag| {
            let flag = u64::from(flag.unsigned_abs());
            condition(0, SeccompCmpOp::MaskedEq(flag), flag)
                .and_then(|condition| rule(vec![condition]))
        })
        .collect()
}

/// `socket` / `socketpair` match (and so are denied) unless the domain is `AF_UNIX`
/// and the type is one of [`ALLOWED_SOCKET_TYPES`], with or without `SOCK_NONBLOCK`
/// and `SOCK_CLOEXEC`: "domain is not `AF_UNIX`" or "type is none of the allowed
/// values" (any other bit makes the kernel refuse the type anyway).
fn unix_stream_only_rules() -> Result<Vec<SeccompRule>, SandboxError> {
    let not_unix = rule(vec![condition(
        0,
        SeccompCmpOp::Ne,
        u64::from(libc::AF_UNIX.unsigned_abs()),
    )?])?;
    let flag_sets = [
        0,
        libc::SOCK_NONBLOCK,
        libc::SOCK_CLOEXEC,
        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
    ];
    let not_allowed_type = ALLOWED_SOCKET_TYPES
        .iter()
        .flat_map(|&ty| flag_sets.iter().map(move |&flags| ty | flags))
        .map(|value| condition(1, SeccompCmpOp::Ne, u64::from(value.unsigned_abs())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(vec![not_unix, rule(not_allowed_type)?])
}

/// A condition on the low 32 bits of argument `index` (every argument we test is an
/// `int`, or flags that fit in one).
fn condition(index: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, SandboxError> {
    SeccompCondition::new(index, SeccompCmpArgLen::Dword, op, value)
        .map_err(|err| SandboxError::Seccomp(err.to_string()))
}

/// A rule: all of `conditions`.
fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SandboxError> {
    SeccompRule::new(conditions).map_err(|err| SandboxError::Seccomp(err.to_string()))
}

/// The `seccompiler` target for this build; other architectures fail closed.
fn target_arch() -> Result<TargetArch, SandboxError> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(TargetArch::x86_64),
        "aarch64" => Ok(TargetArch::aarch64),
        other => Err(SandboxError::UnsupportedArch(other)),
    }
}

/// Bit that marks x32-ABI syscall numbers on x86_64.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Reject every x32-ABI syscall with `ENOSYS`.
///
/// x32 syscalls arrive with the x86_64 audit architecture but different numbers
/// (`nr | 0x4000_0000`), so the main filter's number matches would not see an x32
/// `socket` or `connect`. Kernels built without x32 already answer `ENOSYS`; this makes
/// the others behave the same. (i386 syscalls carry another audit architecture and are
/// killed by the main filter's architecture check.)
fn x32_guard() -> BpfProgram {
    // Classic BPF opcodes (linux/bpf_common.h).
    const LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
    const JGE_K: u16 = 0x35; // BPF_JMP (5) | BPF_JGE (0x30) | BPF_K (0)
    const RET_K: u16 = 0x06; // BPF_RET (6) | BPF_K (0)
    const SECCOMP_DATA_NR_OFFSET: u32 = 0;
    let insn = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    vec![
        insn(LD_W_ABS, 0, 0, SECCOMP_DATA_NR_OFFSET),
        // nr >= X32_SYSCALL_BIT: fall through to the errno, else skip it.
        insn(JGE_K, 0, 1, X32_SYSCALL_BIT),
        insn(
            RET_K,
            0,
            0,
            libc::SECCOMP_RET_ERRNO | (libc::ENOSYS as u32 & libc::SECCOMP_RET_DATA),
        ),
        insn(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The restricted filter is larger than the always-on one and fits the BPF limit.
    #[test]
    fn network_rules_add_to_the_filter() {
        let open = build(false).unwrap();
        let closed = build(true).unwrap();
        assert_eq!(open.len(), closed.len());
        assert!(closed[0].len() > open[0].len());
        assert!(closed[0].len() < 4096);
    }

    /// Every sandboxed mode gets the main filter, the `clone3` filter and (x86_64)
    /// the x32 guard; the `clone3` one answers `ENOSYS`.
    #[test]
    fn filters_include_the_clone3_fallback() {
        let programs = build(false).unwrap();
        let expected = if cfg!(target_arch = "x86_64") { 3 } else { 2 };
        assert_eq!(programs.len(), expected);
        let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        assert!(
            programs[1].iter().any(|insn| insn.k == enosys),
            "{:?}",
            programs[1]
        );
        assert!(!programs[0].iter().any(|insn| insn.k == enosys));
    }

    /// The main filter compares `clone`'s flags against each `CLONE_NEW*` bit.
    #[test]
    fn clone_rules_test_each_namespace_flag() {
        let program = &build(false).unwrap()[0];
        for flag in CLONE_NEW_FLAGS {
            let flag = flag.unsigned_abs();
            assert!(
                program.iter().any(|insn| insn.k == flag),
                "no comparison with {flag:#x}"
            );
        }
        assert_eq!(
            clone_new_namespace_rules().unwrap().len(),
            CLONE_NEW_FLAGS.len()
        );
    }

    /// Without network, the socket rules name every allowed type with its flags.
    #[test]
    fn socket_rules_allow_only_unix_streams() {
        let rules = unix_stream_only_rules().unwrap();
        assert_eq!(rules.len(), 2, "domain rule and type rule");
        let program = &build(true).unwrap()[0];
        for value in [
            libc::SOCK_STREAM,
            libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        ] {
            let value = value.unsigned_abs();
            assert!(program.iter().any(|insn| insn.k == value), "{value:#x}");
        }
    }

    /// The x32 guard denies numbers with the x32 bit and allows the rest.
    #[test]
    fn x32_guard_shape() {
        let guard = x32_guard();
        assert_eq!(guard.len(), 4);
        assert_eq!(guard[1].k, X32_SYSCALL_BIT);
        assert_eq!(guard[3].k, libc::SECCOMP_RET_ALLOW);
    }
}
