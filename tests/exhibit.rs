//! `pixelscope report` and `pixelscope verify` on the lab's HTTP/2 session:
//! what a bundle holds, that it is reproducible, that tampering with any
//! file (a bundle output or an original input) is caught and named, and
//! that hostile captured text stays inert in the exhibit and the CSV.

use crate::util::{pixelscope, root, scan_jsonl};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Output;

const HAR: &str = "samples/lab/h2/site.har";
const CAPTURE: &str = "samples/lab/h2/capture-dsb.pcapng";
const IDENTITIES: &str = "samples/analyze/lab-identities.txt";
const BUNDLE_FILES: [&str; 5] = [
    "exhibit.html",
    "events.jsonl",
    "events.csv",
    "events.sqlite",
    "manifest.json",
];

/// Runs `pixelscope report` over the h2 HAR and DSB capture with the lab
/// identities, into `out`, with `SOURCE_DATE_EPOCH` when given.
fn report(out: &Path, epoch: Option<&str>) -> Output {
    let mut cmd = pixelscope();
    cmd.args(["report", HAR, CAPTURE, "--identities", IDENTITIES, "--out"])
        .arg(out)
        .args(["--case", "Lab v. Trackers"]);
    match epoch {
        Some(e) => cmd.env("SOURCE_DATE_EPOCH", e),
        None => cmd.env_remove("SOURCE_DATE_EPOCH"),
    };
    let output = cmd.output().expect("run pixelscope report");
    assert!(
        output.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn verify(dir: &Path, inputs: &[&Path]) -> (i32, String) {
    let mut cmd = pixelscope();
    cmd.arg("verify").arg(dir);
    if !inputs.is_empty() {
        cmd.arg("--inputs").args(inputs);
    }
    let out = cmd.output().expect("run pixelscope verify");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn report_writes_the_scan_records_and_fingerprints_every_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let output = report(&out, None);
    let stdout = String::from_utf8_lossy(&output.stdout);

    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = BUNDLE_FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);

    // The manifest fixes both inputs by their real hash, in input order.
    let manifest_bytes = std::fs::read(out.join("manifest.json")).unwrap();
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    let inputs = manifest["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    for (input, (path, format)) in inputs.iter().zip([(HAR, "har"), (CAPTURE, "pcapng")]) {
        let bytes = std::fs::read(root().join(path)).unwrap();
        assert_eq!(input["path"], path);
        assert_eq!(input["sha256"], sha256_hex(&bytes).as_str());
        assert_eq!(input["size"], bytes.len() as u64);
        assert_eq!(input["format"], format);
    }
    assert_eq!(manifest["case"], "Lab v. Trackers");
    assert_eq!(manifest["command_line"][1], "report");
    assert!(
        manifest["decoders"].as_array().unwrap().len() > 40,
        "every decoder is listed, not only those that fired"
    );
    // The printed hash is the manifest's own.
    assert!(
        stdout.contains(&sha256_hex(&manifest_bytes)),
        "report should print the manifest's SHA-256: {stdout}"
    );

    // events.jsonl is byte for byte what `scan --format jsonl` prints.
    let scan = pixelscope()
        .args(["scan", "--format", "jsonl", "-q", HAR, CAPTURE])
        .args(["--identities", IDENTITIES])
        .output()
        .unwrap();
    assert!(scan.status.success());
    let jsonl = std::fs::read(out.join("events.jsonl")).unwrap();
    assert!(jsonl.len() > 100_000, "the h2 session has many records");
    assert!(
        jsonl == scan.stdout,
        "events.jsonl differs from scan --format jsonl"
    );
    // Known identities are matched in the bundle as in scan.
    let text = String::from_utf8(jsonl).unwrap();
    assert!(text.contains("\"matched\":\"john-email\""));
    // The exhibit shows the raw request behind the records.
    let html = std::fs::read_to_string(out.join("exhibit.html")).unwrap();
    assert!(html.contains("POST https://analytics.tiktok.com/api/v2/pixel"));
}

#[test]
fn report_is_byte_identical_run_after_run_with_source_date_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    // The command line is part of the manifest: both runs write to the same
    // place, the first bundle is moved away in between.
    let out = tmp.path().join("bundle");
    let first = tmp.path().join("first");
    report(&out, Some("1780000000"));
    std::fs::rename(&out, &first).unwrap();
    report(&out, Some("1780000000"));
    for name in BUNDLE_FILES {
        let a = std::fs::read(first.join(name)).unwrap();
        let b = std::fs::read(out.join(name)).unwrap();
        assert!(a == b, "{name} differs between two runs");
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["started"], "2026-05-28T20:26:40.000Z");
    assert_eq!(manifest["finished"], manifest["started"]);
}

#[test]
fn verify_passes_on_a_fresh_bundle_and_names_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    report(&out, None);

    let (code, text) = verify(&out, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("RESULT: VERIFIED"), "{text}");

    // One flipped byte in a copy's CSV.
    let copy = tmp.path().join("copy");
    copy_dir(&out, &copy);
    flip_byte(&copy.join("events.csv"), 200);
    let (code, text) = verify(&copy, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("CHANGED    events.csv"), "{text}");
    assert!(
        text.contains("RESULT: NOT VERIFIED. 1 of 6 files do not match: events.csv."),
        "{text}"
    );

    // A modified copy of an input, given as the input's new place.
    let moved = tmp.path().join("inputs");
    std::fs::create_dir_all(&moved).unwrap();
    let har_copy = moved.join("site.har");
    std::fs::copy(root().join(HAR), &har_copy).unwrap();
    let (code, text) = verify(&out, &[&har_copy]);
    assert_eq!(code, 0, "an identical copy elsewhere verifies: {text}");
    flip_byte(&har_copy, 1000);
    let (code, text) = verify(&out, &[&har_copy]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("CHANGED    samples/lab/h2/site.har"),
        "{text}"
    );
    assert!(
        text.contains("do not match: samples/lab/h2/site.har."),
        "{text}"
    );

    // No manifest: not a bundle, a usage error.
    let (code, text) = verify(&moved, &[]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("manifest.json not found"), "{text}");
}

/// A HAR whose captured text is built to attack the reader: markup, a
/// `javascript:` URL, a terminal escape and spreadsheet formulas, on Meta
/// pixel requests so that they decode into the record's own columns.
fn hostile_har() -> String {
    fn entry(method: &str, query: &str, body: Option<&str>) -> Value {
        let mut request = serde_json::json!({
            "method": method,
            "url": format!("https://www.facebook.com/tr/?{query}"),
            "httpVersion": "HTTP/2",
            "headers": [
                {"name": "Referer", "value": "javascript:alert(1)"},
                {"name": "X-Note", "value": "<script>alert(1)</script>\u{1b}[2J"},
            ],
            "queryString": [], "cookies": [], "headersSize": -1, "bodySize": -1,
        });
        if let Some(body) = body {
            request["postData"] = serde_json::json!({
                "mimeType": "application/x-www-form-urlencoded",
                "text": body,
            });
        }
        serde_json::json!({
            "startedDateTime": "2026-01-02T03:04:05.000Z",
            "time": 1,
            "request": request,
            "response": {
                "status": 200, "statusText": "OK", "httpVersion": "HTTP/2",
                "headers": [], "cookies": [],
                "content": {"size": 0, "mimeType": "text/plain"},
                "redirectURL": "", "headersSize": -1, "bodySize": 0,
            },
            "cache": {},
            "timings": {"send": 0, "wait": 1, "receive": 0},
        })
    }
    let har = serde_json::json!({"log": {
        "version": "1.2",
        "creator": {"name": "hostile", "version": "1"},
        "entries": [
            entry(
                "POST",
                "id=1234567890&ev=%3Cscript%3Ealert(1)%3C%2Fscript%3E&dl=javascript%3Aalert(1)\
                 &rl=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&cd[content_name]=%1B%5B2J",
                Some("ud[em]=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E\
                      &cd[x]=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
            ),
            entry(
                "GET",
                "id=%40SUM(1%2B1)&ev=%3DHYPERLINK(%22http%3A%2F%2Fx%22)\
                 &dl=%2B1%2Bcmd%7C'%20%2FC%20calc'!A0&rl=-2%2B3",
                None,
            ),
        ],
    }});
    har.to_string()
}

#[test]
fn hostile_captured_text_stays_text_in_the_exhibit_and_the_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let har: PathBuf = tmp.path().join("hostile.har");
    std::fs::write(&har, hostile_har()).unwrap();

    // The requests must decode, or the test would prove nothing.
    let (records, _) = scan_jsonl(&[har.to_str().unwrap()]);
    let events: Vec<&str> = records.iter().filter_map(|r| r["event"].as_str()).collect();
    assert_eq!(
        events,
        ["<script>alert(1)</script>", "=HYPERLINK(\"http://x\")"]
    );

    let out = tmp.path().join("bundle");
    let status = pixelscope()
        .arg("report")
        .arg(&har)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success());

    let html = std::fs::read_to_string(out.join("exhibit.html")).unwrap();
    // Shown, as text (askama escapes `<` as a numeric reference).
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    for raw in [
        "<script>alert",
        "<img src=x",
        "\u{1b}",
        "href=\"javascript:",
    ] {
        assert!(!html.contains(raw), "exhibit.html holds {raw:?} unescaped");
    }

    let mut reader = csv::Reader::from_path(out.join("events.csv")).unwrap();
    let mut cells = 0;
    for row in reader.records() {
        for cell in row.unwrap().iter() {
            cells += 1;
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "a spreadsheet would run the cell {cell:?}"
            );
        }
    }
    assert!(cells > 20);
    let csv_text = std::fs::read_to_string(out.join("events.csv")).unwrap();
    assert!(
        csv_text.contains("'=HYPERLINK"),
        "the formula is kept, neutralised"
    );
}

/// An input that cannot be read does not stop the bundle: it is
/// fingerprinted, named in the coverage section, and the exit status says
/// the run was incomplete.
#[test]
fn report_still_writes_the_bundle_when_an_input_is_unreadable() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "not evidence\n").unwrap();
    let out = tmp.path().join("bundle");
    let output = pixelscope()
        .arg("report")
        .arg(&notes)
        .arg(HAR)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("notes.txt: not a HAR file or a pcap/pcapng capture"),
        "{stderr}"
    );

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let inputs = manifest["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0]["format"], "unknown");
    assert_eq!(inputs[0]["sha256"], sha256_hex(b"not evidence\n").as_str());
    assert_eq!(inputs[1]["format"], "har");
    let html = std::fs::read_to_string(out.join("exhibit.html")).unwrap();
    assert!(html.contains("input.unreadable"));
    // Everything readable is there.
    let jsonl = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    assert!(jsonl.lines().count() > 50);
    let (code, text) = verify(&out, &[]);
    assert_eq!(code, 0, "{text}");
}
