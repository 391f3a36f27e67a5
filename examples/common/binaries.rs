//! Shared by the examples (`demo`, `bench`): the binaries they drive.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The binaries an example drives, of the example's own profile.
pub struct Binaries {
    pub codex: PathBuf,
    pub mcp_server: PathBuf,
}

/// The `codex` and `mcp-test-server` binaries of the running example's
/// profile (`target/<profile>/`). Built with cargo when one is missing or
/// older than the example, and always brought up to date when the example
/// runs under `cargo run` (a no-op when they are fresh): cargo does not
/// rebuild binaries for examples.
pub fn locate() -> Result<Binaries> {
    let exe = std::env::current_exe().context("cannot locate this example")?;
    // target/<profile>/examples/<name> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("unexpected example location")?;
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let codex = profile_dir.join(format!("codex{}", std::env::consts::EXE_SUFFIX));
    let mcp_server = profile_dir.join(format!("mcp-test-server{}", std::env::consts::EXE_SUFFIX));
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let stale = [&codex, &mcp_server]
        .iter()
        .any(|bin| match (modified(bin), modified(&exe)) {
            (Some(bin), Some(example)) => bin < example,
            _ => true,
        });
    let under_cargo = std::env::var_os("CARGO");
    if stale || under_cargo.is_some() {
        let cargo = under_cargo.unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--bin", "codex", "--bin", "mcp-test-server"]);
        // Drop what `cargo run` set for this example (CARGO_PKG_NAME, …): build scripts
        // that watch those variables would otherwise rerun and rebuild half the tree.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_by_cargo_run = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix))
                || name == "CARGO_PRIMARY_PACKAGE"
                || name == "OUT_DIR";
            if set_by_cargo_run {
                build.env_remove(&*name);
            }
        }
        if release {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .context("cannot run cargo to build the codex and mcp-test-server binaries")?;
        if !status.success() || !codex.exists() || !mcp_server.exists() {
            bail!(
                "building {} and {} failed ({status})",
                codex.display(),
                mcp_server.display()
            );
        }
    }
    Ok(Binaries { codex, mcp_server })
}
