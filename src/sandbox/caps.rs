//! Capabilities of a sandboxed command (layer 1): what a root-run command keeps.
//!
//! In the forked child of the supervisor, before `execve`, every capability is
//! dropped except `CAP_DAC_OVERRIDE` and `CAP_DAC_READ_SEARCH`: those two let a
//! command run as root still edit a checkout owned by another uid (container CI),
//! while Landlock keeps fencing where it may write. Without the others a root command
//! cannot `chown`/`chmod` files it does not own, create device nodes, load modules,
//! reboot, use raw sockets or read the runner's `/proc/<pid>/environ` (the kernel
//! refuses it to a process with fewer capabilities than its target).
//!
//! The two kept capabilities stay in the permitted, effective, inheritable and
//! ambient sets, so they survive `execve` under `SECBIT_NOROOT` (which stops uid 0
//! from regaining the full set on exec); the bounding set is trimmed to them and the
//! securebits are locked (`NOROOT`, `NO_SETUID_FIXUP`, `KEEP_CAPS` off,
//! `NO_CAP_AMBIENT_RAISE`).
//!
//! A process that holds no capability (an unprivileged user) has nothing to drop and
//! is left alone; one that holds some but not `CAP_SETPCAP` gets its sets trimmed but
//! cannot change its bounding set or securebits (`no_new_privs` still keeps `execve`
//! from adding any). Restricts the calling thread only; never call it in the CLI.

use std::io;

use super::SandboxError;

/// `CAP_DAC_OVERRIDE` (linux/capability.h).
const CAP_DAC_OVERRIDE: u32 = 1;
/// `CAP_DAC_READ_SEARCH`.
const CAP_DAC_READ_SEARCH: u32 = 2;
/// `CAP_SETPCAP`: needed to trim the bounding set and to set securebits.
const CAP_SETPCAP: u32 = 8;
/// The capabilities a sandboxed command keeps (see the module docs).
const KEPT_CAPS: [u32; 2] = [CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH];
/// Capability numbers are below 64 (two 32-bit words in the v3 ABI).
const CAP_COUNT_MAX: u32 = 64;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets as two `CapData` words.
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// The securebits a command runs with, each locked: root gets no capabilities from
/// `execve`, uid changes do not touch the sets, capabilities are not kept across a
/// switch away from uid 0, and no ambient capability can be raised.
const LOCKED_SECUREBITS: libc::c_int = libc::SECBIT_NOROOT
    | libc::SECBIT_NOROOT_LOCKED
    | libc::SECBIT_NO_SETUID_FIXUP
    | libc::SECBIT_NO_SETUID_FIXUP_LOCKED
    | libc::SECBIT_KEEP_CAPS_LOCKED
    | libc::SECBIT_NO_CAP_AMBIENT_RAISE
    | libc::SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

/// What [`restrict`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CapsOutcome {
    /// Everything but the kept capabilities is gone, the bounding set is trimmed and
    /// the securebits are locked.
    Restricted,
    /// Permitted, effective and inheritable sets trimmed; no `CAP_SETPCAP` to change
    /// the bounding set or the securebits.
    TrimmedWithoutSetpcap,
    /// The process holds no capability: nothing to drop.
    NothingToDrop,
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct` (one 32-bit word of each set).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The three per-thread capability sets, as bit masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CapSets {
    effective: u64,
    permitted: u64,
    inheritable: u64,
}

/// Drop every capability of the calling thread except [`KEPT_CAPS`], so that what
/// it `exec`s runs with those two at most (see the module docs).
pub(crate) fn restrict() -> Result<CapsOutcome, SandboxError> {
    let current = capget().map_err(|source| caps_error("read the capability sets", source))?;
    if current.permitted == 0 {
        return Ok(CapsOutcome::NothingToDrop);
    }
    let has_setpcap = current.permitted & bit(CAP_SETPCAP) != 0;
    if has_setpcap {
        // CAP_SETPCAP must be effective for the bounding set and the securebits.
        capset(CapSets {
            effective: current.effective | bit(CAP_SETPCAP),
            ..current
        })
        .map_err(|source| caps_error("raise CAP_SETPCAP", source))?;
        trim_bounding_set()?;
    }
    // Kept only where the kernel lets them stay: permitted and in the bounding set.
    let keep = kept_mask() & current.permitted & bounding_mask(&KEPT_CAPS);
    // Inheritable first: an ambient capability must be permitted and inheritable.
    capset(CapSets {
        effective: current.effective | if has_setpcap { bit(CAP_SETPCAP) } else { 0 },
        permitted: current.permitted,
        inheritable: keep,
    })
    .map_err(|source| caps_error("set the inheritable set", source))?;
    raise_ambient(keep);
    if has_setpcap {
        set_securebits()?;
    }
    let kept = CapSets {
        effective: keep,
        permitted: keep,
        inheritable: keep,
    };
    capset(kept).map_err(|source| caps_error("drop the capabilities", source))?;
    let now = capget().map_err(|source| caps_error("read the capability sets", source))?;
    if now != kept {
        return Err(caps_error(
            "check the capability sets",
            io::Error::other(format!("still {now:?}")),
        ));
    }
    Ok(if has_setpcap {
        CapsOutcome::Restricted
    } else {
        CapsOutcome::TrimmedWithoutSetpcap
    })
}

/// The mask of one capability.
fn bit(cap: u32) -> u64 {
    1u64 << cap
}

/// The mask of [`KEPT_CAPS`].
fn kept_mask() -> u64 {
    KEPT_CAPS.iter().fold(0, |mask, &cap| mask | bit(cap))
}

/// The securebits to set, given the current ones: [`LOCKED_SECUREBITS`], with
/// `KEEP_CAPS` off, plus whatever else is already set (other bits may be locked).
fn securebits_target(current: libc::c_int) -> libc::c_int {
    (current | LOCKED_SECUREBITS) & !libc::SECBIT_KEEP_CAPS
}

/// Remove every capability but [`KEPT_CAPS`] from the bounding set (needs an
/// effective `CAP_SETPCAP`). Dropping one that is already gone succeeds, so no
/// read is needed; `EINVAL` marks the first number this kernel does not know.
fn trim_bounding_set() -> Result<(), SandboxError> {
    for cap in 0..CAP_COUNT_MAX {
        if KEPT_CAPS.contains(&cap) {
            continue;
        }
        match prctl(libc::PR_CAPBSET_DROP, cap) {
            Ok(_) => {}
            Err(err) if err.raw_os_error() == Some(libc::EINVAL) => break,
            Err(source) => return Err(caps_error("trim the bounding set", source)),
        }
    }
    Ok(())
}

/// The mask of those of `caps` that are in the bounding set.
fn bounding_mask(caps: &[u32]) -> u64 {
    caps.iter()
        .filter(|&&cap| matches!(prctl(libc::PR_CAPBSET_READ, cap), Ok(1)))
        .fold(0, |mask, &cap| mask | bit(cap))
}

/// Raise each capability of `keep` in the ambient set, so it survives `execve`.
///
/// Not fatal when refused (e.g. `NO_CAP_AMBIENT_RAISE` already locked by whoever
/// started us): the command then simply runs with even fewer capabilities.
fn raise_ambient(keep: u64) {
    for &cap in &KEPT_CAPS {
        if keep & bit(cap) == 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only; touches no memory of ours.
        let rc = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE,
                libc::c_ulong::from(cap),
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if rc == -1 {
            tracing::debug!(
                cap,
                error = %io::Error::last_os_error(),
                "cannot raise an ambient capability; the command runs without it"
            );
        }
    }
}

/// Set and lock [`LOCKED_SECUREBITS`] (needs an effective `CAP_SETPCAP`).
fn set_securebits() -> Result<(), SandboxError> {
    // SAFETY: prctl with integer arguments only; touches no memory of ours.
    let current = unsafe { libc::prctl(libc::PR_GET_SECUREBITS, 0, 0, 0, 0) };
    if current == -1 {
        return Err(caps_error(
            "read the securebits",
            io::Error::last_os_error(),
        ));
    }
    let target = securebits_target(current);
    if target == current {
        return Ok(());
    }
    // SAFETY: as above.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECUREBITS,
            libc::c_ulong::from(target.unsigned_abs()),
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc == -1 {
        return Err(caps_error(
            "lock the securebits",
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// `prctl(option, cap)` for the capability options that take one number.
fn prctl(option: libc::c_int, cap: u32) -> io::Result<libc::c_int> {
    // SAFETY: prctl with integer arguments only; touches no memory of ours.
    let rc = unsafe {
        libc::prctl(
            option,
            libc::c_ulong::from(cap),
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// The calling thread's capability sets (`capget`).
fn capget() -> io::Result<CapSets> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: `header` and `data` are valid, writable and laid out as the kernel's
    // v3 structures (one header, two data words); they outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    let join = |low: u32, high: u32| u64::from(low) | (u64::from(high) << 32);
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Replace the calling thread's capability sets (`capset`).
fn capset(sets: CapSets) -> io::Result<()> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let word = |mask: u64, high: bool| (if high { mask >> 32 } else { mask }) as u32;
    let data = [false, true].map(|high| CapData {
        effective: word(sets.effective, high),
        permitted: word(sets.permitted, high),
        inheritable: word(sets.inheritable, high),
    });
    // SAFETY: `header` and `data` are valid and laid out as the kernel's v3
    // structures; the kernel only reads `data`. Both outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A failed step, as our typed error.
fn caps_error(step: &'static str, source: io::Error) -> SandboxError {
    SandboxError::Capabilities { step, source }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The kept mask is exactly the two DAC capabilities.
    #[test]
    fn kept_mask_is_the_two_dac_capabilities() {
        assert_eq!(kept_mask(), 0b110);
        assert_eq!(bit(CAP_SETPCAP), 0x100);
    }

    /// The securebits target locks the four settings, turns `KEEP_CAPS` off and keeps
    /// unrelated bits.
    #[test]
    fn securebits_target_locks_everything_and_clears_keep_caps() {
        let target = securebits_target(libc::SECBIT_KEEP_CAPS);
        assert_eq!(target & libc::SECBIT_KEEP_CAPS, 0);
        for bit in [
            libc::SECBIT_NOROOT,
            libc::SECBIT_NOROOT_LOCKED,
            libc::SECBIT_NO_SETUID_FIXUP,
            libc::SECBIT_NO_SETUID_FIXUP_LOCKED,
            libc::SECBIT_KEEP_CAPS_LOCKED,
            libc::SECBIT_NO_CAP_AMBIENT_RAISE,
            libc::SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
        ] {
            assert_eq!(target & bit, bit, "{bit:#x} missing from {target:#x}");
        }
        let other = libc::SECBIT_EXEC_RESTRICT_FILE;
        assert_eq!(securebits_target(other) & other, other);
        assert_eq!(securebits_target(target), target);
    }

    /// `capget` reads this thread's sets; writing them back unchanged succeeds.
    #[test]
    fn capget_and_capset_round_trip() {
        let sets = capget().unwrap();
        assert_eq!(sets.effective & !sets.permitted, 0, "{sets:?}");
        capset(sets).unwrap();
        assert_eq!(capget().unwrap(), sets);
    }

    /// In a forked child: after `restrict`, the sets hold at most the kept
    /// capabilities, and as root the bounding set and securebits are locked down.
    #[test]
    fn restrict_leaves_only_the_kept_capabilities() {
        // SAFETY: the child only makes raw syscalls (no allocation, no locks) and
        // leaves with `_exit`.
        match unsafe { libc::fork() } {
            -1 => panic!("fork: {}", io::Error::last_os_error()),
            0 => {
                let code = match restrict() {
                    Err(_) => 10,
                    Ok(outcome) => match capget() {
                        Err(_) => 11,
                        Ok(sets) if sets.permitted & !kept_mask() != 0 => 12,
                        Ok(_) if outcome != CapsOutcome::Restricted => 0,
                        Ok(_) if bounding_mask(&[0, CAP_SETPCAP, 21]) != 0 => 13,
                        Ok(_) => {
                            // SAFETY: prctl with integer arguments only.
                            let bits = unsafe { libc::prctl(libc::PR_GET_SECUREBITS, 0, 0, 0, 0) };
                            if bits & LOCKED_SECUREBITS == LOCKED_SECUREBITS {
                                0
                            } else {
                                14
                            }
                        }
                    },
                };
                // SAFETY: ends the forked child without running the test harness's
                // exit handlers.
                unsafe { libc::_exit(code) }
            }
            pid => {
                let mut status = 0;
                // SAFETY: waits for our own child; `status` is a valid out-pointer.
                let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
                assert_eq!(rc, pid);
                assert!(libc::WIFEXITED(status), "status {status:#x}");
                assert_eq!(libc::WEXITSTATUS(status), 0, "child failed a check");
            }
        }
    }
}
