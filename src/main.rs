//! `codex`: a headless, drop-in re-implementation of `codex exec`.
//!
//! `main` only parses arguments, starts logging and hands over to the exec
//! front end; the exit code comes back as an `ExitStatus`.

mod cli;
mod config;
mod exec;
mod exit;
mod logging;
mod review;
mod runner;
mod sandbox;
mod session;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // clap prints usage errors (exit 2) and --help/--version (exit 0) itself.
    let cli = cli::Cli::parse();
    logging::init();
    match cli.command {
        cli::Command::Exec(args) => {
            let status = exec::main(*args);
            logging::log_peak_memory();
            status.into()
        }
        cli::Command::SandboxExec(args) => sandbox::run_helper(args),
    }
}
