//! The loaded records and the views over them: the text filter, the pivot,
//! the marks, facet counts and the per-page timeline.
//!
//! `shown` holds the indices of the records that pass the filter and the
//! pivot, in load order. It is kept up to date incrementally: a new record is
//! tested alone when it arrives, and a query that extends the previous one
//! only re-tests the records already shown. Nothing here clones events,
//! except the marked ones at export.

use crate::load::RawRequest;
use crate::strings;
use pixelscope_model::{Detection, Event, Kind};
use std::collections::{BTreeMap, BTreeSet};

/// One loaded record.
pub(crate) struct Record {
    pub(crate) event: Event,
    pub(crate) raw: Option<RawRequest>,
}

/// What a pivot groups events by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facet {
    Tracker,
    /// An identifier value: "everything that carried this hashed e-mail".
    Identifier,
    Page,
    /// A flag category (`health`, `religion`, …).
    Flag,
}

impl Facet {
    pub(crate) const ALL: [Facet; 4] =
        [Facet::Tracker, Facet::Identifier, Facet::Page, Facet::Flag];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Facet::Tracker => strings::FACET_TRACKER,
            Facet::Identifier => strings::FACET_IDENTIFIER,
            Facet::Page => strings::FACET_PAGE,
            Facet::Flag => strings::FACET_FLAG,
        }
    }

    pub(crate) fn next(self) -> Facet {
        match self {
            Facet::Tracker => Facet::Identifier,
            Facet::Identifier => Facet::Page,
            Facet::Page => Facet::Flag,
            Facet::Flag => Facet::Tracker,
        }
    }

    pub(crate) fn previous(self) -> Facet {
        match self {
            Facet::Tracker => Facet::Flag,
            Facet::Identifier => Facet::Tracker,
            Facet::Page => Facet::Identifier,
            Facet::Flag => Facet::Page,
        }
    }
}

/// An active pivot: only events with `key` under `facet` are shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pivot {
    pub facet: Facet,
    /// The value compared with the event (tracker id, identifier value, page
    /// URL, flag category).
    pub key: String,
    /// How the value is shown (captured text, not yet escaped).
    pub label: String,
}

/// One value of a facet with the number of events that carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacetValue {
    pub key: String,
    pub label: String,
    pub count: usize,
}

/// One row of the timeline: a page heading or an event under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TimelineRow {
    Page { url: String, events: usize },
    Event(usize),
}

#[derive(Default)]
pub(crate) struct Store {
    records: Vec<Record>,
    marked: Vec<bool>,
    marked_count: usize,
    shown: Vec<usize>,
    /// The filter, ASCII-lower-cased.
    query: String,
    pivot: Option<Pivot>,
}

impl Store {
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn record(&self, index: usize) -> Option<&Record> {
        self.records.get(index)
    }

    /// Indices of the shown records, ascending.
    pub(crate) fn shown(&self) -> &[usize] {
        &self.shown
    }

    pub(crate) fn pivot(&self) -> Option<&Pivot> {
        self.pivot.as_ref()
    }

    pub(crate) fn push(&mut self, event: Event, raw: Option<RawRequest>) {
        let index = self.records.len();
        let record = Record { event, raw };
        if self.passes(&record.event) {
            self.shown.push(index);
        }
        self.records.push(record);
        self.marked.push(false);
    }

    /// Sets the text filter. Matching ignores ASCII case.
    pub(crate) fn set_query(&mut self, query: &str) {
        let query = query.to_ascii_lowercase();
        if query == self.query {
            return;
        }
        // A longer query can only match a subset of what the shorter one did.
        let narrowing = query.contains(self.query.as_str());
        self.query = query;
        if narrowing {
            let records = &self.records;
            let query = &self.query;
            self.shown.retain(|&i| {
                records
                    .get(i)
                    .is_some_and(|r| matches_text(&r.event, query))
            });
        } else {
            self.recompute();
        }
    }

    pub(crate) fn set_pivot(&mut self, pivot: Option<Pivot>) {
        if pivot == self.pivot {
            return;
        }
        let narrowing = self.pivot.is_none();
        self.pivot = pivot;
        if narrowing {
            let records = &self.records;
            let pivot = &self.pivot;
            self.shown.retain(|&i| {
                records
                    .get(i)
                    .is_some_and(|r| matches_pivot(&r.event, pivot.as_ref()))
            });
        } else {
            self.recompute();
        }
    }

    fn recompute(&mut self) {
        let shown: Vec<usize> = self
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| self.passes(&r.event))
            .map(|(i, _)| i)
            .collect();
        self.shown = shown;
    }

    fn passes(&self, event: &Event) -> bool {
        matches_pivot(event, self.pivot.as_ref()) && matches_text(event, &self.query)
    }

    pub(crate) fn is_marked(&self, index: usize) -> bool {
        self.marked.get(index).copied().unwrap_or(false)
    }

    pub(crate) fn marked_count(&self) -> usize {
        self.marked_count
    }

    pub(crate) fn toggle_mark(&mut self, index: usize) {
        if let Some(mark) = self.marked.get_mut(index) {
            *mark = !*mark;
            if *mark {
                self.marked_count += 1;
            } else {
                self.marked_count = self.marked_count.saturating_sub(1);
            }
        }
    }

    pub(crate) fn mark_shown(&mut self) {
        for &i in &self.shown {
            if let Some(mark) = self.marked.get_mut(i)
                && !*mark
            {
                *mark = true;
                self.marked_count += 1;
            }
        }
    }

    pub(crate) fn unmark_all(&mut self) {
        self.marked.iter_mut().for_each(|m| *m = false);
        self.marked_count = 0;
    }

    /// The marked events in load order (clones: they leave the TUI).
    pub(crate) fn marked_events(&self) -> Vec<Event> {
        self.records
            .iter()
            .zip(&self.marked)
            .filter(|(_, marked)| **marked)
            .map(|(r, _)| r.event.clone())
            .collect()
    }

    /// The values of `facet` among the events that pass the text filter
    /// (the pivot itself is ignored, so another value can be chosen), most
    /// frequent first. Each event counts once per value, so a count is the
    /// length of the list that choosing the value gives.
    pub(crate) fn facet_values(&self, facet: Facet) -> Vec<FacetValue> {
        let mut counts: BTreeMap<&str, (String, usize)> = BTreeMap::new();
        for record in &self.records {
            let event = &record.event;
            if !matches_text(event, &self.query) {
                continue;
            }
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            for (key, label) in facet_keys(event, facet) {
                if seen.insert(key) {
                    counts.entry(key).or_insert_with(|| (label, 0)).1 += 1;
                }
            }
        }
        let mut values: Vec<FacetValue> = counts
            .into_iter()
            .map(|(key, (label, count))| FacetValue {
                key: key.to_owned(),
                label,
                count,
            })
            .collect();
        values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        values
    }

    /// The shown events grouped by page, pages in the order they were first
    /// seen in time, events in time order under each.
    pub(crate) fn timeline(&self) -> Vec<TimelineRow> {
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &i in &self.shown {
            if let Some(record) = self.records.get(i) {
                groups
                    .entry(record.event.page_url.as_deref().unwrap_or(""))
                    .or_default()
                    .push(i);
            }
        }
        let time_key = |i: &usize| {
            let time = self.records.get(*i).and_then(|r| r.event.time);
            (time.is_none(), time, *i)
        };
        let mut pages: Vec<(&str, Vec<usize>)> = groups.into_iter().collect();
        for (_, events) in &mut pages {
            events.sort_by_key(time_key);
        }
        pages.sort_by_key(|(url, events)| (events.first().map(time_key), *url));
        let mut rows = Vec::with_capacity(self.shown.len() + pages.len());
        for (url, events) in pages {
            rows.push(TimelineRow::Page {
                url: url.to_owned(),
                events: events.len(),
            });
            rows.extend(events.into_iter().map(TimelineRow::Event));
        }
        rows
    }
}

/// The keys (and labels) an event has under `facet`.
fn facet_keys(event: &Event, facet: Facet) -> Vec<(&str, String)> {
    match facet {
        Facet::Tracker => vec![(
            event.tracker.as_str(),
            format!("{} ({})", event.tracker, event.vendor),
        )],
        Facet::Identifier => event
            .identifiers
            .iter()
            .map(|id| {
                let label = match &id.matched {
                    Some(matched) => format!("{} {} ={matched} {}", id.kind, id.form, id.value),
                    None => format!("{} {} {}", id.kind, id.form, id.value),
                };
                (id.value.as_str(), label)
            })
            .collect(),
        Facet::Page => {
            let page = event.page_url.as_deref().unwrap_or("");
            let label = if page.is_empty() {
                strings::NO_PAGE.to_owned()
            } else {
                page.to_owned()
            };
            vec![(page, label)]
        }
        Facet::Flag => event
            .flags
            .iter()
            .map(|f| (f.category.as_str(), f.category.clone()))
            .collect(),
    }
}

fn matches_pivot(event: &Event, pivot: Option<&Pivot>) -> bool {
    let Some(pivot) = pivot else { return true };
    match pivot.facet {
        Facet::Tracker => event.tracker == pivot.key,
        Facet::Identifier => event.identifiers.iter().any(|id| id.value == pivot.key),
        Facet::Page => event.page_url.as_deref().unwrap_or("") == pivot.key,
        Facet::Flag => event.flags.iter().any(|f| f.category == pivot.key),
    }
}

/// Whether any text of the record contains `query` (already lower-cased).
pub(crate) fn matches_text(event: &Event, query: &str) -> bool {
    if query.is_empty() {
        return true;
    }
    if event_texts(event).any(|text| contains_ignore_ascii_case(text, query)) {
        return true;
    }
    event
        .time
        .is_some_and(|t| contains_ignore_ascii_case(&t.to_string(), query))
}

/// Every text of an event that the filter looks at.
fn event_texts(e: &Event) -> impl Iterator<Item = &str> {
    let scalars = [
        Some(e.tracker.as_str()),
        Some(e.vendor.as_str()),
        Some(kind_name(e.kind)),
        e.event.as_deref(),
        e.pixel_id.as_deref(),
        e.page_url.as_deref(),
        e.referrer.as_deref(),
        e.page_title.as_deref(),
        Some(e.request.method.as_str()),
        Some(e.request.url.as_str()),
        e.request.host.as_deref(),
        Some(detection_name(e.detection)),
        Some(e.origin.file.as_str()),
        e.origin.sha256.as_deref(),
        e.party.as_deref(),
    ];
    let fields = e.fields.iter().flat_map(|f| {
        [f.path.as_str(), f.location.as_str(), f.value.as_str()]
            .into_iter()
            .chain(f.property.as_deref())
    });
    let identifiers = e.identifiers.iter().flat_map(|i| {
        [
            i.kind.as_str(),
            i.form.as_str(),
            i.value.as_str(),
            i.path.as_str(),
        ]
        .into_iter()
        .chain(i.matched.as_deref())
    });
    let flags = e.flags.iter().flat_map(|f| {
        [
            f.category.as_str(),
            f.rule.as_str(),
            f.text.as_str(),
            f.path.as_str(),
        ]
    });
    scalars
        .into_iter()
        .flatten()
        .chain(fields)
        .chain(identifiers)
        .chain(flags)
}

pub(crate) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Event => "event",
        Kind::Library => "library",
        Kind::Contact => "contact",
    }
}

pub(crate) fn detection_name(detection: Detection) -> &'static str {
    match detection {
        Detection::Endpoint => "endpoint",
        Detection::Shape => "shape",
        Detection::Host => "host",
    }
}

/// Substring test ignoring ASCII case; `needle` must be lower-case already.
fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (hay, needle) = (haystack.as_bytes(), needle.as_bytes());
    let Some(&first) = needle.first() else {
        return true;
    };
    if needle.len() > hay.len() {
        return false;
    }
    hay.windows(needle.len()).any(|w| {
        w.first().is_some_and(|b| b.to_ascii_lowercase() == first) && w.eq_ignore_ascii_case(needle)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelscope_model::{Exchange, Identifier};

    fn event(tracker: &str, page: &str, id: Option<&str>) -> Event {
        let mut event = Event::for_exchange(
            tracker,
            &tracker.to_uppercase(),
            Kind::Event,
            &Exchange::default(),
        );
        event.event = Some("PageView".to_owned());
        event.page_url = Some(page.to_owned());
        event.identifiers = id
            .map(|v| Identifier {
                kind: "email".into(),
                form: "sha256".into(),
                value: v.into(),
                ..Default::default()
            })
            .into_iter()
            .collect();
        event
    }

    #[test]
    fn narrowing_and_widening_queries_agree_with_a_full_scan() {
        let mut store = Store::default();
        store.push(event("tiktok", "https://shop.test/a", Some("AbC")), None);
        store.push(event("meta", "https://shop.test/b", None), None);
        store.push(event("ga4", "https://other.test/", Some("abd")), None);
        store.set_query("AB");
        assert_eq!(store.shown(), &[0, 2]);
        store.set_query("abc");
        assert_eq!(store.shown(), &[0]);
        store.set_query("shop");
        assert_eq!(store.shown(), &[0, 1]);
        store.set_query("");
        assert_eq!(store.shown(), &[0, 1, 2]);
    }

    #[test]
    fn an_identifier_pivot_counts_each_event_once() {
        let mut store = Store::default();
        let mut twice = event("tiktok", "https://shop.test/a", Some("h1"));
        twice.identifiers.push(twice.identifiers[0].clone());
        store.push(twice, None);
        store.push(event("meta", "https://shop.test/b", Some("h1")), None);
        store.push(event("meta", "https://shop.test/b", None), None);
        let values = store.facet_values(Facet::Identifier);
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].count, 2);
        store.set_pivot(Some(Pivot {
            facet: Facet::Identifier,
            key: "h1".into(),
            label: String::new(),
        }));
        assert_eq!(store.shown(), &[0, 1]);
        store.push(event("ga4", "https://x.test/", Some("h1")), None);
        assert_eq!(store.shown(), &[0, 1, 3]);
    }
}
