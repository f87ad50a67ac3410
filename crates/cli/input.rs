//! Finding input files, fingerprinting them and recognising their format.

use pixelscope_model::InputFormat;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// One input file, in the order it will be reported.
#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
    /// True when the file was named on the command line (not found in a
    /// folder): an unrecognised format is then an error, not a skip.
    pub explicit: bool,
}

/// Expands folders (recursively, in byte order of the path, so the order is
/// the same on every machine) and keeps files in command-line order.
pub fn expand(paths: &[PathBuf]) -> io::Result<Vec<Input>> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            out.extend(found.into_iter().map(|path| Input {
                path,
                explicit: false,
            }));
        } else {
            out.push(Input {
                path: path.clone(),
                explicit: true,
            });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Recognises a HAR (JSON object, optional BOM) or a pcap/pcapng capture
/// from the first bytes of a file.
pub fn sniff(prefix: &[u8]) -> Option<InputFormat> {
    match prefix.get(..4) {
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => return Some(InputFormat::Pcapng),
        Some(
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d],
        ) => {
            return Some(InputFormat::Pcap);
        }
        _ => {}
    }
    let text = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
    let first = text.iter().find(|b| !b.is_ascii_whitespace())?;
    (*first == b'{').then_some(InputFormat::Har)
}

/// Files up to this size are kept in memory while they are hashed and then
/// parsed from there, so they are read once (a corpus is mostly small
/// files). It is also the size of the buffer larger files are hashed through,
/// so keeping a small file costs no more memory than hashing a large one.
pub const WHOLE_FILE_BYTES: usize = 1 << 20;

/// A file's fingerprint, taken before it is parsed.
pub struct Hashed {
    pub size: u64,
    /// SHA-256 of the whole file, lower-case hex.
    pub sha256: String,
    /// The whole file, when it is at most [`WHOLE_FILE_BYTES`]; `None` for a
    /// larger file, which is read again from the start for parsing.
    pub contents: Option<Vec<u8>>,
}

/// Size and SHA-256 of a file of which `head` (the bytes already read for
/// [`sniff`]) came first and `file` holds the rest from its current position.
pub fn hash_rest(file: &mut File, mut head: Vec<u8>) -> io::Result<Hashed> {
    let room = WHOLE_FILE_BYTES.saturating_sub(head.len()) as u64;
    // One byte more than fits tells a small file from a large one.
    (&mut *file).take(room + 1).read_to_end(&mut head)?;
    let mut hasher = Sha256::new();
    hasher.update(&head);
    let mut size = head.len() as u64;
    if head.len() <= WHOLE_FILE_BYTES {
        return Ok(Hashed {
            size,
            sha256: hex(&hasher.finalize()),
            contents: Some(head),
        });
    }
    // A large file streams through the same allocation, reused as a buffer.
    let mut buffer = head;
    buffer.resize(WHOLE_FILE_BYTES, 0);
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        size += n as u64;
        hasher.update(buffer.get(..n).unwrap_or_default());
    }
    Ok(Hashed {
        size,
        sha256: hex(&hasher.finalize()),
        contents: None,
    })
}

/// How many first bytes of a file [`sniff`] needs.
pub const PREFIX_BYTES: u64 = 64;

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first [`PREFIX_BYTES`] bytes of `file` (fewer if it is shorter), for
/// [`sniff`].
pub fn read_prefix(file: &mut File) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(PREFIX_BYTES as usize);
    (&mut *file).take(PREFIX_BYTES).read_to_end(&mut prefix)?;
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats_from_bytes() {
        assert_eq!(sniff(b"\xef\xbb\xbf  {\"log\""), Some(InputFormat::Har));
        assert_eq!(
            sniff(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0]),
            Some(InputFormat::Pcapng)
        );
        assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1]), Some(InputFormat::Pcap));
        assert_eq!(sniff(&[0xa1, 0xb2, 0x3c, 0x4d]), Some(InputFormat::Pcap));
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(sniff(b""), None);
    }
}
