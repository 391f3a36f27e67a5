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
//!   sit behind a pointer seccomp cannot read), so libc falls back to `clone`; so do
//!   x32 syscalls on x86_64 (see [`enosys_guard`]).
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

/// Build the filters for this CPU: the main one (compiled by `seccompiler`, every
/// denial `EPERM`) and the `ENOSYS` guard (`clone3`, and x32 syscalls on x86_64).
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
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(DENIED_ERRNO),
        arch,
    )
    .map_err(|err| SandboxError::Seccomp(err.to_string()))?;
    let main: BpfProgram = filter
        .try_into()
        .map_err(|err: seccompiler::BackendError| SandboxError::Seccomp(err.to_string()))?;
    Ok(vec![main, enosys_guard(arch == TargetArch::x86_64)])
}

/// Install `programs` on the calling thread (inherited by everything it `exec`s).
pub(crate) fn install(programs: &[BpfProgram]) -> Result<(), SandboxError> {
    for program in programs {
        seccompiler::apply_filter(program).map_err(|err| SandboxError::Seccomp(err.to_string()))?;
    }
    Ok(())
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

/// `clone3` (the same number on x86_64 and aarch64), for the hand-written guard.
const CLONE3_NR: u32 = libc::SYS_clone3 as u32;

/// The syscalls that answer `ENOSYS` instead of `EPERM`, as a hand-written program
/// (one filter fewer to install than a second `seccompiler` one):
/// * `clone3`: its flags sit behind a pointer seccomp cannot read, so it is refused
///   as if the kernel did not have it, and libc falls back to `clone`, whose flags
///   the main filter checks;
/// * with `x32`, every x32-ABI syscall. They arrive with the x86_64 audit
///   architecture but different numbers (`nr | 0x4000_0000`), so the main filter's
///   number matches would not see an x32 `socket` or `connect`. Kernels built without
///   x32 already answer `ENOSYS`; this makes the others behave the same. (i386
///   syscalls carry another audit architecture and are killed by the main filter's
///   architecture check, which takes precedence over this errno.)
fn enosys_guard(x32: bool) -> BpfProgram {
    // Classic BPF opcodes (linux/bpf_common.h).
    const LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
    const JEQ_K: u16 = 0x15; // BPF_JMP (5) | BPF_JEQ (0x10) | BPF_K (0)
    const JGE_K: u16 = 0x35; // BPF_JMP (5) | BPF_JGE (0x30) | BPF_K (0)
    const RET_K: u16 = 0x06; // BPF_RET (6) | BPF_K (0)
    const SECCOMP_DATA_NR_OFFSET: u32 = 0;
    let insn = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    let enosys = libc::SECCOMP_RET_ERRNO | (libc::ENOSYS as u32 & libc::SECCOMP_RET_DATA);
    let mut program = vec![insn(LD_W_ABS, 0, 0, SECCOMP_DATA_NR_OFFSET)];
    if x32 {
        // nr >= X32_SYSCALL_BIT: skip the clone3 test to the errno, else go on.
        program.push(insn(JGE_K, 1, 0, X32_SYSCALL_BIT));
    }
    program.extend([
        // nr == clone3: fall through to the errno, else skip it.
        insn(JEQ_K, 0, 1, CLONE3_NR),
        insn(RET_K, 0, 0, enosys),
        insn(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]);
    program
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

    /// Every sandboxed mode gets the main filter and the `ENOSYS` guard, which is
    /// the only one to answer `ENOSYS`.
    #[test]
    fn filters_include_the_enosys_guard() {
        let programs = build(false).unwrap();
        assert_eq!(programs.len(), 2);
        let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        assert!(programs[1].iter().any(|insn| insn.k == enosys));
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

    /// Run a classic BPF program of the shapes `enosys_guard` emits on `nr`.
    fn run_guard(program: &[sock_filter], nr: u32) -> u32 {
        let mut pc = 0;
        loop {
            let insn = &program[pc];
            match insn.code {
                0x20 => pc += 1,
                0x15 | 0x35 => {
                    let taken = if insn.code == 0x15 {
                        nr == insn.k
                    } else {
                        nr >= insn.k
                    };
                    pc += 1 + usize::from(if taken { insn.jt } else { insn.jf });
                }
                0x06 => return insn.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    /// The guard answers `ENOSYS` to `clone3` and (with x32) to x32 numbers, and
    /// allows everything else.
    #[test]
    fn enosys_guard_answers_clone3_and_x32() {
        let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        let allow = libc::SECCOMP_RET_ALLOW;
        for x32 in [false, true] {
            let guard = enosys_guard(x32);
            assert_eq!(run_guard(&guard, CLONE3_NR), enosys);
            assert_eq!(run_guard(&guard, libc::SYS_clone as u32), allow);
            assert_eq!(run_guard(&guard, 0), allow);
            let x32_socket = X32_SYSCALL_BIT | 41;
            assert_eq!(
                run_guard(&guard, x32_socket),
                if x32 { enosys } else { allow }
            );
        }
    }
}
