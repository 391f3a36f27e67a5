//! Minimal HTTP/1.1 request reading on a blocking socket.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::request::RecordedRequest;

/// Largest accepted request head (request line + headers).
const MAX_HEAD: usize = 64 * 1024;
/// Largest accepted chunk-size or trailer line of a chunked body.
const MAX_LINE: usize = 8 * 1024;
/// Largest accepted request body.
const MAX_BODY: usize = 1 << 30;
/// How much to read from the socket at a time.
const READ_SIZE: usize = 32 * 1024;

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer went away (or the server is shutting down); nothing to answer.
    Closed,
    /// The request is malformed; answer with this status and message, then close.
    Bad(u16, &'static str),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> ReadError {
        ReadError::Closed
    }
}

/// A parsed request plus connection-level facts.
pub(crate) struct Incoming {
    pub(crate) request: RecordedRequest,
    pub(crate) keep_alive: bool,
}

/// Reads successive requests from one connection. The socket must have a read timeout
/// so that a shutdown of the server is noticed while idle.
pub(crate) struct RequestReader<'a> {
    stream: &'a TcpStream,
    shutdown: &'a AtomicBool,
    buf: Vec<u8>,
    pos: usize,
}

impl<'a> RequestReader<'a> {
    pub(crate) fn new(stream: &'a TcpStream, shutdown: &'a AtomicBool) -> RequestReader<'a> {
        RequestReader {
            stream,
            shutdown,
            buf: Vec::with_capacity(READ_SIZE),
            pos: 0,
        }
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads at least one more byte into the buffer.
    fn fill(&mut self) -> Result<(), ReadError> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos >= MAX_HEAD {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_SIZE, 0);
        let result = loop {
            match (&*self.stream).read(&mut self.buf[old..]) {
                Ok(0) => break Err(ReadError::Closed),
                Ok(n) => break Ok(n),
                Err(e) => match e.kind() {
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                        if self.shutdown.load(Ordering::SeqCst) {
                            break Err(ReadError::Closed);
                        }
                    }
                    _ => break Err(ReadError::Closed),
                },
            }
        };
        match result {
            Ok(n) => {
                self.buf.truncate(old + n);
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(old);
                Err(e)
            }
        }
    }

    /// Makes sure at least `n` unconsumed bytes are buffered.
    fn ensure(&mut self, n: usize) -> Result<(), ReadError> {
        if self.buf.len() - self.pos < n {
            self.buf.reserve(n - (self.buf.len() - self.pos));
        }
        while self.buf.len() - self.pos < n {
            self.fill()?;
        }
        Ok(())
    }

    /// Reads one CRLF-terminated line (without the CRLF).
    fn read_line(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(i) = find(self.pending(), b"\r\n") {
                let line = self.pending()[..i].to_vec();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.pending().len() > MAX_LINE {
                return Err(ReadError::Bad(400, "line too long in chunked body"));
            }
            self.fill()?;
        }
    }

    /// Reads the next request; `Ok(None)` when the peer closed cleanly between requests.
    pub(crate) fn next_request(&mut self) -> Result<Option<Incoming>, ReadError> {
        // Find the end of the head, tolerating stray CRLFs between requests.
        let head_len = loop {
            while self.pending().starts_with(b"\r\n") {
                self.pos += 2;
            }
            if let Some(i) = find(self.pending(), b"\r\n\r\n") {
                break i;
            }
            if self.pending().len() > MAX_HEAD {
                return Err(ReadError::Bad(431, "request head too large"));
            }
            let idle = self.pending().is_empty();
            match self.fill() {
                Ok(()) => {}
                Err(ReadError::Closed) if idle => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        let received_at = Instant::now();
        let head = String::from_utf8_lossy(&self.pending()[..head_len]).into_owned();
        self.pos += head_len + 4;

        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split_ascii_whitespace();
        let (Some(method), Some(path), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ReadError::Bad(400, "malformed request line"));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(ReadError::Bad(505, "only HTTP/1.x is supported"));
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return Err(ReadError::Bad(400, "malformed header line"));
            };
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(ReadError::Bad(400, "malformed header name"));
            }
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        let get = |wanted: &str| {
            headers
                .iter()
                .find(|(n, _)| n == wanted)
                .map(|(_, v)| v.as_str())
        };
        let has_token = |wanted: &str, token: &str| {
            headers
                .iter()
                .filter(|(n, _)| n == wanted)
                .flat_map(|(_, v)| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };

        let chunked = has_token("transfer-encoding", "chunked");
        let content_length = if chunked {
            None
        } else {
            match get("content-length") {
                None => None,
                Some(v) => match v.parse::<usize>() {
                    Ok(n) if n <= MAX_BODY => Some(n),
                    Ok(_) => return Err(ReadError::Bad(413, "request body too large")),
                    Err(_) => return Err(ReadError::Bad(400, "invalid content-length")),
                },
            }
        };
        let keep_alive = if version == "HTTP/1.0" {
            has_token("connection", "keep-alive")
        } else {
            !has_token("connection", "close")
        };
        let expects_body = chunked || content_length.unwrap_or(0) > 0;
        let wants_continue = get("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if wants_continue && expects_body && self.pending().is_empty() {
            (&*self.stream).write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }

        let body = if chunked {
            self.read_chunked()?
        } else if let Some(n) = content_length {
            self.ensure(n)?;
            let body = self.pending()[..n].to_vec();
            self.pos += n;
            body
        } else {
            Vec::new()
        };

        let request = RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            headers,
            body,
            received_at,
        };
        Ok(Some(Incoming {
            request,
            keep_alive,
        }))
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let line = String::from_utf8_lossy(&line);
            let size_text = line.split(';').next().unwrap_or_default().trim();
            let Ok(size) = usize::from_str_radix(size_text, 16) else {
                return Err(ReadError::Bad(400, "invalid chunk size"));
            };
            if size == 0 {
                // Trailer section, ended by an empty line.
                while !self.read_line()?.is_empty() {}
                return Ok(body);
            }
            if size > MAX_BODY || body.len() + size > MAX_BODY {
                return Err(ReadError::Bad(413, "request body too large"));
            }
            self.ensure(size + 2)?;
            let pending = self.pending();
            if &pending[size..size + 2] != b"\r\n" {
                return Err(ReadError::Bad(400, "chunk not terminated by CRLF"));
            }
            body.extend_from_slice(&pending[..size]);
            self.pos += size + 2;
        }
    }
}

/// Position of `needle` in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The reason phrase for a status code.
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}
