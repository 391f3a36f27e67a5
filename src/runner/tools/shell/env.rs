//! The environment of model-run commands (SPEC §14 with our defaults, §0.5).
//!
//! Built once per thread from our own environment: inherit → drop the
//! credential → default excludes → `exclude` → `set` → `include_only`. The
//! per-spawn additions (sandbox markers, unified-exec variables) are layered on
//! top by [`CommandEnv::for_spawn`].
//!
//! The default excludes (on unless `ignore_default_excludes = true`) go beyond
//! SPEC §14's `*KEY*`, `*SECRET*`, `*TOKEN*`: names matching `*PASSWORD*`,
//! `*PASSWD*` or `*CREDENTIAL*` are dropped too, and so is any variable whose
//! value carries a password in a URL (`scheme://user:pass@host...`, e.g.
//! `DATABASE_URL=postgres://u:p@h/db`; a URL with only a user, or none, stays).

use std::collections::BTreeMap;
use std::ffi::OsString;

use super::glob;
use crate::config::{Config, EnvironmentInherit, ShellEnvironmentPolicy};

/// Variables kept by `inherit = "core"`.
const CORE_VARIABLES: [&str; 9] = [
    "HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP",
];
/// Names dropped unless `ignore_default_excludes = true`.
const DEFAULT_EXCLUDES: [&str; 6] = [
    "*KEY*",
    "*SECRET*",
    "*TOKEN*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
];
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
        .filter(|(name, value)| {
            policy.ignore_default_excludes
                || !(name_matches(name, &DEFAULT_EXCLUDES)
                    || has_url_password(&value.to_string_lossy()))
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

/// Whether `value` contains a URL with a non-empty password in its user info
/// (`scheme://user:pass@host`). Only the authority (up to the first `/`, `?`,
/// `#` or whitespace) is looked at, and its last `@` ends the user info.
fn has_url_password(value: &str) -> bool {
    value.match_indices("://").any(|(at, sep)| {
        let scheme = value[..at]
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .next()
            .unwrap_or_default();
        if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return false;
        }
        let rest = &value[at + sep.len()..];
        let authority = rest
            .split(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .next()
            .unwrap_or_default();
        authority
            .rsplit_once('@')
            .and_then(|(user_info, _host)| user_info.split_once(':'))
            .is_some_and(|(_user, password)| !password.is_empty())
    })
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
            ("MY_PASSWORD", "p"),
            ("DB_PASSWD", "p"),
            ("GIT_CREDENTIALS", "p"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("MIRROR_URL", "https://user@mirror.example/x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
    }

    fn names(env: &BTreeMap<OsString, OsString>) -> Vec<String> {
        env.keys()
            .map(|k| k.to_string_lossy().into_owned())
            .collect()
    }

    /// The default excludes drop secret-looking names and the credential.
    #[test]
    fn default_drops_secrets_and_credential() {
        let env = filtered(
            &ShellEnvironmentPolicy::default(),
            parent(),
            &["CODEX_API_KEY".into()],
            Some("sk-1"),
        );
        assert_eq!(
            names(&env),
            ["AWS_REGION", "EDITOR", "HOME", "MIRROR_URL", "PATH"]
        );
    }

    /// `ignore_default_excludes` keeps secret-looking names, never the credential.
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
                "DATABASE_URL",
                "DB_PASSWD",
                "EDITOR",
                "GIT_CREDENTIALS",
                "HOME",
                "MIRROR_URL",
                "MY_PASSWORD",
                "MY_SECRET_TOKEN",
                "PATH"
            ]
        );
    }

    /// `core`, `exclude`, `set` and `include_only` apply in SPEC order.
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

    /// Passwords in URLs are found wherever the URL sits in the value; URLs with
    /// only a user, a port, or an `@` after the host are not secrets.
    #[test]
    fn url_passwords_are_recognised() {
        for secret in [
            "postgres://u:p@h/db",
            "https://user:tok@registry.example",
            "jdbc:postgresql://admin:s3cret@db:5432/app",
            "redis://:hunter2@cache:6379",
            "mirrors: http://a.example https://me:pw@b.example/simple",
            "amqp://u:p@ss@broker",
        ] {
            assert!(has_url_password(secret), "{secret}");
        }
        for plain in [
            "postgres://u@h/db",
            "https://host.example:8443/path",
            "https://host.example/path@x:y",
            "http://[::1]:80/",
            "user:pass@host",
            "://u:p@h",
            "https://u:@h",
            "",
        ] {
            assert!(!has_url_password(plain), "{plain}");
        }
    }
}
