//! HTTP client for `POST {base_url}/responses` with the request-level retry loop
//! (SPEC §7.1–7.2, §7.7a). The stream-level loop lives in the turn.
//!
//! Every wait on the server is bounded by the provider's idle timeout
//! (`stream_idle_timeout_ms`): the response headers, an error body, each event
//! of the stream, and the warm-up request. A server that accepts the
//! connection and then says nothing is a transport error, retried like one.

use std::time::Duration;

use bytes::{Buf, Bytes};
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};
use serde_json::value::RawValue;
use serde_json::Value;

use super::error::{backoff, ModelError, HIGH_DEMAND_MESSAGE};
use super::rate_limits::{self, RateLimitSnapshot};
use super::sse::{self, ResponseEvent};
use super::sse_framer::SseDecoder;
use crate::config::{Config, Credential};
use crate::runner::events::Usage;
use crate::runner::tools::prefix_at_boundary;

/// Client for one provider; cheap to share by reference.
#[derive(Debug)]
pub struct ModelClient {
    http: reqwest::Client,
    url: String,
    headers: HeaderMap,
    credential: Credential,
    request_max_retries: u64,
    idle_timeout: Duration,
}

/// What the compaction endpoint answered.
#[derive(Debug)]
pub struct CompactedHistory {
    /// The history to go on with.
    pub output: Vec<Box<RawValue>>,
    /// The request's usage, if reported.
    pub usage: Option<Usage>,
}

/// An open response stream.
pub struct ResponseStream {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    /// Received bytes not decoded yet.
    pending: Bytes,
    decoder: SseDecoder,
    idle: IdleWatch,
    /// The `openai-model` response header, if the server sent one.
    pub served_model: Option<String>,
    /// The rate-limit snapshots of the response headers (SPEC §22.3).
    pub rate_limits: Vec<RateLimitSnapshot>,
}

impl ModelClient {
    /// Build the client (no I/O happens here).
    pub fn new(config: &Config, thread_id: &str) -> Result<ModelClient, String> {
        let mut url = format!("{}/responses", config.provider.base_url);
        if !config.provider.query_params.is_empty() {
            let query: Vec<String> = config
                .provider
                .query_params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let mut headers = HeaderMap::new();
        let mut put = |name: &str, value: &str| -> Result<(), String> {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|err| format!("invalid header name `{name}`: {err}"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|err| format!("invalid value for header `{name}`: {err}"))?;
            headers.insert(name, value);
            Ok(())
        };
        put("accept", "text/event-stream")?;
        put("content-type", "application/json")?;
        put("originator", &config.originator)?;
        put("user-agent", &user_agent(&config.originator))?;
        for name in [
            "session_id",
            "conversation_id",
            "session-id",
            "thread-id",
            "x-client-request-id",
        ] {
            put(name, thread_id)?;
        }
        for (name, value) in &config.provider.headers {
            put(name, value)?;
        }
        if let Some(token) = config.credential.token() {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                "the API key contains characters not allowed in a header".to_string()
            })?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        Ok(ModelClient {
            http,
            url,
            headers,
            credential: config.credential.clone(),
            request_max_retries: config.provider.request_max_retries,
            idle_timeout: config.provider.stream_idle_timeout,
        })
    }

    /// Open (TCP, TLS, HTTP/2 where offered) a pooled connection to the model
    /// endpoint while other startup work runs, so the first real request does
    /// not pay the handshake. It sends one `HEAD` to the base URL without
    /// credentials; its answer is ignored and failures are only logged.
    pub async fn warm_up(&self) {
        let base = self
            .url
            .split_once("/responses")
            .map_or(self.url.as_str(), |(base, _)| base);
        match tokio::time::timeout(self.idle_timeout, self.http.head(base).send()).await {
            Ok(Ok(response)) => {
                tracing::debug!(status = %response.status(), "model endpoint warmed up")
            }
            Ok(Err(err)) => tracing::debug!(error = %error_chain(&err), "warm-up request failed"),
            Err(_) => tracing::debug!("warm-up request timed out"),
        }
    }

    /// Open a stream for `body`, retrying 5xx and transport errors up to
    /// `request_max_retries` times. Cancel by dropping the future.
    pub async fn open(&self, body: Bytes) -> Result<ResponseStream, ModelError> {
        let response = self.send(&self.url, None, body).await?;
        Ok(self.stream_from(response))
    }

    /// `POST {base_url}/responses/compact` (SPEC §20, remote procedure): the
    /// compacted history the provider returns (`{"output": [items]}`, and its
    /// `usage` if it reports one), with the request-level retries of
    /// [`ModelClient::open`]. A body that cannot be read is a retryable stream
    /// error; one that is not that shape is fatal.
    pub async fn compact(&self, body: Bytes) -> Result<CompactedHistory, ModelError> {
        /// The answer of the compaction endpoint.
        #[derive(serde::Deserialize)]
        struct Compacted {
            output: Vec<Box<RawValue>>,
            #[serde(default)]
            usage: Value,
        }
        let url = match self.url.split_once('?') {
            Some((path, query)) => format!("{path}{COMPACT_SUFFIX}?{query}"),
            None => format!("{}{COMPACT_SUFFIX}", self.url),
        };
        let json = HeaderValue::from_static("application/json");
        let response = self.send(&url, Some(json), body).await?;
        let bytes = response.bytes().await.map_err(|err| {
            tracing::debug!(error = %error_chain(&err), "compaction answer failed mid-body");
            stream_error(STREAM_CLOSED_MESSAGE)
        })?;
        serde_json::from_slice::<Compacted>(&bytes)
            .map(|compacted| CompactedHistory {
                output: compacted.output,
                usage: sse::parse_usage(&compacted.usage),
            })
            .map_err(|err| ModelError::Fatal(format!("unexpected answer from `{url}`: {err}")))
    }

    /// POST `body` to `url` (with `accept` instead of the SSE default when
    /// given) until a 2xx answer, retrying 5xx and transport errors.
    async fn send(
        &self,
        url: &str,
        accept: Option<HeaderValue>,
        body: Bytes,
    ) -> Result<Response, ModelError> {
        if let Credential::MissingEnvKey(message) = &self.credential {
            return Err(ModelError::MissingCredential(message.clone()));
        }
        let mut headers = self.headers.clone();
        if let Some(accept) = accept {
            headers.insert(reqwest::header::ACCEPT, accept);
        }
        let mut attempt: u64 = 0;
        loop {
            let request = self
                .http
                .post(url)
                .headers(headers.clone())
                .body(body.clone())
                .send();
            let sent = tokio::time::timeout(self.idle_timeout, request).await;
            let retries_left = attempt < self.request_max_retries;
            attempt += 1;
            let sent = match sent {
                Ok(sent) => sent,
                Err(_) => {
                    let text = HEADERS_TIMEOUT_MESSAGE;
                    tracing::debug!(attempt, "{text}");
                    if !retries_left {
                        return Err(ModelError::RetryLimit(text.to_string()));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            };
            match sent {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) if response.status().is_server_error() => {
                    let status = response.status();
                    let delay = retry_after(response.headers());
                    tracing::debug!(%status, attempt, "server error from model endpoint");
                    if !retries_left {
                        return Err(ModelError::RetryLimit(
                            if status == StatusCode::INTERNAL_SERVER_ERROR {
                                HIGH_DEMAND_MESSAGE.to_string()
                            } else {
                                format!(
                                    "exceeded retry limit, last status: {}",
                                    status_text(status)
                                )
                            },
                        ));
                    }
                    tokio::time::sleep(delay.unwrap_or_else(|| backoff(attempt))).await;
                }
                Ok(response) => return Err(self.classify_status(response).await),
                Err(err) if err.is_builder() => {
                    // A malformed URL or header never gets better by retrying.
                    return Err(ModelError::Fatal(format!(
                        "invalid model request to `{url}`: {}",
                        error_chain(&err)
                    )));
                }
                Err(err) => {
                    let text = error_chain(&err);
                    tracing::debug!(error = %text, attempt, "transport error");
                    if !retries_left {
                        return Err(ModelError::RetryLimit(text));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }

    fn stream_from(&self, response: Response) -> ResponseStream {
        let served_model = response
            .headers()
            .get("openai-model")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let rate_limits = rate_limits::parse(response.headers());
        let body: BoxStream<'static, reqwest::Result<Bytes>> = response.bytes_stream().boxed();
        ResponseStream {
            body,
            pending: Bytes::new(),
            decoder: SseDecoder::default(),
            idle: IdleWatch::new(self.idle_timeout),
            served_model,
            rate_limits,
        }
    }

    async fn classify_status(&self, response: Response) -> ModelError {
        let status = response.status();
        let delay = retry_after(response.headers());
        // A body that never comes must not hang the run: whatever arrived in
        // time is what the message shows.
        let body = tokio::time::timeout(self.idle_timeout, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let parsed: Option<Value> = serde_json::from_str(&body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.pointer(&format!("/error/{name}")))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        // The API refuses an input larger than the window with this code (a
        // `response.failed` says the same once the stream is open): the turn
        // compacts and retries (SPEC §20).
        if field("code").as_deref() == Some("context_length_exceeded") {
            return ModelError::ContextWindowExceeded;
        }
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                if field("code").as_deref() == Some("insufficient_quota") {
                    return ModelError::QuotaExceeded;
                }
                match field("type").as_deref() {
                    Some("usage_limit_reached") => {
                        return ModelError::Fatal(
                            "You've hit your usage limit. Try again later.".to_string(),
                        )
                    }
                    Some("usage_not_included") => {
                        return ModelError::Fatal(
                            "Your plan does not include Codex usage.".to_string(),
                        )
                    }
                    _ => {}
                }
                ModelError::RetryableStatus {
                    message: format!("exceeded retry limit, last status: {}", status_text(status)),
                    delay,
                }
            }
            StatusCode::UNAUTHORIZED => ModelError::RetryableStatus {
                message: format!(
                    "unexpected status {}: {}, url: {}",
                    status_text(status),
                    field("message").unwrap_or_else(|| body.trim().to_string()),
                    self.url
                ),
                delay,
            },
            // As the reference words them; not retried (they never get better).
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => ModelError::Fatal(format!(
                "unexpected status {}: {}, url: {}",
                status_text(status),
                field("message").unwrap_or_else(|| body.trim().to_string()),
                self.url
            )),
            _ if body.trim().is_empty() => {
                ModelError::Fatal(format!("unexpected status {}", status_text(status)))
            }
            _ => ModelError::Fatal(body.trim().to_string()),
        }
    }
}

impl ResponseStream {
    /// The next meaningful event; `Ok(None)` at a clean end of stream.
    pub async fn next_event(&mut self) -> Result<Option<ResponseEvent>, ModelError> {
        loop {
            // Events already received need no timer; only a stream that has to
            // wait for the network looks at the idle watch.
            let mut input: &[u8] = &self.pending;
            let decoded = self.decoder.decode(&mut input);
            let consumed = self.pending.len() - input.len();
            self.pending.advance(consumed);
            match decoded {
                Ok(Some(data)) => {
                    // Events, not bytes, keep a stream alive: a server that
                    // trickles a line without ever ending an event times out.
                    self.idle.progress();
                    match parse_data(data) {
                        Some(event) => return Ok(Some(event)),
                        None => continue,
                    }
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::debug!(error = %err, "undecodable event stream");
                    return Err(stream_error(&err.to_string()));
                }
            }
            let next = match self.body.next().now_or_never() {
                Some(next) => next,
                None => loop {
                    tokio::select! {
                        biased;
                        next = self.body.next() => break next,
                        () = self.idle.tick() => {
                            if self.idle.timed_out() {
                                return Err(stream_error("idle timeout waiting for SSE"));
                            }
                        }
                    }
                },
            };
            match next {
                None => return Ok(None),
                Some(Err(err)) => {
                    // A body cut mid-stream reads, like a clean early EOF, as a
                    // stream that closed before completing (what the reference says).
                    tracing::debug!(error = %err, "response body failed mid-stream");
                    return Err(stream_error(STREAM_CLOSED_MESSAGE));
                }
                Some(Ok(bytes)) => self.pending = bytes,
            }
        }
    }
}

/// The event of one SSE `data` payload; `None` for payloads that are skipped
/// (ignored kinds, and payloads that do not parse, logged at debug level).
fn parse_data(data: String) -> Option<ResponseEvent> {
    // The payload moves into the parser; its head is kept for the log only
    // when debug logging is on.
    let head = tracing::enabled!(tracing::Level::DEBUG)
        .then(|| prefix_at_boundary(&data, LOGGED_PAYLOAD_BYTES).to_string());
    match sse::parse_event(data) {
        Some(ResponseEvent::Ignored) => None,
        Some(parsed) => Some(parsed),
        None => {
            tracing::debug!(
                payload = head.as_deref().unwrap_or_default(),
                "skipping an unparseable SSE payload"
            );
            None
        }
    }
}

/// Fails a stream that has sent nothing for its idle timeout, without reading
/// the clock for every event: a timer ticks every quarter of the timeout and the
/// stream fails at the fifth tick in a row without an event. The first of those
/// ticks can come right after the event, so the stream fails between 1 and
/// 1.25 times the timeout after its last event.
struct IdleWatch {
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    period: Duration,
    quiet_ticks: u32,
}

/// How much of an unparseable SSE payload a debug log line shows.
const LOGGED_PAYLOAD_BYTES: usize = 200;

/// Ticks per idle timeout.
const IDLE_QUIET_TICKS: u32 = 4;

impl IdleWatch {
    fn new(timeout: Duration) -> IdleWatch {
        let period = timeout / IDLE_QUIET_TICKS;
        IdleWatch {
            timer: Box::pin(tokio::time::sleep(period)),
            period,
            quiet_ticks: 0,
        }
    }

    /// The next tick (re-armed by `timed_out`).
    async fn tick(&mut self) {
        self.timer.as_mut().await;
    }

    /// Count a tick and re-arm the timer; whether the stream is now idle.
    fn timed_out(&mut self) -> bool {
        self.quiet_ticks += 1;
        let next = tokio::time::Instant::now() + self.period;
        self.timer.as_mut().reset(next);
        self.quiet_ticks > IDLE_QUIET_TICKS
    }

    /// An event arrived.
    fn progress(&mut self) {
        self.quiet_ticks = 0;
    }
}

/// What follows `/responses` in the path of the compaction endpoint.
const COMPACT_SUFFIX: &str = "/compact";

/// Transport error text of a server that sent no response headers within the
/// idle timeout.
pub const HEADERS_TIMEOUT_MESSAGE: &str = "idle timeout waiting for the response headers";

/// Detail of a stream that ended before `response.completed`.
pub const STREAM_CLOSED_MESSAGE: &str = "stream closed before response.completed";

/// A retryable stream error with this detail.
pub fn stream_error(message: &str) -> ModelError {
    ModelError::Stream {
        message: message.to_string(),
        delay: None,
    }
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let seconds = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

fn error_chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `User-Agent` of SPEC §3.2: `<originator>/<version> (<os> <os version>; <arch>) <terminal> (codex_exec; <version>)`.
fn user_agent(originator: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let (os, os_version) = os_release();
    let terminal = std::env::var("TERM_PROGRAM")
        .ok()
        .or_else(|| std::env::var("TERM").ok())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    let terminal: String = terminal
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    format!(
        "{originator}/{version} ({os} {os_version}; {}) {terminal} (codex_exec; {version})",
        std::env::consts::ARCH
    )
}

fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let get = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .map(|v| v.trim_matches('"').to_string())
    };
    let name = get("NAME").unwrap_or_else(|| "Linux".to_string());
    let name = name
        .split_whitespace()
        .next()
        .unwrap_or("Linux")
        .to_string();
    (name, get("VERSION_ID").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How long after its last event a stream is declared idle, in ms, when
    /// that event came `event_at` after the watch started.
    async fn idle_after(timeout: Duration, event_at: Duration) -> u128 {
        let mut watch = IdleWatch::new(timeout);
        tokio::time::sleep(event_at).await;
        watch.progress();
        let last_event = tokio::time::Instant::now();
        loop {
            watch.tick().await;
            if watch.timed_out() {
                return last_event.elapsed().as_millis();
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timeout_is_never_early_and_at_most_a_quarter_late() {
        let timeout = Duration::from_millis(1000);
        for event_at in [0, 1, 240, 249, 250, 251, 499, 730] {
            let idle = idle_after(timeout, Duration::from_millis(event_at)).await;
            assert!(
                (1000..=1250).contains(&idle),
                "event at {event_at} ms: idle after {idle} ms"
            );
        }
    }
}
