//! Writing responses: status replies and event streams.

use std::io::{self, BufWriter, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::reason;
use crate::reply::{Reply, ReplyKind, StreamEnd};

/// Upper bound for [`Reply::stall_after`].
const STALL_LIMIT: Duration = Duration::from_secs(600);

/// What to do with the connection after a response.
pub(crate) enum After {
    /// Serve the next request (if the request allowed keep-alive).
    KeepOpen,
    /// Close the connection.
    Close,
}

pub(crate) fn error_body(message: &str, kind: &str) -> String {
    serde_json::json!({"error": {"message": message, "type": kind}}).to_string()
}

/// Writes the status line and headers: `defaults` first, each replaced by an extra header
/// of the same name, then the remaining extras. Framing headers cannot be overridden.
fn write_head(
    out: &mut Vec<u8>,
    code: u16,
    defaults: &[(&str, &str)],
    extra: &[(String, String)],
    keep_alive: bool,
) {
    let framing = |name: &str| {
        name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
    };
    out.extend_from_slice(format!("HTTP/1.1 {code} {}\r\n", reason(code)).as_bytes());
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let connection_header = ("connection", connection);
    let defaults = defaults.iter().chain([&connection_header]);
    let mut used = vec![false; extra.len()];
    for (name, value) in defaults {
        let overridden = extra
            .iter()
            .position(|(n, _)| !framing(n) && n.eq_ignore_ascii_case(name));
        let value = match overridden {
            Some(i) => {
                used[i] = true;
                extra[i].1.as_str()
            }
            None => value,
        };
        push_header(out, name, value);
    }
    for ((name, value), used) in extra.iter().zip(used) {
        if !used && !framing(name) {
            push_header(out, name, value);
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

pub(crate) fn write_status(
    stream: &TcpStream,
    code: u16,
    body: &str,
    extra: &[(String, String)],
    keep_alive: bool,
) -> io::Result<()> {
    let content_type = if serde_json::from_str::<serde::de::IgnoredAny>(body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let length = body.len().to_string();
    let mut out = Vec::with_capacity(256 + body.len());
    write_head(
        &mut out,
        code,
        &[("content-type", content_type), ("content-length", &length)],
        extra,
        keep_alive,
    );
    out.extend_from_slice(body.as_bytes());
    let mut writer = stream;
    writer.write_all(&out)?;
    writer.flush()
}

/// The events of an event-stream reply, each rendered as its chunk (empty for a
/// reply of another kind). A reply served many times (the fallback) is rendered
/// once, so serving it costs only the writes.
pub(crate) fn render_events(reply: &Reply) -> Vec<Vec<u8>> {
    let events: &[Value] = match &reply.kind {
        ReplyKind::Sse(events) => events,
        ReplyKind::RawSse(raw) => return vec![raw.clone()],
        ReplyKind::Status { .. } | ReplyKind::NoHeaders => return Vec::new(),
    };
    events
        .iter()
        .map(|event| {
            let mut chunk = Vec::new();
            render_event(&mut chunk, event);
            chunk
        })
        .collect()
}

/// Writes `reply`; `rendered` are its chunks from [`render_events`] when known.
pub(crate) fn write_reply(
    stream: &TcpStream,
    reply: &Reply,
    rendered: Option<&[Vec<u8>]>,
    keep_alive: bool,
    shutdown: &AtomicBool,
) -> io::Result<After> {
    if reply.delay_before_headers_ms > 0 {
        thread::sleep(Duration::from_millis(reply.delay_before_headers_ms));
    }
    // A raw body is one event whose rendered chunk is the body itself.
    let raw_event = [Value::Null];
    let (events, rendered): (&[Value], Option<&[Vec<u8>]>) = match &reply.kind {
        ReplyKind::Status { code, body } => {
            write_status(stream, *code, body, &reply.headers, keep_alive)?;
            return Ok(After::KeepOpen);
        }
        ReplyKind::NoHeaders => {
            stall(stream, shutdown);
            return Ok(After::Close);
        }
        ReplyKind::Sse(events) => (events, rendered),
        ReplyKind::RawSse(raw) => (&raw_event, Some(std::slice::from_ref(raw))),
    };
    let limit = match reply.end {
        StreamEnd::Complete => events.len(),
        StreamEnd::Cut(n) | StreamEnd::Stall(n) => n,
    };
    let keep_alive = keep_alive && reply.end == StreamEnd::Complete;

    let mut head = Vec::with_capacity(256);
    write_head(
        &mut head,
        200,
        &[
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
            ("transfer-encoding", "chunked"),
        ],
        &reply.headers,
        keep_alive,
    );
    let mut out = BufWriter::with_capacity(64 * 1024, stream);
    out.write_all(&head)?;
    let delay = Duration::from_millis(reply.event_delay_ms);
    let mut scratch: Vec<u8> = Vec::with_capacity(1024);
    for (i, event) in events.iter().take(limit).enumerate() {
        if i > 0 && !delay.is_zero() {
            thread::sleep(delay);
        }
        let chunk: &[u8] = match rendered.and_then(|chunks| chunks.get(i)) {
            Some(chunk) => chunk,
            None => {
                scratch.clear();
                render_event(&mut scratch, event);
                &scratch
            }
        };
        if chunk.is_empty() {
            // A zero-length chunk would end the body.
            continue;
        }
        write!(out, "{:x}\r\n", chunk.len())?;
        out.write_all(chunk)?;
        out.write_all(b"\r\n")?;
        if !delay.is_zero() {
            out.flush()?;
        }
    }
    match reply.end {
        StreamEnd::Complete => {
            out.write_all(b"0\r\n\r\n")?;
            out.flush()?;
            Ok(After::KeepOpen)
        }
        StreamEnd::Cut(_) => {
            out.flush()?;
            drop(out);
            let _ = stream.shutdown(Shutdown::Both);
            Ok(After::Close)
        }
        StreamEnd::Stall(_) => {
            out.flush()?;
            drop(out);
            stall(stream, shutdown);
            Ok(After::Close)
        }
    }
}

/// Appends one SSE event: strings verbatim, anything else as `event:`/`data:` lines.
fn render_event(out: &mut Vec<u8>, event: &Value) {
    if let Value::String(raw) = event {
        out.extend_from_slice(raw.as_bytes());
        return;
    }
    if let Some(kind) = event.get("type").and_then(Value::as_str) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    // Writing into a Vec cannot fail, and a Value always serialises.
    let _ = serde_json::to_writer(&mut *out, event);
    out.extend_from_slice(b"\n\n");
}

/// Keeps a connection open, discarding input, until the client leaves, the server shuts
/// down or [`STALL_LIMIT`] passes.
fn stall(stream: &TcpStream, shutdown: &AtomicBool) {
    let deadline = Instant::now() + STALL_LIMIT;
    let mut sink = [0u8; 4096];
    while Instant::now() < deadline && !shutdown.load(Ordering::SeqCst) {
        match (&*stream).read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}
