#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;
use crate::runner::model::catalog;

fn raw(value: Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(&value).unwrap()
}

fn user(text: &str) -> Box<RawValue> {
    raw(context::message("user", text))
}

fn text_of(item: &RawValue) -> String {
    user_text(item)
}

fn compactor(window: u64, limit: Option<i64>) -> Compactor {
    let info = catalog::ModelInfo {
        context_window: window,
        ..catalog::find_or_generic("gpt-5-codex")
    };
    let config = CompactionConfig {
        context_window: Some(window),
        auto_compact_token_limit: limit,
        remote: false,
    };
    let initial = [
        context::message("developer", "<permissions instructions>x"),
        context::message("user", "<environment_context>\n</environment_context>"),
    ];
    Compactor::new(&config, &info, &initial)
}

fn usage(input: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        ..Usage::default()
    }
}

#[test]
fn the_limit_defaults_to_90_percent_of_the_window_and_counts_input_plus_output() {
    let c = compactor(10_000, None);
    assert!(!c.limit_reached(Some(&usage(8_000, 999))));
    assert!(c.limit_reached(Some(&usage(8_000, 1_000))));
    assert!(!c.limit_reached(None), "no usage, no trigger");
    let c = compactor(10_000, Some(500));
    assert!(c.limit_reached(Some(&usage(400, 100))));
    for off in [0, -1] {
        let c = compactor(10_000, Some(off));
        assert!(!c.limit_reached(Some(&usage(u64::MAX / 2, 1))), "{off}");
    }
}

#[test]
fn items_are_told_apart() {
    assert_eq!(
        classify(&raw(context::message("developer", "anything"))),
        Kind::Context
    );
    assert_eq!(
        classify(&user("# AGENTS.md instructions for /w\n\n<INSTRUCTIONS>")),
        Kind::Context
    );
    assert_eq!(
        classify(&user("<environment_context>\n</environment_context>")),
        Kind::Context
    );
    assert_eq!(
        classify(&user(&format!("{}\nthe note", SUMMARY_PREFIX.trim_end()))),
        Kind::Summary
    );
    assert_eq!(classify(&user("fix it")), Kind::UserText("fix it".into()));
    assert_eq!(
        classify(&raw(
            json!({"type": "message", "role": "user", "content": "plain"})
        )),
        Kind::UserText("plain".into())
    );
    assert_eq!(
        classify(&raw(
            json!({"type": "function_call_output", "call_id": "c", "output": "o"})
        )),
        Kind::ToolOutput
    );
    assert_eq!(
        classify(&raw(
            json!({"type": "custom_tool_call_output", "call_id": "c", "output": "o"})
        )),
        Kind::ToolOutput
    );
    assert_eq!(
        classify(&raw(json!({"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "hi"}]}))),
        Kind::Other
    );
    assert_eq!(
        classify(&raw(json!({"type": "message", "role": "user",
            "content": [{"type": "input_image", "image_url": "data:"}]}))),
        Kind::Other
    );
}

#[test]
fn the_newest_user_messages_are_kept_and_the_oldest_kept_one_is_cut() {
    let messages: Vec<String> = ["a".repeat(100), "b".repeat(100), "c".repeat(30)]
        .into_iter()
        .collect();
    assert_eq!(newest_within(&messages, 1_000), messages);
    let kept = newest_within(&messages, 130);
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1], messages[2]);
    assert_eq!(kept[0], messages[1]);
    let kept = newest_within(&messages, 90);
    assert_eq!(kept.len(), 2);
    assert!(
        kept[0].starts_with("bbbb") && kept[0].ends_with("bbbb"),
        "{kept:?}"
    );
    assert!(kept[0].contains("tokens truncated"), "{kept:?}");
    assert!(kept[0].len() < 100);
    assert_eq!(newest_within(&messages, 0), Vec::<String>::new());
}

#[test]
fn a_rebuilt_history_is_context_then_user_messages_then_the_summary() {
    let c = compactor(100_000, None);
    let items = vec![
        raw(context::message(
            "developer",
            "<permissions instructions>old",
        )),
        user("<environment_context>old</environment_context>"),
        user("first task"),
        raw(json!({"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "working"}]})),
        raw(json!({"type": "function_call", "call_id": "c1", "name": "x", "arguments": "{}"})),
        raw(json!({"type": "function_call_output", "call_id": "c1", "output": "o"})),
        user(&format!("{}\nan older note", SUMMARY_PREFIX.trim_end())),
        user("second task"),
    ];
    let rebuilt = c.rebuild(&items, "the note");
    let texts: Vec<String> = rebuilt.iter().map(|item| text_of(item)).collect();
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert_eq!(texts[0], "<permissions instructions>x");
    assert_eq!(texts[1], "<environment_context>\n</environment_context>");
    assert_eq!(texts[2], "first task");
    assert_eq!(texts[3], "second task");
    assert_eq!(texts[4], format!("{}\nthe note", SUMMARY_PREFIX.trim_end()));
    assert_eq!(classify(&rebuilt[4]), Kind::Summary);
}

#[test]
fn the_kept_user_messages_are_bounded_by_a_quarter_of_a_small_window() {
    // A 400-token window keeps at most 100 tokens (400 bytes) of user text.
    let c = compactor(400, None);
    let items = vec![user(&"x".repeat(1_000)), user("last")];
    let rebuilt = c.rebuild(&items, "n");
    let kept: usize = rebuilt[2..rebuilt.len() - 1]
        .iter()
        .map(|item| text_of(item).len())
        .sum();
    assert!(kept <= 400 + 40, "{kept}");
    assert_eq!(text_of(&rebuilt[rebuilt.len() - 2]), "last");
}

#[test]
fn trimming_doubles_and_never_separates_an_output_from_its_call() {
    let call = |id: &str| {
        raw(json!({"type": "function_call", "call_id": id, "name": "x", "arguments": "{}"}))
    };
    let output =
        |id: &str| raw(json!({"type": "function_call_output", "call_id": id, "output": "o"}));
    let items = vec![
        raw(context::message("developer", "p")),
        user("task"),
        call("1"),
        output("1"),
        call("2"),
        output("2"),
        call("3"),
        output("3"),
    ];
    let start = conversation_start(&items);
    assert_eq!(start, 1);
    assert_eq!(next_trim(&items, start, 0), 1, "the task message alone");
    // Two items would end on call 1: its output goes too.
    assert_eq!(next_trim(&items, start, 1), 3);
    assert_eq!(next_trim(&items, start, 3), 7, "up to the end");
}

#[test]
fn the_remote_history_follows_the_initial_context_without_repeating_it() {
    let c = compactor(100_000, None);
    let output = vec![
        raw(context::message(
            "developer",
            "server copy of the permissions",
        )),
        user("first task"),
        raw(json!({"type": "compaction", "encrypted_content": "e"})),
    ];
    let adopted = c.adopt(output);
    assert_eq!(adopted.len(), 4);
    assert_eq!(text_of(&adopted[2]), "first task");
    assert!(adopted[3].get().contains("\"compaction\""));
}
