//! Writes that try to land outside the writable roots: swapped roots, `/proc`
//! detours, links, renames, `/dev/shm` and device nodes.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use super::harness::*;

/// The paths of `paths` that exist (without following a final link).
fn existing(paths: &[&Path]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .map(|p| p.display().to_string())
        .collect()
}

/// `--add-dir $WORK/sub`; one command replaces `sub` by a link to a directory outside,
/// the next command (and a patch) write into `sub`.
pub fn writable_root_swapped_for_link(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let sub = lab.dir("sub")?;
    let elsewhere = lab.outside.join("elsewhere");
    std::fs::create_dir(&elsewhere)?;
    case.user.own(&elsewhere)?;
    let sub_arg = sub.display().to_string();
    let mut mode = WORKSPACE.to_vec();
    mode.extend(["--add-dir", &sub_arg]);
    let outcome = lab.run(
        &mode,
        vec![
            sh("echo before > sub/before.txt && cat sub/before.txt"),
            sh(format!(
                "mv sub sub.old && ln -s '{}' sub",
                elsewhere.display()
            )),
            sh("echo leaked > sub/leak.txt"),
            patch("*** Add File: sub/leak-patch.txt\n+leaked\n"),
        ],
    )?;
    let leaked: Vec<String> = std::fs::read_dir(&elsewhere)?
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    let verdict = Verdict::escaped_if(!leaked.is_empty(), || {
        format!("written through the swapped root: {leaked:?}")
    });
    conclude(verdict, outcome.twin_ok(0, "before"))
}

/// `$TMPDIR` (here `$WORK/.tmp`, a writable root) replaced by a link to a directory
/// outside between two commands.
pub fn tmpdir_swapped_for_link(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let tmpdir = lab.dir(".tmp")?;
    let elsewhere = lab.outside.join("elsewhere");
    std::fs::create_dir(&elsewhere)?;
    case.user.own(&elsewhere)?;
    let mode = [
        "-s",
        "workspace-write",
        "-c",
        "sandbox_workspace_write.exclude_slash_tmp=true",
    ];
    let outcome = lab.run_with(
        lab.exec().env("TMPDIR", &tmpdir),
        &mode,
        vec![
            sh("printf 'int main(void) { return 0; }\\n' > hello.c \
                && cc -o \"$TMPDIR/hello\" hello.c && \"$TMPDIR/hello\" && echo built"),
            sh(format!(
                "mv \"$TMPDIR\" \"$TMPDIR.old\" && ln -s '{}' \"$TMPDIR\"",
                elsewhere.display()
            )),
            sh("echo leaked > \"$TMPDIR/leak.txt\""),
        ],
    )?;
    let leaked = elsewhere.join("leak.txt");
    let verdict = Verdict::escaped_if(leaked.exists(), || {
        format!("{} written through the swapped $TMPDIR", leaked.display())
    });
    conclude(verdict, outcome.twin_ok(0, "built"))
}

/// Plain writes outside: an absolute path, a planted link, `..`, `$HOME` dotfiles.
pub fn write_outside_roots(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let (out, home) = (lab.outside.display(), lab.env.home.display());
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "echo x > '{out}/direct.txt'; ln -s '{out}' out_link; \
                 echo x > out_link/via_link.txt; echo x > ../outside/dotdot.txt; \
                 echo x >> '{home}/.bashrc'; cp /bin/true '{home}/.evil-true'"
            )),
            sh("mkdir -p build && echo ok > build/out.txt && cat build/out.txt"),
        ],
    )?;
    let written = existing(&[
        &lab.outside.join("direct.txt"),
        &lab.outside.join("via_link.txt"),
        &lab.outside.join("dotdot.txt"),
        &lab.env.home.join(".bashrc"),
        &lab.env.home.join(".evil-true"),
    ]);
    let verdict = Verdict::escaped_if(!written.is_empty(), || format!("wrote {written:?}"));
    conclude(verdict, outcome.twin_ok(1, "ok"))
}

/// Writes outside through `/proc/self/root`, `/proc/$$/root` and `/proc/self/cwd/..`.
pub fn write_via_proc_self_root(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let out = lab.outside.display();
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "echo x > /proc/self/root{out}/a.txt; echo x > /proc/$$/root{out}/b.txt; \
                 echo x > /proc/self/cwd/../outside/c.txt"
            )),
            sh(format!(
                "echo ok > /proc/self/root{}/via_root.txt && cat via_root.txt",
                lab.work().display()
            )),
        ],
    )?;
    let written = existing(&[
        &lab.outside.join("a.txt"),
        &lab.outside.join("b.txt"),
        &lab.outside.join("c.txt"),
    ]);
    let verdict = Verdict::escaped_if(!written.is_empty(), || format!("wrote {written:?}"));
    conclude(verdict, outcome.twin_ok(1, "ok"))
}

/// Writes through `/proc/<pid>/cwd` of a process of the same user whose cwd is outside.
pub fn write_via_proc_pid_cwd(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let mut sleeper = lab.as_user("sleep");
    sleeper.arg("60").current_dir(&lab.outside);
    let victim = Victim::spawn(sleeper)?;
    let pid = victim.pid();
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "echo x > /proc/{pid}/cwd/cwd_escape.txt; ls /proc/{pid}/cwd/; \
                 echo x > /proc/{pid}/root{}/root_escape.txt",
                lab.outside.display()
            )),
            sh("echo ok > /proc/self/cwd/via_cwd.txt && cat via_cwd.txt"),
        ],
    )?;
    let written = existing(&[
        &lab.outside.join("cwd_escape.txt"),
        &lab.outside.join("root_escape.txt"),
    ]);
    let verdict = Verdict::escaped_if(!written.is_empty(), || format!("wrote {written:?}"));
    conclude(verdict, outcome.twin_ok(1, "ok"))
}

/// Hard links from the workspace to a file outside, then appends through them.
pub fn hardlink_to_outside_file(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let target = lab.outside.join("target.txt");
    std::fs::write(&target, "original\n")?;
    case.user.own(&target)?;
    let t = target.display();
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "ln '{t}' hl.txt; echo pwned >> hl.txt; cp -l '{t}' hl2.txt; echo pwned >> hl2.txt; {}",
                python(&format!(
                    "try_op('link', lambda: os.link('{t}', 'hl3.txt'))\n\
                     try_op('append', lambda: open('hl3.txt', 'a').write('pwned'))"
                ))
            )),
            sh(format!(
                "echo a > a.txt && ln a.txt b.txt && test a.txt -ef b.txt \
                 && {PY} -m venv --without-pip .venv && .venv/bin/python -c 'import sys; print(sys.prefix)'"
            )),
        ],
    )?;
    let meta = std::fs::metadata(&target)?;
    let content = std::fs::read_to_string(&target)?;
    let verdict = Verdict::escaped_if(content != "original\n" || meta.nlink() != 1, || {
        format!("target has {} links and reads {content:?}", meta.nlink())
    });
    conclude(
        verdict,
        outcome.twin_ok(1, &lab.work().join(".venv").display().to_string()),
    )
}

/// Renames out of and into the roots (`mv` falls back to copy + unlink, which must
/// fail at the unlink outside).
pub fn rename_across_roots(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let victim = lab.outside.join("victim.txt");
    std::fs::write(&victim, "keep me\n")?;
    case.user.own(&victim)?;
    lab.plant("in.txt", "in\n")?;
    lab.plant("in2.txt", "in2\n")?;
    let out = lab.outside.display();
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "mv '{out}/victim.txt' stolen.txt; mv in.txt '{out}/planted.txt'; {}",
                python(&format!(
                    "try_op('rename_in', lambda: os.rename('{out}/victim.txt', 'stolen2.txt'))\n\
                     try_op('rename_out', lambda: os.rename('in.txt', '{out}/planted2.txt'))"
                ))
            )),
            sh("mkdir d && mv in2.txt d/ && test -f d/in2.txt && echo moved"),
        ],
    )?;
    let planted = existing(&[
        &lab.outside.join("planted.txt"),
        &lab.outside.join("planted2.txt"),
    ]);
    let verdict = Verdict::any([
        Verdict::escaped_if(!victim.exists(), || {
            format!("{} was moved away", victim.display())
        }),
        Verdict::escaped_if(!planted.is_empty(), || format!("moved out: {planted:?}")),
    ]);
    conclude(verdict, outcome.twin_ok(1, "moved"))
}

/// Files in the host's `/dev/shm` (a shared, world-writable tmpfs).
pub fn dev_shm_write(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let name = format!("codexatk-{}", lab.nonce);
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "echo x > /dev/shm/{name}; {}",
                python(&format!(
                    "from multiprocessing import shared_memory\n\
                     try_op('shm_open', lambda: shared_memory.SharedMemory(name='{name}-py', create=True, size=16))"
                ))
            )),
            Step::Exec(json!({"cmd": "tty && echo pty-ok", "tty": true, "yield_time_ms": 10_000})),
        ],
    )?;
    let mut created = Vec::new();
    for entry in std::fs::read_dir("/dev/shm")? {
        let path = entry?.path();
        if path.to_string_lossy().contains(&name) {
            let _ = std::fs::remove_file(&path);
            created.push(path.display().to_string());
        }
    }
    let verdict = Verdict::escaped_if(!created.is_empty(), || format!("created {created:?}"));
    let twin = outcome
        .twin_ok(1, "pty-ok")
        .and_then(|()| outcome.ensure_ok(1, "/dev/pts/"));
    conclude(verdict, twin)
}

/// Device nodes in the workspace (`/dev/mem`, a disk): raw access for root.
pub fn mknod_device(case: &Case) -> Result<Verdict> {
    let lab = Lab::new(*case)?;
    let outcome = lab.run(
        WORKSPACE,
        vec![
            sh(format!(
                "mknod memdev c 1 1; mknod diskdev b 8 0; {}",
                python(
                    "import stat\n\
                     try_op('mknod_char', lambda: os.mknod('nulldev', stat.S_IFCHR | 0o666, os.makedev(1, 3)))"
                )
            )),
            sh("mkfifo fifo1 && mknod fifo2 p && test -p fifo1 && test -p fifo2 && echo fifos-ok"),
        ],
    )?;
    let devices: Vec<String> = ["memdev", "diskdev", "nulldev"]
        .iter()
        .filter(|name| {
            lab.work()
                .join(name)
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_char_device() || m.file_type().is_block_device())
        })
        .map(|name| name.to_string())
        .collect();
    let verdict = Verdict::escaped_if(!devices.is_empty(), || {
        format!("created devices {devices:?}")
    });
    conclude(verdict, outcome.twin_ok(1, "fifos-ok"))
}
