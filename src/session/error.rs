//! Why a session could not be found, read, locked or written.

use std::path::PathBuf;

/// A session failure. Every variant but [`SessionError::Write`] is fatal to
/// the process (exit 1) before any model request; `Write` happens during the
/// run and is reported (an `error` event and a warning) while the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No rollout file carries this thread id (or name).
    #[error("no session found for `{0}`; run `codex exec` first or check the id or name")]
    NotFound(String),
    /// Threads with this name exist, but none was last used in this directory.
    #[error("no session named `{0}` was last used in this directory; add `--all` to resume it from here")]
    NameInOtherCwd(String),
    /// The rollout exists but cannot be read.
    #[error("cannot read the rollout {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The rollout has no usable `session_meta` line.
    #[error("the rollout {0} has no `session_meta` record")]
    NoMeta(PathBuf),
    /// The session file (or its directory) could not be created, or an
    /// existing rollout could not be opened for appending.
    #[error("cannot create or open the session file {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Another process holds the rollout's writer lock (a concurrent run of the
    /// same thread).
    #[error(
        "thread {thread_id} already has an active writer: another run is recording to {path}; \
         wait for it to finish"
    )]
    Locked { thread_id: String, path: PathBuf },
    /// A record could not be appended to the rollout.
    #[error("cannot write the rollout {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}
