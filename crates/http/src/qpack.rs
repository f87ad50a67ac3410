//! QPACK (RFC 9204): the header compression of HTTP/3.
//!
//! A [`QpackDecoder`] holds the dynamic table that one endpoint's encoder
//! builds through its encoder stream, and decodes the header blocks that
//! endpoint sends. Unlike HPACK, a header block may refer to insertions
//! that have not arrived yet (the encoder stream is another QUIC stream);
//! [`QpackDecoder::decode`] then answers [`Decoded::Blocked`] and the
//! caller retries once more of the encoder stream was read. String
//! literals use the HPACK Huffman code (the `huffman` module).

use crate::huffman;
use std::collections::VecDeque;

/// The static table (RFC 9204 Appendix A).
const STATIC: [(&str, &str); 99] = [
    (":authority", ""),
    (":path", "/"),
    ("age", "0"),
    ("content-disposition", ""),
    ("content-length", "0"),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("referer", ""),
    ("set-cookie", ""),
    (":method", "CONNECT"),
    (":method", "DELETE"),
    (":method", "GET"),
    (":method", "HEAD"),
    (":method", "OPTIONS"),
    (":method", "POST"),
    (":method", "PUT"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "103"),
    (":status", "200"),
    (":status", "304"),
    (":status", "404"),
    (":status", "503"),
    ("accept", "*/*"),
    ("accept", "application/dns-message"),
    ("accept-encoding", "gzip, deflate, br"),
    ("accept-ranges", "bytes"),
    ("access-control-allow-headers", "cache-control"),
    ("access-control-allow-headers", "content-type"),
    ("access-control-allow-origin", "*"),
    ("cache-control", "max-age=0"),
    ("cache-control", "max-age=2592000"),
    ("cache-control", "max-age=604800"),
    ("cache-control", "no-cache"),
    ("cache-control", "no-store"),
    ("cache-control", "public, max-age=31536000"),
    ("content-encoding", "br"),
    ("content-encoding", "gzip"),
    ("content-type", "application/dns-message"),
    ("content-type", "application/javascript"),
    ("content-type", "application/json"),
    ("content-type", "application/x-www-form-urlencoded"),
    ("content-type", "image/gif"),
    ("content-type", "image/jpeg"),
    ("content-type", "image/png"),
    ("content-type", "text/css"),
    ("content-type", "text/html; charset=utf-8"),
    ("content-type", "text/plain"),
    ("content-type", "text/plain;charset=utf-8"),
    ("range", "bytes=0-"),
    ("strict-transport-security", "max-age=31536000"),
    (
        "strict-transport-security",
        "max-age=31536000; includesubdomains",
    ),
    (
        "strict-transport-security",
        "max-age=31536000; includesubdomains; preload",
    ),
    ("vary", "accept-encoding"),
    ("vary", "origin"),
    ("x-content-type-options", "nosniff"),
    ("x-xss-protection", "1; mode=block"),
    (":status", "100"),
    (":status", "204"),
    (":status", "206"),
    (":status", "302"),
    (":status", "400"),
    (":status", "403"),
    (":status", "421"),
    (":status", "425"),
    (":status", "500"),
    ("accept-language", ""),
    ("access-control-allow-credentials", "FALSE"),
    ("access-control-allow-credentials", "TRUE"),
    ("access-control-allow-headers", "*"),
    ("access-control-allow-methods", "get"),
    ("access-control-allow-methods", "get, post, options"),
    ("access-control-allow-methods", "options"),
    ("access-control-expose-headers", "content-length"),
    ("access-control-request-headers", "content-type"),
    ("access-control-request-method", "get"),
    ("access-control-request-method", "post"),
    ("alt-svc", "clear"),
    ("authorization", ""),
    (
        "content-security-policy",
        "script-src 'none'; object-src 'none'; base-uri 'none'",
    ),
    ("early-data", "1"),
    ("expect-ct", ""),
    ("forwarded", ""),
    ("if-range", ""),
    ("origin", ""),
    ("purpose", "prefetch"),
    ("server", ""),
    ("timing-allow-origin", "*"),
    ("upgrade-insecure-requests", "1"),
    ("user-agent", ""),
    ("x-forwarded-for", ""),
    ("x-frame-options", "deny"),
    ("x-frame-options", "sameorigin"),
];

/// Longest string literal accepted.
const MAX_STRING: u64 = 1 << 20;
/// Encoder stream bytes held while an instruction is incomplete.
const MAX_PENDING_INSTRUCTION: usize = 2 << 20;

/// A decoded field line: name and value bytes.
pub(crate) type Field = (Vec<u8>, Vec<u8>);

/// What decoding a header block gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    Fields(Vec<Field>),
    /// The block needs `required` insertions (or, when the decoder's table
    /// capacity is not known yet, the SETTINGS that announce it).
    Blocked {
        required: Option<u64>,
    },
    /// The block cannot be decoded; the reason.
    Invalid(String),
}

/// The dynamic table of one encoder and the decoding of its header blocks.
pub(crate) struct QpackDecoder {
    /// SETTINGS_QPACK_MAX_TABLE_CAPACITY of the decoding side, once read.
    max_capacity: Option<u64>,
    /// The most this reader keeps, whatever the peers agreed.
    limit: u64,
    capacity: u64,
    entries: VecDeque<Field>,
    size: u64,
    /// Absolute index of `entries[0]`.
    dropped: u64,
    inserted: u64,
    pending: Vec<u8>,
    broken: Option<String>,
}

impl std::fmt::Debug for QpackDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QpackDecoder")
            .field("capacity", &self.capacity)
            .field("inserted", &self.inserted)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// A prefixed integer (RFC 7541 §5.1) whose prefix is the low `bits` bits
/// of the byte at `at`. `None` when the bytes run out or it overflows.
fn int(buf: &[u8], at: &mut usize, bits: u32) -> Option<u64> {
    let mask = (1u64 << bits) - 1;
    let mut value = u64::from(*buf.get(*at)?) & mask;
    let mut pos = *at + 1;
    if value == mask {
        let mut shift = 0u32;
        loop {
            let b = *buf.get(pos)?;
            pos += 1;
            if shift > 56 {
                return None;
            }
            value = value.checked_add(u64::from(b & 0x7f) << shift)?;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    *at = pos;
    Some(value)
}

/// Incomplete input, or an error with its reason.
enum Problem {
    Incomplete,
    Invalid(String),
}

impl QpackDecoder {
    /// A decoder keeping at most `limit` bytes of table.
    pub(crate) fn new(limit: usize) -> QpackDecoder {
        QpackDecoder {
            max_capacity: None,
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
            capacity: 0,
            entries: VecDeque::new(),
            size: 0,
            dropped: 0,
            inserted: 0,
            pending: Vec::new(),
            broken: None,
        }
    }

    /// The decoding side announced its table capacity in SETTINGS (0 when
    /// its SETTINGS carry none).
    pub(crate) fn set_max_capacity(&mut self, capacity: u64) {
        self.max_capacity = Some(capacity);
    }

    pub(crate) fn inserted(&self) -> u64 {
        self.inserted
    }

    /// Why the table can no longer be trusted, if it cannot.
    #[cfg(test)]
    pub(crate) fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// The string literal at `at` whose length has a `bits`-bit prefix
    /// (the Huffman flag is the bit above it).
    fn string(&mut self, buf: &[u8], at: &mut usize, bits: u32) -> Result<Vec<u8>, Problem> {
        let huffman_coded = buf.get(*at).ok_or(Problem::Incomplete)? & (1u8 << bits) != 0;
        let len = int(buf, at, bits).ok_or(Problem::Incomplete)?;
        if len > MAX_STRING {
            return Err(Problem::Invalid(format!("a {len}-byte string literal")));
        }
        let len = usize::try_from(len).map_err(|_| Problem::Incomplete)?;
        let raw = buf
            .get(*at..at.saturating_add(len))
            .ok_or(Problem::Incomplete)?;
        *at += len;
        if huffman_coded {
            let mut octets = Vec::new();
            huffman::decode(raw, &mut octets)
                .map_err(|e| Problem::Invalid(format!("bad Huffman string ({e})")))?;
            Ok(octets)
        } else {
            Ok(raw.to_vec())
        }
    }

    /// Reads encoder stream bytes (in stream order) and applies every
    /// complete instruction. After an error the table is not trusted any
    /// more and the error is kept in [`QpackDecoder::broken`].
    pub(crate) fn encoder_data(&mut self, data: &[u8]) -> Result<(), String> {
        if let Some(reason) = &self.broken {
            return Err(reason.clone());
        }
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(data);
        let mut at = 0usize;
        while at < buf.len() {
            let mut next = at;
            match self.instruction(&buf, &mut next) {
                Ok(()) => at = next,
                Err(Problem::Incomplete) => break,
                Err(Problem::Invalid(reason)) => {
                    self.broken = Some(reason.clone());
                    return Err(reason);
                }
            }
        }
        let rest = buf.get(at..).unwrap_or_default();
        if rest.len() > MAX_PENDING_INSTRUCTION {
            let reason =
                format!("an encoder instruction longer than {MAX_PENDING_INSTRUCTION} bytes");
            self.broken = Some(reason.clone());
            return Err(reason);
        }
        self.pending = rest.to_vec();
        Ok(())
    }

    fn instruction(&mut self, buf: &[u8], at: &mut usize) -> Result<(), Problem> {
        let first = *buf.get(*at).ok_or(Problem::Incomplete)?;
        if first & 0x80 != 0 {
            // Insert With Name Reference.
            let is_static = first & 0x40 != 0;
            let index = int(buf, at, 6).ok_or(Problem::Incomplete)?;
            let value = self.string(buf, at, 7)?;
            let name = if is_static {
                static_entry(index)
                    .ok_or_else(|| Problem::Invalid(format!("static index {index} out of range")))?
                    .0
                    .as_bytes()
                    .to_vec()
            } else {
                let absolute = self.relative_to_absolute(index)?;
                self.entry(absolute).map_err(Problem::Invalid)?.0.clone()
            };
            self.insert(name, value)
        } else if first & 0x40 != 0 {
            // Insert With Literal Name.
            let name = self.string(buf, at, 5)?;
            let value = self.string(buf, at, 7)?;
            self.insert(name, value)
        } else if first & 0x20 != 0 {
            let capacity = int(buf, at, 5).ok_or(Problem::Incomplete)?;
            if capacity > self.limit || self.max_capacity.is_some_and(|max| capacity > max) {
                return Err(Problem::Invalid(format!(
                    "table capacity {capacity} above the allowed maximum"
                )));
            }
            self.capacity = capacity;
            self.evict(0)
        } else {
            // Duplicate.
            let index = int(buf, at, 5).ok_or(Problem::Incomplete)?;
            let absolute = self.relative_to_absolute(index)?;
            let (name, value) = self.entry(absolute).map_err(Problem::Invalid)?.clone();
            self.insert(name, value)
        }
    }

    /// Encoder-stream relative index to absolute (RFC 9204 §3.2.5).
    fn relative_to_absolute(&self, relative: u64) -> Result<u64, Problem> {
        self.inserted
            .checked_sub(relative.saturating_add(1))
            .ok_or_else(|| {
                Problem::Invalid(format!("relative index {relative} refers to no entry"))
            })
    }

    fn entry(&self, absolute: u64) -> Result<&Field, String> {
        let at = absolute
            .checked_sub(self.dropped)
            .ok_or_else(|| format!("dynamic entry {absolute} was already evicted"))?;
        usize::try_from(at)
            .ok()
            .and_then(|i| self.entries.get(i))
            .ok_or_else(|| format!("dynamic entry {absolute} does not exist"))
    }

    /// Evicts the oldest entries until `room` more bytes fit.
    fn evict(&mut self, room: u64) -> Result<(), Problem> {
        while self.size.saturating_add(room) > self.capacity {
            let Some((name, value)) = self.entries.pop_front() else {
                return Err(Problem::Invalid(
                    "an entry larger than the table capacity".into(),
                ));
            };
            self.size = self
                .size
                .saturating_sub(name.len() as u64 + value.len() as u64 + 32);
            self.dropped += 1;
        }
        Ok(())
    }

    fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) -> Result<(), Problem> {
        let size = name.len() as u64 + value.len() as u64 + 32;
        self.evict(size)?;
        self.size += size;
        self.entries.push_back((name, value));
        self.inserted += 1;
        Ok(())
    }

    /// Decodes one header block (the payload of an HTTP/3 HEADERS frame).
    pub(crate) fn decode(&mut self, block: &[u8]) -> Decoded {
        match self.try_decode(block) {
            Ok(decoded) => decoded,
            Err(Problem::Incomplete) => Decoded::Invalid("the header block ends early".into()),
            Err(Problem::Invalid(reason)) => Decoded::Invalid(reason),
        }
    }

    fn try_decode(&mut self, block: &[u8]) -> Result<Decoded, Problem> {
        let mut at = 0usize;
        let encoded = int(block, &mut at, 8).ok_or(Problem::Incomplete)?;
        let sign = block.get(at).ok_or(Problem::Incomplete)? & 0x80 != 0;
        let delta = int(block, &mut at, 7).ok_or(Problem::Incomplete)?;
        let required = if encoded == 0 {
            0
        } else {
            let Some(max_capacity) = self.max_capacity else {
                return Ok(Decoded::Blocked { required: None });
            };
            self.required_insert_count(encoded, max_capacity)?
        };
        if required > self.inserted {
            if let Some(reason) = &self.broken {
                return Err(Problem::Invalid(format!(
                    "the block needs dynamic table entries the encoder stream could not provide ({reason})"
                )));
            }
            return Ok(Decoded::Blocked {
                required: Some(required),
            });
        }
        let base = if sign {
            required.checked_sub(delta.saturating_add(1))
        } else {
            required.checked_add(delta)
        }
        .ok_or_else(|| Problem::Invalid("the block's base is out of range".into()))?;
        let dynamic = |index: Option<u64>| -> Result<u64, Problem> {
            match index {
                Some(absolute) if absolute < required => Ok(absolute),
                _ => Err(Problem::Invalid(
                    "a dynamic reference beyond the block's Required Insert Count".into(),
                )),
            }
        };
        let mut fields = Vec::new();
        while at < block.len() {
            let first = *block.get(at).ok_or(Problem::Incomplete)?;
            let field = if first & 0x80 != 0 {
                // Indexed Field Line.
                let index = int(block, &mut at, 6).ok_or(Problem::Incomplete)?;
                if first & 0x40 != 0 {
                    let (name, value) = static_entry(index).ok_or_else(|| {
                        Problem::Invalid(format!("static index {index} out of range"))
                    })?;
                    (name.as_bytes().to_vec(), value.as_bytes().to_vec())
                } else {
                    let absolute = dynamic(base.checked_sub(index.saturating_add(1)))?;
                    self.entry(absolute).map_err(Problem::Invalid)?.clone()
                }
            } else if first & 0x40 != 0 {
                // Literal Field Line With Name Reference.
                let index = int(block, &mut at, 4).ok_or(Problem::Incomplete)?;
                let name = if first & 0x10 != 0 {
                    static_entry(index)
                        .ok_or_else(|| {
                            Problem::Invalid(format!("static index {index} out of range"))
                        })?
                        .0
                        .as_bytes()
                        .to_vec()
                } else {
                    let absolute = dynamic(base.checked_sub(index.saturating_add(1)))?;
                    self.entry(absolute).map_err(Problem::Invalid)?.0.clone()
                };
                (name, self.string(block, &mut at, 7)?)
            } else if first & 0x20 != 0 {
                // Literal Field Line With Literal Name.
                let name = self.string(block, &mut at, 3)?;
                (name, self.string(block, &mut at, 7)?)
            } else if first & 0x10 != 0 {
                // Indexed Field Line With Post-Base Index.
                let index = int(block, &mut at, 4).ok_or(Problem::Incomplete)?;
                let absolute = dynamic(base.checked_add(index))?;
                self.entry(absolute).map_err(Problem::Invalid)?.clone()
            } else {
                // Literal Field Line With Post-Base Name Reference.
                let index = int(block, &mut at, 3).ok_or(Problem::Incomplete)?;
                let absolute = dynamic(base.checked_add(index))?;
                let name = self.entry(absolute).map_err(Problem::Invalid)?.0.clone();
                (name, self.string(block, &mut at, 7)?)
            };
            fields.push(field);
        }
        Ok(Decoded::Fields(fields))
    }

    /// RFC 9204 §4.5.1.1.
    fn required_insert_count(&self, encoded: u64, max_capacity: u64) -> Result<u64, Problem> {
        let max_entries = max_capacity / 32;
        let full_range = max_entries.saturating_mul(2);
        if full_range == 0 || encoded > full_range {
            return Err(Problem::Invalid(format!(
                "encoded Required Insert Count {encoded} impossible for a table of {max_capacity} bytes"
            )));
        }
        let max_value = self.inserted.saturating_add(max_entries);
        let max_wrapped = (max_value / full_range) * full_range;
        let mut required = max_wrapped + encoded - 1;
        if required > max_value {
            if required <= full_range {
                return Err(Problem::Invalid(
                    "Required Insert Count out of range".into(),
                ));
            }
            required -= full_range;
        }
        if required == 0 {
            return Err(Problem::Invalid(
                "Required Insert Count out of range".into(),
            ));
        }
        Ok(required)
    }
}

fn static_entry(index: u64) -> Option<(&'static str, &'static str)> {
    STATIC.get(usize::try_from(index).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn fields(pairs: &[(&str, &str)]) -> Decoded {
        Decoded::Fields(
            pairs
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn static_table_ends_where_the_rfc_says() {
        assert_eq!(static_entry(0), Some((":authority", "")));
        assert_eq!(static_entry(17), Some((":method", "GET")));
        assert_eq!(static_entry(25), Some((":status", "200")));
        assert_eq!(static_entry(63), Some((":status", "100")));
        assert_eq!(static_entry(98), Some(("x-frame-options", "sameorigin")));
        assert_eq!(static_entry(99), None);
    }

    /// RFC 9204 Appendix B, B.1 to B.5, in order on one decoder.
    #[test]
    fn rfc9204_appendix_b() {
        let mut d = QpackDecoder::new(1 << 20);
        d.set_max_capacity(220);
        // B.1: static name reference.
        assert_eq!(
            d.decode(&unhex("0000 510b 2f69 6e64 6578 2e68 746d 6c")),
            fields(&[(":path", "/index.html")])
        );
        // B.2: the block arrives before the encoder stream: blocked.
        let block = unhex("0381 10 11");
        assert_eq!(d.decode(&block), Decoded::Blocked { required: Some(2) });
        // The encoder stream split mid-instruction.
        let encoder = unhex(
            "3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468",
        );
        let (a, b) = encoder.split_at(9);
        d.encoder_data(a).unwrap();
        assert_eq!(d.inserted(), 0);
        d.encoder_data(b).unwrap();
        assert_eq!((d.inserted(), d.size), (2, 106));
        assert_eq!(
            d.decode(&block),
            fields(&[(":authority", "www.example.com"), (":path", "/sample/path")])
        );
        // B.3: insert with literal name.
        d.encoder_data(&unhex(
            "4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565",
        ))
        .unwrap();
        assert_eq!(d.size, 160);
        // B.4: duplicate, then a block with relative dynamic references.
        d.encoder_data(&unhex("02")).unwrap();
        assert_eq!(d.size, 217);
        assert_eq!(
            d.decode(&unhex("0500 80 c1 81")),
            fields(&[
                (":authority", "www.example.com"),
                (":path", "/"),
                ("custom-key", "custom-value")
            ])
        );
        // B.5: insert with dynamic name reference evicts the oldest entry.
        d.encoder_data(&unhex("810d 6375 7374 6f6d 2d76 616c 7565 32"))
            .unwrap();
        assert_eq!((d.dropped, d.size), (1, 215));
        assert_eq!(
            d.entry(4).unwrap(),
            &(b"custom-key".to_vec(), b"custom-value2".to_vec())
        );
        assert!(d.entry(0).is_err());
    }

    #[test]
    fn huffman_literals_and_post_base_name_references() {
        let mut d = QpackDecoder::new(4096);
        d.set_max_capacity(4096);
        // Insert custom-key=custom-value, then a block with Base = 0 that
        // names it post-base with a Huffman value ("www.example.com",
        // RFC 7541 C.4.1) and a literal name in plain text.
        d.encoder_data(&unhex(
            "3fe11f 4a637573746f6d2d6b65790c637573746f6d2d76616c7565",
        ))
        .unwrap();
        let block = unhex("0280 00 8c f1e3c2e5f23a6ba0ab90f4ff 22 61 62 01 63");
        assert_eq!(
            d.decode(&block),
            fields(&[("custom-key", "www.example.com"), ("ab", "c")])
        );
    }

    #[test]
    fn blocks_needing_the_table_wait_for_settings_and_bad_ones_are_errors() {
        let mut d = QpackDecoder::new(4096);
        assert_eq!(
            d.decode(&unhex("0200 80")),
            Decoded::Blocked { required: None }
        );
        d.set_max_capacity(4096);
        assert!(matches!(d.decode(&unhex("0000 ff")), Decoded::Invalid(_)));
        assert!(matches!(d.decode(&unhex("00")), Decoded::Invalid(_)));
        // Capacity above what the decoder allowed breaks the table.
        assert!(d.encoder_data(&unhex("3fe13f")).is_err());
        assert!(d.broken().is_some());
    }
}
