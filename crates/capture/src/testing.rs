//! A [`StreamSink`] that keeps everything, for tests and small jobs (ours
//! and those of the layers above).
//!
//! It also checks the stream contract as it goes: chunks and gaps of each
//! direction must follow each other without overlap or hole, and nothing
//! may arrive for a stream before `connection_opened` or after
//! `connection_closed`. Breaches are listed in
//! [`CollectingSink::contract_breaches`] rather than panicking.

use crate::stream::{Chunk, ConnectionInfo, Contact, Datagram, Direction, StreamSink};
use pixelscope_model::Diagnostic;
use std::collections::BTreeMap;
use std::ops::Range;

/// One direction of one connection, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectedDirection {
    /// The bytes delivered, gaps left out.
    pub bytes: Vec<u8>,
    /// Missing ranges (stream offsets).
    pub gaps: Vec<Range<u64>>,
    /// Frames named by the chunks, in delivery order (repeats removed).
    pub frames: Vec<u64>,
    /// The stream offset the next chunk must start at.
    pub next_offset: u64,
}

/// One connection, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectedStream {
    pub info: ConnectionInfo,
    pub to_server: CollectedDirection,
    pub to_client: CollectedDirection,
    pub closed: bool,
}

impl CollectedStream {
    pub fn direction(&self, direction: Direction) -> &CollectedDirection {
        match direction {
            Direction::ToServer => &self.to_server,
            Direction::ToClient => &self.to_client,
        }
    }
}

/// A UDP datagram, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectedDatagram {
    pub source: std::net::SocketAddr,
    pub destination: std::net::SocketAddr,
    pub data: Vec<u8>,
    pub frame: u64,
}

/// Keeps everything it is given.
#[derive(Clone, Debug, Default)]
pub struct CollectingSink {
    /// Connections by stream id.
    pub streams: BTreeMap<u64, CollectedStream>,
    pub datagrams: Vec<CollectedDatagram>,
    pub contacts: Vec<Contact>,
    /// Key log texts, in file order.
    pub secrets: Vec<Vec<u8>>,
    pub diagnostics: Vec<Diagnostic>,
    /// Stream ids in the order `connection_closed` was called.
    pub close_order: Vec<u64>,
    /// Descriptions of every breach of the stream contract seen.
    pub contract_breaches: Vec<String>,
}

impl CollectingSink {
    /// Diagnostics with the given code.
    pub fn diagnostics_with(&self, code: &str) -> Vec<&Diagnostic> {
        self.diagnostics.iter().filter(|d| d.code == code).collect()
    }

    fn open_direction(
        &mut self,
        stream: u64,
        direction: Direction,
        what: &str,
    ) -> Option<&mut CollectedDirection> {
        let breach = match self.streams.get(&stream) {
            None => Some(format!(
                "{what} for stream {stream} before connection_opened"
            )),
            Some(s) if s.closed => Some(format!(
                "{what} for stream {stream} after connection_closed"
            )),
            Some(_) => None,
        };
        if let Some(b) = breach {
            self.contract_breaches.push(b);
            return None;
        }
        self.streams.get_mut(&stream).map(|s| match direction {
            Direction::ToServer => &mut s.to_server,
            Direction::ToClient => &mut s.to_client,
        })
    }
}

impl StreamSink for CollectingSink {
    fn connection_opened(&mut self, info: &ConnectionInfo) {
        if self.streams.contains_key(&info.stream) {
            self.contract_breaches
                .push(format!("stream {} opened twice", info.stream));
            return;
        }
        if self
            .streams
            .keys()
            .next_back()
            .is_some_and(|last| *last >= info.stream)
        {
            self.contract_breaches
                .push(format!("stream {} opened out of order", info.stream));
        }
        self.streams.insert(
            info.stream,
            CollectedStream {
                info: info.clone(),
                to_server: CollectedDirection::default(),
                to_client: CollectedDirection::default(),
                closed: false,
            },
        );
    }

    fn data(&mut self, chunk: Chunk<'_>) {
        let Some(d) = self.open_direction(chunk.stream, chunk.direction, "data") else {
            return;
        };
        let breach = (chunk.offset != d.next_offset).then(|| {
            format!(
                "stream {} {:?}: chunk at offset {} but {} expected",
                chunk.stream, chunk.direction, chunk.offset, d.next_offset
            )
        });
        d.bytes.extend_from_slice(chunk.data);
        d.next_offset = chunk.offset + chunk.data.len() as u64;
        for f in chunk.frames {
            if d.frames.last() != Some(f) {
                d.frames.push(*f);
            }
        }
        if let Some(b) = breach {
            self.contract_breaches.push(b);
        }
    }

    fn gap(&mut self, stream: u64, direction: Direction, missing: Range<u64>, _frame: u64) {
        let Some(d) = self.open_direction(stream, direction, "gap") else {
            return;
        };
        let breach = (missing.start != d.next_offset || missing.end <= missing.start).then(|| {
            format!(
                "stream {stream} {direction:?}: gap {missing:?} but offset {} expected",
                d.next_offset
            )
        });
        d.next_offset = missing.end;
        d.gaps.push(missing);
        if let Some(b) = breach {
            self.contract_breaches.push(b);
        }
    }

    fn connection_closed(&mut self, stream: u64) {
        match self.streams.get_mut(&stream) {
            Some(s) if !s.closed => s.closed = true,
            _ => self
                .contract_breaches
                .push(format!("stream {stream} closed without being open")),
        }
        self.close_order.push(stream);
    }

    fn datagram(&mut self, datagram: Datagram<'_>) {
        self.datagrams.push(CollectedDatagram {
            source: datagram.source,
            destination: datagram.destination,
            data: datagram.data.to_vec(),
            frame: datagram.frame,
        });
    }

    fn secrets(&mut self, keylog: &[u8]) {
        self.secrets.push(keylog.to_vec());
    }

    fn contact(&mut self, contact: &Contact) {
        self.contacts.push(contact.clone());
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}
