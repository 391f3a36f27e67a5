//! A scripted MCP stdio server for the black-box tests (not part of the
//! product). Line-delimited JSON-RPC on stdin/stdout, hand-rolled on purpose
//! so that it can misbehave.
//!
//! Tools: `echo` (`{text}` → the text, structured `{"echoed": text}`) and
//! `add` (`{a, b}` → the sum), `env` (`{name}` → the variable's value or
//! `<unset>`; `{}` → the working directory); `--long-tool-name` adds a tool
//! with a 70-character name. `tools/list` pages one tool at a time.
//!
//! `--resources` advertises the `resources` capability with two resources,
//! `test://greeting` (text) and `test://pixel` (a blob), listed one per page,
//! and one template, `test://echo/{text}` (read back as the text); reading
//! any other URI is a `-32002` error.
//!
//! Faults: `--exit-at-start`, `--hang-initialize`, `--crash-on-call`,
//! `--slow-call-ms N` (tool calls and resource reads), `--is-error`, `--init-delay-ms N`. `--pidfile PATH`
//! writes the server's pid (and, with `--spawn-child`, a child `sleep`'s pid
//! on the next line) so tests can check that nothing outlives the run.

use std::io::{BufRead, Write};
use std::time::Duration;

use serde_json::{json, Value};

#[derive(Default)]
struct Options {
    exit_at_start: bool,
    hang_initialize: bool,
    crash_on_call: bool,
    slow_call_ms: u64,
    is_error: bool,
    init_delay_ms: u64,
    long_tool_name: bool,
    resources: bool,
    spawn_child: bool,
    pidfile: Option<String>,
}

fn parse_args() -> Options {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|n| n.parse().ok()).unwrap_or_default();
        match arg.as_str() {
            "--exit-at-start" => options.exit_at_start = true,
            "--hang-initialize" => options.hang_initialize = true,
            "--crash-on-call" => options.crash_on_call = true,
            "--slow-call-ms" => options.slow_call_ms = number(),
            "--is-error" => options.is_error = true,
            "--init-delay-ms" => options.init_delay_ms = number(),
            "--long-tool-name" => options.long_tool_name = true,
            "--spawn-child" => options.spawn_child = true,
            "--resources" => options.resources = true,
            "--pidfile" => options.pidfile = args.next(),
            _ => {}
        }
    }
    options
}

fn tools(options: &Options) -> Vec<Value> {
    let mut tools = vec![
        json!({"name": "echo", "description": "Echo the text back.", "inputSchema": {
            "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}),
        json!({"name": "add", "description": "Add two integers.", "inputSchema": {
            "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}}),
    ];
    tools.push(json!({"name": "env", "inputSchema": {
        "type": "object", "properties": {"name": {"type": "string"}}}}));
    if options.long_tool_name {
        tools.push(json!({"name": "l".repeat(70), "inputSchema": {"type": "object"}}));
    }
    tools
}

fn call(options: &Options, params: &Value) -> Value {
    if options.crash_on_call {
        std::process::exit(3);
    }
    if options.slow_call_ms > 0 {
        std::thread::sleep(Duration::from_millis(options.slow_call_ms));
    }
    let args = &params["arguments"];
    let name = params["name"].as_str().unwrap_or_default();
    if options.is_error {
        return json!({"content": [{"type": "text", "text": format!("{name} went wrong")}], "isError": true});
    }
    match name {
        "echo" => {
            let text = args["text"].as_str().unwrap_or_default();
            json!({"content": [{"type": "text", "text": text}], "structuredContent": {"echoed": text}})
        }
        "add" => {
            let sum =
                args["a"].as_i64().unwrap_or_default() + args["b"].as_i64().unwrap_or_default();
            json!({"content": [{"type": "text", "text": sum.to_string()}]})
        }
        "env" => {
            let text = match args["name"].as_str() {
                Some(name) => std::env::var(name).unwrap_or_else(|_| "<unset>".to_string()),
                None => std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
            };
            json!({"content": [{"type": "text", "text": text}]})
        }
        _ => json!({"content": [{"type": "text", "text": "called"}]}),
    }
}

fn resources() -> Vec<Value> {
    vec![
        json!({"uri": "test://greeting", "name": "greeting", "mimeType": "text/plain",
               "description": "A friendly greeting."}),
        json!({"uri": "test://pixel", "name": "pixel", "mimeType": "image/png"}),
    ]
}

/// `resources/read`: the result, or the JSON-RPC error.
fn read(options: &Options, params: &Value) -> Result<Value, Value> {
    if options.slow_call_ms > 0 {
        std::thread::sleep(Duration::from_millis(options.slow_call_ms));
    }
    let uri = params["uri"].as_str().unwrap_or_default();
    let contents = if uri == "test://greeting" {
        json!({"uri": uri, "mimeType": "text/plain", "text": "hello from mcp-test-server"})
    } else if uri == "test://pixel" {
        json!({"uri": uri, "mimeType": "image/png", "blob": "iVBORw0KGgo="})
    } else if let Some(text) = uri.strip_prefix("test://echo/") {
        json!({"uri": uri, "mimeType": "text/plain", "text": text})
    } else {
        return Err(
            json!({"code": -32002, "message": format!("resource not found: {uri}"), "data": {"uri": uri}}),
        );
    };
    Ok(json!({"contents": [contents]}))
}

fn main() {
    let options = parse_args();
    let mut pids = vec![std::process::id().to_string()];
    let _child = if options.spawn_child {
        let child = std::process::Command::new("sleep").arg("1000").spawn().ok();
        if let Some(child) = &child {
            pids.push(child.id().to_string());
        }
        child
    } else {
        None
    };
    if let Some(path) = &options.pidfile {
        let _ = std::fs::write(path, pids.join("\n") + "\n");
    }
    if options.exit_at_start {
        std::process::exit(1);
    }
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let Some(id) = message.get("id").cloned() else {
            continue; // a notification
        };
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        let result = match message["method"].as_str().unwrap_or_default() {
            "initialize" => {
                if options.hang_initialize {
                    std::thread::sleep(Duration::from_secs(3600));
                }
                std::thread::sleep(Duration::from_millis(options.init_delay_ms));
                let capabilities = if options.resources {
                    json!({"tools": {}, "resources": {}})
                } else {
                    json!({"tools": {}})
                };
                json!({
                    "protocolVersion": params["protocolVersion"].as_str().unwrap_or("2025-06-18"),
                    "capabilities": capabilities,
                    "serverInfo": {"name": "mcp-test-server", "version": "0.0.0"},
                })
            }
            "tools/list" => {
                let all = tools(&options);
                let start: usize = params["cursor"]
                    .as_str()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or_default();
                let page: Vec<Value> = all.iter().skip(start).take(1).cloned().collect();
                if start + 1 < all.len() {
                    json!({"tools": page, "nextCursor": (start + 1).to_string()})
                } else {
                    json!({"tools": page})
                }
            }
            "tools/call" => call(&options, &params),
            "resources/list" if options.resources => {
                let all = resources();
                let start: usize = params["cursor"]
                    .as_str()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or_default();
                let page: Vec<Value> = all.iter().skip(start).take(1).cloned().collect();
                if start + 1 < all.len() {
                    json!({"resources": page, "nextCursor": (start + 1).to_string()})
                } else {
                    json!({"resources": page})
                }
            }
            "resources/templates/list" if options.resources => json!({"resourceTemplates": [
                {"uriTemplate": "test://echo/{text}", "name": "echo", "mimeType": "text/plain"}
            ]}),
            "resources/read" if options.resources => match read(&options, &params) {
                Ok(result) => result,
                Err(error) => {
                    let reply = json!({"jsonrpc": "2.0", "id": id, "error": error});
                    let _ = writeln!(stdout, "{reply}");
                    let _ = stdout.flush();
                    continue;
                }
            },
            "ping" => json!({}),
            _ => {
                let reply = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}});
                let _ = writeln!(stdout, "{reply}");
                let _ = stdout.flush();
                continue;
            }
        };
        let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
        let _ = writeln!(stdout, "{reply}");
        let _ = stdout.flush();
    }
}
