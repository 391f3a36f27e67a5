//! Local images as model input (SPEC §7.4): recognise a supported format from
//! the file's first bytes and turn it into an `input_image` content part with a
//! base64 data URL.
//!
//! Shared by `--image` attachments (exec front end) and the `view_image` tool.
//! Owns no policy: callers decide what a failure means (a fatal startup error
//! or a reply to the model).

use base64::Engine;
use serde_json::{json, Value};

/// The formats the Responses API accepts as image input, for messages.
pub const SUPPORTED_FORMATS: &str = "PNG, JPEG, GIF or WebP";

/// The MIME type of `bytes`, sniffed from its signature, if it is a supported image.
pub fn mime_type(bytes: &[u8]) -> Option<&'static str> {
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

/// `{"type":"input_image","image_url":"data:<mime>;base64,..."}` for the image
/// in `bytes`, or `None` when it is not a supported format.
pub fn input_image_part(bytes: &[u8]) -> Option<Value> {
    let mime = mime_type(bytes)?;
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    Some(json!({"type": "input_image", "image_url": format!("data:{mime};base64,{data}")}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        assert_eq!(mime_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(mime_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(mime_type(b"GIF89a..."), Some("image/gif"));
        assert_eq!(mime_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(mime_type(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(mime_type(b"hello"), None);
    }

    #[test]
    fn builds_a_data_url_part() {
        assert_eq!(
            input_image_part(b"\x89PNG\r\n\x1a\nrest"),
            Some(
                json!({"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgpyZXN0"})
            )
        );
        assert_eq!(input_image_part(b"plain text"), None);
    }
}
