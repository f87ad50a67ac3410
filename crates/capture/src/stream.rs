//! The interface between the capture reader and the layers above it.
//!
//! The reader pushes reassembled TCP payload into a [`StreamSink`], one
//! [`Chunk`] at a time and in stream order per direction. Layers stack as
//! sinks: the TLS layer is a `StreamSink` that decrypts and forwards
//! plaintext chunks to the HTTP layer, which is a `StreamSink` that emits
//! exchanges. Every chunk names the frames it came from so that a record can
//! point at "frames 120, 121, 125".
//!
//! QUIC carries many streams in one connection, so a layer that decrypts
//! it hands on [`QuicChunk`]s instead: connection number, QUIC stream id,
//! direction, in stream order per stream and direction.

use pixelscope_model::{Diagnostic, Timestamp};
use std::net::SocketAddr;
use std::ops::Range;

/// Which way bytes travel on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// From the client (the side that sent the SYN, or else the side with the
    /// higher, ephemeral port) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// What is known about a TCP connection when it is first seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// 0-based, in order of first appearance in the capture, as Wireshark's
    /// `tcp.stream`.
    pub stream: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Frame (1-based) and time of the first packet of the connection.
    pub first_frame: u64,
    pub first_time: Timestamp,
    /// True when the capture holds the connection's SYN; false when the
    /// capture starts mid-connection (roles were then guessed from ports).
    pub saw_syn: bool,
    /// Set by a TLS layer once it has read the handshake (`"1.2"`, `"1.3"`).
    pub tls: Option<String>,
    /// ALPN protocol the server selected, when a TLS layer saw it (`"h2"`).
    pub alpn: Option<String>,
    /// SNI host name from the ClientHello, when a TLS layer saw it.
    pub server_name: Option<String>,
}

/// A contiguous piece of one direction of a connection's byte stream.
#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    pub stream: u64,
    pub direction: Direction,
    /// Offset of `data` within this direction's stream (0 = first byte after
    /// the SYN, or the first byte seen when the capture started mid-stream).
    pub offset: u64,
    pub data: &'a [u8],
    /// The frames (1-based) whose payload makes up `data`.
    pub frames: &'a [u64],
    /// Time of the (last) frame that completed this chunk.
    pub time: Timestamp,
}

/// A UDP datagram (after IP reassembly), for DNS answers and QUIC contacts.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub data: &'a [u8],
    pub frame: u64,
    pub time: Timestamp,
}

/// What is known about a QUIC connection once a layer that decrypts QUIC
/// has read its client Initial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuicConnectionInfo {
    /// 0-based, in order of first appearance in the capture, as Wireshark's
    /// `quic.connection.number`. A numbering of its own: QUIC connection 0
    /// and TCP stream 0 are different things.
    pub connection: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Frame (1-based) and time of the connection's first client Initial.
    pub first_frame: u64,
    pub first_time: Timestamp,
    /// SNI host name from the ClientHello.
    pub server_name: Option<String>,
    /// ALPN protocol the server selected (`"h3"`), once its
    /// EncryptedExtensions were read; else the first the client offered.
    pub alpn: Option<String>,
}

/// An in-order piece of one QUIC stream in one direction, decrypted and
/// reassembled from STREAM frames.
#[derive(Clone, Copy, Debug)]
pub struct QuicChunk<'a> {
    /// The connection, as numbered in [`QuicConnectionInfo::connection`].
    pub connection: u64,
    /// The QUIC stream id (RFC 9000 §2.1): its two low bits say who opened
    /// it and whether it is bidirectional.
    pub stream_id: u64,
    /// Who sent these bytes (on a bidirectional stream both sides send).
    pub direction: Direction,
    /// Offset of `data` within this direction of the stream.
    pub offset: u64,
    pub data: &'a [u8],
    /// The sender ended this direction of the stream after `data`.
    pub fin: bool,
    /// The frames (1-based) whose packets carried `data`.
    pub frames: &'a [u64],
    pub time: Timestamp,
}

/// Evidence that the client talked to a host whose traffic could not be
/// read: a DNS answer, the SNI of a TLS or QUIC ClientHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Host name, lower-case.
    pub host: String,
    /// How it was learned: `dns`, `tls-sni`, `quic-sni`.
    pub via: &'static str,
    /// TCP stream id, for a TLS connection.
    pub stream: Option<u64>,
    /// Frames (1-based) that carry the evidence.
    pub frames: Vec<u64>,
    pub time: Timestamp,
    /// Server address, when known.
    pub server: Option<SocketAddr>,
}

/// Receives what the capture reader (or a layer below) recovers.
///
/// Every method but `data` has a default that does nothing, so a sink only
/// implements what it uses. Implementations must never panic on any input.
pub trait StreamSink {
    /// A new TCP connection was seen. Called before any `data` for it.
    fn connection_opened(&mut self, _info: &ConnectionInfo) {}

    /// The next in-order bytes of one direction of a connection.
    fn data(&mut self, chunk: Chunk<'_>);

    /// Bytes `missing` (stream offsets) of one direction were never captured.
    /// The stream continues after the gap; nothing was spliced over it.
    fn gap(&mut self, _stream: u64, _direction: Direction, _missing: Range<u64>, _frame: u64) {}

    /// The connection ended (FIN/RST seen in both directions, or the capture
    /// ended). No more calls for this stream follow.
    fn connection_closed(&mut self, _stream: u64) {}

    /// A UDP datagram.
    fn datagram(&mut self, _datagram: Datagram<'_>) {}

    /// TLS secrets found in the capture itself (a pcapng Decryption Secrets
    /// Block of type TLS key log): NSS key log text. Arrives before the
    /// packets that follow the block in the file.
    fn secrets(&mut self, _keylog: &[u8]) {}

    /// A host was contacted (DNS answer, SNI of a connection that will not
    /// be decrypted). Layers forward contacts they do not consume.
    fn contact(&mut self, _contact: &Contact) {}

    /// An anomaly in the input.
    fn diagnostic(&mut self, _diagnostic: Diagnostic) {}

    /// A QUIC connection whose packets a layer below decrypts. Called
    /// before any `quic_stream` for it.
    fn quic_connection_opened(&mut self, _info: &QuicConnectionInfo) {}

    /// The next in-order bytes of one direction of a QUIC stream. Streams
    /// of one connection interleave as their packets arrived.
    fn quic_stream(&mut self, _chunk: QuicChunk<'_>) {}
}
