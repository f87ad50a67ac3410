//! Reader throughput and peak memory on a large capture.
//!
//! Builds a pcap of at least 100 MB (`PIXELSCOPE_BENCH_MB` to change) by
//! replicating the packets of `samples/lab/http1/capture.pcapng`, each copy
//! with its own IPv4 addresses and a later start time so that every copy is
//! a new set of connections. Then reads it with a sink that only counts, and
//! prints MB/s and the process's peak resident memory (VmHWM).
//!
//! Run: `cargo bench -p pixelscope-capture --bench throughput`. Set
//! `PIXELSCOPE_BENCH_KEEP=1` to keep the built file (to time tshark on it).

// Test helpers outside #[test] functions may fail loudly, like the tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{PcapBlockOwned, PcapError, PcapNGReader, pcapng::Block};
use pixelscope_capture::{CaptureReader, Chunk, Datagram, Direction, StreamSink};
use pixelscope_model::{Diagnostic, InputFormat, Origin};
use std::io::{BufWriter, Write};
use std::time::Instant;

/// Counts what arrives, touching every byte so the work is not optimised away.
#[derive(Default)]
struct CountingSink {
    chunks: u64,
    bytes: u64,
    checksum: u64,
    gaps: u64,
    datagrams: u64,
    diagnostics: u64,
}

impl StreamSink for CountingSink {
    fn data(&mut self, chunk: Chunk<'_>) {
        self.chunks += 1;
        self.bytes += chunk.data.len() as u64;
        self.checksum = self
            .checksum
            .wrapping_add(chunk.data.first().copied().unwrap_or(0) as u64);
        if chunk.direction == Direction::ToServer {
            self.checksum = self.checksum.wrapping_add(1);
        }
    }
    fn gap(&mut self, _: u64, _: Direction, _: std::ops::Range<u64>, _: u64) {
        self.gaps += 1;
    }
    fn datagram(&mut self, _: Datagram<'_>) {
        self.datagrams += 1;
    }
    fn diagnostic(&mut self, _: Diagnostic) {
        self.diagnostics += 1;
    }
}

/// (seconds, microseconds, Ethernet frame) of every packet in the sample.
fn sample_packets() -> Vec<(u32, u32, Vec<u8>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/lab/http1/capture.pcapng"
    );
    let file = std::fs::File::open(path).expect("the lab sample");
    let mut reader = PcapNGReader::new(1 << 20, file).expect("pcapng");
    let mut packets = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                if let PcapBlockOwned::NG(Block::EnhancedPacket(epb)) = &block {
                    let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                    packets.push((
                        (ts / 1_000_000) as u32,
                        (ts % 1_000_000) as u32,
                        epb.packet_data().to_vec(),
                    ));
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().expect("refill"),
            Err(e) => panic!("sample: {e:?}"),
        }
    }
    packets
}

fn build(path: &std::path::Path, target_bytes: u64) -> u64 {
    let packets = sample_packets();
    let mut out =
        BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("temp file"));
    out.write_all(&[
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
    ])
    .unwrap();
    let mut written = 24u64;
    let mut copy = 0u32;
    while written < target_bytes {
        for (secs, micros, frame) in &packets {
            let mut frame = frame.clone();
            // IPv4 over Ethernet: give both addresses this copy's middle bytes.
            if frame.get(12..14) == Some(&[0x08, 0x00]) && frame.len() >= 34 {
                let [_, _, hi, lo] = copy.to_be_bytes();
                frame[27] = hi;
                frame[28] = lo;
                frame[31] = hi;
                frame[32] = lo;
            }
            out.write_all(&(secs + copy * 10).to_le_bytes()).unwrap();
            out.write_all(&micros.to_le_bytes()).unwrap();
            out.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
            out.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
            out.write_all(&frame).unwrap();
            written += 16 + frame.len() as u64;
        }
        copy += 1;
    }
    out.flush().unwrap();
    written
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let megabytes: u64 = std::env::var("PIXELSCOPE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let path = std::env::temp_dir().join(format!("pixelscope-bench-{}.pcap", std::process::id()));
    let size = build(&path, megabytes << 20);
    let rss_before = peak_rss_kb().unwrap_or(0);
    let reader = CaptureReader::new(Origin::file(
        path.display().to_string(),
        None,
        InputFormat::Pcap,
    ));
    let mut sink = CountingSink::default();
    let start = Instant::now();
    let file = std::fs::File::open(&path).expect("built file");
    let summary = reader.read(file, &mut sink).expect("read");
    let seconds = start.elapsed().as_secs_f64();
    let mb = size as f64 / 1e6;
    println!(
        "read {mb:.1} MB ({} packets, {} TCP streams, {} payload chunks, {} payload bytes, {} gaps, {} diagnostics) in {seconds:.3} s: {:.0} MB/s",
        summary.packets,
        summary.tcp_streams,
        sink.chunks,
        sink.bytes,
        sink.gaps,
        sink.diagnostics,
        mb / seconds
    );
    println!(
        "peak RSS (VmHWM): {} KB after building the file, {} KB after reading it",
        rss_before,
        peak_rss_kb().unwrap_or(0)
    );
    if std::env::var_os("PIXELSCOPE_BENCH_KEEP").is_some() {
        println!("kept {}", path.display());
    } else {
        let _ = std::fs::remove_file(&path);
    }
}
