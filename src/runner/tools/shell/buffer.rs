//! A bounded byte buffer that keeps the head and the tail of a stream, so a
//! runaway command cannot exhaust memory while the start and the end of its
//! output (usually the interesting parts) survive.

/// Keeps the first `cap / 2` and the last `cap / 2` bytes pushed into it.
/// The tail is a ring filled with slice copies, so even a debug build keeps
/// up with a command that prints tens of megabytes.
#[derive(Debug)]
pub struct HeadTail {
    head: Vec<u8>,
    head_cap: usize,
    /// Ring of the most recent bytes; once full, `ring_start` is the oldest.
    ring: Vec<u8>,
    ring_start: usize,
    tail_cap: usize,
    /// Bytes dropped between head and tail.
    omitted: u64,
}

impl HeadTail {
    /// A buffer holding at most `cap` bytes.
    pub fn new(cap: usize) -> HeadTail {
        let head_cap = cap / 2;
        HeadTail {
            head: Vec::new(),
            head_cap,
            ring: Vec::new(),
            ring_start: 0,
            tail_cap: cap - head_cap,
            omitted: 0,
        }
    }

    /// Append `bytes`.
    pub fn push(&mut self, mut bytes: &[u8]) {
        let room = self.head_cap.saturating_sub(self.head.len());
        if room > 0 {
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.head.extend_from_slice(now);
            bytes = rest;
        }
        if bytes.is_empty() || self.tail_cap == 0 {
            self.omitted += bytes.len() as u64;
            return;
        }
        // Only the last `tail_cap` bytes of this push can survive.
        if bytes.len() > self.tail_cap {
            let skip = bytes.len() - self.tail_cap;
            self.omitted += skip as u64;
            bytes = &bytes[skip..];
        }
        let free = self.tail_cap - self.ring.len();
        if free > 0 {
            let (now, rest) = bytes.split_at(free.min(bytes.len()));
            self.ring.extend_from_slice(now);
            bytes = rest;
        }
        // The ring is full: overwrite the oldest bytes, wrapping at most once.
        while !bytes.is_empty() {
            let n = bytes.len().min(self.tail_cap - self.ring_start);
            self.ring[self.ring_start..self.ring_start + n].copy_from_slice(&bytes[..n]);
            self.omitted += n as u64;
            self.ring_start = (self.ring_start + n) % self.tail_cap;
            bytes = &bytes[n..];
        }
    }

    /// Every byte ever pushed.
    pub fn total_len(&self) -> u64 {
        (self.head.len() + self.ring.len()) as u64 + self.omitted
    }

    /// The kept text, with a marker where bytes were dropped. Invalid UTF-8
    /// (including a character cut at the gap) becomes U+FFFD.
    pub fn to_text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.omitted > 0 {
            text.push_str(&format!(
                "\n[... {} bytes of output omitted ...]\n",
                self.omitted
            ));
        }
        let (newer, older) = self.ring.split_at(self.ring_start);
        let mut tail = Vec::with_capacity(self.ring.len());
        tail.extend_from_slice(older);
        tail.extend_from_slice(newer);
        text.push_str(&String::from_utf8_lossy(&tail));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_streams_are_kept_whole() {
        let mut buf = HeadTail::new(16);
        buf.push(b"hello ");
        buf.push(b"world");
        assert_eq!(buf.to_text(), "hello world");
        assert_eq!(buf.total_len(), 11);
    }

    #[test]
    fn large_streams_keep_head_and_tail() {
        let mut buf = HeadTail::new(8);
        for chunk in [&b"abcdef"[..], b"ghijkl", b"mn"] {
            buf.push(chunk);
        }
        assert_eq!(buf.total_len(), 14);
        assert_eq!(
            buf.to_text(),
            "abcd\n[... 6 bytes of output omitted ...]\nklmn"
        );
        buf.push(b"0123456789");
        assert_eq!(
            buf.to_text(),
            "abcd\n[... 16 bytes of output omitted ...]\n6789"
        );
        buf.push(b"x");
        assert_eq!(
            buf.to_text(),
            "abcd\n[... 17 bytes of output omitted ...]\n789x"
        );
    }

    #[test]
    fn ring_matches_a_naive_model() {
        let data: Vec<u8> = (0..5000u32).map(|n| (n % 251) as u8).collect();
        for chunk in [1, 3, 7, 64, 700] {
            let mut buf = HeadTail::new(100);
            for piece in data.chunks(chunk) {
                buf.push(piece);
            }
            assert_eq!(buf.total_len(), 5000);
            let mut expected = String::from_utf8_lossy(&data[..50]).into_owned();
            expected.push_str("\n[... 4900 bytes of output omitted ...]\n");
            expected.push_str(&String::from_utf8_lossy(&data[4950..]));
            assert_eq!(buf.to_text(), expected, "chunk {chunk}");
        }
    }
}
