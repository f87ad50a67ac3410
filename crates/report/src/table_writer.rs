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

/// Column widths are measured on this many first rows; later rows are laid
/// out in them (a longer cell is cut with `…`, as any cell over
/// [`MAX_CELL`] is). A table of a large capture then starts to appear at
/// once and needs no memory for rows it has printed.
const LAYOUT_ROWS: usize = 1000;

/// Collects the first rows, lays them out in columns as wide as they need,
/// then prints every further row as it comes. Captured text is escaped with
/// [`terminal`] first.
pub struct TableWriter<W: Write> {
    out: W,
    width: Option<usize>,
    rows: Vec<[String; 7]>,
    /// Set once the first rows are printed.
    widths: Option<[usize; 7]>,
}

impl<W: Write> TableWriter<W> {
    pub fn new(out: W, width: Option<usize>) -> Self {
        TableWriter {
            out,
            width,
            rows: Vec::new(),
            widths: None,
        }
    }

    /// Measures the held rows, then prints the heading and them.
    fn lay_out(&mut self) -> io::Result<()> {
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
        writeln!(self.out, "{}", line(&HEADINGS.map(str::to_owned), &widths))?;
        for row in std::mem::take(&mut self.rows) {
            writeln!(self.out, "{}", line(&row, &widths))?;
        }
        self.widths = Some(widths);
        Ok(())
    }
}

/// One row in columns of `widths`, cells cut to fit.
fn line(cells: &[String; 7], widths: &[usize; 7]) -> String {
    let mut text = String::new();
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        let cell = truncate(cell, *w);
        if i + 1 == cells.len() {
            text.push_str(&cell);
        } else {
            let pad = w.saturating_sub(cell.chars().count());
            text.push_str(&cell);
            text.push_str(&" ".repeat(pad + 2));
        }
    }
    text.trim_end().to_owned()
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
        match &self.widths {
            Some(widths) => writeln!(self.out, "{}", line(&row, widths)),
            None => {
                self.rows.push(row);
                if self.rows.len() >= LAYOUT_ROWS {
                    self.lay_out()?;
                }
                Ok(())
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.widths.is_none() {
            if self.rows.is_empty() {
                writeln!(self.out, "no tracker requests found")?;
            } else {
                self.lay_out()?;
            }
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    // Test code: a failed expectation is meant to stop the test.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use pixelscope_model::{Exchange, InputFormat, Origin, Request};

    fn event(tracker: &str, page: &str) -> Event {
        let exchange = Exchange {
            request: Request {
                method: "GET".into(),
                url: "https://px.example/e".into(),
                ..Request::default()
            },
            origin: Origin::file("a.har", None, InputFormat::Har),
            ..Exchange::default()
        };
        let mut event = Event::for_exchange(tracker, "Vendor", Kind::Event, &exchange);
        event.event = Some("PageView".into());
        event.page_url = Some(page.into());
        event
    }

    fn table(events: &[Event]) -> String {
        let mut out = Vec::new();
        let mut writer = TableWriter::new(&mut out, None);
        for e in events {
            writer.write_event(e).unwrap();
        }
        writer.finish().unwrap();
        drop(writer);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_small_table_is_as_wide_as_its_widest_cells() {
        let text = table(&[
            event("meta", "https://a.test/"),
            event("tiktok", "https://b.test/x"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let page = lines[0].find("PAGE URL").unwrap();
        assert_eq!(lines[2].get(page..page + 16), Some("https://b.test/x"));
        assert_eq!(table(&[]), "no tracker requests found\n");
    }

    #[test]
    fn rows_after_the_first_thousand_keep_their_columns_and_are_not_held() {
        let mut events: Vec<Event> = (0..LAYOUT_ROWS)
            .map(|i| event("meta", &format!("https://a.test/{i}")))
            .collect();
        // Longer than any first-thousand page: cut to the column, not widening it.
        events.push(event(
            "a-much-longer-tracker",
            "https://a.test/a-much-longer-page",
        ));
        events.push(event("meta", "https://a.test/ok"));
        let mut out = Vec::new();
        let mut writer = TableWriter::new(&mut out, None);
        for e in &events {
            writer.write_event(e).unwrap();
        }
        // Everything up to here is printed already; nothing is held.
        assert!(writer.rows.is_empty() && writer.widths.is_some());
        writer.finish().unwrap();
        drop(writer);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), events.len() + 1);
        // Columns count characters (a cut cell ends in a 3-byte `…`).
        let page = lines[0].find("PAGE URL").unwrap();
        let from_page = |line: &str| line.chars().skip(page).collect::<String>();
        let long = lines[LAYOUT_ROWS + 1];
        assert!(long.contains("a-much…"), "{long}");
        assert_eq!(from_page(long), "https://a.test/a-…", "{long}");
        assert_eq!(from_page(lines[LAYOUT_ROWS + 2]), "https://a.test/ok");
    }
}
