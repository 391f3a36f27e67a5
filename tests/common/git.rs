//! Real git repositories for the review tests, made inside the test's temp
//! root with a fixed identity, on branch `main`, without user or system config.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{ensure, Context, Result};

use super::TestEnv;

/// A git repository (work tree or bare) driven by the `git` on `PATH`.
pub struct GitRepo {
    /// The work tree (or the bare repository's directory).
    pub dir: PathBuf,
    /// `$HOME` for git: the test's home, which holds no `.gitconfig`.
    home: PathBuf,
}

impl GitRepo {
    /// `git init` in `dir` (created when missing), initial branch `main`.
    pub fn init(dir: &Path, home: &Path) -> Result<GitRepo> {
        GitRepo::create(dir, home, &[])
    }

    /// `git init --bare` in `dir`: a "remote" to push to.
    pub fn init_bare(dir: &Path, home: &Path) -> Result<GitRepo> {
        GitRepo::create(dir, home, &["--bare"])
    }

    /// `git clone <url> <dir>`.
    pub fn clone_from(url: &Path, dir: &Path, home: &Path) -> Result<GitRepo> {
        let repo = GitRepo {
            dir: dir.to_path_buf(),
            home: home.to_path_buf(),
        };
        let parent = dir.parent().context("clone target has no parent")?;
        repo.git_in(
            parent,
            &[
                "clone",
                "-q",
                &url.display().to_string(),
                &dir.display().to_string(),
            ],
        )?;
        Ok(repo)
    }

    fn create(dir: &Path, home: &Path, extra: &[&str]) -> Result<GitRepo> {
        std::fs::create_dir_all(dir)?;
        let repo = GitRepo {
            dir: dir.to_path_buf(),
            home: home.to_path_buf(),
        };
        let mut args = vec!["init", "-q", "-b", "main"];
        args.extend_from_slice(extra);
        repo.git(&args)?;
        Ok(repo)
    }

    /// Run `git <args>` in the repository; its trimmed stdout. Fails on a
    /// non-zero exit, with git's stderr.
    pub fn git(&self, args: &[&str]) -> Result<String> {
        self.git_in(&self.dir, args)
    }

    fn git_in(&self, cwd: &Path, args: &[&str]) -> Result<String> {
        let output = Command::new("git")
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(cwd)
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Test Author")
            .env("GIT_COMMITTER_EMAIL", "author@example.com")
            .output()
            .context("run git")?;
        ensure!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Write `path` (relative to the work tree) with `contents`, stage it and
    /// commit with `message`; the new commit's id.
    pub fn commit_file(&self, path: &str, contents: &str, message: &str) -> Result<String> {
        self.write(path, contents)?;
        self.git(&["add", "--", path])?;
        self.git(&["commit", "-q", "-m", message])?;
        self.git(&["rev-parse", "HEAD"])
    }

    /// Write `path` (relative to the work tree) without staging it.
    pub fn write(&self, path: &str, contents: &str) -> Result<PathBuf> {
        let full = self.dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&full, contents)?;
        Ok(full)
    }
}

impl TestEnv {
    /// Turn the work dir (whose `.git` is an empty placeholder) into a real
    /// repository on branch `main`, with no commit yet.
    pub fn git_repo(&self) -> Result<GitRepo> {
        let placeholder = self.work.join(".git");
        if placeholder.is_dir() && std::fs::read_dir(&placeholder)?.next().is_none() {
            std::fs::remove_dir(&placeholder)?;
        }
        GitRepo::init(&self.work, &self.home)
    }
}
