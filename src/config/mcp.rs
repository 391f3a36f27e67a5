//! `[mcp_servers.<name>]` (SPEC §15.1): parsed from the merged TOML tree, so
//! `-c mcp_servers.x.key=value` overrides apply.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// Default bound on spawn + `initialize` + `tools/list`.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound on one `tools/call`.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// One enabled MCP server.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServerConfig {
    /// The table key (`mcp_servers.<name>`).
    pub name: String,
    /// How to reach it.
    pub transport: McpTransport,
    /// Bound on the whole startup handshake.
    pub startup_timeout: Duration,
    /// Bound on each tool call.
    pub tool_timeout: Duration,
    /// Whether a startup failure is fatal to the run.
    pub required: bool,
    /// Allow-list of tool names (applied first).
    pub enabled_tools: Option<Vec<String>>,
    /// Deny-list of tool names (applied after the allow-list).
    pub disabled_tools: Vec<String>,
}

/// Where an MCP server lives.
#[derive(Debug, Clone, PartialEq)]
pub enum McpTransport {
    /// A child process speaking MCP on stdin/stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        /// Extra variables set for the server.
        env: BTreeMap<String, String>,
        /// Names of variables copied from our environment.
        env_vars: Vec<String>,
        cwd: Option<PathBuf>,
    },
    /// A streamable HTTP endpoint (MCP 2025-06-18). Environment variables are
    /// resolved when the server is connected, not here.
    StreamableHttp {
        url: String,
        /// Variable whose value is sent as `Authorization: Bearer <value>`.
        bearer_token_env_var: Option<String>,
        /// Static headers sent with every request.
        http_headers: BTreeMap<String, String>,
        /// Header name → variable name; skipped when the variable is unset.
        env_http_headers: BTreeMap<String, String>,
    },
}

/// The raw table; unknown keys are ignored like elsewhere in config.toml.
#[derive(Debug, Deserialize)]
struct RawServer {
    command: Option<String>,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    env_vars: Option<Vec<String>>,
    cwd: Option<PathBuf>,
    url: Option<String>,
    bearer_token_env_var: Option<String>,
    http_headers: Option<BTreeMap<String, String>>,
    env_http_headers: Option<BTreeMap<String, String>>,
    startup_timeout_sec: Option<f64>,
    startup_timeout_ms: Option<u64>,
    tool_timeout_sec: Option<f64>,
    #[serde(default = "default_true")]
    enabled: bool,
    #[serde(default)]
    required: bool,
    enabled_tools: Option<Vec<String>>,
    #[serde(default)]
    disabled_tools: Vec<String>,
}

fn default_true() -> bool {
    true
}

/// The enabled servers of `[mcp_servers]`, in name order.
pub fn parse(
    servers: Option<&BTreeMap<String, toml::Value>>,
) -> Result<Vec<McpServerConfig>, ConfigError> {
    let mut out = Vec::new();
    for (name, value) in servers.into_iter().flatten() {
        let bad = |msg: String| ConfigError::Load(format!("{msg}\nin `mcp_servers.{name}`"));
        let raw: RawServer = value.clone().try_into().map_err(|e| bad(e.to_string()))?;
        if !raw.enabled {
            continue;
        }
        let transport = match (&raw.command, &raw.url) {
            (Some(_), Some(_)) => {
                return Err(bad("`command` and `url` are mutually exclusive".to_string()))
            }
            (None, None) => return Err(bad("either `command` or `url` is required".to_string())),
            (None, Some(url)) => {
                if raw.args.is_some()
                    || raw.env.is_some()
                    || raw.env_vars.is_some()
                    || raw.cwd.is_some()
                {
                    return Err(bad(
                        "`args`, `env`, `env_vars` and `cwd` are for stdio servers (`command`), not `url`"
                            .to_string(),
                    ));
                }
                McpTransport::StreamableHttp {
                    url: url.clone(),
                    bearer_token_env_var: raw.bearer_token_env_var.clone(),
                    http_headers: raw.http_headers.clone().unwrap_or_default(),
                    env_http_headers: raw.env_http_headers.clone().unwrap_or_default(),
                }
            }
            (Some(command), None) => {
                if raw.bearer_token_env_var.is_some()
                    || raw.http_headers.is_some()
                    || raw.env_http_headers.is_some()
                {
                    return Err(bad(
                        "`bearer_token_env_var`, `http_headers` and `env_http_headers` are for HTTP servers (`url`), not `command`"
                            .to_string(),
                    ));
                }
                McpTransport::Stdio {
                    command: command.clone(),
                    args: raw.args.clone().unwrap_or_default(),
                    env: raw.env.clone().unwrap_or_default(),
                    env_vars: raw.env_vars.clone().unwrap_or_default(),
                    cwd: raw.cwd.clone(),
                }
            }
        };
        let seconds = |value: Option<f64>, key: &str| -> Result<Option<Duration>, ConfigError> {
            value
                .map(|s| {
                    Duration::try_from_secs_f64(s)
                        .map_err(|_| bad(format!("`{key}` must be a non-negative number")))
                })
                .transpose()
        };
        let startup_timeout = seconds(raw.startup_timeout_sec, "startup_timeout_sec")?
            .or(raw.startup_timeout_ms.map(Duration::from_millis))
            .unwrap_or(DEFAULT_STARTUP_TIMEOUT);
        let tool_timeout =
            seconds(raw.tool_timeout_sec, "tool_timeout_sec")?.unwrap_or(DEFAULT_TOOL_TIMEOUT);
        out.push(McpServerConfig {
            name: name.clone(),
            transport,
            startup_timeout,
            tool_timeout,
            required: raw.required,
            enabled_tools: raw.enabled_tools,
            disabled_tools: raw.disabled_tools,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(toml_text: &str) -> Result<Vec<McpServerConfig>, ConfigError> {
        let table: BTreeMap<String, toml::Value> =
            toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
        parse(Some(&table))
    }

    #[test]
    fn stdio_defaults_and_disabled() {
        let got = servers(
            "[a]\ncommand = \"srv\"\n[b]\ncommand = \"x\"\nenabled = false\n[c]\ncommand = \"y\"\ntool_timeout_sec = 0.5\nrequired = true\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].startup_timeout, DEFAULT_STARTUP_TIMEOUT);
        assert_eq!(got[0].tool_timeout, DEFAULT_TOOL_TIMEOUT);
        assert_eq!(got[1].name, "c");
        assert_eq!(got[1].tool_timeout, Duration::from_millis(500));
        assert!(got[1].required);
    }

    #[test]
    fn command_and_url_are_exclusive() {
        let err = servers("[a]\ncommand = \"srv\"\nurl = \"http://x\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("mutually exclusive"), "{err}");
        let err = servers("[a]\ncommand = \"srv\"\nhttp_headers = { A = \"b\" }\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not `command`"), "{err}");
    }

    #[test]
    fn http_server_keys() {
        let got = servers(
            "[a]\nurl = \"http://x/mcp\"\nbearer_token_env_var = \"TOK\"\nhttp_headers = { A = \"b\" }\nenv_http_headers = { C = \"D\" }\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            got[0].transport,
            McpTransport::StreamableHttp {
                url: "http://x/mcp".to_string(),
                bearer_token_env_var: Some("TOK".to_string()),
                http_headers: BTreeMap::from([("A".to_string(), "b".to_string())]),
                env_http_headers: BTreeMap::from([("C".to_string(), "D".to_string())]),
            }
        );
        let err = servers("[a]\nurl = \"http://x\"\nargs = [\"y\"]\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not `url`"), "{err}");
    }
}
