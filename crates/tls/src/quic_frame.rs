//! QUIC frames (RFC 9000 §19, RFC 9221): the payload of a decrypted packet
//! read as a sequence of [`Frame`]s.
//!
//! Only CRYPTO, STREAM, RESET_STREAM and NEW_CONNECTION_ID carry anything a
//! passive reader needs; every other frame is parsed just far enough to
//! step over it. A frame type this reader does not know has no length to
//! skip by, so reading stops there and the caller reports it.

/// A QUIC variable-length integer (RFC 9000 §16).
pub(crate) fn varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let first = *data.get(*at)?;
    let len = 1usize << (first >> 6);
    let bytes = data.get(*at..at.checked_add(len)?)?;
    let mut value = u64::from(first & 0x3f);
    for b in bytes.iter().skip(1) {
        value = (value << 8) | u64::from(*b);
    }
    *at += len;
    Some(value)
}

/// One frame; the variants a reader acts on keep their content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    Crypto {
        offset: u64,
        data: &'a [u8],
    },
    Stream {
        id: u64,
        offset: u64,
        data: &'a [u8],
        fin: bool,
    },
    ResetStream {
        id: u64,
        final_size: u64,
    },
    NewConnectionId {
        cid: &'a [u8],
    },
    ConnectionClose,
    /// PADDING, PING, ACK, STOP_SENDING, NEW_TOKEN, MAX_*, *_BLOCKED,
    /// RETIRE_CONNECTION_ID, PATH_*, HANDSHAKE_DONE, DATAGRAM.
    Other(u64),
}

/// Why a payload could not be read to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// A frame type this reader does not know, at this payload offset.
    Unknown { kind: u64, at: usize },
    /// A frame whose fields run past the payload.
    Truncated { kind: u64, at: usize },
}

/// Reads every frame of a payload, in order, into `each`.
pub(crate) fn read_frames<'a>(
    payload: &'a [u8],
    mut each: impl FnMut(Frame<'a>),
) -> Result<(), FrameError> {
    let mut at = 0usize;
    while at < payload.len() {
        let start = at;
        let kind = varint(payload, &mut at).ok_or(FrameError::Truncated { kind: 0, at })?;
        let frame =
            one_frame(payload, kind, &mut at).ok_or(FrameError::Truncated { kind, at: start })?;
        match frame {
            Some(frame) => each(frame),
            None => return Err(FrameError::Unknown { kind, at: start }),
        }
    }
    Ok(())
}

/// Takes `len` bytes at `at`.
fn bytes<'a>(payload: &'a [u8], at: &mut usize, len: u64) -> Option<&'a [u8]> {
    let len = usize::try_from(len).ok()?;
    let data = payload.get(*at..at.checked_add(len)?)?;
    *at += len;
    Some(data)
}

/// Skips `n` varints.
fn skip(payload: &[u8], at: &mut usize, n: u64) -> Option<()> {
    for _ in 0..n {
        varint(payload, at)?;
    }
    Some(())
}

/// The body of one frame of type `kind`. `None`: truncated;
/// `Some(None)`: unknown type.
fn one_frame<'a>(payload: &'a [u8], kind: u64, at: &mut usize) -> Option<Option<Frame<'a>>> {
    let frame = match kind {
        0x00 => {
            // A run of PADDING is one frame here.
            while payload.get(*at) == Some(&0) {
                *at += 1;
            }
            Frame::Other(kind)
        }
        0x01 | 0x1e => Frame::Other(kind),
        0x02 | 0x03 => {
            // ACK: largest, delay, range count, first range, then a gap and
            // a length per range, then three ECN counts for 0x03.
            skip(payload, at, 2)?;
            let ranges = varint(payload, at)?;
            skip(payload, at, 1)?;
            // Each range is at least two bytes: a count beyond the payload
            // is malformed, not a reason to loop for long.
            if ranges > payload.len() as u64 {
                return None;
            }
            skip(payload, at, ranges * 2 + if kind == 0x03 { 3 } else { 0 })?;
            Frame::Other(kind)
        }
        0x04 => {
            let id = varint(payload, at)?;
            skip(payload, at, 1)?;
            let final_size = varint(payload, at)?;
            Frame::ResetStream { id, final_size }
        }
        0x05 | 0x11 | 0x15 => {
            skip(payload, at, 2)?;
            Frame::Other(kind)
        }
        0x06 => {
            let offset = varint(payload, at)?;
            let len = varint(payload, at)?;
            let data = bytes(payload, at, len)?;
            Frame::Crypto { offset, data }
        }
        0x07 => {
            let len = varint(payload, at)?;
            bytes(payload, at, len)?;
            Frame::Other(kind)
        }
        0x08..=0x0f => {
            let id = varint(payload, at)?;
            let offset = if kind & 0x04 != 0 {
                varint(payload, at)?
            } else {
                0
            };
            let data = if kind & 0x02 != 0 {
                let len = varint(payload, at)?;
                bytes(payload, at, len)?
            } else {
                let rest = payload.get(*at..)?;
                *at = payload.len();
                rest
            };
            Frame::Stream {
                id,
                offset,
                data,
                fin: kind & 0x01 != 0,
            }
        }
        0x10 | 0x12 | 0x13 | 0x14 | 0x16 | 0x17 | 0x19 => {
            skip(payload, at, 1)?;
            Frame::Other(kind)
        }
        0x18 => {
            skip(payload, at, 2)?;
            let len = *payload.get(*at)?;
            *at += 1;
            let cid = bytes(payload, at, u64::from(len))?;
            bytes(payload, at, 16)?;
            Frame::NewConnectionId { cid }
        }
        0x1a | 0x1b => {
            bytes(payload, at, 8)?;
            Frame::Other(kind)
        }
        0x1c | 0x1d => {
            skip(payload, at, if kind == 0x1c { 2 } else { 1 })?;
            let len = varint(payload, at)?;
            bytes(payload, at, len)?;
            Frame::ConnectionClose
        }
        0x30 => {
            *at = payload.len();
            Frame::Other(kind)
        }
        0x31 => {
            let len = varint(payload, at)?;
            bytes(payload, at, len)?;
            Frame::Other(kind)
        }
        _ => return Some(None),
    };
    Some(Some(frame))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::unhex;

    fn frames(hex: &str) -> (Vec<Frame<'static>>, Result<(), FrameError>) {
        let payload: &'static [u8] = Box::leak(unhex(hex).into_boxed_slice());
        let mut out = Vec::new();
        let result = read_frames(payload, |f| out.push(f));
        (out, result)
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
        assert_eq!(varint(&unhex("7b"), &mut 0), None);
    }

    #[test]
    fn stream_frames_of_every_flag_combination() {
        // 0x08: no offset, to the end; 0x0f: offset, length, FIN.
        let (f, r) = frames("0f04050268690a0003616263");
        assert_eq!(r, Ok(()));
        assert_eq!(
            f,
            [
                Frame::Stream {
                    id: 4,
                    offset: 5,
                    data: b"hi",
                    fin: true
                },
                Frame::Stream {
                    id: 0,
                    offset: 0,
                    data: b"abc",
                    fin: false
                }
            ]
        );
        let (f, _) = frames("080878797a");
        assert_eq!(
            f,
            [Frame::Stream {
                id: 8,
                offset: 0,
                data: b"xyz",
                fin: false
            }]
        );
    }

    #[test]
    fn control_frames_are_stepped_over() {
        // PADDING run, PING, ACK with one range and ECN, MAX_DATA,
        // NEW_CONNECTION_ID, PATH_CHALLENGE, HANDSHAKE_DONE, DATAGRAM with
        // length, CONNECTION_CLOSE, then CRYPTO.
        let hex = concat!(
            "000000",
            "01",
            "030a0001050102030405",
            "1044d2",
            "18010004aabbccdd00112233445566778899aabbccddeeff",
            "1a0102030405060708",
            "1e",
            "3102abcd",
            "1c0a0003626f6f",
            "0600026869"
        );
        let (f, r) = frames(hex);
        assert_eq!(r, Ok(()));
        assert!(f.contains(&Frame::NewConnectionId {
            cid: &[0xaa, 0xbb, 0xcc, 0xdd]
        }));
        assert_eq!(
            f.last(),
            Some(&Frame::Crypto {
                offset: 0,
                data: b"hi"
            })
        );
        assert_eq!(f.len(), 10);
    }

    #[test]
    fn unknown_and_truncated_frames_stop_reading() {
        let (f, r) = frames("01 2f 01");
        assert_eq!(f.len(), 1);
        assert_eq!(r, Err(FrameError::Unknown { kind: 0x2f, at: 1 }));
        let (_, r) = frames("06 00 10 6869");
        assert_eq!(r, Err(FrameError::Truncated { kind: 6, at: 0 }));
        let (_, r) = frames("02 00 00 3fff");
        assert!(matches!(r, Err(FrameError::Truncated { .. })));
    }
}
