//! Replays the `samples/tls/*.segments` fixtures (TCP segments and UDP
//! datagrams extracted from captures by `samples/tls/extract-segments.sh`)
//! into a sink, doing the minimal in-order reassembly the capture reader
//! would, and records what comes out of the layer under test.

#![allow(dead_code)]

use pixelscope_capture::{Chunk, ConnectionInfo, Contact, Datagram, Direction, StreamSink};
use pixelscope_model::{Diagnostic, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::ops::Range;

pub fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/../../samples/tls/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// One line of a segments file.
#[derive(Clone, Debug)]
pub enum Segment {
    Tcp {
        frame: u64,
        stream: u64,
        src: SocketAddr,
        dst: SocketAddr,
        time: Timestamp,
        seq: u32,
        syn: bool,
        payload: Vec<u8>,
    },
    Udp {
        frame: u64,
        src: SocketAddr,
        dst: SocketAddr,
        time: Timestamp,
        payload: Vec<u8>,
    },
}

fn time(text: &str) -> Timestamp {
    let (s, n) = text.split_once('.').unwrap();
    let n = format!("{n:0<9}");
    Timestamp::from_parts(s.parse().unwrap(), n[..9].parse().unwrap()).unwrap()
}

pub fn segments(name: &str) -> Vec<Segment> {
    let text = String::from_utf8(sample(name)).unwrap();
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let payload = |s: &str| if s == "-" { Vec::new() } else { unhex(s) };
            match f[0] {
                "tcp" => Segment::Tcp {
                    frame: f[1].parse().unwrap(),
                    stream: f[2].parse().unwrap(),
                    src: f[3].parse().unwrap(),
                    dst: f[4].parse().unwrap(),
                    time: time(f[5]),
                    seq: f[6].parse().unwrap(),
                    syn: f[7] == "1",
                    payload: payload(f[8]),
                },
                "udp" => Segment::Udp {
                    frame: f[1].parse().unwrap(),
                    src: f[2].parse().unwrap(),
                    dst: f[3].parse().unwrap(),
                    time: time(f[4]),
                    payload: payload(f[5]),
                },
                other => panic!("bad line kind {other}"),
            }
        })
        .collect()
}

/// Feeds segments to `sink` as the capture reader would: connections
/// opened on first sight, in-order payload with retransmissions dropped,
/// gaps for missing bytes, everything closed at the end.
pub fn replay(segments: &[Segment], sink: &mut impl StreamSink) {
    struct Conn {
        client: SocketAddr,
        next: HashMap<bool, u64>,
        base: HashMap<bool, u64>,
    }
    let mut conns: BTreeMap<u64, Conn> = BTreeMap::new();
    for s in segments {
        match s {
            Segment::Udp {
                frame,
                src,
                dst,
                time,
                payload,
            } => sink.datagram(Datagram {
                source: *src,
                destination: *dst,
                data: payload,
                frame: *frame,
                time: *time,
            }),
            Segment::Tcp {
                frame,
                stream,
                src,
                dst,
                time,
                seq,
                syn,
                payload,
            } => {
                let conn = conns.entry(*stream).or_insert_with(|| {
                    sink.connection_opened(&ConnectionInfo {
                        stream: *stream,
                        client: *src,
                        server: *dst,
                        first_frame: *frame,
                        first_time: *time,
                        saw_syn: *syn,
                        tls: None,
                        alpn: None,
                        server_name: None,
                    });
                    Conn {
                        client: *src,
                        next: HashMap::new(),
                        base: HashMap::new(),
                    }
                });
                let to_server = *src == conn.client;
                let seq = u64::from(*seq);
                let first = if *syn { seq + 1 } else { seq };
                let base = *conn.base.entry(to_server).or_insert(first);
                let next = conn.next.entry(to_server).or_insert(first);
                if payload.is_empty() {
                    continue;
                }
                let start = seq.wrapping_sub(base);
                let expected = next.wrapping_sub(base);
                let end = start + payload.len() as u64;
                if end <= expected {
                    continue;
                }
                let direction = if to_server {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                };
                if start > expected {
                    sink.gap(*stream, direction, expected..start, *frame);
                }
                let skip = expected.saturating_sub(start) as usize;
                sink.data(Chunk {
                    stream: *stream,
                    direction,
                    offset: start + skip as u64,
                    data: &payload[skip..],
                    frames: &[*frame],
                    time: *time,
                });
                *next = base + end;
            }
        }
    }
    for stream in conns.keys() {
        sink.connection_closed(*stream);
    }
}

/// What one direction of a connection delivered.
#[derive(Clone, Debug, Default)]
pub struct Flow {
    pub data: Vec<u8>,
    /// `(offset, length, frames)` of every chunk.
    pub chunks: Vec<(u64, usize, Vec<u64>)>,
    pub gaps: Vec<Range<u64>>,
}

/// A sink that remembers everything, and checks the contract on the way.
#[derive(Default)]
pub struct Recorder {
    pub opened: BTreeMap<u64, ConnectionInfo>,
    pub closed: Vec<u64>,
    pub flows: BTreeMap<(u64, Direction), Flow>,
    pub contacts: Vec<Contact>,
    pub diagnostics: Vec<Diagnostic>,
    pub datagrams: usize,
}

impl Recorder {
    pub fn flow(&self, stream: u64, direction: Direction) -> Flow {
        self.flows
            .get(&(stream, direction))
            .cloned()
            .unwrap_or_default()
    }

    pub fn codes(&self) -> Vec<&str> {
        self.diagnostics.iter().map(|d| d.code.as_str()).collect()
    }
}

impl StreamSink for Recorder {
    fn connection_opened(&mut self, info: &ConnectionInfo) {
        assert!(
            self.opened.insert(info.stream, info.clone()).is_none(),
            "stream {} opened twice",
            info.stream
        );
    }

    fn data(&mut self, chunk: Chunk<'_>) {
        assert!(
            self.opened.contains_key(&chunk.stream),
            "data before connection_opened"
        );
        assert!(
            !self.closed.contains(&chunk.stream),
            "data after connection_closed"
        );
        let flow = self
            .flows
            .entry((chunk.stream, chunk.direction))
            .or_default();
        let expected =
            flow.data.len() as u64 + flow.gaps.iter().map(|g| g.end - g.start).sum::<u64>();
        assert_eq!(
            chunk.offset, expected,
            "chunks arrive in order without overlap"
        );
        assert!(!chunk.frames.is_empty());
        flow.data.extend_from_slice(chunk.data);
        flow.chunks
            .push((chunk.offset, chunk.data.len(), chunk.frames.to_vec()));
    }

    fn gap(&mut self, stream: u64, direction: Direction, missing: Range<u64>, _frame: u64) {
        self.flows
            .entry((stream, direction))
            .or_default()
            .gaps
            .push(missing);
    }

    fn connection_closed(&mut self, stream: u64) {
        assert!(self.opened.contains_key(&stream), "closed before opened");
        self.closed.push(stream);
    }

    fn datagram(&mut self, _datagram: Datagram<'_>) {
        self.datagrams += 1;
    }

    fn contact(&mut self, contact: &Contact) {
        self.contacts.push(contact.clone());
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}
