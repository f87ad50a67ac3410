//! The TLS layer on real captures (see samples/README.md, section TLS).
//!
//! Expected plaintext comes from tshark 4.0.17 (`tshark-plaintext.txt`:
//! length and SHA-256 per stream and direction), so these tests check that
//! the layer recovers exactly the bytes Wireshark does.

// The workspace denies these outside `#[test]` functions; the fixture
// helpers here are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Recorder, Segment, replay, sample, segments};
use pixelscope_capture::Direction::{ToClient, ToServer};
use pixelscope_capture::{Chunk, ConnectionInfo, Direction, StreamSink};
use pixelscope_model::{InputFormat, Origin, Severity, Timestamp};
use pixelscope_tls::{KeyLog, TlsLayer};
use sha2::{Digest, Sha256};

fn origin() -> Origin {
    Origin::file("capture.pcapng", None, InputFormat::Pcapng)
}

fn keylog(name: &str) -> KeyLog {
    let (log, problems) = KeyLog::parse(&sample(name));
    assert!(problems.is_empty(), "{problems:?}");
    log
}

/// Runs a fixture through the layer. Keys named `*_dsb.keys` are given the
/// way a pcapng Decryption Secrets Block delivers them: through `secrets`.
fn run_segments(segs: &[Segment], keys: &str) -> Recorder {
    let (log, dsb) = if keys.contains("_dsb") {
        (KeyLog::new(), Some(sample(keys)))
    } else {
        (keylog(keys), None)
    };
    let mut layer = TlsLayer::new(log, Recorder::default(), origin());
    if let Some(text) = dsb {
        layer.secrets(&text);
    }
    replay(segs, &mut layer);
    layer.into_inner()
}

fn run(fixture: &str, keys: &str) -> Recorder {
    run_segments(&segments(fixture), keys)
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `(stream, direction, length, sha256)` tshark recovered for a fixture.
fn tshark_plaintext(fixture: &str) -> Vec<(u64, Direction, usize, String)> {
    String::from_utf8(sample("tshark-plaintext.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .filter(|f| f[0] == fixture)
        .map(|f| {
            (
                f[1].parse().unwrap(),
                if f[2] == "c" { ToServer } else { ToClient },
                f[3].parse().unwrap(),
                f[4].to_string(),
            )
        })
        .collect()
}

fn assert_matches_tshark(fixture: &str, recorder: &Recorder) {
    let expected = tshark_plaintext(fixture);
    assert!(!expected.is_empty());
    for (stream, direction, len, sha) in expected {
        let flow = recorder.flow(stream, direction);
        assert!(
            flow.gaps.is_empty(),
            "{fixture} stream {stream} {direction:?}: gaps {:?}",
            flow.gaps
        );
        assert_eq!(
            flow.data.len(),
            len,
            "{fixture} stream {stream} {direction:?}"
        );
        assert_eq!(
            digest(&flow.data),
            sha,
            "{fixture} stream {stream} {direction:?}"
        );
    }
}

fn problems(recorder: &Recorder) -> Vec<String> {
    recorder
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect()
}

#[test]
fn tls13_and_tls12_aead_suites_with_keys_from_a_dsb_match_tshark() {
    // TLS 1.3 AES-128-GCM and ChaCha20, TLS 1.2 ECDHE-RSA AES-128-GCM and
    // ChaCha20-Poly1305.
    let r = run("tls_dsb.segments", "tls_dsb.keys");
    assert_matches_tshark("tls_dsb", &r);
    assert!(problems(&r).is_empty(), "{:?}", problems(&r));
    let versions: Vec<Option<&str>> = r.opened.values().map(|i| i.tls.as_deref()).collect();
    assert_eq!(
        versions,
        [Some("1.3"), Some("1.3"), Some("1.2"), Some("1.2")]
    );
    assert!(
        r.flow(0, ToServer)
            .data
            .starts_with(b"GET /pixel?ev=PageView HTTP/1.1\r\n")
    );
    assert_eq!(r.closed, [0, 1, 2, 3]);
}

#[test]
fn tls13_aes256_with_hello_retry_reports_the_h2_alpn() {
    let r = run("h2_dsb.segments", "h2_dsb.keys");
    assert_matches_tshark("h2_dsb", &r);
    assert!(problems(&r).is_empty(), "{:?}", problems(&r));
    let info = &r.opened[&0];
    assert_eq!(
        (info.tls.as_deref(), info.alpn.as_deref()),
        (Some("1.3"), Some("h2"))
    );
    assert!(
        r.flow(0, ToServer)
            .data
            .starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    );
}

#[test]
fn illustrated_tls13_ping_pong_points_at_its_frames() {
    let r = run("illustrated-tls13.segments", "illustrated-tls13.keys");
    assert_matches_tshark("illustrated-tls13", &r);
    assert!(problems(&r).is_empty(), "{:?}", problems(&r));
    let info = &r.opened[&0];
    assert_eq!(info.server_name.as_deref(), Some("example.ulfheim.net"));
    assert_eq!(info.tls.as_deref(), Some("1.3"));
    let up = r.flow(0, ToServer);
    let down = r.flow(0, ToClient);
    assert_eq!(
        (up.data.as_slice(), down.data.as_slice()),
        (&b"ping"[..], &b"pong"[..])
    );
    // Frames 11 and 17 carry the two application data records.
    assert_eq!(up.chunks, [(0, 4, vec![11])]);
    assert_eq!(down.chunks, [(0, 4, vec![17])]);
}

#[test]
fn tls12_cbc_gcm_sha384_and_deflate_compressed_suites_match_tshark() {
    // ECDHE-RSA-AES256-GCM-SHA384, ECDHE-RSA-AES256-SHA384 (CBC),
    // ECDHE-RSA-AES256-SHA, DHE-RSA-AES256-SHA256, AES256-GCM-SHA384,
    // ECDHE-ECDSA-AES128-GCM-SHA256, AES128-GCM-SHA256, AES128-SHA256;
    // these 2013 sessions also negotiated TLS-level DEFLATE compression.
    let r = run("all-suites.segments", "all-suites.keys");
    assert_matches_tshark("all-suites", &r);
    // 3DES and RC4 are reported, not guessed at.
    let codes: Vec<(&str, Option<u64>)> = r
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.origin.stream))
        .collect();
    assert_eq!(
        codes,
        [
            ("tls.unsupported-cipher", Some(30)),
            ("tls.unsupported-cipher", Some(63))
        ]
    );
    assert!(r.diagnostics[0].message.contains("0x000a"));
}

#[test]
fn tls10_cbc_with_implicit_ivs_and_resumed_sessions_match_tshark() {
    let r = run("fhs_ssl.segments", "fhs_ssl.keys");
    assert_matches_tshark("fhs_ssl", &r);
    assert!(problems(&r).is_empty(), "{:?}", problems(&r));
    assert!(r.opened.values().all(|i| i.tls.as_deref() == Some("1.0")));
    assert!(
        r.flow(11, ToServer)
            .data
            .starts_with(b"GET /fhs/dir-closed.png HTTP/1.1\r\n")
    );
}

#[test]
fn null_cipher_plaintext_is_read_without_keys() {
    let r = run_segments(&segments("tls-null.segments"), "illustrated-tls13.keys");
    assert_matches_tshark("tls-null", &r);
    assert_eq!(r.codes(), ["tls.null-cipher"]);
}

#[test]
fn a_connection_without_keys_names_its_client_random_and_leaves_a_contact() {
    let r = run("nokeys.segments", "fhs_ssl.keys");
    assert_eq!(r.diagnostics.len(), 1);
    let d = &r.diagnostics[0];
    assert_eq!(
        (d.code.as_str(), d.severity, d.origin.stream),
        ("tls.no-key", Severity::Warning, Some(0))
    );
    assert!(
        d.message
            .contains("c2d5becda8c94e94bf08a2b93c266939819873655de4cc7316a027696ef4de10"),
        "{}",
        d.message
    );
    assert!(d.message.contains("lekensteyn.nl"));
    assert_eq!(r.contacts.len(), 1);
    let c = &r.contacts[0];
    assert_eq!(
        (c.host.as_str(), c.via, c.stream, c.frames.as_slice()),
        ("lekensteyn.nl", "tls-sni", Some(0), &[4][..])
    );
    assert_eq!(c.server, Some("178.21.112.251:443".parse().unwrap()));
    let info = &r.opened[&0];
    assert_eq!(
        (info.tls.as_deref(), info.server_name.as_deref()),
        (Some("1.2"), Some("lekensteyn.nl"))
    );
    assert!(
        r.flows.is_empty(),
        "no ciphertext is passed on as if it were plaintext"
    );
    assert_eq!(r.closed, [0]);
}

/// Index of the first segment of `stream`.
fn first_segment_of(segs: &[Segment], wanted: u64) -> usize {
    segs.iter()
        .position(|s| matches!(s, Segment::Tcp { stream, .. } if *stream == wanted))
        .unwrap()
}

#[test]
fn secrets_arriving_mid_capture_apply_to_the_handshakes_that_follow() {
    let segs = segments("tls_dsb.segments");
    let split = first_segment_of(&segs, 2);
    let mut layer = TlsLayer::new(KeyLog::new(), Recorder::default(), origin());
    replay(&segs[..split], &mut layer);
    layer.secrets(&sample("tls_dsb.keys"));
    assert_eq!(
        layer.keylog().len(),
        10,
        "8 TLS 1.3 traffic secrets and 2 master secrets"
    );
    replay(&segs[split..], &mut layer);
    let r = layer.into_inner();
    let no_key: Vec<Option<u64>> = r
        .diagnostics
        .iter()
        .filter(|d| d.code == "tls.no-key")
        .map(|d| d.origin.stream)
        .collect();
    assert_eq!(no_key, [Some(0), Some(1)]);
    assert!(r.flow(0, ToServer).data.is_empty());
    assert!(
        r.flow(2, ToServer)
            .data
            .starts_with(b"GET /collect?en=purchase")
    );
    assert!(r.flow(3, ToServer).data.starts_with(b"GET /g/collect?en=x"));
}

/// The ToClient segments of `stream` that carry payload.
fn server_segments(segs: &[Segment], wanted: u64) -> Vec<usize> {
    let client = segs.iter().find_map(|s| match s {
        Segment::Tcp { stream, src, .. } if *stream == wanted => Some(*src),
        _ => None,
    });
    segs.iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Segment::Tcp { stream, src, payload, .. } if *stream == wanted && Some(*src) != client && !payload.is_empty()))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn a_corrupted_record_costs_only_its_own_plaintext() {
    let mut segs = segments("tls_dsb.segments");
    // Frame 10 carries the first TLS 1.3 NewSessionTicket of stream 0 under
    // the server's application keys; damage a byte inside it.
    let at = server_segments(&segs, 0)[1];
    if let Segment::Tcp { frame, payload, .. } = &mut segs[at] {
        assert_eq!(*frame, 10);
        payload[40] ^= 0x55;
    }
    let r = run_segments(&segs, "tls_dsb.keys");
    assert_eq!(r.codes(), ["tls.decrypt-failed"]);
    let d = &r.diagnostics[0];
    assert_eq!(
        (d.origin.stream, d.severity, d.origin.frames.as_deref()),
        (Some(0), Severity::Error, Some(&[10][..]))
    );
    // The record's content is unknown, so the HTTP layer is told that
    // something may be missing; the records after it still decrypt.
    let down = r.flow(0, ToClient);
    assert_eq!(down.gaps.len(), 1);
    assert!(down.data.starts_with(b"HTTP/1.0 200 ok"));
    assert_matches_data("tls_dsb", &r);
}

/// Compares the plaintext bytes with tshark's, ignoring gaps.
fn assert_matches_data(fixture: &str, r: &Recorder) {
    for (stream, direction, len, sha) in tshark_plaintext(fixture) {
        let flow = r.flow(stream, direction);
        assert_eq!(
            (flow.data.len(), digest(&flow.data)),
            (len, sha),
            "stream {stream} {direction:?}"
        );
    }
}

#[test]
fn wrong_keys_give_diagnostics_not_garbage() {
    let text = String::from_utf8(sample("tls_dsb.keys")).unwrap();
    // Change the last hex digit of every secret.
    let wrong: String = text
        .lines()
        .map(|l| {
            let mut l = l.to_string();
            let last = l.pop().unwrap();
            l.push(if last == '0' { '1' } else { '0' });
            l + "\n"
        })
        .collect();
    let (log, problems) = KeyLog::parse(wrong.as_bytes());
    assert!(problems.is_empty());
    let mut layer = TlsLayer::new(log, Recorder::default(), origin());
    replay(&segments("tls_dsb.segments"), &mut layer);
    let r = layer.into_inner();
    assert!(r.flows.values().all(|f| f.data.is_empty()));
    let mut failed: Vec<Option<u64>> = r
        .diagnostics
        .iter()
        .filter(|d| d.code == "tls.decrypt-failed")
        .map(|d| d.origin.stream)
        .collect();
    failed.dedup();
    assert_eq!(failed, [Some(0), Some(1), Some(2), Some(3)]);
    assert_eq!(r.closed, [0, 1, 2, 3]);
}

#[test]
fn a_capture_cut_inside_a_record_is_reported() {
    let mut segs = segments("illustrated-tls13.segments");
    // Frame 17 carries the "pong" record; keep only its first 10 bytes.
    let at = segs
        .iter()
        .position(|s| matches!(s, Segment::Tcp { frame: 17, .. }))
        .unwrap();
    if let Segment::Tcp { payload, .. } = &mut segs[at] {
        payload.truncate(10);
    }
    segs.truncate(at + 1);
    let r = run_segments(&segs, "illustrated-tls13.keys");
    assert_eq!(r.codes(), ["tls.truncated-record"]);
    assert_eq!(r.diagnostics[0].origin.frames, Some(vec![17]));
    assert_eq!(r.flow(0, ToServer).data, b"ping");
    assert!(r.flow(0, ToClient).data.is_empty());
}

#[test]
fn a_tcp_gap_stops_that_direction_only() {
    let mut segs = segments("tls_dsb.segments");
    // Drop frame 11 (a NewSessionTicket record) of stream 0's server side.
    let server = server_segments(&segs, 0);
    segs.remove(server[2]);
    let r = run_segments(&segs, "tls_dsb.keys");
    assert_eq!(r.codes(), ["tls.gap"]);
    assert_eq!(r.diagnostics[0].origin.stream, Some(0));
    // Record boundaries are lost after a gap: nothing is guessed.
    let down = r.flow(0, ToClient);
    assert_eq!(down.gaps.len(), 1);
    assert!(down.data.is_empty());
    for (stream, direction, len, sha) in tshark_plaintext("tls_dsb") {
        if (stream, direction) != (0, ToClient) {
            let flow = r.flow(stream, direction);
            assert_eq!(
                (flow.data.len(), digest(&flow.data)),
                (len, sha),
                "stream {stream} {direction:?}"
            );
        }
    }
}

#[test]
fn plaintext_connections_pass_through_unchanged() {
    let mut layer = TlsLayer::new(KeyLog::new(), Recorder::default(), origin());
    let info = ConnectionInfo {
        stream: 7,
        client: "10.0.0.1:50000".parse().unwrap(),
        server: "10.0.0.2:80".parse().unwrap(),
        first_frame: 1,
        first_time: Timestamp(0),
        saw_syn: true,
        tls: None,
        alpn: None,
        server_name: None,
    };
    layer.connection_opened(&info);
    let chunk = |direction, offset, data: &'static [u8], frame: &'static [u64]| Chunk {
        stream: 7,
        direction,
        offset,
        data,
        frames: frame,
        time: Timestamp(5),
    };
    layer.data(chunk(ToServer, 0, b"GET /tr?id=1 HTTP/1.1\r\n", &[4]));
    layer.gap(7, ToServer, 23..30, 5);
    layer.data(chunk(ToServer, 30, b"\r\n", &[6]));
    layer.data(chunk(
        ToClient,
        0,
        b"HTTP/1.1 204 No Content\r\n\r\n",
        &[7, 8],
    ));
    layer.connection_closed(7);
    let r = layer.into_inner();
    assert_eq!(r.opened[&7], info);
    assert_eq!(r.flow(7, ToServer).data, b"GET /tr?id=1 HTTP/1.1\r\n\r\n");
    assert_eq!(r.flow(7, ToServer).gaps.first(), Some(&(23..30)));
    assert_eq!(r.flow(7, ToClient).chunks, [(0, 27, vec![7, 8])]);
    assert!(r.diagnostics.is_empty());
    assert_eq!(r.closed, [7]);
}

#[test]
fn quic_initials_reveal_the_tracker_hosts() {
    let segs = segments("h3-initials.segments");
    let r = run_segments(&segs, "illustrated-tls13.keys");
    let hosts: Vec<(&str, &str)> = r
        .contacts
        .iter()
        .map(|c| (c.host.as_str(), c.via))
        .collect();
    assert_eq!(
        hosts,
        [
            ("www.capturelab.test", "quic-sni"),
            ("www.googletagmanager.com", "quic-sni"),
            ("analytics.tiktok.com", "quic-sni"),
            ("connect.facebook.net", "quic-sni"),
            ("snap.licdn.com", "quic-sni"),
            ("bat.bing.com", "quic-sni"),
        ]
    );
    // Chrome's ClientHello spans two Initial packets: both are evidence.
    assert_eq!(r.contacts[2].frames, [22, 23]);
    assert_eq!(
        r.contacts[2].server,
        Some("127.0.0.11:443".parse().unwrap())
    );
    assert_eq!(r.datagrams, segs.len(), "every datagram is still passed on");
}

#[test]
fn unusable_lines_in_embedded_secrets_are_reported_once() {
    let mut layer = TlsLayer::new(KeyLog::new(), Recorder::default(), origin());
    layer.secrets(b"# comment\nCLIENT_RANDOM zz 00\ngarbage\r\n");
    let r = layer.into_inner();
    assert_eq!(r.codes(), ["tls.keylog-invalid"]);
    assert!(
        r.diagnostics[0].message.starts_with("2 unusable line(s)"),
        "{}",
        r.diagnostics[0].message
    );
}

#[test]
fn hostile_bytes_never_panic_and_never_stop_other_connections() {
    let original = segments("tls_dsb.segments");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let keyed: Vec<usize> = (0..original.len()).filter(|&i| matches!(&original[i], Segment::Tcp { payload, stream: 0, .. } if !payload.is_empty())).collect();
    for round in 0..40 {
        let mut segs = original.clone();
        // Damage stream 0 only: flip, cut or drop.
        for _ in 0..1 + round % 4 {
            let at = keyed[(next() % keyed.len() as u64) as usize];
            if let Segment::Tcp { payload, .. } = &mut segs[at] {
                match next() % 3 {
                    0 => {
                        let i = (next() % payload.len() as u64) as usize;
                        payload[i] ^= (next() % 255 + 1) as u8;
                    }
                    1 => payload.truncate((next() % payload.len() as u64) as usize),
                    _ => payload.iter_mut().for_each(|b| *b = next() as u8),
                }
            }
        }
        let r = run_segments(&segs, "tls_dsb.keys");
        for (stream, direction, len, sha) in tshark_plaintext("tls_dsb") {
            if stream != 0 {
                let flow = r.flow(stream, direction);
                assert_eq!(
                    (flow.data.len(), digest(&flow.data)),
                    (len, sha),
                    "round {round} stream {stream}"
                );
            }
        }
    }
}

/// Found by the `tls` fuzz target: a connection that began with more than
/// 64 gaps before its first byte lost the later gaps, so the layer above
/// saw data at offset 70 while it expected 64. Adjacent gaps are now
/// merged, and none is dropped.
#[test]
fn many_gaps_before_the_first_byte_all_reach_the_layer_above() {
    use pixelscope_capture::testing::CollectingSink;
    let mut layer = TlsLayer::new(KeyLog::new(), CollectingSink::default(), origin());
    layer.connection_opened(&ConnectionInfo {
        stream: 3,
        client: "192.0.2.10:51000".parse().unwrap(),
        server: "198.51.100.5:80".parse().unwrap(),
        first_frame: 1,
        first_time: Timestamp(0),
        saw_syn: false,
        tls: None,
        alpn: None,
        server_name: None,
    });
    for i in 0..70u64 {
        layer.gap(3, ToServer, i..i + 1, i + 1);
    }
    let request = b"GET / HTTP/1.1\r\n\r\n";
    layer.data(Chunk {
        stream: 3,
        direction: ToServer,
        offset: 70,
        data: request,
        frames: &[71],
        time: Timestamp(1),
    });
    layer.connection_closed(3);
    let sink = layer.into_inner();
    assert_eq!(sink.contract_breaches, Vec::<String>::new());
    let to_server = &sink.streams[&3].to_server;
    assert_eq!(to_server.gaps, vec![0..70]);
    assert_eq!(to_server.bytes, request);
}

/// Plays a `fuzz/` connection script (format in fuzz/src/script.rs: a
/// flags byte, then `[op][len: u16 LE][data]` records; op bit 0 is the
/// direction, bit 1 a gap) into `layer` as the capture reader would.
fn play_script(bytes: &[u8], layer: &mut impl StreamSink) {
    layer.connection_opened(&ConnectionInfo {
        stream: 7,
        client: "192.0.2.10:51000".parse().unwrap(),
        server: "198.51.100.5:443".parse().unwrap(),
        first_frame: 1,
        first_time: Timestamp(0),
        saw_syn: bytes[0] & 2 != 0,
        tls: None,
        alpn: None,
        server_name: None,
    });
    let mut offsets = [0u64; 2];
    let mut frame = 1;
    let mut rest = &bytes[1..];
    while rest.len() >= 3 {
        let (op, len) = (rest[0], usize::from(u16::from_le_bytes([rest[1], rest[2]])));
        rest = &rest[3..];
        let direction = if op & 1 == 0 { ToServer } else { ToClient };
        let i = usize::from(op & 1);
        frame += 1;
        if op & 2 != 0 {
            layer.gap(7, direction, offsets[i]..offsets[i] + len as u64, frame);
            offsets[i] += len as u64;
            continue;
        }
        let data = &rest[..len.min(rest.len())];
        rest = &rest[data.len()..];
        layer.data(Chunk {
            stream: 7,
            direction,
            offset: offsets[i],
            data,
            frames: &[frame],
            time: Timestamp(frame as i64),
        });
        offsets[i] += data.len() as u64;
    }
    layer.connection_closed(7);
}

/// Found by the `tls` fuzz target, on lab TLS 1.3 connections whose
/// server records the fuzzer damaged (inputs kept in samples/bad/fuzz/):
/// - `tls-server-record-lost`: a record that failed to decrypt before
///   anything else was decrypted still moved the plaintext offset, so the
///   first plaintext arrived at offset 38 with no gap before it (or a gap
///   reached the layer above before the connection was announced);
/// - `tls-empty-record-lost`: an empty application-data record that failed
///   to decrypt became an empty gap (8726..8726).
#[test]
fn records_that_fail_to_decrypt_leave_no_hole_and_no_empty_gap_above() {
    use pixelscope_capture::testing::CollectingSink;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples");
    for (name, keys) in [
        ("tls-server-record-lost", "h1tls"),
        ("tls-empty-record-lost", "h2"),
    ] {
        let script = std::fs::read(format!("{root}/bad/fuzz/{name}.script")).unwrap();
        let keys = std::fs::read(format!("{root}/lab/{keys}/sslkeys.log")).unwrap();
        let (log, _) = KeyLog::parse(&keys);
        let mut layer = TlsLayer::new(log, CollectingSink::default(), origin());
        play_script(&script, &mut layer);
        let sink = layer.into_inner();
        assert_eq!(sink.contract_breaches, Vec::<String>::new(), "{name}");
        assert!(
            !sink.diagnostics_with("tls.decrypt-failed").is_empty(),
            "{name}"
        );
    }
}
