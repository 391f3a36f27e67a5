//! The rollout reader never panics on any bytes, and the history it replays
//! needs no further repair: every call has an output, every output a call.
#![no_main]

use std::path::Path;

use codex_exec_fuzz::{reader, repair};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(resumed) = reader::parse(Path::new("fuzz.jsonl"), input) else {
        return;
    };
    let mut history = resumed.history.clone();
    assert_eq!(
        repair::repair(&mut history),
        (0, 0),
        "replay left calls unpaired"
    );
    assert!(repair::aborted_outputs(&history).is_empty());
});
