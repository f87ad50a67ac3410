//! `pixelscope accuracy`: scores the records of each input against a
//! capture lab's ground truth (`truth.json`), with
//! `pixelscope_exhibit::accuracy`, the scorer behind `docs/ACCURACY.md`.
//!
//! Each input is read exactly as `scan` reads it (key logs, Decryption
//! Secrets Blocks and identities apply) and scored on its own; the HAR rule
//! (requests a HAR cannot hold are not expected) applies to inputs sniffed
//! as HAR. The output is a plain table per input, or with `--markdown` the
//! document `docs/ACCURACY.md` is made of.
//!
//! Exit status: 0 when every input was scored, whatever the scores; 1 when
//! an input could not be read (it is still scored with what was read, and
//! one line names it on standard error); 2 on usage errors, including a
//! truth file that cannot be read or is not a lab truth.

use crate::args::AccuracyArgs;
use crate::pipeline::{self, FileOutcome};
use pixelscope_exhibit::accuracy::{self, AccuracyRun};
use pixelscope_model::InputFormat;
use pixelscope_report::escape;
use serde_json::Value;
use std::io::{self, Write};
use std::process::ExitCode;

pub fn run(args: &AccuracyArgs) -> anyhow::Result<ExitCode> {
    let truth = match read_truth(&args.truth) {
        Ok(truth) => truth,
        Err(why) => {
            eprintln!(
                "pixelscope: {}: {}",
                escape::terminal(&args.truth.display().to_string()),
                escape::terminal(&why)
            );
            return Ok(ExitCode::from(2));
        }
    };
    let (inputs, pipeline) = match pipeline::prepare(&args.inputs, &args.analysis) {
        Ok(ready) => ready,
        Err(code) => return Ok(code),
    };
    for line in &pipeline.setup_diagnostics {
        eprintln!("pixelscope: warning: {}", escape::terminal(line));
    }
    let threads = pipeline::thread_count(None);
    let mut runs = Vec::new();
    let mut unreadable = 0usize;
    pipeline::run_all(&pipeline, &inputs, threads, |outcome| {
        let FileOutcome {
            path,
            format,
            events,
            fatal,
            skipped,
            ..
        } = outcome;
        if skipped {
            return Ok(());
        }
        if let Some(message) = fatal {
            unreadable += 1;
            eprintln!(
                "pixelscope: {}: {}",
                escape::terminal(&path),
                escape::terminal(&message)
            );
        }
        let table = accuracy::score(&truth, &events, format == Some(InputFormat::Har));
        runs.push(AccuracyRun { input: path, table });
        Ok(())
    })?;

    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.markdown {
        out.write_all(accuracy::markdown(&runs).as_bytes())?;
    } else {
        for (i, run) in runs.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{}", escape::terminal(&run.input))?;
            write!(out, "{}", run.table)?;
        }
    }
    out.flush()?;
    Ok(if unreadable > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads a lab `truth.json`: a JSON object with a `requests` list.
fn read_truth(path: &std::path::Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let truth: Value = serde_json::from_slice(&bytes).map_err(|e| format!("not JSON ({e})"))?;
    if truth.get("requests").and_then(Value::as_array).is_none() {
        return Err("not a capture-lab ground truth: it has no \"requests\" list".to_owned());
    }
    Ok(truth)
}
