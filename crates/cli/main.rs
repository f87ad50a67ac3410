//! The `pixelscope` command: thin glue between the arguments, the producers
//! (HAR reader, capture pipeline), the decoders and the writers.
//!
//! `args` holds the arguments as typed; `input` finds, fingerprints and
//! sniffs input files; `pipeline` turns one input into records and
//! diagnostics, and `split_file` does the same on several threads for one
//! large input; the other modules are the commands (`scan`, `trackers`,
//! `report_cmd`, `verify_cmd`, `accuracy_cmd`, `tui_cmd`, `matrix_cmd`).

mod accuracy_cmd;
mod args;
mod input;
mod matrix_cmd;
#[cfg(feature = "parquet")]
mod parquet_out;
mod pipeline;
mod report_cmd;
mod scan;
mod split_file;
mod trackers;
mod tui_cmd;
mod verify_cmd;

use clap::Parser;

// Allocation is a fifth of the pipeline's time with the system allocator
// (docs/PERFORMANCE.md); mimalloc, a default feature, is the cheap cure.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

fn main() -> ExitCode {
    // mimalloc asks the kernel for transparent huge pages, and each thread
    // touching its own 2 MiB pages took a large capture's peak memory from
    // 30 MB to 48 MB on one thread and 77 MB on four, and zeroing them cost
    // a twentieth of the run (docs/PERFORMANCE.md). Where the kernel refuses
    // (old kernels, sandboxes), nothing is lost but that memory.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
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
        args::Command::Report(a) => report_cmd::run(&a),
        args::Command::Verify(a) => verify_cmd::run(&a),
        args::Command::Accuracy(a) => accuracy_cmd::run(&a),
        args::Command::Tui(a) => tui_cmd::run(&a),
        args::Command::Matrix(a) => matrix_cmd::run(&a),
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
            // Errors name paths and quote files: nothing raw reaches the terminal.
            eprintln!(
                "pixelscope: {}",
                pixelscope_report::escape::terminal(&format!("{err:#}"))
            );
            ExitCode::from(1)
        }
    }
}
