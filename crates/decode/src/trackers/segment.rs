//! Segment — analytics.js (`api.segment.io`).
//!
//! # Endpoints
//!
//! | host | path | kind |
//! |---|---|---|
//! | `api.segment.io`, `api.segment.com`, `events.eu1.segmentapis.com` | `/v1/{t,p,i,g,a,s,b}` and `/v1/{track,page,identify,group,alias,screen,batch}` | event |
//! | any host | `/v1/<one of the above>` with a JSON body that has `type`, `messageId` and `anonymousId` or `userId` (first-party proxies): a shape claim | event |
//! | `cdn.segment.com` | `/analytics.js/v1/<writeKey>/analytics.min.js`, `/v1/projects/<writeKey>/settings` | library |
//!
//! The body is JSON (usually labelled `text/plain`): one message, or a
//! `{"batch":[…]}` of messages, one record each.
//!
//! # Fields (paths relative to one message)
//!
//! | path | property | source |
//! |---|---|---|
//! | `event` (track), else `type` (`page`, `identify`, …) | event_name | OMNI, FORMATS §4.13 (H) |
//! | `writeKey` | pixel_id | OMNI (H) |
//! | `context.page.url`, `properties.url` | page_url | OMNI (H) |
//! | `context.page.referrer`, `properties.referrer` | referrer | OMNI (H) |
//! | `context.page.title`, `properties.title` | page_title | OMNI (H) |
//! | `traits.email`, `context.traits.email` | email (often **plain**) | FORMATS §4.13 (H) |
//! | `traits.phone`, `traits.firstName`/`lastName` | phone, first_name, last_name | FORMATS §4.13 (M) |
//! | `userId` | user_id | OMNI (H) |
//! | `anonymousId`, cookie `ajs_anonymous_id` | client_id | OMNI (H) |
//! | `messageId` | event_id | OMNI (H) |
//! | `context.page.search`, `properties.search` | search (the page's query string) | OMNI (M) |
//! | `context.userAgent` | user_agent | OMNI (H) |

use super::json_batch::{self, Spec};
use super::{element_relative, library_record, recognise};
use crate::decoder::{Decoder, Endpoint, Source, exact_host, path_prefix};
use crate::payload::json;
use crate::record::{Fields, Location, property as p};
use pixelscope_model::{Detection, EventSink, Exchange, Kind};
use serde_json::Value;

/// The Segment decoder.
pub struct Segment;

static ENDPOINTS: [Endpoint; 5] = [
    Endpoint::new(
        exact_host("api.segment.io"),
        path_prefix("/v1/"),
        Kind::Event,
        "track/page/identify/… messages and batches (JSON)",
    ),
    Endpoint::new(
        exact_host("api.segment.com"),
        path_prefix("/v1/"),
        Kind::Event,
        "messages (alternate host)",
    ),
    Endpoint::new(
        exact_host("events.eu1.segmentapis.com"),
        path_prefix("/v1/"),
        Kind::Event,
        "messages (EU region)",
    ),
    Endpoint::new(
        exact_host("cdn.segment.com"),
        path_prefix("/analytics.js/"),
        Kind::Library,
        "analytics.js /analytics.js/v1/<writeKey>/analytics.min.js",
    ),
    Endpoint::new(
        exact_host("cdn.segment.com"),
        path_prefix("/v1/projects/"),
        Kind::Library,
        "project settings /v1/projects/<writeKey>/settings",
    ),
];

static SOURCES: [Source; 3] = [
    Source::new("FORMATS §4.13", "docs/FORMATS.md §4.13 (Segment)"),
    Source::new(
        "OMNI",
        "https://github.com/MisterPhilip/omnibug (src/providers/Segment.js, test/providers/Segment.js)",
    ),
    Source::new(
        "SEGMENT-SPEC",
        "https://segment.com/docs/connections/spec/common/",
    ),
];

pub(crate) const BATCH: &[&str] = &["batch"];

pub(crate) static SPEC: Spec = Spec {
    batch_keys: BATCH,
    event: &["event", "type"],
    pixel_id: &["writeKey"],
    page_url: &["context.page.url", "properties.url"],
    referrer: &["context.page.referrer", "properties.referrer"],
    page_title: &["context.page.title", "properties.title"],
    json_params: &[],
    query_events: false,
};

/// Segment's message vocabulary, shared with RudderStack (whose SDK speaks
/// the same spec).
pub(crate) fn label(location: Location, path: &str) -> Option<&'static str> {
    match location {
        Location::Cookie => {
            return match path {
                "ajs_anonymous_id" | "rl_anonymous_id" => Some(p::CLIENT_ID),
                "ajs_user_id" | "rl_user_id" => Some(p::USER_ID),
                _ => None,
            };
        }
        Location::Header | Location::Path => return None,
        _ => {}
    }
    let path = element_relative(path, BATCH);
    let path = path
        .strip_prefix("context.")
        .filter(|rest| rest.starts_with("traits."))
        .unwrap_or(path);
    Some(match path {
        "event" | "type" => p::EVENT_NAME,
        "writeKey" => p::PIXEL_ID,
        "context.page.url" | "properties.url" => p::PAGE_URL,
        "context.page.referrer" | "properties.referrer" => p::REFERRER,
        "context.page.title" | "properties.title" => p::PAGE_TITLE,
        "traits.email" => p::EMAIL,
        "traits.phone" => p::PHONE,
        "traits.firstName" | "traits.first_name" => p::FIRST_NAME,
        "traits.lastName" | "traits.last_name" => p::LAST_NAME,
        "userId" => p::USER_ID,
        "anonymousId" => p::CLIENT_ID,
        "messageId" => p::EVENT_ID,
        "timestamp" | "sentAt" => p::TIMESTAMP,
        "context.userAgent" => p::USER_AGENT,
        "properties.revenue" | "properties.value" | "properties.total" => p::VALUE,
        "properties.currency" => p::CURRENCY,
        "properties.query" => p::SEARCH_TERM,
        other if other.starts_with("properties.products") => p::CONTENT,
        _ => return None,
    })
}

/// Segment's short and long message paths under `/v1/`.
const MESSAGE_PATHS: &[&str] = &[
    "t", "p", "i", "g", "a", "s", "b", "m", "track", "page", "identify", "group", "alias",
    "screen", "batch",
];

/// `…/v1/<message path>` with a Segment-shaped JSON body.
pub(crate) fn segment_shape(exchange: &Exchange) -> bool {
    let url = exchange.request.url.as_str();
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let Some((_, last)) = path.trim_end_matches('/').rsplit_once("/v1/") else {
        return false;
    };
    if !MESSAGE_PATHS.contains(&last) {
        return false;
    }
    let Some(body) = exchange.request.body.as_ref() else {
        return false;
    };
    let Some(Ok(value)) = json::sniff(&body.data) else {
        return false;
    };
    let message = |v: &Value| {
        v.get("type").is_some_and(Value::is_string)
            && v.get("messageId").is_some_and(Value::is_string)
            && (v.get("anonymousId").is_some() || v.get("userId").is_some())
    };
    match value.get("batch") {
        Some(Value::Array(items)) => !items.is_empty() && items.iter().all(message),
        _ => message(&value),
    }
}

impl Decoder for Segment {
    fn id(&self) -> &str {
        "segment"
    }
    fn vendor(&self) -> &str {
        "Segment"
    }
    fn version(&self) -> &str {
        "1"
    }
    fn endpoints(&self) -> &[Endpoint] {
        &ENDPOINTS
    }
    fn sources(&self) -> &[Source] {
        &SOURCES
    }
    fn claims_shape(&self, exchange: &Exchange) -> bool {
        segment_shape(exchange) && !is_rudderstack(exchange)
    }
    fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink) {
        let (_, detection, kind) = recognise(self, exchange);
        if kind == Kind::Library {
            sink.event(library_record(
                self,
                exchange,
                detection,
                Fields::new(&label),
                &[],
            ));
            return;
        }
        if detection == Detection::Shape && !self.claims_shape(exchange) {
            return;
        }
        json_batch::decode(self, &SPEC, &label, exchange, detection, sink);
    }
}

/// A Segment-shaped body sent by RudderStack's SDK (it names itself in
/// `context.library.name`).
pub(crate) fn is_rudderstack(exchange: &Exchange) -> bool {
    exchange.request.body.as_ref().is_some_and(|body| {
        memchr::memmem::find(&body.data, b"RudderLabs").is_some()
            || memchr::memmem::find(&body.data, b"\"rudderId\"").is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use pixelscope_model::{Body, Collected, Request};

    fn post(url: &str, body: &str) -> Collected {
        let exchange = Exchange {
            request: Request {
                method: "POST".into(),
                url: url.into(),
                body: Some(Body {
                    data: body.as_bytes().to_vec(),
                    mime_type: Some("text/plain".into()),
                    ..Body::default()
                }),
                ..Request::default()
            },
            ..Exchange::default()
        };
        let mut out = Collected::default();
        Registry::builtin().decode(&exchange, &mut out);
        out
    }

    const BATCH_BODY: &str = r#"{"batch":[{"type":"page","name":"Home","properties":{"url":"https://app.test/"},"anonymousId":"a-1","messageId":"m-1"},{"type":"track","event":"Signed Up","traits":{"email":"jane.doe@example.com"},"context":{"page":{"url":"https://app.test/join"}},"userId":"u-9","anonymousId":"a-1","messageId":"m-2"}],"writeKey":"WK123","sentAt":"2025-10-09T08:00:00.050Z"}"#;

    #[test]
    fn batch_gives_one_record_per_message_with_the_shared_write_key() {
        let out = post("https://api.segment.io/v1/batch", BATCH_BODY);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let got: Vec<(Option<&str>, Option<&str>, Option<&str>)> = out
            .events
            .iter()
            .map(|e| {
                (
                    e.event.as_deref(),
                    e.pixel_id.as_deref(),
                    e.page_url.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("page"), Some("WK123"), Some("https://app.test/")),
                (
                    Some("Signed Up"),
                    Some("WK123"),
                    Some("https://app.test/join")
                ),
            ]
        );
        let email = out.events[1]
            .identifiers
            .iter()
            .find(|i| i.kind == "email")
            .unwrap();
        assert_eq!(
            (email.form.as_str(), email.path.as_str()),
            ("plain", "batch[1].traits.email")
        );
        assert!(out.events[0].identifiers.iter().all(|i| i.kind != "email"));
    }

    #[test]
    fn first_party_proxy_is_recognised_by_shape_only_with_a_segment_body() {
        let out = post("https://data.shop.test/v1/batch", BATCH_BODY);
        assert_eq!(out.events.len(), 2);
        assert!(
            out.events
                .iter()
                .all(|e| e.detection == Detection::Shape && e.tracker == "segment")
        );
        let other = post("https://shop.test/v1/t", r#"{"type":"cart","items":[1]}"#);
        assert!(other.events.is_empty() && other.diagnostics.is_empty());
    }
}
