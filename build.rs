//! Build script of the `pixelscope` binary: records the git commit the
//! binary is built from, for exhibit manifests (`tool.git_commit`).
//!
//! The commit is passed to the compiler as `PIXELSCOPE_GIT_COMMIT`. Outside
//! a git checkout (a crates.io download, a tarball) or without `git`, the
//! variable is simply not set and the manifest says `null`: the build never
//! fails for want of version control.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PIXELSCOPE_GIT_COMMIT");
    // A packager may set the commit explicitly (a build from a tarball).
    if let Ok(given) = std::env::var("PIXELSCOPE_GIT_COMMIT") {
        if is_commit(given.trim()) {
            println!("cargo:rustc-env=PIXELSCOPE_GIT_COMMIT={}", given.trim());
        }
        return;
    }
    let Some(commit) = git(&["rev-parse", "HEAD"]) else {
        return;
    };
    if !is_commit(&commit) {
        return;
    }
    println!("cargo:rustc-env=PIXELSCOPE_GIT_COMMIT={commit}");
    // Run again when HEAD moves: HEAD itself (branch switch, detached
    // checkout), the branch's ref file, and packed refs.
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        let git_dir = PathBuf::from(git_dir);
        watch(&git_dir.join("HEAD"));
        watch(&git_dir.join("packed-refs"));
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&git_dir.join(reference));
        }
    }
}

/// Output of `git ARGS` run in the package folder, trimmed; `None` on any
/// failure.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git")
        .args(args)
        .current_dir(&dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let path = Path::new(text);
    // `--git-dir` may answer relative to the package folder.
    if args.contains(&"--git-dir") && path.is_relative() {
        return Some(Path::new(&dir).join(path).display().to_string());
    }
    Some(text.to_owned())
}

/// A full hexadecimal object name (SHA-1 or SHA-256 repositories).
fn is_commit(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
