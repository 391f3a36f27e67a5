//! Everything about talking to the model: catalogue, request body, HTTP client,
//! SSE payload parsing and the error taxonomy.

pub mod catalog;
pub mod client;
pub mod error;
pub mod request;
pub mod sse;

pub use client::ModelClient;
pub use error::ModelError;
pub use request::RequestTemplate;
pub use sse::ResponseEvent;
