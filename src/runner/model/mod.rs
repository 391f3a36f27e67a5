//! Everything about talking to the model: catalogue, request body, HTTP client,
//! SSE payload parsing, rate-limit headers and the error taxonomy.

pub mod catalog;
pub mod client;
pub mod error;
pub mod output_item;
pub mod rate_limits;
pub mod request;
pub mod sse;
pub mod sse_framer;

pub use client::ModelClient;
pub use error::ModelError;
pub use request::RequestTemplate;
pub use sse::ResponseEvent;
