//! Packet captures in, ordered TCP byte streams out.
//!
//! [`CaptureReader`] is the principal type. It streams a pcap or pcapng file
//! from any [`std::io::Read`] (never loading it whole), numbers every packet
//! record as Wireshark does (1-based frames), peels the link layer (Ethernet,
//! 802.1Q/QinQ, PPPoE, Linux SLL and SLL2, BSD NULL/LOOP, PPP, raw IP),
//! reassembles IP fragments, and hands TCP segments to a [`FlowTable`]. The
//! flow table gives each connection a stream id (0-based, in order of first
//! appearance, like Wireshark's `tcp.stream`), decides who is client and
//! server, and reassembles each direction into ordered bytes.
//!
//! Everything recovered is pushed into a [`StreamSink`] (see [`stream`], the
//! contract with the TLS and HTTP layers): connection opened, in-order
//! chunks naming their frames, gaps, connection closed; UDP datagrams; DNS
//! answers as [`Contact`]s; TLS key logs from pcapng Decryption Secrets
//! Blocks. Anomalies in the file become [`pixelscope_model::Diagnostic`]s
//! pushed into the same sink, and reading goes on: only a file that is not
//! a capture at all (empty, unknown magic, unreadable header) is an `Err`.
//!
//! TCP reassembly keeps the **first copy** of any byte (see `reassembly`),
//! reports differing retransmissions as `tcp.overlap-conflict`, and never
//! splices over missing bytes: a range that can no longer arrive becomes a
//! [`StreamSink::gap`] plus a `tcp.gap` warning. Memory is bounded by
//! [`CaptureLimits`]: the read buffer, the out-of-order buffers per direction
//! and in total, the number of connections and of IP datagrams in
//! reassembly.
//!
//! ```no_run
//! use pixelscope_capture::{CaptureReader, testing::CollectingSink};
//! use pixelscope_model::{InputFormat, Origin};
//!
//! let file = std::fs::File::open("capture.pcapng")?;
//! let reader = CaptureReader::new(Origin::file("capture.pcapng", None, InputFormat::Pcapng));
//! let mut sink = CollectingSink::default();
//! let summary = reader.read(file, &mut sink)?;
//! println!("{} packets, {} TCP streams", summary.packets, summary.tcp_streams);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod defrag;
mod dns;
mod flow;
mod packet;
mod reader;
mod reassembly;
pub mod stream;
pub mod testing;

pub use flow::FlowTable;
pub use reader::{CaptureError, CaptureReader, CaptureSummary, looks_like_capture};
pub use stream::{
    Chunk, ConnectionInfo, Contact, Datagram, Direction, QuicChunk, QuicConnectionInfo, StreamSink,
};

/// Bounds on what the reader holds in memory. The defaults keep a reader
/// well under 64 MB whatever the size of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureLimits {
    /// Largest packet record or pcapng block accepted (default 16 MiB). A
    /// record claiming more is taken as corruption and ends the reading
    /// (`capture.record-invalid`): where the next one starts is unknown.
    pub max_record_bytes: usize,
    /// Open TCP connections tracked at once (default 65,536). When full,
    /// the least recently active eighth is closed early (their pending
    /// bytes are delivered, with gaps). As many closed connections are
    /// remembered so that late packets keep their stream id.
    pub max_connections: usize,
    /// Out-of-order bytes buffered per direction of a connection (default
    /// 4 MiB). Beyond it, the oldest hole is declared a gap.
    pub max_out_of_order_bytes: usize,
    /// Out-of-order segments buffered per direction (default 4,096).
    pub max_out_of_order_segments: usize,
    /// Out-of-order bytes buffered across all connections (default 32 MiB).
    pub max_buffered_bytes: usize,
    /// A connection with no packet for this long (capture time) is closed
    /// (default 600 s).
    pub idle_timeout_seconds: u64,
    /// IP datagrams in reassembly at once (default 256).
    pub max_fragmented_datagrams: usize,
    /// Fragments older than this (capture time) are given up on
    /// (default 30 s).
    pub fragment_timeout_seconds: u64,
}

impl Default for CaptureLimits {
    fn default() -> CaptureLimits {
        CaptureLimits {
            max_record_bytes: 16 << 20,
            max_connections: 65_536,
            max_out_of_order_bytes: 4 << 20,
            max_out_of_order_segments: 4_096,
            max_buffered_bytes: 32 << 20,
            idle_timeout_seconds: 600,
            max_fragmented_datagrams: 256,
            fragment_timeout_seconds: 30,
        }
    }
}
