//! The resolved sandbox policy and its human / model-facing renderings.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What model-run commands may touch.
///
/// Serialises to the policy JSON of SPEC §12.1 (`{"mode":"read-only"}`,
/// `{"mode":"workspace-write","writable_roots":[...],...}`), the form handed to the
/// sandbox helper and recorded in rollouts. Missing `workspace-write` fields default
/// to empty / `false` when read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum SandboxPolicy {
    /// Read everywhere; write only `/dev/null`; no network.
    ReadOnly,
    /// Read everywhere; write under the cwd, `writable_roots`, `/tmp` and `$TMPDIR`.
    WorkspaceWrite {
        /// Extra roots from `--add-dir` and `sandbox_workspace_write.writable_roots`.
        #[serde(default)]
        writable_roots: Vec<PathBuf>,
        /// Whether outbound network is allowed.
        #[serde(default)]
        network_access: bool,
        /// Leave `$TMPDIR` out of the writable roots.
        #[serde(default)]
        exclude_tmpdir_env_var: bool,
        /// Leave `/tmp` out of the writable roots.
        #[serde(default)]
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

/// `[sandbox] namespaces`: whether layer 2 (user, mount, pid and network
/// namespaces) wraps sandboxed commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Namespaces {
    /// Use them where the kernel allows; otherwise layer 1 alone, with one warning.
    #[default]
    Auto,
    /// Never: layer 1 alone.
    Off,
    /// Always: a command fails closed when they cannot be created.
    Required,
}

impl Namespaces {
    /// The config / command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespaces::Auto => "auto",
            Namespaces::Off => "off",
            Namespaces::Required => "required",
        }
    }
}

impl SandboxPolicy {
    /// Parse the `--policy` value of the sandbox helper: the policy JSON of SPEC §12.1,
    /// or a bare mode name (`read-only`, `workspace-write`, `danger-full-access`), which
    /// means that mode with default settings.
    pub fn parse(text: &str) -> Result<SandboxPolicy, serde_json::Error> {
        let text = text.trim();
        if text.starts_with('{') {
            serde_json::from_str(text)
        } else {
            serde_json::from_value(serde_json::json!({ "mode": text }))
        }
    }

    /// The policy JSON of SPEC §12.1.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Whether commands may write anywhere (no filesystem sandbox at all).
    pub fn has_full_disk_write_access(&self) -> bool {
        matches!(self, SandboxPolicy::DangerFullAccess)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    /// The three modes serialise to the exact JSON of SPEC §12.1.
    #[test]
    fn policy_json_matches_spec() {
        assert_eq!(
            serde_json::to_value(SandboxPolicy::ReadOnly).unwrap(),
            json!({"mode": "read-only"})
        );
        assert_eq!(
            serde_json::to_value(SandboxPolicy::DangerFullAccess).unwrap(),
            json!({"mode": "danger-full-access"})
        );
        let policy = SandboxPolicy::WorkspaceWrite {
            writable_roots: vec![PathBuf::from("/abs")],
            network_access: false,
            exclude_tmpdir_env_var: false,
            exclude_slash_tmp: true,
        };
        assert_eq!(
            policy.to_json().unwrap(),
            r#"{"mode":"workspace-write","writable_roots":["/abs"],"network_access":false,"exclude_tmpdir_env_var":false,"exclude_slash_tmp":true}"#
        );
    }

    /// Every policy survives a JSON round trip unchanged.
    #[test]
    fn policy_json_round_trips() {
        for policy in [
            SandboxPolicy::ReadOnly,
            SandboxPolicy::DangerFullAccess,
            SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![PathBuf::from("/a"), PathBuf::from("/b c")],
                network_access: true,
                exclude_tmpdir_env_var: true,
                exclude_slash_tmp: false,
            },
        ] {
            let text = policy.to_json().unwrap();
            assert_eq!(SandboxPolicy::parse(&text).unwrap(), policy);
        }
    }

    /// The helper accepts bare mode names and partial workspace-write JSON.
    #[test]
    fn parse_accepts_mode_names_and_defaults() {
        assert_eq!(
            SandboxPolicy::parse("read-only").unwrap(),
            SandboxPolicy::ReadOnly
        );
        let defaults = SandboxPolicy::WorkspaceWrite {
            writable_roots: Vec::new(),
            network_access: false,
            exclude_tmpdir_env_var: false,
            exclude_slash_tmp: false,
        };
        assert_eq!(SandboxPolicy::parse("workspace-write").unwrap(), defaults);
        assert_eq!(
            SandboxPolicy::parse(r#"{"mode":"workspace-write"}"#).unwrap(),
            defaults
        );
        assert!(SandboxPolicy::parse("full-access").is_err());
        assert!(SandboxPolicy::parse(r#"{"mode":"read-only","x":1}"#).is_ok());
    }
}
