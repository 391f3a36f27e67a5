//! The repository's own scripts: `scripts/test` finds the built binaries
//! wherever cargo puts them (`scripts/target-dir`).

use std::path::Path;
use std::process::Command;

use pretty_assertions::assert_eq;

/// Run `scripts/target-dir` with `CARGO_TARGET_DIR` set to `target_dir` (or
/// removed); returns its stdout, trimmed.
fn target_dir(target_dir: Option<&Path>) -> anyhow::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("scripts/target-dir"))
        .current_dir(std::env::temp_dir());
    match target_dir {
        Some(dir) => cmd.env("CARGO_TARGET_DIR", dir),
        None => cmd.env_remove("CARGO_TARGET_DIR"),
    };
    let output = cmd.output()?;
    anyhow::ensure!(
        output.status.success(),
        "scripts/target-dir failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim_end().to_string())
}

/// `CARGO_TARGET_DIR` moves the binaries, and `scripts/target-dir` (which
/// `scripts/test` asks for the SDK step's binaries) follows it.
#[test]
fn target_dir_follows_cargo_target_dir() -> anyhow::Result<()> {
    let elsewhere = tempfile::tempdir()?;
    let reported = target_dir(Some(elsewhere.path()))?;
    assert_eq!(Path::new(&reported), elsewhere.path());
    let default = target_dir(None)?;
    assert_ne!(Path::new(&default), elsewhere.path());
    assert!(Path::new(&default).is_absolute(), "{default}");
    Ok(())
}

/// `scripts/test` takes the SDK step's binaries from `scripts/target-dir`,
/// not from a fixed `target/debug`.
#[test]
fn sdk_step_uses_the_reported_target_dir() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join("scripts/test"))?;
    assert!(script.contains("scripts/target-dir"), "{script}");
    assert!(!script.contains("$root/target/debug"), "{script}");
    Ok(())
}
