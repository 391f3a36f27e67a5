//! `--image` attachments: read each file, check it is a supported image, and
//! turn it into an `input_image` content part (a base64 data URL).

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{json, Value};

/// Why an image could not be attached. Fatal to the process (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("Error: cannot read image `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Error: `{0}` is not a PNG, JPEG, GIF or WebP image")]
    Format(PathBuf),
}

/// The content parts for `paths`, in order, resolved against `cwd`.
pub fn load(paths: &[PathBuf], cwd: &Path) -> Result<Vec<Value>, ImageError> {
    paths
        .iter()
        .map(|path| {
            let full = cwd.join(path);
            let bytes = std::fs::read(&full).map_err(|source| ImageError::Read {
                path: path.clone(),
                source,
            })?;
            let mime = mime_type(&bytes).ok_or_else(|| ImageError::Format(path.clone()))?;
            let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
            Ok(json!({"type": "input_image", "image_url": format!("data:{mime};base64,{data}")}))
        })
        .collect()
}

/// Sniff the image type from its first bytes.
fn mime_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        assert_eq!(mime_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(mime_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(mime_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(mime_type(b"hello"), None);
    }
}
