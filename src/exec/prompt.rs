//! Prompt sources (SPEC §2 and §0.5): argument, `-`, piped stdin, and the
//! `<stdin>` block, without ever hanging on a pipe that delivers nothing.

use std::io::{IsTerminal, Read};
use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::cli::StdinArg;
use crate::exec::reporter::Reporter;

/// How long a prompt argument waits for a piped stdin to deliver data or EOF
/// before the run goes on without it (`--stdin auto`).
pub const STDIN_GRACE_MS: u16 = 1000;

/// The longest prompt accepted, in characters (Unicode scalar values), stdin
/// block included: the reference's limit on one text input.
pub const MAX_PROMPT_CHARS: usize = 1 << 20;

/// Stdin is read up to this many bytes: no encoding takes more than 4 bytes
/// per character, so anything longer (BOM aside) is over [`MAX_PROMPT_CHARS`]
/// and need not be held in memory whole.
const MAX_STDIN_BYTES: usize = 4 * MAX_PROMPT_CHARS + 4;

/// Why no prompt could be obtained. Fatal to the process (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error(
        "No prompt provided. Either specify one as an argument or pipe the prompt into stdin."
    )]
    NoPrompt,
    #[error("No prompt provided via stdin.")]
    EmptyStdin,
    #[error("Failed to read prompt from stdin: {0}")]
    Read(String),
    #[error("{0}")]
    Encoding(String),
    /// The prompt is longer than [`MAX_PROMPT_CHARS`]; `chars` is its length
    /// when it was read whole.
    #[error(
        "Error: Input exceeds the maximum length of {MAX_PROMPT_CHARS} characters.{}",
        provided(*.chars)
    )]
    TooLong { chars: Option<usize> },
}

/// ` (N provided)` when the length is known.
fn provided(chars: Option<usize>) -> String {
    chars.map_or_else(String::new, |n| format!(" ({n} provided)"))
}

/// Resolve the prompt text (see [`resolve_unchecked`]) and refuse one longer
/// than [`MAX_PROMPT_CHARS`] before anything is sent or recorded.
pub fn resolve(
    arg: Option<&str>,
    mode: StdinArg,
    reporter: &Reporter,
) -> Result<String, PromptError> {
    let prompt = resolve_unchecked(arg, mode, reporter)?;
    check_length(&prompt)?;
    Ok(prompt)
}

/// Refuse a prompt longer than [`MAX_PROMPT_CHARS`].
fn check_length(prompt: &str) -> Result<(), PromptError> {
    // Each character is at least one byte: short prompts need no count.
    if prompt.len() <= MAX_PROMPT_CHARS {
        return Ok(());
    }
    let chars = prompt.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(PromptError::TooLong { chars: Some(chars) });
    }
    Ok(())
}

/// Resolve the prompt text from the argument and stdin.
fn resolve_unchecked(
    arg: Option<&str>,
    mode: StdinArg,
    reporter: &Reporter,
) -> Result<String, PromptError> {
    let stdin = std::io::stdin();
    let stdin_is_tty = stdin.is_terminal();
    match arg {
        Some("-") => required_from_stdin(),
        Some(prompt) => {
            if stdin_is_tty || mode == StdinArg::Ignore {
                return Ok(prompt.to_string());
            }
            if mode == StdinArg::Auto && !stdin_ready_within(STDIN_GRACE_MS) {
                reporter.warning(&format!(
                    "stdin is a pipe that sent nothing within {STDIN_GRACE_MS} ms; continuing \
                     without it (use `--stdin append` to wait for it, or `--stdin ignore`)"
                ));
                return Ok(prompt.to_string());
            }
            reporter.notice("Reading additional input from stdin...");
            let piped = read_stdin()?;
            if piped.trim().is_empty() {
                return Ok(prompt.to_string());
            }
            let newline = if piped.ends_with('\n') { "" } else { "\n" };
            Ok(format!("{prompt}\n\n<stdin>\n{piped}{newline}</stdin>"))
        }
        None => {
            if stdin_is_tty {
                return Err(PromptError::NoPrompt);
            }
            reporter.notice("Reading prompt from stdin...");
            required_from_stdin()
        }
    }
}

fn required_from_stdin() -> Result<String, PromptError> {
    let text = read_stdin()?;
    if text.trim().is_empty() {
        return Err(PromptError::EmptyStdin);
    }
    Ok(text)
}

/// Whether stdin has data or EOF pending within `timeout_ms`.
fn stdin_ready_within(timeout_ms: u16) -> bool {
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    match nix::poll::poll(&mut fds, PollTimeout::from(timeout_ms)) {
        Ok(0) => false,
        Ok(_) => true,
        // A closed or unpollable stdin: reading it will tell.
        Err(_) => true,
    }
}

fn read_stdin() -> Result<String, PromptError> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_STDIN_BYTES + 1).unwrap_or(u64::MAX);
    if let Err(err) = std::io::stdin().lock().take(limit).read_to_end(&mut bytes) {
        // A closed descriptor reads as empty input rather than an error.
        if err.raw_os_error() != Some(libc::EBADF) {
            return Err(PromptError::Read(err.to_string()));
        }
    }
    if bytes.len() > MAX_STDIN_BYTES {
        return Err(PromptError::TooLong { chars: None });
    }
    decode(&bytes)
}

/// Decode stdin bytes: UTF-8 (BOM stripped), UTF-16 with BOM; UTF-32 and
/// invalid UTF-8 are refused with a hint.
pub fn decode(bytes: &[u8]) -> Result<String, PromptError> {
    if bytes.starts_with(&[0xFF, 0xFE, 0x00, 0x00]) {
        return Err(PromptError::Encoding(
            "input appears to be UTF-32LE. Convert it to UTF-8 and retry.".into(),
        ));
    }
    if bytes.starts_with(&[0x00, 0x00, 0xFE, 0xFF]) {
        return Err(PromptError::Encoding(
            "input appears to be UTF-32BE. Convert it to UTF-8 and retry.".into(),
        ));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, 3);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    utf8(bytes, 0)
}

fn utf8(bytes: &[u8], offset: usize) -> Result<String, PromptError> {
    String::from_utf8(bytes.to_vec()).map_err(|err| {
        PromptError::Read(format!(
            "input is not valid UTF-8 (invalid byte at offset {}). Convert it to UTF-8 and retry \
             (e.g., `iconv -f <ENC> -t UTF-8 prompt.txt`).",
            err.utf8_error().valid_up_to() + offset
        ))
    })
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, PromptError> {
    if bytes.len() % 2 != 0 {
        return Err(PromptError::Read(
            "input looks like UTF-16 but has an odd number of bytes. Convert it to UTF-8 and retry."
                .into(),
        ));
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| {
        PromptError::Read("input is not valid UTF-16. Convert it to UTF-8 and retry.".into())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decodes_boms() {
        assert_eq!(decode(b"\xEF\xBB\xBFhi").unwrap(), "hi");
        assert_eq!(decode(b"\xFF\xFEh\0i\0").unwrap(), "hi");
        assert_eq!(decode(b"\xFE\xFF\0h\0i").unwrap(), "hi");
        assert!(decode(b"\xFF\xFE\0\0")
            .unwrap_err()
            .to_string()
            .contains("UTF-32LE"));
    }

    #[test]
    fn prompts_are_limited_in_characters_not_bytes() {
        assert!(check_length(&"a".repeat(MAX_PROMPT_CHARS)).is_ok());
        // Four bytes per character: far over the limit in bytes, not in characters.
        assert!(check_length(&"\u{1F600}".repeat(MAX_PROMPT_CHARS)).is_ok());
        let err = check_length(&"é".repeat(MAX_PROMPT_CHARS + 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error: Input exceeds the maximum length of 1048576 characters. (1048577 provided)"
        );
        assert_eq!(
            PromptError::TooLong { chars: None }.to_string(),
            "Error: Input exceeds the maximum length of 1048576 characters."
        );
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let err = decode(b"ab\xFFcd").unwrap_err().to_string();
        assert!(err.contains("invalid byte at offset 2"), "{err}");
    }
}
