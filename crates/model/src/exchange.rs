//! One HTTP request and its response, as a producer recovered it.

use crate::{Origin, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One HTTP request, its response if one was seen, and where both were found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub request: Request,
    pub response: Option<Response>,
    /// When the request started (UTC).
    pub time: Option<Timestamp>,
    pub origin: Origin,
    /// The page this request was made for, when the recording says so
    /// (HAR `pageref` → `pages[].title`, which browsers fill with the URL).
    pub page_url: Option<String>,
    /// Producer-specific facts kept for provenance, such as a HAR entry's
    /// `_initiator` or `_resourceType`. Keys keep their original spelling.
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// An HTTP request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub method: String,
    /// The absolute URL, exactly as recorded.
    pub url: String,
    /// `HTTP/1.1`, `HTTP/2`, … as recorded; `None` when unknown.
    pub http_version: Option<String>,
    /// Headers in wire order, duplicates kept.
    pub headers: Vec<Header>,
    /// Cookies sent with the request. HAR exports list them separately; for
    /// captures they are parsed from the `Cookie` header(s).
    pub cookies: Vec<Cookie>,
    pub body: Option<Body>,
}

/// An HTTP response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub status: Option<u16>,
    pub http_version: Option<String>,
    pub headers: Vec<Header>,
    pub body: Option<Body>,
}

/// A header line. Values that were not valid UTF-8 are kept lossily; the
/// exact bytes remain in the input file named by the exchange's origin.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// A cookie name and value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cookie {
    pub name: String,
    pub value: String,
}

/// A message body after transfer and content decoding.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// The bytes, content-decoded when [`BodyState::Complete`]; otherwise
    /// whatever could be recovered (see `state`).
    pub data: Vec<u8>,
    /// Declared media type (`Content-Type` or HAR `mimeType`).
    pub mime_type: Option<String>,
    /// `Content-Encoding` tokens as declared, in order (`["gzip"]`).
    pub content_encoding: Vec<String>,
    pub state: BodyState,
    pub source: BodySource,
}

/// Whether `Body::data` holds the whole, decoded body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum BodyState {
    /// Complete and content-decoded.
    #[default]
    Complete,
    /// Cut at `limit` bytes (a configured cap); `data` holds the first part.
    Truncated { limit: u64 },
    /// The body could not be decoded; `data` holds the bytes as recorded.
    Undecoded { reason: String },
    /// The recording lost (part of) the body: a HAR that stored a compressed
    /// body as text, a capture with a gap. `data` holds what remains.
    Damaged { reason: String },
}

/// Where a body's bytes came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodySource {
    /// Bytes seen on the wire (captures).
    #[default]
    Wire,
    /// A HAR `text` field.
    HarText,
    /// A HAR `text` field marked `encoding: base64`.
    HarBase64,
    /// Rebuilt from HAR `postData.params` because `text` was absent.
    HarParams,
}

impl Request {
    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The host of the request: the URL's authority, or else the `Host` /
    /// `:authority` header. Lower-case, without port.
    pub fn host(&self) -> Option<String> {
        let from_url = host_of_url(&self.url);
        from_url
            .or_else(|| self.header(":authority").map(str::to_owned))
            .or_else(|| self.header("host").map(str::to_owned))
            .map(|h| strip_port(&h).to_ascii_lowercase())
            .filter(|h| !h.is_empty())
    }
}

impl Response {
    /// The first header with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// The authority of an absolute URL (`https://user@Host:443/x` → `Host:443`
/// without the user part), or `None` for a relative URL.
fn host_of_url(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(host.to_owned())
}

fn strip_port(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        // IPv6 literal: keep the brackets' content.
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.split(':').next().unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(n, v)| Header {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            ..Request::default()
        }
    }

    #[test]
    fn host_comes_from_the_url_without_port_or_user() {
        assert_eq!(
            request("https://u@Analytics.TikTok.com:443/api", &[])
                .host()
                .as_deref(),
            Some("analytics.tiktok.com")
        );
        assert_eq!(
            request("http://[::1]:8080/x", &[]).host().as_deref(),
            Some("::1")
        );
    }

    #[test]
    fn host_falls_back_to_headers_for_relative_urls() {
        assert_eq!(
            request("/tr?id=1", &[("Host", "www.facebook.com")])
                .host()
                .as_deref(),
            Some("www.facebook.com")
        );
        assert_eq!(request("/tr", &[]).host(), None);
    }
}
