//! Accuracy against the capture lab's ground truth (`samples/lab/*/truth.json`).
//!
//! Every tracker request the lab's pixel libraries sent is rebuilt as an
//! `Exchange` (method, URL, content type, body; gzip bodies as the exact
//! gzip bytes) with one simple event whose fields are the query, form and
//! JSON values flattened the way the lab names them (`batch[0].context.user.email`,
//! `ud[em]`, `pd.em`). The lab's plaintexts are given as identities. Then:
//!
//! * every hashed value in every request is matched to its plaintext's
//!   identity, at the path the lab names;
//! * every leak the lab lists is flagged at every payload field that
//!   carries it, with the right category (and search terms with their
//!   health category too);
//! * the plaintext e-mail in the thank-you page URL is found;
//! * with no decoded fields at all, the raw-layer search still finds every
//!   hashed value.

// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use base64::Engine as _;
use pixelscope_analyze::{Analyzer, AnalyzerOptions, Identities, Rules};
use pixelscope_model::{Body, Event, Exchange, Field, Header, Kind, Request};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

const VARIANTS: &[&str] = &["http1", "h2", "h1tls", "h3"];

fn truth(variant: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/lab")
        .join(variant)
        .join("truth.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// The lab's plaintexts as identities, and the label of each plaintext.
fn identities(truth: &Value) -> (Identities, HashMap<String, String>) {
    let mut ids = Identities::new();
    let mut labels = HashMap::new();
    for (group, kind) in [
        ("emails", "email"),
        ("phones", "phone"),
        ("names", "name"),
        ("search_terms", "search_term"),
    ] {
        for plaintext in truth["plaintexts"][group].as_array().unwrap() {
            let plaintext = plaintext.as_str().unwrap();
            let identity = ids.parse_arg(&format!("{kind}:{plaintext}")).unwrap();
            labels.insert(plaintext.to_owned(), identity.label.clone());
        }
    }
    (ids, labels)
}

fn url_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

fn flatten(prefix: &str, value: &Value, location: &str, out: &mut Vec<Field>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, location, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, location, out);
            }
        }
        Value::Null => {}
        Value::String(text) => push(out, prefix, location, text),
        other => push(out, prefix, location, &other.to_string()),
    }
}

fn push(out: &mut Vec<Field>, path: &str, location: &str, value: &str) {
    let property = match path {
        "dl" | "url" | "pl" | "p" | "tw_document_href" | "context.page.url" => Some("page_url"),
        "rl" | "dr" | "rf" | "context.page.referrer" => Some("referrer"),
        _ => None,
    };
    out.push(Field {
        path: path.to_owned(),
        location: location.to_owned(),
        value: value.to_owned(),
        property: property.map(str::to_owned),
    });
}

fn pairs(text: &str, location: &str, out: &mut Vec<Field>) {
    for line in text.lines() {
        for part in line.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let (key, value) = (url_decode(k), url_decode(v));
            push(out, &key, location, &value);
            if (value.starts_with('{') || value.starts_with('['))
                && let Ok(json) = serde_json::from_str::<Value>(&value)
            {
                flatten(&key, &json, location, out);
            }
        }
    }
}

/// The request as a recorder would give it, and one event with the
/// payload flattened (when `with_fields`).
fn rebuild(request: &Value, with_fields: bool) -> (Exchange, Vec<Event>) {
    let url = s(&request["url"]).unwrap();
    let content_type = s(&request["content_type"]);
    let body_text = s(&request["body"]);
    let data = match (s(&request["body_base64"]), &body_text) {
        (Some(b64), _) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        ),
        (None, Some(text)) => Some(text.as_bytes().to_vec()),
        (None, None) => None,
    };
    let mut headers = Vec::new();
    if let Some(ct) = &content_type {
        headers.push(Header {
            name: "Content-Type".into(),
            value: ct.clone(),
        });
    }
    let exchange = Exchange {
        request: Request {
            method: s(&request["method"]).unwrap(),
            url: url.clone(),
            headers,
            body: data.map(|data| Body {
                data,
                mime_type: content_type.clone(),
                ..Body::default()
            }),
            ..Request::default()
        },
        ..Exchange::default()
    };
    let tracker = s(&request["tracker"]).unwrap();
    let mut event = Event::for_exchange(&tracker, &tracker, Kind::Event, &exchange);
    event.page_url = s(&request["page_url"]);
    event.referrer = s(&request["referrer"]);
    event.page_title = s(&request["page_title"]);
    if with_fields {
        let mut fields = Vec::new();
        if let Some((_, query)) = url.split_once('?') {
            pairs(query, "query", &mut fields);
        }
        let body = s(&request["body_decoded"]).or(body_text);
        if let Some(body) = body {
            let trimmed = body.trim();
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                flatten(
                    "",
                    &serde_json::from_str(trimmed).unwrap(),
                    "body.json",
                    &mut fields,
                );
            } else {
                pairs(trimmed, "body.form", &mut fields);
            }
        }
        event.fields = fields;
    }
    (exchange, vec![event])
}

#[test]
fn every_hashed_value_matches_its_plaintext_identity_at_its_path() {
    for variant in VARIANTS {
        let truth = truth(variant);
        let (ids, labels) = identities(&truth);
        let analyzer = Analyzer::new(ids, Rules::defaults(), AnalyzerOptions::default()).unwrap();
        let mut checked = 0;
        for request in truth["requests"].as_array().unwrap() {
            let (exchange, mut events) = rebuild(request, true);
            analyzer.analyze(&exchange, &mut events);
            for hashed in request["hashed"].as_array().unwrap() {
                let wire = hashed["wire_value"].as_str().unwrap();
                let field = hashed["field"].as_str().unwrap();
                let label = &labels[hashed["plaintext"].as_str().unwrap()];
                let found = events.iter().flat_map(|e| &e.identifiers).any(|i| {
                    i.value.eq_ignore_ascii_case(wire)
                        && i.path == field
                        && i.matched.as_deref() == Some(label.as_str())
                });
                assert!(
                    found,
                    "{variant} {}: {field}={wire} not matched to {label}: {:#?}",
                    request["id"], events[0].identifiers
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 30, "{variant}: the lab sends 30 hashed fields");
        // The summary: John's e-mail went to every tracker that hashed it.
        let report = analyzer.report();
        let john = report
            .identities
            .iter()
            .find(|s| s.label == labels["John.Doe@Example.COM"])
            .unwrap();
        for tracker in ["tiktok", "meta", "linkedin", "snap", "pinterest", "reddit"] {
            let receipt = &john.trackers[tracker];
            assert!(
                receipt.forms.contains("sha256"),
                "{variant}: {tracker} {receipt:?}"
            );
        }
    }
}

#[test]
fn raw_layers_find_every_hashed_value_without_decoded_fields() {
    for variant in VARIANTS {
        let truth = truth(variant);
        let (ids, labels) = identities(&truth);
        let analyzer = Analyzer::new(ids, Rules::defaults(), AnalyzerOptions::default()).unwrap();
        for request in truth["requests"].as_array().unwrap() {
            let (exchange, mut events) = rebuild(request, false);
            analyzer.analyze(&exchange, &mut events);
            for hashed in request["hashed"].as_array().unwrap() {
                let wire = hashed["wire_value"].as_str().unwrap();
                let label = &labels[hashed["plaintext"].as_str().unwrap()];
                let found = events[0].identifiers.iter().any(|i| {
                    i.value.eq_ignore_ascii_case(wire)
                        && i.matched.as_deref() == Some(label.as_str())
                });
                assert!(
                    found,
                    "{variant} {}: {wire} not found in raw layers: {:#?}",
                    request["id"], events[0].identifiers
                );
            }
        }
    }
}

#[test]
fn every_leak_is_flagged_where_it_is_carried() {
    for variant in VARIANTS {
        let truth = truth(variant);
        let (ids, _) = identities(&truth);
        let analyzer = Analyzer::new(ids, Rules::defaults(), AnalyzerOptions::default()).unwrap();
        let mut checked = 0;
        for request in truth["requests"].as_array().unwrap() {
            let (exchange, mut events) = rebuild(request, true);
            analyzer.analyze(&exchange, &mut events);
            let flags = &events[0].flags;
            for leak in request["leaks"].as_array().unwrap() {
                let value = leak["value"].as_str().unwrap();
                let parameter = leak["parameter"].as_str().unwrap();
                let (category, rule) = match leak["kind"].as_str().unwrap() {
                    "search_term" => ("search".to_owned(), "search.term".to_owned()),
                    "url_parameter" => (
                        "url-parameter".to_owned(),
                        format!("url-parameter.{parameter}"),
                    ),
                    other => panic!("unknown leak kind {other}"),
                };
                for carried in leak["carried_in"].as_array().unwrap() {
                    let path = carried.as_str().unwrap();
                    if path.starts_with("header:") {
                        continue;
                    }
                    let flagged = flags.iter().any(|f| {
                        f.path == path
                            && f.category == category
                            && f.rule == rule
                            && f.text == value
                    });
                    assert!(
                        flagged,
                        "{variant} {}: {rule} {value:?} not flagged at {path}: {flags:#?}",
                        request["id"]
                    );
                    if category == "search" {
                        let sensitive = flags.iter().any(|f| {
                            f.path == path
                                && f.rule == "health.sexual-health"
                                && f.text == "erectile dysfunction"
                        });
                        assert!(
                            sensitive,
                            "{variant} {}: search term at {path} not flagged as health",
                            request["id"]
                        );
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 60, "{variant}: {checked} leak places checked");
    }
}

#[test]
fn thank_you_url_email_is_found_and_matched() {
    for variant in VARIANTS {
        let truth = truth(variant);
        let (ids, labels) = identities(&truth);
        let john = &labels["John.Doe@Example.COM"];
        let analyzer = Analyzer::new(ids, Rules::defaults(), AnalyzerOptions::default()).unwrap();
        let mut checked = 0;
        for request in truth["requests"].as_array().unwrap() {
            let email_leak = request["leaks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["parameter"] == "email" && l["kind"] == "url_parameter")
                .cloned();
            let Some(leak) = email_leak else { continue };
            let (exchange, mut events) = rebuild(request, true);
            analyzer.analyze(&exchange, &mut events);
            for carried in leak["carried_in"].as_array().unwrap() {
                let path = carried.as_str().unwrap();
                let found = events[0].identifiers.iter().any(|i| {
                    i.kind == "email"
                        && i.form == "plain"
                        && i.value == "John.Doe@Example.COM"
                        && i.path == path
                        && i.matched.as_deref() == Some(john.as_str())
                });
                assert!(
                    found,
                    "{variant} {}: e-mail in {path} not found: {:#?}",
                    request["id"], events[0].identifiers
                );
                checked += 1;
            }
        }
        assert!(checked >= 9, "{variant}: {checked}");
    }
}

#[test]
fn tiktok_health_events_get_the_policy_flag_and_all_beacons_are_third_party() {
    let truth = truth("h2");
    let analyzer = Analyzer::new(
        Identities::new(),
        Rules::defaults(),
        AnalyzerOptions::default(),
    )
    .unwrap();
    let mut tiktok_health = 0;
    for request in truth["requests"].as_array().unwrap() {
        let (exchange, mut events) = rebuild(request, true);
        analyzer.analyze(&exchange, &mut events);
        let event = &events[0];
        assert_eq!(
            event.party.as_deref(),
            Some("third-party"),
            "{}",
            request["id"]
        );
        let health = event.flags.iter().any(|f| f.category == "health");
        let policy = event
            .flags
            .iter()
            .any(|f| f.rule == "policy.tiktok-restricted-data");
        if event.tracker == "tiktok" {
            assert_eq!(health, policy, "{}: {:#?}", request["id"], event.flags);
            tiktok_health += usize::from(health);
        } else {
            assert!(!policy);
        }
        if event.tracker == "meta" {
            assert!(
                event
                    .flags
                    .iter()
                    .any(|f| f.rule == "linkage.fbp" && f.text == "fb.1.1717171717171.1234567890")
            );
        }
    }
    assert!(
        tiktok_health >= 3,
        "search, checkout and thank-you pages are health pages"
    );
}

#[test]
fn sample_identity_file_lists_the_lab_plaintexts_and_matches_like_arguments() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples/analyze/lab-identities.txt");
    let mut from_file = Identities::new();
    assert_eq!(from_file.load(&path).unwrap(), 5);
    let truth = truth("h1tls");
    let (from_args, _) = identities(&truth);
    let file_values: Vec<(String, String)> = from_file
        .iter()
        .map(|i| (i.kind.clone(), i.value.clone()))
        .collect();
    let arg_values: Vec<(String, String)> = from_args
        .iter()
        .map(|i| (i.kind.clone(), i.value.clone()))
        .collect();
    assert_eq!(file_values, arg_values);

    let analyzer = Analyzer::new(from_file, Rules::defaults(), AnalyzerOptions::default()).unwrap();
    for request in truth["requests"].as_array().unwrap() {
        let (exchange, mut events) = rebuild(request, true);
        analyzer.analyze(&exchange, &mut events);
    }
    let lines = analyzer.report().lines();
    // Counted independently from truth.json: requests whose URL or body
    // holds the address (decoded) or its SHA-256.
    assert_eq!(
        lines[1],
        "john-email (email): 9 trackers: ga4 2 requests [plain]; linkedin 3 requests [plain, sha256]; \
         meta 3 requests [plain, sha256]; microsoft-uet 2 requests [plain]; pinterest 3 requests [plain, sha256]; \
         reddit 2 requests [sha256]; snap 3 requests [plain, sha256]; tiktok 2 requests [plain, sha256]; x 4 requests [plain]"
    );
    assert_eq!(
        lines[4],
        "search-1 (search_term): 7 trackers: ga4 6 requests [plain]; meta 4 requests [plain]; \
         microsoft-uet 2 requests [plain]; pinterest 3 requests [plain]; snap 2 requests [plain]; \
         tiktok 3 requests [plain]; x 2 requests [plain]"
    );
}
