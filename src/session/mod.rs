//! Sessions (SPEC §16): the append-only rollout transcript of a thread
//! (`rollout`), reading one back into a resumable state (`reader`), and finding
//! the rollout to resume (`find`: by id or `--last`; `names`: by thread name).
//! Knows nothing about clap or stdout.

mod error;
mod find;
mod git;
mod names;
mod reader;
pub mod records;
mod repair;
mod rollout;

use std::sync::Arc;

pub use error::SessionError;
pub use find::{find_by_id, find_last, LastFilter};
pub use names::{find_by_name, NameMatch};
pub use reader::{load, ResumedThread};
pub use repair::aborted_outputs;
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
