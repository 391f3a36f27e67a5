//! MCP servers as tool providers (SPEC §15): startup, the tools they
//! advertise, calls, and shutdown.
//!
//! The protocol is spoken by `rmcp` (client role over the child's
//! stdin/stdout); this module owns the process lifecycle. Every stdio server
//! runs in its own session (so its own process group) with
//! `PR_SET_PDEATHSIG=SIGKILL`, and its group is SIGKILLed when the
//! connections are shut down or dropped, and when its startup fails. Servers
//! are not sandboxed; they get a minimal environment plus `env` / `env_vars`.
//! Streamable HTTP servers (`url`) are reached with `rmcp`'s reqwest client
//! transport; their bearer token and env-derived headers are resolved when
//! they are connected, so a missing variable fails just that server.
//!
//! Besides the servers' own tools, the model gets three resource tools
//! whenever a server started (`resources`), and answers that carry images
//! reach the model as image input (`output`).

mod naming;
mod output;
mod resources;

pub use output::{content_json, model_output, output_text};
pub use resources::{item_server, ResourceTool};

use std::collections::{BTreeMap, HashSet};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use rmcp::model::{
    CallToolRequestParam, CallToolResult, ClientCapabilities, ClientInfo, Implementation,
};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Map, Value};

use super::shell::process::{in_child, kill_group};
use crate::config::mcp::{McpServerConfig, McpTransport};

/// Variables of our environment every stdio server inherits (SPEC §15.1).
const BASE_ENV_VARS: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ",
];

/// `clientInfo.name` sent in `initialize`.
const CLIENT_NAME: &str = "codex-mcp-client";

/// A process group SIGKILLed on drop.
#[derive(Debug)]
struct GroupGuard(i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

/// An initialized server.
struct Server {
    name: String,
    service: RunningService<RoleClient, ClientInfo>,
    tool_timeout: Duration,
    /// The process group of a stdio server; `None` for HTTP servers.
    group: Option<GroupGuard>,
}

/// A tool advertised to the model.
#[derive(Debug, Clone)]
struct McpTool {
    /// `mcp__<server>__<tool>` after sanitising and shortening.
    qualified: String,
    server: usize,
    /// The server's own name for it.
    tool: String,
    spec: Value,
}

/// The connected servers of one thread and their tools.
#[derive(Default)]
pub struct McpConnections {
    servers: Vec<Arc<Server>>,
    tools: Vec<McpTool>,
    /// The resource tools' specs; empty when no server started.
    resource_specs: Vec<Value>,
    warnings: Vec<String>,
    /// Names of the optional servers that failed to start.
    failed: Vec<String>,
}

impl std::fmt::Debug for McpConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpConnections")
            .field(
                "servers",
                &self.servers.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("tools", &self.tools)
            .finish()
    }
}

/// How an MCP call ended, before its events are emitted.
#[derive(Debug)]
pub enum McpOutcome {
    /// The server answered (`is_error` may still be set).
    Answered(CallToolResult),
    /// Transport error, crash or timeout.
    Failed(String),
}

impl McpConnections {
    /// Start every server concurrently, each bounded by its
    /// `startup_timeout`. A failed `required` server fails the whole startup
    /// with `required MCP servers failed to initialize: <name>: <reason>`;
    /// other failures become warnings and their tools are left out.
    pub async fn start(configs: &[McpServerConfig]) -> Result<McpConnections, String> {
        let results = join_all(configs.iter().map(start_server)).await;
        let mut connections = McpConnections::default();
        let mut required_failures = Vec::new();
        let mut seen = HashSet::new();
        for (config, result) in configs.iter().zip(results) {
            match result {
                Ok((server, tools)) => {
                    let index = connections.servers.len();
                    for tool in tools {
                        if !tool_enabled(config, &tool.name) {
                            continue;
                        }
                        let qualified = naming::qualified_name(&config.name, &tool.name);
                        if !seen.insert(qualified.clone()) {
                            connections.warnings.push(format!(
                                "MCP tool `{}` of server `{}` skipped: duplicate tool name `{qualified}`",
                                tool.name, config.name
                            ));
                            continue;
                        }
                        let spec = json!({
                            "type": "function",
                            "name": qualified,
                            "description": tool.description.as_deref().unwrap_or_default(),
                            "strict": false,
                            "parameters": naming::sanitize_schema(&tool.input_schema),
                        });
                        connections.tools.push(McpTool {
                            qualified,
                            server: index,
                            tool: tool.name.to_string(),
                            spec,
                        });
                    }
                    connections.servers.push(Arc::new(server));
                }
                Err(reason) if config.required => {
                    required_failures.push(format!("{}: {reason}", config.name));
                }
                Err(reason) => {
                    tracing::warn!(server = %config.name, %reason, "MCP server failed to start");
                    connections
                        .warnings
                        .push(format!("mcp: {} failed: {reason}", config.name));
                    connections.failed.push(config.name.clone());
                }
            }
        }
        if !connections.servers.is_empty() {
            connections.resource_specs = resources::specs();
        }
        if !required_failures.is_empty() {
            // Dropping `connections` kills the servers that did start.
            return Err(format!(
                "required MCP servers failed to initialize: {}",
                required_failures.join("; ")
            ));
        }
        Ok(connections)
    }

    /// `mcp startup: ready: a, b; failed: c` for the human output; `None`
    /// when no server was configured.
    pub fn startup_summary(&self) -> Option<String> {
        let ready: Vec<&str> = self.servers.iter().map(|s| s.name.as_str()).collect();
        let mut parts = Vec::new();
        if !ready.is_empty() {
            parts.push(format!("ready: {}", ready.join(", ")));
        }
        if !self.failed.is_empty() {
            parts.push(format!("failed: {}", self.failed.join(", ")));
        }
        (!parts.is_empty()).then(|| format!("mcp startup: {}", parts.join("; ")))
    }

    /// Warnings from startup (optional servers that failed, skipped tools).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Function specs of every advertised tool: the resource tools (when a
    /// server started), then the servers' tools.
    pub fn specs(&self) -> impl Iterator<Item = &Value> {
        self.resource_specs
            .iter()
            .chain(self.tools.iter().map(|t| &t.spec))
    }

    /// The server and tool names behind a model-facing name.
    pub fn lookup(&self, name: &str) -> Option<(&str, &str)> {
        let tool = self.tools.iter().find(|t| t.qualified == name)?;
        Some((&self.servers[tool.server].name, &tool.tool))
    }

    /// Call `name` (a model-facing name that `lookup` knows) with `arguments`,
    /// bounded by the server's `tool_timeout`.
    pub async fn call(&self, name: &str, arguments: Option<Map<String, Value>>) -> McpOutcome {
        let Some(tool) = self.tools.iter().find(|t| t.qualified == name) else {
            return McpOutcome::Failed(format!("unknown MCP tool `{name}`"));
        };
        let server = &self.servers[tool.server];
        let request = server.service.call_tool(CallToolRequestParam {
            name: tool.tool.clone().into(),
            arguments,
        });
        match tokio::time::timeout(server.tool_timeout, request).await {
            Ok(Ok(result)) => McpOutcome::Answered(result),
            Ok(Err(err)) => McpOutcome::Failed(format!("tool call failed: {err}")),
            Err(_) => McpOutcome::Failed(format!(
                "tool call timed out after {}s",
                server.tool_timeout.as_secs_f64()
            )),
        }
    }

    /// Kill every server process group and close every HTTP session.
    /// Synchronous; dropping does the same.
    pub fn shutdown(&self) {
        for server in &self.servers {
            match &server.group {
                Some(group) => kill_group(group.0),
                None => server.service.cancellation_token().cancel(),
            }
        }
    }
}

/// Whether the allow- and deny-lists let `tool` through.
fn tool_enabled(config: &McpServerConfig, tool: &str) -> bool {
    config
        .enabled_tools
        .as_ref()
        .is_none_or(|allowed| allowed.iter().any(|t| t == tool))
        && !config.disabled_tools.iter().any(|t| t == tool)
}

/// Spawn, `initialize` and list the tools of one server, within its startup timeout.
async fn start_server(
    config: &McpServerConfig,
) -> Result<(Server, Vec<rmcp::model::Tool>), String> {
    let timeout = config.startup_timeout;
    match tokio::time::timeout(timeout, connect(config)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "timed out handshaking with MCP server after {}s",
            timeout.as_secs_f64()
        )),
    }
}

async fn connect(config: &McpServerConfig) -> Result<(Server, Vec<rmcp::model::Tool>), String> {
    let info = ClientInfo {
        protocol_version: Default::default(),
        capabilities: ClientCapabilities::default(),
        client_info: Implementation {
            name: CLIENT_NAME.to_string(),
            title: None,
            version: env!("CARGO_PKG_VERSION").to_string(),
            icons: None,
            website_url: None,
        },
    };
    let (service, group) = match &config.transport {
        McpTransport::Stdio {
            command,
            args,
            env,
            env_vars,
            cwd,
        } => {
            let (stdout, stdin, group) = spawn_stdio(command, args, env, env_vars, cwd.as_deref())?;
            // On failure `group` is dropped here, killing the server.
            let service = info.serve((stdout, stdin)).await.map_err(handshake_error)?;
            (service, Some(group))
        }
        McpTransport::StreamableHttp {
            url,
            bearer_token_env_var,
            http_headers,
            env_http_headers,
        } => {
            let transport = http_transport(
                url,
                bearer_token_env_var.as_deref(),
                http_headers,
                env_http_headers,
            )?;
            let service = info.serve(transport).await.map_err(handshake_error)?;
            (service, None)
        }
    };
    let tools = service
        .list_all_tools()
        .await
        .map_err(|err| format!("failed to list tools: {err}"))?;
    Ok((
        Server {
            name: config.name.clone(),
            service,
            tool_timeout: config.tool_timeout,
            group,
        },
        tools,
    ))
}

/// Why `initialize` failed, without `rmcp`'s transport type names: for a
/// transport error, what was being done and the error's source chain.
fn handshake_error(err: rmcp::service::ClientInitializeError) -> String {
    use rmcp::service::ClientInitializeError;
    let detail = match &err {
        ClientInitializeError::TransportError { error, context } => {
            // The HTTP client's error is not marked as the source: walk it.
            let inner: &(dyn std::error::Error + 'static) = match error
                .error
                .downcast_ref::<StreamableHttpError<reqwest::Error>>()
            {
                Some(StreamableHttpError::Client(err)) => err,
                _ => &*error.error,
            };
            let mut text = format!("{context}: {inner}");
            let mut source = inner.source();
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
        other => other.to_string(),
    };
    format!("handshaking with MCP server failed: {detail}")
}

/// Spawn a stdio server in its own process group; its pipes and the guard
/// that kills the group.
fn spawn_stdio(
    command: &str,
    args: &[String],
    env: &BTreeMap<String, String>,
    env_vars: &[String],
    cwd: Option<&std::path::Path>,
) -> Result<
    (
        tokio::process::ChildStdout,
        tokio::process::ChildStdin,
        GroupGuard,
    ),
    String,
> {
    let mut cmd = tokio::process::Command::new(command);
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for name in BASE_ENV_VARS
        .iter()
        .copied()
        .chain(env_vars.iter().map(String::as_str))
    {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.envs(env);
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only makes
    // async-signal-safe system calls; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || in_child(parent, false));
    }
    let mut child = cmd.spawn().map_err(|err| err.to_string())?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .ok_or_else(|| "spawned MCP server has no pid".to_string())?;
    let group = GroupGuard(pid);
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("MCP server has no stdio pipes".to_string());
    };
    // Reap the child when it exits; the group guard does the killing.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok((stdout, stdin, group))
}

/// The streamable HTTP transport for `url`: `http_headers` verbatim,
/// `env_http_headers` whose variables are set, and the bearer token (whose
/// variable must be set and non-empty).
fn http_transport(
    url: &str,
    bearer_token_env_var: Option<&str>,
    http_headers: &BTreeMap<String, String>,
    env_http_headers: &BTreeMap<String, String>,
) -> Result<StreamableHttpClientTransport<reqwest::Client>, String> {
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    let mut headers = HeaderMap::new();
    let mut insert = |name: &str, value: &str| -> Result<(), String> {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid HTTP header name `{name}`"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for HTTP header `{name}`"))?;
        headers.insert(header, value);
        Ok(())
    };
    for (name, value) in http_headers {
        insert(name, value)?;
    }
    for (name, var) in env_http_headers {
        if let Some(value) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            insert(name, &value)?;
        }
    }
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(var) = bearer_token_env_var {
        match std::env::var(var) {
            Ok(token) if !token.trim().is_empty() => {
                if HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
                    return Err(format!(
                        "the bearer token in `{var}` contains characters not allowed in a header"
                    ));
                }
                config = config.auth_header(token);
            }
            Ok(_) => {
                return Err(format!(
                    "environment variable `{var}` (bearer_token_env_var) is empty"
                ))
            }
            Err(_) => {
                return Err(format!(
                    "environment variable `{var}` (bearer_token_env_var) is not set"
                ))
            }
        }
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
    Ok(StreamableHttpClientTransport::with_client(client, config))
}
