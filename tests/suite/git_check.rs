//! The git-repository gate and `-C/--cd` (SPEC §3.3, §1.2, §25 case 14).

use mock_responses::message_reply;
use pretty_assertions::assert_eq;

use crate::common::*;

const NOT_TRUSTED: &str =
    "Not inside a trusted directory and --skip-git-repo-check was not specified.";

/// A directory outside any git repository, inside the test's temp root.
fn plain_dir(env: &TestEnv) -> anyhow::Result<std::path::PathBuf> {
    let dir = env.root.join("plain");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Outside a repository: the exact message on stderr, exit 1, no request.
#[test]
fn outside_git_repo_is_refused() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .current_dir(plain_dir(&env)?)
        .args(["--json", "-"])
        .stdin("hi")
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, format!("{NOT_TRUSTED}\n"));
    assert!(env.requests().is_empty());
    Ok(())
}

/// The refusal also happens with a prompt argument (stdin read first).
#[test]
fn outside_git_repo_is_refused_with_prompt_argument() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env
        .exec()
        .current_dir(plain_dir(&env)?)
        .args(["--json", "hi"])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().last(), Some(NOT_TRUSTED), "{run}");
    assert!(env.requests().is_empty());
    Ok(())
}

/// Each bypass flag lets the run proceed outside a repository.
#[test]
fn bypass_flags_skip_the_check() -> anyhow::Result<()> {
    for flag in [
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        "--yolo",
    ] {
        let env = TestEnv::new(vec![message_reply("ok")])?;
        let run = env
            .exec()
            .current_dir(plain_dir(&env)?)
            .args(["--json", flag, "hi"])
            .run()?;
        assert_eq!(run.code(), Some(0), "{flag}: {run}");
        assert_eq!(env.requests().len(), 1, "{flag}");
    }
    Ok(())
}

/// `--yolo` also means the danger-full-access sandbox.
#[test]
fn yolo_means_full_access() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let run = env.exec().args(["--json", "--yolo", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let context = environment_context(&env.requests()[0])?;
    assert!(
        context.contains("<sandbox_mode>danger-full-access</sandbox_mode>"),
        "{context}"
    );
    assert!(
        context.contains("<network_access>enabled</network_access>"),
        "{context}"
    );
    Ok(())
}

/// A `.git` *file* (worktree or submodule) counts as a repository.
#[test]
fn git_file_counts_as_repository() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let dir = plain_dir(&env)?;
    std::fs::write(
        dir.join(".git"),
        "gitdir: /somewhere/else/.git/worktrees/x\n",
    )?;
    let run = env.exec().current_dir(&dir).args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    Ok(())
}

/// `-C` pointing into a repository passes the check and becomes the cwd.
#[test]
fn cd_into_repo_subdir_works() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let sub = env.work.join("nested/dir");
    std::fs::create_dir_all(&sub)?;
    let run = env
        .exec()
        .current_dir(plain_dir(&env)?)
        .arg("--json")
        .arg("-C")
        .arg(&sub)
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let context = environment_context(&env.requests()[0])?;
    assert!(
        context.contains(&format!("<cwd>{}</cwd>", sub.display())),
        "{context}"
    );
    Ok(())
}

/// A relative `-C` is resolved and canonicalised.
#[test]
fn relative_cd_is_canonicalised() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    std::fs::create_dir_all(env.work.join("a/b"))?;
    let run = env.exec().args(["--json", "-C", "a/./b/..", "hi"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let context = environment_context(&env.requests()[0])?;
    assert!(
        context.contains(&format!("<cwd>{}</cwd>", env.work.join("a").display())),
        "{context}"
    );
    Ok(())
}

/// `-C` to a missing directory fails naming the path.
#[test]
fn cd_to_missing_directory_fails() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let missing = env.root.join("no/such/dir");
    let run = env
        .exec()
        .arg("--json")
        .arg("-C")
        .arg(&missing)
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains(&missing.display().to_string()), "{run}");
    assert!(env.requests().is_empty());
    Ok(())
}
