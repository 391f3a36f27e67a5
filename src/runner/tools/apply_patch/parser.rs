//! Parsing of the patch text (SPEC §10.1–10.2) into a [`Patch`].
//!
//! This module only turns text into hunks; it never looks at the file system.
//! The parser is deliberately a little more forgiving than the grammar shipped
//! to the model: surrounding whitespace, a heredoc wrapper, padded hunk headers
//! and blank lines between chunks are all accepted.

use std::path::PathBuf;

const BEGIN_MARKER: &str = "*** Begin Patch";
const END_MARKER: &str = "*** End Patch";
const ADD_MARKER: &str = "*** Add File: ";
const DELETE_MARKER: &str = "*** Delete File: ";
const UPDATE_MARKER: &str = "*** Update File: ";
const MOVE_MARKER: &str = "*** Move to: ";
const END_OF_FILE_MARKER: &str = "*** End of File";
const CHUNK_MARKER: &str = "@@";
/// The heredoc openers accepted around a patch (SPEC §10.2 "lenient heredoc").
const HEREDOC_OPENERS: [&str; 3] = ["<<EOF", "<<'EOF'", "<<\"EOF\""];
/// A heredoc-wrapped patch has the opener, Begin, End and terminator lines.
const HEREDOC_MIN_LINES: usize = 4;

/// A parsed patch: the file operations in the order they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// The file operations, in patch order.
    pub hunks: Vec<Hunk>,
}

/// One file operation of a patch. Paths are exactly as written in the patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hunk {
    /// `*** Add File:` – create (or overwrite) a file with `contents`.
    Add { path: PathBuf, contents: String },
    /// `*** Delete File:` – remove an existing file.
    Delete { path: PathBuf },
    /// `*** Update File:` – edit a file in place, optionally renaming it.
    Update {
        path: PathBuf,
        move_path: Option<PathBuf>,
        chunks: Vec<UpdateChunk>,
    },
}

/// One `@@` section of an update hunk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateChunk {
    /// The text after `@@ `: a single line to locate before matching the lines.
    pub context: Option<String>,
    /// Lines expected in the file (context and `-` lines), without prefixes.
    pub old_lines: Vec<String>,
    /// Lines that replace them (context and `+` lines), without prefixes.
    pub new_lines: Vec<String>,
    /// The chunk ended with `*** End of File`: its lines sit at the end of the file.
    pub end_of_file: bool,
}

/// Why a patch text could not be parsed. `Display` is the text the model sees.
/// Fatal to the patch; the model may send a corrected one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The Begin/End envelope is missing or malformed.
    #[error("invalid patch: {0}")]
    InvalidPatch(String),
    /// A hunk is malformed; `line` is 1-based, counting the Begin line as 1.
    #[error("invalid hunk at line {line}, {message}")]
    InvalidHunk { message: String, line: usize },
}

impl ParseError {
    fn hunk(line_index: usize, message: String) -> ParseError {
        ParseError::InvalidHunk {
            message,
            line: line_index + 1,
        }
    }
}

/// Parse a patch text. The text is trimmed first; a patch wrapped in a
/// `<<EOF` … `EOF` heredoc is unwrapped when the plain envelope check fails.
pub fn parse_patch(text: &str) -> Result<Patch, ParseError> {
    let lines: Vec<&str> = text.trim().lines().collect();
    let lines = match check_envelope(&lines) {
        Ok(()) => &lines[..],
        Err(err) => unwrap_heredoc(&lines).ok_or(err)??,
    };
    // `lines` starts with Begin and ends with End; hunks live in between.
    let mut hunks = Vec::new();
    let mut index = 1;
    let end = lines.len() - 1;
    while index < end {
        let (hunk, next) = parse_hunk(lines, index, end)?;
        hunks.push(hunk);
        index = next;
    }
    Ok(Patch { hunks })
}

/// Check that the first and last lines (trimmed) are the Begin and End markers.
fn check_envelope(lines: &[&str]) -> Result<(), ParseError> {
    let first = lines.first().map(|line| line.trim());
    let last = lines.last().map(|line| line.trim());
    if first != Some(BEGIN_MARKER) {
        return Err(ParseError::InvalidPatch(format!(
            "The first line of the patch must be '{BEGIN_MARKER}'"
        )));
    }
    // A lone Begin line is both first and last; it still lacks an End line.
    if lines.len() < 2 || last != Some(END_MARKER) {
        return Err(ParseError::InvalidPatch(format!(
            "The last line of the patch must be '{END_MARKER}'"
        )));
    }
    Ok(())
}

/// If `lines` look like `<<EOF` / patch / `EOF`, check and return the inner
/// lines. `None` when the lines are not heredoc-shaped at all.
fn unwrap_heredoc<'a, 'b>(lines: &'b [&'a str]) -> Option<Result<&'b [&'a str], ParseError>> {
    let (first, last) = (lines.first()?, lines.last()?);
    let shaped = lines.len() >= HEREDOC_MIN_LINES
        && HEREDOC_OPENERS.contains(first)
        && last.ends_with("EOF");
    if !shaped {
        return None;
    }
    let inner = &lines[1..lines.len() - 1];
    Some(check_envelope(inner).map(|()| inner))
}

/// Parse the hunk whose header is at `lines[index]`; hunk lines end before
/// `end`. Returns the hunk and the index of the line after it.
fn parse_hunk(lines: &[&str], index: usize, end: usize) -> Result<(Hunk, usize), ParseError> {
    let header = lines[index].trim();
    if let Some(path) = header.strip_prefix(ADD_MARKER) {
        let mut contents = String::new();
        let mut next = index + 1;
        while let Some(text) = lines[next..end].first().and_then(|l| l.strip_prefix('+')) {
            contents.push_str(text);
            contents.push('\n');
            next += 1;
        }
        let hunk = Hunk::Add {
            path: PathBuf::from(path),
            contents,
        };
        return Ok((hunk, next));
    }
    if let Some(path) = header.strip_prefix(DELETE_MARKER) {
        let hunk = Hunk::Delete {
            path: PathBuf::from(path),
        };
        return Ok((hunk, index + 1));
    }
    if let Some(path) = header.strip_prefix(UPDATE_MARKER) {
        return parse_update(lines, index, end, path);
    }
    Err(ParseError::hunk(
        index,
        format!(
            "'{header}' is not a valid hunk header. Valid hunk headers: \
             '{ADD_MARKER}{{path}}', '{DELETE_MARKER}{{path}}', '{UPDATE_MARKER}{{path}}'"
        ),
    ))
}

/// Parse an update hunk: optional move line, then chunks up to the next line
/// starting with `*` (the next header or the End line).
fn parse_update(
    lines: &[&str],
    index: usize,
    end: usize,
    path: &str,
) -> Result<(Hunk, usize), ParseError> {
    let mut next = index + 1;
    let move_path = lines[next..end]
        .first()
        .and_then(|line| line.trim().strip_prefix(MOVE_MARKER))
        .map(PathBuf::from);
    if move_path.is_some() {
        next += 1;
    }
    let mut chunks = Vec::new();
    while next < end {
        let line = lines[next];
        if line.trim().is_empty() {
            next += 1;
            continue;
        }
        if line.starts_with('*') {
            break;
        }
        let (chunk, after) = parse_chunk(lines, next, end, chunks.is_empty())?;
        chunks.push(chunk);
        next = after;
    }
    if chunks.is_empty() {
        return Err(ParseError::hunk(
            index,
            format!("Update file hunk for path '{path}' is empty"),
        ));
    }
    let hunk = Hunk::Update {
        path: PathBuf::from(path),
        move_path,
        chunks,
    };
    Ok((hunk, next))
}

/// Parse one chunk starting at `lines[index]`. Only the first chunk of a hunk
/// may omit its `@@` line (`header_optional`).
fn parse_chunk(
    lines: &[&str],
    index: usize,
    end: usize,
    header_optional: bool,
) -> Result<(UpdateChunk, usize), ParseError> {
    let first = lines[index];
    let mut chunk = UpdateChunk::default();
    let mut next = index;
    if first.trim_end() == CHUNK_MARKER {
        next += 1;
    } else if let Some(context) = first.strip_prefix("@@ ") {
        chunk.context = Some(context.to_string());
        next += 1;
    } else if !header_optional {
        return Err(ParseError::hunk(
            index,
            format!("Expected update hunk to start with a @@ context marker, got: '{first}'"),
        ));
    }
    let body_start = next;
    while next < end {
        let line = lines[next];
        if line.trim_end() == END_OF_FILE_MARKER {
            if next == body_start {
                break;
            }
            chunk.end_of_file = true;
            next += 1;
            return Ok((chunk, next));
        }
        match line.chars().next() {
            None => {
                chunk.old_lines.push(String::new());
                chunk.new_lines.push(String::new());
            }
            Some(' ') => {
                chunk.old_lines.push(line[1..].to_string());
                chunk.new_lines.push(line[1..].to_string());
            }
            Some('-') => chunk.old_lines.push(line[1..].to_string()),
            Some('+') => chunk.new_lines.push(line[1..].to_string()),
            Some(_) if next == body_start => {
                return Err(ParseError::hunk(
                    next,
                    format!(
                        "Unexpected line found in update hunk: '{line}'. Every line should start \
                         with ' ' (context line), '+' (added line), or '-' (removed line)"
                    ),
                ));
            }
            Some(_) => break,
        }
        next += 1;
    }
    if next == body_start {
        // A `@@` line followed by nothing usable (end of the patch or `*** End of File`).
        return Err(ParseError::hunk(
            index,
            "Update hunk has a chunk without any lines".to_string(),
        ));
    }
    Ok((chunk, next))
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
