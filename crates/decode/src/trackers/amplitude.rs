//! Amplitude — Browser SDK (`api2.amplitude.com`).
//!
//! # Endpoints
//!
//! | host | path | kind |
//! |---|---|---|
//! | `api2.amplitude.com`, `api.eu.amplitude.com` | `/2/httpapi`, `/batch` (JSON `{"api_key", "events":[…]}`); legacy `/` (form `client=<key>&e=<JSON array>`, L) | event |
//! | `cdn.amplitude.com` | SDK scripts | library |
//!
//! One record per element of `events` (or of the legacy `e` array).
//!
//! # Fields (paths relative to one event)
//!
//! | path | property | source |
//! |---|---|---|
//! | `event_type` | event_name (`[Amplitude] Page Viewed`, …) | AMP, FORMATS §4.15 (H) |
//! | `api_key` (root), `client` (legacy form) | pixel_id | AMP (H; legacy L) |
//! | `event_properties.[Amplitude] Page URL` / `… Page Title` / `referrer` | page_url / page_title / referrer | FORMATS §4.15 (M) |
//! | `user_id` | user_id | AMP (H) |
//! | `device_id` | client_id | AMP (H) |
//! | `session_id` | session_id | AMP (H) |
//! | `insert_id` | event_id | AMP (H) |
//! | `user_properties.*` (`gclid`, `fbclid` copied from the landing URL) | click_id for the click ids | FORMATS §4.15 (M) |

use super::json_batch::{self, Spec};
use super::{element_relative, library_record, recognise};
use crate::decoder::{Decoder, Endpoint, Source, exact_host, exact_path, path_prefix};
use crate::record::{Fields, Location, property as p};
use pixelscope_model::{EventSink, Exchange, Kind};

/// The Amplitude decoder.
pub struct Amplitude;

static ENDPOINTS: [Endpoint; 7] = [
    Endpoint::new(
        exact_host("api2.amplitude.com"),
        exact_path("/2/httpapi"),
        Kind::Event,
        "HTTP API v2 events (JSON)",
    ),
    Endpoint::new(
        exact_host("api2.amplitude.com"),
        exact_path("/batch"),
        Kind::Event,
        "batch API (JSON)",
    ),
    Endpoint::new(
        exact_host("api2.amplitude.com"),
        exact_path("/"),
        Kind::Event,
        "legacy amplitude-js form upload (e=<JSON>)",
    ),
    Endpoint::new(
        exact_host("api.eu.amplitude.com"),
        exact_path("/2/httpapi"),
        Kind::Event,
        "EU residency",
    ),
    Endpoint::new(
        exact_host("api.eu.amplitude.com"),
        exact_path("/batch"),
        Kind::Event,
        "EU residency batch",
    ),
    Endpoint::new(
        exact_host("api.amplitude.com"),
        exact_path("/"),
        Kind::Event,
        "legacy amplitude-js host",
    ),
    Endpoint::new(
        exact_host("cdn.amplitude.com"),
        path_prefix("/"),
        Kind::Library,
        "SDK scripts",
    ),
];

static SOURCES: [Source; 2] = [
    Source::new("FORMATS §4.15", "docs/FORMATS.md §4.15 (Amplitude)"),
    Source::new(
        "AMP",
        "Amplitude SDK constants (AMPLITUDE_SERVER_URL, EU_AMPLITUDE_SERVER_URL, AMPLITUDE_BATCH_SERVER_URL) in amplitude/Amplitude-TypeScript",
    ),
];

const BATCH: &[&str] = &["events", "e"];

static SPEC: Spec = Spec {
    batch_keys: BATCH,
    event: &["event_type"],
    pixel_id: &["api_key", "client"],
    page_url: &[
        "event_properties.[Amplitude] Page URL",
        "event_properties.page_url",
    ],
    referrer: &[
        "event_properties.referrer",
        "event_properties.[Amplitude] Page Referrer",
    ],
    page_title: &[
        "event_properties.[Amplitude] Page Title",
        "event_properties.page_title",
    ],
    json_params: &["e"],
    query_events: false,
};

fn label(location: Location, path: &str) -> Option<&'static str> {
    if matches!(
        location,
        Location::Header | Location::Cookie | Location::Path
    ) {
        return None;
    }
    Some(match element_relative(path, BATCH) {
        "event_type" => p::EVENT_NAME,
        "api_key" | "client" => p::PIXEL_ID,
        "event_properties.[Amplitude] Page URL" | "event_properties.page_url" => p::PAGE_URL,
        "event_properties.[Amplitude] Page Title" | "event_properties.page_title" => p::PAGE_TITLE,
        "event_properties.referrer" | "event_properties.[Amplitude] Page Referrer" => p::REFERRER,
        "user_id" => p::USER_ID,
        "device_id" => p::CLIENT_ID,
        "session_id" => p::SESSION_ID,
        "insert_id" => p::EVENT_ID,
        "time" => p::TIMESTAMP,
        "user_properties.gclid"
        | "user_properties.fbclid"
        | "user_properties.dclid"
        | "user_properties.gbraid"
        | "user_properties.wbraid"
        | "user_properties.msclkid"
        | "user_properties.ttclid" => p::CLICK_ID,
        "revenue" | "price" => p::VALUE,
        _ => return None,
    })
}

impl Decoder for Amplitude {
    fn id(&self) -> &str {
        "amplitude"
    }
    fn vendor(&self) -> &str {
        "Amplitude"
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
