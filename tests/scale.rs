//! Scanning many files: the output does not depend on the thread count or
//! the run, and one bad file is reported and skipped, never fatal.

use crate::util::{pixelscope, sample};
use std::collections::BTreeMap;
use std::path::Path;

fn scan_folder(threads: &str, folder: &Path) -> std::process::Output {
    pixelscope()
        .args(["scan", "--format", "jsonl", "--quiet", "-j", threads])
        .arg(folder)
        .output()
        .expect("run pixelscope")
}

#[test]
fn output_is_byte_identical_across_thread_counts_and_runs() {
    let samples = sample("");
    let one = scan_folder("1", &samples);
    let two = scan_folder("2", &samples);
    let again = scan_folder("2", &samples);
    assert!(
        one.stdout.len() > 100_000,
        "samples/ gives records ({} bytes)",
        one.stdout.len()
    );
    assert!(one.stdout == two.stdout, "-j1 and -j2 differ");
    assert!(two.stdout == again.stdout, "two runs with -j2 differ");
    // samples/bad holds files that cannot be read at all: same exit code
    // and the same complaints, in the same order, whatever the threads.
    assert_eq!(one.status.code(), two.status.code());
    assert_eq!(one.stderr, two.stderr);
}

#[test]
fn a_bad_file_in_a_folder_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let har = std::fs::read(sample("lab/http1/site.har")).unwrap();
    std::fs::write(d.join("a.har"), &har).unwrap();
    std::fs::copy(sample("lab/http1/capture.pcapng"), d.join("b.pcapng")).unwrap();
    // Cut inside an entry: the complete entries before the cut still count.
    std::fs::write(d.join("c-truncated.har"), &har[..har.len() / 4]).unwrap();
    // Neither a HAR nor a capture: skipped silently inside a folder.
    std::fs::write(d.join("d-notes.txt"), b"not evidence \x00\x01").unwrap();
    // Looks like a pcapng but its header is cut short: cannot be read.
    std::fs::write(d.join("e-broken.pcapng"), b"\x0a\x0d\x0d\x0a\x00\x00").unwrap();

    let out = pixelscope()
        .args(["scan", "--format", "jsonl", "--quiet"])
        .arg(d)
        .output()
        .unwrap();
    // Exit 1: an input could not be read; everything else was reported.
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("e-broken.pcapng"), "{stderr}");
    assert!(!stderr.contains("d-notes.txt"), "{stderr}");

    let mut per_file: BTreeMap<String, usize> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let file = record["origin"]["file"].as_str().unwrap();
        let name = Path::new(file).file_name().unwrap().to_string_lossy();
        *per_file.entry(name.into_owned()).or_default() += 1;
    }
    let whole = per_file.get("a.har").copied().unwrap_or(0);
    let cut = per_file.get("c-truncated.har").copied().unwrap_or(0);
    assert!(whole > 0 && per_file.get("b.pcapng").copied().unwrap_or(0) > 0);
    assert!(
        cut > 0 && cut < whole,
        "truncated HAR gave {cut} of {whole}"
    );
    assert_eq!(per_file.len(), 3, "{per_file:?}");

    // The same folder through `matrix`: the same policy.
    let out = pixelscope().arg("matrix").arg(d).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("capturelab.test"));
}

#[test]
fn a_garbage_file_named_on_the_command_line_is_an_error_not_a_skip() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, b"not evidence").unwrap();
    let out = pixelscope()
        .args(["scan", "--format", "jsonl", "--quiet"])
        .arg(sample("lab/http1/site.har"))
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.txt"));
    assert!(!out.stdout.is_empty(), "the good file is still reported");
}

/// `--format parquet` (cargo feature `parquet`): every record comes back
/// from the file with the same values as in JSON Lines.
#[cfg(feature = "parquet")]
#[test]
fn parquet_records_read_back_like_json_lines() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.parquet");
    let input = sample("lab/h2/site.har");
    let out = pixelscope()
        .args(["scan", "--format", "parquet", "--quiet", "-o"])
        .arg(&file)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (records, _) = crate::util::scan_jsonl(&["--quiet", input.to_str().unwrap()]);

    let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
    let rows: Vec<parquet::record::Row> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows.len(), records.len());
    for (row, record) in rows.iter().zip(&records) {
        let get = |name: &str| {
            row.get_column_iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, f)| f.clone())
                .unwrap()
        };
        let text = |name: &str| match get(name) {
            Field::Str(s) => serde_json::Value::String(s),
            Field::Null => serde_json::Value::Null,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(text("tracker"), record["tracker"]);
        assert_eq!(text("kind"), record["kind"]);
        assert_eq!(text("event"), record["event"]);
        assert_eq!(text("page_url"), record["page_url"]);
        assert_eq!(text("time"), record["time"]);
        assert_eq!(text("request_url"), record["request"]["url"]);
        for nested in ["fields", "identifiers", "flags", "origin"] {
            let json: serde_json::Value =
                serde_json::from_str(text(nested).as_str().unwrap()).unwrap();
            assert_eq!(json, record[nested], "{nested}");
        }
        match get("time_utc") {
            Field::TimestampMicros(_) => {}
            other => panic!("time_utc: {other:?}"),
        }
    }

    // The matrix as Parquet: one row per (site, tracker), counts as integers.
    let matrix_file = dir.path().join("matrix.parquet");
    let out = pixelscope()
        .args(["matrix", "--format", "parquet", "-o"])
        .arg(&matrix_file)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reader = SerializedFileReader::new(std::fs::File::open(&matrix_file).unwrap()).unwrap();
    let rows: Vec<parquet::record::Row> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows.len(), 9);
    let events: i64 = rows
        .iter()
        .map(|row| {
            match row
                .get_column_iter()
                .find(|(n, _)| n.as_str() == "events")
                .map(|(_, f)| f.clone())
            {
                Some(Field::Long(n)) => n,
                other => panic!("events: {other:?}"),
            }
        })
        .sum();
    let expected = records.iter().filter(|r| r["kind"] == "event").count();
    assert_eq!(events, i64::try_from(expected).unwrap());
}

#[test]
fn parquet_without_an_output_file_is_a_usage_error() {
    let out = pixelscope()
        .args(["scan", "--format", "parquet"])
        .arg(sample("lab/h2/site.har"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("parquet"));
}

/// One file read alone, `-j` threads: records, diagnostics and exit code.
fn scan_file(threads: &str, file: &Path, diagnostics: &Path) -> std::process::Child {
    pixelscope()
        .args(["scan", "--format", "jsonl", "-j", threads])
        .args(["--keylog", "samples/lab/h1tls/sslkeys.log"])
        .args(["--keylog", "samples/lab/h2/sslkeys.log"])
        .args(["--keylog", "samples/tls/tls_dsb.keys"])
        .args(["--identities", "samples/analyze/lab-identities.txt"])
        .arg("--diagnostics")
        .arg(diagnostics)
        .arg(file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run pixelscope")
}

/// A single input is read by one thread and decoded by several
/// (`split_file`): every sample, good or broken, must come out exactly as
/// one thread makes it — records, diagnostics, contacts and their order.
#[test]
fn one_file_decoded_on_several_threads_is_byte_identical_to_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (diag_one, diag_many) = (dir.path().join("1.jsonl"), dir.path().join("3.jsonl"));
    let mut files: Vec<_> = walk(&sample(""))
        .into_iter()
        .filter(|p| {
            let name = p.to_string_lossy();
            [".har", ".pcap", ".pcapng", ".cap"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        .collect();
    files.sort();
    assert!(files.len() > 40, "only {} sample inputs", files.len());
    let mut records = 0;
    for file in &files {
        // Both at once: the debug build is slow and there are many files.
        let (one, many) = (
            scan_file("1", file, &diag_one),
            scan_file("3", file, &diag_many),
        );
        let (one, many) = (
            one.wait_with_output().unwrap(),
            many.wait_with_output().unwrap(),
        );
        let name = file.display();
        assert!(one.stdout == many.stdout, "{name}: records differ");
        assert_eq!(one.stderr, many.stderr, "{name}: messages differ");
        assert_eq!(one.status.code(), many.status.code(), "{name}");
        assert!(
            std::fs::read(&diag_one).unwrap() == std::fs::read(&diag_many).unwrap(),
            "{name}: diagnostics differ"
        );
        records += one.stdout.iter().filter(|b| **b == b'\n').count();
    }
    assert!(records > 1000, "the samples gave only {records} records");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Many batches, handed to three decoding threads that finish out of order:
/// the lab HAR's entries repeated make 32 batches of 64, with page loads
/// throughout for page inference to carry from batch to batch.
#[test]
fn a_large_input_split_across_threads_keeps_every_record_in_order() {
    let lab: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample("lab/http1/site.har")).unwrap()).unwrap();
    let entries = lab["log"]["entries"].as_array().unwrap();
    let mut big = lab.clone();
    big["log"]["entries"] = serde_json::Value::Array(
        (0..20)
            .flat_map(|_| entries.iter().cloned())
            .collect::<Vec<_>>(),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("repeated.har");
    std::fs::write(&file, serde_json::to_vec(&big).unwrap()).unwrap();
    let (diag_one, diag_many) = (dir.path().join("1.jsonl"), dir.path().join("3.jsonl"));
    let one = scan_file("1", &file, &diag_one).wait_with_output().unwrap();
    let many = scan_file("3", &file, &diag_many)
        .wait_with_output()
        .unwrap();
    let records = one.stdout.iter().filter(|b| **b == b'\n').count();
    assert!(
        entries.len() * 20 > 64 * 30 && records > 1000,
        "{} entries, {records} records",
        entries.len() * 20
    );
    assert!(one.stdout == many.stdout, "records differ");
    assert_eq!(one.stderr, many.stderr);
    assert!(std::fs::read(&diag_one).unwrap() == std::fs::read(&diag_many).unwrap());
    // Page inference crossed batches: some records name a page they were
    // not sent with, found from an earlier page load.
    let text = String::from_utf8(one.stdout).unwrap();
    let inferred = text.matches(r#""page_url_from":"navigation""#).count();
    assert!(inferred >= 20 * 6, "{inferred} pages found from page loads");
}
