//! `--json` renderer: every notification becomes one compact JSON line.

use crate::exec::sink::{SinkClosed, StdoutSink};
use crate::runner::events::ThreadEvent;

/// Writes each event as a JSON line through the stdout sink.
#[derive(Debug)]
pub struct JsonlRenderer {
    sink: StdoutSink,
}

impl JsonlRenderer {
    /// A renderer that owns `sink`.
    pub fn new(sink: StdoutSink) -> JsonlRenderer {
        JsonlRenderer { sink }
    }

    /// Print one event.
    pub fn render(&mut self, event: &ThreadEvent) -> Result<(), SinkClosed> {
        match serde_json::to_string(event) {
            Ok(line) => self.sink.line(&line),
            Err(err) => {
                let fallback = serde_json::json!({
                    "type": "error",
                    "message": format!("failed to serialize exec json event: {err}"),
                });
                self.sink.line(&fallback.to_string())
            }
        }
    }
}
