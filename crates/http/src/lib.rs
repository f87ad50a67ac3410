//! HTTP over reassembled byte streams: HTTP/1.x, HTTP/2 and HTTP/3 in,
//! exchanges out.
//!
//! The capture reader (or the TLS layer above it) pushes each connection's
//! two byte streams, chunk by chunk, into [`HttpLayer`], which is a
//! [`pixelscope_capture::StreamSink`]. For each connection the layer sniffs
//! the protocol, then:
//!
//! * HTTP/1.x: an `Http1Parser` per direction reads heads (with `httparse`,
//!   lenient settings) and frames bodies itself (Content-Length, chunked with
//!   trailers, read-until-close, no body for HEAD/204/304/1xx, 100-continue);
//!   the connection pairs responses with requests in order, so pipelining
//!   works;
//! * HTTP/2: an `H2Connection` reads frames per direction (HEADERS +
//!   CONTINUATION joined, DATA per stream, padding and priority removed),
//!   decodes header blocks with one [`hpack::HpackDecoder`] per direction
//!   (Huffman literals through a table-driven decoder), and pairs each stream's request with its response;
//! * HTTP/3: the QUIC streams a layer below decrypted
//!   (`StreamSink::quic_stream`) are read by an `H3Connection`: one request and its response per
//!   client-initiated bidirectional stream, SETTINGS from the control
//!   streams, and header blocks decoded by a QPACK decoder per side whose
//!   dynamic table follows that side's encoder stream (a block that needs
//!   inserts not read yet waits for them). Its exchanges are those of
//!   HTTP/2 with `http_version` `HTTP/3`, the QUIC stream id in
//!   `origin.quic_stream` and no TCP `stream`.
//!
//! Request bodies are undone from their `Content-Encoding` by the public
//! [`content`] module (gzip, deflate, br, zstd, stacked), every step bounded
//! by [`HttpLimits`]. Response bodies are not: nothing downstream reads them,
//! so a content-coded one keeps its bytes as sent (capped), marked
//! `Undecoded` ("response bodies are not content-decoded"). Each [`pixelscope_model::Exchange`] carries an origin with
//! the frames that made up its request and response, the TCP and HTTP/2
//! stream ids and the TLS version, so a finding can be traced to its bytes.
//!
//! Damage is reported, never papered over. After a capture gap the message
//! being read is marked damaged (bytes after the hole are not spliced onto
//! those before it) and HTTP/1 reading resumes at the next plausible start
//! line; in HTTP/2 a gap inside a frame of known length is skipped, a gap
//! that loses frame boundaries stops that direction, and a lost header block
//! makes the direction's HPACK state unknown: later header blocks are shown
//! only when they decode exactly without that state (`hpack.state-unknown`
//! otherwise). Codes: `http.unrecognised`, `http.gap`, `http.resync`,
//! `http.incomplete`, `http.malformed-head`, `http.too-many-headers`,
//! `http.head-too-large`, `http.chunk-invalid`, `http.content-length-invalid`,
//! `http.response-without-request`, `http.upgraded`, `h2.*`, `hpack.*`, `h3.*`,
//! `qpack.blocked`, `qpack.decode-failed`, `qpack.encoder-invalid`,
//! `body.too-large`, `body.decode-failed`.
//!
//! ```
//! use pixelscope_capture::{Chunk, ConnectionInfo, Direction, StreamSink};
//! use pixelscope_http::HttpLayer;
//! use pixelscope_model::{Collected, InputFormat, Origin, Timestamp};
//!
//! let mut layer = HttpLayer::new(Collected::default(), Origin::file("t.pcap", None, InputFormat::Pcap));
//! let info = ConnectionInfo {
//!     stream: 0,
//!     client: "10.0.0.2:50000".parse().unwrap(),
//!     server: "10.0.0.1:80".parse().unwrap(),
//!     first_frame: 1,
//!     first_time: Timestamp(0),
//!     saw_syn: true,
//!     tls: None,
//!     alpn: None,
//!     server_name: None,
//! };
//! layer.connection_opened(&info);
//! let request = b"GET /tr?ev=PageView HTTP/1.1\r\nHost: www.facebook.com\r\n\r\n";
//! layer.data(Chunk { stream: 0, direction: Direction::ToServer, offset: 0, data: request, frames: &[4], time: Timestamp(0) });
//! layer.connection_closed(0);
//! let collected = layer.finish();
//! assert_eq!(collected.exchanges[0].request.url, "http://www.facebook.com/tr?ev=PageView");
//! ```

pub mod content;
pub mod frame;
mod h1;
mod h2;
mod h3;
pub mod hpack;
mod huffman;
mod layer;
mod message;
mod qpack;

pub use layer::HttpLayer;

/// Bounds on everything this crate buffers or decodes. The defaults suit
/// web traffic; every field can be changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Body bytes kept as they came off the wire (after transfer framing,
    /// before content decoding). More is counted, not kept:
    /// `BodyState::Truncated` and `body.too-large`.
    pub max_body_encoded: usize,
    /// Bytes a body may decode to.
    pub max_body_decoded: usize,
    /// An HTTP/1.x head (start line and fields) longer than this is given up.
    pub max_head: usize,
    /// Header fields per HTTP/1.x head.
    pub max_headers: usize,
    /// Largest HTTP/2 frame payload read (the protocol maximum is 2^24 - 1).
    pub max_h2_frame: usize,
    /// Largest HTTP/2 header block (HEADERS + CONTINUATION) kept.
    pub max_header_block: usize,
    /// Largest HPACK dynamic table a peer may ask for.
    pub max_hpack_table_size: usize,
    /// HTTP/2 streams held open at once per connection.
    pub max_h2_streams: usize,
    /// Bytes held while deciding which protocol a connection speaks.
    pub max_sniff: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_body_encoded: 16 << 20,
            max_body_decoded: 16 << 20,
            max_head: 64 << 10,
            max_headers: 256,
            max_h2_frame: (1 << 24) - 1,
            max_header_block: 1 << 20,
            max_hpack_table_size: 1 << 20,
            max_h2_streams: 1024,
            max_sniff: 64 << 10,
        }
    }
}
