//! The few handshake messages a passive decryptor reads: ClientHello,
//! ServerHello and (TLS 1.3) EncryptedExtensions.

/// A bounds-checked reader over a handshake message body.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.data.len() {
            return None;
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes(b.try_into().ok()?))
    }

    /// A vector with a `width`-byte length prefix.
    pub(crate) fn vec(&mut self, width: usize) -> Option<&'a [u8]> {
        let mut len = 0usize;
        for b in self.take(width)? {
            len = (len << 8) | usize::from(*b);
        }
        self.take(len)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// What the ClientHello tells us.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClientHello {
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub server_name: Option<String>,
    pub alpn: Vec<String>,
    pub offers_early_data: bool,
}

/// What the ServerHello tells us.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ServerHello {
    /// Negotiated version: `supported_versions` if present, else the legacy
    /// field (0x0301 = TLS 1.0 ... 0x0304 = TLS 1.3).
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher_suite: u16,
    /// 0 = none, 1 = DEFLATE (RFC 3749, TLS 1.2 and earlier).
    pub compression: u8,
    pub alpn: Option<String>,
    pub encrypt_then_mac: bool,
    /// A HelloRetryRequest: the real ServerHello follows later.
    pub retry_request: bool,
}

/// SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest.
const RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_ENCRYPT_THEN_MAC: u16 = 22;
const EXT_EARLY_DATA: u16 = 42;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// Iterates `(type, data)` over an extensions block.
fn extensions(block: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut r = Reader::new(block);
    std::iter::from_fn(move || {
        let kind = r.u16()?;
        let data = r.vec(2)?;
        Some((kind, data))
    })
}

fn alpn_list(data: &[u8]) -> Vec<String> {
    let mut outer = Reader::new(data);
    let Some(list) = outer.vec(2) else {
        return Vec::new();
    };
    let mut r = Reader::new(list);
    let mut out = Vec::new();
    while let Some(name) = r.vec(1) {
        out.push(String::from_utf8_lossy(name).into_owned());
    }
    out
}

/// Parses a ClientHello body (after the 4-byte handshake header).
pub(crate) fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    r.u16()?;
    let random = r.take(32)?.try_into().ok()?;
    let session_id = r.vec(1)?.to_vec();
    r.vec(2)?;
    r.vec(1)?;
    let mut hello = ClientHello {
        random,
        session_id,
        ..ClientHello::default()
    };
    if r.is_empty() {
        return Some(hello);
    }
    for (kind, data) in extensions(r.vec(2)?) {
        match kind {
            EXT_SERVER_NAME => hello.server_name = parse_server_name(data),
            EXT_ALPN => hello.alpn = alpn_list(data),
            EXT_EARLY_DATA => hello.offers_early_data = true,
            _ => {}
        }
    }
    Some(hello)
}

/// The first host_name entry of a server_name extension, lower-cased.
fn parse_server_name(data: &[u8]) -> Option<String> {
    let mut outer = Reader::new(data);
    let mut r = Reader::new(outer.vec(2)?);
    while !r.is_empty() {
        let kind = r.u8()?;
        let name = r.vec(2)?;
        if kind == 0 {
            return Some(String::from_utf8_lossy(name).to_ascii_lowercase());
        }
    }
    None
}

/// Parses a ServerHello body (after the 4-byte handshake header).
pub(crate) fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random: [u8; 32] = r.take(32)?.try_into().ok()?;
    let session_id = r.vec(1)?.to_vec();
    let cipher_suite = r.u16()?;
    let compression = r.u8()?;
    let mut hello = ServerHello {
        version: legacy_version,
        random,
        session_id,
        cipher_suite,
        compression,
        retry_request: random == RETRY_RANDOM,
        ..ServerHello::default()
    };
    if r.is_empty() {
        return Some(hello);
    }
    for (kind, data) in extensions(r.vec(2)?) {
        match kind {
            EXT_SUPPORTED_VERSIONS => {
                if let Some(v) = Reader::new(data).u16() {
                    hello.version = v;
                }
            }
            EXT_ALPN => hello.alpn = alpn_list(data).into_iter().next(),
            EXT_ENCRYPT_THEN_MAC => hello.encrypt_then_mac = true,
            _ => {}
        }
    }
    Some(hello)
}

/// The ALPN protocol selected in a TLS 1.3 EncryptedExtensions body.
pub(crate) fn parse_encrypted_extensions(body: &[u8]) -> Option<String> {
    let mut r = Reader::new(body);
    extensions(r.vec(2)?)
        .find(|(kind, _)| *kind == EXT_ALPN)
        .and_then(|(_, data)| alpn_list(data).into_iter().next())
}

/// `"1.2"`-style name of a protocol version.
pub(crate) fn version_name(version: u16) -> String {
    match version {
        0x0300 => "3.0".into(),
        0x0301 => "1.0".into(),
        0x0302 => "1.1".into(),
        0x0303 => "1.2".into(),
        0x0304 => "1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::unhex;

    #[test]
    fn reads_the_rfc8448_hellos() {
        // RFC 8448 §3 ClientHello and ServerHello bodies.
        let client = unhex(
            "0303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001",
        );
        let hello = parse_client_hello(&client).unwrap();
        assert_eq!(hello.server_name.as_deref(), Some("server"));
        assert_eq!(hello.random[..4], [0xcb, 0x34, 0xec, 0xb1]);
        let server = unhex(
            "0303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304",
        );
        let hello = parse_server_hello(&server).unwrap();
        assert_eq!(
            (hello.version, hello.cipher_suite, hello.retry_request),
            (0x0304, 0x1301, false)
        );
    }

    #[test]
    fn truncated_hellos_are_rejected_not_panicked_on() {
        let server = unhex(
            "0303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e0033",
        );
        for len in 0..server.len() {
            let _ = parse_server_hello(&server[..len]);
            let _ = parse_client_hello(&server[..len]);
        }
        assert!(parse_server_hello(&server[..30]).is_none());
    }
}
