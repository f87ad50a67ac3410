//! Evidence handling: `pixelscope scan` never modifies its inputs (every
//! file under `samples/` hashes the same before and after a scan that uses
//! every option that reads a file), and the same inputs give byte-identical
//! records and diagnostics on every run, whatever the thread count.

use crate::util::{pixelscope, root};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Every file under `dir`, with its SHA-256, size and modification time.
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, (String, u64, Option<SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            let hash: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            out.insert(path, (hash, meta.len(), meta.modified().ok()));
        }
    }
    out
}

/// `scan` over all of `samples/` with every file-reading option: records,
/// diagnostics, key logs, identities, rules and a decoder catalog.
fn scan_everything(out: &Path, format: &str, threads: &str) -> std::process::Output {
    let records = out.join(format!("records.{format}"));
    let diagnostics = out.join("diagnostics.jsonl");
    pixelscope()
        .args(["scan", "samples", "--format", format, "-j", threads])
        .arg("--output")
        .arg(&records)
        .arg("--diagnostics")
        .arg(&diagnostics)
        .args([
            "--keylog",
            "samples/lab/h1tls/sslkeys.log",
            "--keylog",
            "samples/lab/h2/sslkeys.log",
            "--keylog",
            "samples/tls/tls_dsb.keys",
            "--identities",
            "samples/analyze/lab-identities.txt",
            "--identity",
            "email:jane.doe@example.org=subject-1",
            "--rules",
            "samples/analyze/order-confirmation.rules",
            "--decoders",
            "samples/decoders/user/acme-pixel.toml",
            "--default-country-code",
            "44",
            "--max-body-bytes",
            "16M",
            "--max-entry-bytes",
            "128M",
            "--max-flows",
            "65536",
            "--max-reassembly-bytes",
            "32M",
        ])
        .output()
        .unwrap()
}

#[test]
fn scanning_never_modifies_an_input() {
    let samples = root().join("samples");
    let before = fingerprint(&samples);
    assert!(before.len() > 100, "samples/ should hold many files");
    let dir = tempfile::tempdir().unwrap();
    // CSV here; the other test writes JSON Lines over the same inputs.
    let out = scan_everything(dir.path(), "csv", "2");
    assert!(
        out.status.code().is_some(),
        "scan crashed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = fingerprint(&samples);
    let changed: Vec<&PathBuf> = before
        .iter()
        .filter(|(path, print)| after.get(*path) != Some(print))
        .map(|(path, _)| path)
        .collect();
    assert!(changed.is_empty(), "inputs changed by a scan: {changed:?}");
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "a scan added or removed files under samples/"
    );
}

#[test]
fn the_same_inputs_give_byte_identical_records_and_diagnostics() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    // One run on one thread, one on four: the order of the output must not
    // depend on which file finished first.
    let a = scan_everything(first.path(), "jsonl", "1");
    let b = scan_everything(second.path(), "jsonl", "4");
    assert_eq!(a.status.code(), b.status.code());
    for name in ["records.jsonl", "diagnostics.jsonl"] {
        let x = std::fs::read(first.path().join(name)).unwrap();
        let y = std::fs::read(second.path().join(name)).unwrap();
        assert!(x.len() > 10_000, "{name} should not be nearly empty");
        assert!(x == y, "{name} differs between two runs");
    }
    assert_eq!(
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr),
        "standard error differs between two runs"
    );
}
