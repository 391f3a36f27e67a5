//! The resolved sandbox policy and its human / model-facing renderings.

use std::path::{Path, PathBuf};

/// What model-run commands may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxPolicy {
    /// Read everywhere; write only `/dev/null`; no network.
    ReadOnly,
    /// Read everywhere; write under the cwd, `writable_roots`, `/tmp` and `$TMPDIR`.
    WorkspaceWrite {
        /// Extra roots from `--add-dir` and `sandbox_workspace_write.writable_roots`.
        writable_roots: Vec<PathBuf>,
        /// Whether outbound network is allowed.
        network_access: bool,
        /// Leave `$TMPDIR` out of the writable roots.
        exclude_tmpdir_env_var: bool,
        /// Leave `/tmp` out of the writable roots.
        exclude_slash_tmp: bool,
    },
    /// No restrictions.
    DangerFullAccess,
}

impl SandboxPolicy {
    /// The mode name as used in config and on the wire.
    pub fn mode_name(&self) -> &'static str {
        match self {
            SandboxPolicy::ReadOnly => "read-only",
            SandboxPolicy::WorkspaceWrite { .. } => "workspace-write",
            SandboxPolicy::DangerFullAccess => "danger-full-access",
        }
    }

    /// Whether commands may use the network.
    pub fn has_network_access(&self) -> bool {
        match self {
            SandboxPolicy::ReadOnly => false,
            SandboxPolicy::WorkspaceWrite { network_access, .. } => *network_access,
            SandboxPolicy::DangerFullAccess => true,
        }
    }

    /// Every writable root in order: extra roots, the cwd, `/tmp`, `$TMPDIR`.
    pub fn writable_roots(&self, cwd: &Path) -> Vec<PathBuf> {
        let SandboxPolicy::WorkspaceWrite {
            writable_roots,
            exclude_tmpdir_env_var,
            exclude_slash_tmp,
            ..
        } = self
        else {
            return Vec::new();
        };
        let mut roots = writable_roots.clone();
        roots.push(cwd.to_path_buf());
        if !exclude_slash_tmp && Path::new("/tmp").is_dir() {
            roots.push(PathBuf::from("/tmp"));
        }
        if !exclude_tmpdir_env_var {
            if let Some(tmpdir) = std::env::var_os("TMPDIR").filter(|v| !v.is_empty()) {
                roots.push(PathBuf::from(tmpdir));
            }
        }
        roots
    }

    /// The header rendering of SPEC §5.2, e.g.
    /// `workspace-write [workdir, /tmp, $TMPDIR] (network access enabled)`.
    pub fn summary(&self) -> String {
        match self {
            SandboxPolicy::ReadOnly | SandboxPolicy::DangerFullAccess => {
                self.mode_name().to_string()
            }
            SandboxPolicy::WorkspaceWrite {
                writable_roots,
                network_access,
                exclude_tmpdir_env_var,
                exclude_slash_tmp,
            } => {
                let mut parts = vec!["workdir".to_string()];
                if !exclude_slash_tmp {
                    parts.push("/tmp".to_string());
                }
                if !exclude_tmpdir_env_var {
                    parts.push("$TMPDIR".to_string());
                }
                parts.extend(writable_roots.iter().map(|p| p.display().to_string()));
                let mut text = format!("workspace-write [{}]", parts.join(", "));
                if *network_access {
                    text.push_str(" (network access enabled)");
                }
                text
            }
        }
    }
}
