//! QUIC version 1 connections read passively, from the UDP datagrams of a
//! capture.
//!
//! [`QuicDecryptor`] follows each connection from the client's first
//! Initial packet. Initial packets are protected with keys anyone can
//! derive from the client's first Destination Connection ID (RFC 9001
//! §5.2), so the ClientHello (its SNI and client random) and the
//! ServerHello (the cipher suite) are always readable. Handshake and 1-RTT
//! packets need the TLS secrets the key log holds for that client random;
//! with them every packet is opened (coalesced packets, long and short
//! headers, key updates), its frames are read, and the STREAM data of each
//! stream is put back in order and handed on as [`QuicChunk`]s. Without
//! them the connection leaves a `quic-sni` [`Contact`] and one
//! `quic.no-key` diagnostic naming the client random to look for.
//!
//! Connections are told apart by their UDP address pair, and short-header
//! packets are read with the connection ids each side chose during the
//! handshake (or later in NEW_CONNECTION_ID frames).

use crate::crypto::{HashAlg, Suite};
use crate::handshake::{
    ClientHello, parse_client_hello, parse_encrypted_extensions, parse_server_hello,
};
use crate::keylog::{KeyLog, hex};
use crate::quic_frame::{Frame, FrameError, read_frames, varint};
use crate::quic_protection::{
    PacketKeys, decode_packet_number, next_secret, quic_suite, unprotect_header,
};
use crate::quic_reassembly::{Piece, Reassembler};
use pixelscope_capture::{Contact, Datagram, Direction, QuicChunk, QuicConnectionInfo, StreamSink};
use pixelscope_model::{Diagnostic, Origin, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

/// Connections followed at once; later ones are only counted.
const MAX_CONNECTIONS: usize = 4096;
/// CRYPTO bytes kept per encryption level and direction (a certificate
/// chain fits; only the first messages are read).
const MAX_CRYPTO: usize = 64 * 1024;
/// Streams followed per connection.
const MAX_STREAMS: usize = 4096;
/// Out-of-order bytes that may wait per stream direction.
const MAX_STREAM_WAITING: usize = 4 << 20;
/// Connection ids remembered per side.
const MAX_CIDS: usize = 64;

/// Packet number spaces (RFC 9000 §12.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Space {
    Initial = 0,
    Handshake = 1,
    Application = 2,
}

/// 1-RTT keys of one direction, with what a key update needs.
struct AppKeys {
    hash: HashAlg,
    suite: Suite,
    secret: Vec<u8>,
    phase: bool,
    current: PacketKeys,
    previous: Option<PacketKeys>,
}

/// What one side of a connection sends.
struct Side {
    initial: Option<PacketKeys>,
    handshake: Option<PacketKeys>,
    app: Option<AppKeys>,
    largest: [Option<u64>; 3],
    crypto: [Reassembler; 3],
    /// In-order CRYPTO bytes per space (bounded), and how far they were read.
    crypto_bytes: [Vec<u8>; 3],
    crypto_read: [usize; 3],
    /// Connection ids this side chose: the other side addresses it with them.
    cids: Vec<Vec<u8>>,
    failure_reported: bool,
}

impl Side {
    fn new() -> Side {
        Side {
            initial: None,
            handshake: None,
            app: None,
            largest: [None; 3],
            crypto: [
                Reassembler::new(MAX_CRYPTO),
                Reassembler::new(MAX_CRYPTO),
                Reassembler::new(MAX_CRYPTO),
            ],
            crypto_bytes: [Vec::new(), Vec::new(), Vec::new()],
            crypto_read: [0; 3],
            cids: Vec::new(),
            failure_reported: false,
        }
    }

    fn add_cid(&mut self, cid: &[u8]) {
        if !cid.is_empty() && self.cids.len() < MAX_CIDS && !self.cids.iter().any(|c| c == cid) {
            self.cids.push(cid.to_vec());
        }
    }
}

struct Connection {
    number: u64,
    client: SocketAddr,
    server: SocketAddr,
    first_frame: u64,
    first_time: Timestamp,
    /// The Destination Connection ID the Initial keys come from.
    initial_dcid: Vec<u8>,
    to_server: Side,
    to_client: Side,
    hello: Option<ClientHello>,
    hello_frames: Vec<u64>,
    hello_time: Timestamp,
    suite: Option<u16>,
    alpn: Option<String>,
    /// The server's EncryptedExtensions were read.
    extensions_read: bool,
    secrets_loaded: bool,
    no_key_reported: bool,
    opened: bool,
    streams: BTreeMap<(u64, Direction), Reassembler>,
    limit_reported: bool,
    frame_invalid_reported: bool,
}

impl Connection {
    fn side(&mut self, direction: Direction) -> &mut Side {
        match direction {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }

    fn info(&self) -> QuicConnectionInfo {
        QuicConnectionInfo {
            connection: self.number,
            client: self.client,
            server: self.server,
            first_frame: self.first_frame,
            first_time: self.first_time,
            server_name: self.hello.as_ref().and_then(|h| h.server_name.clone()),
            alpn: self
                .alpn
                .clone()
                .or_else(|| self.hello.as_ref().and_then(|h| h.alpn.first().cloned())),
        }
    }

    /// Derives the Initial keys of both sides from `dcid`.
    fn set_initial(&mut self, dcid: &[u8]) {
        self.initial_dcid = dcid.to_vec();
        self.to_server.initial = PacketKeys::initial(dcid, true);
        self.to_client.initial = PacketKeys::initial(dcid, false);
    }

    /// Looks the session's secrets up once the client random is known.
    fn load_secrets(&mut self, keylog: &KeyLog) {
        if self.secrets_loaded {
            return;
        }
        let Some(random) = self.hello.as_ref().map(|h| h.random) else {
            return;
        };
        let Some(secrets) = keylog.session(&random) else {
            return;
        };
        let any = |s: &Option<Vec<u8>>| s.as_ref().map(Vec::len);
        let len = any(&secrets.client_traffic)
            .or(any(&secrets.server_traffic))
            .or(any(&secrets.client_handshake))
            .or(any(&secrets.server_handshake));
        let Some(len) = len else {
            return;
        };
        // The ServerHello names the suite; if it was not captured the
        // secret's length tells SHA-384 (AES-256-GCM) from SHA-256.
        let suite_id = self
            .suite
            .unwrap_or(if len == 48 { 0x1302 } else { 0x1301 });
        let Some(suite) = quic_suite(suite_id) else {
            return;
        };
        self.secrets_loaded = true;
        let keys = |s: &Option<Vec<u8>>| s.as_ref().and_then(|s| PacketKeys::from_secret(suite, s));
        let app = |s: &Option<Vec<u8>>| {
            let secret = s.clone()?;
            Some(AppKeys {
                hash: suite.hash,
                suite,
                current: PacketKeys::from_secret(suite, &secret)?,
                secret,
                phase: false,
                previous: None,
            })
        };
        self.to_server.handshake = keys(&secrets.client_handshake);
        self.to_client.handshake = keys(&secrets.server_handshake);
        self.to_server.app = app(&secrets.client_traffic);
        self.to_client.app = app(&secrets.server_traffic);
    }
}

/// Follows QUIC connections and decrypts them with a key log.
#[derive(Default)]
pub(crate) struct QuicDecryptor {
    connections: Vec<Connection>,
    by_flow: HashMap<(SocketAddr, SocketAddr), usize>,
    skipped: u64,
    limit_reported: bool,
}

/// Where a packet came from, for records and diagnostics.
#[derive(Clone, Copy)]
struct At<'a> {
    frame: u64,
    time: Timestamp,
    origin: &'a Origin,
}

impl At<'_> {
    fn origin(&self) -> Origin {
        Origin {
            frames: Some(vec![self.frame]),
            tls: Some("1.3".to_owned()),
            ..self.origin.clone()
        }
    }
}

/// The parts of a long header this reader uses.
struct LongHeader<'a> {
    kind: u8,
    dcid: &'a [u8],
    scid: &'a [u8],
    /// Offset of the packet number (Retry: of the token).
    pn_offset: usize,
    /// End of this packet within the datagram.
    end: usize,
}

fn long_header(packet: &[u8]) -> Option<LongHeader<'_>> {
    let first = *packet.first()?;
    if packet.get(1..5)? != [0, 0, 0, 1] {
        return None;
    }
    let kind = (first >> 4) & 0x03;
    let dcid_len = usize::from(*packet.get(5)?);
    let dcid = packet.get(6..6 + dcid_len)?;
    let mut at = 6 + dcid_len;
    let scid_len = usize::from(*packet.get(at)?);
    let scid = packet.get(at + 1..at + 1 + scid_len)?;
    at += 1 + scid_len;
    if kind == 3 {
        return Some(LongHeader {
            kind,
            dcid,
            scid,
            pn_offset: at,
            end: packet.len(),
        });
    }
    if kind == 0 {
        let token = usize::try_from(varint(packet, &mut at)?).ok()?;
        at = at.checked_add(token)?;
    }
    let length = usize::try_from(varint(packet, &mut at)?).ok()?;
    let end = at.checked_add(length)?;
    if end > packet.len() {
        return None;
    }
    Some(LongHeader {
        kind,
        dcid,
        scid,
        pn_offset: at,
        end,
    })
}

impl QuicDecryptor {
    /// Reads one UDP datagram: the packets of a known connection, or the
    /// client Initial that starts a new one.
    pub(crate) fn datagram<S: StreamSink>(
        &mut self,
        datagram: &Datagram<'_>,
        keylog: &KeyLog,
        inner: &mut S,
        origin: &Origin,
    ) {
        let at = At {
            frame: datagram.frame,
            time: datagram.time,
            origin,
        };
        let data = datagram.data;
        let found = if let Some(&i) = self.by_flow.get(&(datagram.source, datagram.destination)) {
            Some((i, Direction::ToServer))
        } else {
            self.by_flow
                .get(&(datagram.destination, datagram.source))
                .map(|&i| (i, Direction::ToClient))
        };
        let client_initial = data.first().is_some_and(|b| b & 0xf0 == 0xc0)
            && long_header(data).is_some_and(|h| h.kind == 0);
        let (index, direction) = match found {
            Some((i, Direction::ToServer)) if client_initial && self.new_attempt(i, data) => {
                match self.open(datagram, data, inner, at) {
                    Some(i) => (i, Direction::ToServer),
                    None => return,
                }
            }
            Some(found) => found,
            None if client_initial => match self.open(datagram, data, inner, at) {
                Some(i) => (i, Direction::ToServer),
                None => return,
            },
            None => return,
        };
        let Some(connection) = self.connections.get_mut(index) else {
            return;
        };
        let mut offset = 0usize;
        while let Some(rest) = data.get(offset..) {
            if rest.is_empty() {
                break;
            }
            match read_packet(connection, rest, direction, keylog, inner, at) {
                Some(used) if used > 0 => offset += used,
                _ => break,
            }
        }
    }

    /// A client Initial on a known address pair that belongs to none of its
    /// connection's ids: the port was reused for a new connection.
    fn new_attempt(&self, index: usize, data: &[u8]) -> bool {
        let (Some(connection), Some(header)) = (self.connections.get(index), long_header(data))
        else {
            return false;
        };
        header.dcid != connection.initial_dcid.as_slice()
            && !connection.to_client.cids.iter().any(|c| c == header.dcid)
    }

    /// Starts following the connection whose client Initial this is.
    fn open<S: StreamSink>(
        &mut self,
        datagram: &Datagram<'_>,
        data: &[u8],
        inner: &mut S,
        at: At<'_>,
    ) -> Option<usize> {
        let header = long_header(data)?;
        if self.connections.len() >= MAX_CONNECTIONS {
            self.skipped += 1;
            if !self.limit_reported {
                self.limit_reported = true;
                let message = format!(
                    "more than {MAX_CONNECTIONS} QUIC connections in the capture; later ones are not read"
                );
                inner.diagnostic(Diagnostic::warning(
                    "quic.too-many-connections",
                    message,
                    at.origin(),
                ));
            }
            return None;
        }
        let index = self.connections.len();
        let mut connection = Connection {
            number: index as u64,
            client: datagram.source,
            server: datagram.destination,
            first_frame: datagram.frame,
            first_time: datagram.time,
            initial_dcid: Vec::new(),
            to_server: Side::new(),
            to_client: Side::new(),
            hello: None,
            hello_frames: Vec::new(),
            hello_time: datagram.time,
            suite: None,
            alpn: None,
            extensions_read: false,
            secrets_loaded: false,
            no_key_reported: false,
            opened: false,
            streams: BTreeMap::new(),
            limit_reported: false,
            frame_invalid_reported: false,
        };
        connection.set_initial(header.dcid);
        connection.to_server.add_cid(header.scid);
        self.connections.push(connection);
        self.by_flow
            .insert((datagram.source, datagram.destination), index);
        Some(index)
    }

    /// The capture ended: say what stream data never became contiguous.
    pub(crate) fn finish<S: StreamSink>(&mut self, inner: &mut S, origin: &Origin) {
        for connection in &self.connections {
            let holes: Vec<(u64, usize)> = connection
                .streams
                .iter()
                .filter(|(_, r)| r.waiting_bytes() > 0)
                .map(|((id, _), r)| (*id, r.waiting_bytes()))
                .collect();
            if let Some(&(first, _)) = holes.first() {
                let bytes: usize = holes.iter().map(|(_, b)| b).sum();
                let message = format!(
                    "QUIC connection {}: {bytes} bytes on {} stream(s) (first: stream {first}) follow data that was never captured; they are not read",
                    connection.number,
                    holes.len()
                );
                let origin = Origin {
                    frames: Some(vec![connection.first_frame]),
                    ..origin.clone()
                };
                inner.diagnostic(Diagnostic::warning("quic.stream-gap", message, origin));
            }
        }
    }
}

/// Reads the packet at the start of `packet` (the rest of a datagram);
/// returns its length, or `None` when nothing more can be read from the
/// datagram.
fn read_packet<S: StreamSink>(
    connection: &mut Connection,
    packet: &[u8],
    direction: Direction,
    keylog: &KeyLog,
    inner: &mut S,
    at: At<'_>,
) -> Option<usize> {
    let first = *packet.first()?;
    if first & 0x80 != 0 {
        let header = long_header(packet)?;
        match header.kind {
            3 => {
                // Retry: the client starts over with the server's new id,
                // and Initial keys come from it.
                if direction == Direction::ToClient {
                    let scid = header.scid.to_vec();
                    connection.set_initial(&scid);
                    connection.to_server = Side {
                        initial: connection.to_server.initial.take(),
                        cids: std::mem::take(&mut connection.to_server.cids),
                        ..Side::new()
                    };
                    connection.to_client = Side {
                        initial: connection.to_client.initial.take(),
                        ..Side::new()
                    };
                }
                return Some(packet.len());
            }
            1 => return Some(header.end),
            _ => {}
        }
        if direction == Direction::ToClient {
            connection.to_client.add_cid(header.scid);
        } else if header.kind == 0 {
            connection.to_server.add_cid(header.scid);
        }
        let space = if header.kind == 0 {
            Space::Initial
        } else {
            Space::Handshake
        };
        let bytes = packet.get(..header.end)?;
        open_packet(
            connection,
            bytes,
            header.pn_offset,
            space,
            direction,
            keylog,
            inner,
            at,
        );
        Some(header.end)
    } else {
        if first & 0x40 == 0 {
            return None;
        }
        // The destination id is one the receiving side chose.
        let receiver = match direction {
            Direction::ToServer => &connection.to_client,
            Direction::ToClient => &connection.to_server,
        };
        let dcid_len = receiver
            .cids
            .iter()
            .find(|c| packet.get(1..1 + c.len()) == Some(c.as_slice()))
            .or(receiver.cids.first())
            .map_or(0, Vec::len);
        open_packet(
            connection,
            packet,
            1 + dcid_len,
            Space::Application,
            direction,
            keylog,
            inner,
            at,
        );
        Some(packet.len())
    }
}

/// Opens one packet (a copy of `bytes`) and reads its frames.
#[allow(clippy::too_many_arguments)]
fn open_packet<S: StreamSink>(
    connection: &mut Connection,
    bytes: &[u8],
    pn_offset: usize,
    space: Space,
    direction: Direction,
    keylog: &KeyLog,
    inner: &mut S,
    at: At<'_>,
) {
    if space != Space::Initial {
        connection.load_secrets(keylog);
    }
    let mut packet = bytes.to_vec();
    let side = connection.side(direction);
    let header_keys = match space {
        Space::Initial => side.initial.as_ref(),
        Space::Handshake => side.handshake.as_ref(),
        Space::Application => side.app.as_ref().map(|a| &a.current),
    };
    let Some(header_keys) = header_keys else {
        // No keys for this level: reported once per connection as
        // quic.no-key when the ClientHello was read.
        return;
    };
    let Some((pn_len, truncated)) = unprotect_header(header_keys, &mut packet, pn_offset) else {
        failed(
            connection,
            direction,
            space,
            at,
            inner,
            "is too short to hold a packet number sample",
        );
        return;
    };
    let pn = decode_packet_number(
        side.largest.get(space as usize).copied().flatten(),
        truncated,
        pn_len,
    );
    let split = pn_offset + pn_len;
    let (Some(header), Some(payload)) = (packet.get(..split), packet.get(split..)) else {
        return;
    };
    let plain = match space {
        Space::Initial => side
            .initial
            .as_ref()
            .and_then(|k| try_open(k, pn, header, payload)),
        Space::Handshake => side
            .handshake
            .as_ref()
            .and_then(|k| try_open(k, pn, header, payload)),
        Space::Application => {
            let phase = header.first().is_some_and(|b| b & 0x04 != 0);
            side.app
                .as_mut()
                .and_then(|app| open_app(app, phase, pn, header, payload))
        }
    };
    let Some(plain) = plain else {
        failed(
            connection,
            direction,
            space,
            at,
            inner,
            "failed authentication (wrong key, or corrupted bytes)",
        );
        return;
    };
    if let Some(largest) = connection.side(direction).largest.get_mut(space as usize) {
        *largest = Some(largest.map_or(pn, |l| l.max(pn)));
    }
    let mut frames = Vec::new();
    let result = read_frames(&plain, |f| frames.push(f));
    for frame in frames {
        match frame {
            Frame::Crypto { offset, data } => {
                crypto(
                    connection, space, direction, offset, data, keylog, inner, at,
                );
            }
            Frame::Stream {
                id,
                offset,
                data,
                fin,
            } => stream(connection, id, direction, offset, data, fin, inner, at),
            Frame::NewConnectionId { cid } => connection.side(direction).add_cid(cid),
            Frame::ResetStream { .. } | Frame::ConnectionClose | Frame::Other(_) => {}
        }
    }
    if let Err(error) = result
        && !connection.frame_invalid_reported
    {
        connection.frame_invalid_reported = true;
        let what = match error {
            FrameError::Unknown { kind, at } => {
                format!("a frame of unknown type 0x{kind:x} at payload offset {at}")
            }
            FrameError::Truncated { kind, at } => {
                format!(
                    "a frame of type 0x{kind:x} at payload offset {at} that runs past the packet"
                )
            }
        };
        let message = format!(
            "QUIC connection {} {}: packet {pn} holds {what}; the rest of that packet is not read",
            connection.number,
            direction_name(direction)
        );
        inner.diagnostic(Diagnostic::warning(
            "quic.frame-invalid",
            message,
            at.origin(),
        ));
    }
}

/// Opens a payload copy with `keys`.
fn try_open(keys: &PacketKeys, pn: u64, header: &[u8], payload: &[u8]) -> Option<Vec<u8>> {
    let mut buffer = payload.to_vec();
    let len = keys.open(pn, header, &mut buffer)?;
    buffer.truncate(len);
    Some(buffer)
}

/// Opens a 1-RTT payload, following key updates: a packet of the other key
/// phase is tried with the next keys (and, if they open it, they become
/// current) and then with the previous ones (a late packet).
fn open_app(
    app: &mut AppKeys,
    phase: bool,
    pn: u64,
    header: &[u8],
    payload: &[u8],
) -> Option<Vec<u8>> {
    if phase == app.phase {
        return try_open(&app.current, pn, header, payload);
    }
    if let Some(secret) = next_secret(app.hash, &app.secret)
        && let Some(keys) = PacketKeys::from_secret(app.suite, &secret)
        && let Some(plain) = try_open(&keys, pn, header, payload)
    {
        app.previous = Some(std::mem::replace(&mut app.current, keys));
        app.secret = secret;
        app.phase = phase;
        return Some(plain);
    }
    app.previous
        .as_ref()
        .and_then(|keys| try_open(keys, pn, header, payload))
}

fn failed<S: StreamSink>(
    connection: &mut Connection,
    direction: Direction,
    space: Space,
    at: At<'_>,
    inner: &mut S,
    what: &str,
) {
    let number = connection.number;
    let side = connection.side(direction);
    if side.failure_reported {
        return;
    }
    side.failure_reported = true;
    let level = match space {
        Space::Initial => "an Initial",
        Space::Handshake => "a Handshake",
        Space::Application => "a 1-RTT",
    };
    let message = format!(
        "QUIC connection {number} {}: {level} packet {what}; its content is missing, later packets are still tried",
        direction_name(direction)
    );
    inner.diagnostic(Diagnostic::error(
        "quic.decrypt-failed",
        message,
        at.origin(),
    ));
}

/// CRYPTO data: the handshake messages this reader wants are the first of
/// their level, so only a bounded prefix of each CRYPTO stream is kept.
#[allow(clippy::too_many_arguments)]
fn crypto<S: StreamSink>(
    connection: &mut Connection,
    space: Space,
    direction: Direction,
    offset: u64,
    data: &[u8],
    keylog: &KeyLog,
    inner: &mut S,
    at: At<'_>,
) {
    let i = space as usize;
    // Only the ClientHello, the ServerHello and EncryptedExtensions are
    // read; once they are, that CRYPTO stream's buffers are let go.
    let wanted = match (space, direction) {
        (Space::Initial, Direction::ToServer) => connection.hello.is_none(),
        (Space::Initial, Direction::ToClient) => connection.suite.is_none(),
        (Space::Handshake, Direction::ToClient) => !connection.extensions_read,
        _ => false,
    };
    let side = connection.side(direction);
    if !wanted {
        if let (Some(r), Some(b)) = (side.crypto.get_mut(i), side.crypto_bytes.get_mut(i))
            && (r.waiting_bytes() > 0 || b.capacity() > 0)
        {
            *r = Reassembler::new(MAX_CRYPTO);
            *b = Vec::new();
        }
        return;
    }
    let (Some(reassembler), Some(bytes)) = (side.crypto.get_mut(i), side.crypto_bytes.get_mut(i))
    else {
        return;
    };
    // Data beyond the bound is dropped: nothing past the first messages
    // is needed.
    let _ = reassembler.add(
        offset,
        data,
        false,
        at.frame,
        at.time,
        |piece: Piece<'_>| {
            let room = MAX_CRYPTO.saturating_sub(bytes.len());
            bytes.extend_from_slice(
                piece
                    .data
                    .get(..room.min(piece.data.len()))
                    .unwrap_or_default(),
            );
        },
    );
    if space == Space::Initial && direction == Direction::ToServer && connection.hello.is_none() {
        add_frame(&mut connection.hello_frames, at.frame);
    }
    loop {
        let side = connection.side(direction);
        let (Some(bytes), Some(read)) = (side.crypto_bytes.get(i), side.crypto_read.get(i)) else {
            return;
        };
        let Some(&[kind, a, b, c]) = bytes.get(*read..read.saturating_add(4)) else {
            return;
        };
        let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
        let start = read + 4;
        let Some(body) = bytes.get(start..start + len) else {
            return;
        };
        let body = body.to_vec();
        if let Some(read) = side.crypto_read.get_mut(i) {
            *read = start + len;
        }
        handshake_message(connection, space, direction, kind, &body, keylog, inner, at);
    }
}

#[allow(clippy::too_many_arguments)]
fn handshake_message<S: StreamSink>(
    connection: &mut Connection,
    space: Space,
    direction: Direction,
    kind: u8,
    body: &[u8],
    keylog: &KeyLog,
    inner: &mut S,
    at: At<'_>,
) {
    match (space, direction, kind) {
        (Space::Initial, Direction::ToServer, 1) if connection.hello.is_none() => {
            let Some(hello) = parse_client_hello(body) else {
                return;
            };
            connection.hello = Some(hello);
            connection.hello_time = at.time;
            connection.load_secrets(keylog);
            if !connection.secrets_loaded {
                no_key(connection, inner, at);
            }
        }
        (Space::Initial, Direction::ToClient, 2) => {
            if let Some(server) = parse_server_hello(body) {
                connection.suite = Some(server.cipher_suite);
            }
        }
        (Space::Handshake, Direction::ToClient, 8) => {
            connection.alpn = parse_encrypted_extensions(body);
            connection.extensions_read = true;
        }
        _ => {}
    }
}

/// The key log holds nothing for this connection: say so once, and keep
/// the SNI as a contact.
fn no_key<S: StreamSink>(connection: &mut Connection, inner: &mut S, at: At<'_>) {
    if connection.no_key_reported {
        return;
    }
    connection.no_key_reported = true;
    let Some(hello) = connection.hello.as_ref() else {
        return;
    };
    let host = hello.server_name.clone();
    let message = format!(
        "QUIC connection {}{}: no key for this TLS 1.3 session (client random {}); the key log needs CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0 and SERVER_TRAFFIC_SECRET_0 lines for it; only its SNI is reported",
        connection.number,
        host.as_ref()
            .map(|h| format!(" to {h}"))
            .unwrap_or_default(),
        hex(&hello.random)
    );
    let origin = Origin {
        frames: Some(connection.hello_frames.clone()),
        ..at.origin.clone()
    };
    inner.diagnostic(Diagnostic::warning("quic.no-key", message, origin));
    if let Some(host) = host {
        inner.contact(&Contact {
            host: host.to_ascii_lowercase(),
            via: "quic-sni",
            stream: None,
            frames: connection.hello_frames.clone(),
            time: connection.hello_time,
            server: Some(connection.server),
        });
    }
}

/// STREAM data: reassembled per stream and direction, handed on in order.
#[allow(clippy::too_many_arguments)]
fn stream<S: StreamSink>(
    connection: &mut Connection,
    id: u64,
    direction: Direction,
    offset: u64,
    data: &[u8],
    fin: bool,
    inner: &mut S,
    at: At<'_>,
) {
    let key = (id, direction);
    if !connection.streams.contains_key(&key) && connection.streams.len() >= MAX_STREAMS {
        if !connection.limit_reported {
            connection.limit_reported = true;
            let message = format!(
                "QUIC connection {}: more than {MAX_STREAMS} streams; later streams are not read",
                connection.number
            );
            inner.diagnostic(Diagnostic::warning(
                "quic.too-many-streams",
                message,
                at.origin(),
            ));
        }
        return;
    }
    if !connection.opened {
        connection.opened = true;
        inner.quic_connection_opened(&connection.info());
    }
    let number = connection.number;
    let reassembler = connection
        .streams
        .entry(key)
        .or_insert_with(|| Reassembler::new(MAX_STREAM_WAITING));
    let result = reassembler.add(offset, data, fin, at.frame, at.time, |piece| {
        inner.quic_stream(QuicChunk {
            connection: number,
            stream_id: id,
            direction,
            offset: piece.offset,
            data: piece.data,
            fin: piece.fin,
            frames: &[piece.frame],
            time: piece.time,
        });
    });
    if result.is_err() {
        let message = format!(
            "QUIC connection {number} stream {id} {}: more than {MAX_STREAM_WAITING} bytes wait behind missing data; some are dropped",
            direction_name(direction)
        );
        inner.diagnostic(Diagnostic::warning("quic.stream-gap", message, at.origin()));
    }
}

fn add_frame(frames: &mut Vec<u64>, frame: u64) {
    if !frames.contains(&frame) && frames.len() < 64 {
        frames.push(frame);
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::ToServer => "client to server",
        Direction::ToClient => "server to client",
    }
}
