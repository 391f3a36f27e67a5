//! The server: shared state, accept loop and per-connection threads.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::http::{ReadError, RequestReader};
use crate::reply::Reply;
use crate::request::RecordedRequest;
use crate::response::{error_body, render_events, write_reply, write_status, After};
use crate::window::{overflow_reply, request_tokens, with_input_tokens};

/// How often blocked reads wake up to look at the shutdown flag.
const POLL: Duration = Duration::from_millis(200);
/// A client that stops reading for this long loses its connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);
/// Body of the 500 answer once the script is used up and there is no fallback.
const EXHAUSTED_BODY: &str =
    r#"{"error":{"message":"mock-responses: no scripted reply left","type":"server_error"}}"#;

type RequestHook = Box<dyn Fn(&RecordedRequest) + Send + Sync>;
type Matcher = Box<dyn Fn(&RecordedRequest) -> bool + Send + Sync>;

struct State {
    replies: VecDeque<Reply>,
    /// With [`MockServerBuilder::per_thread`]: the script still to serve to each
    /// thread (by `session_id` header).
    threads: Option<HashMap<String, VecDeque<Reply>>>,
    requests: Vec<RecordedRequest>,
    response_requests: usize,
}

impl State {
    /// The next scripted reply for `request`: from its thread's own copy of
    /// the script in per-thread mode (requests without a `session_id` use the
    /// shared one), else from the shared script.
    fn next_reply(&mut self, request: &RecordedRequest) -> Option<Reply> {
        let thread = request.header("session_id");
        match (&mut self.threads, thread) {
            (Some(threads), Some(thread)) => {
                let template = &self.replies;
                threads
                    .entry(thread.to_string())
                    .or_insert_with(|| template.clone())
                    .pop_front()
            }
            _ => self.replies.pop_front(),
        }
    }
}

struct Shared {
    state: Mutex<State>,
    arrived: Condvar,
    fallback: Option<Reply>,
    /// The fallback's event chunks, rendered once.
    fallback_chunks: Vec<Vec<u8>>,
    shutdown: AtomicBool,
    hook: Option<RequestHook>,
    /// Replies for the requests their matcher accepts, checked in order.
    routes: Vec<(Matcher, Reply)>,
    /// The modelled context window in tokens (see [`MockServerBuilder::context_window`]).
    context_window: Option<u64>,
    /// Whether usage reports the request's size (see [`MockServerBuilder::usage_from_request`]).
    usage_from_request: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Configures and starts a [`MockServer`]; see [`MockServer::builder`].
#[derive(Default)]
pub struct MockServerBuilder {
    replies: Vec<Reply>,
    fallback: Option<Reply>,
    port: u16,
    per_thread: bool,
    hook: Option<RequestHook>,
    routes: Vec<(Matcher, Reply)>,
    context_window: Option<u64>,
    usage_from_request: bool,
}

impl MockServerBuilder {
    /// Appends replies to the script.
    pub fn replies(mut self, replies: impl IntoIterator<Item = Reply>) -> MockServerBuilder {
        self.replies.extend(replies);
        self
    }

    /// Appends one reply to the script.
    pub fn reply(mut self, reply: Reply) -> MockServerBuilder {
        self.replies.push(reply);
        self
    }

    /// The reply served (repeatedly) once the script is used up.
    pub fn fallback(mut self, reply: Reply) -> MockServerBuilder {
        self.fallback = Some(reply);
        self
    }

    /// Serve the script once per thread instead of once overall: each distinct
    /// `session_id` request header (the thread id a client sends) gets its own
    /// copy of the replies, in order, then the fallback. Concurrent clients then
    /// each see the whole conversation. Requests without the header share the
    /// script as usual, which is then never consumed by threads (so
    /// [`MockServer::pending_replies`] counts only those).
    pub fn per_thread(mut self, per_thread: bool) -> MockServerBuilder {
        self.per_thread = per_thread;
        self
    }

    /// Port to bind on 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> MockServerBuilder {
        self.port = port;
        self
    }

    /// Called on a connection thread for every request, before it is recorded and answered.
    pub fn on_request(
        mut self,
        hook: impl Fn(&RecordedRequest) + Send + Sync + 'static,
    ) -> MockServerBuilder {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Answers every model request that `matcher` accepts with `reply` (as often as it
    /// matches) instead of the next scripted reply, which stays in place. Routes are
    /// checked in the order they were added; the first that matches answers.
    pub fn route(
        mut self,
        matcher: impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static,
        reply: Reply,
    ) -> MockServerBuilder {
        self.routes.push((Box::new(matcher), reply));
        self
    }

    /// Models a context window of `tokens` tokens: a model request larger than that
    /// ([`request_tokens`](crate::request_tokens)) gets a stream that fails with
    /// `context_length_exceeded`, and consumes neither a route nor a scripted reply.
    pub fn context_window(mut self, tokens: u64) -> MockServerBuilder {
        self.context_window = Some(tokens);
        self
    }

    /// Makes every `response.completed` report the request's size as its
    /// `usage.input_tokens` ([`request_tokens`](crate::request_tokens)), as a real model
    /// would, keeping the scripted `output_tokens`.
    pub fn usage_from_request(mut self) -> MockServerBuilder {
        self.usage_from_request = true;
        self
    }

    /// Binds the socket and starts serving on a background thread.
    pub fn start(self) -> io::Result<MockServer> {
        let listener = TcpListener::bind(("127.0.0.1", self.port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                replies: self.replies.into(),
                threads: self.per_thread.then(HashMap::new),
                requests: Vec::new(),
                response_requests: 0,
            }),
            arrived: Condvar::new(),
            fallback_chunks: self
                .fallback
                .as_ref()
                .map(render_events)
                .unwrap_or_default(),
            fallback: self.fallback,
            shutdown: AtomicBool::new(false),
            hook: self.hook,
            routes: self.routes,
            context_window: self.context_window,
            usage_from_request: self.usage_from_request,
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name("mock-responses-accept".to_string())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(MockServer {
            shared,
            addr,
            accept_thread: Some(accept_thread),
        })
    }
}

/// A scripted Responses-API server on 127.0.0.1. Dropping it stops accepting connections
/// and ends idle or stalled connections (best effort).
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept_thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Binds 127.0.0.1 on a free port and serves `replies` in order, one per `POST` to
    /// any path ending in `/responses`. Once they are used up every such request gets a
    /// 500 with body
    /// `{"error":{"message":"mock-responses: no scripted reply left","type":"server_error"}}`.
    pub fn start(replies: Vec<Reply>) -> io::Result<MockServer> {
        MockServer::builder().replies(replies).start()
    }

    /// Like [`MockServer::start`], but once the script is used up `fallback` is served
    /// for every further request.
    pub fn start_with_fallback(replies: Vec<Reply>, fallback: Reply) -> io::Result<MockServer> {
        MockServer::builder()
            .replies(replies)
            .fallback(fallback)
            .start()
    }

    /// A builder for the less common options (fixed port, request hook).
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// The base URL to give a client: `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.addr.port())
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far (any method and path), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Only the model requests (`POST …/responses` and `POST …/responses/compact`), in
    /// arrival order.
    pub fn response_requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.is_responses_request())
            .cloned()
            .collect()
    }

    /// Appends `replies` to the script of the running server (for scripts that name
    /// paths only known once the server, and what it is configured into, exist).
    pub fn push_replies(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.lock().replies.extend(replies);
    }

    /// How many scripted replies have not been served yet (the fallback is not counted).
    pub fn pending_replies(&self) -> usize {
        self.shared.lock().replies.len()
    }

    /// Blocks until at least `n` `POST …/responses` requests have arrived or `timeout`
    /// passes; returns whether the count was reached.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.response_requests < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = match self.shared.arrived.wait_timeout(state, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the accept loop with a throw-away connection.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(handle) = self.accept_thread.take() {
            if woke || handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) => {
                let conn_shared = Arc::clone(&shared);
                // If the thread cannot be spawned the stream is dropped, closing it.
                let _ = thread::Builder::new()
                    .name("mock-responses-conn".to_string())
                    .spawn(move || serve_connection(stream, conn_shared));
            }
            Err(e) => {
                if !matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                ) {
                    // E.g. out of file descriptors: back off instead of spinning.
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
}

fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut reader = RequestReader::new(&stream, &shared.shutdown);
    loop {
        let incoming = match reader.next_request() {
            Ok(Some(incoming)) => incoming,
            Ok(None) | Err(ReadError::Closed) => return,
            Err(ReadError::Bad(code, message)) => {
                let body = error_body(message, "invalid_request_error");
                let _ = write_status(&stream, code, &body, &[], false);
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        };
        let keep_alive = incoming.keep_alive;
        let request = incoming.request;
        let is_responses = request.is_responses_request();
        let not_found = (!is_responses).then(|| {
            let message = format!(
                "mock-responses: no route for {} {}",
                request.method,
                request.path_only()
            );
            // A HEAD answer has no body; sending one would corrupt keep-alive.
            if request.method.eq_ignore_ascii_case("HEAD") {
                String::new()
            } else {
                error_body(&message, "not_found")
            }
        });
        if let Some(hook) = &shared.hook {
            hook(&request);
        }
        let tokens = request_tokens(&request);
        // Requests that do not fit the window, then routed ones, consume no script.
        let unscripted = if !is_responses {
            None
        } else if shared.context_window.is_some_and(|window| tokens > window) {
            Some(overflow_reply())
        } else {
            shared
                .routes
                .iter()
                .find(|(matcher, _)| matcher(&request))
                .map(|(_, reply)| reply.clone())
        };
        let scripted = {
            let mut state = shared.lock();
            let scripted = if is_responses {
                state.response_requests += 1;
                shared.arrived.notify_all();
                match unscripted {
                    Some(reply) => Some(reply),
                    None => state.next_reply(&request),
                }
            } else {
                None
            };
            state.requests.push(request);
            scripted
        };
        // Realistic usage needs the reply rendered for this request (not pre-rendered).
        let sized = shared.usage_from_request && is_responses;
        let scripted = match scripted {
            None if sized => shared.fallback.clone(),
            other => other,
        };
        let scripted = match scripted {
            Some(reply) if sized => Some(with_input_tokens(&reply, tokens).unwrap_or(reply)),
            other => other,
        };
        let result = if let Some(body) = not_found {
            write_status(&stream, 404, &body, &[], keep_alive).map(|()| After::KeepOpen)
        } else if let Some(reply) = &scripted {
            write_reply(&stream, reply, None, keep_alive, &shared.shutdown)
        } else if let Some(fallback) = &shared.fallback {
            write_reply(
                &stream,
                fallback,
                Some(&shared.fallback_chunks),
                keep_alive,
                &shared.shutdown,
            )
        } else {
            write_status(&stream, 500, EXHAUSTED_BODY, &[], keep_alive).map(|()| After::KeepOpen)
        };
        match result {
            Ok(After::KeepOpen) if keep_alive && !shared.shutdown.load(Ordering::SeqCst) => {}
            Ok(_) => {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Err(_) => return,
        }
    }
}
