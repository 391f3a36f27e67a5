//! The `view_image` tool (SPEC §9.1, §9.2): advertised to every family unless
//! turned off; a readable image is confirmed in the call output and attached
//! as a user `input_image` message after the response's outputs; every
//! failure goes back to the model as the output and the run goes on.

use base64::Engine;
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

use crate::common::*;

/// A real 1×1 RGB PNG (69 bytes), base64.
const PIXEL_PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

/// Write the 1×1 PNG to `path` in the work dir.
fn write_pixel(env: &TestEnv, path: &str) -> anyhow::Result<()> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(PIXEL_PNG_BASE64)?;
    env.write_file(path, bytes)?;
    Ok(())
}

/// The user message a `view_image` call of the pixel attaches.
fn pixel_message() -> Value {
    json!({"type": "message", "role": "user", "content": [
        {"type": "input_image", "image_url": format!("data:image/png;base64,{PIXEL_PNG_BASE64}")}
    ]})
}

/// Every family gets `view_image` with a required string `path`; either
/// `tools.view_image = false` or `features.view_image_tool = false` removes it.
#[test]
fn view_image_is_advertised_unless_turned_off() -> anyhow::Result<()> {
    for (model, extra, advertised) in [
        ("gpt-5-codex", &[][..], true),
        ("gpt-4.1", &[], true),
        ("gpt-oss-20b", &[], true),
        ("my-local-model", &[], true),
        ("gpt-5-codex", &["-c", "tools.view_image=false"], false),
        ("gpt-5-codex", &["--disable", "view_image_tool"], false),
        (
            "gpt-5-codex",
            &["-c", "features.view_image_tool=false"],
            false,
        ),
    ] {
        let env = TestEnv::new(vec![mock_responses::message_reply("hi")])?;
        let run = env
            .exec()
            .args(["--json", "-m", model])
            .args(extra)
            .arg("hi")
            .run()?;
        assert_eq!(run.code(), Some(0), "{model} {extra:?}: {run}");
        let body = env.requests()[0].json();
        let spec = body["tools"]
            .as_array()
            .and_then(|tools| tools.iter().find(|t| t["name"] == "view_image"))
            .cloned();
        assert_eq!(spec.is_some(), advertised, "{model} {extra:?}");
        if let Some(spec) = spec {
            assert_eq!(spec["type"], "function");
            assert_eq!(spec["strict"], false);
            assert_eq!(spec["parameters"]["required"], json!(["path"]));
            assert_eq!(spec["parameters"]["additionalProperties"], false);
            assert_eq!(
                spec["parameters"]["properties"]["path"]["type"], "string",
                "{spec}"
            );
        }
    }
    Ok(())
}

/// A PNG is confirmed in the call output and attached, as a data URL, in a
/// user message placed after every output of the response, so the next
/// request carries it; no JSONL item is emitted for it.
#[test]
fn image_is_attached_after_the_call_outputs() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                ("call_1", "view_image", json!({"path": "shots/pixel.png"})),
                ("call_2", "exec_command", json!({"cmd": "echo hi"})),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    write_pixel(&env, "shots/pixel.png")?;
    let run = env
        .exec()
        .args(["--json", "-s", "danger-full-access", "look"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let requests = env.requests();
    assert_eq!(requests.len(), 2);
    let second = &requests[1];
    assert_eq!(call_output(second, "call_1")?, "attached local image path");
    let input = second.input();
    let first_output = output_position(second, "call_1")?;
    let second_output = output_position(second, "call_2")?;
    assert_eq!(second_output, first_output + 1, "{input:#?}");
    assert_eq!(input.len(), second_output + 2, "{input:#?}");
    assert_eq!(input[second_output + 1], pixel_message());
    // The image is not sent twice, and was not there before the call.
    assert!(!requests[0].json().to_string().contains(PIXEL_PNG_BASE64));

    let (_, events) = run.events()?;
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["item"]["type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["command_execution", "command_execution", "agent_message"]
    );
    Ok(())
}

/// An absolute path works as well as a relative one, also outside the work dir.
#[test]
fn absolute_paths_are_accepted() -> anyhow::Result<()> {
    let outside = tempfile::tempdir()?;
    let path = outside.path().join("pixel.png");
    std::fs::write(
        &path,
        base64::engine::general_purpose::STANDARD.decode(PIXEL_PNG_BASE64)?,
    )?;
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[(
                "call_1",
                "view_image",
                json!({"path": path.display().to_string()}),
            )],
        ),
        done_reply("resp_2"),
    ])?;
    let run = env.exec().args(["--json", "look"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let second = &env.requests()[1];
    assert_eq!(call_output(second, "call_1")?, "attached local image path");
    assert_eq!(second.input().last().cloned(), Some(pixel_message()));
    Ok(())
}

/// A missing file, a directory, a file that is no image and bad arguments
/// each get an explanation as the output; nothing is attached and the run
/// exits 0.
#[test]
fn failures_go_back_to_the_model() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[
                ("call_1", "view_image", json!({"path": "missing.png"})),
                ("call_2", "view_image", json!({"path": "notes.txt"})),
                ("call_3", "view_image", json!({"path": "."})),
                ("call_4", "view_image", json!({"file": "pixel.png"})),
            ],
        ),
        done_reply("resp_2"),
    ])?;
    env.write_file("notes.txt", "plain text")?;
    let run = env.exec().args(["--json", "look"]).run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![
            thread_started(),
            turn_started(),
            agent_message("item_0", "done"),
            turn_completed(0, 0, 0, 0),
        ]
    );
    let second = &env.requests()[1];
    let work = env.work.display().to_string();
    let missing = call_output(second, "call_1")?;
    assert!(
        missing.starts_with(&format!(
            "view_image failed: cannot read `{work}/missing.png`: "
        )),
        "{missing}"
    );
    assert_eq!(
        call_output(second, "call_2")?,
        format!("view_image failed: `{work}/notes.txt` is not a PNG, JPEG, GIF or WebP image")
    );
    let directory = call_output(second, "call_3")?;
    assert!(
        directory.starts_with("view_image failed: `") && directory.ends_with("` is not a file"),
        "{directory}"
    );
    let bad = call_output(second, "call_4")?;
    assert!(
        bad.starts_with("failed to parse function arguments: "),
        "{bad}"
    );
    assert!(
        !second.json().to_string().contains("input_image"),
        "nothing attached"
    );
    Ok(())
}

/// With the tool turned off, a call to it is unsupported.
#[test]
fn disabled_tool_is_unsupported() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![
        calls_reply(
            "resp_1",
            &[("call_1", "view_image", json!({"path": "pixel.png"}))],
        ),
        done_reply("resp_2"),
    ])?;
    write_pixel(&env, "pixel.png")?;
    let run = env
        .exec()
        .args(["--json", "-c", "tools.view_image=false", "look"])
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let second = &env.requests()[1];
    assert_eq!(
        call_output(second, "call_1")?,
        "unsupported call: view_image"
    );
    assert!(!second.json().to_string().contains("input_image"));
    Ok(())
}
