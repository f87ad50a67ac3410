//! Parquet output (cargo feature `parquet`): event records and matrix
//! tables as flat Parquet files that DuckDB, Polars and Spark load directly.
//!
//! Written with the `parquet` crate's low-level column writers, without
//! Arrow (which would add minutes to a clean build). A [`ParquetTable`]
//! buffers rows column by column and writes a row group every
//! [`ROWS_PER_GROUP`] rows, so memory stays bounded however many records a
//! study has. Every column is optional (nullable). Nested parts of a record
//! (fields, identifiers, flags, origin, lists) are JSON text columns: one
//! schema for every record, and DuckDB's `json` functions read them.

use pixelscope_matrix::{Cell, ColumnKind, Table};
use pixelscope_model::Event;
use pixelscope_report::RecordWriter;
use std::io::{self, Write};
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// Rows buffered before a row group is written (bounded memory).
const ROWS_PER_GROUP: usize = 16_384;

/// The physical type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text (`BYTE_ARRAY` annotated `STRING`).
    Text,
    /// `INT64`.
    Int,
    /// `BOOLEAN`.
    Bool,
    /// `INT64` annotated `TIMESTAMP(MICROS, UTC)`.
    Micros,
}

/// One value of a row; `None` is a Parquet null.
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Micros(Option<i64>),
}

/// Values of one column waiting to be written, with definition levels
/// (1 = present, 0 = null) as Parquet stores optional columns.
enum Buffer {
    Text(Vec<ByteArray>, Vec<i16>),
    Int(Vec<i64>, Vec<i16>),
    Bool(Vec<bool>, Vec<i16>),
}

/// A Parquet file being written row by row.
pub struct ParquetTable<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    buffers: Vec<Buffer>,
    rows: usize,
}

fn to_io(err: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(err.to_string())
}

impl<W: Write + Send> ParquetTable<W> {
    /// Starts a file with the given columns (names must be plain
    /// identifiers: letters, digits and `_`).
    pub fn new(out: W, name: &str, columns: &[(&str, ColumnType)]) -> io::Result<Self> {
        let mut message = format!("message {name} {{\n");
        for (column, kind) in columns {
            let line = match kind {
                ColumnType::Text => format!("  optional binary {column} (STRING);\n"),
                ColumnType::Int => format!("  optional int64 {column};\n"),
                ColumnType::Bool => format!("  optional boolean {column};\n"),
                ColumnType::Micros => {
                    format!("  optional int64 {column} (TIMESTAMP(MICROS, true));\n")
                }
            };
            message.push_str(&line);
        }
        message.push('}');
        let schema = Arc::new(parse_message_type(&message).map_err(to_io)?);
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("pixelscope {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(out, schema, Arc::new(properties)).map_err(to_io)?;
        let buffers = columns
            .iter()
            .map(|(_, kind)| match kind {
                ColumnType::Text => Buffer::Text(Vec::new(), Vec::new()),
                ColumnType::Int | ColumnType::Micros => Buffer::Int(Vec::new(), Vec::new()),
                ColumnType::Bool => Buffer::Bool(Vec::new(), Vec::new()),
            })
            .collect();
        Ok(ParquetTable {
            writer,
            buffers,
            rows: 0,
        })
    }

    /// Appends one row; its values must follow the column list in number
    /// and type.
    pub fn push(&mut self, row: Vec<Value>) -> io::Result<()> {
        if row.len() != self.buffers.len() {
            return Err(io::Error::other("parquet row does not match its schema"));
        }
        for (buffer, value) in self.buffers.iter_mut().zip(row) {
            match (buffer, value) {
                (Buffer::Text(values, levels), Value::Text(v)) => {
                    levels.push(i16::from(v.is_some()));
                    values.extend(v.map(|s| ByteArray::from(s.into_bytes())));
                }
                (Buffer::Int(values, levels), Value::Int(v) | Value::Micros(v)) => {
                    levels.push(i16::from(v.is_some()));
                    values.extend(v);
                }
                (Buffer::Bool(values, levels), Value::Bool(v)) => {
                    levels.push(i16::from(v.is_some()));
                    values.extend(v);
                }
                _ => return Err(io::Error::other("parquet value of the wrong type")),
            }
        }
        self.rows += 1;
        if self.rows >= ROWS_PER_GROUP {
            self.flush_group()?;
        }
        Ok(())
    }

    fn flush_group(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group().map_err(to_io)?;
        for buffer in &mut self.buffers {
            let Some(mut column) = group.next_column().map_err(to_io)? else {
                return Err(io::Error::other("parquet schema has fewer columns"));
            };
            match buffer {
                Buffer::Text(values, levels) => {
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(values, Some(levels), None)
                        .map_err(to_io)?;
                    values.clear();
                    levels.clear();
                }
                Buffer::Int(values, levels) => {
                    column
                        .typed::<Int64Type>()
                        .write_batch(values, Some(levels), None)
                        .map_err(to_io)?;
                    values.clear();
                    levels.clear();
                }
                Buffer::Bool(values, levels) => {
                    column
                        .typed::<BoolType>()
                        .write_batch(values, Some(levels), None)
                        .map_err(to_io)?;
                    values.clear();
                    levels.clear();
                }
            }
            column.close().map_err(to_io)?;
        }
        group.close().map_err(to_io)?;
        self.rows = 0;
        Ok(())
    }

    /// Writes the last row group and the footer.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush_group()?;
        let mut out = self.writer.into_inner().map_err(to_io)?;
        out.flush()
    }
}

/// Writes a matrix [`Table`]: counts as INT64, flags as BOOLEAN, times as
/// TIMESTAMP, lists as JSON arrays of text.
pub fn write_table<W: Write + Send>(out: W, name: &str, table: &Table) -> io::Result<()> {
    let columns: Vec<(&str, ColumnType)> = table
        .columns
        .iter()
        .map(|(column, kind)| {
            let kind = match kind {
                ColumnKind::Text | ColumnKind::List => ColumnType::Text,
                ColumnKind::Count => ColumnType::Int,
                ColumnKind::Flag => ColumnType::Bool,
                ColumnKind::Time => ColumnType::Micros,
            };
            (*column, kind)
        })
        .collect();
    let mut file = ParquetTable::new(out, name, &columns)?;
    for row in &table.rows {
        let values = row
            .iter()
            .map(|cell| match cell {
                Cell::Text(t) => Value::Text(Some(t.clone())),
                Cell::Count(n) => Value::Int(i64::try_from(*n).ok()),
                Cell::Flag(b) => Value::Bool(Some(*b)),
                Cell::Time(t) => Value::Micros(t.map(|t| t.nanos().div_euclid(1_000))),
                Cell::List(items) => Value::Text(serde_json::to_string(items).ok()),
            })
            .collect();
        file.push(values)?;
    }
    file.finish()
}

/// Columns of a record file: the scalar keys flat (`request.*` as
/// `request_*`), `time` both as the record's RFC 3339 text and as a
/// TIMESTAMP, and the nested parts as JSON text.
const EVENT_COLUMNS: [(&str, ColumnType); 24] = [
    ("schema", ColumnType::Text),
    ("tracker", ColumnType::Text),
    ("vendor", ColumnType::Text),
    ("kind", ColumnType::Text),
    ("event", ColumnType::Text),
    ("pixel_id", ColumnType::Text),
    ("page_url", ColumnType::Text),
    ("referrer", ColumnType::Text),
    ("page_title", ColumnType::Text),
    ("page_url_from", ColumnType::Text),
    ("time", ColumnType::Text),
    ("time_utc", ColumnType::Micros),
    ("request_method", ColumnType::Text),
    ("request_url", ColumnType::Text),
    ("request_host", ColumnType::Text),
    ("request_http_version", ColumnType::Text),
    ("request_content_encoding", ColumnType::Text),
    ("fields", ColumnType::Text),
    ("identifiers", ColumnType::Text),
    ("flags", ColumnType::Text),
    ("party", ColumnType::Text),
    ("detection", ColumnType::Text),
    ("origin", ColumnType::Text),
    ("origin_file", ColumnType::Text),
];

/// `scan --format parquet`: one row per record.
pub struct EventParquetWriter<W: Write + Send> {
    table: Option<ParquetTable<W>>,
}

impl<W: Write + Send> EventParquetWriter<W> {
    pub fn new(out: W) -> io::Result<Self> {
        Ok(EventParquetWriter {
            table: Some(ParquetTable::new(out, "pixelscope_event", &EVENT_COLUMNS)?),
        })
    }
}

/// A serde value as JSON text (an enum such as `kind` as its bare name).
fn json<T: serde::Serialize>(value: &T) -> io::Result<String> {
    serde_json::to_string(value).map_err(io::Error::other)
}

fn json_name<T: serde::Serialize>(value: &T) -> io::Result<String> {
    Ok(json(value)?.trim_matches('"').to_owned())
}

impl<W: Write + Send> RecordWriter for EventParquetWriter<W> {
    fn write_event(&mut self, e: &Event) -> io::Result<()> {
        let Some(table) = self.table.as_mut() else {
            return Err(io::Error::other("parquet file already finished"));
        };
        let text = |s: &Option<String>| Value::Text(s.clone());
        let row = vec![
            Value::Text(Some(e.schema.clone())),
            Value::Text(Some(e.tracker.clone())),
            Value::Text(Some(e.vendor.clone())),
            Value::Text(Some(json_name(&e.kind)?)),
            text(&e.event),
            text(&e.pixel_id),
            text(&e.page_url),
            text(&e.referrer),
            text(&e.page_title),
            text(&e.page_url_from),
            Value::Text(e.time.map(|t| t.to_string())),
            Value::Micros(e.time.map(|t| t.nanos().div_euclid(1_000))),
            Value::Text(Some(e.request.method.clone())),
            Value::Text(Some(e.request.url.clone())),
            text(&e.request.host),
            text(&e.request.http_version),
            Value::Text(Some(json(&e.request.content_encoding)?)),
            Value::Text(Some(json(&e.fields)?)),
            Value::Text(Some(json(&e.identifiers)?)),
            Value::Text(Some(json(&e.flags)?)),
            text(&e.party),
            Value::Text(Some(json_name(&e.detection)?)),
            Value::Text(Some(json(&e.origin)?)),
            Value::Text(Some(e.origin.file.clone())),
        ];
        table.push(row)
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.table.take() {
            Some(table) => table.finish(),
            None => Ok(()),
        }
    }
}
