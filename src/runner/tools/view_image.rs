//! `view_image` (SPEC §9.2): attach a local image to the conversation.
//!
//! The call's output only confirms; the image itself goes to the model as a
//! user message with an `input_image` part, which the turn loop appends after
//! all outputs of the response. Every failure (bad arguments, a missing or
//! unreadable file, a file that is not a supported image) is the call's
//! output instead; nothing is attached then.

use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::runner::images;

/// The tool's name.
pub const NAME: &str = "view_image";
/// What the model gets back when the image was attached (the reference's wording).
const ATTACHED_REPLY: &str = "attached local image path";
/// Largest file attached. Base64 grows it by a third, and every later request
/// of the thread carries it again; the API refuses much larger images anyway.
const VIEW_IMAGE_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// The function-tool spec advertised to the model.
pub fn spec() -> Value {
    json!({
        "type": "function",
        "name": NAME,
        "description": "Attach a local image file (PNG, JPEG, GIF or WebP) to the conversation so that you can look at it. The image is added to your context after this call's output.",
        "strict": false,
        "parameters": {
            "type": "object",
            "additionalProperties": false,
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "description": "Path of the image file; relative paths start at the session's working directory."}
            }
        }
    })
}

#[derive(Debug, Deserialize)]
struct ViewImageArgs {
    path: String,
}

/// An attached image.
#[derive(Debug)]
pub struct Viewed {
    /// The call's output text.
    pub reply: String,
    /// The user message carrying the image.
    pub message: Value,
}

/// Read the image named by the call's `arguments` (resolved against `cwd`).
/// `Err` is the call's output text.
pub async fn view(arguments: &str, cwd: &Path) -> Result<Viewed, String> {
    let args: ViewImageArgs = serde_json::from_str(arguments)
        .map_err(|err| format!("failed to parse function arguments: {err}"))?;
    let path = cwd.join(&args.path);
    let shown = path.display();
    let metadata = tokio::fs::metadata(&path)
        .await
        .map_err(|err| format!("view_image failed: cannot read `{shown}`: {err}"))?;
    if !metadata.is_file() {
        return Err(format!("view_image failed: `{shown}` is not a file"));
    }
    if metadata.len() > VIEW_IMAGE_MAX_BYTES {
        return Err(format!(
            "view_image failed: `{shown}` is {} bytes; images larger than {VIEW_IMAGE_MAX_BYTES} bytes are not attached",
            metadata.len()
        ));
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|err| format!("view_image failed: cannot read `{shown}`: {err}"))?;
    let part = images::input_image_part(&bytes).ok_or_else(|| {
        format!(
            "view_image failed: `{shown}` is not a {} image",
            images::SUPPORTED_FORMATS
        )
    })?;
    Ok(Viewed {
        reply: ATTACHED_REPLY.to_string(),
        message: json!({"type": "message", "role": "user", "content": [part]}),
    })
}
