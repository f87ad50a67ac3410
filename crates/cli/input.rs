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

/// Size and SHA-256 (lower-case hex) of a whole file. Inputs are opened
/// read-only.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(buffer.get(..n).unwrap_or_default());
    }
    Ok((size, hex(&hasher.finalize())))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first bytes of a file, for [`sniff`].
pub fn read_prefix(path: &Path) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(64);
    File::open(path)?.take(64).read_to_end(&mut prefix)?;
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
