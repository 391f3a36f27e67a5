#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use pretty_assertions::assert_eq;

const PATCH: &str = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n";

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

fn found(patch: &str, cd: Option<&str>) -> Option<Intercepted> {
    Some(Intercepted {
        patch: patch.to_string(),
        cd: cd.map(PathBuf::from),
    })
}

/// `["apply_patch", <patch>]` and `["applypatch", <patch>]` are recognised.
#[test]
fn direct_invocation_is_recognised() {
    for program in ["apply_patch", "applypatch"] {
        assert_eq!(intercept(&argv(&[program, PATCH])), found(PATCH, None));
    }
}

/// Other programs and other argument counts are left alone.
#[test]
fn other_commands_are_not_recognised() {
    assert_eq!(intercept(&argv(&["apply_patch"])), None);
    assert_eq!(intercept(&argv(&["apply_patch", PATCH, "extra"])), None);
    assert_eq!(intercept(&argv(&["patch", PATCH])), None);
    assert_eq!(intercept(&argv(&["bash", "-lc", "ls -la"])), None);
    assert_eq!(
        intercept(&argv(&["python", "-c", "apply_patch <<EOF\nx\nEOF\n"])),
        None
    );
    assert_eq!(
        intercept(&argv(&["bash", "-x", "apply_patch <<EOF\nx\nEOF\n"])),
        None
    );
    assert_eq!(intercept(&argv(&[])), None);
}

/// A shell heredoc in any quoting style yields the heredoc body.
#[test]
fn shell_heredoc_is_recognised() {
    for opener in ["<<'EOF'", "<<\"EOF\"", "<<EOF", "<< 'EOF'", "<<'PATCH_END'"] {
        let delimiter = opener
            .trim_start_matches("<<")
            .trim()
            .trim_matches(['\'', '"']);
        let script = format!("apply_patch {opener}\n{PATCH}{delimiter}\n");
        assert_eq!(
            intercept(&argv(&["bash", "-lc", &script])),
            found(PATCH, None),
            "opener {opener}"
        );
    }
}

/// Common shells, full shell paths and `-c` flags are all accepted.
#[test]
fn shell_variants_are_recognised() {
    let script = format!("applypatch <<'EOF'\n{PATCH}EOF");
    for (shell, flag) in [
        ("bash", "-c"),
        ("/bin/bash", "-lc"),
        ("zsh", "-lc"),
        ("/bin/sh", "-c"),
    ] {
        assert_eq!(
            intercept(&argv(&[shell, flag, &script])),
            found(PATCH, None),
            "{shell} {flag}"
        );
    }
}

/// A leading `cd <dir> &&` is returned as the directory.
#[test]
fn leading_cd_is_returned() {
    let cases = [
        ("cd sub/dir && ", "sub/dir"),
        ("  cd /abs/path&&", "/abs/path"),
        ("cd 'with space' && ", "with space"),
        ("cd \"quoted dir\"\t&& ", "quoted dir"),
    ];
    for (prefix, dir) in cases {
        let script = format!("{prefix}apply_patch <<'EOF'\n{PATCH}EOF\n");
        assert_eq!(
            intercept(&argv(&["bash", "-lc", &script])),
            found(PATCH, Some(dir)),
            "prefix {prefix:?}"
        );
    }
}

/// `cd` targets that the shell would expand are left to the shell.
#[test]
fn expanding_cd_targets_are_not_recognised() {
    for prefix in [
        "cd $HOME && ",
        "cd ~/x && ",
        "cd \"$DIR\" && ",
        "cd `pwd` && ",
        "cd && ",
        "cdsub && ",
        "cd a; ",
    ] {
        let script = format!("{prefix}apply_patch <<'EOF'\n{PATCH}EOF\n");
        assert_eq!(
            intercept(&argv(&["bash", "-lc", &script])),
            None,
            "prefix {prefix:?}"
        );
    }
}

/// Commands after the heredoc, or text after the opener, are left to the shell.
#[test]
fn extra_commands_are_not_recognised() {
    let scripts = [
        format!("apply_patch <<'EOF'\n{PATCH}EOF\necho done\n"),
        format!("apply_patch <<'EOF' && echo hi\n{PATCH}EOF\n"),
        format!("apply_patch < file.patch\n{PATCH}"),
        format!("apply_patchx <<'EOF'\n{PATCH}EOF\n"),
        format!("echo hi && apply_patch <<'EOF'\n{PATCH}EOF\n"),
        "apply_patch <<'EOF'".to_string(),
    ];
    for script in scripts {
        assert_eq!(
            intercept(&argv(&["bash", "-lc", &script])),
            None,
            "{script:?}"
        );
    }
}

/// A heredoc without its terminator runs to the end of the script.
#[test]
fn unterminated_heredoc_takes_the_rest() {
    let script = format!("apply_patch <<'EOF'\n{PATCH}");
    assert_eq!(
        intercept(&argv(&["bash", "-lc", &script])),
        found(PATCH, None)
    );
}

/// `<<-` strips leading tabs from the body and the terminator.
#[test]
fn dash_heredoc_strips_tabs() {
    let script =
        "apply_patch <<-EOF\n\t*** Begin Patch\n\t*** Delete File: a\n\t*** End Patch\n\tEOF\n";
    assert_eq!(
        intercept(&argv(&["bash", "-lc", script])),
        found("*** Begin Patch\n*** Delete File: a\n*** End Patch\n", None)
    );
}

/// Body lines that merely contain the delimiter do not end the heredoc.
#[test]
fn delimiter_must_be_a_whole_line() {
    let patch = "*** Begin Patch\n*** Add File: EOF.txt\n+EOF inside\n*** End Patch\n";
    let script = format!("apply_patch <<'EOF'\n{patch}EOF\n");
    assert_eq!(
        intercept(&argv(&["bash", "-lc", &script])),
        found(patch, None)
    );
}
