//! The `-o/--output-last-message` file's startup check (SPEC §6.1): a path
//! that cannot be written fails the run before any model request, not after
//! the turn has run its tools.

use std::path::{Path, PathBuf};

/// The `-o` file cannot be opened for writing. Fatal to the process (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("Error: Failed to open last message file {path:?}: {source}")]
pub struct LastMessageFileError {
    path: PathBuf,
    source: std::io::Error,
}

/// Open `path` for writing (creating it, empty, when it does not exist) and
/// close it again. An existing file keeps its contents until the run writes it.
pub fn check_writable(path: &Path) -> Result<(), LastMessageFileError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
        .map_err(|source| LastMessageFileError {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn missing_directories_and_directories_are_refused() {
        let dir = std::env::temp_dir().join(format!("last-message-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = check_writable(&dir.join("no/such/dir/out.txt")).unwrap_err();
        assert!(
            err.to_string().contains("No such file or directory"),
            "{err}"
        );
        let err = check_writable(&dir).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Error: Failed to open last message file "),
            "{err}"
        );
        let file = dir.join("out.txt");
        std::fs::write(&file, "old").unwrap();
        check_writable(&file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "old");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
