//! The seccomp-BPF filter of the sandbox helper (SPEC §12.3 step 2), built with
//! `seccompiler`.
//!
//! Default action *allow*; listed syscalls fail with `EPERM`, so a denied command sees
//! an ordinary error (`bash: socket: Operation not permitted`). Without network access
//! every socket call is denied except `socket`/`socketpair` for `AF_UNIX` (and
//! `recvfrom`/`sendmsg`/`recvmsg`, which need an already connected socket). `ptrace` and
//! io_uring are denied in every sandboxed mode: ptrace could drive an unsandboxed
//! process of the same user, and io_uring submits I/O that seccomp cannot inspect.
//!
//! Only installs the filter on the calling thread; it must run after `no_new_privs` and
//! is inherited across `execve`. Must not be called in the CLI process itself.

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

/// Denied in every sandboxed mode.
const ALWAYS_DENIED_SYSCALLS: [i64; 4] = [
    libc::SYS_ptrace,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
];

/// Allowed only for `AF_UNIX` (argument 0, the domain) when the network is restricted.
const UNIX_ONLY_SYSCALLS: [i64; 2] = [libc::SYS_socket, libc::SYS_socketpair];

/// The errno a denied syscall returns.
const DENIED_ERRNO: u32 = libc::EPERM as u32;

/// Build the filters for this CPU: the main one (compiled by `seccompiler`) and, on
/// x86_64, a guard for the x32 syscall ABI.
pub(crate) fn build(restrict_network: bool) -> Result<Vec<BpfProgram>, SandboxError> {
    let arch = target_arch()?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALWAYS_DENIED_SYSCALLS
        .iter()
        .map(|&nr| (nr, Vec::new()))
        .collect();
    if restrict_network {
        rules.extend(NETWORK_SYSCALLS.iter().map(|&nr| (nr, Vec::new())));
        let not_unix = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )
        .and_then(|condition| SeccompRule::new(vec![condition]))
        .map_err(|err| SandboxError::Seccomp(err.to_string()))?;
        rules.extend(
            UNIX_ONLY_SYSCALLS
                .iter()
                .map(|&nr| (nr, vec![not_unix.clone()])),
        );
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
    let mut programs = vec![main];
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

    /// The x32 guard denies numbers with the x32 bit and allows the rest.
    #[test]
    fn x32_guard_shape() {
        let guard = x32_guard();
        assert_eq!(guard.len(), 4);
        assert_eq!(guard[1].k, X32_SYSCALL_BIT);
        assert_eq!(guard[3].k, libc::SECCOMP_RET_ALLOW);
    }
}
