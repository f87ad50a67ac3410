//! Per-file, per-tracker record counts over the third-party corpus of real
//! HARs and captures (about 35 MB, too large to bundle in `samples/`).
//!
//! The corpus folder is named by `PIXELSCOPE_CORPUS` (CI points it at its
//! copy; see `.ci/run`). Without it the test says so and checks nothing.
//! The counts are pinned in a reviewed snapshot: a tracker that is visibly
//! in a file but counted 0 is a bug, and so is a count that changes
//! without a reason.

use crate::util::pixelscope;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[test]
fn corpus_records_per_file_and_tracker() {
    let Some(dir) = std::env::var_os("PIXELSCOPE_CORPUS").map(PathBuf::from) else {
        eprintln!(
            "corpus_records_per_file_and_tracker: PIXELSCOPE_CORPUS is not set; nothing checked"
        );
        return;
    };
    let mut folders = Vec::new();
    for sub in ["har", "pcap", "tls"] {
        let path = dir.join(sub);
        assert!(path.is_dir(), "{} is not a folder", path.display());
        folders.push(path);
    }
    let out = pixelscope()
        .args(["scan", "--format", "jsonl", "--quiet", "-j", "2"])
        .args(&folders)
        .output()
        .expect("run pixelscope");
    // Exit 1 is expected: the corpus holds files that are not HARs at all.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{:?}", out.status);
    let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let record: Value = serde_json::from_str(line).expect("JSON record");
        let file = record["origin"]["file"].as_str().unwrap_or_default();
        let file = PathBuf::from(file);
        let name = file
            .strip_prefix(&dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        let key = format!(
            "{} {}",
            record["tracker"].as_str().unwrap_or("?"),
            record["kind"].as_str().unwrap_or("?")
        );
        *counts.entry(name).or_default().entry(key).or_default() += 1;
    }
    insta::assert_yaml_snapshot!("corpus_counts", counts);
}
