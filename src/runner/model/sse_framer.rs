//! SSE framing (the WHATWG `text/event-stream` format): bytes in, the `data`
//! of each event out. Pure and synchronous; the HTTP body and the idle timer
//! stay with the client.
//!
//! Lines end with LF, CRLF or CR (a CRLF may be split across two chunks); a
//! leading BOM is skipped; a line starting with `:` is a comment; `data:` lines
//! are joined with LF; an empty line dispatches the event if it had data;
//! `event:`, `id:`, `retry:` and unknown fields are ignored (the payload's own
//! `type` decides, SPEC §7.6). An incomplete event at the end of the stream is
//! dropped.
//!
//! Unlike a browser, the decoder is strict where leniency would lose data
//! silently: an event whose data is not UTF-8 is an error (not replacement
//! characters), and one event may buffer at most [`MAX_SSE_EVENT_BYTES`], so a
//! server that never ends a line cannot grow the process without bound. Only
//! the data of the event being built is buffered: comments and ignored fields
//! are skipped as they stream by.

/// The most data one SSE event may carry. The largest real events (an output
/// item with a long answer or a big tool call) are a few megabytes.
pub const MAX_SSE_EVENT_BYTES: usize = 64 << 20;

/// The UTF-8 byte order mark, skipped at the start of a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// The field that carries the payload.
const DATA_FIELD: &[u8] = b"data";

/// Why the stream cannot be decoded further. Both end the stream: the caller
/// reports a stream error (retryable, SPEC §7.7) and drops the decoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseFrameError {
    /// One event's data grew past the limit.
    #[error("SSE event larger than {} MiB", .limit_bytes >> 20)]
    TooLarge { limit_bytes: usize },
    /// An event's data is not valid UTF-8.
    #[error("SSE event data is not valid UTF-8")]
    InvalidUtf8,
}

/// Where the decoder is within the current line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LineState {
    /// Matching a BOM at the very start of the stream (`n` bytes matched).
    Bom(usize),
    /// At the start of a line.
    Start,
    /// The first bytes of a line, too few to tell whether it is a `data` line
    /// (a chunk ended inside the field name). At most 4 bytes.
    Head(Vec<u8>),
    /// Inside a `data` line: its value goes straight into the event's data.
    /// `strip_space`: the one optional space after the colon may still come.
    Data { strip_space: bool },
    /// Inside a comment or an ignored field: skipped up to the line end.
    Skip,
}

/// What a line's first bytes say about it.
enum LineKind {
    /// `data:`; the value starts after these many bytes.
    DataWithValue(usize),
    /// `data` alone on its line: a data line with an empty value.
    DataEmpty,
    /// Any other field or a comment.
    Other,
    /// Not enough bytes yet.
    Undecided,
}

/// Incremental SSE decoder; feed it chunks with [`SseDecoder::decode`].
#[derive(Debug)]
pub struct SseDecoder {
    state: LineState,
    /// The data of the event being built (lines joined with LF, plus a
    /// trailing LF).
    data: Vec<u8>,
    /// Whether the event has at least one data line.
    has_data: bool,
    /// The previous chunk ended with CR: an LF starting this one completes it.
    skip_lf: bool,
    limit_bytes: usize,
}

impl Default for SseDecoder {
    fn default() -> SseDecoder {
        SseDecoder::with_limit(MAX_SSE_EVENT_BYTES)
    }
}

impl SseDecoder {
    /// A decoder whose events may carry at most `limit_bytes` of data.
    pub fn with_limit(limit_bytes: usize) -> SseDecoder {
        SseDecoder {
            state: LineState::Bom(0),
            data: Vec::new(),
            has_data: false,
            skip_lf: false,
            limit_bytes,
        }
    }

    /// Consume bytes from the front of `input` until an event is complete or
    /// the input is used up. `Ok(Some(data))`: an event (the rest of `input` is
    /// left for the next call); `Ok(None)`: all of `input` was consumed.
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<String>, SseFrameError> {
        loop {
            if self.skip_lf && !input.is_empty() {
                self.skip_lf = false;
                if input[0] == b'\n' {
                    *input = &input[1..];
                }
            }
            if input.is_empty() {
                return Ok(None);
            }
            match std::mem::replace(&mut self.state, LineState::Start) {
                LineState::Bom(matched) => {
                    let take = (BOM.len() - matched).min(input.len());
                    if input[..take] == BOM[matched..matched + take] {
                        *input = &input[take..];
                        self.state = if matched + take == BOM.len() {
                            LineState::Start
                        } else {
                            LineState::Bom(matched + take)
                        };
                    } else if matched == 0 {
                        self.state = LineState::Start;
                    } else {
                        // The line began with part of a BOM: not a data line.
                        self.state = LineState::Skip;
                    }
                }
                LineState::Start => {
                    if is_line_end(input[0]) {
                        self.end_line(input);
                        if let Some(event) = self.dispatch()? {
                            return Ok(Some(event));
                        }
                        continue;
                    }
                    match classify(input) {
                        LineKind::DataWithValue(skip) => {
                            *input = &input[skip..];
                            self.state = LineState::Data { strip_space: true };
                        }
                        LineKind::DataEmpty => {
                            *input = &input[DATA_FIELD.len()..];
                            self.push_data(&[])?;
                            self.end_line(input);
                        }
                        LineKind::Other => self.state = LineState::Skip,
                        LineKind::Undecided => {
                            self.state = LineState::Head(input.to_vec());
                            *input = &[];
                        }
                    }
                }
                LineState::Head(mut head) => {
                    // Complete the field name up to five bytes (`data:`), stopping
                    // at a line end, which stays in the input.
                    let want = (DATA_FIELD.len() + 1).saturating_sub(head.len());
                    let take = input
                        .iter()
                        .take(want)
                        .position(|&b| is_line_end(b))
                        .unwrap_or(want.min(input.len()));
                    head.extend_from_slice(&input[..take]);
                    *input = &input[take..];
                    let at_line_end = input.first().is_some_and(|&b| is_line_end(b));
                    match classify_head(&head, at_line_end) {
                        LineKind::DataWithValue(_) => {
                            self.state = LineState::Data { strip_space: true };
                        }
                        LineKind::DataEmpty => {
                            self.push_data(&[])?;
                            self.end_line(input);
                        }
                        LineKind::Other => {
                            self.state = LineState::Skip;
                        }
                        LineKind::Undecided => self.state = LineState::Head(head),
                    }
                }
                LineState::Data { strip_space } => {
                    if strip_space && input[0] == b' ' {
                        *input = &input[1..];
                    }
                    match find_line_end(input) {
                        Some(end) => {
                            let (value, rest) = input.split_at(end);
                            *input = rest;
                            self.push_data(value)?;
                            self.end_line(input);
                        }
                        None => {
                            self.append(input)?;
                            *input = &[];
                            // Either the space was stripped or the value began.
                            self.state = LineState::Data { strip_space: false };
                        }
                    }
                }
                LineState::Skip => match find_line_end(input) {
                    Some(end) => {
                        *input = &input[end..];
                        self.end_line(input);
                    }
                    None => {
                        *input = &[];
                        self.state = LineState::Skip;
                    }
                },
            }
        }
    }

    /// Consume the line end at the front of `input` (LF, CR or CRLF) and go
    /// back to the start of a line.
    fn end_line(&mut self, input: &mut &[u8]) {
        self.state = LineState::Start;
        match input.first() {
            Some(b'\n') => *input = &input[1..],
            Some(b'\r') => {
                *input = &input[1..];
                match input.first() {
                    Some(b'\n') => *input = &input[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            _ => {}
        }
    }

    /// Finish a data line whose (last part of the) value is `value`.
    fn push_data(&mut self, value: &[u8]) -> Result<(), SseFrameError> {
        self.append(value)?;
        self.append(b"\n")?;
        self.has_data = true;
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), SseFrameError> {
        if self.data.len() + bytes.len() > self.limit_bytes {
            self.data = Vec::new();
            return Err(SseFrameError::TooLarge {
                limit_bytes: self.limit_bytes,
            });
        }
        self.data.extend_from_slice(bytes);
        Ok(())
    }

    /// An empty line: the event's data, if it had any.
    fn dispatch(&mut self) -> Result<Option<String>, SseFrameError> {
        if !std::mem::take(&mut self.has_data) {
            self.data.clear();
            return Ok(None);
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the LF after the last data line
        String::from_utf8(data)
            .map(Some)
            .map_err(|_| SseFrameError::InvalidUtf8)
    }
}

fn is_line_end(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

fn find_line_end(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\n', b'\r', bytes)
}

/// What the start of a line (`line`, not empty, not a line end) is.
fn classify(line: &[u8]) -> LineKind {
    let field_len = DATA_FIELD.len();
    match line.get(field_len) {
        Some(&byte) if is_line_end(byte) => classify_head(&line[..field_len], true),
        Some(_) => classify_head(&line[..=field_len], false),
        None => classify_head(line, false),
    }
}

/// Classify a line's first bytes `head` (at most five); `at_line_end`: the
/// line ends right after them.
fn classify_head(head: &[u8], at_line_end: bool) -> LineKind {
    if head.first() == Some(&b':') {
        return LineKind::Other;
    }
    if head.len() > DATA_FIELD.len() {
        return if head.starts_with(DATA_FIELD) && head[DATA_FIELD.len()] == b':' {
            LineKind::DataWithValue(DATA_FIELD.len() + 1)
        } else {
            LineKind::Other
        };
    }
    if !DATA_FIELD.starts_with(head) {
        return LineKind::Other;
    }
    match (head.len() == DATA_FIELD.len(), at_line_end) {
        (true, true) => LineKind::DataEmpty,
        (_, true) => LineKind::Other,
        (_, false) => LineKind::Undecided,
    }
}

#[cfg(test)]
#[path = "sse_framer_tests.rs"]
mod tests;
