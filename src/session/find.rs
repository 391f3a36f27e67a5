//! Finding the rollout to resume (SPEC §16.2): by thread id (file name ends with
//! `-<uuid>.jsonl`, date tree searched newest first) or the newest session of
//! the current provider whose last recorded cwd is the current one (`--last`).
//! Names are resolved in `names`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::reader::summary;
use super::{SessionError, SESSIONS_DIR};

/// Which sessions `--last` may pick.
#[derive(Debug, Clone)]
pub struct LastFilter<'a> {
    /// Only sessions whose last recorded cwd is this (`None` with `--all`).
    pub cwd: Option<&'a Path>,
    /// Only sessions of this model provider.
    pub provider: &'a str,
}

/// The rollout of thread `id` (a UUID).
pub fn find_by_id(codex_home: &Path, id: &str) -> Result<PathBuf, SessionError> {
    let not_found = || SessionError::NotFound(id.to_string());
    let uuid = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
    let suffix = format!("-{}.jsonl", uuid.hyphenated());
    let root = codex_home.join(SESSIONS_DIR);
    for year in entries_newest_first(&root) {
        for month in entries_newest_first(&year) {
            for day in entries_newest_first(&month) {
                if let Some(path) = entries_newest_first(&day).into_iter().find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("rollout-") && n.ends_with(&suffix))
                }) {
                    return Ok(path);
                }
            }
        }
    }
    Err(not_found())
}

/// The rollout of the newest session (by last modification) that passes `filter`.
pub fn find_last(codex_home: &Path, filter: &LastFilter<'_>) -> Option<PathBuf> {
    for (_, path) in rollout_files(codex_home) {
        let Some((provider, last_cwd)) = summary(&path) else {
            continue;
        };
        let provider_ok = provider.as_deref() == Some(filter.provider);
        let cwd_ok = filter
            .cwd
            .is_none_or(|cwd| last_cwd.as_deref() == Some(cwd));
        if provider_ok && cwd_ok {
            return Some(path);
        }
    }
    None
}

/// Every rollout file under `sessions/`, newest (last modified) first; equal
/// times fall back to the (time-stamped) name.
pub(super) fn rollout_files(codex_home: &Path) -> Vec<(SystemTime, PathBuf)> {
    let root = codex_home.join(SESSIONS_DIR);
    let mut files: Vec<(SystemTime, PathBuf)> = Vec::new();
    for year in entries_newest_first(&root) {
        for month in entries_newest_first(&year) {
            for day in entries_newest_first(&month) {
                for path in entries_newest_first(&day) {
                    let is_rollout = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("rollout-") && n.ends_with(".jsonl"));
                    if !is_rollout {
                        continue;
                    }
                    let modified = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .unwrap_or(SystemTime::UNIX_EPOCH);
                    files.push((modified, path));
                }
            }
        }
    }
    files.sort_by(|a, b| b.cmp(a));
    files
}

/// Entries of `dir` sorted by name, descending (date-named dirs and
/// time-stamped files sort chronologically). A missing dir is empty.
fn entries_newest_first(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort_by(|a, b| b.cmp(a));
    paths
}
