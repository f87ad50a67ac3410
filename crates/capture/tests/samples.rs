//! The reader over small real captures (samples/pcap, samples/lab), checked
//! against what Wireshark 4.0 (tshark) reports for the same files: packet
//! counts, stream ids, frame numbers, and each stream's reassembled bytes
//! (length and FNV-1a hash of `tshark -z follow,tcp,raw,N`).

// Test helpers outside #[test] functions may fail loudly, like the tests.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use pixelscope_capture::testing::CollectingSink;
use pixelscope_capture::{CaptureReader, CaptureSummary, Direction};
use pixelscope_model::{InputFormat, Origin};
use std::path::PathBuf;

fn sample(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(path)
}

fn read(path: &str) -> (CaptureSummary, CollectingSink) {
    let file = std::fs::File::open(sample(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let reader = CaptureReader::new(Origin::file(path, None, InputFormat::Pcap));
    let mut sink = CollectingSink::default();
    let summary = reader
        .read(file, &mut sink)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(sink.contract_breaches, Vec::<String>::new(), "{path}");
    assert!(
        sink.streams.values().all(|s| s.closed),
        "{path}: every stream is closed at the end"
    );
    (summary, sink)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// (stream, client bytes, client hash, server bytes, server hash) from
/// `tshark -q -z follow,tcp,raw,N`.
type Follow = (u64, usize, u64, usize, u64);

fn assert_streams_match(path: &str, sink: &CollectingSink, expected: &[Follow]) {
    assert_eq!(sink.streams.len(), expected.len(), "{path}: stream count");
    for (stream, c_len, c_hash, s_len, s_hash) in expected {
        let s = &sink.streams[stream];
        let c = s.direction(Direction::ToServer);
        let r = s.direction(Direction::ToClient);
        assert_eq!(
            (c.bytes.len(), fnv(&c.bytes)),
            (*c_len, *c_hash),
            "{path}: stream {stream} client bytes"
        );
        assert_eq!(
            (r.bytes.len(), fnv(&r.bytes)),
            (*s_len, *s_hash),
            "{path}: stream {stream} server bytes"
        );
        assert!(
            c.gaps.is_empty() && r.gaps.is_empty(),
            "{path}: stream {stream} has no gap"
        );
    }
}

const HTTP_PCAP: &[Follow] = &[
    (0, 479, 0x6f3d671c51d7c49d, 18364, 0xa0d9e1efe017dbef),
    (1, 721, 0x44efb9e84e69beb1, 1590, 0xa371087ed1cf3a3f),
];

const OUT_OF_ORDER: &[Follow] = &[
    (0, 6831, 0x36ada088ca4dab5a, 118898, 0xefa7a2185c183607),
    (1, 5617, 0x365b6f026447ec47, 37524, 0x62bfeb7b46bed4b0),
    (2, 1921, 0x10c126979e8bb5be, 473, 0x3951ebc4bda64df0),
    (3, 4922, 0xe66df0dd8de62732, 11976, 0xf64950305f35b2cf),
    (4, 432, 0x48950721015e61e4, 135, 0x72fd1a9b9f009480),
    (5, 474, 0xfbc5ec4dd67811af, 208, 0xd52fc5d522cbd834),
    (6, 463, 0xac9c3b91e840d0af, 1235, 0x2fa9a9671261cd29),
    (7, 461, 0x3d11a4950fbecc85, 387, 0x4733a478a73d6fa9),
    (8, 1110, 0xf6ba038ba956229a, 18048, 0xa6b8111de1494167),
    (9, 555, 0x3f08aea02994ec2c, 9670, 0xebf51e30e0900856),
    (10, 631, 0x99b07f053281ec90, 0, 0xcbf29ce484222325),
];

const LAB_HTTP1: &[Follow] = &[
    (0, 10674, 0x1cc2ae112b395e15, 13701, 0x73f9e69cac187adf),
    (1, 0, 0xcbf29ce484222325, 0, 0xcbf29ce484222325),
    (2, 327, 0x5a3e12da50aab5f4, 5163, 0x2638f8916ecabc7e),
    (3, 8084, 0x92bd6187f6124d2a, 8422, 0xf760232457e4b10e),
    (4, 317, 0x1fb73c516dad2425, 5641, 0x593fdea0c78e4dc2),
    (5, 325, 0xce8f8a9314398aca, 5082, 0x62c6ab87de98501f),
    (6, 2681, 0xe53cc4666d505bde, 4927, 0x536eb9ab97a73930),
    (7, 3331, 0x61afc8ea6e0691ff, 2627, 0x1ad04ecd5861d6d1),
    (8, 2286, 0x1859e16ae48b5eb2, 645, 0x224d9ec67326263d),
    (9, 4376, 0x3782f52cb3841de7, 2003, 0xcc0acb0271a4a1d4),
    (10, 2818, 0xbadb17ae085ce476, 1092, 0x1304199d4c32695b),
    (11, 3919, 0xea98c74476449096, 1840, 0x567a8e633b4c65ce),
    (12, 6766, 0xacdea852feb539e1, 2944, 0xdb436f56f5cca41d),
    (13, 302, 0x4b99f486dbef8817, 4175, 0xc5e44698ba5f65c0),
    (14, 308, 0xb9464f1a095f34df, 4392, 0xe407609092a64a20),
    (15, 312, 0x43f88b11de2a2b17, 4437, 0x5208d7b1357e50df),
    (16, 4784, 0x5a745d15b1df7e13, 1754, 0x815c19ad92d21c29),
    (17, 1672, 0xbc20a9702b6bd4a9, 272, 0xa7d9e31a72923641),
    (18, 1830, 0xf34068303188cb32, 430, 0x8c6921a4660651e1),
    (19, 1496, 0x82f1da32307116ed, 430, 0x8c6921a4660651e1),
    (20, 1547, 0x68150fb66048dae8, 430, 0x8c6921a4660651e1),
    (21, 2382, 0x9ba334017f3f1022, 645, 0xfdaf8f5dd09bc71f),
    (22, 2282, 0xbaef923d547ba114, 645, 0xfdaf8f5dd09bc71f),
    (23, 1913, 0xa5ab06879d329335, 430, 0x8c6921a4660651e1),
    (24, 1879, 0x7649f8e5d56ce391, 430, 0x8c6921a4660651e1),
    (25, 307, 0x794ad30a7105efd8, 4576, 0x93e3bfceb85c70fb),
    (26, 3230, 0x41889ee5eef1c388, 1472, 0x6ac8343b37628014),
    (27, 2496, 0xde83548e4338d88e, 1104, 0xe2b3eb345b0d73c5),
    (28, 598, 0x759770a9009040d8, 215, 0xcbcfba5dd2a9fabd),
    (29, 1232, 0x66961121f617586a, 215, 0xcbcfba5dd2a9fabd),
    (30, 1215, 0xa99cc0303497a05c, 215, 0xcbcfba5dd2a9fabd),
];

#[test]
fn classic_http_capture_matches_wireshark() {
    let (summary, sink) = read("pcap/http.pcap");
    assert_eq!(
        (
            summary.packets,
            summary.tcp_streams,
            summary.link_types.clone()
        ),
        (43, 2, vec![1])
    );
    assert_streams_match("http.pcap", &sink, HTTP_PCAP);
    let first = &sink.streams[&0];
    assert!(
        first
            .to_server
            .bytes
            .starts_with(b"GET /download.html HTTP/1.1\r\n")
    );
    assert_eq!(first.info.first_frame, 1);
    assert!(first.info.saw_syn);
    assert_eq!(first.info.server.port(), 80);
    // Frame numbers as Wireshark shows them.
    assert_eq!(first.to_server.frames, vec![4]);
    assert_eq!(
        first.to_client.frames,
        vec![6, 8, 10, 11, 14, 16, 20, 21, 23, 29, 31, 32, 34, 38]
    );
    assert_eq!(sink.streams[&1].to_server.frames, vec![18]);
    // Frame 36 repeats frame 26 (a retransmission): its bytes were already there.
    assert_eq!(sink.streams[&1].to_client.frames, vec![26, 27]);
    // The DNS answer in frame 17: the queried name and its CNAME chain.
    let hosts: Vec<(&str, u64)> = sink
        .contacts
        .iter()
        .map(|c| (c.host.as_str(), c.frames[0]))
        .collect();
    assert_eq!(
        hosts,
        vec![
            ("pagead2.googlesyndication.com", 17),
            ("pagead2.google.com", 17),
            ("pagead.google.akadns.net", 17),
            ("pagead.google.akadns.net", 17),
        ]
    );
    assert!(sink.contacts.iter().all(|c| c.via == "dns"));
    assert_eq!(summary.datagrams, 2);
    assert!(sink.diagnostics.is_empty());
}

#[test]
fn retransmitted_and_reordered_segments_reassemble_like_wireshark() {
    let (summary, sink) = read("pcap/out-of-order-first400.pcap");
    assert_eq!((summary.packets, summary.tcp_streams), (400, 11));
    assert_streams_match("out-of-order-first400.pcap", &sink, OUT_OF_ORDER);
    assert!(
        sink.streams[&0]
            .to_server
            .bytes
            .starts_with(b"GET / HTTP/1.1\r\n")
    );
    // Stream 5 ends with FIN in both directions; the others are still open
    // at the end of the file and close then, in stream order.
    assert_eq!(sink.close_order, vec![5, 0, 1, 2, 3, 4, 6, 7, 8, 9, 10]);
}

#[test]
fn lab_capture_matches_wireshark() {
    let (summary, sink) = read("lab/http1/capture.pcapng");
    assert_eq!((summary.packets, summary.tcp_streams), (514, 31));
    assert_eq!(summary.format, InputFormat::Pcapng);
    assert_streams_match("lab/http1/capture.pcapng", &sink, LAB_HTTP1);
    assert!(
        sink.streams[&0]
            .to_server
            .bytes
            .starts_with(b"GET / HTTP/1.1\r\n")
    );
    assert!(sink.diagnostics.is_empty());
}

#[test]
fn link_layers_and_ip_versions() {
    // (file, packets, TCP streams, UDP datagrams, link types)
    let cases: &[(&str, u64, u64, u64, &[u32])] = &[
        ("pcap/dns.pcap", 5, 0, 5, &[1]), // VLAN + PPPoE, pcapng despite its name
        ("pcap/discord_mid_flow.pcap", 40, 0, 40, &[1]), // VLAN + PPPoE
        ("pcap/http2.pcapng", 10, 1, 0, &[113]), // Linux SLL
        ("pcap/tls_sll2.pcap", 71, 4, 0, &[276]), // Linux SLL2
        ("pcap/selfsigned.pcap", 20, 1, 0, &[0]), // BSD NULL
        ("pcap/hls.pcapng", 13, 1, 0, &[101]), // raw IP
        ("pcap/dlt_ppp.pcap", 1, 0, 1, &[9]), // PPP
        ("pcap/http_ip4and6.pcapng", 20, 2, 0, &[1]), // IPv4 and IPv6
        ("pcap/curl-thread.pcapng", 10, 1, 0, &[1]), // ptcpdump, many interfaces
        ("pcap/ip_frag_source.pcapng", 6, 0, 0, &[1]), // fragmented ICMP
        ("pcap/ipv6_fragments.pcapng", 22, 0, 0, &[1]), // fragmented ICMPv6
    ];
    for (path, packets, streams, datagrams, links) in cases {
        let (summary, sink) = read(path);
        assert_eq!(
            (
                summary.packets,
                summary.tcp_streams,
                summary.datagrams,
                summary.link_types.as_slice()
            ),
            (*packets, *streams, *datagrams, *links),
            "{path}"
        );
        assert!(
            sink.diagnostics.is_empty(),
            "{path}: {:?}",
            sink.diagnostics
        );
    }
    let (_, sink) = read("pcap/http_ip4and6.pcapng");
    assert!(
        sink.streams
            .values()
            .any(|s| s.info.client.is_ipv6() && s.to_server.bytes.starts_with(b"GET /"))
    );
    assert!(
        sink.streams
            .values()
            .any(|s| s.info.client.is_ipv4() && s.to_server.bytes.starts_with(b"GET /"))
    );
}

#[test]
fn nanosecond_timestamps_are_kept() {
    let (_, sink) = read("pcap/http2.pcapng");
    // tshark: frame.time_epoch 1591863460.344658428
    assert_eq!(
        sink.streams[&0].info.first_time.to_string(),
        "2020-06-11T08:17:40.344658428Z"
    );
    let (_, sink) = read("pcap/curl-thread.pcapng");
    assert_eq!(
        sink.streams[&0].info.first_time.to_string(),
        "2024-12-21T02:00:37.400239166Z"
    );
}

#[test]
fn unsupported_link_type_is_reported_once_naming_the_first_frame() {
    // PPI (192), in a nanosecond pcap.
    let (summary, sink) = read("pcap/someip_sd_sample.pcap");
    assert_eq!(summary.packets, 6);
    let found = sink.diagnostics_with("capture.link-unsupported");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].origin.frames, Some(vec![1]));
    assert!(found[0].message.contains("192"), "{}", found[0].message);
}

#[test]
fn decryption_secrets_reach_the_sink() {
    let (summary, sink) = read("pcap/illustrated-tls13.with-dsb.pcapng");
    assert_eq!(
        (summary.packets, summary.secrets_blocks, summary.tcp_streams),
        (22, 1, 1)
    );
    assert_eq!(sink.secrets.len(), 1);
    assert!(sink.secrets[0].starts_with(b"SERVER_HANDSHAKE_TRAFFIC_SECRET "));
}

#[test]
fn dns_over_fragmented_udp_is_reassembled() {
    let (summary, sink) = read("pcap/dns_fragmented.pcap");
    assert_eq!((summary.packets, summary.tcp_streams), (66, 2));
    assert!(sink.diagnostics.is_empty(), "{:?}", sink.diagnostics);
    // A reassembled answer names both fragments' frames.
    assert!(
        sink.contacts.iter().any(|c| c.frames.len() == 2),
        "{:?}",
        sink.contacts
    );
    let hosts: Vec<(&str, &[u64])> = sink
        .contacts
        .iter()
        .map(|c| (c.host.as_str(), c.frames.as_slice()))
        .collect();
    // tshark shows the answer in frame 6, reassembled from frames 5 and 6.
    assert_eq!(hosts[0], ("pa.weberlab.de", &[5u64, 6][..]));
    assert!(hosts.contains(&("formel1.de", &[33][..])), "{hosts:?}");
}

#[test]
fn an_empty_file_is_an_error() {
    let reader = CaptureReader::new(Origin::default());
    let mut sink = CollectingSink::default();
    let error = reader
        .read(
            std::fs::File::open(sample("pcap/empty.pcap")).unwrap(),
            &mut sink,
        )
        .unwrap_err();
    assert_eq!(error.to_string(), "the capture file is empty (0 bytes)");
}
