//! One snapshot per fixture under samples/decoders/<tracker>/: the records
//! and diagnostics the built-in registry makes of each request (real ones
//! cut from public HARs or the capture lab, synthetic ones built from the
//! documented formats; samples/README.md lists them). Also the user
//! catalog of docs/DECODERS.md's worked example.

#![cfg(test)]

use pixelscope_decode::Registry;
use pixelscope_model::{Body, Collected, Exchange, Request};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/decoders")
}

fn exchange_of(fixture: &Value) -> Exchange {
    let text = |key: &str| fixture[key].as_str().map(str::to_owned);
    Exchange {
        request: Request {
            method: text("method").unwrap_or_default(),
            url: text("url").unwrap_or_default(),
            body: text("body").map(|data| Body {
                data: data.into_bytes(),
                mime_type: text("content_type"),
                ..Body::default()
            }),
            ..Request::default()
        },
        ..Exchange::default()
    }
}

#[derive(Serialize)]
struct Snapshot {
    records: Vec<Value>,
    diagnostics: Vec<String>,
}

fn snapshot(out: Collected) -> Snapshot {
    let records = out
        .events
        .iter()
        .map(|event| {
            let mut value = serde_json::to_value(event).unwrap_or(Value::Null);
            if let Some(map) = value.as_object_mut() {
                // Same for every fixture: the exchange carries no time or origin.
                for key in ["schema", "time", "origin", "request", "flags", "party"] {
                    map.remove(key);
                }
            }
            value
        })
        .collect();
    let diagnostics = out
        .diagnostics
        .iter()
        .map(|d| format!("{} {:?}", d.code, d.severity))
        .collect();
    Snapshot {
        records,
        diagnostics,
    }
}

#[test]
fn every_tracker_fixture_matches_its_snapshot() {
    let registry = Registry::builtin();
    let mut trackers: Vec<PathBuf> = std::fs::read_dir(samples())
        .expect("samples/decoders")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "user"))
        .collect();
    trackers.sort();
    let mut seen = 0;
    for dir in trackers {
        let tracker = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            registry.decoder(&tracker).is_some(),
            "fixture folder {tracker} names no decoder"
        );
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            let fixture: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            let mut out = Collected::default();
            registry.decode(&exchange_of(&fixture), &mut out);
            assert!(
                !out.events.is_empty() || !out.diagnostics.is_empty(),
                "{}: nothing reported",
                file.display()
            );
            assert!(
                out.events.iter().all(|e| e.tracker == tracker),
                "{}: {:?}",
                file.display(),
                out.events.iter().map(|e| &e.tracker).collect::<Vec<_>>()
            );
            let stem = file.file_stem().unwrap().to_string_lossy();
            insta::assert_yaml_snapshot!(format!("{tracker}__{stem}"), snapshot(out));
            seen += 1;
        }
    }
    assert!(seen >= 48, "only {seen} fixtures");
}

#[test]
fn a_user_catalog_adds_a_tracker_without_recompiling() {
    let mut registry = Registry::builtin();
    registry
        .load_catalog(samples().join("user/acme-pixel.toml"))
        .expect("the worked example loads");
    let exchange = Exchange {
        request: Request {
            method: "POST".into(),
            url: "https://px.acme-analytics.test/v2/AC-7731/hit?type=purchase".into(),
            body: Some(Body {
                data: b"loc=https%3A%2F%2Fshop.example%2Fthanks%3Forder%3D9&amt=49.90&cur=EUR&uem=836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f&vid=v-123".to_vec(),
                mime_type: Some("application/x-www-form-urlencoded".into()),
                ..Body::default()
            }),
            ..Request::default()
        },
        ..Exchange::default()
    };
    let mut out = Collected::default();
    registry.decode(&exchange, &mut out);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let event = &out.events[0];
    assert_eq!(
        (
            event.tracker.as_str(),
            event.event.as_deref(),
            event.pixel_id.as_deref(),
            event.page_url.as_deref()
        ),
        (
            "acme-pixel",
            Some("purchase"),
            Some("AC-7731"),
            Some("https://shop.example/thanks?order=9")
        )
    );
    let email = event
        .identifiers
        .iter()
        .find(|i| i.kind == "email")
        .unwrap();
    assert_eq!(
        (email.form.as_str(), email.path.as_str()),
        ("sha256", "uem")
    );
    let acme = registry.decoder("acme-pixel").unwrap();
    assert_eq!(acme.sources()[0].key, "ACME-DOCS");
    assert_eq!(acme.endpoints()[0].path.to_string(), "/v2/{account}/hit");

    // Loading it twice is an error: the id is taken.
    let again = registry
        .load_catalog(samples().join("user/acme-pixel.toml"))
        .unwrap_err();
    assert!(again.message.contains("already defined"), "{again}");
}

#[test]
fn a_broken_user_catalog_names_file_and_line() {
    let mut registry = Registry::builtin();
    let count = registry.decoders().len();
    let error = registry
        .load_catalog(samples().join("user/broken.toml"))
        .unwrap_err();
    assert!(error.file.ends_with("broken.toml"), "{error}");
    assert_eq!(error.line, 15, "{error}");
    assert!(
        error
            .to_string()
            .contains(":15: unknown property `evnt_name`"),
        "{error}"
    );
    assert_eq!(registry.decoders().len(), count, "nothing added");
    let missing = registry
        .load_catalog(samples().join("user/none.toml"))
        .unwrap_err();
    assert!(missing.message.contains("cannot read"), "{missing}");
}
