//! Cipher suites, key derivation and record protection.
//!
//! Everything here is pure computation on byte slices: the TLS 1.2 PRF and
//! key expansion, TLS 1.3 `HKDF-Expand-Label`, and [`RecordProtection`],
//! which opens one protected record in place. The RustCrypto crates are
//! generic over digests in ways that changed between digest 0.10 and 0.11,
//! so the few hash-dependent functions dispatch on the small [`HashAlg`]
//! enum instead of being generic.

use aes::cipher::{BlockModeDecrypt, InnerIvInit};
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha256, Sha384};

/// A hash function as TLS uses it: for the PRF, HKDF and record MACs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Md5,
    Sha1,
    Sha256,
    Sha384,
}

impl HashAlg {
    pub(crate) fn output_len(self) -> usize {
        match self {
            HashAlg::Md5 => 16,
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }
}

/// The bulk cipher of a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bulk {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
    Aes128Cbc,
    Aes256Cbc,
    /// No encryption: the record is plaintext followed by a MAC.
    Null,
}

impl Bulk {
    fn key_len(self) -> usize {
        match self {
            Bulk::Aes128Gcm | Bulk::Aes128Cbc => 16,
            Bulk::Aes256Gcm | Bulk::ChaCha20Poly1305 | Bulk::Aes256Cbc => 32,
            Bulk::Null => 0,
        }
    }
}

/// A cipher suite this crate can decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Suite {
    pub id: u16,
    pub bulk: Bulk,
    /// Record MAC of CBC and NULL suites; `None` for AEAD suites.
    pub mac: Option<HashAlg>,
    /// Hash of the TLS 1.2 PRF, or of the TLS 1.3 key schedule.
    pub hash: HashAlg,
}

const fn suite(id: u16, bulk: Bulk, mac: Option<HashAlg>, hash: HashAlg) -> Suite {
    Suite {
        id,
        bulk,
        mac,
        hash,
    }
}

use Bulk::{
    Aes128Cbc, Aes128Gcm as G128, Aes256Cbc, Aes256Gcm as G256, ChaCha20Poly1305 as Chacha, Null,
};
use HashAlg::{Md5 as M5, Sha1 as S1, Sha256 as S256, Sha384 as S384};

/// Every suite we decrypt. RC4, 3DES, Camellia, SEED, ARIA and export
/// suites are deliberately absent: their connections get a
/// `tls.unsupported-cipher` diagnostic instead.
const SUITES: &[Suite] = &[
    // TLS 1.3
    suite(0x1301, G128, None, S256),
    suite(0x1302, G256, None, S384),
    suite(0x1303, Chacha, None, S256),
    // TLS 1.2 AEAD
    suite(0x009c, G128, None, S256),
    suite(0x009d, G256, None, S384),
    suite(0x009e, G128, None, S256),
    suite(0x009f, G256, None, S384),
    suite(0x00a2, G128, None, S256),
    suite(0x00a3, G256, None, S384),
    suite(0xc02b, G128, None, S256),
    suite(0xc02c, G256, None, S384),
    suite(0xc02d, G128, None, S256),
    suite(0xc02e, G256, None, S384),
    suite(0xc02f, G128, None, S256),
    suite(0xc030, G256, None, S384),
    suite(0xc031, G128, None, S256),
    suite(0xc032, G256, None, S384),
    suite(0xcca8, Chacha, None, S256),
    suite(0xcca9, Chacha, None, S256),
    suite(0xccaa, Chacha, None, S256),
    // CBC with HMAC-SHA1 (TLS 1.0 to 1.2)
    suite(0x002f, Aes128Cbc, Some(S1), S256),
    suite(0x0030, Aes128Cbc, Some(S1), S256),
    suite(0x0031, Aes128Cbc, Some(S1), S256),
    suite(0x0032, Aes128Cbc, Some(S1), S256),
    suite(0x0033, Aes128Cbc, Some(S1), S256),
    suite(0x0035, Aes256Cbc, Some(S1), S256),
    suite(0x0036, Aes256Cbc, Some(S1), S256),
    suite(0x0037, Aes256Cbc, Some(S1), S256),
    suite(0x0038, Aes256Cbc, Some(S1), S256),
    suite(0x0039, Aes256Cbc, Some(S1), S256),
    suite(0xc004, Aes128Cbc, Some(S1), S256),
    suite(0xc005, Aes256Cbc, Some(S1), S256),
    suite(0xc009, Aes128Cbc, Some(S1), S256),
    suite(0xc00a, Aes256Cbc, Some(S1), S256),
    suite(0xc00e, Aes128Cbc, Some(S1), S256),
    suite(0xc00f, Aes256Cbc, Some(S1), S256),
    suite(0xc013, Aes128Cbc, Some(S1), S256),
    suite(0xc014, Aes256Cbc, Some(S1), S256),
    // CBC with HMAC-SHA256 / SHA384 (TLS 1.2)
    suite(0x003c, Aes128Cbc, Some(S256), S256),
    suite(0x003d, Aes256Cbc, Some(S256), S256),
    suite(0x003e, Aes128Cbc, Some(S256), S256),
    suite(0x003f, Aes128Cbc, Some(S256), S256),
    suite(0x0040, Aes128Cbc, Some(S256), S256),
    suite(0x0067, Aes128Cbc, Some(S256), S256),
    suite(0x0068, Aes256Cbc, Some(S256), S256),
    suite(0x0069, Aes256Cbc, Some(S256), S256),
    suite(0x006a, Aes256Cbc, Some(S256), S256),
    suite(0x006b, Aes256Cbc, Some(S256), S256),
    suite(0xc023, Aes128Cbc, Some(S256), S256),
    suite(0xc024, Aes256Cbc, Some(S384), S384),
    suite(0xc025, Aes128Cbc, Some(S256), S256),
    suite(0xc026, Aes256Cbc, Some(S384), S384),
    suite(0xc027, Aes128Cbc, Some(S256), S256),
    suite(0xc028, Aes256Cbc, Some(S384), S384),
    suite(0xc029, Aes128Cbc, Some(S256), S256),
    suite(0xc02a, Aes256Cbc, Some(S384), S384),
    // NULL encryption: readable once the record MAC is stripped
    suite(0x0001, Null, Some(M5), S256),
    suite(0x0002, Null, Some(S1), S256),
    suite(0x003b, Null, Some(S256), S256),
    suite(0xc001, Null, Some(S1), S256),
    suite(0xc006, Null, Some(S1), S256),
    suite(0xc00b, Null, Some(S1), S256),
    suite(0xc010, Null, Some(S1), S256),
];

/// The suite with this IANA number, if we can decrypt it.
pub(crate) fn find_suite(id: u16) -> Option<Suite> {
    SUITES.iter().find(|s| s.id == id).copied()
}

/// A MAC or hash output of at most 48 bytes, kept on the stack.
#[derive(Clone, Copy)]
pub(crate) struct Digest {
    bytes: [u8; 48],
    len: usize,
}

impl Digest {
    fn from(slice: &[u8]) -> Digest {
        let mut bytes = [0u8; 48];
        let len = slice.len().min(48);
        if let (Some(dst), Some(src)) = (bytes.get_mut(..len), slice.get(..len)) {
            dst.copy_from_slice(src);
        }
        Digest { bytes, len }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// An HMAC key with its inner and outer pads already absorbed, so that a
/// record MAC costs one clone instead of a key setup.
#[derive(Clone)]
pub(crate) enum HmacKey {
    Md5(Hmac<Md5>),
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
}

impl HmacKey {
    pub(crate) fn new(alg: HashAlg, key: &[u8]) -> Option<HmacKey> {
        Some(match alg {
            HashAlg::Md5 => HmacKey::Md5(Hmac::new_from_slice(key).ok()?),
            HashAlg::Sha1 => HmacKey::Sha1(Hmac::new_from_slice(key).ok()?),
            HashAlg::Sha256 => HmacKey::Sha256(Hmac::new_from_slice(key).ok()?),
            HashAlg::Sha384 => HmacKey::Sha384(Hmac::new_from_slice(key).ok()?),
        })
    }

    /// HMAC over the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> Digest {
        macro_rules! run {
            ($m:expr) => {{
                let mut m = $m.clone();
                for part in parts {
                    m.update(part);
                }
                Digest::from(&m.finalize().into_bytes())
            }};
        }
        match self {
            HmacKey::Md5(m) => run!(m),
            HmacKey::Sha1(m) => run!(m),
            HmacKey::Sha256(m) => run!(m),
            HmacKey::Sha384(m) => run!(m),
        }
    }
}

/// TLS `P_hash` (RFC 5246 §5): fills `out` from `secret` and `seed`.
fn p_hash(alg: HashAlg, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Option<()> {
    let key = HmacKey::new(alg, secret)?;
    let mut a = key.mac(&[label, seed]);
    let mut filled = 0;
    while filled < out.len() {
        let block = key.mac(&[a.as_slice(), label, seed]);
        for (dst, src) in out.iter_mut().skip(filled).zip(block.as_slice()) {
            *dst ^= *src;
        }
        filled += block.len;
        a = key.mac(&[a.as_slice()]);
    }
    Some(())
}

/// The TLS PRF. `hash` is `Md5` for the TLS 1.0/1.1 MD5+SHA-1 PRF, or the
/// suite's PRF hash for TLS 1.2.
pub(crate) fn prf(
    hash: HashAlg,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    out: &mut [u8],
) -> Option<()> {
    out.fill(0);
    if hash == HashAlg::Md5 {
        // The secret is split in two halves that overlap by one byte when
        // its length is odd.
        let half = secret.len().div_ceil(2);
        let first = secret.get(..half)?;
        let second = secret.get(secret.len() - half..)?;
        p_hash(HashAlg::Md5, first, label, seed, out)?;
        p_hash(HashAlg::Sha1, second, label, seed, out)
    } else {
        p_hash(hash, secret, label, seed, out)
    }
}

/// TLS 1.3 `HKDF-Expand-Label` (RFC 8446 §7.1); QUIC uses it too.
pub(crate) fn hkdf_expand_label(
    hash: HashAlg,
    secret: &[u8],
    label: &str,
    context: &[u8],
    out: &mut [u8],
) -> Option<()> {
    let full_label_len = u8::try_from(6 + label.len()).ok()?;
    let out_len = u16::try_from(out.len()).ok()?;
    let context_len = u8::try_from(context.len()).ok()?;
    let info: [&[u8]; 6] = [
        &out_len.to_be_bytes(),
        &[full_label_len],
        b"tls13 ",
        label.as_bytes(),
        &[context_len],
        context,
    ];
    match hash {
        HashAlg::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand_multi_info(&info, out)
            .ok(),
        HashAlg::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand_multi_info(&info, out)
            .ok(),
        HashAlg::Md5 | HashAlg::Sha1 => None,
    }
}

/// HKDF-Extract with SHA-256 (for QUIC Initial secrets).
pub(crate) fn hkdf_extract_sha256(salt: &[u8], ikm: &[u8]) -> [u8; 32] {
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), ikm);
    let mut out = [0u8; 32];
    out.copy_from_slice(&prk);
    out
}

/// An AEAD with its key schedule expanded once per traffic secret.
#[derive(Clone)]
pub(crate) enum AeadKey {
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha20Poly1305(Box<ChaCha20Poly1305>),
}

impl AeadKey {
    pub(crate) fn new(bulk: Bulk, key: &[u8]) -> Option<AeadKey> {
        Some(match bulk {
            Bulk::Aes128Gcm => AeadKey::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
            Bulk::Aes256Gcm => AeadKey::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            Bulk::ChaCha20Poly1305 => {
                AeadKey::ChaCha20Poly1305(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
            Bulk::Aes128Cbc | Bulk::Aes256Cbc | Bulk::Null => return None,
        })
    }

    /// Decrypts `buffer` (ciphertext followed by a 16-byte tag) in place;
    /// the plaintext is `buffer[..len - 16]`.
    pub(crate) fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<usize, ()> {
        let text_len = buffer.len().checked_sub(16).ok_or(())?;
        let (text, tag) = buffer.split_at_mut(text_len);
        macro_rules! run {
            ($k:expr) => {{
                let tag = (&*tag).try_into().map_err(|_| ())?;
                $k.decrypt_inout_detached(&(*nonce).into(), aad, text.into(), tag)
                    .map_err(|_| ())
            }};
        }
        match self {
            AeadKey::Aes128Gcm(k) => run!(k),
            AeadKey::Aes256Gcm(k) => run!(k),
            AeadKey::ChaCha20Poly1305(k) => run!(k),
        }?;
        Ok(text_len)
    }
}

/// An AES key schedule for CBC decryption.
#[derive(Clone)]
enum CbcKey {
    Aes128(Box<aes::Aes128>),
    Aes256(Box<aes::Aes256>),
}

impl CbcKey {
    /// Decrypts whole blocks of `data` in place, chained from `iv`.
    fn decrypt(&self, iv: &[u8; 16], data: &mut [u8]) {
        let (blocks, _) = aes::Block::slice_as_chunks_mut(data);
        match self {
            CbcKey::Aes128(k) => {
                cbc::Decryptor::<aes::Aes128>::inner_iv_init((**k).clone(), &(*iv).into())
                    .decrypt_blocks(blocks)
            }
            CbcKey::Aes256(k) => {
                cbc::Decryptor::<aes::Aes256>::inner_iv_init((**k).clone(), &(*iv).into())
                    .decrypt_blocks(blocks)
            }
        }
    }
}

/// Why a record could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Tag, MAC or padding check failed: wrong key, or corrupted bytes.
    Authentication,
    /// The record is too short for the cipher's framing.
    Malformed,
}

/// How the records of one direction are protected, with the state that
/// changes from record to record (the sequence number, the TLS 1.0 IV).
#[derive(Clone)]
pub(crate) struct RecordProtection {
    kind: Kind,
    pub(crate) seq: u64,
}

#[derive(Clone)]
enum Kind {
    /// TLS 1.3: nonce = iv XOR seq, the header is the AAD, the inner
    /// content type trails the plaintext.
    Tls13 {
        key: AeadKey,
        iv: [u8; 12],
    },
    /// TLS 1.2 AES-GCM: 4-byte salt plus an 8-byte explicit nonce.
    Tls12Gcm {
        key: AeadKey,
        salt: [u8; 4],
    },
    /// TLS 1.2 ChaCha20-Poly1305 (RFC 7905): nonce = iv XOR seq.
    Tls12ChaCha {
        key: AeadKey,
        iv: [u8; 12],
    },
    /// CBC + HMAC. `chained_iv` is set for TLS 1.0, where each record's IV is
    /// the last ciphertext block of the previous one.
    Cbc {
        key: CbcKey,
        mac: HmacKey,
        mac_len: usize,
        chained_iv: Option<[u8; 16]>,
        encrypt_then_mac: bool,
    },
    Null {
        mac: HmacKey,
        mac_len: usize,
    },
    /// NULL encryption read without keys: the MAC is stripped unchecked.
    NullUnverified {
        mac_len: usize,
    },
}

/// The opened content of a record: its type and where the plaintext lies in
/// the buffer that was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Opened {
    pub content_type: u8,
    pub start: usize,
    pub end: usize,
}

impl RecordProtection {
    /// TLS 1.3 protection from a traffic secret.
    pub(crate) fn tls13(suite: Suite, secret: &[u8]) -> Option<RecordProtection> {
        let mut key = [0u8; 32];
        let key = key.get_mut(..suite.bulk.key_len())?;
        hkdf_expand_label(suite.hash, secret, "key", &[], key)?;
        let mut iv = [0u8; 12];
        hkdf_expand_label(suite.hash, secret, "iv", &[], &mut iv)?;
        Some(RecordProtection {
            kind: Kind::Tls13 {
                key: AeadKey::new(suite.bulk, key)?,
                iv,
            },
            seq: 0,
        })
    }

    /// NULL-cipher records read without the master secret: the plaintext is
    /// there, only the MAC cannot be checked.
    pub(crate) fn null_unverified(suite: Suite) -> Option<RecordProtection> {
        (suite.bulk == Bulk::Null).then(|| RecordProtection {
            kind: Kind::NullUnverified {
                mac_len: suite.mac.map_or(0, HashAlg::output_len),
            },
            seq: 0,
        })
    }

    /// TLS 1.0-1.2 protection for both directions from the master secret:
    /// `(client_write, server_write)`.
    pub(crate) fn tls12_pair(
        suite: Suite,
        version: u16,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        encrypt_then_mac: bool,
    ) -> Option<(RecordProtection, RecordProtection)> {
        let mac_len = match suite.bulk {
            Bulk::Aes128Cbc | Bulk::Aes256Cbc | Bulk::Null => suite.mac?.output_len(),
            _ => 0,
        };
        let key_len = suite.bulk.key_len();
        let iv_len = match suite.bulk {
            Bulk::Aes128Gcm | Bulk::Aes256Gcm => 4,
            Bulk::ChaCha20Poly1305 => 12,
            Bulk::Aes128Cbc | Bulk::Aes256Cbc if version <= 0x0301 => 16,
            _ => 0,
        };
        let mut block = [0u8; 2 * (48 + 32 + 16)];
        let block = block.get_mut(..2 * (mac_len + key_len + iv_len))?;
        let mut seed = [0u8; 64];
        seed.get_mut(..32)?.copy_from_slice(server_random);
        seed.get_mut(32..)?.copy_from_slice(client_random);
        let prf_hash = if version <= 0x0302 {
            HashAlg::Md5
        } else {
            suite.hash
        };
        prf(prf_hash, master, b"key expansion", &seed, block)?;
        let (client_mac, rest) = block.split_at(mac_len);
        let (server_mac, rest) = rest.split_at(mac_len);
        let (client_key, rest) = rest.split_at(key_len);
        let (server_key, rest) = rest.split_at(key_len);
        let (client_iv, server_iv) = rest.split_at(iv_len);
        let one = |mac_key: &[u8], key: &[u8], iv: &[u8]| -> Option<RecordProtection> {
            let kind = match suite.bulk {
                Bulk::Aes128Gcm | Bulk::Aes256Gcm => Kind::Tls12Gcm {
                    key: AeadKey::new(suite.bulk, key)?,
                    salt: iv.try_into().ok()?,
                },
                Bulk::ChaCha20Poly1305 => Kind::Tls12ChaCha {
                    key: AeadKey::new(suite.bulk, key)?,
                    iv: iv.try_into().ok()?,
                },
                Bulk::Aes128Cbc | Bulk::Aes256Cbc => Kind::Cbc {
                    key: if suite.bulk == Bulk::Aes128Cbc {
                        CbcKey::Aes128(Box::new(aes::Aes128::new_from_slice(key).ok()?))
                    } else {
                        CbcKey::Aes256(Box::new(aes::Aes256::new_from_slice(key).ok()?))
                    },
                    mac: HmacKey::new(suite.mac?, mac_key)?,
                    mac_len,
                    chained_iv: if iv.is_empty() {
                        None
                    } else {
                        Some(iv.try_into().ok()?)
                    },
                    encrypt_then_mac,
                },
                Bulk::Null => Kind::Null {
                    mac: HmacKey::new(suite.mac?, mac_key)?,
                    mac_len,
                },
            };
            Some(RecordProtection { kind, seq: 0 })
        };
        Some((
            one(client_mac, client_key, client_iv)?,
            one(server_mac, server_key, server_iv)?,
        ))
    }

    /// Opens one record in place. `header` is the 5-byte record header,
    /// `payload` the bytes after it. On success the sequence number advances.
    pub(crate) fn open(
        &mut self,
        header: [u8; 5],
        payload: &mut [u8],
    ) -> Result<Opened, OpenError> {
        let seq = self.seq;
        let [outer_type, v0, v1, _, _] = header;
        let opened = match &mut self.kind {
            Kind::Tls13 { key, iv } => {
                let nonce = xor_seq(iv, seq);
                let len = key
                    .open(&nonce, &header, payload)
                    .map_err(|_| OpenError::Authentication)?;
                let text = payload.get(..len).ok_or(OpenError::Malformed)?;
                // TLSInnerPlaintext: content, content type, zero padding.
                let type_at = text
                    .iter()
                    .rposition(|&b| b != 0)
                    .ok_or(OpenError::Malformed)?;
                Opened {
                    content_type: text.get(type_at).copied().ok_or(OpenError::Malformed)?,
                    start: 0,
                    end: type_at,
                }
            }
            Kind::Tls12Gcm { key, salt } => {
                let text_len = payload
                    .len()
                    .checked_sub(8 + 16)
                    .ok_or(OpenError::Malformed)?;
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(salt);
                nonce[4..].copy_from_slice(payload.get(..8).ok_or(OpenError::Malformed)?);
                let aad = aad12(seq, outer_type, [v0, v1], text_len);
                let body = payload.get_mut(8..).ok_or(OpenError::Malformed)?;
                key.open(&nonce, &aad, body)
                    .map_err(|_| OpenError::Authentication)?;
                Opened {
                    content_type: outer_type,
                    start: 8,
                    end: 8 + text_len,
                }
            }
            Kind::Tls12ChaCha { key, iv } => {
                let text_len = payload.len().checked_sub(16).ok_or(OpenError::Malformed)?;
                let nonce = xor_seq(iv, seq);
                let aad = aad12(seq, outer_type, [v0, v1], text_len);
                key.open(&nonce, &aad, payload)
                    .map_err(|_| OpenError::Authentication)?;
                Opened {
                    content_type: outer_type,
                    start: 0,
                    end: text_len,
                }
            }
            Kind::Cbc {
                key,
                mac,
                mac_len,
                chained_iv,
                encrypt_then_mac,
            } => open_cbc(
                key,
                mac,
                *mac_len,
                chained_iv,
                *encrypt_then_mac,
                seq,
                outer_type,
                [v0, v1],
                payload,
            )?,
            Kind::Null { mac, mac_len } => {
                let text_len = payload
                    .len()
                    .checked_sub(*mac_len)
                    .ok_or(OpenError::Malformed)?;
                let (text, tag) = payload.split_at(text_len);
                let expected = mac.mac(&[
                    &seq.to_be_bytes(),
                    &[outer_type, v0, v1],
                    &len16(text_len),
                    text,
                ]);
                if expected.as_slice() != tag {
                    return Err(OpenError::Authentication);
                }
                Opened {
                    content_type: outer_type,
                    start: 0,
                    end: text_len,
                }
            }
            Kind::NullUnverified { mac_len } => {
                let text_len = payload
                    .len()
                    .checked_sub(*mac_len)
                    .ok_or(OpenError::Malformed)?;
                Opened {
                    content_type: outer_type,
                    start: 0,
                    end: text_len,
                }
            }
        };
        self.seq = seq.wrapping_add(1);
        Ok(opened)
    }
}

#[allow(clippy::too_many_arguments)]
fn open_cbc(
    key: &CbcKey,
    mac: &HmacKey,
    mac_len: usize,
    chained_iv: &mut Option<[u8; 16]>,
    encrypt_then_mac: bool,
    seq: u64,
    outer_type: u8,
    version: [u8; 2],
    payload: &mut [u8],
) -> Result<Opened, OpenError> {
    let [v0, v1] = version;
    let mut cipher_end = payload.len();
    if encrypt_then_mac {
        // RFC 7366: the MAC covers IV and ciphertext and follows them.
        cipher_end = cipher_end
            .checked_sub(mac_len)
            .ok_or(OpenError::Malformed)?;
        let (covered, tag) = payload.split_at(cipher_end);
        let expected = mac.mac(&[
            &seq.to_be_bytes(),
            &[outer_type, v0, v1],
            &len16(cipher_end),
            covered,
        ]);
        if expected.as_slice() != tag {
            return Err(OpenError::Authentication);
        }
    }
    let (iv, start) = match chained_iv {
        Some(iv) => (*iv, 0),
        None => {
            let iv: [u8; 16] = payload
                .get(..16)
                .ok_or(OpenError::Malformed)?
                .try_into()
                .map_err(|_| OpenError::Malformed)?;
            (iv, 16)
        }
    };
    let cipher = payload
        .get_mut(start..cipher_end)
        .ok_or(OpenError::Malformed)?;
    if cipher.is_empty() || cipher.len() % 16 != 0 {
        return Err(OpenError::Malformed);
    }
    if let Some(next) = chained_iv.as_mut() {
        let last = cipher
            .get(cipher.len() - 16..)
            .ok_or(OpenError::Malformed)?;
        next.copy_from_slice(last);
    }
    key.decrypt(&iv, cipher);
    let pad = usize::from(*cipher.last().ok_or(OpenError::Malformed)?);
    let unpadded = cipher
        .len()
        .checked_sub(pad + 1)
        .ok_or(OpenError::Authentication)?;
    if cipher
        .get(unpadded..)
        .is_none_or(|p| p.iter().any(|&b| usize::from(b) != pad))
    {
        return Err(OpenError::Authentication);
    }
    let text_len = if encrypt_then_mac {
        unpadded
    } else {
        let text_len = unpadded
            .checked_sub(mac_len)
            .ok_or(OpenError::Authentication)?;
        let (text, rest) = cipher.split_at(text_len);
        let tag = rest.get(..mac_len).ok_or(OpenError::Malformed)?;
        let expected = mac.mac(&[
            &seq.to_be_bytes(),
            &[outer_type, v0, v1],
            &len16(text_len),
            text,
        ]);
        if expected.as_slice() != tag {
            return Err(OpenError::Authentication);
        }
        text_len
    };
    Ok(Opened {
        content_type: outer_type,
        start,
        end: start + text_len,
    })
}

fn len16(len: usize) -> [u8; 2] {
    u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes()
}

fn aad12(seq: u64, content_type: u8, version: [u8; 2], len: usize) -> [u8; 13] {
    let mut aad = [0u8; 13];
    aad[..8].copy_from_slice(&seq.to_be_bytes());
    aad[8] = content_type;
    aad[9..11].copy_from_slice(&version);
    aad[11..].copy_from_slice(&len16(len));
    aad
}

fn xor_seq(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut nonce = *iv;
    for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::unhex;

    fn label(secret: &str, label: &str, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        hkdf_expand_label(HashAlg::Sha256, &unhex(secret), label, &[], &mut out).unwrap();
        out
    }

    // RFC 8448 §3 (simple 1-RTT handshake, TLS_AES_128_GCM_SHA256).
    const SERVER_HS: &str = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
    const CLIENT_HS: &str = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
    const SERVER_AP: &str = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";
    const CLIENT_AP: &str = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";

    #[test]
    fn rfc8448_traffic_keys_and_ivs() {
        assert_eq!(
            label(SERVER_HS, "key", 16),
            unhex("3fce516009c21727d0f2e4e86ee403bc")
        );
        assert_eq!(
            label(SERVER_HS, "iv", 12),
            unhex("5d313eb2671276ee13000b30")
        );
        assert_eq!(
            label(CLIENT_HS, "key", 16),
            unhex("dbfaa693d1762c5b666af5d950258d01")
        );
        assert_eq!(
            label(CLIENT_HS, "iv", 12),
            unhex("5bd3c71b836e0b76bb73265f")
        );
        assert_eq!(
            label(SERVER_AP, "key", 16),
            unhex("9f02283b6c9c07efc26bb9f2ac92e356")
        );
        assert_eq!(
            label(SERVER_AP, "iv", 12),
            unhex("cf782b88dd83549aadf1e984")
        );
        assert_eq!(
            label(CLIENT_AP, "key", 16),
            unhex("17422dda596ed5d9acd890e3c63f5051")
        );
        assert_eq!(
            label(CLIENT_AP, "iv", 12),
            unhex("5b78923dee08579033e523d9")
        );
    }

    fn open(protection: &mut RecordProtection, record: &[u8]) -> Result<(u8, Vec<u8>), OpenError> {
        let header: [u8; 5] = record[..5].try_into().unwrap();
        let mut payload = record[5..].to_vec();
        let opened = protection.open(header, &mut payload)?;
        Ok((
            opened.content_type,
            payload[opened.start..opened.end].to_vec(),
        ))
    }

    #[test]
    fn rfc8448_client_finished_record_decrypts() {
        let suite = find_suite(0x1301).unwrap();
        let mut client = RecordProtection::tls13(suite, &unhex(CLIENT_HS)).unwrap();
        let record = unhex(
            "170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546",
        );
        let (content_type, plain) = open(&mut client, &record).unwrap();
        assert_eq!(content_type, 0x16);
        assert_eq!(
            plain,
            unhex("14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61")
        );
        assert_eq!(client.seq, 1);
    }

    #[test]
    fn rfc8448_client_application_record_decrypts_and_tampering_fails() {
        let suite = find_suite(0x1301).unwrap();
        let record = unhex(
            "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4",
        );
        let mut client = RecordProtection::tls13(suite, &unhex(CLIENT_AP)).unwrap();
        let (content_type, plain) = open(&mut client, &record).unwrap();
        assert_eq!(content_type, 0x17);
        assert_eq!(plain, (0u8..50).collect::<Vec<_>>());

        let mut tampered = record.clone();
        tampered[20] ^= 1;
        let mut client = RecordProtection::tls13(suite, &unhex(CLIENT_AP)).unwrap();
        assert_eq!(open(&mut client, &tampered), Err(OpenError::Authentication));
        assert_eq!(
            client.seq, 0,
            "a failed record does not advance the sequence"
        );
    }

    #[test]
    fn prf_matches_the_published_tls12_sha256_vector() {
        // The widely used TLS 1.2 PRF (SHA-256) test vector.
        let secret = unhex("9bbe436ba940f017b17652849a71db35");
        let seed = unhex("a0ba9f936cda311827a6f796ffd5198c");
        let mut out = [0u8; 100];
        prf(HashAlg::Sha256, &secret, b"test label", &seed, &mut out).unwrap();
        assert_eq!(
            out[..32].to_vec(),
            unhex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a")
        );
    }
}
