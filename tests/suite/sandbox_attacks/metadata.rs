//! Metadata changes to files outside the roots (owner, mode, times, flags, extended
//! attributes), which Landlock does not cover: layer 1 stops those that need a
//! capability it drops; those the owner may do without one need layer 2's read-only
//! mounts (see `LAYER1_GAPS`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use super::harness::*;
use crate::common::FOREIGN_UID;

/// A file `name` in `outside`, owned by `uid`, mode 0644.
fn outside_file(lab: &Lab, name: &str, uid: u32) -> Result<PathBuf> {
    let path = lab.outside.join(name);
    std::fs::write(&path, "data\n")?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    std::os::unix::fs::chown(&path, Some(uid), Some(uid))?;
    Ok(path)
}

/// `chown` / `chgrp` of the user's own file outside (needs `CAP_CHOWN`).
pub fn chown_file_outside_roots(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let file = outside_file(&lab, "owned.txt", case.user.uid())?;
    let f = file.display();
    let outcome = lab.run(
        READ_ONLY,
        vec![
            sh(format!("stat -c 'uid=%u' '{f}'")),
            sh(format!(
                "chown {FOREIGN_UID}:{FOREIGN_UID} '{f}'; chgrp {FOREIGN_UID} '{f}'; {}",
                python(&format!(
                    "try_op('chown', lambda: os.chown('{f}', {FOREIGN_UID}, {FOREIGN_UID}))"
                ))
            )),
        ],
    )?;
    let meta = std::fs::metadata(&file)?;
    let verdict = Verdict::escaped_if(
        meta.uid() != case.user.uid() || meta.gid() != case.user.gid(),
        || format!("{f} now belongs to {}:{}", meta.uid(), meta.gid()),
    );
    conclude(
        verdict,
        outcome.twin_ok(0, &format!("uid={}", case.user.uid())),
    )
}

/// `chmod` of another user's file outside (needs `CAP_FOWNER`).
pub fn chmod_foreign_file_outside_roots(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let file = outside_file(&lab, "foreign.txt", FOREIGN_UID)?;
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!("chmod 666 '{}'", file.display())),
            sh("printf '#!/bin/sh\\necho script-ran\\n' > run.sh && chmod +x run.sh && ./run.sh"),
        ],
    )?;
    let mode = std::fs::metadata(&file)?.permissions().mode() & 0o7777;
    let verdict = Verdict::escaped_if(mode != 0o644, || format!("mode is now {mode:o}"));
    conclude(verdict, outcome.twin_ok(1, "script-ran"))
}

/// `chmod` of the user's own file outside (no capability needed: layer 2).
pub fn chmod_own_file_outside_roots(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let file = outside_file(&lab, "own.txt", case.user.uid())?;
    let f = file.display();
    let outcome = lab.run(
        READ_ONLY,
        vec![
            sh(format!("stat -c 'mode=%a' '{f}'")),
            sh(format!("chmod 600 '{f}'; chmod u+s '{f}'")),
        ],
    )?;
    let mode = std::fs::metadata(&file)?.permissions().mode() & 0o7777;
    let verdict = Verdict::escaped_if(mode != 0o644, || format!("mode is now {mode:o}"));
    conclude(verdict, outcome.twin_ok(0, "mode=644"))
}

/// `touch -d` (explicit times) of another user's file outside (needs `CAP_FOWNER`).
pub fn touch_time_foreign_file_outside_roots(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let file = outside_file(&lab, "foreign.txt", FOREIGN_UID)?;
    let before = std::fs::metadata(&file)?.mtime();
    let f = file.display();
    let outcome = lab.run(
        READ_ONLY,
        vec![
            sh(format!("stat -c 'mtime=%Y' '{f}'")),
            sh(format!(
                "touch -d '2001-02-03 04:05:06' '{f}'; touch -m -d '2001-02-03' '{f}'"
            )),
        ],
    )?;
    let after = std::fs::metadata(&file)?.mtime();
    let verdict = Verdict::escaped_if(after != before, || format!("mtime {before} -> {after}"));
    conclude(verdict, outcome.twin_ok(0, &format!("mtime={before}")))
}

/// `touch` (explicit times and now) of the user's own file outside (layer 2).
pub fn touch_time_own_file_outside_roots(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let file = outside_file(&lab, "own.txt", case.user.uid())?;
    let before = std::fs::metadata(&file)?.mtime();
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "touch -d '2001-02-03 04:05:06' '{}'",
                file.display()
            )),
            sh("echo a > w.txt && touch -d '2001-02-03 04:05:06' w.txt && stat -c %y w.txt"),
        ],
    )?;
    let after = std::fs::metadata(&file)?.mtime();
    let verdict = Verdict::escaped_if(after != before, || format!("mtime {before} -> {after}"));
    conclude(verdict, outcome.twin_ok(1, "2001-02-03 04:05:06"))
}

/// `chattr +a` / `+i` of the user's own file outside (needs `CAP_LINUX_IMMUTABLE`).
pub fn chattr_append_outside_roots(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let file = outside_file(&lab, "flags.txt", case.user.uid())?;
    let f = file.display();
    let outcome = lab.run(
        READ_ONLY,
        vec![
            sh(format!("lsattr '{f}'")),
            sh(format!("chattr +a '{f}'; chattr +i '{f}'")),
        ],
    )?;
    let flags = Command::new("lsattr").arg(&file).output()?;
    // Undo before anything else: an append-only file would outlive the temp dir.
    let _ = Command::new("chattr").arg("-ai").arg(&file).status();
    let flags = String::from_utf8_lossy(&flags.stdout);
    let set = flags.split_whitespace().next().unwrap_or_default();
    let verdict = Verdict::escaped_if(set.contains('a') || set.contains('i'), || {
        format!("flags are now {set}")
    });
    conclude(verdict, outcome.twin_ok(0, &f.to_string()))
}

/// `setfattr` of a `user.*` attribute on the user's own file outside (layer 2).
pub fn setfattr_own_file_outside_roots(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let file = outside_file(&lab, "xattr.txt", case.user.uid())?;
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "setfattr -n user.codexatk -v pwned '{}'",
                file.display()
            )),
            sh("echo a > x.txt && setfattr -n user.ok -v benign-ok x.txt \
                && getfattr --only-values -n user.ok x.txt"),
        ],
    )?;
    let read = Command::new("getfattr")
        .args(["--only-values", "-n", "user.codexatk"])
        .arg(&file)
        .output()?;
    let verdict = Verdict::escaped_if(read.status.success(), || {
        format!(
            "user.codexatk = {:?}",
            String::from_utf8_lossy(&read.stdout)
        )
    });
    conclude(verdict, outcome.twin_ok(1, "benign-ok"))
}
