//! Wire-level tests of the mock server with a plain std TcpStream client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::thread;
use std::time::{Duration, Instant};

use common::Client;
use mock_responses::{ev, message_reply, MockServer, Reply};
use serde_json::{json, Value};

const BODY: &str = r#"{"model":"m","input":[{"type":"message","role":"user","content":"hi"}]}"#;

#[test]
fn sse_framing_and_chunked_encoding() {
    let events = vec![
        ev::created("resp_1"),
        ev::message("msg_1", "hello\nworld"),
        ev::completed("resp_1"),
    ];
    let server = MockServer::start(vec![Reply::sse(events.clone())]).unwrap();
    let mut client = Client::connect(server.port());
    let resp = client.post("/v1/responses", BODY);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert!(resp.terminated);
    assert_eq!(resp.chunks.len(), 3, "one chunk per event");
    for (chunk, event) in resp.chunks.iter().zip(&events) {
        let expected = format!(
            "event: {}\ndata: {}\n\n",
            event["type"].as_str().unwrap(),
            serde_json::to_string(event).unwrap()
        );
        assert_eq!(String::from_utf8(chunk.clone()).unwrap(), expected);
    }
    // The data line is compact JSON that parses back to the event.
    let text = resp.text();
    let data: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(data, events);
}

#[test]
fn string_events_are_verbatim_and_typeless_events_have_no_event_line() {
    let server = MockServer::start(vec![Reply::sse(vec![
        json!(": comment\n\n"),
        json!({"no_type": 1}),
        json!(""),
    ])])
    .unwrap();
    let mut client = Client::connect(server.port());
    let resp = client.post("/v1/responses", BODY);
    assert_eq!(resp.text(), ": comment\n\ndata: {\"no_type\":1}\n\n");
    assert!(resp.terminated);
}

#[test]
fn keep_alive_serves_sequential_requests_on_one_connection() {
    let server = MockServer::start(vec![message_reply("one"), message_reply("two")]).unwrap();
    let mut client = Client::connect(server.port());
    let first = client.post("/v1/responses", BODY);
    assert_eq!(first.header("connection"), Some("keep-alive"));
    assert!(first.text().contains("\"text\":\"one\""));
    let models = {
        client.send("GET", "/v1/models?x=1", &[], "");
        client.read_response()
    };
    assert_eq!(models.status, 404);
    let second = client.post("/api/v1/responses?stream=true", BODY);
    assert!(second.text().contains("\"text\":\"two\""));
    let third = client.post("/v1/responses", BODY);
    assert_eq!(third.status, 500);
    assert_eq!(
        third.text(),
        r#"{"error":{"message":"mock-responses: no scripted reply left","type":"server_error"}}"#
    );
    assert_eq!(third.header("content-type"), Some("application/json"));

    let all = server.requests();
    assert_eq!(all.len(), 4);
    assert_eq!(all[1].method, "GET");
    assert_eq!(all[1].path, "/v1/models?x=1");
    assert_eq!(server.response_requests().len(), 3);
    assert_eq!(
        server.response_requests()[1].path,
        "/api/v1/responses?stream=true"
    );
    assert_eq!(server.pending_replies(), 0);
}

#[test]
fn requests_are_recorded_with_lowercased_headers() {
    let server = MockServer::start(vec![message_reply("ok")]).unwrap();
    let mut client = Client::connect(server.port());
    client.send(
        "POST",
        "/v1/responses",
        &[
            ("Authorization", "Bearer sk-test"),
            ("X-Custom-Thing", "  Value  "),
            ("Content-Type", "application/json"),
        ],
        BODY,
    );
    let resp = client.read_response();
    assert_eq!(resp.status, 200);
    let req = &server.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/responses");
    assert!(req
        .headers
        .iter()
        .any(|(n, v)| n == "x-custom-thing" && v == "Value"));
    assert!(req.headers.iter().all(|(n, _)| *n == n.to_lowercase()));
    assert_eq!(req.header("AUTHORIZATION"), Some("Bearer sk-test"));
    assert_eq!(req.header("missing"), None);
    assert_eq!(req.body, BODY.as_bytes());
    assert_eq!(req.json()["model"], "m");
    assert_eq!(req.input().len(), 1);
    assert_eq!(req.input()[0]["content"], "hi");
    let log = req.to_log_json();
    assert_eq!(log["body"]["model"], "m");
    assert_eq!(log["headers"]["authorization"], "Bearer sk-test");
}

#[test]
fn non_json_body_gives_null_json_and_empty_input() {
    let server = MockServer::start(vec![message_reply("ok")]).unwrap();
    let mut client = Client::connect(server.port());
    client.post("/v1/responses", "not json");
    let req = &server.requests()[0];
    assert_eq!(req.json(), Value::Null);
    assert!(req.input().is_empty());
    assert_eq!(req.to_log_json()["body"], "not json");
}

#[test]
fn fallback_is_repeated_after_the_script() {
    let server =
        MockServer::start_with_fallback(vec![message_reply("scripted")], message_reply("fallback"))
            .unwrap();
    let mut client = Client::connect(server.port());
    assert!(client
        .post("/v1/responses", BODY)
        .text()
        .contains("scripted"));
    for _ in 0..3 {
        let resp = client.post("/v1/responses", BODY);
        assert_eq!(resp.status, 200);
        assert!(resp.text().contains("fallback"));
    }
    assert_eq!(server.response_requests().len(), 4);
}

#[test]
fn cut_after_closes_without_terminator() {
    let server = MockServer::start(vec![Reply::sse(vec![
        ev::created("r"),
        ev::output_text_delta("m", "partial"),
        ev::completed("r"),
    ])
    .cut_after(2)])
    .unwrap();
    let mut client = Client::connect(server.port());
    let resp = client.post("/v1/responses", BODY);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.chunks.len(), 2);
    assert!(!resp.terminated);
    assert!(!resp.text().contains("response.completed"));
    assert!(client.at_eof());
}

#[test]
fn raw_sse_is_verbatim_and_can_be_cut() {
    let server = MockServer::start(vec![
        Reply::raw_sse("data: {broken\n\n"),
        Reply::raw_sse("event: x\ndata: {}\n\n").cut_after(1),
    ])
    .unwrap();
    let mut client = Client::connect(server.port());
    let resp = client.post("/v1/responses", BODY);
    assert_eq!(resp.text(), "data: {broken\n\n");
    assert!(resp.terminated);
    let resp = client.post("/v1/responses", BODY);
    assert_eq!(resp.text(), "event: x\ndata: {}\n\n");
    assert!(!resp.terminated);
}

#[test]
fn raw_sse_bytes_need_not_be_utf8() {
    let body = b"data: {\"a\":\"\xe2\x82\"}\n\n\xff".to_vec();
    let server = MockServer::start(vec![Reply::raw_sse_bytes(body.clone())]).unwrap();
    let mut client = Client::connect(server.port());
    let resp = client.post("/v1/responses", BODY);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, body);
    assert!(resp.terminated);
}

#[test]
fn no_headers_records_the_request_and_sends_nothing() {
    let server = MockServer::start(vec![Reply::no_headers(), message_reply("after")]).unwrap();
    let mut client = Client::connect(server.port());
    client.send("POST", "/v1/responses", &[], BODY);
    assert!(server.wait_for_requests(1, Duration::from_secs(10)));
    client.set_read_timeout(Duration::from_millis(400));
    assert!(client.read_chunk().is_err(), "no status line may arrive");
    // The next connection gets the next scripted reply.
    let mut other = Client::connect(server.port());
    let resp = other.post("/v1/responses", BODY);
    assert_eq!(resp.status, 200);
    assert!(resp.text().contains("after"));
}

#[test]
fn per_thread_scripts_are_served_to_each_thread() {
    let server = MockServer::builder()
        .replies([message_reply("first"), message_reply("second")])
        .fallback(message_reply("fallback"))
        .per_thread(true)
        .start()
        .unwrap();
    let mut client = Client::connect(server.port());
    let mut ask = |thread: &str| {
        client.send("POST", "/v1/responses", &[("session_id", thread)], BODY);
        client.read_response().text()
    };
    assert!(ask("a").contains("first"));
    assert!(ask("b").contains("first"));
    assert!(ask("a").contains("second"));
    assert!(ask("a").contains("fallback"));
    assert!(ask("b").contains("second"));
    assert_eq!(server.pending_replies(), 2);
    assert_eq!(server.response_requests().len(), 5);
}

#[test]
fn stall_after_sends_events_then_nothing() {
    let server = MockServer::start(vec![
        Reply::sse(vec![ev::created("r"), ev::completed("r")]).stall_after(1)
    ])
    .unwrap();
    let mut client = Client::connect(server.port());
    client.send("POST", "/v1/responses", &[], BODY);
    // Read the head and the first chunk.
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("\n\n\r\n") {
        let more = client.read_chunk().unwrap();
        assert!(!more.is_empty(), "unexpected EOF");
        seen.extend_from_slice(&more);
    }
    client.set_read_timeout(Duration::from_millis(400));
    assert!(
        client.read_chunk().is_err(),
        "a stalled stream stays silent"
    );
    assert!(server.wait_for_requests(1, Duration::from_secs(1)));
}

#[test]
fn status_reply_with_retry_after() {
    let body = r#"{"error":{"message":"Rate limit","type":"rate_limit_error"}}"#;
    let server = MockServer::start(vec![
        Reply::status(429, body).header("Retry-After", "2"),
        Reply::status(503, "upstream down").header("x-extra", "1"),
        message_reply("after"),
    ])
    .unwrap();
    let mut client = Client::connect(server.port());
    let resp = client.post("/v1/responses", BODY);
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("2"));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(
        resp.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(resp.text(), body);
    let resp = client.post("/v1/responses", BODY);
    assert_eq!(resp.status, 503);
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(resp.header("x-extra"), Some("1"));
    assert_eq!(resp.text(), "upstream down");
    // The connection is still usable after error replies.
    assert_eq!(client.post("/v1/responses", BODY).status, 200);
}

#[test]
fn extra_headers_override_defaults_but_not_framing() {
    let server = MockServer::start(vec![Reply::sse(vec![ev::created("r")])
        .header("Content-Type", "text/event-stream; charset=utf-8")
        .header("Transfer-Encoding", "identity")
        .header("x-request-id", "req_9")])
    .unwrap();
    let mut client = Client::connect(server.port());
    let resp = client.post("/v1/responses", BODY);
    assert_eq!(
        resp.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.header("x-request-id"), Some("req_9"));
    assert_eq!(
        resp.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .count(),
        1
    );
}

#[test]
fn chunked_request_body_and_expect_continue() {
    let server = MockServer::start(vec![message_reply("ok")]).unwrap();
    let mut client = Client::connect(server.port());
    client.send_raw(
        b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    );
    let cont = client.read_response();
    assert_eq!(cont.status, 100);
    client.send_raw(b"5;ext=1\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\nX-Trailer: t\r\n\r\n");
    let resp = client.read_response();
    assert_eq!(resp.status, 200);
    assert_eq!(server.requests()[0].body, b"{\"a\": 1}");
    assert_eq!(server.requests()[0].json()["a"], 1);
}

#[test]
fn connection_close_is_honoured() {
    let server = MockServer::start(vec![message_reply("ok")]).unwrap();
    let mut client = Client::connect(server.port());
    client.send("POST", "/v1/responses", &[("Connection", "close")], BODY);
    let resp = client.read_response();
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(resp.terminated);
    assert!(client.at_eof());
}

#[test]
fn malformed_request_gets_400_and_server_survives() {
    let server = MockServer::start(vec![message_reply("ok")]).unwrap();
    let mut bad = Client::connect(server.port());
    bad.send_raw(b"GARBAGE\r\n\r\n");
    assert_eq!(bad.read_response().status, 400);
    assert!(bad.at_eof());
    // A client that vanishes mid-request.
    {
        let mut gone = Client::connect(server.port());
        gone.send_raw(b"POST /v1/responses HTTP/1.1\r\nContent-Length: 100\r\n\r\n{");
    }
    let mut good = Client::connect(server.port());
    assert_eq!(good.post("/v1/responses", BODY).status, 200);
}

#[test]
fn wait_for_requests_blocks_until_arrival() {
    let server = MockServer::start(vec![message_reply("a"), message_reply("b")]).unwrap();
    let port = server.port();
    assert!(!server.wait_for_requests(1, Duration::from_millis(50)));
    let handle = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        let mut client = Client::connect(port);
        client.post("/v1/responses", BODY);
        client.send("GET", "/health", &[], "");
        client.read_response();
        client.post("/v1/responses", BODY);
    });
    assert!(server.wait_for_requests(2, Duration::from_secs(10)));
    handle.join().unwrap();
    assert!(!server.wait_for_requests(3, Duration::from_millis(50)));
}

#[test]
fn delays_are_applied() {
    let server = MockServer::start(vec![Reply::sse(vec![
        ev::created("r"),
        ev::output_text_delta("m", "a"),
        ev::completed("r"),
    ])
    .delay_before_headers_ms(100)
    .event_delay_ms(50)])
    .unwrap();
    let mut client = Client::connect(server.port());
    let start = Instant::now();
    let resp = client.post("/v1/responses", BODY);
    assert!(resp.terminated);
    assert!(start.elapsed() >= Duration::from_millis(200));
}

#[test]
fn large_streams_are_fast() {
    let delta = "x".repeat(200);
    let mut events = vec![ev::created("r"), ev::message_added("m")];
    events.extend((0..10_000).map(|_| ev::output_text_delta("m", &delta)));
    events.push(ev::completed("r"));
    let server = MockServer::start(vec![Reply::sse(events)]).unwrap();
    let mut client = Client::connect(server.port());
    let start = Instant::now();
    let resp = client.post("/v1/responses", BODY);
    let elapsed = start.elapsed();
    assert!(resp.terminated);
    assert_eq!(resp.chunks.len(), 10_003);
    // Generous bound: debug build on a loaded CI machine.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[test]
fn dropping_the_server_stops_accepting() {
    let server = MockServer::start(vec![]).unwrap();
    let port = server.port();
    drop(server);
    thread::sleep(Duration::from_millis(50));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port))
        .map(|mut s| {
            // If something else grabbed the port we cannot tell; accept either outcome
            // as long as our server does not answer.
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let mut buf = [0u8; 1];
            !matches!(s.read(&mut buf), Ok(n) if n > 0)
        })
        .unwrap_or(true));
}

#[test]
fn event_constructors_have_the_documented_shapes() {
    assert_eq!(
        ev::completed_with_usage("r", 10, 2, 5, 1),
        json!({"type":"response.completed","response":{"id":"r","usage":{
            "input_tokens":10,"input_tokens_details":{"cached_tokens":2},
            "output_tokens":5,"output_tokens_details":{"reasoning_tokens":1},
            "total_tokens":15}}})
    );
    assert_eq!(
        ev::function_call("c1", "shell", "{}")["item"],
        json!({"type":"function_call","id":"fc_c1","call_id":"c1","name":"shell","arguments":"{}"})
    );
    assert_eq!(
        ev::custom_tool_call("c2", "apply_patch", "*** Begin Patch")["item"]["id"],
        "ctc_c2"
    );
    assert_eq!(
        ev::reasoning("rs", &["a", "b"])["item"],
        json!({"type":"reasoning","id":"rs","summary":[
            {"type":"summary_text","text":"a"},{"type":"summary_text","text":"b"}],
            "encrypted_content":"enc-rs"})
    );
    assert_eq!(
        ev::failed("r", "server_error", "boom"),
        json!({"type":"response.failed","response":{"id":"r","error":{"code":"server_error","message":"boom"}}})
    );
    assert_eq!(
        ev::incomplete("r", "max_output_tokens")["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
    assert_eq!(
        ev::web_search_call("ws", "rust")["item"]["action"],
        json!({"type":"search","query":"rust"})
    );
    assert_eq!(ev::message_added("m")["type"], "response.output_item.added");
    assert_eq!(
        ev::reasoning_summary_delta("rs", 1, "x")["type"],
        "response.reasoning_summary_text.delta"
    );
}

/// The `data:` payloads of an event-stream response.
fn payloads(resp: &common::Response) -> Vec<Value> {
    resp.text()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[test]
fn routes_answer_matching_requests_without_consuming_the_script() {
    let server = MockServer::builder()
        .route(
            |req| req.json()["tool_choice"] == "none",
            message_reply("routed"),
        )
        .reply(message_reply("scripted 1"))
        .reply(message_reply("scripted 2"))
        .start()
        .unwrap();
    let mut client = Client::connect(server.port());
    let routed = r#"{"tool_choice":"none","input":[]}"#;
    assert!(client
        .post("/v1/responses", BODY)
        .text()
        .contains("scripted 1"));
    for _ in 0..2 {
        assert!(client
            .post("/v1/responses", routed)
            .text()
            .contains("routed"));
    }
    assert!(client
        .post("/v1/responses", BODY)
        .text()
        .contains("scripted 2"));
    assert_eq!(server.response_requests().len(), 4);
}

#[test]
fn the_context_window_fails_large_requests_and_usage_reports_request_size() {
    let body_tokens = mock_responses::request_tokens(&mock_responses::RecordedRequest {
        method: "POST".into(),
        path: "/v1/responses".into(),
        headers: Vec::new(),
        body: BODY.as_bytes().to_vec(),
        received_at: Instant::now(),
    });
    assert_eq!(body_tokens, (BODY.len() as u64).div_ceil(4));
    let server = MockServer::builder()
        .context_window(body_tokens)
        .usage_from_request()
        .reply(Reply::sse(vec![
            ev::created("r"),
            ev::completed_with_usage("r", 1, 0, 7, 0),
        ]))
        .fallback(message_reply("fallback"))
        .start()
        .unwrap();
    let mut client = Client::connect(server.port());
    let usage = |resp: &common::Response| {
        payloads(resp)
            .into_iter()
            .find(|p| p["type"] == "response.completed")
            .map(|p| p["response"]["usage"].clone())
            .unwrap()
    };
    let big = format!("{BODY}    ");
    let failed = payloads(&client.post("/v1/responses", &big));
    assert_eq!(failed[1]["type"], "response.failed");
    assert_eq!(
        failed[1]["response"]["error"]["code"],
        "context_length_exceeded"
    );
    let first = usage(&client.post("/v1/responses", BODY));
    assert_eq!(first["input_tokens"], json!(body_tokens));
    assert_eq!(first["output_tokens"], 7);
    assert_eq!(first["total_tokens"], json!(body_tokens + 7));
    // The fallback is sized too.
    let fallback = usage(&client.post("/v1/responses", BODY));
    assert_eq!(fallback["input_tokens"], json!(body_tokens));
    assert_eq!(server.response_requests().len(), 3);
}

#[test]
fn compact_requests_consume_the_script() {
    let server = MockServer::start(vec![Reply::status(200, r#"{"output":[]}"#)]).unwrap();
    let mut client = Client::connect(server.port());
    let resp = client.post("/v1/responses/compact", BODY);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), r#"{"output":[]}"#);
    let requests = server.response_requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].is_compact_request());
}
