//! A tiny blocking HTTP/1.1 client for the tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One response as read off the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The de-chunked body.
    pub body: Vec<u8>,
    /// Chunk payloads in order (chunked responses only).
    pub chunks: Vec<Vec<u8>>,
    /// Whether the chunked terminator `0\r\n\r\n` was seen.
    pub terminated: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// A keep-alive connection to the mock server.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        Client {
            reader: BufReader::new(stream),
            writer,
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// Sends a request with a Content-Length body.
    pub fn send(&mut self, method: &str, path: &str, extra_headers: &[(&str, &str)], body: &str) {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in extra_headers {
            req.push_str(&format!("{name}: {value}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.send_raw(req.as_bytes());
    }

    pub fn post(&mut self, path: &str, body: &str) -> Response {
        self.send("POST", path, &[("Content-Type", "application/json")], body);
        self.read_response()
    }

    fn line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line).unwrap_or(0);
        if n == 0 || !line.ends_with(b"\r\n") {
            return None;
        }
        line.truncate(line.len() - 2);
        Some(String::from_utf8(line).unwrap())
    }

    /// Reads one response; a chunked body may end early when the server closes.
    pub fn read_response(&mut self) -> Response {
        let status_line = self.line().expect("status line");
        let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let line = self.line().expect("header line");
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
            chunks: Vec::new(),
            terminated: false,
        };
        if response.header("transfer-encoding") == Some("chunked") {
            while let Some(size_line) = self.line() {
                let size = usize::from_str_radix(size_line.trim(), 16).unwrap();
                if size == 0 {
                    assert_eq!(self.line().as_deref(), Some(""));
                    response.terminated = true;
                    break;
                }
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                assert!(chunk.ends_with(b"\r\n"), "chunk must end with CRLF");
                chunk.truncate(size);
                response.body.extend_from_slice(&chunk);
                response.chunks.push(chunk);
            }
        } else if let Some(len) = response.header("content-length") {
            let mut body = vec![0; len.parse().unwrap()];
            self.reader.read_exact(&mut body).unwrap();
            response.body = body;
        }
        response
    }

    /// Whether the server has closed the connection (reads EOF).
    pub fn at_eof(&mut self) -> bool {
        let mut rest = Vec::new();
        matches!(self.reader.read_to_end(&mut rest), Ok(0))
    }

    /// Sets the read timeout of the underlying socket.
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .unwrap();
    }

    /// Reads whatever arrives next: empty on EOF, `Err` on timeout.
    pub fn read_chunk(&mut self) -> std::io::Result<Vec<u8>> {
        let mut buf = [0u8; 4096];
        let n = self.reader.read(&mut buf)?;
        Ok(buf[..n].to_vec())
    }
}
