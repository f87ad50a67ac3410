//! Throughput and peak memory of `HarReader` on a large HAR.
//!
//! Builds a ~150 MB HAR in a temporary directory by repeating the entries of
//! the lab capture `samples/lab/h2/site.har` (real Chromium traffic with
//! tracker beacons, base64 and text bodies), reads it through `HarReader`
//! with a sink that only counts, and prints MB/s and the process's peak RSS
//! (VmHWM). Run with `cargo bench -p pixelscope-har`; set
//! `HAR_BENCH_MB` to change the size, or `HAR_BENCH_FILE` to read an
//! existing HAR instead.

use pixelscope_har::HarReader;
use pixelscope_model::{Diagnostic, Exchange, ExchangeSink, InputFormat, Origin};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

#[derive(Default)]
struct Counting {
    exchanges: u64,
    body_bytes: u64,
    diagnostics: u64,
}

impl ExchangeSink for Counting {
    fn exchange(&mut self, exchange: Exchange) {
        self.exchanges += 1;
        self.body_bytes += exchange.request.body.map_or(0, |b| b.data.len() as u64);
        self.body_bytes += exchange
            .response
            .and_then(|r| r.body)
            .map_or(0, |b| b.data.len() as u64);
    }
    fn diagnostic(&mut self, _: Diagnostic) {
        self.diagnostics += 1;
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time this thread has run, in seconds (excludes time spent waiting
/// for a core on a busy machine).
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}

fn build(source: &Path, target: &Path, megabytes: u64) -> std::io::Result<u64> {
    let har: serde_json::Value = serde_json::from_slice(&std::fs::read(source)?)?;
    let null = serde_json::Value::Null;
    let log = har.get("log").unwrap_or(&null);
    let member = |key: &str| log.get(key).unwrap_or(&null);
    let entries: Vec<String> = member("entries")
        .as_array()
        .map(|e| e.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default();
    if entries.is_empty() {
        return Err(std::io::Error::other("the lab HAR has no entries"));
    }
    let mut out = BufWriter::new(File::create(target)?);
    let head = format!(
        "{{\"log\":{{\"version\":{},\"creator\":{},\"browser\":{},\"pages\":{},\"entries\":[",
        member("version"),
        member("creator"),
        member("browser"),
        member("pages")
    );
    out.write_all(head.as_bytes())?;
    let mut written = head.len() as u64;
    let target_bytes = megabytes << 20;
    let mut first = true;
    'fill: loop {
        for entry in &entries {
            if !first {
                out.write_all(b",")?;
                written += 1;
            }
            first = false;
            out.write_all(entry.as_bytes())?;
            written += entry.len() as u64;
            if written >= target_bytes {
                break 'fill;
            }
        }
    }
    out.write_all(b"]}}")?;
    out.flush()?;
    Ok(written + 3)
}

fn main() -> std::io::Result<()> {
    // `cargo bench` passes `--bench`; a test run (`cargo test --benches`)
    // does not, and then a tiny file is enough to prove the bench works.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let megabytes = std::env::var("HAR_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benchmarking { 150 } else { 2 });
    let dir = tempfile::tempdir()?;
    let (path, size) = match std::env::var_os("HAR_BENCH_FILE") {
        // Any HAR the user points at, read as it is.
        Some(file) => {
            let path = std::path::PathBuf::from(file);
            let size = std::fs::metadata(&path)?.len();
            (path, size)
        }
        None => {
            let source =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/lab/h2/site.har");
            let path = dir.path().join("big.har");
            let size = build(&source, &path, megabytes)?;
            (path, size)
        }
    };
    let rss_before = peak_rss_kib();

    let reader = HarReader::new(Origin::file("big.har", None, InputFormat::Har));
    let mut sink = Counting::default();
    let cpu_started = thread_cpu_seconds();
    let started = Instant::now();
    let summary = reader
        .read(
            BufReader::with_capacity(1 << 16, File::open(&path)?),
            &mut sink,
        )
        .map_err(std::io::Error::other)?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = thread_cpu_seconds()
        .zip(cpu_started)
        .map(|(end, start)| end - start);

    let mb = size as f64 / 1e6;
    println!(
        "har throughput: {mb:.1} MB, {} entries, {} body bytes, {} diagnostics",
        summary.entries_read, sink.body_bytes, sink.diagnostics
    );
    println!("  wall: {seconds:.3} s = {:.0} MB/s", mb / seconds);
    if let Some(cpu) = cpu_seconds {
        println!("  on-CPU: {cpu:.3} s = {:.0} MB/s per core", mb / cpu);
    }
    println!(
        "  peak RSS (VmHWM): {} KiB before reading, {} KiB after",
        rss_before.unwrap_or(0),
        peak_rss_kib().unwrap_or(0)
    );
    assert_eq!(summary.entries_read, sink.exchanges);
    Ok(())
}
