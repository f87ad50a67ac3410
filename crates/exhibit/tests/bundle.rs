//! Writing, reproducing and verifying bundles.

// The expected file lists include events.sqlite (the default feature).
#![cfg(feature = "sqlite")]
// Test helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use pixelscope_exhibit::{
    CSV_FILE, EXHIBIT_FILE, FileRole, FileStatus, JSONL_FILE, MANIFEST_FILE, Manifest, SQLITE_FILE,
    verify, write_bundle_at,
};
use std::path::{Path, PathBuf};

const BUNDLE_FILES: [&str; 5] = [
    EXHIBIT_FILE,
    JSONL_FILE,
    CSV_FILE,
    SQLITE_FILE,
    MANIFEST_FILE,
];

fn read_manifest(dir: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(dir.join(MANIFEST_FILE)).unwrap()).unwrap()
}

#[test]
fn a_bundle_holds_every_file_and_the_manifest_hashes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let har = copy_lab_har(tmp.path());
    let out = tmp.path().join("bundle");
    let manifest = write_bundle_at(&lab_input(&har), &out, None).unwrap();

    for name in BUNDLE_FILES {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    assert_eq!(manifest, read_manifest(&out));
    let outputs: Vec<&str> = manifest.outputs.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(
        outputs,
        [EXHIBIT_FILE, JSONL_FILE, CSV_FILE, SQLITE_FILE],
        "the manifest does not hash itself"
    );
    for o in &manifest.outputs {
        let (size, sha) = pixelscope_exhibit::sha256_file(&out.join(&o.path)).unwrap();
        assert_eq!(
            (size, sha.as_str()),
            (o.size, o.sha256.as_str()),
            "{}",
            o.path
        );
    }
    let input = &manifest.inputs[0];
    assert_eq!(
        input.size,
        std::fs::metadata(sample("lab/h2/site.har")).unwrap().len()
    );
    assert_eq!(
        input.sha256,
        lab_events()[0].event.origin.sha256.clone().unwrap(),
        "same hash as the records carry"
    );
    assert_eq!(input.format.as_deref(), Some("har"));
    assert_eq!(manifest.tool.name, "pixelscope");
    assert_eq!(
        manifest.tool.git_commit.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(manifest.decoders.len(), 9);
    assert_eq!(manifest.command_line[1], "report");
    assert_eq!(manifest.started.to_string(), "2026-11-30T10:00:00.000Z");
    assert_eq!(manifest.finished.to_string(), "2026-11-30T10:00:02.500Z");
}

#[test]
fn events_jsonl_is_exactly_the_scan_records() {
    let tmp = tempfile::tempdir().unwrap();
    let har = copy_lab_har(tmp.path());
    let out = tmp.path().join("bundle");
    write_bundle_at(&lab_input(&har), &out, None).unwrap();
    let text = std::fs::read_to_string(out.join(JSONL_FILE)).unwrap();
    let expected: String = lab_events()
        .iter()
        .map(|e| serde_json::to_string(&e.event).unwrap() + "\n")
        .collect();
    assert_eq!(text, expected);
    let csv = std::fs::read_to_string(out.join(CSV_FILE)).unwrap();
    assert_eq!(
        csv.lines().count(),
        lab_events().len() + 1,
        "a header and one row per record"
    );
}

#[test]
fn the_same_records_give_byte_identical_bundles() {
    let tmp = tempfile::tempdir().unwrap();
    let har = copy_lab_har(tmp.path());
    let input = lab_input(&har);
    let epoch = pixelscope_exhibit::parse_source_date_epoch("1796119200").unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("nested/b"));
    write_bundle_at(&input, &a, Some(epoch)).unwrap();
    // The second run also has different wall-clock times: the epoch wins.
    let mut later = input.clone();
    later.started = time("2030-01-01T00:00:00Z");
    later.finished = time("2030-01-01T00:01:00Z");
    write_bundle_at(&later, &b, Some(epoch)).unwrap();
    for name in BUNDLE_FILES {
        let (x, y) = (
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
        );
        assert!(
            x == y,
            "{name} differs between two runs over the same records"
        );
    }
    assert_eq!(
        read_manifest(&a).started.to_string(),
        "2026-12-01T10:00:00.000Z"
    );
    assert_eq!(read_manifest(&a).finished, read_manifest(&a).started);

    // Writing over an existing bundle gives the same bytes again (the
    // SQLite file is rebuilt, not appended to).
    write_bundle_at(&input, &a, Some(epoch)).unwrap();
    for name in BUNDLE_FILES {
        assert!(
            std::fs::read(a.join(name)).unwrap() == std::fs::read(b.join(name)).unwrap(),
            "{name} after rewrite"
        );
    }
}

#[test]
fn only_the_run_times_differ_between_runs_without_a_fixed_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let har = copy_lab_har(tmp.path());
    let input = lab_input(&har);
    let mut later = input.clone();
    later.started = time("2027-01-01T00:00:00Z");
    later.finished = time("2027-01-01T00:00:09Z");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_bundle_at(&input, &a, None).unwrap();
    write_bundle_at(&later, &b, None).unwrap();
    for name in [JSONL_FILE, CSV_FILE, SQLITE_FILE] {
        assert!(
            std::fs::read(a.join(name)).unwrap() == std::fs::read(b.join(name)).unwrap(),
            "{name}"
        );
    }
    let (x, y) = (
        std::fs::read_to_string(a.join(EXHIBIT_FILE)).unwrap(),
        std::fs::read_to_string(b.join(EXHIBIT_FILE)).unwrap(),
    );
    let differing: Vec<(&str, &str)> = x.lines().zip(y.lines()).filter(|(l, r)| l != r).collect();
    assert_eq!(x.lines().count(), y.lines().count());
    assert_eq!(
        differing.len(),
        1,
        "the run times appear at one place only: {differing:?}"
    );
    assert!(differing[0].1.contains("2027-01-01T00:00:09.000Z"));
}

#[test]
fn nothing_machine_specific_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let har = copy_lab_har(tmp.path());
    let mut input = lab_input(&har);
    // The input as the user named it, relative: the only path recorded.
    input.inputs[0].path = "site.har".into();
    let out = tmp.path().join("bundle");
    write_bundle_at(&input, &out, None).unwrap();
    let tmp_text = tmp.path().to_str().unwrap();
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    for name in BUNDLE_FILES {
        let bytes = std::fs::read(out.join(name)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(tmp_text), "{name} holds the temporary path");
        let host = host.trim();
        if host.len() > 3 {
            assert!(!text.contains(host), "{name} holds the host name");
        }
    }
}

/// Flips one byte of `path` in place.
fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn bundle_with_input(tmp: &Path) -> (PathBuf, PathBuf) {
    let har = copy_lab_har(tmp);
    let out = tmp.join("bundle");
    write_bundle_at(&lab_input(&har), &out, None).unwrap();
    (har, out)
}

#[test]
fn an_untouched_bundle_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = bundle_with_input(tmp.path());
    let report = verify(&out, &[]).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.files.len(), 5);
    let text = report.to_string();
    assert!(text.contains("RESULT: VERIFIED. All 5 files"), "{text}");
    assert!(text.contains(&report.manifest_sha256));
}

#[test]
fn one_changed_byte_in_any_output_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = bundle_with_input(tmp.path());
    for name in [EXHIBIT_FILE, JSONL_FILE, CSV_FILE, SQLITE_FILE] {
        let path = out.join(name);
        let original = std::fs::read(&path).unwrap();
        flip_byte(&path, original.len() / 2);
        let report = verify(&out, &[]).unwrap();
        assert!(!report.is_ok());
        let failures = report.failures();
        assert_eq!(failures.len(), 1, "{report}");
        assert_eq!(failures[0].recorded_path, name);
        assert!(matches!(failures[0].status, FileStatus::Changed { .. }));
        let text = report.to_string();
        assert!(text.contains(&format!("CHANGED    {name}")), "{text}");
        assert!(
            text.contains(&format!(
                "RESULT: NOT VERIFIED. 1 of 5 files do not match: {name}."
            )),
            "{text}"
        );
        std::fs::write(&path, original).unwrap();
        assert!(verify(&out, &[]).unwrap().is_ok(), "restored {name}");
    }
}

#[test]
fn a_changed_or_missing_input_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (har, out) = bundle_with_input(tmp.path());
    flip_byte(&har, 10);
    let report = verify(&out, &[]).unwrap();
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].role, FileRole::Input);
    assert!(failures[0].recorded_path.ends_with("site.har"));
    assert!(report.to_string().contains("CHANGED    "), "{report}");

    std::fs::remove_file(&har).unwrap();
    let report = verify(&out, &[]).unwrap();
    assert_eq!(report.failures()[0].status, FileStatus::Missing);
    assert!(
        report.to_string().contains("--inputs"),
        "tells how to point at a moved input: {report}"
    );

    std::fs::remove_file(out.join(CSV_FILE)).unwrap();
    let report = verify(&out, &[]).unwrap();
    assert_eq!(report.failures().len(), 2);
    assert!(
        report
            .to_string()
            .contains(&format!("MISSING    {CSV_FILE}")),
        "{report}"
    );
}

#[test]
fn inputs_moved_elsewhere_are_found_by_file_name() {
    let tmp = tempfile::tempdir().unwrap();
    let (har, out) = bundle_with_input(tmp.path());
    let moved_dir = tmp.path().join("evidence-copy");
    std::fs::create_dir(&moved_dir).unwrap();
    let moved = moved_dir.join("site.har");
    std::fs::rename(&har, &moved).unwrap();

    assert!(
        !verify(&out, &[]).unwrap().is_ok(),
        "the recorded path is now empty"
    );
    let report = verify(&out, std::slice::from_ref(&moved)).unwrap();
    assert!(report.is_ok(), "{report}");
    assert!(report.to_string().contains("checked at"), "{report}");

    // A file with the right name but other contents is not accepted.
    flip_byte(&moved, 0);
    assert!(!verify(&out, std::slice::from_ref(&moved)).unwrap().is_ok());

    // A file the bundle never listed is reported, and fails the check.
    let stranger = moved_dir.join("other.pcapng");
    std::fs::write(&stranger, b"x").unwrap();
    flip_byte(&moved, 0);
    let report = verify(&out, &[moved, stranger]).unwrap();
    assert!(!report.is_ok());
    assert!(report.to_string().contains("NOT LISTED"), "{report}");
}

#[test]
fn files_added_to_the_bundle_folder_are_mentioned_but_not_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = bundle_with_input(tmp.path());
    std::fs::write(out.join("notes.txt"), b"analyst notes").unwrap();
    let report = verify(&out, &[]).unwrap();
    assert!(report.is_ok());
    assert_eq!(report.unlisted_files, ["notes.txt"]);
    assert!(report.to_string().contains("not part of the evidence"));
}

#[test]
fn a_manifest_cannot_send_verify_outside_the_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = bundle_with_input(tmp.path());
    let path = out.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"events.csv\"", "\"../site.har\"");
    std::fs::write(&path, text).unwrap();
    let report = verify(&out, &[]).unwrap();
    assert!(!report.is_ok());
    assert!(
        report
            .failures()
            .iter()
            .any(|f| f.status == FileStatus::InvalidName)
    );
}

#[test]
fn a_missing_or_foreign_manifest_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(verify(tmp.path(), &[]).is_err());
    std::fs::write(tmp.path().join(MANIFEST_FILE), b"{\"hello\": 1}").unwrap();
    let err = verify(tmp.path(), &[]).unwrap_err();
    assert!(
        err.to_string().contains("not a pixelscope manifest"),
        "{err}"
    );
}

#[test]
fn the_exhibit_has_every_section_and_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = bundle_with_input(tmp.path());
    let html = std::fs::read_to_string(out.join(EXHIBIT_FILE)).unwrap();
    for heading in [
        "What was examined",
        "What was sent, to whom",
        "Where each finding is in the original file",
        "What could not be read",
        "Trackers contacted",
        "Sensitive content sent",
        "Known people found in what was sent",
    ] {
        assert!(html.contains(heading), "{heading}");
    }
    for e in lab_events() {
        assert!(html.contains(&e.event.pixel_id.clone().unwrap_or_default()));
        assert!(
            html.contains(&format!(">{}<", e.event.event.clone().unwrap()))
                || html.contains(e.event.event.as_deref().unwrap())
        );
    }
    assert_eq!(
        html.matches("<article class=\"event\"").count(),
        lab_events().len()
    );
    assert_eq!(
        html.matches("<section class=\"tracker\" id=\"tracker-")
            .count(),
        9,
        "one part per tracker"
    );
    // The lab's input fingerprint, the time range, the rule of a flag, the
    // decoder's version and sources, and grouped diagnostics.
    assert!(html.contains(lab_events()[0].event.origin.sha256.as_deref().unwrap()));
    assert!(
        html.contains("2026-11-29T03:03:19.425Z"),
        "first request time"
    );
    assert!(html.contains("health.sexual-health"));
    assert!(html.contains("FORMATS.md section TikTok"));
    assert!(html.contains("HAR entry 0 (JSON pointer /log/entries/0)"));
    assert!(html.contains("<td class=\"mono\">decode.body-unreadable</td><td>error: findings may be missing</td><td>2</td>"));
    assert!(html.contains("tls.no-key"));
    assert!(html.contains("har.no-cookies"));
    assert!(
        !html.contains("<script"),
        "no scripts: readable without JavaScript"
    );
    assert!(
        !html.contains("<link") && !html.contains("src=") && !html.contains("url("),
        "no external resources"
    );
}

#[test]
fn hostile_text_stays_text_in_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let har = copy_lab_har(tmp.path());
    let mut input = lab_input(&har);
    input.events = vec![hostile_event()];
    let out = tmp.path().join("bundle");
    write_bundle_at(&input, &out, None).unwrap();

    let html = std::fs::read_to_string(out.join(EXHIBIT_FILE)).unwrap();
    assert!(
        !html.contains("<script"),
        "a captured <script> became markup"
    );
    assert!(!html.contains("<img"), "a captured <img> became markup");
    assert!(
        !html.contains("href=\"javascript"),
        "a captured URL became a link"
    );
    assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}') && !html.contains('\u{7}'));
    assert!(html.contains("&#60;script&#62;"), "shown as text");
    assert!(html.contains("\\x1b[2J"), "escape sequences shown visibly");
    assert!(html.contains("\\u{202e}"), "bidi override shown visibly");
    for href in html.split("href=\"").skip(1) {
        assert!(
            href.starts_with('#'),
            "only in-document links: {}",
            &href[..href.len().min(40)]
        );
    }

    let mut reader = csv_rows(&out.join(CSV_FILE));
    let header = reader.remove(0);
    let row = reader.remove(0);
    let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
    assert!(
        cell("pixel_id").starts_with("'="),
        "formula neutralised: {}",
        cell("pixel_id")
    );
    assert!(
        cell("identifier_values").starts_with("'")
            || !cell("identifier_values").starts_with(['=', '+', '-', '@'])
    );
    for r in std::iter::once(&row) {
        for c in r {
            assert!(
                !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "live formula cell: {c}"
            );
        }
    }
}

/// A minimal RFC 4180 reader, enough for the test's assertions.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[cfg(feature = "sqlite")]
#[test]
fn the_sqlite_copy_answers_analysts_questions() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = bundle_with_input(tmp.path());
    let db = rusqlite::Connection::open(out.join(SQLITE_FILE)).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM events"),
        lab_events().len() as i64
    );
    assert_eq!(count("SELECT count(*) FROM inputs"), 1);
    assert_eq!(
        count("SELECT count(*) FROM diagnostics WHERE code = 'decode.body-unreadable'"),
        2
    );
    let fields: usize = lab_events().iter().map(|e| e.event.fields.len()).sum();
    assert_eq!(count("SELECT count(*) FROM fields"), fields as i64);
    let hashed: usize = lab_events().iter().map(|e| e.event.identifiers.len()).sum();
    assert_eq!(
        count("SELECT count(*) FROM identifiers WHERE form = 'sha256'"),
        hashed as i64
    );
    // Which trackers received the hashed e-mail of Maria Example?
    let mut stmt = db
        .prepare(
            "SELECT DISTINCT e.tracker FROM identifiers i JOIN events e ON e.id = i.event_id
             WHERE i.value = '950da1afcbef14a0e2d83b69dbbd3661a0a8b29d0c9542c7515f6de7714bc79e' ORDER BY 1",
        )
        .unwrap();
    let trackers: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(trackers, ["linkedin", "meta", "snap", "tiktok"]);
    // The record column is the JSONL line, so json_extract works on it.
    assert_eq!(
        count("SELECT count(*) FROM events WHERE json_extract(record, '$.tracker') = tracker"),
        lab_events().len() as i64
    );
    // Event ids are the JSONL line numbers.
    let third: String = db
        .query_row("SELECT record FROM events WHERE id = 3", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        third,
        serde_json::to_string(&lab_events()[2].event).unwrap()
    );
    let raw: String = db
        .query_row("SELECT raw_request FROM events WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(Some(raw), lab_events()[0].raw_request);
    assert_eq!(
        count(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
        ),
        11
    );
    assert_eq!(count("PRAGMA user_version"), 1);
    assert!(!out.join("events.sqlite-journal").exists());
}
