//! `pixelscope scan` over HAR files: accuracy against the capture lab's
//! ground truth, and per-tracker counts on real HARs written by others.

use crate::util::{read_json, sample, scan_jsonl, score};
use serde_json::Value;
use std::collections::BTreeMap;

/// The trackers whose every lab request must decode exactly from a HAR.
const SPINE_TRACKERS: &[&str] = &["tiktok", "meta", "ga4"];

fn lab_har_accuracy(variant: &str) {
    let har = format!("samples/lab/{variant}/site.har");
    let (records, out) = scan_jsonl(&[&har]);
    assert!(
        out.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth = read_json(&sample(&format!("lab/{variant}/truth.json")));
    let s = score(&truth, &records, SPINE_TRACKERS, true);
    assert!(
        s.perfect(),
        "{variant}: recall {:.3} precision {:.3} hashed {}/{}\nmissing: {:#?}\nunexpected: {:#?}",
        s.recall(),
        s.precision(),
        s.hashed_found,
        s.hashed_expected,
        s.missing,
        s.unexpected
    );
    assert!(
        s.expected > 10,
        "{variant}: the truth should expect many events, got {}",
        s.expected
    );
}

#[test]
fn lab_http1_har_decodes_every_spine_event() {
    lab_har_accuracy("http1");
}

#[test]
fn lab_h1tls_har_decodes_every_spine_event() {
    lab_har_accuracy("h1tls");
}

#[test]
fn lab_h2_har_decodes_every_spine_event() {
    lab_har_accuracy("h2");
}

#[test]
fn lab_h3_har_decodes_every_spine_event() {
    lab_har_accuracy("h3");
}

/// A HAR stores a gzip-compressed request body mangled: the scan must say
/// so rather than guess.
#[test]
fn compressed_request_bodies_in_a_har_are_reported() {
    let (_, out) = scan_jsonl(&["samples/lab/h2/site.har"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("har.body-mangled"), "stderr: {stderr}");
}

/// Records per (tracker, kind) over a file.
fn counts(records: &[Value]) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for r in records {
        let key = format!(
            "{} {}",
            r["tracker"].as_str().unwrap_or("?"),
            r["kind"].as_str().unwrap_or("?")
        );
        *map.entry(key).or_default() += 1;
    }
    map
}

#[test]
fn real_hars_give_pinned_counts() {
    for file in [
        "har-real/ferguson.har",
        "har-real/case-sensitive-protocol.har",
        "har-real/izettle.har",
    ] {
        let (records, out) = scan_jsonl(&[&format!("samples/{file}")]);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        insta::assert_yaml_snapshot!(file.replace(['/', '.'], "_"), counts(&records));
    }
}
