//! The apply_patch front door never panics, whatever the text: the patch
//! parser, and the recognition of `apply_patch` heredocs in shell scripts
//! (whose patch then goes through the parser too).
#![no_main]

use codex_exec_fuzz::apply_patch_intercept::intercept;
use codex_exec_fuzz::apply_patch_parser::parse_patch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let _ = parse_patch(text);
    let argv = ["bash".to_string(), "-lc".to_string(), text.to_string()];
    if let Some(found) = intercept(&argv) {
        let _ = parse_patch(&found.patch);
    }
});
