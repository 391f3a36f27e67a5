//! The one stdout writer. Stdout is a contract: JSONL lines or the final message.
#![allow(clippy::print_stdout)]

use std::io::Write;

/// The serialisation buffer is kept between lines up to this capacity.
const KEPT_BUFFER_BYTES: usize = 1 << 20;

/// Why stdout took no more output (STYLE D: only a closed pipe is quiet).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The reader closed stdout (`EPIPE`, `| head -1`): the run ends quietly
    /// with exit 0.
    #[error("stdout was closed")]
    Closed,
    /// Any other write error (a full disk, an I/O error): fatal to the run,
    /// reported on stderr, exit 1.
    #[error("cannot write to stdout: {0}")]
    Failed(std::io::Error),
}

impl SinkError {
    fn from_io(err: std::io::Error) -> SinkError {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            SinkError::Closed
        } else {
            SinkError::Failed(err)
        }
    }
}

/// Owns stdout; every write is flushed at once.
#[derive(Debug, Default)]
pub struct StdoutSink {
    /// The kind of the first write error; every later write fails the same way.
    broken: Option<std::io::ErrorKind>,
    /// Serialisation buffer, reused so large events do not re-grow it each time.
    buffer: Vec<u8>,
}

impl StdoutSink {
    /// A sink on the process's stdout.
    pub fn new() -> StdoutSink {
        StdoutSink::default()
    }

    /// Write `value` as one compact JSON line and flush. A value that cannot be
    /// serialised becomes an `error` line instead. `len_hint` is at least how
    /// long the line will be when known (else 0): the buffer is then sized once
    /// instead of doubling, which would hold twice a multi-megabyte line.
    pub fn json_line<T: serde::Serialize>(
        &mut self,
        value: &T,
        len_hint: usize,
    ) -> Result<(), SinkError> {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        buffer.reserve(len_hint);
        if let Err(err) = serde_json::to_writer(&mut buffer, value) {
            buffer.clear();
            let fallback = serde_json::json!({
                "type": "error",
                "message": format!("failed to serialize exec json event: {err}"),
            });
            // Serialising a JSON value of strings cannot fail.
            let _ = serde_json::to_writer(&mut buffer, &fallback);
        }
        buffer.push(b'\n');
        let result = self.write_bytes(&buffer);
        // A buffer grown for a very large line goes back to the allocator.
        if buffer.capacity() <= KEPT_BUFFER_BYTES {
            self.buffer = buffer;
        }
        result
    }

    /// Write `text`, adding a newline only if it lacks one, and flush.
    pub fn text_block(&mut self, text: &str) -> Result<(), SinkError> {
        self.write(text, !text.ends_with('\n'))
    }

    fn write(&mut self, text: &str, newline: bool) -> Result<(), SinkError> {
        if newline {
            let mut line = String::with_capacity(text.len() + 1);
            line.push_str(text);
            line.push('\n');
            self.write_bytes(line.as_bytes())
        } else {
            self.write_bytes(text.as_bytes())
        }
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        if let Some(kind) = self.broken {
            return Err(SinkError::from_io(kind.into()));
        }
        let mut out = std::io::stdout().lock();
        let result = out.write_all(bytes).and_then(|()| out.flush());
        if let Err(err) = result {
            tracing::debug!(error = %err, "stdout write failed");
            self.broken = Some(err.kind());
            return Err(SinkError::from_io(err));
        }
        Ok(())
    }
}
