//! Recognising `apply_patch` invocations in shell commands (SPEC §9.3), so the
//! patch is applied in-process instead of spawning a program that does not
//! exist on the user's machine.
//!
//! Only recognition lives here: the patch text is returned unparsed and the
//! caller applies it like the apply_patch tool. Anything that is not clearly
//! an apply_patch invocation (pipes, variables, extra commands) is left to
//! the shell.

use std::path::PathBuf;

/// Program names that mean "apply this patch".
const PATCH_COMMANDS: [&str; 2] = ["apply_patch", "applypatch"];
/// Shells whose `-c` script is inspected.
const SHELLS: [&str; 3] = ["bash", "zsh", "sh"];
/// Flags that make the shell run its next argument as a script.
const SCRIPT_FLAGS: [&str; 3] = ["-lc", "-c", "-cl"];

/// An apply_patch invocation found in a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intercepted {
    /// The patch text, as the program would have received it.
    pub patch: String,
    /// The directory of a leading `cd <dir> &&`, as written (may be relative).
    pub cd: Option<PathBuf>,
}

/// Recognise `["apply_patch", <patch>]` (or `applypatch`) and
/// `[<shell>, "-lc", "[cd <dir> &&] apply_patch <<'EOF'\n…\nEOF\n"]`.
pub fn intercept(argv: &[String]) -> Option<Intercepted> {
    match argv {
        [program, patch] if PATCH_COMMANDS.contains(&program.as_str()) => Some(Intercepted {
            patch: patch.clone(),
            cd: None,
        }),
        [shell, flag, script] if is_shell(shell) && SCRIPT_FLAGS.contains(&flag.as_str()) => {
            parse_script(script)
        }
        _ => None,
    }
}

fn is_shell(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    SHELLS.contains(&name)
}

/// Parse `[cd <dir> &&] apply_patch <<DELIM\n<body>DELIM` with nothing but
/// whitespace after the terminator.
fn parse_script(script: &str) -> Option<Intercepted> {
    let mut rest = script.trim_start();
    let mut cd = None;
    if let Some(after_cd) = rest.strip_prefix("cd") {
        let (dir, after_dir) = shell_word(skip_blanks_required(after_cd)?)?;
        rest = skip_blanks(skip_blanks(after_dir).strip_prefix("&&")?);
        cd = Some(PathBuf::from(dir));
    }
    let after_name = PATCH_COMMANDS
        .iter()
        .find_map(|name| rest.strip_prefix(name))?;
    let after_redirect = skip_blanks(after_name).strip_prefix("<<")?;
    let (strip_tabs, after_redirect) = match after_redirect.strip_prefix('-') {
        Some(after_dash) => (true, after_dash),
        None => (false, after_redirect),
    };
    let (delimiter, after_delimiter) = heredoc_delimiter(skip_blanks(after_redirect))?;
    let (opening_rest, body) = after_delimiter.split_once('\n')?;
    if !opening_rest.trim().is_empty() {
        return None;
    }
    let patch = heredoc_body(body, &delimiter, strip_tabs)?;
    Some(Intercepted { patch, cd })
}

/// Collect heredoc lines up to the terminator line. Everything after the
/// terminator must be blank. A missing terminator ends the body at the end of
/// the script, as bash does.
fn heredoc_body(body: &str, delimiter: &str, strip_tabs: bool) -> Option<String> {
    let mut patch = String::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        let line = if strip_tabs {
            line.trim_start_matches('\t')
        } else {
            line
        };
        if line.trim_end() == delimiter {
            return after.trim().is_empty().then_some(patch);
        }
        patch.push_str(line);
        patch.push('\n');
        rest = after;
    }
    Some(patch)
}

/// A heredoc delimiter: `'WORD'`, `"WORD"` or a bare `WORD`.
fn heredoc_delimiter(text: &str) -> Option<(String, &str)> {
    let (word, rest) = match text.chars().next()? {
        quote @ ('\'' | '"') => {
            let inner = &text[1..];
            let close = inner.find(quote)?;
            (&inner[..close], &inner[close + 1..])
        }
        _ => {
            let len = text
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(text.len());
            text.split_at(len)
        }
    };
    let plain = !word.is_empty() && !word.contains(['\n', '\'', '"', '$', '`', '\\']);
    plain.then(|| (word.to_string(), rest))
}

/// A `cd` target: a single-quoted, double-quoted or bare word with nothing the
/// shell would expand. Returns the word and the text after it.
fn shell_word(text: &str) -> Option<(&str, &str)> {
    let (word, rest) = match text.chars().next()? {
        quote @ ('\'' | '"') => {
            let inner = &text[1..];
            let close = inner.find(quote)?;
            let word = &inner[..close];
            // Inside double quotes a backslash may escape the closing quote.
            if quote == '"' && word.contains('\\') {
                return None;
            }
            (word, &inner[close + 1..])
        }
        _ => {
            let len = text
                .find(|c: char| c.is_whitespace() || c == '&' || c == ';' || c == '|')
                .unwrap_or(text.len());
            let (word, rest) = text.split_at(len);
            // Bare words expand `~`, globs and escapes; leave those to the shell.
            if word.contains(['~', '*', '?', '[', '\\', '\'', '"']) {
                return None;
            }
            (word, rest)
        }
    };
    let literal = !word.is_empty() && !word.contains(['$', '`', '\n']);
    literal.then_some((word, rest))
}

fn skip_blanks(text: &str) -> &str {
    text.trim_start_matches([' ', '\t'])
}

/// Skip at least one blank (so `cdfoo` is not `cd foo`).
fn skip_blanks_required(text: &str) -> Option<&str> {
    let rest = skip_blanks(text);
    (rest.len() < text.len()).then_some(rest)
}

#[cfg(test)]
#[path = "intercept_tests.rs"]
mod tests;
