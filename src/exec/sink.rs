//! The one stdout writer. Stdout is a contract: JSONL lines or the final message.
#![allow(clippy::print_stdout)]

use std::io::Write;

/// Stdout was closed by the reader (`| head -1`): the run ends quietly.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub struct SinkClosed;

/// Owns stdout; every write is flushed at once.
#[derive(Debug, Default)]
pub struct StdoutSink {
    closed: bool,
}

impl StdoutSink {
    /// A sink on the process's stdout.
    pub fn new() -> StdoutSink {
        StdoutSink::default()
    }

    /// Write `text` followed by a newline and flush.
    pub fn line(&mut self, text: &str) -> Result<(), SinkClosed> {
        self.write(text, true)
    }

    /// Write `text`, adding a newline only if it lacks one, and flush.
    pub fn text_block(&mut self, text: &str) -> Result<(), SinkClosed> {
        self.write(text, !text.ends_with('\n'))
    }

    fn write(&mut self, text: &str, newline: bool) -> Result<(), SinkClosed> {
        if self.closed {
            return Err(SinkClosed);
        }
        let mut out = std::io::stdout().lock();
        let result = out
            .write_all(text.as_bytes())
            .and_then(|()| {
                if newline {
                    out.write_all(b"\n")
                } else {
                    Ok(())
                }
            })
            .and_then(|()| out.flush());
        if let Err(err) = result {
            tracing::debug!(error = %err, "stdout write failed");
            self.closed = true;
            return Err(SinkClosed);
        }
        Ok(())
    }
}
