//! SSE framing and payload parsing: the decoder fed one chunk or many gives the
//! same events, agrees with a line-by-line reading of the WHATWG rules, keeps
//! its limit, and every event's payload goes through the parser without a panic.
//!
//! Input: byte 0 sets the event size limit, byte 1 seeds the chunk cuts, the
//! rest is the stream.
#![no_main]

use codex_exec_fuzz::sse;
use codex_exec_fuzz::sse_framer::{SseDecoder, SseFrameError};
use libfuzzer_sys::fuzz_target;

/// Every event of `stream` fed in chunks cut at `cuts`, then the error if any.
fn decode(stream: &[u8], cuts: &[usize], limit: usize) -> (Vec<String>, Option<SseFrameError>) {
    let mut decoder = SseDecoder::with_limit(limit);
    let mut events = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([stream.len()]) {
        let mut chunk = &stream[start..end];
        start = end;
        loop {
            match decoder.decode(&mut chunk) {
                Ok(Some(data)) => events.push(data),
                Ok(None) => break,
                Err(err) => return (events, Some(err)),
            }
        }
        assert!(chunk.is_empty(), "a chunk was not consumed");
    }
    (events, None)
}

/// The data of every complete event, read line by line as the WHATWG
/// algorithm describes it (no limit, no UTF-8 check).
fn reference(stream: &[u8]) -> Vec<Vec<u8>> {
    let stream = stream.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(stream);
    let mut events = Vec::new();
    let mut data: Option<Vec<u8>> = None;
    let mut rest = stream;
    while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
        let line = &rest[..end];
        let after = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
            end + 2
        } else {
            end + 1
        };
        rest = &rest[after..];
        if line.is_empty() {
            if let Some(mut event) = data.take() {
                event.pop();
                events.push(event);
            }
            continue;
        }
        if line[0] == b':' {
            continue;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        if field == b"data" {
            let buffer = data.get_or_insert_with(Vec::new);
            buffer.extend_from_slice(value);
            buffer.push(b'\n');
        }
    }
    events
}

/// Chunk boundaries derived from `seed` (a small linear congruential walk).
fn cuts(len: usize, seed: u8) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut state = u32::from(seed) | 1;
    let mut at = 0usize;
    while at < len {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        at += 1 + (state >> 16) as usize % 7;
        if at < len {
            cuts.push(at);
        }
    }
    cuts
}

fuzz_target!(|input: &[u8]| {
    let Some((&[limit_byte, seed], stream)) = input.split_first_chunk::<2>() else {
        return;
    };
    let limit = 1 + usize::from(limit_byte) * 4;
    let whole = decode(stream, &[], limit);
    let split = decode(stream, &cuts(stream.len(), seed), limit);
    assert_eq!(whole, split, "chunking changed the events");
    let expected = reference(stream);
    let (events, error) = whole;
    assert!(events.len() <= expected.len());
    for (got, want) in events.iter().zip(&expected) {
        assert_eq!(got.as_bytes(), want.as_slice());
        assert!(got.len() < limit, "an event over the limit");
    }
    match error {
        None => assert_eq!(events.len(), expected.len(), "events were lost"),
        Some(SseFrameError::InvalidUtf8) => {
            let bad = &expected[events.len()];
            assert!(std::str::from_utf8(bad).is_err() && bad.len() < limit);
        }
        Some(SseFrameError::TooLarge { .. }) => {}
    }
    for data in events {
        let _ = sse::parse_event(data);
    }
});
