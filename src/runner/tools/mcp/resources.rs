//! The MCP resource tools: `list_mcp_resources`,
//! `list_mcp_resource_templates` and `read_mcp_resource` (SPEC §15).
//!
//! They are offered whenever at least one MCP server started, and answered
//! with `resources/list`, `resources/templates/list` and `resources/read` on
//! the named server, each bounded by that server's `tool_timeout`.
//!
//! * With a `server`, the two list tools return one page:
//!   `{"server":..,"resources":[..],"nextCursor":..}` (`resourceTemplates`
//!   for templates; `nextCursor` is `null` on the last page) and a `cursor`
//!   asks for the next page. Without a `server` they aggregate every page of
//!   every server that advertises the `resources` capability (concurrently),
//!   each entry tagged with its `server`: `{"resources":[{"server":..,..}]}`;
//!   a `cursor` then is an error, since cursors belong to one server. Each
//!   server's whole listing is bounded by its own `tool_timeout`, and a
//!   server that fails or times out fails the call (the error names it).
//! * `read_mcp_resource` needs `server` and `uri` and returns
//!   `{"server":..,"uri":..,"contents":[..]}`.
//!
//! Each call is an `mcp_tool_call` item like a server tool's: `server` is the
//! named server, or `codex` when no server was named (aggregation, or a read
//! missing its `server`); `tool` is the resource tool's name; `arguments` the
//! call's JSON arguments. On success the item's `result` has one text block
//! holding the JSON the model gets, and no `structured_content` (as the
//! reference shows them). An unknown server, a server without resources, bad
//! arguments, a server error and a timeout fail the item, and the model gets
//! the error text. Arguments that are not JSON at all are answered like any
//! MCP tool's: the parse error goes to the model and no item is emitted.

use std::time::Duration;

use futures_util::future::join_all;
use rmcp::model::{CallToolResult, Content, PaginatedRequestParam, ReadResourceRequestParam};
use rmcp::ServiceError;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{McpConnections, McpOutcome, Server};

/// `mcp_tool_call.server` of a resource call that names no server.
pub const AGGREGATE_SERVER: &str = "codex";

/// One of the three resource tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceTool {
    /// `list_mcp_resources`.
    List,
    /// `list_mcp_resource_templates`.
    Templates,
    /// `read_mcp_resource`.
    Read,
}

impl ResourceTool {
    const ALL: [ResourceTool; 3] = [
        ResourceTool::List,
        ResourceTool::Templates,
        ResourceTool::Read,
    ];

    /// The tool a model-facing name stands for.
    pub fn from_name(name: &str) -> Option<ResourceTool> {
        ResourceTool::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The model-facing name.
    pub fn name(self) -> &'static str {
        match self {
            ResourceTool::List => "list_mcp_resources",
            ResourceTool::Templates => "list_mcp_resource_templates",
            ResourceTool::Read => "read_mcp_resource",
        }
    }

    /// The function-tool spec advertised to the model.
    fn spec(self) -> Value {
        let server = |what: &str| json!({"type": "string", "description": what});
        let cursor = json!({"type": "string", "description": "The `nextCursor` of the previous page of the same server's listing. Requires `server`."});
        let (description, properties, required) = match self {
            ResourceTool::List => (
                "List the resources that the configured MCP servers offer (files, documents, records and the like, each with a `uri`). Without `server`, lists every server's resources, each tagged with its server. With `server`, returns one page of that server's resources; pass its `nextCursor` as `cursor` for the next page. Read a resource with `read_mcp_resource`.",
                json!({
                    "server": server("Name of the MCP server whose resources to list. Omit to list the resources of every server."),
                    "cursor": cursor,
                }),
                json!([]),
            ),
            ResourceTool::Templates => (
                "List the resource templates that the configured MCP servers offer: parameterised URIs (RFC 6570 `uriTemplate`) from which resource URIs can be built and then read with `read_mcp_resource`. Without `server`, lists every server's templates, each tagged with its server. With `server`, returns one page; pass its `nextCursor` as `cursor` for the next page.",
                json!({
                    "server": server("Name of the MCP server whose resource templates to list. Omit to list the templates of every server."),
                    "cursor": cursor,
                }),
                json!([]),
            ),
            ResourceTool::Read => (
                "Read one resource of an MCP server by its URI (from `list_mcp_resources`, or built from a template of `list_mcp_resource_templates`). Returns the resource's contents: text, or base64 `blob` data with a MIME type.",
                json!({
                    "server": server("Name of the MCP server that has the resource, as listed by `list_mcp_resources`."),
                    "uri": {"type": "string", "description": "URI of the resource to read."},
                }),
                json!(["server", "uri"]),
            ),
        };
        json!({
            "type": "function",
            "name": self.name(),
            "description": description,
            "strict": false,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            },
        })
    }
}

/// The specs of the three tools, in a fixed order.
pub fn specs() -> Vec<Value> {
    ResourceTool::ALL
        .into_iter()
        .map(ResourceTool::spec)
        .collect()
}

/// `mcp_tool_call.server` for a call with these arguments.
pub fn item_server(arguments: &Value) -> String {
    arguments
        .get("server")
        .and_then(Value::as_str)
        .unwrap_or(AGGREGATE_SERVER)
        .to_string()
}

/// Why a resource call failed; its text is what the model gets.
#[derive(Debug, thiserror::Error)]
enum ResourceError {
    /// The arguments do not fit the tool's schema.
    #[error("invalid arguments for `{tool}`: {reason}")]
    Arguments { tool: &'static str, reason: String },
    /// No running server has this name.
    #[error("unknown MCP server `{name}`; running servers: {known}")]
    UnknownServer { name: String, known: String },
    /// The server did not advertise the `resources` capability.
    #[error("MCP server `{0}` does not offer resources")]
    NoResources(String),
    /// The server answered with an error or the connection failed.
    #[error("MCP server `{server}`: {method} failed: {error}")]
    Server {
        server: String,
        method: &'static str,
        error: Box<ServiceError>,
    },
    /// The server did not answer within its `tool_timeout`.
    #[error("MCP server `{server}`: {method} timed out after {seconds}s")]
    Timeout {
        server: String,
        method: &'static str,
        seconds: f64,
    },
}

/// What a listing tool lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// `resources/list`.
    Resources,
    /// `resources/templates/list`.
    Templates,
}

impl Listing {
    /// The MCP method.
    fn method(self) -> &'static str {
        match self {
            Listing::Resources => "resources/list",
            Listing::Templates => "resources/templates/list",
        }
    }

    /// The key of the entries in the answer (the MCP result's own).
    fn key(self) -> &'static str {
        match self {
            Listing::Resources => "resources",
            Listing::Templates => "resourceTemplates",
        }
    }
}

/// The arguments of every resource tool as the model sent them (each tool
/// uses a subset); [`ResourceRequest::parse`] validates them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceArgsRaw {
    server: Option<String>,
    cursor: Option<String>,
    uri: Option<String>,
}

/// A validated resource tool call.
#[derive(Debug, PartialEq, Eq)]
enum ResourceRequest {
    /// Every entry of every server that offers resources.
    ListAll(Listing),
    /// One page of one server's listing.
    ListPage {
        listing: Listing,
        server: String,
        cursor: Option<String>,
    },
    /// One resource.
    Read { server: String, uri: String },
}

impl ResourceRequest {
    /// Parse and check `arguments` (`null` means none) for `tool`.
    fn parse(tool: ResourceTool, arguments: &Value) -> Result<ResourceRequest, ResourceError> {
        let invalid = |reason: &str| ResourceError::Arguments {
            tool: tool.name(),
            reason: reason.to_string(),
        };
        let args: ResourceArgsRaw = match arguments {
            Value::Null => ResourceArgsRaw::default(),
            other => {
                serde_json::from_value(other.clone()).map_err(|err| invalid(&err.to_string()))?
            }
        };
        let listing = match tool {
            ResourceTool::List => Listing::Resources,
            ResourceTool::Templates => Listing::Templates,
            ResourceTool::Read => {
                return match args {
                    ResourceArgsRaw {
                        cursor: Some(_), ..
                    } => Err(invalid("unknown field `cursor`")),
                    ResourceArgsRaw { server: None, .. } => Err(invalid("missing field `server`")),
                    ResourceArgsRaw { uri: None, .. } => Err(invalid("missing field `uri`")),
                    ResourceArgsRaw {
                        server: Some(server),
                        uri: Some(uri),
                        cursor: None,
                    } => Ok(ResourceRequest::Read { server, uri }),
                };
            }
        };
        match args {
            ResourceArgsRaw { uri: Some(_), .. } => Err(invalid("unknown field `uri`")),
            ResourceArgsRaw {
                server: None,
                cursor: Some(_),
                ..
            } => Err(invalid(
                "`cursor` requires `server`: cursors page through one server's listing",
            )),
            ResourceArgsRaw {
                server: None,
                cursor: None,
                uri: None,
            } => Ok(ResourceRequest::ListAll(listing)),
            ResourceArgsRaw {
                server: Some(server),
                cursor,
                uri: None,
            } => Ok(ResourceRequest::ListPage {
                listing,
                server,
                cursor,
            }),
        }
    }
}

impl McpConnections {
    /// The resource tool behind a model-facing name, if resource tools are
    /// offered (at least one server started).
    pub fn resource_tool(&self, name: &str) -> Option<ResourceTool> {
        if self.servers.is_empty() {
            return None;
        }
        ResourceTool::from_name(name)
    }

    /// Answer a resource tool call with its JSON `arguments`.
    pub async fn resource_call(&self, tool: ResourceTool, arguments: &Value) -> McpOutcome {
        let answer = match ResourceRequest::parse(tool, arguments) {
            Ok(request) => self.answer(request).await,
            Err(err) => Err(err),
        };
        match answer {
            Ok(value) => McpOutcome::Answered(CallToolResult::success(vec![Content::text(
                value.to_string(),
            )])),
            Err(err) => McpOutcome::Failed(err.to_string()),
        }
    }

    /// The JSON answer to a request (see the module docs for its shapes).
    async fn answer(&self, request: ResourceRequest) -> Result<Value, ResourceError> {
        match request {
            ResourceRequest::ListAll(listing) => self.list_all(listing).await,
            ResourceRequest::ListPage {
                listing,
                server: name,
                cursor,
            } => {
                let server = self.resource_server(&name)?;
                let param = Some(PaginatedRequestParam { cursor });
                let (entries, next_cursor) = match listing {
                    Listing::Resources => {
                        let page = bounded(server, listing.method(), async {
                            server.service.list_resources(param).await
                        })
                        .await?;
                        (to_values(page.resources), page.next_cursor)
                    }
                    Listing::Templates => {
                        let page = bounded(server, listing.method(), async {
                            server.service.list_resource_templates(param).await
                        })
                        .await?;
                        (to_values(page.resource_templates), page.next_cursor)
                    }
                };
                Ok(json!({"server": name, listing.key(): entries, "nextCursor": next_cursor}))
            }
            ResourceRequest::Read { server: name, uri } => {
                let server = self.resource_server(&name)?;
                let param = ReadResourceRequestParam { uri: uri.clone() };
                let read = bounded(server, "resources/read", async {
                    server.service.read_resource(param).await
                })
                .await?;
                Ok(json!({"server": name, "uri": uri, "contents": read.contents}))
            }
        }
    }

    /// The running server `name`, which must offer resources.
    fn resource_server(&self, name: &str) -> Result<&Server, ResourceError> {
        let server = self
            .servers
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| ResourceError::UnknownServer {
                name: name.to_string(),
                known: self
                    .servers
                    .iter()
                    .map(|s| format!("`{}`", s.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        if !offers_resources(server) {
            return Err(ResourceError::NoResources(name.to_string()));
        }
        Ok(server)
    }

    /// Every page of every resource-offering server's listing, each entry
    /// tagged with its server.
    async fn list_all(&self, listing: Listing) -> Result<Value, ResourceError> {
        let servers: Vec<&Server> = self
            .servers
            .iter()
            .map(AsRef::as_ref)
            .filter(|s| offers_resources(s))
            .collect();
        let listings = join_all(servers.iter().map(|server| {
            bounded(server, listing.method(), async move {
                Ok(match listing {
                    Listing::Resources => to_values(server.service.list_all_resources().await?),
                    Listing::Templates => {
                        to_values(server.service.list_all_resource_templates().await?)
                    }
                })
            })
        }))
        .await;
        let mut all = Vec::new();
        for (server, listing) in servers.iter().zip(listings) {
            for entry in listing? {
                let mut tagged = Map::new();
                tagged.insert("server".to_string(), json!(server.name));
                if let Value::Object(fields) = entry {
                    tagged.extend(fields);
                }
                all.push(Value::Object(tagged));
            }
        }
        Ok(json!({ listing.key(): all }))
    }
}

/// Whether the server advertised the `resources` capability.
fn offers_resources(server: &Server) -> bool {
    server
        .service
        .peer_info()
        .is_some_and(|info| info.capabilities.resources.is_some())
}

/// Entries as JSON objects.
fn to_values<T: serde::Serialize>(entries: Vec<T>) -> Vec<Value> {
    entries
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect()
}

/// Run `request` on `server` within its `tool_timeout`.
async fn bounded<T>(
    server: &Server,
    method: &'static str,
    request: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<T, ResourceError> {
    let timeout: Duration = server.tool_timeout;
    match tokio::time::timeout(timeout, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ResourceError::Server {
            server: server.name.clone(),
            method,
            error: Box::new(error),
        }),
        Err(_) => Err(ResourceError::Timeout {
            server: server.name.clone(),
            method,
            seconds: timeout.as_secs_f64(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for tool in ResourceTool::ALL {
            assert_eq!(ResourceTool::from_name(tool.name()), Some(tool));
        }
        assert_eq!(ResourceTool::from_name("read_mcp_resources"), None);
    }

    #[test]
    fn specs_are_non_strict_object_schemas() {
        let specs = specs();
        assert_eq!(specs.len(), 3);
        for spec in &specs {
            assert_eq!(spec["strict"], false);
            assert_eq!(spec["parameters"]["type"], "object");
            assert!(!spec["description"].as_str().unwrap_or_default().is_empty());
        }
        assert_eq!(specs[2]["parameters"]["required"], json!(["server", "uri"]));
    }

    fn error(tool: ResourceTool, arguments: Value) -> String {
        match ResourceRequest::parse(tool, &arguments) {
            Ok(request) => panic!("accepted: {request:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn cursor_without_server_is_rejected() {
        let err = error(ResourceTool::List, json!({"cursor": "2"}));
        assert!(err.contains("`cursor` requires `server`"), "{err}");
        let err = error(ResourceTool::Templates, json!({"uri": "x://y"}));
        assert!(err.contains("unknown field `uri`"), "{err}");
    }

    #[test]
    fn read_needs_server_and_uri() {
        let read = ResourceTool::Read;
        assert!(error(read, json!({"uri": "x://y"})).contains("missing field `server`"));
        assert!(error(read, json!({"server": "s"})).contains("missing field `uri`"));
        assert!(error(read, json!({"server": 3, "uri": "x"})).contains("invalid type"));
        assert!(error(read, json!({"server": "s", "uri": "x", "x": 1})).contains("unknown field"));
        assert_eq!(
            ResourceRequest::parse(read, &json!({"server": "s", "uri": "x"})).ok(),
            Some(ResourceRequest::Read {
                server: "s".to_string(),
                uri: "x".to_string()
            })
        );
    }

    #[test]
    fn listing_requests() {
        let parse = |tool, arguments: Value| ResourceRequest::parse(tool, &arguments).ok();
        assert_eq!(
            parse(ResourceTool::List, Value::Null),
            Some(ResourceRequest::ListAll(Listing::Resources))
        );
        assert_eq!(
            parse(ResourceTool::Templates, json!({})),
            Some(ResourceRequest::ListAll(Listing::Templates))
        );
        assert_eq!(
            parse(ResourceTool::List, json!({"server": "s", "cursor": "c"})),
            Some(ResourceRequest::ListPage {
                listing: Listing::Resources,
                server: "s".to_string(),
                cursor: Some("c".to_string())
            })
        );
    }

    #[test]
    fn item_server_defaults_to_codex() {
        assert_eq!(item_server(&Value::Null), AGGREGATE_SERVER);
        assert_eq!(item_server(&json!({"uri": "x"})), AGGREGATE_SERVER);
        assert_eq!(item_server(&json!({"server": "docs"})), "docs");
    }
}
