//! `manifest.json`: what made the bundle, and the hash of every file in it.

use crate::{BundleInput, enum_name};
use pixelscope_model::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::path::Path;

/// The schema name written into every manifest.
pub const MANIFEST_SCHEMA: &str = "pixelscope.manifest/1";

/// The record of one run: enough to say which program, built from which
/// source, read which files (by hash) and wrote which files (by hash).
/// The manifest does not hash itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub tool: ToolInfo,
    pub case: Option<String>,
    pub title: Option<String>,
    /// argv exactly as given, program name first.
    pub command_line: Vec<String>,
    /// Start and end of the run, UTC (both `SOURCE_DATE_EPOCH` when set).
    pub started: Timestamp,
    pub finished: Timestamp,
    /// Every decoder that ran, with its version.
    pub decoders: Vec<DecoderVersion>,
    pub inputs: Vec<FileRecord>,
    /// Paths relative to the bundle folder.
    pub outputs: Vec<FileRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
    pub git_commit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecoderVersion {
    pub id: String,
    pub version: String,
}

/// One hashed file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// For inputs: `har`, `pcap`, `pcapng`, or null when unrecognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl Manifest {
    pub(crate) fn new(
        input: &BundleInput,
        started: Timestamp,
        finished: Timestamp,
        outputs: Vec<FileRecord>,
    ) -> Manifest {
        Manifest {
            schema: MANIFEST_SCHEMA.to_owned(),
            tool: ToolInfo {
                name: "pixelscope".to_owned(),
                version: input.tool_version.clone(),
                git_commit: input.git_commit.clone(),
            },
            case: input.case.clone(),
            title: input.title.clone(),
            command_line: input.command_line.clone(),
            started,
            finished,
            decoders: input
                .decoders
                .iter()
                .map(|d| DecoderVersion {
                    id: d.id.clone(),
                    version: d.version.clone(),
                })
                .collect(),
            inputs: input
                .inputs
                .iter()
                .map(|i| FileRecord {
                    path: i.path.clone(),
                    size: i.size,
                    sha256: i.sha256.clone(),
                    format: Some(
                        i.format
                            .as_ref()
                            .map(enum_name)
                            .unwrap_or_else(|| "unknown".to_owned()),
                    ),
                })
                .collect(),
            outputs,
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(&d) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(d));
            }
        }
    }
    out
}

/// Size and lower-case hex SHA-256 of the file at `path`, read in chunks so
/// that a multi-gigabyte capture is never held in memory.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut size: u64 = 0;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(buffer.get(..n).unwrap_or_default());
        size = size.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }
    Ok((size, hex(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_published_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
