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

/// Check that `path` can be written: an existing file is opened for writing
/// (its contents stay until the run writes it); a missing one is created and
/// removed again, so what a failed run leaves behind is decided at its end.
pub fn check_writable(path: &Path) -> Result<(), LastMessageFileError> {
    let error = |source| LastMessageFileError {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(error)?;
            let _ = std::fs::remove_file(path);
            Ok(())
        }
        Err(err) => Err(error(err)),
    }
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
        check_writable(&file).unwrap();
        assert!(!file.exists());
        std::fs::write(&file, "old").unwrap();
        check_writable(&file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "old");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
