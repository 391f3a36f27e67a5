//! Thread names (SPEC §1.3, §16.2): `codex exec resume <name>` resolves a
//! name through `$CODEX_HOME/session_index.jsonl`, the append-only index the
//! interactive client writes when a thread is renamed. Each line is
//! `{"id":"<thread uuid>","thread_name":"<name>","updated_at":"<RFC 3339>"}`;
//! a later line for the same id replaces its earlier name. Torn or garbled
//! lines are skipped. This runner only reads the index, it never writes it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::find::rollout_files;
use super::reader::summary;

/// Name of the index file under `$CODEX_HOME`.
const INDEX_FILE: &str = "session_index.jsonl";

/// One index line (other fields, such as `updated_at`, are not needed: the
/// file is append-only, so line order is update order).
#[derive(Deserialize)]
struct IndexLine {
    id: String,
    thread_name: String,
}

/// What looking a name up found.
#[derive(Debug, PartialEq, Eq)]
pub enum NameMatch {
    /// The rollout of the newest thread with that name (in the cwd, if filtered).
    Found(PathBuf),
    /// Threads with that name exist, but none whose last cwd is the current one.
    OtherCwd,
    /// No thread with a rollout has that name.
    Missing,
}

/// Each thread's current name, by thread id (lowercase hyphenated UUID).
fn current_names(codex_home: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(codex_home.join(INDEX_FILE)) else {
        return HashMap::new();
    };
    let mut names = HashMap::new();
    for raw in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(line) = serde_json::from_str::<IndexLine>(raw) else {
            tracing::debug!(line = raw, "skipping an unreadable session index line");
            continue;
        };
        let Ok(id) = uuid::Uuid::parse_str(line.id.trim()) else {
            continue;
        };
        names.insert(id.hyphenated().to_string(), line.thread_name);
    }
    names
}

/// The rollout of the newest thread (by last modification of its rollout)
/// currently named exactly `name`; with `cwd`, only threads whose latest
/// recorded cwd is that directory (the `--last` rule).
pub fn find_by_name(codex_home: &Path, name: &str, cwd: Option<&Path>) -> NameMatch {
    let ids: Vec<String> = current_names(codex_home)
        .into_iter()
        .filter(|(_, current)| current == name)
        .map(|(id, _)| id)
        .collect();
    if ids.is_empty() {
        return NameMatch::Missing;
    }
    let mut found = NameMatch::Missing;
    for (_, path) in rollout_files(codex_home) {
        let Some(file_id) = thread_id_of(&path) else {
            continue;
        };
        if !ids.contains(&file_id) {
            continue;
        }
        let Some(expected) = cwd else {
            return NameMatch::Found(path);
        };
        let last_cwd = summary(&path).and_then(|(_, cwd)| cwd);
        if last_cwd.as_deref() == Some(expected) {
            return NameMatch::Found(path);
        }
        found = NameMatch::OtherCwd;
    }
    found
}

/// The thread id at the end of a rollout file name
/// (`rollout-<stamp>-<uuid>.jsonl`), lowercase.
fn thread_id_of(path: &Path) -> Option<String> {
    let stem = path.file_name()?.to_str()?.strip_suffix(".jsonl")?;
    let tail = stem.get(stem.len().checked_sub(36)?..)?;
    uuid::Uuid::parse_str(tail)
        .ok()
        .map(|id| id.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn later_lines_rename_and_garbage_is_skipped() {
        let home = tempfile::tempdir().unwrap();
        let a = "0199a213-81c0-7800-8aa1-bbab2a035a53";
        let b = "0199a213-81c0-7800-8aa1-bbab2a035a54";
        let text = format!(
            concat!(
                r#"{{"id":"{a}","thread_name":"old","updated_at":"2026-01-01T00:00:00Z"}}"#,
                "\n",
                "not json\n",
                r#"{{"id":"{b}","thread_name":"other","updated_at":"2026-01-01T00:00:01Z"}}"#,
                "\n",
                r#"{{"id":"{A}","thread_name":"new","updated_at":"2026-01-01T00:00:02Z"}}"#,
                "\n",
                r#"{{"id":"{b}","thread_na"#,
            ),
            a = a,
            b = b,
            A = a.to_uppercase(),
        );
        std::fs::write(home.path().join(INDEX_FILE), text).unwrap();
        let names = current_names(home.path());
        assert_eq!(names.len(), 2);
        assert_eq!(names[a], "new");
        assert_eq!(names[b], "other");
    }

    #[test]
    fn thread_ids_come_from_file_names() {
        let path =
            Path::new("/x/rollout-2026-01-02T03-04-05-0199A213-81c0-7800-8aa1-bbab2a035a53.jsonl");
        assert_eq!(
            thread_id_of(path).as_deref(),
            Some("0199a213-81c0-7800-8aa1-bbab2a035a53")
        );
        assert_eq!(thread_id_of(Path::new("/x/rollout-short.jsonl")), None);
    }

    #[test]
    fn no_index_means_no_match() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(find_by_name(home.path(), "x", None), NameMatch::Missing);
    }
}
