//! TCP connections: stream ids, client/server roles, open and close, and a
//! [`Reassembler`] per direction.

use crate::CaptureLimits;
use crate::packet::{ACK, FIN, RST, SYN, TcpSegment};
use crate::reassembly::{BufferCaps, Output, Reassembler};
use crate::stream::{Chunk, ConnectionInfo, Direction, StreamSink};
use pixelscope_model::{Diagnostic, Origin, Timestamp};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;

/// The two endpoints of a connection, in a canonical order so that both
/// directions find the same entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FlowKey {
    low: SocketAddr,
    high: SocketAddr,
}

impl FlowKey {
    fn of(a: SocketAddr, b: SocketAddr) -> FlowKey {
        if a <= b {
            FlowKey { low: a, high: b }
        } else {
            FlowKey { low: b, high: a }
        }
    }
}

#[derive(Debug)]
struct Connection {
    stream: u64,
    client: SocketAddr,
    /// Index 0: to the server; 1: to the client.
    directions: [Reassembler; 2],
    /// Capture time of the last packet, for idle eviction.
    last_seen: i64,
    /// Closed connections stay as tombstones so that late packets (the last
    /// ACK after a FIN) keep their stream id, as Wireshark counts.
    closed: bool,
    /// Closed by the reader (connection limit or idle timeout), not by the
    /// peers: payload arriving later is read as a new stream rather than
    /// dropped.
    cut_short: bool,
}

/// Every TCP connection of a capture, in order of first appearance.
#[derive(Debug)]
pub struct FlowTable {
    flows: HashMap<FlowKey, Connection>,
    next_stream: u64,
    open: usize,
    buffered_total: usize,
    limits: CaptureLimits,
    last_sweep: i64,
    /// Gaps declared, and bytes they cover.
    pub(crate) gaps: u64,
    pub(crate) gap_bytes: u64,
    /// Overlap conflicts reported.
    pub(crate) conflicts: u64,
}

/// Adapts one direction's reassembler output to the sink.
struct DirectionOutput<'s> {
    sink: &'s mut dyn StreamSink,
    origin: &'s Origin,
    stream: u64,
    direction: Direction,
    gaps: &'s mut u64,
    gap_bytes: &'s mut u64,
    conflicts: &'s mut u64,
}

impl Output for DirectionOutput<'_> {
    fn data(&mut self, offset: u64, data: &[u8], frames: &[u64], time: Timestamp) {
        self.sink.data(Chunk {
            stream: self.stream,
            direction: self.direction,
            offset,
            data,
            frames,
            time,
        });
    }

    fn gap(&mut self, missing: Range<u64>, frame: u64) {
        *self.gaps += 1;
        *self.gap_bytes += missing.end - missing.start;
        self.sink
            .gap(self.stream, self.direction, missing.clone(), frame);
        let message = format!(
            "TCP stream {} {}: bytes {}..{} ({} bytes) were never captured; the stream continues after them",
            self.stream,
            direction_name(self.direction),
            missing.start,
            missing.end,
            missing.end - missing.start
        );
        let diagnostic = Diagnostic::warning(
            "tcp.gap",
            message,
            origin_at(self.origin, frame, Some(self.stream)),
        );
        self.sink.diagnostic(diagnostic);
    }

    fn conflict(&mut self, overlap: Range<u64>, frame: u64) {
        *self.conflicts += 1;
        let message = format!(
            "TCP stream {} {}: a retransmission of bytes {}..{} differs from the first copy; the first copy was kept",
            self.stream,
            direction_name(self.direction),
            overlap.start,
            overlap.end
        );
        let diagnostic = Diagnostic::warning(
            "tcp.overlap-conflict",
            message,
            origin_at(self.origin, frame, Some(self.stream)),
        );
        self.sink.diagnostic(diagnostic);
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::ToServer => "client to server",
        Direction::ToClient => "server to client",
    }
}

/// The caller's origin template pointing at one frame (and stream).
pub(crate) fn origin_at(template: &Origin, frame: u64, stream: Option<u64>) -> Origin {
    let mut origin = template.clone();
    origin.frames = Some(vec![frame]);
    if stream.is_some() {
        origin.stream = stream;
    }
    origin
}

/// Which side is the server, for a connection whose SYN was not captured:
/// the well-known port (below 1024) if only one side has one, else the
/// lower port, else the receiver of the first packet.
fn guess_server_is_destination(source: SocketAddr, destination: SocketAddr) -> bool {
    let (s, d) = (source.port(), destination.port());
    match (s < 1024, d < 1024) {
        (true, false) => false,
        (false, true) => true,
        _ => d <= s,
    }
}

const SWEEP_INTERVAL_NANOS: i64 = 10_000_000_000;

impl FlowTable {
    pub fn new(limits: CaptureLimits) -> FlowTable {
        FlowTable {
            flows: HashMap::new(),
            next_stream: 0,
            open: 0,
            buffered_total: 0,
            limits,
            last_sweep: i64::MIN,
            gaps: 0,
            gap_bytes: 0,
            conflicts: 0,
        }
    }

    /// TCP streams seen so far.
    pub fn streams(&self) -> u64 {
        self.next_stream
    }

    /// Takes one TCP segment (its payload already cut to what was captured).
    pub(crate) fn segment(
        &mut self,
        segment: &TcpSegment<'_>,
        frames: &[u64],
        time: Timestamp,
        sink: &mut dyn StreamSink,
        origin: &Origin,
    ) {
        let frame = frames.last().copied().unwrap_or(0);
        self.sweep(time.nanos(), frame, sink, origin);
        let key = FlowKey::of(segment.source, segment.destination);
        let flags = segment.flags;
        let is_syn = flags & SYN != 0 && flags & ACK == 0;
        let reopen = match self.flows.get(&key) {
            None => true,
            // A new SYN on a finished connection starts a new stream (port
            // reuse); on an open one it is a retransmitted SYN.
            Some(c) => {
                let finishing = c.directions.iter().any(Reassembler::fin_seen);
                let new_isn = c
                    .directions
                    .first()
                    .and_then(|d| d.offset_of(segment.seq.wrapping_add(1)))
                    != Some(0);
                (is_syn && (c.closed || (finishing && new_isn)))
                    || (c.closed && c.cut_short && !segment.payload.is_empty())
            }
        };
        if reopen {
            if let Some(old) = self.flows.get(&key).filter(|c| c.cut_short) {
                let message = format!(
                    "TCP stream {} was closed early (connection limit or idle timeout) and then carried more data; \
                     that data is read as a new stream {}, starting mid-connection",
                    old.stream, self.next_stream
                );
                sink.diagnostic(Diagnostic::warning(
                    "tcp.reopened",
                    message,
                    origin_at(origin, frame, Some(old.stream)),
                ));
            }
            if self.flows.get(&key).is_some_and(|old| !old.closed) {
                self.close(&key, frame, sink, origin);
            }
            if self.open >= self.limits.max_connections {
                self.evict_idle(time.nanos(), true, frame, sink, origin);
            }
            self.open_connection(key, segment, frame, time, sink);
        }
        let caps = BufferCaps {
            bytes: self.limits.max_out_of_order_bytes,
            segments: self.limits.max_out_of_order_segments,
        };
        let total_cap = self.limits.max_buffered_bytes;
        let Some(conn) = self.flows.get_mut(&key) else {
            return;
        };
        conn.last_seen = time.nanos();
        if conn.closed {
            return;
        }
        let stream = conn.stream;
        let to_server = segment.source == conn.client;
        let (direction, reverse) = if to_server {
            (Direction::ToServer, Direction::ToClient)
        } else {
            (Direction::ToClient, Direction::ToServer)
        };
        let [server_bound, client_bound] = &mut conn.directions;
        let (mine, theirs) = if to_server {
            (server_bound, client_bound)
        } else {
            (client_bound, server_bound)
        };

        if flags & SYN != 0 {
            mine.set_isn(segment.seq);
        } else {
            mine.set_base_if_unknown(segment.seq);
        }
        let mut out = DirectionOutput {
            sink: &mut *sink,
            origin,
            stream,
            direction,
            gaps: &mut self.gaps,
            gap_bytes: &mut self.gap_bytes,
            conflicts: &mut self.conflicts,
        };
        // Payload starts after the SYN's sequence number.
        let data_seq = if flags & SYN != 0 {
            segment.seq.wrapping_add(1)
        } else {
            segment.seq
        };
        if let Some(offset) = mine.offset_of(data_seq) {
            if !segment.payload.is_empty() {
                mine.segment(
                    offset,
                    segment.payload,
                    frames,
                    time,
                    caps,
                    &mut self.buffered_total,
                    total_cap,
                    &mut out,
                );
            }
            if flags & FIN != 0 {
                mine.set_fin(offset.saturating_add(segment.payload.len() as u64));
            }
        }
        if flags & ACK != 0
            && let Some(ack) = theirs.offset_of(segment.ack)
        {
            let mut peer_out = DirectionOutput {
                sink: out.sink,
                origin,
                stream,
                direction: reverse,
                gaps: out.gaps,
                gap_bytes: out.gap_bytes,
                conflicts: out.conflicts,
            };
            theirs.acknowledged(ack, frame, &mut self.buffered_total, &mut peer_out);
        }
        let done = flags & RST != 0 || (conn.directions.iter().all(Reassembler::finished));
        if done {
            self.close(&key, frame, sink, origin);
        }
    }

    fn open_connection(
        &mut self,
        key: FlowKey,
        segment: &TcpSegment<'_>,
        frame: u64,
        time: Timestamp,
        sink: &mut dyn StreamSink,
    ) {
        let syn = segment.flags & SYN != 0;
        let ack = segment.flags & ACK != 0;
        let client_is_source = if syn {
            !ack
        } else {
            guess_server_is_destination(segment.source, segment.destination)
        };
        let (client, server) = if client_is_source {
            (segment.source, segment.destination)
        } else {
            (segment.destination, segment.source)
        };
        let stream = self.next_stream;
        self.next_stream += 1;
        self.open += 1;
        let info = ConnectionInfo {
            stream,
            client,
            server,
            first_frame: frame,
            first_time: time,
            saw_syn: syn,
            tls: None,
            alpn: None,
            server_name: None,
        };
        sink.connection_opened(&info);
        self.flows.insert(
            key,
            Connection {
                stream,
                client,
                directions: [Reassembler::default(), Reassembler::default()],
                last_seen: time.nanos(),
                closed: false,
                cut_short: false,
            },
        );
    }

    /// Delivers what is buffered (with gaps for holes), tells the sink, and
    /// keeps a tombstone.
    fn close(&mut self, key: &FlowKey, frame: u64, sink: &mut dyn StreamSink, origin: &Origin) {
        let Some(conn) = self.flows.get_mut(key) else {
            return;
        };
        if conn.closed {
            return;
        }
        let stream = conn.stream;
        for (index, direction) in [Direction::ToServer, Direction::ToClient]
            .into_iter()
            .enumerate()
        {
            let mut out = DirectionOutput {
                sink: &mut *sink,
                origin,
                stream,
                direction,
                gaps: &mut self.gaps,
                gap_bytes: &mut self.gap_bytes,
                conflicts: &mut self.conflicts,
            };
            if let Some(d) = conn.directions.get_mut(index) {
                d.flush(frame, &mut self.buffered_total, &mut out);
            }
        }
        conn.directions = [Reassembler::default(), Reassembler::default()];
        conn.closed = true;
        self.open = self.open.saturating_sub(1);
        sink.connection_closed(stream);
    }

    /// Every so often (in capture time), closes connections idle for longer
    /// than the limit and forgets old tombstones.
    fn sweep(&mut self, now: i64, frame: u64, sink: &mut dyn StreamSink, origin: &Origin) {
        let recent = self.last_sweep != i64::MIN
            && now.saturating_sub(self.last_sweep) < SWEEP_INTERVAL_NANOS;
        if recent && self.flows.len() <= self.limits.max_connections.saturating_mul(2) {
            return;
        }
        self.last_sweep = now;
        self.evict_idle(now, false, frame, sink, origin);
    }

    /// Closes idle connections (all idle beyond the timeout; with `force`,
    /// also the least recently active eighth when the table is full) and
    /// drops tombstones past the timeout or beyond the table size.
    fn evict_idle(
        &mut self,
        now: i64,
        force: bool,
        frame: u64,
        sink: &mut dyn StreamSink,
        origin: &Origin,
    ) {
        let timeout = i64::try_from(
            self.limits
                .idle_timeout_seconds
                .saturating_mul(1_000_000_000),
        )
        .unwrap_or(i64::MAX);
        let mut open: Vec<(i64, u64, FlowKey)> = Vec::new();
        let mut stale: Vec<FlowKey> = Vec::new();
        for (key, c) in &self.flows {
            let idle = now.saturating_sub(c.last_seen) > timeout;
            if c.closed {
                if idle {
                    stale.push(*key);
                }
            } else {
                open.push((c.last_seen, c.stream, *key));
            }
        }
        for key in &stale {
            self.flows.remove(key);
        }
        open.sort_unstable_by_key(|(seen, stream, _)| (*seen, *stream));
        let mut to_close: Vec<(u64, FlowKey)> = open
            .iter()
            .filter(|(seen, _, _)| now.saturating_sub(*seen) > timeout)
            .map(|(_, stream, key)| (*stream, *key))
            .collect();
        if force && to_close.len() < open.len() / 8 + 1 {
            to_close = open
                .iter()
                .take(open.len() / 8 + 1)
                .map(|(_, stream, key)| (*stream, *key))
                .collect();
        }
        to_close.sort_unstable_by_key(|(stream, _)| *stream);
        for (_, key) in &to_close {
            if let Some(conn) = self.flows.get_mut(key) {
                conn.cut_short = true;
            }
            self.close(key, frame, sink, origin);
        }
        // Tombstones beyond the table size go, oldest first.
        let closed = self.flows.len().saturating_sub(self.open);
        if closed > self.limits.max_connections {
            let mut tombs: Vec<(i64, u64, FlowKey)> = self
                .flows
                .iter()
                .filter(|(_, c)| c.closed)
                .map(|(k, c)| (c.last_seen, c.stream, *k))
                .collect();
            tombs.sort_unstable_by_key(|(seen, stream, _)| (*seen, *stream));
            for (_, _, key) in tombs.iter().take(closed - self.limits.max_connections / 2) {
                self.flows.remove(key);
            }
        }
    }

    /// End of capture: closes every open connection in stream order.
    pub fn finish(&mut self, frame: u64, sink: &mut dyn StreamSink, origin: &Origin) {
        let mut open: Vec<(u64, FlowKey)> = self
            .flows
            .iter()
            .filter(|(_, c)| !c.closed)
            .map(|(k, c)| (c.stream, *k))
            .collect();
        open.sort_unstable_by_key(|(stream, _)| *stream);
        for (_, key) in open {
            self.close(&key, frame, sink, origin);
        }
        self.flows.clear();
    }
}
