//! Which thread a run works on (SPEC §1.3, §16.2): a new one, or the one
//! `codex exec resume` names (by id, thread name or `--last`), and whether it is recorded
//! (`--ephemeral` records nothing). Runs before the async runtime starts, so a
//! session that cannot be recorded (no session file, or another run writing the
//! thread) fails the run before any model request.

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::ResumeArgs;
use crate::config::Config;
use crate::exec::reporter::Reporter;
use crate::session::{
    find_by_id, find_by_name, find_last, load, FileStamp, LastFilter, NameMatch, RolloutRecorder,
    SessionError, ThreadSession,
};

/// Why the session to resume could not be chosen. Fatal to the process (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// Neither an id nor `--last` was given.
    #[error("Error: `codex exec resume` needs a session id or `--last`")]
    NoTarget,
    /// The lookup or the rollout failed.
    #[error("Error: {0}")]
    Session(#[from] SessionError),
}

/// Choose and load the thread of this run, and open (a new thread: create)
/// and lock its rollout unless `ephemeral`. `stamp` names a new rollout file.
pub fn open(
    resume: Option<&ResumeArgs>,
    config: &Config,
    ephemeral: bool,
    stamp: &FileStamp,
    reporter: &Reporter,
) -> Result<ThreadSession, ResumeError> {
    let target = match resume {
        None => None,
        Some(args) if args.last => {
            let filter = LastFilter {
                cwd: (!args.all).then_some(config.cwd.as_path()),
                provider: &config.provider.id,
            };
            let found = find_last(&config.codex_home, &filter);
            if found.is_none() {
                reporter.notice("No previous session found to resume; starting a new thread.");
            }
            found
        }
        Some(args) => {
            let target = args.session_id.as_deref().ok_or(ResumeError::NoTarget)?;
            Some(find_target(target, args.all, config)?)
        }
    };
    let secret = config.credential.token().map(str::to_string);
    Ok(match target {
        Some(path) => {
            // Locked before it is read: a concurrent writer could otherwise
            // change the history this run is about to continue.
            let recorder = if ephemeral {
                None
            } else {
                Some(Arc::new(RolloutRecorder::append_to(path.clone(), secret)?))
            };
            let resumed = load(&path)?;
            ThreadSession {
                thread_id: resumed.thread_id.clone(),
                resumed: Some(resumed),
                recorder,
            }
        }
        None => {
            let thread_id = uuid::Uuid::now_v7().to_string();
            let recorder = if ephemeral {
                None
            } else {
                Some(Arc::new(RolloutRecorder::create(
                    &config.codex_home,
                    &thread_id,
                    stamp,
                    secret,
                )?))
            };
            ThreadSession {
                thread_id,
                resumed: None,
                recorder,
            }
        }
    })
}

/// The rollout `target` names: a UUID is a thread id, anything else a thread
/// name, matched exactly among threads last used in the current cwd (any cwd
/// with `all`).
fn find_target(target: &str, all: bool, config: &Config) -> Result<PathBuf, SessionError> {
    if uuid::Uuid::parse_str(target).is_ok() {
        return find_by_id(&config.codex_home, target);
    }
    let cwd = (!all).then_some(config.cwd.as_path());
    match find_by_name(&config.codex_home, target, cwd) {
        NameMatch::Found(path) => Ok(path),
        NameMatch::OtherCwd => Err(SessionError::NameInOtherCwd(target.to_string())),
        NameMatch::Missing => Err(SessionError::NotFound(target.to_string())),
    }
}

/// The prompt argument of a resumed run: resume's own PROMPT, else (with
/// `--last`) the single positional, else the root-level prompt.
pub fn prompt_arg<'a>(args: &'a ResumeArgs, root: Option<&'a str>) -> Option<&'a str> {
    args.prompt
        .as_deref()
        .or(if args.last {
            args.session_id.as_deref()
        } else {
            None
        })
        .or(root)
}
