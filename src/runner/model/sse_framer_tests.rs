//! Unit tests of the SSE decoder.
#![allow(clippy::unwrap_used)]

use super::*;

/// Every event of `stream` fed as one chunk, then the error if decoding failed.
fn events(stream: &[u8]) -> (Vec<String>, Option<SseFrameError>) {
    events_split(stream, &[])
}

/// Every event of `stream` fed in chunks cut at `cuts` (sorted offsets).
fn events_split(stream: &[u8], cuts: &[usize]) -> (Vec<String>, Option<SseFrameError>) {
    let mut decoder = SseDecoder::with_limit(1024);
    let mut out = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([stream.len()]) {
        let mut chunk = &stream[start..end];
        start = end;
        loop {
            match decoder.decode(&mut chunk) {
                Ok(Some(data)) => out.push(data),
                Ok(None) => break,
                Err(err) => return (out, Some(err)),
            }
        }
        assert!(chunk.is_empty());
    }
    (out, None)
}

#[test]
fn data_lines_are_joined_and_other_fields_ignored() {
    let stream = b"event: x\ndata: a\ndata:b\ndata:  c\nid: 1\nretry: 5\nfoo: bar\n\n";
    assert_eq!(events(stream), (vec!["a\nb\n c".to_string()], None));
}

#[test]
fn every_line_ending_works() {
    for stream in [
        &b"data: 1\n\ndata: 2\n\n"[..],
        b"data: 1\r\n\r\ndata: 2\r\n\r\n",
        b"data: 1\r\rdata: 2\r\r",
        b"data: 1\r\n\rdata: 2\n\r\n",
    ] {
        assert_eq!(
            events(stream),
            (vec!["1".to_string(), "2".to_string()], None),
            "{stream:?}"
        );
    }
}

#[test]
fn comments_bom_and_events_without_data_give_nothing() {
    let stream = b"\xEF\xBB\xBF: hello\n\nevent: ping\n\ndata: x\n\n";
    assert_eq!(events(stream), (vec!["x".to_string()], None));
    // A BOM is only skipped at the very start.
    assert_eq!(events(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n").0, vec!["a"]);
}

#[test]
fn a_bare_data_field_is_an_empty_value() {
    assert_eq!(events(b"data\n\n").0, vec![""]);
    assert_eq!(events(b"data\ndata: x\n\n").0, vec!["\nx"]);
    assert_eq!(events(b"dat\n\ndatum: x\n\n").0, Vec::<String>::new());
}

#[test]
fn an_incomplete_last_event_is_dropped() {
    assert_eq!(events(b"data: a\n\ndata: b\n").0, vec!["a"]);
    assert_eq!(events(b"data: a\n\ndata: b").0, vec!["a"]);
}

#[test]
fn every_chunk_boundary_gives_the_same_events() {
    let stream: &[u8] =
        b"\xEF\xBB\xBFevent: a\r\ndata: {\"x\":1}\r\n\r\n: c\rdata\rdata:y\r\rdata:  z\n\n";
    let whole = events(stream);
    assert_eq!(whole.0, vec!["{\"x\":1}", "\ny", " z"]);
    for a in 0..=stream.len() {
        for b in a..=stream.len() {
            assert_eq!(events_split(stream, &[a, b]), whole, "cut at {a} and {b}");
        }
    }
}

#[test]
fn one_event_may_not_exceed_the_limit() {
    let mut stream = b"data: ".to_vec();
    stream.extend(std::iter::repeat_n(b'a', 2000));
    let (seen, err) = events(&stream);
    assert!(seen.is_empty());
    assert_eq!(err, Some(SseFrameError::TooLarge { limit_bytes: 1024 }));
    // Many small data lines add up.
    let stream = b"data: 0123456789\n".repeat(100);
    assert_eq!(
        events(&stream).1,
        Some(SseFrameError::TooLarge { limit_bytes: 1024 })
    );
    // Comments and ignored fields are not buffered, whatever their length.
    let mut stream = b": ".to_vec();
    stream.extend(std::iter::repeat_n(b'a', 5000));
    stream.extend_from_slice(b"\nevent: ");
    stream.extend(std::iter::repeat_n(b'b', 5000));
    stream.extend_from_slice(b"\ndata: ok\n\n");
    assert_eq!(events(&stream), (vec!["ok".to_string()], None));
}

#[test]
fn invalid_utf8_data_is_an_error() {
    let (seen, err) = events(b"data: ok\n\ndata: \xE2\x82\n\n");
    assert_eq!(seen, vec!["ok"]);
    assert_eq!(err, Some(SseFrameError::InvalidUtf8));
    // Split inside a character is fine.
    let stream = "data: \u{20ac}\n\n".as_bytes();
    for cut in 0..=stream.len() {
        assert_eq!(events_split(stream, &[cut]).0, vec!["\u{20ac}"]);
    }
}

#[test]
fn the_error_names_the_limit_in_mib() {
    let err = SseFrameError::TooLarge {
        limit_bytes: MAX_SSE_EVENT_BYTES,
    };
    assert_eq!(err.to_string(), "SSE event larger than 64 MiB");
}
