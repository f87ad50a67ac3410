//! `pixelscope matrix` over the h2 lab session (its HAR and its capture with
//! embedded keys): one row per site and tracker whose numbers follow from
//! the lab's ground truth, CSV that a spreadsheet cannot run, JSON that parses.

use crate::util::{pixelscope, read_json, sample};
use serde_json::Value;
use std::collections::BTreeMap;

const LAB_TRACKERS: [&str; 9] = [
    "ga4",
    "linkedin",
    "meta",
    "microsoft-uet",
    "pinterest",
    "reddit",
    "snap",
    "tiktok",
    "x",
];

fn matrix(args: &[&str]) -> std::process::Output {
    pixelscope()
        .arg("matrix")
        .args(args)
        .output()
        .expect("run pixelscope")
}

/// Per tracker: events the truth expects in the HAR plus in the capture,
/// and whether a hashed e-mail address was among them. A HAR cannot hold
/// requests sent while the page unloaded or with a compressed body, so
/// those are expected in the capture only (as the accuracy scorer has it).
fn expected_from_truth() -> BTreeMap<String, (u64, bool)> {
    let truth = read_json(&sample("lab/h2/truth.json"));
    let mut expected: BTreeMap<String, (u64, bool)> = BTreeMap::new();
    for r in truth["requests"].as_array().expect("requests") {
        let tracker = r["tracker"].as_str().unwrap().to_owned();
        let events = r["events"].as_array().map_or(0, Vec::len) as u64;
        let in_har = r["sent_from"].as_str() != Some("pagehide") && r["content_encoding"].is_null();
        let hashed_email = r["hashed"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|h| h["plaintext"].as_str().is_some_and(|p| p.contains('@')));
        let entry = expected.entry(tracker).or_default();
        entry.0 += events + if in_har { events } else { 0 };
        entry.1 |= hashed_email;
    }
    expected
}

#[test]
fn matrix_rows_match_the_lab_truth() {
    let out = matrix(&[
        "--format",
        "json",
        "samples/lab/h2/site.har",
        "samples/lab/h2/capture-dsb.pcapng",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("matrix JSON parses");
    assert_eq!(doc["schema"], "pixelscope.matrix/1");
    let rows = doc["rows"].as_array().unwrap();
    let expected = expected_from_truth();
    assert_eq!(
        expected.keys().map(String::as_str).collect::<Vec<_>>(),
        LAB_TRACKERS
    );
    for (tracker, (events, hashed_email)) in &expected {
        let row = rows
            .iter()
            .find(|r| r["site"] == "capturelab.test" && r["tracker"] == tracker.as_str())
            .unwrap_or_else(|| panic!("no capturelab.test row for {tracker}"));
        assert_eq!(row["events"], *events, "events sent to {tracker}");
        assert_eq!(
            row["hashed_email"], *hashed_email,
            "hashed e-mail to {tracker}"
        );
        let ids: Vec<&str> = row["identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            *hashed_email,
            ids.iter()
                .any(|i| i.starts_with("email ") && *i != "email plain"),
            "identifier kinds of {tracker}: {ids:?}"
        );
        let files = row["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{tracker} seen in both inputs: {files:?}");
        assert!(row["first"].as_str().unwrap() <= row["last"].as_str().unwrap());
    }
    // Rows come in (site, tracker) order.
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["site"].to_string(), r["tracker"].to_string()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // One total per tracker, one site reached each.
    for total in doc["trackers"].as_array().unwrap() {
        let tracker = total["tracker"].as_str().unwrap();
        if let Some((events, hashed_email)) = expected.get(tracker) {
            assert_eq!(total["sites_reached"], 1, "{tracker}");
            assert_eq!(total["events"], *events, "{tracker}");
            assert_eq!(
                total["sites_hashed_email"],
                u64::from(*hashed_email),
                "{tracker}"
            );
        }
    }
}

#[test]
fn matrix_flags_the_health_search_page() {
    let out = matrix(&["--format", "json", "samples/lab/h2/site.har"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("matrix JSON parses");
    // The lab searched "erectile dysfunction": trackers told of that page
    // carry a health flag, and the total counts the site.
    let sensitive: Vec<&Value> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["sensitive"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "health")
        })
        .collect();
    assert!(!sensitive.is_empty());
    for row in sensitive {
        let total = doc["trackers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tracker"] == row["tracker"])
            .unwrap();
        assert_eq!(total["sites_sensitive"], 1);
    }
}

/// The h2 lab HAR with Meta's AddPaymentInfo event renamed (in its form
/// body, percent-encoded) to `name`.
fn hostile_har(dir: &std::path::Path, name: &str) -> String {
    let har = std::fs::read_to_string(sample("lab/h2/site.har")).unwrap();
    assert!(har.contains("&ev=AddPaymentInfo&"));
    let path = dir.join("hostile.har");
    std::fs::write(
        &path,
        har.replace("&ev=AddPaymentInfo&", &format!("&ev={name}&")),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn matrix_csv_neutralises_formulas_and_quotes_cells() {
    let dir = tempfile::tempdir().unwrap();
    // Decodes to `=2+5,X`: a formula with a comma in it.
    let path = hostile_har(dir.path(), "%3D2%2B5%2CX");
    let out = matrix(&["--format", "csv", &path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().next().unwrap(),
        "site,tracker,vendor,events,event_names,identifiers,hashed_email,matched,sensitive,\
         search,linkage,library_loads,contacts,first,last,files"
    );
    let meta = text
        .lines()
        .find(|l| l.starts_with("capturelab.test,meta,Meta,"))
        .expect("meta row");
    // The event names cell starts with the hostile name (`=` sorts first):
    // quoted for its comma, and prefixed so no spreadsheet evaluates it.
    assert!(
        meta.starts_with("capturelab.test,meta,Meta,9,\"'=2+5,X; Lead; "),
        "{meta}"
    );
    let totals = matrix(&["--format", "csv", "--totals", &path]);
    let text = String::from_utf8(totals.stdout).unwrap();
    assert!(text.starts_with(
        "tracker,vendor,sites_reached,sites_with_events,events,sites_hashed_email,sites_sensitive\r\n"
    ));
    assert_eq!(text.lines().count(), 1 + LAB_TRACKERS.len());
}

#[test]
fn matrix_table_escapes_captured_text() {
    let dir = tempfile::tempdir().unwrap();
    // Decodes to a name holding ESC [2J (clear screen).
    let path = hostile_har(dir.path(), "Add%1B%5B2JPay");
    let out = matrix(&[&path]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "raw escape reached the terminal");
    assert!(text.contains("Add\\x1b[2JPay"), "{text}");
    assert!(text.contains("sites_reached"));
}

#[test]
fn matrix_of_a_missing_file_exits_one() {
    let out = matrix(&["samples/lab/h2/no-such-file.har"]);
    assert_eq!(out.status.code(), Some(1));
}
