//! JSON Lines and JSON array output of `pixelscope.event/1` records.

use crate::RecordWriter;
use pixelscope_model::Event;
use std::io::{self, Write};

/// One record per line: the canonical, streamable form.
pub struct JsonLinesWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonLinesWriter<W> {
    pub fn new(out: W) -> Self {
        JsonLinesWriter { out }
    }
}

impl<W: Write> RecordWriter for JsonLinesWriter<W> {
    fn write_event(&mut self, event: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The same records as one JSON array.
pub struct JsonArrayWriter<W: Write> {
    out: W,
    count: u64,
}

impl<W: Write> JsonArrayWriter<W> {
    pub fn new(out: W) -> Self {
        JsonArrayWriter { out, count: 0 }
    }
}

impl<W: Write> RecordWriter for JsonArrayWriter<W> {
    fn write_event(&mut self, event: &Event) -> io::Result<()> {
        self.out
            .write_all(if self.count == 0 { b"[\n" } else { b",\n" })?;
        serde_json::to_writer(&mut self.out, event)?;
        self.count += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out
            .write_all(if self.count == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.out.flush()
    }
}
