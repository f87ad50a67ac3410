//! TikTok Pixel (`ttq`).
//!
//! # Endpoints
//!
//! | host | path | kind |
//! |---|---|---|
//! | `analytics.tiktok.com`, `analytics.us.tiktok.com` | `/api/v2/pixel`, `/api/v2/pixel/act`, `/api/v2/pixel/track`, `/api/v2/pixel/batch`, legacy `/api/v1/track` | event |
//! | same | any other `/api/v…` path (classified by body) | event |
//! | same | `/i18n/pixel/events.js?sdkid=<pixel>`, `/i18n/pixel/*` (main, identify, config, eb scripts) | library |
//!
//! Bodies are JSON, usually labelled `text/plain` (sendBeacon/fetch), so
//! they are sniffed. A body may carry several events in a `batch`,
//! `events` or `data` array (or be an array): one record per element, each
//! with the shared fields plus its own.
//!
//! # Fields (paths relative to one event; batch elements are prefixed `batch[i].`)
//!
//! | path | property | source |
//! |---|---|---|
//! | `event` | event_name (`Pageview`, `Search`, …) | OMNI, BL, TTSDK (H) |
//! | `action` | event_name on `/act` bodies without `event` (`Click`) | FS-capture `/act` (M) |
//! | `event_id` | event_id | TTSDK (H) |
//! | `timestamp` | timestamp | TTSDK (H) |
//! | `context.pixel.code`, `sdkid` (v1, `events.js` query) | pixel_id | TTSDK, OMNI (H) |
//! | `context.page.url` / `.referrer` | page_url / referrer (v1 sends them percent-encoded) | TTSDK, OMNI (H) |
//! | `context.user.email` / `.phone_number` | email / phone (SHA-256 hex) | TTSDK PixelContextUser.md (M–H) |
//! | `context.user.external_id` | external_id | TTSDK (M) |
//! | `context.user.ttp`, `context.user.anonymous_id`, cookie `_ttp` | client_id | TTSDK, NUXT (M) |
//! | `context.user.{first_name,last_name,city,state,country,zip_code}` | names and address (placement inferred, L) | NUXT tiktok-pixel.ts |
//! | `context.user.user_id` (v1) | user_id | OMNI (M) |
//! | `context.ad.callback` | click_id (`ttclid`) | TTSDK PixelContextAd.md (M) |
//! | `context.session_id` | session_id | FS-capture (M) |
//! | `context.userAgent`, `context.user_agent` | user_agent | FS-capture, TTSDK (M) |
//! | `properties.value` / `.currency` | value / currency | TTSDK PixelProperties.md (H) |
//! | `properties.contents…`, `properties.content_{id,type,name,category}`, `properties.description` | content | TTSDK (H) |
//! | `properties.query` | search_term | TTSDK (H) |
//! | `auto_collected_properties.trigger_element.inner_text` | button_text (clicked element's text) | FS-capture `/act`, TT-ABOUT (M) |
//!
//! Everything else (`message_id`, `context.library.*`, `context.device.*`,
//! `_inspection`, …) is reported with no property.

use super::{contact_record, library_record, push_unexpected_body, recognise};
use crate::decoder::{Decoder, Endpoint, Source, domain, exact_host, exact_path, path_prefix};
use crate::payload::body::{self, BodyShape};
use crate::payload::query::percent_decode_strict;
use crate::record::{self, Fields, Location, Pick, property as p};
use pixelscope_model::{EventSink, Exchange, Field, Kind};
use serde_json::Value;

/// The TikTok Pixel decoder.
pub struct TikTok;

const HOSTS_NOTE: &str = "analytics.tiktok.com and the US residency host analytics.us.tiktok.com";

static ENDPOINTS: [Endpoint; 14] = [
    Endpoint::new(
        exact_host("analytics.tiktok.com"),
        exact_path("/api/v2/pixel"),
        Kind::Event,
        "track/page events (JSON body)",
    ),
    Endpoint::new(
        exact_host("analytics.tiktok.com"),
        exact_path("/api/v2/pixel/act"),
        Kind::Event,
        "automatic interactions, e.g. button clicks",
    ),
    Endpoint::new(
        exact_host("analytics.tiktok.com"),
        exact_path("/api/v2/pixel/track"),
        Kind::Event,
        "track events",
    ),
    Endpoint::new(
        exact_host("analytics.tiktok.com"),
        exact_path("/api/v2/pixel/batch"),
        Kind::Event,
        "batched events (unverified path)",
    ),
    Endpoint::new(
        exact_host("analytics.tiktok.com"),
        exact_path("/api/v1/track"),
        Kind::Event,
        "legacy v1 events",
    ),
    Endpoint::new(
        exact_host("analytics.tiktok.com"),
        path_prefix("/api/v"),
        Kind::Event,
        "other API paths, classified by body",
    ),
    Endpoint::new(
        exact_host("analytics.tiktok.com"),
        path_prefix("/i18n/pixel/"),
        Kind::Library,
        "pixel library (events.js?sdkid=<pixel>) and its scripts",
    ),
    Endpoint::new(
        exact_host("analytics.us.tiktok.com"),
        exact_path("/api/v2/pixel"),
        Kind::Event,
        HOSTS_NOTE,
    ),
    Endpoint::new(
        exact_host("analytics.us.tiktok.com"),
        exact_path("/api/v2/pixel/act"),
        Kind::Event,
        HOSTS_NOTE,
    ),
    Endpoint::new(
        exact_host("analytics.us.tiktok.com"),
        exact_path("/api/v2/pixel/track"),
        Kind::Event,
        HOSTS_NOTE,
    ),
    Endpoint::new(
        exact_host("analytics.us.tiktok.com"),
        exact_path("/api/v2/pixel/batch"),
        Kind::Event,
        HOSTS_NOTE,
    ),
    Endpoint::new(
        exact_host("analytics.us.tiktok.com"),
        path_prefix("/api/v"),
        Kind::Event,
        "other API paths, classified by body",
    ),
    Endpoint::new(
        exact_host("analytics.us.tiktok.com"),
        path_prefix("/i18n/pixel/"),
        Kind::Library,
        "pixel library (US residency)",
    ),
    // Any other tiktok.com analytics subdomain serving the library (monitoring hosts excluded on purpose).
    Endpoint::new(
        domain("analytics.tiktok.com"),
        path_prefix("/i18n/pixel/"),
        Kind::Library,
        "pixel library on a regional analytics host",
    ),
];

static SOURCES: [Source; 6] = [
    Source::new(
        "FORMATS §4.1",
        "pixelscope tracker format reference, TikTok section",
    ),
    Source::new(
        "TTSDK",
        "https://github.com/tiktok/tiktok-business-api-sdk (js_sdk/docs/PixelTrackBody.md, PixelContext*.md, PixelProperties.md)",
    ),
    Source::new(
        "OMNI",
        "https://github.com/MisterPhilip/omnibug (src/providers/TikTok.js)",
    ),
    Source::new(
        "BL",
        "https://github.com/the-markup/blacklight-collector (src/parser.ts, src/helpers/statics.ts)",
    ),
    Source::new(
        "NUXT",
        "https://github.com/nuxt/scripts (src/runtime/registry/tiktok-pixel.ts)",
    ),
    Source::new("TT-ABOUT", "https://ads.tiktok.com/help/article?aid=9663"),
];

/// Keys whose array value lists events (FORMATS.md §2 item 9).
const BATCH_KEYS: &[&str] = &["batch", "events", "data"];

/// Removes a batch element prefix: `batch[1].context.user.email` →
/// `context.user.email`, `[0].event` → `event`.
fn event_relative(path: &str) -> &str {
    let candidate = BATCH_KEYS
        .iter()
        .find_map(|key| path.strip_prefix(key))
        .unwrap_or(path);
    let Some(inner) = candidate.strip_prefix('[') else {
        return path;
    };
    let Some((index, rest)) = inner.split_once(']') else {
        return path;
    };
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return path;
    }
    rest.strip_prefix('.').unwrap_or(path)
}

fn label(location: Location, path: &str) -> Option<&'static str> {
    match location {
        Location::Cookie => return (path == "_ttp").then_some(p::CLIENT_ID),
        Location::Query => return (path == "sdkid").then_some(p::PIXEL_ID),
        Location::Header | Location::Path => return None,
        _ => {}
    }
    let path = event_relative(path);
    let property = match path {
        "event" | "action" => p::EVENT_NAME,
        "event_id" => p::EVENT_ID,
        "timestamp" => p::TIMESTAMP,
        "context.pixel.code" | "sdkid" => p::PIXEL_ID,
        "context.page.url" => p::PAGE_URL,
        "context.page.referrer" => p::REFERRER,
        "context.user.email" => p::EMAIL,
        "context.user.phone_number" => p::PHONE,
        "context.user.external_id" => p::EXTERNAL_ID,
        "context.user.ttp" | "context.user.anonymous_id" => p::CLIENT_ID,
        "context.user.first_name" => p::FIRST_NAME,
        "context.user.last_name" => p::LAST_NAME,
        "context.user.city" => p::CITY,
        "context.user.state" => p::STATE,
        "context.user.country" => p::COUNTRY,
        "context.user.zip_code" => p::ZIP,
        "context.user.user_id" => p::USER_ID,
        "context.ad.callback" => p::CLICK_ID,
        "context.session_id" => p::SESSION_ID,
        "context.userAgent" | "context.user_agent" => p::USER_AGENT,
        "properties.value" => p::VALUE,
        "properties.currency" => p::CURRENCY,
        "properties.query" => p::SEARCH_TERM,
        "properties.content_id"
        | "properties.content_type"
        | "properties.content_name"
        | "properties.content_category"
        | "properties.description" => p::CONTENT,
        "auto_collected_properties.trigger_element.inner_text" => p::BUTTON_TEXT,
        other if other.starts_with("properties.contents") => p::CONTENT,
        _ => return None,
    };
    Some(property)
}

/// The events inside a JSON body: `(prefix, element)` per event, where the
/// prefix is the element's path (`batch[1]`), or one event at the root.
fn split_events(value: &Value) -> Vec<String> {
    let is_event_list =
        |items: &Vec<Value>| !items.is_empty() && items.iter().all(Value::is_object);
    match value {
        Value::Array(items) if is_event_list(items) => {
            (0..items.len()).map(|i| format!("[{i}]")).collect()
        }
        Value::Object(map) => {
            for key in BATCH_KEYS {
                if let Some(Value::Array(items)) = map.get(*key)
                    && is_event_list(items)
                {
                    return (0..items.len()).map(|i| format!("{key}[{i}]")).collect();
                }
            }
            vec![String::new()]
        }
        _ => vec![String::new()],
    }
}

/// Whether a field path lies inside the batch element at `prefix`.
fn inside(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Legacy v1 bodies put the page URL percent-encoded inside JSON
/// (FORMATS.md §2 item 2): decode it once for the record's summary.
fn unescape_url(url: Option<String>) -> Option<String> {
    let url = url?;
    let lower = url.get(..10).unwrap_or(&url).to_ascii_lowercase();
    if lower.starts_with("http%3a") || lower.starts_with("https%3a") {
        return Some(percent_decode_strict(&url).unwrap_or(url));
    }
    Some(url)
}

impl Decoder for TikTok {
    fn id(&self) -> &str {
        "tiktok"
    }
    fn vendor(&self) -> &str {
        "TikTok"
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

    /// A TikTok pixel JSON body (`context.pixel.code`, alone or in a
    /// batch) posted to an `…/api/v<n>/pixel…` or `…/api/v1/track` path on
    /// any host: a first-party proxy or server-side tagging relay.
    fn claims_shape(&self, exchange: &Exchange) -> bool {
        let url = exchange.request.url.as_str();
        let path = url.split(['?', '#']).next().unwrap_or(url);
        if !(path.contains("/api/v2/pixel") || path.ends_with("/api/v1/track")) {
            return false;
        }
        let Some(body) = exchange.request.body.as_ref() else {
            return false;
        };
        let Some(Ok(value)) = crate::payload::json::sniff(&body.data) else {
            return false;
        };
        let has_pixel = |v: &Value| {
            v.pointer("/context/pixel/code")
                .is_some_and(Value::is_string)
                && (v.get("event").is_some() || v.get("action").is_some())
        };
        if has_pixel(&value) {
            return true;
        }
        BATCH_KEYS.iter().any(|key| match value.get(*key) {
            Some(Value::Array(items)) => !items.is_empty() && items.iter().all(has_pixel),
            _ => false,
        })
    }

    fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink) {
        let (target, detection, kind) = recognise(self, exchange);
        if detection == pixelscope_model::Detection::Shape && !self.claims_shape(exchange) {
            return;
        }
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
        let params = target.params();
        let mut head = Fields::new(&label);
        head.push_params(Location::Query, &params);
        let mut context = Fields::new(&label);
        context.push_request_context(&exchange.request);

        let contact = |mut fields: Fields, extra: &Fields| {
            fields.extend_from(extra.as_slice());
            contact_record(self, exchange, detection, fields)
        };
        let Some(request_body) = exchange.request.body.as_ref() else {
            // A CORS preflight (OPTIONS) never has a body: it is a contact
            // (it still carries the visitor's address, agent and page
            // origin), not a damaged beacon, so it gets no warning.
            if exchange.request.method.eq_ignore_ascii_case("OPTIONS") {
                sink.event(contact(head, &context));
                return;
            }
            sink.diagnostic(record::unrecognised(
                self,
                exchange,
                "no request body (TikTok events are JSON bodies)",
            ));
            sink.event(contact(head, &context));
            return;
        };
        if let Some(problem) = record::body_problem(request_body) {
            sink.diagnostic(record::body_unreadable(self, exchange, &problem));
        }
        let value = match body::sniff(&request_body.data, request_body.mime_type.as_deref()) {
            BodyShape::Json { value, .. } => value,
            BodyShape::BrokenJson { error } => {
                if record::body_problem(request_body).is_none() {
                    sink.diagnostic(record::body_unreadable(
                        self,
                        exchange,
                        &format!("invalid JSON: {error}"),
                    ));
                }
                sink.event(contact(head, &context));
                return;
            }
            other => {
                let what = push_unexpected_body(&mut head, &other);
                if record::body_problem(request_body).is_none() {
                    sink.diagnostic(record::unrecognised(self, exchange, what));
                }
                sink.event(contact(head, &context));
                return;
            }
        };

        let mut body_fields = head.sibling();
        body_fields.push_json(Location::BodyJson, &value, "");
        let mut body_fields = body_fields.into_vec();
        let mut context = context.into_vec();
        let prefixes = split_events(&value);
        for (index, prefix) in prefixes.iter().enumerate() {
            let keep = |field: &Field| {
                let own = prefix.is_empty() || inside(&field.path, prefix);
                let shared = !prefixes
                    .iter()
                    .any(|other| !other.is_empty() && inside(&field.path, other));
                own || shared
            };
            // The last record takes the fields instead of copying them
            // (a request usually carries one event).
            let fields = if index + 1 == prefixes.len() {
                let empty = head.sibling();
                let mut fields = std::mem::replace(&mut head, empty);
                for field in std::mem::take(&mut body_fields) {
                    if keep(&field) {
                        fields.push_field(field);
                    }
                }
                fields.append(std::mem::take(&mut context));
                fields
            } else {
                let mut fields = head.clone();
                for field in body_fields.iter().filter(|field| keep(field)) {
                    fields.push_field(field.clone());
                }
                fields.extend_from(&context);
                fields
            };
            let mut event = record::build_event(
                self,
                Kind::Event,
                detection,
                exchange,
                fields.into_vec(),
                Pick::First,
            );
            event.page_url = unescape_url(event.page_url);
            event.referrer = unescape_url(event.referrer);
            if event.event.is_none() {
                sink.diagnostic(record::unrecognised(
                    self,
                    exchange,
                    &format!("event {prefix:?} names no `event` or `action`"),
                ));
            }
            sink.event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use pixelscope_model::{Body, BodyState, Collected, Cookie, Request};

    fn post(url: &str, body: &str) -> Exchange {
        Exchange {
            request: Request {
                method: "POST".into(),
                url: url.into(),
                body: Some(Body {
                    data: body.as_bytes().to_vec(),
                    mime_type: Some("text/plain;charset=UTF-8".into()),
                    ..Body::default()
                }),
                ..Request::default()
            },
            ..Exchange::default()
        }
    }

    fn decode(exchange: &Exchange) -> Collected {
        let mut out = Collected::default();
        Registry::builtin().decode(exchange, &mut out);
        out
    }

    const SHA_EMAIL: &str = "836f82db99121b3481011f16b49dfa5fbc714a0d1b1b9f784a1ebbbf5b39577f";

    #[test]
    fn batch_gives_one_record_per_event_with_shared_and_own_fields() {
        let body = format!(
            r#"{{"batch":[{{"event":"Pageview","context":{{"pixel":{{"code":"CQLAB7TT00PIXEL0ABC1"}},"page":{{"url":"https://shop.test/"}}}}}},{{"event":"CompletePayment","context":{{"pixel":{{"code":"CQLAB7TT00PIXEL0ABC1"}},"user":{{"email":"{SHA_EMAIL}"}},"page":{{"url":"https://shop.test/thanks"}}}},"properties":{{"value":39.99,"currency":"USD"}}}}],"sent_at":"x"}}"#
        );
        let mut exchange = post("https://analytics.tiktok.com/api/v2/pixel/batch", &body);
        exchange.request.cookies.push(Cookie {
            name: "_ttp".into(),
            value: "2aLabTtp".into(),
        });
        let out = decode(&exchange);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert_eq!(out.events.len(), 2);
        let second = &out.events[1];
        assert_eq!(second.event.as_deref(), Some("CompletePayment"));
        assert_eq!(second.page_url.as_deref(), Some("https://shop.test/thanks"));
        assert_eq!(second.pixel_id.as_deref(), Some("CQLAB7TT00PIXEL0ABC1"));
        let paths: Vec<&str> = second.fields.iter().map(|f| f.path.as_str()).collect();
        assert!(
            paths.contains(&"sent_at") && paths.contains(&"_ttp"),
            "{paths:?}"
        );
        assert!(
            !paths.iter().any(|p| p.starts_with("batch[0]")),
            "{paths:?}"
        );
        let value = second
            .fields
            .iter()
            .find(|f| f.path == "batch[1].properties.value")
            .unwrap();
        assert_eq!(
            (value.value.as_str(), value.property.as_deref()),
            ("39.99", Some("value"))
        );
        let email = second
            .identifiers
            .iter()
            .find(|i| i.kind == "email")
            .unwrap();
        assert_eq!(
            (email.form.as_str(), email.path.as_str()),
            ("sha256", "batch[1].context.user.email")
        );
        assert!(
            second
                .identifiers
                .iter()
                .any(|i| i.kind == "client_id" && i.path == "_ttp")
        );
        assert!(out.events[0].identifiers.iter().all(|i| i.kind != "email"));
    }

    #[test]
    fn act_click_reports_button_text_and_action() {
        let body = r#"{"action":"Click","auto_collected_properties":{"page_trigger":"ClickButton","trigger_element":{"tag":"BUTTON","attributes":{"class":"buy"},"inner_text":"Join the parish","xpath":"/html/body[1]/button[1]"}},"context":{"pixel":{"code":"CQLAB7TT00PIXEL0ABC1"},"page":{"url":"https://x.test/church/join"}},"_inspection":{}}"#;
        let out = decode(&post("https://analytics.tiktok.com/api/v2/pixel/act", body));
        assert_eq!(out.events.len(), 1);
        let event = &out.events[0];
        assert_eq!(event.event.as_deref(), Some("Click"));
        let button = event
            .fields
            .iter()
            .find(|f| f.property.as_deref() == Some("button_text"))
            .unwrap();
        assert_eq!(button.value, "Join the parish");
        assert!(
            event
                .fields
                .iter()
                .any(|f| f.path == "_inspection" && f.value == "{}")
        );
    }

    #[test]
    fn legacy_v1_page_url_is_unescaped_in_the_summary_only() {
        let body = r#"{"event":"Browse","sdkid":"BSDK123","context":{"page":{"url":"https%3A%2F%2Fshop.test%2F%3Fq%3Dx"}}}"#;
        let out = decode(&post("https://analytics.tiktok.com/api/v1/track", body));
        let event = &out.events[0];
        assert_eq!(event.page_url.as_deref(), Some("https://shop.test/?q=x"));
        assert_eq!(event.pixel_id.as_deref(), Some("BSDK123"));
        assert!(
            event
                .fields
                .iter()
                .any(|f| f.value == "https%3A%2F%2Fshop.test%2F%3Fq%3Dx")
        );
    }

    #[test]
    fn a_cors_preflight_is_a_contact_without_a_warning_but_a_bodiless_post_warns() {
        let request = |method: &str| Exchange {
            request: Request {
                method: method.into(),
                url: "https://analytics.tiktok.com/api/v2/pixel".into(),
                ..Request::default()
            },
            ..Exchange::default()
        };
        let preflight = decode(&request("OPTIONS"));
        assert!(
            preflight.diagnostics.is_empty(),
            "{:?}",
            preflight.diagnostics
        );
        assert_eq!(preflight.events.len(), 1);
        assert_eq!(preflight.events[0].kind, Kind::Contact);
        let bodiless = decode(&request("POST"));
        assert_eq!(bodiless.diagnostics.len(), 1);
        assert_eq!(bodiless.events[0].kind, Kind::Contact);
    }

    #[test]
    fn library_load_is_a_library_record_with_the_pixel_id() {
        let exchange = Exchange {
            request: Request { method: "GET".into(), url: "https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=CQLAB7TT00PIXEL0ABC1&lib=ttq".into(), ..Request::default() },
            ..Exchange::default()
        };
        let out = decode(&exchange);
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].kind, Kind::Library);
        assert_eq!(
            out.events[0].pixel_id.as_deref(),
            Some("CQLAB7TT00PIXEL0ABC1")
        );
        assert_eq!(out.events[0].event, None);
    }

    #[test]
    fn damaged_body_gives_a_diagnostic_and_a_contact_record() {
        let mut exchange = post(
            "https://analytics.tiktok.com/api/v2/pixel/batch",
            "\u{1f}\u{fffd}\u{8}",
        );
        if let Some(body) = exchange.request.body.as_mut() {
            body.state = BodyState::Damaged {
                reason: "gzip body stored as text".into(),
            };
            body.content_encoding = vec!["gzip".into()];
        }
        let out = decode(&exchange);
        assert_eq!(out.diagnostics.len(), 1, "{:?}", out.diagnostics);
        assert_eq!(out.diagnostics[0].code, "decode.body-unreadable");
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].kind, Kind::Contact);
        assert_eq!(
            out.events[0].request.content_encoding,
            vec!["gzip".to_string()]
        );
    }

    #[test]
    fn broken_json_and_form_bodies_are_never_silent() {
        let out = decode(&post(
            "https://analytics.tiktok.com/api/v2/pixel",
            r#"{"event":"Page"#,
        ));
        assert_eq!(out.diagnostics[0].code, "decode.body-unreadable");
        let out = decode(&post(
            "https://analytics.tiktok.com/api/v2/pixel",
            "event=Pageview&x=1",
        ));
        assert_eq!(out.diagnostics[0].code, "decode.unrecognised");
        assert!(
            out.events[0]
                .fields
                .iter()
                .any(|f| f.path == "event" && f.location == "body.form")
        );
    }

    #[test]
    fn batch_prefixes_are_removed_only_when_they_are_indices() {
        assert_eq!(
            event_relative("batch[12].context.user.email"),
            "context.user.email"
        );
        assert_eq!(event_relative("[0].event"), "event");
        assert_eq!(event_relative("data.user"), "data.user");
        assert_eq!(event_relative("events[x].event"), "events[x].event");
    }
}
