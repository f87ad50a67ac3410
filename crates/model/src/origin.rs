//! Where a finding sits in the original bytes.

use serde::{Deserialize, Serialize};

/// The kind of input file, sniffed from its bytes.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    #[default]
    Har,
    Pcap,
    Pcapng,
}

/// Enough to find the bytes again: the input file and its hash, and the HAR
/// entry index or the capture's frame numbers and stream ids.
///
/// Every key is always serialised (`null` when not applicable) so the record
/// has one shape whatever the input.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The input path as given on the command line (or found below a folder).
    pub file: String,
    /// SHA-256 of the whole input file, lower-case hex.
    pub sha256: Option<String>,
    pub format: InputFormat,
    /// 0-based index into `/log/entries` of a HAR.
    pub entry: Option<u64>,
    /// 1-based frame numbers (as Wireshark counts) that carried the request
    /// and its response.
    pub frames: Option<Vec<u64>>,
    /// TCP stream id, 0-based in order of first appearance (as Wireshark's
    /// `tcp.stream`).
    pub stream: Option<u64>,
    /// HTTP/2 stream id.
    pub h2_stream: Option<u32>,
    /// QUIC stream id of an HTTP/3 request (its connection is known from
    /// the frames; `stream` stays null, it names TCP streams only).
    pub quic_stream: Option<u64>,
    /// TLS version of the connection (`1.2`, `1.3`) when it was decrypted.
    pub tls: Option<String>,
}

impl Origin {
    /// An origin naming only the file: the template producers fill in.
    pub fn file(file: impl Into<String>, sha256: Option<String>, format: InputFormat) -> Origin {
        Origin {
            file: file.into(),
            sha256,
            format,
            ..Origin::default()
        }
    }
}
