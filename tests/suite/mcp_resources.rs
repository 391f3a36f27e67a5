//! MCP resources and rich answers end to end (SPEC §15, §4.4
//! `mcp_tool_call`): the resource tools `list_mcp_resources`,
//! `list_mcp_resource_templates` and `read_mcp_resource` against our
//! scripted server and the real `server-everything`, and answers with images
//! or structured content reaching the model and the item.
#![cfg(target_os = "linux")]

use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use super::mcp::{call_pair, configure, everything_command, mcp_events, server_table};
use crate::common::*;

const RESOURCE_TOOLS: [&str; 3] = [
    "list_mcp_resources",
    "list_mcp_resource_templates",
    "read_mcp_resource",
];

/// Write a config with one stdio `server-everything` named `everything`.
fn configure_everything(env: &TestEnv) -> anyhow::Result<()> {
    let command = everything_command()?;
    env.write_config(
        "",
        &format!(
            "\n[mcp_servers.everything]\ncommand = {:?}\nargs = [\"stdio\"]\nrequired = true\n",
            command.to_string_lossy()
        ),
    )
}

/// The raw `output` value of the `function_call_output` for `call_id`.
fn raw_output(request: &mock_responses::RecordedRequest, call_id: &str) -> anyhow::Result<Value> {
    let position = output_position(request, call_id)?;
    Ok(request.input()[position]["output"].clone())
}

/// The completed items of `mcp_tool_call`s, in order, after checking that
/// each started item is completed right after it (MCP calls run one by one).
fn completed_items(events: &[Value]) -> Vec<Value> {
    let items = mcp_events(events);
    assert_eq!(items.len() % 2, 0, "{items:#?}");
    items
        .chunks(2)
        .map(|pair| {
            assert_eq!(pair[0]["type"], "item.started", "{pair:#?}");
            assert_eq!(pair[0]["item"]["status"], "in_progress", "{pair:#?}");
            assert_eq!(pair[1]["type"], "item.completed", "{pair:#?}");
            assert_eq!(pair[0]["item"]["id"], pair[1]["item"]["id"]);
            assert_eq!(pair[0]["item"]["server"], pair[1]["item"]["server"]);
            assert_eq!(pair[0]["item"]["tool"], pair[1]["item"]["tool"]);
            assert_eq!(pair[0]["item"]["arguments"], pair[1]["item"]["arguments"]);
            pair[1]["item"].clone()
        })
        .collect()
}

/// A completed item's result as the JSON the model got, after checking the
/// item holds it as its only text block (no structured content, as the
/// reference shows resource calls).
fn structured(item: &Value) -> Value {
    assert_eq!(item["status"], "completed", "{item:#}");
    let content = &item["result"]["content"];
    assert_eq!(content.as_array().map(Vec::len), Some(1), "{item:#}");
    assert_eq!(content[0]["type"], "text", "{item:#}");
    let text: Value = serde_json::from_str(content[0]["text"].as_str().unwrap_or_default())
        .unwrap_or(Value::Null);
    assert_eq!(
        item["result"]["structured_content"],
        Value::Null,
        "{item:#}"
    );
    text
}

/// A failed item's error message.
fn failure(item: &Value) -> String {
    assert_eq!(item["status"], "failed", "{item:#}");
    assert_eq!(item["result"], Value::Null, "{item:#}");
    item["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// No MCP server: the three resource tools are not offered.
#[test]
fn resource_tools_absent_without_servers() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let tools = advertised_tools(&env.requests()[0].json());
    assert!(!tools.is_empty());
    for name in RESOURCE_TOOLS {
        assert!(!tools.contains(&name.to_string()), "{tools:?}");
    }
    Ok(())
}

/// With a server (even one without resources), the three tools are offered
/// as non-strict function tools with object schemas.
#[test]
fn resource_tools_offered_with_a_server() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![done_reply("resp_1")])?;
    configure(&env, &[server_table("plain", &[], "")])?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let body = env.requests()[0].json();
    let specs = body["tools"].as_array().cloned().unwrap_or_default();
    for name in RESOURCE_TOOLS {
        let spec = specs
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} not advertised: {specs:#?}"));
        assert_eq!(spec["type"], "function");
        assert_eq!(spec["strict"], false);
        assert_eq!(spec["parameters"]["type"], "object");
        assert_eq!(spec["parameters"]["properties"]["server"]["type"], "string");
        assert!(spec["description"].as_str().is_some_and(|d| d.len() > 40));
    }
    let read = specs.iter().find(|t| t["name"] == "read_mcp_resource");
    assert_eq!(
        read.map(|t| t["parameters"]["required"].clone()),
        Some(json!(["server", "uri"]))
    );
    assert!(advertised_tools(&body).contains(&"mcp__plain__echo".to_string()));
    Ok(())
}

/// Listing, paging, templates and reading against the scripted server; a
/// server without resources is skipped when aggregating.
#[test]
fn resources_of_the_test_server() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                ("call_1", "list_mcp_resources", json!({})),
                ("call_2", "list_mcp_resources", json!({"server": "res"})),
                (
                    "call_3",
                    "list_mcp_resources",
                    json!({"server": "res", "cursor": "1"}),
                ),
                ("call_4", "list_mcp_resource_templates", json!({})),
                (
                    "call_5",
                    "read_mcp_resource",
                    json!({"server": "res", "uri": "test://echo/hi there"}),
                ),
                (
                    "call_6",
                    "read_mcp_resource",
                    json!({"server": "res", "uri": "test://greeting"}),
                ),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    configure(
        &env,
        &[
            server_table("plain", &[], ""),
            server_table("res", &["--resources"], ""),
        ],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let items = completed_items(&events);
    assert_eq!(items.len(), 6, "{items:#?}");
    let servers: Vec<&Value> = items.iter().map(|i| &i["server"]).collect();
    assert_eq!(
        servers,
        [
            &json!("codex"),
            &json!("res"),
            &json!("res"),
            &json!("codex"),
            &json!("res"),
            &json!("res")
        ]
    );
    assert_eq!(items[0]["tool"], "list_mcp_resources");
    assert_eq!(items[3]["tool"], "list_mcp_resource_templates");
    assert_eq!(items[4]["tool"], "read_mcp_resource");
    assert_eq!(
        items[4]["arguments"],
        json!({"server": "res", "uri": "test://echo/hi there"})
    );

    let greeting = json!({"uri": "test://greeting", "name": "greeting", "mimeType": "text/plain",
                          "description": "A friendly greeting."});
    let pixel = json!({"uri": "test://pixel", "name": "pixel", "mimeType": "image/png"});
    let tagged = |server: &str, entry: &Value| {
        let mut tagged = json!({"server": server});
        if let (Some(t), Some(e)) = (tagged.as_object_mut(), entry.as_object()) {
            t.extend(e.clone());
        }
        tagged
    };
    let expected = [
        json!({"resources": [tagged("res", &greeting), tagged("res", &pixel)]}),
        json!({"server": "res", "resources": [greeting], "nextCursor": "1"}),
        json!({"server": "res", "resources": [pixel], "nextCursor": null}),
        json!({"resourceTemplates": [{"server": "res", "uriTemplate": "test://echo/{text}",
                                      "name": "echo", "mimeType": "text/plain"}]}),
        json!({"server": "res", "uri": "test://echo/hi there", "contents": [
            {"uri": "test://echo/hi there", "mimeType": "text/plain", "text": "hi there"}]}),
        json!({"server": "res", "uri": "test://greeting", "contents": [
            {"uri": "test://greeting", "mimeType": "text/plain", "text": "hello from mcp-test-server"}]}),
    ];
    let requests = env.requests();
    assert_eq!(requests.len(), 2);
    for (index, (item, expected)) in items.iter().zip(expected).enumerate() {
        assert_eq!(structured(item), expected, "call {}", index + 1);
        let output = call_output(&requests[1], &format!("call_{}", index + 1))?;
        let output: Value = serde_json::from_str(&output)?;
        assert_eq!(output, expected, "model output of call {}", index + 1);
    }
    Ok(())
}

/// Every kind of failure is a failed item and an error text for the model.
#[test]
fn resource_call_failures() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                (
                    "call_1",
                    "read_mcp_resource",
                    json!({"server": "nope", "uri": "test://greeting"}),
                ),
                ("call_2", "list_mcp_resources", json!({"server": "plain"})),
                ("call_3", "list_mcp_resources", json!({"cursor": "1"})),
                (
                    "call_4",
                    "read_mcp_resource",
                    json!({"uri": "test://greeting"}),
                ),
                (
                    "call_5",
                    "read_mcp_resource",
                    json!({"server": "res", "uri": "test://missing"}),
                ),
                (
                    "call_6",
                    "read_mcp_resource",
                    json!({"server": "slow", "uri": "test://greeting"}),
                ),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    configure(
        &env,
        &[
            server_table("plain", &[], ""),
            server_table("res", &["--resources"], ""),
            server_table(
                "slow",
                &["--resources", "--slow-call-ms", "3000"],
                "tool_timeout_sec = 0.5",
            ),
        ],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let items = completed_items(&events);
    assert_eq!(items.len(), 6, "{items:#?}");
    let expected = [
        (
            "nope",
            "unknown MCP server `nope`; running servers: `plain`, `res`, `slow`",
        ),
        ("plain", "MCP server `plain` does not offer resources"),
        (
            "codex",
            "invalid arguments for `list_mcp_resources`: `cursor` requires `server`",
        ),
        (
            "codex",
            "invalid arguments for `read_mcp_resource`: missing field `server`",
        ),
        ("res", "MCP server `res`: resources/read failed: "),
        (
            "slow",
            "MCP server `slow`: resources/read timed out after 0.5s",
        ),
    ];
    let requests = env.requests();
    for (index, (item, (server, message))) in items.iter().zip(expected).enumerate() {
        let call_id = format!("call_{}", index + 1);
        assert_eq!(item["server"], server, "{call_id}: {item:#}");
        let error = failure(item);
        assert!(error.starts_with(message), "{call_id}: {error}");
        assert_eq!(call_output(&requests[1], &call_id)?, error, "{call_id}");
    }
    assert!(
        failure(&items[4]).contains("resource not found: test://missing"),
        "{:#}",
        items[4]
    );
    Ok(())
}

/// `server-everything`: its image tool's answer goes to the model as an
/// `input_image` content item; the item keeps the image block verbatim.
#[test]
fn everything_image_reaches_the_model_as_image_input() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_1", "mcp__everything__get_tiny_image", json!({}))],
        ),
        done_reply("resp_2"),
    ])?;
    configure_everything(&env)?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let (_, completed) = call_pair(&events, "everything", "get-tiny-image", json!({}));
    assert_eq!(completed["status"], "completed", "{completed:#}");
    let content = completed["result"]["content"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let image = content
        .iter()
        .find(|block| block["type"] == "image")
        .unwrap_or_else(|| panic!("no image block: {content:#?}"));
    assert_eq!(image["mimeType"], "image/png");
    let data = image["data"].as_str().unwrap_or_default();
    assert!(data.starts_with("iVBORw0KGgo"), "not a base64 PNG: {data}");

    let output = raw_output(&env.requests()[1], "call_1")?;
    let parts = output
        .as_array()
        .unwrap_or_else(|| panic!("output is not an array: {output:#}"));
    assert_eq!(parts.len(), content.len(), "{output:#}");
    for (part, block) in parts.iter().zip(&content) {
        match block["type"].as_str() {
            Some("text") => {
                assert_eq!(part, &json!({"type": "input_text", "text": block["text"]}));
            }
            Some("image") => assert_eq!(
                part,
                &json!({"type": "input_image", "image_url": format!("data:image/png;base64,{data}")})
            ),
            _ => assert_eq!(part["type"], "input_text", "{part:#}"),
        }
    }
    Ok(())
}

/// `server-everything`: a structured answer lands in the item's
/// `structured_content`; the model gets the text.
#[test]
fn everything_structured_content_is_in_the_item() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[(
                "call_1",
                "mcp__everything__get_structured_content",
                json!({"location": "New York"}),
            )],
        ),
        done_reply("resp_2"),
    ])?;
    configure_everything(&env)?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let (_, completed) = call_pair(
        &events,
        "everything",
        "get-structured-content",
        json!({"location": "New York"}),
    );
    assert_eq!(completed["status"], "completed", "{completed:#}");
    let structured = &completed["result"]["structured_content"];
    for key in ["temperature", "conditions", "humidity"] {
        assert!(
            structured.get(key).is_some(),
            "{key} missing: {completed:#}"
        );
    }
    let text = completed["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(&serde_json::from_str::<Value>(text)?, structured);
    assert_eq!(call_output(&env.requests()[1], "call_1")?, text);
    Ok(())
}

/// `server-everything`: listing (all servers and one), templates, reading a
/// document, and an unknown server.
#[test]
fn everything_resources() -> anyhow::Result<()> {
    let uri = "demo://resource/static/document/features.md";
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                ("call_1", "list_mcp_resources", json!({})),
                (
                    "call_2",
                    "list_mcp_resources",
                    json!({"server": "everything"}),
                ),
                ("call_3", "list_mcp_resource_templates", json!({})),
                (
                    "call_4",
                    "read_mcp_resource",
                    json!({"server": "everything", "uri": uri}),
                ),
                (
                    "call_5",
                    "read_mcp_resource",
                    json!({"server": "elsewhere", "uri": uri}),
                ),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    configure_everything(&env)?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let items = completed_items(&events);
    assert_eq!(items.len(), 5, "{items:#?}");
    let request = &env.requests()[1];
    let model = |call_id: &str| -> anyhow::Result<Value> {
        Ok(serde_json::from_str(&call_output(request, call_id)?)?)
    };

    let all = structured(&items[0]);
    assert_eq!(items[0]["server"], "codex");
    assert_eq!(model("call_1")?, all);
    let all = all["resources"].as_array().cloned().unwrap_or_default();
    assert!(all.iter().any(|r| r["uri"] == uri), "{all:#?}");
    assert!(all.iter().all(|r| r["server"] == "everything"), "{all:#?}");

    let page = structured(&items[1]);
    assert_eq!(items[1]["server"], "everything");
    assert_eq!(page["server"], "everything");
    let listed = page["resources"].as_array().cloned().unwrap_or_default();
    assert!(listed.iter().any(|r| r["uri"] == uri), "{page:#}");
    assert!(listed.iter().all(|r| r.get("server").is_none()), "{page:#}");

    let templates = structured(&items[2]);
    let templates = templates["resourceTemplates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        templates.iter().any(
            |t| t["uriTemplate"] == "demo://resource/dynamic/text/{resourceId}"
                && t["server"] == "everything"
        ),
        "{templates:#?}"
    );

    let read = model("call_4")?;
    assert_eq!(read, structured(&items[3]));
    assert_eq!(read["server"], "everything");
    assert_eq!(read["uri"], uri);
    assert_eq!(read["contents"][0]["uri"], uri);
    assert_eq!(read["contents"][0]["mimeType"], "text/markdown");
    assert!(
        read["contents"][0]["text"]
            .as_str()
            .is_some_and(|t| t.len() > 100),
        "{read:#}"
    );

    assert_eq!(items[4]["server"], "elsewhere");
    let error = failure(&items[4]);
    assert_eq!(
        error,
        "unknown MCP server `elsewhere`; running servers: `everything`"
    );
    assert_eq!(call_output(request, "call_5")?, error);
    Ok(())
}

/// Listing without a server gathers every page of every server offering
/// resources, in configuration order, each entry tagged with its server.
#[test]
fn listing_all_servers_tags_each_entry() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                ("call_1", "list_mcp_resources", json!({})),
                ("call_2", "list_mcp_resource_templates", Value::Null),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    configure(
        &env,
        &[
            server_table("first", &["--resources"], ""),
            server_table("plain", &[], ""),
            server_table("second", &["--resources"], ""),
        ],
    )?;
    let run = env.exec().args(["--json", "go"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    let items = completed_items(&events);
    assert_eq!(items.len(), 2, "{items:#?}");
    let resources = structured(&items[0]);
    let tags: Vec<(&str, &str)> = resources["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["server"].as_str().unwrap_or_default(),
                r["uri"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        tags,
        [
            ("first", "test://greeting"),
            ("first", "test://pixel"),
            ("second", "test://greeting"),
            ("second", "test://pixel"),
        ]
    );
    let templates = structured(&items[1]);
    let servers: Vec<&Value> = templates["resourceTemplates"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| &t["server"])
        .collect();
    assert_eq!(servers, [&json!("first"), &json!("second")]);
    assert_eq!(items[1]["arguments"], Value::Null);
    Ok(())
}
