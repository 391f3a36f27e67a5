//! Errors of one model request, with their retry semantics (SPEC §7.7–7.8).

use std::time::Duration;

/// Text shown when 5xx responses exhaust the request retries.
pub const HIGH_DEMAND_MESSAGE: &str =
    "We\u{2019}re currently experiencing high demand, which may cause temporary errors.";
/// Text of a `context_length_exceeded` failure.
pub const CONTEXT_WINDOW_MESSAGE: &str = "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.";
/// Text of an `insufficient_quota` failure.
pub const QUOTA_MESSAGE: &str = "Quota exceeded. Check your plan and billing details.";

/// A failed model request. The `Display` text is what `turn.failed` carries.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ModelError {
    /// Retryable (stream level): the stream broke, idled, or the server asked for a retry.
    #[error("stream disconnected before completion: {message}")]
    Stream {
        message: String,
        delay: Option<Duration>,
    },
    /// Retryable (stream level): request-level retries ran out.
    #[error("{0}")]
    RetryLimit(String),
    /// Retryable (stream level): a status that the request loop does not retry
    /// itself (401, plain 429); carries the server's `Retry-After` if any.
    #[error("{message}")]
    RetryableStatus {
        message: String,
        delay: Option<Duration>,
    },
    /// Fatal: a non-retryable HTTP status; the text is the server's body.
    #[error("{0}")]
    Fatal(String),
    /// Fatal: the context window is exhausted.
    #[error("{CONTEXT_WINDOW_MESSAGE}")]
    ContextWindowExceeded,
    /// Fatal: no quota left.
    #[error("{QUOTA_MESSAGE}")]
    QuotaExceeded,
    /// Fatal: the response was cut short by the server.
    #[error("Incomplete response returned, reason: {0}")]
    Incomplete(String),
    /// Fatal: the provider's API key variable is unset.
    #[error("{0}")]
    MissingCredential(String),
}

impl ModelError {
    /// Whether the stream-level loop may try again, and after how long the
    /// server asked it to wait (if it said).
    pub fn retry_hint(&self) -> Option<Option<Duration>> {
        match self {
            ModelError::Stream { delay, .. } | ModelError::RetryableStatus { delay, .. } => {
                Some(*delay)
            }
            ModelError::RetryLimit(_) => Some(None),
            ModelError::Fatal(_)
            | ModelError::ContextWindowExceeded
            | ModelError::QuotaExceeded
            | ModelError::Incomplete(_)
            | ModelError::MissingCredential(_) => None,
        }
    }
}

/// Exponential backoff: 200 ms × 2^(attempt−1), with ±10 % jitter.
pub fn backoff(attempt: u64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16) as i32;
    let base_ms = 200.0 * 2f64.powi(exponent);
    let jitter = rand::random::<f64>() * 0.2 + 0.9;
    Duration::from_secs_f64(base_ms * jitter / 1000.0)
}
