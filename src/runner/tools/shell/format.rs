//! What the model sees of a command (SPEC §11, §9.4): truncation and the three
//! output envelopes. Pure functions; the JSON events always carry the full
//! (memory-bounded) output instead.

use std::time::Duration;

use serde_json::json;

use crate::runner::tools::patch_tool::wall_time;

/// Classic limits (SPEC §11.2): whole result and line count.
const MODEL_MAX_BYTES: usize = 10 * 1024;
const MODEL_MAX_LINES: usize = 256;
/// Lines kept at each end when the classic limits are exceeded.
const MODEL_EDGE_LINES: usize = 128;
/// Cap on the head part of a classic truncation.
const MODEL_HEAD_BYTES: usize = 5 * 1024;
/// Token estimate used by the unified-exec policy (SPEC §11.2).
pub const BYTES_PER_TOKEN: usize = 4;

/// Result of the classic truncation.
#[derive(Debug, PartialEq, Eq)]
pub struct Truncated {
    /// The text for the model (unchanged when within the limits).
    pub text: String,
    /// Line count of the original, when it had to be truncated.
    pub total_lines: Option<usize>,
}

/// The classic bytes-and-lines rule: keep 128 lines at each end (head capped
/// at 5 KiB, all at 10 KiB) around an omission marker.
pub fn truncate_lines(text: &str) -> Truncated {
    let segments: Vec<&str> = text.split_inclusive('\n').collect();
    let total_lines = segments.len();
    if text.len() <= MODEL_MAX_BYTES && total_lines <= MODEL_MAX_LINES {
        return Truncated {
            text: text.to_string(),
            total_lines: None,
        };
    }
    let omitted = total_lines.saturating_sub(2 * MODEL_EDGE_LINES);
    // With few (long) lines, both ends come from the same text, cut by bytes.
    let (head, tail, marker) = if omitted > 0 {
        (
            segments[..MODEL_EDGE_LINES].concat(),
            segments[total_lines - MODEL_EDGE_LINES..].concat(),
            format!("\n[... omitted {omitted} of {total_lines} lines ...]\n\n"),
        )
    } else {
        (
            text.to_string(),
            text.to_string(),
            format!("\n[... output truncated to fit {MODEL_MAX_BYTES} bytes ...]\n\n"),
        )
    };
    let mut out = String::with_capacity(MODEL_MAX_BYTES);
    out.push_str(prefix_at_boundary(&head, MODEL_HEAD_BYTES));
    out.push_str(&marker);
    let room = MODEL_MAX_BYTES.saturating_sub(out.len());
    out.push_str(suffix_at_boundary(&tail, room));
    Truncated {
        text: out,
        total_lines: Some(total_lines),
    }
}

/// The unified-exec rule: at most `max_tokens` (≈4 bytes each), keeping the
/// head and the tail around a `…N tokens truncated…` marker.
pub fn truncate_tokens(text: &str, max_tokens: usize) -> String {
    let budget = max_tokens.saturating_mul(BYTES_PER_TOKEN);
    if text.len() <= budget {
        return text.to_string();
    }
    let head = prefix_at_boundary(text, budget / 2);
    let tail = suffix_at_boundary(&text[head.len()..], budget - head.len());
    let removed = text.len() - head.len() - tail.len();
    format!("{head}…{} tokens truncated…{tail}", token_count(removed))
}

/// Token estimate of `bytes` bytes of text.
pub fn token_count(bytes: usize) -> usize {
    bytes.div_ceil(BYTES_PER_TOKEN)
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
pub(crate) fn prefix_at_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn suffix_at_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The structured envelope of the classic `shell` tool (SPEC §11.1).
pub fn structured(output: &str, exit_code: i32, duration: Duration) -> String {
    let seconds = (duration.as_secs_f64() * 10.0).round() / 10.0;
    json!({
        "output": truncate_lines(output).text,
        "metadata": {"exit_code": exit_code, "duration_seconds": seconds},
    })
    .to_string()
}

/// The freeform envelope of `shell_command` (SPEC §11.1).
pub fn freeform(output: &str, exit_code: i32, duration: Duration) -> String {
    let truncated = truncate_lines(output);
    let mut text = format!(
        "Exit code: {exit_code}\nWall time: {} seconds\n",
        wall_time(duration.as_secs_f64())
    );
    if let Some(total) = truncated.total_lines {
        text.push_str(&format!("Total output lines: {total}\n"));
    }
    text.push_str("Output:\n");
    text.push_str(&truncated.text);
    text
}

/// How a unified-exec call left its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// It exited with this code.
    Exited(i32),
    /// It still runs and can be reached under this session id.
    Running(u32),
}

/// One unified-exec reply (SPEC §9.4). `original_bytes` is the size of the
/// output before any truncation.
pub fn unified(
    chunk_id: &str,
    wall: Duration,
    state: SessionState,
    output: &str,
    original_bytes: u64,
    max_tokens: usize,
) -> String {
    let status = match state {
        SessionState::Exited(code) => format!("Process exited with code {code}"),
        SessionState::Running(id) => format!("Process running with session ID {id}"),
    };
    format!(
        "Chunk ID: {chunk_id}\nWall time: {:.4} seconds\n{status}\nOriginal token count: {}\nOutput:\n{}",
        wall.as_secs_f64(),
        token_count(usize::try_from(original_bytes).unwrap_or(usize::MAX)),
        truncate_tokens(output, max_tokens)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn small_output_is_untouched() {
        let t = truncate_lines("a\nb\n");
        assert_eq!(t.text, "a\nb\n");
        assert_eq!(t.total_lines, None);
    }

    #[test]
    fn many_lines_keep_both_ends() {
        let text: String = (0..300).map(|n| format!("{n}\n")).collect();
        let t = truncate_lines(&text);
        assert_eq!(t.total_lines, Some(300));
        assert!(t.text.starts_with("0\n1\n"));
        assert!(t
            .text
            .contains("\n127\n\n[... omitted 44 of 300 lines ...]\n\n172\n"));
        assert!(t.text.ends_with("299\n"));
    }

    #[test]
    fn long_lines_are_capped_in_bytes() {
        let text = format!("{}\n{}", "a".repeat(8000), "é".repeat(8000));
        let t = truncate_lines(&text);
        assert!(t.text.len() <= MODEL_MAX_BYTES, "{}", t.text.len());
        assert!(t
            .text
            .contains("[... output truncated to fit 10240 bytes ...]"));
        assert!(t.text.starts_with(&"a".repeat(5120)));
        assert!(t.text.ends_with('é'));
    }

    #[test]
    fn token_truncation_keeps_ends() {
        assert_eq!(truncate_tokens("short", 10), "short");
        let text = "x".repeat(100) + &"y".repeat(100);
        let out = truncate_tokens(&text, 10);
        assert_eq!(
            out,
            format!("{}…40 tokens truncated…{}", "x".repeat(20), "y".repeat(20))
        );
    }

    #[test]
    fn envelopes() {
        let d = Duration::from_millis(1234);
        assert_eq!(
            unified("abc123", d, SessionState::Exited(3), "hi\n", 3, 100),
            "Chunk ID: abc123\nWall time: 1.2340 seconds\nProcess exited with code 3\nOriginal token count: 1\nOutput:\nhi\n"
        );
        assert_eq!(
            freeform("hi\n", 0, d),
            "Exit code: 0\nWall time: 1.2 seconds\nOutput:\nhi\n"
        );
        let v: serde_json::Value = serde_json::from_str(&structured("hi\n", 1, d)).unwrap();
        assert_eq!(
            v,
            json!({"output": "hi\n", "metadata": {"exit_code": 1, "duration_seconds": 1.2}})
        );
    }
}
