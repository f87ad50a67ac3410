//! JSON Lines and JSON array output of `pixelscope.event/1` records.
//!
//! Each record is encoded into a reused buffer by [`json_encode`] and handed
//! to the destination in one `write_all`, so the destination (often a boxed
//! `BufWriter`) sees one call per record instead of one per JSON token.
//! Records too large to buffer (a bomb's body as a field) are streamed.

use crate::RecordWriter;
use crate::json_encode;
use pixelscope_model::Event;
use std::io::{self, Write};

/// One record per line: the canonical, streamable form.
pub struct JsonLinesWriter<W: Write> {
    out: W,
    /// The line being built; kept between records so it is allocated once.
    line: Vec<u8>,
}

impl<W: Write> JsonLinesWriter<W> {
    pub fn new(out: W) -> Self {
        JsonLinesWriter {
            out,
            line: Vec::new(),
        }
    }
}

impl<W: Write> RecordWriter for JsonLinesWriter<W> {
    fn write_event(&mut self, event: &Event) -> io::Result<()> {
        json_encode::write_event(&mut self.out, &mut self.line, event, b"\n")
    }

    fn write_json_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.out.write_all(lines)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The same records as one JSON array.
pub struct JsonArrayWriter<W: Write> {
    out: W,
    count: u64,
    /// The element being built, as for [`JsonLinesWriter`].
    element: Vec<u8>,
}

impl<W: Write> JsonArrayWriter<W> {
    pub fn new(out: W) -> Self {
        JsonArrayWriter {
            out,
            count: 0,
            element: Vec::new(),
        }
    }
}

impl<W: Write> RecordWriter for JsonArrayWriter<W> {
    fn write_event(&mut self, event: &Event) -> io::Result<()> {
        self.out
            .write_all(if self.count == 0 { b"[\n" } else { b",\n" })?;
        json_encode::write_event(&mut self.out, &mut self.element, event, b"")?;
        self.count += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out
            .write_all(if self.count == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.out.flush()
    }
}
