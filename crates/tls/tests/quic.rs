//! QUIC on the capture lab's HTTP/3 capture (see samples/README.md,
//! sections lab and QUIC): every stream comes out byte for byte as tshark
//! 4.0.17 decrypts it (`samples/quic/tshark-streams.txt`), whether the key
//! log is given or embedded in the capture; without keys only SNI contacts
//! and `quic.no-key` diagnostics remain.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use pixelscope_capture::{
    CaptureReader, Contact, Direction, QuicChunk, QuicConnectionInfo, StreamSink,
};
use pixelscope_model::{Diagnostic, InputFormat, Origin};
use pixelscope_tls::{KeyLog, TlsLayer};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/../../samples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[derive(Default)]
struct Streams {
    opened: Vec<QuicConnectionInfo>,
    data: BTreeMap<(u64, u64, Direction), Vec<u8>>,
    fin: BTreeMap<(u64, u64, Direction), bool>,
    diagnostics: Vec<Diagnostic>,
    contacts: Vec<Contact>,
}

impl StreamSink for Streams {
    fn data(&mut self, _chunk: pixelscope_capture::Chunk<'_>) {}

    fn quic_connection_opened(&mut self, info: &QuicConnectionInfo) {
        self.opened.push(info.clone());
    }

    fn quic_stream(&mut self, chunk: QuicChunk<'_>) {
        let key = (chunk.connection, chunk.stream_id, chunk.direction);
        let data = self.data.entry(key).or_default();
        assert_eq!(chunk.offset, data.len() as u64, "in order, no overlap");
        assert!(!chunk.frames.is_empty());
        data.extend_from_slice(chunk.data);
        if chunk.fin {
            assert!(!self.fin.contains_key(&key), "one FIN per stream");
            self.fin.insert(key, true);
        }
    }

    fn contact(&mut self, contact: &Contact) {
        self.contacts.push(contact.clone());
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

fn read(capture: &str, keylog: KeyLog) -> Streams {
    let origin = Origin::file(capture, None, InputFormat::Pcapng);
    let mut layer = TlsLayer::new(keylog, Streams::default(), origin.clone());
    CaptureReader::new(origin)
        .read(sample(capture).as_slice(), &mut layer)
        .unwrap();
    layer.into_inner()
}

fn assert_matches_tshark(streams: &Streams) {
    let text = String::from_utf8(sample("quic/tshark-streams.txt")).unwrap();
    let mut checked = 0;
    for f in text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(' ').collect::<Vec<_>>())
    {
        let direction = if f[2] == "c" {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let key = (f[0].parse().unwrap(), f[1].parse().unwrap(), direction);
        let data = streams
            .data
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert_eq!(data.len(), f[3].parse::<usize>().unwrap(), "{f:?}");
        let digest: String = Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, f[4], "{f:?}");
        checked += 1;
    }
    // tshark fails on connection 10's server packets (see the fixture);
    // every other stream must be one it sees too.
    let ours = streams
        .data
        .keys()
        .filter(|(c, _, d)| (*c, *d) != (10, Direction::ToClient))
        .count();
    assert_eq!(checked, ours, "no stream tshark does not see");
    assert!(checked > 100);
    // Connection 10's server answered each of the client's requests.
    let requests = streams
        .data
        .keys()
        .filter(|(c, id, d)| *c == 10 && id % 4 == 0 && *d == Direction::ToServer)
        .count();
    let responses = streams
        .data
        .keys()
        .filter(|(c, id, d)| *c == 10 && id % 4 == 0 && *d == Direction::ToClient)
        .count();
    assert!(requests > 0 && responses == requests);
}

#[test]
fn lab_h3_streams_match_tshark_with_a_key_log() {
    let (keylog, problems) = KeyLog::parse(&sample("lab/h3/sslkeys.log"));
    assert!(problems.is_empty());
    let streams = read("lab/h3/capture.pcapng", keylog);
    assert_matches_tshark(&streams);
    let codes: Vec<&str> = streams
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert!(!codes.iter().any(|c| c.starts_with("quic.")), "{codes:?}");
    assert!(
        streams.contacts.is_empty(),
        "decrypted connections need no contact"
    );
    assert_eq!(streams.opened.len(), 20);
    let first = &streams.opened[0];
    assert_eq!(
        (
            first.connection,
            first.server_name.as_deref(),
            first.alpn.as_deref()
        ),
        (0, Some("www.capturelab.test"), Some("h3"))
    );
}

#[test]
fn lab_h3_streams_match_tshark_with_embedded_secrets() {
    let streams = read("lab/h3/capture-dsb.pcapng", KeyLog::new());
    assert_matches_tshark(&streams);
}

#[test]
fn without_keys_only_contacts_and_no_key_diagnostics_remain() {
    let streams = read("lab/h3/capture.pcapng", KeyLog::new());
    assert!(streams.data.is_empty());
    let no_key: Vec<&Diagnostic> = streams
        .diagnostics
        .iter()
        .filter(|d| d.code == "quic.no-key")
        .collect();
    assert_eq!(no_key.len(), 20, "one per connection");
    assert!(no_key[0].message.contains("client random "));
    assert_eq!(streams.contacts.len(), 20);
    assert!(streams.contacts.iter().all(|c| c.via == "quic-sni"));
    assert!(
        streams
            .contacts
            .iter()
            .any(|c| c.host == "analytics.tiktok.com")
    );
}

/// Passes datagrams on to a layer after damaging some: a flipped byte in
/// the last one of every seventh, and every eleventh cut short.
struct Damage<S>(S);

impl<S: StreamSink> StreamSink for Damage<S> {
    fn data(&mut self, chunk: pixelscope_capture::Chunk<'_>) {
        self.0.data(chunk);
    }

    fn secrets(&mut self, keylog: &[u8]) {
        self.0.secrets(keylog);
    }

    fn datagram(&mut self, datagram: pixelscope_capture::Datagram<'_>) {
        let mut data = datagram.data.to_vec();
        if datagram.frame.is_multiple_of(7)
            && let Some(last) = data.last_mut()
        {
            *last ^= 0x40;
        }
        if datagram.frame.is_multiple_of(11) {
            data.truncate(data.len() / 2);
        }
        self.0.datagram(pixelscope_capture::Datagram {
            data: &data,
            ..datagram
        });
    }
}

#[test]
fn damaged_datagrams_are_reported_and_the_rest_still_read() {
    let origin = Origin::file("capture-dsb.pcapng", None, InputFormat::Pcapng);
    let layer = TlsLayer::new(KeyLog::new(), Streams::default(), origin.clone());
    let mut damage = Damage(layer);
    CaptureReader::new(origin)
        .read(sample("lab/h3/capture-dsb.pcapng").as_slice(), &mut damage)
        .unwrap();
    let streams = damage.0.into_inner();
    let failed = streams
        .diagnostics
        .iter()
        .filter(|d| d.code == "quic.decrypt-failed")
        .count();
    assert!(failed > 0);
    assert!(failed <= 40, "at most one per connection and direction");
    assert!(streams.data.len() > 100, "undamaged packets are still read");
}
