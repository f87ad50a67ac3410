//! IPv4 and IPv6 fragment reassembly, bounded in datagram count, datagram
//! size and age. Overlapping fragments keep the first copy (the same policy
//! as TCP reassembly).

use crate::packet::Invalid;
use pixelscope_model::Timestamp;
use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Range;

/// The largest IP datagram (16-bit length field).
const MAX_DATAGRAM: usize = 65_535;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FragmentKey {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub id: u32,
    pub protocol: u8,
}

#[derive(Debug, Default)]
struct Partial {
    data: Vec<u8>,
    /// Byte ranges received, sorted and merged.
    covered: Vec<Range<usize>>,
    /// Length, once the last fragment was seen.
    total: Option<usize>,
    frames: Vec<u64>,
    last_seen: i64,
}

/// A completed datagram and the frames it came from.
pub(crate) type Reassembled<'a> = (&'a [u8], &'a [u64]);

/// A datagram given up on before it was complete.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Abandoned {
    pub frames: Vec<u64>,
    pub received: usize,
}

/// Datagrams being reassembled.
#[derive(Debug)]
pub(crate) struct Defragmenter {
    active: HashMap<FragmentKey, Partial>,
    max_datagrams: usize,
    timeout_nanos: i64,
    /// The last completed datagram, lent out to the caller.
    done: Partial,
    /// Datagrams evicted (too many, too old), for the caller to report.
    pub abandoned: Vec<Abandoned>,
}

impl Defragmenter {
    pub fn new(max_datagrams: usize, timeout_seconds: u64) -> Defragmenter {
        Defragmenter {
            active: HashMap::new(),
            max_datagrams: max_datagrams.max(1),
            timeout_nanos: i64::try_from(timeout_seconds.saturating_mul(1_000_000_000))
                .unwrap_or(i64::MAX),
            done: Partial::default(),
            abandoned: Vec::new(),
        }
    }

    /// Adds one fragment; returns the whole datagram and its frames once
    /// every byte has arrived.
    pub fn add(
        &mut self,
        key: FragmentKey,
        offset: usize,
        more: bool,
        payload: &[u8],
        frame: u64,
        time: Timestamp,
    ) -> Result<Option<Reassembled<'_>>, Invalid> {
        let end = offset + payload.len();
        if end > MAX_DATAGRAM {
            return Err(Invalid::Fragment("IP fragment reaches beyond 65,535 bytes"));
        }
        if more && !payload.len().is_multiple_of(8) {
            return Err(Invalid::Fragment(
                "IP fragment (not the last) is not a multiple of 8 bytes",
            ));
        }
        self.expire(time.nanos());
        if !self.active.contains_key(&key) && self.active.len() >= self.max_datagrams {
            self.evict_oldest();
        }
        let partial = self.active.entry(key).or_default();
        partial.last_seen = time.nanos();
        partial.frames.push(frame);
        if !more {
            match partial.total {
                Some(total) if total != end => {
                    return Err(Invalid::Fragment(
                        "IP fragments disagree on the datagram length",
                    ));
                }
                _ => partial.total = Some(end),
            }
        }
        if partial.data.len() < end {
            partial.data.resize(end, 0);
        }
        // First copy wins: write only the bytes not received yet.
        let mut cursor = offset;
        let mut pieces = Vec::new();
        for r in &partial.covered {
            if r.end <= cursor || r.start >= end {
                continue;
            }
            if r.start > cursor {
                pieces.push(cursor..r.start);
            }
            cursor = cursor.max(r.end);
        }
        if cursor < end {
            pieces.push(cursor..end);
        }
        for piece in pieces {
            let from = payload
                .get(piece.start - offset..piece.end - offset)
                .unwrap_or_default();
            if let Some(to) = partial.data.get_mut(piece.clone()) {
                to.copy_from_slice(from);
            }
            partial.covered.push(piece);
        }
        partial.covered.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(partial.covered.len());
        for r in partial.covered.drain(..) {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        partial.covered = merged;
        let complete = partial.total.is_some_and(|total| {
            partial
                .covered
                .first()
                .is_some_and(|r| r.start == 0 && r.end >= total)
        });
        if !complete {
            return Ok(None);
        }
        let Some(mut finished) = self.active.remove(&key) else {
            return Ok(None);
        };
        finished.data.truncate(finished.total.unwrap_or(0));
        self.done = finished;
        Ok(Some((&self.done.data, &self.done.frames)))
    }

    fn expire(&mut self, now: i64) {
        let timeout = self.timeout_nanos;
        if self
            .active
            .values()
            .all(|p| now.saturating_sub(p.last_seen) <= timeout)
        {
            return;
        }
        let mut old: Vec<FragmentKey> = self
            .active
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.last_seen) > timeout)
            .map(|(k, _)| *k)
            .collect();
        old.sort();
        for key in old {
            self.abandon(&key);
        }
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .active
            .iter()
            .min_by_key(|(k, p)| (p.last_seen, **k))
            .map(|(k, _)| *k);
        if let Some(key) = oldest {
            self.abandon(&key);
        }
    }

    fn abandon(&mut self, key: &FragmentKey) {
        if let Some(p) = self.active.remove(key) {
            let received = p.covered.iter().map(|r| r.end - r.start).sum();
            self.abandoned.push(Abandoned {
                frames: p.frames,
                received,
            });
        }
    }

    /// Gives up on every datagram still incomplete (end of capture), in a
    /// deterministic order.
    pub fn abandon_all(&mut self) {
        let mut keys: Vec<FragmentKey> = self.active.keys().copied().collect();
        keys.sort_by_key(|k| self.active.get(k).and_then(|p| p.frames.first().copied()));
        for key in keys {
            self.abandon(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key() -> FragmentKey {
        FragmentKey {
            source: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            destination: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            id: 7,
            protocol: 17,
        }
    }

    #[test]
    fn reassembles_fragments_in_any_order() {
        let mut d = Defragmenter::new(4, 30);
        assert_eq!(d.add(key(), 8, false, b"tail", 2, Timestamp(0)), Ok(None));
        let got = d.add(key(), 0, true, b"01234567", 5, Timestamp(1));
        assert_eq!(got, Ok(Some((&b"01234567tail"[..], &[2u64, 5][..]))));
    }

    #[test]
    fn too_many_datagrams_evicts_the_oldest() {
        let mut d = Defragmenter::new(1, 30);
        let mut other = key();
        other.id = 8;
        assert_eq!(
            d.add(key(), 0, true, b"01234567", 1, Timestamp(0)),
            Ok(None)
        );
        assert_eq!(
            d.add(other, 0, true, b"01234567", 2, Timestamp(1)),
            Ok(None)
        );
        assert_eq!(
            d.abandoned,
            vec![Abandoned {
                frames: vec![1],
                received: 8
            }]
        );
    }
}
