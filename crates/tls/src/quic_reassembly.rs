//! [`Reassembler`]: one direction of a QUIC stream (or CRYPTO stream) put
//! back in order from frames that arrive split, out of order and repeated.
//!
//! Bytes already delivered are dropped on arrival; bytes ahead of the
//! delivery point wait, without overlap, in a map keyed by offset. Each
//! piece keeps the capture frame and time of the packet that carried it,
//! so what comes out still points at its bytes. What may wait is bounded.

use pixelscope_model::Timestamp;
use std::collections::BTreeMap;

/// A contiguous piece handed on in stream order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Piece<'a> {
    pub offset: u64,
    pub data: &'a [u8],
    /// The frame (1-based) whose packet carried these bytes.
    pub frame: u64,
    pub time: Timestamp,
    /// The sender's data ends after this piece.
    pub fin: bool,
}

#[derive(Debug)]
struct Waiting {
    data: Vec<u8>,
    frame: u64,
    time: Timestamp,
}

/// Why data was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// More than the bound would be waiting.
    Overflow,
}

#[derive(Debug)]
pub(crate) struct Reassembler {
    /// Next offset to deliver.
    next: u64,
    waiting: BTreeMap<u64, Waiting>,
    waiting_bytes: usize,
    max_waiting: usize,
    final_size: Option<u64>,
    fin_frame: (u64, Timestamp),
    fin_sent: bool,
}

impl Reassembler {
    pub(crate) fn new(max_waiting: usize) -> Reassembler {
        Reassembler {
            next: 0,
            waiting: BTreeMap::new(),
            waiting_bytes: 0,
            max_waiting,
            final_size: None,
            fin_frame: (0, Timestamp(0)),
            fin_sent: false,
        }
    }

    /// Offset up to which data was delivered.
    #[cfg(test)]
    pub(crate) fn delivered(&self) -> u64 {
        self.next
    }

    /// Bytes received beyond a hole, never delivered.
    pub(crate) fn waiting_bytes(&self) -> usize {
        self.waiting_bytes
    }

    /// Adds the bytes at `offset` (with FIN when `fin`) and delivers
    /// whatever became contiguous to `out`.
    pub(crate) fn add(
        &mut self,
        offset: u64,
        data: &[u8],
        fin: bool,
        frame: u64,
        time: Timestamp,
        mut out: impl FnMut(Piece<'_>),
    ) -> Result<(), Refused> {
        let end = offset.saturating_add(data.len() as u64);
        if fin && self.final_size.is_none() {
            self.final_size = Some(end);
            self.fin_frame = (frame, time);
        }
        let mut result = Ok(());
        if end > self.next {
            let skip = usize::try_from(self.next.saturating_sub(offset)).unwrap_or(usize::MAX);
            let start = offset.max(self.next);
            let data = data.get(skip..).unwrap_or_default();
            if start == self.next && self.waiting.is_empty() {
                // The common case: in order, nothing waiting.
                self.next = end;
                out(Piece {
                    offset: start,
                    data,
                    frame,
                    time,
                    fin: false,
                });
            } else {
                result = self.wait(start, data, frame, time);
            }
        }
        self.drain(&mut out);
        if !self.fin_sent && self.final_size == Some(self.next) {
            self.fin_sent = true;
            let (frame, time) = self.fin_frame;
            out(Piece {
                offset: self.next,
                data: &[],
                frame,
                time,
                fin: true,
            });
        }
        result
    }

    /// Stores the parts of `data` (at `start`) that no waiting piece holds.
    fn wait(
        &mut self,
        start: u64,
        data: &[u8],
        frame: u64,
        time: Timestamp,
    ) -> Result<(), Refused> {
        let end = start.saturating_add(data.len() as u64);
        let mut pos = start;
        while pos < end {
            if let Some((&at, piece)) = self.waiting.range(..=pos).next_back() {
                let piece_end = at.saturating_add(piece.data.len() as u64);
                if piece_end > pos {
                    pos = piece_end;
                    continue;
                }
            }
            let until = self
                .waiting
                .range(pos..)
                .next()
                .map_or(end, |(&at, _)| at.min(end));
            let from = usize::try_from(pos - start).unwrap_or(usize::MAX);
            let to = usize::try_from(until - start).unwrap_or(usize::MAX);
            let bytes = data.get(from..to).unwrap_or_default();
            if bytes.is_empty() {
                pos = until.max(pos + 1);
                continue;
            }
            if self.waiting_bytes.saturating_add(bytes.len()) > self.max_waiting {
                return Err(Refused::Overflow);
            }
            self.waiting_bytes += bytes.len();
            self.waiting.insert(
                pos,
                Waiting {
                    data: bytes.to_vec(),
                    frame,
                    time,
                },
            );
            pos = until.max(pos + 1);
        }
        Ok(())
    }

    fn drain(&mut self, out: &mut impl FnMut(Piece<'_>)) {
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() > self.next {
                break;
            }
            let at = *entry.key();
            let piece = entry.remove();
            self.waiting_bytes = self.waiting_bytes.saturating_sub(piece.data.len());
            let end = at.saturating_add(piece.data.len() as u64);
            if end <= self.next {
                continue;
            }
            let skip = usize::try_from(self.next - at).unwrap_or(usize::MAX);
            let data = piece.data.get(skip..).unwrap_or_default();
            out(Piece {
                offset: self.next,
                data,
                frame: piece.frame,
                time: piece.time,
                fin: false,
            });
            self.next = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn collect(r: &mut Reassembler, pieces: &[(u64, &[u8], bool)]) -> (Vec<u8>, bool, Vec<u64>) {
        let mut bytes = Vec::new();
        let mut fin = false;
        let mut frames = Vec::new();
        for (i, (offset, data, f)) in pieces.iter().enumerate() {
            let _ = r.add(*offset, data, *f, i as u64 + 1, Timestamp(0), |p| {
                assert_eq!(p.offset, bytes.len() as u64);
                bytes.extend_from_slice(p.data);
                fin |= p.fin;
                if !p.data.is_empty() {
                    frames.push(p.frame);
                }
            });
        }
        (bytes, fin, frames)
    }

    #[test]
    fn out_of_order_pieces_keep_their_frames() {
        let mut r = Reassembler::new(1024);
        let (bytes, fin, frames) = collect(&mut r, &[(6, b"world", true), (0, b"hello ", false)]);
        assert_eq!(bytes, b"hello world");
        assert!(fin);
        assert_eq!(frames, [2, 1]);
    }

    #[test]
    fn waiting_data_is_bounded() {
        let mut r = Reassembler::new(4);
        assert_eq!(
            r.add(10, b"too much", false, 1, Timestamp(0), |_| {}),
            Err(Refused::Overflow)
        );
        assert_eq!(r.waiting_bytes(), 0);
        assert_eq!(r.delivered(), 0);
    }

    proptest! {
        #[test]
        fn any_split_order_and_duplication_gives_the_same_bytes(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
            order in proptest::collection::vec(any::<usize>(), 0..40),
        ) {
            // Pieces from random cut points, then sent in a random order
            // with random repeats, every piece at least once.
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            points.push(0);
            points.push(data.len());
            points.sort_unstable();
            points.dedup();
            let pieces: Vec<(usize, usize)> = points.windows(2).map(|w| (w[0], w[1])).collect();
            let mut sends: Vec<usize> = order.iter().map(|o| o % pieces.len().max(1)).collect();
            sends.extend(0..pieces.len());
            let sent: Vec<(u64, &[u8], bool)> = sends
                .iter()
                .filter_map(|&i| pieces.get(i))
                .map(|&(a, b)| (a as u64, &data[a..b], b == data.len()))
                .collect();
            let mut r = Reassembler::new(1 << 20);
            let (bytes, fin, _) = collect(&mut r, &sent);
            prop_assert_eq!(&bytes, &data);
            prop_assert_eq!(fin, !sent.is_empty());
            prop_assert_eq!(r.waiting_bytes(), 0);
        }
    }
}
