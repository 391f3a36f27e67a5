//! The agent core: a thread that runs turns against the model and emits
//! notifications. Knows nothing about clap, stdout or terminals.

mod compact;
pub mod context;
pub mod emitter;
pub mod events;
mod history;
pub mod images;
pub mod model;
mod thread;
pub mod tools;
mod turn;

pub use thread::{AgentThread, Op, INTERRUPTED_MESSAGE};

/// Errors that stop the runner itself (not a turn failure).
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The agent task ended unexpectedly (fatal to the process).
    #[error("the agent thread stopped unexpectedly")]
    AgentDied,
}
