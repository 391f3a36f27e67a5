//! Thread names (SPEC §1.3, §16.2): `codex exec resume <name>` resolves a
//! name through `$CODEX_HOME/session_index.jsonl`, the append-only index the
//! interactive client writes when a thread is renamed. Each line is
//! `{"id":"<thread uuid>","thread_name":"<name>","updated_at":"<RFC 3339>"}`;
//! a later line for the same id replaces its earlier name. Torn or garbled
//! lines are skipped. A thread the index does not know may still be named by
//! a `thread_name_updated` event in its rollout. This runner only reads names,
//! it never writes them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::find::rollout_files;
use super::reader::{summary, text_lines};

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
    let path = codex_home.join(INDEX_FILE);
    let Ok(bytes) = std::fs::read(&path) else {
        return HashMap::new();
    };
    let mut names = HashMap::new();
    for (_, raw) in text_lines(&path, &bytes).filter(|(_, l)| !l.trim().is_empty()) {
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
///
/// The index decides first. Only when it yields no usable thread are the
/// rollouts of threads the index does not know read for a
/// `thread_name_updated` event (that costs reading them whole, so the common
/// case does not pay it).
pub fn find_by_name(codex_home: &Path, name: &str, cwd: Option<&Path>) -> NameMatch {
    let index = current_names(codex_home);
    let files = rollout_files(codex_home);
    let by_index = pick(
        files.iter().map(|(_, path)| path),
        |id, _| index.get(id).is_some_and(|current| current == name),
        cwd,
    );
    if let NameMatch::Found(_) = by_index {
        return by_index;
    }
    let by_rollout = pick(
        files.iter().map(|(_, path)| path),
        |id, path| !index.contains_key(id) && renamed_in_rollout(path).as_deref() == Some(name),
        cwd,
    );
    match (by_index, by_rollout) {
        (_, NameMatch::Found(path)) => NameMatch::Found(path),
        (NameMatch::OtherCwd, _) | (_, NameMatch::OtherCwd) => NameMatch::OtherCwd,
        _ => NameMatch::Missing,
    }
}

/// The first of `paths` (newest first) whose thread `named(id, path)` and
/// whose latest cwd is `cwd` (any with `None`).
fn pick<'p>(
    paths: impl Iterator<Item = &'p PathBuf>,
    named: impl Fn(&str, &Path) -> bool,
    cwd: Option<&Path>,
) -> NameMatch {
    let mut found = NameMatch::Missing;
    for path in paths {
        let Some(id) = thread_id_of(path) else {
            continue;
        };
        if !named(&id, path) {
            continue;
        }
        let Some(expected) = cwd else {
            return NameMatch::Found(path.clone());
        };
        let last_cwd = summary(path).and_then(|(_, cwd)| cwd);
        if last_cwd.as_deref() == Some(expected) {
            return NameMatch::Found(path.clone());
        }
        found = NameMatch::OtherCwd;
    }
    found
}

/// The `event_msg` that renames a thread inside its rollout.
#[derive(Deserialize)]
struct RenameEvent {
    #[serde(rename = "type")]
    kind: String,
    thread_name: Option<String>,
}

/// One rollout line, with the payload of interest.
#[derive(Deserialize)]
struct RenameLine {
    #[serde(rename = "type")]
    kind: String,
    payload: RenameEvent,
}

/// The name the last `thread_name_updated` event of the rollout at `path`
/// gave its thread (`None` without one, or when it cleared the name).
fn renamed_in_rollout(path: &Path) -> Option<String> {
    const KIND: &str = "thread_name_updated";
    let bytes = std::fs::read(path).ok()?;
    memchr::memmem::find(&bytes, KIND.as_bytes())?;
    let lines: Vec<&str> = text_lines(path, &bytes)
        .map(|(_, line)| line)
        .filter(|line| line.contains(KIND))
        .collect();
    lines
        .into_iter()
        .rev()
        .find_map(|line| {
            serde_json::from_str::<RenameLine>(line)
                .ok()
                .filter(|l| l.kind == "event_msg" && l.payload.kind == KIND)
        })
        .and_then(|line| line.payload.thread_name)
}

/// The thread id at the end of a rollout file name
/// (`rollout-<stamp>-<uuid>.jsonl`), lowercase.
pub(super) fn thread_id_of(path: &Path) -> Option<String> {
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
    fn rollout_rename_events_name_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let text = concat!(
            r#"{"timestamp":"t","type":"session_meta","payload":{"id":"x"}}"#,
            "\n",
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"thread_name_updated","thread_id":"x","thread_name":"first"}}"#,
            "\n",
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"thread_name_updated","thread_id":"x","thread_name":"second"}}"#,
            "\n",
            r#"{"timestamp":"t","type":"event_msg","payload":{"type":"thread_name_upd"#,
        );
        std::fs::write(&path, text).unwrap();
        assert_eq!(renamed_in_rollout(&path).as_deref(), Some("second"));
        std::fs::write(&path, "{}\n").unwrap();
        assert_eq!(renamed_in_rollout(&path), None);
    }

    #[test]
    fn no_index_means_no_match() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(find_by_name(home.path(), "x", None), NameMatch::Missing);
    }
}
