//! HTTP/1.x: heads parsed by `httparse`, body framing done here.
//!
//! [`Http1Parser`] reads one direction incrementally and reports heads and
//! finished messages; [`Http1Connection`] owns both directions, tells the
//! response side how each response is framed (a response to `HEAD` has no
//! body), and pairs responses with requests in order, which is what
//! pipelining means on the wire.

use crate::message::{
    Assembly, Context, Emitted, Finished, Start, header, headers_named, to_header,
};
use pixelscope_capture::{Chunk, Direction};
use pixelscope_model::{Header, Severity, Timestamp};
use std::collections::VecDeque;
use std::ops::Range;

/// How many headers fit the first, stack-allocated attempt.
const SMALL_HEADERS: usize = 64;
/// How many bytes of garbage are kept between calls while looking for the
/// next start line (a start line longer than this is not found).
const RESYNC_WINDOW: usize = 16 * 1024;
/// Chunk-size lines (with extensions) longer than this are garbage.
const MAX_CHUNK_LINE: usize = 4096;

/// A piece of buffered input: which frames carried it and when.
#[derive(Debug)]
struct Segment {
    start: u64,
    end: u64,
    frames: Vec<u64>,
    time: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    Length(u64),
    Chunked(ChunkPhase),
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ChunkPhase {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Expecting a start line.
    Head,
    /// Head read; the connection decides how the body is framed.
    AwaitFraming,
    Body(Framing),
    /// Looking for the next plausible start line after damage.
    Resync,
    /// The connection was upgraded or tunnelled: nothing here is HTTP.
    Opaque,
}

/// What one step of reading produced.
#[derive(Debug)]
enum Step {
    /// A head was read; the message is in `Http1Parser::message`.
    Head,
    /// A message is complete (or given up on).
    Done(Assembly),
    /// Progress was made; step again.
    Continue,
    /// Nothing more can be done with the bytes at hand.
    NeedMore,
}

/// One direction of an HTTP/1.x connection, read incrementally.
#[derive(Debug)]
pub(crate) struct Http1Parser {
    direction: Direction,
    /// Unconsumed bytes (a partial head, chunk line, or resync window).
    buf: Vec<u8>,
    /// Stream offset of `buf[0]` (of the next byte when `buf` is empty).
    position: u64,
    /// The chunks that the unconsumed bytes came from.
    segments: VecDeque<Segment>,
    state: State,
    message: Option<Assembly>,
    /// A start line may begin here without a preceding newline: the first
    /// byte of the stream or the first byte after a gap.
    line_start: Option<u64>,
    /// Bytes skipped while resynchronising, and the frames they came from.
    skipped: u64,
    skipped_frames: Vec<u64>,
}

/// One request waiting for (or paired with) its response.
#[derive(Debug)]
struct Slot {
    seq: u64,
    method: String,
    expect_continue: bool,
    request: Option<Finished>,
    response: Option<Finished>,
}

/// Both directions of an HTTP/1.x connection and the request/response pairing.
#[derive(Debug)]
pub(crate) struct Http1Connection {
    client: Http1Parser,
    server: Http1Parser,
    /// Requests in order, from the oldest not yet emitted.
    slots: VecDeque<Slot>,
    next_seq: u64,
    /// The request the next final response answers.
    next_response: u64,
    /// The request the client is sending now.
    client_seq: Option<u64>,
}

/// How many requests may wait for responses before the oldest is emitted
/// without one (a capture of one direction only must not grow forever).
const MAX_WAITING: usize = 256;

impl Http1Connection {
    pub fn new() -> Http1Connection {
        Http1Connection {
            client: Http1Parser::new(Direction::ToServer),
            server: Http1Parser::new(Direction::ToClient),
            slots: VecDeque::new(),
            next_seq: 0,
            next_response: 0,
            client_seq: None,
        }
    }

    /// Starts a direction in resynchronisation (the capture began
    /// mid-connection, or the start was not recognised).
    pub fn resync(&mut self, direction: Direction) {
        self.parser(direction).state = State::Resync;
    }

    fn parser(&mut self, direction: Direction) -> &mut Http1Parser {
        match direction {
            Direction::ToServer => &mut self.client,
            Direction::ToClient => &mut self.server,
        }
    }

    pub fn data(&mut self, ctx: &Context, out: &mut Vec<Emitted>, chunk: &Chunk<'_>) {
        let direction = chunk.direction;
        let parser = self.parser(direction);
        if parser.segments.is_empty()
            && parser.buf.is_empty()
            && parser.position == 0
            && parser.line_start == Some(0)
        {
            // First bytes of this direction: adopt their offset.
            parser.position = chunk.offset;
            parser.line_start = Some(chunk.offset);
        }
        let expected = parser.position.saturating_add(len64(&parser.buf));
        let mut data = chunk.data;
        let mut offset = chunk.offset;
        if offset < expected {
            // Bytes already seen (a retransmission the reassembler let
            // through) are skipped.
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
        if data.is_empty() {
            return;
        }
        let parser = self.parser(direction);
        if parser.state == State::Opaque {
            parser.position = offset.saturating_add(len64(data));
            return;
        }
        parser.segments.push_back(Segment {
            start: offset,
            end: offset.saturating_add(len64(data)),
            frames: chunk.frames.to_vec(),
            time: chunk.time,
        });
        if parser.buf.is_empty() {
            let consumed = self.run(ctx, out, direction, data);
            let parser = self.parser(direction);
            if parser.state != State::Opaque {
                parser
                    .buf
                    .extend_from_slice(data.get(consumed..).unwrap_or_default());
            }
        } else {
            let mut buf = std::mem::take(&mut parser.buf);
            buf.extend_from_slice(data);
            let consumed = self.run(ctx, out, direction, &buf);
            buf.drain(..consumed.min(buf.len()));
            let parser = self.parser(direction);
            if parser.state != State::Opaque {
                parser.buf = buf;
            }
        }
        let parser = self.parser(direction);
        if parser.state == State::Opaque {
            parser.position = parser.position.saturating_add(len64(&parser.buf));
            parser.buf.clear();
        }
        let keep_from = parser.position;
        while parser.segments.front().is_some_and(|s| s.end <= keep_from) {
            parser.segments.pop_front();
        }
    }

    /// Runs the parser of `direction` over `input`, which starts at the
    /// parser's position; returns how many bytes were consumed.
    fn run(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        direction: Direction,
        input: &[u8],
    ) -> usize {
        let mut at = 0usize;
        loop {
            let step = self.parser(direction).step(ctx, out, input, &mut at);
            match step {
                Step::Head => self.on_head(ctx, out, direction),
                Step::Done(message) => self.on_done(ctx, out, direction, message),
                Step::Continue => {}
                Step::NeedMore => break,
            }
            if self.parser(direction).state == State::Opaque {
                at = input.len();
                break;
            }
        }
        let parser = self.parser(direction);
        parser.position = parser.position.saturating_add(len64_usize(at));
        at
    }

    fn on_head(&mut self, ctx: &Context, out: &mut Vec<Emitted>, direction: Direction) {
        let parser = match direction {
            Direction::ToServer => &self.client,
            Direction::ToClient => &self.server,
        };
        let Some(message) = parser.message.as_ref() else {
            return;
        };
        let headers = &message.headers;
        match &message.start {
            Start::Request { method, .. } => {
                let framing = request_framing(ctx, out, headers, &message.frames);
                let seq = self.next_seq;
                self.next_seq = self.next_seq.saturating_add(1);
                let expect_continue = header(headers, "expect")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
                self.slots.push_back(Slot {
                    seq,
                    method: method.clone(),
                    expect_continue,
                    request: None,
                    response: None,
                });
                self.client_seq = Some(seq);
                self.client.state = State::Body(framing);
            }
            Start::Response { status, .. } => {
                let status = *status;
                let next = self.next_response;
                let method = self
                    .slots
                    .iter()
                    .find(|s| s.seq == next)
                    .map(|s| s.method.as_str());
                let framing = response_framing(ctx, out, status, method, headers, &message.frames);
                self.server.state = State::Body(framing);
                if status >= 200 {
                    self.abandon_unsent_continue_body(ctx, out);
                }
            }
            Start::Unknown { .. } => self.parser(direction).state = State::Body(Framing::Length(0)),
        }
    }

    /// A client that sent `Expect: 100-continue` and got a final response
    /// instead of `100 Continue` does not send the body: the request ends
    /// with its head.
    fn abandon_unsent_continue_body(&mut self, ctx: &Context, out: &mut Vec<Emitted>) {
        let Some(slot) = self.slots.iter().find(|s| s.seq == self.next_response) else {
            return;
        };
        if !slot.expect_continue || self.client_seq != Some(slot.seq) || slot.request.is_some() {
            return;
        }
        let waiting = matches!(self.client.state, State::Body(_))
            && self
                .client
                .message
                .as_ref()
                .is_some_and(|m| m.body.seen == 0)
            && self.client.buf.is_empty();
        if waiting && let Some(message) = self.client.message.take() {
            self.client.state = State::Head;
            self.on_done(ctx, out, Direction::ToServer, message);
        }
    }

    fn on_done(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        direction: Direction,
        message: Assembly,
    ) {
        if let Start::Response { status, .. } = message.start {
            // Interim responses (100 Continue, 103 Early Hints) are not the
            // answer; 101 is, and ends HTTP on this connection.
            if (100..200).contains(&status) && status != 101 {
                return;
            }
            let connect = self
                .slots
                .iter()
                .find(|s| s.seq == self.next_response)
                .is_some_and(|s| s.method.eq_ignore_ascii_case("CONNECT"));
            if status == 101 || (connect && (200..300).contains(&status)) {
                for parser in [&mut self.client, &mut self.server] {
                    parser.state = State::Opaque;
                    parser.position = parser.position.saturating_add(len64(&parser.buf));
                    parser.buf.clear();
                    parser.segments.clear();
                }
                ctx.diagnostic(out, Severity::Info, "http.upgraded", format!("the connection switched protocols after status {status}; the rest is not read as HTTP"), &message.frames, None);
            }
        }
        let finished = message.finish(ctx, out, None);
        match direction {
            Direction::ToServer => {
                let seq = self.client_seq.take();
                match self.slots.iter_mut().find(|s| Some(s.seq) == seq) {
                    Some(slot) => slot.request = Some(finished),
                    None => ctx.emit(out, Some(finished), None, None),
                }
            }
            Direction::ToClient => {
                let next = self.next_response;
                match self.slots.iter_mut().find(|s| s.seq == next) {
                    Some(slot) => {
                        slot.response = Some(finished);
                        self.next_response = self.next_response.saturating_add(1);
                    }
                    None => {
                        ctx.diagnostic(
                            out,
                            Severity::Warning,
                            "http.response-without-request",
                            "a response arrived with no request seen for it".into(),
                            &finished.frames,
                            None,
                        );
                        ctx.emit(out, None, Some(finished), None);
                    }
                }
            }
        }
        self.flush(ctx, out, false);
    }

    /// Emits exchanges from the front of the queue once both halves are
    /// complete (with `all`, whatever is there).
    fn flush(&mut self, ctx: &Context, out: &mut Vec<Emitted>, all: bool) {
        while let Some(front) = self.slots.front() {
            let complete = front.request.is_some() && front.response.is_some();
            let overflowing = self.slots.len() > MAX_WAITING && front.request.is_some();
            if !(complete || overflowing || all) {
                break;
            }
            let Some(slot) = self.slots.pop_front() else {
                break;
            };
            if slot.response.is_none() && slot.seq >= self.next_response {
                // Its response, if one ever comes, will be unpaired.
                self.next_response = slot.seq.saturating_add(1);
            }
            if slot.request.is_some() || slot.response.is_some() {
                ctx.emit(out, slot.request, slot.response, None);
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
        let parser = self.parser(direction);
        let expected = parser.position.saturating_add(len64(&parser.buf));
        if missing.end <= expected {
            return;
        }
        let lost = missing.end - expected;
        parser.buf.clear();
        parser.segments.clear();
        parser.position = missing.end;
        parser.line_start = Some(missing.end);
        let reason = format!("{lost} bytes missing from the capture");
        let mut finished = None;
        match parser.state {
            State::Body(Framing::Length(remaining)) if lost < remaining => {
                // The framing survives: skip the lost bytes of the body.
                if let Some(message) = parser.message.as_mut() {
                    message.damage(reason.clone());
                }
                parser.state = State::Body(Framing::Length(remaining - lost));
            }
            State::Body(Framing::UntilClose) => {
                if let Some(message) = parser.message.as_mut() {
                    message.damage(reason.clone());
                }
            }
            State::Body(Framing::Length(remaining)) if lost == remaining => {
                finished = parser.message.take();
                parser.state = State::Head;
            }
            State::Body(_) | State::AwaitFraming => {
                finished = parser.message.take();
                parser.state = State::Resync;
            }
            State::Head => parser.state = State::Resync,
            State::Resync | State::Opaque => {}
        }
        let side = match direction {
            Direction::ToServer => "client",
            Direction::ToClient => "server",
        };
        let frames: Vec<u64> = if frame > 0 { vec![frame] } else { Vec::new() };
        ctx.diagnostic(out, Severity::Warning, "http.gap", format!("{reason} in the {side} direction; the message being read is marked damaged, reading resumes at the next start line, and responses are paired with requests in order"), &frames, None);
        if let Some(mut message) = finished {
            message.damage(reason);
            self.on_done(ctx, out, direction, message);
        }
    }

    /// The connection ended: finish what can be finished, emit the rest.
    pub fn close(&mut self, ctx: &Context, out: &mut Vec<Emitted>) {
        for direction in [Direction::ToServer, Direction::ToClient] {
            let parser = self.parser(direction);
            let leftover = parser.buf.len();
            let state = parser.state;
            let message = parser.message.take();
            let frames: Vec<u64> = parser
                .segments
                .iter()
                .flat_map(|s| s.frames.iter().copied())
                .collect();
            parser.buf.clear();
            match (state, message) {
                (State::Body(Framing::UntilClose), Some(message)) => {
                    self.on_done(ctx, out, direction, message)
                }
                (_, Some(mut message)) => {
                    let why = "the connection ended before the message was complete";
                    message.damage(why.into());
                    ctx.diagnostic(
                        out,
                        Severity::Warning,
                        "http.incomplete",
                        why.into(),
                        &message.frames,
                        None,
                    );
                    self.on_done(ctx, out, direction, message);
                }
                (State::Resync, None) => {
                    let parser = self.parser(direction);
                    parser.skipped = parser.skipped.saturating_add(len64_usize(leftover));
                    parser.skipped_frames.extend(frames);
                    parser.report_skipped(ctx, out);
                }
                (State::Head, None) if leftover > 0 => {
                    ctx.diagnostic(out, Severity::Warning, "http.incomplete", format!("{leftover} bytes at the end of the connection do not form a complete message head"), &frames, None);
                }
                _ => {}
            }
        }
        self.flush(ctx, out, true);
    }
}

impl Http1Parser {
    fn new(direction: Direction) -> Http1Parser {
        Http1Parser {
            direction,
            buf: Vec::new(),
            position: 0,
            segments: VecDeque::new(),
            state: State::Head,
            message: None,
            line_start: Some(0),
            skipped: 0,
            skipped_frames: Vec::new(),
        }
    }

    fn frames_of(&self, range: Range<u64>) -> Vec<u64> {
        self.segments
            .iter()
            .filter(|s| s.end > range.start && s.start < range.end)
            .flat_map(|s| s.frames.iter().copied())
            .collect()
    }

    fn note_skipped(&mut self, range: Range<u64>) {
        if range.end <= range.start {
            return;
        }
        self.skipped = self.skipped.saturating_add(range.end - range.start);
        for frame in self.frames_of(range) {
            if !self.skipped_frames.contains(&frame) && self.skipped_frames.len() < 1024 {
                self.skipped_frames.push(frame);
            }
        }
    }

    fn report_skipped(&mut self, ctx: &Context, out: &mut Vec<Emitted>) {
        if self.skipped == 0 {
            return;
        }
        ctx.diagnostic(
            out,
            Severity::Warning,
            "http.resync",
            format!(
                "{} bytes skipped that do not start an HTTP message",
                self.skipped
            ),
            &self.skipped_frames,
            None,
        );
        self.skipped = 0;
        self.skipped_frames.clear();
    }

    /// Attributes the bytes `range` to the message being read.
    fn attribute(&mut self, range: Range<u64>) {
        let frames = self.frames_of(range);
        if let Some(message) = self.message.as_mut() {
            message.add_frames(&frames);
        }
    }

    fn time_at(&self, offset: u64) -> Timestamp {
        self.segments
            .iter()
            .find(|s| s.end > offset)
            .or(self.segments.back())
            .map_or(Timestamp(0), |s| s.time)
    }

    /// One step of the state machine over `input[*at..]`.
    fn step(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        input: &[u8],
        at: &mut usize,
    ) -> Step {
        let rest = input.get(*at..).unwrap_or_default();
        let base = self.position.saturating_add(len64_usize(*at));
        match self.state {
            State::Body(Framing::Length(0)) => {
                self.state = State::Head;
                self.message.take().map_or(Step::Continue, Step::Done)
            }
            _ if rest.is_empty() => Step::NeedMore,
            State::Opaque | State::AwaitFraming => Step::NeedMore,
            State::Resync => self.resync(ctx, out, rest, base, at),
            State::Head => self.read_head(ctx, out, rest, base, at),
            State::Body(Framing::Length(remaining)) => {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                self.take_body(rest, base, take, at);
                self.state =
                    State::Body(Framing::Length(remaining.saturating_sub(len64_usize(take))));
                Step::Continue
            }
            State::Body(Framing::UntilClose) => {
                self.take_body(rest, base, rest.len(), at);
                Step::NeedMore
            }
            State::Body(Framing::Chunked(phase)) => {
                self.read_chunked(ctx, out, phase, rest, base, at)
            }
        }
    }

    fn resync(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        rest: &[u8],
        base: u64,
        at: &mut usize,
    ) -> Step {
        match find_start_line(self.direction, rest, base, self.line_start) {
            Some(found) => {
                self.note_skipped(base..base.saturating_add(len64_usize(found)));
                *at = at.saturating_add(found);
                self.line_start = Some(base.saturating_add(len64_usize(found)));
                self.state = State::Head;
                self.report_skipped(ctx, out);
                Step::Continue
            }
            None => {
                // Keep a window so a start line cut across chunks is still
                // found when the next bytes arrive.
                let drop = rest.len().saturating_sub(RESYNC_WINDOW);
                self.note_skipped(base..base.saturating_add(len64_usize(drop)));
                *at = at.saturating_add(drop);
                if drop > 0 {
                    self.line_start = None;
                }
                Step::NeedMore
            }
        }
    }

    fn read_head(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        rest: &[u8],
        base: u64,
        at: &mut usize,
    ) -> Step {
        let limits = ctx.limits;
        // Blank lines between messages are tolerated (RFC 9112 §2.2).
        let blank = rest
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        if blank > 0 {
            *at = at.saturating_add(blank);
            return Step::Continue;
        }
        // Most heads fit the small field array, which lives on the stack.
        let mut small = [httparse::EMPTY_HEADER; SMALL_HEADERS];
        let parsed = match parse_head(self.direction, rest, &mut small) {
            Err(httparse::Error::TooManyHeaders) if limits.max_headers > SMALL_HEADERS => {
                let mut large = vec![httparse::EMPTY_HEADER; limits.max_headers];
                parse_head(self.direction, rest, &mut large)
            }
            other => other,
        };
        match parsed {
            Ok(Some((length, start, headers))) => {
                let time = self.time_at(base);
                self.message = Some(Assembly::new(start, headers, time, limits.max_body_encoded));
                self.attribute(base..base.saturating_add(len64_usize(length)));
                *at = at.saturating_add(length);
                self.line_start = None;
                self.state = State::AwaitFraming;
                Step::Head
            }
            Ok(None) if rest.len() > limits.max_head => {
                let frames = self.frames_of(base..base.saturating_add(len64(rest)));
                ctx.diagnostic(
                    out,
                    Severity::Warning,
                    "http.head-too-large",
                    format!(
                        "no end of the message head within {} bytes",
                        limits.max_head
                    ),
                    &frames,
                    None,
                );
                self.start_resync(base, at);
                Step::Continue
            }
            Ok(None) => Step::NeedMore,
            Err(error) => {
                let frames = self.frames_of(base..base.saturating_add(len64(rest)));
                let code = if error == httparse::Error::TooManyHeaders {
                    "http.too-many-headers"
                } else {
                    "http.malformed-head"
                };
                ctx.diagnostic(
                    out,
                    Severity::Warning,
                    code,
                    format!("message head not readable ({error}); skipping to the next start line"),
                    &frames,
                    None,
                );
                self.start_resync(base, at);
                Step::Continue
            }
        }
    }

    /// Gives up on the head at `base` and looks for the next start line
    /// after its first byte.
    fn start_resync(&mut self, base: u64, at: &mut usize) {
        self.note_skipped(base..base.saturating_add(1));
        *at = at.saturating_add(1);
        self.line_start = None;
        self.state = State::Resync;
    }

    fn take_body(&mut self, rest: &[u8], base: u64, take: usize, at: &mut usize) {
        if take == 0 {
            return;
        }
        self.attribute(base..base.saturating_add(len64_usize(take)));
        if let Some(message) = self.message.as_mut() {
            message.body.push(rest.get(..take).unwrap_or_default());
        }
        *at = at.saturating_add(take);
    }

    fn read_chunked(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        phase: ChunkPhase,
        rest: &[u8],
        base: u64,
        at: &mut usize,
    ) -> Step {
        match phase {
            ChunkPhase::Size => match httparse::parse_chunk_size(rest) {
                Ok(httparse::Status::Complete((length, size))) => {
                    self.attribute(base..base.saturating_add(len64_usize(length)));
                    *at = at.saturating_add(length);
                    self.state = State::Body(Framing::Chunked(if size == 0 {
                        ChunkPhase::Trailers
                    } else {
                        ChunkPhase::Data(size)
                    }));
                    Step::Continue
                }
                Ok(httparse::Status::Partial) if rest.len() <= MAX_CHUNK_LINE => Step::NeedMore,
                _ => self.broken_chunking(ctx, out, base, "invalid chunk size line"),
            },
            ChunkPhase::Data(remaining) => {
                let take = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                self.take_body(rest, base, take, at);
                let left = remaining.saturating_sub(len64_usize(take));
                self.state = State::Body(Framing::Chunked(if left == 0 {
                    ChunkPhase::DataEnd
                } else {
                    ChunkPhase::Data(left)
                }));
                Step::Continue
            }
            ChunkPhase::DataEnd => {
                let length = match rest {
                    [b'\r', b'\n', ..] => 2,
                    [b'\n', ..] => 1,
                    [b'\r'] => return Step::NeedMore,
                    _ => {
                        return self.broken_chunking(
                            ctx,
                            out,
                            base,
                            "chunk data not followed by CRLF",
                        );
                    }
                };
                self.attribute(base..base.saturating_add(len64_usize(length)));
                *at = at.saturating_add(length);
                self.state = State::Body(Framing::Chunked(ChunkPhase::Size));
                Step::Continue
            }
            ChunkPhase::Trailers => {
                let mut fields = vec![httparse::EMPTY_HEADER; SMALL_HEADERS];
                match httparse::parse_headers(rest, &mut fields) {
                    Ok(httparse::Status::Complete((length, trailers))) => {
                        let trailers: Vec<Header> = trailers
                            .iter()
                            .map(|h| to_header(h.name.as_bytes(), h.value))
                            .collect();
                        self.attribute(base..base.saturating_add(len64_usize(length)));
                        *at = at.saturating_add(length);
                        self.state = State::Head;
                        let Some(mut message) = self.message.take() else {
                            return Step::Continue;
                        };
                        // The model has no trailer list: trailers follow the
                        // head's fields, in wire order.
                        message.headers.extend(trailers);
                        Step::Done(message)
                    }
                    Ok(httparse::Status::Partial) if rest.len() <= ctx.limits.max_head => {
                        Step::NeedMore
                    }
                    _ => self.broken_chunking(ctx, out, base, "unreadable trailer section"),
                }
            }
        }
    }

    fn broken_chunking(
        &mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        base: u64,
        why: &str,
    ) -> Step {
        let frames = self.frames_of(base..base.saturating_add(1));
        ctx.diagnostic(
            out,
            Severity::Warning,
            "http.chunk-invalid",
            format!(
                "{why}; the body is kept up to here and reading resumes at the next start line"
            ),
            &frames,
            None,
        );
        self.line_start = None;
        self.state = State::Resync;
        match self.message.take() {
            Some(mut message) => {
                message.damage(format!("chunked framing broken: {why}"));
                Step::Done(message)
            }
            None => Step::Continue,
        }
    }
}

type ParsedHead = Option<(usize, Start, Vec<Header>)>;

/// Parses a head with room for `fields.len()` header fields.
fn parse_head<'b>(
    direction: Direction,
    input: &'b [u8],
    fields: &mut [httparse::Header<'b>],
) -> Result<ParsedHead, httparse::Error> {
    let mut config = httparse::ParserConfig::default();
    config
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_responses(true)
        .ignore_invalid_headers_in_requests(true);
    match direction {
        Direction::ToServer => {
            let mut request = httparse::Request::new(fields);
            match config.parse_request(&mut request, input)? {
                httparse::Status::Complete(length) => {
                    let start = Start::Request {
                        method: request.method.unwrap_or_default().to_owned(),
                        target: request.path.unwrap_or_default().to_owned(),
                        version: version_name(request.version),
                    };
                    let headers = request
                        .headers
                        .iter()
                        .map(|h| to_header(h.name.as_bytes(), h.value))
                        .collect();
                    Ok(Some((length, start, headers)))
                }
                httparse::Status::Partial => Ok(None),
            }
        }
        Direction::ToClient => {
            let mut response = httparse::Response::new(fields);
            match config.parse_response(&mut response, input)? {
                httparse::Status::Complete(length) => {
                    let start = Start::Response {
                        status: response.code.unwrap_or_default(),
                        version: version_name(response.version),
                    };
                    let headers = response
                        .headers
                        .iter()
                        .map(|h| to_header(h.name.as_bytes(), h.value))
                        .collect();
                    Ok(Some((length, start, headers)))
                }
                httparse::Status::Partial => Ok(None),
            }
        }
    }
}

fn version_name(minor: Option<u8>) -> &'static str {
    match minor {
        Some(0) => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}

fn is_chunked(headers: &[Header]) -> bool {
    headers_named(headers, "transfer-encoding")
        .flat_map(|v| v.split(','))
        .last()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"))
}

/// The declared Content-Length, or `Err` with the offending values.
fn content_length(headers: &[Header]) -> Result<Option<u64>, String> {
    let mut found: Option<u64> = None;
    for value in headers_named(headers, "content-length").flat_map(|v| v.split(',')) {
        let parsed: u64 = value.trim().parse().map_err(|_| value.trim().to_owned())?;
        match found {
            Some(previous) if previous != parsed => return Err(format!("{previous} and {parsed}")),
            _ => found = Some(parsed),
        }
    }
    Ok(found)
}

fn request_framing(
    ctx: &Context,
    out: &mut Vec<Emitted>,
    headers: &[Header],
    frames: &[u64],
) -> Framing {
    if is_chunked(headers) {
        return Framing::Chunked(ChunkPhase::Size);
    }
    match content_length(headers) {
        Ok(length) => Framing::Length(length.unwrap_or(0)),
        Err(bad) => {
            ctx.diagnostic(
                out,
                Severity::Warning,
                "http.content-length-invalid",
                format!("request Content-Length `{bad}` is not one number; body taken as empty"),
                frames,
                None,
            );
            Framing::Length(0)
        }
    }
}

fn response_framing(
    ctx: &Context,
    out: &mut Vec<Emitted>,
    status: u16,
    method: Option<&str>,
    headers: &[Header],
    frames: &[u64],
) -> Framing {
    let head_request = method.is_some_and(|m| m.eq_ignore_ascii_case("HEAD"));
    let connect_ok =
        method.is_some_and(|m| m.eq_ignore_ascii_case("CONNECT")) && (200..300).contains(&status);
    if (100..200).contains(&status) || status == 204 || status == 304 || head_request || connect_ok
    {
        return Framing::Length(0);
    }
    if is_chunked(headers) {
        return Framing::Chunked(ChunkPhase::Size);
    }
    match content_length(headers) {
        Ok(Some(length)) => Framing::Length(length),
        Ok(None) => Framing::UntilClose,
        Err(bad) => {
            ctx.diagnostic(out, Severity::Warning, "http.content-length-invalid", format!("response Content-Length `{bad}` is not one number; body read until the connection closes"), frames, None);
            Framing::UntilClose
        }
    }
}

/// Where in `input` the next plausible start line begins: a request line
/// (`METHOD target HTTP/1.x`) towards the server, a status line
/// (`HTTP/1.x NNN`) towards the client. Only at a line start.
fn find_start_line(
    direction: Direction,
    input: &[u8],
    base: u64,
    line_start: Option<u64>,
) -> Option<usize> {
    let finder = memchr::memmem::Finder::new(b"HTTP/1.");
    for found in finder.find_iter(input) {
        let start = match direction {
            Direction::ToClient => found,
            Direction::ToServer => input
                .get(..found)
                .and_then(|before| memchr::memrchr(b'\n', before))
                .map_or(0, |nl| nl.saturating_add(1)),
        };
        let at_line_start = match start.checked_sub(1).and_then(|i| input.get(i)) {
            Some(b'\n') => true,
            Some(_) => false,
            None => line_start == Some(base.saturating_add(len64_usize(start))),
        };
        if !at_line_start {
            continue;
        }
        let line = input.get(start..).unwrap_or_default();
        let plausible = match direction {
            Direction::ToClient => is_status_line(line),
            Direction::ToServer => is_request_line(line, found.saturating_sub(start)),
        };
        if plausible {
            return Some(start);
        }
    }
    None
}

fn is_status_line(line: &[u8]) -> bool {
    matches!(line, [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'0' | b'1', b' ', a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit())
}

fn is_request_line(line: &[u8], version_at: usize) -> bool {
    let Some(space) = line.iter().position(|b| *b == b' ') else {
        return false;
    };
    let method = line.get(..space).unwrap_or_default();
    let tail = line.get(version_at..).unwrap_or_default();
    (1..=20).contains(&method.len())
        && method
            .iter()
            .all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_')
        && version_at > space.saturating_add(1)
        && line.get(version_at.saturating_sub(1)) == Some(&b' ')
        && matches!(
            tail,
            [
                b'H',
                b'T',
                b'T',
                b'P',
                b'/',
                b'1',
                b'.',
                b'0' | b'1',
                b'\r' | b'\n',
                ..
            ]
        )
}

/// Whether the bytes begin like an HTTP/1.x request line (or a prefix of
/// one that is still too short to tell).
pub(crate) fn sniff_request(input: &[u8]) -> Option<bool> {
    let space = input.iter().take(21).position(|b| *b == b' ');
    match space {
        Some(length) if length > 0 => Some(
            input
                .get(..length)
                .unwrap_or_default()
                .iter()
                .all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_'),
        ),
        Some(_) => Some(false),
        None if input.len() > 20 => Some(false),
        None => {
            if input
                .iter()
                .all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_')
            {
                None
            } else {
                Some(false)
            }
        }
    }
}

/// Whether the bytes begin like an HTTP/1.x status line.
pub(crate) fn sniff_response(input: &[u8]) -> Option<bool> {
    let prefix = b"HTTP/1.";
    let n = input.len().min(prefix.len());
    if input.get(..n) != prefix.get(..n) {
        return Some(false);
    }
    if input.len() < prefix.len() {
        None
    } else {
        Some(true)
    }
}

fn len64(data: &[u8]) -> u64 {
    len64_usize(data.len())
}

fn len64_usize(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
