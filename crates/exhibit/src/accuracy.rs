//! Error rates: decoded records scored against a capture lab's ground truth.
//!
//! The capture lab records, for every tracker request its stand-in pixel
//! libraries sent, the events it carried, the page it was about and the
//! hashed identifiers in it (`truth.json`). [`score`] compares decoded
//! records with that truth using exactly the rules of the lab's own scorer,
//! so that the numbers published in `docs/ACCURACY.md` mean what the lab's
//! numbers mean:
//!
//! * a record of kind `event` matches a truth event with the same tracker,
//!   the same event name (compared lower-case, letters and digits only) and
//!   the same page URL (scheme and host lower-case, trailing `/` of the
//!   path dropped, fragment dropped);
//! * a truth event whose name does not appear on the wire (in the URL or
//!   body, percent-decoded) is a *wildcard*: any record of that tracker and
//!   page, with any name or none, may match it; named records left over
//!   after exact matching are used first, then unnamed ones;
//! * named records that match nothing are *extra*; unnamed records that
//!   match nothing are not claims and are not counted;
//! * when the input is a HAR, requests sent from a `pagehide` handler (a
//!   HAR leaves them out) or with a compressed body (a HAR mangles it) are
//!   not expected;
//! * a hashed identifier in the truth is found when a record of the same
//!   tracker (of any kind) has an identifier whose value, lower-cased,
//!   equals the hash in hex or as it was on the wire; it is also *matched*
//!   when that identifier carries a known-identity label.
//!
//! Records of trackers the truth does not mention are not scored; they are
//! counted separately so they are not silently ignored.

use pixelscope_model::{Event, Kind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The counts for one tracker (or the total).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccuracyRow {
    pub tracker: String,
    /// Events the truth says were sent (after the HAR rule).
    pub expected: u64,
    /// Expected events that a record matched.
    pub found: u64,
    /// Expected events that no record matched.
    pub missed: u64,
    /// Named records that match no expected event.
    pub extra: u64,
    /// Hashed identifiers the truth says were sent.
    pub hashed_expected: u64,
    /// Of those, found among the tracker's identifiers.
    pub hashed_found: u64,
    /// Of those found, carrying a known-identity label.
    pub hashed_matched: u64,
    /// Up to three expected events (by exact key) that nothing matched:
    /// `event @ page`.
    pub missing_examples: Vec<String>,
}

impl AccuracyRow {
    /// found / expected; 1 when nothing was expected.
    pub fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.found as f64 / self.expected as f64
        }
    }

    /// found / (found + extra); 1 when nothing was expected nor claimed.
    pub fn precision(&self) -> f64 {
        let claimed = self.found + self.extra;
        if claimed == 0 {
            if self.expected == 0 { 1.0 } else { 0.0 }
        } else {
            self.found as f64 / claimed as f64
        }
    }

    fn add(&mut self, other: &AccuracyRow) {
        self.expected += other.expected;
        self.found += other.found;
        self.missed += other.missed;
        self.extra += other.extra;
        self.hashed_expected += other.hashed_expected;
        self.hashed_found += other.hashed_found;
        self.hashed_matched += other.hashed_matched;
    }
}

/// One scoring run: a row per tracker of the truth, in name order, and the
/// total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccuracyTable {
    pub rows: Vec<AccuracyRow>,
    pub total: AccuracyRow,
    /// Records (of any kind) of trackers the truth does not cover, by
    /// tracker: not scored.
    pub unscored: BTreeMap<String, u64>,
}

/// A scored input, for the published document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccuracyRun {
    /// The input as named in the document (`samples/lab/h2/site.har`).
    pub input: String,
    pub table: AccuracyTable,
}

/// The matching key: tracker, normalised event name (None: the record
/// names none), normalised page URL.
type Key = (String, Option<String>, String);
type Counter<K> = BTreeMap<K, u64>;

fn bump<K: Ord>(counter: &mut Counter<K>, key: K, n: u64) {
    if n > 0 {
        *counter.entry(key).or_insert(0) += n;
    }
}

fn get<K: Ord>(counter: &Counter<K>, key: &K) -> u64 {
    counter.get(key).copied().unwrap_or(0)
}

/// Python's `str()` of a JSON value, as the lab scorer applies it.
fn py_str(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Python's truthiness of a JSON value.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

fn text(value: Option<&Value>) -> &str {
    value.and_then(Value::as_str).unwrap_or("")
}

/// Event names compared lower-case, letters and digits only.
fn event_key(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Python's `str.isspace()`, which also counts the ASCII separators
/// U+001C..U+001F.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Whether the event name stands on the wire as a token: preceded by the
/// start or one of `=":,[~` or a space, followed by the end or one of
/// `&" ,]~;` or a space.
fn named_on_wire(wire: &str, name: &str) -> bool {
    let before_ok = |i: usize| {
        i == 0
            || wire
                .get(..i)
                .and_then(|s| s.chars().next_back())
                .is_some_and(|c| "=\":,[~".contains(c) || py_space(c))
    };
    let after_ok = |j: usize| {
        j >= wire.len()
            || wire
                .get(j..)
                .and_then(|s| s.chars().next())
                .is_some_and(|c| "&\",]~;".contains(c) || py_space(c))
    };
    let mut from = 0;
    while from <= wire.len() {
        let Some(rest) = wire.get(from..) else { break };
        let Some(offset) = rest.find(name) else { break };
        let at = from + offset;
        if before_ok(at) && after_ok(at + name.len()) {
            return true;
        }
        // Next candidate start: one character further.
        let step = wire
            .get(at..)
            .and_then(|s| s.chars().next())
            .map_or(1, char::len_utf8);
        from = at + step;
    }
    false
}

/// `urllib.parse.unquote_plus`: `+` is a space, `%XX` a byte, bytes read as
/// UTF-8 with invalid sequences replaced.
fn unquote_plus(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |k: usize| bytes.get(k).and_then(|&h| char::from(h).to_digit(16));
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Schemes Python's `urlunsplit` writes with `//` even without a host.
const USES_NETLOC: &[&str] = &[
    "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https", "shttp",
    "snews", "prospero", "rtsp", "rtsps", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git",
    "git+ssh", "ws", "wss",
];

/// The page-URL key: scheme and host lower-case, trailing slashes of the
/// path removed (`/` when nothing is left), fragment dropped. A port of
/// `urlsplit`/`urlunsplit` as the lab scorer uses them.
pub fn normalize_url(url: &str) -> String {
    if url.is_empty() {
        return String::new();
    }
    let cleaned: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = cleaned.as_str();
    let mut scheme = String::new();
    if let Some(colon) = rest.find(':')
        && colon > 0
        && rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && rest.get(..colon).is_some_and(|s| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
    {
        scheme = rest.get(..colon).unwrap_or_default().to_ascii_lowercase();
        rest = rest.get(colon + 1..).unwrap_or_default();
    }
    let mut netloc = String::new();
    if rest.starts_with("//") {
        let after = rest.get(2..).unwrap_or_default();
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = after.get(..end).unwrap_or_default().to_lowercase();
        rest = after.get(end..).unwrap_or_default();
    }
    if let Some(hash) = rest.find('#') {
        rest = rest.get(..hash).unwrap_or_default();
    }
    let (path, query) = match rest.find('?') {
        Some(q) => (
            rest.get(..q).unwrap_or_default(),
            rest.get(q + 1..).unwrap_or_default(),
        ),
        None => (rest, ""),
    };
    let trimmed = path.trim_end_matches('/');
    let mut path = if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    };
    if !netloc.is_empty()
        || (!scheme.is_empty() && USES_NETLOC.contains(&scheme.as_str()) && !path.starts_with("//"))
    {
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        path = format!("//{netloc}{path}");
    }
    let mut out = if scheme.is_empty() {
        path
    } else {
        format!("{scheme}:{path}")
    };
    if !query.is_empty() {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Scores `records` against a lab `truth` (the parsed `truth.json`).
/// `input_is_har` applies the HAR rule (see the module documentation).
pub fn score(truth: &Value, records: &[Event], input_is_har: bool) -> AccuracyTable {
    let empty = Vec::new();
    let requests = truth
        .get("requests")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let trackers: BTreeSet<String> = requests
        .iter()
        .map(|r| py_str(r.get("tracker").unwrap_or(&Value::Null)))
        .collect();

    let mut expected: Counter<Key> = BTreeMap::new();
    let mut wild: Counter<Key> = BTreeMap::new();
    let mut hashes: Vec<(String, &Value)> = Vec::new();
    for r in requests {
        let tracker = py_str(r.get("tracker").unwrap_or(&Value::Null));
        if input_is_har
            && (text(r.get("sent_from")) == "pagehide" || truthy(r.get("content_encoding")))
        {
            continue;
        }
        let body = [r.get("body_decoded"), r.get("body")]
            .into_iter()
            .find(|v| truthy(*v))
            .flatten()
            .map(py_str)
            .unwrap_or_default();
        let wire = unquote_plus(&format!("{} {body}", text(r.get("url")))).to_lowercase();
        let page = normalize_url(text(r.get("page_url")));
        for ev in r.get("events").and_then(Value::as_array).unwrap_or(&empty) {
            let name = py_str(ev);
            let key = (
                tracker.clone(),
                if ev.is_null() {
                    None
                } else {
                    Some(event_key(&name))
                },
                page.clone(),
            );
            if named_on_wire(&wire, &name.to_lowercase()) {
                bump(&mut expected, key, 1);
            } else {
                bump(&mut wild, key, 1);
            }
        }
        for h in r.get("hashed").and_then(Value::as_array).unwrap_or(&empty) {
            hashes.push((tracker.clone(), h));
        }
    }

    let mut got: Counter<Key> = BTreeMap::new();
    let mut unnamed: Counter<Key> = BTreeMap::new();
    let mut ids_by_tracker: BTreeMap<&str, Vec<&pixelscope_model::Identifier>> = BTreeMap::new();
    let mut unscored: BTreeMap<String, u64> = BTreeMap::new();
    for rec in records {
        if !trackers.contains(&rec.tracker) {
            bump(&mut unscored, rec.tracker.clone(), 1);
            continue;
        }
        ids_by_tracker
            .entry(rec.tracker.as_str())
            .or_default()
            .extend(rec.identifiers.iter());
        if rec.kind != Kind::Event {
            continue; // contacts and library loads are not events
        }
        let key = (
            rec.tracker.clone(),
            rec.event.as_deref().map(event_key),
            normalize_url(rec.page_url.as_deref().unwrap_or("")),
        );
        if rec.event.is_some() {
            bump(&mut got, key, 1);
        } else {
            bump(&mut unnamed, key, 1);
        }
    }

    // Exact matches, then wildcards per (tracker, page).
    let mut rows: BTreeMap<String, AccuracyRow> = trackers
        .iter()
        .map(|t| {
            (
                t.clone(),
                AccuracyRow {
                    tracker: t.clone(),
                    ..AccuracyRow::default()
                },
            )
        })
        .collect();
    let mut left_named: Counter<(String, String)> = BTreeMap::new();
    let mut left_unnamed: Counter<(String, String)> = BTreeMap::new();
    let mut wild_by_page: Counter<(String, String)> = BTreeMap::new();
    for (key, &n) in &got {
        let exact = n.min(get(&expected, key));
        if let Some(row) = rows.get_mut(&key.0) {
            row.found += exact;
        }
        bump(&mut left_named, (key.0.clone(), key.2.clone()), n - exact);
    }
    for ((t, _, u), &n) in &unnamed {
        bump(&mut left_unnamed, (t.clone(), u.clone()), n);
    }
    for ((t, _, u), &n) in &wild {
        bump(&mut wild_by_page, (t.clone(), u.clone()), n);
    }
    let pages: BTreeSet<&(String, String)> = left_named
        .keys()
        .chain(left_unnamed.keys())
        .chain(wild_by_page.keys())
        .collect();
    for page in pages {
        let (w, l, u) = (
            get(&wild_by_page, page),
            get(&left_named, page),
            get(&left_unnamed, page),
        );
        if let Some(row) = rows.get_mut(&page.0) {
            row.found += w.min(l + u);
            row.extra += l - w.min(l); // wildcards take named leftovers first; unnamed leftovers are not claims
        }
    }
    for (key, &n) in &expected {
        if let Some(row) = rows.get_mut(&key.0) {
            row.expected += n;
            let missing = n.saturating_sub(get(&got, key));
            for _ in 0..missing {
                if row.missing_examples.len() < 3 {
                    row.missing_examples.push(format!(
                        "{} @ {}",
                        key.1.as_deref().unwrap_or("(none)"),
                        key.2
                    ));
                }
            }
        }
    }
    for (key, &n) in &wild {
        if let Some(row) = rows.get_mut(&key.0) {
            row.expected += n;
        }
    }

    // Hashed identifiers: the hex digest or the wire form, lower-case.
    for (tracker, h) in &hashes {
        let ids = ids_by_tracker
            .get(tracker.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let values: BTreeSet<String> = ids.iter().map(|i| i.value.to_lowercase()).collect();
        let want: Vec<String> = vec![
            text(h.get("sha256")).to_lowercase(),
            h.get("wire_value")
                .map(py_str)
                .unwrap_or_default()
                .to_lowercase(),
        ];
        let found = want.iter().any(|w| !w.is_empty() && values.contains(w));
        let matched = found
            && ids.iter().any(|i| {
                want.contains(&i.value.to_lowercase())
                    && i.matched.as_deref().is_some_and(|m| !m.is_empty())
            });
        if let Some(row) = rows.get_mut(tracker) {
            row.hashed_expected += 1;
            row.hashed_found += u64::from(found);
            row.hashed_matched += u64::from(matched);
        }
    }

    let mut total = AccuracyRow {
        tracker: "all".to_owned(),
        ..AccuracyRow::default()
    };
    let rows: Vec<AccuracyRow> = rows
        .into_values()
        .map(|mut row| {
            row.missed = row.expected.saturating_sub(row.found);
            total.add(&row);
            row
        })
        .collect();
    AccuracyTable {
        rows,
        total,
        unscored,
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn table_markdown(out: &mut String, table: &AccuracyTable) {
    out.push_str("| tracker | expected | found | missed | extra | recall | precision | hashed ids found | matched to identity |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in table.rows.iter().chain(std::iter::once(&table.total)) {
        let name = if row.tracker == "all" && std::ptr::eq(row, &table.total) {
            "**all**".to_owned()
        } else {
            row.tracker.clone()
        };
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {}/{} | {}/{} |\n",
            row.expected,
            row.found,
            row.missed,
            row.extra,
            percent(row.recall()),
            percent(row.precision()),
            row.hashed_found,
            row.hashed_expected,
            row.hashed_matched,
            row.hashed_found,
        ));
    }
    if !table.unscored.is_empty() {
        let list: Vec<String> = table
            .unscored
            .iter()
            .map(|(t, n)| format!("{t} ({n})"))
            .collect();
        out.push_str(&format!(
            "\nRecords of trackers the truth does not cover (not scored): {}.\n",
            list.join(", ")
        ));
    }
    let missing: Vec<String> = table
        .rows
        .iter()
        .filter(|r| !r.missing_examples.is_empty())
        .map(|r| format!("{}: {}", r.tracker, r.missing_examples.join("; ")))
        .collect();
    if !missing.is_empty() {
        out.push_str("\nMissed, for example:\n\n");
        for line in missing {
            out.push_str(&format!("- {line}\n"));
        }
    }
}

/// The body of `docs/ACCURACY.md`: a summary line per input, then the
/// per-tracker table of each. Deterministic, so a test can compare the
/// committed document with a fresh run.
pub fn markdown(runs: &[AccuracyRun]) -> String {
    let mut out = String::new();
    out.push_str("# Accuracy on the capture-lab samples\n\n");
    out.push_str(
        "<!-- Generated by pixelscope_exhibit::accuracy::markdown; do not edit by hand. -->\n\n",
    );
    out.push_str(
        "Each input under `samples/lab/` was scanned with `pixelscope accuracy --truth truth.json INPUT` and \
the decoded records were compared with what the lab's pixel libraries reported sending (`truth.json`). \
How events are matched, what counts as missed and extra, and the HAR rule are explained at the end.\n\n",
    );
    out.push_str("## Summary\n\n");
    out.push_str(
        "| input | expected | found | missed | extra | recall | precision | hashed ids found |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for run in runs {
        let t = &run.table.total;
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {}/{} |\n",
            run.input,
            t.expected,
            t.found,
            t.missed,
            t.extra,
            percent(t.recall()),
            percent(t.precision()),
            t.hashed_found,
            t.hashed_expected
        ));
    }
    for run in runs {
        out.push_str(&format!("\n## `{}`\n\n", run.input));
        table_markdown(&mut out, &run.table);
    }
    out.push_str(
        "\n## How to read these numbers\n\n\
- **expected**: events the lab's pixel libraries sent. For a HAR input, requests sent while the page was \
being closed (`pagehide`) and requests with a compressed body are not expected: browsers leave the first \
out of HAR exports and store the second unreadably.\n\
- **found**: expected events matched by a decoded record of the same tracker, event name (compared \
lower-case, letters and digits only) and page address (scheme and host lower-case, trailing `/` and \
`#fragment` ignored). Where the request carries no event name on the wire (LinkedIn's `/collect`, for \
example), any record of that tracker and page counts.\n\
- **missed** = expected − found. **extra**: named records that match no expected event (records without \
a name that match nothing make no claim and are not counted).\n\
- **recall** = found / expected; **precision** = found / (found + extra).\n\
- **hashed ids found**: hashed identifiers (e-mail, phone) in the truth that appear among the tracker's \
decoded identifiers, as hex or as sent. **matched to identity**: of those, how many were recognised as a \
known person when the plaintexts are given with `--identity`.\n",
    );
    out
}

impl fmt::Display for AccuracyTable {
    /// A plain-text table for the terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:>8} {:>6} {:>6} {:>6} {:>7} {:>9} {:>7}",
            "TRACKER", "EXPECTED", "FOUND", "MISSED", "EXTRA", "RECALL", "PRECISION", "HASHED"
        )?;
        for row in self.rows.iter().chain(std::iter::once(&self.total)) {
            writeln!(
                f,
                "{:<16} {:>8} {:>6} {:>6} {:>6} {:>7} {:>9} {:>7}",
                pixelscope_report::escape::terminal(&row.tracker),
                row.expected,
                row.found,
                row.missed,
                row.extra,
                percent(row.recall()),
                percent(row.precision()),
                format!("{}/{}", row.hashed_found, row.hashed_expected)
            )?;
        }
        for row in &self.rows {
            if !row.missing_examples.is_empty() {
                writeln!(
                    f,
                    "missed {}: {}",
                    pixelscope_report::escape::terminal(&row.tracker),
                    pixelscope_report::escape::terminal(&row.missing_examples.join("; "))
                )?;
            }
        }
        for (tracker, n) in &self.unscored {
            writeln!(
                f,
                "not scored (not in the truth): {} ({n} records)",
                pixelscope_report::escape::terminal(tracker)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalise_like_the_lab_scorer() {
        assert_eq!(
            normalize_url("HTTPS://WWW.Example.TEST/Path/?q=A#frag"),
            "https://www.example.test/Path?q=A"
        );
        assert_eq!(
            normalize_url("https://www.capturelab.test"),
            "https://www.capturelab.test/"
        );
        assert_eq!(
            normalize_url("https://www.capturelab.test///"),
            "https://www.capturelab.test/"
        );
        assert_eq!(normalize_url(""), "");
        assert_eq!(normalize_url("/relative/"), "/relative");
    }

    #[test]
    fn event_names_must_stand_as_tokens() {
        assert!(named_on_wire("https://x/tr?ev=pageview&id=1", "pageview"));
        assert!(named_on_wire("{\"event\":\"pageview\"}", "pageview"));
        assert!(!named_on_wire(
            "https://x/collect?fmt=js&url=pageviews",
            "pageview"
        ));
        assert!(!named_on_wire("https://x/collect?v=2", "pageview"));
        assert!(named_on_wire("pageview", "pageview"));
        assert!(named_on_wire("a pageview~", "pageview"));
    }

    #[test]
    fn percent_decoding_matches_python() {
        assert_eq!(unquote_plus("a+b%20c%3D%e2%9c%93%zz"), "a b c=\u{2713}%zz");
        assert_eq!(unquote_plus("%ff"), "\u{fffd}");
    }

    #[test]
    fn event_keys_ignore_case_and_punctuation() {
        assert_eq!(event_key("Page_View"), "pageview");
        assert_eq!(event_key("add-to-cart 2"), "addtocart2");
    }
}
