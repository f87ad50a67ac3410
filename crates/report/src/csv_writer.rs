//! CSV output: one row per record, lists joined with `; `.

use crate::escape::csv_cell;
use crate::{RecordWriter, flag_summary, identifier_summary};
use pixelscope_model::Event;
use std::io::{self, Write};

const COLUMNS: &[&str] = &[
    "time",
    "tracker",
    "vendor",
    "kind",
    "event",
    "pixel_id",
    "page_url",
    "referrer",
    "page_title",
    "identifiers",
    "identifier_values",
    "flags",
    "method",
    "url",
    "host",
    "detection",
    "file",
    "sha256",
    "format",
    "entry",
    "frames",
    "stream",
    "h2_stream",
    "tls",
];

/// Spreadsheet-safe CSV (see [`csv_cell`]).
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
    header_written: bool,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(out: W) -> Self {
        CsvWriter {
            out: csv::Writer::from_writer(out),
            header_written: false,
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.out.write_record(COLUMNS)?;
            self.header_written = true;
        }
        Ok(())
    }
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn num<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

impl<W: Write> RecordWriter for CsvWriter<W> {
    fn write_event(&mut self, e: &Event) -> io::Result<()> {
        self.header()?;
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let detection = serde_json::to_value(e.detection)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let format = serde_json::to_value(e.origin.format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let id_values: Vec<String> = e
            .identifiers
            .iter()
            .map(|i| format!("{}={}", i.path, i.value))
            .collect();
        let frames: Vec<String> = e
            .origin
            .frames
            .iter()
            .flatten()
            .map(u64::to_string)
            .collect();
        let row = [
            num(e.time),
            e.tracker.clone(),
            e.vendor.clone(),
            kind,
            opt(&e.event),
            opt(&e.pixel_id),
            opt(&e.page_url),
            opt(&e.referrer),
            opt(&e.page_title),
            identifier_summary(e),
            id_values.join("; "),
            flag_summary(e),
            e.request.method.clone(),
            e.request.url.clone(),
            opt(&e.request.host),
            detection,
            e.origin.file.clone(),
            opt(&e.origin.sha256),
            format,
            num(e.origin.entry),
            frames.join(" "),
            num(e.origin.stream),
            num(e.origin.h2_stream),
            opt(&e.origin.tls),
        ];
        self.out
            .write_record(row.iter().map(|cell| csv_cell(cell)))?;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}
