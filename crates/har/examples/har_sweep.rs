//! Reads every file below the given paths with `HarReader` and prints one
//! line per file: entries read and skipped, diagnostics by code, or the
//! error. A panic is caught and reported as `PANIC`, so one run checks a
//! whole corpus for robustness:
//!
//! ```text
//! cargo run -p pixelscope-har --example har_sweep -- DIR_OR_FILE...
//! ```

use pixelscope_har::HarReader;
use pixelscope_model::{Collected, InputFormat, Origin};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn files_below(path: &Path, out: &mut Vec<PathBuf>) {
    match std::fs::read_dir(path) {
        Ok(dir) => {
            let mut children: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort();
            for child in children {
                files_below(&child, out);
            }
        }
        Err(_) => out.push(path.to_owned()),
    }
}

fn main() {
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        files_below(Path::new(&arg), &mut files);
    }
    let mut panics = 0;
    for file in &files {
        let name = file.display().to_string();
        let outcome = std::panic::catch_unwind(|| {
            let input = std::fs::File::open(file).map_err(|e| e.to_string())?;
            let mut sink = Collected::default();
            let reader = HarReader::new(Origin::file(name.clone(), None, InputFormat::Har));
            let summary = reader
                .read(std::io::BufReader::new(input), &mut sink)
                .map_err(|e| e.to_string())?;
            let mut codes: BTreeMap<String, usize> = BTreeMap::new();
            for d in &sink.diagnostics {
                *codes.entry(d.code.clone()).or_default() += 1;
            }
            let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c}×{n}")).collect();
            Ok::<String, String>(format!(
                "{} entries, {} skipped, version {:?}, creator {:?}; {}",
                summary.entries_read,
                summary.entries_invalid,
                summary.version.unwrap_or_default(),
                summary.creator.and_then(|c| c.name).unwrap_or_default(),
                if codes.is_empty() {
                    "no diagnostics".to_owned()
                } else {
                    codes.join(" ")
                }
            ))
        });
        match outcome {
            Ok(Ok(line)) => println!("{name}: {line}"),
            Ok(Err(error)) => println!("{name}: ERROR {error}"),
            Err(_) => {
                panics += 1;
                println!("{name}: PANIC");
            }
        }
    }
    println!("{} files, {panics} panics", files.len());
}
