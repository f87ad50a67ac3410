//! A TLS 1.3 connection built here record by record: a key log holding
//! only the application traffic secrets (no handshake secrets, as some
//! tools log them), encrypted handshake records that therefore cannot be
//! read, and a KeyUpdate that moves the server to its next-generation key.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use common::{Recorder, Segment, replay};
use pixelscope_capture::Direction::{ToClient, ToServer};
use pixelscope_model::{InputFormat, Origin, Timestamp};
use pixelscope_tls::{KeyLog, TlsLayer};

fn expand_label(secret: &[u8], label: &str, len: usize) -> Vec<u8> {
    let mut info = vec![0, len as u8, (6 + label.len()) as u8];
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(0);
    let mut out = vec![0u8; len];
    hkdf::Hkdf::<sha2::Sha256>::from_prk(secret)
        .unwrap()
        .expand(&info, &mut out)
        .unwrap();
    out
}

/// A TLS 1.3 AES-128-GCM record of `content_type` sealed under `secret`.
fn seal(secret: &[u8], seq: u64, content_type: u8, plaintext: &[u8]) -> Vec<u8> {
    let key = Aes128Gcm::new_from_slice(&expand_label(secret, "key", 16)).unwrap();
    let mut nonce: [u8; 12] = expand_label(secret, "iv", 12).try_into().unwrap();
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    let mut body = plaintext.to_vec();
    body.push(content_type);
    let len = (body.len() + 16) as u16;
    let header = [0x17, 3, 3, (len >> 8) as u8, len as u8];
    key.encrypt_in_place(&nonce.into(), &header, &mut body)
        .unwrap();
    [&header[..], &body].concat()
}

fn handshake_record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut message = vec![kind, 0, (body.len() >> 8) as u8, body.len() as u8];
    message.extend_from_slice(body);
    let mut record = vec![0x16, 3, 1, (message.len() >> 8) as u8, message.len() as u8];
    record.extend_from_slice(&message);
    record
}

const CLIENT_RANDOM: [u8; 32] = [0x11; 32];

fn client_hello() -> Vec<u8> {
    let name = b"pixel.example";
    let mut sni = vec![0, 0];
    let list_len = (name.len() + 3) as u16;
    sni.extend_from_slice(&(list_len + 2).to_be_bytes());
    sni.extend_from_slice(&list_len.to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut body = vec![3, 3];
    body.extend_from_slice(&CLIENT_RANDOM);
    body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    body.extend_from_slice(&sni);
    handshake_record(1, &body)
}

fn server_hello() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x22; 32]);
    body.extend_from_slice(&[0, 0x13, 0x01, 0]);
    body.extend_from_slice(&[0, 6, 0, 0x2b, 0, 2, 3, 4]);
    handshake_record(2, &body)
}

#[test]
fn application_secrets_alone_decrypt_and_key_update_is_followed() {
    let client_secret = [0xc1u8; 32];
    let server_secret = [0x5eu8; 32];
    let next_server_secret = expand_label(&server_secret, "traffic upd", 32);
    let keylog = format!(
        "CLIENT_TRAFFIC_SECRET_0 {r} {c}\nSERVER_TRAFFIC_SECRET_0 {r} {s}\n",
        r = "11".repeat(32),
        c = "c1".repeat(32),
        s = "5e".repeat(32)
    );
    let (log, problems) = KeyLog::parse(keylog.as_bytes());
    assert!(problems.is_empty());

    let client: std::net::SocketAddr = "192.0.2.1:50000".parse().unwrap();
    let server: std::net::SocketAddr = "198.51.100.7:443".parse().unwrap();
    let unknown_key = [0x99u8; 32];
    let server_flight = [
        server_hello(),
        vec![0x14, 3, 3, 0, 1, 1],
        // EncryptedExtensions..Finished under handshake keys nobody logged.
        seal(&unknown_key, 0, 22, &[8, 0, 0, 2, 0, 0]),
        seal(
            &unknown_key,
            1,
            22,
            &[20, 0, 0, 32]
                .iter()
                .copied()
                .chain([7; 32])
                .collect::<Vec<_>>(),
        ),
    ]
    .concat();
    let mut response = seal(&server_secret, 0, 23, b"HTTP/1.1 200 OK\r\n");
    response.extend(seal(&server_secret, 1, 22, &[24, 0, 0, 1, 0]));
    response.extend(seal(
        &next_server_secret,
        0,
        23,
        b"content-length: 0\r\n\r\n",
    ));
    let request = [
        vec![0x14, 3, 3, 0, 1, 1],
        seal(&client_secret, 0, 23, b"GET /tr?ev=Lead HTTP/1.1\r\n\r\n"),
    ]
    .concat();

    let tcp = |frame: u64, to_server: bool, seq: u32, payload: Vec<u8>| Segment::Tcp {
        frame,
        stream: 0,
        src: if to_server { client } else { server },
        dst: if to_server { server } else { client },
        time: Timestamp(frame as i64 * 1_000_000),
        seq,
        syn: false,
        payload,
    };
    let hello = client_hello();
    let hello_len = hello.len() as u32;
    let flight_len = server_flight.len() as u32;
    // The response is split across two segments in the middle of a record.
    let (first, second) = response.split_at(30);
    let segs = vec![
        tcp(1, true, 1000, hello),
        tcp(2, false, 5000, server_flight),
        tcp(3, true, 1000 + hello_len, request),
        tcp(4, false, 5000 + flight_len, first.to_vec()),
        tcp(5, false, 5000 + flight_len + 30, second.to_vec()),
    ];
    let mut layer = TlsLayer::new(
        log,
        Recorder::default(),
        Origin::file("x.pcap", None, InputFormat::Pcap),
    );
    replay(&segs, &mut layer);
    let r = layer.into_inner();

    assert!(r.diagnostics.is_empty(), "{:?}", r.codes());
    let info = &r.opened[&0];
    assert_eq!(
        (info.tls.as_deref(), info.server_name.as_deref()),
        (Some("1.3"), Some("pixel.example"))
    );
    assert_eq!(
        r.flow(0, ToServer).data,
        b"GET /tr?ev=Lead HTTP/1.1\r\n\r\n"
    );
    let down = r.flow(0, ToClient);
    assert_eq!(down.data, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    // The first record straddles frames 4 and 5; the one after the
    // KeyUpdate lies in frame 5 alone.
    assert_eq!(down.chunks, [(0, 17, vec![4, 5]), (17, 21, vec![5])]);
}
