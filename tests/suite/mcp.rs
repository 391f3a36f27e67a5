//! MCP servers end to end (SPEC §15, §4.4 `mcp_tool_call`, §22.1), against
//! our scripted stdio server `mcp-test-server`: startup (required and
//! optional failures, timeouts, concurrency), tool naming and filtering,
//! calls and their failures, and that no server process outlives the run.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mock_responses::{ev, Reply};
use nix::sys::signal::Signal;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a killed server may take to disappear after codex exited.
const DEATH_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) const SERVER: &str = env!("CARGO_BIN_EXE_mcp-test-server");

/// A `[mcp_servers.<name>]` table running the test server with `args`,
/// plus `extra` lines.
pub(super) fn server_table(name: &str, args: &[&str], extra: &str) -> String {
    let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    format!(
        "\n[mcp_servers.{name}]\ncommand = {SERVER:?}\nargs = [{}]\n{extra}\n",
        args.join(", ")
    )
}

/// Write a config with the given server tables.
pub(super) fn configure(env: &TestEnv, tables: &[String]) -> anyhow::Result<()> {
    env.write_config("", &tables.concat())
}

fn pidfile(env: &TestEnv, name: &str) -> PathBuf {
    env.root.join(format!("{name}.pid"))
}

/// Whether `pid` is gone (no `/proc` entry, or a zombie).
fn is_dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// Every pid in `path` dies within [`DEATH_TIMEOUT`].
fn assert_all_die(path: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    let pids: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    anyhow::ensure!(!pids.is_empty(), "no pid in {}", path.display());
    for pid in pids {
        let start = Instant::now();
        while !is_dead(pid) {
            if start.elapsed() > DEATH_TIMEOUT {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
                anyhow::bail!("MCP server process {pid} survived the run");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

/// A run that a failed required server stopped: exit 1, nothing on stdout,
/// stderr carrying `required MCP servers failed to initialize: <detail>`, and
/// no model request.
fn assert_required_failure(env: &TestEnv, run: &Run, detail: &str) {
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    let expected = format!("required MCP servers failed to initialize: {detail}");
    assert!(run.stderr.contains(&expected), "{run}");
    assert!(env.requests().is_empty());
}

pub(super) fn mcp_events(events: &[Value]) -> Vec<Value> {
    item_events(events, "mcp_tool_call")
}

/// The call's two events: started then completed, with the common fields.
pub(super) fn call_pair(
    events: &[Value],
    server: &str,
    tool: &str,
    arguments: Value,
) -> (Value, Value) {
    let items = mcp_events(events);
    assert_eq!(items.len(), 2, "{events:#?}");
    assert_eq!(items[0]["type"], "item.started");
    assert_eq!(
        items[0]["item"],
        json!({"id": items[0]["item"]["id"], "type": "mcp_tool_call", "server": server,
               "tool": tool, "arguments": arguments, "result": null, "error": null,
               "status": "in_progress"})
    );
    assert_eq!(items[1]["type"], "item.completed");
    assert_eq!(items[1]["item"]["id"], items[0]["item"]["id"]);
    (items[0]["item"].clone(), items[1]["item"].clone())
}

/// One echo call: items, the output the model gets, names advertised,
/// pagination of `tools/list`, and the server gone after the run.
#[test]
fn echo_call_end_to_end() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_1", "mcp__echo__echo", json!({"text": "hello"}))],
        ),
        done_reply("resp_2"),
    ])?;
    let pids = pidfile(&env, "echo");
    configure(
        &env,
        &[server_table(
            "echo",
            &["--pidfile", &pids.to_string_lossy(), "--spawn-child"],
            "",
        )],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let (_, completed) = call_pair(&events, "echo", "echo", json!({"text": "hello"}));
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["error"], Value::Null);
    assert_eq!(
        completed["result"],
        json!({"content": [{"type": "text", "text": "hello"}], "structured_content": {"echoed": "hello"}})
    );
    let requests = env.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(call_output(&requests[1], "call_1")?, "hello");
    let tools = advertised_tools(&requests[0].json());
    assert!(tools.contains(&"mcp__echo__echo".to_string()), "{tools:?}");
    assert!(tools.contains(&"mcp__echo__add".to_string()), "{tools:?}");
    let spec = requests[0].json()["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "mcp__echo__add").cloned())
        .unwrap_or_default();
    assert_eq!(spec["type"], "function");
    assert_eq!(spec["parameters"]["properties"]["a"]["type"], "number");
    assert_all_die(&pids)?;
    Ok(())
}

/// A required server whose command does not exist: exit 1, the consumer-
/// matched stderr text, no model request, nothing on stdout.
#[test]
fn required_server_failure_stops_the_run() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    env.write_config(
        "",
        "\n[mcp_servers.broken]\ncommand = \"/nonexistent/mcp-server\"\nrequired = true\n",
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_required_failure(&env, &run, "broken: No such file or directory (os error 2)");
    Ok(())
}

/// Two failed required servers are both listed.
#[test]
fn all_failed_required_servers_are_listed() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    configure(
        &env,
        &[
            server_table("first", &["--exit-at-start"], "required = true"),
            server_table("second", &["--exit-at-start"], "required = true"),
        ],
    )?;
    let run = env.exec().args(["go"]).run()?;
    assert_required_failure(&env, &run, "first: ");
    assert!(run.stderr.contains("second: "), "{run}");
    Ok(())
}

/// An optional server that fails: a warning item, the run goes on without
/// its tools.
#[test]
fn optional_server_failure_is_a_warning() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    configure(
        &env,
        &[
            server_table("flaky", &["--exit-at-start"], ""),
            server_table("echo", &[], ""),
        ],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let warnings = item_events(&events, "error");
    assert_eq!(warnings.len(), 1, "{events:#?}");
    let message = warnings[0]["item"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("flaky"), "{message}");
    let tools = advertised_tools(&env.requests()[0].json());
    assert!(
        !tools.iter().any(|t| t.starts_with("mcp__flaky")),
        "{tools:?}"
    );
    assert!(tools.contains(&"mcp__echo__echo".to_string()), "{tools:?}");
    Ok(())
}

/// Human mode reports the failed optional server and then the startup
/// summary on stderr; JSON mode prints no such line.
#[test]
fn human_mode_prints_the_startup_summary() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(Vec::new(), done_reply("resp_1"))?;
    configure(
        &env,
        &[
            server_table("flaky", &["--exit-at-start"], ""),
            server_table("echo", &[], ""),
        ],
    )?;
    let run = env.exec().arg("go").run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let failed_at = run
        .stderr
        .find("mcp: flaky failed:")
        .ok_or_else(|| anyhow::anyhow!("no failure line:\n{run}"))?;
    let summary_at = run
        .stderr
        .find("mcp startup: ready: echo; failed: flaky\n")
        .ok_or_else(|| anyhow::anyhow!("no summary line:\n{run}"))?;
    assert!(failed_at < summary_at, "{run}");
    let json = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(json.code(), Some(0), "{json}");
    assert!(!json.stderr.contains("mcp startup"), "{json}");
    assert!(!json.stdout.contains("mcp startup"), "{json}");
    Ok(())
}

/// A server hanging in `initialize` with `startup_timeout_sec = 1`: a
/// required one fails the run with the timeout text, and the server dies.
#[test]
fn initialize_timeout_fails_required_server() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    let pids = pidfile(&env, "hang");
    configure(
        &env,
        &[server_table(
            "hang",
            &["--hang-initialize", "--pidfile", &pids.to_string_lossy()],
            "required = true\nstartup_timeout_sec = 1",
        )],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_required_failure(
        &env,
        &run,
        "hang: timed out handshaking with MCP server after 1s",
    );
    assert_all_die(&pids)?;
    Ok(())
}

/// A call to a tool of a server that crashes mid-call: a failed item, and
/// the model gets the error text.
#[test]
fn crash_during_call_fails_the_item() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_1", "mcp__echo__add", json!({"a": 1, "b": 2}))],
        ),
        done_reply("resp_2"),
    ])?;
    configure(&env, &[server_table("echo", &["--crash-on-call"], "")])?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let (_, completed) = call_pair(&events, "echo", "add", json!({"a": 1, "b": 2}));
    assert_eq!(completed["status"], "failed");
    assert_eq!(completed["result"], Value::Null);
    let message = completed["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{completed}");
    assert_eq!(call_output(&env.requests()[1], "call_1")?, message);
    Ok(())
}

/// A call slower than `tool_timeout_sec`: a failed item naming the timeout.
#[test]
fn slow_call_times_out() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_1", "mcp__echo__echo", json!({"text": "x"}))],
        ),
        done_reply("resp_2"),
    ])?;
    configure(
        &env,
        &[server_table(
            "echo",
            &["--slow-call-ms", "5000"],
            "tool_timeout_sec = 0.5",
        )],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let (_, completed) = call_pair(&events, "echo", "echo", json!({"text": "x"}));
    assert_eq!(completed["status"], "failed");
    assert_eq!(
        completed["error"]["message"],
        "tool call timed out after 0.5s"
    );
    Ok(())
}

/// `isError: true`, as 0.169 prints it: a failed item that keeps the tool's
/// own failure text in `result.content`, with `error` null; the model gets
/// that text.
#[test]
fn is_error_result_fails_the_item_with_its_content() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_1", "mcp__echo__echo", json!({"text": "x"}))],
        ),
        done_reply("resp_2"),
    ])?;
    configure(&env, &[server_table("echo", &["--is-error"], "")])?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let (_, completed) = call_pair(&events, "echo", "echo", json!({"text": "x"}));
    assert_eq!(completed["status"], "failed");
    assert_eq!(completed["error"], Value::Null);
    assert_eq!(
        completed["result"],
        json!({"content": [{"type": "text", "text": "echo went wrong"}], "structured_content": null})
    );
    assert_eq!(
        call_output(&env.requests()[1], "call_1")?,
        "echo went wrong"
    );
    Ok(())
}

/// Two servers, each slow to initialize: both are ready for the first request.
#[test]
fn slow_servers_start_concurrently() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    configure(
        &env,
        &[
            server_table("one", &["--init-delay-ms", "1000"], "required = true"),
            server_table("two", &["--init-delay-ms", "1000"], "required = true"),
        ],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let tools = advertised_tools(&env.requests()[0].json());
    assert!(tools.contains(&"mcp__one__echo".to_string()), "{tools:?}");
    assert!(tools.contains(&"mcp__two__echo".to_string()), "{tools:?}");
    Ok(())
}

/// While MCP servers start, the model endpoint is warmed with one credential-less
/// `HEAD` that arrives before the first `POST`; without servers nothing extra is sent.
#[test]
fn model_connection_is_warmed_during_mcp_startup() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    configure(
        &env,
        &[server_table(
            "slow",
            &["--init-delay-ms", "300"],
            "required = true",
        )],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let all = env.server.requests();
    let methods: Vec<&str> = all.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, vec!["HEAD", "POST"], "{methods:?}");
    assert_eq!(all[0].path, "/v1");
    assert!(all[0].header("authorization").is_none());
    assert!(all[0].received_at <= all[1].received_at);

    let plain = TestEnv::new(vec![done_reply("resp_1")])?;
    let run = plain.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(plain.server.requests().len(), 1);
    Ok(())
}

/// `enabled_tools` then `disabled_tools` filter what is advertised; a
/// 70-character tool name is shortened to 64; `my-server` is sanitised.
#[test]
fn tool_filters_and_names() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    configure(
        &env,
        &[
            server_table(
                "allow",
                &[],
                "enabled_tools = [\"echo\", \"add\"]\ndisabled_tools = [\"add\"]",
            ),
            server_table(
                "my-server",
                &["--long-tool-name"],
                "disabled_tools = [\"echo\"]",
            ),
        ],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let mcp_tools: Vec<String> = advertised_tools(&env.requests()[0].json())
        .into_iter()
        .filter(|t| t.starts_with("mcp__"))
        .collect();
    assert_eq!(mcp_tools.len(), 4, "{mcp_tools:?}");
    assert_eq!(mcp_tools[0], "mcp__allow__echo");
    assert_eq!(mcp_tools[1], "mcp__my_server__add");
    assert_eq!(mcp_tools[2], "mcp__my_server__env");
    assert_eq!(mcp_tools[3].len(), 64, "{mcp_tools:?}");
    assert!(
        mcp_tools[3].starts_with("mcp__my_server__lllllll"),
        "{mcp_tools:?}"
    );
    Ok(())
}

/// A call through a shortened name reaches the tool under its own name.
#[test]
fn shortened_name_is_callable() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    configure(&env, &[server_table("s", &["--long-tool-name"], "")])?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let long = advertised_tools(&env.requests()[0].json())
        .into_iter()
        .find(|t| t.starts_with("mcp__s__l"))
        .ok_or_else(|| anyhow::anyhow!("no long tool"))?;
    let env = TestEnv::new(vec![
        calls_reply("resp_1", &[("call_1", &long, json!({}))]),
        done_reply("resp_2"),
    ])?;
    configure(&env, &[server_table("s", &["--long-tool-name"], "")])?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let (_, completed) = call_pair(&events, "s", &"l".repeat(70), json!({}));
    assert_eq!(completed["status"], "completed");
    Ok(())
}

/// SIGINT while the model streams: exit 130 and the server and its child die.
#[test]
fn servers_die_on_sigint() -> anyhow::Result<()> {
    servers_die_on(Signal::SIGINT, 130)
}

/// SIGTERM while the model streams: exit 143 and the server and its child die.
#[test]
fn servers_die_on_sigterm() -> anyhow::Result<()> {
    servers_die_on(Signal::SIGTERM, 143)
}

/// A run stopped by `signal` mid-turn exits with `code`, and its server and
/// the server's child are gone.
fn servers_die_on(signal: Signal, code: i32) -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("m", "never"),
    ])
    .stall_after(1)])?;
    let pids = pidfile(&env, "echo");
    configure(
        &env,
        &[server_table(
            "echo",
            &["--pidfile", &pids.to_string_lossy(), "--spawn-child"],
            "",
        )],
    )?;
    let mut spawned = env
        .exec()
        .args(["--json", "go"])
        .spawn_with_stdin(Stdio::null())?;
    let lines = spawned.stdout_lines()?;
    lines.until_type("turn.started", STEP_TIMEOUT)?;
    anyhow::ensure!(
        env.server.wait_for_requests(1, STEP_TIMEOUT),
        "the request never arrived"
    );
    spawned.signal(signal)?;
    let run = spawned.finish()?;
    assert_eq!(run.code(), Some(code), "{run}");
    assert_all_die(&pids)?;
    Ok(())
}

/// SIGINT while a server hangs in `initialize`: the run stops at once
/// (exit 130, nothing on stdout, no model request) and the server dies.
#[test]
fn sigint_during_startup_kills_servers() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    let pids = pidfile(&env, "hang");
    configure(
        &env,
        &[server_table(
            "hang",
            &["--hang-initialize", "--pidfile", &pids.to_string_lossy()],
            "startup_timeout_sec = 30",
        )],
    )?;
    let spawned = env
        .exec()
        .args(["--json", "go"])
        .spawn_with_stdin(Stdio::null())?;
    let start = Instant::now();
    while !pids.exists() {
        anyhow::ensure!(start.elapsed() < STEP_TIMEOUT, "the server never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    spawned.signal(Signal::SIGINT)?;
    let run = spawned.finish()?;
    assert_eq!(run.code(), Some(130), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(env.requests().is_empty());
    assert_all_die(&pids)?;
    Ok(())
}

/// The real `@modelcontextprotocol/server-everything` from npm (`scripts/test`
/// installs it under tests/sdk; `MCP_EVERYTHING` overrides the path).
pub(super) fn everything_command() -> anyhow::Result<PathBuf> {
    let command = std::env::var_os("MCP_EVERYTHING").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/sdk/node_modules/.bin/mcp-server-everything")
        },
        PathBuf::from,
    );
    anyhow::ensure!(
        command.exists(),
        "{} is missing: run `bash scripts/test` (it runs `npm ci` in tests/sdk) or set MCP_EVERYTHING",
        command.display()
    );
    Ok(command)
}

/// Against the real `server-everything` over stdio.
#[test]
fn reference_server_everything() -> anyhow::Result<()> {
    let command = everything_command()?;
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_1", "mcp__everything__echo", json!({"message": "hi"}))],
        ),
        done_reply("resp_2"),
    ])?;
    env.write_config(
        "",
        &format!(
            "\n[mcp_servers.everything]\ncommand = {:?}\nargs = [\"stdio\"]\nrequired = true\n",
            command.to_string_lossy()
        ),
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let (_, completed) = call_pair(&events, "everything", "echo", json!({"message": "hi"}));
    assert_eq!(completed["status"], "completed", "{completed}");
    assert_eq!(call_output(&env.requests()[1], "call_1")?, "Echo: hi");
    Ok(())
}

/// The server's environment: the minimal base plus `env` and `env_vars`;
/// nothing else of ours (not the API key); `cwd` is honoured.
#[test]
fn server_environment_and_cwd() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                ("call_1", "mcp__e__env", json!({"name": "FROM_CONFIG"})),
                ("call_2", "mcp__e__env", json!({"name": "PASSED"})),
                ("call_3", "mcp__e__env", json!({"name": "NOT_PASSED"})),
                ("call_4", "mcp__e__env", json!({"name": "CODEX_API_KEY"})),
                ("call_5", "mcp__e__env", json!({"name": "HOME"})),
                ("call_6", "mcp__e__env", json!({})),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    configure(
        &env,
        &[server_table(
            "e",
            &[],
            &format!(
                "env = {{ FROM_CONFIG = \"c\" }}\nenv_vars = [\"PASSED\"]\ncwd = {:?}",
                env.root.to_string_lossy()
            ),
        )],
    )?;
    let run = env
        .exec()
        .env("PASSED", "p")
        .env("NOT_PASSED", "n")
        .args(["--json", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let request = &env.requests()[1];
    let outputs: Vec<String> = (1..=6)
        .map(|i| call_output(request, &format!("call_{i}")))
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(
        outputs,
        vec![
            "c".to_string(),
            "p".to_string(),
            "<unset>".to_string(),
            "<unset>".to_string(),
            env.home.to_string_lossy().to_string(),
            env.root.to_string_lossy().to_string(),
        ]
    );
    Ok(())
}

/// `-c mcp_servers.<name>.enabled=false` turns a server off.
#[test]
fn override_disables_a_server() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    configure(
        &env,
        &[server_table(
            "echo",
            &["--exit-at-start"],
            "required = true",
        )],
    )?;
    let run = env
        .exec()
        .args(["--json", "-c", "mcp_servers.echo.enabled=false", "go"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let tools = advertised_tools(&env.requests()[0].json());
    assert!(!tools.iter().any(|t| t.starts_with("mcp__")), "{tools:?}");
    Ok(())
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A child process killed (and reaped) on drop.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Against the real `server-everything` in its streamable HTTP mode, started
/// by the test on a free port: initialize, `tools/list` and an echo call
/// over HTTP.
#[test]
fn reference_server_everything_http() -> anyhow::Result<()> {
    let command = everything_command()?;
    let port = free_port()?;
    let server = KillOnDrop(
        std::process::Command::new(&command)
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(
            start.elapsed() < STEP_TIMEOUT,
            "server-everything did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_1", "mcp__everything__echo", json!({"message": "hi"}))],
        ),
        done_reply("resp_2"),
    ])?;
    env.write_config(
        "",
        &format!(
            "\n[mcp_servers.everything]\nurl = \"http://127.0.0.1:{port}/mcp\"\nrequired = true\n"
        ),
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    drop(server);
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let (_, completed) = call_pair(&events, "everything", "echo", json!({"message": "hi"}));
    assert_eq!(completed["status"], "completed", "{completed}");
    assert_eq!(completed["error"], Value::Null);
    let requests = env.requests();
    assert_eq!(call_output(&requests[1], "call_1")?, "Echo: hi");
    let tools = advertised_tools(&requests[0].json());
    assert!(
        tools.contains(&"mcp__everything__echo".to_string()),
        "{tools:?}"
    );
    Ok(())
}

/// A required HTTP server nobody listens on fails the run like a stdio one.
#[test]
fn required_http_server_on_closed_port_stops_the_run() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    let port = free_port()?;
    env.write_config(
        "",
        &format!(
            "\n[mcp_servers.gone]\nurl = \"http://127.0.0.1:{port}/mcp\"\nrequired = true\nstartup_timeout_sec = 5\n"
        ),
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_required_failure(&env, &run, "gone: ");
    assert!(run.stderr.contains("Connection refused"), "{run}");
    Ok(())
}

/// An optional HTTP server that cannot start is a warning item; the run goes
/// on without its tools and `rmcp`'s own error log stays off stderr.
#[test]
fn optional_http_server_failure_is_not_fatal() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    let port = free_port()?;
    env.write_config(
        "",
        &format!("\n[mcp_servers.gone]\nurl = \"http://127.0.0.1:{port}/mcp\"\n"),
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert!(!run.stderr.contains("rmcp"), "{run}");
    let (_, events) = run.events()?;
    let warnings = item_events(&events, "error");
    assert_eq!(warnings.len(), 1, "{events:#?}");
    let message = warnings[0]["item"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("gone"), "{message}");
    let tools = advertised_tools(&env.requests()[0].json());
    assert!(!tools.iter().any(|t| t.starts_with("mcp__")), "{tools:?}");
    Ok(())
}

/// The bearer token, static headers and env headers (set ones only) are sent
/// on the first request; the fake server then answers 500, so the required
/// server fails.
#[test]
fn http_server_headers_and_bearer_token() -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let head = std::thread::spawn(move || -> anyhow::Result<String> {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(STEP_TIMEOUT))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk)?;
            anyhow::ensure!(n > 0, "connection closed before the request head");
            buf.extend_from_slice(&chunk[..n]);
        }
        stream.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )?;
        Ok(String::from_utf8_lossy(&buf).to_lowercase())
    });
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    env.write_config(
        "",
        &format!(
            "\n[mcp_servers.h]\nurl = \"http://127.0.0.1:{port}/mcp\"\nrequired = true\n\
             bearer_token_env_var = \"H_TOKEN\"\nhttp_headers = {{ \"X-Static\" = \"v\" }}\n\
             env_http_headers = {{ \"X-From-Env\" = \"H_HEADER\", \"X-Unset\" = \"H_UNSET\" }}\n"
        ),
    )?;
    let run = env
        .exec()
        .env("H_TOKEN", "sekrit")
        .env("H_HEADER", "from-env")
        .args(["--json", "go"])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(
        run.stderr
            .contains("required MCP servers failed to initialize: h: "),
        "{run}"
    );
    let head = head
        .join()
        .map_err(|_| anyhow::anyhow!("listener thread panicked"))??;
    assert!(head.starts_with("post /mcp "), "{head}");
    assert!(
        head.contains("\r\nauthorization: bearer sekrit\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nx-static: v\r\n"), "{head}");
    assert!(head.contains("\r\nx-from-env: from-env\r\n"), "{head}");
    assert!(!head.contains("x-unset"), "{head}");
    Ok(())
}

/// A bearer token variable that is not set fails that server with a reason
/// naming the variable, before any connection.
#[test]
fn http_server_with_unset_bearer_variable_fails() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    env.write_config(
        "",
        "\n[mcp_servers.h]\nurl = \"http://127.0.0.1:1/mcp\"\nrequired = true\nbearer_token_env_var = \"H_MISSING_TOKEN\"\n",
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_required_failure(
        &env,
        &run,
        "h: environment variable `H_MISSING_TOKEN` (bearer_token_env_var) is not set",
    );
    Ok(())
}
