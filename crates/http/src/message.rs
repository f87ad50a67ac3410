//! What HTTP/1.x and HTTP/2 share: messages being assembled, their bodies,
//! and turning a finished request/response pair into an [`Exchange`].

use crate::HttpLimits;
use crate::content::{self, coding_tokens};
use pixelscope_model::{
    Body, BodySource, BodyState, Cookie, Diagnostic, Exchange, Header, Origin, Request, Response,
    Severity, Timestamp,
};

/// Something a parser produced; the layer hands these to the sink in order.
#[derive(Debug)]
// Diagnostics are rare next to exchanges and short-lived in the queue;
// boxing them would only add allocations.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Emitted {
    Exchange(Box<Exchange>),
    Diagnostic(Diagnostic),
}

/// What a connection's parsers need to know to build records.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    /// The caller's origin template with `stream` and `tls` filled in.
    pub origin: Origin,
    /// `https` when the connection was decrypted, else `http`.
    pub scheme: &'static str,
    /// The server address (`10.0.0.1:8080`, port left out when it is the
    /// scheme's default), used when a request names no host.
    pub server_authority: Option<String>,
    pub limits: HttpLimits,
}

impl Context {
    pub fn diagnostic(
        &self,
        out: &mut Vec<Emitted>,
        severity: Severity,
        code: &str,
        message: String,
        frames: &[u64],
        h2_stream: Option<u32>,
    ) {
        let mut origin = self.origin.clone();
        origin.frames = frames_field(frames.to_vec());
        origin.h2_stream = h2_stream;
        out.push(Emitted::Diagnostic(Diagnostic::new(
            severity, code, message, origin,
        )));
    }

    /// Builds the exchange for a request and/or response and queues it.
    pub fn emit(
        &self,
        out: &mut Vec<Emitted>,
        request: Option<Finished>,
        response: Option<Finished>,
        h2_stream: Option<u32>,
    ) {
        let mut frames = Vec::new();
        let mut time = None;
        let request = match request {
            Some(message) => {
                frames.extend_from_slice(&message.frames);
                time = Some(message.time);
                self.request(message)
            }
            None => Request::default(),
        };
        let response = response.map(|message| {
            frames.extend_from_slice(&message.frames);
            time = time.or(Some(message.time));
            Response {
                status: match message.start {
                    Start::Response { status, .. } => Some(status),
                    _ => None,
                },
                http_version: message.start.version(),
                headers: message.headers,
                body: message.body,
            }
        });
        let mut origin = self.origin.clone();
        origin.frames = frames_field(frames);
        origin.h2_stream = h2_stream;
        let exchange = Exchange {
            request,
            response,
            time,
            origin,
            ..Exchange::default()
        };
        out.push(Emitted::Exchange(Box::new(exchange)));
    }

    fn request(&self, message: Finished) -> Request {
        let (method, target) = match &message.start {
            Start::Request { method, target, .. } => (method.clone(), target.clone()),
            _ => (String::new(), String::new()),
        };
        let url = if target.is_empty() && method.is_empty() {
            String::new()
        } else {
            self.url(&method, &target, &message.headers)
        };
        Request {
            method,
            url,
            http_version: message.start.version(),
            cookies: parse_cookies(&message.headers),
            headers: message.headers,
            body: message.body,
        }
    }

    /// scheme://authority/path. Absolute-form targets are kept as written.
    fn url(&self, method: &str, target: &str, headers: &[Header]) -> String {
        let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return target.to_owned();
        }
        let authority = header(headers, ":authority")
            .or_else(|| header(headers, "host"))
            .map(str::to_owned)
            .or_else(|| self.server_authority.clone())
            .unwrap_or_default();
        let scheme = self.scheme;
        if method.eq_ignore_ascii_case("CONNECT") && !target.starts_with('/') {
            // Authority-form: the target is the host:port being tunnelled to.
            return format!("{scheme}://{target}");
        }
        if target == "*" || target.is_empty() {
            return format!("{scheme}://{authority}");
        }
        format!("{scheme}://{authority}{target}")
    }

    /// Turns the bytes collected for `message`'s body into a model body:
    /// undoes the codings, applies the caps, reports what happened.
    ///
    /// Response bodies are not content-decoded: nothing downstream reads
    /// them (trackers are found and decoded from requests), and inflating
    /// them was a tenth of an HTTP/1 run. A response that declares a coding
    /// keeps its bytes as recorded (de-chunked, capped at
    /// `max_body_encoded`) with [`BodyState::Undecoded`] and
    /// [`RESPONSE_NOT_DECODED`] as the reason; it gets no
    /// `body.decode-failed` and no decoded-size `body.too-large`
    /// diagnostic. A response without codings is kept as before.
    pub fn finish_body(
        &self,
        out: &mut Vec<Emitted>,
        collected: BodyBuffer,
        message: &Assembly,
        frames: &[u64],
        h2_stream: Option<u32>,
    ) -> Option<Body> {
        let headers = message.headers.as_slice();
        let damage = message.damage.as_deref();
        let content_decode = !matches!(message.start, Start::Response { .. });
        let BodyBuffer {
            data,
            seen,
            overflow,
            ..
        } = collected;
        if seen == 0 && damage.is_none() {
            return None;
        }
        let content_encoding = coding_tokens(headers_named(headers, "content-encoding"));
        let mut codings = content_encoding.clone();
        // Transfer codings other than `chunked` were applied after the
        // content codings, so they are undone first (they come last here).
        codings.extend(
            coding_tokens(headers_named(headers, "transfer-encoding"))
                .into_iter()
                .filter(|t| !t.eq_ignore_ascii_case("chunked")),
        );
        let max = self.limits.max_body_decoded;
        if !content_decode
            && codings
                .iter()
                .any(|t| content::Coding::parse(t) != content::Coding::Identity)
        {
            let state = if let Some(reason) = damage {
                BodyState::Damaged {
                    reason: reason.to_owned(),
                }
            } else {
                if overflow {
                    self.wire_cap_reached(out, seen, frames, h2_stream);
                }
                BodyState::Undecoded {
                    reason: RESPONSE_NOT_DECODED.to_owned(),
                }
            };
            return Some(Body {
                data,
                mime_type: header(headers, "content-type").map(str::to_owned),
                content_encoding,
                state,
                source: BodySource::Wire,
            });
        }
        let decoded = if overflow || damage.is_some() {
            content::decode_body_prefix(data, &codings, max)
        } else {
            content::decode_body(data, &codings, max)
        };
        let state = if let Some(reason) = damage {
            BodyState::Damaged {
                reason: reason.to_owned(),
            }
        } else if overflow {
            BodyState::Truncated {
                limit: self.wire_cap_reached(out, seen, frames, h2_stream),
            }
        } else {
            match &decoded.state {
                BodyState::Truncated { limit } => self.diagnostic(
                    out,
                    Severity::Warning,
                    content::TOO_LARGE,
                    format!("decoded body cut at the {limit}-byte cap"),
                    frames,
                    h2_stream,
                ),
                BodyState::Undecoded { reason } => self.diagnostic(
                    out,
                    Severity::Warning,
                    content::DECODE_FAILED,
                    reason.clone(),
                    frames,
                    h2_stream,
                ),
                BodyState::Complete | BodyState::Damaged { .. } => {}
            }
            decoded.state
        };
        Some(Body {
            data: decoded.data,
            mime_type: header(headers, "content-type").map(str::to_owned),
            content_encoding,
            state,
            source: BodySource::Wire,
        })
    }

    /// Reports a body cut at `max_body_encoded`; returns that cap.
    fn wire_cap_reached(
        &self,
        out: &mut Vec<Emitted>,
        seen: u64,
        frames: &[u64],
        h2_stream: Option<u32>,
    ) -> u64 {
        let limit = u64::try_from(self.limits.max_body_encoded).unwrap_or(u64::MAX);
        self.diagnostic(
            out,
            Severity::Warning,
            content::TOO_LARGE,
            format!("body of {seen} bytes on the wire cut at the {limit}-byte cap"),
            frames,
            h2_stream,
        );
        limit
    }
}

/// The [`BodyState::Undecoded`] reason of a content-coded response body.
pub(crate) const RESPONSE_NOT_DECODED: &str = "response bodies are not content-decoded";

/// The first line of a message (HTTP/2: its pseudo-headers).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Start {
    Request {
        method: String,
        target: String,
        version: &'static str,
    },
    Response {
        status: u16,
        version: &'static str,
    },
    /// An HTTP/2 header block that could not be decoded.
    Unknown {
        version: &'static str,
    },
}

impl Start {
    /// The start of an HTTP/2 or HTTP/3 message from its pseudo-header
    /// fields (`:method` and `:path` of a request, `:status` of a response).
    pub(crate) fn from_pseudo_headers(
        direction: pixelscope_capture::Direction,
        fields: &[Header],
        version: &'static str,
    ) -> Start {
        match direction {
            pixelscope_capture::Direction::ToServer => Start::Request {
                method: header(fields, ":method").unwrap_or_default().to_owned(),
                target: header(fields, ":path").unwrap_or_default().to_owned(),
                version,
            },
            pixelscope_capture::Direction::ToClient => {
                match header(fields, ":status").and_then(|s| s.trim().parse().ok()) {
                    Some(status) => Start::Response { status, version },
                    None => Start::Unknown { version },
                }
            }
        }
    }

    fn version(&self) -> Option<String> {
        match self {
            Start::Request { version, .. }
            | Start::Response { version, .. }
            | Start::Unknown { version } => Some((*version).to_owned()),
        }
    }
}

/// A message whose body is complete (or will never be), ready to pair.
#[derive(Debug)]
pub(crate) struct Finished {
    pub start: Start,
    pub headers: Vec<Header>,
    pub body: Option<Body>,
    pub frames: Vec<u64>,
    pub time: Timestamp,
}

/// A message being read: head known, body arriving.
#[derive(Debug)]
pub(crate) struct Assembly {
    pub start: Start,
    pub headers: Vec<Header>,
    pub body: BodyBuffer,
    pub frames: Vec<u64>,
    pub time: Timestamp,
    /// Why the body is incomplete, once the recording lost part of it.
    pub damage: Option<String>,
}

impl Assembly {
    pub fn new(start: Start, headers: Vec<Header>, time: Timestamp, max_body: usize) -> Assembly {
        Assembly {
            start,
            headers,
            body: BodyBuffer::new(max_body),
            frames: Vec::new(),
            time,
            damage: None,
        }
    }

    pub fn add_frames(&mut self, frames: &[u64]) {
        // Consecutive pieces of one chunk name the same frames; skip repeats
        // cheaply here and sort/dedup once at the end.
        if self.frames.ends_with(frames) {
            return;
        }
        self.frames.extend_from_slice(frames);
    }

    /// Marks the body as damaged; bytes that arrive later are not appended
    /// (that would splice across the hole).
    pub fn damage(&mut self, reason: String) {
        if self.damage.is_none() {
            self.damage = Some(reason);
        }
        self.body.frozen = true;
    }

    pub fn finish(
        mut self,
        ctx: &Context,
        out: &mut Vec<Emitted>,
        h2_stream: Option<u32>,
    ) -> Finished {
        let mut frames = std::mem::take(&mut self.frames);
        frames.sort_unstable();
        frames.dedup();
        let collected = std::mem::take(&mut self.body);
        let body = ctx.finish_body(out, collected, &self, &frames, h2_stream);
        Finished {
            start: self.start,
            headers: self.headers,
            body,
            frames,
            time: self.time,
        }
    }
}

/// The bytes of a body as they arrive (after transfer framing), capped.
#[derive(Debug, Default)]
pub(crate) struct BodyBuffer {
    pub data: Vec<u8>,
    /// Bytes offered, including those beyond the cap.
    pub seen: u64,
    pub overflow: bool,
    /// Set after a gap: later bytes are counted, not kept.
    pub frozen: bool,
    max: usize,
}

impl BodyBuffer {
    pub fn new(max: usize) -> BodyBuffer {
        BodyBuffer {
            max,
            ..BodyBuffer::default()
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.seen = self
            .seen
            .saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        if self.frozen {
            return;
        }
        let room = self.max.saturating_sub(self.data.len());
        if bytes.len() > room {
            self.overflow = true;
            self.data
                .extend_from_slice(bytes.get(..room).unwrap_or_default());
        } else {
            self.data.extend_from_slice(bytes);
        }
    }
}

fn frames_field(mut frames: Vec<u64>) -> Option<Vec<u64>> {
    frames.sort_unstable();
    frames.dedup();
    if frames.is_empty() {
        None
    } else {
        Some(frames)
    }
}

pub(crate) fn header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

pub(crate) fn headers_named<'a>(
    headers: &'a [Header],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// Cookies from every `Cookie` header (HTTP/2 may split them into several
/// fields), in order. A pair without `=` is kept as a name with an empty value.
pub(crate) fn parse_cookies(headers: &[Header]) -> Vec<Cookie> {
    headers_named(headers, "cookie")
        .flat_map(|value| value.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => Cookie {
                name: name.trim().to_owned(),
                value: value.trim().to_owned(),
            },
            None => Cookie {
                name: pair.to_owned(),
                value: String::new(),
            },
        })
        .collect()
}

pub(crate) fn to_header(name: &[u8], value: &[u8]) -> Header {
    Header {
        name: lossy_string(name),
        value: lossy_string(value),
    }
}

/// `String::from_utf8_lossy(bytes).into_owned()`, with the common valid
/// case taking the faster validation of `str::from_utf8` (headers are
/// read for every message).
fn lossy_string(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn header_bytes_that_are_not_utf8_are_kept_lossily() {
        let header = to_header(b"x-caf\xe9", b"ok \xff\xfe end");
        assert_eq!(header.name, "x-caf\u{fffd}");
        assert_eq!(header.value, "ok \u{fffd}\u{fffd} end");
        assert_eq!(to_header(b"host", b"example.com").value, "example.com");
    }

    #[test]
    fn cookies_are_collected_from_every_cookie_field() {
        let cookies = parse_cookies(&[
            h("cookie", "_fbp=fb.1.2; _ttp=abc"),
            h("x", "y"),
            h("Cookie", "flag; a=b=c"),
        ]);
        let pairs: Vec<(&str, &str)> = cookies
            .iter()
            .map(|c| (c.name.as_str(), c.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("_fbp", "fb.1.2"),
                ("_ttp", "abc"),
                ("flag", ""),
                ("a", "b=c")
            ]
        );
    }

    #[test]
    fn body_buffer_keeps_the_first_bytes_up_to_its_cap() {
        let mut b = BodyBuffer::new(4);
        b.push(b"abc");
        b.push(b"def");
        assert_eq!(
            (b.data.as_slice(), b.seen, b.overflow),
            (&b"abcd"[..], 6, true)
        );
    }
}
