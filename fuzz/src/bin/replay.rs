//! The stable harness: runs the fuzz targets without libFuzzer.
//!
//! ```text
//! replay seed SAMPLES_DIR CORPUS_DIR       write seed corpora (fuzz/seed.sh)
//! replay run TARGET FILE_OR_DIR...         run each input once (reproduce a crash)
//! replay fuzz TARGET SECONDS CORPUS_DIR... mutate corpus inputs for SECONDS
//! ```
//!
//! `fuzz` prints executions and the inputs that panicked (saved under
//! `fuzz/artifacts/TARGET/replay-crash-N`); it exits 1 when any did.

use pixelscope_fuzz::mutate::{Rng, mutate};
use pixelscope_fuzz::{TARGETS, seed, target};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn usage() -> ExitCode {
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    eprintln!(
        "usage: replay seed SAMPLES CORPUS | replay run TARGET PATH... | replay fuzz TARGET SECONDS CORPUS...\ntargets: {}",
        names.join(", ")
    );
    ExitCode::from(2)
}

fn inputs(paths: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        let path = Path::new(p);
        if path.is_dir() {
            out.extend(seed::files(path));
        } else {
            out.push(path.to_path_buf());
        }
    }
    out
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("seed") => {
            let (Some(samples), Some(out)) = (args.get(1), args.get(2)) else {
                return usage();
            };
            for (target, n) in seed::write_all(Path::new(samples), Path::new(out)) {
                println!("{target}: {n} seeds");
            }
            ExitCode::SUCCESS
        }
        Some("run") => {
            let Some(run) = args.get(1).and_then(|t| target(t)) else {
                return usage();
            };
            for path in inputs(args.get(2..).unwrap_or_default()) {
                let Ok(bytes) = std::fs::read(&path) else {
                    eprintln!("cannot read {}", path.display());
                    continue;
                };
                let started = Instant::now();
                run(&bytes);
                println!("{}: ok in {:?}", path.display(), started.elapsed());
            }
            ExitCode::SUCCESS
        }
        Some("fuzz") => {
            let name = args.get(1).cloned().unwrap_or_default();
            let Some(run) = target(&name) else {
                return usage();
            };
            let Some(seconds) = args.get(2).and_then(|s| s.parse::<u64>().ok()) else {
                return usage();
            };
            let mut corpus: Vec<Vec<u8>> = inputs(args.get(3..).unwrap_or_default())
                .iter()
                .filter_map(|p| std::fs::read(p).ok())
                .collect();
            if corpus.is_empty() {
                corpus.push(Vec::new());
            }
            let max_len = corpus.iter().map(Vec::len).max().unwrap_or(0).max(4096);
            let crashes = fuzz(&name, run, &corpus, Duration::from_secs(seconds), max_len);
            if crashes > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => usage(),
    }
}

/// Runs every seed once, then mutated seeds until `budget` is spent.
fn fuzz(name: &str, run: fn(&[u8]), corpus: &[Vec<u8>], budget: Duration, max_len: usize) -> u64 {
    let started = Instant::now();
    let mut rng = Rng::new(
        0x9e37_79b9_7f4a_7c15 ^ started.elapsed().as_nanos() as u64 ^ u64::from(std::process::id()),
    );
    let mut execs = 0u64;
    let mut crashes = 0u64;
    let mut slowest = Duration::ZERO;
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("artifacts")
        .join(name);
    // Panics are caught and the input kept; the default hook stays quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let mut last_report = Instant::now();
    let mut i = 0usize;
    while started.elapsed() < budget {
        let mut input = corpus.get(i % corpus.len()).cloned().unwrap_or_default();
        if i >= corpus.len() {
            let other = corpus
                .get(rng.below(corpus.len()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            mutate(&mut input, other, &mut rng, max_len);
        }
        i += 1;
        let t = Instant::now();
        let outcome = std::panic::catch_unwind(|| run(&input));
        let took = t.elapsed();
        slowest = slowest.max(took);
        execs += 1;
        if outcome.is_err() || took > Duration::from_secs(10) {
            crashes += 1;
            let _ = std::fs::create_dir_all(&artifacts);
            let kind = if outcome.is_err() { "crash" } else { "slow" };
            let path = artifacts.join(format!("replay-{kind}-{crashes}"));
            let _ = std::fs::write(&path, &input);
            eprintln!("{name}: {kind}, input saved to {}", path.display());
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            eprintln!(
                "{name}: {execs} execs, {crashes} crashes, {:?}",
                started.elapsed()
            );
        }
    }
    println!(
        "{name}: {execs} execs in {:.0} s, {crashes} crashes, slowest input {:?}, {} seeds",
        started.elapsed().as_secs_f64(),
        slowest,
        corpus.len()
    );
    crashes
}
