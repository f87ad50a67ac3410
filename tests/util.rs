//! Helpers shared by the integration tests: running the binary, and scoring
//! its records against a capture-lab `truth.json` the way the lab's scorer
//! does (events matched by tracker, event name and page URL; every hashed
//! value of the truth found among the identifiers).

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root (where `samples/` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(rel: &str) -> PathBuf {
    root().join("samples").join(rel)
}

/// A `pixelscope` command run from the project root.
pub fn pixelscope() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pixelscope"));
    cmd.current_dir(root());
    cmd
}

/// Runs `pixelscope scan --format jsonl ARGS...` and parses every line.
pub fn scan_jsonl(args: &[&str]) -> (Vec<Value>, Output) {
    let out = pixelscope()
        .arg("scan")
        .args(["--format", "jsonl"])
        .args(args)
        .output()
        .expect("run pixelscope");
    let text = String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8");
    let records = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (records, out)
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// `scheme://host/path?query` with scheme and host lower-cased, the
/// fragment dropped and a trailing slash of the path removed.
pub fn norm_url(url: &str) -> String {
    if url.is_empty() {
        return String::new();
    }
    let url = url.split('#').next().unwrap_or(url);
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (host, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], &before_query[i..]),
        None => (before_query, ""),
    };
    let path = path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    let mut out = format!(
        "{}://{}{}",
        scheme.to_lowercase(),
        host.to_lowercase(),
        path
    );
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Python's `unquote_plus`, lossy.
fn unquote_plus(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the event name appears on the wire as a token (the lab scorer's
/// rule: where the wire carries no event name, any name or none will do).
fn named_on_wire(wire: &str, event: &str) -> bool {
    let event = event.to_lowercase();
    let before = |c: Option<char>| c.is_none_or(|c| "=\":,[~".contains(c) || c.is_whitespace());
    let after =
        |c: Option<char>| c.is_none_or(|c| "&\"\u{20},]~;".contains(c) || c.is_whitespace());
    let mut start = 0;
    while let Some(pos) = wire[start..].find(&event) {
        let at = start + pos;
        let end = at + event.len();
        if before(wire[..at].chars().next_back()) && after(wire[end..].chars().next()) {
            return true;
        }
        start = at + event.len().max(1);
        if start >= wire.len() {
            break;
        }
    }
    false
}

fn event_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Result of scoring records against a truth file.
#[derive(Debug, Default)]
pub struct Score {
    pub expected: usize,
    pub hit: usize,
    pub extra: usize,
    pub hashed_expected: usize,
    pub hashed_found: usize,
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
}

impl Score {
    pub fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.hit as f64 / self.expected as f64
        }
    }
    pub fn precision(&self) -> f64 {
        let got = self.hit + self.extra;
        if got == 0 {
            1.0
        } else {
            self.hit as f64 / got as f64
        }
    }
    pub fn perfect(&self) -> bool {
        self.hit == self.expected && self.extra == 0 && self.hashed_found == self.hashed_expected
    }
}

/// Scores `records` against `truth` for the given trackers. With `har`,
/// requests a HAR cannot hold (sent while the page unloaded, or with a
/// compressed body) are not expected.
pub fn score(truth: &Value, records: &[Value], trackers: &[&str], har: bool) -> Score {
    let mut expected: HashMap<(String, String, String), usize> = HashMap::new();
    let mut wild: HashMap<(String, String), usize> = HashMap::new();
    let mut hashes: Vec<(String, String, String)> = Vec::new();
    for r in truth["requests"].as_array().expect("requests") {
        let tracker = r["tracker"].as_str().unwrap_or_default();
        if !trackers.contains(&tracker) {
            continue;
        }
        if har && (r["sent_from"].as_str() == Some("pagehide") || !r["content_encoding"].is_null())
        {
            continue;
        }
        let page = norm_url(r["page_url"].as_str().unwrap_or_default());
        let body = r["body_decoded"]
            .as_str()
            .or(r["body"].as_str())
            .unwrap_or_default();
        let wire = unquote_plus(&format!(
            "{} {}",
            r["url"].as_str().unwrap_or_default(),
            body
        ))
        .to_lowercase();
        for ev in r["events"].as_array().into_iter().flatten() {
            let name = ev
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| ev.to_string());
            if named_on_wire(&wire, &name) {
                *expected
                    .entry((tracker.to_owned(), event_key(&name), page.clone()))
                    .or_default() += 1;
            } else {
                *wild.entry((tracker.to_owned(), page.clone())).or_default() += 1;
            }
        }
        for h in r["hashed"].as_array().into_iter().flatten() {
            hashes.push((
                tracker.to_owned(),
                h["sha256"].as_str().unwrap_or_default().to_lowercase(),
                h["wire_value"]
                    .as_str()
                    .map(str::to_lowercase)
                    .unwrap_or_default(),
            ));
        }
    }
    let mut got: HashMap<(String, String, String), usize> = HashMap::new();
    let mut unnamed: HashMap<(String, String), usize> = HashMap::new();
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    for rec in records {
        let tracker = rec["tracker"].as_str().unwrap_or_default();
        if !trackers.contains(&tracker) {
            continue;
        }
        for i in rec["identifiers"].as_array().into_iter().flatten() {
            ids.entry(tracker.to_owned())
                .or_default()
                .push(i["value"].as_str().unwrap_or_default().to_lowercase());
        }
        if rec["kind"] != "event" {
            continue;
        }
        let page = norm_url(rec["page_url"].as_str().unwrap_or_default());
        match rec["event"].as_str() {
            Some(name) => {
                *got.entry((tracker.to_owned(), event_key(name), page))
                    .or_default() += 1
            }
            None => *unnamed.entry((tracker.to_owned(), page)).or_default() += 1,
        }
    }
    let mut s = Score {
        hashed_expected: hashes.len(),
        ..Score::default()
    };
    for (key, n) in &expected {
        let g = got.get(key).copied().unwrap_or(0);
        s.expected += n;
        s.hit += g.min(*n);
        if g < *n {
            s.missing.push(format!("{key:?} x{}", n - g));
        }
    }
    // Named records left over, and unnamed records, may fill the places of
    // truth events whose name is not on the wire; unnamed leftovers are not
    // claims and do not count against precision.
    let mut left_named: HashMap<(String, String), usize> = HashMap::new();
    for (key, n) in &got {
        let e = expected.get(key).copied().unwrap_or(0);
        if *n > e {
            *left_named
                .entry((key.0.clone(), key.2.clone()))
                .or_default() += n - e;
            s.unexpected.push(format!("{key:?} x{}", n - e));
        }
    }
    for (key, w) in &wild {
        s.expected += w;
        let named = left_named.get(key).copied().unwrap_or(0);
        let bare = unnamed.get(key).copied().unwrap_or(0);
        s.hit += (*w).min(named + bare);
        if named + bare < *w {
            s.missing
                .push(format!("{key:?} (unnamed) x{}", w - named - bare));
        }
    }
    for (key, named) in &left_named {
        s.extra += *named - (*named).min(wild.get(key).copied().unwrap_or(0));
    }
    for (tracker, sha, wire) in &hashes {
        let values = ids.get(tracker).map(Vec::as_slice).unwrap_or_default();
        if values
            .iter()
            .any(|v| (!sha.is_empty() && v == sha) || (!wire.is_empty() && v == wire))
        {
            s.hashed_found += 1;
        }
    }
    s.missing.sort();
    s.unexpected.sort();
    s
}

#[test]
fn norm_url_matches_the_lab_scorer() {
    assert_eq!(
        norm_url("HTTPS://WWW.Example.org/a/?q=1#x"),
        "https://www.example.org/a?q=1"
    );
    assert_eq!(norm_url("https://x.test"), "https://x.test/");
    assert_eq!(norm_url(""), "");
}
