//! What a review looks at (SPEC §1.4, §21) and the user message that asks for
//! it: git facts are resolved here, before any model request, so a bad branch
//! or commit fails the run at once; the diff itself is left to the model.

use std::path::Path;

use super::git::{Git, GitError};
use super::ReviewError;
use crate::cli::ReviewArgs;

/// Length of the abbreviated commit id shown in the hint.
const SHORT_SHA_CHARS: usize = 7;
/// How every built-in request ends.
const FINDINGS_ASK: &str = "Give prioritized, actionable findings.";

/// The one thing a review is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewTarget {
    /// Staged, unstaged and untracked changes (`--uncommitted`).
    Uncommitted,
    /// The current branch against a base branch (`--base`).
    Base { branch: String },
    /// One commit (`--commit`, optionally `--title`).
    Commit { rev: String, title: Option<String> },
    /// Custom instructions, trimmed (the positional prompt or stdin).
    Custom { instructions: String },
}

/// The review as it is sent and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRequest {
    /// The user message sent to the model.
    pub prompt: String,
    /// What the human transcript shows as the `user` block (SPEC §5.2).
    pub hint: String,
}

impl ReviewTarget {
    /// The target named by `args`; `instructions` is the custom prompt already
    /// read (argument, `-` or stdin) when `args` has one.
    pub fn new(args: &ReviewArgs, instructions: Option<&str>) -> Result<ReviewTarget, ReviewError> {
        if args.uncommitted {
            return Ok(ReviewTarget::Uncommitted);
        }
        if let Some(branch) = &args.base {
            return Ok(ReviewTarget::Base {
                branch: branch.clone(),
            });
        }
        if let Some(rev) = &args.commit {
            return Ok(ReviewTarget::Commit {
                rev: rev.clone(),
                title: args.title.clone().filter(|t| !t.trim().is_empty()),
            });
        }
        match instructions {
            Some(text) if text.trim().is_empty() => Err(ReviewError::EmptyPrompt),
            Some(text) => Ok(ReviewTarget::Custom {
                instructions: text.trim().to_string(),
            }),
            None => Err(ReviewError::NoTarget),
        }
    }

    /// The command-line flag of the target, for messages.
    fn flag(&self) -> &'static str {
        match self {
            ReviewTarget::Uncommitted => "--uncommitted",
            ReviewTarget::Base { .. } => "--base",
            ReviewTarget::Commit { .. } => "--commit",
            ReviewTarget::Custom { .. } => "",
        }
    }

    /// Resolve the git facts in `cwd` and phrase the request. Custom
    /// instructions need no repository.
    pub fn request(&self, cwd: &Path) -> Result<ReviewRequest, ReviewError> {
        let git = Git::new(cwd);
        if !matches!(self, ReviewTarget::Custom { .. }) {
            git.run(&["rev-parse", "--show-toplevel"])
                .map_err(|err| match err {
                    GitError::Failed { summary, .. } => ReviewError::NotARepository {
                        flag: self.flag(),
                        cwd: cwd.to_path_buf(),
                        summary,
                    },
                    other @ (GitError::Spawn(_) | GitError::Timeout { .. }) => other.into(),
                })?;
        }
        match self {
            ReviewTarget::Uncommitted => Ok(ReviewRequest {
                prompt: format!(
                    "Review the uncommitted changes in this repository: what is staged, what is \
                     modified but not staged, and the untracked files. `git status`, \
                     `git diff --staged` and `git diff` show them; read untracked files \
                     directly. {FINDINGS_ASK}"
                ),
                hint: "current changes".to_string(),
            }),
            ReviewTarget::Base { branch } => {
                let base = merge_base(&git, branch)?;
                let against = match &base.upstream {
                    Some(upstream) => format!(
                        "`{upstream}` (the upstream of '{branch}', which has commits the local \
                         branch lacks)"
                    ),
                    None => format!("'{branch}'"),
                };
                let sha = &base.sha;
                Ok(ReviewRequest {
                    prompt: format!(
                        "Review the changes of the current branch against the base branch \
                         '{branch}'. The merge base of HEAD and {against} is commit {sha}: run \
                         `git diff {sha}` to see everything this branch, uncommitted work \
                         included, would bring into '{branch}'. {FINDINGS_ASK}"
                    ),
                    hint: format!("changes against '{branch}'"),
                })
            }
            ReviewTarget::Commit { rev, title } => {
                let sha = verify(&git, rev).map_err(|err| match err {
                    GitError::Failed { summary, .. } => ReviewError::UnknownCommit {
                        rev: rev.clone(),
                        summary,
                    },
                    other @ (GitError::Spawn(_) | GitError::Timeout { .. }) => other.into(),
                })?;
                let short: String = sha.chars().take(SHORT_SHA_CHARS).collect();
                let (quoted, hint) = match title {
                    Some(title) => (
                        format!(" (\"{title}\")"),
                        format!("commit {short}: {title}"),
                    ),
                    None => (String::new(), format!("commit {short}")),
                };
                Ok(ReviewRequest {
                    prompt: format!(
                        "Review the changes introduced by commit {sha}{quoted}. `git show {sha}` \
                         shows them. {FINDINGS_ASK}"
                    ),
                    hint,
                })
            }
            ReviewTarget::Custom { instructions } => Ok(ReviewRequest {
                prompt: instructions.clone(),
                hint: instructions.clone(),
            }),
        }
    }
}

/// The merge base of `--base` and where it comes from.
#[derive(Debug)]
struct MergeBase {
    sha: String,
    /// The upstream compared against instead of the branch itself.
    upstream: Option<String>,
}

/// The merge base of HEAD and `branch`, or of HEAD and the branch's upstream
/// when that upstream has commits the local branch lacks (a stale local
/// `main`); a branch without an upstream (`origin/main`, a local-only branch)
/// is compared as it is. This is the reference's rule.
fn merge_base(git: &Git<'_>, branch: &str) -> Result<MergeBase, ReviewError> {
    let branch_sha = verify(git, branch).map_err(|err| match err {
        GitError::Failed { summary, .. } => ReviewError::UnknownBranch {
            branch: branch.to_string(),
            summary,
        },
        other @ (GitError::Spawn(_) | GitError::Timeout { .. }) => other.into(),
    })?;
    let head = verify(git, "HEAD").map_err(|err| match err {
        GitError::Failed { .. } => ReviewError::NoCommits {
            branch: branch.to_string(),
        },
        other @ (GitError::Spawn(_) | GitError::Timeout { .. }) => other.into(),
    })?;
    let upstream = upstream_ahead(git, branch)?;
    let compared = match &upstream {
        Some(name) => verify(git, name)?,
        None => branch_sha,
    };
    match git.run(&["merge-base", &head, &compared]) {
        Ok(sha) if !sha.is_empty() => Ok(MergeBase { sha, upstream }),
        // `git merge-base` exits 1, silently, when there is no common ancestor.
        Ok(_) | Err(GitError::Failed { code: Some(1), .. }) => Err(ReviewError::NoMergeBase {
            against: upstream.unwrap_or_else(|| branch.to_string()),
        }),
        Err(err) => Err(err.into()),
    }
}

/// The upstream of `branch` when it has commits `branch` lacks; `None` when
/// there is no upstream or it is not ahead.
fn upstream_ahead(git: &Git<'_>, branch: &str) -> Result<Option<String>, GitError> {
    let query = format!("{branch}@{{upstream}}");
    let upstream = match git.run(&["rev-parse", "--abbrev-ref", "--symbolic-full-name", &query]) {
        Ok(name) if !name.is_empty() => name,
        Ok(_) | Err(GitError::Failed { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    let range = format!("{branch}...{upstream}");
    let counts = match git.run(&["rev-list", "--left-right", "--count", &range]) {
        Ok(counts) => counts,
        Err(GitError::Failed { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    let upstream_only = counts
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    Ok((upstream_only > 0).then_some(upstream))
}

/// The full id of the commit `rev` names. A leading `-` is refused before git
/// sees it, so a revision is never taken for an option.
fn verify(git: &Git<'_>, rev: &str) -> Result<String, GitError> {
    if rev.starts_with('-') {
        return Err(GitError::Failed {
            command: format!("rev-parse --verify {rev}"),
            code: None,
            summary: "a revision cannot start with `-`".to_string(),
        });
    }
    git.run(&[
        "rev-parse",
        "--verify",
        "--end-of-options",
        &format!("{rev}^{{commit}}"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(uncommitted: bool, base: Option<&str>, commit: Option<&str>) -> ReviewArgs {
        ReviewArgs {
            uncommitted,
            base: base.map(str::to_string),
            commit: commit.map(str::to_string),
            title: Some("  ".to_string()),
            prompt: None,
        }
    }

    /// Each flag names its target; blank instructions or none at all fail.
    #[test]
    fn the_target_follows_the_flags() -> anyhow::Result<()> {
        let none = args(false, None, None);
        assert_eq!(
            ReviewTarget::new(&args(true, None, None), None)?,
            ReviewTarget::Uncommitted
        );
        assert_eq!(
            ReviewTarget::new(&args(false, Some("main"), None), None)?,
            ReviewTarget::Base {
                branch: "main".into()
            }
        );
        // A blank title counts as none.
        assert_eq!(
            ReviewTarget::new(&args(false, None, Some("abc")), None)?,
            ReviewTarget::Commit {
                rev: "abc".into(),
                title: None
            }
        );
        assert_eq!(
            ReviewTarget::new(&none, Some("  look at x \n"))?,
            ReviewTarget::Custom {
                instructions: "look at x".into()
            }
        );
        assert!(matches!(
            ReviewTarget::new(&none, Some(" \n")),
            Err(ReviewError::EmptyPrompt)
        ));
        assert!(matches!(
            ReviewTarget::new(&none, None),
            Err(ReviewError::NoTarget)
        ));
        Ok(())
    }

    /// Custom instructions are the prompt and hint, with no git at all.
    #[test]
    fn custom_instructions_need_no_repository() -> anyhow::Result<()> {
        let dir = std::env::temp_dir();
        let target = ReviewTarget::Custom {
            instructions: "check the docs".into(),
        };
        let request = target.request(&dir)?;
        assert_eq!(request.prompt, "check the docs");
        assert_eq!(request.hint, "check the docs");
        Ok(())
    }
}
