//! The site × tracker matrix of a study: for every site whose pages were
//! recorded, what each tracker was sent from them.
//!
//! A [`Matrix`] is fed `pixelscope.event/1` records one at a time
//! ([`Matrix::add`]) and keeps only one small [`Row`] accumulator per
//! (site, tracker) pair, so a corpus of thousands of files is summarised in
//! memory proportional to the number of pairs, not of records. When all
//! records are in, [`Matrix::rows`] gives the rows in (site, tracker) order
//! and [`Matrix::totals`] one [`TrackerTotal`] per tracker (how many sites
//! it reached, how many sent it hashed e-mail, …).
//!
//! The site of a record is the registrable domain of its `page_url` host.
//! Working that out needs the public-suffix list, which lives in the
//! analyzer; the caller passes the function in ([`Matrix::new`]) so this
//! crate depends on the record vocabulary only. A record that names no page
//! (a tag's script load, a DNS/SNI contact) takes the site of its input
//! file when all of the file's pages are on one site ([`Matrix::add_file`]);
//! otherwise it goes to the row of the site [`UNKNOWN_SITE`], which is
//! listed but never counted as a site reached.
//!
//! Rows and totals are also offered as a typed [`Table`] (named columns of
//! text, counts, flags, times and lists) so every writer — terminal table,
//! CSV, Parquet — renders the same columns in the same order; escaping for
//! each destination is the writer's job.

use pixelscope_model::{Event, Kind, Timestamp};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The site of records that name no page.
pub const UNKNOWN_SITE: &str = "(unknown)";

/// What one site sent to one tracker.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Registrable domain of the pages (`capturelab.test`), or [`UNKNOWN_SITE`].
    pub site: String,
    /// Decoder id (`meta`).
    pub tracker: String,
    pub vendor: String,
    /// Records of kind `event` (beacons that sent data).
    pub events: u64,
    /// Distinct event names as sent, sorted.
    pub event_names: Vec<String>,
    /// Distinct identifier kinds and forms sent, as `KIND FORM`
    /// (`email sha256`, `client_id plain`), sorted.
    pub identifiers: Vec<String>,
    /// Whether a hashed (any form but `plain`) e-mail address was sent.
    pub hashed_email: bool,
    /// Labels of the known identities (`--identity`) that were matched.
    pub matched: Vec<String>,
    /// Sensitive-content and policy flag categories (`health`, `religion`),
    /// sorted; `search` and `linkage` have their own columns.
    pub sensitive: Vec<String>,
    /// Whether a search term was sent.
    pub search: bool,
    /// Whether identifiers of one person were linked together.
    pub linkage: bool,
    /// Records of kind `library`: the tracker's tag or script was loaded.
    pub library_loads: u64,
    /// Records of kind `contact`: a connection whose content was unreadable.
    pub contacts: u64,
    /// Earliest and latest request time over every record of the row.
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    /// Input files the row's records came from, sorted.
    pub files: Vec<String>,
}

/// One tracker's reach over the whole study.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TrackerTotal {
    pub tracker: String,
    pub vendor: String,
    /// Known sites with any record of the tracker (event, library load or
    /// contact).
    pub sites_reached: u64,
    /// Known sites that sent the tracker at least one event.
    pub sites_with_events: u64,
    /// Events over every site, the unknown one included.
    pub events: u64,
    /// Known sites that sent the tracker a hashed e-mail address.
    pub sites_hashed_email: u64,
    /// Known sites that sent the tracker something flagged sensitive.
    pub sites_sensitive: u64,
}

/// Accumulates rows from records.
pub struct Matrix {
    site_of_host: fn(&str) -> String,
    cells: BTreeMap<(String, String), Accumulator>,
}

/// A row under construction: sets keep distinct values in sorted order.
#[derive(Default)]
struct Accumulator {
    vendor: String,
    events: u64,
    event_names: BTreeSet<String>,
    identifiers: BTreeSet<String>,
    hashed_email: bool,
    matched: BTreeSet<String>,
    sensitive: BTreeSet<String>,
    search: bool,
    linkage: bool,
    library_loads: u64,
    contacts: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    files: BTreeSet<String>,
}

impl Matrix {
    /// An empty matrix; `site_of_host` maps a host name to its site
    /// (registrable domain), e.g. `pixelscope_analyze::site`.
    pub fn new(site_of_host: fn(&str) -> String) -> Matrix {
        Matrix {
            site_of_host,
            cells: BTreeMap::new(),
        }
    }

    /// The site a record belongs to: the site of its page URL's host, or
    /// [`UNKNOWN_SITE`].
    pub fn site_of(&self, event: &Event) -> String {
        event
            .page_url
            .as_deref()
            .and_then(url_host)
            .map_or_else(|| UNKNOWN_SITE.to_owned(), |h| (self.site_of_host)(h))
    }

    /// Counts the records of one input file. Records that name no page (a
    /// tag's script load, a DNS/SNI contact) are put under the file's site
    /// when every record of the file that does name a page names the same
    /// site — the usual study layout of one recording per site visit —
    /// and under [`UNKNOWN_SITE`] otherwise.
    pub fn add_file(&mut self, events: &[Event]) {
        let mut sites: BTreeSet<String> = events
            .iter()
            .filter(|e| e.page_url.is_some())
            .map(|e| self.site_of(e))
            .collect();
        sites.remove(UNKNOWN_SITE);
        let file_site = match (sites.pop_first(), sites.is_empty()) {
            (Some(site), true) => site,
            _ => UNKNOWN_SITE.to_owned(),
        };
        for event in events {
            let site = self.site_of(event);
            let site = if site == UNKNOWN_SITE {
                file_site.clone()
            } else {
                site
            };
            self.add_to(site, event);
        }
    }

    /// Counts one record on its own: a record naming no page goes under
    /// [`UNKNOWN_SITE`].
    pub fn add(&mut self, event: &Event) {
        let site = self.site_of(event);
        self.add_to(site, event);
    }

    fn add_to(&mut self, site: String, event: &Event) {
        let cell = self.cells.entry((site, event.tracker.clone())).or_default();
        if cell.vendor.is_empty() {
            cell.vendor.clone_from(&event.vendor);
        }
        match event.kind {
            Kind::Event => {
                cell.events += 1;
                if let Some(name) = &event.event {
                    insert(&mut cell.event_names, name);
                }
            }
            Kind::Library => cell.library_loads += 1,
            Kind::Contact => cell.contacts += 1,
        }
        for id in &event.identifiers {
            let label = format!("{} {}", id.kind, id.form);
            cell.identifiers.insert(label);
            if id.kind == "email" && id.form != "plain" {
                cell.hashed_email = true;
            }
            if let Some(who) = &id.matched {
                insert(&mut cell.matched, who);
            }
        }
        // `search` and `linkage` get their own columns instead of the
        // `sensitive` list: a search term is not sensitive by itself, and
        // linkage (one person's identifiers tied together) is a property of
        // the data flow, not of the page's content.
        for flag in &event.flags {
            match flag.category.as_str() {
                "search" => cell.search = true,
                "linkage" => cell.linkage = true,
                category => insert(&mut cell.sensitive, category),
            }
        }
        if let Some(time) = event.time {
            cell.first = Some(cell.first.map_or(time, |t| t.min(time)));
            cell.last = Some(cell.last.map_or(time, |t| t.max(time)));
        }
        insert(&mut cell.files, &event.origin.file);
    }

    /// Every (site, tracker) pair seen, in that order.
    pub fn rows(&self) -> Vec<Row> {
        self.cells
            .iter()
            .map(|((site, tracker), a)| Row {
                site: site.clone(),
                tracker: tracker.clone(),
                vendor: a.vendor.clone(),
                events: a.events,
                event_names: a.event_names.iter().cloned().collect(),
                identifiers: a.identifiers.iter().cloned().collect(),
                hashed_email: a.hashed_email,
                matched: a.matched.iter().cloned().collect(),
                sensitive: a.sensitive.iter().cloned().collect(),
                search: a.search,
                linkage: a.linkage,
                library_loads: a.library_loads,
                contacts: a.contacts,
                first: a.first,
                last: a.last,
                files: a.files.iter().cloned().collect(),
            })
            .collect()
    }

    /// One total per tracker, in tracker order.
    pub fn totals(&self) -> Vec<TrackerTotal> {
        let mut totals: BTreeMap<&str, TrackerTotal> = BTreeMap::new();
        for ((site, tracker), a) in &self.cells {
            let total = totals
                .entry(tracker.as_str())
                .or_insert_with(|| TrackerTotal {
                    tracker: tracker.clone(),
                    vendor: a.vendor.clone(),
                    ..TrackerTotal::default()
                });
            total.events += a.events;
            if site == UNKNOWN_SITE {
                continue;
            }
            total.sites_reached += 1;
            total.sites_with_events += u64::from(a.events > 0);
            total.sites_hashed_email += u64::from(a.hashed_email);
            total.sites_sensitive += u64::from(!a.sensitive.is_empty());
        }
        totals.into_values().collect()
    }

    /// Whether no record was added.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

fn insert(set: &mut BTreeSet<String>, value: &str) {
    if !set.contains(value) {
        set.insert(value.to_owned());
    }
}

/// The host of an absolute URL (`https://user@Host:8443/x` → `Host`), or
/// `None` when the text has no `scheme://host`.
pub fn url_host(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or(bracketed)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    (!host.is_empty()).then_some(host)
}

/// What a column holds, so each writer can type it (Parquet) or format it
/// (CSV, terminal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Count,
    Flag,
    Time,
    List,
}

/// One value of a [`Table`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Count(u64),
    Flag(bool),
    Time(Option<Timestamp>),
    List(Vec<String>),
}

impl Cell {
    /// The value as text: lists joined with `; `, flags as `yes`/`no`,
    /// absent times as an empty string.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Flag(b) => if *b { "yes" } else { "no" }.to_owned(),
            Cell::Time(t) => t.map(|t| t.to_string()).unwrap_or_default(),
            Cell::List(items) => items.join("; "),
        }
    }
}

/// Named, typed columns and their rows, ready for a writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<(&'static str, ColumnKind)>,
    pub rows: Vec<Vec<Cell>>,
}

/// Columns of [`Row`] in output order.
pub const ROW_COLUMNS: [(&str, ColumnKind); 16] = [
    ("site", ColumnKind::Text),
    ("tracker", ColumnKind::Text),
    ("vendor", ColumnKind::Text),
    ("events", ColumnKind::Count),
    ("event_names", ColumnKind::List),
    ("identifiers", ColumnKind::List),
    ("hashed_email", ColumnKind::Flag),
    ("matched", ColumnKind::List),
    ("sensitive", ColumnKind::List),
    ("search", ColumnKind::Flag),
    ("linkage", ColumnKind::Flag),
    ("library_loads", ColumnKind::Count),
    ("contacts", ColumnKind::Count),
    ("first", ColumnKind::Time),
    ("last", ColumnKind::Time),
    ("files", ColumnKind::List),
];

/// Columns of [`TrackerTotal`] in output order.
pub const TOTAL_COLUMNS: [(&str, ColumnKind); 7] = [
    ("tracker", ColumnKind::Text),
    ("vendor", ColumnKind::Text),
    ("sites_reached", ColumnKind::Count),
    ("sites_with_events", ColumnKind::Count),
    ("events", ColumnKind::Count),
    ("sites_hashed_email", ColumnKind::Count),
    ("sites_sensitive", ColumnKind::Count),
];

impl Row {
    /// The row's values in [`ROW_COLUMNS`] order.
    pub fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.site.clone()),
            Cell::Text(self.tracker.clone()),
            Cell::Text(self.vendor.clone()),
            Cell::Count(self.events),
            Cell::List(self.event_names.clone()),
            Cell::List(self.identifiers.clone()),
            Cell::Flag(self.hashed_email),
            Cell::List(self.matched.clone()),
            Cell::List(self.sensitive.clone()),
            Cell::Flag(self.search),
            Cell::Flag(self.linkage),
            Cell::Count(self.library_loads),
            Cell::Count(self.contacts),
            Cell::Time(self.first),
            Cell::Time(self.last),
            Cell::List(self.files.clone()),
        ]
    }
}

impl TrackerTotal {
    /// The total's values in [`TOTAL_COLUMNS`] order.
    pub fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.tracker.clone()),
            Cell::Text(self.vendor.clone()),
            Cell::Count(self.sites_reached),
            Cell::Count(self.sites_with_events),
            Cell::Count(self.events),
            Cell::Count(self.sites_hashed_email),
            Cell::Count(self.sites_sensitive),
        ]
    }
}

impl Matrix {
    /// The rows as a [`Table`].
    pub fn row_table(&self) -> Table {
        Table {
            columns: ROW_COLUMNS.to_vec(),
            rows: self.rows().iter().map(Row::cells).collect(),
        }
    }

    /// The per-tracker totals as a [`Table`].
    pub fn total_table(&self) -> Table {
        Table {
            columns: TOTAL_COLUMNS.to_vec(),
            rows: self.totals().iter().map(TrackerTotal::cells).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelscope_model::{Exchange, Flag, Identifier, Origin, Request};

    /// Test stand-in for the public-suffix lookup: the last two labels.
    fn last_two_labels(host: &str) -> String {
        let labels: Vec<&str> = host.split('.').collect();
        labels[labels.len().saturating_sub(2)..].join(".")
    }

    fn record(tracker: &str, kind: Kind, page: Option<&str>, file: &str, at: i64) -> Event {
        let exchange = Exchange {
            request: Request {
                method: "GET".into(),
                url: format!("https://{tracker}.example/collect"),
                ..Request::default()
            },
            origin: Origin {
                file: file.to_owned(),
                ..Origin::default()
            },
            time: Some(Timestamp(at)),
            ..Exchange::default()
        };
        let mut event = Event::for_exchange(tracker, &tracker.to_uppercase(), kind, &exchange);
        event.page_url = page.map(str::to_owned);
        event
    }

    #[test]
    fn rows_summarise_what_each_site_sent_each_tracker() {
        let mut m = Matrix::new(last_two_labels);
        let mut purchase = record(
            "meta",
            Kind::Event,
            Some("https://www.shop.test/thanks"),
            "b.har",
            20,
        );
        purchase.event = Some("Purchase".into());
        purchase.identifiers.push(Identifier {
            kind: "email".into(),
            form: "sha256".into(),
            matched: Some("subject-1".into()),
            ..Identifier::default()
        });
        purchase.flags.push(Flag {
            category: "health".into(),
            ..Flag::default()
        });
        purchase.flags.push(Flag {
            category: "linkage".into(),
            ..Flag::default()
        });
        let mut view = record("meta", Kind::Event, Some("https://shop.test/"), "a.har", 10);
        view.event = Some("PageView".into());
        m.add(&purchase);
        m.add(&view);
        m.add(&record(
            "meta",
            Kind::Library,
            Some("https://shop.test/"),
            "a.har",
            5,
        ));
        m.add(&record("meta", Kind::Contact, None, "c.pcap", 1));
        m.add(&record(
            "ga4",
            Kind::Event,
            Some("https://news.test:8443/a"),
            "a.har",
            7,
        ));

        let rows = m.rows();
        let keys: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.site.as_str(), r.tracker.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("(unknown)", "meta"),
                ("news.test", "ga4"),
                ("shop.test", "meta")
            ]
        );
        let shop = &rows[2];
        assert_eq!(shop.events, 2);
        assert_eq!(shop.library_loads, 1);
        assert_eq!(shop.event_names, ["PageView", "Purchase"]);
        assert_eq!(shop.identifiers, ["email sha256"]);
        assert!(shop.hashed_email);
        assert_eq!(shop.matched, ["subject-1"]);
        assert_eq!(shop.sensitive, ["health"]);
        assert!(shop.linkage && !shop.search);
        assert_eq!(shop.first, Some(Timestamp(5)));
        assert_eq!(shop.last, Some(Timestamp(20)));
        assert_eq!(shop.files, ["a.har", "b.har"]);
        assert_eq!(rows[0].contacts, 1);
        assert_eq!(rows[0].events, 0);

        let totals = m.totals();
        assert_eq!(totals.len(), 2);
        let meta = &totals[1];
        assert_eq!(meta.tracker, "meta");
        // The unknown site's contact is not a site reached.
        assert_eq!(meta.sites_reached, 1);
        assert_eq!(meta.sites_with_events, 1);
        assert_eq!(meta.events, 2);
        assert_eq!(meta.sites_hashed_email, 1);
        assert_eq!(meta.sites_sensitive, 1);
    }

    #[test]
    fn records_without_a_page_join_the_site_of_their_file() {
        let mut m = Matrix::new(last_two_labels);
        let page = Some("https://www.shop.test/");
        m.add_file(&[
            record("meta", Kind::Library, None, "one-site.har", 1),
            record("meta", Kind::Event, page, "one-site.har", 2),
        ]);
        let rows = m.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].site, "shop.test");
        assert_eq!((rows[0].library_loads, rows[0].events), (1, 1));

        // A file that visited two sites cannot say which loaded the tag.
        let mut m = Matrix::new(last_two_labels);
        m.add_file(&[
            record("meta", Kind::Library, None, "two-sites.har", 1),
            record("meta", Kind::Event, page, "two-sites.har", 2),
            record(
                "meta",
                Kind::Event,
                Some("https://b.test/"),
                "two-sites.har",
                3,
            ),
        ]);
        let sites: Vec<String> = m.rows().into_iter().map(|r| r.site).collect();
        assert_eq!(sites, ["(unknown)", "b.test", "shop.test"]);
    }

    #[test]
    fn plain_email_is_not_hashed_email() {
        let mut m = Matrix::new(last_two_labels);
        let mut e = record("x", Kind::Event, Some("https://a.test/"), "f", 1);
        e.identifiers.push(Identifier {
            kind: "email".into(),
            form: "plain".into(),
            ..Identifier::default()
        });
        m.add(&e);
        assert!(!m.rows()[0].hashed_email);
        assert_eq!(m.rows()[0].identifiers, ["email plain"]);
        assert_eq!(m.totals()[0].sites_hashed_email, 0);
    }

    #[test]
    fn hosts_are_taken_from_urls_of_any_shape() {
        assert_eq!(url_host("https://www.a.test/x?y"), Some("www.a.test"));
        assert_eq!(url_host("http://u:p@h.test:81#f"), Some("h.test"));
        assert_eq!(url_host("http://[::1]:8080/"), Some("::1"));
        assert_eq!(url_host("about:blank"), None);
        assert_eq!(url_host("https:///path"), None);
    }

    #[test]
    fn tables_follow_their_column_lists() {
        let mut m = Matrix::new(last_two_labels);
        m.add(&record("x", Kind::Event, Some("https://a.test/"), "f", 0));
        let rows = m.row_table();
        assert_eq!(rows.rows[0].len(), rows.columns.len());
        assert_eq!(rows.rows[0][13].text(), "1970-01-01T00:00:00.000Z");
        let totals = m.total_table();
        assert_eq!(totals.rows[0].len(), totals.columns.len());
        assert_eq!(
            Cell::List(vec!["a".into(), "b".into()]).text(),
            "a; b".to_owned()
        );
    }

    #[test]
    fn rows_serialise_with_rfc3339_times() {
        let mut m = Matrix::new(last_two_labels);
        m.add(&record("x", Kind::Event, Some("https://a.test/"), "f", 0));
        let json = serde_json::to_value(m.rows()).unwrap();
        assert_eq!(json[0]["first"], "1970-01-01T00:00:00.000Z");
        assert_eq!(json[0]["site"], "a.test");
    }
}
