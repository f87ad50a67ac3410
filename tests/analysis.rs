//! Leak analysis through the real binary: identity matching, leak flags,
//! identity summaries, `--only-flagged`, user rule files, party, and the
//! flags raised over real HARs written by others.
//!
//! Every expectation about the capture lab is computed from the lab's
//! `truth.json` (its `plaintexts`, `requests[].hashed` and
//! `requests[].leaks`), never copied from what the tool printed. A truth
//! request is found among the records by tracker, method and exact URL.

use crate::util::{read_json, sample, scan_jsonl};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// One lab input: a HAR, or a capture with its key log or embedded keys.
struct LabInput {
    variant: &'static str,
    args: &'static [&'static str],
    /// A HAR cannot hold requests sent while the page unloaded, nor
    /// compressed request bodies: those are not expected from it.
    har: bool,
}

const LAB_INPUTS: &[LabInput] = &[
    LabInput {
        variant: "http1",
        args: &["samples/lab/http1/site.har"],
        har: true,
    },
    LabInput {
        variant: "h1tls",
        args: &["samples/lab/h1tls/site.har"],
        har: true,
    },
    LabInput {
        variant: "h2",
        args: &["samples/lab/h2/site.har"],
        har: true,
    },
    LabInput {
        variant: "h3",
        args: &["samples/lab/h3/site.har"],
        har: true,
    },
    LabInput {
        variant: "http1",
        args: &["samples/lab/http1/capture.pcapng"],
        har: false,
    },
    LabInput {
        variant: "h1tls",
        args: &[
            "--keylog",
            "samples/lab/h1tls/sslkeys.log",
            "samples/lab/h1tls/capture.pcapng",
        ],
        har: false,
    },
    LabInput {
        variant: "h1tls",
        args: &["samples/lab/h1tls/capture-dsb.pcapng"],
        har: false,
    },
    LabInput {
        variant: "h2",
        args: &[
            "--keylog",
            "samples/lab/h2/sslkeys.log",
            "samples/lab/h2/capture.pcapng",
        ],
        har: false,
    },
    LabInput {
        variant: "h2",
        args: &["samples/lab/h2/capture-dsb.pcapng"],
        har: false,
    },
];

/// The truth's plaintexts as `--identity` arguments, with the label each
/// plaintext gets (keyed by the lower-cased plaintext).
fn truth_identities(truth: &Value) -> (Vec<String>, BTreeMap<String, String>) {
    let mut args = Vec::new();
    let mut labels = BTreeMap::new();
    for (group, kind) in [
        ("emails", "email"),
        ("phones", "phone"),
        ("names", "name"),
        ("search_terms", "search_term"),
    ] {
        let values = truth["plaintexts"][group].as_array().expect(group);
        for (n, value) in values.iter().enumerate() {
            let value = value.as_str().expect("plaintext");
            let label = format!("lab-{kind}-{}", n + 1);
            args.push(format!("--identity={kind}:{value}={label}"));
            labels.insert(value.to_lowercase(), label);
        }
    }
    assert!(labels.len() >= 4, "the lab should name several plaintexts");
    (args, labels)
}

/// A scan of one lab input with the truth's identities.
struct LabRun {
    name: String,
    truth: Value,
    records: Vec<Value>,
    stderr: String,
    labels: BTreeMap<String, String>,
    har: bool,
}

impl LabRun {
    fn scan(input: &LabInput, extra: &[&str]) -> LabRun {
        let truth = read_json(&sample(&format!("lab/{}/truth.json", input.variant)));
        let (identity_args, labels) = truth_identities(&truth);
        let mut args: Vec<&str> = identity_args.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        args.extend_from_slice(input.args);
        let (records, out) = scan_jsonl(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{:?}: {stderr}", input.args);
        LabRun {
            name: input.args.join(" "),
            truth,
            records,
            stderr,
            labels,
            har: input.har,
        }
    }

    /// Truth requests the input can hold.
    fn requests(&self) -> Vec<&Value> {
        self.truth["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .filter(|r| {
                !self.har
                    || (r["sent_from"].as_str() != Some("pagehide")
                        && r["content_encoding"].is_null())
            })
            .collect()
    }

    /// The records decoded from one truth request.
    fn records_of(&self, request: &Value) -> Vec<&Value> {
        let found: Vec<&Value> = self
            .records
            .iter()
            .filter(|rec| {
                rec["tracker"] == request["tracker"]
                    && rec["request"]["method"] == request["method"]
                    && rec["request"]["url"] == request["url"]
            })
            .collect();
        assert!(
            !found.is_empty(),
            "{}: no record of truth request {} ({} {})",
            self.name,
            request["id"],
            request["tracker"],
            request["url"]
        );
        found
    }

    fn label_of(&self, plaintext: &str) -> &str {
        self.labels
            .get(&plaintext.to_lowercase())
            .unwrap_or_else(|| panic!("{plaintext} is not among the truth's plaintexts"))
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// The flag a truth leak must raise: `search.term` for a search term,
/// `url-parameter.<parameter>` for a personal page-URL parameter.
fn rule_of_leak(leak: &Value) -> (String, &'static str) {
    match str_of(&leak["kind"]) {
        "search_term" => ("search.term".to_owned(), "search"),
        "url_parameter" => (
            format!("url-parameter.{}", str_of(&leak["parameter"])),
            "url-parameter",
        ),
        other => panic!("leak kind {other:?} is not mapped"),
    }
}

/// The identifier form of a truth hash encoding.
fn form_of_encoding(encoding: &str) -> &'static str {
    match encoding {
        "hex" => "sha256",
        "base64url" => "sha256-base64url",
        "base64" => "sha256-base64",
        other => panic!("hash encoding {other:?} is not mapped"),
    }
}

fn assert_hashed_values_match_their_identity(run: &LabRun) {
    let mut checked = 0;
    for request in run.requests() {
        let records = run.records_of(request);
        for hashed in request["hashed"].as_array().into_iter().flatten() {
            let label = run.label_of(str_of(&hashed["plaintext"]));
            let wire = str_of(&hashed["wire_value"]).to_lowercase();
            let sha = str_of(&hashed["sha256"]).to_lowercase();
            let found = records.iter().any(|rec| {
                rec["identifiers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|i| {
                        let value = str_of(&i["value"]).to_lowercase();
                        (value == wire || value == sha)
                            && str_of(&i["matched"]) == label
                            && i["path"] == hashed["field"]
                            && str_of(&i["form"]) == form_of_encoding(str_of(&hashed["encoding"]))
                    })
            });
            assert!(
                found,
                "{}: request {} ({}): hashed {} at {} not matched to {label}",
                run.name, request["id"], request["tracker"], wire, hashed["field"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{}: only {checked} hashed values", run.name);
}

fn assert_leaks_are_flagged(run: &LabRun) -> usize {
    let mut checked = 0;
    for request in run.requests() {
        let records = run.records_of(request);
        for leak in request["leaks"].as_array().into_iter().flatten() {
            let (rule, category) = rule_of_leak(leak);
            for path in leak["carried_in"].as_array().expect("carried_in") {
                let flagged = records.iter().any(|rec| {
                    rec["flags"].as_array().into_iter().flatten().any(|f| {
                        str_of(&f["rule"]) == rule
                            && str_of(&f["category"]) == category
                            && f["path"] == *path
                    })
                });
                assert!(
                    flagged,
                    "{}: request {} ({}): no {rule} flag at {path}",
                    run.name, request["id"], request["tracker"]
                );
                checked += 1;
            }
        }
    }
    checked
}

/// The thank-you page URL carries the e-mail address in plain text: an
/// identifier of form `plain` matched to its identity, and a
/// `url-parameter.email` flag, wherever the truth says the URL went.
fn assert_thank_you_email_is_found(run: &LabRun) {
    let mut checked = 0;
    for request in run.requests() {
        let records = run.records_of(request);
        for leak in request["leaks"].as_array().into_iter().flatten() {
            if leak["kind"] != "url_parameter" || leak["parameter"] != "email" {
                continue;
            }
            let label = run.label_of(str_of(&leak["value"]));
            for path in leak["carried_in"].as_array().expect("carried_in") {
                let identified = records.iter().any(|rec| {
                    rec["identifiers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|i| {
                            i["type"] == "email"
                                && i["form"] == "plain"
                                && str_of(&i["matched"]) == label
                                && i["path"] == *path
                        })
                });
                let flagged = records.iter().any(|rec| {
                    rec["flags"].as_array().into_iter().flatten().any(|f| {
                        f["rule"] == "url-parameter.email"
                            && str_of(&f["text"]).eq_ignore_ascii_case(str_of(&leak["value"]))
                            && f["path"] == *path
                    })
                });
                assert!(
                    identified && flagged,
                    "{}: request {} ({}): e-mail at {path}: identifier {identified}, flag {flagged}",
                    run.name,
                    request["id"],
                    request["tracker"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{}: only {checked} e-mail leaks", run.name);
}

/// `(requests, forms)` per tracker for one identity.
type Receipts = BTreeMap<String, (usize, BTreeSet<String>)>;

/// What the truth says each identity's trackers received: requests whose
/// hashed values or leaks carry the plaintext, and in which forms.
fn expected_receipts(run: &LabRun) -> BTreeMap<String, Receipts> {
    let mut expected: BTreeMap<String, Receipts> = run
        .labels
        .values()
        .map(|label| (label.clone(), Receipts::new()))
        .collect();
    for request in run.requests() {
        let tracker = str_of(&request["tracker"]).to_owned();
        let mut carried: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for hashed in request["hashed"].as_array().into_iter().flatten() {
            carried
                .entry(run.label_of(str_of(&hashed["plaintext"])).to_owned())
                .or_default()
                .insert(form_of_encoding(str_of(&hashed["encoding"])).to_owned());
        }
        for leak in request["leaks"].as_array().into_iter().flatten() {
            if let Some(label) = run.labels.get(&str_of(&leak["value"]).to_lowercase()) {
                carried
                    .entry(label.clone())
                    .or_default()
                    .insert("plain".to_owned());
            }
        }
        for (label, forms) in carried {
            let receipt = expected
                .entry(label)
                .or_default()
                .entry(tracker.clone())
                .or_default();
            receipt.0 += 1;
            receipt.1.extend(forms);
        }
    }
    expected
}

/// Parses the `pixelscope: identity: …` lines of a scan's standard error.
fn summary_lines(stderr: &str) -> BTreeMap<String, Receipts> {
    let mut out = BTreeMap::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("pixelscope: identity: ") else {
            continue;
        };
        let (label, rest) = rest.split_once(" (").expect("label (kind)");
        let (_, rest) = rest.split_once("): ").expect("(kind): ");
        let mut receipts = Receipts::new();
        if rest != "not found in any tracker request" {
            let (_, parts) = rest.split_once(": ").expect("N trackers: …");
            for part in parts.split("; ") {
                let (head, forms) = part.split_once(" [").expect("[forms]");
                let mut words = head.split(' ');
                let tracker = words.next().expect("tracker").to_owned();
                let requests: usize = words.next().expect("count").parse().expect("number");
                let forms = forms
                    .trim_end_matches(']')
                    .split(", ")
                    .map(str::to_owned)
                    .collect();
                receipts.insert(tracker, (requests, forms));
            }
        }
        out.insert(label.to_owned(), receipts);
    }
    out
}

fn assert_identity_summary_agrees_with_truth(run: &LabRun) {
    let expected = expected_receipts(run);
    let printed = summary_lines(&run.stderr);
    assert_eq!(
        printed, expected,
        "{}: identity summary (left: printed, right: truth)",
        run.name
    );
    assert!(
        expected.values().filter(|r| !r.is_empty()).count() >= 3,
        "{}: the truth should send several identities",
        run.name
    );
}

/// The lab site and every tracker are on different sites: every record
/// whose page is known is third-party, and every event's page is known.
fn assert_trackers_are_third_party(run: &LabRun) {
    for rec in &run.records {
        if rec["kind"] == "event" {
            assert!(!rec["party"].is_null(), "{}: event without party", run.name);
        }
        if !rec["party"].is_null() {
            assert_eq!(
                rec["party"], "third-party",
                "{}: {} {}",
                run.name, rec["tracker"], rec["request"]["url"]
            );
        }
    }
}

fn check_lab_input(index: usize) {
    let input = LAB_INPUTS.get(index).expect("lab input");
    let run = LabRun::scan(input, &[]);
    assert_hashed_values_match_their_identity(&run);
    let leaks = assert_leaks_are_flagged(&run);
    assert!(leaks >= 50, "{}: only {leaks} leaks checked", run.name);
    assert_thank_you_email_is_found(&run);
    assert_identity_summary_agrees_with_truth(&run);
    assert_trackers_are_third_party(&run);
}

#[test]
fn lab_http1_har_leaks_and_identities() {
    check_lab_input(0);
}

#[test]
fn lab_h1tls_har_leaks_and_identities() {
    check_lab_input(1);
}

#[test]
fn lab_h2_har_leaks_and_identities() {
    check_lab_input(2);
}

#[test]
fn lab_h3_har_leaks_and_identities() {
    check_lab_input(3);
}

#[test]
fn lab_http1_capture_leaks_and_identities() {
    check_lab_input(4);
}

#[test]
fn lab_h1tls_capture_with_key_log_leaks_and_identities() {
    check_lab_input(5);
}

#[test]
fn lab_h1tls_capture_with_embedded_keys_leaks_and_identities() {
    check_lab_input(6);
}

#[test]
fn lab_h2_capture_with_key_log_leaks_and_identities() {
    check_lab_input(7);
}

#[test]
fn lab_h2_capture_with_embedded_keys_leaks_and_identities() {
    check_lab_input(8);
}

/// The committed identity file is the truth's plaintexts, and its labels
/// are the ones the summary uses.
#[test]
fn lab_identity_file_lists_the_truth_plaintexts() {
    let text = std::fs::read_to_string(sample("analyze/lab-identities.txt")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let truth = read_json(&sample("lab/http1/truth.json"));
    let mut labels = Vec::new();
    for (group, kind) in [
        ("emails", "email"),
        ("phones", "phone"),
        ("names", "name"),
        ("search_terms", "search_term"),
    ] {
        for value in truth["plaintexts"][group].as_array().unwrap() {
            let prefix = format!("{kind}:{}=", value.as_str().unwrap());
            let line = lines
                .iter()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("{prefix} missing from lab-identities.txt"));
            labels.push(line[prefix.len()..].to_owned());
        }
    }
    assert_eq!(labels.len(), lines.len(), "one line per plaintext");
    let (_, out) = scan_jsonl(&[
        "--identities",
        "samples/analyze/lab-identities.txt",
        "samples/lab/http1/site.har",
    ]);
    let printed = summary_lines(&String::from_utf8_lossy(&out.stderr));
    let printed: Vec<&String> = printed.keys().collect();
    let mut labels_sorted: Vec<&String> = labels.iter().collect();
    labels_sorted.sort();
    assert_eq!(printed, labels_sorted);
}

fn is_flagged(rec: &Value) -> bool {
    rec["flags"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|f| f["category"] != "search")
        || rec["identifiers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| !i["matched"].is_null())
}

#[test]
fn only_flagged_keeps_exactly_the_flagged_records_and_every_leak() {
    for input in [&LAB_INPUTS[0], &LAB_INPUTS[8]] {
        let all = LabRun::scan(input, &[]);
        let flagged = LabRun::scan(input, &["--only-flagged"]);
        let expected: Vec<&Value> = all.records.iter().filter(|r| is_flagged(r)).collect();
        let got: Vec<&Value> = flagged.records.iter().collect();
        assert_eq!(got, expected, "{}", all.name);
        assert!(
            got.len() < all.records.len(),
            "{}: something should be left out",
            all.name
        );
        for request in flagged.requests() {
            let bears = request["leaks"].as_array().is_some_and(|l| !l.is_empty())
                || request["hashed"].as_array().is_some_and(|h| !h.is_empty());
            if bears {
                // records_of asserts that the request is still there.
                flagged.records_of(request);
            }
        }
    }
}

/// The user rule file of docs/ANALYSIS.md's worked example.
const USER_RULES: &str = "samples/analyze/order-confirmation.rules";
/// The rule and policy it adds, and the trackers its policy names.
const USER_RULE: &str = "commerce.order-completed";
const USER_POLICY: &str = "policy.order-to-ad-platform";
const USER_POLICY_TRACKERS: &[&str] = &["meta", "tiktok", "snap", "pinterest", "x", "linkedin"];

#[test]
fn user_rule_files_add_flags_the_defaults_do_not_raise() {
    let input = &LAB_INPUTS[0];
    let defaults = LabRun::scan(input, &[]);
    let rules_of = |run: &LabRun| -> BTreeSet<String> {
        run.records
            .iter()
            .flat_map(|r| r["flags"].as_array().cloned().unwrap_or_default())
            .map(|f| str_of(&f["rule"]).to_owned())
            .collect()
    };
    assert!(!rules_of(&defaults).contains(USER_RULE));
    assert!(!rules_of(&defaults).contains(USER_POLICY));

    let with_rules = LabRun::scan(input, &["--rules", USER_RULES]);
    // Requests that sent the thank-you page's address (in the URL or body).
    let mut expected = 0;
    for request in with_rules.requests() {
        let wire = format!("{} {}", str_of(&request["url"]), str_of(&request["body"]));
        if !wire.contains("thank-you") {
            continue;
        }
        expected += 1;
        let records = with_rules.records_of(request);
        let has = |rule: &str| {
            records.iter().any(|r| {
                r["flags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|f| f["rule"] == rule)
            })
        };
        assert!(
            has(USER_RULE),
            "request {} ({}) sent the thank-you page",
            request["id"],
            request["tracker"]
        );
        let ad_platform = USER_POLICY_TRACKERS.contains(&str_of(&request["tracker"]));
        assert_eq!(
            has(USER_POLICY),
            ad_platform,
            "policy on {}",
            request["tracker"]
        );
    }
    assert!(expected >= 10, "only {expected} thank-you requests");
    // The defaults' flags are all still raised.
    assert!(rules_of(&defaults).is_subset(&rules_of(&with_rules)));
}

#[test]
fn a_broken_user_rule_file_is_a_usage_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.rules");
    std::fs::write(&path, "[terms commerce.x]\nthank you\n[terms Bad]\nx\n").unwrap();
    let (records, out) = scan_jsonl(&[
        "--rules",
        path.to_str().unwrap(),
        "samples/lab/http1/site.har",
    ]);
    assert!(!out.status.success());
    assert!(records.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.rules:3"), "{stderr}");
}

/// A HAR of one page and one GA4 hit, sent to `collect_url`.
fn ga4_har(collect_url: &str) -> Value {
    let header = |name: &str, value: &str| json!({"name": name, "value": value});
    let entry = |url: &str, method: &str, headers: Vec<Value>, resource: &str| {
        json!({
            "startedDateTime": "2025-03-01T10:00:00.000Z",
            "time": 10,
            "_resourceType": resource,
            "request": {
                "method": method, "url": url, "httpVersion": "HTTP/2",
                "headers": headers, "queryString": [], "cookies": [],
                "headersSize": -1, "bodySize": 0
            },
            "response": {
                "status": 204, "statusText": "", "httpVersion": "HTTP/2",
                "headers": [], "cookies": [],
                "content": {"size": 0, "mimeType": "text/plain"},
                "redirectURL": "", "headersSize": -1, "bodySize": 0
            },
            "cache": {}, "timings": {"send": 0, "wait": 10, "receive": 0}
        })
    };
    json!({"log": {
        "version": "1.2",
        "creator": {"name": "pixelscope-test", "version": "1"},
        "entries": [
            entry("https://www.shop.example/garden", "GET",
                  vec![header("Accept", "text/html")], "document"),
            entry(collect_url, "POST",
                  vec![header("Referer", "https://www.shop.example/garden")], "fetch"),
        ]
    }})
}

#[test]
fn a_first_party_ga4_proxy_is_first_party_and_found_by_shape() {
    let query = "?v=2&tid=G-PROXY12345&cid=111.222&en=page_view\
                 &dl=https%3A%2F%2Fwww.shop.example%2Fgarden";
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!("https://metrics.shop.example/g/collect{query}"),
            "first-party",
            "shape",
        ),
        (
            format!("https://www.google-analytics.com/g/collect{query}"),
            "third-party",
            "endpoint",
        ),
    ];
    for (n, (url, party, detection)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("ga4-{n}.har"));
        std::fs::write(&path, ga4_har(url).to_string()).unwrap();
        let (records, out) = scan_jsonl(&[path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let hit = records
            .iter()
            .find(|r| r["tracker"] == "ga4" && r["kind"] == "event")
            .unwrap_or_else(|| panic!("{url}: no GA4 event in {records:#?}"));
        assert_eq!(hit["party"], *party, "{url}");
        assert_eq!(hit["detection"], *detection, "{url}");
        assert_eq!(hit["page_url"], "https://www.shop.example/garden");
    }
}

/// Every flag raised over the real HARs (and the small HAR samples), one
/// reviewed snapshot per file: a new flag here is either a finding or a
/// false positive to fix in the rules.
#[test]
fn flags_over_real_hars_are_reviewed() {
    let mut files: Vec<String> = Vec::new();
    for dir in ["har-real", "har"] {
        for entry in std::fs::read_dir(sample(dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".har") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let (records, _) = scan_jsonl(&[&format!("samples/{file}")]);
        let flags: Vec<BTreeMap<&str, &str>> = records
            .iter()
            .flat_map(|r| {
                r["flags"].as_array().into_iter().flatten().map(move |f| {
                    BTreeMap::from([
                        ("tracker", str_of(&r["tracker"])),
                        ("rule", str_of(&f["rule"])),
                        ("category", str_of(&f["category"])),
                        ("text", str_of(&f["text"])),
                        ("path", str_of(&f["path"])),
                    ])
                })
            })
            .collect();
        insta::assert_yaml_snapshot!(format!("flags_{}", file.replace(['/', '.'], "_")), flags);
    }
}
