//! Black-box integration tests: the real `codex` binary against the local mock
//! Responses server (`mock_responses`). One binary, behaviour files under `suite/`,
//! shared helpers under `common/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod suite;
