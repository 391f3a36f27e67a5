//! POSIX shell quoting for the `command` field of `command_execution` items
//! (SPEC §4.4): plain words stay bare, everything else is single-quoted.

/// Join `argv` into one shell-quoted line, e.g. `/bin/bash -lc 'echo hi'`.
pub fn join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|arg| quote(arg.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if plain {
        return word.to_string();
    }
    // A single quote cannot appear inside single quotes: close, emit it
    // double-quoted, and reopen.
    format!("'{}'", word.replace('\'', "'\"'\"'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_shlex() {
        assert_eq!(join(&["bash", "-lc", "ls"]), "bash -lc ls");
        assert_eq!(
            join(&["/bin/bash", "-lc", "echo hi; ls; exit 3"]),
            "/bin/bash -lc 'echo hi; ls; exit 3'"
        );
        assert_eq!(join(&["echo", ""]), "echo ''");
        assert_eq!(join(&["echo", "it's"]), "echo 'it'\"'\"'s'");
    }
}
