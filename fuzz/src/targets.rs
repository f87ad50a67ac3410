//! The fuzz targets. Each takes arbitrary bytes and must not panic, hang or
//! allocate without bound.

use crate::exchange_text;
use crate::script::Script;
use pixelscope_analyze::{Analyzer, AnalyzerOptions, Identities, PageTracker, Rules};
use pixelscope_capture::testing::CollectingSink;
use pixelscope_capture::{CaptureLimits, CaptureReader, Contact};
use pixelscope_decode::Registry;
use pixelscope_har::{HarLimits, HarReader};
use pixelscope_http::{HttpLayer, HttpLimits, content};
use pixelscope_model::{
    Collected, Diagnostic, Event, EventSink, Exchange, ExchangeSink, InputFormat, Origin,
};
use pixelscope_report::Format;
use pixelscope_tls::{KeyLog, TlsLayer};
use std::sync::OnceLock;

/// The key log every TLS-carrying target decrypts with: the keys of every
/// TLS sample in the repository, so seeds from those samples decrypt.
const KEY_LOGS: &[&[u8]] = &[
    include_bytes!("../../samples/tls/illustrated-tls13.keys"),
    include_bytes!("../../samples/tls/tls_dsb.keys"),
    include_bytes!("../../samples/tls/h2_dsb.keys"),
    include_bytes!("../../samples/tls/fhs_ssl.keys"),
    include_bytes!("../../samples/tls/all-suites.keys"),
    include_bytes!("../../samples/lab/h1tls/sslkeys.log"),
    include_bytes!("../../samples/lab/h2/sslkeys.log"),
];

pub fn keylog() -> &'static KeyLog {
    static KEYLOG: OnceLock<KeyLog> = OnceLock::new();
    KEYLOG.get_or_init(|| {
        let mut all = KeyLog::new();
        for text in KEY_LOGS {
            all.merge(KeyLog::parse(text).0);
        }
        all
    })
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::builtin)
}

/// An analyzer that knows a few identities, so the matching paths run.
fn the_analyzer() -> &'static Analyzer {
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| {
        let mut identities = Identities::new();
        for arg in [
            "email:jane.doe@example.org=subject-1",
            "phone:+1 (555) 010-9999=subject-1",
            "external_id:cust-1234=subject-1",
            "first_name:Jane=subject-1",
            "zip:94110=subject-1",
        ] {
            let _ = identities.parse_arg(arg);
        }
        match Analyzer::new(identities, Rules::defaults(), AnalyzerOptions::default()) {
            Ok(analyzer) => analyzer,
            Err(err) => panic!("the built-in analyzer setup is valid: {err}"),
        }
    })
}

fn origin(format: InputFormat) -> Origin {
    Origin::file("fuzz-input", None, format)
}

/// Fails when a layer broke the stream contract (overlapping chunks,
/// holes, data after close): a logic error, not bad input.
fn check_contract(sink: &CollectingSink) {
    assert!(
        sink.contract_breaches.is_empty(),
        "stream contract broken: {:?}",
        sink.contract_breaches
    );
}

/// The HAR reader, with the default limits on even-length inputs and with
/// tiny chunk and entry limits on odd-length ones (so chunk boundaries and
/// `har.entry-too-large` are exercised).
pub fn har(data: &[u8]) {
    let mut reader = HarReader::new(origin(InputFormat::Har));
    if data.len() % 2 == 1 {
        reader = reader.with_limits(HarLimits {
            max_entry_bytes: 2048,
            max_header_bytes: 512,
            chunk_bytes: 1 + data.len() % 61,
        });
    }
    let mut sink = Collected::default();
    let _ = reader.read(data, &mut sink);
}

/// The capture reader (pcap and pcapng) on the bytes as a file.
pub fn capture(data: &[u8]) {
    let mut sink = CollectingSink::default();
    let _ = CaptureReader::new(origin(InputFormat::Pcapng)).read(data, &mut sink);
    check_contract(&sink);
}

/// Link types the reader knows, and a few it does not.
const LINK_TYPES: &[u32] = &[
    1, 0, 101, 113, 276, 108, 9, 228, 229, 12, 14, 50, 105, 127, 147,
];

/// The `packet` target's byte 0 for a link type (Ethernet when unknown).
pub fn link_index(link: u32) -> u8 {
    LINK_TYPES.iter().position(|l| *l == link).unwrap_or(0) as u8
}

/// Raw packets (link, IP, TCP/UDP decoding, IP defragmentation, DNS):
/// byte 0 picks the link type, then `[len: u16 LE][packet]` records,
/// wrapped into a pcap.
pub fn packet(data: &[u8]) {
    let Some((&link, mut rest)) = data.split_first() else {
        return;
    };
    let link = LINK_TYPES
        .get(usize::from(link) % LINK_TYPES.len())
        .copied()
        .unwrap_or(1);
    let mut packets = Vec::new();
    while let [lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (p, after) = tail.split_at(len);
        packets.push(p.to_vec());
        rest = after;
    }
    let file = pcap(link, &packets);
    let mut sink = CollectingSink::default();
    let _ = CaptureReader::new(origin(InputFormat::Pcap)).read(file.as_slice(), &mut sink);
    check_contract(&sink);
}

/// A little-endian microsecond pcap of `packets` with link type `link`.
pub fn pcap(link: u32, packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&link.to_le_bytes());
    for (i, p) in packets.iter().enumerate() {
        out.extend_from_slice(&(1_700_000_000u32 + i as u32 / 4).to_le_bytes());
        out.extend_from_slice(&((i as u32 % 4) * 250_000).to_le_bytes());
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// An Ethernet + IPv4 + TCP frame.
pub fn tcp_frame(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
    let total = (40 + payload.len()).min(usize::from(u16::MAX)) as u16;
    f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0]);
    if let Some(len) = f.get_mut(16..18) {
        len.copy_from_slice(&total.to_be_bytes());
    }
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.1.to_be_bytes());
    f.extend_from_slice(&dst.1.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// The TCP reassembler, segments in any order: byte 0 picks the initial
/// sequence numbers and the limits, then records
/// `[ctl: u8][seq offset: u16 LE][len: u8][payload]`; ctl bit 0 is the
/// direction, bits 1..5 the TCP flags SYN, FIN, RST, ACK.
pub fn reassembly(data: &[u8]) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 50_000);
    const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 80);
    // Near the wrap-around of the sequence space, or not.
    let (isn_c, isn_s) = if mode & 1 != 0 {
        (u32::MAX - 300, u32::MAX - 40)
    } else {
        (1_000, 5_000)
    };
    let mut frames = Vec::new();
    while let [ctl, lo, hi, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, after) = tail.split_at(len);
        rest = after;
        let off = u32::from(u16::from_le_bytes([*lo, *hi]));
        let mut flags = 0u8;
        for (bit, tcp) in [(2, 0x02), (4, 0x01), (8, 0x04), (16, 0x10)] {
            if ctl & bit != 0 {
                flags |= tcp;
            }
        }
        let frame = if ctl & 1 == 0 {
            tcp_frame(
                CLIENT,
                SERVER,
                isn_c.wrapping_add(off),
                isn_s,
                flags,
                payload,
            )
        } else {
            tcp_frame(
                SERVER,
                CLIENT,
                isn_s.wrapping_add(off),
                isn_c,
                flags,
                payload,
            )
        };
        frames.push(frame);
    }
    let mut reader = CaptureReader::new(origin(InputFormat::Pcap));
    if mode & 2 != 0 {
        reader = reader.with_limits(CaptureLimits {
            max_connections: 2,
            max_out_of_order_bytes: 64,
            max_out_of_order_segments: 3,
            max_buffered_bytes: 128,
            ..CaptureLimits::default()
        });
    }
    let mut sink = CollectingSink::default();
    let _ = reader.read(pcap(1, &frames).as_slice(), &mut sink);
    check_contract(&sink);
}

/// The TLS layer on one scripted connection, with the fixed key log; what
/// it passes up must keep the stream contract.
pub fn tls(data: &[u8]) {
    let script = Script::parse(data);
    let mut layer = TlsLayer::new(
        keylog().clone(),
        CollectingSink::default(),
        origin(InputFormat::Pcapng),
    );
    script.play(&mut layer);
    check_contract(&layer.into_inner());
}

fn http_limits(small: bool) -> HttpLimits {
    if small {
        HttpLimits {
            max_body_encoded: 512,
            max_body_decoded: 2048,
            max_head: 512,
            max_headers: 16,
            max_h2_frame: 1024,
            max_header_block: 1024,
            max_hpack_table_size: 4096,
            max_h2_streams: 4,
            max_sniff: 64,
        }
    } else {
        HttpLimits::default()
    }
}

fn http(data: &[u8]) {
    let script = Script::parse(data);
    let small = data.len() % 3 == 0;
    let mut layer = HttpLayer::with_limits(
        Collected::default(),
        origin(InputFormat::Pcapng),
        http_limits(small),
    );
    script.play(&mut layer);
    let _ = layer.take_contacts();
    let _ = layer.finish();
}

/// The HTTP layer on one scripted connection (HTTP/1.x seeds).
pub fn http1(data: &[u8]) {
    http(data);
}

/// The HTTP layer on one scripted connection (HTTP/2 seeds: frames, HPACK).
/// Also the frame helpers on the raw bytes.
pub fn h2(data: &[u8]) {
    let mut rest = data;
    while let Some(header) = pixelscope_http::frame::FrameHeader::parse(rest) {
        let payload = rest
            .get(pixelscope_http::frame::HEADER_LEN..)
            .unwrap_or_default();
        let _ = pixelscope_http::frame::unpad(&header, payload);
        rest = payload;
    }
    http(data);
}

/// The HPACK decoder alone. Byte 0 picks the decoder: bit 0 set, an empty
/// 64 KiB table (as for a direction whose earlier state was lost); clear,
/// the default 4096-byte table whose encoder may raise it to
/// `4096 << (byte 0 >> 1 & 7)`. Then header blocks, each after its 2-byte
/// little-endian length (the last one takes what remains), decoded in
/// turn through the same table. After an error the table is replaced by a
/// fresh one, as the HTTP/2 reader does.
pub fn hpack(data: &[u8]) {
    use pixelscope_http::hpack::HpackDecoder;
    let [mode, blocks @ ..] = data else {
        return;
    };
    let fresh = || {
        if mode & 1 == 1 {
            HpackDecoder::with_table_size(1 << 16)
        } else {
            HpackDecoder::new(4096 << ((mode >> 1) & 7))
        }
    };
    let mut decoder = fresh();
    let mut rest = blocks;
    while !rest.is_empty() {
        let (block, tail) = match rest {
            [lo, hi, tail @ ..] => {
                let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
                tail.split_at(len)
            }
            _ => (rest, &[][..]),
        };
        let result = decoder.decode(block, |_, _| {});
        if result.is_err() {
            decoder = fresh();
        }
        rest = tail;
    }
}

const CODINGS: &[&str] = &[
    "gzip", "deflate", "br", "zstd", "identity", "x-gzip", "GZIP", "compress", "", "Br ",
];

/// Body decoding: byte 0 picks how many codings (0..3) and whether the body
/// is complete, byte 1 which codings, byte 2 the output cap.
pub fn body(data: &[u8]) {
    let [mode, which, cap, raw @ ..] = data else {
        return;
    };
    let count = usize::from(mode & 3);
    let codings: Vec<String> = (0..count)
        .map(|i| {
            let pick = usize::from(which >> (i * 3)) % CODINGS.len();
            CODINGS.get(pick).copied().unwrap_or("gzip").to_owned()
        })
        .collect();
    let max = 1usize << (cap % 25);
    let decoded = if mode & 4 == 0 {
        content::decode_body(raw.to_vec(), &codings, max)
    } else {
        content::decode_body_prefix(raw.to_vec(), &codings, max)
    };
    assert!(
        decoded.data.len() <= max.max(raw.len()),
        "decoded {} bytes past the cap {max}",
        decoded.data.len()
    );
}

struct Events(Vec<Event>, Vec<Diagnostic>);

impl EventSink for Events {
    fn event(&mut self, event: Event) {
        self.0.push(event);
    }
    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.1.push(diagnostic);
    }
}

/// Every tracker decoder the registry routes the request to.
pub fn decoders(data: &[u8]) {
    let exchange = exchange_text::parse(data);
    let mut out = Events(Vec::new(), Vec::new());
    registry().decode(&exchange, &mut out);
    if let Ok(host) = std::str::from_utf8(data.get(..data.len().min(64)).unwrap_or_default()) {
        let _ = registry().tracker_for_host(host);
    }
}

/// Decoding, page inference and the analyzer, then the JSON Lines writer.
pub fn analyzer(data: &[u8]) {
    let exchange = exchange_text::parse(data);
    let mut sink = ScanSink::default();
    sink.exchange(exchange);
    write(&sink.events);
}

/// What the command does per exchange: decode, infer the page, analyse.
#[derive(Default)]
struct ScanSink {
    pages: PageTracker,
    events: Vec<Event>,
    diagnostics: Vec<Diagnostic>,
}

impl ExchangeSink for ScanSink {
    fn exchange(&mut self, exchange: Exchange) {
        self.pages.observe(&exchange);
        let mut out = Events(Vec::new(), Vec::new());
        registry().decode(&exchange, &mut out);
        self.diagnostics.append(&mut out.1);
        if !out.0.is_empty() {
            self.pages.fill(&exchange, &mut out.0);
            the_analyzer().analyze(&exchange, &mut out.0);
            self.events.append(&mut out.0);
        }
    }
    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

fn write(events: &[Event]) {
    for format in [Format::Jsonl, Format::Csv, Format::Table] {
        let mut out = Vec::new();
        {
            let mut writer = pixelscope_report::writer(format, &mut out, Some(120));
            for event in events {
                let _ = writer.write_event(event);
            }
            let _ = writer.finish();
        }
    }
}

/// `pixelscope scan` in-process: sniff, read (HAR, or capture → TLS →
/// HTTP), decode, infer pages, analyse, add contact records, write.
pub fn scan(data: &[u8]) {
    let is_capture = matches!(
        data.get(..4),
        Some(
            [0x0a, 0x0d, 0x0d, 0x0a]
                | [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
        )
    );
    let mut sink = ScanSink::default();
    if is_capture {
        let origin = origin(InputFormat::Pcapng);
        let http = HttpLayer::new(sink, origin.clone());
        let mut tls = TlsLayer::new(keylog().clone(), http, origin.clone());
        let _ = CaptureReader::new(origin.clone()).read(data, &mut tls);
        let mut http = tls.into_inner();
        let contacts: Vec<Contact> = http.take_contacts();
        sink = http.finish();
        for contact in contacts {
            if let Some(event) =
                registry().contact_event(&contact.host, Some(contact.time), origin.clone())
            {
                sink.events.push(event);
            }
        }
    } else {
        let _ = HarReader::new(origin(InputFormat::Har)).read(data, &mut sink);
    }
    write(&sink.events);
    for d in &sink.diagnostics {
        let _ = serde_json::to_string(d);
    }
}
