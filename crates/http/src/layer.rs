//! [`HttpLayer`]: the [`StreamSink`] that turns TCP (or decrypted TLS)
//! byte streams into exchanges.

use crate::HttpLimits;
use crate::frame::{FrameHeader, HEADER_LEN, PREFACE};
use crate::h1::{self, Http1Connection};
use crate::h2::H2Connection;
use crate::h3::H3Connection;
use crate::message::{Context, Emitted};
use pixelscope_capture::{
    Chunk, ConnectionInfo, Contact, Direction, QuicChunk, QuicConnectionInfo, StreamSink,
};
use pixelscope_model::{Diagnostic, ExchangeSink, Origin, Severity, Timestamp};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;

/// Parses every connection it is given as HTTP/1.x or HTTP/2 and pushes
/// the exchanges it recovers, with diagnostics, into an [`ExchangeSink`].
///
/// The protocol of a connection is sniffed from its first bytes: the
/// HTTP/2 client preface (or ALPN `h2` from the TLS layer) means HTTP/2, a
/// request or status line means HTTP/1.x. A connection whose start was not
/// captured is read as HTTP/1.x from the next start line found, or as
/// HTTP/2 when its bytes are HTTP/2 frames. Anything else gets one
/// `http.unrecognised` diagnostic. QUIC connections (decrypted below and
/// delivered stream by stream through `quic_stream`) are read as HTTP/3
/// unless their ALPN names another protocol; [`HttpLayer::finish`] reports
/// what is still open in them.
///
/// Contacts (DNS answers, SNI of undecrypted connections) pass through this
/// layer untouched: they are kept, in arrival order, until the caller takes
/// them with [`HttpLayer::take_contacts`]. Diagnostics from the layers below
/// go straight to the sink.
pub struct HttpLayer<S: ExchangeSink> {
    sink: S,
    origin: Origin,
    limits: HttpLimits,
    connections: BTreeMap<u64, Connection>,
    contacts: Vec<Contact>,
    out: Vec<Emitted>,
    /// HTTP/3 connections by QUIC connection number; `None` when the
    /// connection negotiated another protocol.
    quic: BTreeMap<u64, (Context, Option<H3Connection>)>,
}

struct Connection {
    ctx: Context,
    saw_syn: bool,
    alpn_h2: bool,
    protocol: Protocol,
}

enum Protocol {
    Sniffing(Vec<Pending>),
    Http1(Box<Http1Connection>),
    Http2(Box<H2Connection>),
    Unrecognised,
}

/// What arrived before the protocol was known, replayed once it is.
enum Pending {
    Data {
        direction: Direction,
        offset: u64,
        data: Vec<u8>,
        frames: Vec<u64>,
        time: Timestamp,
    },
    Gap {
        direction: Direction,
        missing: Range<u64>,
        frame: u64,
    },
}

enum Verdict {
    Http1 { resync: bool },
    Http2 { start_seen: bool },
    Unrecognised,
    Wait,
}

impl<S: ExchangeSink> HttpLayer<S> {
    /// `origin` is the template every record starts from (input file, hash,
    /// format); the layer fills in frames, stream ids and TLS version.
    pub fn new(sink: S, origin: Origin) -> HttpLayer<S> {
        HttpLayer::with_limits(sink, origin, HttpLimits::default())
    }

    pub fn with_limits(sink: S, origin: Origin, limits: HttpLimits) -> HttpLayer<S> {
        HttpLayer {
            sink,
            origin,
            limits,
            connections: BTreeMap::new(),
            contacts: Vec::new(),
            out: Vec::new(),
            quic: BTreeMap::new(),
        }
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// Contacts received since the last call, in arrival order.
    pub fn take_contacts(&mut self) -> Vec<Contact> {
        std::mem::take(&mut self.contacts)
    }

    /// Closes every connection still open (in stream order) and returns
    /// the sink. Contacts not taken yet are dropped with the layer.
    pub fn finish(mut self) -> S {
        let streams: Vec<u64> = self.connections.keys().copied().collect();
        for stream in streams {
            self.connection_closed(stream);
        }
        for (_, (ctx, h3)) in std::mem::take(&mut self.quic) {
            if let Some(mut h3) = h3 {
                h3.close(&ctx, &mut self.out);
            }
        }
        self.drain();
        self.sink
    }

    /// The context of an HTTP/3 connection: `https`, TLS 1.3, no TCP
    /// stream (the QUIC stream id is filled in per exchange).
    fn quic_context(&self, info: Option<&QuicConnectionInfo>) -> Context {
        let mut origin = self.origin.clone();
        origin.tls = Some("1.3".to_owned());
        Context {
            origin,
            scheme: "https",
            server_authority: info.map(|i| authority(i.server, "https")),
            limits: self.limits,
        }
    }

    fn context(&self, info: &ConnectionInfo) -> Context {
        let scheme = if info.tls.is_some() { "https" } else { "http" };
        let mut origin = self.origin.clone();
        origin.stream = Some(info.stream);
        origin.tls.clone_from(&info.tls);
        Context {
            origin,
            scheme,
            server_authority: Some(authority(info.server, scheme)),
            limits: self.limits,
        }
    }

    fn drain(&mut self) {
        for item in self.out.drain(..) {
            match item {
                Emitted::Exchange(exchange) => self.sink.exchange(*exchange),
                Emitted::Diagnostic(diagnostic) => self.sink.diagnostic(diagnostic),
            }
        }
    }
}

fn authority(address: SocketAddr, scheme: &str) -> String {
    let default = if scheme == "https" { 443 } else { 80 };
    let host = match address {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    };
    if address.port() == default {
        host
    } else {
        format!("{host}:{}", address.port())
    }
}

impl<S: ExchangeSink> StreamSink for HttpLayer<S> {
    fn connection_opened(&mut self, info: &ConnectionInfo) {
        let ctx = self.context(info);
        let alpn_h2 = info.alpn.as_deref() == Some("h2");
        match self.connections.get_mut(&info.stream) {
            // Announced again (a TLS layer that learned ALPN and version):
            // keep the state, update what is known.
            Some(connection) => {
                connection.ctx = ctx;
                connection.alpn_h2 |= alpn_h2;
            }
            None => {
                self.connections.insert(
                    info.stream,
                    Connection {
                        ctx,
                        saw_syn: info.saw_syn,
                        alpn_h2,
                        protocol: Protocol::Sniffing(Vec::new()),
                    },
                );
            }
        }
    }

    fn data(&mut self, chunk: Chunk<'_>) {
        if chunk.data.is_empty() {
            return;
        }
        let limits = self.limits;
        let origin = self.origin.clone();
        let connection = self.connections.entry(chunk.stream).or_insert_with(|| {
            let mut origin = origin;
            origin.stream = Some(chunk.stream);
            Connection {
                ctx: Context {
                    origin,
                    scheme: "http",
                    server_authority: None,
                    limits,
                },
                saw_syn: chunk.offset == 0,
                alpn_h2: false,
                protocol: Protocol::Sniffing(Vec::new()),
            }
        });
        let out = &mut self.out;
        match &mut connection.protocol {
            Protocol::Http1(parser) => parser.data(&connection.ctx, out, &chunk),
            Protocol::Http2(parser) => parser.data(&connection.ctx, out, &chunk),
            Protocol::Unrecognised => {}
            Protocol::Sniffing(pending) => {
                pending.push(Pending::Data {
                    direction: chunk.direction,
                    offset: chunk.offset,
                    data: chunk.data.to_vec(),
                    frames: chunk.frames.to_vec(),
                    time: chunk.time,
                });
                let verdict = sniff(
                    pending,
                    connection.saw_syn,
                    connection.alpn_h2,
                    limits.max_sniff,
                );
                decide(connection, verdict, out);
            }
        }
        self.drain();
    }

    fn gap(&mut self, stream: u64, direction: Direction, missing: Range<u64>, frame: u64) {
        let Some(connection) = self.connections.get_mut(&stream) else {
            return;
        };
        let out = &mut self.out;
        match &mut connection.protocol {
            Protocol::Http1(parser) => parser.gap(&connection.ctx, out, direction, missing, frame),
            Protocol::Http2(parser) => parser.gap(&connection.ctx, out, direction, missing, frame),
            Protocol::Unrecognised => {}
            Protocol::Sniffing(pending) => {
                pending.push(Pending::Gap {
                    direction,
                    missing,
                    frame,
                });
                // What follows a gap cannot be sniffed from its start:
                // decide with what is known.
                let verdict = match sniff(pending, connection.saw_syn, connection.alpn_h2, 0) {
                    Verdict::Http2 { start_seen } => Verdict::Http2 { start_seen },
                    Verdict::Http1 { resync } => Verdict::Http1 { resync },
                    Verdict::Wait | Verdict::Unrecognised => Verdict::Http1 { resync: true },
                };
                decide(connection, verdict, out);
            }
        }
        self.drain();
    }

    fn connection_closed(&mut self, stream: u64) {
        let Some(mut connection) = self.connections.remove(&stream) else {
            return;
        };
        let out = &mut self.out;
        match &mut connection.protocol {
            Protocol::Http1(parser) => parser.close(&connection.ctx, out),
            Protocol::Http2(parser) => parser.close(&connection.ctx, out),
            Protocol::Unrecognised => {}
            Protocol::Sniffing(pending) => {
                if !pending.is_empty() {
                    let verdict = match sniff(pending, connection.saw_syn, connection.alpn_h2, 0) {
                        Verdict::Wait => Verdict::Unrecognised,
                        other => other,
                    };
                    decide(&mut connection, verdict, out);
                    match &mut connection.protocol {
                        Protocol::Http1(parser) => parser.close(&connection.ctx, out),
                        Protocol::Http2(parser) => parser.close(&connection.ctx, out),
                        Protocol::Unrecognised | Protocol::Sniffing(_) => {}
                    }
                }
            }
        }
        self.drain();
    }

    fn contact(&mut self, contact: &Contact) {
        self.contacts.push(contact.clone());
    }

    fn quic_connection_opened(&mut self, info: &QuicConnectionInfo) {
        let ctx = self.quic_context(Some(info));
        let h3 = match info.alpn.as_deref() {
            Some(alpn) if !alpn.starts_with("h3") => {
                ctx.diagnostic(
                    &mut self.out,
                    Severity::Warning,
                    "http.unrecognised",
                    format!(
                        "QUIC connection {} negotiated ALPN {alpn:?}, not HTTP/3; it is not read",
                        info.connection
                    ),
                    &[info.first_frame],
                    None,
                );
                None
            }
            _ => Some(H3Connection::new(&ctx)),
        };
        self.quic.insert(info.connection, (ctx, h3));
        self.drain();
    }

    fn quic_stream(&mut self, chunk: QuicChunk<'_>) {
        if !self.quic.contains_key(&chunk.connection) {
            let ctx = self.quic_context(None);
            let h3 = H3Connection::new(&ctx);
            self.quic.insert(chunk.connection, (ctx, Some(h3)));
        }
        if let Some((ctx, Some(h3))) = self.quic.get_mut(&chunk.connection) {
            h3.data(ctx, &mut self.out, &chunk);
        }
        self.drain();
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.sink.diagnostic(diagnostic);
    }
}

/// The first bytes of one direction among the pending chunks (up to `n`),
/// or `None` when a gap came before them.
fn prefix(pending: &[Pending], direction: Direction, n: usize) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    for item in pending {
        match item {
            Pending::Data {
                direction: d, data, ..
            } if *d == direction => {
                let room = n.saturating_sub(bytes.len());
                bytes.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
            }
            Pending::Gap { direction: d, .. } if *d == direction && bytes.is_empty() => {
                return None;
            }
            _ => {}
        }
        if bytes.len() >= n {
            break;
        }
    }
    Some(bytes)
}

/// Decides the protocol from what is pending. `max_wait` bounds how many
/// bytes may be held before deciding; 0 forces a decision.
fn sniff(pending: &[Pending], saw_syn: bool, alpn_h2: bool, max_wait: usize) -> Verdict {
    const LOOK: usize = 64;
    if alpn_h2 {
        return Verdict::Http2 {
            start_seen: saw_syn,
        };
    }
    let client = prefix(pending, Direction::ToServer, LOOK).unwrap_or_default();
    let server = prefix(pending, Direction::ToClient, LOOK).unwrap_or_default();
    let held: usize = pending
        .iter()
        .map(|p| {
            if let Pending::Data { data, .. } = p {
                data.len()
            } else {
                0
            }
        })
        .sum();
    let forced = held > max_wait;
    if !client.is_empty() {
        let n = client.len().min(PREFACE.len());
        if client.get(..n) == PREFACE.get(..n) {
            if n == PREFACE.len() {
                return Verdict::Http2 { start_seen: true };
            }
            return if forced {
                Verdict::Unrecognised
            } else {
                Verdict::Wait
            };
        }
        match h1::sniff_request(&client) {
            Some(true) => return Verdict::Http1 { resync: false },
            None if !forced => return Verdict::Wait,
            _ => {}
        }
    }
    if !server.is_empty() && client.is_empty() {
        match h1::sniff_response(&server) {
            Some(true) => return Verdict::Http1 { resync: false },
            None if !forced => return Verdict::Wait,
            // Wait for the client's first bytes (an HTTP/2 server may
            // speak first with its SETTINGS).
            Some(false) if !forced => return Verdict::Wait,
            _ => {}
        }
    }
    if !saw_syn {
        // The capture started mid-connection.
        let full = |direction| {
            pending.iter().find_map(|p| match p {
                Pending::Data {
                    direction: d, data, ..
                } if *d == direction => Some(data.as_slice()),
                _ => None,
            })
        };
        if full(Direction::ToServer).is_some_and(looks_like_h2)
            || full(Direction::ToClient).is_some_and(looks_like_h2)
        {
            return Verdict::Http2 { start_seen: false };
        }
        return Verdict::Http1 { resync: true };
    }
    if client.is_empty() && !forced {
        return Verdict::Wait;
    }
    Verdict::Unrecognised
}

/// Whether bytes are a run of plausible HTTP/2 frames: known types, sizes
/// within the default maximum, ending exactly at the end of the bytes or
/// in a plausible partial header. Used only for connections whose start
/// was not captured.
fn looks_like_h2(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    let mut frames = 0;
    while let Some(header) = FrameHeader::parse(rest) {
        if header.kind.0 > 9 || header.length > 16_384 {
            return false;
        }
        let total = HEADER_LEN.saturating_add(usize::try_from(header.length).unwrap_or(usize::MAX));
        match rest.get(total..) {
            Some(next) => {
                rest = next;
                frames += 1;
            }
            None => break,
        }
    }
    frames > 0
}

fn decide(connection: &mut Connection, verdict: Verdict, out: &mut Vec<Emitted>) {
    let protocol = match verdict {
        Verdict::Wait => return,
        Verdict::Http1 { resync } => {
            let mut parser = Http1Connection::new();
            if resync {
                parser.resync(Direction::ToServer);
                parser.resync(Direction::ToClient);
            }
            Protocol::Http1(Box::new(parser))
        }
        Verdict::Http2 { start_seen } => {
            Protocol::Http2(Box::new(H2Connection::new(&connection.ctx, start_seen)))
        }
        Verdict::Unrecognised => Protocol::Unrecognised,
    };
    let Protocol::Sniffing(pending) = std::mem::replace(&mut connection.protocol, protocol) else {
        return;
    };
    let ctx = &connection.ctx;
    match &mut connection.protocol {
        Protocol::Http1(parser) => replay(pending, |item| match item {
            Pending::Data {
                direction,
                offset,
                data,
                frames,
                time,
            } => parser.data(
                ctx,
                out,
                &Chunk {
                    stream: 0,
                    direction,
                    offset,
                    data: &data,
                    frames: &frames,
                    time,
                },
            ),
            Pending::Gap {
                direction,
                missing,
                frame,
            } => parser.gap(ctx, out, direction, missing, frame),
        }),
        Protocol::Http2(parser) => replay(pending, |item| match item {
            Pending::Data {
                direction,
                offset,
                data,
                frames,
                time,
            } => parser.data(
                ctx,
                out,
                &Chunk {
                    stream: 0,
                    direction,
                    offset,
                    data: &data,
                    frames: &frames,
                    time,
                },
            ),
            Pending::Gap {
                direction,
                missing,
                frame,
            } => parser.gap(ctx, out, direction, missing, frame),
        }),
        Protocol::Unrecognised => {
            let frames: Vec<u64> = pending
                .iter()
                .filter_map(|p| match p {
                    Pending::Data { frames, .. } => Some(frames.iter().copied()),
                    Pending::Gap { .. } => None,
                })
                .flatten()
                .take(64)
                .collect();
            ctx.diagnostic(
                out,
                Severity::Warning,
                "http.unrecognised",
                "the connection's bytes are neither HTTP/1.x nor HTTP/2; it is not read".into(),
                &frames,
                None,
            );
        }
        Protocol::Sniffing(_) => {}
    }
}

fn replay(pending: Vec<Pending>, mut apply: impl FnMut(Pending)) {
    for item in pending {
        apply(item);
    }
}
