//! `docs/ACCURACY.md` is generated here, so that the published error rates
//! are always those of the code in the checkout.
//!
//! Every capture-lab recording under `samples/lab/` is scanned by the real
//! binary (`scan --format jsonl`, with the session's key log where it has
//! one, and the lab identities), scored with
//! `pixelscope_exhibit::accuracy::score` (what `pixelscope accuracy` runs)
//! and rendered with `accuracy::markdown`, plus notes on these samples. The
//! result must equal the committed document byte for byte.
//!
//! After a change that moves the numbers, regenerate the document with
//!
//! ```sh
//! PIXELSCOPE_BLESS=1 cargo test --test integration accuracy
//! ```
//!
//! and commit it with the change.

use crate::util::{pixelscope, root};
use pixelscope_exhibit::accuracy::{self, AccuracyRun};
use pixelscope_model::{Event, Kind};
use serde_json::Value;
use std::path::Path;

const IDENTITIES: &str = "samples/analyze/lab-identities.txt";
const VARIANTS: [&str; 4] = ["http1", "h1tls", "h2", "h3"];

/// One scored input of the document.
struct Scored {
    variant: &'static str,
    /// `site.har`, `capture.pcapng`, `capture-dsb.pcapng`.
    file: &'static str,
    run: AccuracyRun,
    contacts: usize,
    /// Records of kind `event`, and of those, the ones read from HTTP/3.
    events: usize,
    http3_events: usize,
}

/// The inputs of one lab session, each with the extra arguments it is
/// scanned with: the HAR; the capture with the browser's key log (when the
/// session used TLS); the capture carrying its keys in a Decryption
/// Secrets Block (when there is one).
fn inputs(variant: &str) -> Vec<(&'static str, Vec<String>)> {
    let dir = root().join("samples/lab").join(variant);
    let keylog = format!("samples/lab/{variant}/sslkeys.log");
    let has_keys = std::fs::metadata(root().join(&keylog)).is_ok_and(|m| m.len() > 0);
    let mut out = vec![("site.har", Vec::new())];
    out.push((
        "capture.pcapng",
        if has_keys {
            vec!["--keylog".to_owned(), keylog]
        } else {
            Vec::new()
        },
    ));
    if dir.join("capture-dsb.pcapng").exists() {
        out.push(("capture-dsb.pcapng", Vec::new()));
    }
    out
}

fn scan(input: &str, extra: &[String]) -> Vec<Event> {
    let out = pixelscope()
        .args([
            "scan",
            "--format",
            "jsonl",
            "-q",
            "--identities",
            IDENTITIES,
        ])
        .args(extra)
        .arg(input)
        .output()
        .expect("run pixelscope scan");
    assert!(
        out.status.success(),
        "scan {input} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 records")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a record ({e}): {l}")))
        .collect()
}

fn truth(variant: &str) -> Value {
    let path = root().join(format!("samples/lab/{variant}/truth.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn score_all() -> Vec<Scored> {
    let mut scored = Vec::new();
    for variant in VARIANTS {
        let truth = truth(variant);
        for (file, extra) in inputs(variant) {
            let input = format!("samples/lab/{variant}/{file}");
            let events = scan(&input, &extra);
            let table = accuracy::score(&truth, &events, file.ends_with(".har"));
            let label = if extra.is_empty() {
                input
            } else {
                format!("{input} {}", extra.join(" "))
            };
            scored.push(Scored {
                variant,
                file,
                run: AccuracyRun {
                    input: label,
                    table,
                },
                contacts: events.iter().filter(|e| e.kind == Kind::Contact).count(),
                events: events.iter().filter(|e| e.kind == Kind::Event).count(),
                http3_events: events
                    .iter()
                    .filter(|e| {
                        e.kind == Kind::Event && e.request.http_version.as_deref() == Some("HTTP/3")
                    })
                    .count(),
            });
        }
    }
    scored
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Notes on these particular samples, written from the numbers so that they
/// stay true when the numbers change.
fn notes(scored: &[Scored]) -> String {
    let mut out = String::from("\n## About these samples\n\n");
    out.push_str(
        "The lab recorded one browsing session per transport: `http1` (plain HTTP/1.1, no encryption), \
`h1tls` (HTTP/1.1 over TLS), `h2` (HTTP/2 over TLS) and `h3` (the browser allowed to use HTTP/3). Each \
session is recorded as `site.har`, the browser's own HAR export, and `capture.pcapng`, the packets, \
read with the browser's TLS key log (`--keylog sslkeys.log`) where the session used encryption. The \
encrypted sessions also have `capture-dsb.pcapng`: the same packets with the keys embedded in the \
file (a pcapng Decryption Secrets Block), read without a key log. Every run was given the lab's \
known identities (`--identities samples/analyze/lab-identities.txt`), so *matched to identity* counts \
the hashed e-mail addresses and phone numbers recognised as a known person. A HAR expects fewer \
events than a capture of the same session because of the HAR rule explained above.\n",
    );
    let h3: Vec<&Scored> = scored
        .iter()
        .filter(|s| s.variant == "h3" && s.file.ends_with(".pcapng"))
        .collect();
    if h3.is_empty() {
        return out;
    }
    let all_found = h3.iter().all(|s| s.run.table.total.recall() >= 1.0);
    let none_found = h3.iter().all(|s| s.run.table.total.found == 0);
    let recalls: Vec<String> = h3
        .iter()
        .map(|s| format!("{} on `{}`", percent(s.run.table.total.recall()), s.file))
        .collect();
    let contacts: Vec<String> = h3
        .iter()
        .map(|s| format!("{} in `{}`", s.contacts, s.file))
        .collect();
    out.push('\n');
    if all_found && h3.iter().all(|s| s.http3_events == 0) {
        out.push_str(
            "In the `h3` session the browser was allowed HTTP/3, but the tracker requests in these captures \
travelled over TLS on TCP, so they score like the others.\n",
        );
    } else if all_found {
        let over_h3: Vec<String> = h3
            .iter()
            .map(|s| {
                format!(
                    "{} of the {} event records of `{}`",
                    s.http3_events, s.events, s.file
                )
            })
            .collect();
        out.push_str(&format!(
            "In the `h3` session the browser sent the tracker requests over HTTP/3, that is QUIC over UDP \
({} were read from HTTP/3). pixelscope decrypts QUIC with the same keys as TLS on TCP (from the key log \
or the Decryption Secrets Block), so these captures score like the others.\n",
            over_h3.join(", ")
        ));
    } else {
        out.push_str(&format!(
            "**Why the `h3` captures score low.** In the `h3` session the browser sent the tracker \
requests over HTTP/3, that is QUIC over UDP. {} Recall on the `h3` captures is {}: these are not \
decoding errors but requests whose content pixelscope could not read. What it can tell from these \
captures is that the trackers were contacted: it reports `contact` records (the tracker's server \
name, from DNS answers and the connection's server name), {} — these claim no event, so they count \
neither as found nor as extra. The HAR of the same session is complete, because the browser records \
requests before it encrypts them. To collect evidence from a site that speaks HTTP/3, export a HAR, \
or capture with HTTP/3 turned off in the browser (Chromium: `--disable-quic`), so that the requests \
travel over TLS on TCP, which pixelscope decrypts.\n",
            if none_found {
                "pixelscope does not decrypt QUIC."
            } else {
                "pixelscope could not decrypt all of the QUIC traffic."
            },
            recalls.join(" and "),
            contacts.join(" and "),
        ));
    }
    out
}

/// The whole document.
fn document(scored: &[Scored]) -> String {
    let runs: Vec<AccuracyRun> = scored.iter().map(|s| s.run.clone()).collect();
    let body = accuracy::markdown(&runs);
    let regenerate = "<!-- tests/accuracy.rs checks this file against a fresh run of the tests; \
regenerate it with `PIXELSCOPE_BLESS=1 cargo test --test integration accuracy`. -->\n";
    // The regeneration note goes right after the generator's own comment.
    let mut doc = match body.find("-->\n") {
        Some(at) => {
            let (head, tail) = body.split_at(at + "-->\n".len());
            format!("{head}{regenerate}{tail}")
        }
        None => format!("{regenerate}{body}"),
    };
    doc.push_str(&notes(scored));
    doc
}

#[test]
fn accuracy_document_is_the_fresh_result() {
    let scored = score_all();
    // Sanity: the HARs and the TLS captures of the spine sessions are
    // decoded completely (an accidental regression must not be blessed
    // unnoticed into the document).
    for s in &scored {
        if s.variant != "h3" || s.file == "site.har" {
            assert!(
                s.run.table.total.recall() >= 1.0,
                "{}: recall {}",
                s.run.input,
                s.run.table.total.recall()
            );
        }
    }
    let doc = document(&scored);
    let path = root().join("docs/ACCURACY.md");
    if std::env::var("PIXELSCOPE_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &doc).unwrap();
        println!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != doc {
        let first = committed
            .lines()
            .zip(doc.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(doc.lines().count()));
        panic!(
            "docs/ACCURACY.md is stale (first difference at line {}):\n  committed: {:?}\n  fresh:     {:?}\n\
             Regenerate it with PIXELSCOPE_BLESS=1 cargo test --test integration accuracy",
            first + 1,
            committed.lines().nth(first).unwrap_or(""),
            doc.lines().nth(first).unwrap_or("")
        );
    }
}

/// `pixelscope accuracy --markdown` prints what the document is made of:
/// the same scores for the same inputs.
#[test]
fn accuracy_command_scores_like_the_document() {
    let truth_path = "samples/lab/h2/truth.json";
    let truth = truth("h2");
    let keylog = vec![
        "--keylog".to_owned(),
        "samples/lab/h2/sslkeys.log".to_owned(),
    ];
    let inputs = ["samples/lab/h2/site.har", "samples/lab/h2/capture.pcapng"];
    let runs: Vec<AccuracyRun> = inputs
        .iter()
        .map(|input| AccuracyRun {
            input: (*input).to_owned(),
            table: accuracy::score(&truth, &scan(input, &keylog), input.ends_with(".har")),
        })
        .collect();

    let out = pixelscope()
        .args(["accuracy", "--truth", truth_path, "--markdown"])
        .args(["--identities", IDENTITIES])
        .args(&keylog)
        .args(inputs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        accuracy::markdown(&runs)
    );

    // The plain table, per input.
    let out = pixelscope()
        .args(["accuracy", "--truth", truth_path, inputs[0]])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("samples/lab/h2/site.har\nTRACKER"),
        "{text}"
    );
    assert!(text.contains(&runs[0].table.to_string()), "{text}");
}

/// A truth file that is not one is a usage error.
#[test]
fn accuracy_refuses_a_file_that_is_not_a_lab_truth() {
    let out = pixelscope()
        .args(["accuracy", "--truth", "samples/analyze/lab-identities.txt"])
        .arg(Path::new("samples/lab/h2/site.har"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lab-identities.txt"));
}
