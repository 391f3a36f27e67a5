//! Applying a parsed [`Patch`] (SPEC §10.3): verification against the files on
//! disk, the line matching behind update chunks, and the final writes.
//!
//! [`verify`] reads and checks but never writes; [`write`] writes but never
//! decides. Both reach the disk only through a [`Files`], which confines them
//! to the writable roots in `workspace-write`: every target is checked while
//! verifying, so a refused patch writes nothing.
//!
//! Line endings: a file whose first line ends in `\r\n` is treated as a CRLF
//! file. Its lines are matched without the `\r` and the updated file is
//! written with `\r\n` everywhere, as 0.169 does. Added files are written as
//! the patch spells them (`\n`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::files::{FileError, Files, Refusal, WriteError};
use super::parser::{Hunk, Patch, UpdateChunk};

/// Why a patch cannot be applied. `Display` is the reason the model sees after
/// `apply_patch verification failed: `, except for [`ApplyError::Refused`],
/// which is the whole text. Fatal to the patch; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The patch has no hunks.
    #[error("No files were modified.")]
    Empty,
    /// A chunk's `@@ <context>` line is not in the file after the cursor.
    #[error("Failed to find context '{context}' in {}", path.display())]
    ContextNotFound { context: String, path: PathBuf },
    /// A chunk's old lines are not in the file after the cursor.
    #[error("Failed to find expected lines in {}:\n{lines}", path.display())]
    LinesNotFound { lines: String, path: PathBuf },
    /// A file to update cannot be read.
    #[error("Failed to read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// A file to delete does not exist (or is not a regular file).
    #[error("Failed to delete {}: {source}", path.display())]
    Delete { path: PathBuf, source: io::Error },
    /// The sandbox does not let the patch touch a target.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// Where an updated file is renamed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTo {
    /// Absolute destination path.
    pub path: PathBuf,
    /// The destination as written in the patch.
    pub display: String,
}

/// One verified file operation, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAction {
    /// Create or overwrite `path`.
    Add {
        path: PathBuf,
        display: String,
        contents: String,
    },
    /// Remove `path`.
    Delete { path: PathBuf, display: String },
    /// Replace the contents of `path` (written to `move_to` instead, if set,
    /// and `path` is then removed).
    Update {
        path: PathBuf,
        display: String,
        move_to: Option<MoveTo>,
        new_contents: String,
    },
}

/// One file a patch touches, known from the patch alone (before any file is
/// read), with absolute paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChange {
    /// The file the hunk names.
    pub path: PathBuf,
    /// What the hunk does to it (a move is an update).
    pub kind: ChangeKind,
    /// Where an update moves the file.
    pub move_to: Option<PathBuf>,
}

impl PlannedChange {
    /// Every absolute path this change writes or removes.
    pub fn targets(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.path.as_path()).chain(self.move_to.as_deref())
    }
}

/// The changes of `patch`, in hunk order, with paths resolved against `cwd`.
pub fn plan(patch: &Patch, cwd: &Path) -> Vec<PlannedChange> {
    patch
        .hunks
        .iter()
        .map(|hunk| match hunk {
            Hunk::Add { path, .. } => PlannedChange {
                path: resolve(cwd, path),
                kind: ChangeKind::Add,
                move_to: None,
            },
            Hunk::Delete { path } => PlannedChange {
                path: resolve(cwd, path),
                kind: ChangeKind::Delete,
                move_to: None,
            },
            Hunk::Update {
                path, move_path, ..
            } => PlannedChange {
                path: resolve(cwd, path),
                kind: ChangeKind::Update,
                move_to: move_path.as_ref().map(|to| resolve(cwd, to)),
            },
        })
        .collect()
}

/// The kind of a change, as reported in `file_change` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Add,
    Delete,
    Update,
}

/// The files a patch touched, by kind, as written in the patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub deleted: Vec<String>,
}

impl Summary {
    /// The success text returned to the model: one `A`/`M`/`D` line per
    /// file, grouped added, modified, deleted.
    pub fn to_model_text(&self) -> String {
        let mut text = String::from("Success. Updated the following files:\n");
        let groups = [
            ("A", &self.added),
            ("M", &self.modified),
            ("D", &self.deleted),
        ];
        for (letter, paths) in groups {
            for path in paths {
                text.push_str(&format!("{letter} {path}\n"));
            }
        }
        text
    }
}

/// Check every hunk against the files (paths resolved against `cwd`, reached
/// through `files`, every target checked) and compute the new contents.
/// Nothing is written.
///
/// Hunks see the effect of earlier hunks of the same patch, so two updates of
/// one file compose instead of the second silently undoing the first.
pub fn verify(patch: &Patch, cwd: &Path, files: &Files<'_>) -> Result<Vec<FileAction>, ApplyError> {
    if patch.hunks.is_empty() {
        return Err(ApplyError::Empty);
    }
    // Contents as they will be after the hunks seen so far (`None`: removed).
    let mut pending: HashMap<PathBuf, Option<String>> = HashMap::new();
    let mut actions = Vec::with_capacity(patch.hunks.len());
    for hunk in &patch.hunks {
        let action = match hunk {
            Hunk::Add { path, contents } => {
                let abs = resolve(cwd, path);
                files.check_target(&abs)?;
                pending.insert(abs.clone(), Some(contents.clone()));
                FileAction::Add {
                    path: abs,
                    display: path.display().to_string(),
                    contents: contents.clone(),
                }
            }
            Hunk::Delete { path } => {
                let abs = resolve(cwd, path);
                files.check_target(&abs)?;
                check_deletable(&abs, pending.get(&abs), files)?;
                pending.insert(abs.clone(), None);
                FileAction::Delete {
                    path: abs,
                    display: path.display().to_string(),
                }
            }
            Hunk::Update {
                path,
                move_path,
                chunks,
            } => {
                let abs = resolve(cwd, path);
                let move_to = move_path.as_ref().map(|to| MoveTo {
                    path: resolve(cwd, to),
                    display: to.display().to_string(),
                });
                files.check_target(&abs)?;
                if let Some(to) = &move_to {
                    files.check_target(&to.path)?;
                }
                let current = read_current(&abs, pending.get(&abs), files)?;
                let new_contents = updated_contents(&current, chunks, &abs)?;
                match &move_to {
                    Some(to) if to.path != abs => {
                        pending.insert(abs.clone(), None);
                        pending.insert(to.path.clone(), Some(new_contents.clone()));
                    }
                    Some(_) | None => {
                        pending.insert(abs.clone(), Some(new_contents.clone()));
                    }
                }
                FileAction::Update {
                    path: abs,
                    display: path.display().to_string(),
                    move_to,
                    new_contents,
                }
            }
        };
        actions.push(action);
    }
    Ok(actions)
}

/// Perform verified actions in order through `files`. Parent directories are
/// created as needed. A move writes the destination, then removes the source,
/// so a failed write leaves the source in place. Errors name the path that
/// failed.
pub fn write(actions: &[FileAction], files: &Files<'_>) -> Result<Summary, WriteError> {
    let mut summary = Summary::default();
    for action in actions {
        match action {
            FileAction::Add {
                path,
                display,
                contents,
            } => {
                files.write(path, contents)?;
                summary.added.push(display.clone());
            }
            FileAction::Delete { path, display } => {
                files.remove(path)?;
                summary.deleted.push(display.clone());
            }
            FileAction::Update {
                path,
                display,
                move_to,
                new_contents,
            } => match move_to {
                Some(to) => {
                    files.write(&to.path, new_contents)?;
                    if to.path != *path {
                        files.remove(path)?;
                    }
                    summary.modified.push(to.display.clone());
                }
                None => {
                    files.write(path, new_contents)?;
                    summary.modified.push(display.clone());
                }
            },
        }
    }
    Ok(summary)
}

/// The `(absolute path, kind)` pairs for a `file_change` item, sorted by path.
/// A move is reported as an update of its source path.
pub fn changes(planned: &[PlannedChange]) -> Vec<(PathBuf, ChangeKind)> {
    let mut changes: Vec<(PathBuf, ChangeKind)> = planned
        .iter()
        .map(|change| (change.path.clone(), change.kind))
        .collect();
    changes.sort();
    changes.dedup();
    changes
}

/// Resolve a patch path against `cwd` and fold `.`/`..` lexically, so that
/// the sandbox check sees the path that will really be used.
fn resolve(cwd: &Path, path: &Path) -> PathBuf {
    let mut resolved = PathBuf::new();
    for component in cwd.join(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Prefix(_) | Component::RootDir | Component::Normal(_) => {
                resolved.push(component.as_os_str());
            }
        }
    }
    resolved
}

/// The contents of a file to update: pending contents from an earlier hunk,
/// else what is on disk.
fn read_current(
    path: &Path,
    pending: Option<&Option<String>>,
    files: &Files<'_>,
) -> Result<String, ApplyError> {
    let error = |source| ApplyError::Read {
        path: path.to_path_buf(),
        source,
    };
    match pending {
        Some(Some(contents)) => Ok(contents.clone()),
        Some(None) => Err(error(removed_earlier())),
        None => files.read(path).map_err(|err| match err {
            FileError::Refused(refusal) => ApplyError::Refused(refusal),
            FileError::Io(source) => error(source),
        }),
    }
}

/// A file may be deleted if it exists as a regular file (on disk or pending).
fn check_deletable(
    path: &Path,
    pending: Option<&Option<String>>,
    files: &Files<'_>,
) -> Result<(), ApplyError> {
    let error = |source| ApplyError::Delete {
        path: path.to_path_buf(),
        source,
    };
    match pending {
        Some(Some(_)) => Ok(()),
        Some(None) => Err(error(removed_earlier())),
        None => files.check_deletable(path).map_err(|err| match err {
            FileError::Refused(refusal) => ApplyError::Refused(refusal),
            FileError::Io(source) => error(source),
        }),
    }
}

/// The error for a file that an earlier hunk of the same patch removes.
fn removed_earlier() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "the file is removed by an earlier hunk of this patch",
    )
}

/// Apply the chunks of an update hunk to `original` (SPEC §10.3 steps 1–3).
fn updated_contents(
    original: &str,
    chunks: &[UpdateChunk],
    path: &Path,
) -> Result<String, ApplyError> {
    let crlf = original
        .find('\n')
        .is_some_and(|at| original[..at].ends_with('\r'));
    let mut lines: Vec<String> = original
        .split('\n')
        .map(|line| {
            let line = if crlf {
                line.strip_suffix('\r').unwrap_or(line)
            } else {
                line
            };
            line.to_string()
        })
        .collect();
    // `split` leaves one empty element after a final newline (or for "").
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }

    let mut replacements = plan_replacements(&lines, chunks, path)?;
    // Stable sort: equal positions keep patch order, and applying from the
    // back keeps earlier positions valid.
    replacements.sort_by_key(|replacement| replacement.start);
    for replacement in replacements.into_iter().rev() {
        let end = replacement.start + replacement.old_len;
        lines.splice(replacement.start..end, replacement.new_lines);
    }

    let eol = if crlf { "\r\n" } else { "\n" };
    let mut text = lines.join(eol);
    while let Some(stripped) = text.strip_suffix(eol) {
        text.truncate(stripped.len());
    }
    if !text.is_empty() {
        text.push_str(eol);
    }
    Ok(text)
}

/// Replace `old_len` lines at `start` with `new_lines`.
#[derive(Debug)]
struct Replacement {
    start: usize,
    old_len: usize,
    new_lines: Vec<String>,
}

/// Locate every chunk, in order, each at or after the previous one.
fn plan_replacements(
    lines: &[String],
    chunks: &[UpdateChunk],
    path: &Path,
) -> Result<Vec<Replacement>, ApplyError> {
    let mut replacements = Vec::with_capacity(chunks.len());
    let mut cursor = 0;
    for chunk in chunks {
        if let Some(context) = &chunk.context {
            let found = find_block(lines, std::slice::from_ref(context), cursor, false)
                .ok_or_else(|| ApplyError::ContextNotFound {
                    context: context.clone(),
                    path: path.to_path_buf(),
                })?;
            cursor = found + 1;
        }

        if chunk.old_lines.is_empty() {
            // Pure insertion: append, keeping a trailing blank line last.
            let start = match lines.last() {
                Some(last) if last.is_empty() => lines.len() - 1,
                Some(_) | None => lines.len(),
            };
            replacements.push(Replacement {
                start,
                old_len: 0,
                new_lines: chunk.new_lines.clone(),
            });
            continue;
        }

        let mut old: &[String] = &chunk.old_lines;
        let mut new: &[String] = &chunk.new_lines;
        let mut found = find_block(lines, old, cursor, chunk.end_of_file);
        if found.is_none() && old.last().is_some_and(String::is_empty) {
            // Models often end a chunk with a blank line the file lacks.
            old = &old[..old.len() - 1];
            if new.last().is_some_and(String::is_empty) {
                new = &new[..new.len() - 1];
            }
            found = find_block(lines, old, cursor, chunk.end_of_file);
        }
        let start = found.ok_or_else(|| ApplyError::LinesNotFound {
            lines: chunk.old_lines.join("\n"),
            path: path.to_path_buf(),
        })?;
        replacements.push(Replacement {
            start,
            old_len: old.len(),
            new_lines: new.to_vec(),
        });
        cursor = start + old.len();
    }
    Ok(replacements)
}

/// How strictly two lines must agree; tried in this order.
#[derive(Debug, Clone, Copy)]
enum Strictness {
    Exact,
    TrimEnd,
    Trim,
    Normalized,
}

const STRICTNESS_LEVELS: [Strictness; 4] = [
    Strictness::Exact,
    Strictness::TrimEnd,
    Strictness::Trim,
    Strictness::Normalized,
];

/// The first index at or after `from` where `pattern` occurs in `lines`,
/// trying each strictness level over the whole range before relaxing. An
/// end-of-file pattern tries the last possible position first. An empty
/// pattern matches at `from`.
fn find_block(lines: &[String], pattern: &[String], from: usize, at_eof: bool) -> Option<usize> {
    if pattern.is_empty() {
        return Some(from);
    }
    let last_start = lines.len().checked_sub(pattern.len())?;
    if from > last_start {
        return None;
    }
    let matches_at = |start: usize, level: Strictness| {
        lines[start..]
            .iter()
            .zip(pattern)
            .all(|(line, wanted)| canonical(line, level) == canonical(wanted, level))
    };
    if at_eof
        && STRICTNESS_LEVELS
            .iter()
            .any(|&level| matches_at(last_start, level))
    {
        return Some(last_start);
    }
    STRICTNESS_LEVELS
        .iter()
        .find_map(|&level| (from..=last_start).find(|&start| matches_at(start, level)))
}

/// A line as compared at `level`.
fn canonical(line: &str, level: Strictness) -> Cow<'_, str> {
    match level {
        Strictness::Exact => Cow::Borrowed(line),
        Strictness::TrimEnd => Cow::Borrowed(line.trim_end()),
        Strictness::Trim => Cow::Borrowed(line.trim()),
        Strictness::Normalized => {
            let normalized: String = line.chars().map(plain_punctuation).collect();
            Cow::Owned(normalized.trim().to_string())
        }
    }
}

/// Map typographic dashes, quotes and spaces to their ASCII counterparts.
fn plain_punctuation(c: char) -> char {
    match c {
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        '\u{2018}'..='\u{201B}' => '\'',
        '\u{201C}'..='\u{201F}' => '"',
        '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => ' ',
        other => other,
    }
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
