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
            // The message quotes the catalog, which may hold anything.
            eprintln!("pixelscope: {}", escape::terminal(&format!("{err:#}")));
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
            // Columns as wide as their longest entry: vendor names run from
            // "X" to "The Trade Desk", and catalogs may add longer ones.
            let rows: Vec<[String; 4]> = registry
                .decoders()
                .iter()
                .map(|d| {
                    let endpoints: Vec<String> = d
                        .endpoints()
                        .iter()
                        .map(|e| format!("{}{} ({})", e.host, e.path, e.kind_name()))
                        .collect();
                    let endpoints = if endpoints.is_empty() {
                        "(recognised by payload shape on any host)".to_owned()
                    } else {
                        endpoints.join(", ")
                    };
                    // A catalog given with --decoders names its own
                    // decoders: escaped like anything else from outside.
                    [d.id(), d.vendor(), d.version(), &endpoints].map(escape::terminal)
                })
                .collect();
            let width = |column: usize, title: &str| {
                rows.iter()
                    .filter_map(|row| row.get(column))
                    .map(|cell| cell.chars().count())
                    .chain([title.chars().count()])
                    .max()
                    .unwrap_or(0)
            };
            let (id, vendor, version) = (width(0, "ID"), width(1, "VENDOR"), width(2, "VERSION"));
            writeln!(
                out,
                "{:<id$} {:<vendor$} {:<version$} ENDPOINTS",
                "ID", "VENDOR", "VERSION"
            )?;
            for [d_id, d_vendor, d_version, endpoints] in &rows {
                writeln!(
                    out,
                    "{d_id:<id$} {d_vendor:<vendor$} {d_version:<version$} {endpoints}"
                )?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
