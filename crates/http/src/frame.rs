//! HTTP/2 frames (RFC 9113 §4): the 9-byte header and the payload
//! layouts this crate reads. Wire numbers are newtypes with named constants
//! so an unknown frame type survives and still prints.

/// The client connection preface that opens every HTTP/2 connection.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Length of a frame header.
pub const HEADER_LEN: usize = 9;

/// A frame type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrameType(pub u8);

impl FrameType {
    pub const DATA: FrameType = FrameType(0x0);
    pub const HEADERS: FrameType = FrameType(0x1);
    pub const PRIORITY: FrameType = FrameType(0x2);
    pub const RST_STREAM: FrameType = FrameType(0x3);
    pub const SETTINGS: FrameType = FrameType(0x4);
    pub const PUSH_PROMISE: FrameType = FrameType(0x5);
    pub const PING: FrameType = FrameType(0x6);
    pub const GOAWAY: FrameType = FrameType(0x7);
    pub const WINDOW_UPDATE: FrameType = FrameType(0x8);
    pub const CONTINUATION: FrameType = FrameType(0x9);
}

/// Frame flags (their meaning depends on the frame type).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    /// DATA, HEADERS.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING.
    pub const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE.
    pub const PADDED: u8 = 0x8;
    /// HEADERS.
    pub const PRIORITY: u8 = 0x20;

    pub fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

/// SETTINGS identifiers this crate uses.
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub length: u32,
    pub kind: FrameType,
    pub flags: Flags,
    /// Stream identifier (31 bits; the reserved bit is dropped).
    pub stream: u32,
}

impl FrameHeader {
    /// Parses the first 9 bytes, if there are that many.
    pub fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let &[l0, l1, l2, kind, flags, s0, s1, s2, s3, ..] = bytes else {
            return None;
        };
        Some(FrameHeader {
            length: u32::from_be_bytes([0, l0, l1, l2]),
            kind: FrameType(kind),
            flags: Flags(flags),
            stream: u32::from_be_bytes([s0 & 0x7f, s1, s2, s3]),
        })
    }

    /// The 9 header bytes (length is cut to 24 bits, stream to 31).
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [_, l0, l1, l2] = (self.length & 0x00ff_ffff).to_be_bytes();
        let [s0, s1, s2, s3] = (self.stream & 0x7fff_ffff).to_be_bytes();
        [l0, l1, l2, self.kind.0, self.flags.0, s0, s1, s2, s3]
    }
}

/// The part of a DATA, HEADERS or PUSH_PROMISE payload that carries
/// content: padding (and HEADERS priority fields) removed. `None` when the
/// declared padding does not fit the payload.
pub fn unpad<'a>(header: &FrameHeader, payload: &'a [u8]) -> Option<(Option<u8>, &'a [u8])> {
    let (pad, rest) = if header.flags.has(Flags::PADDED) {
        let (&pad, rest) = payload.split_first()?;
        (Some(pad), rest)
    } else {
        (None, payload)
    };
    let content_len = rest.len().checked_sub(usize::from(pad.unwrap_or(0)))?;
    let content = rest.get(..content_len)?;
    let content = if header.kind == FrameType::HEADERS && header.flags.has(Flags::PRIORITY) {
        // Stream dependency (4) and weight (1).
        content.get(5..)?
    } else {
        content
    };
    Some((pad, content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_drops_the_reserved_bit() {
        let bytes = [0x00, 0x40, 0x01, 0x01, 0x25, 0x80, 0x00, 0x00, 0x0f];
        let header = FrameHeader::parse(&bytes).unwrap();
        assert_eq!(
            header,
            FrameHeader {
                length: 0x4001,
                kind: FrameType::HEADERS,
                flags: Flags(0x25),
                stream: 15
            }
        );
        assert_eq!(
            header.to_bytes(),
            [0x00, 0x40, 0x01, 0x01, 0x25, 0x00, 0x00, 0x00, 0x0f]
        );
        assert_eq!(FrameHeader::parse(&bytes[..8]), None);
    }

    #[test]
    fn padding_and_priority_are_removed() {
        let header = FrameHeader {
            length: 0,
            kind: FrameType::HEADERS,
            flags: Flags(Flags::PADDED | Flags::PRIORITY),
            stream: 1,
        };
        let payload = [2, 0, 0, 0, 3, 16, b'h', b'i', 0, 0];
        assert_eq!(unpad(&header, &payload), Some((Some(2), &b"hi"[..])));
        assert_eq!(unpad(&header, &[9, 1, 2]), None);
    }
}
