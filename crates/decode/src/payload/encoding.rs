//! base64 / base64url detection and bounded gzip inflation.
//!
//! Trackers mix alphabets and padding (Google's `em` hashes are base64url
//! without padding; LinkedIn sends base64 text whose bytes are gzip), so
//! detection is by alphabet and length, then every engine is tried in a
//! fixed order and the one that worked is reported.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use std::io::Read;

/// Which base64 variant decoded a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base64Variant {
    Standard,
    UrlSafe,
}

impl Base64Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Base64Variant::Standard => "base64",
            Base64Variant::UrlSafe => "base64url",
        }
    }
}

/// Whether `text` could be base64 or base64url: only the alphabet, optional
/// `=` padding at the end, and a length that is possible (not 1 mod 4).
pub fn looks_like_base64(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    let padding = text.len().saturating_sub(body.len());
    body.len() >= 4
        && padding <= 2
        && body.len() % 4 != 1
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

/// Decodes base64 in either alphabet, padded or not.
pub fn decode_base64(text: &str) -> Option<(Vec<u8>, Base64Variant)> {
    if !looks_like_base64(text) {
        return None;
    }
    let url_safe = text.bytes().any(|b| matches!(b, b'-' | b'_'));
    let attempts: [(&base64::engine::GeneralPurpose, Base64Variant); 4] = if url_safe {
        [
            (&URL_SAFE_NO_PAD, Base64Variant::UrlSafe),
            (&URL_SAFE, Base64Variant::UrlSafe),
            (&STANDARD_NO_PAD, Base64Variant::Standard),
            (&STANDARD, Base64Variant::Standard),
        ]
    } else {
        [
            (&STANDARD, Base64Variant::Standard),
            (&STANDARD_NO_PAD, Base64Variant::Standard),
            (&URL_SAFE, Base64Variant::UrlSafe),
            (&URL_SAFE_NO_PAD, Base64Variant::UrlSafe),
        ]
    };
    attempts
        .iter()
        .find_map(|(engine, variant)| engine.decode(text).ok().map(|bytes| (bytes, *variant)))
}

/// Whether `text` has the shape of an unpadded base64url SHA-256 digest
/// (43 characters of `[A-Za-z0-9_-]`), as in Google's `em=tv.1~em.…`.
pub fn is_sha256_base64url(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Text for bytes that should be text: the UTF-8 string, or, when they are
/// not UTF-8, every byte outside printable ASCII written as `%XX` so that no
/// byte is replaced or lost.
pub fn bytes_to_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes
            .iter()
            .map(|b| {
                if b.is_ascii_graphic() || *b == b' ' {
                    char::from(*b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    }
}

/// Whether bytes start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Inflates (multi-member) gzip, refusing to produce more than `limit`
/// bytes: a decompression bomb gives `Err`, never a huge allocation.
pub fn gunzip_bounded(bytes: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    if u64::try_from(out.len()).unwrap_or(u64::MAX) > limit {
        return Err(format!("gzip output exceeds {limit} bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn detects_both_alphabets_with_and_without_padding() {
        assert_eq!(
            decode_base64("eyJhIjoxfQ=="),
            Some((b"{\"a\":1}".to_vec(), Base64Variant::Standard))
        );
        assert_eq!(
            decode_base64("eyJhIjoxfQ").map(|(b, _)| b),
            Some(b"{\"a\":1}".to_vec())
        );
        let (bytes, variant) =
            decode_base64("huC55WwXzE0SOH4ZSbhQU_vnO8POWhGIcTqdMAzGEz0").unwrap();
        assert_eq!((bytes.len(), variant), (32, Base64Variant::UrlSafe));
        assert!(decode_base64("page_view").is_none());
        assert!(decode_base64("a").is_none());
    }

    #[test]
    fn non_utf8_bytes_are_escaped_not_replaced() {
        assert_eq!(bytes_to_text(b"caf\xe9 ok"), "caf%E9 ok");
        assert_eq!(bytes_to_text("café".as_bytes()), "café");
    }

    #[test]
    fn sha256_base64url_shape() {
        assert!(is_sha256_base64url(
            "huC55WwXzE0SOH4ZSbhQU_vnO8POWhGIcTqdMAzGEz0"
        ));
        assert!(!is_sha256_base64url(
            "huC55WwXzE0SOH4ZSbhQU_vnO8POWhGIcTqdMAzGEz0="
        ));
    }

    #[test]
    fn gzip_is_bounded() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&[b'a'; 10_000]).unwrap();
        let gz = encoder.finish().unwrap();
        assert!(is_gzip(&gz));
        assert_eq!(gunzip_bounded(&gz, 20_000).unwrap().len(), 10_000);
        assert!(gunzip_bounded(&gz, 100).is_err());
        assert!(gunzip_bounded(b"\x1f\x8bnot gzip", 100).is_err());
    }
}
