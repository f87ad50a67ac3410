//! Writers that turn pixelscope records into output.
//!
//! Each format implements [`RecordWriter`]: records are pushed one at a time
//! and `finish` closes the document. JSON Lines is the canonical form (the
//! `pixelscope.event/1` record, one per line); JSON wraps the same records in
//! an array; CSV flattens them for spreadsheets; the table is for people at a
//! terminal.
//!
//! Everything a record holds was captured from the network and is hostile.
//! The [`escape`] module makes it inert for each destination: terminal
//! control sequences are shown as visible escapes, and CSV cells that a
//! spreadsheet would run as formulas are neutralised.

mod csv_writer;
pub mod escape;
mod json_encode;
mod json_writer;
mod table_writer;

pub use csv_writer::CsvWriter;
pub use json_writer::{JsonArrayWriter, JsonLinesWriter};
pub use table_writer::TableWriter;

use pixelscope_model::Event;
use std::io;

/// Output formats of `scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Jsonl,
    Json,
    Csv,
}

impl Format {
    /// Parses a `--format` value.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "table" => Some(Format::Table),
            "jsonl" => Some(Format::Jsonl),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// A destination for records.
pub trait RecordWriter {
    fn write_event(&mut self, event: &Event) -> io::Result<()>;
    /// Writes records already encoded by [`encode_json_line`] (so that
    /// threads reading files in parallel can encode their own records).
    /// Only the JSON Lines writer takes them; the others refuse.
    fn write_json_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let _ = lines;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "only the JSON Lines writer takes encoded records",
        ))
    }
    /// Completes the document (closing brackets, table layout, flush).
    fn finish(&mut self) -> io::Result<()>;
}

/// Appends `event` to `out` as one JSON Lines record, newline included,
/// exactly as [`JsonLinesWriter`] writes it. Returns `false` and appends
/// nothing for a record too large to build in memory (a decompression
/// bomb's body as a field): such a record must go through a writer, which
/// streams it.
pub fn encode_json_line(event: &Event, out: &mut Vec<u8>) -> bool {
    if json_encode::is_large(event) {
        return false;
    }
    json_encode::event(out, event);
    out.push(b'\n');
    true
}

/// A writer for `format` over `out`. `width` is the terminal width for the
/// table (None: no limit, for files and pipes).
pub fn writer<'a, W: io::Write + 'a>(
    format: Format,
    out: W,
    width: Option<usize>,
) -> Box<dyn RecordWriter + 'a> {
    match format {
        Format::Table => Box::new(TableWriter::new(out, width)),
        Format::Jsonl => Box::new(JsonLinesWriter::new(out)),
        Format::Json => Box::new(JsonArrayWriter::new(out)),
        Format::Csv => Box::new(CsvWriter::new(out)),
    }
}

/// Short human description of an event's identifiers: `email sha256, ttp`.
pub fn identifier_summary(event: &Event) -> String {
    let mut parts: Vec<String> = Vec::new();
    for id in &event.identifiers {
        let text = if id.form == "plain" {
            id.kind.clone()
        } else {
            format!("{} {}", id.kind, id.form)
        };
        let text = match &id.matched {
            Some(label) => format!("{text} ={label}"),
            None => text,
        };
        if !parts.contains(&text) {
            parts.push(text);
        }
    }
    parts.join(", ")
}

/// Short human description of an event's flags: `health: erectile dysfunction`.
pub fn flag_summary(event: &Event) -> String {
    let mut parts: Vec<String> = Vec::new();
    for flag in &event.flags {
        // A linkage or policy flag's text is an identifier or a category;
        // its rule says more.
        let text = match flag.category.as_str() {
            "linkage" | "policy" => flag.rule.clone(),
            _ => format!("{}: {}", flag.category, flag.text),
        };
        if !parts.contains(&text) {
            parts.push(text);
        }
    }
    parts.join(", ")
}

/// Where the record's bytes are, in one short phrase: `entry 12`,
/// `frames 120,121 stream 7 h2 15`.
pub fn origin_summary(event: &Event) -> String {
    let o = &event.origin;
    let mut parts = Vec::new();
    if let Some(entry) = o.entry {
        parts.push(format!("entry {entry}"));
    }
    if let Some(frames) = &o.frames {
        let list: Vec<String> = frames.iter().map(u64::to_string).collect();
        parts.push(format!("frames {}", list.join(",")));
    }
    if let Some(stream) = o.stream {
        parts.push(format!("stream {stream}"));
    }
    if let Some(h2) = o.h2_stream {
        parts.push(format!("h2 {h2}"));
    }
    parts.join(" ")
}
