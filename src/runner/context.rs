//! The initial context of a thread (SPEC §7.5, §19): base instructions, the
//! permissions message, AGENTS.md and the environment context.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::config::Config;
use crate::runner::model::catalog::{ApplyPatchTool, ModelInfo};
use crate::runner::tools::apply_patch;
use crate::runner::tools::prefix_at_boundary;
use crate::sandbox::SandboxPolicy;

/// Our own base instructions (not a compatibility surface; SPEC §19.4).
const BASE_INSTRUCTIONS: &str = include_str!("prompts/base_instructions.md");
/// Separator between global and project AGENTS.md text (SPEC §19.1).
const PROJECT_DOC_SEPARATOR: &str = "\n\n--- project-doc ---\n\n";
/// How the AGENTS.md message starts.
const AGENTS_MD_HEADING: &str = "# AGENTS.md instructions for ";
/// How the environment context message starts.
const ENVIRONMENT_CONTEXT_OPEN: &str = "<environment_context>";
/// How the reference's classic user-instructions message starts (found in
/// resumed rollouts).
const USER_INSTRUCTIONS_OPEN: &str = "<user_instructions>";

/// The `instructions` field of every request. Families without an
/// apply_patch tool also get the patch-format instructions, since they edit
/// files by calling `apply_patch` through the shell (SPEC §9.1).
pub fn base_instructions(config: &Config, info: &ModelInfo) -> String {
    let mut text = config
        .base_instructions
        .clone()
        .unwrap_or_else(|| BASE_INSTRUCTIONS.to_string());
    if info.apply_patch == ApplyPatchTool::None {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
        text.push_str(apply_patch::tool_instructions());
    }
    text
}

/// The input items that precede the first user prompt of a new thread.
pub fn initial_items(config: &Config, local_date: &str) -> Vec<Value> {
    let mut items = vec![message("developer", &permissions_text(config))];
    if let Some(text) = &config.developer_instructions {
        items.push(message("developer", text));
    }
    if let Some(docs) = agents_md(config) {
        items.push(message(
            "user",
            &format!(
                "{AGENTS_MD_HEADING}{}\n\n<INSTRUCTIONS>\n{docs}\n</INSTRUCTIONS>",
                config.cwd.display()
            ),
        ));
    }
    items.push(message("user", &environment_context(config, local_date)));
    items
}

/// Whether a message with `role` and `text` is initial context (instructions,
/// permissions, AGENTS.md, the environment) rather than something a user wrote.
pub fn is_context_message(role: &str, text: &str) -> bool {
    match role {
        "user" => [
            AGENTS_MD_HEADING,
            ENVIRONMENT_CONTEXT_OPEN,
            USER_INSTRUCTIONS_OPEN,
        ]
        .iter()
        .any(|open| text.starts_with(open)),
        "developer" | "system" => true,
        _ => false,
    }
}

/// The user's prompt: image parts first, then the text (SPEC §7.4).
pub fn user_message(text: &str, mut images: Vec<Value>) -> Value {
    images.push(json!({"type": "input_text", "text": text}));
    json!({"type": "message", "role": "user", "content": images})
}

/// A message input item with one `input_text` part.
pub fn message(role: &str, text: &str) -> Value {
    json!({"type": "message", "role": role, "content": [{"type": "input_text", "text": text}]})
}

fn permissions_text(config: &Config) -> String {
    let mut text = String::from("<permissions instructions>\n");
    match &config.sandbox {
        SandboxPolicy::ReadOnly => text.push_str(
            "Sandbox mode: read-only. Commands may read any file but cannot write anywhere \
             (except /dev/null).\n",
        ),
        SandboxPolicy::WorkspaceWrite { .. } => {
            text.push_str(
                "Sandbox mode: workspace-write. Commands may read any file and write only inside \
                 these roots:\n",
            );
            for root in config.sandbox.writable_roots(&config.cwd) {
                text.push_str(&format!("- {}\n", root.display()));
            }
        }
        SandboxPolicy::DangerFullAccess => {
            text.push_str("Sandbox mode: danger-full-access. Commands run without any sandbox.\n")
        }
    }
    if config.sandbox.has_network_access() {
        text.push_str("Network access is enabled.\n");
    } else {
        text.push_str("Network access is restricted: commands cannot open network connections.\n");
    }
    text.push_str(
        "Approval policy: never. Nobody can approve anything during this run: never ask for \
         escalated permissions; work within these limits and report what they prevented.\n",
    );
    text.push_str("</permissions instructions>");
    text
}

/// `<environment_context>` with the classic fields plus date and timezone.
pub fn environment_context(config: &Config, local_date: &str) -> String {
    let mut lines = vec![
        ENVIRONMENT_CONTEXT_OPEN.to_string(),
        format!("  <cwd>{}</cwd>", config.cwd.display()),
        "  <approval_policy>never</approval_policy>".to_string(),
        format!(
            "  <sandbox_mode>{}</sandbox_mode>",
            config.sandbox.mode_name()
        ),
        format!(
            "  <network_access>{}</network_access>",
            if config.sandbox.has_network_access() {
                "enabled"
            } else {
                "restricted"
            }
        ),
    ];
    if let SandboxPolicy::WorkspaceWrite { writable_roots, .. } = &config.sandbox {
        if !writable_roots.is_empty() {
            lines.push("  <writable_roots>".to_string());
            for root in writable_roots {
                lines.push(format!("    <root>{}</root>", root.display()));
            }
            lines.push("  </writable_roots>".to_string());
        }
    }
    lines.push(format!("  <shell>{}</shell>", user_shell_name()));
    lines.push(format!("  <current_date>{local_date}</current_date>"));
    if let Some(tz) = timezone_name() {
        lines.push(format!("  <timezone>{tz}</timezone>"));
    }
    lines.push("</environment_context>".to_string());
    lines.join("\n")
}

fn user_shell_name() -> String {
    std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty())
        .and_then(|s| {
            Path::new(&s)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "bash".to_string())
}

fn timezone_name() -> Option<String> {
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':');
        if !tz.is_empty() {
            return Some(tz.to_string());
        }
    }
    if let Ok(text) = std::fs::read_to_string("/etc/timezone") {
        let tz = text.trim();
        if !tz.is_empty() {
            return Some(tz.to_string());
        }
    }
    let target = std::fs::read_link("/etc/localtime").ok()?;
    let text = target.to_string_lossy();
    let (_, name) = text.split_once("zoneinfo/")?;
    Some(name.to_string())
}

/// Global and project AGENTS.md text combined (SPEC §19.1), or `None`.
fn agents_md(config: &Config) -> Option<String> {
    if config.project_doc_max_bytes == 0 {
        return None;
    }
    let global = ["AGENTS.override.md", "AGENTS.md"]
        .iter()
        .find_map(|name| read_non_empty(&config.codex_home.join(name)));
    let project = project_docs(config);
    match (global, project) {
        (None, None) => None,
        (Some(g), None) => Some(g),
        (None, Some(p)) => Some(p),
        (Some(g), Some(p)) => Some(format!("{g}{PROJECT_DOC_SEPARATOR}{p}")),
    }
}

fn project_docs(config: &Config) -> Option<String> {
    let root = git_root(&config.cwd).unwrap_or_else(|| config.cwd.clone());
    let mut dirs: Vec<PathBuf> = config
        .cwd
        .ancestors()
        .take_while(|dir| dir.starts_with(&root))
        .map(Path::to_path_buf)
        .collect();
    dirs.reverse();
    let mut names = vec!["AGENTS.override.md".to_string(), "AGENTS.md".to_string()];
    names.extend(config.project_doc_fallback_filenames.iter().cloned());
    let mut parts: Vec<String> = Vec::new();
    let mut remaining = config.project_doc_max_bytes;
    for dir in dirs {
        if remaining == 0 {
            break;
        }
        let Some(text) = names
            .iter()
            .find_map(|name| read_non_empty(&dir.join(name)))
        else {
            continue;
        };
        let text = prefix_at_boundary(&text, remaining);
        remaining -= text.len();
        parts.push(text.to_string());
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

fn read_non_empty(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    (!text.trim().is_empty()).then_some(text)
}

/// The nearest ancestor of `cwd` (inclusive) that contains a `.git` entry.
pub fn git_root(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}
