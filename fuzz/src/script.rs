//! One TCP connection as a byte script, for the stream-layer targets.
//!
//! ```text
//! flags: u8            bit 0: ALPN says h2; bit 1: the SYN was seen;
//!                      bit 2: the TLS layer saw TLS 1.3;
//!                      bit 3: the first data record is a pcapng DSB key log
//! then records:
//!   op: u8             bit 0: direction (0 to the server, 1 to the client)
//!                      bit 1: a gap of `len` bytes instead of data
//!                      bits 2..8 (s): split the data into pieces of s*s
//!                      bytes (0: one piece)
//!   len: u16 LE
//!   data: len bytes    (absent for a gap; may be cut short at the end)
//! ```
//!
//! Offsets, frame numbers and times are filled in as the capture reader
//! would: consecutive per direction, one frame per piece.

use pixelscope_capture::{Chunk, ConnectionInfo, Direction, StreamSink};
use pixelscope_model::Timestamp;
use std::net::SocketAddr;

/// The stream id every script connection uses.
pub const STREAM: u64 = 7;

pub const FLAG_H2: u8 = 1;
pub const FLAG_SYN: u8 = 2;
pub const FLAG_TLS13: u8 = 4;
pub const FLAG_DSB: u8 = 8;

/// One step of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op<'a> {
    Data {
        direction: Direction,
        piece: usize,
        data: &'a [u8],
    },
    Gap {
        direction: Direction,
        len: u64,
    },
}

/// A parsed script.
#[derive(Clone, Debug)]
pub struct Script<'a> {
    pub flags: u8,
    pub ops: Vec<Op<'a>>,
}

impl<'a> Script<'a> {
    pub fn parse(bytes: &'a [u8]) -> Script<'a> {
        let flags = bytes.first().copied().unwrap_or(0);
        let mut ops = Vec::new();
        let mut rest = bytes.get(1..).unwrap_or_default();
        while let [op, lo, hi, tail @ ..] = rest {
            let len = usize::from(u16::from_le_bytes([*lo, *hi]));
            let direction = if op & 1 == 0 {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            if op & 2 != 0 {
                // The capture reader never reports an empty gap.
                if len > 0 {
                    ops.push(Op::Gap {
                        direction,
                        len: len as u64,
                    });
                }
                rest = tail;
                continue;
            }
            let s = usize::from(op >> 2);
            let take = len.min(tail.len());
            let (data, after) = tail.split_at(take);
            ops.push(Op::Data {
                direction,
                piece: if s == 0 { usize::MAX } else { s * s },
                data,
            });
            rest = after;
        }
        Script { flags, ops }
    }

    /// The connection as a capture reader would announce it.
    pub fn info(&self) -> ConnectionInfo {
        ConnectionInfo {
            stream: STREAM,
            client: SocketAddr::from(([192, 0, 2, 10], 51000)),
            server: SocketAddr::from(([198, 51, 100, 5], 443)),
            first_frame: 1,
            first_time: Timestamp(1_700_000_000_000_000_000),
            saw_syn: self.flags & FLAG_SYN != 0,
            tls: (self.flags & FLAG_TLS13 != 0).then(|| "1.3".to_owned()),
            alpn: (self.flags & FLAG_H2 != 0).then(|| "h2".to_owned()),
            server_name: None,
        }
    }

    /// Feeds the script into `sink` as the capture reader would, closing
    /// the connection at the end. With [`FLAG_DSB`], the first data record
    /// goes to `secrets` instead.
    pub fn play(&self, sink: &mut dyn StreamSink) {
        sink.connection_opened(&self.info());
        let mut offsets = [0u64; 2];
        let mut frame = 1u64;
        let mut dsb_pending = self.flags & FLAG_DSB != 0;
        for op in &self.ops {
            match *op {
                Op::Data {
                    direction,
                    piece,
                    data,
                } => {
                    if dsb_pending {
                        dsb_pending = false;
                        sink.secrets(data);
                        continue;
                    }
                    let i = index(direction);
                    for part in data.chunks(piece.max(1)) {
                        frame += 1;
                        let frames = [frame];
                        sink.data(Chunk {
                            stream: STREAM,
                            direction,
                            offset: offsets[i],
                            data: part,
                            frames: &frames,
                            time: Timestamp(1_700_000_000_000_000_000 + frame as i64 * 1_000_000),
                        });
                        offsets[i] += part.len() as u64;
                    }
                }
                Op::Gap { direction, len } => {
                    let i = index(direction);
                    let start = offsets[i];
                    offsets[i] += len;
                    frame += 1;
                    sink.gap(STREAM, direction, start..offsets[i], frame);
                }
            }
        }
        sink.connection_closed(STREAM);
    }
}

fn index(direction: Direction) -> usize {
    match direction {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Writes a script (the inverse of [`Script::parse`]); data longer than a
/// record holds is split over several records.
pub fn encode(flags: u8, ops: &[Op<'_>]) -> Vec<u8> {
    let mut out = vec![flags];
    for op in ops {
        match *op {
            Op::Data {
                direction, data, ..
            } => {
                for part in data.chunks(usize::from(u16::MAX)) {
                    out.push(u8::from(direction == Direction::ToClient));
                    out.extend_from_slice(&(part.len() as u16).to_le_bytes());
                    out.extend_from_slice(part);
                }
            }
            Op::Gap { direction, len } => {
                let mut left = len;
                while left > 0 {
                    let n = left.min(u64::from(u16::MAX));
                    out.push(u8::from(direction == Direction::ToClient) | 2);
                    out.extend_from_slice(&(n as u16).to_le_bytes());
                    left -= n;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse_round_trips() {
        let ops = vec![
            Op::Data {
                direction: Direction::ToServer,
                piece: usize::MAX,
                data: b"GET / HTTP/1.1\r\n\r\n",
            },
            Op::Gap {
                direction: Direction::ToClient,
                len: 12,
            },
        ];
        let bytes = encode(FLAG_SYN, &ops);
        let script = Script::parse(&bytes);
        assert_eq!(script.flags, FLAG_SYN);
        assert_eq!(script.ops, ops);
    }
}
