//! Snowplow — JavaScript tracker (`snowplow('trackPageView')`).
//!
//! Snowplow collectors run on the site's own (or its vendor's) domain, so
//! there is no vendor host to match: Snowplow is recognised **by shape
//! only** (`detection: shape`):
//!
//! | request | claim |
//! |---|---|
//! | `POST …/com.snowplowanalytics.snowplow/tp2` with a JSON body whose `schema` is `iglu:com.snowplowanalytics.snowplow/payload_data/…` | one record per element of `data` |
//! | `GET …/i?e=<event>&…&tv=<tracker version>` with `e` and `tv` (and `aid` or `p`) | one record |
//!
//! # Fields (tracker protocol, paths relative to one event)
//!
//! | key | property | source |
//! |---|---|---|
//! | `e` | event_name (`pv` page view, `pp` page ping, `se` structured, `ue` self-describing, `tr`/`ti` transaction) | SP-PROTO (H) |
//! | `aid` | pixel_id (application id) | SP-PROTO (H) |
//! | `url` / `refr` / `page` | page_url / referrer / page_title | SP-PROTO (H) |
//! | `uid` | user_id (site's own id) | SP-PROTO (H) |
//! | `duid`, `nuid`, `tnuid`, cookie `_sp_id.*` | client_id (domain / network user id) | SP-PROTO (H) |
//! | `sid` | session_id | SP-PROTO (H) |
//! | `eid` | event_id | SP-PROTO (H) |
//! | `dtm`, `stm` | timestamp | SP-PROTO (H) |
//! | `se_ca`, `se_ac`, `se_la`, `se_pr`, `se_va` | structured event category/action/label/property/value (value → value) | SP-PROTO (H) |
//! | `ue_pr` / `ue_px`, `co` / `cx` | self-describing event and contexts: JSON, or base64url JSON (decoded and flattened as `ue_px.…`, `cx.…`) | SP-PROTO (H) |

use super::element_relative;
use super::json_batch::{self, Spec};
use crate::decoder::{Decoder, Endpoint, Source};
use crate::payload::{encoding, json, query};
use crate::record::{Location, PropertyFn, property as p};
use pixelscope_model::{Detection, EventSink, Exchange};
use serde_json::Value;

/// The Snowplow decoder (shape claims only).
pub struct Snowplow;

static SOURCES: [Source; 2] = [
    Source::new(
        "SP-PROTO",
        "https://docs.snowplow.io/docs/sources/trackers/snowplow-tracker-protocol/",
    ),
    Source::new(
        "OMNI",
        "https://github.com/MisterPhilip/omnibug (src/providers/Snowplow.js)",
    ),
];

const BATCH: &[&str] = &["data"];

static SPEC: Spec = Spec {
    batch_keys: BATCH,
    event: &["e"],
    pixel_id: &["aid"],
    page_url: &["url"],
    referrer: &["refr"],
    page_title: &["page"],
    json_params: &[],
    query_events: true,
};

const PATH_TP2: &str = "/com.snowplowanalytics.snowplow/tp2";

fn label(location: Location, path: &str) -> Option<&'static str> {
    match location {
        Location::Cookie => return path.starts_with("_sp_id").then_some(p::CLIENT_ID),
        Location::Header | Location::Path => return None,
        _ => {}
    }
    Some(match element_relative(path, BATCH) {
        "e" => p::EVENT_NAME,
        "aid" => p::PIXEL_ID,
        "url" => p::PAGE_URL,
        "refr" => p::REFERRER,
        "page" => p::PAGE_TITLE,
        "uid" => p::USER_ID,
        "duid" | "nuid" | "tnuid" => p::CLIENT_ID,
        "sid" => p::SESSION_ID,
        "eid" => p::EVENT_ID,
        "dtm" | "stm" => p::TIMESTAMP,
        "se_va" | "tr_tt" => p::VALUE,
        "tr_cu" | "ti_cu" => p::CURRENCY,
        "ua" => p::USER_AGENT,
        _ => return None,
    })
}

fn is_tp2(exchange: &Exchange) -> bool {
    let url = exchange.request.url.as_str();
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.trim_end_matches('/').ends_with(PATH_TP2)
}

fn tp2_body(exchange: &Exchange) -> Option<Value> {
    let body = exchange.request.body.as_ref()?;
    let value = json::sniff(&body.data)?.ok()?;
    let schema = value.get("schema")?.as_str()?;
    schema
        .starts_with("iglu:com.snowplowanalytics.snowplow/payload_data/")
        .then_some(value)
}

/// `GET …/i?e=…&tv=…` (and `aid` or `p`).
fn is_pixel_get(exchange: &Exchange) -> bool {
    let url = exchange.request.url.as_str();
    let (path, query_text) = url.split_once('?').unwrap_or((url, ""));
    if !path.ends_with("/i") || query_text.is_empty() {
        return false;
    }
    let params = query::parse(query_text);
    let has = |key: &str| params.iter().any(|p| p.key == key && !p.value.is_empty());
    has("e") && has("tv") && (has("aid") || has("p"))
}

impl Decoder for Snowplow {
    fn id(&self) -> &str {
        "snowplow"
    }
    fn vendor(&self) -> &str {
        "Snowplow"
    }
    fn version(&self) -> &str {
        "1"
    }
    fn endpoints(&self) -> &[Endpoint] {
        &[]
    }
    fn sources(&self) -> &[Source] {
        &SOURCES
    }
    fn claims_shape(&self, exchange: &Exchange) -> bool {
        (is_tp2(exchange) && tp2_body(exchange).is_some()) || is_pixel_get(exchange)
    }
    fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink) {
        if !self.claims_shape(exchange) {
            return;
        }
        let label: PropertyFn<'_> = &label;
        let mut collected = pixelscope_model::Collected::default();
        json_batch::decode(
            self,
            &SPEC,
            label,
            exchange,
            Detection::Shape,
            &mut collected,
        );
        for diagnostic in collected.diagnostics {
            sink.diagnostic(diagnostic);
        }
        for mut event in collected.events {
            expand(&mut event);
            sink.event(event);
        }
    }
}

/// Decodes the base64url JSON of `ue_px` / `cx` fields into extra fields
/// right after them (the encoded text is kept too).
fn expand(event: &mut pixelscope_model::Event) {
    let mut out = Vec::with_capacity(event.fields.len());
    for field in std::mem::take(&mut event.fields) {
        let key = element_relative(&field.path, BATCH);
        let encoded = matches!(key, "ue_px" | "cx");
        let decoded = encoded
            .then(|| encoding::decode_base64(field.value.trim()))
            .flatten()
            .and_then(|(bytes, _)| json::sniff(&bytes))
            .and_then(Result::ok);
        let plain_json = matches!(key, "ue_pr" | "co");
        let parsed = decoded.or_else(|| {
            plain_json
                .then(|| json::sniff(field.value.as_bytes()))
                .flatten()
                .and_then(Result::ok)
        });
        let path = field.path.clone();
        let location = field.location.clone();
        out.push(field);
        if let Some(value) = parsed {
            for leaf in json::flatten(&value, &path) {
                out.push(pixelscope_model::Field {
                    path: leaf.path,
                    location: location.clone(),
                    value: leaf.value,
                    property: None,
                });
            }
        }
    }
    event.fields = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use pixelscope_model::{Body, Collected, Request};

    fn run(method: &str, url: &str, body: Option<&str>) -> Collected {
        let exchange = Exchange {
            request: Request {
                method: method.into(),
                url: url.into(),
                body: body.map(|b| Body {
                    data: b.as_bytes().to_vec(),
                    mime_type: Some("application/json".into()),
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

    #[test]
    fn tp2_batch_and_pixel_get_are_recognised_by_shape() {
        let body = r#"{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv","url":"https://shop.test/a","page":"A","aid":"shop","tv":"js-3.1.0","duid":"d-1","cx":"eyJzY2hlbWEiOiJ4IiwiZGF0YSI6W3siZW1haWwiOiJ4In1dfQ"},{"e":"se","se_ca":"cart","se_ac":"add","url":"https://shop.test/a","aid":"shop","tv":"js-3.1.0"}]}"#;
        let out = run(
            "POST",
            "https://c.shop.test/com.snowplowanalytics.snowplow/tp2",
            Some(body),
        );
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let names: Vec<Option<&str>> = out.events.iter().map(|e| e.event.as_deref()).collect();
        assert_eq!(names, vec![Some("pv"), Some("se")]);
        assert!(
            out.events
                .iter()
                .all(|e| e.detection == Detection::Shape && e.pixel_id.as_deref() == Some("shop"))
        );
        assert!(
            out.events[0]
                .fields
                .iter()
                .any(|f| f.path == "data[0].cx.data[0].email")
        );
        assert!(
            out.events[1]
                .fields
                .iter()
                .all(|f| !f.path.starts_with("data[0]"))
        );

        let out = run(
            "GET",
            "https://c.shop.test/i?e=pv&url=https%3A%2F%2Fshop.test%2F&aid=shop&p=web&tv=js-3.1.0",
            None,
        );
        assert_eq!(out.events.len(), 1);
        assert_eq!(
            out.events[0].page_url.as_deref(),
            Some("https://shop.test/")
        );

        // An ordinary first-party request is not Snowplow.
        assert!(
            run("GET", "https://shop.test/i?e=1", None)
                .events
                .is_empty()
        );
        assert!(
            run(
                "POST",
                "https://shop.test/com.snowplowanalytics.snowplow/tp2",
                Some("{}")
            )
            .events
            .is_empty()
        );
    }
}
