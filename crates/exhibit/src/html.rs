//! `exhibit.html`: the findings as a document a judge can read and print.
//!
//! The template (`templates/exhibit.html`) only lays out text that this
//! module has prepared: every captured string passes through [`visible`]
//! (control and bidi characters become visible escapes) and askama then
//! HTML-escapes it on output, in element text and attributes alike. No
//! value is ever marked safe, and no captured URL becomes a link: the only
//! links are the document's own `#event-N` anchors, built from numbers.

use crate::{BundleInput, DecoderInfo, enum_name};
use askama::Template;
use pixelscope_model::{Diagnostic, Event, Kind, Origin, Severity, Timestamp};
use pixelscope_report::escape::terminal;
use std::collections::{BTreeMap, BTreeSet};
use std::io;

/// Longest raw request shown in the exhibit, in bytes. A longer one is cut
/// at a character boundary with a visible note saying how much was left out
/// and where the whole text is (`events.sqlite`).
const RAW_REQUEST_LIMIT: usize = 256 * 1024;

/// Captured text made safe to show: control characters and bidi overrides
/// become visible escapes (`\x1b`, `\u{202e}`). HTML escaping is the
/// template's job.
fn visible(text: &str) -> String {
    terminal(text)
}

fn visible_opt(text: &Option<String>) -> String {
    text.as_deref().map(visible).unwrap_or_default()
}

/// Multi-line captured text (a raw request): each line made visible on its
/// own, so line breaks stay line breaks. The CR of a CRLF line end is the
/// normal HTTP/1 line end and is not shown; any other CR is.
fn visible_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&terminal(line.strip_suffix('\r').unwrap_or(line)));
    }
    out
}

#[derive(Template)]
#[template(path = "exhibit.html")]
struct ExhibitPage {
    title: String,
    case: Option<String>,
    tool_version: String,
    git_commit: String,
    started: String,
    finished: String,
    inputs: Vec<InputRow>,
    time_first: Option<String>,
    time_last: Option<String>,
    event_count: usize,
    trackers: Vec<TrackerRow>,
    identities: Vec<IdentityRow>,
    flags: Vec<FlagSummaryRow>,
    sections: Vec<TrackerSection>,
    locations: Vec<LocationRow>,
    coverage: Coverage,
    decoders: Vec<DecoderView>,
}

struct InputRow {
    path: String,
    size: String,
    sha256: String,
    format: String,
}

struct TrackerRow {
    anchor: String,
    tracker: String,
    vendor: String,
    events: usize,
    libraries: usize,
    contacts: usize,
    pixel_ids: String,
    hosts: String,
}

struct IdentityRow {
    label: String,
    kind: String,
    matches: usize,
    trackers: String,
}

struct FlagSummaryRow {
    category: String,
    rule: String,
    text: String,
    trackers: String,
    count: usize,
}

struct TrackerSection {
    anchor: String,
    tracker: String,
    vendor: String,
    decoder: Option<DecoderView>,
    events: Vec<EventView>,
}

struct DecoderView {
    id: String,
    vendor: String,
    version: String,
    sources: Vec<String>,
}

struct EventView {
    number: usize,
    anchor: String,
    heading: String,
    facts: Vec<(String, String)>,
    fields: Vec<FieldRow>,
    identifiers: Vec<IdentifierRow>,
    flags: Vec<FlagRow>,
    raw: Option<String>,
    raw_note: Option<String>,
    origin: Vec<(String, String)>,
}

struct FieldRow {
    path: String,
    location: String,
    value: String,
    property: String,
}

struct IdentifierRow {
    kind: String,
    form: String,
    value: String,
    path: String,
    matched: String,
}

struct FlagRow {
    category: String,
    rule: String,
    text: String,
    path: String,
}

struct LocationRow {
    number: usize,
    anchor: String,
    tracker: String,
    event: String,
    file: String,
    place: String,
}

struct Coverage {
    undecrypted: Vec<DiagnosticRow>,
    contacts: Vec<ContactRow>,
    undecoded: Vec<DiagnosticRow>,
    sanitized: Vec<DiagnosticRow>,
    groups: Vec<DiagnosticGroup>,
    diagnostic_count: usize,
}

struct DiagnosticRow {
    severity: String,
    code: String,
    message: String,
    file: String,
    place: String,
}

struct ContactRow {
    number: usize,
    anchor: String,
    tracker: String,
    host: String,
    file: String,
    place: String,
}

struct DiagnosticGroup {
    code: String,
    severity: String,
    count: usize,
    first_message: String,
    first_file: String,
    first_place: String,
}

pub(crate) fn render(
    input: &BundleInput,
    started: Timestamp,
    finished: Timestamp,
) -> io::Result<String> {
    let page = build(input, started, finished);
    page.render().map_err(io::Error::other)
}

fn build(input: &BundleInput, started: Timestamp, finished: Timestamp) -> ExhibitPage {
    let events: Vec<&Event> = input.events.iter().map(|e| &e.event).collect();
    let times: Vec<Timestamp> = events.iter().filter_map(|e| e.time).collect();
    let tracker_ids: BTreeSet<&str> = events.iter().map(|e| e.tracker.as_str()).collect();
    let anchor_of: BTreeMap<&str, String> = tracker_ids
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, format!("tracker-{}", i + 1)))
        .collect();

    let trackers = tracker_ids
        .iter()
        .map(|&id| {
            let mine: Vec<&&Event> = events.iter().filter(|e| e.tracker == id).collect();
            let count = |kind: Kind| mine.iter().filter(|e| e.kind == kind).count();
            let pixel_ids: BTreeSet<&str> =
                mine.iter().filter_map(|e| e.pixel_id.as_deref()).collect();
            let hosts: BTreeSet<&str> = mine
                .iter()
                .filter_map(|e| e.request.host.as_deref())
                .collect();
            TrackerRow {
                anchor: anchor_of.get(id).cloned().unwrap_or_default(),
                tracker: visible(id),
                vendor: mine.first().map(|e| visible(&e.vendor)).unwrap_or_default(),
                events: count(Kind::Event),
                libraries: count(Kind::Library),
                contacts: count(Kind::Contact),
                pixel_ids: visible(&join(pixel_ids)),
                hosts: visible(&join(hosts)),
            }
        })
        .collect();

    ExhibitPage {
        title: visible(
            input
                .title
                .as_deref()
                .unwrap_or("What this web traffic told the trackers"),
        ),
        case: input.case.as_deref().map(visible),
        tool_version: visible(&input.tool_version),
        git_commit: input
            .git_commit
            .as_deref()
            .map(visible)
            .unwrap_or_else(|| "not recorded".to_owned()),
        started: started.to_string(),
        finished: finished.to_string(),
        inputs: input
            .inputs
            .iter()
            .map(|i| InputRow {
                path: visible(&i.path),
                size: thousands(i.size),
                sha256: visible(&i.sha256),
                format: i
                    .format
                    .as_ref()
                    .map(enum_name)
                    .unwrap_or_else(|| "not recognised".to_owned()),
            })
            .collect(),
        time_first: times.iter().min().map(Timestamp::to_string),
        time_last: times.iter().max().map(Timestamp::to_string),
        event_count: events.len(),
        trackers,
        identities: identity_rows(input, &events),
        flags: flag_rows(&events),
        sections: sections(input, &tracker_ids, &anchor_of),
        locations: events
            .iter()
            .enumerate()
            .map(|(i, e)| LocationRow {
                number: i + 1,
                anchor: format!("event-{}", i + 1),
                tracker: visible(&e.tracker),
                event: visible(&event_name(e)),
                file: visible(&e.origin.file),
                place: visible(&place(&e.origin)),
            })
            .collect(),
        coverage: coverage(&events, &input.diagnostics),
        decoders: input.decoders.iter().map(decoder_view).collect(),
    }
}

fn join<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// `1234567` → `1,234,567`: sizes a reader can take in at a glance.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn event_name(e: &Event) -> String {
    match (e.kind, &e.event) {
        (Kind::Event, Some(name)) => name.clone(),
        (Kind::Event, None) => "(event without a name)".to_owned(),
        (Kind::Library, _) => "(tracker script loaded)".to_owned(),
        (Kind::Contact, _) => "(connection, content not readable)".to_owned(),
    }
}

/// Where in the input the bytes are, in words.
fn place(o: &Origin) -> String {
    let mut parts = Vec::new();
    if let Some(entry) = o.entry {
        parts.push(format!(
            "HAR entry {entry} (JSON pointer /log/entries/{entry})"
        ));
    }
    if let Some(frames) = &o.frames {
        let list: Vec<String> = frames.iter().map(u64::to_string).collect();
        let word = if frames.len() == 1 { "frame" } else { "frames" };
        parts.push(format!("{word} {}", list.join(", ")));
    }
    if let Some(stream) = o.stream {
        parts.push(format!("TCP stream {stream}"));
    }
    if let Some(h2) = o.h2_stream {
        parts.push(format!("HTTP/2 stream {h2}"));
    }
    if let Some(tls) = &o.tls {
        parts.push(format!("decrypted TLS {tls}"));
    }
    if parts.is_empty() {
        "the whole file".to_owned()
    } else {
        parts.join("; ")
    }
}

fn identity_rows(input: &BundleInput, events: &[&Event]) -> Vec<IdentityRow> {
    // Every identity searched for is listed, matched or not; labels that
    // records carry but the caller did not list are added so none is lost.
    let mut labels: Vec<(String, String)> = input
        .identities
        .iter()
        .map(|i| (i.label.clone(), i.kind.clone()))
        .collect();
    for e in events {
        for id in &e.identifiers {
            if let Some(label) = &id.matched
                && !labels.iter().any(|(l, _)| l == label)
            {
                labels.push((label.clone(), id.kind.clone()));
            }
        }
    }
    labels
        .into_iter()
        .map(|(label, kind)| {
            let mut matches = 0;
            let mut trackers = BTreeSet::new();
            for e in events {
                let n = e
                    .identifiers
                    .iter()
                    .filter(|i| i.matched.as_deref() == Some(label.as_str()))
                    .count();
                if n > 0 {
                    matches += n;
                    trackers.insert(e.tracker.as_str());
                }
            }
            IdentityRow {
                label: visible(&label),
                kind: visible(&kind),
                matches,
                trackers: visible(&join(trackers)),
            }
        })
        .collect()
}

fn flag_rows(events: &[&Event]) -> Vec<FlagSummaryRow> {
    let mut grouped: BTreeMap<(&str, &str, &str), (usize, BTreeSet<&str>)> = BTreeMap::new();
    for e in events {
        for f in &e.flags {
            let entry = grouped.entry((&f.category, &f.rule, &f.text)).or_default();
            entry.0 += 1;
            entry.1.insert(&e.tracker);
        }
    }
    grouped
        .into_iter()
        .map(
            |((category, rule, text), (count, trackers))| FlagSummaryRow {
                category: visible(category),
                rule: visible(rule),
                text: visible(text),
                trackers: visible(&join(trackers)),
                count,
            },
        )
        .collect()
}

fn decoder_view(d: &DecoderInfo) -> DecoderView {
    DecoderView {
        id: visible(&d.id),
        vendor: visible(&d.vendor),
        version: visible(&d.version),
        sources: d.sources.iter().map(|s| visible(s)).collect(),
    }
}

fn sections(
    input: &BundleInput,
    tracker_ids: &BTreeSet<&str>,
    anchor_of: &BTreeMap<&str, String>,
) -> Vec<TrackerSection> {
    tracker_ids
        .iter()
        .map(|&id| {
            let events: Vec<EventView> = input
                .events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.event.tracker == id)
                .map(|(i, e)| event_view(i + 1, &e.event, e.raw_request.as_deref()))
                .collect();
            let vendor = input
                .events
                .iter()
                .find(|e| e.event.tracker == id)
                .map(|e| visible(&e.event.vendor))
                .unwrap_or_default();
            TrackerSection {
                anchor: anchor_of.get(id).cloned().unwrap_or_default(),
                tracker: visible(id),
                vendor,
                decoder: input.decoders.iter().find(|d| d.id == id).map(decoder_view),
                events,
            }
        })
        .collect()
}

fn event_view(number: usize, e: &Event, raw: Option<&str>) -> EventView {
    let mut facts = vec![
        ("What it is".to_owned(), kind_words(e.kind).to_owned()),
        (
            "Event name as sent".to_owned(),
            e.event
                .as_deref()
                .map(visible)
                .unwrap_or_else(|| "none".to_owned()),
        ),
        (
            "Account / pixel id".to_owned(),
            e.pixel_id
                .as_deref()
                .map(visible)
                .unwrap_or_else(|| "none".to_owned()),
        ),
        (
            "Time (UTC)".to_owned(),
            e.time
                .map(|t| t.to_string())
                .unwrap_or_else(|| "not recorded".to_owned()),
        ),
    ];
    for (label, value) in [
        ("Page address", &e.page_url),
        ("Referrer", &e.referrer),
        ("Page title", &e.page_title),
    ] {
        if value.is_some() {
            facts.push((label.to_owned(), visible_opt(value)));
        }
    }
    facts.push((
        "Request".to_owned(),
        visible(&format!("{} {}", e.request.method, e.request.url)),
    ));
    facts.push(("Server".to_owned(), visible_opt(&e.request.host)));
    if let Some(version) = &e.request.http_version {
        facts.push(("HTTP version".to_owned(), visible(version)));
    }
    if !e.request.content_encoding.is_empty() {
        facts.push((
            "Body compression".to_owned(),
            visible(&e.request.content_encoding.join(", ")),
        ));
    }
    facts.push((
        "How it was recognised".to_owned(),
        detection_words(&enum_name(&e.detection)),
    ));

    let (raw, raw_note) = match raw {
        None => (None, None),
        Some(text) if text.len() > RAW_REQUEST_LIMIT => {
            let mut cut = RAW_REQUEST_LIMIT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let shown = text.get(..cut).unwrap_or_default();
            let note = format!(
                "Only the first {} of {} bytes are shown here; the complete request is in events.sqlite (table events, column raw_request, id {number}).",
                thousands(cut as u64),
                thousands(text.len() as u64)
            );
            (Some(visible_lines(shown)), Some(note))
        }
        Some(text) => (Some(visible_lines(text)), None),
    };

    let o = &e.origin;
    let mut origin = vec![
        ("File".to_owned(), visible(&o.file)),
        (
            "File SHA-256".to_owned(),
            o.sha256
                .as_deref()
                .map(visible)
                .unwrap_or_else(|| "not recorded".to_owned()),
        ),
        ("File type".to_owned(), enum_name(&o.format)),
        ("Place in the file".to_owned(), visible(&place(o))),
    ];
    if let Some(frames) = &o.frames
        && !frames.is_empty()
    {
        origin.push((
            "To see it in Wireshark".to_owned(),
            visible(&format!(
                "display filter: frame.number in {{{}}}",
                frames
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        ));
    }

    EventView {
        number,
        anchor: format!("event-{number}"),
        heading: visible(&event_name(e)),
        facts,
        fields: e
            .fields
            .iter()
            .map(|f| FieldRow {
                path: visible(&f.path),
                location: visible(&f.location),
                value: visible(&f.value),
                property: visible_opt(&f.property),
            })
            .collect(),
        identifiers: e
            .identifiers
            .iter()
            .map(|i| IdentifierRow {
                kind: visible(&i.kind),
                form: visible(&i.form),
                value: visible(&i.value),
                path: visible(&i.path),
                matched: visible_opt(&i.matched),
            })
            .collect(),
        flags: e
            .flags
            .iter()
            .map(|f| FlagRow {
                category: visible(&f.category),
                rule: visible(&f.rule),
                text: visible(&f.text),
                path: visible(&f.path),
            })
            .collect(),
        raw,
        raw_note,
        origin,
    }
}

fn kind_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Event => "an event: data sent to the tracker",
        Kind::Library => "the tracker's script or settings were loaded (no event data)",
        Kind::Contact => "a connection to the tracker whose content could not be read",
    }
}

fn detection_words(detection: &str) -> String {
    match detection {
        "endpoint" => "the address is one the tracker documents for receiving data".to_owned(),
        "shape" => {
            "the content has the tracker's format, sent to another address (a proxy)".to_owned()
        }
        "host" => "only the tracker's server name was seen".to_owned(),
        other => visible(other),
    }
}

/// Which diagnostics explain what could not be read. The classes follow the
/// code's first component (and, for HARs, words in the code), so that new
/// codes from the producers fall into the right class without a list here.
fn is_undecrypted(code: &str) -> bool {
    code.starts_with("tls.") || code.starts_with("quic.") || code.starts_with("keylog.")
}

fn is_undecoded(code: &str) -> bool {
    code.starts_with("decode.") || code.starts_with("body.")
}

fn is_sanitized(code: &str) -> bool {
    code.starts_with("har.")
        && [
            "sanitiz",
            "sanitis",
            "no-cookies",
            "mangled",
            "redact",
            "no-content",
            "stripped",
        ]
        .iter()
        .any(|w| code.contains(w))
}

fn diagnostic_row(d: &Diagnostic) -> DiagnosticRow {
    DiagnosticRow {
        severity: severity_words(d.severity).to_owned(),
        code: visible(&d.code),
        message: visible(&d.message),
        file: visible(&d.origin.file),
        place: visible(&place(&d.origin)),
    }
}

fn severity_words(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error: findings may be missing",
        Severity::Warning => "warning: read, but odd",
        Severity::Info => "note",
    }
}

fn coverage(events: &[&Event], diagnostics: &[Diagnostic]) -> Coverage {
    let mut groups: BTreeMap<&str, (Severity, usize, &Diagnostic)> = BTreeMap::new();
    for d in diagnostics {
        let entry = groups.entry(&d.code).or_insert((d.severity, 0, d));
        entry.0 = entry.0.min(d.severity); // Error < Warning < Info: keep the worst
        entry.1 += 1;
    }
    Coverage {
        undecrypted: diagnostics
            .iter()
            .filter(|d| is_undecrypted(&d.code))
            .map(diagnostic_row)
            .collect(),
        contacts: events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == Kind::Contact)
            .map(|(i, e)| ContactRow {
                number: i + 1,
                anchor: format!("event-{}", i + 1),
                tracker: visible(&e.tracker),
                host: visible_opt(&e.request.host),
                file: visible(&e.origin.file),
                place: visible(&place(&e.origin)),
            })
            .collect(),
        undecoded: diagnostics
            .iter()
            .filter(|d| is_undecoded(&d.code))
            .map(diagnostic_row)
            .collect(),
        sanitized: diagnostics
            .iter()
            .filter(|d| is_sanitized(&d.code))
            .map(diagnostic_row)
            .collect(),
        groups: groups
            .into_iter()
            .map(|(code, (severity, count, first))| DiagnosticGroup {
                code: visible(code),
                severity: severity_words(severity).to_owned(),
                count,
                first_message: visible(&first.message),
                first_file: visible(&first.origin.file),
                first_place: visible(&place(&first.origin)),
            })
            .collect(),
        diagnostic_count: diagnostics.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_requests_keep_lines_but_show_controls() {
        assert_eq!(
            visible_lines("GET / HTTP/1.1\r\nX: a\x1b[31mb\r\n\r\nbody\rmore"),
            "GET / HTTP/1.1\nX: a\\x1b[31mb\n\nbody\\x0dmore"
        );
    }

    #[test]
    fn sizes_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn diagnostics_fall_into_plain_classes() {
        assert!(is_undecrypted("tls.no-key"));
        assert!(is_undecoded("decode.body-unreadable"));
        assert!(is_undecoded("body.too-large"));
        assert!(is_sanitized("har.no-cookies"));
        assert!(is_sanitized("har.body-mangled"));
        assert!(!is_sanitized("har.entry-invalid"));
        assert!(!is_undecrypted("tcp.gap"));
    }
}
