//! Shared fixtures: a bundle input made from the capture-lab sample.
//!
//! `samples/exhibit/lab-h2-records.jsonl` holds one `{record, raw_request}`
//! per line: the records a perfect decoder would give for the HAR of
//! `samples/lab/h2/`, built from its truth.json (see samples/README.md).

#![allow(dead_code)]

use pixelscope_exhibit::{BundleInput, DecoderInfo, EventWithRaw, IdentitySummary, InputInfo};
use pixelscope_model::{Diagnostic, Event, InputFormat, Origin, Timestamp};
use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn sample(path: &str) -> PathBuf {
    repo_root().join("samples").join(path)
}

pub fn lab_events() -> Vec<EventWithRaw> {
    let text = std::fs::read_to_string(sample("exhibit/lab-h2-records.jsonl")).unwrap();
    text.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let event: Event = serde_json::from_value(value["record"].clone()).unwrap();
            let raw_request = value["raw_request"].as_str().map(str::to_owned);
            EventWithRaw { event, raw_request }
        })
        .collect()
}

pub fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

pub fn decoders() -> Vec<DecoderInfo> {
    [
        ("ga4", "Google"),
        ("linkedin", "LinkedIn"),
        ("meta", "Meta"),
        ("microsoft-uet", "Microsoft"),
        ("pinterest", "Pinterest"),
        ("reddit", "Reddit"),
        ("snap", "Snap"),
        ("tiktok", "TikTok"),
        ("x", "X"),
    ]
    .into_iter()
    .map(|(id, vendor)| DecoderInfo {
        id: id.into(),
        vendor: vendor.into(),
        version: "1.0.0".into(),
        sources: vec![
            format!("FORMATS.md section {vendor}"),
            "capture lab recordings".into(),
        ],
    })
    .collect()
}

pub fn diagnostics() -> Vec<Diagnostic> {
    let origin = |entry: u64| Origin {
        entry: Some(entry),
        ..Origin::file("samples/lab/h2/site.har", None, InputFormat::Har)
    };
    vec![
        Diagnostic::warning(
            "har.no-cookies",
            "the HAR was exported without cookies",
            origin(0),
        ),
        Diagnostic::error(
            "decode.body-unreadable",
            "the request body is not valid JSON",
            origin(40),
        ),
        Diagnostic::error(
            "decode.body-unreadable",
            "the request body is not valid JSON",
            origin(41),
        ),
        Diagnostic::error(
            "tls.no-key",
            "no key for this TLS session: its content could not be read",
            Origin {
                stream: Some(7),
                frames: Some(vec![120, 121]),
                ..Origin::file("capture.pcapng", None, InputFormat::Pcapng)
            },
        ),
    ]
}

/// A bundle input over the lab sample. `input_path` is the HAR as the
/// caller names it (tests copy it to a temporary folder to tamper with it).
pub fn lab_input(input_path: &Path) -> BundleInput {
    BundleInput {
        case: Some("Doe v. Capture Lab".into()),
        title: Some("What www.capturelab.test told the trackers".into()),
        inputs: vec![
            InputInfo::from_file(input_path.to_str().unwrap(), Some(InputFormat::Har)).unwrap(),
        ],
        events: lab_events(),
        diagnostics: diagnostics(),
        decoders: decoders(),
        identities: vec![IdentitySummary {
            label: "Customer".into(),
            kind: "email".into(),
        }],
        command_line: vec![
            "pixelscope".into(),
            "report".into(),
            "site.har".into(),
            "--out".into(),
            "bundle".into(),
        ],
        tool_version: "0.1.0".into(),
        git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        started: time("2026-11-30T10:00:00Z"),
        finished: time("2026-11-30T10:00:02.5Z"),
    }
}

/// A copy of the lab HAR in `dir`, named `site.har`.
pub fn copy_lab_har(dir: &Path) -> PathBuf {
    let to = dir.join("site.har");
    std::fs::copy(sample("lab/h2/site.har"), &to).unwrap();
    to
}

/// Payloads a hostile page can put in any captured string.
pub const SCRIPT: &str = "<script>document.title='pwned-script'</script>";
pub const IMG: &str = "\"><img src=x onerror=\"document.title='pwned'\">";
pub const JS_LINK: &str = "javascript:document.title='pwned-link'";
pub const TERMINAL: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}\u{202e}gnp.exe";

/// One event whose every captured string carries the payloads.
pub fn hostile_event() -> EventWithRaw {
    let mut events = lab_events();
    let mut item = events.swap_remove(0);
    let e = &mut item.event;
    e.event = Some(format!("Pageview{IMG}"));
    e.pixel_id = Some(format!(
        "=HYPERLINK(\"http://evil.test\",\"click\"){SCRIPT}"
    ));
    e.page_url = Some(JS_LINK.into());
    e.referrer = Some(format!("https://x.test/{IMG}"));
    e.page_title = Some(format!("{SCRIPT}{TERMINAL}"));
    e.request.url = format!("https://analytics.tiktok.com/api/v2/pixel?u={IMG}&t={SCRIPT}");
    if let Some(field) = e.fields.first_mut() {
        field.value = format!("{IMG}{TERMINAL}");
        field.path = SCRIPT.to_string();
    }
    e.identifiers.push(pixelscope_model::Identifier {
        kind: "email".into(),
        form: "plain".into(),
        value: format!("@SUM(A1){IMG}"),
        path: JS_LINK.into(),
        matched: Some(SCRIPT.to_string()),
    });
    e.flags.push(pixelscope_model::Flag {
        category: "health".into(),
        rule: IMG.to_string(),
        text: format!("-2+3{SCRIPT}"),
        path: "dl".into(),
    });
    e.origin.file = format!("evil{IMG}.har");
    item.raw_request = Some(format!(
        "GET /?q={IMG} HTTP/1.1\r\nHost: analytics.tiktok.com\r\nX-Evil: {SCRIPT}{TERMINAL}\r\nReferer: {JS_LINK}\r\n\r\n{{\"a\":\"{IMG}\"}}</pre><script>document.title='pwned-pre'</script>"
    ));
    item
}
