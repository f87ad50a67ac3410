//! Mixpanel — mixpanel-browser.
//!
//! # Endpoints
//!
//! | host | path | kind |
//! |---|---|---|
//! | `api-js.mixpanel.com`, `api.mixpanel.com`, `api-eu.mixpanel.com` | `/track`, `/engage`, `/groups` (with or without `/`) | event |
//! | same | `/record/` (session replay upload), `/decide/` (configuration: token and `distinct_id`) | event (replay), library (decide) |
//! | `cdn.mxpnl.com` | `/libs/mixpanel-*.js` | library |
//!
//! The payload is the `data` parameter — in a form body (POST) or the
//! query (GET, old and lite clients) — holding JSON or **base64 of JSON**
//! whatever the host (the 2015 client in the corpus sent base64 to
//! `api.mixpanel.com`, FORMATS §4.14): one event object or an array, one
//! record per element.
//!
//! # Fields (paths relative to one event)
//!
//! | path | property | source |
//! |---|---|---|
//! | `event` | event_name (`$mp_web_page_view`, `mp_page_view`, …) | MPX, corpus (H) |
//! | `properties.token`, `$token` (engage) | pixel_id | MPX (H) |
//! | `properties.$current_url` | page_url | MPX (H) |
//! | `properties.$referrer` | referrer | MPX (H) |
//! | `properties.current_page_title` | page_title | MPX (H) |
//! | `properties.distinct_id`, `properties.$device_id`, `$distinct_id` | client_id | MPX (H) |
//! | `properties.$user_id` | user_id | MPX (H) |
//! | `$set.$email`, `$set.$phone`, `$set.$name` | email, phone (plain), first_name | MPX (H) |
//! | `properties.$insert_id` | event_id | MPX (H) |

use super::json_batch::{self, Spec};
use super::{element_relative, library_record, recognise};
use crate::decoder::{Decoder, Endpoint, Source, exact_host, path_prefix};
use crate::record::{Fields, Location, property as p};
use pixelscope_model::{EventSink, Exchange, Kind};

/// The Mixpanel decoder.
pub struct Mixpanel;

static ENDPOINTS: [Endpoint; 10] = [
    Endpoint::new(
        exact_host("api-js.mixpanel.com"),
        path_prefix("/decide"),
        Kind::Library,
        "feature-flag / configuration call",
    ),
    Endpoint::new(
        exact_host("api.mixpanel.com"),
        path_prefix("/decide"),
        Kind::Library,
        "feature-flag / configuration call",
    ),
    Endpoint::new(
        exact_host("api-js.mixpanel.com"),
        path_prefix("/track"),
        Kind::Event,
        "events: data=<JSON or base64 JSON>",
    ),
    Endpoint::new(
        exact_host("api-js.mixpanel.com"),
        path_prefix("/engage"),
        Kind::Event,
        "people profile updates",
    ),
    Endpoint::new(
        exact_host("api-js.mixpanel.com"),
        path_prefix("/groups"),
        Kind::Event,
        "group profile updates",
    ),
    Endpoint::new(
        exact_host("api-js.mixpanel.com"),
        path_prefix("/record"),
        Kind::Event,
        "session replay upload",
    ),
    Endpoint::new(
        exact_host("api.mixpanel.com"),
        path_prefix("/track"),
        Kind::Event,
        "events (older clients, GET ?data=)",
    ),
    Endpoint::new(
        exact_host("api.mixpanel.com"),
        path_prefix("/engage"),
        Kind::Event,
        "people profile updates",
    ),
    Endpoint::new(
        exact_host("api-eu.mixpanel.com"),
        path_prefix("/track"),
        Kind::Event,
        "EU residency events",
    ),
    Endpoint::new(
        exact_host("cdn.mxpnl.com"),
        path_prefix("/libs/"),
        Kind::Library,
        "mixpanel-2-latest.min.js",
    ),
];

static SOURCES: [Source; 3] = [
    Source::new("FORMATS §4.14", "docs/FORMATS.md §4.14 (Mixpanel)"),
    Source::new(
        "MPX",
        "https://github.com/mixpanel/mixpanel-js (src/mixpanel-core.js, src/utils.js)",
    ),
    Source::new(
        "corpus",
        "real api.mixpanel.com/track GET in pagexray contentTypes_aftonbladet.se.har (2015)",
    ),
];

const BATCH: &[&str] = &[];

static SPEC: Spec = Spec {
    batch_keys: BATCH,
    event: &["event"],
    pixel_id: &["properties.token", "$token", "token"],
    page_url: &["properties.$current_url"],
    referrer: &["properties.$referrer"],
    page_title: &["properties.current_page_title"],
    json_params: &["data"],
    query_events: false,
};

fn label(location: Location, path: &str) -> Option<&'static str> {
    if matches!(location, Location::Header | Location::Path) {
        return None;
    }
    if location == Location::Cookie {
        return None;
    }
    // Elements of a top-level array are `[0].event`.
    let path = path
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("]."))
        .map_or(path, |(_, rest)| rest);
    let path = element_relative(path, BATCH);
    Some(match path {
        "event" => p::EVENT_NAME,
        "properties.token" | "$token" | "token" => p::PIXEL_ID,
        "properties.$current_url" => p::PAGE_URL,
        "properties.$referrer" => p::REFERRER,
        "properties.current_page_title" => p::PAGE_TITLE,
        "properties.distinct_id" | "properties.$device_id" | "$distinct_id" | "distinct_id" => {
            p::CLIENT_ID
        }
        "properties.$user_id" | "$user_id" => p::USER_ID,
        "$set.$email" | "$set_once.$email" => p::EMAIL,
        "$set.$phone" | "$set_once.$phone" => p::PHONE,
        "$set.$first_name" | "$set.$name" => p::FIRST_NAME,
        "$set.$last_name" => p::LAST_NAME,
        "properties.$insert_id" => p::EVENT_ID,
        "properties.time" => p::TIMESTAMP,
        _ => return None,
    })
}

impl Decoder for Mixpanel {
    fn id(&self) -> &str {
        "mixpanel"
    }
    fn vendor(&self) -> &str {
        "Mixpanel"
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
        json_batch::decode(self, &SPEC, &label, exchange, detection, sink);
    }
}
