//! `pixelscope matrix`: one row per site and tracker — what each site sent
//! to each tracker — and one total per tracker, over any number of inputs.
//!
//! The inputs go through the same pipeline as `scan` (in parallel, in input
//! order); each record is folded into a [`Matrix`] and dropped, so memory
//! grows with the number of (site, tracker) pairs, not of records. The
//! aggregation rules are in the `pixelscope-matrix` crate; this module
//! renders the result: a terminal table (captured text escaped), CSV
//! (formula prefixes neutralised), JSON, or Parquet.

use crate::args::{MatrixArgs, MatrixFormat};
use crate::pipeline::{self, FileOutcome};
use anyhow::Context;
use pixelscope_matrix::{Matrix, Table};
use pixelscope_report::escape;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

/// Names the JSON document, as `pixelscope.event/1` names a record.
const MATRIX_SCHEMA: &str = "pixelscope.matrix/1";

pub fn run(args: &MatrixArgs) -> anyhow::Result<ExitCode> {
    let (inputs, pipeline) = match pipeline::prepare(&args.inputs, &args.analysis) {
        Ok(ready) => ready,
        Err(code) => return Ok(code),
    };
    if args.format == MatrixFormat::Parquet && args.output.is_none() {
        eprintln!("pixelscope: --format parquet writes a file: give it with -o FILE");
        return Ok(ExitCode::from(2));
    }
    for line in &pipeline.setup_diagnostics {
        eprintln!("pixelscope: warning: {}", escape::terminal(line));
    }
    let threads = pipeline::thread_count(args.threads);

    let mut matrix = Matrix::new(pixelscope_analyze::site);
    let mut unreadable = 0usize;
    pipeline::run_all(&pipeline, &inputs, threads, |outcome| {
        let FileOutcome {
            path,
            events,
            fatal,
            skipped,
            ..
        } = outcome;
        if skipped {
            return Ok(());
        }
        matrix.add_file(&events);
        if let Some(message) = fatal {
            unreadable += 1;
            eprintln!(
                "pixelscope: {}: {}",
                escape::terminal(&path),
                escape::terminal(&message)
            );
        }
        Ok(())
    })?;

    match &args.output {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            write(args, &matrix, BufWriter::new(file))?;
        }
        None => write(args, &matrix, BufWriter::new(io::stdout()))?,
    }
    Ok(if unreadable > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write<W: Write + Send>(args: &MatrixArgs, matrix: &Matrix, mut out: W) -> anyhow::Result<()> {
    let chosen = || {
        if args.totals {
            matrix.total_table()
        } else {
            matrix.row_table()
        }
    };
    match args.format {
        MatrixFormat::Table => {
            if !args.totals {
                write_text_table(&mut out, &matrix.row_table())?;
                writeln!(out)?;
            }
            write_text_table(&mut out, &matrix.total_table())?;
        }
        MatrixFormat::Csv => write_csv(&mut out, &chosen())?,
        MatrixFormat::Json => {
            let document = serde_json::json!({
                "schema": MATRIX_SCHEMA,
                "rows": matrix.rows(),
                "trackers": matrix.totals(),
            });
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
        MatrixFormat::Parquet => return write_parquet(out, args.totals, &chosen()),
    }
    out.flush()?;
    Ok(())
}

#[cfg(feature = "parquet")]
fn write_parquet<W: Write + Send>(out: W, totals: bool, table: &Table) -> anyhow::Result<()> {
    let name = if totals {
        "pixelscope_matrix_tracker"
    } else {
        "pixelscope_matrix_row"
    };
    crate::parquet_out::write_table(out, name, table)?;
    Ok(())
}

#[cfg(not(feature = "parquet"))]
fn write_parquet<W: Write + Send>(_out: W, _totals: bool, _table: &Table) -> anyhow::Result<()> {
    anyhow::bail!(
        "this build has no Parquet output; build with `cargo build --release --features parquet`"
    )
}

/// RFC 4180 CSV: every cell neutralised against spreadsheet formulas, and
/// quoted when it holds a comma, quote or line break.
fn write_csv(out: &mut impl Write, table: &Table) -> io::Result<()> {
    let header: Vec<String> = table.columns.iter().map(|(n, _)| (*n).to_owned()).collect();
    write_csv_line(out, &header)?;
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(|c| escape::csv_cell(&c.text())).collect();
        write_csv_line(out, &cells)?;
    }
    Ok(())
}

fn write_csv_line(out: &mut impl Write, cells: &[String]) -> io::Result<()> {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if cell.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(cell);
        }
    }
    line.push_str("\r\n");
    out.write_all(line.as_bytes())
}

/// Columns padded to their widest cell; captured text escaped for the
/// terminal. Nothing is cut: a matrix is evidence.
fn write_text_table(out: &mut impl Write, table: &Table) -> io::Result<()> {
    let header: Vec<String> = table.columns.iter().map(|(n, _)| (*n).to_owned()).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| row.iter().map(|c| escape::terminal(&c.text())).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count());
            text.extend(std::iter::repeat_n(' ', pad));
        }
        let mut text = text.trim_end().to_owned();
        text.push('\n');
        text
    };
    out.write_all(line(&header).as_bytes())?;
    for row in &rows {
        out.write_all(line(row).as_bytes())?;
    }
    if rows.is_empty() {
        out.write_all(b"(no tracker records)\n")?;
    }
    Ok(())
}
