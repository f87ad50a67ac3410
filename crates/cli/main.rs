//! The `pixelscope` command: thin glue between the arguments, the producers
//! (HAR reader, capture pipeline), the decoders and the writers.
//!
//! `args` holds the arguments as typed; `input` finds, fingerprints and
//! sniffs input files; `pipeline` turns one input into records and
//! diagnostics; `scan` and `trackers` are the commands.

mod args;
mod input;
mod pipeline;
mod scan;
mod trackers;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version requests are not usage errors.
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        args::Command::Scan(a) => scan::run(&a),
        args::Command::Trackers(a) => trackers::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`pixelscope scan … | head`) is not a failure.
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("pixelscope: {err:#}");
            ExitCode::from(1)
        }
    }
}
