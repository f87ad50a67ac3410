//! Recognising what a request body is, from its bytes.
//!
//! Beacons routinely lie about their type (`text/plain` JSON from
//! `sendBeacon`), so the shape is sniffed: the first non-space byte, a
//! multipart delimiter line, gzip magic, base64 text that hides JSON or
//! gzip. The declared type is only used for the multipart boundary.

use super::{encoding, json, multipart, query};
use serde_json::Value;

/// The most a layer of application-level compression may expand to.
pub const INFLATE_LIMIT: u64 = 8 * 1024 * 1024;

/// What a body turned out to be.
#[derive(Clone, Debug, PartialEq)]
pub enum BodyShape<'a> {
    /// No bytes (or only white space).
    Empty,
    /// A JSON document. `layers` lists the encodings removed to reach it,
    /// outermost first (`["base64", "gzip"]`); empty when it was plain.
    Json {
        value: Value,
        layers: Vec<&'static str>,
    },
    /// It starts like JSON but does not parse.
    BrokenJson {
        error: String,
    },
    Multipart(Vec<multipart::Part>),
    /// `key=value&…` text (one line; callers that expect one record per
    /// line split the raw bytes themselves).
    Form(Vec<query::Param<'a>>),
    /// Other text.
    Text(String),
    /// Other bytes.
    Binary,
}

/// Sniffs a body. `content_type` is used only to find a multipart boundary.
pub fn sniff<'a>(data: &'a [u8], content_type: Option<&str>) -> BodyShape<'a> {
    sniff_layers(data, content_type, Vec::new())
}

fn sniff_layers<'a>(
    data: &'a [u8],
    content_type: Option<&str>,
    layers: Vec<&'static str>,
) -> BodyShape<'a> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return BodyShape::Empty;
    }
    if let Some(parsed) = json::sniff(data) {
        return match parsed {
            Ok(value) => BodyShape::Json { value, layers },
            Err(error) => BodyShape::BrokenJson { error },
        };
    }
    if layers.len() < 3 && encoding::is_gzip(data) {
        return match encoding::gunzip_bounded(data, INFLATE_LIMIT) {
            Ok(inflated) => sniff_layers(&inflated, None, with(layers, "gzip")).into_owned(),
            Err(_) => BodyShape::Binary,
        };
    }
    let boundary = content_type
        .and_then(multipart::boundary_from_content_type)
        .or_else(|| multipart::sniff_boundary(data));
    if let Some(parts) = boundary.and_then(|b| multipart::parse(data, &b)) {
        return BodyShape::Multipart(parts);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return BodyShape::Binary;
    };
    let trimmed = text.trim();
    if layers.len() < 3
        && let Some((bytes, variant)) = encoding::decode_base64(trimmed)
        && (json::sniff(&bytes).is_some_and(|r| r.is_ok()) || encoding::is_gzip(&bytes))
    {
        return sniff_layers(&bytes, None, with(layers, variant.as_str())).into_owned();
    }
    if looks_like_form(trimmed) {
        return BodyShape::Form(query::parse(trimmed));
    }
    BodyShape::Text(text.to_owned())
}

impl BodyShape<'_> {
    /// The same shape, owning its texts (for a layer decoded into a
    /// buffer that does not outlive the sniffing).
    pub fn into_owned(self) -> BodyShape<'static> {
        match self {
            BodyShape::Empty => BodyShape::Empty,
            BodyShape::Json { value, layers } => BodyShape::Json { value, layers },
            BodyShape::BrokenJson { error } => BodyShape::BrokenJson { error },
            BodyShape::Multipart(parts) => BodyShape::Multipart(parts),
            BodyShape::Form(params) => {
                BodyShape::Form(params.into_iter().map(query::Param::into_owned).collect())
            }
            BodyShape::Text(text) => BodyShape::Text(text),
            BodyShape::Binary => BodyShape::Binary,
        }
    }
}

fn with(mut layers: Vec<&'static str>, layer: &'static str) -> Vec<&'static str> {
    layers.push(layer);
    layers
}

/// `key=value` text: the first token has a non-empty key free of spaces
/// and quotes, followed by `=`.
pub fn looks_like_form(text: &str) -> bool {
    let first = text.split('&').next().unwrap_or_default();
    match first.split_once('=') {
        Some((key, _)) => {
            !key.is_empty()
                && !key
                    .bytes()
                    .any(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'{' | b'<'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use std::io::Write;

    #[test]
    fn json_is_found_whatever_the_label_says() {
        assert!(matches!(
            sniff(
                b"{\"event\":\"Pageview\"}",
                Some("text/plain;charset=UTF-8")
            ),
            BodyShape::Json { .. }
        ));
        assert!(matches!(
            sniff(b"{\"event\":", None),
            BodyShape::BrokenJson { .. }
        ));
    }

    #[test]
    fn base64_gzip_json_is_unwrapped_with_its_layers() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(b"{\"signalType\":\"CLICK\"}").unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap());
        match sniff(text.as_bytes(), Some("text/plain")) {
            BodyShape::Json { layers, value } => {
                assert_eq!(layers, vec!["base64", "gzip"]);
                assert_eq!(value["signalType"], "CLICK");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn form_multipart_text_and_empty() {
        assert!(matches!(sniff(b"id=1&ev=Lead", None), BodyShape::Form(_)));
        assert!(matches!(
            sniff(
                b"--b\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n1\r\n--b--\r\n",
                None
            ),
            BodyShape::Multipart(_)
        ));
        assert!(matches!(sniff(b"hello world", None), BodyShape::Text(_)));
        assert!(matches!(sniff(b"  \n", None), BodyShape::Empty));
        assert!(matches!(
            sniff(&[0xff, 0xfe, 0x00], None),
            BodyShape::Binary
        ));
    }
}
