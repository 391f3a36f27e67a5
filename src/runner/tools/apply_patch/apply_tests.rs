#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use super::*;
use crate::runner::tools::apply_patch::parse_patch;
use pretty_assertions::assert_eq;
use tempfile::TempDir;

/// Wrap hunk text in the patch envelope.
fn patch(body: &str) -> Patch {
    parse_patch(&format!("*** Begin Patch\n{body}\n*** End Patch")).unwrap()
}

fn dir_with(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
    dir
}

fn read(dir: &TempDir, name: &str) -> String {
    fs::read_to_string(dir.path().join(name)).unwrap()
}

/// Verify and write `body` in `dir`, returning the success text.
fn apply(dir: &TempDir, body: &str) -> String {
    let actions = verify(&patch(body), dir.path(), &Files::Direct).unwrap();
    write(&actions, &Files::Direct).unwrap().to_model_text()
}

/// Verify `body` in `dir`, expecting failure; returns the reason text.
fn failure(dir: &TempDir, body: &str) -> String {
    verify(&patch(body), dir.path(), &Files::Direct)
        .expect_err("verification should fail")
        .to_string()
}

/// The new contents of `name` after updating `original` with `body`.
fn updated(original: &str, body: &str) -> String {
    let dir = dir_with(&[("f.txt", original)]);
    apply(&dir, &format!("*** Update File: f.txt\n{body}"));
    read(&dir, "f.txt")
}

/// Add File creates missing parent directories and reports `A`.
#[test]
fn add_creates_parent_directories() {
    let dir = dir_with(&[]);
    let text = apply(&dir, "*** Add File: a/b/c.txt\n+hello\n+world");
    assert_eq!(read(&dir, "a/b/c.txt"), "hello\nworld\n");
    assert_eq!(text, "Success. Updated the following files:\nA a/b/c.txt\n");
}

/// Add File replaces an existing file.
#[test]
fn add_overwrites_existing_file() {
    let dir = dir_with(&[("a.txt", "old\n")]);
    apply(&dir, "*** Add File: a.txt\n+new");
    assert_eq!(read(&dir, "a.txt"), "new\n");
}

/// Delete File removes the file and reports `D`.
#[test]
fn delete_removes_file() {
    let dir = dir_with(&[("gone.txt", "x\n")]);
    let text = apply(&dir, "*** Delete File: gone.txt");
    assert!(!dir.path().join("gone.txt").exists());
    assert_eq!(text, "Success. Updated the following files:\nD gone.txt\n");
}

/// Deleting a missing file or a directory fails verification.
#[test]
fn delete_of_missing_file_is_an_error() {
    let dir = dir_with(&[("sub/keep.txt", "x")]);
    let missing = dir.path().join("nope.txt");
    assert_eq!(
        failure(&dir, "*** Delete File: nope.txt"),
        format!(
            "Failed to delete {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    let sub = dir.path().join("sub");
    assert_eq!(
        failure(&dir, "*** Delete File: sub"),
        format!("Failed to delete {}: is a directory", sub.display())
    );
}

/// Updating a missing file fails verification with the read error.
#[test]
fn update_of_missing_file_is_an_error() {
    let dir = dir_with(&[]);
    let missing = dir.path().join("nope.txt");
    assert_eq!(
        failure(&dir, "*** Update File: nope.txt\n@@\n-a\n+b"),
        format!(
            "Failed to read {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

/// A patch without hunks is an error at verification.
#[test]
fn empty_patch_modifies_nothing() {
    let dir = dir_with(&[]);
    let empty = parse_patch("*** Begin Patch\n*** End Patch").unwrap();
    let err = verify(&empty, dir.path(), &Files::Direct).unwrap_err();
    assert_eq!(err.to_string(), "No files were modified.");
}

/// A chunk replaces its old lines with its new lines and reports `M`.
#[test]
fn update_replaces_lines() {
    let dir = dir_with(&[("f.txt", "a\nb\nc\n")]);
    let text = apply(&dir, "*** Update File: f.txt\n@@\n a\n-b\n+B\n c");
    assert_eq!(read(&dir, "f.txt"), "a\nB\nc\n");
    assert_eq!(text, "Success. Updated the following files:\nM f.txt\n");
}

/// `@@ <context>` moves the search past the context line.
#[test]
fn context_line_selects_the_occurrence() {
    let original = "fn a() {\n    x\n}\nfn b() {\n    x\n}\n";
    assert_eq!(
        updated(original, "@@ fn b() {\n-    x\n+    y"),
        "fn a() {\n    x\n}\nfn b() {\n    y\n}\n"
    );
}

/// A context line that is not in the file names the context and absolute path.
#[test]
fn missing_context_is_reported() {
    let dir = dir_with(&[("f.txt", "a\n")]);
    let path = dir.path().join("f.txt");
    assert_eq!(
        failure(&dir, "*** Update File: f.txt\n@@ fn missing()\n-a\n+b"),
        format!(
            "Failed to find context 'fn missing()' in {}",
            path.display()
        )
    );
}

/// Old lines that are not in the file are listed after the absolute path.
#[test]
fn missing_lines_are_reported() {
    let dir = dir_with(&[("f.txt", "a\nb\n")]);
    let path = dir.path().join("f.txt");
    assert_eq!(
        failure(&dir, "*** Update File: f.txt\n@@\n a\n-x\n-y\n+z"),
        format!(
            "Failed to find expected lines in {}:\na\nx\ny",
            path.display()
        )
    );
}

/// Chunks match in order: each search starts after the previous match.
#[test]
fn chunks_match_sequentially() {
    let original = "x\ny\nx\ny\n";
    assert_eq!(updated(original, "@@\n-x\n+1\n@@\n-x\n+2"), "1\ny\n2\ny\n");
    // A block that only occurs before the cursor is not found.
    let dir = dir_with(&[("f.txt", "a\nb\n")]);
    let err = failure(&dir, "*** Update File: f.txt\n@@\n-b\n+B\n@@\n-a\n+A");
    assert!(
        err.starts_with("Failed to find expected lines in "),
        "{err}"
    );
}

/// A chunk without old lines appends at the end of the file, ignoring context.
#[test]
fn pure_insertion_appends_at_end() {
    assert_eq!(updated("a\nb\n", "@@ a\n+c"), "a\nb\nc\n");
    // A trailing blank line stays last.
    assert_eq!(updated("a\nb\n\n", "@@\n+c"), "a\nb\nc\n");
    assert_eq!(updated("", "@@\n+only"), "only\n");
}

/// An end-of-file chunk prefers the match at the end of the file.
#[test]
fn end_of_file_chunk_matches_at_end() {
    let original = "end\nmiddle\nend\n";
    assert_eq!(
        updated(original, "@@\n-end\n+END\n*** End of File"),
        "end\nmiddle\nEND\n"
    );
    // Without the marker the first occurrence wins.
    assert_eq!(updated(original, "@@\n-end\n+END"), "END\nmiddle\nend\n");
}

/// An end-of-file chunk that is not at the end still matches further up.
#[test]
fn end_of_file_chunk_falls_back_to_search() {
    assert_eq!(
        updated("a\nb\nc\n", "@@\n-a\n+A\n*** End of File"),
        "A\nb\nc\n"
    );
}

/// A trailing empty context line missing from the file is dropped and retried.
#[test]
fn trailing_empty_line_is_retried_without_it() {
    assert_eq!(updated("a\nb\n", "@@\n-a\n+A\n b\n"), "A\nb\n");
    let dir = dir_with(&[("f.txt", "a\nb")]);
    apply(&dir, "*** Update File: f.txt\n@@\n a\n-b\n+c\n\n@@\n+d");
    assert_eq!(read(&dir, "f.txt"), "a\nc\nd\n");
}

/// Several chunks in one file are all applied.
#[test]
fn multiple_chunks_apply_together() {
    let original = "1\n2\n3\n4\n5\n6\n";
    assert_eq!(
        updated(
            original,
            "@@\n-1\n+one\n@@\n 3\n-4\n+four\n+four and a half\n@@\n-6"
        ),
        "one\n2\n3\nfour\nfour and a half\n5\n"
    );
}

/// The result ends with exactly one newline.
#[test]
fn result_ends_with_one_newline() {
    assert_eq!(updated("a\nb", "@@\n-b\n+c"), "a\nc\n");
    assert_eq!(updated("a\nb\n\n\n", "@@\n-a\n+z"), "z\nb\n");
    // Removing every line leaves an empty file.
    assert_eq!(updated("a\n", "@@\n-a"), "");
}

/// Trailing whitespace differences are tolerated.
#[test]
fn fuzzy_match_ignores_trailing_whitespace() {
    assert_eq!(updated("a  \nb\t\n", "@@\n-a\n-b\n+c"), "c\n");
}

/// Leading and trailing whitespace differences are tolerated.
#[test]
fn fuzzy_match_ignores_surrounding_whitespace() {
    assert_eq!(updated("    a\n\tb\n", "@@\n-a\n- b\n+c"), "c\n");
}

/// Typographic dashes, quotes and spaces match their ASCII forms.
#[test]
fn fuzzy_match_normalises_punctuation() {
    let dashes = "\u{2010}\u{2011}\u{2012}\u{2013}\u{2014}\u{2015}\u{2212}";
    let single = "\u{2018}\u{2019}\u{201A}\u{201B}";
    let double = "\u{201C}\u{201D}\u{201E}\u{201F}";
    let spaces = "\u{00A0}\u{2002}\u{2003}\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200A}\u{202F}\u{205F}\u{3000}";
    let original = format!("x{dashes}x\nx{single}x\nx{double}x\nx{spaces}x\n");
    assert_eq!(
        updated(
            &original,
            "@@\n-x-------x\n-x''''x\n-x\"\"\"\"x\n-x             x\n+done"
        ),
        "done\n"
    );
    // And the other way round: ASCII in the file, typography in the patch.
    assert_eq!(
        updated(
            "say \"hi\" - now\n",
            "@@\n-say \u{201C}hi\u{201D} \u{2014} now\n+ok"
        ),
        "ok\n"
    );
}

/// A stricter match later in the file beats a looser one earlier.
#[test]
fn exact_match_is_preferred_over_fuzzy() {
    assert_eq!(updated("a \na\n", "@@\n-a\n+b"), "a \nb\n");
}

/// If any hunk fails, verification fails and nothing is written.
#[test]
fn failing_hunk_writes_nothing() {
    let dir = dir_with(&[("ok.txt", "a\n"), ("bad.txt", "b\n")]);
    let body = "*** Add File: new.txt\n+n\n*** Update File: ok.txt\n@@\n-a\n+A\n\
                *** Delete File: bad.txt\n*** Update File: bad.txt\n@@\n-zzz\n+y";
    let err = verify(&patch(body), dir.path(), &Files::Direct).unwrap_err();
    assert!(matches!(err, ApplyError::Read { .. }), "{err}");
    let body = "*** Add File: new.txt\n+n\n*** Update File: ok.txt\n@@\n-a\n+A\n\
                *** Update File: bad.txt\n@@\n-zzz\n+y";
    failure(&dir, body);
    assert!(!dir.path().join("new.txt").exists());
    assert_eq!(read(&dir, "ok.txt"), "a\n");
    assert_eq!(read(&dir, "bad.txt"), "b\n");
}

/// A move writes the destination, removes the source and reports `M <dest>`.
#[test]
fn move_writes_destination_and_removes_source() {
    let dir = dir_with(&[("old/name.txt", "a\nb\n")]);
    let body = "*** Update File: old/name.txt\n*** Move to: new/dir/name.txt\n@@\n a\n-b\n+c";
    let actions = verify(&patch(body), dir.path(), &Files::Direct).unwrap();
    let planned = plan(&patch(body), dir.path());
    assert_eq!(
        changes(&planned),
        vec![(dir.path().join("old/name.txt"), ChangeKind::Update)]
    );
    assert_eq!(
        planned[0].targets().collect::<Vec<_>>(),
        vec![
            dir.path().join("old/name.txt").as_path(),
            dir.path().join("new/dir/name.txt").as_path()
        ]
    );
    let text = write(&actions, &Files::Direct).unwrap().to_model_text();
    assert_eq!(
        text,
        "Success. Updated the following files:\nM new/dir/name.txt\n"
    );
    assert_eq!(read(&dir, "new/dir/name.txt"), "a\nc\n");
    assert!(!dir.path().join("old/name.txt").exists());
}

/// Moving a file onto itself keeps it.
#[test]
fn move_onto_itself_keeps_file() {
    let dir = dir_with(&[("f.txt", "a\n")]);
    apply(
        &dir,
        "*** Update File: f.txt\n*** Move to: ./f.txt\n@@\n-a\n+b",
    );
    assert_eq!(read(&dir, "f.txt"), "b\n");
}

/// CRLF files keep CRLF line endings after an update.
#[test]
fn crlf_files_keep_crlf() {
    assert_eq!(
        updated("a\r\nb\r\nc\r\n", "@@\n a\n-b\n+B\n+B2\n c"),
        "a\r\nB\r\nB2\r\nc\r\n"
    );
    // LF files stay LF.
    assert_eq!(updated("a\nb\n", "@@\n-b\n+B"), "a\nB\n");
}

/// The success text groups added, modified and deleted files in that order.
#[test]
fn summary_groups_by_kind() {
    let dir = dir_with(&[("README.md", "hello\n"), ("old.txt", "x\n")]);
    let text = apply(
        &dir,
        "*** Delete File: old.txt\n*** Update File: README.md\n@@\n-hello\n+hello there\n\
         *** Add File: hello.txt\n+hello world",
    );
    assert_eq!(
        text,
        "Success. Updated the following files:\nA hello.txt\nM README.md\nD old.txt\n"
    );
}

/// `changes` lists absolute paths sorted by path with their kinds.
#[test]
fn changes_are_sorted_by_path() {
    let dir = dir_with(&[("b.txt", "b\n"), ("c.txt", "c\n")]);
    let body =
        "*** Update File: c.txt\n@@\n-c\n+C\n*** Delete File: b.txt\n*** Add File: a.txt\n+a";
    assert_eq!(
        changes(&plan(&patch(body), dir.path())),
        vec![
            (dir.path().join("a.txt"), ChangeKind::Add),
            (dir.path().join("b.txt"), ChangeKind::Delete),
            (dir.path().join("c.txt"), ChangeKind::Update),
        ]
    );
}

/// Relative paths resolve against cwd with `.`/`..` folded; absolute paths stay.
#[test]
fn paths_resolve_against_cwd() {
    let dir = dir_with(&[]);
    let cwd = dir.path().join("sub");
    let absolute = dir.path().join("abs.txt");
    let body = format!(
        "*** Add File: ./x/../y.txt\n+y\n*** Add File: ../up.txt\n+u\n*** Add File: {}\n+a",
        absolute.display()
    );
    let actions = verify(&patch(&body), &cwd, &Files::Direct).unwrap();
    let targets: Vec<PathBuf> = plan(&patch(&body), &cwd)
        .iter()
        .flat_map(PlannedChange::targets)
        .map(Path::to_path_buf)
        .collect();
    assert_eq!(
        targets,
        vec![
            cwd.join("y.txt"),
            dir.path().join("up.txt"),
            absolute.clone()
        ]
    );
    write(&actions, &Files::Direct).unwrap();
    assert_eq!(fs::read_to_string(absolute).unwrap(), "a\n");
    assert_eq!(read(&dir, "up.txt"), "u\n");
}

/// Later hunks see the effect of earlier hunks on the same file.
#[test]
fn hunks_on_the_same_file_compose() {
    let dir = dir_with(&[("f.txt", "a\nb\n")]);
    apply(
        &dir,
        "*** Update File: f.txt\n@@\n-a\n+A\n*** Update File: f.txt\n@@\n-b\n+B",
    );
    assert_eq!(read(&dir, "f.txt"), "A\nB\n");
    let dir = dir_with(&[("f.txt", "a\n")]);
    let path = dir.path().join("f.txt");
    assert_eq!(
        failure(
            &dir,
            "*** Delete File: f.txt\n*** Update File: f.txt\n@@\n-a\n+b"
        ),
        format!(
            "Failed to read {}: the file is removed by an earlier hunk of this patch",
            path.display()
        )
    );
}
