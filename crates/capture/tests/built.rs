//! Inputs built byte by byte: damaged files, and TCP situations that real
//! samples do not isolate (a lost segment, a capture that starts
//! mid-connection), plus every pcapng packet block kind.

// Test helpers outside #[test] functions may fail loudly, like the tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use pixelscope_capture::testing::CollectingSink;
use pixelscope_capture::{CaptureError, CaptureReader, CaptureSummary, looks_like_capture};
use pixelscope_model::{InputFormat, Origin, Severity};

fn read(bytes: &[u8]) -> Result<(CaptureSummary, CollectingSink), CaptureError> {
    let reader = CaptureReader::new(Origin::file("built.pcap", None, InputFormat::Pcap));
    let mut sink = CollectingSink::default();
    let summary = reader.read(bytes, &mut sink)?;
    assert_eq!(sink.contract_breaches, Vec::<String>::new());
    Ok((summary, sink))
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;

/// An Ethernet + IPv4 + TCP frame.
fn tcp_frame(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
    let total = (20 + 20 + payload.len()) as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
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

/// A little-endian microsecond pcap of Ethernet frames.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
    ];
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        out.extend_from_slice(&250_000u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 50_000);
const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 80);

#[test]
fn sniffs_every_magic() {
    for magic in [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
    ] {
        assert_eq!(looks_like_capture(&magic), Some(InputFormat::Pcap));
    }
    assert_eq!(
        looks_like_capture(&[0x0a, 0x0d, 0x0d, 0x0a]),
        Some(InputFormat::Pcapng)
    );
    assert_eq!(looks_like_capture(b"{\"log\""), None);
    assert_eq!(looks_like_capture(b"ab"), None);
}

#[test]
fn a_lost_segment_is_one_gap_and_one_diagnostic() {
    let frames = vec![
        tcp_frame(CLIENT, SERVER, 100, 0, SYN, b""),
        tcp_frame(SERVER, CLIENT, 500, 101, SYN | ACK, b""),
        tcp_frame(CLIENT, SERVER, 101, 501, ACK | PSH, b"GET / HTTP/1.1\r\n"),
        // frame 4 carried bytes 16..26 and was not captured
        tcp_frame(CLIENT, SERVER, 127, 501, ACK | PSH, b"\r\n"),
        tcp_frame(
            SERVER,
            CLIENT,
            501,
            129,
            ACK | PSH,
            b"HTTP/1.1 200 OK\r\n\r\n",
        ),
    ];
    let (summary, sink) = read(&pcap(&frames)).unwrap();
    assert_eq!(
        (
            summary.packets,
            summary.tcp_streams,
            summary.gaps,
            summary.gap_bytes
        ),
        (5, 1, 1, 10)
    );
    let s = &sink.streams[&0];
    assert_eq!(s.to_server.gaps, vec![16..26]);
    assert_eq!(
        s.to_server.bytes, b"GET / HTTP/1.1\r\n\r\n",
        "nothing is spliced over the gap"
    );
    assert_eq!(s.to_client.bytes, b"HTTP/1.1 200 OK\r\n\r\n");
    let gaps = sink.diagnostics_with("tcp.gap");
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].severity, Severity::Warning);
    // Declared when the server acknowledged the missing bytes (frame 5).
    assert_eq!(gaps[0].origin.frames, Some(vec![5]));
    assert_eq!(gaps[0].origin.stream, Some(0));
    assert!(
        gaps[0].message.contains("client to server") && gaps[0].message.contains("16..26"),
        "{}",
        gaps[0].message
    );
}

#[test]
fn a_capture_starting_mid_connection_guesses_roles_from_ports() {
    let frames = vec![
        tcp_frame(
            SERVER,
            CLIENT,
            9_000,
            7_000,
            ACK | PSH,
            b"tail of a response",
        ),
        tcp_frame(
            CLIENT,
            SERVER,
            7_000,
            9_018,
            ACK | PSH,
            b"GET /next HTTP/1.1\r\n\r\n",
        ),
        tcp_frame(CLIENT, SERVER, 7_022, 9_018, ACK | FIN, b""),
        tcp_frame(SERVER, CLIENT, 9_018, 7_023, ACK | FIN, b""),
        tcp_frame(CLIENT, SERVER, 7_023, 9_019, ACK, b""),
    ];
    let (summary, sink) = read(&pcap(&frames)).unwrap();
    assert_eq!(
        summary.tcp_streams, 1,
        "the last ACK after both FINs keeps stream 0"
    );
    let s = &sink.streams[&0];
    assert!(!s.info.saw_syn);
    assert_eq!(s.info.server.port(), 80);
    assert_eq!(s.info.first_frame, 1);
    assert_eq!(s.to_client.bytes, b"tail of a response");
    assert_eq!(s.to_server.bytes, b"GET /next HTTP/1.1\r\n\r\n");
    assert_eq!(s.info.first_time.to_string(), "2023-11-14T22:13:20.250Z");
    assert_eq!(sink.close_order, vec![0]);
}

#[test]
fn a_new_syn_after_close_is_a_new_stream() {
    let mut frames = Vec::new();
    for isn in [100u32, 90_000] {
        frames.push(tcp_frame(CLIENT, SERVER, isn, 0, SYN, b""));
        frames.push(tcp_frame(SERVER, CLIENT, 7, isn + 1, SYN | ACK, b""));
        frames.push(tcp_frame(CLIENT, SERVER, isn + 1, 8, ACK | FIN, b"x"));
        frames.push(tcp_frame(SERVER, CLIENT, 8, isn + 3, ACK | FIN, b""));
    }
    let (summary, sink) = read(&pcap(&frames)).unwrap();
    assert_eq!(summary.tcp_streams, 2);
    assert_eq!(sink.streams[&1].info.first_frame, 5);
    assert_eq!(sink.close_order, vec![0, 1]);
}

#[test]
fn a_truncated_last_record_is_reported_and_the_rest_is_read() {
    let frames = vec![
        tcp_frame(CLIENT, SERVER, 100, 0, SYN, b""),
        tcp_frame(CLIENT, SERVER, 101, 0, ACK, b"GET / HTTP/1.1\r\n"),
        tcp_frame(CLIENT, SERVER, 117, 0, ACK, b"Host: example.com\r\n"),
    ];
    let mut bytes = pcap(&frames);
    bytes.truncate(bytes.len() - 7);
    let (summary, sink) = read(&bytes).unwrap();
    assert_eq!(summary.packets, 2);
    let found = sink.diagnostics_with("capture.truncated");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].origin.frames, Some(vec![3]));
    assert_eq!(sink.streams[&0].to_server.bytes, b"GET / HTTP/1.1\r\n");
    assert!(sink.streams[&0].closed);
}

#[test]
fn bad_magic_and_short_headers_are_errors_with_one_line_messages() {
    let error = read(b"<html><body>hello</body></html>").unwrap_err();
    assert_eq!(
        error.to_string(),
        "not a pcap or pcapng file: it starts with bytes 3c 68 74 6d 6c 3e 3c 62"
    );
    let error = read(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap_err();
    assert!(matches!(error, CaptureError::BadHeader { .. }), "{error}");
    assert!(!error.to_string().contains('\n'));
    assert!(matches!(read(b"").unwrap_err(), CaptureError::Empty));
}

#[test]
fn an_absurd_record_length_stops_reading_with_an_error_diagnostic() {
    let mut bytes = pcap(&[tcp_frame(CLIENT, SERVER, 1, 0, SYN, b"")]);
    // A second record claiming 4 GB.
    bytes.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0xff, 0xff, 0xff, 0xf0, 0xff, 0xff, 0xff, 1, 2, 3,
    ]);
    let (summary, sink) = read(&bytes).unwrap();
    assert_eq!(summary.packets, 1);
    let found = sink.diagnostics_with("capture.record-invalid");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].origin.frames, Some(vec![2]));
}

#[test]
fn an_absurd_snaplen_in_the_header_is_harmless() {
    let mut bytes = pcap(&[tcp_frame(CLIENT, SERVER, 1, 0, ACK, b"abc")]);
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let (summary, sink) = read(&bytes).unwrap();
    assert_eq!(summary.packets, 1);
    assert!(sink.diagnostics.is_empty());
}

#[test]
fn a_big_endian_nanosecond_pcap_reads() {
    let frame = tcp_frame(CLIENT, SERVER, 1, 0, ACK, b"abc");
    let mut bytes = vec![
        0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1,
    ];
    bytes.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    bytes.extend_from_slice(&123_456_789u32.to_be_bytes());
    bytes.extend_from_slice(&(frame.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&(frame.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&frame);
    let (_, sink) = read(&bytes).unwrap();
    assert_eq!(
        sink.streams[&0].info.first_time.to_string(),
        "2023-11-14T22:13:20.123456789Z"
    );
    assert_eq!(sink.streams[&0].to_server.bytes, b"abc");
}

/// A little-endian pcapng block.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let len = (body.len() + 12) as u32;
    let mut b = kind.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&body);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn option(code: u16, value: &[u8]) -> Vec<u8> {
    let mut o = code.to_le_bytes().to_vec();
    o.extend_from_slice(&(value.len() as u16).to_le_bytes());
    o.extend_from_slice(value);
    while !o.len().is_multiple_of(4) {
        o.push(0);
    }
    o
}

#[test]
fn pcapng_interfaces_resolutions_offsets_and_every_packet_block() {
    let frame = |seq: u32, payload: &[u8]| tcp_frame(CLIENT, SERVER, seq, 0, ACK, payload);
    let mut shb = vec![0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    shb.extend_from_slice(&option(1, b"a comment"));
    shb.extend_from_slice(&[0, 0, 0, 0]);
    let mut file = block(0x0A0D_0D0A, &shb);
    // Interface 0: Ethernet, nanoseconds, 100 s offset.
    let mut idb0 = vec![1, 0, 0, 0, 0, 0, 0, 0];
    idb0.extend_from_slice(&option(9, &[9]));
    idb0.extend_from_slice(&option(14, &100i64.to_le_bytes()));
    idb0.extend_from_slice(&[0, 0, 0, 0]);
    file.extend(block(1, &idb0));
    // Interface 1: raw IP, 2^-10 s units.
    let mut idb1 = vec![101, 0, 0, 0, 0, 0, 0, 0];
    idb1.extend_from_slice(&option(9, &[0x8a]));
    idb1.extend_from_slice(&[0, 0, 0, 0]);
    file.extend(block(1, &idb1));
    // Interface 2: an unknown link type.
    file.extend(block(1, &[0xfe, 0, 0, 0, 0, 0, 0, 0]));
    let epb = |iface: u32, ts: u64, data: &[u8]| {
        let mut b = iface.to_le_bytes().to_vec();
        b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(ts as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        block(6, &b)
    };
    // frame 1: interface 0 at 1.5 s (+100 s offset)
    file.extend(epb(0, 1_500_000_000, &frame(1, b"ab")));
    // a key log between packets
    let keylog = b"CLIENT_RANDOM 00 11\n";
    let mut dsb = 0x544c_534bu32.to_le_bytes().to_vec();
    dsb.extend_from_slice(&(keylog.len() as u32).to_le_bytes());
    dsb.extend_from_slice(keylog);
    file.extend(block(10, &dsb));
    // frame 2: simple packet block (interface 0)
    let spb_frame = frame(3, b"cd");
    let mut spb = (spb_frame.len() as u32).to_le_bytes().to_vec();
    spb.extend_from_slice(&spb_frame);
    file.extend(block(3, &spb));
    // frame 3: obsolete packet block on interface 0
    let pb_frame = frame(5, b"ef");
    let mut pb = vec![0, 0, 0, 0];
    pb.extend_from_slice(&0u32.to_le_bytes());
    pb.extend_from_slice(&3_000_000_000u32.to_le_bytes());
    pb.extend_from_slice(&(pb_frame.len() as u32).to_le_bytes());
    pb.extend_from_slice(&(pb_frame.len() as u32).to_le_bytes());
    pb.extend_from_slice(&pb_frame);
    file.extend(block(2, &pb));
    // frame 4: a damaged EPB (its trailing length disagrees)
    let mut damaged = epb(0, 0, &frame(99, b"zz"));
    let n = damaged.len();
    damaged[n - 4] ^= 0x40;
    file.extend(damaged);
    // frame 5: raw IP on interface 1 at 2048 units = 2 s
    file.extend(epb(
        1,
        2048,
        &tcp_frame(
            ([10, 9, 9, 9], 443),
            ([10, 9, 9, 8], 40_000),
            1,
            0,
            ACK,
            b"tls",
        )[14..],
    ));
    // frames 6 and 7: the unknown link type, reported once
    file.extend(epb(2, 0, b"????"));
    file.extend(epb(2, 0, b"????"));
    // frame 8: back on interface 0
    file.extend(epb(0, 4_000_000_000, &frame(7, b"gh")));

    let (summary, sink) = read(&file).unwrap();
    assert_eq!(summary.format, InputFormat::Pcapng);
    assert_eq!(summary.packets, 8);
    assert_eq!(summary.link_types, vec![1, 101, 254]);
    assert_eq!(summary.secrets_blocks, 1);
    assert_eq!(sink.secrets, vec![keylog.to_vec()]);
    let client_stream = &sink.streams[&0];
    assert_eq!(client_stream.to_server.bytes, b"abcdefgh");
    assert_eq!(client_stream.to_server.frames, vec![1, 2, 3, 8]);
    assert_eq!(
        client_stream.info.first_time.to_string(),
        "1970-01-01T00:01:41.500Z"
    );
    let raw = &sink.streams[&1];
    assert_eq!(raw.to_client.bytes, b"tls");
    assert_eq!(raw.info.first_frame, 5);
    assert_eq!(raw.info.first_time.to_string(), "1970-01-01T00:00:02.000Z");
    let damaged = sink.diagnostics_with("capture.packet-invalid");
    assert_eq!(damaged.len(), 1);
    assert_eq!(damaged[0].origin.frames, Some(vec![4]));
    let unsupported = sink.diagnostics_with("capture.link-unsupported");
    assert_eq!(unsupported.len(), 1);
    assert_eq!(unsupported[0].origin.frames, Some(vec![6]));
}

/// Found with `pixelscope scan --max-flows 16` on the lab capture: a
/// keep-alive connection closed early to make room was a tombstone, and
/// the requests it carried afterwards were dropped without a word. They
/// are now read as a new stream, with a `tcp.reopened` warning.
#[test]
fn data_after_an_early_close_for_the_connection_limit_is_read_not_dropped() {
    use pixelscope_capture::CaptureLimits;
    let other = |port: u16| ([10, 0, 0, 3], port);
    let frames = vec![
        tcp_frame(CLIENT, SERVER, 100, 0, SYN, b""),
        tcp_frame(SERVER, CLIENT, 500, 101, SYN | ACK, b""),
        tcp_frame(
            CLIENT,
            SERVER,
            101,
            501,
            ACK | PSH,
            b"GET /a HTTP/1.1\r\n\r\n",
        ),
        // Two more connections: the table holds two, so the first goes.
        tcp_frame(other(50_001), SERVER, 7_000, 0, SYN, b""),
        tcp_frame(other(50_002), SERVER, 9_000, 0, SYN, b""),
        // The first connection carries on.
        tcp_frame(
            CLIENT,
            SERVER,
            120,
            501,
            ACK | PSH,
            b"GET /b HTTP/1.1\r\n\r\n",
        ),
    ];
    let reader = CaptureReader::new(Origin::file("built.pcap", None, InputFormat::Pcap))
        .with_limits(CaptureLimits {
            max_connections: 2,
            ..CaptureLimits::default()
        });
    let mut sink = CollectingSink::default();
    reader.read(pcap(&frames).as_slice(), &mut sink).unwrap();
    assert_eq!(sink.contract_breaches, Vec::<String>::new());
    assert_eq!(sink.streams[&0].to_server.bytes, b"GET /a HTTP/1.1\r\n\r\n");
    let reopened = sink.diagnostics_with("tcp.reopened");
    assert_eq!(reopened.len(), 1, "{:?}", sink.diagnostics);
    assert_eq!(reopened[0].origin.frames, Some(vec![6]));
    let later = sink
        .streams
        .values()
        .find(|s| s.to_server.bytes == b"GET /b HTTP/1.1\r\n\r\n")
        .expect("the later request is delivered");
    assert!(!later.info.saw_syn);
    assert_eq!(later.info.client.port(), 50_000);
}
