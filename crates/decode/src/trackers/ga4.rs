//! Google Analytics 4 (gtag.js `/g/collect`).
//!
//! # Endpoints
//!
//! | host | path | kind |
//! |---|---|---|
//! | `*.google-analytics.com` (`www.`, `region1.`), `analytics.google.com` | `/g/collect` | event |
//! | `stats.g.doubleclick.net` | `/g/collect` — the Google-signals leg: only `v`, `tid`, `cid`, `gtm`, `aip` seen; a separate recipient (Google's ad network), not a copy of the event | event |
//! | any other host | `…/g/collect` with `v=2` and `tid=G-…` (first-party proxy, server-side tagging): a shape claim | event |
//! | `www.googletagmanager.com` | `/gtag/js?id=G-…`, `/gtm.js?id=GTM-…` | library |
//!
//! Transport: GET, or POST with either an empty body (the whole event in
//! the query: every real hit in the corpus) or shared parameters in the
//! query and **one event per body line**. Each line is one record whose
//! fields are the query's plus the line's; line values win for the
//! summary keys. Universal Analytics (`/collect`, `/j/collect`, `v=1`,
//! `tid=UA-…`) is a different tracker and is never claimed here.
//!
//! # Fields
//!
//! | key | property | source |
//! |---|---|---|
//! | `tid` | pixel_id (measurement id `G-…`) | D8A, OMNI (H) |
//! | `en` | event_name | D8A (H) |
//! | `dl` / `dr` / `dt` | page_url / referrer / page_title | D8A (H) |
//! | `cid`, cookie `_ga` | client_id (`_ga` minus `GA1.1.`) | D8A (H) |
//! | `uid` | user_id (site's own id, plain) | D8A (H) |
//! | `sid` | session_id | D8A (H) |
//! | `ep.search_term` | search_term (site search, enhanced measurement) | GA-EM (M) |
//! | `epn.value`, `ep.value` | value | D8A (H) |
//! | `cu` | currency | D8A (H) |
//! | `pr<n>` | content (item list, tilde syntax) | D8A, corpus (H) |
//! | `gcs`, `gcd`, `gcu`, `gcut`, `dma`, `dma_cps`, `npa` | consent | D8A, PIETRO (H for gcs) |
//! | `gclid`, `dclid`, `gbraid`, `wbraid` | click_id | D8A (M) |
//! | `em` = `tv.1~em.<h>~pn.<h>` | reported whole, plus `em.em` (email) and `em.pn` (phone): base64url SHA-256 without padding, form `sha256-base64url` | FS-captures (M) |
//! | `ep.*` / `epn.*` / `up.*` / `upn.*` | event / user parameters, no property unless listed | D8A (H) |
//! | `gtag/js?id=`, `gtm.js?id=` | pixel_id of the library load | FORMATS §1.1 |

use super::{contact_record, library_record, push_unexpected_body, recognise};
use crate::decoder::{Decoder, Endpoint, Source, domain, exact_host, exact_path};
use crate::payload::body;
use crate::payload::query::{self, Param};
use crate::record::{self, Fields, Location, Pick, property as p};
use pixelscope_model::{Detection, EventSink, Exchange, Field, Kind};

/// The GA4 decoder.
pub struct Ga4;

static ENDPOINTS: [Endpoint; 5] = [
    Endpoint::new(
        domain("google-analytics.com"),
        exact_path("/g/collect"),
        Kind::Event,
        "GA4 hits (www., region1.): GET, POST with empty body, POST one event per line",
    ),
    Endpoint::new(
        exact_host("analytics.google.com"),
        exact_path("/g/collect"),
        Kind::Event,
        "GA4 hits",
    ),
    Endpoint::new(
        exact_host("stats.g.doubleclick.net"),
        exact_path("/g/collect"),
        Kind::Event,
        "Google signals leg (advertising features): separate recipient, no event name",
    ),
    Endpoint::new(
        exact_host("www.googletagmanager.com"),
        exact_path("/gtag/js"),
        Kind::Library,
        "Google tag library gtag/js?id=G-…|AW-…",
    ),
    Endpoint::new(
        exact_host("www.googletagmanager.com"),
        exact_path("/gtm.js"),
        Kind::Library,
        "Google Tag Manager container gtm.js?id=GTM-…",
    ),
];

static SOURCES: [Source; 6] = [
    Source::new(
        "FORMATS §4.3",
        "pixelscope tracker format reference, GA4 section",
    ),
    Source::new(
        "D8A",
        "https://github.com/d8a-tech/d8a (docs/docs/articles/tracking-protocols/ga4-gtag.md)",
    ),
    Source::new(
        "OMNI",
        "https://github.com/MisterPhilip/omnibug (src/providers/GoogleAnalytics4.js)",
    ),
    Source::new(
        "GA-EM",
        "https://developers.google.com/analytics/devguides/config/admin/v1/rest/v1alpha/EnhancedMeasurementSettings",
    ),
    Source::new(
        "PIETRO",
        "https://pietromingotti.com/consent-mode-parameters",
    ),
    Source::new(
        "corpus",
        "real /g/collect hits in public HARs (pagexray contentTypes_ferguson, chrome-har early-hints), 2022-2024",
    ),
];

fn label(location: Location, path: &str) -> Option<&'static str> {
    match location {
        Location::Cookie => return (path == "_ga").then_some(p::CLIENT_ID),
        Location::Header | Location::Path => return None,
        _ => {}
    }
    let property = match path {
        "tid" | "id" => p::PIXEL_ID,
        "en" => p::EVENT_NAME,
        "dl" => p::PAGE_URL,
        "dr" => p::REFERRER,
        "dt" => p::PAGE_TITLE,
        "cid" => p::CLIENT_ID,
        "uid" => p::USER_ID,
        "sid" => p::SESSION_ID,
        "ep.search_term" => p::SEARCH_TERM,
        "epn.value" | "ep.value" => p::VALUE,
        "cu" => p::CURRENCY,
        "gcs" | "gcd" | "gcu" | "gcut" | "dma" | "dma_cps" | "npa" => p::CONSENT,
        "gclid" | "dclid" | "gbraid" | "wbraid" => p::CLICK_ID,
        other if is_item(other) => p::CONTENT,
        _ => return None,
    };
    Some(property)
}

/// `pr1`, `pr12`: an item of the item list.
fn is_item(key: &str) -> bool {
    key.strip_prefix("pr")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Google's user-provided data keys inside `em=tv.1~em.…~pn.…` (only `em`
/// and `pn` observed; FORMATS.md §6).
fn user_data_property(key: &str) -> Option<&'static str> {
    match key {
        "em" => Some(p::EMAIL),
        "pn" => Some(p::PHONE),
        _ => None,
    }
}

/// Pushes parameters, expanding `em` into its `key.value` tokens.
fn push_params(fields: &mut Fields, location: Location, params: &[Param]) {
    for param in params {
        fields.push(location, &param.key, &param.value);
        if param.key == "em" && param.value.contains('~') {
            for token in param.value.split('~').filter(|t| !t.is_empty()) {
                let (key, value) = token.split_once('.').unwrap_or((token, ""));
                fields.push_labelled(
                    location,
                    &format!("em.{key}"),
                    value,
                    user_data_property(key),
                );
            }
        }
    }
}

impl Decoder for Ga4 {
    fn id(&self) -> &str {
        "ga4"
    }
    fn vendor(&self) -> &str {
        "Google"
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

    /// `…/g/collect` with `v=2` and `tid=G-…` on any host.
    fn claims_shape(&self, exchange: &Exchange) -> bool {
        let target = record::Target::of(exchange);
        if !target.path.ends_with("/g/collect") {
            return false;
        }
        let params = target.params();
        let version_2 = params.iter().any(|p| p.key == "v" && p.value == "2");
        let measurement = params
            .iter()
            .any(|p| p.key == "tid" && p.value.starts_with("G-"));
        version_2 && measurement
    }

    fn decode(&self, exchange: &Exchange, sink: &mut dyn EventSink) {
        let (target, detection, kind) = recognise(self, exchange);
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
            return; // not ours: the registry only calls us after a claim
        }
        let params = target.params();
        let mut shared = Fields::new(&label);
        push_params(&mut shared, Location::Query, &params);
        let mut context = shared.sibling();
        context.push_request_context(&exchange.request);
        let mut context = context.into_vec();

        // Each record ends with the request context; the last one takes it
        // instead of copying it.
        let single = |mut fields: Fields, context: Vec<Field>, kind: Kind| {
            fields.append(context);
            record::build_event(
                self,
                kind,
                detection,
                exchange,
                fields.into_vec(),
                Pick::Last,
            )
        };
        let Some(request_body) = exchange.request.body.as_ref() else {
            sink.event(single(shared, context, Kind::Event));
            return;
        };
        if let Some(problem) = record::body_problem(request_body) {
            sink.diagnostic(record::body_unreadable(self, exchange, &problem));
            let has_event = params.iter().any(|p| p.key == "en");
            let event = if has_event {
                single(shared, context, Kind::Event)
            } else {
                let mut fields = shared;
                fields.append(context);
                contact_record(self, exchange, detection, fields)
            };
            sink.event(event);
            return;
        }
        let lines: Vec<&[u8]> = request_body
            .data
            .split(|b| *b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .collect();
        if lines.is_empty() {
            sink.event(single(shared, context, Kind::Event));
            return;
        }
        let all_form = lines
            .iter()
            .all(|line| std::str::from_utf8(line).is_ok_and(body::looks_like_form));
        if !all_form {
            let mut fields = shared;
            let shape = body::sniff(&request_body.data, request_body.mime_type.as_deref());
            let what = push_unexpected_body(&mut fields, &shape);
            sink.diagnostic(record::unrecognised(self, exchange, what));
            sink.event(single(fields, context, Kind::Event));
            return;
        }
        let count = lines.len();
        for (index, line) in lines.into_iter().enumerate() {
            let (mut fields, context) = if index + 1 == count {
                let empty = shared.sibling();
                (
                    std::mem::replace(&mut shared, empty),
                    std::mem::take(&mut context),
                )
            } else {
                (shared.clone(), context.clone())
            };
            push_params(&mut fields, Location::BodyForm, &query::parse_bytes(line));
            sink.event(single(fields, context, Kind::Event));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use pixelscope_model::{Body, BodyState, Collected, Request};

    fn exchange(method: &str, url: &str, body: Option<&str>) -> Exchange {
        Exchange {
            request: Request {
                method: method.into(),
                url: url.into(),
                body: body.map(|b| Body {
                    data: b.as_bytes().to_vec(),
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

    const SHARED: &str = "v=2&tid=G-ABC123XYZ9&cid=1234567890.1759990000&dl=https%3A%2F%2Fhealth.test%2Fsearch%3Fq%3Dhiv%2Btesting&dt=Search%20results";

    #[test]
    fn multi_line_body_gives_one_record_per_line_with_shared_params() {
        let body = "en=page_view&_s=1&_et=12\nen=view_search_results&_s=2&ep.search_term=hiv%20testing\r\nen=generate_lead&em=tv.1~em.huC55WwXzE0SOH4ZSbhQU_vnO8POWhGIcTqdMAzGEz0~pn.abcdefghijABCDEFGHIJ0123456789-_abcdefghijk&dl=https%3A%2F%2Fhealth.test%2Fthanks\n";
        let out = decode(&exchange(
            "POST",
            &format!("https://region1.google-analytics.com/g/collect?{SHARED}"),
            Some(body),
        ));
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let names: Vec<Option<&str>> = out.events.iter().map(|e| e.event.as_deref()).collect();
        assert_eq!(
            names,
            vec![
                Some("page_view"),
                Some("view_search_results"),
                Some("generate_lead")
            ]
        );
        assert!(
            out.events
                .iter()
                .all(|e| e.pixel_id.as_deref() == Some("G-ABC123XYZ9"))
        );
        assert_eq!(
            out.events[0].page_url.as_deref(),
            Some("https://health.test/search?q=hiv+testing")
        );
        assert_eq!(
            out.events[2].page_url.as_deref(),
            Some("https://health.test/thanks"),
            "line params win"
        );
        assert!(
            out.events[1]
                .fields
                .iter()
                .any(|f| f.path == "ep.search_term"
                    && f.property.as_deref() == Some("search_term")
                    && f.location == "body.form")
        );
        assert!(
            out.events[0]
                .fields
                .iter()
                .any(|f| f.path == "dl?q" && f.value == "hiv testing")
        );
        let lead = &out.events[2];
        let email = lead.identifiers.iter().find(|i| i.kind == "email").unwrap();
        assert_eq!(
            (
                email.form.as_str(),
                email.path.as_str(),
                email.value.as_str()
            ),
            (
                "sha256-base64url",
                "em.em",
                "huC55WwXzE0SOH4ZSbhQU_vnO8POWhGIcTqdMAzGEz0"
            )
        );
        assert!(
            lead.identifiers
                .iter()
                .any(|i| i.kind == "phone" && i.form == "sha256-base64url")
        );
        assert!(
            lead.identifiers
                .iter()
                .any(|i| i.kind == "client_id" && i.value == "1234567890.1759990000")
        );
    }

    #[test]
    fn empty_post_body_is_one_event_in_the_url() {
        let out = decode(&exchange(
            "POST",
            &format!("https://analytics.google.com/g/collect?{SHARED}&en=page_view&uid=user-42"),
            Some(""),
        ));
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].event.as_deref(), Some("page_view"));
        assert!(
            out.events[0]
                .identifiers
                .iter()
                .any(|i| i.kind == "user_id" && i.value == "user-42")
        );
    }

    #[test]
    fn first_party_proxy_is_claimed_by_shape() {
        let out = decode(&exchange(
            "GET",
            &format!("https://sgtm.shop.test/g/collect?{SHARED}&en=purchase"),
            None,
        ));
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.events[0].detection, Detection::Shape);
        assert_eq!(out.events[0].tracker, "ga4");
        let other = decode(&exchange(
            "GET",
            "https://sgtm.shop.test/g/collect?v=2&tid=UA-1-1&en=x",
            None,
        ));
        assert!(other.events.is_empty());
    }

    #[test]
    fn universal_analytics_hits_are_not_ga4() {
        for url in [
            "https://www.google-analytics.com/collect?v=1&_v=j96&t=pageview&tid=UA-643778-1&cid=1.2&dl=https%3A%2F%2Fx.test%2F",
            "https://www.google-analytics.com/j/collect?v=1&t=pageview&tid=UA-643778-1",
            "https://shop.test/collect?v=1&tid=UA-643778-1",
        ] {
            let out = decode(&exchange("POST", url, Some("")));
            assert!(
                out.events.iter().all(|e| e.tracker != "ga4"),
                "{url}: {:?}",
                out.events
            );
        }
    }

    #[test]
    fn signals_leg_and_library_loads() {
        let out = decode(&exchange(
            "POST",
            "https://stats.g.doubleclick.net/g/collect?v=2&tid=G-D8LRHP9HJ8&cid=878270908.1643952222&gtm=2oe220&aip=1",
            Some(""),
        ));
        assert_eq!(
            (
                out.events[0].event.as_deref(),
                out.events[0].pixel_id.as_deref()
            ),
            (None, Some("G-D8LRHP9HJ8"))
        );
        let out = decode(&exchange(
            "GET",
            "https://www.googletagmanager.com/gtag/js?id=G-D8LRHP9HJ8&l=gtmDataLayer&cx=c",
            None,
        ));
        assert_eq!(
            (out.events[0].kind, out.events[0].pixel_id.as_deref()),
            (Kind::Library, Some("G-D8LRHP9HJ8"))
        );
        let out = decode(&exchange(
            "GET",
            "https://www.googletagmanager.com/gtm.js?id=GTM-74MB",
            None,
        ));
        assert_eq!(out.events[0].kind, Kind::Library);
    }

    #[test]
    fn unreadable_body_keeps_the_query_event_and_says_so() {
        let mut ex = exchange(
            "POST",
            &format!("https://region1.google-analytics.com/g/collect?{SHARED}"),
            Some("\u{fffd}"),
        );
        if let Some(body) = ex.request.body.as_mut() {
            body.state = BodyState::Truncated { limit: 1 };
        }
        let out = decode(&ex);
        assert_eq!(out.diagnostics[0].code, "decode.body-unreadable");
        assert_eq!(out.events[0].kind, Kind::Contact);
        let out = decode(&exchange(
            "POST",
            &format!("https://region1.google-analytics.com/g/collect?{SHARED}"),
            Some("{\"events\":[]}"),
        ));
        assert_eq!(out.diagnostics[0].code, "decode.unrecognised");
        assert_eq!(out.events.len(), 1);
    }
}
