//! HarReader over the HAR samples in `samples/har/` (real exports from many
//! tools, see `samples/README.md`) and over inputs built here to fail.

// Test helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use pixelscope_har::{HarError, HarLimits, HarReader, HarSummary};
use pixelscope_model::{
    BodySource, BodyState, Collected, Exchange, InputFormat, Origin, Severity, Timestamp,
};
use std::io::Read;
use std::path::PathBuf;

fn sample(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn reader() -> HarReader {
    HarReader::new(Origin::file(
        "input.har",
        Some("ab".repeat(32)),
        InputFormat::Har,
    ))
}

fn read(bytes: &[u8]) -> (Result<HarSummary, HarError>, Collected) {
    let mut sink = Collected::default();
    let result = reader().read(bytes, &mut sink);
    (result, sink)
}

fn read_ok(bytes: &[u8]) -> (HarSummary, Collected) {
    let (result, sink) = read(bytes);
    (result.unwrap(), sink)
}

fn codes(sink: &Collected) -> Vec<&str> {
    sink.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

fn error_line(bytes: &[u8]) -> String {
    read(bytes).0.unwrap_err().to_string()
}

/// A reader that hands out one byte per `read` call, so every value
/// straddles a refill boundary.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), out.first_mut()) {
            (Some((b, rest)), Some(o)) => {
                *o = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn every_sample_gives_its_expected_entries_and_diagnostics() {
    // (sample, entries read, diagnostic codes in order)
    let expected: &[(&str, u64, &[&str])] = &[
        ("har/har_files_with-bom.har", 1, &["har.no-cookies"]),
        ("har/har_files_firefox.har", 14, &["har.no-cookies"]),
        ("har/har_files_safari.trimmed.har", 6, &["har.no-cookies"]),
        ("har/har_files_charles.har", 1, &["har.no-cookies"]),
        ("har/har_files_insomnia.har", 1, &["har.no-cookies"]),
        ("har/issue-61_ie11.fiddler.trimmed.har", 6, &[]),
        ("har/noPages.trimmed.har", 19, &[]),
        (
            "har/pcap2har_request_only.pcap.har",
            1,
            &["har.no-cookies", "har.pageref-unresolved"],
        ),
        ("har/synthetic_chrome.har", 4, &[]),
        ("har/synthetic_firefox.har", 2, &[]),
        ("har/synthetic_firefox_legacy.har", 1, &["har.no-cookies"]),
        ("har/synthetic_har13.har", 1, &["har.no-cookies"]),
        ("har/synthetic_minimal.har", 1, &["har.no-cookies"]),
        ("har/synthetic_noversion_floats.har", 1, &["har.no-cookies"]),
        (
            "lab/h2/site.har",
            102,
            &["har.body-mangled", "har.body-mangled", "har.body-mangled"],
        ),
    ];
    for (name, entries, diagnostics) in expected {
        let (summary, sink) = read_ok(&sample(name));
        assert_eq!(summary.entries_read, *entries, "{name}");
        assert_eq!(summary.entries_invalid, 0, "{name}");
        assert_eq!(sink.exchanges.len() as u64, *entries, "{name}");
        assert_eq!(codes(&sink), *diagnostics, "{name}");
        for (i, exchange) in sink.exchanges.iter().enumerate() {
            assert_eq!(exchange.origin.entry, Some(i as u64), "{name}");
            assert_eq!(exchange.origin.file, "input.har");
            assert!(
                !exchange.request.url.is_empty(),
                "{name} entry {i} has a URL"
            );
        }
    }
}

#[test]
fn files_that_are_not_hars_fail_with_one_line_naming_line_and_byte() {
    assert_eq!(
        error_line(&sample("har/harviewer_not-json.har")),
        "not a HAR file: expected ',' or '}' after \"creator\" in \"log\", found 'x' at line 8, byte 110"
    );
    assert_eq!(
        error_line(&sample("har/harviewer_not-valid.har")),
        "not a HAR file: \"log\" has no \"entries\" array at line 13, byte 186"
    );
    assert_eq!(
        error_line(&sample("har/corrupted_har_brokenfile.har")),
        "not a HAR file: \"log\" is not an object (found '[') at line 2, byte 8"
    );
    // A bare entry object, not wrapped in {"log": …}.
    assert_eq!(
        error_line(&sample("har/haralyzer_single_entry.har")),
        "not a HAR file: no \"log\" object at line 1, byte 1972"
    );
    assert_eq!(
        error_line(b"<html>"),
        "not a HAR file: expected '{', found '<' at line 1, byte 0"
    );
    assert_eq!(
        error_line(b""),
        "not a HAR file: the input is empty at line 1, byte 0"
    );
    let error = read(b"{\"log\": {\"pages\": [").0.unwrap_err();
    assert_eq!(error.position().byte, 19);
    for message in [
        error_line(&sample("har/harviewer_not-json.har")),
        error.to_string(),
    ] {
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn bom_is_skipped() {
    let bytes = sample("har/har_files_with-bom.har");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(pixelscope_har::looks_like_har(&bytes));
    let (summary, sink) = read_ok(&bytes);
    assert_eq!(
        summary.creator.and_then(|c| c.name).as_deref(),
        Some("WebInspector")
    );
    assert_eq!(sink.exchanges.len(), 1);
}

#[test]
fn chrome_export_keeps_underscore_fields_page_url_times_and_base64_bodies() {
    let (summary, sink) = read_ok(&sample("har/synthetic_chrome.har"));
    assert_eq!(summary.version.as_deref(), Some("1.2"));
    assert_eq!(summary.pages, 1);
    assert!(summary.cookies_seen);
    let tiktok = &sink.exchanges[0];
    assert_eq!(tiktok.request.method, "POST");
    assert_eq!(tiktok.request.http_version.as_deref(), Some("http/2.0"));
    assert_eq!(tiktok.request.headers[0].name, ":authority");
    assert_eq!(tiktok.request.cookies[0].name, "_ttp");
    assert_eq!(
        tiktok.page_url.as_deref(),
        Some("https://shop.example/checkout")
    );
    assert_eq!(
        tiktok.time,
        Timestamp::parse_rfc3339("2025-02-03T10:00:01.234Z")
    );
    assert_eq!(tiktok.extra["_resourceType"], "fetch");
    assert_eq!(tiktok.extra["_initiator"]["type"], "script");
    let body = tiktok.request.body.as_ref().unwrap();
    assert_eq!(body.source, BodySource::HarText);
    assert_eq!(body.mime_type.as_deref(), Some("application/json"));
    assert!(String::from_utf8_lossy(&body.data).contains("CompletePayment"));

    let gif = sink.exchanges[1]
        .response
        .as_ref()
        .unwrap()
        .body
        .as_ref()
        .unwrap();
    // Response bodies are described, not kept (docs/LIMITS.md).
    assert_eq!(gif.source, BodySource::HarBase64);
    assert_eq!(gif.mime_type.as_deref(), Some("image/gif"));
    assert_eq!(gif.state, BodyState::Truncated { limit: 0 });
    assert!(gif.data.is_empty());
    // A request the browser blocked: the response-level _error is kept.
    let blocked = &sink.exchanges[2];
    assert_eq!(blocked.response.as_ref().unwrap().status, Some(0));
    assert_eq!(
        blocked.extra["response._error"],
        "net::ERR_BLOCKED_BY_CLIENT"
    );
    assert_eq!(blocked.request.http_version, None);
}

#[test]
fn legacy_firefox_11_with_strings_for_numbers_is_read() {
    let (summary, sink) = read_ok(&sample("har/synthetic_firefox_legacy.har"));
    assert_eq!(summary.version.as_deref(), Some("1.1"));
    assert_eq!(
        summary.browser.and_then(|b| b.version).as_deref(),
        Some("60.0")
    );
    let exchange = &sink.exchanges[0];
    // "+02:00" offsets become UTC.
    assert_eq!(
        exchange.time,
        Timestamp::parse_rfc3339("2018-05-01T08:00:00.100Z")
    );
    assert_eq!(exchange.response.as_ref().unwrap().status, Some(200));
    // The page title "x" is not a URL.
    assert_eq!(exchange.page_url, None);
}

#[test]
fn numbers_as_strings_or_floats_and_nulls_are_tolerated() {
    let har = br#"{"log": {"version": 1.2, "entries": [
        {"startedDateTime": null, "request": {"method": "GET", "url": "https://x.example/", "headers": [{"name": "Cookie", "value": null}], "headersSize": 120.0},
         "response": {"status": "204", "httpVersion": null, "headers": null, "content": {"size": "0", "text": null}}},
        {"request": {"method": "GET", "url": "https://x.example/2"}, "response": {"status": 200.0}}]}}"#;
    let (summary, sink) = read_ok(har);
    assert_eq!(summary.version.as_deref(), Some("1.2"));
    assert_eq!(codes(&sink), Vec::<&str>::new());
    let first = &sink.exchanges[0];
    assert_eq!(first.request.headers[0].value, "");
    assert_eq!(first.time, None);
    let response = first.response.as_ref().unwrap();
    assert_eq!((response.status, response.body.as_ref()), (Some(204), None));
    assert_eq!(
        sink.exchanges[1].response.as_ref().unwrap().status,
        Some(200)
    );
}

#[test]
fn firefox_form_post_keeps_text_over_params() {
    let (_, sink) = read_ok(&sample("har/synthetic_firefox.har"));
    let body = sink.exchanges[0].request.body.as_ref().unwrap();
    assert_eq!(body.source, BodySource::HarText);
    assert_eq!(body.data, b"id=1234567890&ev=PageView&ud%5Bem%5D=5e884898");
}

#[test]
fn har13_base64_request_body_is_decoded() {
    let (_, sink) = read_ok(&sample("har/synthetic_har13.har"));
    let body = sink.exchanges[0].request.body.as_ref().unwrap();
    assert_eq!(
        (body.data.as_slice(), body.source),
        (&b"en=test"[..], BodySource::HarBase64)
    );
}

#[test]
fn params_without_text_are_rebuilt() {
    let har = br#"{"log": {"entries": [{"request": {"method": "POST", "url": "https://logx.optimizely.com/v1/events",
        "postData": {"mimeType": "application/json", "params": [{"name": "account_id", "value": "123"}, {"name": "anonymize_ip", "value": true}]}}}]}}"#;
    let (_, sink) = read_ok(har);
    let body = sink.exchanges[0].request.body.as_ref().unwrap();
    assert_eq!(body.source, BodySource::HarParams);
    assert_eq!(body.data, br#"{"account_id":"123","anonymize_ip":true}"#);
}

#[test]
fn gzip_request_body_stored_as_text_is_marked_damaged() {
    let (_, sink) = read_ok(&sample("lab/h2/site.har"));
    let batches: Vec<&Exchange> = sink
        .exchanges
        .iter()
        .filter(|e| e.request.url.ends_with("/api/v2/pixel/batch"))
        .collect();
    assert_eq!(batches.len(), 3);
    for exchange in &batches {
        let body = exchange.request.body.as_ref().unwrap();
        assert_eq!(body.content_encoding, vec!["gzip".to_owned()]);
        assert!(matches!(&body.state, BodyState::Damaged { reason } if reason.contains("gzip")));
    }
    let mangled: Vec<_> = sink
        .diagnostics
        .iter()
        .filter(|d| d.code == "har.body-mangled")
        .collect();
    assert_eq!(mangled.len(), 3);
    assert_eq!(mangled[0].severity, Severity::Warning);
    assert_eq!(mangled[0].origin.entry, batches[0].origin.entry);
}

#[test]
fn body_announced_but_not_stored_is_marked_lost() {
    let har = br#"{"log": {"entries": [{"request": {"method": "POST", "url": "https://logx.optimizely.com/log/event",
        "cookies": [{"name": "a", "value": "b"}], "headers": [{"name": "Content-Length", "value": "966"}]}}]}}"#;
    let (_, sink) = read_ok(har);
    let body = sink.exchanges[0].request.body.as_ref().unwrap();
    assert!(body.data.is_empty());
    assert!(
        matches!(&body.state, BodyState::Damaged { reason } if reason.starts_with("body lost"))
    );
    assert_eq!(codes(&sink), vec!["har.body-lost"]);
}

/// Three entries with the middle one broken (a bare word where a value
/// should be).
fn with_broken_middle_entry() -> Vec<u8> {
    let good = |n: u32| {
        format!(
            r#"{{"request": {{"method": "GET", "url": "https://t.example/{n}", "cookies": [{{"name": "id", "value": "{n}"}}]}}}}"#
        )
    };
    format!("{{\"log\": {{\"version\": \"1.2\",\n\"entries\": [\n{},\n{{\"request\": {{\"method\": GET}}}},\n{}\n]}}}}", good(0), good(2))
        .into_bytes()
}

#[test]
fn a_broken_entry_is_skipped_with_its_place_and_the_rest_is_read() {
    let bytes = with_broken_middle_entry();
    let (summary, sink) = read_ok(&bytes);
    assert_eq!((summary.entries_read, summary.entries_invalid), (2, 1));
    let urls: Vec<&str> = sink
        .exchanges
        .iter()
        .map(|e| e.request.url.as_str())
        .collect();
    assert_eq!(urls, vec!["https://t.example/0", "https://t.example/2"]);
    assert_eq!(sink.exchanges[1].origin.entry, Some(2));
    assert_eq!(codes(&sink), vec!["har.entry-invalid"]);
    let diagnostic = &sink.diagnostics[0];
    assert_eq!(diagnostic.origin.entry, Some(1));
    let start = bytes
        .windows(24)
        .position(|w| w == b"{\"request\": {\"method\": G")
        .unwrap();
    let error_at = start + 23;
    assert_eq!(
        diagnostic.message,
        format!(
            "entry 1 (starting at line 4, byte {start}) is skipped: expected value at line 4, byte {error_at}"
        )
    );
}

#[test]
fn a_truncated_file_delivers_its_complete_entries_then_says_where_it_ends() {
    let whole = sample("har/synthetic_chrome.har");
    // Cut inside the third entry.
    let needle = b"\"_resourceType\": \"ping\"";
    let third = whole
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let cut = &whole[..third + 40];
    let (summary, sink) = read_ok(cut);
    assert_eq!(summary.entries_read, 2);
    assert_eq!(codes(&sink), vec!["har.truncated"]);
    let truncated = &sink.diagnostics[0];
    assert_eq!(truncated.severity, Severity::Error);
    assert_eq!(truncated.origin.entry, None);
    let lines = cut.iter().filter(|&&b| b == b'\n').count() + 1;
    assert!(
        truncated.message.starts_with(&format!(
            "the file is truncated: it ends at line {lines}, byte {} inside entry 2",
            cut.len()
        )),
        "{}",
        truncated.message
    );
}

#[test]
fn an_entry_over_the_size_limit_is_skipped() {
    let bytes = with_broken_middle_entry();
    let limits = HarLimits {
        max_entry_bytes: 100,
        ..HarLimits::default()
    };
    let mut sink = Collected::default();
    let summary = reader()
        .with_limits(limits)
        .read(&bytes[..], &mut sink)
        .unwrap();
    // The two good entries are 105 bytes; the broken one is 35 and is
    // still reported as invalid.
    assert_eq!((summary.entries_read, summary.entries_invalid), (0, 3));
    assert_eq!(
        codes(&sink),
        vec![
            "har.entry-too-large",
            "har.entry-invalid",
            "har.entry-too-large"
        ]
    );
}

#[test]
fn a_sanitised_export_is_flagged_once() {
    let (summary, sink) = read_ok(&sample("har/har_files_firefox.har"));
    assert!(!summary.cookies_seen);
    let warnings: Vec<_> = sink
        .diagnostics
        .iter()
        .filter(|d| d.code == "har.no-cookies")
        .collect();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].severity, Severity::Warning);
    assert!(warnings[0].message.contains("14 entries"));
    // A HAR with no entries has nothing to warn about.
    let (_, empty) = read_ok(br#"{"log": {"entries": []}}"#);
    assert!(empty.diagnostics.is_empty());
}

#[test]
fn reading_in_one_byte_pieces_gives_the_same_result() {
    for name in [
        "har/synthetic_chrome.har",
        "har/issue-61_ie11.fiddler.trimmed.har",
        "har/har_files_with-bom.har",
    ] {
        let bytes = sample(name);
        let (whole_summary, whole) = read_ok(&bytes);
        let mut trickled = Collected::default();
        let summary = reader().read(Trickle(&bytes), &mut trickled).unwrap();
        assert_eq!(summary, whole_summary, "{name}");
        assert_eq!(trickled.exchanges, whole.exchanges, "{name}");
        assert_eq!(trickled.diagnostics, whole.diagnostics, "{name}");
    }
    let broken = with_broken_middle_entry();
    let (_, whole) = read_ok(&broken);
    let mut trickled = Collected::default();
    reader().read(Trickle(&broken), &mut trickled).unwrap();
    assert_eq!(trickled.diagnostics, whole.diagnostics);
}

#[test]
fn pages_listed_after_the_entries_leave_page_url_unknown_and_say_so() {
    let (_, sink) = read_ok(&sample("har/pcap2har_request_only.pcap.har"));
    assert_eq!(sink.exchanges[0].page_url, None);
    assert!(sink.exchanges[0].response.is_none());
    let info = sink
        .diagnostics
        .iter()
        .find(|d| d.code == "har.pageref-unresolved")
        .unwrap();
    assert_eq!(info.severity, Severity::Info);
}

#[test]
fn a_missing_comma_between_entries_is_repaired_and_junk_after_them_stops_reading() {
    let har = br#"{"log": {"entries": [{"request": {"url": "https://a.example/"}} {"request": {"url": "https://b.example/"}}] xxx, "pages": []}}"#;
    let (summary, sink) = read_ok(har);
    assert_eq!(summary.entries_read, 2);
    assert_eq!(
        codes(&sink),
        vec!["har.missing-comma", "har.malformed", "har.no-cookies"]
    );
    let junk = har.windows(3).position(|w| w == b"xxx").unwrap();
    assert_eq!(
        sink.diagnostics[1].message,
        format!(
            "reading stopped: expected ',' or '}}' after \"entries\" in \"log\", found 'x' at line 1, byte {junk}; the 2 entries before were read"
        ),
    );
}

#[test]
fn data_after_the_har_is_reported() {
    let (summary, sink) = read_ok(br#"{"log": {"entries": []}} {"log": {}}"#);
    assert_eq!(summary.entries_read, 0);
    assert_eq!(codes(&sink), vec!["har.trailing-data"]);
}

/// Hostile input: every prefix of a real export, and many copies with bytes
/// overwritten by structural characters, must read without a panic, and the
/// same bytes must always give the same result.
#[test]
fn damaged_copies_of_real_exports_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const BYTES: &[u8] = b"{}[]\",:\\ \n0nu\xff\x00";
    for name in [
        "har/synthetic_chrome.har",
        "har/synthetic_firefox.har",
        "har/har_files_insomnia.har",
    ] {
        let original = sample(name);
        for cut in (0..original.len()).step_by(7) {
            let _ = read(&original[..cut]);
        }
        for _ in 0..400 {
            let mut damaged = original.clone();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() % damaged.len() as u64) as usize;
                damaged[at] = BYTES[(next() % BYTES.len() as u64) as usize];
            }
            let (first, first_sink) = read(&damaged);
            let (second, second_sink) = read(&damaged);
            assert_eq!(
                first.map_err(|e| e.to_string()),
                second.map_err(|e| e.to_string())
            );
            assert_eq!(first_sink.exchanges, second_sink.exchanges);
            assert_eq!(first_sink.diagnostics, second_sink.diagnostics);
        }
    }
}

#[test]
fn a_body_that_is_not_utf8_is_kept_as_recorded() {
    // Some exporters write a latin-1 or binary body straight into `text`.
    let har = b"{\"log\": {\"entries\": [{\"request\": {\"method\": \"POST\", \"url\": \"https://x.example/\",\n    \"postData\": {\"mimeType\": \"text/plain\", \"text\": \"caf\xe9 \\u00e9\"}}}]}}";
    let (summary, sink) = read_ok(har);
    assert_eq!(summary.entries_invalid, 0);
    let body = sink.exchanges[0].request.body.as_ref().unwrap();
    assert_eq!(body.data, b"caf\xe9 \xc3\xa9");
    assert_eq!(body.state, BodyState::Complete);
}
