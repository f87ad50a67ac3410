//! Every readable layer of a request, as `(path, text)` pairs to search.
//!
//! Decoders list the fields they understand; identity matching must not
//! depend on that. This module walks the raw request instead: URL path,
//! query parameters, fragment, headers, cookies and the body (form lines,
//! JSON leaves, multipart parts, plain text), and inside each value its
//! percent-decoded layers, base64 payloads and gzip streams, to a fixed
//! depth and within a fixed budget so a hostile body cannot make it
//! expensive.

use crate::text::{decode_layers, looks_like_url, percent_decode, query_pairs, split_url};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD_INDIFFERENT, URL_SAFE_NO_PAD_INDIFFERENT};
use flate2::read::GzDecoder;
use pixelscope_model::Exchange;
use serde_json::Value;
use std::io::Read;

/// How deep nested encodings are followed (JSON in base64 in a query
/// value is three).
const MAX_NESTING: usize = 4;
/// Values collected per exchange at most.
const MAX_VALUES: usize = 20_000;
/// Text collected per exchange at most, in bytes.
const MAX_TEXT_BYTES: usize = 16 * 1024 * 1024;
/// Largest gzip output read from one stream.
pub(crate) const MAX_GUNZIP_BYTES: u64 = 4 * 1024 * 1024;

/// One searchable value and where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LayerValue {
    /// `ud[em]`, `batch[0].context.user.email`, `cookie:_fbp`,
    /// `header:referer`, `path`, `body`.
    pub path: String,
    pub text: String,
}

struct Collector {
    out: Vec<LayerValue>,
    bytes: usize,
}

impl Collector {
    fn full(&self) -> bool {
        self.out.len() >= MAX_VALUES || self.bytes >= MAX_TEXT_BYTES
    }

    fn push(&mut self, path: &str, text: &str) {
        if text.is_empty() || self.full() {
            return;
        }
        if self
            .out
            .iter()
            .rev()
            .take(4)
            .any(|v| v.path == path && v.text == text)
        {
            return;
        }
        self.bytes += text.len();
        self.out.push(LayerValue {
            path: path.to_owned(),
            text: text.to_owned(),
        });
    }

    /// Pushes a value and what is hidden inside it.
    fn expand(&mut self, path: &str, text: &str, plus_is_space: bool, depth: usize) {
        if self.full() {
            return;
        }
        for layer in decode_layers(text, plus_is_space).iter() {
            self.push(path, layer);
            if depth >= MAX_NESTING {
                continue;
            }
            let trimmed = layer.trim();
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                if let Ok(json) = serde_json::from_str::<Value>(trimmed) {
                    self.json(path, &json, depth + 1);
                }
            } else if let Some(decoded) = base64_text(trimmed) {
                self.expand(path, &decoded, false, depth + 1);
            }
        }
    }

    fn json(&mut self, prefix: &str, value: &Value, depth: usize) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    self.json(&path, child, depth);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    self.json(&format!("{prefix}[{index}]"), child, depth);
                }
            }
            Value::String(text) => self.expand(prefix, text, looks_like_url(text), depth),
            Value::Number(n) => self.push(prefix, &n.to_string()),
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn form(&mut self, prefix: &str, text: &str, depth: usize) {
        for line in text.lines() {
            for (key, value) in query_pairs(line) {
                let path = if prefix.is_empty() {
                    key.into_owned()
                } else {
                    format!("{prefix}.{key}")
                };
                self.expand(&path, &value, false, depth);
            }
        }
    }
}

/// Every layer of the request of `exchange`.
pub(crate) fn collect(exchange: &Exchange) -> Vec<LayerValue> {
    let mut c = Collector {
        out: Vec::new(),
        bytes: 0,
    };
    let request = &exchange.request;
    if let Some(parts) = split_url(&request.url).or_else(|| relative_parts(&request.url)) {
        c.push("path", &percent_decode(parts.path, false));
        for segment in parts.path.split(['/', ';']) {
            c.expand("path", segment, false, 1);
        }
        if let Some(query) = parts.query {
            c.form("", query, 1);
        }
        if let Some(fragment) = parts.fragment {
            c.expand("fragment", fragment, true, 1);
            c.form("fragment", fragment, 1);
        }
    }
    for header in &request.headers {
        let name = header.name.to_ascii_lowercase();
        if name == "cookie" {
            if request.cookies.is_empty() {
                for pair in header.value.split(';') {
                    let (cookie, value) = pair.trim().split_once('=').unwrap_or((pair.trim(), ""));
                    c.expand(&format!("cookie:{cookie}"), value, false, 1);
                }
            }
            continue;
        }
        c.expand(&format!("header:{name}"), &header.value, false, 1);
    }
    for cookie in &request.cookies {
        c.expand(&format!("cookie:{}", cookie.name), &cookie.value, false, 1);
    }
    if let Some(body) = &request.body {
        body_layers(&mut c, &body.data, body.mime_type.as_deref(), 0);
    }
    c.out
}

/// The path and query of a relative request target (`/tr?id=1`).
fn relative_parts(url: &str) -> Option<crate::text::UrlParts<'_>> {
    if !url.starts_with('/') || url.starts_with("//") {
        return None;
    }
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    Some(crate::text::UrlParts {
        host: "",
        path,
        query,
        fragment,
    })
}

fn body_layers(c: &mut Collector, data: &[u8], mime: Option<&str>, depth: usize) {
    let inflated;
    let bytes = if data.starts_with(&[0x1f, 0x8b]) {
        match gunzip(data) {
            Some(out) => {
                inflated = out;
                &inflated
            }
            None => data,
        }
    } else {
        data
    };
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return;
    }
    c.push("body", trimmed);
    if let Some(boundary) = multipart_boundary(mime.unwrap_or(""), trimmed) {
        for (name, value) in multipart_parts(trimmed, &boundary) {
            c.expand(&name, &value, false, 1);
        }
        return;
    }
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(json) = serde_json::from_str::<Value>(trimmed)
    {
        c.json("", &json, 1);
        return;
    }
    if depth < 2 {
        // A body that is base64 text (LinkedIn `/wa/`: base64 of gzip of
        // JSON) is read as the body it encodes.
        if let Some(decoded) = base64_text(trimmed) {
            body_layers(c, decoded.as_bytes(), None, depth + 1);
            return;
        }
    }
    if trimmed.contains('=') && !trimmed.contains(['<', '{']) {
        c.form("", trimmed, 1);
    }
}

fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let read = GzDecoder::new(data)
        .take(MAX_GUNZIP_BYTES)
        .read_to_end(&mut out);
    // A truncated stream still yields what was inflated before the cut.
    match read {
        Ok(_) => Some(out),
        Err(_) if !out.is_empty() => Some(out),
        Err(_) => None,
    }
}

/// The text inside a base64 or base64url value (possibly gzip inside),
/// when it decodes to readable UTF-8. Short values and hash-sized values
/// are left alone: they are identifiers, not containers.
fn base64_text(text: &str) -> Option<String> {
    let len = text.len();
    if len < 16 || matches!(len, 22..=24 | 27 | 28 | 43 | 44 | 86..=88) || len % 4 == 1 {
        return None;
    }
    let body = text.trim_end_matches('=');
    if !body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
    {
        return None;
    }
    if body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = if body.contains(['-', '_']) {
        URL_SAFE_NO_PAD_INDIFFERENT.decode(body).ok()?
    } else {
        STANDARD_NO_PAD_INDIFFERENT.decode(body).ok()?
    };
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(&bytes)?
    } else {
        bytes
    };
    let decoded = String::from_utf8(bytes).ok()?;
    let printable = decoded
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    (printable * 10 >= decoded.chars().count() * 9).then_some(decoded)
}

fn multipart_boundary(mime: &str, body: &str) -> Option<String> {
    if mime.to_ascii_lowercase().starts_with("multipart/") {
        // The boundary is case-sensitive; only the parameter name is not.
        let declared = mime.split(';').find_map(|p| {
            let (name, value) = p.trim().split_once('=')?;
            name.eq_ignore_ascii_case("boundary")
                .then(|| value.trim().trim_matches('"').to_owned())
        });
        if declared.is_some() {
            return declared;
        }
    }
    // Sniff: a body that starts with `--token` on its own line.
    let first = body.lines().next()?.trim_end_matches('\r');
    let token = first.strip_prefix("--")?;
    (!token.is_empty() && !token.contains(' ') && body.contains("Content-Disposition"))
        .then(|| token.to_owned())
}

/// `(name, value)` of each part of a multipart body.
fn multipart_parts(body: &str, boundary: &str) -> Vec<(String, String)> {
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    for part in body.split(delimiter.as_str()) {
        let part = part.trim_start_matches(['\r', '\n']);
        if part.is_empty() || part.starts_with("--") {
            continue;
        }
        let (head, value) = match part
            .split_once("\r\n\r\n")
            .or_else(|| part.split_once("\n\n"))
        {
            Some(split) => split,
            None => continue,
        };
        let name = head
            .split(';')
            .find_map(|p| p.trim().strip_prefix("name="))
            .map(|n| n.trim().trim_matches('"').to_owned())
            .unwrap_or_else(|| "part".to_owned());
        out.push((name, value.trim_end_matches(['\r', '\n']).to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use pixelscope_model::{Body, Cookie, Header, Request};
    use std::io::Write;

    fn exchange(url: &str, body: Option<(&[u8], &str)>) -> Exchange {
        Exchange {
            request: Request {
                method: "POST".into(),
                url: url.into(),
                headers: vec![Header {
                    name: "Referer".into(),
                    value: "https://shop.example/a?q=x".into(),
                }],
                cookies: vec![Cookie {
                    name: "_fbp".into(),
                    value: "fb.1.2.3".into(),
                }],
                body: body.map(|(data, mime)| Body {
                    data: data.to_vec(),
                    mime_type: Some(mime.into()),
                    ..Body::default()
                }),
                ..Request::default()
            },
            ..Exchange::default()
        }
    }

    fn texts_at<'a>(values: &'a [LayerValue], path: &str) -> Vec<&'a str> {
        values
            .iter()
            .filter(|v| v.path == path)
            .map(|v| v.text.as_str())
            .collect()
    }

    #[test]
    fn query_values_are_decoded_in_layers_and_json_is_flattened() {
        let values = collect(&exchange(
            "https://t.example/c?p1=e%3Dce%26m%3D%255Btest%252540test.com%255D&ed=%7B%22em%22%3A%22abc%22%7D",
            None,
        ));
        assert!(texts_at(&values, "p1").contains(&"e=ce&m=[test@test.com]"));
        assert_eq!(texts_at(&values, "ed.em"), vec!["abc"]);
        assert_eq!(texts_at(&values, "cookie:_fbp"), vec!["fb.1.2.3"]);
        assert!(texts_at(&values, "header:referer").contains(&"https://shop.example/a?q=x"));
    }

    #[test]
    fn gzip_bodies_and_base64_gzip_json_are_opened() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(br#"{"batch":[{"context":{"user":{"email":"a@b.org"}}}]}"#)
            .unwrap();
        let zipped = gz.finish().unwrap();
        let values = collect(&exchange(
            "https://t.example/batch",
            Some((&zipped, "application/json")),
        ));
        assert_eq!(
            texts_at(&values, "batch[0].context.user.email"),
            vec!["a@b.org"]
        );

        let b64 = base64::engine::general_purpose::STANDARD.encode(&zipped);
        let values = collect(&exchange(
            "https://t.example/wa",
            Some((b64.as_bytes(), "text/plain")),
        ));
        assert_eq!(
            texts_at(&values, "batch[0].context.user.email"),
            vec!["a@b.org"]
        );
    }

    #[test]
    fn form_lines_and_multipart_parts_become_values() {
        let values = collect(&exchange(
            "https://t.example/g",
            Some((b"en=a&x=1\nen=b&ud%5Bem%5D=h", "text/plain")),
        ));
        assert_eq!(texts_at(&values, "ud[em]"), vec!["h"]);
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"ud[em]\"\r\n\r\nabc\r\n--XyZ--\r\n";
        let values = collect(&exchange(
            "https://t.example/tr",
            Some((body, "multipart/form-data; boundary=XyZ")),
        ));
        assert_eq!(texts_at(&values, "ud[em]"), vec!["abc"]);
    }

    #[test]
    fn hostile_gzip_is_bounded() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&vec![b'a'; 6 * 1024 * 1024]).unwrap();
        let zipped = gz.finish().unwrap();
        let values = collect(&exchange(
            "https://t.example/x",
            Some((&zipped, "text/plain")),
        ));
        let body = texts_at(&values, "body");
        assert!(
            body.first()
                .is_some_and(|b| b.len() as u64 <= MAX_GUNZIP_BYTES)
        );
    }
}
