//! `mock-responses`: serve a scripted Responses-API conversation on 127.0.0.1.
//!
//! Prints the base URL (`http://127.0.0.1:<port>/v1`) as the first stdout line, then
//! serves until killed or until stdin reaches EOF. See the library docs for the script
//! format.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use mock_responses::{MockServer, Reply};

const USAGE: &str = "usage: mock-responses --script <file.json> [--fallback <file.json>] \
[--per-thread] [--port N] [--log <file.jsonl>] [--ignore-stdin]

  --script <file>    JSON array of replies, served in order to POST .../responses
  --fallback <file>  one JSON reply, served repeatedly once the script is used up
  --per-thread       serve the script once to each thread (session_id header)
  --port <N>         port on 127.0.0.1 (default: any free port)
  --log <file>       append every request as one JSON line
  --ignore-stdin     keep serving after stdin reaches EOF (stop it with a signal)

Prints http://127.0.0.1:<port>/v1 on the first stdout line, then serves until killed
or until stdin reaches EOF (a /dev/null stdin is ignored, as with --ignore-stdin).";

struct Args {
    script: PathBuf,
    fallback: Option<PathBuf>,
    port: u16,
    log: Option<PathBuf>,
    ignore_stdin: bool,
    per_thread: bool,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Parsed> {
    let mut script = None;
    let mut fallback = None;
    let mut port = 0u16;
    let mut log = None;
    let mut ignore_stdin = false;
    let mut per_thread = false;
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String> {
            match inline.clone().or_else(|| argv.next()) {
                Some(v) => Ok(v),
                None => bail!("{name} needs a value"),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--script" => script = Some(PathBuf::from(value("--script")?)),
            "--fallback" => fallback = Some(PathBuf::from(value("--fallback")?)),
            "--log" => log = Some(PathBuf::from(value("--log")?)),
            "--port" => {
                let text = value("--port")?;
                port = text
                    .parse()
                    .map_err(|_| anyhow!("--port needs a number from 0 to 65535, got `{text}`"))?;
            }
            "--ignore-stdin" if inline.is_none() => ignore_stdin = true,
            "--per-thread" if inline.is_none() => per_thread = true,
            _ => bail!("unexpected argument `{arg}` (see --help)"),
        }
    }
    let script = script.ok_or_else(|| anyhow!("--script <file.json> is required"))?;
    Ok(Parsed::Run(Args {
        script,
        fallback,
        port,
        log,
        ignore_stdin,
        per_thread,
    }))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("invalid {what} {}", path.display()))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            let _ = writeln!(io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&e, 2),
    };
    let setup = || -> Result<(Vec<Reply>, Option<Reply>, Option<File>)> {
        let replies: Vec<Reply> = read_json(&args.script, "script")?;
        let fallback = match &args.fallback {
            Some(path) => Some(read_json::<Reply>(path, "fallback")?),
            None => None,
        };
        let log = match &args.log {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open log {}", path.display()))?,
            ),
            None => None,
        };
        Ok((replies, fallback, log))
    };
    let (replies, fallback, log) = match setup() {
        Ok(parts) => parts,
        Err(e) => return fail(&e, 2),
    };
    match serve(args, replies, fallback, log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, 1),
    }
}

fn serve(
    args: Args,
    replies: Vec<Reply>,
    fallback: Option<Reply>,
    log: Option<File>,
) -> Result<()> {
    let mut builder = MockServer::builder()
        .replies(replies)
        .per_thread(args.per_thread)
        .port(args.port);
    if let Some(fallback) = fallback {
        builder = builder.fallback(fallback);
    }
    if let Some(file) = log {
        let file = Mutex::new(file);
        builder = builder.on_request(move |request| {
            let mut line = request.to_log_json().to_string();
            line.push('\n');
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            let _ = file.write_all(line.as_bytes());
            let _ = file.flush();
        });
    }
    let server = builder
        .start()
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{}", server.base_url()).context("cannot write to stdout")?;
        stdout.flush().context("cannot write to stdout")?;
    }
    if args.ignore_stdin || stdin_is_dev_null() {
        loop {
            std::thread::park();
        }
    }
    // Serve until the parent closes our stdin (or dies).
    let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
    drop(server);
    Ok(())
}

/// Whether stdin is `/dev/null` (e.g. a background job of a non-interactive shell); its
/// EOF then says nothing about the parent, so it is not a reason to stop.
fn stdin_is_dev_null() -> bool {
    std::fs::read_link("/proc/self/fd/0").is_ok_and(|target| target == Path::new("/dev/null"))
}

fn fail(error: &anyhow::Error, code: u8) -> ExitCode {
    let _ = writeln!(io::stderr(), "mock-responses: {error:#}");
    ExitCode::from(code)
}
