//! The apply_patch parser never panics, whatever the text.
#![no_main]

use codex_exec_fuzz::apply_patch_parser::parse_patch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(text) = std::str::from_utf8(input) {
        let _ = parse_patch(text);
    }
});
