//! `-o/--output-last-message` and `--output-schema` (SPEC §6, §25 cases 22–24).

use mock_responses::{ev, message_reply, Reply};
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::common::*;

/// `-o` receives the final message exactly, without an added newline.
#[test]
fn output_last_message_holds_final_message() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::message("msg_1", "first thoughts"),
        ev::message("msg_2", "final answer"),
        ev::completed("resp_1"),
    ])])?;
    let out = env.root.join("last.txt");
    let run = env
        .exec()
        .args(["--json", "-o"])
        .arg(&out)
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(std::fs::read_to_string(&out)?, "final answer");
    Ok(())
}

/// A turn without any message writes an empty file and warns on stderr.
#[test]
fn no_message_writes_empty_file_with_warning() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![Reply::sse(vec![
        ev::created("resp_1"),
        ev::completed("resp_1"),
    ])])?;
    let out = env.root.join("last.txt");
    std::fs::write(&out, "stale content")?;
    let run = env
        .exec()
        .args(["--json", "-o"])
        .arg(&out)
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(
        events,
        vec![thread_started(), turn_started(), turn_completed(0, 0, 0, 0)]
    );
    assert_eq!(std::fs::read_to_string(&out)?, "");
    let warning = format!(
        "Warning: no last agent message; wrote empty content to {}",
        out.display()
    );
    assert!(run.stderr.contains(&warning), "{run}");
    Ok(())
}

/// A failed turn leaves an empty `-o` file in both modes, as 0.169 does
/// (SPEC §6.1): a stale answer from an earlier run is not left behind.
#[test]
fn failed_turn_leaves_an_empty_file_in_both_modes() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], Reply::status(400, r#"{"error":{"message":"no"}}"#))?;
    for json in [true, false] {
        let out = env.root.join(format!("last-{json}.txt"));
        std::fs::write(&out, "a stale answer")?;
        let mut exec = env.exec();
        if json {
            exec = exec.arg("--json");
        }
        let run = exec.arg("-o").arg(&out).arg("hi").run()?;
        assert_eq!(run.code(), Some(1), "{run}");
        assert_eq!(std::fs::read_to_string(&out)?, "", "json: {json}");
        if !json {
            assert_eq!(run.stdout, "", "{run}");
        }
    }
    Ok(())
}

/// A JSON-mode run that fails before writing any file leaves an empty `-o`
/// file where there was none.
#[test]
fn failed_turn_in_json_mode_creates_the_file() -> anyhow::Result<()> {
    let env = TestEnv::with_fallback(vec![], Reply::status(400, r#"{"error":{"message":"no"}}"#))?;
    let out = env.root.join("last.txt");
    let run = env
        .exec()
        .args(["--json", "-o"])
        .arg(&out)
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(std::fs::read_to_string(&out)?, "");
    Ok(())
}

/// `--output-schema` puts the strict json_schema format on every request and `-o`
/// receives the raw JSON answer.
#[test]
fn output_schema_is_sent_on_every_request() -> anyhow::Result<()> {
    let answer = r#"{"answer":"42","confidence":0.9}"#;
    let env = TestEnv::new(vec![
        Reply::sse(vec![
            ev::created("resp_1"),
            ev::function_call("call_1", "shell", r#"{"command":["true"]}"#),
            ev::completed("resp_1"),
        ]),
        message_reply(answer),
    ])?;
    let schema_path = fixture("output_schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&schema_path)?)?;
    let out = env.root.join("answer.json");
    let run = env
        .exec()
        .arg("--json")
        .arg("--output-schema")
        .arg(&schema_path)
        .arg("-o")
        .arg(&out)
        .arg("answer in JSON")
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    let (_, events) = run.events()?;
    assert_eq!(events[2], agent_message("item_0", answer));
    let requests = env.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            request.json()["text"]["format"],
            json!({"type": "json_schema", "name": "codex_output_schema", "strict": true, "schema": schema})
        );
    }
    assert_eq!(std::fs::read_to_string(&out)?, answer);
    Ok(())
}

/// A schema file that is not JSON fails before any request.
#[test]
fn invalid_output_schema_is_rejected() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let schema = env.root.join("schema.json");
    std::fs::write(&schema, "{not json")?;
    let run = env
        .exec()
        .arg("--json")
        .arg("--output-schema")
        .arg(&schema)
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    let expected = format!("Output schema file {} is not valid JSON:", schema.display());
    assert!(run.stderr.contains(&expected), "{run}");
    assert!(env.requests().is_empty());
    Ok(())
}

/// A missing schema file fails before any request.
#[test]
fn missing_output_schema_is_rejected() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let schema = env.root.join("nope.json");
    let run = env
        .exec()
        .arg("--json")
        .arg("--output-schema")
        .arg(&schema)
        .arg("hi")
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    let expected = format!("Failed to read output schema file {}", schema.display());
    assert!(run.stderr.contains(&expected), "{run}");
    assert!(env.requests().is_empty());
    Ok(())
}
