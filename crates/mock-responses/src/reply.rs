//! Scripted replies and their JSON form.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One scripted answer to a `POST …/responses` request.
///
/// Build it with [`Reply::sse`], [`Reply::raw_sse`] or [`Reply::status`] and refine it
/// with the builder methods. It (de)serialises to the JSON form described in the crate
/// documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ReplyRepr", into = "ReplyRepr")]
pub struct Reply {
    pub(crate) kind: ReplyKind,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) delay_before_headers_ms: u64,
    pub(crate) event_delay_ms: u64,
    pub(crate) end: StreamEnd,
}

/// What the body of a reply is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ReplyKind {
    /// 200 event stream built from events (strings are written verbatim).
    Sse(Vec<Value>),
    /// 200 event stream whose body is one verbatim chunk (any bytes, not
    /// necessarily UTF-8).
    RawSse(Vec<u8>),
    /// A plain response with a Content-Length body.
    Status { code: u16, body: String },
    /// Nothing at all: the request is read, then the connection stays silent (no
    /// status line, no headers) until the client goes away.
    NoHeaders,
}

/// How an event stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// All events, then the chunked terminator.
    Complete,
    /// The first n events, then an abrupt close.
    Cut(usize),
    /// The first n events, then silence until the client goes away.
    Stall(usize),
}

impl Reply {
    fn new(kind: ReplyKind) -> Reply {
        Reply {
            kind,
            headers: Vec::new(),
            delay_before_headers_ms: 0,
            event_delay_ms: 0,
            end: StreamEnd::Complete,
        }
    }

    /// A 200 `text/event-stream` reply. Each event is written as
    /// `event: <type>\ndata: <compact json>\n\n` (the `event:` line is left out when the
    /// value has no string `"type"`). An event that is a JSON *string* is written verbatim,
    /// which allows malformed fragments or comments in the middle of a stream.
    pub fn sse(events: Vec<Value>) -> Reply {
        Reply::new(ReplyKind::Sse(events))
    }

    /// A 200 `text/event-stream` reply whose body is written verbatim (one chunk). For
    /// [`cut_after`](Reply::cut_after) / [`stall_after`](Reply::stall_after) the body counts
    /// as a single event.
    pub fn raw_sse(body: impl Into<String>) -> Reply {
        Reply::new(ReplyKind::RawSse(body.into().into_bytes()))
    }

    /// Like [`Reply::raw_sse`], but the body is any bytes: invalid UTF-8, a
    /// character cut in half, NULs. Its JSON form is `raw_sse_bytes`, an array of
    /// byte values (a body that is valid UTF-8 serialises as `raw_sse`).
    pub fn raw_sse_bytes(body: impl Into<Vec<u8>>) -> Reply {
        Reply::new(ReplyKind::RawSse(body.into()))
    }

    /// A reply that never comes: the request is read and recorded, then nothing is
    /// sent (not even the status line) until the client disconnects, the server
    /// stops or 10 minutes pass. Models a server that accepts the connection and
    /// hangs before its response headers. Its JSON form is `{"no_headers": true}`.
    pub fn no_headers() -> Reply {
        Reply::new(ReplyKind::NoHeaders)
    }

    /// A reply with the given status and a Content-Length body; the content type is
    /// `application/json` when the body parses as JSON, else `text/plain; charset=utf-8`.
    pub fn status(code: u16, body: impl Into<String>) -> Reply {
        Reply::new(ReplyKind::Status {
            code,
            body: body.into(),
        })
    }

    /// Adds a response header (replacing an earlier one of the same name, compared
    /// case-insensitively). It also replaces a default header such as `content-type`;
    /// the framing headers `content-length` and `transfer-encoding` cannot be overridden
    /// and are left out when the response is written.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value.to_string(),
            None => self.headers.push((name.to_string(), value.to_string())),
        }
        self
    }

    /// Sleeps this long before sending the status line.
    pub fn delay_before_headers_ms(mut self, ms: u64) -> Reply {
        self.delay_before_headers_ms = ms;
        self
    }

    /// Sleeps this long between two SSE events (each event is flushed on its own when set).
    pub fn event_delay_ms(mut self, ms: u64) -> Reply {
        self.event_delay_ms = ms;
        self
    }

    /// Sends only the first `n` events, then closes the connection abruptly (no chunked
    /// terminator). Replaces an earlier [`stall_after`](Reply::stall_after).
    pub fn cut_after(mut self, n: usize) -> Reply {
        self.end = StreamEnd::Cut(n);
        self
    }

    /// Sends the first `n` events, then keeps the connection open without sending
    /// anything until the client disconnects (or 10 minutes pass). Replaces an earlier
    /// [`cut_after`](Reply::cut_after).
    pub fn stall_after(mut self, n: usize) -> Reply {
        self.end = StreamEnd::Stall(n);
        self
    }
}

/// The serde shape of [`Reply`]: a flat object.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sse: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw_sse: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw_sse_bytes: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "is_false")]
    no_headers: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
    #[serde(default, skip_serializing_if = "HeaderList::is_empty")]
    headers: HeaderList,
    #[serde(default, skip_serializing_if = "is_zero")]
    delay_before_headers_ms: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    event_delay_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cut_after: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stall_after: Option<usize>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl TryFrom<ReplyRepr> for Reply {
    type Error = String;

    fn try_from(r: ReplyRepr) -> Result<Reply, String> {
        let kinds = usize::from(r.sse.is_some())
            + usize::from(r.raw_sse.is_some())
            + usize::from(r.raw_sse_bytes.is_some())
            + usize::from(r.status.is_some())
            + usize::from(r.no_headers);
        if kinds != 1 {
            return Err(
                "a reply needs exactly one of `sse`, `raw_sse`, `raw_sse_bytes`, `status` or \
                 `no_headers: true`"
                    .to_string(),
            );
        }
        if r.body.is_some() && r.status.is_none() {
            return Err("`body` is only allowed together with `status`".to_string());
        }
        if r.cut_after.is_some() && r.stall_after.is_some() {
            return Err("`cut_after` and `stall_after` are mutually exclusive".to_string());
        }
        let kind = if let Some(events) = r.sse {
            ReplyKind::Sse(events)
        } else if let Some(raw) = r.raw_sse {
            ReplyKind::RawSse(raw.into_bytes())
        } else if let Some(raw) = r.raw_sse_bytes {
            ReplyKind::RawSse(raw)
        } else if r.no_headers {
            ReplyKind::NoHeaders
        } else {
            let code = r.status.unwrap_or(500);
            if !(200..=599).contains(&code) {
                return Err(format!("`status` must be between 200 and 599, got {code}"));
            }
            let body = match r.body {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
            };
            ReplyKind::Status { code, body }
        };
        let end = match (r.cut_after, r.stall_after) {
            (Some(n), _) => StreamEnd::Cut(n),
            (None, Some(n)) => StreamEnd::Stall(n),
            (None, None) => StreamEnd::Complete,
        };
        Ok(Reply {
            kind,
            headers: r.headers.0,
            delay_before_headers_ms: r.delay_before_headers_ms,
            event_delay_ms: r.event_delay_ms,
            end,
        })
    }
}

impl From<Reply> for ReplyRepr {
    fn from(reply: Reply) -> ReplyRepr {
        let mut repr = ReplyRepr {
            sse: None,
            raw_sse: None,
            raw_sse_bytes: None,
            no_headers: false,
            status: None,
            body: None,
            headers: HeaderList(reply.headers),
            delay_before_headers_ms: reply.delay_before_headers_ms,
            event_delay_ms: reply.event_delay_ms,
            cut_after: None,
            stall_after: None,
        };
        match reply.kind {
            ReplyKind::Sse(events) => repr.sse = Some(events),
            ReplyKind::RawSse(raw) => match String::from_utf8(raw) {
                Ok(text) => repr.raw_sse = Some(text),
                Err(err) => repr.raw_sse_bytes = Some(err.into_bytes()),
            },
            ReplyKind::Status { code, body } => {
                repr.status = Some(code);
                repr.body = Some(Value::String(body));
            }
            ReplyKind::NoHeaders => repr.no_headers = true,
        }
        match reply.end {
            StreamEnd::Complete => {}
            StreamEnd::Cut(n) => repr.cut_after = Some(n),
            StreamEnd::Stall(n) => repr.stall_after = Some(n),
        }
        repr
    }
}

/// Ordered header list, serialised as a JSON object (`{"name": "value"}`).
#[derive(Default)]
struct HeaderList(Vec<(String, String)>);

impl HeaderList {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for HeaderList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for HeaderList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<HeaderList, D::Error> {
        struct HeaderVisitor;

        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = HeaderList;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object mapping header names to string or number values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderList, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    let value = match value {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(serde::de::Error::custom(format!(
                                "header `{name}` must be a string or a number"
                            )))
                        }
                    };
                    if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
                        return Err(serde::de::Error::custom(format!(
                            "header `{name}` contains a forbidden character"
                        )));
                    }
                    match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                        Some(slot) => slot.1 = value,
                        None => out.push((name, value)),
                    }
                }
                Ok(HeaderList(out))
            }
        }

        deserializer.deserialize_map(HeaderVisitor)
    }
}
