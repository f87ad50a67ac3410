//! `pixelscope tui`: the interactive browser of `pixelscope_tui`, fed by
//! the same pipeline as `scan`.
//!
//! The pipeline runs on the TUI's loader thread (files read in parallel, a
//! window at a time, delivered in input order) and sends each record with
//! its raw request, the diagnostics and per-file progress as
//! [`LoadMessage`]s. Nothing is printed while the TUI owns the terminal:
//! unreadable inputs become `input.unreadable` diagnostics, shown in the
//! TUI and written to `--log FILE`.
//!
//! Exporting marked events as an exhibit (`x`) writes a bundle with
//! `pixelscope_exhibit`. The TUI hands over only the events, so the loader
//! also keeps, beside the TUI's copy, what a bundle needs and the events do
//! not carry: the raw request text of each exchange (by origin), the
//! fingerprints of the input files and the diagnostics.

use crate::args::TuiArgs;
use crate::input::Input;
use crate::pipeline::{self, FileOutcome, Pipeline};
use crate::report_cmd;
use pixelscope_exhibit::{BundleInput, DecoderInfo, EventWithRaw, IdentitySummary, InputInfo};
use pixelscope_model::{Diagnostic, Event, Origin};
use pixelscope_tui::{LoadMessage, TuiOptions};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::io::{self, IsTerminal};
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};

pub fn run(args: &TuiArgs) -> anyhow::Result<ExitCode> {
    if !io::stdout().is_terminal() {
        eprintln!(
            "pixelscope: tui needs a terminal on standard output; to write records to a file or a pipe, use `pixelscope scan`"
        );
        return Ok(ExitCode::from(2));
    }
    let (inputs, pipeline) = match pipeline::prepare(&args.inputs, &args.analysis) {
        Ok(ready) => ready,
        Err(code) => return Ok(code),
    };
    let pipeline = pipeline.keep_raw(true);
    let setup = report_cmd::setup_diagnostics(&args.analysis.keylog, &pipeline);
    let kept = Arc::new(Mutex::new(Kept::default()));
    let export = Export {
        kept: Arc::clone(&kept),
        decoders: report_cmd::decoder_infos(&pipeline),
        identities: report_cmd::identity_summaries(&pipeline),
    };
    let title = match inputs.as_slice() {
        [one] => one.path.display().to_string(),
        many => format!("{} inputs", many.len()),
    };
    let options = TuiOptions {
        log_path: args.log.clone(),
        exhibit_export: Some(Box::new(move |events: &[Event], dir: &Path| {
            export.write(events, dir)
        })),
        title,
        ..TuiOptions::default()
    };
    let loader = move |sender: Sender<LoadMessage>| load(&pipeline, &inputs, setup, &kept, &sender);
    pixelscope_tui::run(loader, options)?;
    Ok(ExitCode::SUCCESS)
}

/// What the loader keeps for exhibit exports.
#[derive(Default)]
struct Kept {
    /// The raw request text of each exchange that gave records, by the
    /// records' origin (one exchange, one origin).
    raw: HashMap<Origin, String>,
    /// Fingerprints of the inputs read, in input order.
    inputs: Vec<InputInfo>,
    diagnostics: Vec<Diagnostic>,
}

/// Reads every input and sends what it finds; stops as soon as the TUI has
/// gone (a failed send).
fn load(
    pipeline: &Pipeline,
    inputs: &[Input],
    setup: Vec<Diagnostic>,
    kept: &Mutex<Kept>,
    sender: &Sender<LoadMessage>,
) {
    if sender
        .send(LoadMessage::Started {
            inputs: inputs.len(),
        })
        .is_err()
    {
        return;
    }
    for d in setup {
        lock(kept).diagnostics.push(d.clone());
        if sender.send(LoadMessage::Diagnostic(d)).is_err() {
            return;
        }
    }
    let threads = pipeline::thread_count(None);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
    // A window of files at a time, in parallel, delivered in input order;
    // the TUI shows the first files while later ones are still read.
    let window = threads.saturating_mul(2).max(1);
    let mut index = 0usize;
    for batch in inputs.chunks(window) {
        // A file alone (one input, or the last of many) is decoded on every
        // core while one thread reads it.
        let workers = if batch.len() == 1 { threads } else { 1 };
        let outcomes: Vec<FileOutcome> = match &pool {
            Ok(pool) if batch.len() > 1 => pool.install(|| {
                batch
                    .par_iter()
                    .map(|i| pipeline.process(i, 1, None))
                    .collect()
            }),
            _ => batch
                .iter()
                .map(|i| pipeline.process(i, workers, None))
                .collect(),
        };
        for (input, outcome) in batch.iter().zip(outcomes) {
            if !send_outcome(outcome, kept, sender)
                || sender
                    .send(LoadMessage::FileDone {
                        path: input.path.clone(),
                        index,
                    })
                    .is_err()
            {
                return;
            }
            index += 1;
        }
    }
    let _ = sender.send(LoadMessage::Finished);
}

/// Sends one file's records and diagnostics, keeping what an export needs.
/// False when the TUI has gone.
fn send_outcome(outcome: FileOutcome, kept: &Mutex<Kept>, sender: &Sender<LoadMessage>) -> bool {
    // The bundle lists are built exactly as `report` builds them.
    let mut inputs = Vec::new();
    let mut events = Vec::new();
    let mut diagnostics = Vec::new();
    let raw = outcome.raw.clone();
    report_cmd::add_outcome(outcome, &mut inputs, &mut events, &mut diagnostics);
    {
        let mut kept = lock(kept);
        kept.inputs.extend(inputs);
        kept.diagnostics.extend(diagnostics.iter().cloned());
        for e in &events {
            if let Some(text) = &e.raw_request {
                kept.raw
                    .entry(e.event.origin.clone())
                    .or_insert_with(|| text.clone());
            }
        }
    }
    let mut raw = raw.into_iter();
    for e in events {
        let message = LoadMessage::Event(Box::new(e.event), raw.next().flatten());
        if sender.send(message).is_err() {
            return false;
        }
    }
    for d in diagnostics {
        if sender.send(LoadMessage::Diagnostic(d)).is_err() {
            return false;
        }
    }
    true
}

fn lock(kept: &Mutex<Kept>) -> std::sync::MutexGuard<'_, Kept> {
    // A loader that panicked mid-file leaves consistent-enough lists: every
    // push is complete before the lock is released.
    kept.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The exhibit export plugged into the TUI.
struct Export {
    kept: Arc<Mutex<Kept>>,
    decoders: Vec<DecoderInfo>,
    identities: Vec<IdentitySummary>,
}

impl Export {
    /// Writes a bundle of the marked `events` into `dir`: their raw
    /// requests, the input files they come from and those files'
    /// diagnostics (and key log warnings).
    fn write(&self, events: &[Event], dir: &Path) -> io::Result<()> {
        let started = report_cmd::now();
        let kept = lock(&self.kept);
        let files: BTreeSet<&str> = events.iter().map(|e| e.origin.file.as_str()).collect();
        let bundle = BundleInput {
            case: None,
            title: None,
            inputs: kept
                .inputs
                .iter()
                .filter(|i| files.contains(i.path.as_str()))
                .cloned()
                .collect(),
            events: events
                .iter()
                .map(|event| EventWithRaw {
                    event: event.clone(),
                    raw_request: kept.raw.get(&event.origin).cloned(),
                })
                .collect(),
            diagnostics: kept
                .diagnostics
                .iter()
                .filter(|d| files.contains(d.origin.file.as_str()) || d.code.starts_with("keylog."))
                .cloned()
                .collect(),
            decoders: self.decoders.clone(),
            identities: self.identities.clone(),
            command_line: std::env::args().collect(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            git_commit: report_cmd::git_commit(),
            started,
            finished: report_cmd::now(),
        };
        drop(kept);
        pixelscope_exhibit::write_bundle(&bundle, dir).map(|_| ())
    }
}
