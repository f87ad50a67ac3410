//! `pixelscope tui` in a real terminal: the binary runs inside a detached
//! tmux session (its own tmux server on a socket in a temporary folder, so
//! a user's sessions are never touched and nothing is left behind), keys are sent with `send-keys` and the screen is read with
//! `capture-pane`. Skipped, with a message, only when tmux is not installed.

use crate::util::{pixelscope, root};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One tmux server and session for one test; killed when dropped, whatever
/// the test's outcome.
struct Tmux {
    /// Holds the server's socket; removed after the server is killed.
    dir: tempfile::TempDir,
    session: String,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Starts `command` in a detached 100x30 session.
    fn start(command: &str) -> Tmux {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("pixelscope-test-{}-{n}", std::process::id());
        let tmux = Tmux {
            dir: tempfile::tempdir().unwrap(),
            session: name,
        };
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-x",
            "100",
            "-y",
            "30",
            "-s",
            &tmux.session.clone(),
            "-c",
            root().to_str().unwrap(),
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(self.dir.path().join("socket"))
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", &self.session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends keys (tmux key names, or literal text with `literal`).
    fn keys(&self, keys: &[&str], literal: bool) {
        let mut args = vec!["send-keys", "-t", &self.session];
        if literal {
            args.push("-l");
        }
        args.extend_from_slice(keys);
        let out = self.run(&args);
        assert!(out.status.success(), "tmux send-keys {keys:?} failed");
    }

    /// Polls the screen until `ready` holds (up to 20 s).
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn alive(&self) -> bool {
        self.run(&["has-session", "-t", &self.session])
            .status
            .success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// Rows of the event list: the lines that start with a time of day.
fn event_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| {
            let t = l.trim_start_matches(['>', ' ']);
            t.len() > 12
                && t.as_bytes()[2] == b':'
                && t.as_bytes()[5] == b':'
                && t.as_bytes()[..2].iter().all(u8::is_ascii_digit)
        })
        .collect()
}

/// The number in the header's `· N events`.
fn loaded_events(screen: &str) -> Option<usize> {
    let header = screen.lines().next()?;
    let before = header.split(" events").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

#[test]
fn tui_loads_filters_exports_marked_events_and_quits() {
    if !Tmux::available() {
        println!(
            "SKIPPED tui_loads_filters_exports_marked_events_and_quits: tmux is not installed"
        );
        return;
    }
    let bin = env!("CARGO_BIN_EXE_pixelscope");
    let tmux = Tmux::start(&format!("'{bin}' tui samples/lab/h2/site.har"));

    let screen = tmux.wait_for("the events of the HAR", |s| {
        loaded_events(s).is_some_and(|n| n > 50) && event_rows(s).len() > 5
    });
    assert!(screen.contains("samples/lab/h2/site.har"), "{screen}");

    tmux.keys(&["/"], false);
    tmux.keys(&["Pageview"], true);
    tmux.keys(&["Enter"], false);
    // The header shows the filter before the list below it is redrawn:
    // wait for the whole screen to settle on the filtered rows.
    let screen = tmux.wait_for("the Pageview filter", |s| {
        s.contains("/Pageview")
            && !event_rows(s).is_empty()
            && event_rows(s)
                .iter()
                .all(|r| r.to_lowercase().contains("pageview"))
    });
    let rows = event_rows(&screen);
    assert!(
        rows.iter()
            .any(|r| r.contains("tiktok") && r.contains("Pageview")),
        "no TikTok Pageview row:\n{screen}"
    );
    assert!(
        rows.iter().all(|r| r.to_lowercase().contains("pageview")),
        "the filter left other rows:\n{screen}"
    );

    // Mark the first row (TikTok's first Pageview) and export it as an
    // exhibit bundle.
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("marked");
    tmux.keys(&["Space"], false);
    tmux.keys(&["x"], false);
    tmux.keys(&["C-u"], false);
    tmux.keys(&[bundle.to_str().unwrap()], true);
    tmux.keys(&["Enter"], false);
    let manifest = bundle.join("manifest.json");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !manifest.exists() {
        assert!(
            Instant::now() < deadline,
            "no bundle written; the screen shows:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.wait_for("the export message", |s| {
        s.contains("Wrote an exhibit of 1 events")
    });

    tmux.keys(&["q"], false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.alive() {
        assert!(
            Instant::now() < deadline,
            "the TUI did not quit on q; the screen shows:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    check_exported_bundle(&bundle);
}

/// The bundle the TUI wrote: the one marked record, its raw request, the
/// HAR it came from, and it verifies.
fn check_exported_bundle(bundle: &Path) {
    let jsonl = std::fs::read_to_string(bundle.join("events.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 1, "{jsonl}");
    assert_eq!(records[0]["tracker"], "tiktok");
    assert_eq!(records[0]["event"], "Pageview");
    let html = std::fs::read_to_string(bundle.join("exhibit.html")).unwrap();
    assert!(html.contains("POST https://analytics.tiktok.com/api/v2/pixel"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["inputs"][0]["path"], "samples/lab/h2/site.har");
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 1);
    let out = pixelscope().arg("verify").arg(bundle).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn tui_refuses_to_draw_without_a_terminal() {
    let out = pixelscope()
        .args(["tui", "samples/lab/h2/site.har"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// `scan`'s progress line in a real terminal: the file counter and a large
/// file's share read are drawn on one line, which is erased before a file's
/// diagnostics are printed (they start on a line of their own) and at the end.
#[test]
fn scan_progress_never_shares_a_line_with_diagnostics_and_is_gone_at_the_end() {
    if !Tmux::available() {
        println!(
            "SKIPPED scan_progress_never_shares_a_line_with_diagnostics: tmux is not installed"
        );
        return;
    }
    let bin = env!("CARGO_BIN_EXE_pixelscope");
    let out = tempfile::tempdir().unwrap();
    // A HAR over 1 MiB is read from the file (progress by bytes); the lab HAR
    // after it has entries with diagnostics.
    let lab = std::fs::read(root().join("samples/lab/http1/site.har")).unwrap();
    let big = out.path().join("big.har");
    let mut har: serde_json::Value = serde_json::from_slice(&lab).unwrap();
    let entries = har["log"]["entries"].as_array().unwrap().clone();
    let repeated = (0..4).flat_map(|_| entries.iter().cloned()).collect();
    har["log"]["entries"] = serde_json::Value::Array(repeated);
    std::fs::write(&big, serde_json::to_vec(&har).unwrap()).unwrap();
    assert!(std::fs::metadata(&big).unwrap().len() > 1 << 20);
    let records = out.path().join("records.jsonl");
    let tmux = Tmux::start(&format!(
        "'{bin}' scan -j1 --format jsonl -o '{}' '{}' samples/lab/http1/site.har; echo EXIT=$?; sleep 60",
        records.display(),
        big.display()
    ));
    let screen = tmux.wait_for("the scan to end", |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !screen.contains("scanning"),
        "progress left on screen:\n{screen}"
    );
    let diagnostics: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("body-mangled"))
        .collect();
    assert!(!diagnostics.is_empty(), "{screen}");
    // Lines wrap at 100 columns; every diagnostic's first line starts the line.
    let starts = screen
        .lines()
        .filter(|l| l.contains("pixelscope: "))
        .all(|l| l.starts_with("pixelscope: "));
    assert!(starts, "a diagnostic shares its line:\n{screen}");
}
