//! Tests of the `mock-responses` binary and of the JSON form of replies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Client;
use mock_responses::{ev, message_reply, Reply};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_mock-responses");

/// A fresh scratch directory under the system temp dir.
fn scratch_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mock-responses-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn reply_json_round_trips() {
    let replies = vec![
        message_reply("hi"),
        Reply::sse(vec![
            ev::created("r"),
            json!(": raw\n\n"),
            ev::completed("r"),
        ])
        .header("x-a", "b")
        .header("x-c", "d")
        .event_delay_ms(3)
        .delay_before_headers_ms(7)
        .cut_after(1),
        Reply::sse(vec![]).stall_after(0),
        Reply::raw_sse("data: {oops\n\n"),
        Reply::raw_sse_bytes(b"data: \xff\xfe\n\n".to_vec()),
        Reply::no_headers(),
        Reply::status(429, r#"{"error":{"message":"x"}}"#).header("Retry-After", "1"),
        Reply::status(500, ""),
    ];
    let text = serde_json::to_string_pretty(&replies).unwrap();
    let back: Vec<Reply> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, replies);

    let value: Value = serde_json::to_value(&replies[1]).unwrap();
    assert_eq!(value["headers"], json!({"x-a": "b", "x-c": "d"}));
    assert_eq!(value["cut_after"], 1);
    assert!(value.get("stall_after").is_none());
    assert_eq!(
        serde_json::to_value(&replies[4]).unwrap(),
        json!({"raw_sse_bytes": [100, 97, 116, 97, 58, 32, 255, 254, 10, 10]})
    );
    assert_eq!(
        serde_json::to_value(&replies[5]).unwrap(),
        json!({"no_headers": true})
    );
    assert_eq!(
        serde_json::to_value(&replies[6]).unwrap(),
        json!({"status": 429, "body": r#"{"error":{"message":"x"}}"#, "headers": {"Retry-After": "1"}})
    );
}

#[test]
fn reply_json_accepts_the_documented_forms() {
    let parsed: Vec<Reply> = serde_json::from_value(json!([
        {"sse": [{"type": "response.created", "response": {"id": "r"}}],
         "headers": {"x-a": "b"}, "event_delay_ms": 0, "cut_after": null,
         "stall_after": null, "delay_before_headers_ms": 0},
        {"status": 429, "body": {"error": {"message": "slow"}}, "headers": {"retry-after": 2}},
        {"status": 500},
        {"raw_sse": "data: x\n\n"},
        {"raw_sse_bytes": [100, 97, 116, 97, 58, 32, 255, 10, 10]},
        {"no_headers": true}
    ]))
    .unwrap();
    assert_eq!(
        parsed[0],
        Reply::sse(vec![ev::created("r")]).header("x-a", "b")
    );
    assert_eq!(
        parsed[1],
        Reply::status(429, r#"{"error":{"message":"slow"}}"#).header("retry-after", "2")
    );
    assert_eq!(parsed[2], Reply::status(500, ""));
    assert_eq!(parsed[3], Reply::raw_sse("data: x\n\n"));
    assert_eq!(parsed[4], Reply::raw_sse_bytes(b"data: \xff\n\n".to_vec()));
    assert_eq!(parsed[5], Reply::no_headers());

    for bad in [
        json!({}),
        json!({"sse": [], "status": 500}),
        json!({"no_headers": true, "status": 500}),
        json!({"raw_sse": "", "raw_sse_bytes": []}),
        json!({"sse": [], "body": "x"}),
        json!({"status": 99}),
        json!({"sse": [], "cut_after": 1, "stall_after": 1}),
        json!({"sse": [], "unknown": 1}),
        json!({"sse": [], "headers": {"x": [1]}}),
    ] {
        assert!(
            serde_json::from_value::<Reply>(bad.clone()).is_err(),
            "{bad} should be rejected"
        );
    }
}

#[test]
fn binary_serves_a_script_logs_and_exits_on_stdin_eof() {
    let dir = scratch_dir("serve");
    let script = dir.join("script.json");
    let fallback = dir.join("fallback.json");
    let log = dir.join("requests.jsonl");
    std::fs::write(
        &script,
        serde_json::to_string(&vec![
            message_reply("from script"),
            Reply::status(429, "slow down").header("retry-after", "1"),
        ])
        .unwrap(),
    )
    .unwrap();
    std::fs::write(
        &fallback,
        serde_json::to_string(&message_reply("fallback")).unwrap(),
    )
    .unwrap();

    let mut child = Command::new(BIN)
        .arg("--script")
        .arg(&script)
        .arg(format!("--fallback={}", fallback.display()))
        .arg("--log")
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let url = first_line.trim();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/v1"))
        .unwrap_or_else(|| panic!("unexpected first line {url:?}"))
        .parse()
        .unwrap();

    let mut client = Client::connect(port);
    let body = r#"{"input":[{"role":"user","content":"hi"}]}"#;
    assert!(client
        .post("/v1/responses", body)
        .text()
        .contains("from script"));
    let limited = client.post("/v1/responses", body);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert!(client
        .post("/v1/responses", "plain")
        .text()
        .contains("fallback"));

    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["method"], "POST");
    assert_eq!(lines[0]["path"], "/v1/responses");
    assert_eq!(lines[0]["headers"]["content-type"], "application/json");
    assert_eq!(lines[0]["body"]["input"][0]["content"], "hi");
    assert_eq!(lines[2]["body"], "plain");

    // Closing stdin stops the server.
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "binary did not exit on stdin EOF"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn binary_rejects_bad_arguments_with_exit_code_2() {
    let dir = scratch_dir("bad");
    let bad_script = dir.join("bad.json");
    std::fs::write(&bad_script, r#"[{"sse": [], "status": 500}]"#).unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec![],
        vec!["--bogus".into()],
        vec!["--script".into()],
        vec![
            "--script".into(),
            dir.join("missing.json").display().to_string(),
        ],
        vec!["--script".into(), bad_script.display().to_string()],
        vec![
            "--script".into(),
            bad_script.display().to_string(),
            "--port".into(),
            "x".into(),
        ],
    ];
    for args in cases {
        let out = Command::new(BIN)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "args {args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("mock-responses: "), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn binary_with_dev_null_stdin_and_fixed_port_keeps_serving() {
    let dir = scratch_dir("devnull");
    let script = dir.join("script.json");
    std::fs::write(&script, "[]").unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = Command::new(BIN)
        .arg("--script")
        .arg(&script)
        .args(["--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    assert_eq!(first_line, format!("http://127.0.0.1:{port}/v1\n"));
    std::thread::sleep(Duration::from_millis(100));
    assert!(child.try_wait().unwrap().is_none(), "must keep serving");
    let mut client = Client::connect(port);
    assert_eq!(client.post("/v1/responses", "{}").status, 500);
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
