//! `-c key=value` parsing never panics; a parsed override has a key path and
//! applies to (and merges into) a TOML table.
#![no_main]

use codex_exec_fuzz::overrides::{apply, merge, parse_override};
use libfuzzer_sys::fuzz_target;
use toml::Table;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(parsed) = parse_override(text) else {
        return;
    };
    assert!(!parsed.path.is_empty());
    let mut root = Table::new();
    apply(&mut root, &parsed.path, parsed.value.clone());
    let mut base = Table::new();
    apply(&mut base, &parsed.path[..1], toml::Value::Integer(1));
    merge(&mut base, root);
});
