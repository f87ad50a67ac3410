//! End to end: pcap files through the capture reader into the TLS layer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Recorder, sample};
use pixelscope_capture::CaptureReader;
use pixelscope_capture::Direction::{ToClient, ToServer};
use pixelscope_model::{InputFormat, Origin, Severity};
use pixelscope_tls::{KeyLog, TlsLayer};
use sha2::{Digest, Sha256};

fn read(capture: &str, keylog: KeyLog) -> Recorder {
    let origin = Origin::file(capture, None, InputFormat::Pcapng);
    let mut layer = TlsLayer::new(keylog, Recorder::default(), origin.clone());
    CaptureReader::new(origin)
        .read(sample(capture).as_slice(), &mut layer)
        .unwrap();
    layer.into_inner()
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn assert_matches_tshark(fixture: &str, r: &Recorder) {
    let text = String::from_utf8(sample("tshark-plaintext.txt")).unwrap();
    let mut checked = 0;
    for f in text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(' ').collect::<Vec<_>>())
    {
        if f[0] != fixture {
            continue;
        }
        let direction = if f[2] == "c" { ToServer } else { ToClient };
        let flow = r.flow(f[1].parse().unwrap(), direction);
        assert_eq!(
            flow.data.len(),
            f[3].parse::<usize>().unwrap(),
            "{fixture} {f:?}"
        );
        assert_eq!(digest(&flow.data), f[4], "{fixture} {f:?}");
        checked += 1;
    }
    assert!(checked > 0);
}

fn warnings(r: &Recorder) -> Vec<String> {
    r.diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect()
}

#[test]
fn keys_in_the_capture_decrypt_all_four_connections() {
    let r = read("tls_dsb.pcapng", KeyLog::new());
    assert_matches_tshark("tls_dsb", &r);
    assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
}

#[test]
fn http2_over_tls13_reads_end_to_end() {
    let r = read("h2_dsb.pcapng", KeyLog::new());
    assert_matches_tshark("h2_dsb", &r);
    assert_eq!(r.opened[&0].alpn.as_deref(), Some("h2"));
}

#[test]
fn a_key_log_file_decrypts_a_bsd_loopback_capture() {
    let (keys, problems) = KeyLog::parse(&sample("illustrated-tls13.keys"));
    assert!(problems.is_empty());
    let r = read("illustrated-tls13.pcap", keys);
    assert_matches_tshark("illustrated-tls13", &r);
    assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
}
