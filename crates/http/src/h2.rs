//! HTTP/2: frames per direction, header blocks through HPACK, messages per
//! stream.
//!
//! [`H2Connection`] reads both directions of one connection. Each direction
//! has its own HPACK decoder (the peer's encoder state). A request is the
//! client's HEADERS (+ CONTINUATION) and DATA on a stream until END_STREAM;
//! its response is the server's on the same stream id. When part of a
//! direction was not captured, the HPACK state of that direction is unknown
//! from then on: a later header block is only shown when it can be decoded
//! exactly without that state (it refers to no earlier dynamic-table entry);
//! otherwise it is reported as `hpack.state-unknown`, never guessed.

use crate::frame::{
    Flags, FrameHeader, FrameType, HEADER_LEN, PREFACE, SETTINGS_HEADER_TABLE_SIZE, unpad,
};
use crate::hpack::{DEFAULT_TABLE_SIZE, HpackDecoder};
use crate::message::{Assembly, Context, Emitted, Finished, Start, header, to_header};
use pixelscope_capture::{Chunk, Direction};
use pixelscope_model::{Header, Severity, Timestamp};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

const VERSION: &str = "HTTP/2";

#[derive(Debug)]
struct Segment {
    start: u64,
    end: u64,
    frames: Vec<u64>,
    time: Timestamp,
}

/// A header block waiting for its CONTINUATION frames.
#[derive(Debug)]
struct PendingBlock {
    stream: u32,
    /// For PUSH_PROMISE: the promised stream.
    promised: Option<u32>,
    end_stream: bool,
    fragment: Vec<u8>,
    frames: Vec<u64>,
    time: Timestamp,
}

/// One direction of the connection.
struct Side {
    direction: Direction,
    /// Client side only: the 24-byte preface is still expected.
    preface_pending: bool,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]` (of the next byte when `buf` is empty).
    position: u64,
    started: bool,
    segments: VecDeque<Segment>,
    hpack: HpackDecoder,
    hpack_known: bool,
    block: Option<PendingBlock>,
    /// After a gap inside a frame's payload: skip to this offset.
    skip_until: Option<u64>,
    /// The skipped frame ended this stream's message (DATA with END_STREAM).
    skip_ends: Option<u32>,
    /// Frame boundaries lost: nothing more is read in this direction.
    lost: bool,
}

impl std::fmt::Debug for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Side")
            .field("direction", &self.direction)
            .field("position", &self.position)
            .field("hpack_known", &self.hpack_known)
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

impl Side {
    fn new(direction: Direction, hpack_known: bool, table_cap: usize) -> Side {
        let hpack = HpackDecoder::new(table_cap.max(DEFAULT_TABLE_SIZE));
        Side {
            direction,
            preface_pending: direction == Direction::ToServer,
            buf: Vec::new(),
            position: 0,
            started: false,
            segments: VecDeque::new(),
            hpack,
            hpack_known,
            block: None,
            skip_until: None,
            skip_ends: None,
            lost: false,
        }
    }

    fn frames_of(&self, range: Range<u64>) -> Vec<u64> {
        self.segments
            .iter()
            .filter(|s| s.end > range.start && s.start < range.end)
            .flat_map(|s| s.frames.iter().copied())
            .collect()
    }

    fn time_at(&self, offset: u64) -> Timestamp {
        self.segments
            .iter()
            .find(|s| s.end > offset)
            .or(self.segments.back())
            .map_or(Timestamp(0), |s| s.time)
    }

    /// Decodes a complete header block; `None` when its fields cannot be
    /// known exactly.
    fn decode_block(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        block: &[u8],
        frames: &[u64],
        stream: u32,
    ) -> Option<Vec<Header>> {
        if self.hpack_known {
            let mut fields = Vec::new();
            match self
                .hpack
                .decode(block, |name, value| fields.push(to_header(name, value)))
            {
                Ok(()) => return Some(fields),
                Err(error) => {
                    self.hpack_known = false;
                    ctx.diagnostic(out, Severity::Error, "hpack.decode-failed", format!("header block not decodable ({error}); HPACK state of the {} direction unknown from here", side_name(self.direction)), frames, Some(stream));
                    return None;
                }
            }
        }
        // The table's contents are unknown, but a block that refers only to
        // the static table, to literals and to entries it added itself
        // decodes the same with a fresh table: the newest entries are the
        // block's own whatever came before.
        let cap = ctx.limits.max_hpack_table_size.max(DEFAULT_TABLE_SIZE);
        let mut fresh = HpackDecoder::with_table_size(cap);
        let mut fields = Vec::new();
        match fresh.decode(block, |name, value| fields.push(to_header(name, value))) {
            Ok(()) => Some(fields),
            Err(_) => {
                ctx.diagnostic(out, Severity::Warning, "hpack.state-unknown", format!("header block refers to HPACK state of the {} direction that was not captured; its fields are not shown", side_name(self.direction)), frames, Some(stream));
                None
            }
        }
    }
}

fn side_name(direction: Direction) -> &'static str {
    match direction {
        Direction::ToServer => "client",
        Direction::ToClient => "server",
    }
}

/// Where a frame came from: its capture frames and time.
struct Seen<'a> {
    frames: &'a [u64],
    time: Timestamp,
}

#[derive(Debug, Default)]
enum Part {
    #[default]
    Absent,
    Open(Assembly),
    Done(Finished),
}

#[derive(Debug, Default)]
struct H2Stream {
    request: Part,
    response: Part,
}

/// Both directions of an HTTP/2 connection.
#[derive(Debug)]
pub(crate) struct H2Connection {
    client: Side,
    server: Side,
    streams: BTreeMap<u32, H2Stream>,
}

impl H2Connection {
    /// `start_seen`: the capture holds the connection's start, so HPACK
    /// state can be tracked from the first block.
    pub fn new(ctx: &Context, start_seen: bool) -> H2Connection {
        let cap = ctx.limits.max_hpack_table_size;
        H2Connection {
            client: Side::new(Direction::ToServer, start_seen, cap),
            server: Side::new(Direction::ToClient, start_seen, cap),
            streams: BTreeMap::new(),
        }
    }

    fn side(&mut self, direction: Direction) -> &mut Side {
        match direction {
            Direction::ToServer => &mut self.client,
            Direction::ToClient => &mut self.server,
        }
    }

    pub fn data(&mut self, ctx: &Context, out: &mut Vec<Emitted>, chunk: &Chunk<'_>) {
        let direction = chunk.direction;
        let side = self.side(direction);
        if !side.started {
            side.started = true;
            side.position = chunk.offset;
        }
        let expected = side.position.saturating_add(len64(&side.buf));
        let mut data = chunk.data;
        let mut offset = chunk.offset;
        if offset < expected {
            let skip = usize::try_from(expected - offset).unwrap_or(usize::MAX);
            data = data.get(skip..).unwrap_or_default();
            offset = expected;
        } else if offset > expected {
            self.gap(
                ctx,
                out,
                direction,
                expected..offset,
                chunk.frames.first().copied().unwrap_or(0),
            );
        }
        let side = self.side(direction);
        if data.is_empty() {
            return;
        }
        if side.lost {
            side.position = offset.saturating_add(len64(data));
            return;
        }
        side.segments.push_back(Segment {
            start: offset,
            end: offset.saturating_add(len64(data)),
            frames: chunk.frames.to_vec(),
            time: chunk.time,
        });
        if side.buf.is_empty() {
            let consumed = self.run(ctx, out, direction, data);
            let side = self.side(direction);
            if !side.lost {
                side.buf
                    .extend_from_slice(data.get(consumed..).unwrap_or_default());
            }
        } else {
            let mut buf = std::mem::take(&mut side.buf);
            buf.extend_from_slice(data);
            let consumed = self.run(ctx, out, direction, &buf);
            buf.drain(..consumed.min(buf.len()));
            let side = self.side(direction);
            if !side.lost {
                side.buf = buf;
            }
        }
        let side = self.side(direction);
        if side.lost {
            side.position = offset.saturating_add(len64(data));
            side.buf.clear();
            side.segments.clear();
        }
        let keep_from = side.position;
        while side.segments.front().is_some_and(|s| s.end <= keep_from) {
            side.segments.pop_front();
        }
    }

    /// Reads whole frames from `input` (which starts at the side's
    /// position); returns how many bytes were consumed.
    fn run(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        direction: Direction,
        input: &[u8],
    ) -> usize {
        let mut at = 0usize;
        loop {
            let side = self.side(direction);
            if side.lost {
                break;
            }
            let rest = input.get(at..).unwrap_or_default();
            let base = side.position.saturating_add(len64_usize(at));
            if let Some(until) = side.skip_until {
                let skip = usize::try_from(until.saturating_sub(base))
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                at = at.saturating_add(skip);
                if base.saturating_add(len64_usize(skip)) >= until {
                    side.skip_until = None;
                    if let Some(stream) = side.skip_ends.take() {
                        self.finish(ctx, out, direction, stream);
                    }
                    continue;
                }
                break;
            }
            if side.preface_pending {
                let n = rest.len().min(PREFACE.len());
                if rest.get(..n) == PREFACE.get(..n) {
                    if n < PREFACE.len() {
                        break;
                    }
                    at = at.saturating_add(n);
                    side.preface_pending = false;
                    continue;
                }
                side.preface_pending = false;
                let frames = side.frames_of(base..base.saturating_add(1));
                ctx.diagnostic(out, Severity::Warning, "h2.preface-missing", "the connection does not start with the HTTP/2 client preface: its start was not captured, so HPACK state is unknown".into(), &frames, None);
                self.client.hpack_known = false;
                self.server.hpack_known = false;
                continue;
            }
            let Some(header) = FrameHeader::parse(rest) else {
                break;
            };
            let length = usize::try_from(header.length).unwrap_or(usize::MAX);
            if length > ctx.limits.max_h2_frame {
                let frames = side.frames_of(base..base.saturating_add(HEADER_LEN as u64));
                ctx.diagnostic(out, Severity::Error, "h2.frame-too-large", format!("frame of {length} bytes exceeds the {}-byte limit; the {} direction is not read further", ctx.limits.max_h2_frame, side_name(direction)), &frames, None);
                self.lose(ctx, out, direction);
                break;
            }
            let total = HEADER_LEN.saturating_add(length);
            let Some(payload) = rest.get(HEADER_LEN..total) else {
                break;
            };
            let range = base..base.saturating_add(len64_usize(total));
            let frames = side.frames_of(range);
            let time = side.time_at(base);
            at = at.saturating_add(total);
            self.frame(
                ctx,
                out,
                direction,
                header,
                payload,
                Seen {
                    frames: &frames,
                    time,
                },
            );
        }
        let side = self.side(direction);
        side.position = side.position.saturating_add(len64_usize(at));
        at
    }

    fn frame(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        direction: Direction,
        header: FrameHeader,
        payload: &[u8],
        seen: Seen<'_>,
    ) {
        let Seen { frames, time } = seen;
        let stream = header.stream;
        if self.side(direction).block.is_some() && header.kind != FrameType::CONTINUATION {
            self.side(direction).block = None;
            self.side(direction).hpack_known = false;
            ctx.diagnostic(
                out,
                Severity::Error,
                "h2.continuation-missing",
                "a header block was interrupted before END_HEADERS; HPACK state unknown from here"
                    .into(),
                frames,
                Some(stream),
            );
        }
        match header.kind {
            FrameType::DATA => {
                let Some((_, content)) = unpad(&header, payload) else {
                    ctx.diagnostic(
                        out,
                        Severity::Warning,
                        "h2.padding-invalid",
                        "DATA frame padding longer than its payload".into(),
                        frames,
                        Some(stream),
                    );
                    return;
                };
                if stream == 0 {
                    return;
                }
                let end = header.flags.has(Flags::END_STREAM);
                let max_body = ctx.limits.max_body_encoded;
                let part = self.part(direction, stream);
                if matches!(part, Part::Absent) {
                    // Data whose HEADERS were not captured.
                    *part = Part::Open(Assembly::new(
                        Start::Unknown { version: VERSION },
                        Vec::new(),
                        time,
                        max_body,
                    ));
                }
                if let Part::Open(message) = part {
                    message.add_frames(frames);
                    message.body.push(content);
                }
                if end {
                    self.finish(ctx, out, direction, stream);
                }
            }
            FrameType::HEADERS => {
                let Some((_, fragment)) = unpad(&header, payload) else {
                    ctx.diagnostic(
                        out,
                        Severity::Warning,
                        "h2.padding-invalid",
                        "HEADERS frame padding longer than its payload".into(),
                        frames,
                        Some(stream),
                    );
                    self.side(direction).hpack_known = false;
                    return;
                };
                let block = PendingBlock {
                    stream,
                    promised: None,
                    end_stream: header.flags.has(Flags::END_STREAM),
                    fragment: fragment.to_vec(),
                    frames: frames.to_vec(),
                    time,
                };
                self.block_started(
                    ctx,
                    out,
                    direction,
                    block,
                    header.flags.has(Flags::END_HEADERS),
                );
            }
            FrameType::PUSH_PROMISE => {
                let promised = unpad(&header, payload)
                    .and_then(|(_, content)| Some((content.get(..4)?, content.get(4..)?)));
                let Some((id, fragment)) = promised else {
                    self.side(direction).hpack_known = false;
                    ctx.diagnostic(
                        out,
                        Severity::Warning,
                        "h2.frame-invalid",
                        "PUSH_PROMISE frame too short".into(),
                        frames,
                        Some(stream),
                    );
                    return;
                };
                let promised =
                    id.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)) & 0x7fff_ffff;
                let block = PendingBlock {
                    stream,
                    promised: Some(promised),
                    end_stream: false,
                    fragment: fragment.to_vec(),
                    frames: frames.to_vec(),
                    time,
                };
                self.block_started(
                    ctx,
                    out,
                    direction,
                    block,
                    header.flags.has(Flags::END_HEADERS),
                );
            }
            FrameType::CONTINUATION => {
                let side = self.side(direction);
                let Some(mut block) = side.block.take() else {
                    side.hpack_known = false;
                    ctx.diagnostic(out, Severity::Warning, "h2.continuation-unexpected", "CONTINUATION frame without a header block in progress; HPACK state unknown from here".into(), frames, Some(stream));
                    return;
                };
                if block.stream != stream {
                    side.hpack_known = false;
                    ctx.diagnostic(
                        out,
                        Severity::Error,
                        "h2.continuation-missing",
                        "CONTINUATION frame for another stream; HPACK state unknown from here"
                            .into(),
                        frames,
                        Some(stream),
                    );
                    return;
                }
                block.fragment.extend_from_slice(payload);
                block.frames.extend_from_slice(frames);
                self.block_started(
                    ctx,
                    out,
                    direction,
                    block,
                    header.flags.has(Flags::END_HEADERS),
                );
            }
            FrameType::SETTINGS if !header.flags.has(Flags::ACK) => {
                for setting in payload.chunks_exact(6) {
                    if let &[i0, i1, v0, v1, v2, v3] = setting
                        && u16::from_be_bytes([i0, i1]) == SETTINGS_HEADER_TABLE_SIZE
                    {
                        // The sender's decoder limit binds the peer's
                        // encoder: it applies to the other direction. A
                        // smaller value only takes effect once the encoder
                        // signals it, hence the floor.
                        let value = usize::try_from(u32::from_be_bytes([v0, v1, v2, v3]))
                            .unwrap_or(usize::MAX);
                        let allowed = value
                            .max(DEFAULT_TABLE_SIZE)
                            .min(ctx.limits.max_hpack_table_size.max(DEFAULT_TABLE_SIZE));
                        let other = match direction {
                            Direction::ToServer => &mut self.server,
                            Direction::ToClient => &mut self.client,
                        };
                        other.hpack.set_max_allowed_table_size(allowed);
                    }
                }
            }
            FrameType::RST_STREAM if stream != 0 => {
                if let Some(entry) = self.streams.get_mut(&stream) {
                    for part in [&mut entry.request, &mut entry.response] {
                        if let Part::Open(message) = part {
                            message.add_frames(frames);
                            message.damage(
                                "the stream was reset before the message was complete".into(),
                            );
                        }
                    }
                    self.emit_stream(ctx, out, stream);
                }
            }
            // SETTINGS acks, PING, GOAWAY, WINDOW_UPDATE, PRIORITY and
            // unknown types carry nothing for an exchange.
            _ => {}
        }
    }

    fn part(&mut self, direction: Direction, stream: u32) -> &mut Part {
        let entry = self.streams.entry(stream).or_default();
        match direction {
            Direction::ToServer => &mut entry.request,
            Direction::ToClient => &mut entry.response,
        }
    }

    /// A HEADERS or PUSH_PROMISE block (or a CONTINUATION of one) arrived.
    fn block_started(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        direction: Direction,
        block: PendingBlock,
        end_headers: bool,
    ) {
        if !end_headers {
            if block.fragment.len() > ctx.limits.max_header_block {
                let side = self.side(direction);
                side.hpack_known = false;
                ctx.diagnostic(
                    out,
                    Severity::Error,
                    "h2.header-block-too-large",
                    format!(
                        "header block larger than {} bytes dropped; HPACK state unknown from here",
                        ctx.limits.max_header_block
                    ),
                    &block.frames,
                    Some(block.stream),
                );
                return;
            }
            self.side(direction).block = Some(block);
            return;
        }
        let fields = self.side(direction).decode_block(
            ctx,
            out,
            &block.fragment,
            &block.frames,
            block.stream,
        );
        match block.promised {
            Some(promised) => self.promise(ctx, out, promised, fields, block),
            None => self.headers(ctx, out, direction, fields, block),
        }
    }

    fn headers(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        direction: Direction,
        fields: Option<Vec<Header>>,
        block: PendingBlock,
    ) {
        let stream = block.stream;
        if stream == 0 {
            return;
        }
        if direction == Direction::ToClient
            && let Some(status) = fields
                .as_deref()
                .and_then(|f| header(f, ":status"))
                .and_then(|s| s.trim().parse::<u16>().ok())
            && (100..200).contains(&status)
            && matches!(self.part(direction, stream), Part::Absent)
        {
            // An interim response (100 Continue, 103 Early Hints).
            return;
        }
        self.stream_limit(ctx, out, stream);
        let max_body = ctx.limits.max_body_encoded;
        let part = self.part(direction, stream);
        match part {
            Part::Absent => {
                let start = match &fields {
                    None => Start::Unknown { version: VERSION },
                    Some(fields) => Start::from_pseudo_headers(direction, fields, VERSION),
                };
                let mut message =
                    Assembly::new(start, fields.unwrap_or_default(), block.time, max_body);
                message.add_frames(&block.frames);
                *part = Part::Open(message);
            }
            Part::Open(message) => {
                // Trailers: kept after the head's fields, in wire order.
                message.add_frames(&block.frames);
                message.headers.extend(fields.unwrap_or_default());
            }
            Part::Done(_) => return,
        }
        if block.end_stream {
            self.finish(ctx, out, direction, stream);
        }
    }

    fn promise(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        promised: u32,
        fields: Option<Vec<Header>>,
        block: PendingBlock,
    ) {
        if promised == 0 {
            return;
        }
        self.stream_limit(ctx, out, promised);
        let start = match &fields {
            None => Start::Unknown { version: VERSION },
            Some(fields) => Start::from_pseudo_headers(Direction::ToServer, fields, VERSION),
        };
        let mut message = Assembly::new(start, fields.unwrap_or_default(), block.time, 0);
        message.add_frames(&block.frames);
        let finished = message.finish(ctx, out, Some(promised));
        let entry = self.streams.entry(promised).or_default();
        if matches!(entry.request, Part::Absent) {
            entry.request = Part::Done(finished);
        }
    }

    /// Keeps the number of streams in memory bounded: the oldest stream is
    /// emitted as it stands when too many are open.
    fn stream_limit(&mut self, ctx: &Context, out: &mut Vec<Emitted>, stream: u32) {
        if self.streams.contains_key(&stream) || self.streams.len() < ctx.limits.max_h2_streams {
            return;
        }
        if let Some((&oldest, _)) = self.streams.iter().next() {
            ctx.diagnostic(
                out,
                Severity::Warning,
                "h2.too-many-streams",
                format!(
                    "more than {} streams open at once; stream {oldest} is reported as it stands",
                    ctx.limits.max_h2_streams
                ),
                &[],
                Some(oldest),
            );
            self.close_stream(ctx, out, oldest);
        }
    }

    /// END_STREAM on one side of a stream.
    fn finish(&mut self, ctx: &Context, out: &mut Vec<Emitted>, direction: Direction, stream: u32) {
        let part = self.part(direction, stream);
        if let Part::Open(message) = std::mem::take(part) {
            *part = Part::Done(message.finish(ctx, out, Some(stream)));
        }
        let Some(entry) = self.streams.get(&stream) else {
            return;
        };
        let complete = match (&entry.request, &entry.response) {
            (Part::Done(_), Part::Done(_)) => true,
            // The response is complete and no request was seen for it:
            // requests precede their responses, so none will come.
            (Part::Absent, Part::Done(_)) => {
                if let Part::Done(response) = &entry.response {
                    ctx.diagnostic(
                        out,
                        Severity::Warning,
                        "http.response-without-request",
                        "a response arrived on a stream whose request was not captured".into(),
                        &response.frames,
                        Some(stream),
                    );
                }
                true
            }
            _ => false,
        };
        if complete {
            self.emit_stream(ctx, out, stream);
        }
    }

    fn emit_stream(&mut self, ctx: &Context, out: &mut Vec<Emitted>, stream: u32) {
        let Some(entry) = self.streams.remove(&stream) else {
            return;
        };
        let request = match entry.request {
            Part::Done(message) => Some(message),
            Part::Open(message) => Some(message.finish(ctx, out, Some(stream))),
            Part::Absent => None,
        };
        let response = match entry.response {
            Part::Done(message) => Some(message),
            Part::Open(message) => Some(message.finish(ctx, out, Some(stream))),
            Part::Absent => None,
        };
        if request.is_some() || response.is_some() {
            ctx.emit(out, request, response, Some(stream));
        }
    }

    /// Emits a stream whose messages may still be open, marking them damaged.
    fn close_stream(&mut self, ctx: &Context, out: &mut Vec<Emitted>, stream: u32) {
        if let Some(entry) = self.streams.get_mut(&stream) {
            for part in [&mut entry.request, &mut entry.response] {
                if let Part::Open(message) = part {
                    message.damage("the connection ended before the message was complete".into());
                    ctx.diagnostic(
                        out,
                        Severity::Warning,
                        "http.incomplete",
                        "the connection ended before the message was complete".into(),
                        &message.frames,
                        Some(stream),
                    );
                }
            }
        }
        self.emit_stream(ctx, out, stream);
    }

    /// Frame boundaries of one direction are lost for good.
    fn lose(&mut self, ctx: &Context, out: &mut Vec<Emitted>, direction: Direction) {
        let side = self.side(direction);
        side.lost = true;
        side.hpack_known = false;
        side.block = None;
        side.skip_until = None;
        side.skip_ends = None;
        let _ = (ctx, out);
        let reason = format!(
            "the {} direction could not be read past a gap",
            side_name(direction)
        );
        for entry in self.streams.values_mut() {
            let part = match direction {
                Direction::ToServer => &mut entry.request,
                Direction::ToClient => &mut entry.response,
            };
            if let Part::Open(message) = part {
                message.damage(reason.clone());
            }
        }
    }

    pub fn gap(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        direction: Direction,
        missing: Range<u64>,
        frame: u64,
    ) {
        let side = self.side(direction);
        let expected = side.position.saturating_add(len64(&side.buf));
        if missing.end <= expected || side.lost {
            side.position = side
                .position
                .max(missing.end.saturating_sub(len64(&side.buf)));
            return;
        }
        let frames: Vec<u64> = if frame > 0 { vec![frame] } else { Vec::new() };
        let lost_bytes = missing.end - expected;
        ctx.diagnostic(
            out,
            Severity::Warning,
            "http.gap",
            format!(
                "{lost_bytes} bytes missing from the {} direction of an HTTP/2 connection",
                side_name(direction)
            ),
            &frames,
            None,
        );
        let current = FrameHeader::parse(&side.buf).map(|h| {
            (
                h,
                side.position
                    .saturating_add(HEADER_LEN as u64)
                    .saturating_add(u64::from(h.length)),
            )
        });
        let inside = side
            .skip_until
            .map(|until| (None, until))
            .or(current.map(|(h, end)| (Some(h), end)));
        side.buf.clear();
        side.segments.clear();
        side.position = missing.end;
        if side.preface_pending {
            side.preface_pending = false;
        }
        match inside {
            Some((header, frame_end)) if missing.end <= frame_end => {
                // The gap lies inside one frame whose length is known: skip
                // the rest of that frame and carry on in sync.
                side.skip_until = Some(frame_end);
                let Some(header) = header else { return };
                match header.kind {
                    FrameType::DATA => {
                        if header.flags.has(Flags::END_STREAM) {
                            side.skip_ends = Some(header.stream);
                        }
                        let part = self.part(direction, header.stream);
                        if let Part::Open(message) = part {
                            message.damage(format!(
                                "{lost_bytes} bytes of DATA missing from the capture"
                            ));
                        }
                    }
                    FrameType::HEADERS | FrameType::CONTINUATION | FrameType::PUSH_PROMISE => {
                        side_of(self, direction).hpack_known = false;
                        side_of(self, direction).block = None;
                    }
                    _ => {}
                }
            }
            _ => {
                ctx.diagnostic(out, Severity::Error, "h2.desync", format!("frame boundaries of the {} direction are lost after a gap; it is not read further", side_name(direction)), &frames, None);
                self.lose(ctx, out, direction);
            }
        }
    }

    pub fn close(&mut self, ctx: &Context, out: &mut Vec<Emitted>) {
        for direction in [Direction::ToServer, Direction::ToClient] {
            let side = self.side(direction);
            if !side.buf.is_empty() && !side.lost {
                let frames: Vec<u64> = side
                    .segments
                    .iter()
                    .flat_map(|s| s.frames.iter().copied())
                    .collect();
                let n = side.buf.len();
                side.buf.clear();
                ctx.diagnostic(
                    out,
                    Severity::Warning,
                    "http.incomplete",
                    format!(
                        "{n} bytes at the end of the {} direction do not form a complete frame",
                        side_name(direction)
                    ),
                    &frames,
                    None,
                );
            }
        }
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for stream in ids {
            self.close_stream(ctx, out, stream);
        }
    }
}

fn side_of(connection: &mut H2Connection, direction: Direction) -> &mut Side {
    connection.side(direction)
}

fn len64(data: &[u8]) -> u64 {
    len64_usize(data.len())
}

fn len64_usize(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
