//! `pixelscope report`: scans the inputs like `scan` and writes an evidence
//! bundle (`exhibit.html`, `events.jsonl`, `events.csv`, `events.sqlite`,
//! `manifest.json`) with `pixelscope_exhibit`.
//!
//! The bundle's `events.jsonl` holds exactly the records `scan --format
//! jsonl` prints for the same inputs, in the same order, each with the raw
//! request it was decoded from (the pipeline runs with `keep_raw`).
//!
//! Inputs that cannot be read follow scan's rule, with one addition for
//! evidence: a path that does not exist stops the run before anything is
//! written (exit 1). A file that exists but cannot be read, recognised or
//! parsed does not stop it: the bundle is still written with everything
//! that was readable, the file is listed among the inputs whenever it can
//! be hashed, its failure is an `input.unreadable` error in the exhibit's
//! "What could not be read" section, one line naming it goes to standard
//! error, and the exit status is 1.
//!
//! The helpers shared with the TUI's exhibit export (decoder and identity
//! lists, the clock, the git commit) live here too.

use crate::args::ReportArgs;
use crate::pipeline::{self, FileOutcome, Pipeline};
use anyhow::Context;
use pixelscope_exhibit::{BundleInput, DecoderInfo, EventWithRaw, IdentitySummary, InputInfo};
use pixelscope_model::{Diagnostic, InputFormat, Origin, Severity, Timestamp};
use pixelscope_report::escape;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let started = now();
    let (inputs, pipeline) = match pipeline::prepare(&args.inputs, &args.analysis) {
        Ok(ready) => ready,
        Err(code) => return Ok(code),
    };
    let pipeline = pipeline.keep_raw(true);
    for line in &pipeline.setup_diagnostics {
        eprintln!("pixelscope: warning: {}", escape::terminal(line));
    }
    let threads = pipeline::thread_count(args.threads);

    let mut bundle_inputs = Vec::new();
    let mut events = Vec::new();
    let mut diagnostics = setup_diagnostics(&args.analysis.keylog, &pipeline);
    let mut unreadable = 0usize;
    pipeline::run_all(&pipeline, &inputs, threads, |outcome| {
        if let Some(path) = add_outcome(outcome, &mut bundle_inputs, &mut events, &mut diagnostics)
        {
            unreadable += 1;
            eprintln!("pixelscope: {}", escape::terminal(&path));
        }
        Ok(())
    })?;

    let bundle = BundleInput {
        case: args.case.clone(),
        title: args.title.clone(),
        inputs: bundle_inputs,
        events,
        diagnostics,
        decoders: decoder_infos(&pipeline),
        identities: identity_summaries(&pipeline),
        command_line: std::env::args().collect(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        git_commit: git_commit(),
        started,
        finished: now(),
    };
    let manifest = pixelscope_exhibit::write_bundle(&bundle, &args.out)
        .with_context(|| format!("cannot write the bundle into {}", args.out.display()))?;
    let manifest_path = args.out.join(pixelscope_exhibit::MANIFEST_FILE);
    let (_, manifest_sha256) = pixelscope_exhibit::sha256_file(&manifest_path)
        .with_context(|| format!("cannot read back {}", manifest_path.display()))?;

    let errors = bundle
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    println!(
        "Wrote the evidence bundle to {}: {} records from {} input file(s), {} diagnostic(s) ({} error(s)) listed in {} under \"What could not be read\".",
        escape::terminal(&args.out.display().to_string()),
        bundle.events.len(),
        manifest.inputs.len(),
        bundle.diagnostics.len(),
        errors,
        pixelscope_exhibit::EXHIBIT_FILE,
    );
    println!("manifest.json SHA-256: {manifest_sha256}");
    println!(
        "Note this hash when handing the bundle over; `pixelscope verify` checks every other file against the manifest."
    );
    Ok(if unreadable > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Folds one input's outcome into the bundle's lists. Returns the one-line
/// message for standard error when the input could not be read.
pub(crate) fn add_outcome(
    outcome: FileOutcome,
    inputs: &mut Vec<InputInfo>,
    events: &mut Vec<EventWithRaw>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let FileOutcome {
        path,
        format,
        sha256,
        size,
        events: records,
        raw,
        diagnostics: found,
        fatal,
        skipped,
        // Always empty: `report` reads through `run_all`, which encodes nothing.
        json_lines: _,
    } = outcome;
    if skipped {
        // Not an input (a file in a folder that is neither HAR nor capture),
        // but a reader of the exhibit should know it was passed over.
        diagnostics.push(Diagnostic::info(
            "input.skipped",
            "found in a folder given as input, but neither a HAR file nor a packet capture: not read",
            Origin::file(path, None, InputFormat::default()),
        ));
        return None;
    }
    let info = match &sha256 {
        Some(sha256) => Some(InputInfo {
            path: path.clone(),
            size,
            sha256: sha256.clone(),
            format,
        }),
        // Not recognised or not hashed by the pipeline: hash it here if the
        // bytes can be read at all, so the manifest still fixes what was
        // given.
        None => InputInfo::from_file(&path, format).ok(),
    };
    let sha256 = info.as_ref().map(|i| i.sha256.clone());
    if let Some(info) = info {
        inputs.push(info);
    }
    let mut raw = raw.into_iter();
    events.extend(records.into_iter().map(|event| EventWithRaw {
        event,
        raw_request: raw.next().flatten().as_ref().map(pipeline::raw_text),
    }));
    diagnostics.extend(found);
    let message = fatal?;
    let line = format!("{path}: {message}");
    diagnostics.push(Diagnostic::error(
        "input.unreadable",
        format!("the file could not be read completely: {message}"),
        Origin::file(path, sha256, format.unwrap_or_default()),
    ));
    Some(line)
}

/// The key log warnings of [`Pipeline::new`] as diagnostics, so that a
/// bundle says why connections may have stayed encrypted.
pub(crate) fn setup_diagnostics(
    keylogs: &[std::path::PathBuf],
    pipeline: &Pipeline,
) -> Vec<Diagnostic> {
    pipeline
        .setup_diagnostics
        .iter()
        .map(|line| {
            // Each line starts with the key log's path; point at it.
            let file = keylogs
                .iter()
                .map(|p| p.display().to_string())
                .find(|p| line.starts_with(p.as_str()))
                .unwrap_or_default();
            Diagnostic::warning(
                "keylog.unusable",
                line.clone(),
                Origin::file(file, None, InputFormat::default()),
            )
        })
        .collect()
}

/// Every decoder of the registry, whether or not it fired.
pub(crate) fn decoder_infos(pipeline: &Pipeline) -> Vec<DecoderInfo> {
    pipeline
        .registry()
        .decoders()
        .iter()
        .map(|d| DecoderInfo {
            id: d.id().to_owned(),
            vendor: d.vendor().to_owned(),
            version: d.version().to_owned(),
            sources: d
                .sources()
                .iter()
                .map(|s| format!("{}: {}", s.key, s.reference))
                .collect(),
        })
        .collect()
}

/// The known identities searched for, by label and kind (never the
/// plaintext).
pub(crate) fn identity_summaries(pipeline: &Pipeline) -> Vec<IdentitySummary> {
    pipeline
        .identity_report()
        .identities
        .into_iter()
        .map(|i| IdentitySummary {
            label: i.label,
            kind: i.kind,
        })
        .collect()
}

/// The commit the binary was built from (set by the build script when it
/// was built in a git checkout).
pub(crate) fn git_commit() -> Option<String> {
    option_env!("PIXELSCOPE_GIT_COMMIT").map(str::to_owned)
}

/// The system clock as a record timestamp (UTC). A clock before 1970 reads
/// as 1970; `SOURCE_DATE_EPOCH` overrides both run times in the bundle.
pub(crate) fn now() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| {
            i64::try_from(d.as_secs())
                .ok()
                .and_then(|s| Timestamp::from_parts(s, d.subsec_nanos()))
        })
        .unwrap_or(Timestamp(0))
}
