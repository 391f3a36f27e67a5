//! Shared helpers: a per-test sandbox ([`TestEnv`]: temp `CODEX_HOME`, `HOME` and a
//! git work dir, plus a scripted mock Responses server), a runner for the real binary
//! ([`Exec`] / [`Run`]) and JSON helpers for events and recorded requests.
//!
//! Everything is set on the child process only; the test process's environment is
//! never mutated. The only network peer is the mock server on 127.0.0.1.

mod git;
mod json;
mod process;
mod rollouts;
mod tools;
mod users;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use mock_responses::{MockServer, RecordedRequest, Reply};
use tempfile::TempDir;

pub use git::GitRepo;
pub use json::*;
pub use process::{parse_jsonl, Exec, Run, Spawned};
pub use rollouts::*;
pub use tools::*;
pub use users::*;

/// API key the child sees in `CODEX_API_KEY`.
pub const TEST_API_KEY: &str = "sk-test";
/// Version the binary reports.
pub const VERSION: &str = "0.169.0";

/// One isolated run environment.
pub struct TestEnv {
    /// The scripted model server.
    pub server: MockServer,
    /// `$CODEX_HOME` (canonical path).
    pub codex_home: PathBuf,
    /// `$HOME` of the child (canonical path).
    pub home: PathBuf,
    /// The work dir: cwd of the child, contains a `.git` directory (canonical path).
    pub work: PathBuf,
    /// The temp root holding everything above (outside the git work dir).
    pub root: PathBuf,
    /// Owns the temp root; removes it on drop.
    _tmp: TempDir,
}

impl TestEnv {
    /// Start a mock server with `replies` and write the default config.
    pub fn new(replies: Vec<Reply>) -> Result<TestEnv> {
        TestEnv::with_server(MockServer::start(replies)?)
    }

    /// Like [`TestEnv::new`], but `fallback` answers every request after the script.
    pub fn with_fallback(replies: Vec<Reply>, fallback: Reply) -> Result<TestEnv> {
        TestEnv::with_server(MockServer::start_with_fallback(replies, fallback)?)
    }

    /// Build the directories around an already started server.
    pub fn with_server(server: MockServer) -> Result<TestEnv> {
        let tmp = tempfile::Builder::new().prefix("codex-it-").tempdir()?;
        let base = tmp.path().canonicalize()?;
        let codex_home = base.join("codex_home");
        let home = base.join("home");
        let work = base.join("work");
        for dir in [&codex_home, &home, &work.join(".git")] {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        let env = TestEnv {
            server,
            codex_home,
            home,
            work,
            root: base,
            _tmp: tmp,
        };
        env.write_config("", "")?;
        Ok(env)
    }

    /// The default `config.toml` text with `top` inserted among the top-level keys
    /// and `tail` appended after the `[model_providers.mock]` table (so bare keys in
    /// `tail` belong to the mock provider; new tables may follow).
    pub fn config_text(&self, top: &str, tail: &str) -> String {
        format!(
            r#"model = "gpt-5-codex"
model_provider = "mock"
{top}

[model_providers.mock]
name = "Mock"
base_url = "{base_url}"
env_key = "CODEX_API_KEY"
wire_api = "responses"
request_max_retries = 1
stream_max_retries = 2
stream_idle_timeout_ms = 60000
{tail}
"#,
            base_url = self.server.base_url(),
        )
    }

    /// Rewrite `config.toml` as [`TestEnv::config_text`]`(top, tail)`.
    pub fn write_config(&self, top: &str, tail: &str) -> Result<()> {
        self.write_config_raw(&self.config_text(top, tail))
    }

    /// Replace `config.toml` with exactly `text`.
    pub fn write_config_raw(&self, text: &str) -> Result<()> {
        let path = self.codex_home.join("config.toml");
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))
    }

    /// Write `contents` to `path` (relative paths are relative to the work dir),
    /// creating parent directories.
    pub fn write_file(
        &self,
        path: impl AsRef<Path>,
        contents: impl AsRef<[u8]>,
    ) -> Result<PathBuf> {
        let path = self.work.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, contents).with_context(|| format!("write {}", path.display()))?;
        Ok(path)
    }

    /// `codex exec` with a clean environment, run in the work dir.
    pub fn exec(&self) -> Exec {
        self.codex().arg("exec")
    }

    /// `codex` (no subcommand) with a clean environment, run in the work dir.
    pub fn codex(&self) -> Exec {
        self.codex_via(&[])
    }

    /// Like [`TestEnv::codex`], but started through `wrapper` (see [`RunAs::wrapper`]).
    pub fn codex_via(&self, wrapper: &[&str]) -> Exec {
        Exec::new(wrapper, &self.home, &self.codex_home, &self.work)
    }

    /// `codex` run as the unprivileged user `nobody` (65534), which is given the
    /// whole temp root first. The test process must be root.
    pub fn codex_as_nobody(&self) -> Result<Exec> {
        chown_tree(&self.root, NOBODY_ID)?;
        Ok(self.codex_via(RunAs::Nobody.wrapper()))
    }

    /// The `POST …/responses` requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.response_requests()
    }
}

/// Uid and gid of `nobody`.
pub const NOBODY_ID: u32 = 65534;

/// `chown -R uid:uid path` without following symlinks.
fn chown_tree(path: &Path, uid: u32) -> Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid))
        .with_context(|| format!("chown {}", path.display()))?;
    if path.symlink_metadata()?.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid)?;
        }
    }
    Ok(())
}

/// Path of a file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}
