//! `--image` attachments: read each file and turn it into an `input_image`
//! content part; a missing or unsupported file stops the run before any request.
//! Format sniffing and data URLs live in `runner::images`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::runner::images;

/// Why an image could not be attached. Fatal to the process (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("Error: cannot read image `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Error: `{}` is not a {} image", .0.display(), images::SUPPORTED_FORMATS)]
    Format(PathBuf),
}

/// The content parts for `paths`, in order, resolved against `cwd`.
pub fn load(paths: &[PathBuf], cwd: &Path) -> Result<Vec<Value>, ImageError> {
    paths
        .iter()
        .map(|path| {
            let bytes = std::fs::read(cwd.join(path)).map_err(|source| ImageError::Read {
                path: path.clone(),
                source,
            })?;
            images::input_image_part(&bytes).ok_or_else(|| ImageError::Format(path.clone()))
        })
        .collect()
}
