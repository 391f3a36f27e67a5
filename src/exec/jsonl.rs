//! `--json` renderer: every notification becomes one compact JSON line.

use crate::exec::sink::{SinkError, StdoutSink};
use crate::runner::events::{ItemDetails, ThreadEvent};

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

    /// Print one event (nothing for a compaction: 0.169 prints none).
    pub fn render(&mut self, event: &ThreadEvent) -> Result<(), SinkError> {
        if matches!(event, ThreadEvent::ContextCompacted {}) {
            return Ok(());
        }
        self.sink.json_line(event, line_len_hint(event))
    }
}

/// Room for an item event's framing around an agent message's text.
const ITEM_OVERHEAD_BYTES: usize = 512;

/// How long `event`'s line will be, when it carries an agent message (whose
/// escaped text is at hand); 0 otherwise.
fn line_len_hint(event: &ThreadEvent) -> usize {
    match event {
        ThreadEvent::ItemStarted { item }
        | ThreadEvent::ItemUpdated { item }
        | ThreadEvent::ItemCompleted { item } => match &item.details {
            ItemDetails::AgentMessage { text } => text.literal().get().len() + ITEM_OVERHEAD_BYTES,
            _ => 0,
        },
        _ => 0,
    }
}
