//! `pixelscope scan`: records for every tracker request in the inputs.

use crate::args::{OutputFormat, ScanArgs};
use crate::pipeline::{self, FileOutcome, Piece};
use anyhow::Context;
use pixelscope_model::{Diagnostic, Event, Kind, Severity};
use pixelscope_report::{Format, escape};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

/// At most this many diagnostics per file are printed to standard error;
/// `--diagnostics FILE` receives all of them.
const DIAGNOSTICS_SHOWN_PER_FILE: usize = 12;

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let (inputs, pipeline) = match pipeline::prepare(&args.inputs, &args.analysis) {
        Ok(ready) => ready,
        Err(code) => return Ok(code),
    };
    if !args.quiet {
        for line in &pipeline.setup_diagnostics {
            eprintln!("pixelscope: warning: {}", escape::terminal(line));
        }
    }
    let threads = pipeline::thread_count(args.threads);
    let format = match args.format {
        OutputFormat::Table => Some(Format::Table),
        OutputFormat::Jsonl => Some(Format::Jsonl),
        OutputFormat::Json => Some(Format::Json),
        OutputFormat::Csv => Some(Format::Csv),
        // A binary file with its own writer (below).
        OutputFormat::Parquet => None,
    };
    let stdout = io::stdout();
    let writer = match format {
        Some(format) => {
            let (sink, width): (Box<dyn Write>, Option<usize>) = match &args.output {
                Some(path) => {
                    let file = File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    (Box::new(BufWriter::new(file)), None)
                }
                None => {
                    let width = stdout.is_terminal().then(terminal_width).flatten();
                    (Box::new(BufWriter::new(stdout.lock())), width)
                }
            };
            pixelscope_report::writer(format, sink, width)
        }
        None => match parquet_writer(args)? {
            Ok(writer) => writer,
            Err(message) => {
                eprintln!("pixelscope: {message}");
                return Ok(ExitCode::from(2));
            }
        },
    };
    let mut diagnostics_out = match &args.diagnostics {
        Some(path) => {
            Some(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create {}", path.display())
            })?))
        }
        None => None,
    };

    let mut unreadable = 0usize;
    let wanted = |event: &Event| {
        (!args.events_only || event.kind == Kind::Event)
            && (!args.only_flagged || is_flagged(event))
    };
    // JSON Lines records made on other threads (small files read in
    // parallel, or a batch of a large file) are encoded on the thread that
    // made them; the writer then only copies bytes (docs/SCALE.md).
    let encode_json_lines = |outcome: &mut FileOutcome| {
        let mut lines = std::mem::take(&mut outcome.json_lines);
        lines.clear();
        for event in outcome.events.iter().filter(|e| wanted(e)) {
            if !pixelscope_report::encode_json_line(event, &mut lines) {
                // Too large to buffer: the whole file goes through the writer.
                return;
            }
        }
        outcome.events.clear();
        outcome.raw.clear();
        outcome.json_lines = lines;
    };
    let encode: Option<pipeline::Encoder<'_>> =
        (format == Some(Format::Jsonl)).then_some(&encode_json_lines);
    let writer = std::cell::RefCell::new(writer);
    let mut write_record = |piece: Piece<'_>| -> anyhow::Result<()> {
        match piece {
            Piece::Record(event, _) if wanted(&event) => writer.borrow_mut().write_event(&event)?,
            Piece::Record(..) => {}
            Piece::Encoded(lines) => writer.borrow_mut().write_json_lines(lines)?,
        }
        Ok(())
    };
    pipeline::run_all_streaming(
        &pipeline,
        &inputs,
        threads,
        encode,
        Some(&mut write_record),
        &mut |outcome| {
            let FileOutcome {
                path,
                diagnostics,
                fatal,
                skipped,
                json_lines,
                ..
            } = outcome;
            if skipped {
                return Ok(());
            }
            if !json_lines.is_empty() {
                writer.borrow_mut().write_json_lines(&json_lines)?;
            }
            if let Some(out) = diagnostics_out.as_mut() {
                for d in &diagnostics {
                    serde_json::to_writer(&mut *out, d)?;
                    out.write_all(b"\n")?;
                }
            }
            if !args.quiet {
                print_diagnostics(&path, &diagnostics);
            }
            if let Some(message) = fatal {
                unreadable += 1;
                eprintln!(
                    "pixelscope: {}: {}",
                    escape::terminal(&path),
                    escape::terminal(&message)
                );
            }
            Ok(())
        },
    )?;
    writer.borrow_mut().finish()?;
    if pipeline.has_identities() && !args.quiet {
        for line in pipeline.identity_report().lines() {
            eprintln!("pixelscope: identity: {}", escape::terminal(&line));
        }
    }
    if let Some(mut out) = diagnostics_out {
        out.flush()?;
    }
    Ok(if unreadable > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The `--format parquet` writer over `-o FILE`; `Err` is a usage error
/// (no `-o`, or a build without the `parquet` feature).
#[cfg(feature = "parquet")]
fn parquet_writer(
    args: &ScanArgs,
) -> anyhow::Result<Result<Box<dyn pixelscope_report::RecordWriter>, String>> {
    let Some(path) = &args.output else {
        return Ok(Err(
            "--format parquet writes a file: give it with -o FILE".to_owned()
        ));
    };
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let writer = crate::parquet_out::EventParquetWriter::new(BufWriter::new(file))?;
    Ok(Ok(Box::new(writer)))
}

#[cfg(not(feature = "parquet"))]
fn parquet_writer(
    _args: &ScanArgs,
) -> anyhow::Result<Result<Box<dyn pixelscope_report::RecordWriter>, String>> {
    Ok(Err("this build has no Parquet output; build with \
            `cargo build --release --features parquet`"
        .to_owned()))
}

/// Whether an event carries something a reviewer must look at: a
/// sensitive-content, policy or linkage flag, or a matched identity.
fn is_flagged(event: &pixelscope_model::Event) -> bool {
    event.flags.iter().any(|f| f.category != "search")
        || event.identifiers.iter().any(|i| i.matched.is_some())
}

fn print_diagnostics(path: &str, diagnostics: &[Diagnostic]) {
    let mut shown = 0;
    for d in diagnostics {
        if d.severity == Severity::Info {
            continue;
        }
        if shown == DIAGNOSTICS_SHOWN_PER_FILE {
            let rest = diagnostics
                .iter()
                .filter(|d| d.severity != Severity::Info)
                .count()
                - shown;
            eprintln!(
                "pixelscope: {}: … and {rest} more (see --diagnostics FILE)",
                escape::terminal(path)
            );
            break;
        }
        shown += 1;
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let place = pipeline::place(&d.origin);
        eprintln!(
            "pixelscope: {severity}: {}{}: {}: {}",
            escape::terminal(path),
            place,
            d.code,
            escape::terminal(&d.message)
        );
    }
}

/// Columns of the terminal on standard output, from `COLUMNS` (set by most
/// shells) or a sane default.
fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or(Some(160))
}

#[cfg(test)]
mod tests {
    use crate::args::AnalysisArgs;
    use crate::input;
    use crate::pipeline::{self, Piece, Pipeline};
    use pixelscope_report::{JsonArrayWriter, JsonLinesWriter, RecordWriter};
    use std::path::PathBuf;

    /// The JSON writers encode records by hand for speed; the contract is
    /// serde_json's output of the model. Every record the samples give (HARs
    /// and captures, decrypted with their key logs) must come out byte for
    /// byte as serde_json writes it.
    #[test]
    fn json_output_of_every_sample_record_is_serde_json_output() {
        let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
        let inputs = input::expand(std::slice::from_ref(&samples)).unwrap();
        let keylog = inputs
            .iter()
            .map(|i| i.path.clone())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.ends_with(".keys") || name == "sslkeys.log"
            })
            .collect();
        let pipeline = Pipeline::new(&AnalysisArgs {
            keylog,
            ..AnalysisArgs::default()
        })
        .unwrap();
        let (mut lines_out, mut array_out) = (Vec::new(), Vec::new());
        let mut lines = JsonLinesWriter::new(&mut lines_out);
        let mut array = JsonArrayWriter::new(&mut array_out);
        let mut expected = String::new();
        let mut kinds = Vec::new();
        let (mut records, mut identifiers, mut flags, mut frames) = (0, 0, 0, 0);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut record = |piece: Piece<'_>| -> anyhow::Result<()> {
            // No encoder is given, so every piece is a record.
            let Piece::Record(event, _) = piece else {
                anyhow::bail!("records arrived encoded")
            };
            lines.write_event(&event)?;
            array.write_event(&event)?;
            expected.push_str(&serde_json::to_string(&event)?);
            expected.push('\n');
            records += 1;
            identifiers += event.identifiers.len();
            flags += event.flags.len();
            frames += usize::from(event.origin.frames.is_some());
            if !kinds.contains(&event.kind) {
                kinds.push(event.kind);
            }
            Ok(())
        };
        pipeline::run_all_streaming(
            &pipeline,
            &inputs,
            threads,
            None,
            Some(&mut record),
            &mut |_| Ok(()),
        )
        .unwrap();
        lines.finish().unwrap();
        array.finish().unwrap();
        drop((lines, array));
        // The samples must exercise the whole record, or the comparison
        // proves little.
        assert!(records > 500, "only {records} records");
        assert!(identifiers > 100 && flags > 10 && frames > 100);
        assert_eq!(kinds.len(), 3, "kinds seen: {kinds:?}");
        let written = String::from_utf8(lines_out).unwrap();
        assert!(written == expected, "JSON Lines differ from serde_json");
        let events: Vec<&str> = expected.lines().collect();
        let json = format!("[\n{}\n]\n", events.join(",\n"));
        assert!(String::from_utf8(array_out).unwrap() == json);
    }
}
