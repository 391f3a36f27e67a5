//! Bad input refused before the first model request: a prompt over the size
//! limit, an `-o` file that cannot be written, an empty model name (issue 11
//! items 3, 7 and 8; SPEC §2, §6.1).

use mock_responses::message_reply;
use pretty_assertions::assert_eq;

use crate::common::*;

/// The reference's limit on one text input, in characters.
const MAX_PROMPT_CHARS: usize = 1 << 20;

/// A prompt one character over the limit fails with the reference's message,
/// before any request and before any session file exists.
#[test]
fn a_prompt_over_the_limit_is_refused() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("never")])?;
    let prompt = "é".repeat(MAX_PROMPT_CHARS + 1);
    let run = env.exec().args(["--json", "-"]).stdin(prompt).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains(
            "Error: Input exceeds the maximum length of 1048576 characters. (1048577 provided)"
        ),
        "{run}"
    );
    assert!(env.requests().is_empty());
    assert!(rollouts(&env.codex_home).is_empty());
    Ok(())
}

/// A prompt of exactly the limit is sent (stdin block rules apply as usual).
#[test]
fn a_prompt_of_exactly_the_limit_is_sent() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("ok")])?;
    let prompt = "x".repeat(MAX_PROMPT_CHARS);
    let run = env
        .exec()
        .args(["--json", "-"])
        .stdin(prompt.clone())
        .run()?;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(last_input_text(&env.requests()[0])?, prompt);
    Ok(())
}

/// A 20 MB prompt on stdin is refused without being read whole; the prompt
/// argument plus its `<stdin>` block counts as one input.
#[test]
fn a_huge_stdin_is_refused() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("never")])?;
    let run = env
        .exec()
        .args(["--json", "-"])
        .stdin(vec![b'a'; 20 << 20])
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(
        run.stderr
            .contains("Error: Input exceeds the maximum length of 1048576 characters."),
        "{run}"
    );
    let run = env
        .exec()
        .args(["--json", "--stdin", "append", "question"])
        .stdin("y".repeat(MAX_PROMPT_CHARS))
        .run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert!(run.stderr.contains("characters. ("), "{run}");
    assert!(env.requests().is_empty());
    Ok(())
}

/// `-o` naming a file that cannot be created fails at startup with exit 1,
/// before the model is asked (so no tool has run).
#[test]
fn an_unwritable_output_file_fails_before_any_request() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![calls_reply(
        "resp_1",
        &[(
            "call_1",
            "shell",
            serde_json::json!({"command": ["touch", "ran"]}),
        )],
    )])?;
    let missing = env.root.join("no-such-dir").join("out.txt");
    for target in [&missing, &env.root] {
        let run = env
            .exec()
            .args(["--json", "-o"])
            .arg(target)
            .arg("hi")
            .run()?;
        assert_eq!(run.code(), Some(1), "{run}");
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr.contains(&format!(
                "Error: Failed to open last message file {:?}: ",
                target
            )),
            "{run}"
        );
    }
    assert!(env.requests().is_empty());
    assert!(!env.work.join("ran").exists());
    assert!(rollouts(&env.codex_home).is_empty());
    Ok(())
}

/// An empty model name, from `-m` or from config.toml, is refused at startup.
#[test]
fn an_empty_model_name_is_refused() -> anyhow::Result<()> {
    let env = TestEnv::new(vec![message_reply("never")])?;
    let expected =
        "Error: the model name is empty; pass one with `-m <MODEL>` or set `model` in config.toml";
    let run = env.exec().args(["--json", "-m", "", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stderr.trim_end(), expected, "{run}");
    env.write_config_raw(
        &env.config_text("", "")
            .replace("model = \"gpt-5-codex\"", "model = \" \""),
    )?;
    let run = env.exec().args(["--json", "hi"]).run()?;
    assert_eq!(run.code(), Some(1), "{run}");
    assert_eq!(run.stderr.trim_end(), expected, "{run}");
    assert!(env.requests().is_empty());
    Ok(())
}
