//! [`TlsLayer`]: the stream sink that turns TLS connections into plaintext.

use crate::crypto::{OpenError, RecordProtection, Suite, find_suite, hkdf_expand_label};
use crate::handshake::{
    ClientHello, ServerHello, parse_client_hello, parse_encrypted_extensions, parse_server_hello,
    version_name,
};
use crate::keylog::{KeyLog, hex};
use crate::quic::QuicDecryptor;
use pixelscope_capture::{Chunk, ConnectionInfo, Contact, Datagram, Direction, StreamSink};
use pixelscope_model::{Diagnostic, Origin, Timestamp};
use std::collections::HashMap;
use std::ops::Range;

/// Largest record payload TLS allows (2^14 plus 2048 bytes of expansion).
const MAX_RECORD: usize = 16384 + 2048;
/// Largest handshake message we reassemble (certificate chains included).
const MAX_HANDSHAKE_MESSAGE: usize = 256 * 1024;
/// Records that may fail during the TLS 1.3 handshake without a diagnostic
/// when failure is expected (no handshake keys logged, or 0-RTT data).
const TOLERATED_HANDSHAKE_FAILURES: u32 = 64;
/// After this many failed records in a row a direction is given up.
const MAX_CONSECUTIVE_FAILURES: u32 = 8;
/// Gaps remembered for a connection whose protocol is not known yet.
const MAX_PENDING_GAPS: usize = 64;
/// Plaintext is handed on in pieces of at most this size.
const MAX_COALESCED: usize = 256 * 1024;

/// Decrypts the TLS connections it is given and passes everything else on.
///
/// A `TlsLayer` sits between the capture reader and the HTTP layer. For
/// each connection it looks at the first client bytes: anything that is not
/// a TLS handshake is forwarded untouched. A TLS connection is parsed record
/// by record; once the ServerHello names the version and cipher suite, the
/// secrets for the ClientHello's random are looked up in the [`KeyLog`] and
/// the records are opened in place. The inner sink then sees the
/// connection as if it had been plaintext: `connection_opened` (with the
/// TLS version, ALPN and SNI filled in), the application data of each
/// direction as [`Chunk`]s whose `frames` are those of the records that
/// carried it, and `connection_closed`.
///
/// Nothing stops the layer: a connection without keys yields one
/// `tls.no-key` warning (naming the client random to look for) and a
/// [`Contact`] for its SNI; a record that fails authentication yields
/// `tls.decrypt-failed` for that direction and a `gap` over the lost
/// plaintext; other directions and connections carry on.
pub struct TlsLayer<S: StreamSink> {
    keylog: KeyLog,
    connections: HashMap<u64, Connection>,
    scratch: Buffers,
    quic: QuicDecryptor,
    out: Output<S>,
}

/// Everything that talks to the inner sink, kept apart from the
/// per-connection state so both can be borrowed at once.
struct Output<S> {
    inner: S,
    origin: Origin,
    pending: Pending,
}

/// Plaintext waiting to be handed on; consecutive records carried by the
/// same frames are joined into one chunk.
#[derive(Default)]
struct Pending {
    active: bool,
    stream: u64,
    direction: Option<Direction>,
    offset: u64,
    data: Vec<u8>,
    frames: Vec<u64>,
    time: Option<Timestamp>,
}

struct Connection {
    info: ConnectionInfo,
    opened: bool,
    mode: Mode,
    pending_gaps: Vec<(Direction, Range<u64>, u64)>,
}

enum Mode {
    Undecided,
    Plain,
    Tls(Box<Session>),
}

/// The TLS state of one connection.
#[derive(Default)]
struct Session {
    client_hello: Option<ClientHello>,
    hello_frames: Vec<u64>,
    hello_time: Option<Timestamp>,
    server_hello: Option<ServerHello>,
    suite: Option<Suite>,
    /// Negotiated version (0x0301..0x0304), once the ServerHello is read.
    version: u16,
    /// Whether a contact (or `tls.no-key`) was already reported.
    contact_sent: bool,
    no_key_reported: bool,
    decrypted_any: bool,
    to_server: Flow,
    to_client: Flow,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Phase {
    /// Records are plaintext (before ChangeCipherSpec / ServerHello).
    #[default]
    Clear,
    /// TLS 1.3 handshake traffic keys are (or would be) in use.
    Handshake13,
    /// Application traffic keys (TLS 1.3) or the negotiated cipher (1.2).
    Protected,
}

/// One direction of a TLS connection.
#[derive(Default)]
struct Flow {
    /// An incomplete record carried over from earlier chunks.
    buf: Vec<u8>,
    buf_frames: Vec<u64>,
    /// Next offset in this direction's plaintext stream.
    plain_offset: u64,
    phase: Phase,
    protection: Option<RecordProtection>,
    /// TLS 1.2 keys that take effect at ChangeCipherSpec; TLS 1.3
    /// application keys to try when a handshake-phase record fails.
    next: Option<RecordProtection>,
    /// Current TLS 1.3 application traffic secret (for KeyUpdate).
    secret: Option<Vec<u8>>,
    /// TLS 1.3 application traffic secret, waiting for Finished.
    app_secret: Option<Vec<u8>>,
    /// TLS-level DEFLATE state (RFC 3749), one zlib stream per direction.
    inflate: Option<flate2::Decompress>,
    /// Handshake message bytes not yet parsed.
    handshake: Vec<u8>,
    handshake_broken: bool,
    /// Nothing more can be read from this direction.
    stopped: bool,
    failure_reported: bool,
    consecutive_failures: u32,
    tolerated_failures: u32,
}

impl Session {
    fn flow(&mut self, direction: Direction) -> &mut Flow {
        match direction {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }
}

impl<S: StreamSink> TlsLayer<S> {
    /// A layer decrypting with `keylog` and forwarding to `inner`.
    /// `origin_template` (file, hash, format) is the origin of its
    /// diagnostics, completed with the stream and frames concerned.
    pub fn new(keylog: KeyLog, inner: S, origin_template: Origin) -> TlsLayer<S> {
        TlsLayer {
            keylog,
            connections: HashMap::new(),
            scratch: Buffers::default(),
            quic: QuicDecryptor::default(),
            out: Output {
                inner,
                origin: origin_template,
                pending: Pending::default(),
            },
        }
    }

    /// The key log, including secrets merged from the capture.
    pub fn keylog(&self) -> &KeyLog {
        &self.keylog
    }

    /// The inner sink, once the capture has been read.
    pub fn into_inner(mut self) -> S {
        self.out.flush();
        self.quic.finish(&mut self.out.inner, &self.out.origin);
        self.out.inner
    }

    /// The inner sink, to inspect what it received so far.
    pub fn inner(&self) -> &S {
        &self.out.inner
    }
}

impl<S: StreamSink> Output<S> {
    fn flush(&mut self) {
        let p = &mut self.pending;
        if !p.active {
            return;
        }
        p.active = false;
        if let (Some(direction), Some(time)) = (p.direction, p.time) {
            self.inner.data(Chunk {
                stream: p.stream,
                direction,
                offset: p.offset,
                data: &p.data,
                frames: &p.frames,
                time,
            });
        }
        p.data.clear();
        p.frames.clear();
    }

    #[allow(clippy::too_many_arguments)]
    fn plaintext(
        &mut self,
        stream: u64,
        direction: Direction,
        offset: u64,
        data: &[u8],
        frames: &[u64],
        time: Timestamp,
    ) {
        if data.is_empty() {
            return;
        }
        let p = &self.pending;
        let joins = p.active
            && p.stream == stream
            && p.direction == Some(direction)
            && p.offset.checked_add(p.data.len() as u64) == Some(offset)
            && p.frames == frames
            && p.data.len() + data.len() <= MAX_COALESCED;
        if !joins {
            self.flush();
            let p = &mut self.pending;
            p.active = true;
            p.stream = stream;
            p.direction = Some(direction);
            p.offset = offset;
            p.frames.extend_from_slice(frames);
        }
        let p = &mut self.pending;
        p.data.extend_from_slice(data);
        p.time = Some(time);
    }

    fn origin(&self, stream: u64, frames: &[u64], version: u16) -> Origin {
        Origin {
            stream: Some(stream),
            frames: if frames.is_empty() {
                None
            } else {
                Some(frames.to_vec())
            },
            tls: if version == 0 {
                None
            } else {
                Some(version_name(version))
            },
            ..self.origin.clone()
        }
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.flush();
        self.inner.diagnostic(diagnostic);
    }

    /// Forwards `connection_opened` if not done yet, with whatever the TLS
    /// handshake revealed.
    fn open(&mut self, connection: &mut Connection) {
        if !connection.opened {
            connection.opened = true;
            let mut info = connection.info.clone();
            if let Mode::Tls(session) = &connection.mode {
                fill_info(&mut info, session);
            }
            self.flush();
            self.inner.connection_opened(&info);
        }
    }
}

fn looks_like_record(data: &[u8]) -> bool {
    matches!(data, [0x14..=0x17, 0x03, 0x00..=0x04, ..])
}

fn looks_like_client_hello(data: &[u8]) -> bool {
    matches!(data, [0x16, 0x03, 0x00..=0x04, ..] | [0x16, 0x03] | [0x16])
}

impl<S: StreamSink> StreamSink for TlsLayer<S> {
    fn connection_opened(&mut self, info: &ConnectionInfo) {
        let connection = Connection {
            info: info.clone(),
            opened: false,
            mode: Mode::Undecided,
            pending_gaps: Vec::new(),
        };
        if let Some(old) = self.connections.insert(info.stream, connection) {
            // A reused stream id should not happen; close the old one cleanly.
            if old.opened {
                self.out.flush();
                self.out.inner.connection_closed(info.stream);
            }
        }
    }

    fn data(&mut self, chunk: Chunk<'_>) {
        let Some(connection) = self.connections.get_mut(&chunk.stream) else {
            self.out.flush();
            self.out.inner.data(chunk);
            return;
        };
        if matches!(connection.mode, Mode::Undecided) {
            decide(connection, &chunk, &mut self.out);
        }
        match &mut connection.mode {
            Mode::Undecided | Mode::Plain => {
                self.out.open(connection);
                self.out.flush();
                self.out.inner.data(chunk);
            }
            Mode::Tls(_) => {
                let mut scratch = std::mem::take(&mut self.scratch);
                let mut ctx = Ctx {
                    keylog: &self.keylog,
                    out: &mut self.out,
                    scratch: &mut scratch,
                };
                ctx.records(connection, &chunk);
                self.scratch = scratch;
                self.out.flush();
            }
        }
    }

    fn gap(&mut self, stream: u64, direction: Direction, missing: Range<u64>, frame: u64) {
        let Some(connection) = self.connections.get_mut(&stream) else {
            self.out.flush();
            self.out.inner.gap(stream, direction, missing, frame);
            return;
        };
        match &mut connection.mode {
            Mode::Undecided => {
                // No data has arrived yet, so the gaps of one direction
                // follow each other: widen the last one rather than drop
                // any (a dropped gap left the layer above with a hole).
                let full = connection.pending_gaps.len() >= MAX_PENDING_GAPS;
                let last = connection
                    .pending_gaps
                    .iter_mut()
                    .rev()
                    .find(|(d, _, _)| *d == direction);
                match last {
                    Some((_, range, last_frame)) if range.end == missing.start || full => {
                        range.end = range.end.max(missing.end);
                        *last_frame = frame;
                    }
                    _ => connection.pending_gaps.push((direction, missing, frame)),
                }
            }
            Mode::Plain => {
                self.out.open(connection);
                self.out.flush();
                self.out.inner.gap(stream, direction, missing, frame);
            }
            Mode::Tls(_) => {
                let mut scratch = std::mem::take(&mut self.scratch);
                let mut ctx = Ctx {
                    keylog: &self.keylog,
                    out: &mut self.out,
                    scratch: &mut scratch,
                };
                ctx.gap(connection, direction, missing, frame);
                self.scratch = scratch;
            }
        }
        self.out.flush();
    }

    fn connection_closed(&mut self, stream: u64) {
        let Some(mut connection) = self.connections.remove(&stream) else {
            self.out.flush();
            self.out.inner.connection_closed(stream);
            return;
        };
        if let Mode::Tls(session) = &mut connection.mode {
            let mut scratch = std::mem::take(&mut self.scratch);
            let mut ctx = Ctx {
                keylog: &self.keylog,
                out: &mut self.out,
                scratch: &mut scratch,
            };
            ctx.close(&connection.info, session);
            self.scratch = scratch;
        }
        self.out.open(&mut connection);
        if matches!(connection.mode, Mode::Undecided | Mode::Plain) {
            for (direction, missing, frame) in connection.pending_gaps.drain(..) {
                self.out.inner.gap(stream, direction, missing, frame);
            }
        }
        self.out.flush();
        self.out.inner.connection_closed(stream);
    }

    fn datagram(&mut self, datagram: Datagram<'_>) {
        self.out.flush();
        self.quic.datagram(
            &datagram,
            &self.keylog,
            &mut self.out.inner,
            &self.out.origin,
        );
        self.out.inner.datagram(datagram);
    }

    fn secrets(&mut self, keylog: &[u8]) {
        let (more, problems) = KeyLog::parse(keylog);
        self.keylog.merge(more);
        if let Some(first) = problems.first() {
            let listed: Vec<String> = problems
                .iter()
                .take(5)
                .map(|p| format!("line {} {}: {}", p.line, p.code, p.message))
                .collect();
            let message = format!(
                "{} unusable line(s) in the key log embedded in the capture (first at line {}): {}",
                problems.len(),
                first.line,
                listed.join("; ")
            );
            self.out.diagnostic(Diagnostic::warning(
                "tls.keylog-invalid",
                message,
                self.out.origin.clone(),
            ));
        }
    }

    fn contact(&mut self, contact: &Contact) {
        self.out.flush();
        self.out.inner.contact(contact);
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.out.diagnostic(diagnostic);
    }
}

/// Decides from the first bytes whether a connection carries TLS.
fn decide<S: StreamSink>(connection: &mut Connection, chunk: &Chunk<'_>, out: &mut Output<S>) {
    let tls = match chunk.direction {
        Direction::ToServer => looks_like_client_hello(chunk.data) || looks_like_record(chunk.data),
        Direction::ToClient => looks_like_record(chunk.data),
    };
    if !tls {
        connection.mode = Mode::Plain;
        out.open(connection);
        for (direction, missing, frame) in connection.pending_gaps.drain(..) {
            out.flush();
            out.inner
                .gap(connection.info.stream, direction, missing, frame);
        }
        return;
    }
    let mut session = Box::<Session>::default();
    let mid_stream = chunk.direction == Direction::ToClient || !looks_like_client_hello(chunk.data);
    let gaps = std::mem::take(&mut connection.pending_gaps);
    if mid_stream || gaps.iter().any(|(d, _, _)| *d == Direction::ToServer) {
        // Without the ClientHello there is no client random to look keys up by.
        session.to_server.stopped = true;
        session.to_client.stopped = true;
        session.no_key_reported = true;
        out.open(connection);
        let message = format!(
            "TCP stream {} carries TLS but its handshake was not captured (the capture starts mid-connection \
             or the ClientHello is missing); it cannot be decrypted",
            connection.info.stream
        );
        let origin = out.origin(connection.info.stream, chunk.frames, 0);
        out.diagnostic(Diagnostic::warning("tls.no-handshake", message, origin));
    } else {
        for (direction, _, _) in &gaps {
            session.flow(*direction).stopped = true;
        }
    }
    connection.mode = Mode::Tls(session);
}

struct Ctx<'a, S> {
    keylog: &'a KeyLog,
    out: &'a mut Output<S>,
    scratch: &'a mut Buffers,
}

/// Work buffers reused for every record, so that decrypting a record
/// allocates nothing.
#[derive(Default)]
struct Buffers {
    /// The record being opened in place.
    record: Vec<u8>,
    /// Its plaintext after DEFLATE decompression, when compression is on.
    inflated: Vec<u8>,
}

/// A complete record, header included: borrowed from the chunk being
/// read (copied before it is opened), or reassembled from several chunks
/// in a buffer of our own (opened where it lies).
enum RecordBytes<'r> {
    Shared(&'r [u8]),
    Owned(&'r mut [u8]),
}

/// A record header: `(type, version, length)`.
fn header_of(bytes: &[u8]) -> Option<[u8; 5]> {
    bytes.get(..5)?.try_into().ok()
}

fn record_len(header: &[u8; 5]) -> usize {
    usize::from(u16::from_be_bytes([header[3], header[4]]))
}

fn valid_header(header: &[u8; 5]) -> bool {
    matches!(header[0], 20..=24) && header[1] == 3 && record_len(header) <= MAX_RECORD
}

fn add_frames(into: &mut Vec<u64>, frames: &[u64]) {
    for f in frames {
        if !into.contains(f) {
            into.push(*f);
        }
    }
}

impl<S: StreamSink> Ctx<'_, S> {
    fn records(&mut self, connection: &mut Connection, chunk: &Chunk<'_>) {
        let Mode::Tls(session) = &mut connection.mode else {
            return;
        };
        let direction = chunk.direction;
        let mut rest = chunk.data;
        let mut frames_buf: Vec<u64> = Vec::new();
        while !rest.is_empty() {
            let flow = session.flow(direction);
            if flow.stopped {
                return;
            }
            if !flow.buf.is_empty() {
                // Complete the record carried over from earlier chunks.
                let want = match header_of(&flow.buf) {
                    None => 5 - flow.buf.len(),
                    Some(h) => (5 + record_len(&h)).saturating_sub(flow.buf.len()),
                };
                let (head, tail) = rest.split_at(want.min(rest.len()));
                flow.buf.extend_from_slice(head);
                add_frames(&mut flow.buf_frames, chunk.frames);
                rest = tail;
                let Some(header) = header_of(&flow.buf) else {
                    continue;
                };
                if !valid_header(&header) {
                    let frames = std::mem::take(&mut flow.buf_frames);
                    self.invalid_record(
                        connection.info.stream,
                        session,
                        direction,
                        &header,
                        &frames,
                    );
                    return;
                }
                if flow.buf.len() < 5 + record_len(&header) {
                    continue;
                }
                let mut record = std::mem::take(&mut flow.buf);
                frames_buf.clear();
                frames_buf.append(&mut flow.buf_frames);
                self.record(
                    &connection.info,
                    &mut connection.opened,
                    session,
                    direction,
                    RecordBytes::Owned(&mut record),
                    &frames_buf,
                    chunk.time,
                );
                let flow = session.flow(direction);
                if flow.buf.is_empty() {
                    // Keep the allocation for the next split record.
                    flow.buf = record;
                    flow.buf.clear();
                }
                continue;
            }
            let Some(header) = header_of(rest) else {
                flow.buf.extend_from_slice(rest);
                add_frames(&mut flow.buf_frames, chunk.frames);
                return;
            };
            if !valid_header(&header) {
                self.invalid_record(
                    connection.info.stream,
                    session,
                    direction,
                    &header,
                    chunk.frames,
                );
                return;
            }
            let total = 5 + record_len(&header);
            if rest.len() < total {
                flow.buf.extend_from_slice(rest);
                add_frames(&mut flow.buf_frames, chunk.frames);
                return;
            }
            let (record, tail) = rest.split_at(total);
            rest = tail;
            self.record(
                &connection.info,
                &mut connection.opened,
                session,
                direction,
                RecordBytes::Shared(record),
                chunk.frames,
                chunk.time,
            );
        }
    }

    fn invalid_record(
        &mut self,
        stream: u64,
        session: &mut Session,
        direction: Direction,
        header: &[u8; 5],
        frames: &[u64],
    ) {
        let flow = session.flow(direction);
        flow.stopped = true;
        flow.buf.clear();
        let message = format!(
            "TCP stream {stream} {}: bytes {} are not a TLS record header; the rest of this direction is not decrypted",
            direction_name(direction),
            hex(header)
        );
        let origin = self.out.origin(stream, frames, session.version);
        self.out
            .diagnostic(Diagnostic::error("tls.record-invalid", message, origin));
    }

    /// Handles one complete record (header included).
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        info: &ConnectionInfo,
        opened: &mut bool,
        session: &mut Session,
        direction: Direction,
        record: RecordBytes<'_>,
        frames: &[u64],
        time: Timestamp,
    ) {
        let whole: &[u8] = match &record {
            RecordBytes::Shared(bytes) => bytes,
            RecordBytes::Owned(bytes) => bytes,
        };
        let Some(header) = header_of(whole) else {
            return;
        };
        let payload = whole.get(5..).unwrap_or_default();
        let payload_len = payload.len();
        let content_type = header[0];
        let tls13 = session.version == 0x0304;
        let flow = session.flow(direction);
        if flow.phase == Phase::Clear || content_type == 20 && tls13 {
            self.clear_record(
                info,
                opened,
                session,
                direction,
                content_type,
                payload,
                frames,
                time,
            );
            return;
        }
        if content_type == 20 {
            // A second ChangeCipherSpec (renegotiation): switch again.
            if let Some(next) = flow.next.take() {
                flow.protection = Some(next);
            }
            return;
        }
        // Open the record in place: in the buffer it was reassembled in, or
        // in the scratch buffer when it lies in the caller's chunk.
        let scratch: &mut [u8] = match record {
            RecordBytes::Owned(bytes) => bytes.get_mut(5..).unwrap_or_default(),
            RecordBytes::Shared(bytes) => {
                let scratch = &mut self.scratch.record;
                scratch.clear();
                scratch.extend_from_slice(bytes.get(5..).unwrap_or_default());
                scratch.as_mut_slice()
            }
        };
        let result = match flow.protection.as_mut() {
            Some(protection) => protection.open(header, scratch).map_err(Some),
            None => Err(None),
        };
        let opened_record = match result {
            Ok(o) => o,
            Err(_) if flow.phase == Phase::Handshake13 => {
                // TLS 1.3: maybe the application keys are already in use
                // (a Finished we could not read, or no handshake secrets).
                // A failed open leaves the buffer untouched.
                let candidate = flow
                    .next
                    .clone()
                    .and_then(|mut next| next.open(header, scratch).ok().map(|o| (next, o)));
                match candidate {
                    Some((next, o)) => {
                        flow.protection = Some(next);
                        flow.secret = flow.app_secret.take();
                        flow.next = None;
                        flow.phase = Phase::Protected;
                        o
                    }
                    None => {
                        self.handshake_failure(
                            info,
                            opened,
                            session,
                            direction,
                            frames,
                            payload_len,
                        );
                        return;
                    }
                }
            }
            Err(Some(error)) => {
                if let Some(p) = flow.protection.as_mut() {
                    p.seq = p.seq.wrapping_add(1);
                }
                self.failed(
                    info,
                    opened,
                    session,
                    direction,
                    frames,
                    payload_len,
                    content_type,
                    error,
                );
                return;
            }
            Err(None) => {
                // No keys for this direction (already reported).
                flow.stopped = true;
                return;
            }
        };
        let flow = session.flow(direction);
        flow.consecutive_failures = 0;
        let mut plain = scratch
            .get(opened_record.start..opened_record.end)
            .unwrap_or_default();
        if let Some(inflate) = flow.inflate.as_mut() {
            if inflate_record(inflate, plain, &mut self.scratch.inflated).is_err() {
                flow.stopped = true;
                let message = format!(
                    "TCP stream {} {}: a TLS-compressed (DEFLATE) record could not be decompressed; \
                     the rest of this direction is not read",
                    info.stream,
                    direction_name(direction)
                );
                let origin = self.out.origin(info.stream, frames, session.version);
                self.out
                    .diagnostic(Diagnostic::error("tls.decompress-failed", message, origin));
                return;
            }
            plain = &self.scratch.inflated;
        }
        session.decrypted_any = true;
        match opened_record.content_type {
            23 => {
                self.out.open_with(info, opened, session);
                let flow = session.flow(direction);
                let offset = flow.plain_offset;
                flow.plain_offset += plain.len() as u64;
                self.out
                    .plaintext(info.stream, direction, offset, plain, frames, time);
            }
            22 => {
                let plain = plain.to_vec();
                self.handshake_bytes(info, opened, session, direction, &plain, frames, time);
            }
            _ => {}
        }
    }

    /// A record before encryption starts (or a TLS 1.3 ChangeCipherSpec).
    #[allow(clippy::too_many_arguments)]
    fn clear_record(
        &mut self,
        info: &ConnectionInfo,
        opened: &mut bool,
        session: &mut Session,
        direction: Direction,
        content_type: u8,
        payload: &[u8],
        frames: &[u64],
        time: Timestamp,
    ) {
        match content_type {
            22 => self.handshake_bytes(info, opened, session, direction, payload, frames, time),
            20 if session.server_hello.is_some() && session.version != 0x0304 => {
                let flow = session.flow(direction);
                flow.phase = Phase::Protected;
                flow.protection = flow.next.take();
            }
            _ => {}
        }
    }

    /// Feeds handshake-protocol bytes and acts on each complete message.
    #[allow(clippy::too_many_arguments)]
    fn handshake_bytes(
        &mut self,
        info: &ConnectionInfo,
        opened: &mut bool,
        session: &mut Session,
        direction: Direction,
        bytes: &[u8],
        frames: &[u64],
        time: Timestamp,
    ) {
        let flow = session.flow(direction);
        if flow.handshake_broken {
            return;
        }
        flow.handshake.extend_from_slice(bytes);
        loop {
            let flow = session.flow(direction);
            let Some(&[kind, a, b, c]) = flow.handshake.get(..4) else {
                return;
            };
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if len > MAX_HANDSHAKE_MESSAGE {
                flow.handshake_broken = true;
                flow.handshake = Vec::new();
                let message = format!(
                    "TCP stream {} {}: handshake message of {len} bytes exceeds the {MAX_HANDSHAKE_MESSAGE}-byte limit; \
                     later handshake messages of this direction are not read",
                    info.stream,
                    direction_name(direction)
                );
                let origin = self.out.origin(info.stream, frames, session.version);
                self.out.diagnostic(Diagnostic::warning(
                    "tls.handshake-invalid",
                    message,
                    origin,
                ));
                return;
            }
            if flow.handshake.len() < 4 + len {
                return;
            }
            let message: Vec<u8> = flow.handshake.drain(..4 + len).collect();
            let body = message.get(4..).unwrap_or_default();
            self.handshake_message(info, opened, session, direction, kind, body, frames, time);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handshake_message(
        &mut self,
        info: &ConnectionInfo,
        opened: &mut bool,
        session: &mut Session,
        direction: Direction,
        kind: u8,
        body: &[u8],
        frames: &[u64],
        time: Timestamp,
    ) {
        match (direction, kind) {
            (Direction::ToServer, 1) => match parse_client_hello(body) {
                Some(hello) => {
                    if session.client_hello.is_none() {
                        session.hello_frames = frames.to_vec();
                        session.hello_time = Some(time);
                    }
                    session.client_hello = Some(hello);
                }
                None => {
                    let message = format!(
                        "TCP stream {}: the ClientHello could not be parsed",
                        info.stream
                    );
                    let origin = self.out.origin(info.stream, frames, 0);
                    self.out.diagnostic(Diagnostic::warning(
                        "tls.handshake-invalid",
                        message,
                        origin,
                    ));
                }
            },
            (Direction::ToClient, 2) => match parse_server_hello(body) {
                Some(hello) if hello.retry_request => {}
                Some(hello) => self.server_hello(info, opened, session, hello, frames),
                None => {
                    let message = format!(
                        "TCP stream {}: the ServerHello could not be parsed",
                        info.stream
                    );
                    let origin = self.out.origin(info.stream, frames, 0);
                    self.out.diagnostic(Diagnostic::warning(
                        "tls.handshake-invalid",
                        message,
                        origin,
                    ));
                }
            },
            (Direction::ToClient, 8) => {
                if let Some(alpn) = parse_encrypted_extensions(body)
                    && let Some(hello) = session.server_hello.as_mut()
                {
                    hello.alpn = Some(alpn);
                }
                self.out.open_with(info, opened, session);
            }
            (_, 20) if session.version == 0x0304 => {
                // Finished ends the handshake keys of this direction.
                let flow = session.flow(direction);
                if flow.phase == Phase::Handshake13 {
                    flow.phase = Phase::Protected;
                    flow.protection = flow.next.take();
                    flow.secret = flow.app_secret.take();
                }
            }
            (_, 24) if session.version == 0x0304 => {
                self.key_update(info, session, direction, frames)
            }
            _ => {}
        }
    }

    fn key_update(
        &mut self,
        info: &ConnectionInfo,
        session: &mut Session,
        direction: Direction,
        frames: &[u64],
    ) {
        let Some(suite) = session.suite else { return };
        let flow = session.flow(direction);
        let Some(secret) = flow.secret.as_ref() else {
            return;
        };
        let mut next = vec![0u8; suite.hash.output_len()];
        let protection = hkdf_expand_label(suite.hash, secret, "traffic upd", &[], &mut next)
            .and_then(|()| RecordProtection::tls13(suite, &next));
        match protection {
            Some(p) => {
                flow.protection = Some(p);
                flow.secret = Some(next);
            }
            None => {
                flow.stopped = true;
                let message = format!("TCP stream {}: KeyUpdate could not be applied", info.stream);
                let origin = self.out.origin(info.stream, frames, session.version);
                self.out
                    .diagnostic(Diagnostic::error("tls.decrypt-failed", message, origin));
            }
        }
    }

    fn server_hello(
        &mut self,
        info: &ConnectionInfo,
        opened: &mut bool,
        session: &mut Session,
        hello: ServerHello,
        frames: &[u64],
    ) {
        let stream = info.stream;
        session.version = hello.version;
        session.suite = find_suite(hello.cipher_suite);
        let client_random = session.client_hello.as_ref().map(|c| c.random);
        let suite_id = hello.cipher_suite;
        let version = hello.version;
        session.server_hello = Some(hello);
        let Some(client_random) = client_random else {
            self.cannot_decrypt(
                info,
                session,
                "tls.no-handshake",
                "the ClientHello was not seen".into(),
                frames,
            );
            return;
        };
        if !(0x0301..=0x0304).contains(&version) {
            let why = format!(
                "protocol version {} is not supported",
                version_name(version)
            );
            self.cannot_decrypt(info, session, "tls.unsupported-version", why, frames);
            return;
        }
        let Some(suite) = session.suite else {
            let why = format!("cipher suite 0x{suite_id:04x} is not supported");
            self.cannot_decrypt(info, session, "tls.unsupported-cipher", why, frames);
            return;
        };
        let compression = session.server_hello.as_ref().map_or(0, |h| h.compression);
        match compression {
            0 => {}
            1 if version < 0x0304 => {
                session.to_server.inflate = Some(flate2::Decompress::new(true));
                session.to_client.inflate = Some(flate2::Decompress::new(true));
            }
            other => {
                let why = format!("compression method {other} is not supported");
                self.cannot_decrypt(info, session, "tls.unsupported-compression", why, frames);
                return;
            }
        }
        let secrets = self.keylog.session(&client_random);
        if version == 0x0304 {
            let secrets = secrets.cloned().unwrap_or_default();
            let hs =
                |s: &Option<Vec<u8>>| s.as_ref().and_then(|s| RecordProtection::tls13(suite, s));
            let usable = [
                &secrets.client_handshake,
                &secrets.server_handshake,
                &secrets.client_traffic,
                &secrets.server_traffic,
            ]
            .iter()
            .any(|s| s.is_some());
            if !usable {
                self.no_key(info, session, &client_random, frames);
                return;
            }
            session.to_server.protection = hs(&secrets.client_handshake);
            session.to_server.next = hs(&secrets.client_traffic);
            session.to_client.protection = hs(&secrets.server_handshake);
            session.to_client.next = hs(&secrets.server_traffic);
            session.to_server.phase = Phase::Handshake13;
            session.to_client.phase = Phase::Handshake13;
            session.to_server.app_secret = secrets.client_traffic.clone();
            session.to_client.app_secret = secrets.server_traffic.clone();
            if secrets.server_handshake.is_none() && !*opened {
                // The ALPN in EncryptedExtensions will stay unreadable.
                self.out.open_with(info, opened, session);
            }
            return;
        }
        let Some(server) = session.server_hello.as_ref() else {
            return;
        };
        let master = secrets.and_then(|s| s.master.as_deref()).or_else(|| {
            if server.session_id.is_empty() {
                None
            } else {
                self.keylog.master_by_session_id(&server.session_id)
            }
        });
        let Some(master) = master else {
            if let Some(null) = RecordProtection::null_unverified(suite) {
                session.to_server.next = Some(null.clone());
                session.to_client.next = Some(null);
                let message = format!(
                    "TCP stream {stream}: NULL cipher suite 0x{suite_id:04x} carries plaintext; read without keys, \
                     so record MACs were not verified"
                );
                let origin = self.out.origin(stream, frames, version);
                self.out
                    .diagnostic(Diagnostic::info("tls.null-cipher", message, origin));
                self.out.open_with(info, opened, session);
                return;
            }
            self.no_key(info, session, &client_random, frames);
            return;
        };
        match RecordProtection::tls12_pair(
            suite,
            version,
            master,
            &client_random,
            &server.random,
            server.encrypt_then_mac,
        ) {
            Some((client, server)) => {
                session.to_server.next = Some(client);
                session.to_client.next = Some(server);
            }
            None => {
                let message = format!(
                    "TCP stream {stream}: keys could not be derived from the logged master secret"
                );
                let origin = self.out.origin(stream, frames, version);
                self.out
                    .diagnostic(Diagnostic::error("tls.decrypt-failed", message, origin));
            }
        }
        self.out.open_with(info, opened, session);
    }

    /// The connection will not be decrypted: say why, once, and record the
    /// contact.
    fn cannot_decrypt(
        &mut self,
        info: &ConnectionInfo,
        session: &mut Session,
        code: &str,
        why: String,
        frames: &[u64],
    ) {
        session.to_server.stopped = true;
        session.to_client.stopped = true;
        if !session.no_key_reported {
            session.no_key_reported = true;
            let message = format!(
                "TCP stream {}: {why}; the connection is not decrypted",
                info.stream
            );
            let origin = self.out.origin(info.stream, frames, session.version);
            self.out
                .diagnostic(Diagnostic::warning(code, message, origin));
        }
        self.send_contact(info, session);
    }

    fn no_key(
        &mut self,
        info: &ConnectionInfo,
        session: &mut Session,
        client_random: &[u8; 32],
        frames: &[u64],
    ) {
        let wanted = if session.version == 0x0304 {
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0 and SERVER_TRAFFIC_SECRET_0 lines"
        } else {
            "a CLIENT_RANDOM line"
        };
        let host = session
            .client_hello
            .as_ref()
            .and_then(|c| c.server_name.clone());
        let why = format!(
            "no key for this TLS {} session{} (client random {}); the key log needs {wanted} for it",
            version_name(session.version),
            host.map(|h| format!(" to {h}")).unwrap_or_default(),
            hex(client_random)
        );
        self.cannot_decrypt(info, session, "tls.no-key", why, frames);
    }

    fn send_contact(&mut self, info: &ConnectionInfo, session: &mut Session) {
        if session.contact_sent {
            return;
        }
        let Some(host) = session
            .client_hello
            .as_ref()
            .and_then(|c| c.server_name.clone())
        else {
            return;
        };
        let Some(time) = session.hello_time else {
            return;
        };
        session.contact_sent = true;
        let contact = Contact {
            host,
            via: "tls-sni",
            stream: Some(info.stream),
            frames: session.hello_frames.clone(),
            time,
            server: Some(info.server),
        };
        self.out.flush();
        self.out.inner.contact(&contact);
    }

    /// A TLS 1.3 handshake-phase record opened with neither key.
    #[allow(clippy::too_many_arguments)]
    fn handshake_failure(
        &mut self,
        info: &ConnectionInfo,
        opened: &mut bool,
        session: &mut Session,
        direction: Direction,
        frames: &[u64],
        len: usize,
    ) {
        let early_data = direction == Direction::ToServer
            && session
                .client_hello
                .as_ref()
                .is_some_and(|c| c.offers_early_data);
        let flow = session.flow(direction);
        let expected = flow.protection.is_none() || early_data;
        if expected && flow.tolerated_failures < TOLERATED_HANDSHAKE_FAILURES {
            // 0-RTT records do not take handshake sequence numbers, and
            // without handshake keys there is nothing to advance.
            flow.tolerated_failures += 1;
            return;
        }
        if let Some(p) = flow.protection.as_mut() {
            p.seq = p.seq.wrapping_add(1);
        }
        self.failed(
            info,
            opened,
            session,
            direction,
            frames,
            len,
            23,
            OpenError::Authentication,
        );
    }

    /// A record failed to open: report once per direction, stand in a gap
    /// for its plaintext, and give up after several failures in a row.
    /// `content_type` is the outer record type: application data (always,
    /// in TLS 1.3) may have been lost, a TLS 1.2 handshake record not.
    #[allow(clippy::too_many_arguments)]
    fn failed(
        &mut self,
        info: &ConnectionInfo,
        opened: &mut bool,
        session: &mut Session,
        direction: Direction,
        frames: &[u64],
        len: usize,
        content_type: u8,
        error: OpenError,
    ) {
        let version = session.version;
        // Before anything of the connection was decrypted its plaintext
        // streams have not started (and the connection is not announced):
        // a lost record then has only the diagnostic, and the first
        // plaintext starts at offset 0, like a capture that began late.
        // Advancing the offset without a gap left the layer above with a
        // hole (found by the `tls` fuzz target).
        // An empty record loses nothing (and an empty gap is no gap).
        let lost_data = content_type == 23 && session.decrypted_any && len > 0;
        let flow = session.flow(direction);
        flow.consecutive_failures += 1;
        let give_up = flow.consecutive_failures >= MAX_CONSECUTIVE_FAILURES;
        if give_up {
            flow.stopped = true;
        }
        let start = flow.plain_offset;
        if lost_data {
            flow.plain_offset += len as u64;
        }
        let report = !flow.failure_reported;
        flow.failure_reported = true;
        if report {
            let what = match error {
                OpenError::Authentication => {
                    "failed authentication (wrong key, or corrupted bytes)"
                }
                OpenError::Malformed => "is malformed for its cipher",
            };
            let message = format!(
                "TCP stream {} {}: a TLS record {what}; its plaintext is missing{}",
                info.stream,
                direction_name(direction),
                if give_up {
                    ""
                } else {
                    ", later records are still tried"
                }
            );
            let origin = self.out.origin(info.stream, frames, version);
            self.out
                .diagnostic(Diagnostic::error("tls.decrypt-failed", message, origin));
        }
        if give_up && !report {
            let message = format!(
                "TCP stream {} {}: {MAX_CONSECUTIVE_FAILURES} TLS records in a row failed to decrypt; the rest of this direction is skipped",
                info.stream,
                direction_name(direction)
            );
            let origin = self.out.origin(info.stream, frames, version);
            self.out
                .diagnostic(Diagnostic::error("tls.decrypt-failed", message, origin));
        }
        if lost_data {
            let frame = frames.first().copied().unwrap_or(0);
            self.out.open_with(info, opened, session);
            self.out.flush();
            self.out
                .inner
                .gap(info.stream, direction, start..start + len as u64, frame);
        }
    }

    fn gap(
        &mut self,
        connection: &mut Connection,
        direction: Direction,
        missing: Range<u64>,
        frame: u64,
    ) {
        let stream = connection.info.stream;
        let Mode::Tls(session) = &mut connection.mode else {
            return;
        };
        let version = session.version;
        let decrypting = session.decrypted_any;
        let flow = session.flow(direction);
        if flow.stopped {
            return;
        }
        flow.stopped = true;
        flow.buf.clear();
        let start = flow.plain_offset;
        let message = format!(
            "TCP stream {stream} {}: {} bytes of TLS records were not captured; record boundaries are lost, \
             so the rest of this direction is not decrypted",
            direction_name(direction),
            missing.end.saturating_sub(missing.start)
        );
        let origin = self.out.origin(stream, &[frame], version);
        self.out
            .diagnostic(Diagnostic::warning("tls.gap", message, origin));
        if decrypting {
            self.out.open(connection);
            self.out.inner.gap(
                stream,
                direction,
                start..start.saturating_add(missing.end.saturating_sub(missing.start)),
                frame,
            );
        }
    }

    fn close(&mut self, info: &ConnectionInfo, session: &mut Session) {
        for direction in [Direction::ToServer, Direction::ToClient] {
            let version = session.version;
            let flow = session.flow(direction);
            if flow.stopped || flow.buf.is_empty() {
                continue;
            }
            let message = format!(
                "TCP stream {} {}: the connection ended inside a TLS record ({} bytes of it captured)",
                info.stream,
                direction_name(direction),
                flow.buf.len()
            );
            let frames = std::mem::take(&mut flow.buf_frames);
            flow.buf.clear();
            let origin = self.out.origin(info.stream, &frames, version);
            self.out
                .diagnostic(Diagnostic::warning("tls.truncated-record", message, origin));
        }
        if !session.decrypted_any {
            self.send_contact(info, session);
        }
    }
}

impl<S: StreamSink> Output<S> {
    /// Forwards `connection_opened` with what the handshake revealed.
    fn open_with(&mut self, info: &ConnectionInfo, opened: &mut bool, session: &Session) {
        if *opened {
            return;
        }
        *opened = true;
        let mut info = info.clone();
        fill_info(&mut info, session);
        self.flush();
        self.inner.connection_opened(&info);
    }
}

/// Decompresses one record's plaintext; TLS DEFLATE ends every record
/// with a sync flush, so each record inflates completely. At most 2^14
/// bytes may come out of a record (RFC 5246 §6.2.2); a little more is
/// allowed before giving up.
fn inflate_record(
    inflate: &mut flate2::Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), ()> {
    const LIMIT: usize = 4 * 16384;
    out.clear();
    let mut consumed = 0usize;
    loop {
        if out.capacity() - out.len() < 4096 {
            if out.len() >= LIMIT {
                return Err(());
            }
            out.reserve(16384);
        }
        let before = inflate.total_in();
        let rest = input.get(consumed..).unwrap_or_default();
        let status = inflate
            .decompress_vec(rest, out, flate2::FlushDecompress::Sync)
            .map_err(|_| ())?;
        let used = usize::try_from(inflate.total_in() - before).map_err(|_| ())?;
        consumed += used;
        let spare = out.capacity() > out.len();
        if status == flate2::Status::StreamEnd || (consumed >= input.len() && spare) {
            return Ok(());
        }
        if used == 0 && spare {
            return Err(());
        }
    }
}

fn fill_info(info: &mut ConnectionInfo, session: &Session) {
    if session.version != 0 {
        info.tls = Some(version_name(session.version));
    }
    info.alpn = session.server_hello.as_ref().and_then(|s| s.alpn.clone());
    info.server_name = session
        .client_hello
        .as_ref()
        .and_then(|c| c.server_name.clone());
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::ToServer => "client to server",
        Direction::ToClient => "server to client",
    }
}
