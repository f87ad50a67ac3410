//! The exhibit as a browser shows it: real headless Chromium renders it to a
//! screenshot and serialises the DOM it built.
//!
//! Skipped, with a printed reason, only when no Chromium is installed
//! (`apt-get install chromium`; CI installs it).

// Test helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use pixelscope_exhibit::{EXHIBIT_FILE, write_bundle_at};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with `mode` (`--dump-dom` or
/// `--screenshot=…`) and returns its standard output. A fresh profile, no
/// network features, and a hard time limit.
fn run_chromium(exe: &Path, page: &Path, mode: &str, profile: &Path) -> String {
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--window-size=1280,2000")
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap());
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// Pixels that are not (near) white in an RGB(A) PNG.
fn ink_pixels(png_path: &Path) -> (u64, u64) {
    let file = std::io::BufReader::new(std::fs::File::open(png_path).unwrap());
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let mut ink = 0;
    let mut total = 0;
    for row in buf[..info.line_size * info.height as usize].chunks(info.line_size) {
        for px in row[..info.width as usize * channels].chunks(channels) {
            total += 1;
            let colour = &px[..channels.min(3)];
            if colour.iter().any(|&c| c < 200) {
                ink += 1;
            }
        }
    }
    (ink, total)
}

fn title_of(dom: &str) -> &str {
    let start = dom.find("<title>").map(|i| i + 7).unwrap();
    let end = dom[start..].find("</title>").unwrap() + start;
    &dom[start..end]
}

#[test]
fn chromium_renders_the_exhibit_with_every_finding() {
    let Some(exe) = chromium() else {
        println!(
            "SKIPPED chromium_renders_the_exhibit_with_every_finding: no Chromium at /usr/bin/chromium (apt-get install chromium)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let har = copy_lab_har(tmp.path());
    let out = tmp.path().join("bundle");
    write_bundle_at(&lab_input(&har), &out, None).unwrap();
    let page = out.join(EXHIBIT_FILE);

    let shot = tmp.path().join("exhibit.png");
    run_chromium(
        &exe,
        &page,
        &format!("--screenshot={}", shot.display()),
        &tmp.path().join("profile-1"),
    );
    let (ink, total) = ink_pixels(&shot);
    assert!(total >= 1280 * 1000, "screenshot too small: {total} pixels");
    assert!(
        ink * 100 > total,
        "the page looks blank: {ink} of {total} pixels are not white"
    );

    let dom = run_chromium(&exe, &page, "--dump-dom", &tmp.path().join("profile-2"));
    assert_eq!(title_of(&dom), "What www.capturelab.test told the trackers");
    for item in lab_events() {
        let e = &item.event;
        let name = e.event.as_deref().unwrap();
        assert!(
            dom.contains(name),
            "event {name} missing from the rendered page"
        );
        if let Some(pixel) = &e.pixel_id {
            assert!(
                dom.contains(pixel.as_str()),
                "pixel id {pixel} missing from the rendered page"
            );
        }
    }
    assert_eq!(
        dom.matches("<article class=\"event\"").count(),
        lab_events().len()
    );
    assert!(dom.contains("What could not be read"));
}

#[test]
fn chromium_runs_nothing_from_hostile_captured_text() {
    let Some(exe) = chromium() else {
        println!(
            "SKIPPED chromium_runs_nothing_from_hostile_captured_text: no Chromium at /usr/bin/chromium (apt-get install chromium)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let har = copy_lab_har(tmp.path());
    let mut input = lab_input(&har);
    input.title = Some(format!("Exhibit {IMG}"));
    input.case = Some(SCRIPT.into());
    input.events = vec![hostile_event()];
    input.diagnostics[0].message = format!("{IMG}{SCRIPT}");
    input.decoders[0].sources.push(JS_LINK.into());
    let out = tmp.path().join("bundle");
    write_bundle_at(&input, &out, None).unwrap();
    let page = out.join(EXHIBIT_FILE);

    let dom = run_chromium(&exe, &page, "--dump-dom", &tmp.path().join("profile"));
    assert!(!dom.is_empty(), "chromium printed no DOM");
    // The title is the text we set, payload and all, not what a script wrote.
    let title = title_of(&dom);
    assert!(title.starts_with("Exhibit "), "title changed to {title:?}");
    assert!(
        !title.contains("pwned") || title.contains("onerror"),
        "a payload ran: title is {title:?}"
    );
    assert!(!dom.contains("<img"), "an <img> element was created");
    assert!(!dom.contains("<script"), "a <script> element was created");
    // Text nodes keep their quotes when serialised, so the payload's
    // `onerror="…"` appears, but only ever right after the escaped `&lt;img`.
    assert_eq!(
        dom.matches("onerror=").count(),
        dom.matches("&lt;img src=x onerror=").count(),
        "an onerror attribute exists"
    );
    assert!(
        !dom.contains("href=\"javascript"),
        "a javascript: link exists"
    );
    // The payloads are there, as text.
    assert!(
        dom.contains("&lt;img src=x onerror="),
        "payload not shown as text"
    );
    assert!(dom.contains("&lt;script&gt;document.title="));
    assert!(
        dom.contains("\\x1b[2J"),
        "terminal escapes not shown visibly"
    );
    assert!(dom.contains("javascript:document.title="));
}
