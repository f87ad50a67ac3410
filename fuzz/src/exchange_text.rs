//! An HTTP request as text, for the decoder and analyzer targets.
//!
//! ```text
//! METHOD URL\n
//! Name: value\n          (any number of header lines)
//! \n
//! body bytes             (anything, to the end)
//! ```
//!
//! `Content-Type` becomes the body's media type, `Content-Encoding` its
//! declared codings (the body is left as given, as a HAR with an encoded
//! `text` would), `Cookie` headers become cookies. The first byte of the
//! body decides nothing: it is all payload.

use pixelscope_model::{
    Body, BodySource, BodyState, Cookie, Exchange, Header, InputFormat, Origin, Request, Timestamp,
};

/// Builds an exchange from `bytes` (lossy UTF-8 for the text parts).
pub fn parse(bytes: &[u8]) -> Exchange {
    let (head, body) = match find(bytes, b"\n\n") {
        Some(at) => (
            bytes.get(..at).unwrap_or_default(),
            bytes.get(at + 2..).map(<[u8]>::to_vec),
        ),
        None => (bytes, None),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let first = lines.next().unwrap_or_default();
    let (method, url) = first.split_once(' ').unwrap_or(("GET", first));
    let mut headers = Vec::new();
    let mut cookies = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.trim_start();
        if name.eq_ignore_ascii_case("cookie") {
            for pair in value.split(';') {
                let (n, v) = pair.trim().split_once('=').unwrap_or((pair.trim(), ""));
                cookies.push(Cookie {
                    name: n.to_owned(),
                    value: v.to_owned(),
                });
            }
        }
        headers.push(Header {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    }
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(wanted))
            .map(|h| h.value.clone())
    };
    let mime_type = header("content-type");
    let content_encoding: Vec<String> = header("content-encoding")
        .map(|v| v.split(',').map(|t| t.trim().to_owned()).collect())
        .unwrap_or_default();
    let page_url = header("referer");
    let body = body.map(|data| Body {
        data,
        mime_type,
        content_encoding,
        state: BodyState::Complete,
        source: BodySource::HarText,
    });
    let mut origin = Origin::file("fuzz.har", None, InputFormat::Har);
    origin.entry = Some(0);
    Exchange {
        request: Request {
            method: method.to_owned(),
            url: url.to_owned(),
            http_version: Some("HTTP/1.1".to_owned()),
            headers,
            cookies,
            body,
        },
        response: None,
        time: Some(Timestamp(1_700_000_000_000_000_000)),
        origin,
        page_url,
        extra: Default::default(),
    }
}

/// The text form of a request (for seeds).
pub fn encode(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {url}\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
