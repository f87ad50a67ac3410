//! The SNI of QUIC v1 connections, read from the client's Initial packets.
//!
//! HTTP/3 itself is not decrypted, but a browser that talked QUIC to a
//! tracker should still leave a trace. Initial packets are protected with
//! keys anyone can derive from the client's Destination Connection ID
//! (RFC 9001 §5.2), so the ClientHello inside them, and its SNI, is
//! readable without any key log.

use crate::crypto::{AeadKey, Bulk, HashAlg, hkdf_expand_label, hkdf_extract_sha256};
use crate::handshake::parse_client_hello;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use pixelscope_capture::{Contact, Datagram};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

/// RFC 9001 §5.2 initial salt for QUIC version 1.
const INITIAL_SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
/// CRYPTO stream bytes kept per flow: a ClientHello is a few kilobytes.
const MAX_CRYPTO: u64 = 16 * 1024;
/// Flows tracked at once; beyond this new flows are not examined.
const MAX_FLOWS: usize = 1024;

/// Watches UDP datagrams for QUIC client Initials and yields one
/// [`Contact`] per flow once its ClientHello is complete.
#[derive(Default)]
pub(crate) struct QuicSniffer {
    flows: HashMap<(SocketAddr, SocketAddr), Flow>,
}

#[derive(Default)]
struct Flow {
    dcid: Vec<u8>,
    crypto: BTreeMap<u64, Vec<u8>>,
    frames: Vec<u64>,
    done: bool,
}

/// Client Initial protection keys.
struct InitialKeys {
    aead: AeadKey,
    iv: [u8; 12],
    hp: aes::Aes128,
}

impl InitialKeys {
    fn derive(dcid: &[u8]) -> Option<InitialKeys> {
        let initial = hkdf_extract_sha256(&INITIAL_SALT_V1, dcid);
        let mut client = [0u8; 32];
        hkdf_expand_label(HashAlg::Sha256, &initial, "client in", &[], &mut client)?;
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        let mut hp = [0u8; 16];
        hkdf_expand_label(HashAlg::Sha256, &client, "quic key", &[], &mut key)?;
        hkdf_expand_label(HashAlg::Sha256, &client, "quic iv", &[], &mut iv)?;
        hkdf_expand_label(HashAlg::Sha256, &client, "quic hp", &[], &mut hp)?;
        Some(InitialKeys {
            aead: AeadKey::new(Bulk::Aes128Gcm, &key)?,
            iv,
            hp: aes::Aes128::new_from_slice(&hp).ok()?,
        })
    }
}

/// A QUIC variable-length integer.
fn varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let first = *data.get(*at)?;
    let len = 1usize << (first >> 6);
    let bytes = data.get(*at..*at + len)?;
    let mut value = u64::from(first & 0x3f);
    for b in bytes.iter().skip(1) {
        value = (value << 8) | u64::from(*b);
    }
    *at += len;
    Some(value)
}

impl QuicSniffer {
    pub(crate) fn datagram(&mut self, datagram: &Datagram<'_>) -> Option<Contact> {
        let data = datagram.data;
        // Long header, fixed bit, Initial type, version 1.
        let first = *data.first()?;
        if first & 0xf0 != 0xc0 || data.get(1..5)? != [0, 0, 0, 1] {
            return None;
        }
        let key = (datagram.source, datagram.destination);
        if !self.flows.contains_key(&key) && self.flows.len() >= MAX_FLOWS {
            return None;
        }
        let mut packet = data.to_vec();
        let plaintext = open_initial(&mut packet)?;
        let flow = self.flows.entry(key).or_default();
        if flow.done {
            return None;
        }
        if flow.dcid != plaintext.dcid {
            // A new connection attempt (or a Retry): start over.
            *flow = Flow {
                dcid: plaintext.dcid.clone(),
                ..Flow::default()
            };
        }
        if !add_crypto_frames(flow, &plaintext.payload) {
            return None;
        }
        flow.frames.push(datagram.frame);
        let hello = client_hello_bytes(&flow.crypto)?;
        let host = parse_client_hello(hello.get(4..)?)?.server_name?;
        flow.done = true;
        flow.crypto.clear();
        Some(Contact {
            host,
            via: "quic-sni",
            stream: None,
            frames: std::mem::take(&mut flow.frames),
            time: datagram.time,
            server: Some(datagram.destination),
        })
    }
}

struct InitialPlaintext {
    dcid: Vec<u8>,
    payload: Vec<u8>,
}

/// Removes header protection from and decrypts the first packet of a
/// datagram, a client Initial.
fn open_initial(packet: &mut [u8]) -> Option<InitialPlaintext> {
    let mut at = 5;
    let dcid_len = usize::from(*packet.get(at)?);
    let dcid = packet.get(at + 1..at + 1 + dcid_len)?.to_vec();
    at += 1 + dcid_len;
    let scid_len = usize::from(*packet.get(at)?);
    at += 1 + scid_len;
    let token_len = usize::try_from(varint(packet, &mut at)?).ok()?;
    at = at.checked_add(token_len)?;
    let length = usize::try_from(varint(packet, &mut at)?).ok()?;
    let pn_offset = at;
    let end = pn_offset.checked_add(length)?;
    if end > packet.len() {
        return None;
    }
    let keys = InitialKeys::derive(&dcid)?;
    let mut mask = aes::Block::try_from(packet.get(pn_offset + 4..pn_offset + 20)?).ok()?;
    keys.hp.encrypt_block(&mut mask);
    let first = packet.first_mut()?;
    *first ^= mask.first()? & 0x0f;
    let pn_len = usize::from(*first & 3) + 1;
    let mut pn: u64 = 0;
    for (i, b) in packet
        .get_mut(pn_offset..pn_offset + pn_len)?
        .iter_mut()
        .enumerate()
    {
        *b ^= mask.get(1 + i)?;
        pn = (pn << 8) | u64::from(*b);
    }
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let (header, rest) = packet.split_at_mut(pn_offset + pn_len);
    let body = rest.get_mut(..end - pn_offset - pn_len)?;
    let len = keys.aead.open(&nonce, header, body).ok()?;
    Some(InitialPlaintext {
        dcid,
        payload: body.get(..len)?.to_vec(),
    })
}

/// Collects the CRYPTO frames of a decrypted Initial. Returns false when
/// the payload holds a frame this reader does not know (it stops there).
fn add_crypto_frames(flow: &mut Flow, payload: &[u8]) -> bool {
    let mut at = 0;
    while at < payload.len() {
        let Some(kind) = varint(payload, &mut at) else {
            return false;
        };
        match kind {
            0x00 | 0x01 => {}
            0x02 | 0x03 => {
                // ACK: largest, delay, range count, first range, ranges, [ECN].
                let (Some(_), Some(_), Some(count), Some(_)) = (
                    varint(payload, &mut at),
                    varint(payload, &mut at),
                    varint(payload, &mut at),
                    varint(payload, &mut at),
                ) else {
                    return false;
                };
                for _ in 0..count.min(1024) * 2 + if kind == 0x03 { 3 } else { 0 } {
                    if varint(payload, &mut at).is_none() {
                        return false;
                    }
                }
            }
            0x06 => {
                let (Some(offset), Some(len)) =
                    (varint(payload, &mut at), varint(payload, &mut at))
                else {
                    return false;
                };
                if offset.checked_add(len).is_none_or(|end| end > MAX_CRYPTO) {
                    return false;
                }
                let Ok(len) = usize::try_from(len) else {
                    return false;
                };
                let Some(data) = payload.get(at..at + len) else {
                    return false;
                };
                at += len;
                flow.crypto.entry(offset).or_insert_with(|| data.to_vec());
            }
            _ => return !flow.crypto.is_empty(),
        }
    }
    true
}

/// The ClientHello message, once the CRYPTO stream holds all of it.
fn client_hello_bytes(crypto: &BTreeMap<u64, Vec<u8>>) -> Option<Vec<u8>> {
    let mut stream = Vec::new();
    for (&offset, data) in crypto {
        let have = stream.len() as u64;
        if offset > have {
            break;
        }
        let skip = usize::try_from(have - offset).ok()?;
        if let Some(new) = data.get(skip..) {
            stream.extend_from_slice(new);
        }
    }
    let (&[1, a, b, c], _) = stream.split_first_chunk::<4>()? else {
        return None;
    };
    let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
    if stream.len() < 4 + len {
        return None;
    }
    stream.truncate(4 + len);
    Some(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::unhex;

    #[test]
    fn rfc9001_client_initial_keys() {
        // RFC 9001 Appendix A.1, DCID 0x8394c8f03e515708.
        let keys = InitialKeys::derive(&unhex("8394c8f03e515708")).unwrap();
        assert_eq!(keys.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
        let mut block = aes::Block::default();
        keys.hp.encrypt_block(&mut block);
        let mut expected = aes::Block::default();
        aes::Aes128::new_from_slice(&unhex("9f50449e04a0e810283a1e9933adedd2"))
            .unwrap()
            .encrypt_block(&mut expected);
        assert_eq!(block, expected);
    }

    #[test]
    fn varints_of_every_length() {
        for (bytes, value) in [
            ("25", 37u64),
            ("7bbd", 15293),
            ("9d7f3e7d", 494_878_333),
            ("c2197c5eff14e88c", 151_288_809_941_952_652),
        ] {
            let mut at = 0;
            assert_eq!(varint(&unhex(bytes), &mut at), Some(value));
        }
    }
}
