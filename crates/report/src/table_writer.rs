//! A readable table for the terminal: one row per event.

use crate::escape::terminal;
use crate::{RecordWriter, flag_summary, identifier_summary};
use pixelscope_model::{Event, Kind};
use std::io::{self, Write};

const HEADINGS: [&str; 7] = [
    "TIME",
    "TRACKER",
    "EVENT",
    "PIXEL ID",
    "PAGE URL",
    "IDENTIFIERS",
    "FLAGS",
];
/// No cell is wider than this, whatever the terminal.
const MAX_CELL: usize = 60;

/// Collects rows, then lays them out when finished (column widths depend on
/// every row). Captured text is escaped with [`terminal`] first.
pub struct TableWriter<W: Write> {
    out: W,
    width: Option<usize>,
    rows: Vec<[String; 7]>,
}

impl<W: Write> TableWriter<W> {
    pub fn new(out: W, width: Option<usize>) -> Self {
        TableWriter {
            out,
            width,
            rows: Vec::new(),
        }
    }
}

fn event_cell(e: &Event) -> String {
    match (e.kind, &e.event) {
        (Kind::Event, Some(name)) => name.clone(),
        (Kind::Event, None) => "(event)".to_owned(),
        (Kind::Library, _) => "(library load)".to_owned(),
        (Kind::Contact, _) => "(contact)".to_owned(),
    }
}

fn truncate(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    let keep = width.saturating_sub(1);
    let mut out: String = text.chars().take(keep).collect();
    out.push('…');
    out
}

impl<W: Write> RecordWriter for TableWriter<W> {
    fn write_event(&mut self, e: &Event) -> io::Result<()> {
        let time = e.time.map(|t| t.to_string()).unwrap_or_default();
        let row = [
            time,
            e.tracker.clone(),
            event_cell(e),
            e.pixel_id.clone().unwrap_or_default(),
            e.page_url.clone().unwrap_or_default(),
            identifier_summary(e),
            flag_summary(e),
        ]
        .map(|cell| terminal(&cell));
        self.rows.push(row);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.rows.is_empty() {
            writeln!(self.out, "no tracker requests found")?;
            return self.out.flush();
        }
        let mut widths = HEADINGS.map(|h| h.chars().count());
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count()).min(MAX_CELL);
            }
        }
        // Fit the terminal by shrinking the page URL column first, then the
        // flags, then the identifiers, never below their headings.
        if let Some(limit) = self.width {
            let total = |w: &[usize; 7]| w.iter().sum::<usize>() + 2 * (w.len() - 1);
            for column in [4, 6, 5, 3] {
                let excess = total(&widths).saturating_sub(limit);
                if let Some(w) = widths.get_mut(column) {
                    let floor = HEADINGS.get(column).map_or(8, |h| h.len()).max(8);
                    *w = (*w).saturating_sub(excess).max(floor);
                }
            }
        }
        let line = |cells: &[String; 7]| -> String {
            let mut text = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                let cell = truncate(cell, w);
                if i + 1 == cells.len() {
                    text.push_str(&cell);
                } else {
                    let pad = w.saturating_sub(cell.chars().count());
                    text.push_str(&cell);
                    text.push_str(&" ".repeat(pad + 2));
                }
            }
            text.trim_end().to_owned()
        };
        writeln!(self.out, "{}", line(&HEADINGS.map(str::to_owned)))?;
        for row in &self.rows {
            writeln!(self.out, "{}", line(row))?;
        }
        self.out.flush()
    }
}
