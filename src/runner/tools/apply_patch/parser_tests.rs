#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use pretty_assertions::assert_eq;

const HEADER_HELP: &str = "is not a valid hunk header. Valid hunk headers: \
    '*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'";
const LINE_HELP: &str = "Every line should start with ' ' (context line), \
    '+' (added line), or '-' (removed line)";

fn error_text(text: &str) -> String {
    parse_patch(text)
        .expect_err("patch should not parse")
        .to_string()
}

fn chunk(context: Option<&str>, old: &[&str], new: &[&str], end_of_file: bool) -> UpdateChunk {
    UpdateChunk {
        context: context.map(str::to_string),
        old_lines: old.iter().map(|line| line.to_string()).collect(),
        new_lines: new.iter().map(|line| line.to_string()).collect(),
        end_of_file,
    }
}

fn single_update_chunks(text: &str) -> Vec<UpdateChunk> {
    let patch = parse_patch(text).unwrap();
    match patch.hunks.as_slice() {
        [Hunk::Update { chunks, .. }] => chunks.clone(),
        other => panic!("expected one update hunk, got {other:?}"),
    }
}

/// Every kind of hunk parses into the matching structure, in patch order.
#[test]
fn parses_all_hunk_kinds() {
    let text = "*** Begin Patch\n\
        *** Add File: new/file.txt\n\
        +first\n\
        +\n\
        +last\n\
        *** Delete File: old.txt\n\
        *** Update File: src/lib.rs\n\
        *** Move to: src/main.rs\n\
        @@ fn main() {\n \
        keep\n\
        -gone\n\
        +added\n\
        *** End of File\n\
        *** End Patch\n";
    let expected = Patch {
        hunks: vec![
            Hunk::Add {
                path: PathBuf::from("new/file.txt"),
                contents: "first\n\nlast\n".to_string(),
            },
            Hunk::Delete {
                path: PathBuf::from("old.txt"),
            },
            Hunk::Update {
                path: PathBuf::from("src/lib.rs"),
                move_path: Some(PathBuf::from("src/main.rs")),
                chunks: vec![chunk(
                    Some("fn main() {"),
                    &["keep", "gone"],
                    &["keep", "added"],
                    true,
                )],
            },
        ],
    };
    assert_eq!(parse_patch(text).unwrap(), expected);
}

/// Whitespace around the whole patch and around the envelope lines is ignored.
#[test]
fn trims_input_and_envelope_lines() {
    let text = "\n\n  *** Begin Patch  \n*** Delete File: a\n\t*** End Patch \n\n";
    let patch = parse_patch(text).unwrap();
    assert_eq!(
        patch.hunks,
        vec![Hunk::Delete {
            path: PathBuf::from("a")
        }]
    );
}

/// A patch without the Begin line is rejected with the exact text.
#[test]
fn missing_begin_is_rejected() {
    assert_eq!(
        error_text("*** Delete File: a\n*** End Patch"),
        "invalid patch: The first line of the patch must be '*** Begin Patch'"
    );
    assert_eq!(
        error_text(""),
        "invalid patch: The first line of the patch must be '*** Begin Patch'"
    );
}

/// A patch without the End line is rejected with the exact text.
#[test]
fn missing_end_is_rejected() {
    assert_eq!(
        error_text("*** Begin Patch\n*** Delete File: a\n"),
        "invalid patch: The last line of the patch must be '*** End Patch'"
    );
    assert_eq!(
        error_text("*** Begin Patch"),
        "invalid patch: The last line of the patch must be '*** End Patch'"
    );
}

/// A heredoc wrapper in any of the three quoting styles is unwrapped.
#[test]
fn lenient_heredoc_is_unwrapped() {
    for opener in ["<<EOF", "<<'EOF'", "<<\"EOF\""] {
        let text = format!("{opener}\n*** Begin Patch\n*** Delete File: a\n*** End Patch\nEOF\n");
        let patch = parse_patch(&text).unwrap();
        assert_eq!(
            patch.hunks,
            vec![Hunk::Delete {
                path: PathBuf::from("a")
            }],
            "opener {opener}"
        );
    }
}

/// The heredoc wrapper is only recognised in its exact shape.
#[test]
fn lenient_heredoc_requires_exact_shape() {
    // Unknown opener: the plain envelope error is reported.
    assert_eq!(
        error_text("<<PATCH\n*** Begin Patch\n*** Delete File: a\n*** End Patch\nPATCH"),
        "invalid patch: The first line of the patch must be '*** Begin Patch'"
    );
    // Too few lines to hold a patch.
    assert_eq!(
        error_text("<<EOF\n*** Begin Patch\nEOF"),
        "invalid patch: The first line of the patch must be '*** Begin Patch'"
    );
    // Heredoc-shaped, but the inner patch lacks its End line.
    assert_eq!(
        error_text("<<'EOF'\n*** Begin Patch\n*** Delete File: a\nEOF"),
        "invalid patch: The last line of the patch must be '*** End Patch'"
    );
}

/// A patch with Begin and End but no hunks parses to an empty patch.
#[test]
fn empty_patch_parses() {
    let patch = parse_patch("*** Begin Patch\n*** End Patch").unwrap();
    assert!(patch.hunks.is_empty());
}

/// Hunk headers are trimmed before the markers are matched.
#[test]
fn hunk_headers_are_trimmed() {
    let text =
        "*** Begin Patch\n   *** Add File: a.txt  \n+x\n\t*** Delete File: b.txt\n*** End Patch";
    let patch = parse_patch(text).unwrap();
    assert_eq!(
        patch.hunks,
        vec![
            Hunk::Add {
                path: PathBuf::from("a.txt"),
                contents: "x\n".to_string()
            },
            Hunk::Delete {
                path: PathBuf::from("b.txt")
            },
        ]
    );
}

/// An unknown hunk header names its 1-based line (Begin is line 1).
#[test]
fn unknown_hunk_header_is_rejected_with_line_number() {
    assert_eq!(
        error_text("*** Begin Patch\n*** Delete File: a\n*** Frobnicate File: b\n*** End Patch"),
        format!("invalid hunk at line 3, '*** Frobnicate File: b' {HEADER_HELP}")
    );
    // A marker without a path is not a header either.
    assert_eq!(
        error_text("*** Begin Patch\n*** Add File: \n*** End Patch"),
        format!("invalid hunk at line 2, '*** Add File:' {HEADER_HELP}")
    );
}

/// Add File takes `+` lines only; the first other line must be a new header.
#[test]
fn add_file_stops_at_first_line_without_plus() {
    assert_eq!(
        error_text("*** Begin Patch\n*** Add File: a\n+one\n\n+two\n*** End Patch"),
        format!("invalid hunk at line 4, '' {HEADER_HELP}")
    );
    let patch = parse_patch("*** Begin Patch\n*** Add File: a\n*** End Patch").unwrap();
    assert_eq!(
        patch.hunks,
        vec![Hunk::Add {
            path: PathBuf::from("a"),
            contents: String::new()
        }]
    );
}

/// The first chunk of an update may omit its `@@` line.
#[test]
fn first_chunk_may_omit_header() {
    let chunks = single_update_chunks("*** Begin Patch\n*** Update File: a\n-x\n+y\n*** End Patch");
    assert_eq!(chunks, vec![chunk(None, &["x"], &["y"], false)]);
}

/// Later chunks must start with `@@`.
#[test]
fn later_chunk_without_header_is_rejected() {
    // `@@ two` ends the first chunk; `stray` is then the start of a chunk.
    let text = "*** Begin Patch\n*** Update File: a\n@@\n-x\n+y\n@@ two\n-z\n+w\n*** End Patch";
    assert_eq!(single_update_chunks(text).len(), 2);
    let text = "*** Begin Patch\n*** Update File: a\n@@\n-x\nstray\n*** End Patch";
    assert_eq!(
        error_text(text),
        "invalid hunk at line 5, Expected update hunk to start with a @@ context marker, \
         got: 'stray'"
    );
}

/// `@@ text` carries a context line; a bare `@@` carries none.
#[test]
fn chunk_header_context() {
    let text =
        "*** Begin Patch\n*** Update File: a\n@@ class A:\n+x\n@@\n+y\n@@  \n+z\n*** End Patch";
    assert_eq!(
        single_update_chunks(text),
        vec![
            chunk(Some("class A:"), &[], &["x"], false),
            chunk(None, &[], &["y"], false),
            chunk(None, &[], &["z"], false),
        ]
    );
}

/// An empty line inside a chunk is an empty context line.
#[test]
fn empty_line_is_empty_context() {
    let text = "*** Begin Patch\n*** Update File: a\n@@\n a\n\n-b\n+c\n*** End Patch";
    assert_eq!(
        single_update_chunks(text),
        vec![chunk(None, &["a", "", "b"], &["a", "", "c"], false)]
    );
}

/// Blank lines between chunks (before a `@@`) are skipped.
#[test]
fn blank_lines_between_chunks_are_skipped() {
    let text = "*** Begin Patch\n*** Update File: a\n\n  \n@@\n-a\n+b\n*** End Patch";
    assert_eq!(
        single_update_chunks(text),
        vec![chunk(None, &["a"], &["b"], false)]
    );
}

/// `*** End of File` anchors the chunk to the end and ends it.
#[test]
fn end_of_file_marker_ends_chunk() {
    let text =
        "*** Begin Patch\n*** Update File: a\n@@\n-a\n+b\n*** End of File\n@@\n+c\n*** End Patch";
    assert_eq!(
        single_update_chunks(text),
        vec![
            chunk(None, &["a"], &["b"], true),
            chunk(None, &[], &["c"], false)
        ]
    );
}

/// A chunk whose first line has no valid prefix is rejected at that line.
#[test]
fn unexpected_first_line_is_rejected() {
    assert_eq!(
        error_text("*** Begin Patch\n*** Update File: a\n@@\nnot a diff line\n*** End Patch"),
        format!(
            "invalid hunk at line 4, Unexpected line found in update hunk: 'not a diff line'. \
             {LINE_HELP}"
        )
    );
    assert_eq!(
        error_text("*** Begin Patch\n*** Update File: a\nbare\n*** End Patch"),
        format!(
            "invalid hunk at line 3, Unexpected line found in update hunk: 'bare'. {LINE_HELP}"
        )
    );
}

/// An update with no chunks is rejected, naming the path and header line.
#[test]
fn update_without_chunks_is_rejected() {
    assert_eq!(
        error_text(
            "*** Begin Patch\n*** Add File: x\n+x\n*** Update File: src/a.rs\n*** End Patch"
        ),
        "invalid hunk at line 4, Update file hunk for path 'src/a.rs' is empty"
    );
    assert_eq!(
        error_text(
            "*** Begin Patch\n*** Update File: a\n*** Move to: b\n\n*** Delete File: c\n*** End Patch"
        ),
        "invalid hunk at line 2, Update file hunk for path 'a' is empty"
    );
}

/// A `@@` line with no diff lines after it is rejected.
#[test]
fn chunk_without_lines_is_rejected() {
    assert_eq!(
        error_text("*** Begin Patch\n*** Update File: a\n@@\n*** End Patch"),
        "invalid hunk at line 3, Update hunk has a chunk without any lines"
    );
    assert_eq!(
        error_text("*** Begin Patch\n*** Update File: a\n@@ ctx\n*** End of File\n*** End Patch"),
        "invalid hunk at line 3, Update hunk has a chunk without any lines"
    );
}

/// A patch sent with CRLF line breaks parses like its LF form.
#[test]
fn crlf_patch_text_is_accepted() {
    let text = "*** Begin Patch\r\n*** Update File: a\r\n@@\r\n-x\r\n+y\r\n*** End Patch\r\n";
    assert_eq!(
        single_update_chunks(text),
        vec![chunk(None, &["x"], &["y"], false)]
    );
}

/// Lines after the End line are part of the last line check, not hunks.
#[test]
fn text_after_end_is_rejected() {
    assert_eq!(
        error_text("*** Begin Patch\n*** Delete File: a\n*** End Patch\ntrailing words"),
        "invalid patch: The last line of the patch must be '*** End Patch'"
    );
}
