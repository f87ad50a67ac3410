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

/// A user catalog loaded with `--decoders` decodes a vendor pixelscope does
/// not know, without recompiling; without it the request is not claimed.
#[test]
fn user_catalog_decodes_a_new_tracker() {
    let dir = tempfile::tempdir().expect("temp dir");
    let har = dir.path().join("acme.har");
    let url = "https://px.acme-analytics.test/v2/AC-991/hit?type=purchase&loc=https%3A%2F%2Fshop.example%2Fthanks\
               &uem=836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f&amt=12.50&cur=EUR";
    let text = serde_json::json!({"log": {"version": "1.2", "entries": [{
        "startedDateTime": "2026-01-12T10:00:00.000Z",
        "request": {"method": "GET", "url": url, "headers": [], "cookies": [{"name": "_acme_vid", "value": "v-1"}]},
        "response": {"status": 204, "headers": [], "content": {"size": 0}}
    }]}});
    std::fs::write(&har, text.to_string()).expect("write HAR");
    let har = har.to_string_lossy().into_owned();

    let (records, _) = scan_jsonl(&[&har]);
    assert!(
        records.iter().all(|r| r["tracker"] != "acme-pixel"),
        "known without the catalog?"
    );

    let (records, out) = scan_jsonl(&["--decoders", "samples/decoders/user/acme-pixel.toml", &har]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acme: Vec<&Value> = records
        .iter()
        .filter(|r| r["tracker"] == "acme-pixel")
        .collect();
    assert_eq!(acme.len(), 1, "{records:#?}");
    let r = acme[0];
    assert_eq!(r["event"], "purchase");
    assert_eq!(r["pixel_id"], "AC-991");
    assert_eq!(r["page_url"], "https://shop.example/thanks");
    assert!(
        r["identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"] == "email" && i["form"] == "sha256"),
        "{r:#}"
    );

    // A broken catalog is a usage error naming the file and line.
    let out = crate::util::pixelscope()
        .args([
            "scan",
            "--decoders",
            "samples/decoders/user/broken.toml",
            &har,
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.toml:"), "{stderr}");
}
