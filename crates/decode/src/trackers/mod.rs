//! The built-in tracker decoders, one module each, and the pieces they
//! share: library records, contact records for unreadable payloads, and
//! reporting of body shapes a decoder did not expect.
//!
//! Adding a tracker: a catalog file in `crates/decode/catalog/` plus a
//! line in [`CATALOGS`] for parameter dictionaries, or a module with a doc
//! comment (endpoints, field → meaning table, sources), an endpoint table,
//! a property function, a `Decoder` impl, and one line in [`builtin`]
//! (docs/DECODERS.md).

pub mod amplitude;
pub mod ga4;
pub mod ga_universal;
pub(crate) mod json_batch;
pub mod meta;
pub mod mixpanel;
pub mod rudderstack;
pub mod segment;
pub mod snowplow;
pub mod tiktok;

use crate::catalog::{self, CatalogDecoder};
use crate::decoder::Decoder;
use crate::payload::body::BodyShape;
use crate::payload::encoding::bytes_to_text;
use crate::record::{self, Fields, Location, Pick};
use pixelscope_model::{Detection, Event, Exchange, Field, Kind};
use serde_json::Value;
use std::sync::OnceLock;

/// The built-in catalog files (`crates/decode/catalog/`), compiled in.
pub const CATALOGS: &[(&str, &str)] = &[
    (
        "adobe-analytics.toml",
        include_str!("../../catalog/adobe-analytics.toml"),
    ),
    (
        "adobe-audience-manager.toml",
        include_str!("../../catalog/adobe-audience-manager.toml"),
    ),
    (
        "adobe-ecid.toml",
        include_str!("../../catalog/adobe-ecid.toml"),
    ),
    (
        "adobe-target.toml",
        include_str!("../../catalog/adobe-target.toml"),
    ),
    (
        "amazon-ads.toml",
        include_str!("../../catalog/amazon-ads.toml"),
    ),
    (
        "at-internet.toml",
        include_str!("../../catalog/at-internet.toml"),
    ),
    (
        "chartbeat.toml",
        include_str!("../../catalog/chartbeat.toml"),
    ),
    ("comscore.toml", include_str!("../../catalog/comscore.toml")),
    ("criteo.toml", include_str!("../../catalog/criteo.toml")),
    (
        "dynamic-yield.toml",
        include_str!("../../catalog/dynamic-yield.toml"),
    ),
    (
        "fullstory.toml",
        include_str!("../../catalog/fullstory.toml"),
    ),
    (
        "google-ads.toml",
        include_str!("../../catalog/google-ads.toml"),
    ),
    ("hotjar.toml", include_str!("../../catalog/hotjar.toml")),
    ("hubspot.toml", include_str!("../../catalog/hubspot.toml")),
    ("linkedin.toml", include_str!("../../catalog/linkedin.toml")),
    ("matomo.toml", include_str!("../../catalog/matomo.toml")),
    (
        "microsoft-clarity.toml",
        include_str!("../../catalog/microsoft-clarity.toml"),
    ),
    (
        "microsoft-uet.toml",
        include_str!("../../catalog/microsoft-uet.toml"),
    ),
    (
        "new-relic-browser.toml",
        include_str!("../../catalog/new-relic-browser.toml"),
    ),
    ("nielsen.toml", include_str!("../../catalog/nielsen.toml")),
    (
        "optimizely.toml",
        include_str!("../../catalog/optimizely.toml"),
    ),
    ("outbrain.toml", include_str!("../../catalog/outbrain.toml")),
    ("parsely.toml", include_str!("../../catalog/parsely.toml")),
    (
        "pinterest.toml",
        include_str!("../../catalog/pinterest.toml"),
    ),
    (
        "piwik-pro.toml",
        include_str!("../../catalog/piwik-pro.toml"),
    ),
    (
        "quantcast.toml",
        include_str!("../../catalog/quantcast.toml"),
    ),
    ("reddit.toml", include_str!("../../catalog/reddit.toml")),
    (
        "rtb-house.toml",
        include_str!("../../catalog/rtb-house.toml"),
    ),
    (
        "salesforce-dmp.toml",
        include_str!("../../catalog/salesforce-dmp.toml"),
    ),
    (
        "seznam-sklik.toml",
        include_str!("../../catalog/seznam-sklik.toml"),
    ),
    ("snap.toml", include_str!("../../catalog/snap.toml")),
    (
        "spotify-pixel.toml",
        include_str!("../../catalog/spotify-pixel.toml"),
    ),
    ("taboola.toml", include_str!("../../catalog/taboola.toml")),
    ("teads.toml", include_str!("../../catalog/teads.toml")),
    ("tealium.toml", include_str!("../../catalog/tealium.toml")),
    (
        "tradedesk.toml",
        include_str!("../../catalog/tradedesk.toml"),
    ),
    (
        "webtrends.toml",
        include_str!("../../catalog/webtrends.toml"),
    ),
    ("x.toml", include_str!("../../catalog/x.toml")),
    (
        "yandex-metrica.toml",
        include_str!("../../catalog/yandex-metrica.toml"),
    ),
];

/// The built-in catalog decoders, parsed once per process. A file that
/// does not parse is left out (the `builtin_catalogs_load` test keeps that
/// from ever shipping).
pub fn catalog_decoders() -> &'static [CatalogDecoder] {
    static PARSED: OnceLock<Vec<CatalogDecoder>> = OnceLock::new();
    PARSED.get_or_init(|| {
        CATALOGS
            .iter()
            .filter_map(|(name, text)| catalog::parse(&format!("builtin:{name}"), text).ok())
            .flatten()
            .map(|entry| entry.decoder)
            .collect()
    })
}

/// Every built-in decoder, in registry (and output) order: the Rust
/// decoders, then the catalog ones.
pub fn builtin() -> Vec<Box<dyn Decoder>> {
    let mut decoders: Vec<Box<dyn Decoder>> = vec![
        Box::new(tiktok::TikTok),
        Box::new(meta::Meta),
        Box::new(ga4::Ga4),
        Box::new(ga_universal::GaUniversal),
        Box::new(segment::Segment),
        Box::new(rudderstack::RudderStack),
        Box::new(snowplow::Snowplow),
        Box::new(mixpanel::Mixpanel),
        Box::new(amplitude::Amplitude),
    ];
    decoders.extend(
        catalog_decoders()
            .iter()
            .map(|d| Box::new(d.clone()) as Box<dyn Decoder>),
    );
    decoders
}

/// A `Kind::Library` record for a script or configuration load: its query
/// parameters, any labelled path segments, headers and cookies.
pub(crate) fn library_record(
    decoder: &dyn Decoder,
    exchange: &Exchange,
    detection: Detection,
    mut fields: Fields,
    path_fields: &[(String, String)],
) -> Event {
    let target = record::Target::of(exchange);
    for (path, value) in path_fields {
        fields.push(Location::Path, path, value);
    }
    fields.push_params(Location::Query, &target.params());
    fields.push_request_context(&exchange.request);
    record::build_event(
        decoder,
        Kind::Library,
        detection,
        exchange,
        fields.into_vec(),
        Pick::First,
    )
}

/// A `Kind::Contact` record: the request reached a tracker endpoint but its
/// payload could not be read; whatever was readable is in `fields`.
pub(crate) fn contact_record(
    decoder: &dyn Decoder,
    exchange: &Exchange,
    detection: Detection,
    fields: Fields,
) -> Event {
    record::build_event(
        decoder,
        Kind::Contact,
        detection,
        exchange,
        fields.into_vec(),
        Pick::First,
    )
}

/// Pushes a body of a shape the decoder did not expect, so that nothing is
/// dropped, and describes the shape for the diagnostic.
pub(crate) fn push_unexpected_body(fields: &mut Fields, shape: &BodyShape) -> &'static str {
    match shape {
        BodyShape::Empty => "empty body",
        BodyShape::Json { value, .. } => {
            fields.push_json(Location::BodyJson, value, "");
            "unexpected JSON body"
        }
        BodyShape::BrokenJson { .. } => "body is broken JSON",
        BodyShape::Multipart(parts) => {
            for (index, part) in parts.iter().enumerate() {
                let name = part
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("part[{index}]"));
                fields.push(Location::BodyMultipart, &name, &bytes_to_text(&part.data));
            }
            "unexpected multipart body"
        }
        BodyShape::Form(params) => {
            fields.push_params(Location::BodyForm, params);
            "unexpected form body"
        }
        BodyShape::Text(text) => {
            fields.push(Location::BodyText, "body", text);
            "body of unknown text format"
        }
        BodyShape::Binary => "binary body of unknown format",
    }
}

/// The event elements of a JSON body: the path prefix of each element of
/// the first non-empty array of objects under one of `keys` (`batch[0]`,
/// `batch[1]`), of a top-level array (`[0]`), or the root (`""`) when the
/// body is one event.
pub(crate) fn json_event_prefixes(value: &Value, keys: &[&str]) -> Vec<String> {
    let is_event_list =
        |items: &Vec<Value>| !items.is_empty() && items.iter().all(Value::is_object);
    match value {
        Value::Array(items) if is_event_list(items) => {
            (0..items.len()).map(|i| format!("[{i}]")).collect()
        }
        Value::Object(map) => keys
            .iter()
            .find_map(|key| match map.get(*key) {
                Some(Value::Array(items)) if is_event_list(items) => {
                    Some((0..items.len()).map(|i| format!("{key}[{i}]")).collect())
                }
                _ => None,
            })
            .unwrap_or_else(|| vec![String::new()]),
        _ => vec![String::new()],
    }
}

/// Whether a field path lies inside the element at `prefix`.
pub(crate) fn inside(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// The path relative to its batch element: `batch[1].context.page.url` →
/// `context.page.url` (unchanged when not inside a `keys[i]` element).
pub(crate) fn element_relative<'p>(path: &'p str, keys: &[&str]) -> &'p str {
    let candidate = keys
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

/// The fields of one batch element: its own plus those outside every
/// element (shared keys such as `writeKey`, `sentAt`).
pub(crate) fn element_fields(all: &[Field], prefixes: &[String], prefix: &str) -> Vec<Field> {
    all.iter()
        .filter(|field| {
            prefix.is_empty()
                || inside(&field.path, prefix)
                || !prefixes
                    .iter()
                    .any(|other| !other.is_empty() && inside(&field.path, other))
        })
        .cloned()
        .collect()
}

/// How the decoder recognised the exchange, and which kind of endpoint.
pub(crate) fn recognise<'a>(
    decoder: &dyn Decoder,
    exchange: &'a Exchange,
) -> (record::Target<'a>, Detection, Kind) {
    let target = record::Target::of(exchange);
    match crate::decoder::match_endpoint(decoder.endpoints(), &target.host, target.path) {
        Some(endpoint) => {
            let kind = endpoint.kind;
            (target, Detection::Endpoint, kind)
        }
        None => (target, Detection::Shape, Kind::Event),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogs_load() {
        for (name, text) in CATALOGS {
            if let Err(error) = catalog::parse(name, text) {
                panic!("{error}");
            }
        }
        let ids: Vec<String> = builtin().iter().map(|d| d.id().to_owned()).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "duplicate ids: {ids:?}");
        assert!(ids.iter().all(|id| !id.is_empty()));
    }
}
