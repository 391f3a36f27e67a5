//! The environment of model-run commands (SPEC §14 with our defaults, §0.5).
//!
//! Built once per thread from our own environment: inherit → drop the
//! credential → default excludes → `exclude` → `set` → `include_only`. The
//! per-spawn additions (sandbox markers, unified-exec variables) are layered on
//! top by [`CommandEnv::for_spawn`].

use std::collections::BTreeMap;
use std::ffi::OsString;

use super::glob;
use crate::config::{Config, EnvironmentInherit, ShellEnvironmentPolicy};

/// Variables kept by `inherit = "core"`.
const CORE_VARIABLES: [&str; 9] = [
    "HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP",
];
/// Names dropped unless `ignore_default_excludes = true`.
const DEFAULT_EXCLUDES: [&str; 3] = ["*KEY*", "*SECRET*", "*TOKEN*"];
/// Our own credential variable: never handed to a command.
const CODEX_API_KEY_VAR: &str = "CODEX_API_KEY";
/// Marker naming the thread; also how shutdown recognises our descendants.
pub const THREAD_ID_VAR: &str = "CODEX_THREAD_ID";

/// What a unified-exec session adds so tools behave non-interactively.
const UNIFIED_EXEC_VARIABLES: [(&str, &str); 5] = [
    ("NO_COLOR", "1"),
    ("TERM", "dumb"),
    ("PAGER", "cat"),
    ("GIT_PAGER", "cat"),
    ("CODEX_CI", "1"),
];

/// The policy-filtered base environment of one thread.
#[derive(Debug, Clone)]
pub struct CommandEnv {
    base: BTreeMap<OsString, OsString>,
    thread_id: String,
}

/// Which extra variables a spawn gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvFlavor {
    /// `shell` / `shell_command`: the policy result plus markers.
    Classic,
    /// `exec_command`: also NO_COLOR, TERM=dumb, pagers, CODEX_CI.
    UnifiedExec,
}

impl CommandEnv {
    /// Apply `config`'s policy to our own environment.
    pub fn from_config(config: &Config, thread_id: &str) -> CommandEnv {
        let mut credential_vars = vec![CODEX_API_KEY_VAR.to_string()];
        credential_vars.extend(config.provider.env_key.clone());
        CommandEnv {
            base: filtered(
                &config.shell_environment_policy,
                std::env::vars_os(),
                &credential_vars,
                config.credential.token(),
            ),
            thread_id: thread_id.to_string(),
        }
    }

    /// The full environment for one spawn: the base, the sandbox `markers`,
    /// the flavour's variables and the thread marker.
    pub fn for_spawn(
        &self,
        markers: &[(String, String)],
        flavor: EnvFlavor,
    ) -> BTreeMap<OsString, OsString> {
        let mut env = self.base.clone();
        for (name, value) in markers {
            env.insert(name.into(), value.into());
        }
        if flavor == EnvFlavor::UnifiedExec {
            for (name, value) in UNIFIED_EXEC_VARIABLES {
                env.insert(name.into(), value.into());
            }
        }
        env.insert(THREAD_ID_VAR.into(), self.thread_id.clone().into());
        env
    }
}

/// Steps 1–5 of SPEC §14 on `parent`, with the credential removed first:
/// `credential_vars` by name and any variable whose value is `token`.
fn filtered(
    policy: &ShellEnvironmentPolicy,
    parent: impl Iterator<Item = (OsString, OsString)>,
    credential_vars: &[String],
    token: Option<&str>,
) -> BTreeMap<OsString, OsString> {
    let name_matches = |name: &OsString, patterns: &[&str]| {
        let name = name.to_string_lossy();
        patterns.iter().any(|p| glob::matches(p, &name))
    };
    let exclude: Vec<&str> = policy.exclude.iter().map(String::as_str).collect();
    let include_only: Vec<&str> = policy.include_only.iter().map(String::as_str).collect();
    let mut env: BTreeMap<OsString, OsString> = parent
        .filter(|(name, _)| match policy.inherit {
            EnvironmentInherit::All => true,
            EnvironmentInherit::Core => CORE_VARIABLES.iter().any(|core| name == core),
            EnvironmentInherit::None => false,
        })
        .filter(|(name, value)| {
            let is_credential = credential_vars.iter().any(|var| name == var.as_str())
                || token.is_some_and(|t| !t.is_empty() && value == t);
            !is_credential
        })
        .filter(|(name, _)| {
            policy.ignore_default_excludes || !name_matches(name, &DEFAULT_EXCLUDES)
        })
        .filter(|(name, _)| !name_matches(name, &exclude))
        .collect();
    for (name, value) in &policy.set {
        env.insert(name.into(), value.into());
    }
    if !include_only.is_empty() {
        env.retain(|name, _| name_matches(name, &include_only));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent() -> impl Iterator<Item = (OsString, OsString)> {
        [
            ("PATH", "/bin"),
            ("HOME", "/home/u"),
            ("MY_SECRET_TOKEN", "s"),
            ("CODEX_API_KEY", "sk-1"),
            ("OPENAI_API_KEY", "sk-1"),
            ("AWS_REGION", "x"),
            ("Api_Key_lower", "y"),
            ("EDITOR", "vi"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
    }

    fn names(env: &BTreeMap<OsString, OsString>) -> Vec<String> {
        env.keys()
            .map(|k| k.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn default_drops_secrets_and_credential() {
        let env = filtered(
            &ShellEnvironmentPolicy::default(),
            parent(),
            &["CODEX_API_KEY".into()],
            Some("sk-1"),
        );
        assert_eq!(names(&env), ["AWS_REGION", "EDITOR", "HOME", "PATH"]);
    }

    #[test]
    fn ignore_default_excludes_keeps_secrets_but_not_the_credential() {
        let policy = ShellEnvironmentPolicy {
            ignore_default_excludes: true,
            ..Default::default()
        };
        let env = filtered(&policy, parent(), &["CODEX_API_KEY".into()], Some("sk-1"));
        assert_eq!(
            names(&env),
            [
                "AWS_REGION",
                "Api_Key_lower",
                "EDITOR",
                "HOME",
                "MY_SECRET_TOKEN",
                "PATH"
            ]
        );
    }

    #[test]
    fn core_exclude_set_include_only() {
        let policy = ShellEnvironmentPolicy {
            inherit: EnvironmentInherit::Core,
            exclude: vec!["h*".into()],
            set: vec![("CI".into(), "1".into()), ("EXTRA".into(), "2".into())],
            include_only: vec!["path".into(), "c?".into()],
            ..Default::default()
        };
        let env = filtered(&policy, parent(), &[], None);
        assert_eq!(names(&env), ["CI", "PATH"]);
        let none = ShellEnvironmentPolicy {
            inherit: EnvironmentInherit::None,
            ..Default::default()
        };
        assert!(filtered(&none, parent(), &[], None).is_empty());
    }
}
