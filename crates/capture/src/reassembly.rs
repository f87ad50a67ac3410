//! One direction of a TCP connection: segments in, ordered bytes out.
//!
//! Overlap policy: **first wins** (as BSD and Windows stacks do, and as
//! Wireshark keeps the first copy it saw). Bytes already delivered or already
//! waiting in the out-of-order buffer are never replaced; a later segment only
//! fills holes. When a later copy of a buffered byte range differs from the
//! first, an `tcp.overlap-conflict` is reported. Bytes that were already
//! delivered are not kept (memory stays bounded), so a retransmission of them
//! is dropped without comparison.
//!
//! A range that can never be filled is declared a gap: the stream continues
//! after it and nothing is spliced over it. That happens when the peer
//! acknowledges bytes the capture never held, when the out-of-order buffer
//! reaches its cap, and when the connection closes with holes still open.

use pixelscope_model::Timestamp;
use std::collections::BTreeMap;
use std::ops::Range;

/// Where a direction's reassembled bytes and anomalies go.
pub(crate) trait Output {
    fn data(&mut self, offset: u64, data: &[u8], frames: &[u64], time: Timestamp);
    fn gap(&mut self, missing: Range<u64>, frame: u64);
    fn conflict(&mut self, overlap: Range<u64>, frame: u64);
}

/// Caps on the out-of-order buffer of one direction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BufferCaps {
    pub bytes: usize,
    pub segments: usize,
}

/// A segment waiting for the bytes before it.
#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    frames: Vec<u64>,
    time: Timestamp,
}

/// The state of one direction of one connection.
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    /// Sequence number of stream offset 0, once known.
    base: Option<u32>,
    /// Next stream offset to deliver.
    next: u64,
    /// Out-of-order segments by start offset; never overlapping, all after
    /// `next`.
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    /// Stream offset of the FIN, when one was seen.
    fin_at: Option<u64>,
}

impl Reassembler {
    /// Sets offset 0 to the byte after `isn` (the SYN's sequence number).
    pub fn set_isn(&mut self, isn: u32) {
        if self.base.is_none() {
            self.base = Some(isn.wrapping_add(1));
        }
    }

    /// Sets offset 0 to `seq` (the first byte seen, mid-connection).
    pub fn set_base_if_unknown(&mut self, seq: u32) {
        if self.base.is_none() {
            self.base = Some(seq);
        }
    }

    /// The stream offset of a sequence number, taking wrap-around into
    /// account: the offset nearest to the next expected byte. `None` for
    /// bytes before the start of the stream or when no base is known.
    pub fn offset_of(&self, seq: u32) -> Option<u64> {
        let base = self.base?;
        let next_seq = base.wrapping_add(self.next as u32);
        let delta = i64::from(seq.wrapping_sub(next_seq) as i32);
        let next = i64::try_from(self.next).ok()?;
        u64::try_from(next.checked_add(delta)?).ok()
    }

    #[cfg(test)]
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// End offset of the last buffered byte, if anything is buffered.
    fn pending_end(&self) -> Option<u64> {
        self.pending
            .last_key_value()
            .map(|(start, p)| start + p.data.len() as u64)
    }

    pub fn set_fin(&mut self, at: u64) {
        if self.fin_at.is_none() {
            self.fin_at = Some(at);
        }
    }

    pub fn fin_seen(&self) -> bool {
        self.fin_at.is_some()
    }

    /// True when a FIN was seen and every byte before it was delivered or
    /// declared missing.
    pub fn finished(&self) -> bool {
        self.fin_at.is_some_and(|fin| self.next >= fin)
    }

    /// Takes one segment's payload at stream offset `offset`.
    ///
    /// `total` is the number of bytes buffered across every connection; it is
    /// kept up to date and, with `total_cap`, bounds memory overall.
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        offset: u64,
        data: &[u8],
        frames: &[u64],
        time: Timestamp,
        caps: BufferCaps,
        total: &mut usize,
        total_cap: usize,
        out: &mut dyn Output,
    ) {
        let frame = frames.last().copied().unwrap_or(0);
        let end = offset.saturating_add(data.len() as u64);
        if end <= self.next || data.is_empty() {
            // A retransmission of delivered bytes: first copy wins.
            return;
        }
        let (offset, data) = if offset < self.next {
            let skip = usize::try_from(self.next - offset).unwrap_or(usize::MAX);
            (self.next, data.get(skip..).unwrap_or_default())
        } else {
            (offset, data)
        };
        // Fast path: the next bytes, with nothing buffered in their way.
        let blocked = self
            .pending
            .first_key_value()
            .is_some_and(|(start, _)| *start < end);
        if offset == self.next && !blocked {
            out.data(offset, data, frames, time);
            self.next = end;
            self.drain(total, out);
            return;
        }
        self.buffer(offset, data, frames, time, frame, out, total);
        self.enforce_caps(caps, total, total_cap, frame, out);
        self.drain(total, out);
    }

    /// Stores the parts of a segment that fill holes in the buffer,
    /// comparing the parts that overlap buffered bytes.
    #[allow(clippy::too_many_arguments)]
    fn buffer(
        &mut self,
        offset: u64,
        data: &[u8],
        frames: &[u64],
        time: Timestamp,
        frame: u64,
        out: &mut dyn Output,
        total: &mut usize,
    ) {
        let end = offset + data.len() as u64;
        // Buffered segments that overlap [offset, end): the one starting
        // before `offset` (if it reaches into it) and those starting inside.
        let mut cursor = offset;
        let mut holes: Vec<Range<u64>> = Vec::new();
        let mut conflict: Option<Range<u64>> = None;
        let before = self
            .pending
            .range(..offset)
            .next_back()
            .map(|(s, p)| (*s, p));
        let inside = self.pending.range(offset..end);
        for (start, p) in before.into_iter().chain(inside.map(|(s, p)| (*s, p))) {
            let p_end = start + p.data.len() as u64;
            if p_end <= cursor {
                continue;
            }
            if start > cursor {
                holes.push(cursor..start.min(end));
            }
            let o_start = start.max(cursor);
            let o_end = p_end.min(end);
            if o_start < o_end {
                let new = slice(data, o_start - offset, o_end - offset);
                let old = slice(&p.data, o_start - start, o_end - start);
                if new != old {
                    conflict = Some(match conflict {
                        Some(c) => c.start.min(o_start)..c.end.max(o_end),
                        None => o_start..o_end,
                    });
                }
            }
            cursor = cursor.max(p_end);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            holes.push(cursor..end);
        }
        if let Some(c) = conflict {
            out.conflict(c, frame);
        }
        for hole in holes {
            let piece = slice(data, hole.start - offset, hole.end - offset);
            if piece.is_empty() {
                continue;
            }
            self.pending_bytes += piece.len();
            *total += piece.len();
            self.pending.insert(
                hole.start,
                Pending {
                    data: piece.to_vec(),
                    frames: frames.to_vec(),
                    time,
                },
            );
        }
    }

    /// Declares gaps at the front of the buffer until it fits its caps.
    fn enforce_caps(
        &mut self,
        caps: BufferCaps,
        total: &mut usize,
        total_cap: usize,
        frame: u64,
        out: &mut dyn Output,
    ) {
        while !self.pending.is_empty()
            && (self.pending_bytes > caps.bytes
                || self.pending.len() > caps.segments
                || *total > total_cap)
        {
            let Some(first) = self.pending.keys().next().copied() else {
                break;
            };
            if first > self.next {
                out.gap(self.next..first, frame);
                self.next = first;
            }
            self.drain(total, out);
        }
    }

    /// Delivers buffered segments that start at the next expected byte.
    fn drain(&mut self, total: &mut usize, out: &mut dyn Output) {
        while let Some(entry) = self.pending.first_entry() {
            let start = *entry.key();
            if start > self.next {
                break;
            }
            let p = entry.remove();
            self.pending_bytes = self.pending_bytes.saturating_sub(p.data.len());
            *total = total.saturating_sub(p.data.len());
            let end = start + p.data.len() as u64;
            if end <= self.next {
                continue;
            }
            let skip = usize::try_from(self.next - start).unwrap_or(usize::MAX);
            let data = p.data.get(skip..).unwrap_or_default();
            out.data(self.next, data, &p.frames, p.time);
            self.next = end;
        }
    }

    /// The peer acknowledged bytes up to `ack`: bytes before it that are
    /// still missing were sent and will not be sent again, so they become a
    /// gap. Only acted on while something is buffered after the hole (an
    /// acknowledgement alone is weak evidence), and never past the buffered
    /// bytes or the FIN.
    pub fn acknowledged(&mut self, ack: u64, frame: u64, total: &mut usize, out: &mut dyn Output) {
        let Some(limit) = self.pending_end() else {
            return;
        };
        let mut target = ack.min(limit);
        if let Some(fin) = self.fin_at {
            target = target.min(fin);
        }
        self.advance_to(target, frame, total, out);
    }

    /// Declares every hole before `target` a gap and delivers what is
    /// buffered up to there.
    fn advance_to(&mut self, target: u64, frame: u64, total: &mut usize, out: &mut dyn Output) {
        loop {
            self.drain(total, out);
            if self.next >= target {
                break;
            }
            let hole_end = self
                .pending
                .keys()
                .next()
                .map_or(target, |first| (*first).min(target));
            out.gap(self.next..hole_end, frame);
            self.next = hole_end;
        }
    }

    /// The connection is over: everything buffered is delivered, with gaps
    /// for the holes between. Releases the buffer.
    pub fn flush(&mut self, frame: u64, total: &mut usize, out: &mut dyn Output) {
        if let Some(end) = self.pending_end() {
            self.advance_to(end, frame, total, out);
        }
        *total = total.saturating_sub(self.pending_bytes);
        self.pending_bytes = 0;
        self.pending = BTreeMap::new();
    }
}

/// `data[from..to]`, or empty when out of range (never panics).
fn slice(data: &[u8], from: u64, to: u64) -> &[u8] {
    let from = usize::try_from(from).unwrap_or(usize::MAX);
    let to = usize::try_from(to).unwrap_or(usize::MAX);
    data.get(from..to).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Collects the output and checks the stream contract as it goes.
    #[derive(Default)]
    struct Record {
        bytes: Vec<u8>,
        /// Offset the next chunk must start at.
        expected: u64,
        gaps: Vec<Range<u64>>,
        conflicts: Vec<Range<u64>>,
        out_of_order: bool,
    }

    impl Output for Record {
        fn data(&mut self, offset: u64, data: &[u8], _frames: &[u64], _time: Timestamp) {
            if offset != self.expected {
                self.out_of_order = true;
            }
            self.bytes.extend_from_slice(data);
            self.expected = offset + data.len() as u64;
        }
        fn gap(&mut self, missing: Range<u64>, _frame: u64) {
            if missing.start != self.expected {
                self.out_of_order = true;
            }
            self.expected = missing.end;
            self.gaps.push(missing);
        }
        fn conflict(&mut self, overlap: Range<u64>, _frame: u64) {
            self.conflicts.push(overlap);
        }
    }

    const CAPS: BufferCaps = BufferCaps {
        bytes: 1 << 20,
        segments: 10_000,
    };

    fn feed(
        r: &mut Reassembler,
        rec: &mut Record,
        seq: u32,
        data: &[u8],
        frame: u64,
        total: &mut usize,
    ) {
        let Some(offset) = r.offset_of(seq) else {
            return;
        };
        r.segment(
            offset,
            data,
            &[frame],
            Timestamp(0),
            CAPS,
            total,
            usize::MAX,
            rec,
        );
    }

    /// A stream cut into segments at the given points.
    fn cut(stream: &[u8], cuts: &[usize]) -> Vec<(usize, usize)> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        points.dedup();
        points.windows(2).map(|w| (w[0], w[1])).collect()
    }

    proptest! {
        #[test]
        fn any_segmentation_order_and_duplication_gives_the_same_bytes(
            stream in proptest::collection::vec(any::<u8>(), 1..3000),
            cuts in proptest::collection::vec(any::<usize>(), 0..40),
            order in proptest::collection::vec(any::<u32>(), 0..80),
            dups in proptest::collection::vec(any::<usize>(), 0..10),
            isn in any::<u32>(),
        ) {
            let mut segments = cut(&stream, &cuts);
            for d in dups {
                let s = segments[d % segments.len()];
                segments.push(s);
            }
            // Shuffle deterministically from `order`.
            for (i, k) in order.iter().enumerate() {
                let a = i % segments.len();
                let b = (*k as usize) % segments.len();
                segments.swap(a, b);
            }
            let mut r = Reassembler::default();
            r.set_isn(isn);
            let mut rec = Record::default();
            let mut total = 0;
            for (n, (from, to)) in segments.iter().enumerate() {
                let seq = isn.wrapping_add(1).wrapping_add(*from as u32);
                feed(&mut r, &mut rec, seq, &stream[*from..*to], n as u64 + 1, &mut total);
            }
            r.flush(0, &mut total, &mut rec);
            prop_assert_eq!(&rec.bytes, &stream);
            prop_assert!(rec.gaps.is_empty());
            prop_assert!(rec.conflicts.is_empty());
            prop_assert!(!rec.out_of_order);
            prop_assert_eq!(total, 0);
        }

        #[test]
        fn a_dropped_segment_is_exactly_one_gap(
            stream in proptest::collection::vec(any::<u8>(), 2..3000),
            cuts in proptest::collection::vec(any::<usize>(), 1..40),
            drop in any::<usize>(),
            reverse in any::<bool>(),
            isn in any::<u32>(),
        ) {
            let segments = cut(&stream, &cuts);
            prop_assume!(segments.len() >= 3);
            // Keep the last segment so the hole is followed by data.
            let dropped = drop % (segments.len() - 1);
            let (lost_from, lost_to) = segments[dropped];
            let mut kept: Vec<_> = segments.iter().enumerate()
                .filter(|(i, _)| *i != dropped).map(|(_, s)| *s).collect();
            if reverse {
                kept.reverse();
            }
            let mut r = Reassembler::default();
            r.set_isn(isn);
            let mut rec = Record::default();
            let mut total = 0;
            for (n, (from, to)) in kept.iter().enumerate() {
                let seq = isn.wrapping_add(1).wrapping_add(*from as u32);
                feed(&mut r, &mut rec, seq, &stream[*from..*to], n as u64 + 1, &mut total);
            }
            r.flush(99, &mut total, &mut rec);
            prop_assert_eq!(rec.gaps.clone(), vec![lost_from as u64..lost_to as u64]);
            let mut expected = stream[..lost_from].to_vec();
            expected.extend_from_slice(&stream[lost_to..]);
            prop_assert_eq!(&rec.bytes, &expected);
            prop_assert!(!rec.out_of_order);
        }
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut r = Reassembler::default();
        r.set_isn(u32::MAX - 2);
        let mut rec = Record::default();
        let mut total = 0;
        // Offsets 0..4 straddle the wrap: seq MAX-1, MAX, 0, 1.
        feed(&mut r, &mut rec, 2, b"ef", 2, &mut total);
        feed(&mut r, &mut rec, u32::MAX - 1, b"abcd", 1, &mut total);
        r.flush(3, &mut total, &mut rec);
        assert_eq!(rec.bytes, b"abcdef");
        assert!(rec.gaps.is_empty());
    }

    #[test]
    fn first_copy_wins_and_a_different_copy_is_a_conflict() {
        let mut r = Reassembler::default();
        r.set_isn(0);
        let mut rec = Record::default();
        let mut total = 0;
        feed(&mut r, &mut rec, 4, b"DEF", 1, &mut total);
        feed(&mut r, &mut rec, 3, b"cxyz", 2, &mut total);
        feed(&mut r, &mut rec, 1, b"ab", 3, &mut total);
        r.flush(4, &mut total, &mut rec);
        assert_eq!(rec.bytes, b"abcDEF");
        assert_eq!(rec.conflicts, vec![3..6]);
    }

    #[test]
    fn a_full_buffer_declares_a_gap_instead_of_growing() {
        let mut r = Reassembler::default();
        r.set_isn(0);
        let mut rec = Record::default();
        let mut total = 0;
        let caps = BufferCaps {
            bytes: 10,
            segments: 100,
        };
        // Offset 0..5 is lost; 5.. arrives in 4-byte segments.
        for (i, seq) in [6u32, 10, 14, 18].iter().enumerate() {
            let offset = r.offset_of(*seq).unwrap_or(0);
            r.segment(
                offset,
                b"wxyz",
                &[i as u64 + 1],
                Timestamp(0),
                caps,
                &mut total,
                usize::MAX,
                &mut rec,
            );
        }
        assert_eq!(rec.gaps, vec![0..5]);
        assert!(r.pending_bytes() <= 10);
        assert_eq!(rec.bytes.len(), 16);
    }

    #[test]
    fn an_acknowledged_hole_becomes_a_gap_at_once() {
        let mut r = Reassembler::default();
        r.set_isn(0);
        let mut rec = Record::default();
        let mut total = 0;
        feed(&mut r, &mut rec, 1, b"abc", 1, &mut total);
        feed(&mut r, &mut rec, 7, b"ghi", 2, &mut total);
        r.acknowledged(9, 3, &mut total, &mut rec);
        assert_eq!(rec.gaps, vec![3..6]);
        assert_eq!(rec.bytes, b"abcghi");
        assert_eq!(total, 0);
    }
}
