//! The rollout recorder: appends one `{"timestamp","type","payload"}` JSON line
//! per record to `sessions/YYYY/MM/DD/rollout-<local time>-<thread id>.jsonl`.
//!
//! Each record is one `write_all` of a whole line on an `O_APPEND` file, with no
//! buffering across records, so a crash loses at most the line being written
//! (readers tolerate a torn last line). A new thread's file is created only when
//! the first user message is recorded (`materialize`); until then records wait
//! in memory. Files are created with `create_new`, so two runs never share one.
//! The credential value is redacted from every line; request headers are never
//! recorded. A write failure is logged once and recording stops: losing the
//! transcript must not fail the run.

use std::fs::{File, OpenOptions};
use std::io::Write;
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
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Open once materialised.
    file: Option<File>,
    /// Whether records go to the file (else to `pending`).
    materialized: bool,
    /// Lines recorded before the file exists.
    pending: Vec<u8>,
    /// The line being serialised, kept for the next record.
    line: Vec<u8>,
    /// Recording stopped after an error.
    failed: bool,
    /// The last `agent_message` recorded (for `task_complete`).
    last_agent_message: Option<MessageText>,
    /// The id of the turn under way (for the tools' end events).
    turn_id: Option<String>,
}

impl RolloutRecorder {
    /// A recorder for a new thread; nothing touches the disk until
    /// [`RolloutRecorder::materialize`].
    pub fn create(
        codex_home: &Path,
        thread_id: &str,
        stamp: &FileStamp,
        secret: Option<String>,
    ) -> RolloutRecorder {
        let path = codex_home
            .join(SESSIONS_DIR)
            .join(&stamp.dir)
            .join(format!("rollout-{}-{thread_id}.jsonl", stamp.stamp));
        RolloutRecorder::with_state(path, secret, false)
    }

    /// A recorder that appends to an existing rollout (resume).
    pub fn append_to(path: PathBuf, secret: Option<String>) -> RolloutRecorder {
        RolloutRecorder::with_state(path, secret, true)
    }

    fn with_state(path: PathBuf, secret: Option<String>, materialized: bool) -> RolloutRecorder {
        RolloutRecorder {
            path,
            secret: secret.filter(|s| s.chars().count() >= MIN_REDACTED_SECRET_CHARS),
            state: Mutex::new(State {
                file: None,
                materialized,
                pending: Vec::new(),
                line: Vec::new(),
                failed: false,
                last_agent_message: None,
                turn_id: None,
            }),
        }
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
        if state.failed {
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

    /// Create the file (first user message) and write what waited in memory.
    pub fn materialize(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.materialized || state.failed {
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
        if state.file.is_none() {
            let mut options = OpenOptions::new();
            options.append(true);
            let existing = self.path.exists();
            if !existing {
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir).map_err(wrap)?;
                }
                options.create_new(true);
            }
            let mut file = options.open(&self.path).map_err(wrap)?;
            if existing && !ends_with_newline(&self.path).map_err(wrap)? {
                // A torn last line (crash mid-write) must not swallow our first record.
                file.write_all(b"\n").map_err(wrap)?;
            }
            state.file = Some(file);
        }
        match &mut state.file {
            Some(file) => file.write_all(bytes).map_err(wrap),
            None => Ok(()),
        }
    }

    fn fail(&self, state: &mut State, err: &SessionError) {
        state.failed = true;
        state.pending.clear();
        tracing::warn!(cause = %err, "session recording stopped");
    }
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
        let rec = RolloutRecorder::create(&dir, "abc", &stamp, Some("sk-secret".into()));
        rec.record("session_meta", &json!({"id": "abc"}));
        assert!(!rec.path.as_path().exists());
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
        let rec = RolloutRecorder::create(&dir, "abc", &stamp, Some("sk".into()));
        rec.record("session_meta", &json!({"id": "abc"}));
        rec.record("event_msg", &json!({"type": "task_started"}));
        rec.materialize();
        let text = std::fs::read_to_string(rec.path.as_path()).unwrap();
        assert!(text.contains("task_started"), "{text}");
        assert!(!text.contains(REDACTED), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rollout-test-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
