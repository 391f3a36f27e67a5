//! Sessions (SPEC §16): the append-only rollout transcript of a thread
//! (`rollout`), reading one back into a resumable state (`reader`), and finding
//! the rollout to resume (`find`: by id or `--last`; `names`: by thread name).
//! Knows nothing about clap or stdout.

mod find;
mod git;
mod names;
mod reader;
pub mod records;
mod rollout;

use std::path::PathBuf;
use std::sync::Arc;

pub use find::{find_by_id, find_last, LastFilter};
pub use names::{find_by_name, NameMatch};
pub use reader::{load, ResumedThread};
pub use rollout::{file_stamp, timestamp_now, FileStamp, RolloutRecorder};

/// What an agent thread starts from: its id, the replayed state when it is
/// resumed, and where it records (`None` with `--ephemeral`).
#[derive(Debug)]
pub struct ThreadSession {
    /// The thread id (new UUIDv7, or the resumed thread's).
    pub thread_id: String,
    /// The replayed rollout of a resumed thread.
    pub resumed: Option<ResumedThread>,
    /// The rollout recorder.
    pub recorder: Option<Arc<RolloutRecorder>>,
}

/// Name of the directory under `$CODEX_HOME` that holds the rollouts.
const SESSIONS_DIR: &str = "sessions";

/// Why a session could not be found or read. Every variant is fatal to the
/// process (exit 1) before any turn starts.
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
    /// The rollout file could not be created or appended to.
    #[error("cannot write the rollout {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}
