//! HTTP/3 (RFC 9114): messages on the QUIC streams of one connection.
//!
//! [`H3Connection`] receives each stream's bytes in order (the TLS layer
//! decrypted and reassembled them). A client-initiated bidirectional
//! stream carries one request (HEADERS, DATA..., optional trailing
//! HEADERS) and, in the other direction, its response. Unidirectional
//! streams start with their type: the control stream (SETTINGS, which
//! give each side's QPACK table capacity), the QPACK encoder stream (fed
//! to the decoder of that side's header blocks) and the decoder stream,
//! push streams and reserved types (skipped). A header block that refers
//! to table entries whose insertion has not been read yet waits, with the
//! rest of its stream, until the encoder stream catches up; one that never
//! can be decoded is reported (`qpack.blocked`, `qpack.decode-failed`) and
//! its message kept without fields.

use crate::message::{Assembly, Context, Emitted, Finished, Start, header, to_header};
use crate::qpack::{Decoded, QpackDecoder};
use pixelscope_capture::{Direction, QuicChunk};
use pixelscope_model::{Header, Severity, Timestamp};
use std::collections::BTreeMap;

const VERSION: &str = "HTTP/3";
/// Header blocks that may wait for the encoder stream at once.
const MAX_BLOCKED: usize = 256;

/// HTTP/3 frame types this reader acts on.
const DATA: u64 = 0x00;
const HEADERS: u64 = 0x01;
const SETTINGS: u64 = 0x04;
/// SETTINGS identifiers.
const QPACK_MAX_TABLE_CAPACITY: u64 = 0x01;

/// A QUIC variable-length integer at the start of `buf`, with its length.
pub(crate) fn varint(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let len = 1usize << (first >> 6);
    let bytes = buf.get(..len)?;
    let value = bytes
        .iter()
        .skip(1)
        .fold(u64::from(first & 0x3f), |v, b| (v << 8) | u64::from(*b));
    Some((value, len))
}

/// A frame header (type and payload length) at the start of `buf`, with
/// the header's length.
pub(crate) fn frame_header(buf: &[u8]) -> Option<(u64, u64, usize)> {
    let (kind, a) = varint(buf)?;
    let (len, b) = varint(buf.get(a..)?)?;
    Some((kind, len, a + b))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A request stream (client-initiated bidirectional).
    Request,
    /// A unidirectional stream whose type is not read yet.
    Untyped,
    Control,
    Encoder,
    /// Decoder, push, reserved and unknown streams: nothing to read.
    Ignored,
}

/// A header block waiting for encoder stream instructions.
#[derive(Debug)]
struct BlockedBlock {
    block: Vec<u8>,
    time: Timestamp,
}

/// One direction of one stream.
#[derive(Debug)]
struct StreamSide {
    kind: Kind,
    buf: Vec<u8>,
    /// Capture frames that carried this direction of the stream.
    frames: Vec<u64>,
    time: Timestamp,
    /// Payload bytes of the DATA frame being read that are still to come.
    data_left: u64,
    /// Bytes of a skipped frame still to come.
    skip_left: u64,
    blocked: Option<BlockedBlock>,
    fin: bool,
    finished: bool,
}

#[derive(Debug, Default)]
enum Part {
    #[default]
    Absent,
    Open(Assembly),
    Done(Finished),
}

#[derive(Debug, Default)]
struct Pair {
    request: Part,
    response: Part,
}

/// The HTTP/3 state of one QUIC connection.
#[derive(Debug)]
pub(crate) struct H3Connection {
    sides: BTreeMap<(u64, Direction), StreamSide>,
    pairs: BTreeMap<u64, Pair>,
    /// Decoders of the client's (`[0]`) and the server's (`[1]`) header
    /// blocks.
    qpack: [QpackDecoder; 2],
    encoder_reported: [bool; 2],
    too_many_reported: bool,
}

fn index(direction: Direction) -> usize {
    match direction {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

fn side_name(direction: Direction) -> &'static str {
    match direction {
        Direction::ToServer => "client",
        Direction::ToClient => "server",
    }
}

/// The connection's context with the QUIC stream id filled in.
fn stream_ctx(ctx: &Context, id: u64) -> Context {
    let mut ctx = ctx.clone();
    ctx.origin.quic_stream = Some(id);
    ctx
}

impl H3Connection {
    pub(crate) fn new(ctx: &Context) -> H3Connection {
        let limit = ctx.limits.max_hpack_table_size;
        H3Connection {
            sides: BTreeMap::new(),
            pairs: BTreeMap::new(),
            qpack: [QpackDecoder::new(limit), QpackDecoder::new(limit)],
            encoder_reported: [false; 2],
            too_many_reported: false,
        }
    }

    /// The next in-order bytes of one stream direction.
    pub(crate) fn data(&mut self, ctx: &Context, out: &mut Vec<Emitted>, chunk: &QuicChunk<'_>) {
        let key = (chunk.stream_id, chunk.direction);
        if !self.sides.contains_key(&key) {
            if self.sides.len() >= ctx.limits.max_h2_streams {
                if !self.too_many_reported {
                    self.too_many_reported = true;
                    ctx.diagnostic(
                        out,
                        Severity::Warning,
                        "h3.too-many-streams",
                        format!(
                            "more than {} HTTP/3 streams open at once; later streams are not read",
                            ctx.limits.max_h2_streams
                        ),
                        chunk.frames,
                        None,
                    );
                }
                return;
            }
            let kind = match chunk.stream_id % 4 {
                0 => Kind::Request,
                2 | 3 => Kind::Untyped,
                _ => Kind::Ignored,
            };
            self.sides.insert(
                key,
                StreamSide {
                    kind,
                    buf: Vec::new(),
                    frames: Vec::new(),
                    time: chunk.time,
                    data_left: 0,
                    skip_left: 0,
                    blocked: None,
                    fin: false,
                    finished: false,
                },
            );
        }
        let Some(side) = self.sides.get_mut(&key) else {
            return;
        };
        for frame in chunk.frames {
            if !side.frames.contains(frame) {
                side.frames.push(*frame);
            }
        }
        if side.kind != Kind::Ignored {
            side.buf.extend_from_slice(chunk.data);
        }
        side.fin |= chunk.fin;
        self.run(ctx, out, key);
    }

    fn run(&mut self, ctx: &Context, out: &mut Vec<Emitted>, key: (u64, Direction)) {
        loop {
            let Some(side) = self.sides.get_mut(&key) else {
                return;
            };
            match side.kind {
                Kind::Untyped => {
                    let Some((kind, len)) = varint(&side.buf) else {
                        return;
                    };
                    side.buf.drain(..len);
                    side.kind = match kind {
                        0x00 => Kind::Control,
                        0x02 => Kind::Encoder,
                        _ => Kind::Ignored,
                    };
                }
                Kind::Ignored => {
                    side.buf.clear();
                    return;
                }
                Kind::Encoder => {
                    let bytes = std::mem::take(&mut side.buf);
                    let frames = side.frames.clone();
                    let which = index(key.1);
                    let fed = self.qpack.get_mut(which).map(|q| q.encoder_data(&bytes));
                    if let Some(Err(reason)) = fed
                        && !self.encoder_reported.get(which).copied().unwrap_or(true)
                    {
                        if let Some(flag) = self.encoder_reported.get_mut(which) {
                            *flag = true;
                        }
                        ctx.diagnostic(out, Severity::Error, "qpack.encoder-invalid", format!("the {} QPACK encoder stream holds {reason}; header blocks that need its table are not decoded", side_name(key.1)), &frames, None);
                    }
                    self.retry_blocked(ctx, out, key.1);
                    return;
                }
                Kind::Control => {
                    if let Some(peer) = self.control(key) {
                        self.retry_blocked(ctx, out, peer);
                    }
                    return;
                }
                Kind::Request => {
                    self.request(ctx, out, key);
                    return;
                }
            }
        }
    }

    /// Control stream frames: SETTINGS give the sender's QPACK decoder
    /// capacity, which binds the peer's encoder. Returns the direction
    /// whose header blocks may now decode.
    fn control(&mut self, key: (u64, Direction)) -> Option<Direction> {
        let mut settings = Vec::new();
        if let Some(side) = self.sides.get_mut(&key) {
            loop {
                if side.skip_left > 0 {
                    let n = usize::try_from(side.skip_left)
                        .unwrap_or(usize::MAX)
                        .min(side.buf.len());
                    side.buf.drain(..n);
                    side.skip_left -= n as u64;
                    if side.skip_left > 0 {
                        break;
                    }
                }
                let Some((kind, len, header_len)) = frame_header(&side.buf) else {
                    break;
                };
                if kind != SETTINGS {
                    side.buf.drain(..header_len);
                    side.skip_left = len;
                    continue;
                }
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|l| l.checked_add(header_len));
                let Some(payload) = end.and_then(|end| side.buf.get(header_len..end)) else {
                    if len > 1 << 16 {
                        side.buf.drain(..header_len);
                        side.skip_left = len;
                        continue;
                    }
                    break;
                };
                let mut capacity = 0;
                let mut rest = payload;
                while let Some((id, a)) = varint(rest) {
                    let Some((value, b)) = rest.get(a..).and_then(varint) else {
                        break;
                    };
                    if id == QPACK_MAX_TABLE_CAPACITY {
                        capacity = value;
                    }
                    rest = rest.get(a + b..).unwrap_or_default();
                }
                settings.push(capacity);
                let consumed = header_len + payload.len();
                side.buf.drain(..consumed);
            }
        }
        let &capacity = settings.last()?;
        // The sender decodes what the peer encodes.
        let peer = match key.1 {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        };
        if let Some(q) = self.qpack.get_mut(index(peer)) {
            q.set_max_capacity(capacity);
        }
        Some(peer)
    }

    /// Frames of a request stream (or of its response direction).
    fn request(&mut self, ctx: &Context, out: &mut Vec<Emitted>, key: (u64, Direction)) {
        let (id, direction) = key;
        loop {
            let Some(side) = self.sides.get_mut(&key) else {
                return;
            };
            if side.blocked.is_some() || side.finished {
                return;
            }
            if side.data_left > 0 || side.skip_left > 0 {
                let left = side.data_left.max(side.skip_left);
                let n = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(side.buf.len());
                if n == 0 {
                    break;
                }
                let bytes: Vec<u8> = side.buf.drain(..n).collect();
                if side.data_left > 0 {
                    side.data_left -= n as u64;
                    let time = side.time;
                    self.body(ctx, direction, id, &bytes, time);
                } else {
                    side.skip_left -= n as u64;
                }
                continue;
            }
            let Some((kind, len, header_len)) = frame_header(&side.buf) else {
                break;
            };
            match kind {
                DATA => {
                    side.buf.drain(..header_len);
                    side.data_left = len;
                    let time = side.time;
                    self.body(ctx, direction, id, &[], time);
                }
                HEADERS => {
                    let max = ctx.limits.max_header_block;
                    let too_large = usize::try_from(len).map_or(true, |l| l > max);
                    if too_large {
                        side.buf.drain(..header_len);
                        side.skip_left = len;
                        let frames = side.frames.clone();
                        let sctx = stream_ctx(ctx, id);
                        sctx.diagnostic(
                            out,
                            Severity::Error,
                            "h3.header-block-too-large",
                            format!("header block larger than {max} bytes dropped"),
                            &frames,
                            None,
                        );
                        let time = side.time;
                        self.headers(ctx, out, direction, id, None, time);
                        continue;
                    }
                    let end = header_len + usize::try_from(len).unwrap_or(usize::MAX);
                    let Some(block) = side.buf.get(header_len..end).map(<[u8]>::to_vec) else {
                        break;
                    };
                    side.buf.drain(..end);
                    let time = side.time;
                    self.header_block(ctx, out, key, block, time);
                }
                _ => {
                    // PUSH_PROMISE, reserved and unknown frame types.
                    side.buf.drain(..header_len);
                    side.skip_left = len;
                }
            }
        }
        self.maybe_finish(ctx, out, key);
    }

    /// Decodes a header block now, or parks it until the encoder stream
    /// (or the SETTINGS) it needs has been read.
    fn header_block(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        key: (u64, Direction),
        block: Vec<u8>,
        time: Timestamp,
    ) {
        let (id, direction) = key;
        let Some(decoded) = self
            .qpack
            .get_mut(index(direction))
            .map(|q| q.decode(&block))
        else {
            return;
        };
        match decoded {
            Decoded::Fields(fields) => {
                let headers = fields.iter().map(|(n, v)| to_header(n, v)).collect();
                self.headers(ctx, out, direction, id, Some(headers), time);
            }
            Decoded::Blocked { .. } => {
                let blocked = self.sides.values().filter(|s| s.blocked.is_some()).count();
                if blocked >= MAX_BLOCKED {
                    let frames = self.frames_of(key);
                    stream_ctx(ctx, id).diagnostic(out, Severity::Error, "qpack.blocked", format!("more than {MAX_BLOCKED} header blocks wait for the QPACK encoder stream; this one is not decoded"), &frames, None);
                    self.headers(ctx, out, direction, id, None, time);
                } else if let Some(side) = self.sides.get_mut(&key) {
                    side.blocked = Some(BlockedBlock { block, time });
                }
            }
            Decoded::Invalid(reason) => {
                let frames = self.frames_of(key);
                stream_ctx(ctx, id).diagnostic(
                    out,
                    Severity::Error,
                    "qpack.decode-failed",
                    format!(
                        "a {} header block cannot be decoded: {reason}; its fields are not shown",
                        side_name(direction)
                    ),
                    &frames,
                    None,
                );
                self.headers(ctx, out, direction, id, None, time);
            }
        }
    }

    fn frames_of(&self, key: (u64, Direction)) -> Vec<u64> {
        self.sides
            .get(&key)
            .map(|s| s.frames.clone())
            .unwrap_or_default()
    }

    /// New inserts or SETTINGS for `direction`'s header blocks: decode the
    /// blocks that waited for them, and read on behind them.
    fn retry_blocked(&mut self, ctx: &Context, out: &mut Vec<Emitted>, direction: Direction) {
        let keys: Vec<(u64, Direction)> = self
            .sides
            .iter()
            .filter(|(k, s)| k.1 == direction && s.blocked.is_some())
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            let Some(blocked) = self.sides.get_mut(&key).and_then(|s| s.blocked.take()) else {
                continue;
            };
            let still = matches!(
                self.qpack
                    .get_mut(index(direction))
                    .map(|q| q.decode(&blocked.block)),
                Some(Decoded::Blocked { .. })
            );
            if still {
                if let Some(side) = self.sides.get_mut(&key) {
                    side.blocked = Some(blocked);
                }
                continue;
            }
            self.header_block(ctx, out, key, blocked.block, blocked.time);
            self.request(ctx, out, key);
        }
    }

    fn part(&mut self, direction: Direction, id: u64) -> &mut Part {
        let pair = self.pairs.entry(id).or_default();
        match direction {
            Direction::ToServer => &mut pair.request,
            Direction::ToClient => &mut pair.response,
        }
    }

    fn headers(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        direction: Direction,
        id: u64,
        fields: Option<Vec<Header>>,
        time: Timestamp,
    ) {
        let _ = out;
        if direction == Direction::ToClient
            && let Some(status) = fields
                .as_deref()
                .and_then(|f| header(f, ":status"))
                .and_then(|s| s.trim().parse::<u16>().ok())
            && (100..200).contains(&status)
            && matches!(self.part(direction, id), Part::Absent)
        {
            // An interim response (103 Early Hints).
            return;
        }
        let max_body = ctx.limits.max_body_encoded;
        let part = self.part(direction, id);
        match part {
            Part::Absent => {
                let start = match &fields {
                    None => Start::Unknown { version: VERSION },
                    Some(fields) => Start::from_pseudo_headers(direction, fields, VERSION),
                };
                *part = Part::Open(Assembly::new(
                    start,
                    fields.unwrap_or_default(),
                    time,
                    max_body,
                ));
            }
            // Trailers: kept after the head's fields, in wire order.
            Part::Open(message) => message.headers.extend(fields.unwrap_or_default()),
            Part::Done(_) => {}
        }
    }

    /// DATA payload bytes (possibly none, to open the message).
    fn body(
        &mut self,
        ctx: &Context,
        direction: Direction,
        id: u64,
        bytes: &[u8],
        time: Timestamp,
    ) {
        let max_body = ctx.limits.max_body_encoded;
        let part = self.part(direction, id);
        if matches!(part, Part::Absent) {
            // DATA whose HEADERS were not read.
            *part = Part::Open(Assembly::new(
                Start::Unknown { version: VERSION },
                Vec::new(),
                time,
                max_body,
            ));
        }
        if let Part::Open(message) = part {
            message.body.push(bytes);
        }
    }

    /// The stream direction ended and everything in it was read.
    fn maybe_finish(&mut self, ctx: &Context, out: &mut Vec<Emitted>, key: (u64, Direction)) {
        let Some(side) = self.sides.get_mut(&key) else {
            return;
        };
        let complete = side.fin
            && side.buf.is_empty()
            && side.blocked.is_none()
            && side.data_left == 0
            && side.skip_left == 0;
        if !complete || side.finished {
            return;
        }
        side.finished = true;
        let frames = side.frames.clone();
        let (id, direction) = key;
        let sctx = stream_ctx(ctx, id);
        let part = self.part(direction, id);
        if let Part::Open(message) = std::mem::take(part) {
            let mut message = message;
            message.add_frames(&frames);
            *part = Part::Done(message.finish(&sctx, out, None));
        }
        // A request direction still being read (its header block may be
        // waiting for the encoder stream) will pair with this response.
        let request_pending = self
            .sides
            .get(&(id, Direction::ToServer))
            .is_some_and(|s| !s.finished);
        let Some(pair) = self.pairs.get(&id) else {
            return;
        };
        let complete = match (&pair.request, &pair.response) {
            (Part::Done(_), Part::Done(_)) => true,
            (Part::Absent, Part::Done(response)) if !request_pending => {
                sctx.diagnostic(
                    out,
                    Severity::Warning,
                    "http.response-without-request",
                    "a response arrived on a stream whose request was not captured".into(),
                    &response.frames,
                    None,
                );
                true
            }
            _ => false,
        };
        if complete {
            self.emit(ctx, out, id);
        }
    }

    fn emit(&mut self, ctx: &Context, out: &mut Vec<Emitted>, id: u64) {
        let Some(pair) = self.pairs.remove(&id) else {
            return;
        };
        let sctx = stream_ctx(ctx, id);
        let finish = |part: Part, direction: Direction, out: &mut Vec<Emitted>| match part {
            Part::Done(message) => Some(message),
            Part::Open(mut message) => {
                if let Some(side) = self.sides.get(&(id, direction)) {
                    message.add_frames(&side.frames);
                }
                Some(message.finish(&sctx, out, None))
            }
            Part::Absent => None,
        };
        let request = finish(pair.request, Direction::ToServer, out);
        let response = finish(pair.response, Direction::ToClient, out);
        self.sides.remove(&(id, Direction::ToServer));
        self.sides.remove(&(id, Direction::ToClient));
        if request.is_some() || response.is_some() {
            sctx.emit(out, request, response, None);
        }
    }

    /// The capture ended: what is still open is reported as it stands.
    pub(crate) fn close(&mut self, ctx: &Context, out: &mut Vec<Emitted>) {
        let blocked: Vec<(u64, Direction)> = self
            .sides
            .iter()
            .filter(|(_, s)| s.blocked.is_some())
            .map(|(k, _)| *k)
            .collect();
        for key in blocked {
            let Some(block) = self.sides.get_mut(&key).and_then(|s| s.blocked.take()) else {
                continue;
            };
            let (id, direction) = key;
            let inserted = self
                .qpack
                .get(index(direction))
                .map_or(0, QpackDecoder::inserted);
            let frames = self.frames_of(key);
            stream_ctx(ctx, id).diagnostic(out, Severity::Warning, "qpack.blocked", format!("a {} header block refers to QPACK table entries that were never inserted on the captured encoder stream ({inserted} were); its fields are not shown", side_name(direction)), &frames, None);
            self.headers(ctx, out, direction, id, None, block.time);
        }
        let ids: Vec<u64> = self.pairs.keys().copied().collect();
        for id in ids {
            let sctx = stream_ctx(ctx, id);
            let frames = [
                self.frames_of((id, Direction::ToServer)),
                self.frames_of((id, Direction::ToClient)),
            ];
            if let Some(pair) = self.pairs.get_mut(&id) {
                for (part, frames) in [&mut pair.request, &mut pair.response]
                    .into_iter()
                    .zip(&frames)
                {
                    if let Part::Open(message) = part {
                        message.damage("the capture ended before the message was complete".into());
                        sctx.diagnostic(
                            out,
                            Severity::Warning,
                            "http.incomplete",
                            "the capture ended before the message was complete".into(),
                            frames,
                            None,
                        );
                    }
                }
            }
            self.emit(ctx, out, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HttpLimits;
    use pixelscope_model::{Exchange, InputFormat, Origin};

    fn ctx() -> Context {
        Context {
            origin: Origin::file("t.pcapng", None, InputFormat::Pcapng),
            scheme: "https",
            server_authority: Some("127.0.0.13".into()),
            limits: HttpLimits::default(),
        }
    }

    fn feed(
        h3: &mut H3Connection,
        out: &mut Vec<Emitted>,
        id: u64,
        direction: Direction,
        data: &[u8],
        fin: bool,
        frame: u64,
    ) {
        h3.data(
            &ctx(),
            out,
            &QuicChunk {
                connection: 0,
                stream_id: id,
                direction,
                offset: 0,
                data,
                fin,
                frames: &[frame],
                time: Timestamp(frame as i64),
            },
        );
    }

    fn exchanges(out: &[Emitted]) -> Vec<&Exchange> {
        out.iter()
            .filter_map(|e| match e {
                Emitted::Exchange(x) => Some(&**x),
                Emitted::Diagnostic(_) => None,
            })
            .collect()
    }

    fn codes(out: &[Emitted]) -> Vec<&str> {
        out.iter()
            .filter_map(|e| match e {
                Emitted::Diagnostic(d) => Some(d.code.as_str()),
                Emitted::Exchange(_) => None,
            })
            .collect()
    }

    #[test]
    fn frame_headers_and_varints() {
        assert_eq!(varint(&[0x25]), Some((37, 1)));
        assert_eq!(varint(&[0x7b, 0xbd]), Some((15293, 2)));
        assert_eq!(varint(&[0x7b]), None);
        assert_eq!(frame_header(&[0x01, 0x40, 0x80, 0xff]), Some((1, 128, 3)));
        assert_eq!(frame_header(&[0x00]), None);
    }

    /// The request's header block names a dynamic entry whose insertion
    /// arrives later on the client's encoder stream, and before the
    /// server's SETTINGS: it waits, then decodes.
    #[test]
    fn a_blocked_request_decodes_once_the_encoder_stream_arrives() {
        let mut h3 = H3Connection::new(&ctx());
        let mut out = Vec::new();
        let mut block = vec![0x02, 0x00, 0xd1, 0x80, 0x50, 0x10];
        block.extend_from_slice(b"www.facebook.com");
        block.push(0xd7);
        let mut request = vec![0x01, block.len() as u8];
        request.extend_from_slice(&block);
        request.extend_from_slice(b"\x00\x05hello");
        feed(
            &mut h3,
            &mut out,
            0,
            Direction::ToServer,
            &request,
            true,
            10,
        );
        let response = b"\x01\x03\x00\x00\xd9\x00\x02ok";
        feed(
            &mut h3,
            &mut out,
            0,
            Direction::ToClient,
            response,
            true,
            12,
        );
        assert!(exchanges(&out).is_empty(), "the request is blocked");
        // Server control stream: SETTINGS with QPACK_MAX_TABLE_CAPACITY 4096
        // and a reserved setting.
        let control = b"\x00\x04\x05\x01\x50\x00\x21\x00";
        feed(
            &mut h3,
            &mut out,
            3,
            Direction::ToClient,
            control,
            false,
            11,
        );
        assert!(exchanges(&out).is_empty(), "still no insert");
        // Client encoder stream: capacity 4096, :path=/tr?ev=PageView.
        let mut encoder = b"\x02\x3f\xe1\x1f\xc1\x0f".to_vec();
        encoder.extend_from_slice(b"/tr?ev=PageView");
        feed(
            &mut h3,
            &mut out,
            6,
            Direction::ToServer,
            &encoder,
            false,
            13,
        );
        let x = exchanges(&out);
        assert_eq!(x.len(), 1, "{:?}", codes(&out));
        let x = x[0];
        assert_eq!(x.request.url, "https://www.facebook.com/tr?ev=PageView");
        assert_eq!(x.request.method, "GET");
        assert_eq!(x.request.http_version.as_deref(), Some("HTTP/3"));
        assert_eq!(x.request.body.as_ref().unwrap().data, b"hello");
        let response = x.response.as_ref().unwrap();
        assert_eq!(response.status, Some(200));
        assert_eq!(response.body.as_ref().unwrap().data, b"ok");
        assert_eq!(x.origin.quic_stream, Some(0));
        assert_eq!(x.origin.stream, None);
        assert_eq!(x.origin.frames, Some(vec![10, 12]));
        assert!(codes(&out).is_empty());
    }

    #[test]
    fn a_block_that_never_unblocks_is_reported_at_the_end() {
        let mut h3 = H3Connection::new(&ctx());
        let mut out = Vec::new();
        // The server's SETTINGS allow the client a 4096-byte table; the
        // request's block needs insert 1, which never comes.
        feed(
            &mut h3,
            &mut out,
            3,
            Direction::ToClient,
            b"\x00\x04\x03\x01\x50\x00",
            false,
            1,
        );
        feed(
            &mut h3,
            &mut out,
            4,
            Direction::ToServer,
            b"\x01\x03\x02\x00\x80",
            true,
            2,
        );
        assert!(exchanges(&out).is_empty());
        h3.close(&ctx(), &mut out);
        assert!(codes(&out).contains(&"qpack.blocked"), "{:?}", codes(&out));
        let x = exchanges(&out);
        assert_eq!(x.len(), 1);
        assert_eq!(x[0].origin.quic_stream, Some(4));
        assert_eq!(x[0].request.url, "");
    }

    #[test]
    fn unknown_frames_and_streams_are_skipped() {
        let mut h3 = H3Connection::new(&ctx());
        let mut out = Vec::new();
        // A grease stream type, a push stream, then a request with a
        // reserved frame type (0x21) before its HEADERS.
        feed(
            &mut h3,
            &mut out,
            2,
            Direction::ToServer,
            b"\x21anything",
            false,
            1,
        );
        feed(
            &mut h3,
            &mut out,
            7,
            Direction::ToClient,
            b"\x01\x00junk",
            false,
            2,
        );
        let request = b"\x21\x02zz\x01\x03\x00\x00\xd1";
        feed(&mut h3, &mut out, 8, Direction::ToServer, request, true, 3);
        feed(
            &mut h3,
            &mut out,
            8,
            Direction::ToClient,
            b"\x01\x03\x00\x00\xd9",
            true,
            4,
        );
        let x = exchanges(&out);
        assert_eq!(x.len(), 1, "{:?}", codes(&out));
        assert_eq!(x[0].request.method, "GET");
        assert_eq!(x[0].request.url, "https://127.0.0.13");
    }
}
