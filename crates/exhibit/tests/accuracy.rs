//! Scoring against the capture lab's truth, with records crafted to exercise
//! every rule (not produced by the decoders).
//!
//! `samples/exhibit/lab-h2-flawed.jsonl` is the perfect record set for
//! `samples/lab/h2/truth.json` with known faults (see samples/README.md):
//! one TikTok event dropped, one Meta `PageView` renamed, every LinkedIn
//! record unnamed, Snap's identifiers removed, Reddit's identifiers labelled
//! as a known identity, Pinterest's page URLs in upper case with a fragment,
//! one extra Microsoft UET `purchase`, a library load and a record of a
//! tracker the truth does not know. The expected numbers are those the
//! lab's own scorer gives for the same records and truth, per tracker.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::sample;
use pixelscope_exhibit::accuracy::{AccuracyRun, markdown, score};
use pixelscope_model::Event;

fn truth() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(sample("lab/h2/truth.json")).unwrap()).unwrap()
}

fn flawed() -> Vec<Event> {
    std::fs::read_to_string(sample("exhibit/lab-h2-flawed.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (tracker, expected, found, extra, hashed expected, hashed found, hashed matched)
type Expect = (&'static str, u64, u64, u64, u64, u64, u64);

fn check(table: &pixelscope_exhibit::accuracy::AccuracyTable, want: &[Expect], total: Expect) {
    let got: Vec<Expect> = table
        .rows
        .iter()
        .map(|r| {
            let name: &'static str = want
                .iter()
                .find(|w| w.0 == r.tracker)
                .map(|w| w.0)
                .unwrap_or("?");
            (
                name,
                r.expected,
                r.found,
                r.extra,
                r.hashed_expected,
                r.hashed_found,
                r.hashed_matched,
            )
        })
        .collect();
    assert_eq!(got, want);
    let t = &table.total;
    assert_eq!(
        (
            t.expected,
            t.found,
            t.extra,
            t.hashed_expected,
            t.hashed_found,
            t.hashed_matched
        ),
        (total.1, total.2, total.3, total.4, total.5, total.6)
    );
    for r in table.rows.iter().chain([t]) {
        assert_eq!(r.missed, r.expected - r.found);
    }
}

#[test]
fn captures_are_scored_like_the_lab_scorer() {
    let table = score(&truth(), &flawed(), false);
    check(
        &table,
        &[
            ("ga4", 16, 16, 0, 0, 0, 0),
            ("linkedin", 10, 5, 0, 2, 2, 0),
            ("meta", 9, 8, 1, 7, 7, 0),
            ("microsoft-uet", 5, 5, 1, 0, 0, 0),
            ("pinterest", 6, 6, 0, 3, 3, 0),
            ("reddit", 6, 6, 0, 4, 4, 4),
            ("snap", 7, 7, 0, 7, 0, 0),
            ("tiktok", 10, 9, 0, 7, 7, 0),
            ("x", 6, 6, 0, 0, 0, 0),
        ],
        ("all", 75, 68, 2, 30, 23, 4),
    );
    assert_eq!(table.unscored.get("hotjar"), Some(&1));
    // Recall and precision as the lab scorer prints them (68/75, 68/70).
    assert_eq!(
        format!("{:.3} {:.3}", table.total.recall(), table.total.precision()),
        "0.907 0.971"
    );
    assert_eq!(
        table.rows[7].missing_examples,
        ["pageview @ https://www.capturelab.test/"]
    );
}

#[test]
fn hars_do_not_expect_unload_beacons_or_compressed_bodies() {
    let table = score(&truth(), &flawed(), true);
    check(
        &table,
        &[
            ("ga4", 11, 11, 5, 0, 0, 0),
            ("linkedin", 10, 5, 0, 2, 2, 0),
            ("meta", 9, 8, 1, 7, 7, 0),
            ("microsoft-uet", 5, 5, 1, 0, 0, 0),
            ("pinterest", 6, 6, 0, 3, 3, 0),
            ("reddit", 6, 6, 0, 4, 4, 4),
            ("snap", 7, 7, 0, 7, 0, 0),
            ("tiktok", 4, 3, 6, 3, 3, 0),
            ("x", 6, 6, 0, 0, 0, 0),
        ],
        ("all", 64, 57, 13, 26, 19, 4),
    );
    assert_eq!(
        format!("{:.3} {:.3}", table.total.recall(), table.total.precision()),
        "0.891 0.814"
    );
}

#[test]
fn a_perfect_decoder_scores_full_marks_on_the_har() {
    let records: Vec<Event> = common::lab_events().into_iter().map(|e| e.event).collect();
    let table = score(&truth(), &records, true);
    assert_eq!(
        (table.total.expected, table.total.found, table.total.extra),
        (64, 64, 0)
    );
    assert_eq!(
        (table.total.hashed_expected, table.total.hashed_found),
        (26, 26)
    );
    assert!(table.unscored.is_empty());
    // Read as a capture, the unload beacons and compressed bodies it lacks are missed.
    let table = score(&truth(), &records, false);
    assert_eq!(
        (table.total.expected, table.total.found, table.total.extra),
        (75, 64, 0)
    );
}

#[test]
fn the_published_table_is_generated_from_the_scores() {
    let runs = vec![
        AccuracyRun {
            input: "samples/lab/h2/site.har".into(),
            table: score(&truth(), &flawed(), true),
        },
        AccuracyRun {
            input: "samples/lab/h2/capture.pcapng".into(),
            table: score(&truth(), &flawed(), false),
        },
    ];
    let text = markdown(&runs);
    assert!(text.starts_with("# Accuracy on the capture-lab samples\n"));
    assert!(
        text.contains("| `samples/lab/h2/site.har` | 64 | 57 | 7 | 13 | 89.1% | 81.4% | 19/26 |"),
        "{text}"
    );
    assert!(
        text.contains(
            "| `samples/lab/h2/capture.pcapng` | 75 | 68 | 7 | 2 | 90.7% | 97.1% | 23/30 |"
        ),
        "{text}"
    );
    assert!(
        text.contains("| tiktok | 4 | 3 | 1 | 6 | 75.0% | 33.3% | 3/3 | 0/3 |"),
        "{text}"
    );
    assert!(text.contains("| **all** | 64 | 57 | 7 | 13 |"), "{text}");
    assert!(
        text.contains("Records of trackers the truth does not cover (not scored): hotjar (1).")
    );
    assert_eq!(text, markdown(&runs), "deterministic");
    let plain = runs[0].table.to_string();
    assert!(plain.lines().next().unwrap().starts_with("TRACKER"));
    assert!(plain.contains("not scored (not in the truth): hotjar (1 records)"));
}
