//! A scripted OpenAI Responses-API server on 127.0.0.1.
//!
//! [`MockServer`] answers every model request (a `POST` to a path ending in `/responses`,
//! or in `/responses/compact`, the remote compaction endpoint) with the next scripted
//! [`Reply`] (then the fallback, if any, then a 500); with
//! [`MockServerBuilder::per_thread`] each thread (`session_id` header) gets the whole
//! script to itself, so concurrent clients each see their own conversation. Every
//! request, whatever its method and path, is recorded as a [`RecordedRequest`]; other
//! requests get a 404. The builder can add routes (replies chosen by a predicate on the
//! request) and model a context window (requests too large fail with
//! `context_length_exceeded`, usage reports each request's size): see
//! [`MockServerBuilder`]. It speaks plain HTTP/1.1 with keep-alive on blocking
//! std sockets (one accept thread, one thread per connection), so it can be used from
//! synchronous tests without an async runtime.
//!
//! ```no_run
//! use mock_responses::{ev, message_reply, MockServer, Reply};
//!
//! let server = MockServer::start(vec![
//!     Reply::sse(vec![
//!         ev::created("resp_1"),
//!         ev::function_call("call_1", "shell", r#"{"command":["ls"]}"#),
//!         ev::completed("resp_1"),
//!     ]),
//!     message_reply("done"),
//! ])?;
//! // Point the client at server.base_url(), run it, then inspect what it sent:
//! assert!(server.wait_for_requests(2, std::time::Duration::from_secs(10)));
//! let second = &server.response_requests()[1];
//! assert_eq!(second.header("content-type"), Some("application/json"));
//! let _items = second.input();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # JSON form of a reply
//!
//! [`Reply`] implements serde; the `mock-responses` binary reads a script file holding a
//! JSON array of replies. Each reply is a flat object with exactly one of `sse`,
//! `raw_sse`, `raw_sse_bytes`, `status` or `no_headers`:
//!
//! ```json
//! [
//!   {
//!     "sse": [
//!       {"type": "response.created", "response": {"id": "resp_1"}},
//!       {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
//!        "content_index": 0, "delta": "Hel"},
//!       ": a string event is written verbatim\n\n",
//!       {"type": "response.completed", "response": {"id": "resp_1"}}
//!     ],
//!     "headers": {"x-request-id": "req_1"},
//!     "event_delay_ms": 5,
//!     "delay_before_headers_ms": 0,
//!     "cut_after": null,
//!     "stall_after": null
//!   },
//!   {"status": 429, "body": {"error": {"message": "slow down"}}, "headers": {"retry-after": 1}},
//!   {"status": 500, "body": "plain text"},
//!   {"raw_sse": "data: {not json\n\n", "cut_after": 1},
//!   {"raw_sse_bytes": [100, 97, 116, 97, 58, 32, 255, 10, 10]},
//!   {"no_headers": true}
//! ]
//! ```
//!
//! * `sse`: events; an object is written as `event: <its "type">\ndata: <compact json>\n\n`,
//!   a string verbatim.
//! * `raw_sse`: the whole stream body, written verbatim as a single chunk.
//! * `raw_sse_bytes`: the same as an array of byte values, for bodies that are not
//!   UTF-8 (a torn character, invalid bytes).
//! * `no_headers: true`: the request is read and recorded, then nothing is ever sent
//!   (not even the status line) until the client goes away: a server that hangs
//!   before its response headers.
//! * `status` + optional `body`: a string body is sent as is, any other JSON value
//!   compactly serialised; the content type is `application/json` when the body parses as
//!   JSON, else `text/plain; charset=utf-8`. `status` must be 200–599.
//! * `headers`: extra response headers (string or number values).
//! * `delay_before_headers_ms`, `event_delay_ms`, `cut_after`, `stall_after`: see the
//!   [`Reply`] builder methods of the same names. All are optional; the last three only
//!   affect `sse` / `raw_sse` replies, and `cut_after` and `stall_after` exclude each other.
//!
//! Unknown fields are rejected. Serialising a [`Reply`] yields the same form, leaving
//! out defaults (and always writing a status body as a string).
//!
//! # The binary
//!
//! `mock-responses --script <file.json> [--fallback <file.json>] [--per-thread] [--port N]
//! [--log <file.jsonl>] [--ignore-stdin]` prints the base URL as its first stdout line and
//! serves until killed or until its stdin reaches EOF (unless `--ignore-stdin` is given or
//! stdin is `/dev/null`). `--log` appends one JSON line per request, see
//! [`RecordedRequest::to_log_json`]. Bad arguments or an unreadable script: one line on
//! stderr and exit code 2.

#![warn(missing_docs)]

mod http;
mod reply;
mod request;
mod response;
mod server;

mod window;

pub mod ev;

pub use reply::Reply;
pub use request::RecordedRequest;
pub use server::{MockServer, MockServerBuilder};
pub use window::{request_tokens, BYTES_PER_TOKEN, CONTEXT_WINDOW_EXCEEDED_MESSAGE};

/// Response id used by [`message_reply`].
pub const MESSAGE_REPLY_RESPONSE_ID: &str = "resp_mock";
/// Message item id used by [`message_reply`].
pub const MESSAGE_REPLY_ITEM_ID: &str = "msg_mock";

/// A complete turn that answers with one assistant message: `response.created`
/// (id [`MESSAGE_REPLY_RESPONSE_ID`]), the message (id [`MESSAGE_REPLY_ITEM_ID`]) and
/// `response.completed` with usage input 10, cached 0, output 5, reasoning 0 (total 15).
pub fn message_reply(text: &str) -> Reply {
    Reply::sse(vec![
        ev::created(MESSAGE_REPLY_RESPONSE_ID),
        ev::message(MESSAGE_REPLY_ITEM_ID, text),
        ev::completed_with_usage(MESSAGE_REPLY_RESPONSE_ID, 10, 0, 5, 0),
    ])
}
