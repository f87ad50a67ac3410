//! `pixelscope scan` over packet captures: the capture lab's recordings
//! (cleartext HTTP/1.1, HTTP/1.1 and HTTP/2 over TLS with a key log or with
//! the keys embedded in the capture, TLS without keys, QUIC), checked
//! against the lab's ground truth, against the HAR of the same session and
//! against tshark's frame numbers; and real third-party captures whose
//! per-tracker counts are pinned.

use crate::util::{read_json, sample, scan_jsonl, score};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Every tracker the capture lab's pixel stand-ins send to.
const ALL_TRACKERS: &[&str] = &[
    "tiktok",
    "meta",
    "ga4",
    "linkedin",
    "snap",
    "pinterest",
    "x",
    "reddit",
    "microsoft-uet",
];

fn scan_ok(args: &[&str]) -> Vec<Value> {
    let (records, out) = scan_jsonl(args);
    assert!(
        out.status.success(),
        "pixelscope scan {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    records
}

/// What must agree between a HAR record and a capture record of the same
/// request: tracker, event, pixel id, page URL and the sorted identifiers.
fn event_key(record: &Value) -> String {
    let mut identifiers: Vec<(String, String, String)> = record["identifiers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["type"].to_string(),
                i["form"].to_string(),
                i["value"].to_string(),
            )
        })
        .collect();
    identifiers.sort();
    format!(
        "{} | {} | {} | {} | {identifiers:?}",
        record["tracker"], record["event"], record["pixel_id"], record["page_url"]
    )
}

fn multiset<I: IntoIterator<Item = String>>(items: I) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for item in items {
        *map.entry(item).or_default() += 1;
    }
    map
}

/// `left - right` as multisets.
fn minus(left: &BTreeMap<String, usize>, right: &BTreeMap<String, usize>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, n) in left {
        let m = right.get(key).copied().unwrap_or(0);
        for _ in m..*n {
            out.push(key.clone());
        }
    }
    out
}

fn events(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["kind"] == "event").collect()
}

/// The capture of a lab session gives every record the HAR gives, plus the
/// records of the requests a HAR cannot hold (beacons sent while the page
/// unloaded, gzip-compressed bodies), and scores perfectly against the
/// truth; every record points at frames, a TCP stream and (for TLS) the
/// decrypted version.
fn capture_matches_har(variant: &str, args: &[&str], tls: Option<&str>, h2: bool) {
    let truth = read_json(&sample(&format!("lab/{variant}/truth.json")));
    let records = scan_ok(args);

    let s = score(&truth, &records, ALL_TRACKERS, false);
    assert!(
        s.perfect(),
        "{variant} {args:?}: recall {:.3} precision {:.3} hashed {}/{}\nmissing: {:#?}\nunexpected: {:#?}",
        s.recall(),
        s.precision(),
        s.hashed_found,
        s.hashed_expected,
        s.missing,
        s.unexpected
    );
    assert!(
        s.expected >= 70,
        "{variant}: {} events expected",
        s.expected
    );

    // Record for record against the HAR of the same session.
    let har = scan_ok(&[&format!("samples/lab/{variant}/site.har")]);
    let har_events = multiset(events(&har).into_iter().map(event_key));
    let capture_events = multiset(events(&records).into_iter().map(event_key));
    let only_in_har = minus(&har_events, &capture_events);
    assert!(
        only_in_har.is_empty(),
        "{variant} {args:?}: HAR records with no equal capture record: {only_in_har:#?}"
    );
    // The capture records left over are exactly the events of the truth
    // requests a HAR lacks, by tracker, event and page.
    let short = |tracker: &Value, event: &Value, page: &Value| {
        format!(
            "{tracker} | {event} | {}",
            crate::util::norm_url(page.as_str().unwrap_or_default())
        )
    };
    let short_of: BTreeMap<String, String> = events(&records)
        .into_iter()
        .map(|r| {
            (
                event_key(r),
                short(&r["tracker"], &r["event"], &r["page_url"]),
            )
        })
        .collect();
    let left_over: Vec<String> = minus(&capture_events, &har_events)
        .iter()
        .map(|key| short_of[key].clone())
        .collect();
    let unload_or_compressed: Vec<String> = truth["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["sent_from"] == "pagehide" || !r["content_encoding"].is_null())
        .flat_map(|r| {
            r["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| short(&r["tracker"], e, &r["page_url"]))
        })
        .collect();
    assert_eq!(
        multiset(left_over),
        multiset(unload_or_compressed.clone()),
        "{variant} {args:?}: capture-only records should be the pagehide and compressed beacons"
    );
    // 5 pagehide GA4 beacons and 3 gzip TikTok batches of 2 events.
    assert_eq!(unload_or_compressed.len(), 11, "{variant}");

    for record in &records {
        let origin = &record["origin"];
        let frames: Vec<u64> = origin["frames"]
            .as_array()
            .unwrap_or_else(|| panic!("{variant}: no frames in {origin}"))
            .iter()
            .map(|f| f.as_u64().expect("frame number"))
            .collect();
        assert!(!frames.is_empty(), "{variant}: empty frames in {origin}");
        assert!(frames[0] >= 1, "{variant}: frames are 1-based: {origin}");
        assert!(
            frames.windows(2).all(|w| w[0] < w[1]),
            "{variant}: frames not ascending: {origin}"
        );
        assert!(origin["stream"].is_u64(), "{variant}: no stream: {origin}");
        if record["kind"] != "event" {
            continue;
        }
        assert_eq!(origin["tls"].as_str(), tls, "{variant}: {origin}");
        assert_eq!(origin["h2_stream"].is_u64(), h2, "{variant}: {origin}");
        if h2 {
            assert_eq!(
                origin["h2_stream"].as_u64().unwrap() % 2,
                1,
                "client streams are odd: {origin}"
            );
        }
    }
}

#[test]
fn lab_http1_capture_gives_the_har_records_and_the_unload_beacons() {
    capture_matches_har("http1", &["samples/lab/http1/capture.pcapng"], None, false);
}

#[test]
fn lab_h2_capture_with_key_log_gives_the_har_records_and_the_unload_beacons() {
    capture_matches_har(
        "h2",
        &[
            "--keylog",
            "samples/lab/h2/sslkeys.log",
            "samples/lab/h2/capture.pcapng",
        ],
        Some("1.3"),
        true,
    );
}

#[test]
fn lab_h2_capture_with_embedded_keys_gives_the_har_records_and_the_unload_beacons() {
    capture_matches_har(
        "h2",
        &["samples/lab/h2/capture-dsb.pcapng"],
        Some("1.3"),
        true,
    );
}

/// The h1tls session negotiated TLS 1.3 on every connection (tshark: all
/// 31 ServerHellos carry supported_version 0x0304; checked below when
/// tshark is installed).
#[test]
fn lab_h1tls_capture_with_key_log_gives_the_har_records_and_the_unload_beacons() {
    if let Some(versions) = tshark_lines(&[
        "-r",
        "samples/lab/h1tls/capture.pcapng",
        "-Y",
        "tls.handshake.type == 2",
        "-T",
        "fields",
        "-e",
        "tls.handshake.extensions.supported_version",
    ]) {
        let versions: BTreeSet<String> = versions.into_iter().collect();
        assert_eq!(versions, BTreeSet::from(["0x0304".to_owned()]));
    }
    capture_matches_har(
        "h1tls",
        &[
            "--keylog",
            "samples/lab/h1tls/sslkeys.log",
            "samples/lab/h1tls/capture.pcapng",
        ],
        Some("1.3"),
        false,
    );
}

#[test]
fn lab_h1tls_capture_with_embedded_keys_gives_the_har_records_and_the_unload_beacons() {
    capture_matches_har(
        "h1tls",
        &["samples/lab/h1tls/capture-dsb.pcapng"],
        Some("1.3"),
        false,
    );
}

/// The tracker hosts the lab's pixels sent requests to, per tracker.
fn truth_hosts(variant: &str) -> BTreeSet<(String, String)> {
    let truth = read_json(&sample(&format!("lab/{variant}/truth.json")));
    truth["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| {
            (
                r["tracker"].as_str().unwrap().to_owned(),
                r["host"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Contact records per (tracker, host), with the field kind that named the host.
fn contacts(records: &[Value], place: &str) -> BTreeSet<(String, String)> {
    records
        .iter()
        .filter(|r| r["kind"] == "contact")
        .filter(|r| r["detection"] == "host")
        .filter(|r| r["fields"][0]["where"] == place)
        .map(|r| {
            (
                r["tracker"].as_str().unwrap().to_owned(),
                r["request"]["host"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn lab_h2_capture_without_keys_gives_contacts_and_names_the_missing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let diagnostics = dir.path().join("diagnostics.jsonl");
    let records = scan_ok(&[
        "--diagnostics",
        diagnostics.to_str().unwrap(),
        "samples/lab/h2/capture.pcapng",
    ]);
    assert!(
        events(&records).is_empty(),
        "nothing can be decoded without keys: {:#?}",
        events(&records)
    );
    // Every tracker host the pixels sent to is named by a TLS SNI contact.
    let seen = contacts(&records, "tls-sni");
    let wanted = truth_hosts("h2");
    let missing: Vec<_> = wanted.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "no contact for {missing:?}; got {seen:?}"
    );
    assert!(
        records.iter().all(|r| r["kind"] == "contact"),
        "only contacts without keys"
    );

    // Each undecryptable session is named by its client random: the key a
    // key log would have to supply. The lab's key log holds 24 of the 25
    // sessions (tshark counts 25 ClientHellos): Chromium opened a second
    // connection to px.ads.linkedin.com whose keys it never logged.
    let keylog = std::fs::read_to_string(sample("lab/h2/sslkeys.log")).unwrap();
    let no_key = |text: &str| -> BTreeSet<String> {
        text.lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|d| d["code"] == "tls.no-key")
            .map(|d| {
                let message = d["message"].as_str().unwrap().to_owned();
                let random = message
                    .split("client random ")
                    .nth(1)
                    .and_then(|rest| rest.get(..64))
                    .unwrap_or_else(|| panic!("no client random in {message}"))
                    .to_owned();
                assert!(random.chars().all(|c| c.is_ascii_hexdigit()), "{message}");
                random
            })
            .collect()
    };
    let randoms = no_key(&std::fs::read_to_string(&diagnostics).unwrap());
    assert_eq!(randoms.len(), 25, "{randoms:?}");
    let unlogged: BTreeSet<String> = randoms
        .iter()
        .filter(|r| !keylog.contains(r.as_str()))
        .cloned()
        .collect();
    assert_eq!(unlogged.len(), 1, "{unlogged:?}");

    // With the key log, exactly that session is still reported.
    let records = scan_ok(&[
        "--diagnostics",
        diagnostics.to_str().unwrap(),
        "--keylog",
        "samples/lab/h2/sslkeys.log",
        "samples/lab/h2/capture.pcapng",
    ]);
    assert!(!events(&records).is_empty());
    assert_eq!(
        no_key(&std::fs::read_to_string(&diagnostics).unwrap()),
        unlogged
    );
}

/// The tracker hosts are reached over QUIC. Without keys, each gives a
/// contact named by the SNI of its client Initial (decrypted with the QUIC
/// version 1 initial keys) and no event may appear.
#[test]
fn lab_h3_capture_without_keys_gives_quic_contacts_only() {
    let records = scan_ok(&["samples/lab/h3/capture.pcapng"]);
    assert!(events(&records).is_empty(), "{:#?}", events(&records));
    let seen = contacts(&records, "quic-sni");
    let wanted = truth_hosts("h3");
    let missing: Vec<_> = wanted.difference(&seen).collect();
    assert!(missing.is_empty(), "no QUIC contact for {missing:?}");
    let trackers: BTreeSet<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(trackers, ALL_TRACKERS.iter().copied().collect());
    // The library hosts (connect.facebook.net, ...) are contacted over QUIC too.
    assert_eq!(seen.len(), 18, "{seen:#?}");
}

/// With the keys embedded, whatever is read from the QUIC flows must be
/// true: every tracker of the session shows up, and no event record exists
/// that the lab did not send.
#[test]
fn lab_h3_capture_with_keys_invents_no_event() {
    let records = scan_ok(&["samples/lab/h3/capture-dsb.pcapng"]);
    let truth = read_json(&sample("lab/h3/truth.json"));
    let s = score(&truth, &records, ALL_TRACKERS, false);
    assert!(
        s.extra == 0 && s.unexpected.is_empty(),
        "invented events: {:#?}",
        s.unexpected
    );
    let trackers: BTreeSet<&str> = records
        .iter()
        .map(|r| r["tracker"].as_str().unwrap())
        .collect();
    assert_eq!(trackers, ALL_TRACKERS.iter().copied().collect());
}

/// Runs tshark from the project root; `None` (with a message) when it is
/// not installed.
pub fn tshark_lines(args: &[&str]) -> Option<Vec<String>> {
    let out = match Command::new("tshark")
        .args(args)
        .current_dir(crate::util::root())
        .output()
    {
        Ok(out) => out,
        Err(err) => {
            println!("tshark is not available ({err}); skipping the tshark comparison");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

/// Every record of the cleartext lab capture names, among its frames, the
/// frame where tshark reads the same request.
#[test]
fn lab_http1_frames_agree_with_tshark() {
    let Some(lines) = tshark_lines(&[
        "-r",
        "samples/lab/http1/capture.pcapng",
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "http.request.full_uri",
    ]) else {
        return;
    };
    let mut by_url: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for line in &lines {
        let (frame, url) = line.split_once('\t').unwrap();
        by_url
            .entry(url.to_owned())
            .or_default()
            .push(frame.parse().unwrap());
    }
    let records = scan_ok(&["samples/lab/http1/capture.pcapng"]);
    let mut checked = 0;
    for record in records.iter().filter(|r| r["kind"] != "contact") {
        let url = record["request"]["url"].as_str().unwrap();
        let frames: Vec<u64> = record["origin"]["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_u64().unwrap())
            .collect();
        let tshark = by_url
            .get(url)
            .unwrap_or_else(|| panic!("tshark has no request for {url}"));
        assert!(
            tshark.iter().any(|f| frames.contains(f)),
            "{url}: tshark frames {tshark:?}, pixelscope {frames:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 84, "event and library records checked");
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

/// Real captures written by others. Reviewed against tshark's list of
/// requests (see samples/README.md, "Real captures"):
/// - sajal.pcap: one ga.js `__utm.gif` hit (ga-universal event) and the
///   ga.js load; a Quantcast `pixel;r=…` hit and quant.js. Its DoubleClick
///   traffic is four Ad Manager `pubads.g.doubleclick.net/gampad/ads` ad
///   calls and the GPT loader scripts: ad requests, not tracker events
///   (docs/FORMATS.md §4.4), so no DoubleClick record.
/// - pcapr.net.pcap: one `__utm.gif` hit and ga.js.
/// - http_espn.pcapng: two Adobe Analytics `/b/ss/` beacons (the second
///   repeats the first with the visitor id `vidn`).
/// - 1kxun-trackers.pcap: analytics.js (library) and DoubleClick/GPT script
///   loads only; the rest is app ad traffic no decoder covers.
/// - http_ua_splitted_in_two_pkts.pcapng: StartApp ad tracking, no decoder.
#[test]
fn real_captures_give_pinned_counts() {
    for file in [
        "pcap-real/sajal.pcap",
        "pcap-real/pcapr.net.pcap",
        "pcap-real/http_espn.pcapng",
        "pcap-real/1kxun-trackers.pcap",
        "pcap-real/http_ua_splitted_in_two_pkts.pcapng",
    ] {
        let records = scan_ok(&[&format!("samples/{file}")]);
        let counts = counts(&records);
        insta::assert_yaml_snapshot!(file.replace(['/', '.'], "_"), counts);
    }
}

/// The beacons that are visibly in the real captures are decoded, with the
/// values tshark shows in their URLs.
#[test]
fn real_capture_beacons_are_decoded() {
    let espn = scan_ok(&["samples/pcap-real/http_espn.pcapng"]);
    let adobe: Vec<_> = espn
        .iter()
        .filter(|r| r["tracker"] == "adobe-analytics" && r["kind"] == "event")
        .collect();
    assert_eq!(adobe.len(), 2);
    for record in &adobe {
        assert_eq!(record["pixel_id"], "wdgespcom,wdgespge", "{record}");
        assert!(
            record["request"]["url"]
                .as_str()
                .unwrap()
                .starts_with("http://w88.go.com/b/ss/wdgespcom,wdgespge/1/H.21/"),
            "{record}"
        );
    }

    for file in ["sajal.pcap", "pcapr.net.pcap"] {
        let records = scan_ok(&[&format!("samples/pcap-real/{file}")]);
        let hits: Vec<_> = records
            .iter()
            .filter(|r| r["tracker"] == "ga-universal" && r["kind"] == "event")
            .collect();
        assert_eq!(hits.len(), 1, "{file}");
        assert!(
            hits[0]["request"]["url"]
                .as_str()
                .unwrap()
                .starts_with("http://www.google-analytics.com/__utm.gif?utmwv=4.8."),
            "{file}: {}",
            hits[0]
        );
    }
}
