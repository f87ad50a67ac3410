//! Runs every capture below `$PIXELSCOPE_CAPTURE_CORPUS` through the reader
//! and prints one line per file. Skipped when the variable is unset: the
//! corpus is not part of the repository. The test fails on a panic or a
//! breach of the stream contract.

// Test helpers outside #[test] functions may fail loudly, like the tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use pixelscope_capture::CaptureReader;
use pixelscope_capture::testing::CollectingSink;
use pixelscope_model::{InputFormat, Origin};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_corpus_file_reads_without_panic_or_contract_breach() {
    let Ok(root) = std::env::var("PIXELSCOPE_CAPTURE_CORPUS") else {
        eprintln!("PIXELSCOPE_CAPTURE_CORPUS not set: skipped");
        return;
    };
    let mut all = Vec::new();
    for dir in root.split(':') {
        files(Path::new(dir), &mut all);
    }
    let mut breaches = 0;
    for path in all {
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        let reader = CaptureReader::new(Origin::file(
            path.display().to_string(),
            None,
            InputFormat::Pcap,
        ));
        let mut sink = CollectingSink::default();
        match reader.read(std::io::BufReader::new(file), &mut sink) {
            Ok(s) => {
                let mut codes: Vec<&str> =
                    sink.diagnostics.iter().map(|d| d.code.as_str()).collect();
                codes.sort_unstable();
                codes.dedup();
                println!(
                    "{}: packets={} streams={} gaps={} datagrams={} contacts={} dsb={} links={:?} diags={} {:?}",
                    path.display(),
                    s.packets,
                    s.tcp_streams,
                    s.gaps,
                    s.datagrams,
                    s.contacts,
                    s.secrets_blocks,
                    s.link_types,
                    sink.diagnostics.len(),
                    codes
                );
            }
            Err(e) => println!("{}: error: {e}", path.display()),
        }
        for b in &sink.contract_breaches {
            println!("  BREACH {b}");
        }
        breaches += sink.contract_breaches.len();
    }
    assert_eq!(breaches, 0);
}
