//! The rollout recorder: appends one `{"timestamp","type","payload"}` JSON line
//! per record to `sessions/YYYY/MM/DD/rollout-<local time>-<thread id>.jsonl`.
//!
//! Each record is one `write_all` of a whole line on an `O_APPEND` file, with no
//! buffering across records, so a crash loses at most the line being written
//! (readers tolerate a torn last line).
//!
//! The file is opened when the run starts, before any model request, so a
//! session that cannot be recorded fails the run at once: a new thread's file
//! is created (`create_new`, so two runs never share one), a resumed thread's
//! opened for appending. Either way the run holds an exclusive advisory lock
//! (`flock`) on it until it exits: a second writer of the same thread is
//! refused, and the kernel drops the lock with the descriptor, so a killed run
//! leaves no stale lock. A new thread's records wait in memory until its first
//! user message (`materialize`); a run that ends before that removes its empty
//! file again.
//!
//! The credential value is redacted from every line; request headers are never
//! recorded. A write failure stops recording (a line may be half written) and
//! is kept for the run to report once ([`RolloutRecorder::take_failure_report`]):
//! losing the transcript must not lose the turn's answer, nor pass silently.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::value::RawValue;
use serde_json::{json, Value};
use time::macros::format_description;
use time::OffsetDateTime;

use super::{SessionError, SESSIONS_DIR};
use crate::runner::events::MessageText;

/// One rollout line: `{"timestamp","type","payload"}`.
#[derive(serde::Serialize)]
struct RecordLine<'a, P: serde::Serialize + ?Sized> {
    timestamp: String,
    #[serde(rename = "type")]
    kind: &'a str,
    payload: &'a P,
}

/// The payload of an `agent_message` event.
#[derive(serde::Serialize)]
struct AgentMessagePayload<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a RawValue,
}

/// The payload of a `task_complete` event.
#[derive(serde::Serialize)]
struct TaskCompletePayload<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    turn_id: &'a str,
    last_agent_message: Option<&'a RawValue>,
}

/// Room for a line's timestamp, type and framing around its payload.
const LINE_OVERHEAD_BYTES: usize = 512;
/// The line buffer is kept between records up to this capacity.
const KEPT_LINE_BYTES: usize = 1 << 20;

/// Replaces the credential wherever it would appear in a line.
const REDACTED: &str = "[REDACTED]";
/// Credentials shorter than this are not redacted: real API keys are much
/// longer, and replacing a short string (say `sk`) would corrupt ordinary text.
const MIN_REDACTED_SECRET_CHARS: usize = 8;

/// Local creation time of a new rollout, captured while the process is still
/// single-threaded (the local offset is only knowable then).
#[derive(Debug, Clone)]
pub struct FileStamp {
    /// `YYYY/MM/DD`.
    dir: PathBuf,
    /// `YYYY-MM-DDThh-mm-ss`.
    stamp: String,
}

/// The local time now, as a [`FileStamp`] (UTC if the offset is unknown).
pub fn file_stamp() -> FileStamp {
    let now = OffsetDateTime::now_utc();
    let local = time::UtcOffset::current_local_offset()
        .map(|offset| now.to_offset(offset))
        .unwrap_or(now);
    let (y, m, d) = (local.year(), u8::from(local.month()), local.day());
    FileStamp {
        dir: PathBuf::from(format!("{y:04}/{m:02}/{d:02}")),
        stamp: format!(
            "{y:04}-{m:02}-{d:02}T{:02}-{:02}-{:02}",
            local.hour(),
            local.minute(),
            local.second()
        ),
    }
}

/// RFC 3339 UTC with milliseconds, as every record's `timestamp`.
pub fn timestamp_now() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .unwrap_or_default()
}

/// Appends records to one rollout file. Shared by the thread, the turn and the
/// emitter; the lock is never held across an `.await`.
#[derive(Debug)]
pub struct RolloutRecorder {
    path: PathBuf,
    secret: Option<String>,
    /// This run created the file (it is removed if nothing was ever written).
    created: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The rollout, open for appending and locked.
    file: File,
    /// Whether records go to the file (else to `pending`).
    materialized: bool,
    /// The existing file ends in a torn line: a newline goes first.
    needs_newline: bool,
    /// Lines recorded before the file is materialised.
    pending: Vec<u8>,
    /// The line being serialised, kept for the next record.
    line: Vec<u8>,
    /// Why recording stopped, once a write failed.
    failure: Option<String>,
    /// Whether the failure was handed out for reporting.
    failure_reported: bool,
    /// The last `agent_message` recorded (for `task_complete`).
    last_agent_message: Option<MessageText>,
    /// The id of the turn under way (for the tools' end events).
    turn_id: Option<String>,
}

impl RolloutRecorder {
    /// Create and lock the rollout of a new thread (its directory too);
    /// records are kept in memory until [`RolloutRecorder::materialize`].
    pub fn create(
        codex_home: &Path,
        thread_id: &str,
        stamp: &FileStamp,
        secret: Option<String>,
    ) -> Result<RolloutRecorder, SessionError> {
        let path = codex_home
            .join(SESSIONS_DIR)
            .join(&stamp.dir)
            .join(format!("rollout-{}-{thread_id}.jsonl", stamp.stamp));
        let open_error = |source| SessionError::Open {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(open_error)?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(open_error)?;
        if let Err(err) = lock(&file, &path, thread_id) {
            let _ = std::fs::remove_file(&path);
            return Err(err);
        }
        Ok(RolloutRecorder::with_state(path, secret, true, file, false))
    }

    /// Open and lock an existing rollout for appending (resume). Fails with
    /// [`SessionError::Locked`] while another run records to it.
    pub fn append_to(
        path: PathBuf,
        secret: Option<String>,
    ) -> Result<RolloutRecorder, SessionError> {
        let open_error = |source| SessionError::Open {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(open_error)?;
        let thread_id =
            super::names::thread_id_of(&path).unwrap_or_else(|| path.display().to_string());
        lock(&file, &path, &thread_id)?;
        // A torn last line (crash mid-write) must not swallow our first record.
        let needs_newline = !ends_with_newline(&path).map_err(open_error)?;
        Ok(RolloutRecorder::with_state(
            path,
            secret,
            false,
            file,
            needs_newline,
        ))
    }

    fn with_state(
        path: PathBuf,
        secret: Option<String>,
        created: bool,
        file: File,
        needs_newline: bool,
    ) -> RolloutRecorder {
        RolloutRecorder {
            path,
            secret: secret.filter(|s| s.chars().count() >= MIN_REDACTED_SECRET_CHARS),
            created,
            state: Mutex::new(State {
                file,
                materialized: !created,
                needs_newline,
                pending: Vec::new(),
                line: Vec::new(),
                failure: None,
                failure_reported: false,
                last_agent_message: None,
                turn_id: None,
            }),
        }
    }

    /// Why recording stopped, if a write failed (every time it is asked).
    pub fn failure(&self) -> Option<String> {
        self.state.lock().ok().and_then(|s| s.failure.clone())
    }

    /// Why recording stopped, the first time it is asked after a write
    /// failed; `None` otherwise. The run reports it as an `error` event.
    pub fn take_failure_report(&self) -> Option<String> {
        let mut state = self.state.lock().ok()?;
        if state.failure_reported {
            return None;
        }
        let failure = state.failure.clone()?;
        state.failure_reported = true;
        Some(failure)
    }

    /// Record a `response_item` (serialised JSON).
    pub fn record_item(&self, item: &RawValue) {
        self.record_sized("response_item", item, item.get().len());
    }

    /// Record an `event_msg` of type `kind` with `fields` (an object).
    pub fn record_event(&self, kind: &str, fields: Value) {
        let mut payload = json!({"type": kind});
        if let (Some(map), Value::Object(fields)) = (payload.as_object_mut(), fields) {
            map.extend(fields);
        }
        self.record("event_msg", &payload);
    }

    /// Record `task_started` for turn `turn_id`; the events the turn's tools
    /// record carry its id.
    pub fn record_task_started(&self, turn_id: &str, model_context_window: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.turn_id = Some(turn_id.to_string());
        }
        self.record_event(
            "task_started",
            json!({"turn_id": turn_id, "model_context_window": model_context_window}),
        );
    }

    /// Record an `event_msg` of the turn under way: `fields` gain its `turn_id`.
    pub fn record_turn_event(&self, kind: &str, mut fields: Value) {
        let turn_id = self.state.lock().ok().and_then(|s| s.turn_id.clone());
        if let (Some(map), Some(turn_id)) = (fields.as_object_mut(), turn_id) {
            map.insert("turn_id".to_string(), Value::String(turn_id));
        }
        self.record_event(kind, fields);
    }

    /// Record an `agent_message` event; the message is kept (shared, not
    /// copied) for the `task_complete` that ends the turn.
    pub fn record_agent_message(&self, message: &MessageText) {
        self.record_sized(
            "event_msg",
            &AgentMessagePayload {
                kind: "agent_message",
                message: message.literal(),
            },
            message.literal().get().len(),
        );
        if let Ok(mut state) = self.state.lock() {
            state.last_agent_message = Some(message.clone());
        }
    }

    /// Record the `task_complete` of turn `turn_id`, with the turn's last
    /// `agent_message` (if any).
    pub fn record_task_complete(&self, turn_id: &str) {
        let last = self
            .state
            .lock()
            .ok()
            .and_then(|mut s| s.last_agent_message.take());
        let literal = last.as_ref().map(MessageText::literal);
        self.record_sized(
            "event_msg",
            &TaskCompletePayload {
                kind: "task_complete",
                turn_id,
                last_agent_message: literal,
            },
            literal.map_or(0, |l| l.get().len()),
        );
    }

    /// Record one line of any kind.
    pub fn record<P: serde::Serialize + ?Sized>(&self, kind: &str, payload: &P) {
        self.record_sized(kind, payload, 0);
    }

    /// Record one line whose payload serialises to about `payload_len` bytes
    /// (0: unknown): the line buffer is sized once instead of doubling, which
    /// would hold twice a multi-megabyte payload.
    fn record_sized<P: serde::Serialize + ?Sized>(
        &self,
        kind: &str,
        payload: &P,
        payload_len: usize,
    ) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.failure.is_some() {
            return;
        }
        // Serialised from borrowed parts into a buffer kept between records:
        // a multi-megabyte payload is copied once and needs no fresh memory.
        let mut line = std::mem::take(&mut state.line);
        line.clear();
        line.reserve(payload_len + LINE_OVERHEAD_BYTES);
        let record = RecordLine {
            timestamp: timestamp_now(),
            kind,
            payload,
        };
        if serde_json::to_writer(&mut line, &record).is_ok() {
            if let Some(secret) = &self.secret {
                if memchr::memmem::find(&line, secret.as_bytes()).is_some() {
                    line = redact(&line, secret.as_bytes());
                }
            }
            line.push(b'\n');
            if !state.materialized {
                state.pending.extend_from_slice(&line);
            } else if let Err(err) = self.write(&mut state, &line) {
                self.fail(&mut state, &err);
            }
        }
        // A buffer grown for a very large record goes back to the allocator.
        if line.capacity() <= KEPT_LINE_BYTES {
            state.line = line;
        }
    }

    /// Write what waited in memory (at the first user message); from now on
    /// every record goes to the file at once.
    pub fn materialize(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.materialized || state.failure.is_some() {
            return;
        }
        state.materialized = true;
        let pending = std::mem::take(&mut state.pending);
        if let Err(err) = self.write(&mut state, &pending) {
            self.fail(&mut state, &err);
        }
    }

    fn write(&self, state: &mut State, bytes: &[u8]) -> Result<(), SessionError> {
        let wrap = |source| SessionError::Write {
            path: self.path.clone(),
            source,
        };
        if std::mem::take(&mut state.needs_newline) {
            state.file.write_all(b"\n").map_err(wrap)?;
        }
        state.file.write_all(bytes).map_err(wrap)
    }

    fn fail(&self, state: &mut State, err: &SessionError) {
        state.pending.clear();
        tracing::debug!(cause = %err, "session recording stopped");
        state.failure = Some(format!(
            "failed to record the session ({err}); the rest of this run is not recorded, so a \
             resumed thread will miss it"
        ));
    }
}

impl Drop for RolloutRecorder {
    fn drop(&mut self) {
        // A new thread's file that never got its first user message holds
        // nothing worth keeping (the run failed at startup).
        let unused = self.created && self.state.get_mut().is_ok_and(|s| !s.materialized);
        if unused {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Take the exclusive writer lock on `file` (the rollout at `path` of
/// `thread_id`) without waiting.
fn lock(file: &File, path: &Path, thread_id: &str) -> Result<(), SessionError> {
    // SAFETY: `flock` only reads the descriptor, which `file` keeps open for
    // the duration of the call; it touches no memory of ours.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Err(SessionError::Locked {
            thread_id: thread_id.to_string(),
            path: path.to_path_buf(),
        });
    }
    Err(SessionError::Open {
        path: path.to_path_buf(),
        source: err,
    })
}

/// `line` with every occurrence of `secret` replaced by [`REDACTED`].
fn redact(line: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = memchr::memmem::find(rest, secret) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(REDACTED.as_bytes());
        rest = &rest[at + secret.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Whether the file at `path` is empty or ends with a newline.
fn ends_with_newline(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nothing_is_written_before_materialize_and_secrets_are_redacted() {
        let dir = tempfile_dir();
        let stamp = FileStamp {
            dir: PathBuf::from("2026/01/02"),
            stamp: "2026-01-02T03-04-05".into(),
        };
        let rec = RolloutRecorder::create(&dir, "abc", &stamp, Some("sk-secret".into())).unwrap();
        rec.record("session_meta", &json!({"id": "abc"}));
        assert_eq!(std::fs::read(rec.path.as_path()).unwrap(), b"");
        rec.record_item(
            &serde_json::value::to_raw_value(&json!({"text": "my key is sk-secret!"})).unwrap(),
        );
        rec.materialize();
        let text = std::fs::read_to_string(rec.path.as_path()).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(!text.contains("sk-secret"), "{text}");
        assert!(text.contains(REDACTED));
        assert!(rec
            .path
            .ends_with("sessions/2026/01/02/rollout-2026-01-02T03-04-05-abc.jsonl"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn short_credentials_do_not_corrupt_records() {
        let dir = tempfile_dir();
        let stamp = FileStamp {
            dir: PathBuf::from("2026/01/02"),
            stamp: "2026-01-02T03-04-05".into(),
        };
        let rec = RolloutRecorder::create(&dir, "abc", &stamp, Some("sk".into())).unwrap();
        rec.record("session_meta", &json!({"id": "abc"}));
        rec.record("event_msg", &json!({"type": "task_started"}));
        rec.materialize();
        let text = std::fs::read_to_string(rec.path.as_path()).unwrap();
        assert!(text.contains("task_started"), "{text}");
        assert!(!text.contains(REDACTED), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_second_writer_is_refused_until_the_first_is_gone() {
        let dir = tempfile_dir();
        let stamp = FileStamp {
            dir: PathBuf::from("2026/01/02"),
            stamp: "2026-01-02T03-04-05".into(),
        };
        let id = "0199a213-81c0-7800-8aa1-bbab2a035a53";
        let first = RolloutRecorder::create(&dir, id, &stamp, None).unwrap();
        first.record("session_meta", &json!({"id": id}));
        first.materialize();
        let path = first.path.clone();
        let err = RolloutRecorder::append_to(path.clone(), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "thread {id} already has an active writer: another run is recording to {}; \
                 wait for it to finish",
                path.display()
            )
        );
        drop(first);
        let second = RolloutRecorder::append_to(path.clone(), None).unwrap();
        second.record("event_msg", &json!({"type": "task_started"}));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unused_new_file_is_removed_and_a_torn_line_is_ended() {
        let dir = tempfile_dir();
        let stamp = FileStamp {
            dir: PathBuf::from("2026/01/02"),
            stamp: "2026-01-02T03-04-05".into(),
        };
        let unused = RolloutRecorder::create(&dir, "abc", &stamp, None).unwrap();
        let path = unused.path.clone();
        assert!(path.exists());
        drop(unused);
        assert!(!path.exists());
        std::fs::write(&path, b"{\"type\":\"session_meta\"}\n{\"torn").unwrap();
        let rec = RolloutRecorder::append_to(path.clone(), None).unwrap();
        rec.record("event_msg", &json!({"type": "x"}));
        drop(rec);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_is_reported_once() {
        let dir = tempfile_dir();
        let path = dir.join("rollout.jsonl");
        std::fs::write(&path, b"").unwrap();
        let rec = RolloutRecorder::append_to(path.clone(), None).unwrap();
        // A read-only descriptor in place of the file: every write fails.
        rec.state.lock().unwrap().file = File::open(&path).unwrap();
        rec.record("event_msg", &json!({"type": "x"}));
        let report = rec.take_failure_report().unwrap();
        assert!(
            report.starts_with(&format!(
                "failed to record the session (cannot write the rollout {}: ",
                path.display()
            )),
            "{report}"
        );
        assert_eq!(rec.take_failure_report(), None);
        assert_eq!(rec.failure(), Some(report));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rollout-test-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
