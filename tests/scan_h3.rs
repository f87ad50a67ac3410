//! `pixelscope scan` over the capture lab's HTTP/3 captures: QUIC opened
//! with the key log (given as a file, or embedded in the pcapng), HTTP/3
//! read with QPACK, scored against the lab's ground truth and compared
//! with the HAR the browser wrote during the same visit.

use crate::util::{read_json, sample, scan_jsonl, score};
use serde_json::Value;
use std::collections::BTreeMap;

const KEYLOG: &[&str] = &[
    "samples/lab/h3/capture.pcapng",
    "--keylog",
    "samples/lab/h3/sslkeys.log",
];
const DSB: &[&str] = &["samples/lab/h3/capture-dsb.pcapng"];

fn truth() -> Value {
    read_json(&sample("lab/h3/truth.json"))
}

/// Every tracker the truth names.
fn trackers(truth: &Value) -> Vec<String> {
    let mut names: Vec<String> = truth["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(|r| r["tracker"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn scan(args: &[&str]) -> Vec<Value> {
    let (records, out) = scan_jsonl(args);
    assert!(
        out.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    records
}

fn assert_perfect(args: &[&str]) -> Vec<Value> {
    let records = scan(args);
    let truth = truth();
    let names = trackers(&truth);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let s = score(&truth, &records, &names, false);
    assert!(
        s.perfect(),
        "{args:?}: recall {:.3} precision {:.3} hashed {}/{}\nmissing: {:#?}\nunexpected: {:#?}",
        s.recall(),
        s.precision(),
        s.hashed_found,
        s.hashed_expected,
        s.missing,
        s.unexpected
    );
    assert!(s.expected > 50, "the truth expects many events");
    records
}

#[test]
fn lab_h3_capture_with_a_key_log_decodes_every_event() {
    let records = assert_perfect(KEYLOG);
    let events: Vec<&Value> = records.iter().filter(|r| r["kind"] == "event").collect();
    assert!(!events.is_empty());
    for r in events {
        // HTTP/3: a QUIC stream id, no TCP stream, TLS 1.3.
        assert!(r["origin"]["quic_stream"].is_u64(), "{}", r["origin"]);
        assert!(r["origin"]["stream"].is_null());
        assert_eq!(r["origin"]["tls"], "1.3");
        assert!(
            r["origin"]["frames"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
        );
    }
}

#[test]
fn lab_h3_capture_with_embedded_secrets_decodes_every_event() {
    assert_perfect(DSB);
}

/// What identifies a record across inputs.
fn key(r: &Value) -> String {
    format!(
        "{} {} {} {} {}",
        r["tracker"].as_str().unwrap_or("?"),
        r["kind"].as_str().unwrap_or("?"),
        r["event"].as_str().unwrap_or("-"),
        r["pixel_id"].as_str().unwrap_or("-"),
        r["request"]["url"].as_str().unwrap_or("-"),
    )
}

/// Event records by [`key`]. Library loads are left out: the HAR also
/// lists scripts the browser served from its cache, which never crossed
/// the network.
fn multiset(records: &[Value]) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for r in records.iter().filter(|r| r["kind"] == "event") {
        *map.entry(key(r)).or_default() += 1;
    }
    map
}

/// The capture holds everything the HAR holds, plus what a HAR cannot:
/// the beacons sent while the page unloaded and gzip-compressed bodies.
#[test]
fn lab_h3_capture_gives_the_har_records_plus_what_a_har_cannot_hold() {
    let capture = multiset(&scan(DSB));
    let har = multiset(&scan(&["samples/lab/h3/site.har"]));
    let truth = truth();
    let unholdable: Vec<(String, String)> = truth["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["sent_from"] == "pagehide" || !r["content_encoding"].is_null())
        .map(|r| {
            (
                r["tracker"].as_str().unwrap_or_default().to_owned(),
                r["url"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(!unholdable.is_empty());
    for (k, n) in &har {
        // A HAR mangles compressed bodies: those records may differ.
        let mangled = unholdable
            .iter()
            .any(|(tracker, url)| k.starts_with(tracker.as_str()) && k.ends_with(url.as_str()));
        if mangled {
            continue;
        }
        assert!(
            capture.get(k).copied().unwrap_or(0) >= *n,
            "HAR record missing from the capture: {k} x{n}"
        );
    }
    for (k, n) in &capture {
        let extra = n.saturating_sub(har.get(k).copied().unwrap_or(0));
        if extra == 0 {
            continue;
        }
        let explained = unholdable
            .iter()
            .any(|(tracker, url)| k.starts_with(tracker.as_str()) && k.ends_with(url.as_str()));
        assert!(
            explained,
            "capture record the HAR lacks, unexplained: {k} x{extra}"
        );
    }
}

#[test]
fn without_keys_the_h3_capture_gives_only_contacts() {
    let (records, out) = scan_jsonl(&["samples/lab/h3/capture.pcapng"]);
    assert!(out.status.success());
    assert!(!records.is_empty());
    assert!(
        records.iter().all(|r| r["kind"] == "contact"),
        "only contacts without keys"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("quic.no-key"), "stderr: {stderr}");
}
