//! Hostile and broken inputs (`samples/bad/`, written by
//! `samples/bad/make.py`): each one gives its diagnostic or error line and
//! exit code, never a panic, and the command's peak memory stays under
//! 256 MB, decompression bombs and absurd lengths included.

use crate::util::{pixelscope, root, sample};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// Peak resident memory allowed for one scan of one bad input.
const MEMORY_CEILING_KB: u64 = 256 * 1024;

/// What one `pixelscope scan` of bad input did.
struct Run {
    out: Output,
    records: Vec<Value>,
    diagnostics: Vec<Value>,
    /// Peak resident set in KB, when it could be measured.
    peak_kb: Option<u64>,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }

    fn codes(&self) -> Vec<String> {
        self.diagnostics
            .iter()
            .map(|d| d["code"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    fn has(&self, code: &str) -> bool {
        self.codes().iter().any(|c| c == code)
    }

    fn trackers(&self) -> Vec<String> {
        self.records
            .iter()
            .map(|r| r["tracker"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// No panic, and the memory stayed under the ceiling.
    fn assert_sane(&self, what: &str) {
        let stderr = self.stderr();
        assert!(
            !stderr.contains("panicked") && self.out.status.code().is_some(),
            "{what}: the command crashed: {stderr}"
        );
        match self.peak_kb {
            Some(kb) => assert!(
                kb < MEMORY_CEILING_KB,
                "{what}: peak memory {kb} KB is over the {MEMORY_CEILING_KB} KB ceiling"
            ),
            None => println!(
                "{what}: peak memory not measured ({})",
                memory_probe_reason()
            ),
        }
    }
}

/// How peak memory is measured here: GNU time's `%M` (maximum resident
/// set, KB) when it is installed, else the kernel's `VmHWM` polled from
/// /proc while the child runs.
enum Probe {
    GnuTime,
    ProcStatus,
    None(&'static str),
}

fn probe() -> Probe {
    if Path::new("/usr/bin/time").exists() {
        Probe::GnuTime
    } else if Path::new("/proc/self/status").exists() {
        Probe::ProcStatus
    } else {
        Probe::None("neither /usr/bin/time nor /proc is available")
    }
}

fn memory_probe_reason() -> &'static str {
    match probe() {
        Probe::None(reason) => reason,
        _ => "the probe gave no number",
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `pixelscope scan --format jsonl --diagnostics FILE ARGS...` and
/// measures its peak memory.
fn scan(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let diagnostics = dir.path().join("diagnostics.jsonl");
    let time_out = dir.path().join("time.txt");
    let exe = env!("CARGO_BIN_EXE_pixelscope");
    let mut scan_args: Vec<String> = vec![
        "scan".into(),
        "--format".into(),
        "jsonl".into(),
        "--diagnostics".into(),
        diagnostics.display().to_string(),
    ];
    scan_args.extend(args.iter().map(|a| (*a).to_owned()));
    let (out, peak_kb) = match probe() {
        Probe::GnuTime => {
            let out = std::process::Command::new("/usr/bin/time")
                .current_dir(root())
                .arg("-f")
                .arg("%M")
                .arg("-o")
                .arg(&time_out)
                .arg(exe)
                .args(&scan_args)
                .output()
                .unwrap();
            let peak = std::fs::read_to_string(&time_out)
                .ok()
                .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()));
            (out, peak)
        }
        Probe::ProcStatus => {
            let mut child = pixelscope()
                .args(&scan_args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let pid = child.id();
            let mut peak = None;
            // Output is small; poll the high-water mark until it exits.
            while child.try_wait().unwrap().is_none() {
                if let Some(kb) = vm_hwm_kb(pid) {
                    peak = Some(peak.map_or(kb, |p: u64| p.max(kb)));
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (child.wait_with_output().unwrap(), peak)
        }
        Probe::None(_) => (pixelscope().args(&scan_args).output().unwrap(), None),
    };
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let diagnostics = std::fs::read_to_string(&diagnostics)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Run {
        out,
        records,
        diagnostics,
        peak_kb,
    }
}

fn bad(name: &str) -> String {
    format!("samples/bad/{name}")
}

/// A file that cannot be read at all: exit 1 and one error line naming it.
fn unreadable(name: &str, line: &str) {
    let run = scan(&[&bad(name)]);
    run.assert_sane(name);
    assert_eq!(run.code(), 1, "{name}: {}", run.stderr());
    let expected = format!("pixelscope: samples/bad/{name}: {line}");
    assert!(
        run.stderr().lines().any(|l| l.starts_with(&expected)),
        "{name}: expected a line starting `{expected}`, got:\n{}",
        run.stderr()
    );
    assert!(run.records.is_empty());
}

/// A damaged file that is read as far as it goes: exit 0, the diagnostic,
/// and the records of what was readable.
fn damaged(name: &str, code: &str, trackers: &[&str]) -> Run {
    let run = scan(&[&bad(name)]);
    run.assert_sane(name);
    assert_eq!(run.code(), 0, "{name}: {}", run.stderr());
    assert!(run.has(code), "{name}: no {code} in {:?}", run.codes());
    assert_eq!(run.trackers(), trackers, "{name}: records");
    run
}

#[test]
fn a_pcap_cut_inside_its_file_header_is_an_error() {
    unreadable(
        "truncated-header.pcap",
        "the pcap file header is damaged: it is cut short",
    );
}

#[test]
fn a_pcapng_cut_inside_its_section_header_is_an_error() {
    unreadable(
        "truncated-shb.pcapng",
        "the pcapng file header is damaged: it is cut short",
    );
}

#[test]
fn a_pcapng_whose_section_header_claims_two_gigabytes_is_an_error() {
    unreadable(
        "absurd-shb-length.pcapng",
        "the pcapng file header is damaged",
    );
}

#[test]
fn a_wrong_magic_number_is_not_taken_for_a_capture() {
    unreadable(
        "wrong-magic.pcap",
        "not a HAR file or a pcap/pcapng capture (unrecognised first bytes)",
    );
}

#[test]
fn empty_files_are_errors_whatever_their_name() {
    for name in ["empty.pcap", "empty.har"] {
        unreadable(name, "empty file: neither a HAR file nor a packet capture");
    }
}

#[test]
fn a_pcap_cut_inside_a_packet_keeps_the_packets_before() {
    damaged("truncated-record.pcap", "capture.truncated", &["meta"]);
}

#[test]
fn a_pcapng_cut_inside_a_block_keeps_the_blocks_before() {
    damaged("truncated-block.pcapng", "capture.truncated", &["meta"]);
}

#[test]
fn a_four_gigabyte_packet_record_is_refused_not_allocated() {
    let run = damaged("absurd-snaplen.pcap", "capture.record-invalid", &[]);
    assert!(run.stderr().contains("more than the 16777216-byte limit"));
}

#[test]
fn a_four_gigabyte_pcapng_block_is_refused_not_allocated() {
    damaged("absurd-block-length.pcapng", "capture.record-invalid", &[]);
}

#[test]
fn a_har_cut_inside_an_entry_keeps_the_entries_before() {
    let run = damaged("cut-mid-entry.har", "har.truncated", &["meta"]);
    assert!(
        run.stderr()
            .contains("the 1 complete entries before were read")
    );
}

#[test]
fn invalid_utf8_costs_only_its_own_entry() {
    let run = damaged("invalid-utf8.har", "har.entry-invalid", &["ga4"]);
    let d = run
        .diagnostics
        .iter()
        .find(|d| d["code"] == "har.entry-invalid")
        .unwrap();
    assert_eq!(d["origin"]["entry"], 0);
}

#[test]
fn json_nested_100000_deep_in_an_entry_skips_that_entry_without_overflowing_the_stack() {
    let run = damaged("deep-entry.har", "har.entry-invalid", &["ga4"]);
    assert!(run.stderr().contains("recursion limit exceeded"));
}

#[test]
fn json_nested_100000_deep_in_the_log_header_is_ignored() {
    damaged("deep-log.har", "har.log-field-invalid", &["meta"]);
}

#[test]
fn json_nested_100000_deep_in_a_tracker_body_is_reported_by_the_decoder() {
    let run = damaged(
        "deep-body.har",
        "decode.body-unreadable",
        &["tiktok", "meta"],
    );
    assert!(run.stderr().contains("recursion limit exceeded"));
}

#[test]
fn a_content_length_of_10_gb_waits_for_nothing_and_keeps_what_came() {
    let run = damaged("content-length-10gb.pcap", "http.incomplete", &["tiktok"]);
    assert!(run.has("decode.body-unreadable"));
}

#[test]
fn decompression_bombs_in_a_capture_stop_at_the_body_cap() {
    for name in ["bomb-gzip.pcap", "bomb-zstd.pcap", "bomb-br.pcap"] {
        let run = damaged(name, "body.too-large", &["tiktok"]);
        assert!(
            run.stderr()
                .contains("decoded body cut at the 16777216-byte cap"),
            "{name}: {}",
            run.stderr()
        );
    }
}

#[test]
fn decompression_bombs_as_har_base64_bodies_are_not_expanded() {
    for name in ["bomb-gzip.har", "bomb-zstd.har", "bomb-br.har"] {
        let run = damaged(name, "decode.body-unreadable", &["tiktok", "meta"]);
        assert!(
            run.stderr()
                .contains("compressed; the HAR reader does not decompress"),
            "{name}: {}",
            run.stderr()
        );
    }
}

#[test]
fn an_undeclared_gzip_bomb_in_a_har_stops_at_the_decoder_cap() {
    let run = damaged(
        "bomb-gzip-undeclared.har",
        "decode.unrecognised",
        &["tiktok", "meta"],
    );
    assert!(run.stderr().contains("binary body of unknown format"));
}

#[test]
fn the_body_cap_is_an_option() {
    let run = scan(&["--max-body-bytes", "1M", &bad("bomb-zstd.pcap")]);
    run.assert_sane("bomb-zstd.pcap --max-body-bytes 1M");
    assert_eq!(run.code(), 0);
    assert!(
        run.stderr()
            .contains("decoded body cut at the 1048576-byte cap"),
        "{}",
        run.stderr()
    );
}

#[test]
fn the_har_entry_cap_is_an_option() {
    let run = scan(&["--max-entry-bytes", "64K", &bad("deep-entry.har")]);
    run.assert_sane("deep-entry.har --max-entry-bytes 64K");
    assert_eq!(run.code(), 0);
    assert!(run.has("har.entry-too-large"), "{:?}", run.codes());
    assert_eq!(run.trackers(), ["ga4"]);
}

#[test]
fn limits_that_make_no_sense_are_usage_errors() {
    let out = pixelscope()
        .args(["scan", "--max-flows", "0", "samples/bad/empty.har"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a limit of 0 would read nothing"));
}

#[test]
fn tight_flow_and_reassembly_limits_still_read_every_lab_request() {
    let capture = "samples/lab/http1/capture.pcapng";
    let normal = scan(&[capture]);
    let tight = scan(&["--max-flows", "4", "--max-reassembly-bytes", "64K", capture]);
    tight.assert_sane("tight limits");
    assert_eq!(tight.code(), 0);
    // Connections closed early to make room are read on as new streams
    // when they carry more data, and say so.
    assert!(tight.has("tcp.reopened"), "{:?}", tight.codes());
    assert_eq!(tight.records.len(), normal.records.len());
}

#[test]
fn a_garbage_key_log_is_a_warning_and_the_capture_is_still_read() {
    assert!(sample("bad/garbage.keys").exists());
    let run = scan(&[
        "--keylog",
        &bad("garbage.keys"),
        "samples/lab/h1tls/capture.pcapng",
    ]);
    run.assert_sane("garbage.keys");
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("samples/bad/garbage.keys: no usable TLS secrets in this key log"),
        "{}",
        run.stderr()
    );
    assert!(run.has("tls.no-key"), "{:?}", run.codes());
}

#[test]
fn the_whole_bad_folder_scans_in_one_run_without_a_crash() {
    let run = scan(&["samples/bad"]);
    run.assert_sane("samples/bad");
    // Folders skip what is not a capture or a HAR; the damaged ones that
    // cannot be read at all make the exit status 1.
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.records.len() >= 15, "{}", run.records.len());
}

#[test]
fn a_missing_input_named_with_terminal_escapes_is_reported_escaped_by_every_command() {
    // The path comes from a user's shell or a script reading captured data:
    // its control characters must not reach the terminal raw.
    let path = "missing-\u{1b}[2J-\u{7}.har";
    for command in ["scan", "matrix", "accuracy", "report"] {
        let mut cmd = pixelscope();
        cmd.arg(command).arg(path);
        match command {
            "accuracy" => {
                cmd.args(["--truth", "samples/lab/http1/truth.json"]);
            }
            "report" => {
                cmd.args(["--out", "target/never-written-exhibit"]);
            }
            _ => {}
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(stderr.contains("missing-"), "{command}: {stderr}");
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
            "{command} printed raw control characters: {stderr:?}"
        );
    }
}
