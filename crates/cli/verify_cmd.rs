//! `pixelscope verify`: re-checks an evidence bundle against its manifest.
//!
//! The report (`pixelscope_exhibit::VerifyReport`'s `Display`, written for
//! readers who are not programmers) goes to standard output. Exit status:
//! 0 only when every file the manifest lists is present and unchanged, 1
//! when any is changed, missing or unreadable (or a file given with
//! `--inputs` is not part of the bundle), 2 when there is no readable
//! manifest to check against (not a bundle folder, or a damaged manifest).

use crate::args::VerifyArgs;
use pixelscope_report::escape;
use std::io::{self, Write};
use std::process::ExitCode;

pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let report = match pixelscope_exhibit::verify(&args.dir, &args.inputs) {
        Ok(report) => report,
        Err(err) => {
            let manifest = args.dir.join(pixelscope_exhibit::MANIFEST_FILE);
            let why = if err.kind() == io::ErrorKind::NotFound {
                format!(
                    "{} not found: {} is not an evidence bundle written by `pixelscope report`",
                    manifest.display(),
                    args.dir.display()
                )
            } else {
                format!("cannot check {}: {err}", manifest.display())
            };
            eprintln!("pixelscope: {}", escape::terminal(&why));
            return Ok(ExitCode::from(2));
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write!(out, "{report}")?;
    out.flush()?;
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
