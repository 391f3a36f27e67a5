//! `codex exec review` (SPEC §1.4, §21): a normal agent turn with the review
//! guidelines as its instructions and a user message naming what to review.
//!
//! This module owns what makes a review different from a plain exec run: the
//! target and the git facts it needs ([`ReviewTarget`], resolved before any
//! model request), the configuration of the reviewer ([`configure`]: its
//! model, instructions, tools and `x-openai-subagent` header) and the way its
//! answer is shown ([`ReviewEvents`]). The turn itself, with its tools and
//! sandbox, is the runner's, unchanged; the exec front end wires the pieces in.

mod events;
mod git;
mod render;
mod target;

use std::path::PathBuf;

pub use events::ReviewEvents;
use git::GitError;
pub use target::{ReviewRequest, ReviewTarget};

use crate::cli::ExecArgs;
use crate::config::Config;

/// The reviewer's instructions: they replace the base instructions.
const REVIEW_GUIDELINES: &str = include_str!("guidelines.md");
/// Header that marks a reviewer's requests (SPEC §7.2).
const SUBAGENT_HEADER: &str = "x-openai-subagent";

/// Why a review cannot start. Every variant is fatal to the process (exit 1)
/// and happens before any model request; it is printed once, on one line.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// Neither a target flag nor custom instructions.
    #[error(
        "Error: Specify --uncommitted, --base, --commit, or provide custom review instructions"
    )]
    NoTarget,
    /// The custom instructions are blank.
    #[error("Error: Review prompt cannot be empty")]
    EmptyPrompt,
    /// A git target outside a repository (possible with `--skip-git-repo-check`).
    #[error(
        "Error: `codex exec review {flag}` needs a git repository, and {} is not inside one (git: {summary})",
        cwd.display()
    )]
    NotARepository {
        flag: &'static str,
        cwd: PathBuf,
        summary: String,
    },
    /// `--base` names nothing git knows.
    #[error(
        "Error: unknown branch `{branch}` for `--base` (git: {summary}); fetch it or name a \
         remote branch such as `origin/{branch}`"
    )]
    UnknownBranch { branch: String, summary: String },
    /// `--commit` names no commit.
    #[error("Error: unknown commit `{rev}` for `--commit` (git: {summary})")]
    UnknownCommit { rev: String, summary: String },
    /// HEAD is unborn (a new repository or an orphan branch): nothing to compare.
    #[error("Error: HEAD has no commit yet, so there is nothing to compare with `{branch}`")]
    NoCommits { branch: String },
    /// HEAD and the base share no history.
    #[error("Error: HEAD and `{against}` have no common ancestor, so there is no merge base to review against")]
    NoMergeBase { against: String },
    /// Git could not be run, timed out or failed unexpectedly.
    #[error("Error: {0}")]
    Git(#[from] GitError),
}

/// Make `config` the reviewer's: the model is `-m` when given, else
/// `review_model`, else the session model; the review guidelines replace the
/// base instructions; AGENTS.md, web search and `view_image` are left out, as
/// the reference's reviewer does; requests carry `x-openai-subagent: review`.
/// Flags that mean nothing to a review are named in warnings.
pub fn configure(config: &mut Config, args: &ExecArgs) {
    if args.model.is_none() {
        if let Some(model) = config.review_model.clone() {
            config.model = model;
        }
    }
    config.base_instructions = Some(REVIEW_GUIDELINES.to_string());
    config.project_doc_max_bytes = 0;
    config.web_search = false;
    config.view_image = false;
    config
        .provider
        .headers
        .push((SUBAGENT_HEADER.to_string(), "review".to_string()));
    if config.output_schema.take().is_some() {
        config.warnings.push(
            "`--output-schema` has no effect on `codex exec review`: the review answers in its \
             own format"
                .to_string(),
        );
    }
    if !args.images.is_empty() {
        config
            .warnings
            .push("`--image` has no effect on `codex exec review`".to_string());
    }
}
