//! `pixelscope trackers`: the decoder catalog.

use crate::args::{ListFormat, TrackersArgs};
use crate::pipeline::Pipeline;
use pixelscope_report::escape;
use std::io::{self, Write};
use std::process::ExitCode;

pub fn run(args: &TrackersArgs) -> anyhow::Result<ExitCode> {
    let options = crate::args::AnalysisArgs {
        decoders: args.decoders.clone(),
        ..Default::default()
    };
    let pipeline = match Pipeline::new(&options) {
        Ok(pipeline) => pipeline,
        Err(err) => {
            eprintln!("pixelscope: {err:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let registry = pipeline.registry();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match args.format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = registry
                .decoders()
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "id": d.id(),
                        "vendor": d.vendor(),
                        "version": d.version(),
                        "endpoints": d.endpoints().iter().map(|e| serde_json::json!({
                            "host": e.host, "path": e.path, "kind": e.kind_name(), "note": e.note,
                        })).collect::<Vec<_>>(),
                        "sources": d.sources(),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
        ListFormat::Table => {
            writeln!(
                out,
                "{:<16} {:<12} {:<8} ENDPOINTS",
                "ID", "VENDOR", "VERSION"
            )?;
            for d in registry.decoders() {
                let endpoints: Vec<String> = d
                    .endpoints()
                    .iter()
                    .map(|e| format!("{}{} ({})", e.host, e.path, e.kind_name()))
                    .collect();
                writeln!(
                    out,
                    "{:<16} {:<12} {:<8} {}",
                    d.id(),
                    d.vendor(),
                    d.version(),
                    if endpoints.is_empty() {
                        "(recognised by payload shape on any host)".to_owned()
                    } else {
                        escape::terminal(&endpoints.join(", "))
                    }
                )?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
