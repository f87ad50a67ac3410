//! `events.sqlite`: the records as tables an analyst can query with the
//! `sqlite3` shell. The schema is documented in `docs/EXHIBITS.md`.
//!
//! The file must be byte-identical for identical records, so it is built
//! from nothing every time (an old file is removed first), in one
//! transaction, with rows inserted in record order and indexes created after
//! the data; no journal file is left behind and nothing time-dependent is
//! stored. SQLite's page layout is then a function of the statements alone.

use crate::{BundleInput, enum_name};
use pixelscope_model::Origin;
use rusqlite::{Connection, params};
use std::io;
use std::path::Path;

/// `PRAGMA user_version` of the schema below; raised whenever a table or
/// column changes meaning.
pub(crate) const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE inputs (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  format TEXT
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  time TEXT,
  tracker TEXT NOT NULL,
  vendor TEXT NOT NULL,
  kind TEXT NOT NULL,
  event TEXT,
  pixel_id TEXT,
  page_url TEXT,
  referrer TEXT,
  page_title TEXT,
  method TEXT NOT NULL,
  url TEXT NOT NULL,
  host TEXT,
  http_version TEXT,
  content_encoding TEXT NOT NULL,
  detection TEXT NOT NULL,
  file TEXT NOT NULL,
  file_sha256 TEXT,
  format TEXT NOT NULL,
  entry INTEGER,
  frames TEXT,
  stream INTEGER,
  h2_stream INTEGER,
  tls TEXT,
  raw_request TEXT,
  record TEXT NOT NULL
);
CREATE TABLE fields (
  event_id INTEGER NOT NULL REFERENCES events(id),
  seq INTEGER NOT NULL,
  path TEXT NOT NULL,
  location TEXT NOT NULL,
  value TEXT NOT NULL,
  property TEXT,
  PRIMARY KEY (event_id, seq)
);
CREATE TABLE identifiers (
  event_id INTEGER NOT NULL REFERENCES events(id),
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  form TEXT NOT NULL,
  value TEXT NOT NULL,
  path TEXT NOT NULL,
  matched TEXT,
  PRIMARY KEY (event_id, seq)
);
CREATE TABLE flags (
  event_id INTEGER NOT NULL REFERENCES events(id),
  seq INTEGER NOT NULL,
  category TEXT NOT NULL,
  rule TEXT NOT NULL,
  text TEXT NOT NULL,
  path TEXT NOT NULL,
  PRIMARY KEY (event_id, seq)
);
CREATE TABLE diagnostics (
  id INTEGER PRIMARY KEY,
  severity TEXT NOT NULL,
  code TEXT NOT NULL,
  message TEXT NOT NULL,
  file TEXT NOT NULL,
  file_sha256 TEXT,
  format TEXT NOT NULL,
  entry INTEGER,
  frames TEXT,
  stream INTEGER,
  h2_stream INTEGER,
  tls TEXT
);
";

const INDEXES: &str = "
CREATE INDEX events_tracker ON events(tracker, event);
CREATE INDEX events_pixel_id ON events(pixel_id);
CREATE INDEX events_time ON events(time);
CREATE INDEX events_host ON events(host);
CREATE INDEX fields_path ON fields(path);
CREATE INDEX fields_property ON fields(property);
CREATE INDEX identifiers_value ON identifiers(value);
CREATE INDEX identifiers_type ON identifiers(type, form);
CREATE INDEX identifiers_matched ON identifiers(matched);
CREATE INDEX flags_category ON flags(category, rule);
CREATE INDEX diagnostics_code ON diagnostics(code);
";

fn sql_err(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("writing events.sqlite: {e}"))
}

fn frames_text(o: &Origin) -> Option<String> {
    o.frames
        .as_ref()
        .map(|f| f.iter().map(u64::to_string).collect::<Vec<_>>().join(" "))
}

/// SQLite integers are signed 64-bit; a larger value (never seen in
/// practice) is stored as NULL rather than wrapped to a wrong number.
fn int(value: Option<u64>) -> Option<i64> {
    value.and_then(|v| i64::try_from(v).ok())
}

fn seq(i: usize) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

pub(crate) fn write(input: &BundleInput, path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut db = Connection::open(path).map_err(sql_err)?;
    // No rollback journal: the file is written once from scratch, and a
    // crash leaves a file the manifest does not vouch for anyway.
    db.execute_batch(&format!(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = 4096; PRAGMA encoding = 'UTF-8'; PRAGMA user_version = {SCHEMA_VERSION};"
    ))
    .map_err(sql_err)?;
    let tx = db.transaction().map_err(sql_err)?;
    tx.execute_batch(SCHEMA).map_err(sql_err)?;
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO inputs (id, path, size, sha256, format) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(sql_err)?;
        for (i, file) in input.inputs.iter().enumerate() {
            stmt.execute(params![
                seq(i + 1),
                file.path,
                i64::try_from(file.size).unwrap_or(i64::MAX),
                file.sha256,
                file.format.as_ref().map(enum_name),
            ])
            .map_err(sql_err)?;
        }
    }
    {
        let mut event_stmt = tx
            .prepare(
                "INSERT INTO events (id, time, tracker, vendor, kind, event, pixel_id, page_url, referrer, page_title,
                   method, url, host, http_version, content_encoding, detection, file, file_sha256, format, entry,
                   frames, stream, h2_stream, tls, raw_request, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                   ?21, ?22, ?23, ?24, ?25, ?26)",
            )
            .map_err(sql_err)?;
        let mut field_stmt = tx
            .prepare("INSERT INTO fields (event_id, seq, path, location, value, property) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(sql_err)?;
        let mut id_stmt = tx
            .prepare(
                "INSERT INTO identifiers (event_id, seq, type, form, value, path, matched) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(sql_err)?;
        let mut flag_stmt = tx
            .prepare("INSERT INTO flags (event_id, seq, category, rule, text, path) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(sql_err)?;
        for (i, item) in input.events.iter().enumerate() {
            let e = &item.event;
            let id = seq(i + 1);
            let record = serde_json::to_string(e).map_err(io::Error::other)?;
            let o = &e.origin;
            event_stmt
                .execute(params![
                    id,
                    e.time.map(|t| t.to_string()),
                    e.tracker,
                    e.vendor,
                    enum_name(&e.kind),
                    e.event,
                    e.pixel_id,
                    e.page_url,
                    e.referrer,
                    e.page_title,
                    e.request.method,
                    e.request.url,
                    e.request.host,
                    e.request.http_version,
                    e.request.content_encoding.join(" "),
                    enum_name(&e.detection),
                    o.file,
                    o.sha256,
                    enum_name(&o.format),
                    int(o.entry),
                    frames_text(o),
                    int(o.stream),
                    o.h2_stream,
                    o.tls,
                    item.raw_request,
                    record,
                ])
                .map_err(sql_err)?;
            for (n, f) in e.fields.iter().enumerate() {
                field_stmt
                    .execute(params![
                        id,
                        seq(n + 1),
                        f.path,
                        f.location,
                        f.value,
                        f.property
                    ])
                    .map_err(sql_err)?;
            }
            for (n, x) in e.identifiers.iter().enumerate() {
                id_stmt
                    .execute(params![
                        id,
                        seq(n + 1),
                        x.kind,
                        x.form,
                        x.value,
                        x.path,
                        x.matched
                    ])
                    .map_err(sql_err)?;
            }
            for (n, f) in e.flags.iter().enumerate() {
                flag_stmt
                    .execute(params![id, seq(n + 1), f.category, f.rule, f.text, f.path])
                    .map_err(sql_err)?;
            }
        }
    }
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO diagnostics (id, severity, code, message, file, file_sha256, format, entry, frames, stream, h2_stream, tls)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .map_err(sql_err)?;
        for (i, d) in input.diagnostics.iter().enumerate() {
            let o = &d.origin;
            stmt.execute(params![
                seq(i + 1),
                enum_name(&d.severity),
                d.code,
                d.message,
                o.file,
                o.sha256,
                enum_name(&o.format),
                int(o.entry),
                frames_text(o),
                int(o.stream),
                o.h2_stream,
                o.tls,
            ])
            .map_err(sql_err)?;
        }
    }
    tx.execute_batch(INDEXES).map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    db.close().map_err(|(_, e)| sql_err(e))?;
    Ok(())
}
