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
        self.sink.json_line(event)
    }
}
