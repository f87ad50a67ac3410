//! The public event record, `pixelscope.event/1`.
//!
//! This is a contract with other tools: keys are only ever added, never
//! renamed or removed, without bumping [`SCHEMA`]. Every key is always
//! present in the JSON (`null` or `[]` when unknown or empty).

use crate::{Exchange, Origin, Timestamp};
use serde::{Deserialize, Serialize};

/// The schema name written into every record.
pub const SCHEMA: &str = "pixelscope.event/1";

/// One tracker event: what one beacon (or one event of a batched beacon)
/// told one tracker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub schema: String,
    /// Stable decoder id (`tiktok`, `meta`, `ga4`, …).
    pub tracker: String,
    /// Human name of the company (`TikTok`, `Meta`, `Google`).
    pub vendor: String,
    pub kind: Kind,
    /// The event name exactly as sent; `None` if the payload names none.
    pub event: Option<String>,
    /// Account / pixel / measurement / tag id.
    pub pixel_id: Option<String>,
    /// The page the event is about, as the payload states it.
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub page_title: Option<String>,
    /// Where `page_url` came from: `payload` (the tracker was told it),
    /// `referer` (the request's Referer header named the page), or
    /// `navigation` (the payload and Referer named only the site, and the
    /// page is the last page loaded from that site before the request — an
    /// inference, marked as such). `None` when `page_url` is `None`.
    #[serde(default)]
    pub page_url_from: Option<String>,
    /// Request start (UTC).
    pub time: Option<Timestamp>,
    pub request: RequestSummary,
    /// Every key/value of the payload, in wire order.
    pub fields: Vec<Field>,
    pub identifiers: Vec<Identifier>,
    pub flags: Vec<Flag>,
    /// `first-party` or `third-party`: whether the request went to the
    /// registrable domain of the page it was made for; `None` when no page
    /// is known. Filled by the analyzer.
    #[serde(default)]
    pub party: Option<String>,
    /// How the decoder recognised the request.
    pub detection: Detection,
    pub origin: Origin,
}

/// What kind of evidence a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A beacon: data was sent to the tracker.
    Event,
    /// The tracker's script or configuration was loaded; no event data sent.
    Library,
    /// A connection to a tracker host whose content could not be read.
    Contact,
}

/// How a request was attributed to a tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detection {
    /// The host and path are a documented endpoint of the tracker.
    Endpoint,
    /// The payload has the tracker's shape on some other host (a first-party
    /// proxy, server-side tagging).
    Shape,
    /// Only the host name was seen (DNS answer, TLS SNI).
    Host,
}

/// The request line of the exchange behind an event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub method: String,
    pub url: String,
    pub host: Option<String>,
    pub http_version: Option<String>,
    pub content_encoding: Vec<String>,
}

/// One key/value pair of a payload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Decoded path: `ev`, `cd[value]`, `batch[1].context.user.email`.
    pub path: String,
    /// Where it was found: `query`, `body.form`, `body.json`,
    /// `body.multipart`, `body.text`, `header`, `cookie`, `path`.
    #[serde(rename = "where")]
    pub location: String,
    pub value: String,
    /// Meaning from the closed vocabulary (`event_name`, `pixel_id`,
    /// `page_url`, `email`, …), or `None` when unknown.
    pub property: Option<String>,
}

/// A value that identifies a person or a browser, plain or hashed.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identifier {
    /// `email`, `phone`, `external_id`, `client_id`, `click_id`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// `plain`, `sha256`, `sha1`, `md5`, `sha512`, `sha256-base64url`, …
    pub form: String,
    pub value: String,
    pub path: String,
    /// Label of the known identity this value matched, if any.
    pub matched: Option<String>,
}

/// Sensitive content found in an event.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Flag {
    /// `health`, `religion`, `finance`, `policy`, `linkage`, …
    pub category: String,
    /// The rule that fired (`health.sexual-health`).
    pub rule: String,
    /// The text that matched.
    pub text: String,
    /// The field path it was found in.
    pub path: String,
}

impl Event {
    /// A record for `exchange` with the request summary, time and origin
    /// filled in and everything else empty.
    pub fn for_exchange(tracker: &str, vendor: &str, kind: Kind, exchange: &Exchange) -> Event {
        let request = &exchange.request;
        Event {
            schema: SCHEMA.to_owned(),
            tracker: tracker.to_owned(),
            vendor: vendor.to_owned(),
            kind,
            event: None,
            pixel_id: None,
            page_url: None,
            referrer: None,
            page_title: None,
            page_url_from: None,
            time: exchange.time,
            request: RequestSummary {
                method: request.method.clone(),
                url: request.url.clone(),
                host: request.host(),
                http_version: request.http_version.clone(),
                content_encoding: request
                    .body
                    .as_ref()
                    .map(|b| b.content_encoding.clone())
                    .unwrap_or_default(),
            },
            fields: Vec::new(),
            identifiers: Vec::new(),
            flags: Vec::new(),
            party: None,
            detection: Detection::Endpoint,
            origin: exchange.origin.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InputFormat, Request};

    #[test]
    fn record_has_every_key_even_when_empty() {
        let exchange = Exchange {
            request: Request {
                method: "GET".into(),
                url: "https://www.facebook.com/tr?id=1".into(),
                ..Request::default()
            },
            origin: Origin::file("a.har", None, InputFormat::Har),
            ..Exchange::default()
        };
        let event = Event::for_exchange("meta", "Meta", Kind::Event, &exchange);
        let json = serde_json::to_value(&event).unwrap_or_default();
        let keys: Vec<&str> = json
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for key in [
            "schema",
            "tracker",
            "vendor",
            "kind",
            "event",
            "pixel_id",
            "page_url",
            "referrer",
            "page_title",
            "page_url_from",
            "time",
            "request",
            "fields",
            "identifiers",
            "flags",
            "party",
            "detection",
            "origin",
        ] {
            assert!(keys.contains(&key), "missing {key}");
        }
        assert_eq!(json["schema"], "pixelscope.event/1");
        assert_eq!(json["request"]["host"], "www.facebook.com");
        assert_eq!(json["origin"]["frames"], serde_json::Value::Null);
        assert_eq!(json["origin"]["format"], "har");
        for key in ["stream", "h2_stream", "quic_stream", "tls"] {
            assert!(
                json["origin"]
                    .as_object()
                    .is_some_and(|o| o.contains_key(key)),
                "origin misses {key}"
            );
        }
    }
}
