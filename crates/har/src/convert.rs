//! One lenient HAR entry → one [`Exchange`] plus the diagnostics it earned.
//!
//! The rules that matter for evidence live here: which body bytes are kept
//! and how they are labelled ([`BodySource`], [`BodyState`]), and which
//! recording artefacts are flagged instead of trusted (a compressed request
//! body that the browser stored as text, a body the export dropped).

use crate::entry::{
    HarContent, HarEntry, HarPair, HarParam, HarPostData, HarRequest, HarResponse, RawText, Text,
};
use base64::Engine;
use pixelscope_model::{
    Body, BodySource, BodyState, Cookie, Diagnostic, Exchange, Header, Origin, Request, Response,
    Timestamp,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// What the reader needs to know to map one entry.
pub(crate) struct EntryContext<'c> {
    /// The caller's origin with `entry` set to this entry's index; it moves
    /// into the exchange.
    pub origin: Origin,
    pub index: u64,
    /// Page id → page URL (if one could be found), from `/log/pages`.
    pub pages: &'c HashMap<String, Option<String>>,
}

/// An entry mapped to the model.
pub(crate) struct Converted {
    pub exchange: Exchange,
    pub diagnostics: Vec<Diagnostic>,
    /// The entry carried a cookie (array element or `Cookie`/`Set-Cookie`
    /// header).
    pub cookies_seen: bool,
    /// The entry names a page that was not listed (before the entries).
    pub pageref_unresolved: bool,
}

pub(crate) fn convert(entry: HarEntry<'_>, cx: EntryContext<'_>) -> Converted {
    let mut diagnostics = Vec::new();
    let mut cookies_seen = false;

    let time = match entry.started.as_str().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            let parsed = Timestamp::parse_rfc3339(text);
            if parsed.is_none() {
                diagnostics.push(Diagnostic::warning(
                    "har.time-invalid",
                    format!("entry {}: startedDateTime {:?} is not an RFC 3339 date-time; the time is unknown", cx.index, clip(text)),
                    cx.origin.clone(),
                ));
            }
            parsed
        }
    };

    let (page_url, pageref_unresolved) = match entry.pageref.as_str() {
        None | Some("") => (None, false),
        Some(id) => match cx.pages.get(id) {
            Some(url) => (url.clone(), false),
            None => (None, true),
        },
    };

    let request = match entry.request {
        Some(request) => convert_request(request, &cx, &mut diagnostics, &mut cookies_seen),
        None => {
            diagnostics.push(Diagnostic::warning(
                "har.request-missing",
                format!(
                    "entry {} has no request; method and URL are unknown",
                    cx.index
                ),
                cx.origin.clone(),
            ));
            Request::default()
        }
    };
    let mut extra: BTreeMap<String, serde_json::Value> = entry.extra.into_iter().collect();
    let response = entry.response.map(|mut r| {
        // Kept beside the entry's own fields, prefixed so they cannot clash.
        for (key, value) in r.extra.drain(..) {
            extra.insert(format!("response.{key}"), value);
        }
        convert_response(r, &mut cookies_seen)
    });

    Converted {
        exchange: Exchange {
            request,
            response,
            time,
            origin: cx.origin,
            page_url,
            extra,
        },
        diagnostics,
        cookies_seen,
        pageref_unresolved,
    }
}

fn convert_request(
    har: HarRequest<'_>,
    cx: &EntryContext<'_>,
    diagnostics: &mut Vec<Diagnostic>,
    cookies_seen: &mut bool,
) -> Request {
    let headers = headers(har.headers.0);
    let cookies: Vec<Cookie> = har
        .cookies
        .0
        .into_iter()
        .map(|c| Cookie {
            name: owned(c.name),
            value: owned(c.value),
        })
        .collect();
    *cookies_seen |= !cookies.is_empty() || has_header(&headers, "cookie");
    let body = request_body(har.post_data, &headers, cx, diagnostics);
    Request {
        method: owned(har.method),
        url: owned(har.url),
        http_version: har.http_version.into_string().filter(|v| !v.is_empty()),
        headers,
        cookies,
        body,
    }
}

fn convert_response(har: HarResponse<'_>, cookies_seen: &mut bool) -> Response {
    let headers = headers(har.headers.0);
    *cookies_seen |= !har.cookies.0.is_empty() || has_header(&headers, "set-cookie");
    let body = har
        .content
        .and_then(|content| response_body(content, &headers));
    Response {
        status: har.status.as_u16(),
        http_version: har.http_version.into_string().filter(|v| !v.is_empty()),
        headers,
        body,
    }
}

fn headers(pairs: Vec<HarPair<'_>>) -> Vec<Header> {
    pairs
        .into_iter()
        .map(|h| Header {
            name: owned(h.name),
            value: owned(h.value),
        })
        .collect()
}

fn owned(text: Text<'_>) -> String {
    text.into_string().unwrap_or_default()
}

fn has_header(headers: &[Header], name: &str) -> bool {
    headers.iter().any(|h| h.name.eq_ignore_ascii_case(name))
}

fn header<'h>(headers: &'h [Header], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// `Content-Encoding` tokens as declared, in order, across repeated headers.
fn content_encoding(headers: &[Header]) -> Vec<String> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("content-encoding"))
        .flat_map(|h| h.value.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("identity"))
        .map(str::to_owned)
        .collect()
}

/// The first token that compresses the body, if any.
fn compressing(encoding: &[String]) -> Option<&str> {
    encoding.iter().map(String::as_str).find(|t| {
        ["gzip", "x-gzip", "br", "deflate", "zstd", "compress"]
            .iter()
            .any(|c| t.eq_ignore_ascii_case(c))
    })
}

fn request_body(
    post: Option<HarPostData<'_>>,
    headers: &[Header],
    cx: &EntryContext<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Body> {
    let content_encoding = content_encoding(headers);
    let declared_len = header(headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let post = post.unwrap_or_default();
    let mime_type = post
        .mime_type
        .into_string()
        .filter(|m| !m.is_empty())
        .or_else(|| header(headers, "content-type").map(str::to_owned));

    // Text wins over params unless it is empty (Insomnia writes both).
    let use_text = !post.text.is_empty() || (post.text.is_present() && post.params.0.is_empty());
    let (data, source, mut state) = if use_text {
        stored_text(post.text, post.encoding, "request", cx, diagnostics)
    } else if !post.params.0.is_empty() {
        let json = mime_type.as_deref().is_some_and(is_json_mime);
        let rebuilt = if json {
            params_as_json(&post.params.0)
        } else {
            params_as_form(&post.params.0)
        };
        (
            rebuilt.into_bytes(),
            BodySource::HarParams,
            BodyState::Complete,
        )
    } else {
        (Vec::new(), BodySource::HarText, BodyState::Complete)
    };

    if data.is_empty() {
        match declared_len {
            Some(len) if len > 0 => {
                let reason = format!(
                    "body lost: Content-Length is {len} but the HAR stores no request body"
                );
                diagnostics.push(Diagnostic::warning(
                    "har.body-lost",
                    format!("entry {}: {reason}", cx.index),
                    cx.origin.clone(),
                ));
                state = BodyState::Damaged { reason };
            }
            // Nothing stored and nothing announced: the request had no body.
            _ => return None,
        }
    } else if let Some(coding) = compressing(&content_encoding) {
        match source {
            BodySource::HarText => {
                // Browsers decode request bytes as text before storing them,
                // so a compressed body comes out with every invalid byte
                // replaced: the payload cannot be recovered from the HAR.
                let reason = format!(
                    "the request body is {coding}-compressed but the HAR stored it as text; the compressed bytes were mangled"
                );
                diagnostics.push(Diagnostic::warning(
                    "har.body-mangled",
                    format!("entry {}: {reason}", cx.index),
                    cx.origin.clone(),
                ));
                state = BodyState::Damaged { reason };
            }
            BodySource::HarBase64
                if state == BodyState::Complete && still_compressed(coding, &data) =>
            {
                state = BodyState::Undecoded {
                    reason: format!(
                        "the body is still {coding}-compressed; the HAR reader does not decompress"
                    ),
                };
            }
            _ => {}
        }
    }
    Some(Body {
        data,
        mime_type,
        content_encoding,
        state,
        source,
    })
}

/// What is kept of a response body: its description, not its bytes.
///
/// Nothing downstream reads response bodies (decoders and the analyzer look
/// at requests), and they are most of a HAR's bytes, so their text is
/// stepped over unread. The body is still reported as present, with its
/// media type, `Content-Encoding` and how the HAR stored it, and marked
/// honestly: `Truncated { limit: 0 }`, cut before its first byte. The bytes
/// stay in the file, at `/log/entries/N/response/content/text`.
fn response_body(content: HarContent<'_>, headers: &[Header]) -> Option<Body> {
    if !content.text.present {
        return None;
    }
    let mime_type = content
        .mime_type
        .into_string()
        .filter(|m| !m.is_empty())
        .or_else(|| header(headers, "content-type").map(str::to_owned));
    let base64 = content
        .encoding
        .as_str()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
    Some(Body {
        data: Vec::new(),
        mime_type,
        content_encoding: content_encoding(headers),
        state: BodyState::Truncated { limit: 0 },
        source: if base64 {
            BodySource::HarBase64
        } else {
            BodySource::HarText
        },
    })
}

/// A HAR `text` with its `encoding`: base64 decoded, anything else kept as
/// the text's UTF-8 bytes.
fn stored_text(
    text: RawText<'_>,
    encoding: Text<'_>,
    part: &str,
    cx: &EntryContext<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<u8>, BodySource, BodyState) {
    let text = text.0.unwrap_or_default();
    match encoding.as_str().map(str::trim) {
        None | Some("") => (text.into_owned(), BodySource::HarText, BodyState::Complete),
        Some(enc) if enc.eq_ignore_ascii_case("base64") => match decode_base64(&text) {
            Some(bytes) => (bytes, BodySource::HarBase64, BodyState::Complete),
            None => {
                let reason = "the text is marked base64 but is not valid base64; kept as recorded"
                    .to_owned();
                diagnostics.push(Diagnostic::warning(
                    "har.base64-invalid",
                    format!("entry {}: {part} body: {reason}", cx.index),
                    cx.origin.clone(),
                ));
                (
                    text.into_owned(),
                    BodySource::HarBase64,
                    BodyState::Undecoded { reason },
                )
            }
        },
        Some(enc) => {
            let reason = format!("unknown HAR encoding {:?}; kept as recorded", clip(enc));
            diagnostics.push(Diagnostic::warning(
                "har.encoding-unknown",
                format!("entry {}: {part} body: {reason}", cx.index),
                cx.origin.clone(),
            ));
            (
                text.into_owned(),
                BodySource::HarText,
                BodyState::Undecoded { reason },
            )
        }
    }
}

/// Standard base64 (the HAR spec's), tolerating missing padding and line
/// breaks; URL-safe as a last resort.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};
    let trimmed = text.trim_ascii();
    if let Ok(bytes) = STANDARD_PAD_INDIFFERENT.decode(trimmed) {
        return Some(bytes);
    }
    let compact: Vec<u8> = trimmed
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD_PAD_INDIFFERENT
        .decode(&compact)
        .or_else(|_| URL_SAFE_PAD_INDIFFERENT.decode(&compact))
        .ok()
}

/// Whether bytes still look compressed with `coding` (by magic number;
/// brotli has none, so it is assumed).
fn still_compressed(coding: &str, data: &[u8]) -> bool {
    let coding = coding.to_ascii_lowercase();
    match coding.as_str() {
        "gzip" | "x-gzip" => data.starts_with(&[0x1f, 0x8b]),
        "zstd" => data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
        // zlib header: CM = 8 and the check bits make the pair divisible by 31.
        "deflate" => {
            matches!(data, [a, b, ..] if a & 0x0f == 8 && (u16::from(*a) << 8 | u16::from(*b)) % 31 == 0)
        }
        "br" => true,
        _ => false,
    }
}

fn is_json_mime(mime: &str) -> bool {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json") || essence == "text/json"
}

/// `name=value&…` with form-urlencoding (space as `+`). Non-string values
/// are written as JSON text.
fn params_as_form(params: &[HarParam<'_>]) -> String {
    let mut out = String::new();
    for (i, param) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        form_encode(param.name.or_empty(), &mut out);
        out.push('=');
        match &param.value {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(s)) => form_encode(s, &mut out),
            Some(other) => form_encode(&other.to_string(), &mut out),
        }
    }
    out
}

fn form_encode(text: &str, out: &mut String) {
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

/// A JSON object rebuilt from chrome-har's params: one key per distinct
/// name in first-seen order; a repeated name (an array) becomes an array.
fn params_as_json(params: &[HarParam<'_>]) -> String {
    let mut order: Vec<(&str, Vec<&serde_json::Value>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for param in params {
        let name = param.name.or_empty();
        let value = param.value.as_ref().unwrap_or(&serde_json::Value::Null);
        match index.get(name).and_then(|&i| order.get_mut(i)) {
            Some((_, values)) => values.push(value),
            None => {
                index.insert(name, order.len());
                order.push((name, vec![value]));
            }
        }
    }
    let mut out = String::from("{");
    for (i, (name, values)) in order.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(*name).to_string());
        out.push(':');
        match values.as_slice() {
            [one] => out.push_str(&one.to_string()),
            many => {
                out.push('[');
                for (j, v) in many.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push_str(&v.to_string());
                }
                out.push(']');
            }
        }
    }
    out.push('}');
    out
}

/// At most 80 characters of hostile text for a message.
pub(crate) fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().take(80).collect();
    if clipped.len() < text.len() {
        clipped.push('…');
    }
    clipped
}

/// A page's URL: its `title` when that is a URL (Chrome, chrome-har), else
/// a URL-valued field that tools add (WebPageTest `_URL`, Browsertime
/// `_url`).
pub(crate) fn page_url(page: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    ["title", "_URL", "_url", "url", "_final_url"]
        .iter()
        .filter_map(|key| page.get(*key)?.as_str())
        .map(str::trim)
        .find(|value| looks_like_url(value))
        .map(str::to_owned)
}

fn looks_like_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::HarEntry;

    fn convert_json(json: &str) -> Converted {
        let pages = HashMap::from([("p1".to_owned(), Some("https://shop.example/".to_owned()))]);
        let entry: HarEntry<'_> = serde_json::from_str(json).unwrap();
        convert(
            entry,
            EntryContext {
                origin: Origin::default(),
                index: 0,
                pages: &pages,
            },
        )
    }

    fn codes(c: &Converted) -> Vec<&str> {
        c.diagnostics.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn chrome_har_json_params_become_a_json_body() {
        let c = convert_json(
            r#"{"request":{"method":"POST","url":"https://www.izettle.com/x","postData":{"mimeType":"application/json; charset=UTF-8",
            "params":[{"name":"window_width","value":1050},{"name":"included_in_sample","value":true},{"name":"tag","value":"a"},{"name":"tag","value":"b"},{"name":"o","value":{"k":1}}]}}}"#,
        );
        let body = c.exchange.request.body.clone().unwrap();
        assert_eq!(body.source, BodySource::HarParams);
        assert_eq!(
            String::from_utf8(body.data).unwrap(),
            r#"{"window_width":1050,"included_in_sample":true,"tag":["a","b"],"o":{"k":1}}"#
        );
    }

    #[test]
    fn form_params_are_urlencoded_when_text_is_absent() {
        let c = convert_json(
            r#"{"request":{"method":"POST","url":"https://www.facebook.com/tr/","postData":{"mimeType":"application/x-www-form-urlencoded",
            "params":[{"name":"ud[em]","value":"a b&c"},{"name":"ev","value":"PageView"},{"name":"n"}]}}}"#,
        );
        let body = c.exchange.request.body.clone().unwrap();
        assert_eq!(body.source, BodySource::HarParams);
        assert_eq!(body.data, b"ud%5Bem%5D=a+b%26c&ev=PageView&n=");
        assert_eq!(
            body.mime_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
    }

    #[test]
    fn gzip_request_body_stored_as_text_is_damaged() {
        let c = convert_json(
            r#"{"request":{"method":"POST","url":"https://analytics.tiktok.com/api/v2/pixel/batch",
            "headers":[{"name":"Content-Encoding","value":"gzip"}],"postData":{"mimeType":"application/json","text":"\u001f\ufffd\b\u0000\u0000"}}}"#,
        );
        let body = c.exchange.request.body.clone().unwrap();
        assert!(matches!(body.state, BodyState::Damaged { .. }));
        assert_eq!(body.content_encoding, vec!["gzip".to_owned()]);
        assert_eq!(codes(&c), vec!["har.body-mangled"]);
    }

    #[test]
    fn declared_length_without_stored_body_is_body_lost() {
        let c = convert_json(
            r#"{"request":{"method":"POST","url":"https://x.example/collect","headers":[{"name":"content-length","value":"120"}]}}"#,
        );
        let body = c.exchange.request.body.clone().unwrap();
        assert!(
            matches!(&body.state, BodyState::Damaged { reason } if reason.starts_with("body lost"))
        );
        assert_eq!(codes(&c), vec!["har.body-lost"]);
    }

    #[test]
    fn base64_bodies_are_decoded_and_bad_base64_is_kept() {
        let c = convert_json(
            r#"{"request":{"method":"POST","url":"https://analytics.google.com/g/collect","postData":{"mimeType":"text/plain","text":"ZW49dGVzdA==","encoding":"base64"}}}"#,
        );
        let request = c.exchange.request.body.clone().unwrap();
        assert_eq!(request.data, b"en=test");
        assert_eq!(request.source, BodySource::HarBase64);
        assert!(codes(&c).is_empty());
        let bad = convert_json(
            r#"{"request":{"method":"POST","url":"https://x.example/c","postData":{"mimeType":"text/plain","text":"%%%not base64","encoding":"base64"}}}"#,
        );
        let body = bad.exchange.request.body.clone().unwrap();
        assert_eq!(body.data, b"%%%not base64");
        assert!(matches!(body.state, BodyState::Undecoded { .. }));
        assert_eq!(codes(&bad), vec!["har.base64-invalid"]);
    }

    #[test]
    fn response_bodies_are_described_not_kept() {
        let c = convert_json(
            r#"{"request":{"method":"GET","url":"https://x.example/"},
            "response":{"status":200,"headers":[{"name":"Content-Encoding","value":"br"}],
                "content":{"mimeType":"text/html","text":"<p>\"page\"</p>\u00e9","encoding":"base64"}}}"#,
        );
        let body = c.exchange.response.clone().unwrap().body.unwrap();
        assert!(body.data.is_empty());
        assert_eq!(body.state, BodyState::Truncated { limit: 0 });
        assert_eq!(body.source, BodySource::HarBase64);
        assert_eq!(body.mime_type.as_deref(), Some("text/html"));
        assert_eq!(body.content_encoding, vec!["br".to_owned()]);
        // Not even checked as base64: nobody reads it.
        assert!(codes(&c).is_empty());
        let absent = convert_json(
            r#"{"request":{"method":"GET","url":"https://x.example/"},"response":{"status":204,"content":{"size":0,"text":null}}}"#,
        );
        assert_eq!(absent.exchange.response.unwrap().body, None);
    }

    #[test]
    fn pageref_bad_time_and_cookie_detection() {
        let c = convert_json(
            r#"{"pageref":"p1","startedDateTime":"yesterday","request":{"method":"GET","url":"https://x/","headers":[{"name":"Cookie","value":"_fbp=fb.1"}]}}"#,
        );
        assert_eq!(
            c.exchange.page_url.as_deref(),
            Some("https://shop.example/")
        );
        assert_eq!(c.exchange.time, None);
        assert!(c.cookies_seen);
        assert_eq!(codes(&c), vec!["har.time-invalid"]);
        let other =
            convert_json(r#"{"pageref":"p9","request":{"method":"GET","url":"https://x/"}}"#);
        assert!(other.pageref_unresolved && !other.cookies_seen);
    }

    #[test]
    fn page_url_prefers_a_url_title_then_url_fields() {
        let page = |v: serde_json::Value| page_url(v.as_object().unwrap());
        assert_eq!(
            page(serde_json::json!({"title": "https://a/"})).as_deref(),
            Some("https://a/")
        );
        assert_eq!(
            page(serde_json::json!({"title": "Run 1", "_URL": "http://b/"})).as_deref(),
            Some("http://b/")
        );
        assert_eq!(page(serde_json::json!({"title": "Signed out"})), None);
    }
}
