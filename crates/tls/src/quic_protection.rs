//! QUIC version 1 packet protection (RFC 9001 §5): packet keys derived
//! from a TLS secret with the `quic key` / `quic iv` / `quic hp` labels,
//! header protection (AES-ECB or ChaCha20 masks), payload AEADs, packet
//! number recovery and key updates (`quic ku`).
//!
//! Everything here works on one packet's bytes; which keys apply to which
//! packet is decided by the connection tracker in `quic`.

use crate::crypto::{
    AeadKey, Bulk, HashAlg, Suite, find_suite, hkdf_expand_label, hkdf_extract_sha256,
};
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};

/// RFC 9001 §5.2 initial salt for QUIC version 1.
const INITIAL_SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];

/// Length of the header protection sample (RFC 9001 §5.4.2).
pub(crate) const SAMPLE_LEN: usize = 16;

/// A header protection key: AES-ECB for the AES-GCM suites, ChaCha20 for
/// ChaCha20-Poly1305.
#[derive(Clone)]
enum HeaderKey {
    Aes128(Box<aes::Aes128>),
    Aes256(Box<aes::Aes256>),
    ChaCha([u8; 32]),
}

impl HeaderKey {
    fn new(bulk: Bulk, key: &[u8]) -> Option<HeaderKey> {
        Some(match bulk {
            Bulk::Aes128Gcm => HeaderKey::Aes128(Box::new(aes::Aes128::new_from_slice(key).ok()?)),
            Bulk::Aes256Gcm => HeaderKey::Aes256(Box::new(aes::Aes256::new_from_slice(key).ok()?)),
            Bulk::ChaCha20Poly1305 => HeaderKey::ChaCha(key.try_into().ok()?),
            Bulk::Aes128Cbc | Bulk::Aes256Cbc | Bulk::Null => return None,
        })
    }

    /// The five mask bytes for a sample (RFC 9001 §5.4.3, §5.4.4).
    fn mask(&self, sample: &[u8; SAMPLE_LEN]) -> [u8; 5] {
        let mut out = [0u8; 5];
        match self {
            HeaderKey::Aes128(k) => {
                let mut block = aes::Block::from(*sample);
                k.encrypt_block(&mut block);
                out.iter_mut().zip(block.iter()).for_each(|(o, b)| *o = *b);
            }
            HeaderKey::Aes256(k) => {
                let mut block = aes::Block::from(*sample);
                k.encrypt_block(&mut block);
                out.iter_mut().zip(block.iter()).for_each(|(o, b)| *o = *b);
            }
            HeaderKey::ChaCha(key) => {
                // The first four sample bytes are the block counter (little
                // endian), the other twelve the nonce.
                let (counter, nonce) = sample.split_at(4);
                let counter = u32::from_le_bytes(counter.try_into().unwrap_or_default());
                if let Ok(mut cipher) = ChaCha20::new_from_slices(key, nonce) {
                    cipher.seek(u64::from(counter) * 64);
                    cipher.apply_keystream(&mut out);
                }
            }
        }
        out
    }
}

/// The keys protecting the packets one side sends at one encryption level.
#[derive(Clone)]
pub(crate) struct PacketKeys {
    aead: AeadKey,
    iv: [u8; 12],
    hp: HeaderKey,
}

/// Key length of a QUIC-capable AEAD.
fn key_len(bulk: Bulk) -> usize {
    match bulk {
        Bulk::Aes128Gcm => 16,
        _ => 32,
    }
}

/// The TLS 1.3 suite a QUIC connection negotiated, if it is one QUIC
/// allows (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305).
pub(crate) fn quic_suite(id: u16) -> Option<Suite> {
    matches!(id, 0x1301..=0x1303)
        .then(|| find_suite(id))
        .flatten()
}

impl PacketKeys {
    /// Keys from a TLS traffic secret (RFC 9001 §5.1).
    pub(crate) fn from_secret(suite: Suite, secret: &[u8]) -> Option<PacketKeys> {
        let len = key_len(suite.bulk);
        let mut key = [0u8; 32];
        let key = key.get_mut(..len)?;
        let mut hp = [0u8; 32];
        let hp = hp.get_mut(..len)?;
        let mut iv = [0u8; 12];
        hkdf_expand_label(suite.hash, secret, "quic key", &[], key)?;
        hkdf_expand_label(suite.hash, secret, "quic iv", &[], &mut iv)?;
        hkdf_expand_label(suite.hash, secret, "quic hp", &[], hp)?;
        Some(PacketKeys {
            aead: AeadKey::new(suite.bulk, key)?,
            iv,
            hp: HeaderKey::new(suite.bulk, hp)?,
        })
    }

    /// Initial keys of one side, from the client's first Destination
    /// Connection ID (RFC 9001 §5.2).
    pub(crate) fn initial(dcid: &[u8], client: bool) -> Option<PacketKeys> {
        let initial = hkdf_extract_sha256(&INITIAL_SALT_V1, dcid);
        let mut secret = [0u8; 32];
        let label = if client { "client in" } else { "server in" };
        hkdf_expand_label(HashAlg::Sha256, &initial, label, &[], &mut secret)?;
        PacketKeys::from_secret(quic_suite(0x1301)?, &secret)
    }

    /// The header protection mask for the 16 bytes at `sample`.
    pub(crate) fn mask(&self, sample: &[u8]) -> Option<[u8; 5]> {
        Some(self.hp.mask(sample.get(..SAMPLE_LEN)?.try_into().ok()?))
    }

    /// Opens a payload in place (ciphertext and 16-byte tag); the plaintext
    /// is `payload[..len]`.
    pub(crate) fn open(
        &self,
        packet_number: u64,
        header: &[u8],
        payload: &mut [u8],
    ) -> Option<usize> {
        let mut nonce = self.iv;
        for (n, p) in nonce.iter_mut().skip(4).zip(packet_number.to_be_bytes()) {
            *n ^= p;
        }
        self.aead.open(&nonce, header, payload).ok()
    }
}

/// The secret of the next key phase (RFC 9001 §6.1).
pub(crate) fn next_secret(hash: HashAlg, secret: &[u8]) -> Option<Vec<u8>> {
    let mut next = vec![0u8; hash.output_len()];
    hkdf_expand_label(hash, secret, "quic ku", &[], &mut next)?;
    Some(next)
}

/// Removes header protection in place. `pn_offset` is where the packet
/// number starts; returns the packet number length and its truncated value.
pub(crate) fn unprotect_header(
    keys: &PacketKeys,
    packet: &mut [u8],
    pn_offset: usize,
) -> Option<(usize, u64)> {
    let sample_at = pn_offset.checked_add(4)?;
    let mask = keys.mask(packet.get(sample_at..sample_at.checked_add(SAMPLE_LEN)?)?)?;
    let first = packet.first_mut()?;
    let long = *first & 0x80 != 0;
    *first ^= mask[0] & if long { 0x0f } else { 0x1f };
    let pn_len = usize::from(*first & 0x03) + 1;
    let mut truncated = 0u64;
    let pn = packet.get_mut(pn_offset..pn_offset.checked_add(pn_len)?)?;
    for (byte, m) in pn.iter_mut().zip(mask.iter().skip(1)) {
        *byte ^= m;
        truncated = (truncated << 8) | u64::from(*byte);
    }
    Some((pn_len, truncated))
}

/// The full packet number from its truncated form and the largest number
/// seen so far in its space (RFC 9000 Appendix A.3).
pub(crate) fn decode_packet_number(largest: Option<u64>, truncated: u64, pn_len: usize) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let bits = u32::try_from(pn_len.clamp(1, 4) * 8).unwrap_or(32);
    let window = 1u64 << bits;
    let half = window / 2;
    let candidate = (expected & !(window - 1)) | truncated;
    if candidate.saturating_add(half) <= expected && candidate < (1u64 << 62) - window {
        candidate + window
    } else if candidate > expected.saturating_add(half) && candidate >= window {
        candidate - window
    } else {
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::unhex;

    #[test]
    fn rfc9001_a2_client_header_protection_mask() {
        let keys = PacketKeys::initial(&unhex("8394c8f03e515708"), true).unwrap();
        assert_eq!(keys.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
        let mask = keys
            .mask(&unhex("d1b1c98dd7689fb8ec11d242b123dc9b"))
            .unwrap();
        assert_eq!(mask.to_vec(), unhex("437b9aec36"));
    }

    #[test]
    fn rfc9001_a3_server_initial_opens() {
        let mut packet = unhex(
            "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee",
        );
        let keys = PacketKeys::initial(&unhex("8394c8f03e515708"), false).unwrap();
        assert_eq!(
            keys.mask(&unhex("2cd0991cd25b0aac406a5816b6394100"))
                .unwrap()
                .to_vec(),
            unhex("2ec0d8356a")
        );
        // 1 + 4 version + 1 + 0 DCID + 1 + 8 SCID + 1 token length + 2 length.
        let pn_offset = 18;
        let (pn_len, truncated) = unprotect_header(&keys, &mut packet, pn_offset).unwrap();
        assert_eq!((pn_len, truncated), (2, 1));
        let (header, payload) = packet.split_at_mut(pn_offset + pn_len);
        let len = keys.open(1, header, payload).unwrap();
        let plain = &payload[..len];
        // ACK of packet 0, then a CRYPTO frame holding the ServerHello.
        assert_eq!(&plain[..13], &unhex("02000000000600405a02000056")[..]);
        assert_eq!(len, 9 + 90);
    }

    #[test]
    fn rfc9001_a5_chacha20_short_header() {
        let suite = quic_suite(0x1303).unwrap();
        let secret = unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b");
        let keys = PacketKeys::from_secret(suite, &secret).unwrap();
        assert_eq!(keys.iv.to_vec(), unhex("e0459b3474bdd0e44a41c144"));
        assert_eq!(
            keys.mask(&unhex("5e5cd55c41f69080575d7999c25a5bfb"))
                .unwrap()
                .to_vec(),
            unhex("aefefe7d03")
        );
        let mut packet = unhex("4cfe4189655e5cd55c41f69080575d7999c25a5bfb");
        let (pn_len, truncated) = unprotect_header(&keys, &mut packet, 1).unwrap();
        assert_eq!(&packet[..4], &unhex("4200bff4")[..]);
        let pn = decode_packet_number(Some(654_360_563), truncated, pn_len);
        assert_eq!(pn, 654_360_564);
        let (header, payload) = packet.split_at_mut(1 + pn_len);
        let len = keys.open(pn, header, payload).unwrap();
        assert_eq!(&payload[..len], &[0x01]);
        assert_eq!(
            next_secret(suite.hash, &secret).unwrap(),
            unhex("1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9")
        );
    }

    #[test]
    fn packet_numbers_are_recovered_near_the_largest_seen() {
        // RFC 9000 Appendix A.3's example.
        assert_eq!(
            decode_packet_number(Some(0xa82f30ea), 0x9b32, 2),
            0xa82f9b32
        );
        assert_eq!(decode_packet_number(None, 0, 1), 0);
        assert_eq!(decode_packet_number(Some(255), 0x01, 1), 257);
        assert_eq!(decode_packet_number(Some(300), 0xff, 1), 255);
    }

    #[test]
    fn a_wrong_key_fails_instead_of_yielding_garbage() {
        let keys = PacketKeys::initial(&unhex("0001020304050607"), true).unwrap();
        let mut payload = vec![0u8; 40];
        assert!(keys.open(0, b"header", &mut payload).is_none());
    }
}
