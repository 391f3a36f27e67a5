//! Runs the fixture corpus in `tests/fixtures/apply_patch/<case>/`.
//!
//! Each case has an `input/` tree (optional when empty), a `patch.txt`, and
//! either an `expected/` tree or an `error.txt` holding the exact error text
//! (`{cwd}` stands for the case's working directory; one final newline of the
//! file is ignored). A failing case must leave the tree exactly as `input/`.
//! An optional `output.txt` holds the success text returned to the model.
//! Every case runs twice: with files reached by plain path and confined to
//! the case's directory as the only pinned writable root, with the same
//! outcome.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pretty_assertions::assert_eq;

use super::{parse_patch, verify, write, Confined, Files};
use crate::sandbox::{PinnedRoots, SandboxPolicy};

const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/apply_patch");

/// Every file under `root`, by relative path, with its bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    if !root.exists() {
        return files;
    }
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                files.insert(relative, fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Recreate `files` under `root`.
fn materialise(root: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) {
    for (relative, bytes) in files {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
}

/// Parse, verify and write `patch_text` in `cwd`: the model text or the error text.
fn run_patch(patch_text: &str, cwd: &Path, files: &Files<'_>) -> Result<String, String> {
    let patch = parse_patch(patch_text).map_err(|err| err.to_string())?;
    let actions = verify(&patch, cwd, files).map_err(|err| err.to_string())?;
    let summary = write(&actions, files).map_err(|err| err.to_string())?;
    Ok(summary.to_model_text())
}

/// Readable form of a tree for assertion diffs.
fn describe(files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(path, bytes)| {
            let text = String::from_utf8_lossy(bytes).into_owned();
            (path.display().to_string(), text)
        })
        .collect()
}

fn run_case(case: &Path, confined: bool) {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let name = if confined {
        format!("{name} (confined)")
    } else {
        name
    };
    let input = tree(&case.join("input"));
    let work = tempfile::tempdir().unwrap();
    let cwd = work.path().canonicalize().unwrap();
    let cwd = cwd.as_path();
    materialise(cwd, &input);
    let patch_text = fs::read_to_string(case.join("patch.txt")).unwrap();
    let policy = SandboxPolicy::WorkspaceWrite {
        writable_roots: Vec::new(),
        network_access: false,
        exclude_tmpdir_env_var: true,
        exclude_slash_tmp: true,
    };
    let roots = PinnedRoots::pin(&policy, cwd);
    let files = if confined {
        Files::Confined(Confined::new(&roots, Path::new("/nonexistent/codex-home")))
    } else {
        Files::Direct
    };
    let outcome = run_patch(&patch_text, cwd, &files);

    let error_file = case.join("error.txt");
    if error_file.exists() {
        let expected = fs::read_to_string(error_file).unwrap();
        let expected = expected.strip_suffix('\n').unwrap_or(&expected);
        let expected = expected.replace("{cwd}", &cwd.display().to_string());
        assert_eq!(outcome, Err(expected), "case {name}");
        assert_eq!(
            describe(&tree(cwd)),
            describe(&input),
            "case {name}: files changed"
        );
        return;
    }
    let text = outcome.unwrap_or_else(|err| panic!("case {name} failed: {err}"));
    let expected = tree(&case.join("expected"));
    assert_eq!(describe(&tree(cwd)), describe(&expected), "case {name}");
    let output_file = case.join("output.txt");
    if output_file.exists() {
        assert_eq!(
            text,
            fs::read_to_string(output_file).unwrap(),
            "case {name}"
        );
    }
}

/// Every fixture case produces its expected tree or its exact error, by plain
/// path and confined alike.
#[test]
fn fixture_corpus() {
    let mut cases: Vec<PathBuf> = fs::read_dir(FIXTURES_DIR)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("patch.txt").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "fixture corpus went missing: {cases:?}");
    for case in &cases {
        run_case(case, false);
        run_case(case, true);
    }
}
