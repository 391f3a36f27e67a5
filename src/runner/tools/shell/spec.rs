//! The command tools as the model sees them (SPEC §9.2): JSON specs and the
//! argument shapes they are parsed into. Property maps are written in key
//! order, as the reference emits them.

use serde::Deserialize;
use serde_json::{json, Value};

/// Value of `sandbox_permissions` that asks to run outside the sandbox.
const REQUIRE_ESCALATED: &str = "require_escalated";

fn function(name: &str, description: &str, required: &[&str], properties: Value) -> Value {
    json!({
        "type": "function",
        "name": name,
        "description": description,
        "strict": false,
        "parameters": {
            "type": "object",
            "additionalProperties": false,
            "required": required,
            "properties": properties,
        }
    })
}

fn justification() -> Value {
    json!({"type": "string", "description": "Only with sandbox_permissions = \"require_escalated\": one sentence telling the user why the command needs to leave the sandbox."})
}

fn sandbox_permissions() -> Value {
    json!({"type": "string", "enum": ["use_default", REQUIRE_ESCALATED], "description": "\"use_default\" (the default) runs inside the sandbox; \"require_escalated\" asks to run outside it, which needs approval."})
}

fn workdir() -> Value {
    json!({"type": "string", "description": "Directory to run in; relative paths start at the session's working directory. Prefer this over `cd`."})
}

/// `exec_command` (unified exec).
pub fn exec_command() -> Value {
    function(
        "exec_command",
        "Run a shell command and return its output. If it is still running after yield_time_ms, you get a session ID: poll it or send input with write_stdin. Interactive programs need tty = true.",
        &["cmd"],
        json!({
            "cmd": {"type": "string", "description": "The shell command to run."},
            "justification": justification(),
            "login": {"type": "boolean", "description": "Run the shell as a login shell (-lc instead of -c). Defaults to true."},
            "max_output_tokens": {"type": "number", "description": "Most output tokens to return; longer output keeps its start and end. Defaults to 10000."},
            "prefix_rule": {"type": "array", "items": {"type": "string"}, "description": "Accepted for compatibility; ignored (nothing can be approved in exec mode)."},
            "sandbox_permissions": sandbox_permissions(),
            "shell": {"type": "string", "description": "Shell binary to run the command with. Defaults to the user's shell."},
            "tty": {"type": "boolean", "description": "Run on a pseudo-terminal so that write_stdin can type into it. Defaults to false (stdin closed)."},
            "workdir": workdir(),
            "yield_time_ms": {"type": "number", "description": "How long to wait for the command to finish before returning (250 to 30000). Defaults to 10000."},
        }),
    )
}

/// `write_stdin` (unified exec).
pub fn write_stdin() -> Value {
    function(
        "write_stdin",
        "Send characters to a running exec_command session and return its new output. Send empty chars to just wait for and collect output.",
        &["session_id"],
        json!({
            "chars": {"type": "string", "description": "Characters to write (include \"\\n\" to submit a line); empty to only poll."},
            "max_output_tokens": {"type": "number", "description": "Most output tokens to return. Defaults to 10000."},
            "session_id": {"type": "number", "description": "Session ID reported by exec_command."},
            "yield_time_ms": {"type": "number", "description": "How long to wait for output before returning (250 to 30000). Defaults to 250."},
        }),
    )
}

/// The classic `shell` tool.
pub fn shell() -> Value {
    function(
        "shell",
        "Run a command and return its output. The arguments go straight to execvp(), so wrap shell syntax as [\"bash\", \"-lc\", \"...\"]. Always set workdir.",
        &["command"],
        json!({
            "command": {"type": "array", "items": {"type": "string"}, "description": "The command and its arguments."},
            "justification": justification(),
            "sandbox_permissions": sandbox_permissions(),
            "timeout_ms": {"type": "number", "description": "Kill the command after this many milliseconds. Defaults to 10000."},
            "workdir": workdir(),
        }),
    )
}

/// `shell_command`: a script for the user's shell.
pub fn shell_command() -> Value {
    function(
        "shell_command",
        "Run a shell script with the user's shell and return its output. Always set workdir.",
        &["command"],
        json!({
            "command": {"type": "string", "description": "The script to run."},
            "justification": justification(),
            "login": {"type": "boolean", "description": "Run the shell as a login shell (-lc instead of -c). Defaults to true."},
            "sandbox_permissions": sandbox_permissions(),
            "timeout_ms": {"type": "number", "description": "Kill the command after this many milliseconds. Defaults to 10000."},
            "workdir": workdir(),
        }),
    )
}

/// Fields every command tool shares.
#[derive(Debug, Default, Deserialize)]
pub struct Escalation {
    pub sandbox_permissions: Option<String>,
    /// Older builds' spelling of the same request.
    pub with_escalated_permissions: Option<bool>,
}

impl Escalation {
    /// Whether the call asks to leave the sandbox.
    pub fn requested(&self) -> bool {
        self.sandbox_permissions.as_deref() == Some(REQUIRE_ESCALATED)
            || self.with_escalated_permissions == Some(true)
    }
}

/// `exec_command` arguments.
#[derive(Debug, Deserialize)]
pub struct ExecCommandArgs {
    pub cmd: String,
    pub workdir: Option<String>,
    pub shell: Option<String>,
    pub login: Option<bool>,
    pub tty: Option<bool>,
    pub yield_time_ms: Option<f64>,
    pub max_output_tokens: Option<f64>,
    #[serde(flatten)]
    pub escalation: Escalation,
}

/// `write_stdin` arguments.
#[derive(Debug, Deserialize)]
pub struct WriteStdinArgs {
    pub session_id: f64,
    pub chars: Option<String>,
    pub yield_time_ms: Option<f64>,
    pub max_output_tokens: Option<f64>,
}

/// `shell` arguments.
#[derive(Debug, Deserialize)]
pub struct ShellArgs {
    pub command: Vec<String>,
    pub workdir: Option<String>,
    pub timeout_ms: Option<f64>,
    #[serde(flatten)]
    pub escalation: Escalation,
}

/// `shell_command` arguments.
#[derive(Debug, Deserialize)]
pub struct ShellCommandArgs {
    pub command: String,
    pub workdir: Option<String>,
    pub login: Option<bool>,
    pub timeout_ms: Option<f64>,
    #[serde(flatten)]
    pub escalation: Escalation,
}

/// Parse a call's JSON arguments, with the reference's error text.
pub fn parse<T: for<'de> Deserialize<'de>>(arguments: &str) -> Result<T, String> {
    serde_json::from_str(arguments)
        .map_err(|err| format!("failed to parse function arguments: {err}"))
}

/// A numeric argument as a whole number of `T`, clamped to `[min, max]`.
pub fn clamp_number(value: Option<f64>, default: u64, min: u64, max: u64) -> u64 {
    match value {
        Some(v) if v.is_finite() => (v.max(0.0).round() as u64).clamp(min, max),
        _ => default.clamp(min, max),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn specs_list_properties_in_key_order() {
        for spec in [exec_command(), write_stdin(), shell(), shell_command()] {
            let keys: Vec<&String> = spec["parameters"]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "{}", spec["name"]);
        }
    }

    #[test]
    fn parses_arguments() {
        let args: ExecCommandArgs =
            parse(r#"{"cmd":"ls","yield_time_ms":500.0,"sandbox_permissions":"require_escalated","prefix_rule":["ls"]}"#)
                .unwrap();
        assert_eq!(args.cmd, "ls");
        assert!(args.escalation.requested());
        assert_eq!(clamp_number(args.yield_time_ms, 10_000, 250, 30_000), 500);
        assert_eq!(clamp_number(Some(5.0), 10_000, 250, 30_000), 250);
        assert_eq!(clamp_number(None, 10_000, 250, 30_000), 10_000);
        let err = parse::<ShellArgs>(r#"{"command":"ls"}"#).unwrap_err();
        assert!(
            err.starts_with("failed to parse function arguments: "),
            "{err}"
        );
        let old: ShellArgs =
            parse(r#"{"command":["ls"],"with_escalated_permissions":true}"#).unwrap();
        assert!(old.escalation.requested());
    }
}
