//! `pixelscope verify`: is this bundle still what the tool wrote?
//!
//! Every hash in `manifest.json` is recomputed: the outputs in the bundle
//! folder, and the inputs either at the path the manifest recorded or at a
//! path the user gives (matched by file name, since evidence is often copied
//! to another machine). The report names each file and says in words
//! whether it is unchanged, changed or missing.

use crate::MANIFEST_FILE;
use crate::manifest::{FileRecord, Manifest, sha256_file};
use pixelscope_report::escape::terminal;
use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Whether a file is one the tool wrote or one it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileRole {
    Output,
    Input,
}

/// The outcome for one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Same size and SHA-256 as recorded.
    Unchanged,
    /// The file is there but its contents differ.
    Changed {
        recorded_sha256: String,
        actual_sha256: String,
        recorded_size: u64,
        actual_size: u64,
    },
    /// No file at the place looked at.
    Missing,
    /// The file is there but could not be read.
    Unreadable(String),
    /// The manifest names an output outside the bundle folder; it was not
    /// read (a manifest is not trusted to point anywhere).
    InvalidName,
}

/// One file of the manifest and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileCheck {
    pub role: FileRole,
    /// The path as the manifest records it.
    pub recorded_path: String,
    /// Where the file was looked for.
    pub checked_path: PathBuf,
    pub recorded_sha256: String,
    pub status: FileStatus,
}

/// The result of checking a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub dir: PathBuf,
    /// SHA-256 of `manifest.json` itself, which no hash inside it can cover:
    /// compare it with the value noted when the bundle was handed over.
    pub manifest_sha256: String,
    pub manifest: Manifest,
    pub files: Vec<FileCheck>,
    /// Paths given with `--inputs` whose file name the manifest does not list.
    pub unknown_inputs: Vec<PathBuf>,
    /// Files in the bundle folder that the manifest does not list: not
    /// checked, and not part of the evidence.
    pub unlisted_files: Vec<String>,
}

impl VerifyReport {
    /// True when every file listed in the manifest is present and unchanged
    /// and every file given with `--inputs` belongs to the bundle.
    pub fn is_ok(&self) -> bool {
        self.unknown_inputs.is_empty()
            && self.files.iter().all(|f| f.status == FileStatus::Unchanged)
    }

    /// The files that failed, for messages and tests.
    pub fn failures(&self) -> Vec<&FileCheck> {
        self.files
            .iter()
            .filter(|f| f.status != FileStatus::Unchanged)
            .collect()
    }
}

/// Checks the bundle in `dir`. `inputs` are optional new locations of the
/// input files, matched to the manifest by file name; inputs not given are
/// looked for at their recorded paths.
///
/// `Err` only when the manifest itself cannot be read or parsed.
pub fn verify(dir: &Path, inputs: &[PathBuf]) -> io::Result<VerifyReport> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&manifest_path)?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is not a pixelscope manifest: {e}",
                manifest_path.display()
            ),
        )
    })?;
    let manifest_sha256 = crate::manifest::sha256_hex(&bytes);

    let mut files = Vec::new();
    for out in &manifest.outputs {
        let status_path = dir.join(&out.path);
        let status = if is_plain_name(&out.path) {
            check(out, &status_path)
        } else {
            FileStatus::InvalidName
        };
        files.push(FileCheck {
            role: FileRole::Output,
            recorded_path: out.path.clone(),
            checked_path: status_path,
            recorded_sha256: out.sha256.clone(),
            status,
        });
    }

    let mut used = BTreeSet::new();
    for input in &manifest.inputs {
        let name = file_name(&input.path);
        let candidates: Vec<(usize, &PathBuf)> = inputs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.file_name().and_then(|n| n.to_str()) == Some(name))
            .collect();
        let (checked_path, status) = if candidates.is_empty() {
            let path = PathBuf::from(&input.path);
            let status = check(input, &path);
            (path, status)
        } else {
            // Several inputs can share a name (site.har from two folders):
            // the one with the recorded hash is the match; otherwise the
            // first candidate is reported as changed.
            let checked: Vec<(usize, &PathBuf, FileStatus)> = candidates
                .iter()
                .map(|&(i, p)| (i, p, check(input, p)))
                .collect();
            let pick = checked
                .iter()
                .find(|(_, _, s)| *s == FileStatus::Unchanged)
                .or_else(|| checked.first())
                .map(|(i, p, s)| (*i, (*p).clone(), s.clone()));
            match pick {
                Some((i, p, s)) => {
                    used.insert(i);
                    (p, s)
                }
                None => (PathBuf::from(&input.path), FileStatus::Missing),
            }
        };
        files.push(FileCheck {
            role: FileRole::Input,
            recorded_path: input.path.clone(),
            checked_path,
            recorded_sha256: input.sha256.clone(),
            status,
        });
    }
    let listed_names: BTreeSet<&str> = manifest.inputs.iter().map(|i| file_name(&i.path)).collect();
    let unknown_inputs = inputs
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            !used.contains(i)
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| listed_names.contains(n))
        })
        .map(|(_, p)| p.clone())
        .collect();

    let listed_outputs: BTreeSet<&str> = manifest.outputs.iter().map(|o| o.path.as_str()).collect();
    let mut unlisted_files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name != MANIFEST_FILE && !listed_outputs.contains(name.as_str()) {
            unlisted_files.push(name);
        }
    }
    unlisted_files.sort();

    Ok(VerifyReport {
        dir: dir.to_path_buf(),
        manifest_sha256,
        manifest,
        files,
        unknown_inputs,
        unlisted_files,
    })
}

/// The last path component, whichever separator the recording system used.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// A bundle output is a bare file name: no folders, no `..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.contains('\0')
}

fn check(record: &FileRecord, path: &Path) -> FileStatus {
    match sha256_file(path) {
        Ok((size, sha256))
            if sha256 == record.sha256.to_ascii_lowercase() && size == record.size =>
        {
            FileStatus::Unchanged
        }
        Ok((size, sha256)) => FileStatus::Changed {
            recorded_sha256: record.sha256.clone(),
            actual_sha256: sha256,
            recorded_size: record.size,
            actual_size: size,
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => FileStatus::Missing,
        Err(e) => FileStatus::Unreadable(e.to_string()),
    }
}

fn shown(path: &Path) -> String {
    terminal(&path.display().to_string())
}

impl fmt::Display for VerifyReport {
    /// Written for a reader who is not a programmer: one line per file
    /// saying what was found, then a verdict.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.manifest;
        writeln!(f, "Checking the evidence bundle in {}", shown(&self.dir))?;
        writeln!(
            f,
            "It was made by {} {}{} between {} and {} (UTC).",
            terminal(&m.tool.name),
            terminal(&m.tool.version),
            m.tool
                .git_commit
                .as_deref()
                .map(|c| format!(" (source commit {})", terminal(c)))
                .unwrap_or_default(),
            m.started,
            m.finished
        )?;
        writeln!(
            f,
            "The list of fingerprints (manifest.json) has SHA-256 {}; compare it with the value noted when the bundle was handed over, as the list cannot vouch for itself.",
            self.manifest_sha256
        )?;
        for (role, heading) in [
            (FileRole::Output, "Files the tool wrote:"),
            (FileRole::Input, "Original files the tool read:"),
        ] {
            writeln!(f)?;
            writeln!(f, "{heading}")?;
            for c in self.files.iter().filter(|c| c.role == role) {
                let name = terminal(&c.recorded_path);
                let place =
                    if role == FileRole::Input && c.checked_path != Path::new(&c.recorded_path) {
                        format!(" (checked at {})", shown(&c.checked_path))
                    } else {
                        String::new()
                    };
                match &c.status {
                    FileStatus::Unchanged => writeln!(
                        f,
                        "  UNCHANGED  {name}{place}: identical to when the bundle was made"
                    )?,
                    FileStatus::Changed {
                        recorded_sha256,
                        actual_sha256,
                        recorded_size,
                        actual_size,
                    } => {
                        writeln!(
                            f,
                            "  CHANGED    {name}{place}: its contents are not what they were when the bundle was made"
                        )?;
                        writeln!(
                            f,
                            "             recorded SHA-256 {recorded_sha256}, {recorded_size} bytes"
                        )?;
                        writeln!(
                            f,
                            "             found    SHA-256 {actual_sha256}, {actual_size} bytes"
                        )?;
                    }
                    FileStatus::Missing => {
                        writeln!(f, "  MISSING    {name}{place}: there is no file there")?;
                        if role == FileRole::Input {
                            writeln!(
                                f,
                                "             (if it was moved, give its new place with --inputs)"
                            )?;
                        }
                    }
                    FileStatus::Unreadable(why) => writeln!(
                        f,
                        "  UNREADABLE {name}{place}: the file could not be read ({})",
                        terminal(why)
                    )?,
                    FileStatus::InvalidName => writeln!(
                        f,
                        "  REFUSED    {name}: the list names a file outside the bundle folder, which a genuine bundle never does"
                    )?,
                }
            }
        }
        if !self.unknown_inputs.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "Files given with --inputs that are not part of this bundle:"
            )?;
            for p in &self.unknown_inputs {
                writeln!(f, "  NOT LISTED {}", shown(p))?;
            }
        }
        if !self.unlisted_files.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "Other files in the bundle folder (not part of the evidence, not checked):"
            )?;
            for name in &self.unlisted_files {
                writeln!(f, "  {}", terminal(name))?;
            }
        }
        writeln!(f)?;
        let failures = self.failures();
        if self.is_ok() {
            writeln!(
                f,
                "RESULT: VERIFIED. All {} files are byte for byte what they were when the bundle was made.",
                self.files.len()
            )
        } else {
            let names: Vec<String> = failures
                .iter()
                .map(|c| terminal(&c.recorded_path))
                .collect();
            let mut reasons = Vec::new();
            if !names.is_empty() {
                reasons.push(format!(
                    "{} of {} files do not match: {}",
                    names.len(),
                    self.files.len(),
                    names.join(", ")
                ));
            }
            if !self.unknown_inputs.is_empty() {
                reasons.push(format!(
                    "{} file(s) given are not part of the bundle",
                    self.unknown_inputs.len()
                ));
            }
            writeln!(f, "RESULT: NOT VERIFIED. {}.", reasons.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_cannot_leave_the_bundle() {
        assert!(is_plain_name("events.csv"));
        assert!(!is_plain_name("../secret"));
        assert!(!is_plain_name("/etc/passwd"));
        assert!(!is_plain_name("a\\b"));
        assert!(!is_plain_name(".."));
    }

    #[test]
    fn file_names_are_found_with_either_separator() {
        assert_eq!(file_name("samples/lab/h2/site.har"), "site.har");
        assert_eq!(file_name("C:\\cases\\site.har"), "site.har");
        assert_eq!(file_name("site.har"), "site.har");
    }
}
